//! The OpenAPI schemas of the wire types, for the server's API document: every request,
//! response and event payload, and every wire enum, each named as its Rust type.

use utoipa::openapi::{Components, ComponentsBuilder};

use super::*;

/// Registers each listed type's schema under its name.
macro_rules! components {
    ($($ty:ty),+ $(,)?) => {
        ComponentsBuilder::new()$(.schema_from::<$ty>())+.build()
    };
}

/// The schemas of every wire type (`#/components/schemas/BuildDto`, ...).
pub fn components() -> Components {
    components!(
        // Errors.
        ErrorEnvelope,
        ErrorBody,
        ErrorCode,
        FieldErrorDto,
        // System.
        HealthResponse,
        HealthStatusDto,
        DatabaseStatusDto,
        WorkersDto,
        VersionResponse,
        SetupStatusResponse,
        SetupItemDto,
        SetupItemKeyDto,
        // Repositories.
        RepositoryDto,
        RepositoryListResponse,
        CreateRepositoryRequest,
        UpdateRepositoryRequest,
        WebhookUrlResponse,
        ProviderDto,
        RepositoryStateDto,
        BuildConcurrencyDto,
        ForkPullRequestsDto,
        // Pipelines.
        PipelineDocumentRequest,
        DiagnosticDto,
        ValidationResponse,
        PipelineDto,
        PipelineHistoryEntryDto,
        PipelineHistoryResponse,
        RestorePipelineRequest,
        ConvertResponse,
        PipelineFormatDto,
        // Builds.
        TriggerBuildRequest,
        BuildDto,
        StepDto,
        BuildListResponse,
        StepListResponse,
        ArtifactDto,
        ArtifactListResponse,
        BuildStatusDto,
        StepStatusDto,
        TriggerDto,
        ConfigSourceDto,
        // Logs.
        LogChunkResponse,
        LogEventDto,
        StatusEventDto,
        StepStatusEventDto,
        EndEventDto,
        LogStreamDto,
        // Webhooks.
        WebhookEventDto,
        WebhookEventDetailDto,
        WebhookListResponse,
        WebhookAcceptedResponse,
        WebhookEventStatusDto,
        PayloadFormatDto,
        ApproveWebhookRequest,
        WebhookRefusalsResponse,
        WebhookRefusalSourceDto,
        WebhookRefusalCountDto,
        WebhookRefusalDto,
        // GitHub App.
        GitHubSetupRequest,
        GitHubSetupResponse,
        GitHubSetupStatusResponse,
        GitHubSetupStageDto,
        GitHubCallbackRequest,
        GitHubAppCreatedResponse,
        GitHubAppDto,
        GitHubInstallationDto,
        GitHubInstallationStateDto,
        GitHubRepositorySelectionDto,
        GitHubInstallationListResponse,
        GitHubStatusResponse,
        GitHubSyncRequest,
        GitHubSyncResponse,
        GitHubSyncResultDto,
        GitHubSyncOutcomeDto,
        GitHubPrivateKeyRequest,
        GitHubRemoveResponse,
    )
}

/// The schemas of every wire type as JSON, as an API document serializes them.
#[cfg(test)]
pub(super) fn schemas_json() -> serde_json::Value {
    let doc = utoipa::openapi::OpenApiBuilder::new()
        .components(Some(components()))
        .build();
    let mut json: serde_json::Value =
        serde_json::from_str(&doc.to_json().expect("the document serializes"))
            .expect("the document is JSON");
    json["components"]["schemas"].take()
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};
    use utoipa::ToSchema;

    use super::*;

    /// Each wire enum's schema lists exactly its known values, `unknown` not among them.
    #[test]
    fn enum_schemas_list_their_values() {
        fn values<T: ToSchema>(schemas: &Value) -> Vec<String> {
            let schema = &schemas[T::name().as_ref()];
            assert_eq!(schema["type"], "string", "{}", T::name());
            serde_json::from_value(schema["enum"].clone()).unwrap()
        }
        fn known<T: Copy + std::fmt::Display>(all: &[T]) -> Vec<String> {
            all.iter().map(ToString::to_string).collect()
        }
        let s = schemas_json();
        assert_eq!(values::<ErrorCode>(&s), known(ErrorCode::KNOWN));
        assert_eq!(values::<BuildStatusDto>(&s), known(BuildStatusDto::KNOWN));
        assert_eq!(values::<StepStatusDto>(&s), known(StepStatusDto::KNOWN));
        assert_eq!(values::<TriggerDto>(&s), known(TriggerDto::KNOWN));
        assert_eq!(values::<ProviderDto>(&s), known(ProviderDto::KNOWN));
        assert_eq!(
            values::<RepositoryStateDto>(&s),
            known(RepositoryStateDto::KNOWN)
        );
        assert_eq!(
            values::<BuildConcurrencyDto>(&s),
            known(BuildConcurrencyDto::KNOWN)
        );
        assert_eq!(values::<ConfigSourceDto>(&s), known(ConfigSourceDto::KNOWN));
        assert_eq!(
            values::<WebhookEventStatusDto>(&s),
            known(WebhookEventStatusDto::KNOWN)
        );
        assert_eq!(
            values::<PayloadFormatDto>(&s),
            known(PayloadFormatDto::KNOWN)
        );
        assert_eq!(
            values::<ForkPullRequestsDto>(&s),
            known(ForkPullRequestsDto::KNOWN)
        );
        assert_eq!(
            values::<WebhookRefusalDto>(&s),
            known(WebhookRefusalDto::KNOWN)
        );
        assert_eq!(
            values::<PipelineFormatDto>(&s),
            known(PipelineFormatDto::KNOWN)
        );
        assert_eq!(values::<LogStreamDto>(&s), known(LogStreamDto::KNOWN));
        assert_eq!(values::<HealthStatusDto>(&s), known(HealthStatusDto::KNOWN));
        assert_eq!(
            values::<DatabaseStatusDto>(&s),
            known(DatabaseStatusDto::KNOWN)
        );
        assert_eq!(values::<SetupItemKeyDto>(&s), known(SetupItemKeyDto::KNOWN));
        insta::assert_json_snapshot!("error_codes", known(ErrorCode::KNOWN));
    }

    /// What a client generated from the document sees of a build: the status is a reference to
    /// the enum of its values, optional fields are nullable, and a field that is left out when
    /// empty is not required.
    #[test]
    fn the_build_schema_documents_its_enums_and_optional_fields() {
        let s = schemas_json();
        let build = &s["BuildDto"];
        assert_eq!(
            build["properties"]["status"]["$ref"],
            "#/components/schemas/BuildStatusDto"
        );
        assert_eq!(
            s["BuildStatusDto"]["enum"],
            json!(["pending", "running", "success", "failure", "cancelled"])
        );
        assert_eq!(
            build["properties"]["branch"]["type"],
            json!(["string", "null"])
        );
        let required: Vec<&str> = build["required"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert!(
            required.contains(&"branch") && !required.contains(&"steps"),
            "{required:?}"
        );
        insta::assert_json_snapshot!("BuildStatusDto_schema", s["BuildStatusDto"]);
    }

    #[test]
    fn every_component_is_checked_here() {
        // A type added to `components` needs a `check` in `api/tests.rs` (its snapshot and
        // its schema's required fields); this count is the reminder.
        let s = schemas_json();
        let names: Vec<&String> = s.as_object().unwrap().keys().collect();
        assert_eq!(names.len(), 76, "{names:?}");
    }
}
