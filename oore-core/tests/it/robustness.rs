//! The readers never panic: random bytes and mutated corpus files either parse or give
//! located errors; whatever validates converts to the other format and back unchanged.

use oore_core::pipeline::{self, Format, huml};
use proptest::prelude::*;

use crate::fixtures;

/// Everything a caller might do with untrusted text.
fn exercise(text: &str) {
    let _ = Format::sniff(text);
    let _ = huml::parse(text);
    for format in [Format::Yaml, Format::Huml] {
        match pipeline::parse_and_validate(text, format) {
            Ok((p, _)) => {
                for other in [Format::Yaml, Format::Huml] {
                    let written = pipeline::to_string(&p, other);
                    let back = pipeline::parse_and_validate(&written, other);
                    assert!(
                        back.as_ref().is_ok_and(|(q, _)| *q == p),
                        "a valid pipeline must survive {other}: {back:?}\n{written}"
                    );
                }
            }
            Err(report) => {
                assert!(!report.errors.is_empty());
                for e in &report.errors {
                    assert!(!e.message.is_empty());
                }
            }
        }
    }
}

/// The corpus (valid YAML files and HUML versions of them) plus the HUML suite document.
fn seeds() -> Vec<String> {
    let mut seeds: Vec<String> = fixtures::codemagic_corpus()
        .into_iter()
        .map(|(_, c)| c)
        .collect();
    let huml_versions: Vec<String> = seeds
        .iter()
        .filter_map(|c| pipeline::convert(c, Format::Yaml, Format::Huml).ok())
        .map(|(text, _)| text)
        .collect();
    seeds.extend(huml_versions);
    seeds.push(fixtures::read("huml/documents/mixed.huml"));
    seeds
}

#[derive(Debug, Clone)]
enum Edit {
    Delete { at: usize, len: usize },
    Insert { at: usize, text: String },
    DuplicateLine { at: usize },
    Indent { at: usize, spaces: usize },
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), 1usize..8).prop_map(|(at, len)| Edit::Delete { at, len }),
        (
            any::<usize>(),
            "[ \\t\\n:\\-#\"'&*<>|{}\\[\\],a-z0-9]{1,4}|\\PC{1,2}"
        )
            .prop_map(|(at, text)| Edit::Insert { at, text }),
        any::<usize>().prop_map(|at| Edit::DuplicateLine { at }),
        (any::<usize>(), 1usize..4).prop_map(|(at, spaces)| Edit::Indent { at, spaces }),
    ]
}

fn apply(text: &str, edits: &[Edit]) -> String {
    let mut bytes = text.as_bytes().to_vec();
    for e in edits {
        let len = bytes.len().max(1);
        match e {
            Edit::Delete { at, len: n } => {
                let start = at % len;
                let end = (start + n).min(bytes.len());
                if start < end {
                    bytes.drain(start..end);
                }
            }
            Edit::Insert { at, text } => {
                let at = (at % len).min(bytes.len());
                bytes.splice(at..at, text.bytes());
            }
            Edit::DuplicateLine { at } | Edit::Indent { at, .. } => {
                let lines: Vec<&[u8]> = bytes.split(|b| *b == b'\n').collect();
                let i = at % lines.len().max(1);
                let mut out: Vec<Vec<u8>> = lines.iter().map(|l| l.to_vec()).collect();
                match e {
                    Edit::DuplicateLine { .. } => out.insert(i, out[i].clone()),
                    Edit::Indent { spaces, .. } => {
                        out[i].splice(0..0, std::iter::repeat_n(b' ', *spaces));
                    }
                    _ => {}
                }
                bytes = out.join(&b'\n');
            }
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        exercise(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn random_structured_text_never_panics(text in "[ \\n\\t:\\-#\"&*<|>{}\\[\\],%a-z0-9]{0,120}") {
        exercise(&text);
    }

    #[test]
    fn mutated_corpus_never_panics(seed in any::<prop::sample::Index>(), edits in prop::collection::vec(edit(), 1..4)) {
        let seeds = seeds();
        let original = &seeds[seed.index(seeds.len())];
        exercise(&apply(original, &edits));
    }
}

#[test]
fn pathological_inputs() {
    let deep_yaml = format!("{}1{}", "[".repeat(5_000), "]".repeat(5_000));
    exercise(&deep_yaml);
    let bomb = "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]\ng: [*f, *f, *f, *f, *f, *f, *f, *f, *f]\n";
    exercise(bomb);
    let mut deep_huml = String::new();
    for depth in 0..300 {
        deep_huml.push_str(&" ".repeat(depth * 2));
        deep_huml.push_str("k::\n");
    }
    exercise(&deep_huml);
    exercise("\u{feff}workflows:\n  a:\n    scripts: [x]\n");
    exercise("workflows:\r\n  a:\r\n    scripts: [x]\r\n");
    exercise("\0\0\0");
}

/// Both readers allow the same nesting depth, so a converted document reads back.
#[test]
fn the_deepest_allowed_document_converts_both_ways() {
    let nested = |levels: usize| {
        let mut text = String::new();
        for depth in 0..levels - 1 {
            text.push_str(&" ".repeat(depth * 2));
            text.push_str("k::\n");
        }
        text.push_str(&" ".repeat((levels - 1) * 2));
        text.push_str("v: 1\n");
        text
    };
    let deepest = nested(24);
    let value = pipeline::parse_value(&deepest, Format::Huml).expect("24 levels are allowed");
    let yaml = pipeline::value_to_string(&value, Format::Yaml);
    assert_eq!(pipeline::parse_value(&yaml, Format::Yaml), Ok(value));
    assert!(pipeline::parse_value(&nested(25), Format::Huml).is_err());
    let deeper_yaml = format!("x: {}", yaml.replace('\n', "\n   "));
    assert!(
        pipeline::parse_value(&deeper_yaml, Format::Yaml).is_err(),
        "{deeper_yaml}"
    );
}
