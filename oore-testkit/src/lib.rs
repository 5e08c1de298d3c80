#![doc = include_str!("../README.md")]

pub mod git;
pub mod github;
pub mod http;
mod server;
pub mod webhooks;

pub use server::{TestServer, TestServerBuilder};
