//! The enumerated strings of the API's responses (statuses, providers, sources, formats),
//! one wire enum each, converted from the domain enums at the edge. Each reads values it
//! does not know as `Unknown` (see [`wire_enum`](super::wire_enum)).

use super::wire_enum::wire_enum;
use crate::domain::build::{BuildStatus, StepStatus, TriggerType};
use crate::domain::repository::{ForkPolicy, Provider, RepositoryState};
use crate::domain::webhook::WebhookEventStatus;
use crate::pipeline::{ConfigSource, Format};
use crate::ports::LogStream;
use crate::scheduling::RepoConcurrency;

wire_enum! {
    /// Whether `oored` can serve requests.
    HealthStatusDto {
        /// Everything answers.
        Healthy = "healthy",
        /// Up, but the database does not answer.
        Degraded = "degraded",
    }
}

wire_enum! {
    /// Whether `oored` reaches its database.
    DatabaseStatusDto {
        /// It answered a ping.
        Connected = "connected",
        /// It did not answer in time, or failed.
        Unavailable = "unavailable",
    }
}

wire_enum! {
    /// The stable key of a setup checklist item.
    SetupItemKeyDto {
        /// The server's encryption key.
        Encryption = "encryption",
        /// The admin token.
        AdminToken = "admin_token",
        /// The database connection.
        Database = "database",
        /// The GitHub App (optional).
        GitHub = "github",
        /// The GitLab integration (optional).
        GitLab = "gitlab",
        /// At least one repository.
        Repositories = "repositories",
    }
}

impl SetupItemKeyDto {
    /// True for the items a server may go without (GitHub and GitLab: plain git
    /// repositories need neither). Unknown items count as required.
    pub const fn is_optional(self) -> bool {
        matches!(self, Self::GitHub | Self::GitLab)
    }
}

wire_enum! {
    /// Where a repository is hosted.
    ProviderDto {
        /// github.com or GitHub Enterprise: HMAC-SHA256 signed webhooks.
        GitHub = "github",
        /// gitlab.com or self-hosted GitLab: token-authenticated webhooks.
        GitLab = "gitlab",
        /// Any clone URL; builds are triggered manually.
        Git = "git",
    }
}

impl From<Provider> for ProviderDto {
    fn from(p: Provider) -> Self {
        match p {
            Provider::GitHub => Self::GitHub,
            Provider::GitLab => Self::GitLab,
            Provider::Git => Self::Git,
        }
    }
}

wire_enum! {
    /// Lifecycle state of a repository.
    RepositoryStateDto {
        /// Receiving webhooks, builds enabled.
        Active = "active",
        /// Paused: no builds, history kept.
        Inactive = "inactive",
        /// Webhook verification is failing.
        Error = "error",
        /// Added, but webhooks cannot be verified yet (no secret).
        PendingSetup = "pending_setup",
    }
}

impl From<RepositoryState> for RepositoryStateDto {
    fn from(s: RepositoryState) -> Self {
        match s {
            RepositoryState::Active => Self::Active,
            RepositoryState::Inactive => Self::Inactive,
            RepositoryState::Error => Self::Error,
            RepositoryState::PendingSetup => Self::PendingSetup,
        }
    }
}

wire_enum! {
    /// Whether builds of one repository may run at the same time.
    BuildConcurrencyDto {
        /// Side by side (the default).
        Parallel = "parallel",
        /// One at a time, in queue order.
        Serial = "serial",
    }
}

impl Default for BuildConcurrencyDto {
    /// `parallel`, what servers older than the setting did.
    fn default() -> Self {
        RepoConcurrency::default().into()
    }
}

impl From<RepoConcurrency> for BuildConcurrencyDto {
    fn from(c: RepoConcurrency) -> Self {
        match c {
            RepoConcurrency::Parallel => Self::Parallel,
            RepoConcurrency::Serial => Self::Serial,
        }
    }
}

wire_enum! {
    /// A build's status.
    BuildStatusDto {
        /// Waiting for a worker.
        Pending = "pending",
        /// Running now.
        Running = "running",
        /// Every step succeeded (or failed with its failure ignored).
        Success = "success",
        /// A step or the setup failed.
        Failure = "failure",
        /// Cancelled before it ended.
        Cancelled = "cancelled",
    }
}

impl BuildStatusDto {
    /// True once the build can change no more: anything but pending and running, so a
    /// status this version does not know counts as an end.
    pub const fn has_ended(self) -> bool {
        !matches!(self, Self::Pending | Self::Running)
    }
}

impl From<BuildStatus> for BuildStatusDto {
    fn from(s: BuildStatus) -> Self {
        match s {
            BuildStatus::Pending => Self::Pending,
            BuildStatus::Running => Self::Running,
            BuildStatus::Success => Self::Success,
            BuildStatus::Failure => Self::Failure,
            BuildStatus::Cancelled => Self::Cancelled,
        }
    }
}

