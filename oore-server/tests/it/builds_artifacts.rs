//! Artifacts over HTTP (spec 7): listed, downloaded whole, resumed with `Range`, and all
//! of them as one zip.

use std::io::Read;

use oore_core::api::{ArtifactDto, ArtifactListResponse};
use oore_testkit::TestServer;
use oore_testkit::http::request;

use crate::build_support::{pipeline, project, step, trigger, wait_finished};
use crate::support::assert_error;

const SIZE: usize = 300_000;

fn get_with(
    server: &TestServer,
    path: &str,
    headers: &[(&str, &str)],
) -> oore_testkit::http::HttpResponse {
    let auth = format!("Bearer {}", server.admin_token());
    let mut all = vec![("Authorization", auth.as_str())];
    all.extend_from_slice(headers);
    request("GET", &format!("{}{path}", server.url()), &all, None).unwrap()
}

#[test]
fn artifacts_are_listed_downloaded_resumed_and_zipped() {
    let server = TestServer::start();
    let script = format!(
        "mkdir -p out/logs\nhead -c {SIZE} /dev/urandom > out/app-release.apk\necho hello > out/logs/notes.txt"
    );
    let yaml = pipeline(
        &step("make", &script),
        "    artifacts:\n      - out/*.apk\n      - out/**/*.txt\n      - out/*.ipa\n",
    );
    let project = project(&server, &yaml);
    let build = wait_finished(&server, &trigger(&server, &project.repo).id);
    assert_eq!(build.status, "success", "{build:#?}");

    let list: ArtifactListResponse = server
        .get(&format!("/api/builds/{}/artifacts", build.id))
        .json_as();
    let paths: Vec<&str> = list.artifacts.iter().map(|a| a.path.as_str()).collect();
    assert_eq!(paths, ["out/app-release.apk", "out/logs/notes.txt"]);
    let apk: &ArtifactDto = &list.artifacts[0];
    assert_eq!(apk.size, SIZE as u64);
    let original = std::fs::read(
        server
            .workspaces_dir()
            .join(&build.id)
            .join("out/app-release.apk"),
    )
    .unwrap();

    let path = format!("/api/builds/{}/artifacts/{}", build.id, apk.id);
    let whole = server.get(&path);
    assert_eq!(whole.status, 200);
    assert_eq!(whole.body, original);
    assert_eq!(
        whole.header("content-type"),
        Some("application/vnd.android.package-archive")
    );
    assert_eq!(
        whole.header("content-length"),
        Some(SIZE.to_string().as_str())
    );
    assert_eq!(
        whole.header("content-disposition"),
        Some("attachment; filename=\"app-release.apk\"; filename*=UTF-8''app-release.apk")
    );
    assert_eq!(whole.header("accept-ranges"), Some("bytes"));
    let etag = format!("\"{}\"", apk.sha256);
    assert_eq!(whole.header("etag"), Some(etag.as_str()));

    // Resume from the middle.
    let tail = get_with(&server, &path, &[("Range", "bytes=100000-")]);
    assert_eq!(tail.status, 206);
    assert_eq!(
        tail.header("content-range"),
        Some(format!("bytes 100000-{}/{SIZE}", SIZE - 1).as_str())
    );
    assert_eq!(tail.body, original[100_000..]);
    let part = get_with(
        &server,
        &path,
        &[("Range", "bytes=10-19"), ("If-Range", &etag)],
    );
    assert_eq!((part.status, &part.body[..]), (206, &original[10..20]));
    let stale = get_with(
        &server,
        &path,
        &[("Range", "bytes=10-19"), ("If-Range", "\"old\"")],
    );
    assert_eq!((stale.status, stale.body.len()), (200, SIZE));
    let past = get_with(&server, &path, &[("Range", &format!("bytes={SIZE}-"))]);
    assert_error(&past, 416, "range_not_satisfiable");
    assert_eq!(
        past.header("content-range"),
        Some(format!("bytes */{SIZE}").as_str())
    );

    let text = server.get(&format!(
        "/api/builds/{}/artifacts/{}",
        build.id, list.artifacts[1].id
    ));
    assert_eq!(
        (text.header("content-type"), text.text().as_str()),
        (Some("text/plain; charset=utf-8"), "hello\n")
    );

    // Everything as a zip, streamed.
    let zip = server.get(&format!("/api/builds/{}/artifacts.zip", build.id));
    assert_eq!(zip.status, 200, "{}", zip.text());
    assert_eq!(zip.header("content-type"), Some("application/zip"));
    assert_eq!(
        zip.header("content-disposition"),
        Some(
            "attachment; filename=\"build-1-artifacts.zip\"; filename*=UTF-8''build-1-artifacts.zip"
        )
    );
    // Its length is known in advance, and it resumes like a single file.
    assert_eq!(
        zip.header("content-length"),
        Some(zip.body.len().to_string().as_str())
    );
    assert_eq!(zip.header("accept-ranges"), Some("bytes"));
    let zip_path = format!("/api/builds/{}/artifacts.zip", build.id);
    let etag = zip.header("etag").expect("an ETag").to_owned();
    let half = zip.body.len() / 2;
    let rest = get_with(
        &server,
        &zip_path,
        &[("Range", &format!("bytes={half}-")), ("If-Range", &etag)],
    );
    assert_eq!(rest.status, 206);
    assert_eq!(
        rest.header("content-range"),
        Some(format!("bytes {half}-{}/{}", zip.body.len() - 1, zip.body.len()).as_str())
    );
    assert_eq!(rest.body, zip.body[half..]);
    let stale = get_with(
        &server,
        &zip_path,
        &[
            ("Range", &format!("bytes={half}-")),
            ("If-Range", "\"zip-other\""),
        ],
    );
    assert_eq!(stale.status, 200, "another version: the whole zip");
    assert_eq!(stale.body, zip.body);

    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip.body)).unwrap();
    assert_eq!(archive.len(), 2);
    let mut apk_entry = Vec::new();
    archive
        .by_name("out/app-release.apk")
        .unwrap()
        .read_to_end(&mut apk_entry)
        .unwrap();
    assert_eq!(apk_entry, original);
    let mut notes = String::new();
    archive
        .by_name("out/logs/notes.txt")
        .unwrap()
        .read_to_string(&mut notes)
        .unwrap();
    assert_eq!(notes, "hello\n");

    // The pattern that matched nothing is a warning in the system log, not a failure.
    let system = crate::build_support::log_text(&server, &build.id, None);
    assert!(system.contains("out/*.ipa"), "{system}");
}

