//! Which workflows a trigger starts, with Codemagic's rules: a workflow without `triggering`
//! only runs when asked for by hand; `events` filter; branch and tag patterns are fnmatch
//! globs where the last matching pattern decides (`include: false` excludes); for pull
//! requests a pattern with `source: true` looks at the source branch and `source: false` at
//! the target branch. An empty pattern list matches every branch or tag.

use thiserror::Error;

use super::glob::branch_matches;
use super::model::{BranchPattern, Pipeline, TriggerEvent, Workflow};

/// What asks for a build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trigger {
    /// A push to `branch`.
    Push {
        /// The branch pushed to (without `refs/heads/`).
        branch: String,
    },
    /// A pushed tag.
    Tag {
        /// The tag name (without `refs/tags/`).
        tag: String,
    },
    /// A pull or merge request opened or updated.
    PullRequest {
        /// The branch with the changes.
        source_branch: String,
        /// The branch the changes go into.
        target_branch: String,
    },
    /// A build asked for by hand, optionally naming the workflow.
    Manual {
        /// The workflow id (or display name); `None` for the first workflow.
        workflow: Option<String>,
    },
}

/// Why a manual build could not pick a workflow.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SelectError {
    /// The requested workflow does not exist.
    #[error("unknown workflow `{requested}`; known workflows: {}", known.join(", "))]
    UnknownWorkflow {
        /// What was asked for.
        requested: String,
        /// The workflow ids that exist, in document order.
        known: Vec<String>,
    },
}

/// The workflows `trigger` starts, in document order. Automatic triggers may select none.
pub fn select_workflows<'p>(
    pipeline: &'p Pipeline,
    trigger: &Trigger,
) -> Result<Vec<&'p Workflow>, SelectError> {
    if let Trigger::Manual { workflow } = trigger {
        return manual(pipeline, workflow.as_deref()).map(|w| vec![w]);
    }
    Ok(pipeline
        .workflows()
        .iter()
        .filter(|w| triggered(w, trigger))
        .collect())
}

fn manual<'p>(
    pipeline: &'p Pipeline,
    requested: Option<&str>,
) -> Result<&'p Workflow, SelectError> {
    let workflows = pipeline.workflows();
    let Some(requested) = requested else {
        return workflows
            .first()
            .ok_or_else(|| SelectError::UnknownWorkflow {
                requested: String::new(),
                known: Vec::new(),
            });
    };
    workflows
        .iter()
        .find(|w| w.id == requested)
        .or_else(|| {
            workflows
                .iter()
                .find(|w| w.name.as_deref() == Some(requested))
        })
        .ok_or_else(|| SelectError::UnknownWorkflow {
            requested: requested.to_owned(),
            known: workflows.iter().map(|w| w.id.clone()).collect(),
        })
}

/// The workflows an event (push, tag or pull request) starts: the one rule shared by
/// webhook processing (stored pipelines) and the executor (any pipeline).
///
/// A pipeline in which NO workflow has a `triggering` section is a simple pipeline (spec
/// 5.1: "push, and it builds"): its first workflow runs for every event. Otherwise
/// Codemagic's rules apply ([`select_workflows`]) and may select none. A manual trigger
/// is [`select_workflows`] itself.
pub fn select_for_event<'p>(
    pipeline: &'p Pipeline,
    trigger: &Trigger,
) -> Result<Vec<&'p Workflow>, SelectError> {
    let automatic = !matches!(trigger, Trigger::Manual { .. });
    if automatic && pipeline.workflows().iter().all(|w| w.triggering.is_none()) {
        return Ok(pipeline.workflows().first().into_iter().collect());
    }
    select_workflows(pipeline, trigger)
}

impl Trigger {
    /// The event in words, for messages: `push to main`, `tag v1.0`, `pull request from
    /// feature/x into main`, `manual build`.
    pub fn describe(&self) -> String {
        match self {
            Trigger::Push { branch } => format!("push to {branch}"),
            Trigger::Tag { tag } => format!("tag {tag}"),
            Trigger::PullRequest {
                source_branch,
                target_branch,
            } => format!("pull request from {source_branch} into {target_branch}"),
            Trigger::Manual { .. } => "manual build".to_owned(),
        }
    }
}

/// Whether an automatic trigger starts `workflow`.
pub fn triggered(workflow: &Workflow, trigger: &Trigger) -> bool {
    let Some(t) = &workflow.triggering else {
        return false;
    };
    match trigger {
        Trigger::Manual { .. } => false,
        Trigger::Push { branch } => {
            t.events.contains(&TriggerEvent::Push)
                && decide(&t.branch_patterns, |_| branch.as_str())
        }
        Trigger::Tag { tag } => {
            t.events.contains(&TriggerEvent::Tag) && decide(&t.tag_patterns, |_| tag.as_str())
        }
        Trigger::PullRequest {
            source_branch,
            target_branch,
        } => {
            t.events.contains(&TriggerEvent::PullRequest)
                && decide(&t.branch_patterns, |p| {
                    if p.source {
                        source_branch.as_str()
                    } else {
                        target_branch.as_str()
                    }
                })
        }
    }
}

