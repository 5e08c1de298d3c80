//! Admit one delivery at `POST /api/webhooks/{provider}/{repository_id}` (spec 6.1, 20),
//! in two steps so that strangers cost almost nothing:
//!
//! 1. [`find_receiver`], before the body is read: the repository the URL names, if it
//!    exists, is of the URL's provider and has a secret. Otherwise nothing could be
//!    verified: the receiver answers 401 at once, without reading the body, and counts
//!    the refusal instead of storing it;
//! 2. [`admit_delivery`], with the body: verify it and say what to store. Accepted
//!    events go through the receiver's batching writer
//!    ([`WebhookEventStore::insert_batch`](crate::ports::WebhookEventStore::insert_batch),
//!    one transaction per batch); rejected ones keep their headers, their size and the
//!    first [`REJECTED_PAYLOAD_LIMIT`] bytes
//!    ([`record_rejected`](crate::ports::WebhookEventStore::record_rejected)).

use crate::domain::repository::{Provider, Repository};
use crate::ids::{RepositoryId, WebhookEventId};
use crate::ports::{NewWebhookEvent, RejectedWebhookEvent, StoreError};
use crate::services::Services;
use crate::webhook::{
    self, DeliveryRequest, REJECTED_PAYLOAD_LIMIT, Rejection, check_delivery, check_receiver,
    stored_headers,
};

/// What to do with a delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admission {
    /// Verified: store it (status `received`), answer 2xx only once committed, then wake
    /// the event worker. A `Duplicate` outcome is answered 200 as well (spec 20.1).
    Accept(NewWebhookEvent),
    /// Not verified: store `record` (`rejected`, its body cut to
    /// [`REJECTED_PAYLOAD_LIMIT`]) and answer 401 (400 when
    /// [`Rejection::is_unauthorized`] is false) with [`Rejection::public_message`] only.
    Reject {
        /// The attempt to record.
        record: RejectedWebhookEvent,
        /// Why.
        rejection: Rejection,
    },
}

/// Longest event name kept from an unverified request.
const MAX_UNVERIFIED_EVENT: usize = 100;

/// The repository deliveries to `/api/webhooks/{provider}/{repository_id}` are verified
/// against, or why none can be: [`Rejection::UnknownRepository`],
/// [`Rejection::WrongProvider`] or [`Rejection::NoSecret`] (each
/// [`Rejection::is_before_body`]). Reads the repository; writes nothing.
pub async fn find_receiver(
    svc: &Services,
    provider: Provider,
    repository_id: RepositoryId,
) -> Result<Result<Repository, Rejection>, StoreError> {
    let Some(repository) = svc.repositories.get(repository_id).await? else {
        return Ok(Err(Rejection::UnknownRepository(repository_id)));
    };
    Ok(check_receiver(provider, &repository).map(|()| repository))
}

