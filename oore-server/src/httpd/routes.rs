//! The route table: every endpoint once, with who may call it. Each entry is one handler
//! whose `#[utoipa::path]` attribute gives its method and path, so the router, the
//! OpenAPI document and the authentication test all read the same list and cannot
//! disagree. Adding an endpoint: write the handler with its attribute, add one line
//! here (see "Add an endpoint" in `docs/ARCHITECTURE.md`).

use axum::Router;
use axum::middleware::from_fn_with_state;
use http::Method;
use utoipa::openapi::path::Paths;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouter};
use utoipa_axum::routes;

use super::handlers::{
    artifacts, builds, github, github_pages, logs, openapi, pipelines, repositories, system,
    webhooks,
};
use super::layers::require_admin;
use crate::app::App;

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone (health, version, the OpenAPI document). Only reads may be public.
    Public,
    /// Anyone, authenticated by the delivery's signature or token instead of the admin
    /// token: the webhook receivers. They read their body themselves, up to
    /// `OORE_MAX_WEBHOOK_BYTES`.
    Signed,
    /// The admin bearer token.
    Admin,
}

/// One route as the tests and the docs see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteInfo {
    /// HTTP method (GET routes also answer HEAD).
    pub method: Method,
    /// Pattern with `{name}` parameters, e.g. `/api/builds/{id}`.
    pub path: String,
    /// Who may call it.
    pub access: Access,
    /// The OpenAPI operation id.
    pub operation_id: String,
}

impl RouteInfo {
    /// Reachable without the admin token.
    pub fn is_public(&self) -> bool {
        self.access != Access::Admin
    }

    /// A webhook receiver (signed deliveries, their own body limit).
    pub fn is_webhook_receiver(&self) -> bool {
        self.access == Access::Signed
    }
}

/// A route with its handler.
pub(crate) struct Route {
    access: Access,
    handler: UtoipaMethodRouter<App>,
}

fn public(handler: UtoipaMethodRouter<App>) -> Route {
    Route {
        access: Access::Public,
        handler,
    }
}

fn signed(handler: UtoipaMethodRouter<App>) -> Route {
    Route {
        access: Access::Signed,
        handler,
    }
}

fn admin(handler: UtoipaMethodRouter<App>) -> Route {
    Route {
        access: Access::Admin,
        handler,
    }
}

/// Every route `oored` serves.
pub(crate) fn table() -> Vec<Route> {
    vec![
        public(routes!(system::health)),
        public(routes!(system::version)),
        public(routes!(openapi::document)),
        admin(routes!(system::setup_status)),
        admin(routes!(repositories::list)),
        admin(routes!(repositories::create)),
        admin(routes!(repositories::get)),
        admin(routes!(repositories::update)),
        admin(routes!(repositories::delete)),
        admin(routes!(repositories::activate)),
        admin(routes!(repositories::deactivate)),
        admin(routes!(repositories::webhook_url)),
        admin(routes!(pipelines::validate)),
        admin(routes!(pipelines::convert)),
        admin(routes!(pipelines::get)),
        admin(routes!(pipelines::set)),
        admin(routes!(pipelines::delete)),
        admin(routes!(pipelines::history)),
        admin(routes!(pipelines::restore)),
        admin(routes!(builds::trigger)),
        admin(routes!(builds::list)),
        admin(routes!(builds::get)),
        admin(routes!(builds::steps)),
        admin(routes!(builds::cancel)),
        admin(routes!(logs::chunk)),
        admin(routes!(logs::stream)),
        admin(routes!(artifacts::list)),
        admin(routes!(artifacts::download)),
        admin(routes!(artifacts::zip)),
        signed(routes!(webhooks::receive_github)),
        signed(routes!(webhooks::receive_gitlab)),
        admin(routes!(webhooks::list)),
        admin(routes!(webhooks::refusals)),
        admin(routes!(webhooks::get)),
        admin(routes!(webhooks::redeliver)),
        admin(routes!(webhooks::approve)),
        admin(routes!(github::setup)),
        admin(routes!(github::setup_status_of)),
        admin(routes!(github::setup_callback)),
        admin(routes!(github::status)),
        admin(routes!(github::installations)),
        admin(routes!(github::sync)),
        admin(routes!(github::remove)),
        admin(routes!(github::rotate_key)),
        public(routes!(github_pages::page)),
        public(routes!(github_pages::callback)),
        public(routes!(github_pages::installed)),
    ]
}

