//! The route table: every endpoint with its method, path pattern and whether it is
//! public. The request pipeline matches against it and the tests walk it, so a route
//! cannot be added without being covered by the authentication test.

use http::Method;

/// What a route does; dispatched in [`super::handlers::dispatch`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `GET /api/health`.
    Health,
    /// `GET /api/version`.
    Version,
    /// `GET /api/setup/status`.
    SetupStatus,
    /// `GET /api/repositories`.
    ListRepositories,
    /// `POST /api/repositories`.
    CreateRepository,
    /// `GET /api/repositories/:id`.
    GetRepository,
    /// `PUT /api/repositories/:id`.
    UpdateRepository,
    /// `DELETE /api/repositories/:id`.
    DeleteRepository,
    /// `POST /api/repositories/:id/activate`.
    ActivateRepository,
    /// `POST /api/repositories/:id/deactivate`.
    DeactivateRepository,
    /// `GET /api/repositories/:id/webhook-url`.
    RepositoryWebhookUrl,
    /// `POST /api/pipelines/validate`.
    ValidatePipeline,
    /// `POST /api/pipelines/convert`.
    ConvertPipeline,
    /// `GET /api/repositories/:id/pipeline`.
    GetPipeline,
    /// `PUT /api/repositories/:id/pipeline`.
    SetPipeline,
    /// `DELETE /api/repositories/:id/pipeline`.
    DeletePipeline,
    /// `GET /api/repositories/:id/pipeline/history`.
    PipelineHistory,
    /// `POST /api/repositories/:id/pipeline/restore`.
    RestorePipeline,
    /// `POST /api/repositories/:id/trigger`.
    TriggerBuild,
    /// `GET /api/builds`.
    ListBuilds,
    /// `GET /api/builds/:id`.
    GetBuild,
    /// `GET /api/builds/:id/steps`.
    ListBuildSteps,
    /// `POST /api/builds/:id/cancel`.
    CancelBuild,
    /// `GET /api/builds/:id/logs`.
    BuildLogChunk,
    /// `GET /api/builds/:id/logs/stream`.
    BuildLogStream,
    /// `GET /api/builds/:id/artifacts`.
    ListArtifacts,
    /// `GET /api/builds/:id/artifacts/:artifact_id`.
    DownloadArtifact,
    /// `GET /api/builds/:id/artifacts.zip`.
    DownloadArtifactsZip,
    /// `POST /api/webhooks/github/:repository_id` (public: verified by its signature).
    ReceiveGitHubWebhook,
    /// `POST /api/webhooks/gitlab/:repository_id` (public: verified by its token).
    ReceiveGitLabWebhook,
    /// `GET /api/webhooks`.
    ListWebhookEvents,
    /// `GET /api/webhooks/:id`.
    GetWebhookEvent,
    /// `POST /api/webhooks/:id/redeliver`.
    RedeliverWebhookEvent,
}

impl Endpoint {
    /// True for the webhook receivers, which take bodies up to `OORE_MAX_WEBHOOK_BYTES`
    /// instead of the API's limit.
    pub fn is_webhook_receiver(self) -> bool {
        matches!(
            self,
            Self::ReceiveGitHubWebhook | Self::ReceiveGitLabWebhook
        )
    }
}

/// One entry of [`ROUTES`].
#[derive(Debug, Clone)]
pub struct Route {
    /// HTTP method.
    pub method: Method,
    /// Pattern: literal segments and `:name` parameters, e.g. `/api/repositories/:id`.
    pub path: &'static str,
    /// Reachable without the admin token (health, version, the webhook receivers; later
    /// setup callbacks).
    pub public: bool,
    /// The handler.
    pub endpoint: Endpoint,
}

const fn route(method: Method, path: &'static str, public: bool, endpoint: Endpoint) -> Route {
    Route {
        method,
        path,
        public,
        endpoint,
    }
}