/// Applies patterns in order, the last match winning; no patterns means everything matches.
fn decide<'a>(patterns: &[BranchPattern], subject: impl Fn(&BranchPattern) -> &'a str) -> bool {
    if patterns.is_empty() {
        return true;
    }
    patterns
        .iter()
        .filter(|p| branch_matches(&p.pattern, subject(p)))
        .last()
        .is_some_and(|p| p.include)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::model::{Script, Triggering};

    fn wf(id: &str, triggering: Option<Triggering>) -> Workflow {
        Workflow {
            triggering,
            ..Workflow::new(id, vec![Script::new("echo")])
        }
    }

    fn pattern(p: &str, include: bool, source: bool) -> BranchPattern {
        BranchPattern {
            pattern: p.to_owned(),
            include,
            source,
        }
    }

    fn trig(
        events: &[TriggerEvent],
        branches: Vec<BranchPattern>,
        tags: Vec<BranchPattern>,
    ) -> Option<Triggering> {
        Some(Triggering {
            events: events.to_vec(),
            branch_patterns: branches,
            tag_patterns: tags,
            cancel_previous_builds: None,
        })
    }

    fn push(b: &str) -> Trigger {
        Trigger::Push {
            branch: b.to_owned(),
        }
    }

    fn pr(s: &str, t: &str) -> Trigger {
        Trigger::PullRequest {
            source_branch: s.to_owned(),
            target_branch: t.to_owned(),
        }
    }

    fn tag(t: &str) -> Trigger {
        Trigger::Tag { tag: t.to_owned() }
    }

    fn manual(w: Option<&str>) -> Trigger {
        Trigger::Manual {
            workflow: w.map(str::to_owned),
        }
    }

    fn ids(p: &Pipeline, t: &Trigger) -> Result<Vec<String>, SelectError> {
        select_workflows(p, t).map(|ws| ws.into_iter().map(|w| w.id.clone()).collect())
    }

    #[test]
    fn table() {
        use TriggerEvent::*;
        let pipeline = Pipeline::new(vec![
            wf("manual-only", None),
            wf(
                "main-push",
                trig(&[Push], vec![pattern("main", true, true)], vec![]),
            ),
            wf(
                "all-but-wip",
                trig(
                    &[Push, PullRequest],
                    vec![pattern("*", true, true), pattern("wip/*", false, true)],
                    vec![],
                ),
            ),
            wf(
                "into-main",
                trig(&[PullRequest], vec![pattern("main", true, false)], vec![]),
            ),
            wf(
                "releases",
                trig(
                    &[Tag],
                    vec![],
                    vec![pattern("v*", true, true), pattern("v*-rc*", false, true)],
                ),
            ),
            wf("any-push", trig(&[Push], vec![], vec![])),
            wf("no-events", trig(&[], vec![], vec![])),
        ])
        .expect("valid pipeline");

        let cases: Vec<(Trigger, Result<Vec<&str>, ()>)> = vec![
            (
                push("main"),
                Ok(vec!["main-push", "all-but-wip", "any-push"]),
            ),
            (push("feature/a/b"), Ok(vec!["all-but-wip", "any-push"])),
            (push("wip/x"), Ok(vec!["any-push"])),
            (
                pr("feature/x", "main"),
                Ok(vec!["all-but-wip", "into-main"]),
            ),
            (pr("wip/x", "develop"), Ok(vec![])),
            (pr("feature/x", "develop"), Ok(vec!["all-but-wip"])),
            (tag("v1.2.0"), Ok(vec!["releases"])),
            (tag("v1.2.0-rc1"), Ok(vec![])),
            (tag("nightly"), Ok(vec![])),
            (manual(None), Ok(vec!["manual-only"])),
            (manual(Some("releases")), Ok(vec!["releases"])),
            (manual(Some("nope")), Err(())),
        ];
        for (trigger, expected) in cases {
            let got = ids(&pipeline, &trigger);
            match expected {
                Ok(want) => assert_eq!(
                    got,
                    Ok(want.iter().map(|s| s.to_string()).collect()),
                    "{trigger:?}"
                ),
                Err(()) => assert!(got.is_err(), "{trigger:?}"),
            }
        }
    }

    #[test]
    fn events_start_the_first_workflow_of_a_pipeline_without_triggering() {
        let simple = Pipeline::new(vec![wf("first", None), wf("second", None)]).expect("valid");
        for trigger in [push("any"), tag("v1"), pr("a", "b")] {
            let got: Vec<_> = select_for_event(&simple, &trigger)
                .expect("selected")
                .iter()
                .map(|w| w.id.as_str())
                .collect();
            assert_eq!(got, ["first"], "{}", trigger.describe());
        }
        let codemagic = Pipeline::new(vec![
            wf("manual", None),
            wf("tags", trig(&[TriggerEvent::Tag], vec![], vec![])),
        ])
        .expect("valid");
        assert!(
            select_for_event(&codemagic, &push("main"))
                .expect("ok")
                .is_empty()
        );
        assert_eq!(
            select_for_event(&codemagic, &manual(None)).expect("ok")[0].id,
            "manual"
        );
        assert_eq!(
            pr("feature/x", "main").describe(),
            "pull request from feature/x into main"
        );
    }

    #[test]
    fn unknown_manual_workflow_lists_known_ones() {
        let pipeline = Pipeline::new(vec![wf("a", None), wf("b", None)]).expect("valid pipeline");
        let err = select_workflows(&pipeline, &manual(Some("c"))).expect_err("unknown");
        assert_eq!(
            err.to_string(),
            "unknown workflow `c`; known workflows: a, b"
        );
    }

    #[test]
    fn manual_by_display_name() {
        let mut w = wf("ios", None);
        w.name = Some("iOS release".to_owned());
        let pipeline = Pipeline::new(vec![wf("android", None), w]).expect("valid pipeline");
        assert_eq!(
            ids(&pipeline, &manual(Some("iOS release"))),
            Ok(vec!["ios".to_owned()])
        );
    }
}
