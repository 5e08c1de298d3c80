//! The credentials a clone of an App repository uses (for the build's checkout, phase 2
//! of the GitHub App): the installation token of the installation that covers it.

use crate::domain::secret::SecretString;
use crate::github::ports::{GitHubServices, TokenError};
use crate::ids::RepositoryId;

/// The installation token for cloning `repository` (`x-access-token:<token>` over
/// HTTPS), or `None` when no installation covers it (added by hand: it clones as
/// configured). The token comes from the cache while it has 5 minutes left.
pub async fn clone_token(
    gh: &GitHubServices,
    repository: RepositoryId,
) -> Result<Option<SecretString>, TokenError> {
    let Some((_, installation)) = gh.store.repository_link(repository).await? else {
        return Ok(None);
    };
    Ok(Some(gh.tokens.token(installation).await?.token))
}
