//! Test support that needs no IO: in-memory fakes of the ports, a tiny executor, and the
//! contract suites every port implementation must pass (see [`contract`]).
//!
//! Compiled always (it is small and pure) so that `oore-adapters` and `oore-testkit`
//! can run the same contracts against the real implementations.

pub mod contract;
mod memory;

pub use memory::{FakeCipher, FixedClock, MemoryRepositoryStore, SequentialIds};

use std::future::Future;
use std::pin::pin;
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

/// [`Services`] over fresh in-memory fakes.
pub fn services() -> Services {
    let store = Arc::new(MemoryRepositoryStore::default());
    Services {
        repositories: store.clone(),
        store_health: store,
        cipher: Arc::new(FakeCipher),
        clock: Arc::new(FixedClock::default()),
        ids: Arc::new(SequentialIds::default()),
    }
}
