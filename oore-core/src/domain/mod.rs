//! Domain types: what Oore is about, independent of how it is stored or served.

pub mod build;
pub mod repository;
pub mod secret;
pub mod validation;
pub mod webhook;
