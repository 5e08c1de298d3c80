//! Decoding the sections inside a workflow: environment, cache, triggering, when, scripts
//! and publishing.

use super::{Decoder, MAX_STEP_SECONDS};
use crate::pipeline::diagnostic::{join_index, join_key};
use crate::pipeline::glob;
use crate::pipeline::model::{
    BranchPattern, Cache, Changeset, Environment, Publishing, Script, TOOL_KEYS, TriggerEvent,
    Triggering, When,
};
use crate::pipeline::node::{Node, NodeKind};

const ENVIRONMENT_KEYS: &[&str] = &[
    "vars",
    "groups",
    "flutter",
    "xcode",
    "cocoapods",
    "java",
    "node",
    "npm",
    "ndk",
    "ruby",
    "ios_signing",
    "android_signing",
];
const TRIGGERING_KEYS: &[&str] = &[
    "events",
    "branch_patterns",
    "tag_patterns",
    "cancel_previous_builds",
];
const PATTERN_KEYS: &[&str] = &["pattern", "include", "source"];
const WHEN_KEYS: &[&str] = &["changeset", "condition"];
const CHANGESET_KEYS: &[&str] = &["includes", "excludes"];
const SCRIPT_KEYS: &[&str] = &[
    "name",
    "script",
    "ignore_failure",
    "working_directory",
    "timeout",
    "test_report",
    "when",
];

impl Decoder {
    pub(super) fn environment(&mut self, node: &Node, path: &str) -> Environment {
        let mut env = Environment::default();
        let Some(entries) = self.map(node, path) else {
            return env;
        };
        for entry in entries {
            let p = join_key(path, &entry.key);
            let v = &entry.value;
            match entry.key.as_str() {
                "vars" => env.vars = self.vars(v, &p),
                "groups" => env.groups = self.strings(v, &p),
                "ios_signing" => env.ios_signing = Some(v.to_value()),
                "android_signing" => env.android_signing = Some(v.to_value()),
                key if TOOL_KEYS.contains(&key) => {
                    if let Some(version) = self.string(v, &p) {
                        env.tools.push((entry.key.clone(), version));
                    }
                }
                _ => self.unknown(entry, path, ENVIRONMENT_KEYS),
            }
        }
        env
    }

    fn vars(&mut self, node: &Node, path: &str) -> Vec<(String, String)> {
        let Some(entries) = self.map(node, path) else {
            return Vec::new();
        };
        let mut vars = Vec::with_capacity(entries.len());
        for entry in entries {
            let value = match &entry.value.kind {
                NodeKind::Null => String::new(),
                NodeKind::List(_) | NodeKind::Map(_) => {
                    self.expected(&entry.value, &join_key(path, &entry.key), "a string value");
                    continue;
                }
                _ => entry.value.scalar_text().unwrap_or_default(),
            };
            vars.push((entry.key.clone(), value));
        }
        vars
    }

    pub(super) fn cache(&mut self, node: &Node, path: &str) -> Cache {
        let mut cache = Cache::default();
        for entry in self.map(node, path).unwrap_or_default() {
            match entry.key.as_str() {
                "cache_paths" => {
                    cache.cache_paths = self.globs(&entry.value, &join_key(path, "cache_paths"))
                }
                _ => self.unknown(entry, path, &["cache_paths"]),
            }
        }
        cache
    }

    pub(super) fn triggering(&mut self, node: &Node, path: &str) -> Option<Triggering> {
        let entries = self.map(node, path)?;
        let mut t = Triggering::default();
        for entry in entries {
            let p = join_key(path, &entry.key);
            let v = &entry.value;
            match entry.key.as_str() {
                "events" => t.events = self.events(v, &p),
                "branch_patterns" => t.branch_patterns = self.patterns(v, &p),
                "tag_patterns" => t.tag_patterns = self.patterns(v, &p),
                "cancel_previous_builds" => t.cancel_previous_builds = self.boolean(v, &p),
                _ => self.unknown(entry, path, TRIGGERING_KEYS),
            }
        }
        Some(t)
    }

    fn events(&mut self, node: &Node, path: &str) -> Vec<TriggerEvent> {
        let names = self.strings(node, path);
        let mut events = Vec::with_capacity(names.len());
        for (i, name) in names.iter().enumerate() {
            match TriggerEvent::from_name(name) {
                Some(e) if !events.contains(&e) => events.push(e),
                Some(_) => {}
                None => {
                    let pos = match &node.kind {
                        NodeKind::List(items) => items.get(i).map_or(node.pos, |n| n.pos),
                        _ => node.pos,
                    };
                    self.report.error(
                        pos,
                        join_index(path, i),
                        format!(
                            "unknown trigger event `{name}`; expected one of push, pull_request, tag, pull_request_labeled"
                        ),
                    );
                }
            }
        }
        events
    }

