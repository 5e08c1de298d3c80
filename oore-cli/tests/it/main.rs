//! Integration tests: the real `oore` binary against a real `oored`
//! (`oore_testkit::TestServer`), each in its own temp HOME and `OORE_CONFIG`.

mod artifacts;
mod build;
mod config;
mod errors;
mod failures;
mod follow;
mod github;
mod local_repo;
mod pipeline;
mod references;
mod repo;
mod support;
mod system;
mod tls;
mod webhook;
