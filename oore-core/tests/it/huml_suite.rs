//! The shared HUML conformance suite (huml-lang/tests), run against Oore's parser and, as
//! a record, against `huml-rs` on its own.

use std::collections::BTreeMap;

use oore_core::pipeline::{self, Format, Value, huml};

use crate::fixtures;

/// Suite cases `huml-rs` 0.3 gets wrong by itself (accepts what must fail or rejects what
/// must pass). Documented in `oore_core::pipeline::huml`; kept honest by
/// `huml_rs_suite_failures_are_as_documented`.
const HUML_RS_SUITE_FAILURES: &[&str] = &[];

struct Case {
    name: String,
    input: String,
    error: bool,
}

fn cases() -> Vec<Case> {
    let json: serde_json::Value =
        serde_json::from_str(&fixtures::read("huml/assertions/mixed.json")).expect("suite is json");
    json.as_array()
        .expect("suite is an array")
        .iter()
        .map(|c| Case {
            name: c["name"].as_str().expect("name").to_owned(),
            input: c["input"].as_str().expect("input").to_owned(),
            error: c["error"].as_bool().expect("error flag"),
        })
        .collect()
}

#[test]
fn every_assertion_case_has_the_expected_outcome() {
    let cases = cases();
    assert_eq!(cases.len(), 174);
    let wrong: Vec<String> = cases
        .iter()
        .filter(|c| huml::parse(&c.input).is_err() != c.error)
        .map(|c| format!("{} ({:?}): {:?}", c.name, c.input, huml::parse(&c.input)))
        .collect();
    assert!(
        wrong.is_empty(),
        "cases with the wrong outcome:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn errors_carry_a_position() {
    for case in cases().iter().filter(|c| c.error) {
        if let Err(e) = huml::parse(&case.input) {
            assert!(e.line >= 1 && e.column >= 1, "{}: {e}", case.name);
            assert!(!e.message.is_empty());
        }
    }
}

fn same(ours: &Value, json: &serde_json::Value) -> bool {
    match (ours, json) {
        (Value::Null, serde_json::Value::Null) => true,
        (Value::Bool(a), serde_json::Value::Bool(b)) => a == b,
        (Value::String(a), serde_json::Value::String(b)) => a == b,
        (Value::Int(a), serde_json::Value::Number(n)) => n.as_i64() == Some(*a),
        // the json file writes integral floats as integers (`0.0` as `0`, `1.23e10` as `12300000000`)
        (Value::Float(a), serde_json::Value::Number(n)) => n.as_f64() == Some(*a),
        (Value::List(a), serde_json::Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same(x, y))
        }
        (Value::Map(a), serde_json::Value::Object(b)) => {
            a.len() == b.len() && a.iter().all(|(k, v)| b.get(k).is_some_and(|w| same(v, w)))
        }
        _ => false,
    }
}

#[test]
fn mixed_document_equals_its_json() {
    let doc = huml::parse(&fixtures::read("huml/documents/mixed.huml")).expect("mixed.huml parses");
    let json: serde_json::Value =
        serde_json::from_str(&fixtures::read("huml/documents/mixed.json"))
            .expect("mixed.json parses");
    assert!(
        same(&doc, &json),
        "mixed.huml differs from mixed.json:\n{doc}"
    );
    // key order is the written order
    let keys: Vec<&str> = doc.as_map().expect("map").keys().collect();
    assert_eq!(keys, ["foo_one", "foo_two", "foo_three", "foo_final"]);
}

#[test]
fn mixed_document_round_trips_through_both_writers() {
    let doc = huml::parse(&fixtures::read("huml/documents/mixed.huml")).expect("mixed.huml parses");
    let as_huml = huml::to_string(&doc);
    assert_eq!(huml::parse(&as_huml).as_ref(), Ok(&doc), "{as_huml}");
    let as_yaml = pipeline::value_to_string(&doc, Format::Yaml);
    assert_eq!(
        pipeline::parse_value(&as_yaml, Format::Yaml).as_ref(),
        Ok(&doc),
        "{as_yaml}"
    );
}