    fn patterns(&mut self, node: &Node, path: &str) -> Vec<BranchPattern> {
        let items = match &node.kind {
            NodeKind::List(items) => items,
            NodeKind::Null => return Vec::new(),
            _ => {
                self.expected(node, path, "a list of patterns (`- pattern: main`)");
                return Vec::new();
            }
        };
        let mut patterns = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let p = join_index(path, i);
            let mut pattern = BranchPattern::new(String::new());
            let mut pattern_node = item;
            match &item.kind {
                NodeKind::Str(s) => pattern.pattern = s.clone(),
                NodeKind::Map(entries) => {
                    let mut found = false;
                    for entry in entries {
                        let fp = join_key(&p, &entry.key);
                        match entry.key.as_str() {
                            "pattern" => {
                                found = true;
                                pattern_node = &entry.value;
                                pattern.pattern =
                                    self.string(&entry.value, &fp).unwrap_or_default();
                            }
                            "include" => {
                                pattern.include = self.boolean(&entry.value, &fp).unwrap_or(true)
                            }
                            "source" => {
                                pattern.source = self.boolean(&entry.value, &fp).unwrap_or(true)
                            }
                            _ => self.unknown(entry, &p, PATTERN_KEYS),
                        }
                    }
                    if !found {
                        self.report.error(
                            item.pos,
                            &p,
                            "missing `pattern`; add e.g. `pattern: main`",
                        );
                        continue;
                    }
                }
                _ => {
                    self.expected(item, &p, "a pattern map (`pattern`, `include`, `source`)");
                    continue;
                }
            }
            if let Err(message) = glob::check_branch_pattern(&pattern.pattern) {
                self.report.error(pattern_node.pos, &p, message);
                continue;
            }
            patterns.push(pattern);
        }
        patterns
    }

    pub(super) fn when(&mut self, node: &Node, path: &str) -> Option<When> {
        let entries = self.map(node, path)?;
        let mut when = When::default();
        for entry in entries {
            let p = join_key(path, &entry.key);
            match entry.key.as_str() {
                "changeset" => {
                    let mut changeset = Changeset::default();
                    for c in self.map(&entry.value, &p).unwrap_or_default() {
                        let cp = join_key(&p, &c.key);
                        match c.key.as_str() {
                            "includes" => changeset.includes = self.globs(&c.value, &cp),
                            "excludes" => changeset.excludes = self.globs(&c.value, &cp),
                            _ => self.unknown(c, &p, CHANGESET_KEYS),
                        }
                    }
                    when.changeset = Some(changeset);
                }
                "condition" => when.condition = self.string(&entry.value, &p),
                _ => self.unknown(entry, path, WHEN_KEYS),
            }
        }
        Some(when)
    }

    /// A list of steps; `required` makes an empty or missing list an error.
    pub(super) fn scripts(&mut self, node: &Node, path: &str, required: bool) -> Vec<Script> {
        let items = match &node.kind {
            NodeKind::List(items) => items.as_slice(),
            NodeKind::Null => &[],
            _ => {
                self.expected(node, path, "a list of steps");
                return Vec::new();
            }
        };
        if items.is_empty() && required {
            self.report.error(
                node.pos,
                path,
                "no steps: add at least one, e.g. `- flutter build apk`",
            );
        }
        let mut scripts = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            if let Some(script) = self.script(item, &join_index(path, i)) {
                scripts.push(script);
            }
        }
        scripts
    }

    fn script(&mut self, node: &Node, path: &str) -> Option<Script> {
        const SHAPE: &str = "a step: a string of shell commands, or a map with `script` \
                             (and optional `name`, `ignore_failure`, `working_directory`, `timeout`)";
        let entries = match &node.kind {
            NodeKind::Str(s) if s.trim().is_empty() => {
                self.report.error(
                    node.pos,
                    path,
                    "empty step; write the commands to run, or remove the entry",
                );
                return None;
            }
            NodeKind::Str(s) => return Some(Script::new(s.clone())),
            NodeKind::Map(entries) => entries,
            NodeKind::Null => {
                self.report.error(
                    node.pos,
                    path,
                    "empty step; write the commands to run, or remove the entry",
                );
                return None;
            }
            _ => {
                self.expected(node, path, SHAPE);
                return None;
            }
        };
        let mut script = Script::default();
        let mut body = None;
        for entry in entries {
            let p = join_key(path, &entry.key);
            let v = &entry.value;
            match entry.key.as_str() {
                "name" => script.name = self.string(v, &p),
                "script" => match &v.kind {
                    NodeKind::Str(s) => body = Some((s.clone(), v.pos)),
                    NodeKind::Null => body = Some((String::new(), v.pos)),
                    _ => self.expected(v, &p, "a string of shell commands"),
                },
                "ignore_failure" => script.ignore_failure = self.boolean(v, &p).unwrap_or(false),
                "working_directory" => script.working_directory = self.relative_dir(v, &p),
                "timeout" => script.timeout = self.bounded(v, &p, MAX_STEP_SECONDS, "seconds"),
                "test_report" => script.test_report = self.string(v, &p),
                "when" => script.when = self.when(v, &p),
                _ => self.unknown(entry, path, SCRIPT_KEYS),
            }
        }
        match body {
            Some((text, pos)) if text.trim().is_empty() => {
                self.report.error(
                    pos,
                    join_key(path, "script"),
                    "empty script; write the commands to run",
                );
                None
            }
            Some((text, _)) => {
                script.script = text;
                Some(script)
            }
            None => {
                self.report.error(
                    node.pos,
                    path,
                    "missing `script`; add the commands this step runs",
                );
                None
            }
        }
    }

    pub(super) fn publishing(&mut self, node: &Node, path: &str) -> Option<Publishing> {
        let entries = self.map(node, path)?;
        let mut publishing = Publishing::default();
        for entry in entries {
            if entry.key == "scripts" {
                publishing.scripts = self.scripts(&entry.value, &join_key(path, "scripts"), false);
            } else {
                publishing
                    .targets
                    .insert(entry.key.clone(), entry.value.to_value());
            }
        }
        Some(publishing)
    }
}
