//! Extractors whose rejections are [`ApiError`]s, so every malformed request gets the
//! JSON envelope with today's codes:
//!
//! - [`ApiJson`] / [`OptionalJson`]: a JSON body of at most [`API_BODY_LIMIT`] bytes
//!   (413 while reading when the body has no `Content-Length`; a declared one is refused
//!   before by `layers::require_admin`), `Content-Type: application/json` or `+json`
//!   (415), serde's line/column message (400 `invalid_json`);
//! - [`Ids`]: the route's path parameters parsed as typed ids (400 `invalid_id`), already
//!   percent-decoded by axum, so `%2F` stays inside its segment;
//! - [`RepoRef`] / [`BuildRef`]: the route's `{id}` as any reference a user types
//!   (`me/app`, a short id, `me/app#42`), resolved by core's use cases;
//! - [`QueryPairs`]: the query string's `name=value` pairs, percent- and form-decoded by
//!   `serde_urlencoded`, in order, for handlers that report every bad parameter by name.

use axum::body::Bytes;
use axum::extract::rejection::RawPathParamsRejection;
use axum::extract::{FromRequest, FromRequestParts, RawPathParams, Request};
use http::HeaderMap;
use http::header::CONTENT_TYPE;
use http::request::Parts;
use serde::de::DeserializeOwned;

use oore_core::domain::build::Build;
use oore_core::domain::repository::Repository;
use oore_core::domain::validation::{FieldError, FieldErrors};
use oore_core::usecases::build::{ResolveBuildError, resolve_build};
use oore_core::usecases::repository::{ResolveRepositoryError, resolve_repository};

use super::error::ApiError;
use crate::app::App;

/// Largest body the API accepts (the webhook receivers have `OORE_MAX_WEBHOOK_BYTES`).
pub const API_BODY_LIMIT: usize = 1024 * 1024;

/// A JSON request body (see the module doc).
#[derive(Debug)]
pub(crate) struct ApiJson<T>(pub(crate) T);

/// Like [`ApiJson`], but an absent or empty body (no `Content-Type` needed) is
/// `T::default()`: for requests whose fields are all optional.
#[derive(Debug)]
pub(crate) struct OptionalJson<T>(pub(crate) T);

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            let essence = v
                .split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase();
            essence == "application/json"
                || (essence.starts_with("application/") && essence.ends_with("+json"))
        })
}

/// At most [`API_BODY_LIMIT`] bytes of the body: 413 past it (read no further), 400
/// `invalid_body` when it cannot be read.
async fn body_bytes<S: Send + Sync>(request: Request, _: &S) -> Result<Bytes, ApiError> {
    read_limited(request.into_body(), API_BODY_LIMIT).await
}

/// Reads at most `limit` bytes of `body`: 413 past it, never buffering more.
pub(crate) async fn read_limited(body: axum::body::Body, limit: usize) -> Result<Bytes, ApiError> {
    use http_body_util::{BodyExt, LengthLimitError, Limited};
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => {
            Err(ApiError::payload_too_large(limit))
        }
        Err(e) => Err(ApiError::unreadable_body(e)),
    }
}

fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(bytes).map_err(ApiError::invalid_json)
}

fn is_blank(bytes: &[u8]) -> bool {
    bytes.iter().all(u8::is_ascii_whitespace)
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(request.headers()) {
            return Err(ApiError::unsupported_media_type());
        }
        let bytes = body_bytes(request, state).await?;
        if is_blank(&bytes) {
            return Err(ApiError::invalid_json(
                "the body is empty: send a JSON object",
            ));
        }
        decode(&bytes).map(Self)
    }
}

impl<T: DeserializeOwned + Default, S: Send + Sync> FromRequest<S> for OptionalJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let json = is_json(request.headers());
        let bytes = body_bytes(request, state).await?;
        if is_blank(&bytes) {
            return Ok(Self(T::default()));
        }
        if !json {
            return Err(ApiError::unsupported_media_type());
        }
        decode(&bytes).map(Self)
    }
}

/// Path parameters parsed in route order: `Ids<BuildId>` for `/api/builds/{id}`,
/// `Ids<(BuildId, ArtifactId)>` for `/api/builds/{id}/artifacts/{artifact_id}`.
#[derive(Debug)]
pub(crate) struct Ids<T>(pub(crate) T);

/// What [`Ids`] can parse from the route's parameter values.
pub(crate) trait FromPathValues: Sized {
    /// From the values in route order; `Err` names what is wrong.
    fn from_values(values: &[&str]) -> Result<Self, ApiError>;
}

