//! Background work of `oored`: the build dispatcher (with its workers, and restart
//! recovery as its first act), the cleanup task and the periodic GitHub sync. They stop
//! on shutdown; see each module.

mod backoff;
mod cleanup;
mod dispatcher;
mod github_sync;

pub(crate) use cleanup::{Cleanup, CleanupConfig};
pub(crate) use dispatcher::{DispatchConfig, Dispatcher, Engine};
pub(crate) use github_sync::GitHubSync;
