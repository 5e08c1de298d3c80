//! The wire contract as data: one JSON snapshot per type (a representative value, so any
//! change on the wire is a visible diff), checked against the type's OpenAPI schema: the
//! fields sent are the documented ones, the required ones are always sent, and a value
//! with every optional field unset sends exactly the required ones.

use std::collections::BTreeSet;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use utoipa::ToSchema;

use super::*;

const BUILD: &str = "01KDX0M4G0B9Q3YV7ZJ8A2N5C6";
const REPO: &str = "01KDX0J1Q8W3E5R7T9Y2U4I6O8";
const EVENT: &str = "01KDX0K7P2M4N6B8V0C2X4Z6A8";
const AT: &str = "2026-01-02T03:04:05Z";

/// The required fields and the properties of the object schema `name` (following
/// `allOf` and `$ref`, as `#[serde(flatten)]` produces them).
fn shape(schemas: &Value, name: &str) -> (BTreeSet<String>, BTreeSet<String>) {
    let schema = &schemas[name];
    let mut required = BTreeSet::new();
    let mut properties = BTreeSet::new();
    let parts = match schema["allOf"].as_array() {
        Some(parts) => parts.clone(),
        None => vec![schema.clone()],
    };
    for part in parts {
        if let Some(reference) = part["$ref"].as_str() {
            let (r, p) = shape(
                schemas,
                reference.trim_start_matches("#/components/schemas/"),
            );
            required.extend(r);
            properties.extend(p);
            continue;
        }
        for field in part["required"].as_array().into_iter().flatten() {
            required.insert(field.as_str().expect("a name").to_owned());
        }
        for field in part["properties"].as_object().into_iter().flatten() {
            properties.insert(field.0.clone());
        }
    }
    (required, properties)
}

fn keys(value: &Value) -> BTreeSet<String> {
    value
        .as_object()
        .expect("an object")
        .keys()
        .cloned()
        .collect()
}

/// Snapshots `full`, round-trips both values, and checks them against the schema.
#[track_caller]
fn check<T>(full: &T, minimal: &T)
where
    T: Serialize + DeserializeOwned + ToSchema + PartialEq + std::fmt::Debug,
{
    let name = T::name();
    insta::assert_json_snapshot!(name.as_ref(), full);
    let schemas = openapi::schemas_json();
    let (required, properties) = shape(&schemas, &name);
    let (full_json, minimal_json) = (
        serde_json::to_value(full).unwrap(),
        serde_json::to_value(minimal).unwrap(),
    );
    for (what, value, json) in [
        ("full", full, &full_json),
        ("minimal", minimal, &minimal_json),
    ] {
        assert_eq!(
            &serde_json::from_value::<T>(json.clone()).unwrap(),
            value,
            "{name}: the {what} value round-trips"
        );
    }
    let sent = keys(&full_json);
    assert!(
        sent.is_subset(&properties),
        "{name}: undocumented fields in {sent:?}"
    );
    assert!(
        required.is_subset(&sent),
        "{name}: {required:?} are required but not all sent"
    );
    assert_eq!(
        keys(&minimal_json),
        required,
        "{name}: the fields always sent"
    );
}

fn build(steps: Option<Vec<StepDto>>) -> BuildDto {
    BuildDto {
        id: BUILD.into(),
        number: 12,
        repository_id: REPO.into(),
        status: BuildStatusDto::Failure,
        trigger: TriggerDto::PullRequest,
        priority: 2,
        branch: Some("feature/login".into()),
        base_branch: Some("main".into()),
        tag: None,
        pull_request: Some(42),
        commit_sha: Some("0123456789abcdef0123456789abcdef01234567".into()),
        workflow: Some("android".into()),
        config_source: Some(ConfigSourceDto::Repository),
        webhook_event_id: Some(EVENT.into()),
        error_message: Some("step 1 (Test) exited with code 3".into()),
        created_at: AT.into(),
        started_at: Some("2026-01-02T03:04:06Z".into()),
        finished_at: Some("2026-01-02T03:05:11Z".into()),
        duration_ms: Some(65_000),
        steps,
        waiting_reason: Some(
            "only 10.0 MiB free on the filesystem of /var/lib/oore (OORE_MIN_FREE_BYTES is 256.0 MiB): free disk space there; new builds wait until then".into(),
        ),
    }
}

