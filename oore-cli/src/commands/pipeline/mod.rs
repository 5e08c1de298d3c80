//! `oore pipeline ...`: validate a pipeline file against the server's rules, store it as a
//! repository's pipeline (versioned), show, delete, list and restore the stored versions,
//! and convert a document between YAML and HUML. Problems in a document are printed like a
//! compiler's (`file:line:column: error: path: message`); the layouts are in [`render`].

mod render;

use argh::FromArgs;
use oore_core::api::{
    ConvertResponse, ErrorCode, PipelineDocumentRequest, PipelineDto, PipelineHistoryResponse,
    RestorePipelineRequest, ValidationResponse, paths,
};
use oore_core::pipeline::Format;
use serde::Serialize;

use super::Ctx;
use crate::error::CliError;
use crate::output::Output;
use render::{Severity, diagnostic, history_table, located, plural, report_lines, workflows};

/// What to try after a malformed repository id.
const ID_HINT: &str = "list repository ids with `oore repo list`";
/// The flag for each API field, for field errors.
const FLAGS: &[(&str, &str)] = &[
    ("format", "--format"),
    ("to", "--to"),
    ("version", "--version"),
];
/// The largest document worth sending: the server takes JSON bodies up to 1 MiB.
const MAX_DOCUMENT_BYTES: usize = 1024 * 1024;

/// validate, store and convert pipeline configurations
#[derive(FromArgs, Debug)]
#[argh(
    subcommand,
    name = "pipeline",
    example = "Check a file, then store it as a repository's pipeline:\n  {command_name} validate pipeline.yaml\n  {command_name} set 01JABC... --file pipeline.yaml\n\nSee and restore older versions:\n  {command_name} history 01JABC...\n  {command_name} restore 01JABC... --version 2\n\nSwitch a file to HUML:\n  {command_name} convert codemagic.yaml --to huml --output oore.huml",
    note = "By default a stored pipeline takes precedence over the repository's oore.yaml, oore.huml or codemagic.yaml; `oore pipeline delete` goes back to the file. The format is taken from --format, else from the file extension (.yaml, .yml, .huml), else from the content."
)]
pub(crate) struct PipelineCmd {
    #[argh(subcommand)]
    command: PipelineSub,
}

#[derive(FromArgs, Debug)]
#[argh(subcommand)]
enum PipelineSub {
    Validate(ValidateCmd),
    Show(ShowCmd),
    Set(SetCmd),
    Delete(DeleteCmd),
    History(HistoryCmd),
    Restore(RestoreCmd),
    Convert(ConvertCmd),
}

/// check a pipeline file with the server's rules; exits 1 when it is invalid
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "validate")]
struct ValidateCmd {
    /// the pipeline file (.yaml, .yml or .huml)
    #[argh(positional)]
    file: String,
    /// yaml or huml, when the extension does not say
    #[argh(option, from_str_fn(parse_format))]
    format: Option<Format>,
    /// print the API's JSON
    #[argh(switch)]
    json: bool,
}

/// print a repository's stored pipeline as it was saved
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "show")]
struct ShowCmd {
    /// repository: id, short id or owner/name
    #[argh(positional)]
    repo_id: String,
    /// print the API's JSON (version, format, created, content)
    #[argh(switch)]
    json: bool,
}

/// validate a file and store it as the repository's new pipeline version
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "set")]
struct SetCmd {
    /// repository: id, short id or owner/name
    #[argh(positional)]
    repo_id: String,
    /// the pipeline file
    #[argh(option)]
    file: String,
    /// yaml or huml, when the extension does not say
    #[argh(option, from_str_fn(parse_format))]
    format: Option<Format>,
    /// print the API's JSON
    #[argh(switch)]
    json: bool,
}

/// stop using the stored pipeline (builds use the repository's file; history is kept)
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "delete")]
struct DeleteCmd {
    /// repository: id, short id or owner/name
    #[argh(positional)]
    repo_id: String,
    /// print {"repository_id": ..., "deleted": true}
    #[argh(switch)]
    json: bool,
}

/// list the stored pipeline versions, newest first
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "history")]
struct HistoryCmd {
    /// repository: id, short id or owner/name
    #[argh(positional)]
    repo_id: String,
    /// print the API's JSON (with each version's content)
    #[argh(switch)]
    json: bool,
}

