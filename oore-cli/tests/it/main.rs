//! Integration tests: the real `oore` binary against a real `oored`
//! (`oore_testkit::TestServer`), each in its own temp HOME and `OORE_CONFIG`.

mod build;
mod config;
mod errors;
mod failures;
mod github;
mod pipeline;
mod repo;
mod support;
mod system;
mod webhook;
