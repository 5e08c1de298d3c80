//! Resolve what a user typed to name a build: the id (a 26-character ULID), any unique
//! suffix of it of at least 4 characters (`oore build list` prints the last 8), or
//! `REPOSITORY#NUMBER` with the per-repository number, where `REPOSITORY` is any
//! repository reference (`me/app#42`, `7K3M9Q2A#3`; see
//! [`resolve_repository`](crate::usecases::repository::resolve_repository)). Shared by
//! the API's paths, the CLI and the web UI.

use crate::domain::build::Build;
use crate::error::{ErrorClass, UseCaseError};
use crate::ids::BuildId;
use crate::ports::StoreError;
use crate::services::Services;
use crate::usecases::repository::{ResolveRepositoryError, id_suffix, resolve_repository};
use crate::usecases::store_class;

/// How many candidates an ambiguous short id lists.
const MAX_CANDIDATES: u32 = 10;

/// Why a build reference could not be resolved.
#[derive(Debug, thiserror::Error)]
pub enum ResolveBuildError {
    /// Not a reference at all.
    #[error(
        "'{0}' is not a build reference: use its id, the short id `oore build list` shows (the id's last 8 characters) or owner/name#NUMBER"
    )]
    Invalid(String),
    /// `REPOSITORY#` followed by something other than a build number.
    #[error("'{0}' has no build number after '#': use e.g. me/app#42")]
    BadNumber(String),
    /// Nothing matches.
    #[error("{0}")]
    NotFound(String),
    /// A short id shared by several builds.
    #[error("'{reference}' is the end of several build ids: {}; pass more characters or the full id", candidates.join(", "))]
    Ambiguous {
        /// The reference as typed.
        reference: String,
        /// `#N ID` of each match (at most 10).
        candidates: Vec<String>,
    },
    /// The repository part of `REPOSITORY#NUMBER` did not resolve.
    #[error(transparent)]
    Repository(ResolveRepositoryError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl UseCaseError for ResolveBuildError {
    fn class(&self) -> ErrorClass {
        match self {
            Self::Invalid(_) | Self::BadNumber(_) => ErrorClass::Invalid,
            Self::NotFound(_) => ErrorClass::NotFound,
            Self::Ambiguous { .. } => ErrorClass::Conflict,
            Self::Repository(e) => e.class(),
            Self::Store(e) => store_class(e),
        }
    }
}

/// The build `reference` names (see the module doc).
pub async fn resolve_build(svc: &Services, reference: &str) -> Result<Build, ResolveBuildError> {
    let typed = reference.trim();
    if typed.len() == 26
        && let Ok(id) = typed.parse::<BuildId>()
    {
        return svc.builds.get_build(id).await?.ok_or_else(|| {
            ResolveBuildError::NotFound(format!(
                "build {id} not found; run `oore build list` to see builds"
            ))
        });
    }
    if let Some((repo, number)) = typed.rsplit_once('#') {
        let number = number
            .trim()
            .parse::<u64>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| ResolveBuildError::BadNumber(typed.to_owned()))?;
        let repo = resolve_repository(svc, repo).await.map_err(|e| match e {
            ResolveRepositoryError::Store(s) => ResolveBuildError::Store(s),
            other => ResolveBuildError::Repository(other),
        })?;
        return svc
            .builds
            .get_build_by_number(repo.id, number)
            .await?
            .ok_or_else(|| {
                ResolveBuildError::NotFound(format!(
                    "repository {} has no build #{number}; run `oore build list --repo {}` to see its builds",
                    repo.full_name(),
                    repo.full_name()
                ))
            });
    }
    let Some(suffix) = id_suffix(typed) else {
        return Err(ResolveBuildError::Invalid(reference.to_owned()));
    };
    let mut found = svc
        .builds
        .find_builds_by_id_suffix(&suffix, MAX_CANDIDATES)
        .await?;
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => Err(ResolveBuildError::NotFound(format!(
            "no build id ends in {typed}; run `oore build list` to see builds"
        ))),
        _ => Err(ResolveBuildError::Ambiguous {
            reference: typed.to_owned(),
            candidates: found
                .iter()
                .map(|b| format!("#{} {}", b.number, b.id))
                .collect(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{block_on, services};
    use crate::usecases::build::{TriggerBuild, trigger_build};
    use crate::usecases::repository::{AddRepository, add_repository};

    fn setup() -> (Services, Vec<Build>) {
        let svc = services();
        let mut builds = Vec::new();
        for (owner, name) in [("me", "app1"), ("me", "app2")] {
            let repo = block_on(add_repository(
                &svc,
                AddRepository {
                    provider: "git".into(),
                    owner: owner.into(),
                    name: name.into(),
                    clone_url: Some("/srv/git/x".into()),
                    ..AddRepository::default()
                },
            ))
            .unwrap();
            for _ in 0..2 {
                let signals = crate::testing::RecordingSignals::default();
                builds.push(
                    block_on(trigger_build(
                        &svc,
                        &signals,
                        repo.id,
                        TriggerBuild::default(),
                    ))
                    .unwrap(),
                );
            }
        }
        (svc, builds)
    }

    #[test]
    fn id_short_id_and_number_all_find_the_build() {
        let (svc, builds) = setup();
        let wanted = &builds[3];
        let id = wanted.id.to_string();
        for reference in [
            id.clone(),
            id[id.len() - 8..].to_lowercase(),
            "me/app2#2".to_owned(),
            " ME/App2 # 2 ".to_owned(),
            format!("{}#2", &wanted.repository_id.to_string()[18..]),
        ] {
            let found = block_on(resolve_build(&svc, &reference)).unwrap();
            assert_eq!(found.id, wanted.id, "{reference}");
        }
    }

    #[test]
    fn bad_and_unknown_references_say_what_to_do() {
        let (svc, _) = setup();
        for (reference, class) in [
            ("me/app2#0", ErrorClass::Invalid),
            ("me/app2#x", ErrorClass::Invalid),
            ("abc", ErrorClass::Invalid),
            ("me/app2#9", ErrorClass::NotFound),
            ("me/none#1", ErrorClass::NotFound),
            ("ZZZZZZZZ", ErrorClass::NotFound),
        ] {
            let err = block_on(resolve_build(&svc, reference)).unwrap_err();
            assert_eq!(err.class(), class, "{reference}: {err}");
            let text = err.to_string();
            assert!(text.contains("oore ") || text.contains("e.g."), "{text}");
        }
        let err = block_on(resolve_build(&svc, "me/app2#9")).unwrap_err();
        assert!(
            err.to_string().contains(
                "repository me/app2 has no build #9; run `oore build list --repo me/app2`"
            ),
            "{err}"
        );
    }
}
