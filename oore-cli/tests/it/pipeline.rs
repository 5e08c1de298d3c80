//! `oore pipeline ...` against a real server: validate files (located errors, exit codes),
//! the stored pipeline's lifecycle (set, show, history, delete, restore), convert, and the
//! messages for unknown repositories.

use std::path::PathBuf;

use oore_core::api::{
    ConvertResponse, PipelineDto, PipelineHistoryResponse, RepositoryDto, ValidationResponse,
};
use oore_testkit::TestServer;

use crate::support::Cli;

const GOOD: &str = "\
workflows:
  ios-build:
    name: iOS Build
    scripts:
      - flutter build ios
  android:
    scripts:
      - flutter build apk
";

/// Line 4: `scripts` is empty; line 7: an unknown field (a warning).
const BAD: &str = "\
workflows:
  ios-build:
    name: iOS Build
    scripts: []
  android:
    scripts:
      - flutter build apk
    future_option: true
";

const HUML: &str = "\
workflows::
  app::
    scripts::
      - \"flutter test\"
";

/// A real `codemagic.yaml` (Codemagic's own format), the largest of the fixtures.
const CODEMAGIC: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/fixtures/codemagic/1392819747__flutter-zy.yaml"
));

fn setup() -> (TestServer, Cli) {
    let server = TestServer::start();
    let cli = Cli::new();
    cli.init(&server);
    (server, cli)
}

/// The directory `oore` runs in, so files can be named relatively.
fn workdir(cli: &Cli) -> PathBuf {
    cli.home().parent().expect("sandbox dir").to_path_buf()
}

/// Writes `content` to `name` in the working directory; returns `name`.
fn write<'a>(cli: &Cli, name: &'a str, content: &str) -> &'a str {
    std::fs::write(workdir(cli).join(name), content).expect("write the pipeline file");
    name
}

fn add_repository(cli: &Cli) -> String {
    let repo: RepositoryDto = cli
        .run(&[
            "repo",
            "add",
            "--provider",
            "github",
            "--owner",
            "acme",
            "--repo",
            "app",
            "--json",
        ])
        .ok()
        .json();
    repo.id
}

#[test]
fn validate_a_good_file() {
    let (_server, cli) = setup();
    let file = write(&cli, "pipeline.yaml", GOOD);
    let run = cli
        .run(&["pipeline", "validate", file])
        .ok()
        .stdout_has("valid: 2 workflows (ios-build, android)");
    assert!(run.stderr.is_empty(), "{run}");

    let huml = write(&cli, "oore.huml", HUML);
    cli.run(&["pipeline", "validate", huml])
        .ok()
        .stdout_has("valid: 1 workflow (app)");
    // No extension: the content says HUML.
    let plain = write(&cli, "pipeline.txt", HUML);
    let report: ValidationResponse = cli
        .run(&["pipeline", "validate", plain, "--json"])
        .ok()
        .json();
    assert_eq!(report.format, "huml");

    let real = write(&cli, "codemagic.yaml", CODEMAGIC);
    cli.run(&["pipeline", "validate", real])
        .ok()
        .stdout_has("valid: ");
}

