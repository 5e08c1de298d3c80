//! Resolve what a user typed to name a repository: the id (a 26-character ULID), any
//! unique suffix of it of at least [`MIN_SUFFIX`] characters (the lists print the last 8),
//! or `owner/name` (case-insensitive, split on the last `/` so GitLab's nested groups
//! work). The CLI, the API's path and query parameters and the web UI all go through
//! [`resolve_repository`], so they accept the same references.
//!
//! A name that exists on two providers (GitHub `me/app` and GitLab `me/app`), or a suffix
//! shared by two ids, is ambiguous: the error lists the candidates with their ids, and
//! is a conflict (409), not a not-found.

use crate::domain::repository::Repository;
use crate::error::{ErrorClass, UseCaseError};
use crate::ids::RepositoryId;
use crate::ports::{RepositoryFilter, StoreError};
use crate::services::Services;

use super::store_class;

/// The shortest id suffix accepted: shorter ones match too much to be useful.
pub const MIN_SUFFIX: usize = 4;

/// How many candidates an ambiguity error lists at most.
const MAX_CANDIDATES: usize = 10;

/// A repository reference, parsed but not looked up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RepositoryRef {
    /// A full id.
    Id(RepositoryId),
    /// The end of an id, uppercase.
    Suffix(String),
    /// `owner/name`, as typed.
    Name {
        /// Everything before the last `/`.
        owner: String,
        /// Everything after it.
        name: String,
    },
}

