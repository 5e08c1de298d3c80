//! The HTTP layer itself (issue 9): HEAD on every GET route, streams answered to HEAD
//! without starting, compression negotiated by `Accept-Encoding` and never applied to
//! artifacts or byte ranges, request ids on every answer, extractor rejections in the
//! error envelope, and the OpenAPI document.

use std::io::Read;
use std::time::{Duration, Instant};

use oore_core::api::ArtifactListResponse;
use oore_server::route_table;
use oore_testkit::TestServer;
use oore_testkit::http::{HttpResponse, request};
use serde_json::Value;

use crate::build_support::{Gates, pipeline, project, step, trigger, wait_finished};
use crate::support::{SOME_ULID, assert_error};

fn call(server: &TestServer, method: &str, path: &str, headers: &[(&str, &str)]) -> HttpResponse {
    let auth = format!("Bearer {}", server.admin_token());
    let mut all = vec![("Authorization", auth.as_str())];
    all.extend_from_slice(headers);
    request(method, &format!("{}{path}", server.url()), &all, None)
        .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
}

fn concrete(path: &str) -> String {
    path.split('/')
        .map(|s| if s.starts_with('{') { SOME_ULID } else { s })
        .collect::<Vec<_>>()
        .join("/")
}

#[test]
fn head_answers_every_get_route_like_get_without_a_body() {
    let server = TestServer::start();
    let mut checked = 0;
    for route in route_table().iter().filter(|r| r.method == "GET") {
        let path = concrete(&route.path);
        let get = call(&server, "GET", &path, &[]);
        let head = call(&server, "HEAD", &path, &[]);
        assert_eq!(head.status, get.status, "HEAD {path}: {}", get.text());
        assert!(head.body.is_empty(), "HEAD {path} sent a body");
        assert_eq!(
            head.header("content-type"),
            get.header("content-type"),
            "HEAD {path}"
        );
        assert!(head.header("x-request-id").is_some(), "HEAD {path}");
        checked += 1;
    }
    assert!(checked >= 15, "only {checked} GET routes");
}

#[test]
fn head_of_streams_and_files_starts_nothing() {
    let server = TestServer::start();
    let gates = Gates::new();
    let yaml = pipeline(
        &step(
            "make",
            &format!(
                "mkdir -p out\nhead -c 5000 /dev/zero > out/app.apk\n{}",
                gates.wait_line("go")
            ),
        ),
        "    artifacts:\n      - out/*.apk\n",
    );
    let project = project(&server, &yaml);
    let build = trigger(&server, &project.repo);

    // The build is running: a GET of its event stream would stay open until it ends.
    let started = Instant::now();
    let head = call(
        &server,
        "HEAD",
        &format!("/api/builds/{}/logs/stream", build.id),
        &[],
    );
    assert_eq!(head.status, 200);
    assert_eq!(head.header("content-type"), Some("text/event-stream"));
    assert_eq!(
        head.header("content-length"),
        None,
        "a stream has no length"
    );
    assert!(head.body.is_empty());
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "HEAD waited for the stream"
    );

    gates.open("go");
    let build = wait_finished(&server, &build.id);
    assert_eq!(build.status, "success", "{build:#?}");
    let list: ArtifactListResponse = server
        .get(&format!("/api/builds/{}/artifacts", build.id))
        .json_as();
    let apk = &list.artifacts[0];
    let path = format!("/api/builds/{}/artifacts/{}", build.id, apk.id);
    let head = call(&server, "HEAD", &path, &[]);
    assert_eq!(head.status, 200);
    assert_eq!(head.header("content-length"), Some("5000"));
    assert_eq!(head.header("accept-ranges"), Some("bytes"));
    assert!(head.body.is_empty());
    let ranged = call(&server, "HEAD", &path, &[("Range", "bytes=100-")]);
    assert_eq!(ranged.status, 206);
    assert_eq!(ranged.header("content-length"), Some("4900"));

    let zip_path = format!("/api/builds/{}/artifacts.zip", build.id);
    let zip = call(&server, "HEAD", &zip_path, &[]);
    assert_eq!(zip.status, 200);
    assert_eq!(zip.header("content-type"), Some("application/zip"));
    let whole = call(&server, "GET", &zip_path, &[]);
    assert_eq!(
        zip.header("content-length"),
        Some(whole.body.len().to_string().as_str()),
        "the zip's length is known without writing it"
    );
    assert!(zip.body.is_empty());
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .expect("a gzip body");
    out
}

