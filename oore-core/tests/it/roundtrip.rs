//! Round trips: model -> YAML -> model and model -> HUML -> model are the identity, and
//! generic values survive both writers (and read the same through huml-rs).

use oore_core::pipeline::{self, Format, Value, huml};
use proptest::prelude::*;

use crate::huml_suite::{canonical, huml_rs_value};
use crate::strategies;

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn pipeline_through_yaml_is_identity(p in strategies::pipeline()) {
        let text = pipeline::to_string(&p, Format::Yaml);
        let back = pipeline::parse_and_validate(&text, Format::Yaml);
        prop_assert!(back.is_ok(), "{}\n{}", back.err().map(|r| r.to_string()).unwrap_or_default(), text);
        let (back, report) = back.map_err(|r| TestCaseError::fail(r.to_string()))?;
        prop_assert!(report.warnings.is_empty(), "{}", report);
        prop_assert_eq!(back, p, "{}", text);
    }

    #[test]
    fn pipeline_through_huml_is_identity(p in strategies::pipeline()) {
        let text = pipeline::to_string(&p, Format::Huml);
        let back = pipeline::parse_and_validate(&text, Format::Huml);
        prop_assert!(back.is_ok(), "{}\n{}", back.err().map(|r| r.to_string()).unwrap_or_default(), text);
        let (back, report) = back.map_err(|r| TestCaseError::fail(r.to_string()))?;
        prop_assert!(report.warnings.is_empty(), "{}", report);
        prop_assert_eq!(back, p, "{}", text);
        prop_assert_eq!(Format::sniff(&text), Format::Huml);
    }

    #[test]
    fn values_through_both_writers(v in strategies::value()) {
        let as_huml = pipeline::value_to_string(&v, Format::Huml);
        let back = huml::parse(&as_huml).map_err(|e| TestCaseError::fail(format!("{e}\n{as_huml}")))?;
        prop_assert_eq!(&back, &v, "{}", as_huml);
        // huml-rs is asked about the value inside a dict (pipelines always have a dict root):
        // on its own it rejects root scalars that start with `-`, such as `-1`
        let wrapped = Value::Map([("v", v.clone())].into_iter().collect());
        let wrapped_huml = pipeline::value_to_string(&wrapped, Format::Huml);
        prop_assert_eq!(huml_rs_value(&wrapped_huml), Some(canonical(&wrapped)), "huml-rs reads {}", wrapped_huml);
        let as_yaml = pipeline::value_to_string(&v, Format::Yaml);
        let back = pipeline::parse_value(&as_yaml, Format::Yaml)
            .map_err(|e| TestCaseError::fail(format!("{e}\n{as_yaml}")))?;
        prop_assert_eq!(&back, &v, "{}", as_yaml);
    }
}