fn pending_build() -> BuildDto {
    BuildDto {
        status: BuildStatusDto::Pending,
        trigger: TriggerDto::Manual,
        branch: None,
        base_branch: None,
        pull_request: None,
        commit_sha: None,
        workflow: None,
        config_source: None,
        webhook_event_id: None,
        error_message: None,
        started_at: None,
        finished_at: None,
        duration_ms: None,
        waiting_reason: None,
        ..build(None)
    }
}

fn step() -> StepDto {
    StepDto {
        index: 1,
        name: "Test".into(),
        status: StepStatusDto::Failure,
        ignore_failure: false,
        exit_code: Some(3),
        error_message: Some("exited with code 3".into()),
        started_at: Some("2026-01-02T03:04:10Z".into()),
        finished_at: Some("2026-01-02T03:05:10Z".into()),
        duration_ms: Some(60_000),
    }
}

fn pending_step() -> StepDto {
    StepDto {
        status: StepStatusDto::Pending,
        exit_code: None,
        error_message: None,
        started_at: None,
        finished_at: None,
        duration_ms: None,
        ..step()
    }
}

fn repository() -> RepositoryDto {
    RepositoryDto {
        id: REPO.into(),
        provider: ProviderDto::GitHub,
        owner: "acme".into(),
        name: "app".into(),
        full_name: "acme/app".into(),
        clone_url: "https://github.com/acme/app.git".into(),
        default_branch: "main".into(),
        state: RepositoryStateDto::PendingSetup,
        webhook_secret_configured: false,
        clone_credentials_configured: true,
        build_concurrency: BuildConcurrencyDto::Serial,
        fork_pull_requests: ForkPullRequestsDto::Approve,
        created_at: AT.into(),
        updated_at: AT.into(),
    }
}

fn event() -> WebhookEventDto {
    WebhookEventDto {
        id: EVENT.into(),
        provider: ProviderDto::GitLab,
        delivery_id: "72d3162e-cc78-11e3-81ab-4c9367dc0958".into(),
        event_type: "Push Hook".into(),
        repository_id: Some(REPO.into()),
        status: WebhookEventStatusDto::Processed,
        reason: None,
        source_ip: Some("192.0.2.1".into()),
        received_at: AT.into(),
        processed_at: Some("2026-01-02T03:04:06Z".into()),
        build_ids: vec![BUILD.into()],
        approved_by: Some("alice".into()),
        approved_at: Some("2026-01-02T03:04:05Z".into()),
    }
}

fn bare_event() -> WebhookEventDto {
    WebhookEventDto {
        repository_id: None,
        status: WebhookEventStatusDto::Received,
        source_ip: None,
        processed_at: None,
        build_ids: Vec::new(),
        approved_by: None,
        approved_at: None,
        ..event()
    }
}

fn diagnostic() -> DiagnosticDto {
    DiagnosticDto {
        line: Some(3),
        column: Some(7),
        path: "workflows.ios.scripts[2]".into(),
        message: "expected a mapping with `script`".into(),
    }
}

fn unlocated() -> DiagnosticDto {
    DiagnosticDto {
        line: None,
        column: None,
        path: String::new(),
        message: "the document is empty".into(),
    }
}

fn pipeline(warnings: Vec<DiagnosticDto>, workflows: Vec<String>) -> PipelineDto {
    PipelineDto {
        repository_id: REPO.into(),
        version: 2,
        format: PipelineFormatDto::Huml,
        content: "workflows:\n  ci:\n    scripts: []\n".into(),
        created_at: AT.into(),
        warnings,
        workflows,
    }
}

#[test]
fn errors() {
    let body = ErrorBody {
        code: ErrorCode::ValidationFailed,
        message: "the request has invalid fields: fix the ones listed and retry".into(),
        fields: Some(vec![FieldErrorDto {
            field: "provider".into(),
            message: "unknown provider 'svn': expected one of github, gitlab, git".into(),
        }]),
    };
    let bare = ErrorBody {
        code: ErrorCode::NotFound,
        message: "repository 01X not found".into(),
        fields: None,
    };
    check(
        &ErrorEnvelope {
            error: body.clone(),
            request_id: "01KDX0REQ0000000000000000Q".into(),
        },
        &ErrorEnvelope {
            error: bare.clone(),
            request_id: "01KDX0REQ0000000000000000Q".into(),
        },
    );
    check(&body, &bare);
    let field = FieldErrorDto {
        field: "name".into(),
        message: "must not be empty".into(),
    };
    check(&field, &field);
}

