//! From a workflow to what runs: the numbered steps and the environment every step gets
//! (spec 17.2, plus the Codemagic variables real `codemagic.yaml` scripts rely on).

use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use crate::domain::build::{Build, BuildStep, StepStatus, TriggerType};
use crate::domain::repository::Repository;
use crate::ids::StepId;
use crate::pipeline::{Script, Workflow};

/// One step to run, with everything resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedStep {
    /// The stored row (pending).
    pub step: BuildStep,
    /// Shell script.
    pub script: String,
    /// Working directory relative to the workspace (`.` for the workspace itself).
    pub working_dir: PathBuf,
    /// The step's own time limit, if it sets one.
    pub timeout: Option<Duration>,
    /// True for `publishing.scripts`, which run whatever the outcome.
    pub publishing: bool,
}

/// A step name for display: the script's `name`, else its first non-empty line.
fn step_name(script: &Script, publishing: bool) -> String {
    let base = script
        .name
        .clone()
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| {
            let first = script
                .script
                .lines()
                .map(str::trim)
                .find(|l| !l.is_empty())
                .unwrap_or("script");
            let mut name: String = first.chars().take(80).collect();
            if first.chars().count() > 80 {
                name.push('…');
            }
            name
        });
    if publishing {
        format!("publish: {base}")
    } else {
        base
    }
}

/// A relative directory that cannot leave the workspace (`..` and absolute paths are
/// refused), joined onto `base`.
pub(crate) fn confined(base: &Path, relative: Option<&str>) -> Result<PathBuf, String> {
    let Some(relative) = relative.map(str::trim).filter(|r| !r.is_empty()) else {
        return Ok(base.to_path_buf());
    };
    let path = Path::new(relative);
    if path
        .components()
        .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
    {
        return Err(format!(
            "working_directory '{relative}' must be a path inside the repository, without '..' or a leading '/'"
        ));
    }
    Ok(base.join(path))
}

/// The steps of `workflow`, numbered from 0: its scripts, then its publishing scripts.
pub fn plan_steps(
    workflow: &Workflow,
    build: &Build,
    new_id: &mut dyn FnMut() -> StepId,
) -> Result<Vec<PlannedStep>, String> {
    let base = confined(Path::new("."), workflow.working_directory.as_deref())?;
    let publishing = workflow
        .publishing
        .as_ref()
        .map(|p| p.scripts.as_slice())
        .unwrap_or_default();
    let scripts = workflow
        .scripts
        .iter()
        .map(|s| (s, false))
        .chain(publishing.iter().map(|s| (s, true)));
    scripts
        .enumerate()
        .map(|(index, (script, publishing))| {
            let index = u32::try_from(index).map_err(|_| "too many steps".to_owned())?;
            Ok(PlannedStep {
                step: BuildStep {
                    id: new_id(),
                    build_id: build.id,
                    index,
                    name: step_name(script, publishing),
                    status: StepStatus::Pending,
                    ignore_failure: script.ignore_failure,
                    exit_code: None,
                    error_message: None,
                    started_at: None,
                    finished_at: None,
                },
                script: script.script.clone(),
                working_dir: confined(&base, script.working_directory.as_deref())?,
                timeout: script.timeout.map(|s| Duration::from_secs(u64::from(s))),
                publishing,
            })
        })
        .collect()
}

/// Where the build runs and what it is, for the injected variables.
#[derive(Debug, Clone)]
pub struct EnvContext<'a> {
    /// The build.
    pub build: &'a Build,
    /// Its repository.
    pub repository: &'a Repository,
    /// The resolved commit.
    pub commit_sha: &'a str,
    /// The workflow id.
    pub workflow: &'a str,
    /// The checkout directory.
    pub workspace: &'a Path,
    /// The `CM_ENV` file.
    pub cm_env: &'a Path,
}

