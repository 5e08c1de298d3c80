//! Wire types of the system endpoints: health, version and the setup checklist.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{DatabaseStatusDto, HealthStatusDto, SetupItemKeyDto};

/// `GET /api/health`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, ToSchema)]
pub struct HealthResponse {
    /// `healthy`, or `degraded` when the database does not answer, does not take
    /// writes, or free space is below `OORE_MIN_FREE_BYTES`.
    pub status: HealthStatusDto,
    /// Why it is degraded and what to do, one sentence per problem; absent when
    /// healthy (and from older servers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Server version.
    pub version: String,
    /// Seconds since `oored` started.
    pub uptime_seconds: u64,
    /// Whether the database answered.
    pub database: DatabaseStatusDto,
    /// Build worker slots.
    pub workers: WorkersDto,
}

/// Build worker slots.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, ToSchema)]
pub struct WorkersDto {
    /// Builds running now.
    pub busy: u32,
    /// Maximum concurrent builds (`OORE_MAX_CONCURRENT_BUILDS`).
    pub max: u32,
}

/// `GET /api/version`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, ToSchema)]
pub struct VersionResponse {
    /// `oored` version.
    pub version: String,
    /// [`API_VERSION`](super::API_VERSION) of the server.
    pub api_version: u32,
}

/// `GET /api/setup/status`: what is configured so far (spec 15 / 14.1).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, ToSchema)]
pub struct SetupStatusResponse {
    /// One line per checklist item, in display order.
    pub items: Vec<SetupItemDto>,
    /// True when every required item is done.
    pub complete: bool,
}

/// One checklist item.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, ToSchema)]
pub struct SetupItemDto {
    /// Stable key.
    pub key: SetupItemKeyDto,
    /// Display label.
    pub label: String,
    /// Done?
    pub configured: bool,
    /// What is configured, or what to do.
    pub detail: String,
}
