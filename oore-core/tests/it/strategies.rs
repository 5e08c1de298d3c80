//! Proptest generators for values and pipelines.

use oore_core::pipeline::{
    BranchPattern, Cache, Changeset, Environment, Map, Pipeline, Publishing, Script, TOOL_KEYS,
    TriggerEvent, Triggering, Value, When, Workflow,
};
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use proptest::sample::subsequence;

/// Strings that stress quoting: YAML/HUML look-alikes, indicators, escapes, newlines,
/// leading and trailing spaces, unicode.
pub(crate) fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-zA-Z0-9 _./$-]{0,12}",
        2 => "[a-z \\t\\n\"'#:,&*!|>%@`{}\\[\\]\\\\-]{0,16}",
        1 => "\\PC{0,8}",
        1 => prop::sample::select(vec![
            "yes", "No", "on", "OFF", "y", "n", "null", "~", "true", "False", "3.10", "1e3", "0x1F", "0o17",
            ".inf", "-.inf", ".nan", "nan", "inf", "-", "- x", "a: b", "#c", "  lead", "trail ", "\"\"\"",
            "  \"\"\"", "line\n", "\n", "\n\n", "a\n\nb\n\n", " \n x", "\r\n", "\u{85}", "\u{2028}", "\u{feff}x",
            "1:30", "2024-01-01", "<<", "=", "!tag", "&a", "*a", "%HUML", "---", "...", "@x", "`x`",
        ])
        .prop_map(str::to_owned),
    ]
}

/// A non-blank script body.
fn script_text() -> impl Strategy<Value = String> {
    text().prop_filter("a step needs commands", |s| !s.trim().is_empty())
}

/// Any value except NaN (which is never equal to itself).
pub(crate) fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::Int),
        prop_oneof![
            any::<f64>().prop_filter("no nan", |x| !x.is_nan()),
            Just(f64::INFINITY),
            Just(f64::NEG_INFINITY),
            Just(0.5),
            Just(-1e-7)
        ]
        .prop_map(Value::Float),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(Value::List),
            vec((text(), inner), 0..4)
                .prop_map(|entries| Value::Map(entries.into_iter().collect::<Map>())),
        ]
    })
}

fn globs() -> impl Strategy<Value = Vec<String>> {
    vec(
        "[a-z0-9*?/._$-]{1,10}".prop_filter("not blank", |s: &String| !s.trim().is_empty()),
        0..3,
    )
}

fn pattern() -> impl Strategy<Value = BranchPattern> {
    ("[a-z0-9*?/._-]{1,8}", any::<bool>(), any::<bool>()).prop_map(|(pattern, include, source)| {
        BranchPattern {
            pattern,
            include,
            source,
        }
    })
}

fn when() -> impl Strategy<Value = When> {
    (option::of((globs(), globs())), option::of(text())).prop_map(|(changeset, condition)| When {
        changeset: changeset.map(|(includes, excludes)| Changeset { includes, excludes }),
        condition,
    })
}

/// A valid `working_directory`: relative, without `..`.
fn relative_dir() -> impl Strategy<Value = String> {
    text().prop_filter("a directory inside the repository", |dir| {
        let dir = dir.trim();
        !dir.starts_with(['/', '~']) && !dir.split(['/', '\\']).any(|part| part == "..")
    })
}

fn script() -> impl Strategy<Value = Script> {
    prop_oneof![
        script_text().prop_map(Script::new),
        (
            option::of(text()),
            script_text(),
            any::<bool>(),
            option::of(relative_dir()),
            option::of(1u32..=86_400),
            option::of(text()),
            option::of(when()),
        )
            .prop_map(
                |(name, script, ignore_failure, working_directory, timeout, test_report, when)| {
                    Script {
                        name,
                        script,
                        ignore_failure,
                        working_directory,
                        timeout,
                        test_report,
                        when,
                    }
                }
            ),
    ]
}

fn unique_pairs(pairs: Vec<(String, String)>) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for (k, v) in pairs {
        if !out.iter().any(|(existing, _)| *existing == k) {
            out.push((k, v));
        }
    }
    out
}

fn environment() -> impl Strategy<Value = Environment> {
    (
        vec((text(), text()), 0..3),
        vec(text(), 0..3),
        subsequence(TOOL_KEYS.to_vec(), 0..3),
        vec(text(), 3),
        option::of(value()),
        option::of(value()),
    )
        .prop_map(
            |(vars, groups, tools, versions, ios_signing, android_signing)| Environment {
                vars: unique_pairs(vars),
                groups,
                tools: tools
                    .into_iter()
                    .zip(versions)
                    .map(|(t, v)| (t.to_owned(), v))
                    .collect(),
                ios_signing,
                android_signing,
            },
        )
}

fn triggering() -> impl Strategy<Value = Triggering> {
    (
        subsequence(TriggerEvent::ALL.to_vec(), 0..=4),
        vec(pattern(), 0..3),
        vec(pattern(), 0..2),
        option::of(any::<bool>()),
    )
        .prop_map(
            |(events, branch_patterns, tag_patterns, cancel_previous_builds)| Triggering {
                events,
                branch_patterns,
                tag_patterns,
                cancel_previous_builds,
            },
        )
}

fn publishing() -> impl Strategy<Value = Publishing> {
    (vec(script(), 0..2), vec((text(), value()), 0..3)).prop_map(|(scripts, targets)| Publishing {
        scripts,
        targets: targets
            .into_iter()
            .filter(|(k, _)| k != "scripts")
            .collect(),
    })
}

fn workflow(id: String) -> impl Strategy<Value = Workflow> {
    let head = (
        option::of(text()),
        option::of(1u32..=1440),
        option::of(text()),
        option::of(relative_dir()),
        vec(text(), 0..3),
        option::of(value()),
        environment(),
    );
    let tail = (
        globs(),
        option::of(triggering()),
        option::of(when()),
        vec(script(), 1..4),
        globs(),
        option::of(publishing()),
        option::of(value()),
    );
    (head, tail).prop_map(
        move |(
            (
                name,
                max_build_duration,
                instance_type,
                working_directory,
                labels,
                inputs,
                environment,
            ),
            (cache_paths, triggering, when, scripts, artifacts, publishing, integrations),
        )| Workflow {
            id: id.clone(),
            name,
            max_build_duration,
            instance_type,
            working_directory,
            labels,
            inputs,
            environment,
            cache: Cache { cache_paths },
            triggering,
            when,
            scripts,
            artifacts,
            publishing,
            integrations,
        },
    )
}

/// Pipelines of one to three workflows, with or without `definitions`.
pub(crate) fn pipeline() -> impl Strategy<Value = Pipeline> {
    (
        prop::collection::btree_set("[a-z][a-z0-9_-]{0,8}", 1..4),
        option::of(value()),
    )
        .prop_flat_map(|(ids, definitions)| {
            let workflows: Vec<_> = ids.into_iter().map(workflow).collect();
            (workflows, Just(definitions))
        })
        .prop_filter_map("unique ids", |(workflows, definitions)| {
            Pipeline::new(workflows)
                .ok()
                .map(|p| p.with_definitions(definitions))
        })
}
