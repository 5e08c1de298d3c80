//! Integration tests of `oored`: the HTTP API through a real socket against the real
//! service (`oore_testkit::TestServer`), and the `oored` binary itself.

mod auth;
mod binary;
mod build_support;
mod builds_api;
mod builds_artifacts;
mod builds_cancel;
mod builds_logs;
mod builds_queue;
mod builds_run;
mod errors;
mod failures;
mod github;
mod http;
mod isolation;
mod pipelines;
mod repositories;
mod storage;
mod support;
mod system;
mod webhooks;
mod webhooks_forks;
mod webhooks_limits;
mod webhooks_queue;