fn methods_of(paths: &Paths) -> Vec<(String, Method, String)> {
    let mut out = Vec::new();
    for (path, item) in &paths.paths {
        let operations = [
            (Method::GET, &item.get),
            (Method::PUT, &item.put),
            (Method::POST, &item.post),
            (Method::DELETE, &item.delete),
            (Method::PATCH, &item.patch),
            (Method::OPTIONS, &item.options),
            (Method::HEAD, &item.head),
            (Method::TRACE, &item.trace),
        ];
        for (method, operation) in operations {
            if let Some(operation) = operation {
                let id = operation.operation_id.clone().unwrap_or_default();
                out.push((path.clone(), method, id));
            }
        }
    }
    out
}

impl Route {
    fn infos(&self) -> Vec<RouteInfo> {
        methods_of(&self.handler.1)
            .into_iter()
            .map(|(path, method, operation_id)| RouteInfo {
                method,
                path,
                access: self.access,
                operation_id,
            })
            .collect()
    }
}

/// Every route `oored` serves, as data (for tests, the docs and the 405/OPTIONS answers).
pub fn route_table() -> Vec<RouteInfo> {
    table().iter().flat_map(Route::infos).collect()
}

/// The OpenAPI 3.1 document of [`table`] (served at `/api/openapi.json`).
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    let mut api = OpenApiRouter::<App>::with_openapi(openapi::base());
    for route in table() {
        api = api.routes(route.handler);
    }
    let mut document = api.into_openapi();
    openapi::finish(&mut document, &route_table());
    document
}

