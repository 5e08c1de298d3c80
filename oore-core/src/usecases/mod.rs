//! Use cases: plain async functions over [`Services`](crate::services::Services), one per
//! file, each with its own error enum.

pub mod repository;