/// Why a reference could not be resolved.
#[derive(Debug, thiserror::Error)]
pub enum ResolveRepositoryError {
    /// Not a reference at all.
    #[error(
        "'{0}' is not a repository reference: use its id, the short id `oore repo list` shows (the id's last 8 characters) or owner/name"
    )]
    Invalid(String),
    /// Nothing matches.
    #[error("{0}")]
    NotFound(String),
    /// More than one repository matches.
    #[error("'{reference}' matches {} repositories: {}; use the id of the one you mean", candidates.len(), candidates.join(", "))]
    Ambiguous {
        /// The reference as typed.
        reference: String,
        /// `provider owner/name (id)` of each match.
        candidates: Vec<String>,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl UseCaseError for ResolveRepositoryError {
    fn class(&self) -> ErrorClass {
        match self {
            Self::Invalid(_) => ErrorClass::Invalid,
            Self::NotFound(_) => ErrorClass::NotFound,
            Self::Ambiguous { .. } => ErrorClass::Conflict,
            Self::Store(e) => store_class(e),
        }
    }
}

/// True for the characters of a ULID (Crockford's base 32, either case).
pub(crate) fn is_ulid_char(c: char) -> bool {
    c.is_ascii_alphanumeric() && !matches!(c.to_ascii_uppercase(), 'I' | 'L' | 'O' | 'U')
}

/// The id suffix `raw` stands for (uppercase), when it is one: [`MIN_SUFFIX`] to 25
/// characters of the ULID alphabet.
pub(crate) fn id_suffix(raw: &str) -> Option<String> {
    ((MIN_SUFFIX..26).contains(&raw.len()) && raw.chars().all(is_ulid_char))
        .then(|| raw.to_ascii_uppercase())
}

impl RepositoryRef {
    /// Parses a reference (surrounding whitespace ignored).
    pub fn parse(raw: &str) -> Result<Self, ResolveRepositoryError> {
        let text = raw.trim();
        if let Ok(id) = text.parse::<RepositoryId>()
            && text.len() == 26
        {
            return Ok(Self::Id(id));
        }
        if let Some((owner, name)) = text.rsplit_once('/') {
            let (owner, name) = (owner.trim(), name.trim());
            if owner.is_empty() || name.is_empty() || owner.ends_with('/') {
                return Err(ResolveRepositoryError::Invalid(raw.to_owned()));
            }
            return Ok(Self::Name {
                owner: owner.to_owned(),
                name: name.to_owned(),
            });
        }
        id_suffix(text)
            .map(Self::Suffix)
            .ok_or_else(|| ResolveRepositoryError::Invalid(raw.to_owned()))
    }
}

fn describe(repo: &Repository) -> String {
    format!("{} {} ({})", repo.provider, repo.full_name(), repo.id)
}

/// The repository `reference` names (see the module doc); removed repositories are
/// never found.
pub async fn resolve_repository(
    svc: &Services,
    reference: &str,
) -> Result<Repository, ResolveRepositoryError> {
    let parsed = RepositoryRef::parse(reference)?;
    let typed = reference.trim();
    if let RepositoryRef::Id(id) = parsed {
        return svc.repositories.get(id).await?.ok_or_else(|| {
            ResolveRepositoryError::NotFound(format!(
                "repository {id} not found; run `oore repo list` to see the repositories"
            ))
        });
    }
    let all = svc.repositories.list(&RepositoryFilter::default()).await?;
    let mut found: Vec<Repository> = match &parsed {
        RepositoryRef::Id(_) => unreachable!("handled above"),
        RepositoryRef::Suffix(suffix) => all
            .into_iter()
            .filter(|r| r.id.to_string().ends_with(suffix.as_str()))
            .collect(),
        RepositoryRef::Name { owner, name } => {
            let (owner, name) = (owner.to_lowercase(), name.to_lowercase());
            all.into_iter()
                .filter(|r| {
                    r.owner.as_str().to_lowercase() == owner
                        && r.name.as_str().to_lowercase() == name
                })
                .collect()
        }
    };
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => Err(ResolveRepositoryError::NotFound(match parsed {
            RepositoryRef::Name { .. } => format!(
                "no repository is named {typed}; run `oore repo list` to see the repositories"
            ),
            _ => format!(
                "no repository id ends in {typed}; run `oore repo list` to see the repositories, or use owner/name"
            ),
        })),
        _ => Err(ResolveRepositoryError::Ambiguous {
            reference: typed.to_owned(),
            candidates: found.iter().take(MAX_CANDIDATES).map(describe).collect(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{block_on, services};
    use crate::usecases::repository::{AddRepository, add_repository};

    fn add(svc: &Services, provider: &str, owner: &str, name: &str) -> Repository {
        block_on(add_repository(
            svc,
            AddRepository {
                provider: provider.into(),
                owner: owner.into(),
                name: name.into(),
                clone_url: (provider == "git").then(|| "/srv/git/x".to_owned()),
                ..AddRepository::default()
            },
        ))
        .unwrap()
    }

    fn resolve(svc: &Services, reference: &str) -> Result<Repository, ResolveRepositoryError> {
        block_on(resolve_repository(svc, reference))
    }

    #[test]
    fn references_parse_by_shape() {
        let id = "01HV4Z8Q2N7J3M5X9W1K6T0RBC";
        assert!(matches!(RepositoryRef::parse(id), Ok(RepositoryRef::Id(_))));
        assert_eq!(
            RepositoryRef::parse(" 6t0rbc ").unwrap(),
            RepositoryRef::Suffix("6T0RBC".into())
        );
        assert_eq!(
            RepositoryRef::parse("group/sub/app").unwrap(),
            RepositoryRef::Name {
                owner: "group/sub".into(),
                name: "app".into()
            }
        );
        for bad in ["", "abc", "me/", "/app", "a//b", "héllo", "UUUUUUUU"] {
            assert!(
                matches!(
                    RepositoryRef::parse(bad),
                    Err(ResolveRepositoryError::Invalid(_))
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn id_short_id_and_name_all_find_the_repository() {
        let svc = services();
        let repo = add(&svc, "github", "Me", "App1");
        add(&svc, "github", "me", "app2");
        let id = repo.id.to_string();
        let short = &id[id.len() - 8..];
        for reference in [
            id.as_str(),
            short,
            &short.to_lowercase(),
            "me/app1",
            "ME/APP1",
        ] {
            assert_eq!(resolve(&svc, reference).unwrap().id, repo.id, "{reference}");
        }
    }

    #[test]
    fn nested_gitlab_groups_split_on_the_last_slash() {
        let svc = services();
        let repo = add(&svc, "gitlab", "group/sub", "app");
        assert_eq!(resolve(&svc, "Group/Sub/App").unwrap().id, repo.id);
        assert!(matches!(
            resolve(&svc, "group/sub"),
            Err(ResolveRepositoryError::NotFound(_))
        ));
    }

    #[test]
    fn the_same_name_on_two_providers_is_ambiguous() {
        let svc = services();
        let a = add(&svc, "github", "me", "app");
        let b = add(&svc, "gitlab", "me", "app");
        let err = resolve(&svc, "me/app").unwrap_err();
        assert_eq!(err.class(), ErrorClass::Conflict);
        let text = err.to_string();
        assert!(
            text.contains(&format!("github me/app ({})", a.id)),
            "{text}"
        );
        assert!(
            text.contains(&format!("gitlab me/app ({})", b.id)),
            "{text}"
        );
        // Each id still picks one.
        assert_eq!(resolve(&svc, &a.id.to_string()).unwrap().id, a.id);
    }

    #[test]
    fn unknown_references_are_not_found_and_say_what_to_run() {
        let svc = services();
        add(&svc, "github", "me", "app");
        for reference in ["me/other", "ZZZZZZZZ", "01HV4Z8Q2N7J3M5X9W1K6T0RBC"] {
            let err = resolve(&svc, reference).unwrap_err();
            assert_eq!(err.class(), ErrorClass::NotFound, "{reference}");
            assert!(err.to_string().contains("oore repo list"), "{err}");
        }
    }

    #[test]
    fn removed_repositories_are_not_found_by_name() {
        let svc = services();
        let repo = add(&svc, "github", "me", "gone");
        block_on(crate::usecases::repository::remove_repository(
            &svc, repo.id,
        ))
        .unwrap();
        assert!(matches!(
            resolve(&svc, "me/gone"),
            Err(ResolveRepositoryError::NotFound(_))
        ));
    }
}
