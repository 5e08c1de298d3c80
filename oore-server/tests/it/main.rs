//! Integration tests of `oored`: the HTTP API through a real socket against the real
//! service (`oore_testkit::TestServer`), and the `oored` binary itself.

mod auth;
mod binary;
mod errors;
mod failures;
mod pipelines;
mod repositories;
mod support;
mod system;