/// The environment of every step, in order (later entries win): `base` (PATH, HOME, ...
/// from `oored`), Oore's variables, the Codemagic-compatible ones, then the pipeline's
/// `environment.vars`.
pub fn step_environment(
    base: &[(String, String)],
    ctx: &EnvContext<'_>,
    workflow: &Workflow,
) -> Vec<(String, String)> {
    let b = ctx.build;
    let branch = b
        .branch
        .as_ref()
        .map(|x| x.as_str().to_owned())
        .unwrap_or_default();
    let dir = ctx.workspace.display().to_string();
    let is_pr = matches!(
        b.trigger,
        TriggerType::PullRequest | TriggerType::MergeRequest
    );
    let mut env: Vec<(String, String)> = base.to_vec();
    let mut set = |k: &str, v: String| env.push((k.to_owned(), v));
    set("CI", "true".into());
    set("OORE", "true".into());
    set("OORE_BUILD_ID", b.id.to_string());
    set("OORE_BUILD_NUMBER", b.number.to_string());
    set("OORE_COMMIT_SHA", ctx.commit_sha.to_owned());
    set("OORE_BRANCH", branch.clone());
    set("OORE_REPOSITORY_ID", ctx.repository.id.to_string());
    set("OORE_TRIGGER_TYPE", b.trigger.as_str().to_owned());
    set("OORE_WORKFLOW", ctx.workflow.to_owned());
    // Codemagic compatibility.
    set("CM_BUILD_DIR", dir.clone());
    set("FCI_BUILD_DIR", dir);
    set("BUILD_NUMBER", b.number.to_string());
    set("PROJECT_BUILD_NUMBER", b.number.to_string());
    set("CM_BUILD_ID", b.id.to_string());
    set("FCI_BUILD_ID", b.id.to_string());
    set("CM_BRANCH", branch.clone());
    set("FCI_BRANCH", branch);
    set("CM_COMMIT", ctx.commit_sha.to_owned());
    set("FCI_COMMIT", ctx.commit_sha.to_owned());
    if let Some(tag) = &b.tag {
        set("CM_TAG", tag.clone());
        set("FCI_TAG", tag.clone());
    }
    set("CM_PULL_REQUEST", is_pr.to_string());
    set("FCI_PULL_REQUEST", is_pr.to_string());
    if let Some(n) = b.pull_request {
        set("CM_PULL_REQUEST_NUMBER", n.to_string());
        set("FCI_PULL_REQUEST_NUMBER", n.to_string());
    }
    if let Some(dest) = &b.base_branch {
        set("CM_PULL_REQUEST_DEST", dest.as_str().to_owned());
        set("FCI_PULL_REQUEST_DEST", dest.as_str().to_owned());
    }
    set("CM_REPO_SLUG", ctx.repository.full_name());
    set("CM_ENV", ctx.cm_env.display().to_string());
    for (k, v) in &workflow.environment.vars {
        env.push((k.clone(), v.clone()));
    }
    env
}