/// `huml-rs`'s value as ours (its dicts are unordered, so compare by key).
fn from_huml_rs(v: &huml_rs::HumlValue) -> Value {
    use huml_rs::{HumlNumber, HumlValue};
    match v {
        HumlValue::Null => Value::Null,
        HumlValue::Boolean(b) => Value::Bool(*b),
        HumlValue::String(s) => Value::String(s.clone()),
        HumlValue::Number(HumlNumber::Integer(i)) => Value::Int(*i),
        HumlValue::Number(HumlNumber::Float(x)) => Value::Float(*x),
        HumlValue::Number(HumlNumber::Nan) => Value::Float(f64::NAN),
        HumlValue::Number(HumlNumber::Infinity(positive)) => Value::Float(if *positive {
            f64::INFINITY
        } else {
            f64::NEG_INFINITY
        }),
        HumlValue::List(items) => Value::List(items.iter().map(from_huml_rs).collect()),
        HumlValue::Dict(map) => {
            let sorted: BTreeMap<&String, Value> =
                map.iter().map(|(k, v)| (k, from_huml_rs(v))).collect();
            Value::Map(sorted.into_iter().map(|(k, v)| (k.clone(), v)).collect())
        }
    }
}

/// Sorts map keys recursively and maps NaN to a marker, so values compare across parsers.
pub(crate) fn canonical(v: &Value) -> Value {
    match v {
        Value::Float(x) if x.is_nan() => Value::String("<nan>".to_owned()),
        Value::List(items) => Value::List(items.iter().map(canonical).collect()),
        Value::Map(map) => {
            let sorted: BTreeMap<&str, Value> =
                map.iter().map(|(k, v)| (k, canonical(v))).collect();
            Value::Map(sorted.into_iter().collect())
        }
        other => other.clone(),
    }
}

/// What `huml-rs` makes of a document, in our terms, or `None` when it rejects it.
pub(crate) fn huml_rs_value(text: &str) -> Option<Value> {
    huml_rs::parse_huml(text)
        .ok()
        .map(|(_, doc)| canonical(&from_huml_rs(&doc.root)))
}

#[test]
fn huml_rs_suite_failures_are_as_documented() {
    let failures: Vec<String> = cases()
        .iter()
        .filter(|c| huml_rs::parse_huml(&c.input).is_err() != c.error)
        .map(|c| c.name.clone())
        .collect();
    assert_eq!(
        failures, HUML_RS_SUITE_FAILURES,
        "update the list here and in the huml module docs"
    );
    let doc = fixtures::read("huml/documents/mixed.huml");
    let ours = huml::parse(&doc).expect("mixed.huml parses");
    assert_eq!(
        huml_rs_value(&doc),
        Some(canonical(&ours)),
        "huml-rs reads mixed.huml the same"
    );
}

#[test]
fn both_parsers_agree_on_accepted_suite_cases() {
    for case in cases().iter().filter(|c| !c.error) {
        let ours = huml::parse(&case.input).expect("accepted");
        assert_eq!(
            huml_rs_value(&case.input),
            Some(canonical(&ours)),
            "{}",
            case.name
        );
    }
}

#[test]
fn huml_rs_deviations_outside_the_suite_are_as_documented() {
    // accepted by huml-rs, rejected by the v0.2 text (and by Oore's parser)
    for text in ["a: \"\\u0041\"", "a: 1E5", "a: []", "a: {}"] {
        assert!(
            huml_rs::parse_huml(text).is_ok(),
            "huml-rs now rejects {text:?}; update the docs"
        );
        assert!(huml::parse(text).is_err(), "{text:?}");
    }
    // a root scalar starting with `-` is a scalar, not a list item
    for text in ["-1", "-inf", "-0.5"] {
        assert!(
            huml_rs::parse_huml(text).is_err(),
            "huml-rs now accepts {text:?}; update the docs"
        );
        assert!(huml::parse(text).is_ok(), "{text:?}");
    }
}
