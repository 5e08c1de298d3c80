//! Handlers: extract the request, call an `oore_core` use case, render the answer. No
//! SQL and no business rules here. One file per group of endpoints; each handler's
//! `#[utoipa::path]` attribute is its method, path and OpenAPI description, and the
//! route table (`super::routes`) lists each handler once.

pub(crate) mod artifacts;
pub(crate) mod builds;
pub(crate) mod github;
pub(crate) mod github_pages;
pub(crate) mod logs;
pub(crate) mod openapi;
pub(crate) mod pipelines;
pub(crate) mod repositories;
pub(crate) mod system;
pub(crate) mod webhooks;
