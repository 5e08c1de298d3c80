//! `GET /api/openapi.json`: the OpenAPI 3.1 document of every route, generated from the
//! handlers' `#[utoipa::path]` attributes and the wire types' `ToSchema` derives, so it
//! cannot drift from the code. Public like `/api/version`: it describes the API, it
//! holds no data.

use std::sync::OnceLock;

use axum::body::Bytes;
use http::StatusCode;
use http::header::{CACHE_CONTROL, CONTENT_TYPE};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{Components, InfoBuilder, OpenApi, OpenApiBuilder};

use crate::httpd::response::Response;
use crate::httpd::routes::{Access, RouteInfo, openapi_document};

/// The security scheme name of the admin token.
const ADMIN_TOKEN: &str = "admin_token";

/// The document before the routes are added: title, version, the admin token scheme.
pub(crate) fn base() -> OpenApi {
    let mut components = Components::new();
    components.add_security_scheme(
        ADMIN_TOKEN,
        SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
    );
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("Oore API")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(
                    "The JSON API of oored, the Oore CI server. Every route except the public ones \
                     needs `Authorization: Bearer <admin token>`. Errors are `ErrorEnvelope` \
                     bodies carrying the request id, also sent as `X-Request-Id`.",
                ))
                .build(),
        )
        .components(Some(components))
        .build()
}

/// Marks every admin route as needing the admin token.
pub(crate) fn secure(document: &mut OpenApi, routes: &[RouteInfo]) {
    for route in routes.iter().filter(|r| r.access == Access::Admin) {
        let Some(item) = document.paths.paths.get_mut(&route.path) else {
            continue;
        };
        let operation = match route.method.as_str() {
            "GET" => item.get.as_mut(),
            "PUT" => item.put.as_mut(),
            "POST" => item.post.as_mut(),
            "DELETE" => item.delete.as_mut(),
            "PATCH" => item.patch.as_mut(),
            _ => None,
        };
        if let Some(operation) = operation {
            operation.security = Some(vec![SecurityRequirement::new(
                ADMIN_TOKEN,
                Vec::<String>::new(),
            )]);
        }
    }
}

/// The serialized document, built once.
fn serialized() -> Bytes {
    static DOCUMENT: OnceLock<Bytes> = OnceLock::new();
    DOCUMENT
        .get_or_init(|| match openapi_document().to_json() {
            Ok(json) => Bytes::from(json),
            Err(e) => {
                tracing::error!(error = %e, "the OpenAPI document could not be serialized");
                Bytes::from_static(b"{}")
            }
        })
        .clone()
}

/// `GET /api/openapi.json`.
#[utoipa::path(
    get,
    path = "/api/openapi.json",
    operation_id = "openapi_document",
    tag = "system",
    responses((status = 200, description = "This API's OpenAPI 3.1 document", content_type = "application/json"))
)]
pub(crate) async fn document() -> Response {
    let mut response = Response::new(serialized().into());
    *response.status_mut() = StatusCode::OK;
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    headers.insert(CACHE_CONTROL, http::HeaderValue::from_static("no-cache"));
    response
}
