//! What can go wrong when Oore talks to a forge's API (GitHub now, GitLab later), free of
//! any HTTP library's types. Adapters map status codes and rate-limit headers to these
//! variants; use cases decide what each means for the user.

use std::time::Duration;

/// A failed call to a forge's API.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ForgeError {
    /// 401: the credentials were refused (bad or expired token, bad JWT).
    #[error("the forge refused the credentials: {message}")]
    Unauthorized {
        /// What the forge said, for the user.
        message: String,
    },
    /// 403 (not a rate limit): permission missing, installation suspended, ...
    #[error("the forge refused the request: {message}")]
    Forbidden {
        /// What the forge said.
        message: String,
    },
    /// 404: gone, never existed, or invisible to these credentials.
    #[error("the forge does not know it: {message}")]
    NotFound {
        /// What the forge said.
        message: String,
    },
    /// 403/429 with the rate-limit headers: retry no earlier than `retry_after`.
    #[error("the forge's rate limit was reached: {message}; retry in {}s", retry_after.as_secs())]
    RateLimited {
        /// How long to wait before the next call.
        retry_after: Duration,
        /// What the forge said.
        message: String,
    },
    /// 5xx, timeouts, connection failures: the forge could not be reached or answered
    /// nothing useful; retrying later may work.
    #[error("the forge is unavailable: {message}; retry later")]
    Unavailable {
        /// What went wrong.
        message: String,
    },
    /// Anything else (a 422, an answer that is not the expected JSON, a bad key).
    #[error("{message}")]
    Other {
        /// What went wrong.
        message: String,
    },
}

impl ForgeError {
    /// The message alone, without the variant's prefix.
    pub fn message(&self) -> &str {
        match self {
            Self::Unauthorized { message }
            | Self::Forbidden { message }
            | Self::NotFound { message }
            | Self::RateLimited { message, .. }
            | Self::Unavailable { message }
            | Self::Other { message } => message,
        }
    }

    /// True when retrying later may succeed (rate limits, outages).
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::RateLimited { .. } | Self::Unavailable { .. })
    }
}