wire_enum! {
    /// A build step's status.
    StepStatusDto {
        /// Not started yet.
        Pending = "pending",
        /// Running now.
        Running = "running",
        /// Exited with code 0.
        Success = "success",
        /// Exited otherwise, timed out or could not start.
        Failure = "failure",
        /// Not run: an earlier step failed or the build was cancelled first.
        Skipped = "skipped",
        /// Stopped while running.
        Cancelled = "cancelled",
    }
}

impl StepStatusDto {
    /// True once the step can change no more (a status this version does not know
    /// counts as an end).
    pub const fn has_ended(self) -> bool {
        !matches!(self, Self::Pending | Self::Running)
    }
}

impl From<StepStatus> for StepStatusDto {
    fn from(s: StepStatus) -> Self {
        match s {
            StepStatus::Pending => Self::Pending,
            StepStatus::Running => Self::Running,
            StepStatus::Success => Self::Success,
            StepStatus::Failure => Self::Failure,
            StepStatus::Skipped => Self::Skipped,
            StepStatus::Cancelled => Self::Cancelled,
        }
    }
}

wire_enum! {
    /// What started a build.
    TriggerDto {
        /// A push to a branch or tag.
        Push = "push",
        /// A GitHub pull request.
        PullRequest = "pull_request",
        /// A GitLab merge request.
        MergeRequest = "merge_request",
        /// A person or script asked for it.
        Manual = "manual",
    }
}

impl From<TriggerType> for TriggerDto {
    fn from(t: TriggerType) -> Self {
        match t {
            TriggerType::Push => Self::Push,
            TriggerType::PullRequest => Self::PullRequest,
            TriggerType::MergeRequest => Self::MergeRequest,
            TriggerType::Manual => Self::Manual,
        }
    }
}

wire_enum! {
    /// What pull/merge requests from forks do in a repository.
    ForkPullRequestsDto {
        /// Never built; recorded `ignored`.
        Never = "never",
        /// Held `awaiting_approval` until approved (the default); GitHub authors who are
        /// OWNER, MEMBER or COLLABORATOR are trusted.
        Approve = "approve",
        /// Built like any other pull request.
        Always = "always",
    }
}

impl Default for ForkPullRequestsDto {
    /// `always`: what servers older than the setting did (they built every pull
    /// request).
    fn default() -> Self {
        Self::Always
    }
}

impl From<ForkPolicy> for ForkPullRequestsDto {
    fn from(p: ForkPolicy) -> Self {
        match p {
            ForkPolicy::Never => Self::Never,
            ForkPolicy::Approve => Self::Approve,
            ForkPolicy::Always => Self::Always,
        }
    }
}

wire_enum! {
    /// Why a webhook request was refused without being stored (counted per source).
    WebhookRefusalDto {
        /// The URL's repository id is not an id.
        InvalidId = "invalid_id",
        /// No repository has the URL's id (or it was removed).
        UnknownRepository = "unknown_repository",
        /// The URL is for another provider than the repository's.
        WrongProvider = "wrong_provider",
        /// The repository has no webhook secret, so nothing could be verified.
        NoSecret = "no_secret",
        /// The source address is outside `OORE_GITLAB_ALLOWED_CIDRS`.
        SourceNotAllowed = "source_not_allowed",
        /// Too many webhook bodies were being read at once
        /// (`OORE_WEBHOOK_INFLIGHT_BYTES`): answered 503.
        Busy = "busy",
        /// The signature or token did not verify, and the attempt was not recorded:
        /// too many were being recorded at once, or `OORE_REJECTED_MAX_ROWS` is 0.
        NotRecorded = "not_recorded",
    }
}

wire_enum! {
    /// Where the configuration a build uses came from.
    ConfigSourceDto {
        /// Stored with `oore pipeline set` or the web editor.
        Database = "database",
        /// A file in the repository root.
        Repository = "repository",
        /// Nothing was configured: the built-in default pipeline.
        Default = "default",
    }
}

impl From<ConfigSource> for ConfigSourceDto {
    fn from(s: ConfigSource) -> Self {
        match s {
            ConfigSource::Database => Self::Database,
            ConfigSource::Repository => Self::Repository,
            ConfigSource::Default => Self::Default,
        }
    }
}

wire_enum! {
    /// Processing status of a received webhook delivery.
    WebhookEventStatusDto {
        /// Stored, not yet processed.
        Received = "received",
        /// Processed; builds were created.
        Processed = "processed",
        /// Processed; nothing to build (the reason says why).
        Ignored = "ignored",
        /// Processing failed (the reason says why).
        Failed = "failed",
        /// The signature or token check failed; the payload was not acted on.
        Rejected = "rejected",
        /// A pull/merge request from a fork: it builds once someone approves it.
        AwaitingApproval = "awaiting_approval",
    }
}

impl From<WebhookEventStatus> for WebhookEventStatusDto {
    fn from(s: WebhookEventStatus) -> Self {
        match s {
            WebhookEventStatus::Received => Self::Received,
            WebhookEventStatus::Processed => Self::Processed,
            WebhookEventStatus::Ignored => Self::Ignored,
            WebhookEventStatus::Failed => Self::Failed,
            WebhookEventStatus::Rejected => Self::Rejected,
            WebhookEventStatus::AwaitingApproval => Self::AwaitingApproval,
        }
    }
}

