//! Validation: every kind of error is reported with its position, path and a message that
//! says what to do; unknown fields are located warnings.

use oore_core::pipeline::{self, Diagnostic, Format, ValidationReport};

fn errors(content: &str, format: Format) -> Vec<Diagnostic> {
    match pipeline::parse_and_validate(content, format) {
        Ok((_, report)) => panic!("expected errors for {content:?}, got {report}"),
        Err(report) => {
            assert!(!report.errors.is_empty());
            for e in &report.errors {
                assert_eq!(
                    e.message,
                    lowercase_start(&e.message),
                    "messages start lowercase: {e}"
                );
            }
            report.errors
        }
    }
}

fn lowercase_start(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_lowercase().chain(c).collect())
        .unwrap_or_default()
}

fn valid(content: &str, format: Format) -> ValidationReport {
    match pipeline::parse_and_validate(content, format) {
        Ok((_, report)) => report,
        Err(report) => panic!("expected {content:?} to be valid: {report}"),
    }
}

/// (line, column, path) of the single error, with the message checked for `needle`.
fn one_error(content: &str, format: Format, needle: &str) -> (Option<u32>, Option<u32>, String) {
    let errs = errors(content, format);
    assert_eq!(errs.len(), 1, "{errs:#?}");
    assert!(
        errs[0].message.contains(needle),
        "{:?} should mention {needle:?}",
        errs[0].message
    );
    (errs[0].line, errs[0].column, errs[0].path.clone())
}

const Y: Format = Format::Yaml;
const H: Format = Format::Huml;

#[test]
fn structure_errors() {
    assert_eq!(
        one_error("- a\n- b\n", Y, "expected a map at the top level"),
        (Some(1), Some(1), String::new())
    );
    assert_eq!(one_error("name: x\n", Y, "no `workflows`").2, "");
    assert_eq!(
        one_error("workflows: {}\n", Y, "no workflows defined").2,
        "workflows"
    );
    assert_eq!(
        one_error("workflows:\n  a: 3\n", Y, "expected a workflow definition"),
        (Some(2), Some(6), "workflows.a".into())
    );
    assert_eq!(
        one_error("workflows:\n  a:\n    name: A\n", Y, "has no `scripts`"),
        (Some(2), Some(3), "workflows.a".into())
    );
    assert_eq!(
        one_error("workflows:\n  a:\n    scripts: []\n", Y, "no steps").2,
        "workflows.a.scripts"
    );
    assert_eq!(one_error("", Y, "expected a map").2, "");
}

#[test]
fn script_errors() {
    let doc = "workflows:\n  ios:\n    scripts:\n      - echo ok\n      - \"  \"\n      - 42\n      - name: no body\n      - script: \"\"\n";
    let errs = errors(doc, Y);
    let found: Vec<(Option<u32>, &str)> = errs.iter().map(|e| (e.line, e.path.as_str())).collect();
    assert_eq!(
        found,
        [
            (Some(5), "workflows.ios.scripts[1]"),
            (Some(6), "workflows.ios.scripts[2]"),
            (Some(7), "workflows.ios.scripts[3]"),
            (Some(8), "workflows.ios.scripts[4].script"),
        ]
    );
    assert!(errs[0].message.contains("empty step"));
    assert!(errs[1].message.contains("expected a step"));
    assert!(errs[2].message.contains("missing `script`"));
}