#[test]
fn system() {
    let health = HealthResponse {
        status: HealthStatusDto::Degraded,
        reason: Some("the database does not answer: database unavailable: disk I/O error".into()),
        version: "0.1.0".into(),
        uptime_seconds: 3_600,
        database: DatabaseStatusDto::Unavailable,
        workers: WorkersDto { busy: 1, max: 2 },
    };
    let healthy = HealthResponse {
        status: HealthStatusDto::Healthy,
        reason: None,
        database: DatabaseStatusDto::Connected,
        ..health.clone()
    };
    check(&health, &healthy);
    check(&health.workers, &health.workers);
    let version = VersionResponse {
        version: "0.1.0".into(),
        api_version: API_VERSION,
    };
    check(&version, &version);
    let item = SetupItemDto {
        key: SetupItemKeyDto::AdminToken,
        label: "Admin Token".into(),
        configured: true,
        detail: "set".into(),
    };
    check(&item, &item);
    let setup = SetupStatusResponse {
        items: vec![item],
        complete: false,
    };
    check(&setup, &setup);
}

#[test]
fn repositories() {
    check(&repository(), &repository());
    let list = RepositoryListResponse {
        repositories: vec![repository()],
    };
    check(&list, &list);
    let create = CreateRepositoryRequest {
        provider: "github".into(),
        owner: "acme".into(),
        name: "app".into(),
        clone_url: Some("https://github.com/acme/app.git".into()),
        default_branch: Some("develop".into()),
        webhook_secret: Some("s3cret".into()),
        build_concurrency: Some("serial".into()),
        fork_pull_requests: Some("approve".into()),
    };
    let bare_create = CreateRepositoryRequest {
        provider: "git".into(),
        owner: "acme".into(),
        name: "app".into(),
        ..Default::default()
    };
    check(&create, &bare_create);
    let update = UpdateRepositoryRequest {
        name: Some("app2".into()),
        clear_webhook_secret: true,
        build_concurrency: Some("parallel".into()),
        fork_pull_requests: Some("never".into()),
        ..Default::default()
    };
    check(&update, &UpdateRepositoryRequest::default());
    let hook = WebhookUrlResponse {
        repository_id: REPO.into(),
        provider: ProviderDto::GitHub,
        url: format!("https://ci.example.com/api/webhooks/github/{REPO}"),
        secret_configured: true,
        instructions: vec!["open Settings → Webhooks".into(), "paste the URL".into()],
    };
    check(&hook, &hook);
}

#[test]
fn builds() {
    let trigger = TriggerBuildRequest {
        branch: Some("main".into()),
        commit: Some("0123456".into()),
        workflow: Some("ios".into()),
    };
    check(&trigger, &TriggerBuildRequest::default());
    check(&build(Some(vec![step()])), &pending_build());
    check(&step(), &pending_step());
    let list = BuildListResponse {
        builds: vec![build(None)],
        next: Some(BUILD.into()),
    };
    check(
        &list,
        &BuildListResponse {
            builds: Vec::new(),
            next: None,
        },
    );
    let steps = StepListResponse {
        steps: vec![step()],
    };
    check(&steps, &steps);
    let artifact = ArtifactDto {
        id: "01KDX0N0000000000000000ART".into(),
        path: "build/app/outputs/app-release.apk".into(),
        size: 48_234_496,
        sha256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08".into(),
        created_at: AT.into(),
    };
    check(&artifact, &artifact);
    let artifacts = ArtifactListResponse {
        artifacts: vec![artifact],
    };
    check(&artifacts, &artifacts);
}

#[test]
fn logs() {
    let chunk = LogChunkResponse {
        offset: 4096,
        next_offset: 4102,
        data: "ok \u{fffd}\n".into(),
        data_base64: "b2sg/wo=".into(),
        complete: false,
    };
    check(&chunk, &chunk);
    let log = LogEventDto {
        step: Some(0),
        stream: LogStreamDto::Stderr,
        offset: 0,
        next_offset: 6,
        data: "ok \u{fffd}\n".into(),
        data_base64: "b2sg/wo=".into(),
    };
    let system = LogEventDto {
        step: None,
        stream: LogStreamDto::System,
        ..log.clone()
    };
    check(&log, &system);
    let step_status = StepStatusEventDto {
        index: 0,
        name: "Get packages".into(),
        status: StepStatusDto::Success,
        exit_code: Some(0),
    };
    let status = StatusEventDto {
        status: BuildStatusDto::Running,
        steps: vec![
            step_status.clone(),
            StepStatusEventDto {
                index: 1,
                name: "Test".into(),
                status: StepStatusDto::Running,
                exit_code: None,
            },
        ],
    };
    check(&status, &status);
    check(
        &step_status,
        &StepStatusEventDto {
            exit_code: None,
            ..step_status.clone()
        },
    );
    let end = EndEventDto {
        status: BuildStatusDto::Cancelled,
        error_message: Some("cancelled by the admin".into()),
    };
    check(
        &end,
        &EndEventDto {
            status: BuildStatusDto::Success,
            error_message: None,
        },
    );
}

