//! How pipeline results look in human output: compiler-style located diagnostics
//! (`file:line:column: error: path: message`), the validation summary and the history
//! table.

use oore_core::api::{DiagnosticDto, FieldErrorDto, PipelineHistoryEntryDto};

use crate::table::{Table, sanitize};

/// `error` or `warning`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Severity {
    Error,
    Warning,
}

impl Severity {
    fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// One located diagnostic line, ending with a newline: `file:L:C: error: path: message`.
/// The location shrinks to `file:L:` or `file:` when the line or column is unknown, and
/// the path is left out for the whole document.
pub(super) fn diagnostic(file: &str, severity: Severity, d: &DiagnosticDto) -> String {
    let mut location = sanitize(file);
    if let Some(line) = d.line {
        location.push_str(&format!(":{line}"));
        if let Some(column) = d.column {
            location.push_str(&format!(":{column}"));
        }
    }
    let path = if d.path.is_empty() {
        String::new()
    } else {
        format!("{}: ", sanitize(&d.path))
    };
    format!(
        "{location}: {}: {path}{}\n",
        severity.as_str(),
        sanitize(&d.message)
    )
}

/// Errors and warnings, one line each, in document order (unlocated ones last).
pub(super) fn report_lines(
    file: &str,
    errors: &[DiagnosticDto],
    warnings: &[DiagnosticDto],
) -> String {
    let mut all: Vec<(Severity, &DiagnosticDto)> = errors
        .iter()
        .map(|d| (Severity::Error, d))
        .chain(warnings.iter().map(|d| (Severity::Warning, d)))
        .collect();
    all.sort_by_key(|(_, d)| (d.line.is_none(), d.line, d.column));
    all.into_iter()
        .map(|(severity, d)| diagnostic(file, severity, d))
        .collect()
}

/// The request fields of the pipeline endpoints; every other field of a 400 is a key path
/// in the document.
const REQUEST_FIELDS: &[&str] = &["format", "to"];

/// The located document error behind one entry of an error envelope's `fields`: the
/// server writes the key path as `field` (`content` for the whole document) and starts the
/// message with `line L, column C: ` or `line L: `. `None` for a request field such as
/// `format`.
pub(super) fn located(field: &FieldErrorDto) -> Option<DiagnosticDto> {
    if REQUEST_FIELDS.contains(&field.field.as_str()) {
        return None;
    }
    let (line, column, message) = split_location(&field.message);
    Some(DiagnosticDto {
        line,
        column,
        path: if field.field == "content" {
            String::new()
        } else {
            field.field.clone()
        },
        message: message.to_owned(),
    })
}

/// `line L, column C: rest` or `line L: rest` into its parts; anything else is all message.
fn split_location(message: &str) -> (Option<u32>, Option<u32>, &str) {
    let parsed = message
        .strip_prefix("line ")
        .and_then(|rest| rest.split_once(": "))
        .and_then(|(location, text)| match location.split_once(", column ") {
            Some((line, column)) => Some((line.parse().ok()?, Some(column.parse().ok()?), text)),
            None => Some((location.parse().ok()?, None, text)),
        });
    match parsed {
        Some((line, column, text)) => (Some(line), column, text),
        None => (None, None, message),
    }
}

/// `2 workflows (ios-build, android)`.
pub(super) fn workflows(names: &[String]) -> String {
    let count = plural(names.len(), "workflow");
    if names.is_empty() {
        count
    } else {
        let names: Vec<String> = names.iter().map(|n| sanitize(n)).collect();
        format!("{count} ({})", names.join(", "))
    }
}

/// `1 error`, `2 warnings`.
pub(super) fn plural(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// The history table, newest first as the server lists it; `*` marks the version in use.
pub(super) fn history_table(versions: &[PipelineHistoryEntryDto]) -> Table {
    let mut table = Table::with_header(["CURRENT", "VERSION", "FORMAT", "SIZE", "CREATED"]);
    for v in versions {
        table.row([
            if v.current { "*" } else { "" }.to_owned(),
            v.version.to_string(),
            v.format.to_string(),
            size(v.size),
            v.created_at.clone(),
        ]);
    }
    table
}

/// `512 B`, `9.2 KiB`, `1.0 MiB`.
fn size(bytes: usize) -> String {
    const KIB: usize = 1024;
    if bytes < KIB {
        format!("{bytes} B")
    } else if bytes < KIB * KIB {
        format!("{}.{} KiB", bytes / KIB, bytes % KIB * 10 / KIB)
    } else {
        format!(
            "{}.{} MiB",
            bytes / (KIB * KIB),
            bytes % (KIB * KIB) * 10 / (KIB * KIB)
        )
    }
}

#[cfg(test)]
mod tests {
    use oore_core::api::PipelineFormatDto;

    use super::*;

    fn d(line: Option<u32>, column: Option<u32>, path: &str, message: &str) -> DiagnosticDto {
        DiagnosticDto {
            line,
            column,
            path: path.into(),
            message: message.into(),
        }
    }

    #[test]
    fn diagnostics_read_like_a_compiler() {
        let text = report_lines(
            "ci/pipeline.yaml",
            &[
                d(None, None, "", "the document is empty"),
                d(Some(7), None, "workflows.ios", "expected a map"),
                d(
                    Some(3),
                    Some(14),
                    "workflows.ios.scripts",
                    "add at least one script",
                ),
            ],
            &[d(Some(5), Some(5), "workflows.ios.x", "unknown field `x`")],
        );
        insta::assert_snapshot!(text, @r"
        ci/pipeline.yaml:3:14: error: workflows.ios.scripts: add at least one script
        ci/pipeline.yaml:5:5: warning: workflows.ios.x: unknown field `x`
        ci/pipeline.yaml:7: error: workflows.ios: expected a map
        ci/pipeline.yaml: error: the document is empty
        ");
        assert_eq!(
            diagnostic(
                "p.huml",
                Severity::Warning,
                &d(Some(5), Some(5), "workflows.app.x", "unknown field `x`")
            ),
            "p.huml:5:5: warning: workflows.app.x: unknown field `x`\n"
        );
    }

    #[test]
    fn control_characters_cannot_break_the_line() {
        let line = diagnostic(
            "a\nb.yaml",
            Severity::Error,
            &d(Some(1), Some(1), "workflows.\u{1b}[31m", "bad\nthing"),
        );
        assert_eq!(line.matches('\n').count(), 1, "{line:?}");
        assert!(!line.contains('\u{1b}'), "{line:?}");
    }

    #[test]
    fn envelope_fields_turn_back_into_located_diagnostics() {
        let field = |field: &str, message: &str| FieldErrorDto {
            field: field.into(),
            message: message.into(),
        };
        assert_eq!(
            located(&field(
                "workflows.ios.scripts",
                "line 3, column 14: add a script"
            )),
            Some(d(
                Some(3),
                Some(14),
                "workflows.ios.scripts",
                "add a script"
            ))
        );
        assert_eq!(
            located(&field("content", "line 2: invalid huml: x")),
            Some(d(Some(2), None, "", "invalid huml: x"))
        );
        assert_eq!(
            located(&field("workflows", "no workflows: line breaks")),
            Some(d(None, None, "workflows", "no workflows: line breaks"))
        );
        assert_eq!(
            located(&field("x", "line one, column 2: y")),
            Some(d(None, None, "x", "line one, column 2: y"))
        );
        assert_eq!(located(&field("format", "unknown format")), None);
    }

    #[test]
    fn summaries() {
        assert_eq!(
            workflows(&["ios-build".into(), "android".into()]),
            "2 workflows (ios-build, android)"
        );
        assert_eq!(workflows(&["a".into()]), "1 workflow (a)");
        assert_eq!(workflows(&[]), "0 workflows");
        assert_eq!(plural(1, "error"), "1 error");
        assert_eq!(plural(3, "warning"), "3 warnings");
    }

    #[test]
    fn history_table_marks_the_current_version() {
        let entry = |version, current, size| PipelineHistoryEntryDto {
            version,
            format: if version == 2 {
                PipelineFormatDto::Huml
            } else {
                PipelineFormatDto::Yaml
            },
            created_at: format!("2026-01-0{version}T10:00:00Z"),
            current,
            size,
            content: String::new(),
        };
        insta::assert_snapshot!(history_table(&[entry(3, true, 9405), entry(2, false, 80), entry(1, false, 2 * 1024 * 1024)]).render(), @r"
        CURRENT  VERSION  FORMAT  SIZE     CREATED
        *        3        yaml    9.1 KiB  2026-01-03T10:00:00Z
                 2        huml    80 B     2026-01-02T10:00:00Z
                 1        yaml    2.0 MiB  2026-01-01T10:00:00Z
        ");
    }
}
