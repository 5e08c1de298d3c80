//! The pipeline model: what a pipeline document means, independent of the format it was
//! written in. These types are plain data on purpose: they are not `Serialize`; the readers
//! build them from the located tree and the writers turn them back into a generic
//! [`Value`] tree.

use thiserror::Error;

use super::value::{Map, Value};

/// A whole pipeline configuration: one or more workflows, in the order they were written.
#[derive(Debug, Clone, PartialEq)]
pub struct Pipeline {
    definitions: Option<Value>,
    workflows: Vec<Workflow>,
}

/// Why a [`Pipeline`] could not be built from parts.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PipelineError {
    /// No workflow at all.
    #[error("a pipeline needs at least one workflow; add one under `workflows`")]
    NoWorkflows,
    /// Two workflows share an id.
    #[error("workflow `{0}` is defined twice; give each workflow a unique key")]
    DuplicateWorkflow(String),
    /// A workflow id is empty.
    #[error("a workflow has an empty key; name it, e.g. `ios-release`")]
    EmptyWorkflowId,
}

impl Pipeline {
    /// A pipeline from its workflows (unique, non-empty ids, at least one workflow).
    pub fn new(workflows: Vec<Workflow>) -> Result<Self, PipelineError> {
        if workflows.is_empty() {
            return Err(PipelineError::NoWorkflows);
        }
        for (i, w) in workflows.iter().enumerate() {
            if w.id.is_empty() {
                return Err(PipelineError::EmptyWorkflowId);
            }
            if workflows[..i].iter().any(|other| other.id == w.id) {
                return Err(PipelineError::DuplicateWorkflow(w.id.clone()));
            }
        }
        Ok(Self {
            definitions: None,
            workflows,
        })
    }

    /// A pipeline of one workflow (always valid).
    pub fn single(workflow: Workflow) -> Self {
        Self {
            definitions: None,
            workflows: vec![workflow],
        }
    }

    /// Keeps the document's top-level `definitions` block (the home of YAML anchors). It is
    /// informational: aliases into it are already expanded in the workflows.
    pub fn with_definitions(mut self, definitions: Option<Value>) -> Self {
        self.definitions = definitions;
        self
    }

    /// The top-level `definitions` block, if any.
    pub fn definitions(&self) -> Option<&Value> {
        self.definitions.as_ref()
    }

    /// The workflows in document order (never empty).
    pub fn workflows(&self) -> &[Workflow] {
        &self.workflows
    }

    /// The workflow with this id (its key under `workflows`).
    pub fn workflow(&self, id: &str) -> Option<&Workflow> {
        self.workflows.iter().find(|w| w.id == id)
    }

    /// The workflow ids in document order.
    pub fn workflow_ids(&self) -> Vec<&str> {
        self.workflows.iter().map(|w| w.id.as_str()).collect()
    }
}

/// One workflow: what to run, where, and when to trigger it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Workflow {
    /// The key under `workflows` (e.g. `ios-release`).
    pub id: String,
    /// The display name (`name`).
    pub name: Option<String>,
    /// Build time limit in minutes (1..=1440).
    pub max_build_duration: Option<u32>,
    /// The machine type asked for; informational for a self-hosted runner.
    pub instance_type: Option<String>,
    /// Directory (relative to the checkout) the steps run in.
    pub working_directory: Option<String>,
    /// Free-form labels.
    pub labels: Vec<String>,
    /// Build inputs, kept as data.
    pub inputs: Option<Value>,
    /// Environment: variables, groups, tool versions, signing.
    pub environment: Environment,
    /// What to keep between builds.
    pub cache: Cache,
    /// When the workflow starts automatically; `None` means manual builds only.
    pub triggering: Option<Triggering>,
    /// Extra conditions for automatic builds.
    pub when: Option<When>,
    /// The build steps, in order.
    pub scripts: Vec<Script>,
    /// Globs of files to collect after the build.
    pub artifacts: Vec<String>,
    /// Publishing targets and post-build scripts.
    pub publishing: Option<Publishing>,
    /// Third-party integrations (Codemagic's `integrations`), kept as data.
    pub integrations: Option<Value>,
}

impl Workflow {
    /// A workflow with the given id and steps and nothing else set.
    pub fn new(id: impl Into<String>, scripts: Vec<Script>) -> Self {
        Self {
            id: id.into(),
            scripts,
            ..Self::default()
        }
    }

    /// The display name, or the id when there is none.
    pub fn display_name(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.id)
    }
}

/// The tool versions a workflow can ask for, in the order they are written back.
pub const TOOL_KEYS: &[&str] = &[
    "flutter",
    "xcode",
    "cocoapods",
    "java",
    "node",
    "npm",
    "ndk",
    "ruby",
];

/// The `environment` block.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Environment {
    /// Variables in document order; numbers and booleans are kept as the text written.
    pub vars: Vec<(String, String)>,
    /// Names of variable groups to load.
    pub groups: Vec<String>,
    /// Tool versions (`flutter: stable`, `xcode: 15.0`, ...), keyed by a name in
    /// [`TOOL_KEYS`], in document order.
    pub tools: Vec<(String, String)>,
    /// iOS signing settings, kept as data.
    pub ios_signing: Option<Value>,
    /// Android signing settings, kept as data.
    pub android_signing: Option<Value>,
}

