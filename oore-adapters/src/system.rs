//! The operating system's clock and a monotonic ULID generator: [`SystemClock`]
//! implements [`Clock`], [`UlidGenerator`] implements [`IdGen`].

use std::sync::Mutex;
use std::time::Duration;

use jiff::Timestamp;
use oore_core::ports::{Clock, IdGen};
use ulid::Ulid;

/// Wall-clock time, UTC, in whole milliseconds: the precision the database stores
/// (see [`crate::sqlite`]), so a value read back equals the value written.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        let now = Timestamp::now();
        Timestamp::from_millisecond(now.as_millisecond()).unwrap_or(now)
    }
}

/// ULIDs from the system clock and OS-seeded randomness, strictly increasing within
/// the process even when several are made in the same millisecond or the clock steps
/// back (the random part is incremented instead).
#[derive(Default)]
pub struct UlidGenerator {
    generator: Mutex<ulid::Generator>,
}

impl std::fmt::Debug for UlidGenerator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UlidGenerator")
    }
}

impl UlidGenerator {
    /// A new generator.
    pub fn new() -> Self {
        Self::default()
    }
}

impl IdGen for UlidGenerator {
    fn new_ulid(&self) -> Ulid {
        let mut generator = self
            .generator
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        loop {
            match generator.generate() {
                Ok(ulid) => return ulid,
                // 2^80 ids in one millisecond (or after the clock stepped back): wait for
                // the clock to pass the last id's millisecond, which resets the counter.
                Err(_) => std::thread::sleep(Duration::from_millis(1)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ulids_increase_strictly() {
        let ids = UlidGenerator::new();
        let mut last = ids.new_ulid();
        for _ in 0..10_000 {
            let next = ids.new_ulid();
            assert!(next > last);
            last = next;
        }
    }

    #[test]
    fn clock_has_millisecond_precision() {
        let now = SystemClock.now();
        assert_eq!(now.subsec_nanosecond() % 1_000_000, 0);
    }
}