#[test]
fn validate_a_bad_file_locates_every_problem() {
    let (_server, cli) = setup();
    let file = write(&cli, "bad.yaml", BAD);
    let run = cli
        .run(&["pipeline", "validate", file])
        .code(1)
        .stdout_has("bad.yaml:4:")
        .stdout_has(": error: workflows.ios-build.scripts")
        .stdout_has("bad.yaml:8:5: warning: workflows.android.future_option")
        .stderr_has("error: bad.yaml is invalid: 1 error");
    // Errors and warnings in document order.
    let error_at = run.stdout.find("bad.yaml:4:").unwrap();
    let warning_at = run.stdout.find("bad.yaml:8:5").unwrap();
    assert!(error_at < warning_at, "{run}");
    assert!(!run.stdout.contains("valid:"), "{run}");

    // A HUML syntax error, and --json still fails the exit code.
    let huml = write(&cli, "bad.huml", "workflows::\n  app::\n    name: \"open\n");
    cli.run(&["pipeline", "validate", huml])
        .code(1)
        .stdout_has("bad.huml:3:");
    let report: ValidationResponse = cli
        .run(&["pipeline", "validate", file, "--json"])
        .code(1)
        .json();
    assert!(!report.valid);
    assert_eq!(report.errors[0].line, Some(4));

    // The file itself is the problem.
    cli.run(&["pipeline", "validate", "missing.yaml"])
        .code(1)
        .stderr_has("cannot read missing.yaml");
    cli.run(&["pipeline", "validate", file, "--format", "toml"])
        .code(1)
        .stderr_has("use `yaml` or `huml`");
}

#[test]
fn stored_pipeline_lifecycle() {
    let (_server, cli) = setup();
    let id = add_repository(&cli);
    let good = write(&cli, "pipeline.yaml", GOOD);
    let huml = write(&cli, "next.huml", HUML);

    cli.run(&["pipeline", "show", &id])
        .code(1)
        .stderr_has("has no stored pipeline")
        .stderr_has("oore pipeline set");
    cli.run(&["pipeline", "history", &id])
        .ok()
        .stdout_has("no stored pipeline versions");

    cli.run(&["pipeline", "set", &id, "--file", good])
        .ok()
        .stdout_has("saved pipeline version 1 (yaml)")
        .stdout_has("2 workflows (ios-build, android)");
    let shown = cli.run(&["pipeline", "show", &id]).ok();
    assert_eq!(shown.stdout, GOOD, "printed as stored");

    let saved: PipelineDto = cli
        .run(&["pipeline", "set", &id, "--file", huml, "--json"])
        .ok()
        .json();
    assert_eq!((saved.version, saved.format.as_str()), (2, "huml"));
    let shown: PipelineDto = cli.run(&["pipeline", "show", &id, "--json"]).ok().json();
    assert_eq!((shown.version, shown.content.as_str()), (2, HUML));

    // Invalid: located errors on stderr, exit 1, nothing stored.
    let bad = write(&cli, "bad.yaml", BAD);
    let run = cli
        .run(&["pipeline", "set", &id, "--file", bad])
        .code(1)
        .stderr_has("bad.yaml:4:")
        .stderr_has("error: workflows.ios-build.scripts")
        .stderr_has("was not saved")
        .stderr_has("request id: ");
    assert!(run.stdout.is_empty(), "{run}");
    let shown: PipelineDto = cli.run(&["pipeline", "show", &id, "--json"]).ok().json();
    assert_eq!(shown.version, 2);

    // A warning is shown, and the document saved.
    let warned = write(
        &cli,
        "warned.yaml",
        "workflows:\n  app:\n    scripts:\n      - echo\n    future_option: 1\n",
    );
    cli.run(&["pipeline", "set", &id, "--file", warned])
        .ok()
        .stdout_has("saved pipeline version 3")
        .stderr_has("warned.yaml:5:5: warning: workflows.app.future_option");

    let history = cli.run(&["pipeline", "history", &id]).ok();
    let lines: Vec<&str> = history.stdout.lines().collect();
    assert!(
        lines[0].starts_with("CURRENT  VERSION  FORMAT  SIZE"),
        "{history}"
    );
    assert!(lines[1].starts_with("*        3        yaml"), "{history}");
    assert!(lines[2].contains("2        huml"), "{history}");
    assert!(lines[3].contains("1        yaml"), "{history}");
    assert!(!lines[2].starts_with('*'), "{history}");

    cli.run(&["pipeline", "delete", &id])
        .ok()
        .stdout_has("deleted the stored pipeline")
        .stdout_has(&format!("oore pipeline restore {id} --version N"));
    cli.run(&["pipeline", "show", &id])
        .code(1)
        .stderr_has("has no stored pipeline");
    let history: PipelineHistoryResponse =
        cli.run(&["pipeline", "history", &id, "--json"]).ok().json();
    assert_eq!(history.versions.len(), 3, "history is kept");
    cli.run(&["pipeline", "history", &id])
        .ok()
        .stdout_has("no version is in use");

    cli.run(&["pipeline", "restore", &id, "--version", "1"])
        .ok()
        .stdout_has("restored version 1")
        .stdout_has("as version 4 (yaml)");
    assert_eq!(cli.run(&["pipeline", "show", &id]).ok().stdout, GOOD);
    cli.run(&["pipeline", "restore", &id, "--version", "42"])
        .code(1)
        .stderr_has("has no pipeline version 42");
}