#[test]
fn json_is_compressed_as_the_client_asks() {
    let server = TestServer::start();
    let plain = call(&server, "GET", "/api/openapi.json", &[]);
    assert_eq!(plain.status, 200);
    assert_eq!(plain.header("content-encoding"), None);
    let document: Value = plain.json();

    let gzip = call(
        &server,
        "GET",
        "/api/openapi.json",
        &[("Accept-Encoding", "gzip")],
    );
    assert_eq!(gzip.header("content-encoding"), Some("gzip"));
    assert!(
        gzip.header("vary")
            .is_some_and(|v| v.to_ascii_lowercase().contains("accept-encoding")),
        "{:?}",
        gzip.headers
    );
    assert!(gzip.body.len() < plain.body.len() / 2);
    let unzipped: Value = serde_json::from_slice(&gunzip(&gzip.body)).unwrap();
    assert_eq!(unzipped, document);

    let br = call(
        &server,
        "GET",
        "/api/openapi.json",
        &[("Accept-Encoding", "br;q=1.0, gzip;q=0.5")],
    );
    assert_eq!(br.header("content-encoding"), Some("br"));
    assert!(br.body.len() < plain.body.len() / 2);

    // Small answers are not worth it.
    let small = call(
        &server,
        "GET",
        "/api/version",
        &[("Accept-Encoding", "gzip")],
    );
    assert_eq!(small.header("content-encoding"), None);
}

#[test]
fn artifacts_and_ranges_are_never_compressed() {
    let server = TestServer::start();
    let yaml = pipeline(
        &step(
            "make",
            "mkdir -p out\nfor i in $(seq 1 2000); do echo '{\"line\": 1}'; done > out/report.json",
        ),
        "    artifacts:\n      - out/*.json\n",
    );
    let project = project(&server, &yaml);
    let build = wait_finished(&server, &trigger(&server, &project.repo).id);
    assert_eq!(build.status, "success", "{build:#?}");
    let list: ArtifactListResponse = server
        .get(&format!("/api/builds/{}/artifacts", build.id))
        .json_as();
    let report = &list.artifacts[0];
    let path = format!("/api/builds/{}/artifacts/{}", build.id, report.id);
    let gzip = [("Accept-Encoding", "gzip, br")];

    let whole = call(&server, "GET", &path, &gzip);
    assert_eq!(whole.header("content-type"), Some("application/json"));
    assert_eq!(
        whole.header("content-encoding"),
        None,
        "an artifact is sent as stored"
    );
    assert_eq!(whole.body.len() as u64, report.size);

    let range = call(
        &server,
        "GET",
        &path,
        &[("Accept-Encoding", "gzip"), ("Range", "bytes=0-99")],
    );
    assert_eq!(range.status, 206);
    assert_eq!(range.header("content-encoding"), None);
    assert_eq!(range.body.len(), 100);

    let zip = call(
        &server,
        "GET",
        &format!("/api/builds/{}/artifacts.zip", build.id),
        &gzip,
    );
    assert_eq!(zip.status, 200);
    assert_eq!(zip.header("content-encoding"), None);
    assert_eq!(&zip.body[..2], b"PK");
}

#[test]
fn every_answer_carries_a_request_id_and_keeps_a_valid_one() {
    let server = TestServer::start();
    let rid = "01JD00000000000000000REQ1D";
    for (method, path) in [
        ("GET", "/api/health"),
        ("GET", "/api/repositories"),
        ("GET", "/api/nope"),
        ("DELETE", "/api/version"),
        ("OPTIONS", "/api/builds"),
    ] {
        let kept = call(&server, method, path, &[("X-Request-Id", rid)]);
        assert_eq!(kept.header("x-request-id"), Some(rid), "{method} {path}");
        let fresh = call(&server, method, path, &[("X-Request-Id", "<script>")]);
        let id = fresh.header("x-request-id").expect("an id");
        assert!(ulid::Ulid::from_string(id).is_ok(), "{method} {path}: {id}");
        assert_ne!(id, rid);
    }
}

