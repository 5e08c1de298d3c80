//! Pipeline configuration through HTTP (spec Journey 5): validate and convert documents,
//! and a repository's stored, versioned pipeline, against the real SQLite store.

use oore_core::api::{
    ConvertResponse, PipelineDto, PipelineHistoryResponse, RepositoryDto, ValidationResponse,
};
use oore_server::API_BODY_LIMIT;
use oore_testkit::TestServer;
use oore_testkit::http::{HttpResponse, request};
use serde_json::{Value, json};

use crate::support::{SOME_ULID, assert_error};

const YAML: &str = "\
workflows:
  ios-build:
    name: iOS Build
    scripts:
      - flutter build ios
  android:
    scripts:
      - name: Build
        script: flutter build apk
";

const HUML: &str = "\
workflows::
  app::
    name: \"App\"
    scripts::
      - \"flutter test\"
";

/// The largest real `codemagic.yaml` of the fixtures: scripts with block scalars,
/// environments, artifacts and publishing.
const CODEMAGIC: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/fixtures/codemagic/1392819747__flutter-zy.yaml"
));

fn add_repository(server: &TestServer) -> String {
    let response = server.send(
        "POST",
        "/api/repositories",
        Some(&json!({"provider": "github", "owner": "acme", "name": "app"})),
    );
    assert_eq!(response.status, 201, "{}", response.text());
    response.json_as::<RepositoryDto>().id
}

fn validate(server: &TestServer, body: Value) -> ValidationResponse {
    let response = server.send("POST", "/api/pipelines/validate", Some(&body));
    assert_eq!(response.status, 200, "{}", response.text());
    response.json_as()
}

fn put(server: &TestServer, id: &str, body: Value) -> HttpResponse {
    server.send(
        "PUT",
        &format!("/api/repositories/{id}/pipeline"),
        Some(&body),
    )
}

fn saved(response: &HttpResponse) -> PipelineDto {
    assert_eq!(response.status, 200, "{}", response.text());
    response.json_as()
}

fn history(server: &TestServer, id: &str) -> PipelineHistoryResponse {
    let response = server.get(&format!("/api/repositories/{id}/pipeline/history"));
    assert_eq!(response.status, 200, "{}", response.text());
    response.json_as()
}

#[test]
fn validate_accepts_valid_documents_in_both_formats() {
    let server = TestServer::start();
    let report = validate(&server, json!({"content": YAML}));
    assert!(report.valid, "{report:?}");
    assert_eq!(report.format, "yaml");
    assert_eq!(report.workflows, ["ios-build", "android"]);
    assert!(report.errors.is_empty() && report.warnings.is_empty());

    // HUML, detected from the content and named explicitly.
    for body in [
        json!({"content": HUML}),
        json!({"content": HUML, "format": "huml"}),
    ] {
        let report = validate(&server, body);
        assert!(report.valid, "{report:?}");
        assert_eq!(
            (report.format.as_str(), report.workflows.as_slice()),
            ("huml", &["app".to_owned()][..])
        );
    }

    let report = validate(&server, json!({"content": CODEMAGIC, "format": "yml"}));
    assert!(report.valid, "{report:?}");
    assert_eq!(report.format, "yaml");
    assert!(report.workflows.len() >= 2, "{report:?}");
}