/// Every route `oored` serves.
pub static ROUTES: &[Route] = &[
    route(Method::GET, "/api/health", true, Endpoint::Health),
    route(Method::GET, "/api/version", true, Endpoint::Version),
    route(
        Method::GET,
        "/api/setup/status",
        false,
        Endpoint::SetupStatus,
    ),
    route(
        Method::GET,
        "/api/repositories",
        false,
        Endpoint::ListRepositories,
    ),
    route(
        Method::POST,
        "/api/repositories",
        false,
        Endpoint::CreateRepository,
    ),
    route(
        Method::GET,
        "/api/repositories/:id",
        false,
        Endpoint::GetRepository,
    ),
    route(
        Method::PUT,
        "/api/repositories/:id",
        false,
        Endpoint::UpdateRepository,
    ),
    route(
        Method::DELETE,
        "/api/repositories/:id",
        false,
        Endpoint::DeleteRepository,
    ),
    route(
        Method::POST,
        "/api/repositories/:id/activate",
        false,
        Endpoint::ActivateRepository,
    ),
    route(
        Method::POST,
        "/api/repositories/:id/deactivate",
        false,
        Endpoint::DeactivateRepository,
    ),
    route(
        Method::GET,
        "/api/repositories/:id/webhook-url",
        false,
        Endpoint::RepositoryWebhookUrl,
    ),
    route(
        Method::POST,
        "/api/pipelines/validate",
        false,
        Endpoint::ValidatePipeline,
    ),
    route(
        Method::POST,
        "/api/pipelines/convert",
        false,
        Endpoint::ConvertPipeline,
    ),
    route(
        Method::GET,
        "/api/repositories/:id/pipeline",
        false,
        Endpoint::GetPipeline,
    ),
    route(
        Method::PUT,
        "/api/repositories/:id/pipeline",
        false,
        Endpoint::SetPipeline,
    ),
    route(
        Method::DELETE,
        "/api/repositories/:id/pipeline",
        false,
        Endpoint::DeletePipeline,
    ),
    route(
        Method::GET,
        "/api/repositories/:id/pipeline/history",
        false,
        Endpoint::PipelineHistory,
    ),
    route(
        Method::POST,
        "/api/repositories/:id/pipeline/restore",
        false,
        Endpoint::RestorePipeline,
    ),
    route(
        Method::POST,
        "/api/repositories/:id/trigger",
        false,
        Endpoint::TriggerBuild,
    ),
    route(Method::GET, "/api/builds", false, Endpoint::ListBuilds),
    route(Method::GET, "/api/builds/:id", false, Endpoint::GetBuild),
    route(
        Method::GET,
        "/api/builds/:id/steps",
        false,
        Endpoint::ListBuildSteps,
    ),
    route(
        Method::POST,
        "/api/builds/:id/cancel",
        false,
        Endpoint::CancelBuild,
    ),
    route(
        Method::GET,
        "/api/builds/:id/logs",
        false,
        Endpoint::BuildLogChunk,
    ),
    route(
        Method::GET,
        "/api/builds/:id/logs/stream",
        false,
        Endpoint::BuildLogStream,
    ),
    route(
        Method::GET,
        "/api/builds/:id/artifacts",
        false,
        Endpoint::ListArtifacts,
    ),
    route(
        Method::GET,
        "/api/builds/:id/artifacts/:artifact_id",
        false,
        Endpoint::DownloadArtifact,
    ),
    route(
        Method::GET,
        "/api/builds/:id/artifacts.zip",
        false,
        Endpoint::DownloadArtifactsZip,
    ),
    route(
        Method::POST,
        "/api/webhooks/github/:repository_id",
        true,
        Endpoint::ReceiveGitHubWebhook,
    ),
    route(
        Method::POST,
        "/api/webhooks/gitlab/:repository_id",
        true,
        Endpoint::ReceiveGitLabWebhook,
    ),
    route(
        Method::GET,
        "/api/webhooks",
        false,
        Endpoint::ListWebhookEvents,
    ),
    route(
        Method::GET,
        "/api/webhooks/:id",
        false,
        Endpoint::GetWebhookEvent,
    ),
    route(
        Method::POST,
        "/api/webhooks/:id/redeliver",
        false,
        Endpoint::RedeliverWebhookEvent,
    ),
];

