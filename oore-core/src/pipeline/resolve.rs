//! Which pipeline configuration a build uses (spec 6.3.2): the one stored in the database,
//! a file in the repository root, or a minimal default, with the order of the first two
//! configurable. Pure: the caller says what is stored and supplies a way to look at
//! repository files.

use std::fmt;
use std::str::FromStr;

use thiserror::Error;

use super::format::Format;
use super::model::{Pipeline, Script, Workflow};

/// Repository files that hold a pipeline, in the order they are looked for.
pub const REPOSITORY_FILES: [&str; 4] = ["oore.yaml", "oore.yml", "oore.huml", "codemagic.yaml"];

/// Where the configuration a build uses came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConfigSource {
    /// Stored with `oore pipeline set` or the web editor.
    Database,
    /// A file in the repository root (see [`REPOSITORY_FILES`]).
    Repository,
    /// Nothing was configured; the built-in [`default_pipeline`].
    Default,
}

impl ConfigSource {
    /// The name shown to users and stored with builds.
    pub fn as_str(self) -> &'static str {
        match self {
            ConfigSource::Database => "database",
            ConfigSource::Repository => "repository",
            ConfigSource::Default => "default",
        }
    }
}

impl fmt::Display for ConfigSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not a known configuration source.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("unknown config source `{0}`; expected database, repository or default")]
pub struct UnknownConfigSource(pub String);

impl FromStr for ConfigSource {
    type Err = UnknownConfigSource;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "database" => Ok(ConfigSource::Database),
            "repository" => Ok(ConfigSource::Repository),
            "default" => Ok(ConfigSource::Default),
            _ => Err(UnknownConfigSource(s.to_owned())),
        }
    }
}

/// Which configuration wins when both a stored one and a repository file exist.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum PipelinePrecedence {
    /// The stored configuration wins (the default).
    #[default]
    Database,
    /// The repository file wins.
    Repository,
}

/// A name that is not a known precedence.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("unknown pipeline precedence `{0}`; use `database` or `repository`")]
pub struct UnknownPrecedence(pub String);

impl FromStr for PipelinePrecedence {
    type Err = UnknownPrecedence;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "database" => Ok(PipelinePrecedence::Database),
            "repository" => Ok(PipelinePrecedence::Repository),
            _ => Err(UnknownPrecedence(s.to_owned())),
        }
    }
}

impl fmt::Display for PipelinePrecedence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PipelinePrecedence::Database => "database",
            PipelinePrecedence::Repository => "repository",
        })
    }
}

/// A pipeline document as text, with its format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PipelineDocument {
    /// The document text.
    pub content: String,
    /// Its language.
    pub format: Format,
}

/// The configuration chosen for a build.
#[derive(Debug, Clone, PartialEq)]
pub enum ResolvedConfig {
    /// Text to parse, from the database or a repository file.
    Document {
        /// Where it came from.
        source: ConfigSource,
        /// For the repository: which file.
        file: Option<&'static str>,
        /// The text and its format.
        document: PipelineDocument,
    },
    /// Nothing configured: use this pipeline.
    Default(Pipeline),
}

impl ResolvedConfig {
    /// Where the configuration came from.
    pub fn source(&self) -> ConfigSource {
        match self {
            ResolvedConfig::Document { source, .. } => *source,
            ResolvedConfig::Default(_) => ConfigSource::Default,
        }
    }
}

/// Picks the configuration a build uses. `stored` is what the database holds for the
/// repository; `read_repo_file` returns the content of a file in the repository root (it
/// is asked for [`REPOSITORY_FILES`] in order, and only as far as needed).
pub fn resolve_config(
    stored: Option<PipelineDocument>,
    precedence: PipelinePrecedence,
    mut read_repo_file: impl FnMut(&str) -> Option<String>,
) -> ResolvedConfig {
    let mut from_repo = || {
        REPOSITORY_FILES.iter().find_map(|&file| {
            read_repo_file(file).map(|content| ResolvedConfig::Document {
                source: ConfigSource::Repository,
                file: Some(file),
                document: PipelineDocument {
                    format: Format::from_path(file).unwrap_or(Format::Yaml),
                    content,
                },
            })
        })
    };
    let from_db = |stored: Option<PipelineDocument>| {
        stored.map(|document| ResolvedConfig::Document {
            source: ConfigSource::Database,
            file: None,
            document,
        })
    };
    let chosen = match precedence {
        PipelinePrecedence::Database => from_db(stored).or_else(from_repo),
        PipelinePrecedence::Repository => from_repo().or_else(|| from_db(stored)),
    };
    chosen.unwrap_or_else(|| ResolvedConfig::Default(default_pipeline()))
}

