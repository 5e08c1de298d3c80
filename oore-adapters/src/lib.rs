#![doc = include_str!("../README.md")]

pub mod artifacts;
mod beneath;
mod build_dirs;
pub mod build_user;
pub mod crypto;
mod fs_error;
pub mod git;
pub mod github;
pub mod http_client;
pub mod lock;
pub mod logs;
pub mod process_env;
pub mod runner;
pub mod services;
pub mod space;
pub mod sqlite;
pub mod system;
pub mod workspace;