#[test]
fn extractor_rejections_are_enveloped_with_their_codes() {
    let server = TestServer::start();
    // A path id that is not even UTF-8.
    let response = call(&server, "GET", "/api/builds/%FF%FE", &[]);
    assert_error(&response, 400, "invalid_id");
    // `%2F` stays inside its segment: the route matches, the id is refused as a whole.
    let response = call(&server, "GET", "/api/builds/abc%2Fdef", &[]);
    let envelope = assert_error(&response, 400, "invalid_id");
    assert!(
        envelope.error.message.contains("abc/def"),
        "{}",
        envelope.error.message
    );
    // Two ids, the second bad.
    let response = call(
        &server,
        "GET",
        &format!("/api/builds/{SOME_ULID}/artifacts/nope"),
        &[],
    );
    let envelope = assert_error(&response, 400, "invalid_id");
    assert!(
        envelope.error.message.contains("nope"),
        "{}",
        envelope.error.message
    );
    // Wrong content type, bad JSON, a JSON value of the wrong shape.
    let auth = format!("Bearer {}", server.admin_token());
    let post = |content_type: &str, body: &str| {
        request(
            "POST",
            &format!("{}/api/repositories", server.url()),
            &[("Authorization", &auth), ("Content-Type", content_type)],
            Some(body.as_bytes()),
        )
        .unwrap()
    };
    assert_error(&post("text/plain", "{}"), 415, "unsupported_media_type");
    assert_error(
        &post("application/json", "{\"provider\":"),
        400,
        "invalid_json",
    );
    let envelope = assert_error(&post("application/json", "[1, 2]"), 400, "invalid_json");
    assert!(
        envelope.error.message.contains("line 1 column"),
        "{}",
        envelope.error.message
    );
}

#[test]
fn the_openapi_document_lists_every_route_and_is_valid_openapi_3_1() {
    let server = TestServer::start();
    let response = oore_testkit::http::get(&format!("{}/api/openapi.json", server.url()), None);
    assert_eq!(response.status, 200, "public, like /api/version");
    let document: Value = response.json();
    assert!(
        document["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1.")),
        "{}",
        document["openapi"]
    );
    for route in route_table() {
        let operation = &document["paths"][&route.path][route.method.as_str().to_lowercase()];
        assert!(
            operation.is_object(),
            "{} {} is missing from the document",
            route.method,
            route.path
        );
        assert_eq!(operation["operationId"], route.operation_id.as_str());
        let secured = operation["security"].is_array();
        assert_eq!(
            secured,
            !route.is_public(),
            "{} {}: only admin routes need the token",
            route.method,
            route.path
        );
    }
    let paths = document["paths"].as_object().unwrap();
    let documented: usize = paths
        .values()
        .map(|item| item.as_object().map_or(0, |o| o.len()))
        .sum();
    assert_eq!(
        documented,
        route_table().len(),
        "nothing undocumented, nothing extra"
    );

    let schema: Value =
        serde_json::from_str(include_str!("fixtures/openapi-3.1-schema-2022-10-07.json")).unwrap();
    let validator = jsonschema::validator_for(&schema).expect("the OpenAPI 3.1 schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(&document)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "invalid OpenAPI 3.1: {errors:#?}");

    // Every reference resolves, and answers say what they carry.
    let mut refs = Vec::new();
    collect_refs(&document, &mut refs);
    assert!(refs.len() > 40, "{} references", refs.len());
    for reference in refs {
        let name = reference
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("unexpected reference {reference}"));
        assert!(
            document["components"]["schemas"][name].is_object(),
            "{reference} does not resolve"
        );
    }
    let get_build = &document["paths"]["/api/builds/{id}"]["get"]["responses"];
    assert_eq!(
        get_build["200"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/BuildDto"
    );
    assert_eq!(
        get_build["default"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/ErrorEnvelope"
    );

    // The check can fail: a document that breaks the schema is refused.
    let mut broken = document.clone();
    broken["paths"]["/api/health"]["get"]["responses"] = Value::from("none");
    broken["info"].as_object_mut().unwrap().remove("title");
    assert!(validator.iter_errors(&broken).count() >= 2);
}

fn collect_refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, value) in map {
                match (key.as_str(), value) {
                    ("$ref", Value::String(reference)) => out.push(reference.clone()),
                    _ => collect_refs(value, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}