/// Replaces or appends `additions` (from `CM_ENV`) into `env`.
pub fn merge_env(env: &mut Vec<(String, String)>, additions: &[(String, String)]) {
    for (k, v) in additions {
        env.retain(|(ek, _)| ek != k);
        env.push((k.clone(), v.clone()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::build::{BuildStatus, Priority};
    use crate::domain::repository::{BranchName, Provider};
    use crate::ids::BuildId;
    use crate::pipeline::{Format, Publishing, parse_and_validate};
    use crate::testing::contract::sample_repository;
    use ulid::Ulid;

    fn build() -> Build {
        Build {
            id: BuildId::from_ulid(Ulid::from_parts(5, 5)),
            repository_id: sample_repository(1, Provider::GitHub, "acme", "app").id,
            number: 7,
            status: BuildStatus::Running,
            trigger: TriggerType::PullRequest,
            priority: Priority::REVIEW,
            branch: Some(BranchName::new("feature/x").unwrap()),
            base_branch: Some(BranchName::main()),
            tag: None,
            pull_request: Some(42),
            commit_sha: None,
            workflow: None,
            config_source: None,
            webhook_event_id: None,
            error_message: None,
            created_at: jiff::Timestamp::UNIX_EPOCH,
            started_at: None,
            finished_at: None,
        }
    }

    fn workflow(yaml: &str) -> Workflow {
        let (p, _) = parse_and_validate(yaml, Format::Yaml).unwrap();
        p.workflows()[0].clone()
    }

    #[test]
    fn steps_are_numbered_from_zero_with_publishing_last() {
        let mut wf = workflow(
            "workflows:\n  w:\n    working_directory: app\n    scripts:\n      - name: Get\n        script: flutter pub get\n      - |\n        \n        flutter build apk --release\n        echo done\n      - script: flutter test\n        working_directory: packages/core\n        ignore_failure: true\n        timeout: 90\n",
        );
        wf.publishing = Some(Publishing {
            scripts: vec![Script::new("./upload.sh")],
            ..Default::default()
        });
        let mut n = 0u128;
        let steps = plan_steps(&wf, &build(), &mut || {
            n += 1;
            StepId::from_ulid(Ulid::from_parts(1, n))
        })
        .unwrap();
        let names: Vec<_> = steps
            .iter()
            .map(|s| (s.step.index, s.step.name.as_str()))
            .collect();
        assert_eq!(
            names,
            [
                (0, "Get"),
                (1, "flutter build apk --release"),
                (2, "flutter test"),
                (3, "publish: ./upload.sh")
            ]
        );
        assert_eq!(steps[0].working_dir, Path::new("./app"));
        assert_eq!(steps[2].working_dir, Path::new("./app/packages/core"));
        assert!(steps[2].step.ignore_failure);
        assert_eq!(steps[2].timeout, Some(Duration::from_secs(90)));
        assert!(steps[3].publishing);
    }

    #[test]
    fn working_directory_cannot_escape() {
        // Validation refuses this now; a pipeline stored before that rule still must not
        // start a step outside the checkout.
        let mut wf = workflow("workflows:\n  w:\n    scripts:\n      - script: ls\n");
        wf.scripts[0].working_directory = Some("../etc".into());
        let err = plan_steps(&wf, &build(), &mut || StepId::from_ulid(Ulid::nil())).unwrap_err();
        assert!(err.contains("inside the repository"), "{err}");
    }

    #[test]
    fn environment_has_oore_and_codemagic_variables_then_pipeline_vars() {
        let wf = workflow(
            "workflows:\n  w:\n    environment:\n      vars:\n        CI: overridden\n        FLAVOR: prod\n    scripts: [ls]\n",
        );
        let b = build();
        let repo = sample_repository(1, Provider::GitHub, "acme", "app");
        let ctx = EnvContext {
            build: &b,
            repository: &repo,
            commit_sha: "abc123",
            workflow: "w",
            workspace: Path::new("/ws/b"),
            cm_env: Path::new("/ws/.meta/b/cm_env"),
        };
        let env = step_environment(&[("PATH".into(), "/usr/bin".into())], &ctx, &wf);
        let get = |k: &str| {
            env.iter()
                .rev()
                .find(|(ek, _)| ek == k)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(get("PATH"), Some("/usr/bin"));
        assert_eq!(get("OORE_TRIGGER_TYPE"), Some("pull_request"));
        assert_eq!(get("BUILD_NUMBER"), Some("7"));
        assert_eq!(get("FCI_BUILD_DIR"), Some("/ws/b"));
        assert_eq!(get("CM_PULL_REQUEST"), Some("true"));
        assert_eq!(get("CM_PULL_REQUEST_NUMBER"), Some("42"));
        assert_eq!(get("CM_PULL_REQUEST_DEST"), Some("main"));
        assert_eq!(get("CM_REPO_SLUG"), Some("acme/app"));
        assert_eq!(get("CM_ENV"), Some("/ws/.meta/b/cm_env"));
        assert_eq!(get("FLAVOR"), Some("prod"));
        assert_eq!(
            get("CI"),
            Some("overridden"),
            "pipeline vars come last and win"
        );
        assert_eq!(get("CM_TAG"), None);
    }

    #[test]
    fn cm_env_additions_replace_earlier_values() {
        let mut env = vec![
            ("A".to_owned(), "1".to_owned()),
            ("B".to_owned(), "2".to_owned()),
        ];
        merge_env(
            &mut env,
            &[("A".into(), "9".into()), ("C".into(), "3".into())],
        );
        assert_eq!(
            env,
            [
                ("B".into(), "2".into()),
                ("A".into(), "9".into()),
                ("C".into(), "3".into())
            ]
        );
    }
}