#[test]
fn validate_locates_errors_with_200() {
    let server = TestServer::start();
    // A semantic error: a workflow without scripts.
    let report = validate(
        &server,
        json!({"content": "workflows:\n  ios:\n    name: iOS\n    scripts: []\n"}),
    );
    assert!(!report.valid);
    assert_eq!(report.workflows, ["ios"]);
    let error = &report.errors[0];
    assert!(error.path.starts_with("workflows.ios"), "{error:?}");
    assert_eq!(error.line, Some(4), "{error:?}");
    assert!(error.column.is_some(), "{error:?}");

    // A YAML syntax error.
    let report = validate(
        &server,
        json!({"content": "workflows:\n  ios:\n    scripts: [a, b\n", "format": "yaml"}),
    );
    assert!(!report.valid);
    assert!(report.errors[0].line.is_some(), "{report:?}");
    assert!(report.errors[0].message.contains("yaml"), "{report:?}");

    // A HUML syntax error and a HUML semantic error, each with line and column.
    let report = validate(
        &server,
        json!({"content": "workflows::\n  app::\n    scripts:: \"unterminated\n", "format": "huml"}),
    );
    assert!(!report.valid, "{report:?}");
    assert_eq!(report.format, "huml");
    assert_eq!(report.errors[0].line, Some(3), "{report:?}");
    assert!(report.errors[0].column.is_some(), "{report:?}");
    let report = validate(
        &server,
        json!({"content": "workflows::\n  app::\n    name: \"x\"\n    max_build_duration: \"long\"\n", "format": "huml"}),
    );
    assert!(!report.valid, "{report:?}");
    assert!(
        report
            .errors
            .iter()
            .any(|e| e.path.starts_with("workflows.app") && e.line.is_some()),
        "{report:?}"
    );

    // Missing workflows entirely.
    let report = validate(&server, json!({"content": "environment: {}\n"}));
    assert!(!report.valid);
    assert!(
        report
            .errors
            .iter()
            .any(|e| e.message.contains("workflows")),
        "{report:?}"
    );
}

#[test]
fn unknown_fields_are_warnings_not_errors() {
    let server = TestServer::start();
    let content = "workflows:\n  app:\n    scripts:\n      - echo hi\n    shiny_new_option: true\n";
    let report = validate(&server, json!({"content": content}));
    assert!(report.valid, "{report:?}");
    assert_eq!(report.warnings.len(), 1, "{report:?}");
    let warning = &report.warnings[0];
    assert_eq!(warning.path, "workflows.app.shiny_new_option");
    assert_eq!((warning.line, warning.column), (Some(5), Some(5)));

    // Saved anyway, with the warning in the answer.
    let id = add_repository(&server);
    let dto = saved(&put(&server, &id, json!({"content": content})));
    assert_eq!(dto.warnings.len(), 1, "{dto:?}");
    assert_eq!(dto.workflows, ["app"]);
}

#[test]
fn malformed_requests_and_unknown_formats_are_400() {
    let server = TestServer::start();
    let envelope = assert_error(
        &server.send(
            "POST",
            "/api/pipelines/validate",
            Some(&json!({"content": YAML, "format": "toml"})),
        ),
        400,
        "validation_failed",
    );
    let fields = envelope.error.fields.expect("fields");
    assert_eq!(fields[0].field, "format");
    assert!(
        fields[0].message.contains("expected yaml or huml"),
        "{fields:?}"
    );

    assert_error(
        &server.send(
            "POST",
            "/api/pipelines/validate",
            Some(&json!({"text": YAML})),
        ),
        400,
        "invalid_json",
    );
    let envelope = assert_error(
        &server.send(
            "POST",
            "/api/pipelines/validate",
            Some(&json!({"content": YAML, "to": "huml"})),
        ),
        400,
        "validation_failed",
    );
    assert_eq!(envelope.error.fields.expect("fields")[0].field, "to");

    // Convert names both bad formats at once, and needs `to`.
    let envelope = assert_error(
        &server.send(
            "POST",
            "/api/pipelines/convert",
            Some(&json!({"content": YAML, "format": "xml", "to": "json"})),
        ),
        400,
        "validation_failed",
    );
    let fields: Vec<String> = envelope
        .error
        .fields
        .expect("fields")
        .into_iter()
        .map(|f| f.field)
        .collect();
    assert_eq!(fields, ["format", "to"]);
    let envelope = assert_error(
        &server.send(
            "POST",
            "/api/pipelines/convert",
            Some(&json!({"content": YAML})),
        ),
        400,
        "validation_failed",
    );
    assert!(
        envelope.error.fields.expect("fields")[0]
            .message
            .contains("missing")
    );
}

