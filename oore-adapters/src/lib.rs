#![doc = include_str!("../README.md")]

pub mod artifacts;
mod build_dirs;
pub mod crypto;
mod fs_error;
pub mod git;
pub mod github;
pub mod http_client;
pub mod lock;
pub mod logs;
pub mod runner;
pub mod services;
pub mod sqlite;
pub mod system;
pub mod workspace;