/// The router over [`table`]: admin routes get the token check (which also refuses a
/// declared body over the API limit); public routes read no body, and the receivers
/// check their own limit before reading.
pub(crate) fn router(app: &App) -> Router<App> {
    let mut api = OpenApiRouter::new();
    for route in table() {
        let (schemas, paths, handler) = route.handler;
        let handler = match route.access {
            Access::Public | Access::Signed => handler,
            Access::Admin => handler.route_layer(from_fn_with_state(app.clone(), require_admin)),
        };
        api = api.routes((schemas, paths, handler));
    }
    Router::from(api)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_has_no_duplicates_and_only_health_version_openapi_receivers_and_setup_pages_are_public()
     {
        let routes = route_table();
        for (i, a) in routes.iter().enumerate() {
            for b in &routes[i + 1..] {
                assert!(
                    !(a.method == b.method && a.path == b.path),
                    "{} {} twice",
                    a.method,
                    a.path
                );
                assert_ne!(a.operation_id, b.operation_id, "operation ids are unique");
            }
            assert!(!a.operation_id.is_empty(), "{} {}", a.method, a.path);
        }
        let public: Vec<&str> = routes
            .iter()
            .filter(|r| r.is_public())
            .map(|r| r.path.as_str())
            .collect();
        assert_eq!(
            public,
            [
                "/api/health",
                "/api/version",
                "/api/openapi.json",
                "/api/webhooks/github/{repository_id}",
                "/api/webhooks/gitlab/{repository_id}",
                // The browser's GitHub setup pages: guarded by their single-use state.
                "/setup/github",
                "/setup/github/callback",
                "/setup/github/installed",
            ]
        );
        for route in routes.iter().filter(|r| r.is_public()) {
            assert!(
                route.method == Method::GET || route.is_webhook_receiver(),
                "{} {} is public: only reads and the signed receivers may be",
                route.method,
                route.path
            );
        }
        assert!(routes.len() >= 36, "{} routes", routes.len());
    }

    #[test]
    fn every_path_builder_names_a_route_and_every_route_has_a_builder() {
        use oore_core::api::paths;
        let (b, a) = ("01JD000000000000000000000B", "01JD000000000000000000000A");
        // Each builder with the method the client uses it with.
        let built = [
            ("GET", paths::health()),
            ("GET", paths::version()),
            ("GET", paths::openapi()),
            ("GET", paths::setup_status()),
            ("GET", paths::repositories()),
            ("POST", paths::repositories()),
            ("GET", paths::repository(a)),
            ("PUT", paths::repository(a)),
            ("DELETE", paths::repository(a)),
            ("POST", paths::repository_activate(a)),
            ("POST", paths::repository_deactivate(a)),
            ("GET", paths::repository_webhook_url(a)),
            ("GET", paths::repository_pipeline(a)),
            ("PUT", paths::repository_pipeline(a)),
            ("DELETE", paths::repository_pipeline(a)),
            ("GET", paths::repository_pipeline_history(a)),
            ("POST", paths::repository_pipeline_restore(a)),
            ("POST", paths::repository_trigger(a)),
            ("POST", paths::pipelines_validate()),
            ("POST", paths::pipelines_convert()),
            ("GET", paths::builds()),
            ("GET", paths::build(b)),
            ("GET", paths::build_steps(b)),
            ("POST", paths::build_cancel(b)),
            ("GET", paths::build_logs(b)),
            ("GET", paths::build_logs_stream(b)),
            ("GET", paths::build_artifacts(b)),
            ("GET", paths::build_artifact(b, a)),
            ("GET", paths::build_artifacts_zip(b)),
            ("POST", paths::github_webhook(a)),
            ("POST", paths::gitlab_webhook(a)),
            ("GET", paths::webhooks()),
            ("GET", paths::webhook(a)),
            ("POST", paths::webhook_redeliver(a)),
            ("POST", paths::webhook_approve(a)),
            ("GET", paths::webhook_refusals()),
            ("POST", paths::github_setup()),
            ("GET", paths::github_setup_status("s")),
            ("POST", paths::github_setup_callback()),
            ("GET", paths::github_status()),
            ("GET", paths::github_installations()),
            ("POST", paths::github_sync()),
            ("DELETE", paths::github_app()),
            ("PUT", paths::github_app_private_key()),
            ("GET", paths::github_setup_page("s")),
            ("GET", "/setup/github/callback".to_owned()),
            ("GET", "/setup/github/installed".to_owned()),
        ];
        let routes = route_table();
        // Several methods share a path: each path maps to the indexes of its routes.
        let mut by_path: Vec<(&str, Vec<usize>)> = Vec::new();
        for (i, route) in routes.iter().enumerate() {
            match by_path.iter_mut().find(|(p, _)| *p == route.path) {
                Some((_, indexes)) => indexes.push(i),
                None => by_path.push((&route.path, vec![i])),
            }
        }
        let mut matcher = matchit::Router::new();
        for (path, indexes) in by_path {
            matcher.insert(path, indexes).unwrap();
        }
        let mut covered = vec![false; routes.len()];
        for (method, path) in &built {
            let found = matcher
                .at(path.split('?').next().unwrap_or(path))
                .unwrap_or_else(|_| panic!("{method} {path} matches no route"));
            let i = found
                .value
                .iter()
                .copied()
                .find(|&i| routes[i].method == *method)
                .unwrap_or_else(|| panic!("{method} {path}: no route with that method"));
            covered[i] = true;
        }
        for (route, covered) in routes.iter().zip(covered) {
            assert!(
                covered,
                "{} {} has no path builder in oore_core::api::paths",
                route.method, route.path
            );
        }
    }
}
