//! What the executor hands the fetcher: the clone URL without credentials, and the
//! credentials apart, opened only for the fetch.

use std::time::Duration;

use crate::cancel::CancelToken;
use crate::domain::build::BuildStatus;
use crate::pipeline::PipelinePrecedence;
use crate::ports::{StepCommand, StepEnd};
use crate::testing::{FakeExecution, FakeWorkspaces, block_on, services};
use crate::usecases::repository::{AddRepository, add_repository};

use super::fixtures::start;
use super::*;

fn settings() -> ExecutionSettings {
    ExecutionSettings {
        max_build_duration: Duration::from_secs(3600),
        max_step_duration: Duration::from_secs(1800),
        precedence: PipelinePrecedence::Database,
        base_env: Vec::new(),
    }
}

#[test]
fn the_fetcher_gets_the_plain_url_and_the_credentials_apart() {
    let svc = services();
    let repo = block_on(add_repository(
        &svc,
        AddRepository {
            provider: "git".into(),
            owner: "acme".into(),
            name: "private".into(),
            clone_url: Some("https://me:t0ken@git.example.com/acme/private.git".into()),
            ..AddRepository::default()
        },
    ))
    .unwrap();
    let id = start(&svc, &repo);
    let fx = FakeExecution::new("abc1234", |_: &StepCommand, _: &FakeWorkspaces| {
        StepEnd::Exited(0)
    });
    let status = block_on(execute_build(
        &svc,
        &fx.ports(),
        &settings(),
        id,
        &CancelToken::new(),
    ))
    .unwrap();
    assert_eq!(status, BuildStatus::Success);
    let requests = fx.fetcher.requests.lock().unwrap();
    assert_eq!(requests[0].url, "https://git.example.com/acme/private.git");
    assert_eq!(
        requests[0]
            .credentials
            .as_ref()
            .map(|c| c.expose().to_owned()),
        Some("me:t0ken".to_owned())
    );
    assert!(!format!("{:?}", requests[0]).contains("t0ken"));
    for line in fx.system_log(id) {
        assert!(!line.contains("t0ken"), "{line}");
    }
}