fn parse_id<T>(value: Option<&&str>) -> Result<T, ApiError>
where
    T: std::str::FromStr<Err = oore_core::ids::InvalidId>,
{
    value
        .copied()
        .unwrap_or_default()
        .parse()
        .map_err(|e| ApiError::invalid_id(&e))
}

macro_rules! single_id {
    ($($ty:ty),*) => {$(
        impl FromPathValues for $ty {
            fn from_values(values: &[&str]) -> Result<Self, ApiError> {
                parse_id(values.first())
            }
        }
    )*};
}

single_id!(
    oore_core::ids::BuildId,
    oore_core::ids::RepositoryId,
    oore_core::ids::WebhookEventId,
    oore_core::ids::ArtifactId
);

/// Only the second path parameter: `Ids<Second<ArtifactId>>` beside a [`BuildRef`].
#[derive(Debug)]
pub(crate) struct Second<T>(pub(crate) T);

impl<T> FromPathValues for Second<T>
where
    T: std::str::FromStr<Err = oore_core::ids::InvalidId>,
{
    fn from_values(values: &[&str]) -> Result<Self, ApiError> {
        parse_id(values.get(1)).map(Self)
    }
}

impl<A: FromPathValues, B> FromPathValues for (A, B)
where
    B: std::str::FromStr<Err = oore_core::ids::InvalidId>,
{
    fn from_values(values: &[&str]) -> Result<Self, ApiError> {
        Ok((A::from_values(values)?, parse_id(values.get(1))?))
    }
}

impl<T: FromPathValues, S: Send + Sync> FromRequestParts<S> for Ids<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let params = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|e: RawPathParamsRejection| ApiError::invalid_id_text(e.body_text()))?;
        let values: Vec<&str> = params.iter().map(|(_, value)| value).collect();
        T::from_values(&values).map(Self)
    }
}

/// The route's first path parameter as sent (percent-decoded), unparsed: for the
/// webhook receivers, which refuse a bad id as a delivery rather than as a request.
#[derive(Debug)]
pub(crate) struct RawId(pub(crate) String);

impl<S: Send + Sync> FromRequestParts<S> for RawId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        first_param(parts, state).await.map(Self)
    }
}

/// The first path parameter as sent (percent-decoded).
async fn first_param<S: Send + Sync>(parts: &mut Parts, state: &S) -> Result<String, ApiError> {
    let params = RawPathParams::from_request_parts(parts, state)
        .await
        .map_err(|e: RawPathParamsRejection| ApiError::invalid_id_text(e.body_text()))?;
    Ok(params
        .iter()
        .next()
        .map(|(_, value)| value.to_owned())
        .unwrap_or_default())
}

/// The repository the route's `{id}` names: its id, a unique id suffix (the short id the
/// lists print) or `owner/name` (core's `resolve_repository`). A malformed reference is
/// 400 `invalid_id`, an unknown one 404, an ambiguous one 409 listing the candidates.
#[derive(Debug)]
pub(crate) struct RepoRef(pub(crate) Repository);

impl FromRequestParts<App> for RepoRef {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        let raw = first_param(parts, app).await?;
        resolve_repository(app.services(), &raw)
            .await
            .map(Self)
            .map_err(|e| match e {
                ResolveRepositoryError::Invalid(_) => ApiError::invalid_reference(&e),
                other => ApiError::from(other),
            })
    }
}

/// The build the route's `{id}` names: its id, a unique id suffix, or
/// `REPOSITORY#NUMBER` (core's `resolve_build`); errors as for [`RepoRef`].
#[derive(Debug)]
pub(crate) struct BuildRef(pub(crate) Build);

impl FromRequestParts<App> for BuildRef {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        let raw = first_param(parts, app).await?;
        resolve_build(app.services(), &raw)
            .await
            .map(Self)
            .map_err(|e| match e {
                ResolveBuildError::Invalid(_) | ResolveBuildError::BadNumber(_) => {
                    ApiError::invalid_reference(&e)
                }
                ResolveBuildError::Repository(ResolveRepositoryError::Invalid(_)) => {
                    ApiError::invalid_reference(&e)
                }
                other => ApiError::from(other),
            })
    }
}

