//! Webhook events: one row per delivery received from a forge, and its processing status.

use std::fmt;
use std::str::FromStr;

use jiff::Timestamp;

use super::build::IllegalTransition;
use super::repository::Provider;
use crate::ids::{RepositoryId, WebhookEventId};

/// Processing status of a received webhook delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WebhookEventStatus {
    /// Stored, not yet processed.
    Received,
    /// Processed; builds were created.
    Processed,
    /// Processed; nothing to build (and why is recorded).
    Ignored,
    /// Processing failed (the error is recorded).
    Failed,
    /// Signature or token check failed; the payload was not acted on.
    Rejected,
}

impl WebhookEventStatus {
    /// Every status.
    pub const ALL: &'static [Self] = &[
        Self::Received,
        Self::Processed,
        Self::Ignored,
        Self::Failed,
        Self::Rejected,
    ];

    /// The stable lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Received => "received",
            Self::Processed => "processed",
            Self::Ignored => "ignored",
            Self::Failed => "failed",
            Self::Rejected => "rejected",
        }
    }

    /// Checks a status change: received -> processed | ignored | failed, and any processed
    /// outcome back to received when a user asks for redelivery. Rejected is final.
    pub fn transition(self, to: Self) -> Result<Self, IllegalTransition> {
        use WebhookEventStatus::*;
        match (self, to) {
            (Received, Processed | Ignored | Failed) | (Processed | Ignored | Failed, Received) => {
                Ok(to)
            }
            _ => Err(IllegalTransition::new(
                "webhook event",
                self.as_str(),
                to.as_str(),
            )),
        }
    }
}

impl fmt::Display for WebhookEventStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for WebhookEventStatus {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.iter().copied().find(|v| v.as_str() == s.trim()).ok_or_else(|| {
            format!("unknown webhook status '{s}': expected received, processed, ignored, failed or rejected")
        })
    }
}

/// One delivery received from a forge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookEvent {
    /// Identity.
    pub id: WebhookEventId,
    /// The forge that sent it.
    pub provider: Provider,
    /// Forge delivery id (unique per provider).
    pub delivery_id: String,
    /// Event name, e.g. `push`, `Merge Request Hook`.
    pub event_type: String,
    /// The repository it was matched to, if any.
    pub repository_id: Option<RepositoryId>,
    /// Processing status.
    pub status: WebhookEventStatus,
    /// Why it was ignored, rejected or failed.
    pub reason: Option<String>,
    /// When it arrived.
    pub received_at: Timestamp,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejected_is_final_and_redelivery_reopens_processed_events() {
        use WebhookEventStatus::*;
        assert!(Received.transition(Processed).is_ok());
        assert!(Processed.transition(Received).is_ok());
        for &to in WebhookEventStatus::ALL {
            assert!(Rejected.transition(to).is_err());
        }
        assert!(Received.transition(Rejected).is_err());
    }
}
