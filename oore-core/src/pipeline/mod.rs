//! Pipeline configuration: reading, validating, writing and interpreting the documents that
//! say what a build runs.
//!
//! A pipeline is written in YAML (compatible with Codemagic's `codemagic.yaml`, anchors and
//! merge keys included) or in HUML v0.2. Both are read into one located tree, then decoded
//! into the [`Pipeline`] model while every problem is collected, with its line, column and
//! path, into a [`ValidationReport`]. Unknown fields are warnings, never errors, so newer
//! documents still run on older servers.
//!
//! Everything here is pure: no files, processes or clocks. [`resolve_config`] takes a
//! closure to look at repository files; [`select_workflows`] decides which workflows a
//! trigger starts.
//!
//! ```
//! use oore_core::pipeline::{self, Format, Trigger};
//!
//! let yaml = "workflows:\n  build:\n    triggering:\n      events: [push]\n    scripts:\n      - flutter build apk\n";
//! let (pipeline, report) = pipeline::parse_and_validate(yaml, Format::Yaml).expect("valid");
//! assert!(report.warnings.is_empty());
//! let selected = pipeline::select_workflows(&pipeline, &Trigger::Push { branch: "main".into() }).expect("selected");
//! assert_eq!(selected[0].id, "build");
//! let huml = pipeline::to_string(&pipeline, Format::Huml);
//! assert!(huml.starts_with("workflows::\n"));
//! ```

mod decode;
mod diagnostic;
mod encode;
mod format;
pub mod glob;
pub mod huml;
mod model;
mod node;
mod resolve;
mod select;
mod value;
mod write;
mod yaml;

pub use diagnostic::{Diagnostic, ValidationReport};
pub use format::{Format, UnknownFormat};
pub use model::{
    BranchPattern, Cache, Changeset, Environment, Pipeline, PipelineError, Publishing, Script,
    TOOL_KEYS, TriggerEvent, Triggering, When, Workflow,
};
pub use resolve::{
    ConfigSource, DEFAULT_WORKFLOW, PipelineDocument, PipelinePrecedence, REPOSITORY_FILES,
    ResolvedConfig, UnknownConfigSource, UnknownPrecedence, default_pipeline, resolve_config,
};
pub use select::{SelectError, Trigger, select_for_event, select_workflows, triggered};
pub use value::{Map, Value};

use node::Node;

/// Reads a document into the located tree, or the syntax error.
fn parse_node(content: &str, format: Format) -> Result<Node, Diagnostic> {
    match format {
        Format::Yaml => yaml::parse(content),
        Format::Huml => huml::parse_node(content).map_err(|e| Diagnostic {
            line: Some(e.line),
            column: Some(e.column),
            path: String::new(),
            message: format!("invalid huml: {}", e.message),
        }),
    }
}

/// Parses and validates a pipeline document.
///
/// On success, the report holds the warnings (unknown fields) and the workflow names; on
/// failure it holds every error found (a syntax error stops at the first).
pub fn parse_and_validate(
    content: &str,
    format: Format,
) -> Result<(Pipeline, ValidationReport), ValidationReport> {
    let root = parse_node(content, format).map_err(ValidationReport::only_error)?;
    match decode::decode(&root) {
        (Some(pipeline), report) if report.is_valid() => Ok((pipeline, report)),
        (_, report) => Err(report),
    }
}

/// Validates a document without keeping the pipeline.
pub fn validate(content: &str, format: Format) -> ValidationReport {
    match parse_and_validate(content, format) {
        Ok((_, report)) | Err(report) => report,
    }
}

/// Reads any YAML or HUML document into a generic [`Value`] (anchors expanded, key order
/// kept), without pipeline validation.
pub fn parse_value(content: &str, format: Format) -> Result<Value, Diagnostic> {
    parse_node(content, format).map(|node| node.to_value())
}

/// Writes a pipeline as a document in `format`.
pub fn to_string(pipeline: &Pipeline, format: Format) -> String {
    value_to_string(&encode::encode(pipeline), format)
}

/// Writes any value as a document in `format`.
pub fn value_to_string(value: &Value, format: Format) -> String {
    match format {
        Format::Yaml => write::yaml(value),
        Format::Huml => write::huml(value),
    }
}

/// Converts a pipeline document from one format to the other, through the model: the
/// result is the canonical form of the pipeline (anchors expanded, unknown fields dropped;
/// the report's warnings say which).
pub fn convert(
    content: &str,
    from: Format,
    to: Format,
) -> Result<(String, ValidationReport), ValidationReport> {
    let (pipeline, report) = parse_and_validate(content, from)?;
    Ok((to_string(&pipeline, to), report))
}
