//! Background work of `oored`: the build dispatcher (with its workers) and the cleanup
//! task. Both start after restart recovery and stop on shutdown; see each module.

mod cleanup;
mod dispatcher;

pub(crate) use cleanup::{Cleanup, CleanupConfig};
pub(crate) use dispatcher::{DispatchConfig, Dispatcher, Engine};