#[test]
fn durations_and_timeouts() {
    let doc = |d: &str, t: &str| {
        format!(
            "workflows:\n  a:\n    max_build_duration: {d}\n    scripts:\n      - script: x\n        timeout: {t}\n"
        )
    };
    valid(&doc("60", "600"), Y);
    valid(&doc("1440", "86400"), Y);
    assert_eq!(
        one_error(&doc("0", "5"), Y, "between 1 and 1440 minutes"),
        (Some(3), Some(25), "workflows.a.max_build_duration".into())
    );
    one_error(&doc("1441", "5"), Y, "between 1 and 1440 minutes");
    one_error(&doc("-5", "5"), Y, "between 1 and 1440 minutes");
    one_error(&doc("12.5", "5"), Y, "whole number of minutes");
    one_error(&doc("\"60\"", "5"), Y, "expected a number of minutes");
    assert_eq!(
        one_error(&doc("60", "86401"), Y, "between 1 and 86400 seconds"),
        (Some(6), Some(18), "workflows.a.scripts[0].timeout".into())
    );
}

#[test]
fn glob_and_pattern_errors() {
    let doc = "workflows:\n  a:\n    scripts: [x]\n    artifacts:\n      - build/*.apk\n      - build/[ab\n    triggering:\n      events: [push, commit]\n      branch_patterns:\n        - pattern: 'rel[ease'\n        - include: false\n";
    let errs = errors(doc, Y);
    let found: Vec<(Option<u32>, &str)> = errs.iter().map(|e| (e.line, e.path.as_str())).collect();
    assert_eq!(
        found,
        [
            (Some(6), "workflows.a.artifacts[1]"),
            (Some(8), "workflows.a.triggering.events[1]"),
            (Some(10), "workflows.a.triggering.branch_patterns[0]"),
            (Some(11), "workflows.a.triggering.branch_patterns[1]"),
        ]
    );
    assert!(errs[0].message.contains("unclosed `[`"));
    assert!(errs[1].message.contains("unknown trigger event `commit`"));
    assert!(errs[3].message.contains("missing `pattern`"));
}

#[test]
fn working_directories_stay_inside_the_repository() {
    let doc = "workflows:\n  a:\n    working_directory: '..'\n    scripts:\n      - script: ls\n        working_directory: /etc\n      - script: ls\n        working_directory: a/../../b\n      - script: ls\n        working_directory: app/android\n";
    let errs = errors(doc, Y);
    let found: Vec<(Option<u32>, Option<u32>, &str)> = errs
        .iter()
        .map(|e| (e.line, e.column, e.path.as_str()))
        .collect();
    assert_eq!(
        found,
        [
            (Some(3), Some(24), "workflows.a.working_directory"),
            (
                Some(6),
                Some(28),
                "workflows.a.scripts[0].working_directory"
            ),
            (
                Some(8),
                Some(28),
                "workflows.a.scripts[1].working_directory"
            ),
        ]
    );
    assert!(
        errs[0].message.contains("goes up with `..`"),
        "{}",
        errs[0].message
    );
    assert!(
        errs[1].message.contains("is absolute"),
        "{}",
        errs[1].message
    );
    assert!(errs[2].message.contains("use a path inside the repository"));
}

#[test]
fn wrong_types() {
    let doc = "workflows:\n  a:\n    scripts: [x]\n    labels: 3\n    environment:\n      vars:\n        A: [1]\n    triggering:\n      cancel_previous_builds: maybe\n";
    let errs = errors(doc, Y);
    let paths: Vec<&str> = errs.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "workflows.a.labels",
            "workflows.a.environment.vars.A",
            "workflows.a.triggering.cancel_previous_builds"
        ]
    );
    assert!(errs[2].message.contains("expected true or false"));
}

#[test]
fn syntax_and_duplicate_key_errors_are_located() {
    let errs = errors(
        "workflows:\n  a:\n    scripts: [x]\n  a:\n    scripts: [y]\n",
        Y,
    );
    assert_eq!(errs[0].line, Some(4));
    assert!(errs[0].message.contains("duplicate"), "{}", errs[0]);
    let errs = errors("workflows:\n  a:\n    scripts: [x\n", Y);
    assert!(
        errs[0].line.is_some() && errs[0].message.starts_with("invalid yaml"),
        "{}",
        errs[0]
    );
    let errs = errors(
        "workflows::\n  a::\n    scripts:: \"x\"\n  a::\n    scripts:: \"y\"\n",
        H,
    );
    assert_eq!((errs[0].line, errs[0].column), (Some(4), Some(3)));
    assert!(errs[0].message.contains("duplicate key `a`"));
    let errs = errors("workflows::\n  a::\n    scripts:: x\n", H);
    assert_eq!((errs[0].line, errs[0].column), (Some(3), Some(15)));
    assert!(errs[0].message.starts_with("invalid huml"), "{}", errs[0]);
}