/// Values of a matched route's `:name` segments.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct PathParams(Vec<(&'static str, String)>);

impl PathParams {
    /// The value of `:name`; empty if the route has no such parameter (a bug the
    /// handler's id parsing then reports as an invalid id).
    pub(crate) fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(n, _)| *n == name)
            .map_or("", |(_, v)| v.as_str())
    }
}

/// The outcome of matching a request against [`ROUTES`].
#[derive(Debug)]
pub(crate) enum RouteMatch {
    /// A route handles it.
    Found(&'static Route, PathParams),
    /// The path exists, but not with this method; the allowed methods.
    MethodNotAllowed(Vec<Method>),
    /// No route has this path.
    NotFound,
}

/// Matches `method` and `path` (a single trailing slash is ignored).
pub(crate) fn match_route(method: &Method, path: &str) -> RouteMatch {
    let path = if path.len() > 1 {
        path.strip_suffix('/').unwrap_or(path)
    } else {
        path
    };
    let mut allowed = Vec::new();
    for route in ROUTES {
        if let Some(params) = match_path(route.path, path) {
            if route.method == *method {
                return RouteMatch::Found(route, params);
            }
            allowed.push(route.method.clone());
        }
    }
    if allowed.is_empty() {
        RouteMatch::NotFound
    } else {
        RouteMatch::MethodNotAllowed(allowed)
    }
}

/// The methods `path` is served with (empty for an unknown path), for `OPTIONS`.
pub(crate) fn methods_for(path: &str) -> Vec<Method> {
    match match_route(&Method::OPTIONS, path) {
        RouteMatch::MethodNotAllowed(methods) => methods,
        RouteMatch::Found(route, _) => vec![route.method.clone()],
        RouteMatch::NotFound => Vec::new(),
    }
}

fn match_path(pattern: &'static str, path: &str) -> Option<PathParams> {
    let mut params = Vec::new();
    let mut pattern_segments = pattern.split('/');
    let mut path_segments = path.split('/');
    loop {
        match (pattern_segments.next(), path_segments.next()) {
            (None, None) => return Some(PathParams(params)),
            (Some(p), Some(s)) => {
                if let Some(name) = p.strip_prefix(':') {
                    if s.is_empty() {
                        return None;
                    }
                    params.push((name, s.to_owned()));
                } else if p != s {
                    return None;
                }
            }
            _ => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_literals_and_parameters() {
        let RouteMatch::Found(route, params) =
            match_route(&Method::GET, "/api/repositories/01ABC/webhook-url")
        else {
            panic!("no match");
        };
        assert_eq!(route.endpoint, Endpoint::RepositoryWebhookUrl);
        assert_eq!(params.get("id"), "01ABC");
        assert!(
            matches!(match_route(&Method::GET, "/api/health/"), RouteMatch::Found(r, _) if r.endpoint == Endpoint::Health)
        );
        let RouteMatch::Found(route, params) =
            match_route(&Method::POST, "/api/repositories/01ABC/pipeline/restore")
        else {
            panic!("no match");
        };
        assert_eq!(
            (route.endpoint, params.get("id")),
            (Endpoint::RestorePipeline, "01ABC")
        );
    }

    #[test]
    fn wrong_method_lists_the_allowed_ones() {
        let RouteMatch::MethodNotAllowed(allowed) =
            match_route(&Method::PATCH, "/api/repositories/x")
        else {
            panic!("expected 405");
        };
        assert_eq!(allowed, [Method::GET, Method::PUT, Method::DELETE]);
    }

    #[test]
    fn pipeline_path_serves_get_put_and_delete() {
        let RouteMatch::MethodNotAllowed(allowed) =
            match_route(&Method::POST, "/api/repositories/x/pipeline")
        else {
            panic!("expected 405");
        };
        assert_eq!(allowed, [Method::GET, Method::PUT, Method::DELETE]);
    }

    #[test]
    fn build_routes_match_with_their_parameters() {
        let cases = [
            (
                Method::POST,
                "/api/repositories/R/trigger",
                Endpoint::TriggerBuild,
            ),
            (Method::GET, "/api/builds", Endpoint::ListBuilds),
            (Method::GET, "/api/builds/B", Endpoint::GetBuild),
            (Method::POST, "/api/builds/B/cancel", Endpoint::CancelBuild),
            (
                Method::GET,
                "/api/builds/B/logs/stream",
                Endpoint::BuildLogStream,
            ),
            (
                Method::GET,
                "/api/builds/B/artifacts.zip",
                Endpoint::DownloadArtifactsZip,
            ),
            (
                Method::GET,
                "/api/builds/B/artifacts/A",
                Endpoint::DownloadArtifact,
            ),
        ];
        for (method, path, endpoint) in cases {
            let RouteMatch::Found(route, params) = match_route(&method, path) else {
                panic!("{method} {path} did not match");
            };
            assert_eq!(route.endpoint, endpoint, "{path}");
            if path.starts_with("/api/builds/") {
                assert_eq!(params.get("id"), "B", "{path}");
            }
        }
        let RouteMatch::Found(_, params) = match_route(&Method::GET, "/api/builds/B/artifacts/A")
        else {
            panic!("no match");
        };
        assert_eq!(params.get("artifact_id"), "A");
    }

    #[test]
    fn unknown_paths_do_not_match() {
        for path in [
            "/",
            "/api",
            "/api/repositories/x/y",
            "/api/repositories//activate",
            "/apix/health",
            "/api/health/extra",
        ] {
            assert!(
                matches!(match_route(&Method::GET, path), RouteMatch::NotFound),
                "{path}"
            );
        }
    }

    #[test]
    fn webhook_routes_match_receivers_before_events() {
        let cases = [
            (
                Method::POST,
                "/api/webhooks/github/R",
                Endpoint::ReceiveGitHubWebhook,
                "repository_id",
            ),
            (
                Method::POST,
                "/api/webhooks/gitlab/R",
                Endpoint::ReceiveGitLabWebhook,
                "repository_id",
            ),
            (
                Method::GET,
                "/api/webhooks/R",
                Endpoint::GetWebhookEvent,
                "id",
            ),
            (
                Method::POST,
                "/api/webhooks/R/redeliver",
                Endpoint::RedeliverWebhookEvent,
                "id",
            ),
        ];
        for (method, path, endpoint, param) in cases {
            let RouteMatch::Found(route, params) = match_route(&method, path) else {
                panic!("{method} {path} did not match");
            };
            assert_eq!(
                (route.endpoint, params.get(param)),
                (endpoint, "R"),
                "{path}"
            );
        }
        let RouteMatch::MethodNotAllowed(allowed) =
            match_route(&Method::GET, "/api/webhooks/github/R")
        else {
            panic!("expected 405");
        };
        assert_eq!(allowed, [Method::POST]);
        assert!(Endpoint::ReceiveGitLabWebhook.is_webhook_receiver());
        assert!(!Endpoint::RedeliverWebhookEvent.is_webhook_receiver());
    }

    #[test]
    fn table_has_no_duplicates_and_only_health_version_and_receivers_are_public() {
        for (i, a) in ROUTES.iter().enumerate() {
            for b in &ROUTES[i + 1..] {
                assert!(
                    !(a.method == b.method && a.path == b.path),
                    "{} {} twice",
                    a.method,
                    a.path
                );
            }
        }
        let public: Vec<&str> = ROUTES.iter().filter(|r| r.public).map(|r| r.path).collect();
        assert_eq!(
            public,
            [
                "/api/health",
                "/api/version",
                "/api/webhooks/github/:repository_id",
                "/api/webhooks/gitlab/:repository_id",
            ]
        );
        for route in ROUTES.iter().filter(|r| r.public) {
            assert!(
                route.method == Method::GET || route.endpoint.is_webhook_receiver(),
                "{} {} is public: only reads and the signed receivers may be",
                route.method,
                route.path
            );
        }
    }
}