#[test]
fn set_and_get_round_trip_the_document_exactly() {
    let server = TestServer::start();
    let id = add_repository(&server);
    let path = format!("/api/repositories/{id}/pipeline");

    let envelope = assert_error(&server.get(&path), 404, "not_found");
    assert!(
        envelope.error.message.contains("has no stored pipeline")
            && envelope.error.message.contains("oore pipeline set"),
        "{}",
        envelope.error.message
    );

    let dto = saved(&put(&server, &id, json!({"content": CODEMAGIC})));
    assert_eq!((dto.version, dto.format.as_str()), (1, "yaml"));
    assert_eq!(dto.repository_id, id);
    assert!(dto.workflows.len() >= 2, "{dto:?}");

    let got: PipelineDto = {
        let response = server.get(&path);
        assert_eq!(response.status, 200, "{}", response.text());
        response.json_as()
    };
    assert_eq!(got.content, CODEMAGIC, "stored byte for byte");
    assert_eq!((got.version, got.format.as_str()), (1, "yaml"));
    assert!(
        got.warnings.is_empty() && got.workflows.is_empty(),
        "only on save"
    );

    let dto = saved(&put(
        &server,
        &id,
        json!({"content": HUML, "format": "huml"}),
    ));
    assert_eq!((dto.version, dto.format.as_str()), (2, "huml"));
    let got: PipelineDto = server.get(&path).json_as();
    assert_eq!((got.version, got.content.as_str()), (2, HUML));
}

#[test]
fn an_invalid_document_is_refused_with_every_error_and_nothing_is_stored() {
    let server = TestServer::start();
    let id = add_repository(&server);
    saved(&put(&server, &id, json!({"content": YAML})));

    let invalid = "workflows:\n  a:\n    scripts: []\n  b:\n    max_build_duration: -5\n    scripts:\n      - echo\n";
    let envelope = assert_error(
        &put(&server, &id, json!({"content": invalid})),
        400,
        "validation_failed",
    );
    assert!(
        envelope.error.message.contains("invalid") && !envelope.error.message.contains('\n'),
        "{}",
        envelope.error.message
    );
    let fields = envelope.error.fields.expect("located errors");
    assert!(fields.len() >= 2, "every error is listed: {fields:?}");
    assert!(
        fields.iter().any(|f| f.field.starts_with("workflows.a")),
        "{fields:?}"
    );
    assert!(
        fields.iter().any(|f| f.field.starts_with("workflows.b")),
        "{fields:?}"
    );
    for f in &fields {
        assert!(f.message.starts_with("line "), "located: {f:?}");
        assert!(f.message.contains(", column "), "located: {f:?}");
    }

    // A syntax error too.
    let envelope = assert_error(
        &put(
            &server,
            &id,
            json!({"content": "workflows::\n  a:: \"x\n", "format": "huml"}),
        ),
        400,
        "validation_failed",
    );
    assert!(
        envelope.error.fields.expect("fields")[0]
            .message
            .starts_with("line 2")
    );

    // The previous version is still the current one, and no version was added.
    let got: PipelineDto = server
        .get(&format!("/api/repositories/{id}/pipeline"))
        .json_as();
    assert_eq!((got.version, got.content.as_str()), (1, YAML));
    assert_eq!(history(&server, &id).versions.len(), 1);
}