#[test]
fn pipelines() {
    let document = PipelineDocumentRequest {
        content: "workflows: {}\n".into(),
        format: Some("yaml".into()),
        to: Some("huml".into()),
    };
    check(
        &document,
        &PipelineDocumentRequest {
            content: "workflows: {}\n".into(),
            ..Default::default()
        },
    );
    check(&diagnostic(), &unlocated());
    let report = ValidationResponse {
        valid: false,
        format: PipelineFormatDto::Yaml,
        errors: vec![diagnostic()],
        warnings: vec![unlocated()],
        workflows: vec!["ios".into(), "android".into()],
    };
    check(&report, &report);
    check(
        &pipeline(vec![diagnostic()], vec!["ci".into()]),
        &pipeline(Vec::new(), Vec::new()),
    );
    let entry = PipelineHistoryEntryDto {
        version: 2,
        format: PipelineFormatDto::Huml,
        created_at: AT.into(),
        current: true,
        size: 31,
        content: "workflows:\n  ci:\n    scripts: []\n".into(),
    };
    check(&entry, &entry);
    let history = PipelineHistoryResponse {
        versions: vec![entry],
    };
    check(&history, &history);
    let restore = RestorePipelineRequest { version: 1 };
    check(&restore, &restore);
    let converted = ConvertResponse {
        content: "workflows:\n  ci:\n    scripts: []\n".into(),
        format: PipelineFormatDto::Huml,
        warnings: vec![diagnostic()],
    };
    check(&converted, &converted);
}

#[test]
fn webhooks() {
    check(&event(), &bare_event());
    let detail = WebhookEventDetailDto {
        event: event(),
        headers: vec![
            ("x-gitlab-event".into(), "Push Hook".into()),
            ("content-type".into(), "application/json".into()),
        ],
        payload_format: PayloadFormatDto::Json,
        payload: json!({"object_kind": "push", "ref": "refs/heads/main"}),
        payload_size: 45,
        payload_truncated: false,
    };
    let text = WebhookEventDetailDto {
        event: bare_event(),
        headers: Vec::new(),
        payload_format: PayloadFormatDto::Text,
        payload: json!("a=1&b=2"),
        payload_size: 65_536,
        payload_truncated: true,
    };
    check(&detail, &text);
    let list = WebhookListResponse {
        events: vec![event()],
        next: Some(EVENT.into()),
    };
    check(
        &list,
        &WebhookListResponse {
            events: Vec::new(),
            next: None,
        },
    );
    let accepted = WebhookAcceptedResponse {
        event_id: EVENT.into(),
        duplicate: true,
        status: WebhookEventStatusDto::Ignored,
    };
    check(&accepted, &accepted);
    check(
        &ApproveWebhookRequest {
            approved_by: Some("alice".into()),
        },
        &ApproveWebhookRequest::default(),
    );
    let refusals = WebhookRefusalsResponse {
        since: AT.into(),
        sources: vec![WebhookRefusalSourceDto {
            source: "2001:db8:1:2::/64".into(),
            total: 1000,
            reasons: vec![
                WebhookRefusalCountDto {
                    reason: WebhookRefusalDto::UnknownRepository,
                    count: 998,
                },
                WebhookRefusalCountDto {
                    reason: WebhookRefusalDto::Busy,
                    count: 2,
                },
            ],
            first_at: AT.into(),
            last_at: "2026-01-02T03:05:00Z".into(),
            last_path: format!("/api/webhooks/github/{REPO}"),
        }],
        dropped_sources: 0,
    };
    check(&refusals, &refusals);
    check(&refusals.sources[0], &refusals.sources[0]);
    check(
        &refusals.sources[0].reasons[0],
        &refusals.sources[0].reasons[0],
    );
}

mod github;