/// Resolves the `repository=` query parameter of the list endpoints when it is a
/// reference other than a full id (`me/app`, a short id), replacing it with the id, so
/// the handler's parser sees an id. A full id is kept as it is: it also lists the history
/// of a removed repository. A malformed reference is a 400 on `repository`, an unknown
/// or ambiguous one 404 or 409.
pub(crate) async fn resolve_repository_param(
    app: &App,
    pairs: &mut [(String, String)],
) -> Result<(), ApiError> {
    for (name, value) in pairs.iter_mut() {
        if name != "repository" || value.trim().parse::<oore_core::ids::RepositoryId>().is_ok() {
            continue;
        }
        match resolve_repository(app.services(), value).await {
            Ok(repo) => *value = repo.id.to_string(),
            Err(e @ ResolveRepositoryError::Invalid(_)) => {
                return Err(ApiError::validation(&FieldErrors::from(FieldError::new(
                    "repository",
                    e.to_string(),
                ))));
            }
            Err(e) => return Err(ApiError::from(e)),
        }
    }
    Ok(())
}

/// The client's address, when the connection gave one (`serve` records it).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Peer(pub(crate) Option<std::net::SocketAddr>);

impl<S: Send + Sync> FromRequestParts<S> for Peer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(
            parts
                .extensions
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map(|info| info.0),
        ))
    }
}

/// The query string's pairs (see the module doc).
#[derive(Debug, Default)]
pub(crate) struct QueryPairs(pub(crate) Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for QueryPairs {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        serde_urlencoded::from_str(query)
            .map(Self)
            .map_err(|e| ApiError::invalid_query(&e))
    }
}

/// The pairs of a query string, for handler tests.
#[cfg(test)]
pub(crate) fn pairs(query: &str) -> Vec<(String, String)> {
    serde_urlencoded::from_str(query).expect("a query string")
}

#[cfg(test)]
mod tests {
    use axum::body::Body;

    use super::*;
    use oore_core::testing::block_on;

    fn request(content_type: Option<&str>, body: impl Into<Body>) -> Request {
        let mut builder = http::Request::post("/x");
        if let Some(ct) = content_type {
            builder = builder.header(CONTENT_TYPE, ct);
        }
        builder.body(body.into()).unwrap()
    }

    fn json(request: Request) -> Result<serde_json::Value, ApiError> {
        block_on(ApiJson::from_request(request, &())).map(|ApiJson(v)| v)
    }

    fn status_of(result: Result<serde_json::Value, ApiError>) -> u16 {
        result.unwrap_err().status().as_u16()
    }

    #[test]
    fn accepts_json_content_types() {
        for ct in [
            "application/json",
            "application/json; charset=utf-8",
            "Application/JSON",
            "application/merge-patch+json",
        ] {
            let value = json(request(Some(ct), "{\"a\":1}")).unwrap();
            assert_eq!(value["a"], 1, "{ct}");
        }
    }

    #[test]
    fn rejects_other_content_types_with_415() {
        for ct in [
            None,
            Some("text/plain"),
            Some("application/x-www-form-urlencoded"),
        ] {
            assert_eq!(status_of(json(request(ct, "{}"))), 415, "{ct:?}");
        }
    }

    #[test]
    fn malformed_and_empty_json_is_400() {
        let err = json(request(Some("application/json"), "{\"a\":\n  oops}")).unwrap_err();
        assert_eq!(err.status().as_u16(), 400);
        let rendered = format!("{err:?}");
        assert!(rendered.contains("line 2 column 3"), "{rendered}");
        assert_eq!(
            status_of(json(request(Some("application/json"), "  "))),
            400
        );
    }

    #[test]
    fn an_empty_optional_body_is_the_default() {
        let empty = block_on(OptionalJson::<serde_json::Value>::from_request(
            request(None, ""),
            &(),
        ))
        .unwrap();
        assert_eq!(empty.0, serde_json::Value::Null);
        let err = block_on(OptionalJson::<serde_json::Value>::from_request(
            request(Some("text/plain"), "{}"),
            &(),
        ))
        .unwrap_err();
        assert_eq!(err.status().as_u16(), 415);
    }

    #[test]
    fn query_pairs_keep_order_and_decode_both_sides() {
        let mut parts = http::Request::get("/x?a=1&&b&c%3D=x+y&caf%C3%A9=%41")
            .body(())
            .unwrap()
            .into_parts()
            .0;
        let QueryPairs(pairs) = block_on(QueryPairs::from_request_parts(&mut parts, &())).unwrap();
        assert_eq!(
            pairs,
            [
                ("a".to_owned(), "1".to_owned()),
                ("b".to_owned(), String::new()),
                ("c=".to_owned(), "x y".to_owned()),
                ("café".to_owned(), "A".to_owned()),
            ]
        );
    }
}