/// make an old version current again (saved as a new version)
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "restore")]
struct RestoreCmd {
    /// repository: id, short id or owner/name
    #[argh(positional)]
    repo_id: String,
    /// the version to restore, as `oore pipeline history` lists it
    #[argh(option)]
    version: u32,
    /// print the API's JSON
    #[argh(switch)]
    json: bool,
}

/// rewrite a pipeline file in the other format (unknown fields are dropped)
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "convert")]
struct ConvertCmd {
    /// the pipeline file to convert
    #[argh(positional)]
    file: String,
    /// the format to write: yaml or huml
    #[argh(option, from_str_fn(parse_format))]
    to: Format,
    /// write the result to this file instead of standard output
    #[argh(option)]
    output: Option<String>,
    /// the source's format, yaml or huml, when the extension does not say
    #[argh(option, from_str_fn(parse_format))]
    format: Option<Format>,
    /// print the API's JSON
    #[argh(switch)]
    json: bool,
}

/// What `oore pipeline delete --json` prints (the API answers 204 without a body).
#[derive(Debug, Serialize)]
struct Deleted<'a> {
    repository_id: &'a str,
    deleted: bool,
}

fn parse_format(value: &str) -> Result<Format, String> {
    value.parse().map_err(|e| format!("{e}"))
}

/// Run `oore pipeline ...`.
pub(crate) fn run(cmd: PipelineCmd, ctx: &mut Ctx<'_>) -> Result<(), CliError> {
    let result = match cmd.command {
        PipelineSub::Validate(cmd) => validate(cmd, ctx),
        PipelineSub::Show(cmd) => show(cmd, ctx),
        PipelineSub::Set(cmd) => set(cmd, ctx),
        PipelineSub::Delete(cmd) => delete(cmd, ctx),
        PipelineSub::History(cmd) => history(cmd, ctx),
        PipelineSub::Restore(cmd) => restore(cmd, ctx),
        PipelineSub::Convert(cmd) => convert(cmd, ctx),
    };
    result.map_err(|e| e.with_hint(ErrorCode::InvalidId, ID_HINT).with_flags(FLAGS))
}

/// A pipeline file read from disk, with the format the flags or its name say (`None`:
/// the server detects it from the content).
#[derive(Debug)]
struct Document {
    content: String,
    format: Option<Format>,
}

impl Document {
    fn read(file: &str, format: Option<Format>) -> Result<Self, CliError> {
        let content = std::fs::read_to_string(file).map_err(|e| {
            CliError::Usage(match e.kind() {
                std::io::ErrorKind::InvalidData => {
                    format!("{file} is not UTF-8 text; save it as UTF-8 and retry")
                }
                _ => format!("cannot read {file}: {e}; check the path"),
            })
        })?;
        if content.len() > MAX_DOCUMENT_BYTES {
            return Err(CliError::Usage(format!(
                "{file} is {} KiB; the server accepts pipeline documents up to 1024 KiB",
                content.len() / 1024
            )));
        }
        Ok(Self {
            content,
            format: format.or_else(|| Format::from_path(file)),
        })
    }

    fn request(self, to: Option<Format>) -> PipelineDocumentRequest {
        PipelineDocumentRequest {
            content: self.content,
            format: self.format.map(|f| f.as_str().to_owned()),
            to: to.map(|f| f.as_str().to_owned()),
        }
    }
}

fn validate(cmd: ValidateCmd, ctx: &mut Ctx<'_>) -> Result<(), CliError> {
    ctx.use_json(cmd.json);
    let request = Document::read(&cmd.file, cmd.format)?.request(None);
    let report: ValidationResponse = ctx
        .client()?
        .post(&paths::pipelines_validate(), Some(&request))?;
    if ctx.out.is_json() {
        ctx.out.json(&report)?;
    } else {
        let mut text = report_lines(&cmd.file, &report.errors, &report.warnings);
        if report.valid {
            text.push_str(&format!("valid: {}", workflows(&report.workflows)));
            if !report.warnings.is_empty() {
                text.push_str(&format!("; {}", plural(report.warnings.len(), "warning")));
            }
        }
        if !text.is_empty() {
            ctx.out.text(&text)?;
        }
    }
    if report.valid {
        Ok(())
    } else {
        // Exit 1; the located errors are above (or in the JSON).
        Err(CliError::Usage(format!(
            "{} is invalid: {}; fix {} and validate again",
            cmd.file,
            plural(report.errors.len(), "error"),
            if report.errors.len() == 1 {
                "it"
            } else {
                "them"
            }
        )))
    }
}

