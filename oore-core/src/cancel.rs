//! A runtime-free cancellation signal: the core and the adapters share it to stop a build
//! (user cancel, timeout, shutdown) without the core depending on an async runtime.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

/// Why something was cancelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelReason {
    /// A user asked for it.
    User,
    /// A newer build of the same branch and workflow replaced it
    /// (`cancel_previous_builds`); the number of that build.
    Superseded(u64),
    /// `oored` is shutting down; the build is recorded as interrupted.
    Shutdown,
}

impl CancelReason {
    /// What a build cancelled for this reason says as its error message.
    pub fn message(self) -> String {
        match self {
            Self::User => "cancelled by user".to_owned(),
            Self::Superseded(number) => {
                format!("cancelled: superseded by build #{number} (cancel_previous_builds)")
            }
            Self::Shutdown => "interrupted by server shutdown; trigger the build again".to_owned(),
        }
    }
}

#[derive(Default)]
struct Inner {
    cancelled: AtomicBool,
    reason: Mutex<Option<CancelReason>>,
    wakers: Mutex<Vec<Waker>>,
}

/// Cheap to clone; all clones see the same signal.
#[derive(Clone, Default)]
pub struct CancelToken(Arc<Inner>);

impl std::fmt::Debug for CancelToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CancelToken({:?})", self.reason())
    }
}

impl CancelToken {
    /// A fresh, not cancelled token.
    pub fn new() -> Self {
        Self::default()
    }

    /// Signals cancellation; the first reason wins. Wakes every waiter.
    pub fn cancel(&self, reason: CancelReason) {
        {
            let mut r = self.0.reason.lock().unwrap_or_else(|p| p.into_inner());
            if r.is_none() {
                *r = Some(reason);
            }
        }
        self.0.cancelled.store(true, Ordering::SeqCst);
        let wakers = std::mem::take(&mut *self.0.wakers.lock().unwrap_or_else(|p| p.into_inner()));
        for w in wakers {
            w.wake();
        }
    }

    /// True once [`cancel`](Self::cancel) was called.
    pub fn is_cancelled(&self) -> bool {
        self.0.cancelled.load(Ordering::SeqCst)
    }

    /// The reason given to the first `cancel`.
    pub fn reason(&self) -> Option<CancelReason> {
        *self.0.reason.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Completes when the token is cancelled.
    pub fn cancelled(&self) -> Cancelled {
        Cancelled(self.clone())
    }
}

/// Future returned by [`CancelToken::cancelled`].
#[derive(Debug)]
pub struct Cancelled(CancelToken);

impl Future for Cancelled {
    type Output = CancelReason;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<CancelReason> {
        let inner = &(self.0).0;
        if inner.cancelled.load(Ordering::SeqCst) {
            return Poll::Ready(self.0.reason().unwrap_or(CancelReason::User));
        }
        let mut wakers = inner.wakers.lock().unwrap_or_else(|p| p.into_inner());
        // Re-check under the lock so a cancel between the check and the push is not lost.
        if inner.cancelled.load(Ordering::SeqCst) {
            return Poll::Ready(self.0.reason().unwrap_or(CancelReason::User));
        }
        if !wakers.iter().any(|w| w.will_wake(cx.waker())) {
            wakers.push(cx.waker().clone());
        }
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::block_on;

    #[test]
    fn cancel_wakes_a_waiter_on_another_thread() {
        let token = CancelToken::new();
        let t2 = token.clone();
        let handle = std::thread::spawn(move || block_on(t2.cancelled()));
        token.cancel(CancelReason::Shutdown);
        token.cancel(CancelReason::User);
        assert_eq!(handle.join().unwrap(), CancelReason::Shutdown);
        assert!(token.is_cancelled());
    }
}
