//! The default branch of a repository added without one. For a repository on the
//! server's machine (an absolute path or a `file://` URL) it is read from the repository
//! itself (what its `HEAD` names, through [`SourceFetcher::default_branch`]), so a local
//! repository on `master` is not added as `main` and its first build does not fail.
//! Remote URLs are not probed (no network while a request waits): they keep `main`.

use crate::domain::validation::{FieldError, FieldErrors};
use crate::ports::{FetchError, SourceFetcher};

use super::AddRepositoryError;
use super::add::AddRepository;

/// Sets `input.default_branch` from the repository when none was given and the clone URL
/// is on this machine. A path that is not a git repository the server can read is a
/// `clone_url` field error saying how to add it anyway.
pub async fn fill_default_branch(
    fetcher: &dyn SourceFetcher,
    input: &mut AddRepository,
) -> Result<(), AddRepositoryError> {
    let (None, Some(url)) = (&input.default_branch, &input.clone_url) else {
        return Ok(());
    };
    let invalid = |message: String| {
        AddRepositoryError::Invalid(FieldErrors::from(FieldError::new("clone_url", message)))
    };
    match fetcher.default_branch(url).await {
        Ok(branch) => {
            input.default_branch = branch;
            Ok(())
        }
        Err(FetchError::NotFound(why)) => Err(invalid(format!(
            "{why}: check the path (it must exist on the server's machine and be readable by oored's user), or pass default_branch (--default-branch) to add it anyway"
        ))),
        Err(e) => Err(invalid(format!(
            "{e}: pass default_branch (--default-branch) to say which branch to build"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use async_trait::async_trait;

    use super::*;
    use crate::cancel::CancelToken;
    use crate::error::UseCaseError;
    use crate::ports::FetchRequest;
    use crate::testing::block_on;

    /// Answers every probe with `answer`.
    struct Probe(Result<Option<String>, FetchError>);

    #[async_trait]
    impl SourceFetcher for Probe {
        async fn fetch(&self, _: &FetchRequest, _: &CancelToken) -> Result<String, FetchError> {
            Err(FetchError::Other("not used".into()))
        }

        async fn default_branch(&self, _: &str) -> Result<Option<String>, FetchError> {
            self.0.clone()
        }
    }

    fn input(default_branch: Option<&str>) -> AddRepository {
        AddRepository {
            provider: "git".into(),
            owner: "me".into(),
            name: "app".into(),
            clone_url: Some("/srv/git/app".into()),
            default_branch: default_branch.map(str::to_owned),
            ..AddRepository::default()
        }
    }

    #[test]
    fn the_repositorys_head_is_the_default_branch() {
        let mut i = input(None);
        block_on(fill_default_branch(
            &Probe(Ok(Some("master".into()))),
            &mut i,
        ))
        .unwrap();
        assert_eq!(i.default_branch.as_deref(), Some("master"));
    }

    #[test]
    fn a_given_branch_or_an_unprobed_url_is_left_alone() {
        let mut i = input(Some("develop"));
        let fails = Probe(Err(FetchError::NotFound("x".into())));
        block_on(fill_default_branch(&fails, &mut i)).unwrap();
        assert_eq!(i.default_branch.as_deref(), Some("develop"));
        let mut i = input(None);
        block_on(fill_default_branch(&Probe(Ok(None)), &mut i)).unwrap();
        assert_eq!(i.default_branch, None, "add_repository then uses main");
    }

    #[test]
    fn a_missing_repository_is_a_clone_url_error_that_says_how_to_go_on() {
        let mut i = input(None);
        let probe = Probe(Err(FetchError::NotFound(
            "/srv/git/app is not a directory on the server's machine".into(),
        )));
        let err = block_on(fill_default_branch(&probe, &mut i)).unwrap_err();
        let fields = err.field_errors().unwrap().as_slice();
        assert_eq!(fields[0].field, "clone_url");
        assert!(
            fields[0].message.contains("--default-branch"),
            "{}",
            fields[0].message
        );
    }
}
