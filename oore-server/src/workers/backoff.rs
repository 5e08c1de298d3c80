//! [`Backoff`]: doubling waits between retries of a write the database refused, cut
//! short when `oored` stops.

use std::time::Duration;

use tokio::sync::watch;

/// The first wait.
const FIRST: Duration = Duration::from_millis(250);

/// The longest wait: a build's end is recorded within this long of space returning.
const MAX: Duration = Duration::from_secs(5);

/// Waits 250 ms, 500 ms, 1 s, ... up to 5 s between attempts.
#[derive(Debug)]
pub(crate) struct Backoff {
    next: Duration,
}

impl Backoff {
    pub(crate) fn new() -> Self {
        Self { next: FIRST }
    }

    /// The wait before the next attempt; the one after is twice as long (up to 5 s).
    fn advance(&mut self) -> Duration {
        let delay = self.next;
        self.next = (self.next * 2).min(MAX);
        delay
    }

    /// The wait before the next attempt, for messages.
    pub(crate) fn peek(&self) -> Duration {
        self.next
    }

    /// Waits the next delay. Returns false at once, or as soon as `stop` turns true (or
    /// its sender is gone): the caller makes its last attempt then.
    pub(crate) async fn wait(&mut self, stop: &mut watch::Receiver<bool>) -> bool {
        if *stop.borrow() {
            return false;
        }
        let delay = self.advance();
        tokio::select! {
            () = tokio::time::sleep(delay) => true,
            changed = stop.changed() => changed.is_ok() && !*stop.borrow(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_up_to_the_cap() {
        let mut backoff = Backoff::new();
        let waits: Vec<Duration> = (0..7).map(|_| backoff.advance()).collect();
        assert_eq!(
            waits,
            [250, 500, 1000, 2000, 4000, 5000, 5000].map(Duration::from_millis)
        );
    }

    #[tokio::test]
    async fn a_stop_cuts_the_wait_short() {
        let (stop_tx, mut stop) = watch::channel(false);
        let mut backoff = Backoff::new();
        for _ in 0..5 {
            backoff.advance();
        }
        let started = std::time::Instant::now();
        let stopper = tokio::spawn(async move {
            tokio::task::yield_now().await;
            stop_tx.send(true).unwrap();
            stop_tx
        });
        assert!(!backoff.wait(&mut stop).await, "stopped, not slept out");
        assert!(started.elapsed() < MAX, "{:?}", started.elapsed());
        let _stop_tx = stopper.await.unwrap();
        assert!(!backoff.wait(&mut stop).await, "already stopped");
    }
}
