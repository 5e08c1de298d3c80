//! Retention of rejected webhook attempts (`OORE_REJECTED_RETENTION_HOURS`,
//! `OORE_REJECTED_MAX_ROWS`): they are unauthenticated, so they are kept for debugging
//! only for a while and only so many. Accepted events stay as the audit trail.

use std::time::Duration;

use crate::ports::StoreError;
use crate::services::Services;

/// How long and how many rejected attempts are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RejectedRetention {
    /// Rejected attempts older than this are deleted.
    pub max_age: Duration,
    /// At most this many are kept, the oldest deleted first.
    pub max_rows: u64,
}

impl Default for RejectedRetention {
    /// A week, 10,000 attempts.
    fn default() -> Self {
        Self {
            max_age: Duration::from_secs(168 * 3600),
            max_rows: 10_000,
        }
    }
}

/// Deletes the rejected attempts `retention` does not keep; returns how many.
pub async fn prune_rejected_events(
    svc: &Services,
    retention: RejectedRetention,
) -> Result<u64, StoreError> {
    let max_age = jiff::SignedDuration::try_from(retention.max_age)
        .map_err(|e| StoreError::Other(format!("the rejected retention is too long: {e}")))?;
    let cutoff = svc
        .clock
        .now()
        .checked_sub(max_age)
        .unwrap_or(jiff::Timestamp::MIN);
    svc.webhooks
        .prune_rejected(cutoff, retention.max_rows)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::contract::sample_webhook_event;
    use crate::testing::contract::webhook_store::sample_rejected;
    use crate::testing::{block_on, services};

    #[test]
    fn old_rejected_attempts_go_and_at_most_max_rows_stay() {
        let svc = services();
        let now = svc.clock.now();
        let refused: Vec<_> = (1..=4u128)
            .map(|n| {
                let mut event = sample_webhook_event(n, None);
                event.received_at = if n <= 2 {
                    now - jiff::SignedDuration::from_hours(2)
                } else {
                    now
                };
                sample_rejected(event, "refused")
            })
            .collect();
        block_on(svc.webhooks.record_rejected(&refused, 100)).unwrap();
        let an_hour = RejectedRetention {
            max_age: Duration::from_secs(3600),
            max_rows: 100,
        };
        assert_eq!(block_on(prune_rejected_events(&svc, an_hour)), Ok(2));
        let one = RejectedRetention {
            max_rows: 1,
            ..an_hour
        };
        assert_eq!(block_on(prune_rejected_events(&svc, one)), Ok(1));
        assert_eq!(
            block_on(prune_rejected_events(&svc, RejectedRetention::default())),
            Ok(0)
        );
    }
}
