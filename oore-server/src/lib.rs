#![doc = include_str!("../README.md")]

mod app;
pub mod config;
mod execution;
mod github;
mod httpd;
pub mod init;
pub mod isolation;
mod logging;
mod startup;
mod webhooks;
mod workers;

pub use app::App;
pub use httpd::{
    API_BODY_LIMIT, Access, Response, RouteInfo, X_REQUEST_ID, openapi_document, route_table, serve,
};
pub use logging::{LoggingError, init_logging};
pub use startup::{BindError, Server, StartupError, bind, build_services};