fn show(cmd: ShowCmd, ctx: &mut Ctx<'_>) -> Result<(), CliError> {
    ctx.use_json(cmd.json);
    let pipeline: PipelineDto = ctx
        .client()?
        .get(&paths::repository_pipeline(repo_id(&cmd.repo_id)?))?;
    if ctx.out.is_json() {
        ctx.out.json(&pipeline)
    } else {
        ctx.out.text(&pipeline.content)
    }
}

fn set(cmd: SetCmd, ctx: &mut Ctx<'_>) -> Result<(), CliError> {
    ctx.use_json(cmd.json);
    let path = paths::repository_pipeline(repo_id(&cmd.repo_id)?);
    let request = Document::read(&cmd.file, cmd.format)?.request(None);
    let client = ctx.client()?;
    let saved: PipelineDto = client
        .put(&path, &request)
        .map_err(|e| report_document_errors(&cmd.file, e, ctx.out))?;
    if ctx.out.is_json() {
        return ctx.out.json(&saved);
    }
    ctx.out
        .raw_stderr(&report_lines(&cmd.file, &[], &saved.warnings));
    ctx.out.text(&format!(
        "saved pipeline version {} ({}) for repository {}: {}",
        saved.version,
        saved.format,
        saved.repository_id,
        workflows(&saved.workflows)
    ))
}

fn delete(cmd: DeleteCmd, ctx: &mut Ctx<'_>) -> Result<(), CliError> {
    ctx.use_json(cmd.json);
    let id = repo_id(&cmd.repo_id)?;
    ctx.client()?.delete(&paths::repository_pipeline(id))?;
    if ctx.out.is_json() {
        return ctx.out.json(&Deleted {
            repository_id: id,
            deleted: true,
        });
    }
    ctx.out.text(&format!(
        "deleted the stored pipeline of repository {id}; its builds now use the repository's oore.yaml, oore.huml or codemagic.yaml\n\
         the history is kept: `oore pipeline history {id}` lists it, `oore pipeline restore {id} --version N` brings a version back"
    ))
}

fn history(cmd: HistoryCmd, ctx: &mut Ctx<'_>) -> Result<(), CliError> {
    ctx.use_json(cmd.json);
    let id = repo_id(&cmd.repo_id)?;
    let history: PipelineHistoryResponse =
        ctx.client()?.get(&paths::repository_pipeline_history(id))?;
    if ctx.out.is_json() {
        return ctx.out.json(&history);
    }
    if history.versions.is_empty() {
        return ctx.out.text(&format!(
            "repository {id} has no stored pipeline versions; store one with `oore pipeline set {id} --file FILE`"
        ));
    }
    let mut text = history_table(&history.versions).render();
    if !history.versions.iter().any(|v| v.current) {
        text.push_str(&format!(
            "\nno version is in use: builds use the repository's file; make one current with `oore pipeline restore {id} --version N`\n"
        ));
    }
    ctx.out.text(&text)
}

fn restore(cmd: RestoreCmd, ctx: &mut Ctx<'_>) -> Result<(), CliError> {
    ctx.use_json(cmd.json);
    let path = paths::repository_pipeline_restore(repo_id(&cmd.repo_id)?);
    let label = format!("version {}", cmd.version);
    let client = ctx.client()?;
    let restored: PipelineDto = client
        .post(
            &path,
            Some(&RestorePipelineRequest {
                version: cmd.version,
            }),
        )
        .map_err(|e| report_document_errors(&label, e, ctx.out))?;
    if ctx.out.is_json() {
        return ctx.out.json(&restored);
    }
    ctx.out
        .raw_stderr(&report_lines(&label, &[], &restored.warnings));
    ctx.out.text(&format!(
        "restored {label} of repository {} as version {} ({}): {}",
        restored.repository_id,
        restored.version,
        restored.format,
        workflows(&restored.workflows)
    ))
}