/// The id of the default pipeline's only workflow.
pub const DEFAULT_WORKFLOW: &str = "default";

/// The pipeline used when nothing is configured: one workflow that says how to add one.
pub fn default_pipeline() -> Pipeline {
    let script = "echo \"No pipeline is configured for this repository.\"\n\
                  echo \"Add an oore.yaml (or oore.huml, or codemagic.yaml) file to the repository root,\"\n\
                  echo \"or store one with: oore pipeline set <repository-id> --file pipeline.yaml\"\n";
    let workflow = Workflow {
        name: Some("Default (no pipeline configured)".to_owned()),
        ..Workflow::new(
            DEFAULT_WORKFLOW,
            vec![Script {
                name: Some("No pipeline configured".to_owned()),
                ..Script::new(script)
            }],
        )
    };
    Pipeline::single(workflow)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(content: &str) -> PipelineDocument {
        PipelineDocument {
            content: content.to_owned(),
            format: Format::Yaml,
        }
    }

    fn repo(files: &'static [(&'static str, &'static str)]) -> impl FnMut(&str) -> Option<String> {
        move |name| {
            files
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, c)| (*c).to_owned())
        }
    }

    #[test]
    fn database_wins_by_default() {
        let r = resolve_config(
            Some(doc("db")),
            PipelinePrecedence::Database,
            repo(&[("oore.yaml", "repo")]),
        );
        assert_eq!(r.source(), ConfigSource::Database);
    }

    #[test]
    fn repository_precedence_prefers_the_file() {
        let r = resolve_config(
            Some(doc("db")),
            PipelinePrecedence::Repository,
            repo(&[("oore.huml", "x:: {}")]),
        );
        match r {
            ResolvedConfig::Document {
                source,
                file,
                document,
            } => {
                assert_eq!(source, ConfigSource::Repository);
                assert_eq!(file, Some("oore.huml"));
                assert_eq!(document.format, Format::Huml);
            }
            other => panic!("expected a document, got {other:?}"),
        }
    }

    #[test]
    fn repository_files_in_order() {
        let r = resolve_config(
            None,
            PipelinePrecedence::Database,
            repo(&[("codemagic.yaml", "c"), ("oore.yml", "o")]),
        );
        assert!(matches!(
            r,
            ResolvedConfig::Document {
                file: Some("oore.yml"),
                ..
            }
        ));
    }

    #[test]
    fn falls_back_to_the_stored_config_then_the_default() {
        let r = resolve_config(Some(doc("db")), PipelinePrecedence::Repository, repo(&[]));
        assert_eq!(r.source(), ConfigSource::Database);
        let r = resolve_config(None, PipelinePrecedence::Repository, repo(&[]));
        assert_eq!(r.source(), ConfigSource::Default);
    }

    #[test]
    fn database_precedence_does_not_read_files_needlessly() {
        let mut asked = Vec::new();
        let _ = resolve_config(Some(doc("db")), PipelinePrecedence::Database, |f| {
            asked.push(f.to_owned());
            None
        });
        assert!(asked.is_empty());
    }

    #[test]
    fn default_pipeline_explains_itself() {
        let p = default_pipeline();
        assert_eq!(p.workflow_ids(), [DEFAULT_WORKFLOW]);
        assert!(
            p.workflows()[0].scripts[0]
                .script
                .contains("oore pipeline set")
        );
    }

    #[test]
    fn names_parse() {
        assert_eq!("repository".parse(), Ok(PipelinePrecedence::Repository));
        assert_eq!(" Database".parse(), Ok(PipelinePrecedence::Database));
        assert!("git".parse::<PipelinePrecedence>().is_err());
        assert_eq!("default".parse(), Ok(ConfigSource::Default));
    }
}
