//! Turning a [`Pipeline`] back into a document tree, in the canonical layout the writers
//! emit (defaults left out, steps with only a script written as plain strings).

use super::model::{BranchPattern, Pipeline, Publishing, Script, Triggering, When, Workflow};
use super::value::{Map, Value};

/// The document tree for a pipeline.
pub(crate) fn encode(pipeline: &Pipeline) -> Value {
    let mut root = Map::new();
    if let Some(definitions) = pipeline.definitions() {
        root.insert("definitions", definitions.clone());
    }
    let workflows: Map = pipeline
        .workflows()
        .iter()
        .map(|w| (w.id.clone(), workflow(w)))
        .collect();
    root.insert("workflows", Value::Map(workflows));
    Value::Map(root)
}

fn strings(items: &[String]) -> Value {
    Value::List(items.iter().map(|s| Value::String(s.clone())).collect())
}

fn put_str(map: &mut Map, key: &str, value: Option<&String>) {
    if let Some(v) = value {
        map.insert(key, Value::String(v.clone()));
    }
}

fn put_list(map: &mut Map, key: &str, items: &[String]) {
    if !items.is_empty() {
        map.insert(key, strings(items));
    }
}

fn workflow(w: &Workflow) -> Value {
    let mut m = Map::new();
    put_str(&mut m, "name", w.name.as_ref());
    if let Some(minutes) = w.max_build_duration {
        m.insert("max_build_duration", Value::Int(i64::from(minutes)));
    }
    put_str(&mut m, "instance_type", w.instance_type.as_ref());
    put_str(&mut m, "working_directory", w.working_directory.as_ref());
    put_list(&mut m, "labels", &w.labels);
    if let Some(inputs) = &w.inputs {
        m.insert("inputs", inputs.clone());
    }
    if !w.environment.is_empty() {
        let env = &w.environment;
        let mut e = Map::new();
        for (tool, version) in &env.tools {
            e.insert(tool.clone(), Value::String(version.clone()));
        }
        put_list(&mut e, "groups", &env.groups);
        if !env.vars.is_empty() {
            let vars: Map = env
                .vars
                .iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect();
            e.insert("vars", Value::Map(vars));
        }
        if let Some(v) = &env.ios_signing {
            e.insert("ios_signing", v.clone());
        }
        if let Some(v) = &env.android_signing {
            e.insert("android_signing", v.clone());
        }
        m.insert("environment", Value::Map(e));
    }
    if !w.cache.cache_paths.is_empty() {
        let mut c = Map::new();
        c.insert("cache_paths", strings(&w.cache.cache_paths));
        m.insert("cache", Value::Map(c));
    }
    if let Some(t) = &w.triggering {
        m.insert("triggering", triggering(t));
    }
    if let Some(when) = &w.when {
        m.insert("when", when_value(when));
    }
    m.insert("scripts", scripts(&w.scripts));
    put_list(&mut m, "artifacts", &w.artifacts);
    if let Some(p) = &w.publishing {
        m.insert("publishing", publishing(p));
    }
    if let Some(i) = &w.integrations {
        m.insert("integrations", i.clone());
    }
    Value::Map(m)
}

fn triggering(t: &Triggering) -> Value {
    let mut m = Map::new();
    if !t.events.is_empty() {
        m.insert(
            "events",
            Value::List(t.events.iter().map(|e| Value::from(e.as_str())).collect()),
        );
    }
    if !t.branch_patterns.is_empty() {
        m.insert("branch_patterns", patterns(&t.branch_patterns));
    }
    if !t.tag_patterns.is_empty() {
        m.insert("tag_patterns", patterns(&t.tag_patterns));
    }
    if let Some(cancel) = t.cancel_previous_builds {
        m.insert("cancel_previous_builds", Value::Bool(cancel));
    }
    Value::Map(m)
}

fn patterns(patterns: &[BranchPattern]) -> Value {
    Value::List(
        patterns
            .iter()
            .map(|p| {
                let mut m = Map::new();
                m.insert("pattern", Value::String(p.pattern.clone()));
                m.insert("include", Value::Bool(p.include));
                m.insert("source", Value::Bool(p.source));
                Value::Map(m)
            })
            .collect(),
    )
}

fn when_value(when: &When) -> Value {
    let mut m = Map::new();
    if let Some(c) = &when.changeset {
        let mut cm = Map::new();
        put_list(&mut cm, "includes", &c.includes);
        put_list(&mut cm, "excludes", &c.excludes);
        m.insert("changeset", Value::Map(cm));
    }
    put_str(&mut m, "condition", when.condition.as_ref());
    Value::Map(m)
}

fn scripts(scripts: &[Script]) -> Value {
    Value::List(scripts.iter().map(script).collect())
}

fn script(s: &Script) -> Value {
    if s.is_plain() {
        return Value::String(s.script.clone());
    }
    let mut m = Map::new();
    put_str(&mut m, "name", s.name.as_ref());
    m.insert("script", Value::String(s.script.clone()));
    if s.ignore_failure {
        m.insert("ignore_failure", Value::Bool(true));
    }
    put_str(&mut m, "working_directory", s.working_directory.as_ref());
    if let Some(t) = s.timeout {
        m.insert("timeout", Value::Int(i64::from(t)));
    }
    put_str(&mut m, "test_report", s.test_report.as_ref());
    if let Some(when) = &s.when {
        m.insert("when", when_value(when));
    }
    Value::Map(m)
}

fn publishing(p: &Publishing) -> Value {
    let mut m = p.targets.clone();
    if !p.scripts.is_empty() {
        m.insert("scripts", scripts(&p.scripts));
    }
    Value::Map(m)
}