/// Verifies `request` against `repository` (from [`find_receiver`]) and builds the
/// event to store. Writes nothing.
pub fn admit_delivery(
    svc: &Services,
    request: DeliveryRequest,
    repository: &Repository,
) -> Admission {
    let id = WebhookEventId::from_ulid(svc.ids.new_ulid());
    let received_at = svc.clock.now();
    let verified = check_delivery(&request, repository, svc.cipher.as_ref());
    let headers = stored_headers(&request.headers);
    match verified {
        Ok(v) => Admission::Accept(NewWebhookEvent {
            id,
            provider: request.provider,
            delivery_id: v.delivery_id,
            event_type: v.event_type,
            repository_id: Some(repository.id),
            headers,
            payload: request.body,
            source_ip: request.source_ip,
            received_at,
        }),
        Err(rejection) => {
            let event_type = request
                .event_type()
                .map(|e| webhook::truncate(e, MAX_UNVERIFIED_EVENT).to_owned())
                .unwrap_or_else(|| "unknown".to_owned());
            let delivery_id = webhook::delivery_id(&request).unwrap_or_default();
            // A copy of the start, so the whole body is freed with the request.
            let kept = request.body[..request.body.len().min(REJECTED_PAYLOAD_LIMIT)].to_vec();
            Admission::Reject {
                record: RejectedWebhookEvent {
                    reason: rejection.to_string(),
                    payload_size: request.body.len() as u64,
                    event: NewWebhookEvent {
                        id,
                        provider: request.provider,
                        delivery_id,
                        event_type,
                        repository_id: Some(repository.id),
                        headers,
                        payload: kept,
                        source_ip: request.source_ip,
                        received_at,
                    },
                },
                rejection,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::repository::{Provider, Repository};
    use crate::domain::secret::SecretString;
    use crate::domain::webhook::WebhookEventStatus;
    use crate::ids::RepositoryId;
    use crate::ports::InsertOutcome;
    use crate::testing::{block_on, services};
    use crate::usecases::repository::{AddRepository, add_repository};
    use crate::webhook::github;

    fn github_repo(svc: &Services, secret: Option<&str>) -> Repository {
        block_on(add_repository(
            svc,
            AddRepository {
                provider: "github".into(),
                owner: "acme".into(),
                name: "app".into(),
                webhook_secret: secret.map(SecretString::new),
                ..AddRepository::default()
            },
        ))
        .unwrap()
    }

    fn delivery(repo: RepositoryId, signature: &str, body: &[u8]) -> DeliveryRequest {
        DeliveryRequest {
            provider: Provider::GitHub,
            repository_id: repo,
            headers: vec![
                ("x-github-event".into(), "ping".into()),
                ("x-github-delivery".into(), "guid-1".into()),
                ("x-hub-signature-256".into(), signature.into()),
            ],
            body: body.to_vec(),
            source_ip: Some("192.0.2.1".into()),
        }
    }

    #[test]
    fn a_verified_delivery_is_accepted_without_its_signature_header() {
        let svc = services();
        let repo = github_repo(&svc, Some("s3cret"));
        let body = br#"{"zen":"hi","hook_id":1}"#;
        let sig = github::signature_header("s3cret", body);
        let found = block_on(find_receiver(&svc, Provider::GitHub, repo.id))
            .unwrap()
            .unwrap();
        let Admission::Accept(event) = admit_delivery(&svc, delivery(repo.id, &sig, body), &found)
        else {
            panic!("accepted");
        };
        assert_eq!(
            (
                event.delivery_id.as_str(),
                event.event_type.as_str(),
                event.repository_id
            ),
            ("guid-1", "ping", Some(repo.id))
        );
        assert!(
            event
                .headers
                .iter()
                .all(|(n, _)| n != "x-hub-signature-256")
        );
        assert_eq!(event.payload, body);
        let outcomes = block_on(svc.webhooks.insert_batch(std::slice::from_ref(&event))).unwrap();
        assert_eq!(outcomes, [InsertOutcome::Inserted(event.id)]);
    }

    #[test]
    fn forged_deliveries_are_rejected_with_the_start_of_their_body() {
        let svc = services();
        let repo = github_repo(&svc, Some("s3cret"));
        let body = vec![b'x'; 64 * 1024];
        let forged = delivery(repo.id, &github::signature_header("guess", &body), &body);
        let Admission::Reject { record, rejection } = admit_delivery(&svc, forged, &repo) else {
            panic!("rejected");
        };
        assert!(rejection.is_unauthorized() && !rejection.is_before_body());
        assert!(record.reason.starts_with("HMAC verification failed"));
        assert_eq!(record.event.payload.len(), REJECTED_PAYLOAD_LIMIT, "cut");
        assert_eq!(record.payload_size, 64 * 1024, "the size received");
        assert_eq!(record.event.repository_id, Some(repo.id));
        block_on(
            svc.webhooks
                .record_rejected(std::slice::from_ref(&record), 10),
        )
        .unwrap();
        let stored = block_on(svc.webhooks.get_event(record.event.id))
            .unwrap()
            .unwrap();
        assert_eq!(stored.event.status, WebhookEventStatus::Rejected);
        assert_eq!(stored.payload_size, 64 * 1024);
    }

    #[test]
    fn receivers_that_cannot_verify_are_known_before_the_body() {
        let svc = services();
        let nowhere = RepositoryId::from_ulid(ulid::Ulid::from_parts(1, 1));
        let unknown = block_on(find_receiver(&svc, Provider::GitHub, nowhere)).unwrap();
        assert_eq!(unknown, Err(Rejection::UnknownRepository(nowhere)));
        let pending = github_repo(&svc, None);
        assert_eq!(
            block_on(find_receiver(&svc, Provider::GitHub, pending.id)).unwrap(),
            Err(Rejection::NoSecret)
        );
        let other = block_on(find_receiver(&svc, Provider::GitLab, pending.id))
            .unwrap()
            .unwrap_err();
        assert!(matches!(other, Rejection::WrongProvider { .. }));
        for early in [unknown.unwrap_err(), other, Rejection::NoSecret] {
            assert!(early.is_before_body(), "{early}");
            assert_eq!(early.public_message(), "webhook verification failed");
        }
    }
}
