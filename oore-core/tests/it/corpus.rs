//! The real-world Codemagic corpus: every file parses and validates, except the one that
//! uses undefined aliases, which fails with a located error. A few files are checked field
//! by field (block scalars, heredocs, merged anchors, patterns).

use oore_core::pipeline::{self, BranchPattern, Format, Pipeline, TriggerEvent, Value, Workflow};

use crate::fixtures;

const BROKEN: &str = "0x01001__app-temp.yaml";

fn load(name: &str) -> Pipeline {
    let content = fixtures::read(&format!("codemagic/{name}"));
    match pipeline::parse_and_validate(&content, Format::Yaml) {
        Ok((p, _)) => p,
        Err(report) => panic!("{name} should be valid: {report}"),
    }
}

fn workflow<'p>(p: &'p Pipeline, id: &str) -> &'p Workflow {
    p.workflow(id)
        .unwrap_or_else(|| panic!("workflow {id} missing; have {:?}", p.workflow_ids()))
}

#[test]
fn every_corpus_file_validates_except_the_broken_one() {
    let corpus = fixtures::codemagic_corpus();
    assert!(corpus.len() >= 19, "corpus has {} files", corpus.len());
    for (name, content) in corpus {
        let result = pipeline::parse_and_validate(&content, Format::Yaml);
        if name == BROKEN {
            assert!(result.is_err(), "{name} must fail");
            continue;
        }
        match result {
            Ok((p, report)) => {
                assert_eq!(report.workflows, p.workflow_ids(), "{name}");
                assert!(report.warnings.is_empty(), "{name}: {report}");
                for w in p.workflows() {
                    assert!(!w.scripts.is_empty(), "{name}: {} has no scripts", w.id);
                }
            }
            Err(report) => panic!("{name} should be valid: {report}"),
        }
    }
}

#[test]
fn undefined_alias_fails_with_a_located_error() {
    let content = fixtures::read(&format!("codemagic/{BROKEN}"));
    let report = pipeline::parse_and_validate(&content, Format::Yaml).expect_err("undefined alias");
    assert_eq!(report.errors.len(), 1, "{report}");
    let e = &report.errors[0];
    assert_eq!((e.line, e.column), (Some(133), Some(9)), "{e}");
    assert!(e.message.contains("unknown alias `*sync`"), "{e}");
    assert_eq!(e.message, e.message.to_lowercase(), "lowercase: {e}");
    assert!(
        e.message.contains("define the anchor `&sync`"),
        "says what to do: {e}"
    );
}

#[test]
fn merged_anchors_expand_into_workflows() {
    let p = load("codemagic-ci-cd__codemagic-sample-projects.yaml");
    assert_eq!(p.workflow_ids(), ["ios-release", "ios-staging"]);
    let w = workflow(&p, "ios-release");
    assert_eq!(w.name.as_deref(), Some("iOS release"));
    assert_eq!(w.instance_type.as_deref(), Some("mac_mini_m2"));
    assert_eq!(w.max_build_duration, Some(120));
    let env = &w.environment;
    assert_eq!(env.tool("flutter"), Some("stable"));
    assert_eq!(env.tool("xcode"), Some("latest"));
    assert_eq!(env.tool("cocoapods"), Some("default"));
    assert!(
        env.groups.is_empty(),
        "`groups:` with only comments is empty"
    );
    assert_eq!(env.var("BUNDLE_ID"), Some("com.example.yourapp"));
    assert_eq!(env.var("XCODE_CONFIG"), Some("Release-dev"));
    let t = w.triggering.as_ref().expect("triggering");
    assert_eq!(t.events, [TriggerEvent::Tag]);
    assert_eq!(t.branch_patterns, [BranchPattern::new("main")]);
    assert_eq!(w.scripts.len(), 6);
    assert_eq!(
        w.scripts[0].name.as_deref(),
        Some("Set up keychain to be used for codesigning using Codemagic CLI 'keychain' command")
    );
    assert_eq!(w.scripts[0].script, "keychain initialize\n");
    assert_eq!(
        w.scripts[4].script,
        "#!/bin/sh\nset -ex\ncd $FCI_BUILD_DIR\n# agvtool new-version -all $(($BUILD_NUMBER + 1))\n\
         agvtool new-version -all $(($(app-store-connect get-latest-testflight-build-number $APP_STORE_APP_ID) + 1))\n"
    );
    assert_eq!(
        w.artifacts,
        [
            "build/ios/ipa/*.ipa",
            "$HOME/Library/Developer/Xcode/DerivedData/**/Build/**/*.dSYM"
        ]
    );
    let publishing = w.publishing.as_ref().expect("publishing");
    let email = publishing
        .targets
        .get("email")
        .and_then(Value::as_map)
        .expect("email");
    assert_eq!(
        email.get("recipients"),
        Some(&Value::List(vec![
            "user_1@example.com".into(),
            "user_2@example.com".into()
        ]))
    );
    assert!(publishing.targets.get("app_store_connect").is_some());
    let staging = workflow(&p, "ios-staging");
    assert_eq!(staging.max_build_duration, Some(120));
    assert_eq!(
        staging.triggering.as_ref().map(|t| t.events.clone()),
        Some(vec![TriggerEvent::Push])
    );
    assert!(
        staging
            .publishing
            .as_ref()
            .is_some_and(|p| p.targets.get("slack").is_some())
    );
    assert!(p.definitions().is_some());
}

