//! Typed ULID identifiers, one per entity, so a build id can never be passed where a
//! repository id is expected.

use std::fmt;
use std::str::FromStr;

use ulid::Ulid;

/// Error for an id that is not a ULID.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "'{input}' is not a valid id: expected a 26-character ULID such as 01HV4Z8Q2N7J3M5X9W1K6T0RBC"
)]
pub struct InvalidId {
    input: String,
}

macro_rules! typed_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(Ulid);

        impl $name {
            /// Wraps a ULID produced by an [`IdGen`](crate::ports::IdGen).
            pub fn from_ulid(ulid: Ulid) -> Self {
                Self(ulid)
            }

            /// The underlying ULID.
            pub fn ulid(self) -> Ulid {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }

        impl FromStr for $name {
            type Err = InvalidId;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Ulid::from_string(s.trim())
                    .map(Self)
                    .map_err(|_| InvalidId { input: s.to_owned() })
            }
        }
    };
}

typed_id!(
    /// Identifies a [`Repository`](crate::domain::repository::Repository).
    RepositoryId
);
typed_id!(
    /// Identifies a [`Build`](crate::domain::build::Build).
    BuildId
);
typed_id!(
    /// Identifies a [`BuildStep`](crate::domain::build::BuildStep).
    StepId
);
typed_id!(
    /// Identifies an [`Artifact`](crate::domain::build::Artifact).
    ArtifactId
);
typed_id!(
    /// Identifies a [`WebhookEvent`](crate::domain::webhook::WebhookEvent).
    WebhookEventId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_display_and_parse() {
        let id = RepositoryId::from_ulid(Ulid::from_parts(1_700_000_000_000, 42));
        let parsed: RepositoryId = id.to_string().parse().unwrap();
        assert_eq!(parsed, id);
    }

    #[test]
    fn rejects_garbage_with_a_helpful_message() {
        let err = "nope".parse::<BuildId>().unwrap_err();
        assert!(
            err.to_string().contains("'nope' is not a valid id"),
            "{err}"
        );
    }
}
