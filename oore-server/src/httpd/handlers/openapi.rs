//! `GET /api/openapi.json`: the OpenAPI 3.1 document of every route, generated from the
//! handlers' `#[utoipa::path]` attributes and the wire types' `ToSchema` derives, so it
//! cannot drift from the code. Public like `/api/version`: it describes the API, it
//! holds no data.

use std::sync::OnceLock;

use axum::body::Bytes;
use http::StatusCode;
use http::header::{CACHE_CONTROL, CONTENT_TYPE};
use utoipa::openapi::response::{Response as ApiResponse, ResponseBuilder};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{ContentBuilder, InfoBuilder, OpenApi, OpenApiBuilder, Ref, RefOr};

use crate::httpd::response::Response;
use crate::httpd::routes::{Access, RouteInfo, openapi_document};

/// The security scheme name of the admin token.
const ADMIN_TOKEN: &str = "admin_token";

/// The document before the routes are added: title, version, every wire type's schema
/// and the admin token scheme.
pub(crate) fn base() -> OpenApi {
    let mut components = oore_core::api::openapi::components();
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

/// An answer with the JSON error envelope.
fn error_response(description: &str) -> RefOr<ApiResponse> {
    RefOr::T(
        ResponseBuilder::new()
            .description(description)
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("ErrorEnvelope")))
                    .build(),
            )
            .build(),
    )
}

/// What every route has in common: any other status is the error envelope, and the
/// admin routes need the admin token (401 without it).
pub(crate) fn finish(document: &mut OpenApi, routes: &[RouteInfo]) {
    for route in routes {
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
        let Some(operation) = operation else {
            continue;
        };
        let responses = &mut operation.responses.responses;
        responses.insert(
            "default".to_owned(),
            error_response("An error: the JSON envelope with a code, a message that says what to do, and the request id"),
        );
        if route.access == Access::Admin {
            responses.insert(
                "401".to_owned(),
                error_response("Missing or invalid admin token"),
            );
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