#[test]
fn history_lists_versions_newest_first_and_survives_delete() {
    let server = TestServer::start();
    let id = add_repository(&server);
    let path = format!("/api/repositories/{id}/pipeline");
    assert!(history(&server, &id).versions.is_empty());

    saved(&put(&server, &id, json!({"content": YAML})));
    saved(&put(&server, &id, json!({"content": HUML})));
    saved(&put(&server, &id, json!({"content": CODEMAGIC})));
    let versions = history(&server, &id).versions;
    let listed: Vec<(u32, &str, bool)> = versions
        .iter()
        .map(|v| (v.version, v.format.as_str(), v.current))
        .collect();
    assert_eq!(
        listed,
        [(3, "yaml", true), (2, "huml", false), (1, "yaml", false)]
    );
    assert_eq!(versions[1].content, HUML);
    assert_eq!(versions[1].size, HUML.len());

    let response = server.send("DELETE", &path, None);
    assert_eq!(response.status, 204, "{}", response.text());
    assert!(response.body.is_empty());
    assert_error(&server.get(&path), 404, "not_found");
    // Deleting again: there is nothing to delete.
    assert_error(&server.send("DELETE", &path, None), 404, "not_found");

    let versions = history(&server, &id).versions;
    assert_eq!(versions.len(), 3, "history is kept");
    assert!(versions.iter().all(|v| !v.current), "{versions:?}");
}

#[test]
fn restore_makes_an_old_version_current_as_a_new_version() {
    let server = TestServer::start();
    let id = add_repository(&server);
    saved(&put(&server, &id, json!({"content": YAML})));
    saved(&put(&server, &id, json!({"content": HUML})));
    let response = server.send("DELETE", &format!("/api/repositories/{id}/pipeline"), None);
    assert_eq!(response.status, 204);

    let restore = |body: Value| {
        server.send(
            "POST",
            &format!("/api/repositories/{id}/pipeline/restore"),
            Some(&body),
        )
    };
    let dto = saved(&restore(json!({"version": 1})));
    assert_eq!(
        (dto.version, dto.format.as_str(), dto.content.as_str()),
        (3, "yaml", YAML)
    );
    assert_eq!(dto.workflows, ["ios-build", "android"]);
    let got: PipelineDto = server
        .get(&format!("/api/repositories/{id}/pipeline"))
        .json_as();
    assert_eq!((got.version, got.content.as_str()), (3, YAML));
    let current: Vec<u32> = history(&server, &id)
        .versions
        .iter()
        .filter(|v| v.current)
        .map(|v| v.version)
        .collect();
    assert_eq!(current, [3]);

    let envelope = assert_error(&restore(json!({"version": 9})), 404, "not_found");
    assert!(
        envelope.error.message.contains("oore pipeline history"),
        "{}",
        envelope.error.message
    );
    assert_error(&restore(json!({"version": "one"})), 400, "invalid_json");
    assert_error(&restore(json!({})), 400, "invalid_json");
}

#[test]
fn convert_yaml_to_huml_and_back() {
    let server = TestServer::start();
    let convert = |body: Value| -> ConvertResponse {
        let response = server.send("POST", "/api/pipelines/convert", Some(&body));
        assert_eq!(response.status, 200, "{}", response.text());
        response.json_as()
    };
    let huml = convert(json!({"content": CODEMAGIC, "to": "huml"}));
    assert_eq!(huml.format, "huml");
    assert!(huml.content.contains("workflows::"), "{}", huml.content);
    let report = validate(&server, json!({"content": huml.content, "format": "huml"}));
    assert!(report.valid, "{report:?}\n{}", huml.content);
    let original = validate(&server, json!({"content": CODEMAGIC}));
    assert_eq!(report.workflows, original.workflows);

    let yaml = convert(json!({"content": huml.content, "format": "huml", "to": "yaml"}));
    assert_eq!(yaml.format, "yaml");
    let back = validate(&server, json!({"content": yaml.content, "format": "yaml"}));
    assert!(back.valid, "{back:?}\n{}", yaml.content);
    assert_eq!(back.workflows, original.workflows);
    // Canonical form: converting the result again changes nothing.
    let again = convert(json!({"content": yaml.content, "to": "huml"}));
    assert_eq!(again.content, huml.content);

    // Unknown fields are dropped, and the warnings say which.
    let dropped = convert(json!({
        "content": "workflows:\n  app:\n    scripts:\n      - echo\n    future_key: 1\n",
        "to": "huml"
    }));
    assert!(
        !dropped.content.contains("future_key"),
        "{}",
        dropped.content
    );
    assert_eq!(dropped.warnings[0].path, "workflows.app.future_key");

    // An invalid source is a 400 with its located errors.
    let envelope = assert_error(
        &server.send(
            "POST",
            "/api/pipelines/convert",
            Some(&json!({"content": "workflows:\n  app:\n    scripts: []\n", "to": "huml"})),
        ),
        400,
        "validation_failed",
    );
    let fields = envelope.error.fields.expect("located errors");
    assert!(fields[0].field.starts_with("workflows.app"), "{fields:?}");
    assert!(
        fields[0].message.starts_with("line 3, column "),
        "{fields:?}"
    );
}

