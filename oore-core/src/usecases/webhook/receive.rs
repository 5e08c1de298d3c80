//! Admit one delivery at `POST /api/webhooks/{provider}/{repository_id}` (spec 6.1, 20):
//! find the repository, verify the delivery, and say what to store. Storing is the
//! receiver's: accepted events go through its batching writer
//! ([`WebhookEventStore::insert_batch`](crate::ports::WebhookEventStore::insert_batch),
//! one transaction per batch), rejected ones through
//! [`record_rejected`](crate::ports::WebhookEventStore::record_rejected).

use crate::ids::WebhookEventId;
use crate::ports::{NewWebhookEvent, StoreError};
use crate::services::Services;
use crate::webhook::{
    self, DeliveryRequest, REJECTED_PAYLOAD_LIMIT, Rejection, check_delivery, stored_headers,
};

/// What to do with a delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admission {
    /// Verified: store it (status `received`), answer 2xx only once committed, then wake
    /// the event worker. A `Duplicate` outcome is answered 200 as well (spec 20.1).
    Accept(NewWebhookEvent),
    /// Not verified: store `record` with `record_rejected(&record, &rejection.to_string())`
    /// and answer 401 (400 when [`Rejection::is_unauthorized`] is false) with
    /// [`Rejection::public_message`] only.
    Reject {
        /// The attempt to record (body cut to [`REJECTED_PAYLOAD_LIMIT`]).
        record: NewWebhookEvent,
        /// Why.
        rejection: Rejection,
    },
}

/// Longest event name kept from an unverified request.
const MAX_UNVERIFIED_EVENT: usize = 100;

/// Verifies `request` against the repository its URL names and builds the event to
/// store. Reads the repository; writes nothing.
pub async fn admit_delivery(
    svc: &Services,
    request: DeliveryRequest,
) -> Result<Admission, StoreError> {
    let id = WebhookEventId::from_ulid(svc.ids.new_ulid());
    let received_at = svc.clock.now();
    let repository = svc.repositories.get(request.repository_id).await?;
    let verified = match &repository {
        None => Err(Rejection::UnknownRepository(request.repository_id)),
        Some(repo) => check_delivery(&request, repo, svc.cipher.as_ref()),
    };
    let headers = stored_headers(&request.headers);
    match verified {
        Ok(v) => Ok(Admission::Accept(NewWebhookEvent {
            id,
            provider: request.provider,
            delivery_id: v.delivery_id,
            event_type: v.event_type,
            repository_id: repository.map(|r| r.id),
            headers,
            payload: request.body,
            source_ip: request.source_ip,
            received_at,
        })),
        Err(rejection) => {
            let event_type = request
                .event_type()
                .map(|e| webhook::truncate(e, MAX_UNVERIFIED_EVENT).to_owned())
                .unwrap_or_else(|| "unknown".to_owned());
            let delivery_id = webhook::delivery_id(&request).unwrap_or_default();
            let mut payload = request.body;
            payload.truncate(REJECTED_PAYLOAD_LIMIT);
            Ok(Admission::Reject {
                record: NewWebhookEvent {
                    id,
                    provider: request.provider,
                    delivery_id,
                    event_type,
                    repository_id: repository.map(|r| r.id),
                    headers,
                    payload,
                    source_ip: request.source_ip,
                    received_at,
                },
                rejection,
            })
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

    fn github_repo(svc: &Services) -> Repository {
        block_on(add_repository(
            svc,
            AddRepository {
                provider: "github".into(),
                owner: "acme".into(),
                name: "app".into(),
                webhook_secret: Some(SecretString::new("s3cret")),
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
        let repo = github_repo(&svc);
        let body = br#"{"zen":"hi","hook_id":1}"#;
        let sig = github::signature_header("s3cret", body);
        let Admission::Accept(event) =
            block_on(admit_delivery(&svc, delivery(repo.id, &sig, body))).unwrap()
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
    fn forged_and_misdirected_deliveries_are_rejected_and_recorded() {
        let svc = services();
        let repo = github_repo(&svc);
        let body = vec![b'x'; REJECTED_PAYLOAD_LIMIT + 10];
        let forged = delivery(repo.id, &github::signature_header("guess", &body), &body);
        let Admission::Reject { record, rejection } =
            block_on(admit_delivery(&svc, forged)).unwrap()
        else {
            panic!("rejected");
        };
        assert!(rejection.is_unauthorized());
        assert!(
            rejection
                .to_string()
                .starts_with("HMAC verification failed")
        );
        assert_eq!(
            record.payload.len(),
            REJECTED_PAYLOAD_LIMIT,
            "the body is cut"
        );
        assert_eq!(record.repository_id, Some(repo.id));
        block_on(
            svc.webhooks
                .record_rejected(&record, &rejection.to_string()),
        )
        .unwrap();
        let stored = block_on(svc.webhooks.get_event(record.id))
            .unwrap()
            .unwrap();
        assert_eq!(stored.event.status, WebhookEventStatus::Rejected);

        let nowhere = RepositoryId::from_ulid(ulid::Ulid::from_parts(1, 1));
        let Admission::Reject { record, rejection } =
            block_on(admit_delivery(&svc, delivery(nowhere, "sha256=00", b"{}"))).unwrap()
        else {
            panic!("rejected");
        };
        assert_eq!(rejection, Rejection::UnknownRepository(nowhere));
        assert_eq!(rejection.public_message(), "webhook verification failed");
        assert_eq!(record.repository_id, None);
        block_on(
            svc.webhooks
                .record_rejected(&record, &rejection.to_string()),
        )
        .unwrap();
    }
}
