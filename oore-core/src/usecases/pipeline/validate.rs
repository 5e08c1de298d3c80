//! Validate a pipeline document without storing it.

use crate::domain::validation::FieldError;
use crate::pipeline::{self, Format, ValidationReport};

/// Parses an optional format name (`yaml`, `yml`, `huml`); `None` means "detect from the
/// content".
pub fn parse_format(raw: Option<&str>, content: &str) -> Result<Format, FieldError> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(Format::sniff(content)),
        Some(name) => name.parse::<Format>().map_err(|_| {
            FieldError::new(
                "format",
                format!("unknown format '{name}': expected yaml or huml"),
            )
        }),
    }
}

/// The validation report of `content`: errors (with line, column and key path), warnings
/// for unknown fields, and the workflow names.
pub fn validate_document(content: &str, format: Format) -> ValidationReport {
    pipeline::validate(content, format)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_is_detected_or_parsed() {
        assert_eq!(
            parse_format(None, "workflows:\n  a:\n").unwrap(),
            Format::Yaml
        );
        assert_eq!(parse_format(Some("huml"), "").unwrap(), Format::Huml);
        assert_eq!(parse_format(Some("yml"), "").unwrap(), Format::Yaml);
        assert!(
            parse_format(Some("toml"), "")
                .unwrap_err()
                .message
                .contains("expected yaml or huml")
        );
    }

    #[test]
    fn report_lists_workflows_and_locates_errors() {
        let ok = validate_document(
            "workflows:\n  ios:\n    scripts:\n      - echo hi\n",
            Format::Yaml,
        );
        assert!(ok.is_valid());
        assert_eq!(ok.workflows, ["ios"]);
        let bad = validate_document("workflows:\n  ios:\n    scripts: []\n", Format::Yaml);
        assert!(!bad.is_valid());
        assert!(bad.errors[0].line.is_some());
    }
}