#[test]
fn heredocs_and_block_scalars_keep_their_text() {
    let p = load("SharezoneApp__sharezone-app.yaml");
    let w = workflow(&p, "app-preview");
    assert_eq!(w.max_build_duration, Some(75));
    assert_eq!(w.environment.tool("xcode"), Some("14.3"));
    assert_eq!(w.environment.tool("flutter"), Some("fvm"));
    assert_eq!(w.working_directory.as_deref(), Some("app"));
    assert_eq!(
        w.scripts[1].script,
        "echo $FCI_KEYSTORE | base64 --decode > android/app/key.jks\n\
         cat >> \"android/key.properties\" <<EOF\n\
         storePassword=$FCI_KEYSTORE_PASSWORD\n\
         keyPassword=$FCI_KEY_PASSWORD\n\
         keyAlias=$FCI_KEY_ALIAS\n\
         storeFile=key.jks\n\
         EOF\n"
    );
    assert_eq!(w.scripts[2].script, "flutter pub get");
    assert_eq!(
        w.scripts[3].script,
        "flutter build apk \\\n  --flavor dev \\\n  --target lib/main_dev.dart\n"
    );
    let publishing = w.publishing.as_ref().expect("publishing");
    assert_eq!(publishing.scripts.len(), 1);
    assert_eq!(
        publishing.scripts[0].name.as_deref(),
        Some("Post App Preview")
    );
    assert!(w.triggering.is_none(), "no triggering: manual only");

    let goldens = workflow(&p, "test-only-goldens");
    let when = goldens.when.as_ref().expect("when");
    assert_eq!(
        when.condition.as_deref(),
        Some("not event.pull_request.draft")
    );
    let changeset = when.changeset.as_ref().expect("changeset");
    assert_eq!(
        changeset.includes,
        [".fvm/fvm_config.json", "app/**", "lib/**", "codemagic.yaml"]
    );
    assert_eq!(changeset.excludes[0], "**/*.md");
    let t = goldens.triggering.as_ref().expect("triggering");
    assert_eq!(t.events, [TriggerEvent::PullRequest]);
    assert_eq!(t.cancel_previous_builds, Some(true));
    assert!(
        goldens.scripts[1]
            .script
            .contains("find * -path '**/failures'")
    );
}

#[test]
fn merge_keys_inside_environment_and_kept_signing_data() {
    let p = load("shorebirdtech__codemagic_demo.yaml");
    let w = workflow(&p, "release-android-workflow");
    let env = &w.environment;
    assert_eq!(env.tool("flutter"), Some("3.24.1"));
    assert_eq!(env.groups, ["shorebird", "app_store", "play_store"]);
    assert_eq!(env.var("FLUTTER_VERSION"), Some("3.24.1"));
    assert_eq!(
        env.android_signing,
        Some(Value::List(vec!["android_keystore".into()]))
    );
    assert_eq!(w.scripts[0].name.as_deref(), Some("Install Shorebird"));
    assert!(
        w.scripts[0]
            .script
            .starts_with("# Install Shorebird\ncurl --proto '=https'")
    );
    assert!(
        w.scripts[0]
            .script
            .contains("\n\n# Add Shorebird to PATH\n")
    );
    assert_eq!(
        w.scripts[3].script,
        "shorebird release android \\\n  --flutter-version=\"$FLUTTER_VERSION\"\n"
    );
    assert_eq!(w.artifacts[0], "build/**/outputs/**/*.aab");
    let ios = workflow(&p, "release-ios-workflow");
    assert!(ios.integrations.is_some());
}

#[test]
fn branch_and_tag_patterns() {
    let p = load("OTTAA-Project__ottaa_project_flutter.yaml");
    let dev = workflow(&p, "dev-workflow");
    let t = dev.triggering.as_ref().expect("triggering");
    assert_eq!(t.branch_patterns, [BranchPattern::new("development")]);
    assert_eq!(t.tag_patterns, [BranchPattern::new("*")]);
    assert_eq!(dev.environment.tool("flutter"), Some("3.7.11"));
    let master = workflow(&p, "master-workflow");
    assert_eq!(master.environment.var("APP_ID"), Some("1668864533"));
    assert!(
        master.scripts[0]
            .script
            .contains("<<EOF\nstorePassword=$FCI_KEYSTORE_PASSWORD\n")
    );
}

#[test]
fn corpus_converts_to_huml_and_back() {
    for (name, content) in fixtures::codemagic_corpus() {
        if name == BROKEN {
            continue;
        }
        let (original, _) =
            pipeline::parse_and_validate(&content, Format::Yaml).expect("valid corpus file");
        for format in [Format::Huml, Format::Yaml] {
            let (text, _) = pipeline::convert(&content, Format::Yaml, format).expect("converts");
            let (back, report) = pipeline::parse_and_validate(&text, format)
                .unwrap_or_else(|r| panic!("{name} as {format} should read back: {r}\n{text}"));
            assert!(report.warnings.is_empty(), "{name} as {format}: {report}");
            assert_eq!(back, original, "{name} through {format}");
        }
        let huml = pipeline::to_string(&original, Format::Huml);
        assert!(
            huml_rs::parse_huml(&huml).is_ok(),
            "huml-rs reads {name} as huml"
        );
    }
}