fn convert(cmd: ConvertCmd, ctx: &mut Ctx<'_>) -> Result<(), CliError> {
    ctx.use_json(cmd.json);
    let request = Document::read(&cmd.file, cmd.format)?.request(Some(cmd.to));
    let client = ctx.client()?;
    let converted: ConvertResponse = client
        .post(&paths::pipelines_convert(), Some(&request))
        .map_err(|e| report_document_errors(&cmd.file, e, ctx.out))?;
    if !converted.warnings.is_empty() {
        ctx.out
            .raw_stderr(&report_lines(&cmd.file, &[], &converted.warnings));
        ctx.out.warn(&format!(
            "the conversion dropped {} listed above",
            if converted.warnings.len() == 1 {
                "the unknown field"
            } else {
                "the unknown fields"
            }
        ));
    }
    if let Some(output) = &cmd.output {
        std::fs::write(output, &converted.content)
            .map_err(|e| CliError::Usage(format!("cannot write {output}: {e}; check the path")))?;
    }
    match (&cmd.output, ctx.out.is_json()) {
        (_, true) => ctx.out.json(&converted),
        (Some(output), false) => ctx.out.text(&format!(
            "wrote {output} ({}) from {}",
            converted.format, cmd.file
        )),
        (None, false) => ctx.out.text(&converted.content),
    }
}

/// A 400 that locates errors in the document: print them as `file:line:column: error:
/// ...` lines on standard error and keep only the summary (and any request-field errors)
/// in the error. Other errors are returned as they are.
fn report_document_errors(file: &str, error: CliError, out: &mut Output) -> CliError {
    let CliError::Api(mut api) = error else {
        return error;
    };
    if api.status != 400 || api.envelope.error.code != ErrorCode::ValidationFailed {
        return CliError::Api(api);
    }
    let Some(fields) = api.envelope.error.fields.take() else {
        return CliError::Api(api);
    };
    let mut lines = String::new();
    let mut request_fields = Vec::new();
    for field in fields {
        match located(&field) {
            Some(d) => lines.push_str(&diagnostic(file, Severity::Error, &d)),
            None => request_fields.push(field),
        }
    }
    out.raw_stderr(&lines);
    api.envelope.error.fields = (!request_fields.is_empty()).then_some(request_fields);
    CliError::Api(api)
}

/// The repository id as typed, trimmed; an error when it is empty.
fn repo_id(id: &str) -> Result<&str, CliError> {
    let id = id.trim();
    if id.is_empty() {
        return Err(CliError::Usage(format!(
            "the repository id is empty; {ID_HINT}"
        )));
    }
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_trimmed_and_escaped_into_the_path() {
        assert_eq!(
            paths::repository_pipeline_history(repo_id(" 01JA ").unwrap()),
            "/api/repositories/01JA/pipeline/history"
        );
        assert_eq!(
            paths::repository_pipeline(repo_id("../x").unwrap()),
            "/api/repositories/..%2Fx/pipeline"
        );
        assert!(matches!(repo_id(""), Err(CliError::Usage(_))));
    }

    #[test]
    fn formats_parse_from_flags() {
        assert_eq!(parse_format("HUML"), Ok(Format::Huml));
        assert_eq!(parse_format("yml"), Ok(Format::Yaml));
        assert!(parse_format("json").unwrap_err().contains("yaml"));
    }

    #[test]
    fn the_format_comes_from_the_flag_then_the_extension() {
        let dir = tempfile::tempdir().unwrap();
        let file = |name: &str| {
            let path = dir.path().join(name);
            std::fs::write(&path, "workflows: {}\n").unwrap();
            path.to_string_lossy().into_owned()
        };
        let huml = file("p.huml");
        assert_eq!(
            Document::read(&huml, None).unwrap().format,
            Some(Format::Huml)
        );
        assert_eq!(
            Document::read(&huml, Some(Format::Yaml)).unwrap().format,
            Some(Format::Yaml)
        );
        assert_eq!(Document::read(&file("p.txt"), None).unwrap().format, None);
        let missing = dir.path().join("nope.yaml");
        let err = Document::read(&missing.to_string_lossy(), None).unwrap_err();
        assert!(err.to_string().contains("cannot read"), "{err}");
    }
}
