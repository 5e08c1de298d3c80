//! Oore's pure domain: repositories, builds, steps, webhook events, their state machines,
//! the use cases that drive them, and the ports (traits) through which it reaches the
//! world. It does no IO of its own: no database, HTTP, processes, files or clock.
//!
//! See `docs/ARCHITECTURE.md` at the repository root for the code map.

pub mod api;
pub mod cancel;
pub mod domain;
pub mod error;
pub mod forge;
pub mod github;
pub mod ids;
pub mod pipeline;
pub mod ports;
pub mod scheduling;
pub mod services;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod usecases;
pub mod webhook;
