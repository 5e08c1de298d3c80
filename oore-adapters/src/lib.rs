#![doc = include_str!("../README.md")]

pub mod crypto;
pub mod lock;
pub mod sqlite;
pub mod system;