#[test]
fn convert_to_huml_and_back() {
    let (_server, cli) = setup();
    let source = write(&cli, "codemagic.yaml", CODEMAGIC);
    cli.run(&[
        "pipeline",
        "convert",
        source,
        "--to",
        "huml",
        "--output",
        "oore.huml",
    ])
    .ok()
    .stdout_has("wrote oore.huml (huml)");
    let huml = std::fs::read_to_string(workdir(&cli).join("oore.huml")).unwrap();
    assert!(huml.contains("workflows::"), "{huml}");
    cli.run(&["pipeline", "validate", "oore.huml"])
        .ok()
        .stdout_has("valid: ");

    // Back to YAML on standard output.
    let yaml = cli
        .run(&["pipeline", "convert", "oore.huml", "--to", "yaml"])
        .ok();
    let back = write(&cli, "back.yaml", &yaml.stdout);
    let original: ValidationResponse = cli
        .run(&["pipeline", "validate", source, "--json"])
        .ok()
        .json();
    let round: ValidationResponse = cli
        .run(&["pipeline", "validate", back, "--json"])
        .ok()
        .json();
    assert_eq!(round.workflows, original.workflows);

    let json: ConvertResponse = cli
        .run(&["pipeline", "convert", back, "--to", "huml", "--json"])
        .ok()
        .json();
    assert_eq!(json.content, huml, "canonical form is stable");

    // Unknown fields are dropped, with a warning; an invalid source fails, located.
    let extra = write(
        &cli,
        "extra.yaml",
        "workflows:\n  app:\n    scripts:\n      - echo\n    future_option: 1\n",
    );
    let run = cli
        .run(&["pipeline", "convert", extra, "--to", "huml"])
        .ok()
        .stderr_has("extra.yaml:5:5: warning: workflows.app.future_option")
        .stderr_has("dropped");
    assert!(!run.stdout.contains("future_option"), "{run}");
    let bad = write(&cli, "bad.yaml", BAD);
    cli.run(&["pipeline", "convert", bad, "--to", "huml"])
        .code(1)
        .stderr_has("bad.yaml:4:");
    cli.run(&["pipeline", "convert", bad, "--to", "json"])
        .code(1)
        .stderr_has("--to");
}

#[test]
fn unknown_repositories_say_what_to_do() {
    let (_server, cli) = setup();
    let good = write(&cli, "pipeline.yaml", GOOD);
    let unknown = "01JD0000000000000000000000";
    for args in [
        vec!["pipeline", "show", unknown],
        vec!["pipeline", "set", unknown, "--file", good],
        vec!["pipeline", "delete", unknown],
        vec!["pipeline", "history", unknown],
        vec!["pipeline", "restore", unknown, "--version", "1"],
    ] {
        cli.run(&args)
            .code(1)
            .stderr_has(&format!("repository {unknown} not found"))
            .stderr_has("oore repo list");
    }
    cli.run(&["pipeline", "show", "not-an-id"])
        .code(1)
        .stderr_has("'not-an-id' is not a repository reference")
        .stderr_has("`oore repo list`");
}