#[test]
fn unknown_and_malformed_repository_ids() {
    let server = TestServer::start();
    let body = json!({"content": YAML});
    for (method, suffix, body) in [
        ("GET", "", None),
        ("PUT", "", Some(&body)),
        ("DELETE", "", None),
        ("GET", "/history", None),
        ("POST", "/restore", Some(&json!({"version": 1}))),
    ] {
        let response = server.send(
            method,
            &format!("/api/repositories/{SOME_ULID}/pipeline{suffix}"),
            body,
        );
        let envelope = assert_error(&response, 404, "not_found");
        assert!(
            envelope.error.message.contains("oore repo list"),
            "{method} {suffix}: {}",
            envelope.error.message
        );
        let response = server.send(
            method,
            &format!("/api/repositories/nope/pipeline{suffix}"),
            body,
        );
        assert_error(&response, 400, "invalid_id");
    }
}

#[test]
fn oversize_documents_are_413_and_not_stored() {
    let server = TestServer::start();
    let id = add_repository(&server);
    let comment = format!("# {}\n", "x".repeat(API_BODY_LIMIT));
    let content = format!("{YAML}{comment}");
    let body = serde_json::to_vec(&json!({"content": content})).unwrap();
    let auth = format!("Bearer {}", server.admin_token());
    let headers = [
        ("Authorization", auth.as_str()),
        ("Content-Type", "application/json"),
    ];
    for (method, path) in [
        ("PUT", format!("/api/repositories/{id}/pipeline")),
        ("POST", "/api/pipelines/validate".to_owned()),
    ] {
        let response = request(
            method,
            &format!("{}{path}", server.url()),
            &headers,
            Some(&body),
        )
        .unwrap();
        assert_error(&response, 413, "payload_too_large");
    }
    assert_error(
        &server.get(&format!("/api/repositories/{id}/pipeline")),
        404,
        "not_found",
    );

    // Just under the limit is fine: large documents are accepted.
    let content = format!("{YAML}# {}\n", "x".repeat(API_BODY_LIMIT - 1024));
    let dto = saved(&put(&server, &id, json!({"content": content})));
    assert_eq!(dto.content.len(), content.len());
}

#[test]
fn an_alias_bomb_is_answered_quickly() {
    // Nine levels of nine aliases would expand to 9^9 nodes; the parser's budget stops it.
    let mut content = String::from("a: &a [x, x, x, x, x, x, x, x, x]\n");
    for (prev, name) in ["a", "b", "c", "d", "e", "f", "g", "h"]
        .iter()
        .zip(["b", "c", "d", "e", "f", "g", "h", "i"])
    {
        content.push_str(&format!(
            "{name}: &{name} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"
        ));
    }
    content.push_str("workflows:\n  app:\n    scripts: *i\n");
    let server = TestServer::start();
    let started = std::time::Instant::now();
    let report = validate(&server, json!({"content": content}));
    assert!(!report.valid, "{report:?}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
}