wire_enum! {
    /// How a stored webhook body is shown.
    PayloadFormatDto {
        /// The body is JSON; `payload` is that JSON.
        Json = "json",
        /// Anything else; `payload` is the body as a string, invalid UTF-8 replaced.
        Text = "text",
    }
}

wire_enum! {
    /// A pipeline document language.
    PipelineFormatDto {
        /// YAML, Codemagic-compatible.
        Yaml = "yaml",
        /// HUML v0.2.
        Huml = "huml",
    }
}

impl From<Format> for PipelineFormatDto {
    fn from(f: Format) -> Self {
        match f {
            Format::Yaml => Self::Yaml,
            Format::Huml => Self::Huml,
        }
    }
}

wire_enum! {
    /// Which log of a build a chunk of the log stream belongs to.
    LogStreamDto {
        /// A step's standard output.
        Stdout = "stdout",
        /// A step's standard error.
        Stderr = "stderr",
        /// The system log: clone, setup, artifacts and other messages from Oore itself.
        System = "system",
    }
}

impl From<LogStream> for LogStreamDto {
    fn from(s: LogStream) -> Self {
        match s {
            LogStream::Stdout => Self::Stdout,
            LogStream::Stderr => Self::Stderr,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_domain_value_keeps_its_wire_spelling() {
        for &s in BuildStatus::ALL {
            assert_eq!(BuildStatusDto::from(s).as_str(), s.as_str());
        }
        for &s in StepStatus::ALL {
            assert_eq!(StepStatusDto::from(s).as_str(), s.as_str());
        }
        for &t in TriggerType::ALL {
            assert_eq!(TriggerDto::from(t).as_str(), t.as_str());
        }
        for &s in WebhookEventStatus::ALL {
            assert_eq!(WebhookEventStatusDto::from(s).as_str(), s.as_str());
        }
        for p in Provider::ALL {
            assert_eq!(ProviderDto::from(p).as_str(), p.as_str());
        }
        for s in [
            RepositoryState::Active,
            RepositoryState::Inactive,
            RepositoryState::Error,
            RepositoryState::PendingSetup,
        ] {
            assert_eq!(RepositoryStateDto::from(s).as_str(), s.as_str());
        }
        for c in [RepoConcurrency::Parallel, RepoConcurrency::Serial] {
            assert_eq!(BuildConcurrencyDto::from(c).as_str(), c.as_str());
        }
        for p in ForkPolicy::ALL {
            assert_eq!(ForkPullRequestsDto::from(p).as_str(), p.as_str());
        }
        for s in [
            ConfigSource::Database,
            ConfigSource::Repository,
            ConfigSource::Default,
        ] {
            assert_eq!(ConfigSourceDto::from(s).as_str(), s.as_str());
        }
        for f in [Format::Yaml, Format::Huml] {
            assert_eq!(PipelineFormatDto::from(f).as_str(), f.as_str());
        }
        for s in [LogStream::Stdout, LogStream::Stderr] {
            assert_eq!(LogStreamDto::from(s).as_str(), s.as_str());
        }
    }

    #[test]
    fn unknown_values_are_read_not_refused() {
        let status: BuildStatusDto = serde_json::from_str(r#""queued_remotely""#).unwrap();
        assert_eq!(status, BuildStatusDto::Unknown);
        assert!(status.is_unknown() && status.has_ended());
        assert_eq!(serde_json::to_string(&status).unwrap(), r#""unknown""#);
        let known: StepStatusDto = serde_json::from_str(r#""skipped""#).unwrap();
        assert_eq!(known, StepStatusDto::Skipped);
        assert_eq!(known.to_string(), "skipped");
        assert_eq!(ProviderDto::from_wire("bitbucket"), ProviderDto::Unknown);
        assert_eq!(
            RepositoryStateDto::from_wire("pending_setup"),
            RepositoryStateDto::PendingSetup
        );
        assert!(!BuildStatusDto::Running.has_ended());
        assert_eq!(
            BuildConcurrencyDto::default(),
            BuildConcurrencyDto::Parallel
        );
    }

    #[test]
    fn every_known_value_round_trips() {
        for &s in BuildStatusDto::KNOWN {
            let json = serde_json::to_string(&s).unwrap();
            assert_eq!(json, format!("\"{s}\""));
            assert_eq!(serde_json::from_str::<BuildStatusDto>(&json).unwrap(), s);
            assert_eq!(BuildStatusDto::from_wire(s.as_str()), s);
        }
        for &k in SetupItemKeyDto::KNOWN {
            assert_eq!(SetupItemKeyDto::from_wire(k.as_str()), k);
        }
        assert_eq!(SetupItemKeyDto::AdminToken, "admin_token");
        assert!(SetupItemKeyDto::GitLab.is_optional() && !SetupItemKeyDto::Unknown.is_optional());
    }
}
