//! Turning the located tree into a [`Pipeline`], collecting every problem on the way (errors
//! and unknown-field warnings), each with its position and path.

mod sections;

use super::diagnostic::{ValidationReport, join_index, join_key};
use super::glob;
use super::model::{Pipeline, Workflow};
use super::node::{Entry, Node, NodeKind};

/// Longest build a workflow may ask for: a day.
pub(crate) const MAX_BUILD_MINUTES: i64 = 1440;
/// Longest a single step may run: a day.
pub(crate) const MAX_STEP_SECONDS: i64 = 86_400;

/// Decodes a document tree. Returns the pipeline when there is no error, and the report
/// (with the workflow names found) either way.
pub(crate) fn decode(root: &Node) -> (Option<Pipeline>, ValidationReport) {
    let mut d = Decoder::default();
    let pipeline = d.root(root);
    let pipeline = if d.report.errors.is_empty() {
        pipeline
    } else {
        None
    };
    (pipeline, d.report)
}

#[derive(Default)]
pub(crate) struct Decoder {
    pub(crate) report: ValidationReport,
}

impl Decoder {
    fn root(&mut self, root: &Node) -> Option<Pipeline> {
        let NodeKind::Map(entries) = &root.kind else {
            self.report.error(
                root.pos,
                "",
                format!(
                    "expected a map at the top level with a `workflows` key, found {}",
                    root.kind_name()
                ),
            );
            return None;
        };
        let mut definitions = None;
        let mut workflows = None;
        for entry in entries {
            match entry.key.as_str() {
                "definitions" => definitions = Some(entry.value.to_value()),
                "workflows" => workflows = Some(self.workflows(entry)),
                _ => self.unknown(entry, "", &["workflows", "definitions"]),
            }
        }
        let Some(workflows) = workflows else {
            self.report.error(
                root.pos,
                "",
                "no `workflows` found; add a `workflows` map with at least one workflow that has `scripts`",
            );
            return None;
        };
        let pipeline = Pipeline::new(workflows?).ok()?;
        Some(pipeline.with_definitions(definitions))
    }

    fn workflows(&mut self, entry: &Entry) -> Option<Vec<Workflow>> {
        let path = "workflows";
        let entries = match &entry.value.kind {
            NodeKind::Map(entries) => entries,
            NodeKind::Null => &Vec::new(),
            _ => {
                self.expected(&entry.value, path, "a map of workflows (name: definition)");
                return None;
            }
        };
        if entries.is_empty() {
            self.report.error(
                entry.key_pos,
                path,
                "no workflows defined; add at least one workflow with `scripts` under `workflows`",
            );
            return None;
        }
        let mut workflows = Vec::with_capacity(entries.len());
        for wf in entries {
            self.report.workflows.push(wf.key.clone());
            if let Some(w) = self.workflow(wf) {
                workflows.push(w);
            }
        }
        (workflows.len() == entries.len()).then_some(workflows)
    }

    fn workflow(&mut self, entry: &Entry) -> Option<Workflow> {
        let path = join_key("workflows", &entry.key);
        if entry.key.is_empty() {
            self.report.error(
                entry.key_pos,
                &path,
                "a workflow needs a non-empty key, e.g. `ios-release`",
            );
        }
        let NodeKind::Map(fields) = &entry.value.kind else {
            self.report.error(
                entry.value.pos,
                &path,
                format!(
                    "expected a workflow definition (a map with at least `scripts`), found {}",
                    entry.value.kind_name()
                ),
            );
            return None;
        };
        let mut w = Workflow::new(entry.key.clone(), Vec::new());
        let mut has_scripts = false;
        for field in fields {
            let p = join_key(&path, &field.key);
            let v = &field.value;
            match field.key.as_str() {
                "name" => w.name = self.string(v, &p),
                "max_build_duration" => {
                    w.max_build_duration = self.bounded(v, &p, MAX_BUILD_MINUTES, "minutes");
                }
                "instance_type" => w.instance_type = self.string(v, &p),
                "working_directory" => w.working_directory = self.relative_dir(v, &p),
                "labels" => w.labels = self.strings(v, &p),
                "inputs" => w.inputs = Some(v.to_value()),
                "environment" => w.environment = self.environment(v, &p),
                "cache" => w.cache = self.cache(v, &p),
                "triggering" => w.triggering = self.triggering(v, &p),
                "when" => w.when = self.when(v, &p),
                "scripts" => {
                    has_scripts = true;
                    w.scripts = self.scripts(v, &p, true);
                }
                "artifacts" => w.artifacts = self.globs(v, &p),
                "publishing" => w.publishing = self.publishing(v, &p),
                "integrations" => w.integrations = Some(v.to_value()),
                _ => self.unknown(field, &path, WORKFLOW_KEYS),
            }
        }
        if !has_scripts {
            self.report.error(
                entry.key_pos,
                &path,
                format!(
                    "workflow `{}` has no `scripts`; add a list of steps, e.g. `scripts: [flutter build apk]`",
                    entry.key
                ),
            );
        }
        Some(w)
    }

