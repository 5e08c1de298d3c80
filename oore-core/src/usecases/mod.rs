//! Use cases: plain async functions over [`Services`](crate::services::Services), one per
//! file, each with its own error enum.

pub mod build;
pub mod github;
pub mod pipeline;
pub mod repository;
pub mod system;
pub mod webhook;

use crate::error::ErrorClass;
use crate::ports::StoreError;

/// The error class of a store failure, shared by every use case.
pub(crate) fn store_class(e: &StoreError) -> ErrorClass {
    match e {
        StoreError::Duplicate(_) => ErrorClass::Conflict,
        StoreError::NotFound => ErrorClass::NotFound,
        StoreError::Unavailable(_) => ErrorClass::Unavailable,
        StoreError::Corrupt(_) | StoreError::Other(_) => ErrorClass::Internal,
    }
}