impl Environment {
    /// The value of variable `name`.
    pub fn var(&self, name: &str) -> Option<&str> {
        self.vars
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The version asked for tool `name` (`flutter`, `xcode`, ...).
    pub fn tool(&self, name: &str) -> Option<&str> {
        self.tools
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Whether nothing is set.
    pub fn is_empty(&self) -> bool {
        self == &Self::default()
    }
}

/// The `cache` block.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cache {
    /// Paths (globs) to keep between builds.
    pub cache_paths: Vec<String>,
}

/// Events that can start a workflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TriggerEvent {
    /// A push to a branch.
    Push,
    /// A pull (merge) request opened or updated.
    PullRequest,
    /// A tag pushed.
    Tag,
    /// A label added to a pull request.
    PullRequestLabeled,
}

impl TriggerEvent {
    /// All events, in their canonical order.
    pub const ALL: [TriggerEvent; 4] = [
        TriggerEvent::Push,
        TriggerEvent::PullRequest,
        TriggerEvent::Tag,
        TriggerEvent::PullRequestLabeled,
    ];

    /// The name used in pipeline documents.
    pub fn as_str(self) -> &'static str {
        match self {
            TriggerEvent::Push => "push",
            TriggerEvent::PullRequest => "pull_request",
            TriggerEvent::Tag => "tag",
            TriggerEvent::PullRequestLabeled => "pull_request_labeled",
        }
    }

    /// Reads a document name (`push`, `pull_request`, `tag`, `pull_request_labeled`).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.as_str() == name)
    }
}

/// The `triggering` block.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Triggering {
    /// Which events start the workflow.
    pub events: Vec<TriggerEvent>,
    /// Which branches (for pushes and pull requests); later matches win.
    pub branch_patterns: Vec<BranchPattern>,
    /// Which tags (for tag events); later matches win.
    pub tag_patterns: Vec<BranchPattern>,
    /// Whether a new build cancels running builds of the same workflow and branch.
    pub cancel_previous_builds: Option<bool>,
}

/// One entry of `branch_patterns` or `tag_patterns`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BranchPattern {
    /// A glob; `*` matches anything, `/` included.
    pub pattern: String,
    /// `false` excludes what the pattern matches.
    pub include: bool,
    /// For pull requests: `true` matches the source branch, `false` the target branch.
    pub source: bool,
}

impl BranchPattern {
    /// An including, source-side pattern (the defaults).
    pub fn new(pattern: impl Into<String>) -> Self {
        Self {
            pattern: pattern.into(),
            include: true,
            source: true,
        }
    }
}

/// The `when` block: skip automatic builds unless these hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct When {
    /// Build only if files matching these changed.
    pub changeset: Option<Changeset>,
    /// A condition expression, kept as text.
    pub condition: Option<String>,
}

/// `when.changeset`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changeset {
    /// Globs of paths that count.
    pub includes: Vec<String>,
    /// Globs of paths that do not count.
    pub excludes: Vec<String>,
}

/// One build step.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Script {
    /// A label for the step.
    pub name: Option<String>,
    /// The shell script to run.
    pub script: String,
    /// Whether a failure of this step leaves the build going.
    pub ignore_failure: bool,
    /// Directory the step runs in, relative to the workflow's.
    pub working_directory: Option<String>,
    /// Step time limit in seconds (1..=86400).
    pub timeout: Option<u32>,
    /// Path of a test report the step produces (Codemagic's `test_report`).
    pub test_report: Option<String>,
    /// Conditions for running this step.
    pub when: Option<When>,
}

impl Script {
    /// A step that runs `script` with everything else at its default.
    pub fn new(script: impl Into<String>) -> Self {
        Self {
            script: script.into(),
            ..Self::default()
        }
    }

    /// Whether only the script text is set (written back as a plain string).
    pub fn is_plain(&self) -> bool {
        self.name.is_none()
            && !self.ignore_failure
            && self.working_directory.is_none()
            && self.timeout.is_none()
            && self.test_report.is_none()
            && self.when.is_none()
    }
}

/// The `publishing` block.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Publishing {
    /// Scripts that run after the build's steps, whatever the outcome.
    pub scripts: Vec<Script>,
    /// The other publishing targets (`email`, `slack`, `app_store_connect`, ...), as data.
    pub targets: Map,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pipelines_need_unique_non_empty_workflow_ids() {
        let w = |id: &str| Workflow::new(id, vec![Script::new("echo")]);
        assert_eq!(Pipeline::new(vec![]), Err(PipelineError::NoWorkflows));
        assert_eq!(
            Pipeline::new(vec![w("a"), w("a")]),
            Err(PipelineError::DuplicateWorkflow("a".to_owned()))
        );
        assert_eq!(
            Pipeline::new(vec![w("")]),
            Err(PipelineError::EmptyWorkflowId)
        );
        let p = Pipeline::new(vec![w("b"), w("a")]).expect("valid");
        assert_eq!(p.workflow_ids(), ["b", "a"]);
        assert_eq!(p.workflow("a").map(Workflow::display_name), Some("a"));
    }

    #[test]
    fn events_have_document_names() {
        for e in TriggerEvent::ALL {
            assert_eq!(TriggerEvent::from_name(e.as_str()), Some(e));
        }
        assert_eq!(TriggerEvent::from_name("merge_request"), None);
    }

    #[test]
    fn plain_scripts() {
        assert!(Script::new("x").is_plain());
        let named = Script {
            name: Some("n".to_owned()),
            ..Script::new("x")
        };
        assert!(!named.is_plain());
    }
}
