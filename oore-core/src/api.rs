//! Wire types: the JSON shapes `oored` serves and `oore` reads. They are plain serde
//! structs, separate from the domain types, and convert from them at the edge.
//!
//! - Enumerated strings are wire enums ([`BuildStatusDto`], [`ErrorCode`], ...) that read a
//!   value they do not know as `Unknown`, so an older client reads a newer server.
//! - [`paths`] builds the path of every route; [`LogOffsets`] and [`LogStreamEvent`] are
//!   the live log stream's resume parameter and events.
//! - Every type has an OpenAPI schema ([`openapi::components`]).
//!
//! Timestamps are RFC 3339 UTC; ids are ULID strings.

mod build;
mod enums;
mod error;
mod github;
mod logs;
pub mod openapi;
pub mod paths;
mod pipeline;
mod repository;
mod system;
mod webhook;
mod wire_enum;

#[cfg(test)]
mod tests;

pub use build::{
    ArtifactDto, ArtifactListResponse, BuildDto, BuildListResponse, StepDto, StepListResponse,
    TriggerBuildRequest,
};
pub use enums::{
    BuildConcurrencyDto, BuildStatusDto, ConfigSourceDto, DatabaseStatusDto, ForkPullRequestsDto,
    HealthStatusDto, LogStreamDto, PayloadFormatDto, PipelineFormatDto, ProviderDto,
    RepositoryStateDto, SetupItemKeyDto, StepStatusDto, TriggerDto, WebhookEventStatusDto,
    WebhookRefusalDto,
};
pub use error::{ErrorBody, ErrorCode, ErrorEnvelope, FieldErrorDto};
pub use github::{
    GitHubAppCreatedResponse, GitHubAppDto, GitHubCallbackRequest, GitHubInstallationDto,
    GitHubInstallationListResponse, GitHubInstallationStateDto, GitHubPrivateKeyRequest,
    GitHubRemoveResponse, GitHubRepositorySelectionDto, GitHubSetupRequest, GitHubSetupResponse,
    GitHubSetupStageDto, GitHubSetupStatusResponse, GitHubStatusResponse, GitHubSyncOutcomeDto,
    GitHubSyncRequest, GitHubSyncResponse, GitHubSyncResultDto,
};
pub use logs::{
    EndEventDto, InvalidLogOffset, InvalidStreamEvent, LogChunkResponse, LogEventDto, LogOffsets,
    LogStreamEvent, StatusEventDto, StepStatusEventDto,
};
pub use pipeline::{
    ConvertResponse, DiagnosticDto, PipelineDocumentRequest, PipelineDto, PipelineHistoryEntryDto,
    PipelineHistoryResponse, RestorePipelineRequest, ValidationResponse,
};
pub use repository::{
    CreateRepositoryRequest, RepositoryDto, RepositoryListResponse, UpdateRepositoryRequest,
    WebhookUrlResponse,
};
pub use system::{HealthResponse, SetupItemDto, SetupStatusResponse, VersionResponse, WorkersDto};
pub use webhook::{
    ApproveWebhookRequest, WebhookAcceptedResponse, WebhookEventDetailDto, WebhookEventDto,
    WebhookListResponse, WebhookRefusalCountDto, WebhookRefusalSourceDto, WebhookRefusalsResponse,
};

/// The API version `oored` serves and `oore` speaks; a mismatch is warned about.
pub const API_VERSION: u32 = 1;
