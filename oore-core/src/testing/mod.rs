//! Test support that needs no IO: in-memory fakes of the ports, a tiny executor, and the
//! contract suites every port implementation must pass (see [`contract`]).
//!
//! Compiled for oore-core's own tests and with the `testing` feature, which every crate's
//! dev-dependency on oore-core (and `oore-testkit`) turns on, so that `oore-adapters` and
//! `oore-testkit` can run the same contracts against the real implementations while
//! release builds of `oored` and `oore` do not carry any of it.

pub mod contract;
pub mod contract_files;
mod execution;
mod failing_store;
mod memory;
mod memory_builds;
mod memory_files;
mod memory_github;
mod memory_logs;
mod memory_pipelines;
mod memory_webhooks;

pub use execution::{
    FakeArtifacts, FakeExecution, FakeFetcher, FakeWorkspaces, RecordingSignals, ScriptedRunner,
    StepScript, scripted_process,
};
pub use failing_store::{FailMode, FailingWrites, disk_full};
pub use memory::{FakeCipher, FakeDiskSpace, FixedClock, MemoryRepositoryStore, SequentialIds};
pub use memory_builds::MemoryBuildStore;
#[cfg(test)]
pub(crate) use memory_files::crc32;
pub use memory_files::{MemoryArtifactFiles, MemoryBuildDirectories};
pub use memory_github::{
    DirectTokens, GitHubScript, MemoryGitHubStore, ScriptedGitHubApi, sample_app,
};
pub use memory_logs::MemoryLogs;
pub use memory_pipelines::MemoryPipelineStore;
pub use memory_webhooks::MemoryWebhookEventStore;

use std::future::Future;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};

use crate::services::Services;

struct ThreadWaker(Thread);

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

/// Runs a future to completion on the current thread. Enough for use cases over the
/// in-memory fakes, which never wait on IO.
pub fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let waker = Waker::from(Arc::new(ThreadWaker(thread::current())));
    let mut cx = Context::from_waker(&waker);
    loop {
        match future.as_mut().poll(&mut cx) {
            Poll::Ready(out) => return out,
            Poll::Pending => thread::park(),
        }
    }
}

/// Runs every future of `futures` concurrently, interleaved on the current task, and
/// returns their outputs in the same order (like `futures::future::join_all`). The
/// contract suites use it to overlap calls into one store without owning a runtime.
pub async fn join_all<F: Future>(futures: impl IntoIterator<Item = F>) -> Vec<F::Output> {
    let mut running: Vec<Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = running.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut done = true;
        for (future, output) in running.iter_mut().zip(outputs.iter_mut()) {
            if output.is_none() {
                match future.as_mut().poll(cx) {
                    Poll::Ready(value) => *output = Some(value),
                    Poll::Pending => done = false,
                }
            }
        }
        if done { Poll::Ready(()) } else { Poll::Pending }
    })
    .await;
    outputs.into_iter().flatten().collect()
}

/// [`Services`] over fresh in-memory fakes.
pub fn services() -> Services {
    let repositories = MemoryRepositoryStore::default();
    let builds = Arc::new(MemoryBuildStore::new(repositories.clone()));
    let webhooks = Arc::new(MemoryWebhookEventStore::new(repositories.clone()));
    let store = Arc::new(repositories);
    Services {
        repositories: store.clone(),
        builds,
        pipelines: Arc::new(MemoryPipelineStore::default()),
        webhooks,
        store_health: store.clone(),
        key_check: store,
        cipher: Arc::new(FakeCipher),
        clock: Arc::new(FixedClock::default()),
        ids: Arc::new(SequentialIds::default()),
    }
}