#[test]
fn missing_artifacts_and_files_are_404_with_an_explanation() {
    let server = TestServer::start();
    let yaml = pipeline(
        &step("make", "echo data > a.txt"),
        "    artifacts:\n      - a.txt\n",
    );
    let project = project(&server, &yaml);
    let build = wait_finished(&server, &trigger(&server, &project.repo).id);
    let list: ArtifactListResponse = server
        .get(&format!("/api/builds/{}/artifacts", build.id))
        .json_as();
    let artifact = &list.artifacts[0];
    let unknown = server.get(&format!(
        "/api/builds/{}/artifacts/{}",
        build.id,
        crate::support::SOME_ULID
    ));
    assert_error(&unknown, 404, "not_found");
    std::fs::remove_file(
        server
            .logs_dir()
            .join("artifacts")
            .join(&build.id)
            .join("a.txt"),
    )
    .unwrap();
    let gone = server.get(&format!(
        "/api/builds/{}/artifacts/{}",
        build.id, artifact.id
    ));
    let envelope = assert_error(&gone, 404, "file_missing");
    assert!(
        envelope.error.message.contains("no longer on the server"),
        "{envelope:?}"
    );

    let bare = project_without_artifacts(&server);
    let none = server.get(&format!("/api/builds/{bare}/artifacts.zip"));
    let envelope = assert_error(&none, 404, "not_found");
    assert!(
        envelope.error.message.contains("has no artifacts"),
        "{envelope:?}"
    );
}

fn project_without_artifacts(server: &TestServer) -> String {
    let project = project(server, &pipeline(&step("x", "true"), ""));
    wait_finished(server, &trigger(server, &project.repo).id).id
}
