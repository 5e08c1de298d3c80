//! Whether a build runs code from a fork. Features that hand a build something worth
//! stealing (secrets, signing material, caches that later builds trust) MUST ask
//! [`build_from_fork`] first and give a fork's build none of it unless the operator
//! opted in: an approval lets a fork's commit run, not read what the repository keeps.

use crate::domain::build::Build;
use crate::ports::StoreError;
use crate::services::Services;
use crate::webhook::{self, ForgeEvent};

/// True when `build` was made for a pull/merge request from a fork (by its webhook
/// event's payload). Manual builds and pushes are not; a build whose event is gone or
/// unreadable counts as from a fork, so a doubt never hands out a secret.
pub async fn build_from_fork(svc: &Services, build: &Build) -> Result<bool, StoreError> {
    let Some(event_id) = build.webhook_event_id else {
        return Ok(false);
    };
    let Some(detail) = svc.webhooks.get_event(event_id).await? else {
        return Ok(true);
    };
    let event = &detail.event;
    Ok(
        match webhook::parse(event.provider, &event.event_type, &detail.payload) {
            Ok(ForgeEvent::PullRequest(pr)) => pr.from_fork,
            Ok(_) => false,
            Err(_) => true,
        },
    )
}