    // ---- shared helpers ----

    pub(crate) fn unknown(&mut self, entry: &Entry, parent: &str, known: &[&str]) {
        self.report.warn(
            entry.key_pos,
            join_key(parent, &entry.key),
            format!(
                "unknown field `{}` is ignored; known fields here: {}",
                entry.key,
                known.join(", ")
            ),
        );
    }

    pub(crate) fn expected(&mut self, node: &Node, path: &str, what: &str) {
        self.report.error(
            node.pos,
            path,
            format!("expected {what}, found {}", node.kind_name()),
        );
    }

    /// The entries of a map; `null` counts as an empty map.
    pub(crate) fn map<'n>(&mut self, node: &'n Node, path: &str) -> Option<&'n [Entry]> {
        match &node.kind {
            NodeKind::Map(entries) => Some(entries),
            NodeKind::Null => Some(&[]),
            _ => {
                self.expected(node, path, "a map");
                None
            }
        }
    }

    /// A scalar as text (numbers and booleans as written); `null` is "not set".
    pub(crate) fn string(&mut self, node: &Node, path: &str) -> Option<String> {
        match &node.kind {
            NodeKind::Null => None,
            NodeKind::List(_) | NodeKind::Map(_) => {
                self.expected(node, path, "a string");
                None
            }
            _ => node.scalar_text(),
        }
    }

    /// A list of scalars as text; `null` is an empty list.
    pub(crate) fn strings(&mut self, node: &Node, path: &str) -> Vec<String> {
        let items = match &node.kind {
            NodeKind::List(items) => items,
            NodeKind::Null => return Vec::new(),
            _ => {
                self.expected(node, path, "a list of strings");
                return Vec::new();
            }
        };
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            match item.scalar_text() {
                Some(s) => out.push(s),
                None => self.expected(item, &join_index(path, i), "a string"),
            }
        }
        out
    }

    /// A directory inside the repository (`working_directory`): relative, without `..`,
    /// so a step can never be started outside the checkout. Checked here so that
    /// `pipeline validate` says so at its line, instead of the build failing later.
    pub(crate) fn relative_dir(&mut self, node: &Node, path: &str) -> Option<String> {
        let dir = self.string(node, path)?;
        let trimmed = dir.trim();
        let problem = if trimmed.starts_with('/') || trimmed.starts_with('~') {
            Some("is absolute")
        } else if trimmed.split(['/', '\\']).any(|part| part == "..") {
            Some("goes up with `..`")
        } else {
            None
        };
        if let Some(problem) = problem {
            self.report.error(
                node.pos,
                path.to_owned(),
                format!(
                    "working directory '{trimmed}' {problem}; use a path inside the repository, relative to its root, such as `app` or `packages/core`"
                ),
            );
        }
        Some(dir)
    }

    /// A list of path globs, each checked.
    pub(crate) fn globs(&mut self, node: &Node, path: &str) -> Vec<String> {
        let globs = self.strings(node, path);
        if let NodeKind::List(items) = &node.kind {
            for (i, (g, item)) in globs.iter().zip(items).enumerate() {
                if let Err(message) = glob::check_path_glob(g) {
                    self.report.error(item.pos, join_index(path, i), message);
                }
            }
        }
        globs
    }

    pub(crate) fn boolean(&mut self, node: &Node, path: &str) -> Option<bool> {
        match &node.kind {
            NodeKind::Bool(b, _) => Some(*b),
            NodeKind::Null => None,
            _ => {
                self.expected(node, path, "true or false");
                None
            }
        }
    }

    /// A whole number in `1..=max`.
    pub(crate) fn bounded(&mut self, node: &Node, path: &str, max: i64, unit: &str) -> Option<u32> {
        let value = match &node.kind {
            NodeKind::Null => return None,
            NodeKind::Int(i, _) => *i,
            NodeKind::Float(..) => {
                self.report.error(
                    node.pos,
                    path,
                    format!("expected a whole number of {unit}, e.g. 60"),
                );
                return None;
            }
            _ => {
                self.expected(node, path, &format!("a number of {unit}"));
                return None;
            }
        };
        if value < 1 || value > max {
            self.report.error(
                node.pos,
                path,
                format!("must be between 1 and {max} {unit}, found {value}"),
            );
            return None;
        }
        u32::try_from(value).ok()
    }
}

/// The fields a workflow understands.
const WORKFLOW_KEYS: &[&str] = &[
    "name",
    "max_build_duration",
    "instance_type",
    "working_directory",
    "labels",
    "inputs",
    "environment",
    "cache",
    "triggering",
    "when",
    "scripts",
    "artifacts",
    "publishing",
    "integrations",
];
