#![doc = include_str!("../README.md")]

pub mod crypto;
pub mod lock;
pub mod logs;
pub mod runner;
pub mod services;
pub mod sqlite;
pub mod system;