#[test]
fn unknown_fields_are_located_warnings() {
    let doc = "version: 2\nworkflows:\n  a:\n    scripts:\n      - script: x\n        retries: 3\n    enviroment:\n      flutter: stable\n    environment:\n      swift: '5.9'\n";
    let report = valid(doc, Y);
    let found: Vec<(Option<u32>, Option<u32>, &str)> = report
        .warnings
        .iter()
        .map(|w| (w.line, w.column, w.path.as_str()))
        .collect();
    assert_eq!(
        found,
        [
            (Some(1), Some(1), "version"),
            (Some(6), Some(9), "workflows.a.scripts[0].retries"),
            (Some(7), Some(5), "workflows.a.enviroment"),
            (Some(10), Some(7), "workflows.a.environment.swift"),
        ]
    );
    assert!(
        report.warnings[2]
            .message
            .contains("unknown field `enviroment` is ignored")
    );
    assert!(
        report.warnings[2].message.contains("environment"),
        "lists the known fields"
    );
}

#[test]
fn huml_validation_errors_are_located_too() {
    let doc = "workflows::\n  ios::\n    max_build_duration: 5000\n    scripts::\n      - \"echo\"\n      - \"\"\n";
    let errs = errors(doc, H);
    let found: Vec<(Option<u32>, Option<u32>, &str)> = errs
        .iter()
        .map(|e| (e.line, e.column, e.path.as_str()))
        .collect();
    assert_eq!(
        found,
        [
            (Some(3), Some(25), "workflows.ios.max_build_duration"),
            (Some(6), Some(9), "workflows.ios.scripts[1]"),
        ]
    );
}

#[test]
fn the_spec_examples_validate() {
    let yaml = "workflows:\n  ios-build:\n    name: iOS Build\n    max_build_duration: 60\n    environment:\n      flutter: stable\n    scripts:\n      - name: Get packages\n        script: flutter pub get\n      - name: Build\n        script: flutter build ios\n";
    let (p, _) = pipeline::parse_and_validate(yaml, Y).expect("spec yaml example");
    let huml = "workflows::\n  ios-build::\n    name: \"iOS Build\"\n    max_build_duration: 60\n    environment::\n      flutter: \"stable\"\n    scripts::\n      - :: name: \"Get packages\", script: \"flutter pub get\"\n      - :: name: \"Build\", script: \"flutter build ios\"\n";
    let (q, _) = pipeline::parse_and_validate(huml, H).expect("huml equivalent");
    assert_eq!(p, q);
    assert_eq!(
        pipeline::to_string(&p, H),
        pipeline::convert(yaml, Y, H).expect("converts").0
    );
}

#[test]
fn vars_keep_their_written_form() {
    let doc = "workflows:\n  a:\n    scripts: [x]\n    environment:\n      flutter: 3.10\n      vars:\n        BUILD: 042\n        FLAG: yes\n        EMPTY:\n        PI: 3.140\n";
    let (p, _) = pipeline::parse_and_validate(doc, Y).expect("valid");
    let env = &p.workflows()[0].environment;
    assert_eq!(env.tool("flutter"), Some("3.10"));
    assert_eq!(env.var("BUILD"), Some("042"));
    assert_eq!(env.var("FLAG"), Some("yes"));
    assert_eq!(env.var("EMPTY"), Some(""));
    assert_eq!(env.var("PI"), Some("3.140"));
}
