//! The fake's REST API under `/api/v3` (GitHub Enterprise Server's layout): the gates
//! every call passes (forges.md G0: `User-Agent`, `Accept`, `X-GitHub-Api-Version`,
//! credentials of the right kind), injected failures, the rate-limit headers, and the
//! endpoints the App uses.

use http::{HeaderMap, Method, StatusCode};
use serde_json::{Value, json};

use super::jwt;
use super::state::{CallAuth, CheckRun, CommitStatus, Failure, State, repo_json};

/// An answer: status, extra headers, JSON body.
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
    pub(crate) auth: CallAuth,
}

impl Answer {
    pub(crate) fn json(status: StatusCode, body: &Value) -> Self {
        Self {
            status,
            headers: vec![(
                "content-type".into(),
                "application/json; charset=utf-8".into(),
            )],
            body: body.to_string().into_bytes(),
            auth: CallAuth::None,
        }
    }

    fn error(status: StatusCode, message: &str) -> Self {
        Self::json(
            status,
            &json!({
                "message": message,
                "documentation_url": "https://docs.github.com/rest",
                "status": status.as_u16().to_string(),
            }),
        )
    }

    fn with_auth(mut self, auth: CallAuth) -> Self {
        self.auth = auth;
        self
    }
}

const VERSIONS: [&str; 2] = ["2022-11-28", "2026-03-10"];

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The G0 gates; `Some` is the refusal.
fn gates(headers: &HeaderMap) -> Option<Answer> {
    if header(headers, "user-agent").is_none_or(str::is_empty) {
        let mut a = Answer::error(
            StatusCode::FORBIDDEN,
            "Request forbidden by administrative rules. Please make sure your request has a User-Agent header (https://docs.github.com/en/rest/overview/resources-in-the-rest-api#user-agent-required). Check https://developer.github.com for other possible causes.",
        );
        a.headers = vec![("content-type".into(), "text/plain".into())];
        return Some(a);
    }
    match header(headers, "x-github-api-version") {
        Some(v) if VERSIONS.contains(&v) => {}
        Some(v) => {
            return Some(Answer::error(
                StatusCode::BAD_REQUEST,
                &format!("API version {v} is not supported."),
            ));
        }
        None => {
            return Some(Answer::error(
                StatusCode::BAD_REQUEST,
                "this fake requires X-GitHub-Api-Version (Oore must pin the API version it speaks)",
            ));
        }
    }
    if header(headers, "accept") != Some("application/vnd.github+json") {
        return Some(Answer::error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Unsupported 'Accept' header: this fake expects application/vnd.github+json",
        ));
    }
    None
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = header(headers, "authorization")?;
    value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("token "))
}

/// A valid App JWT, or the refusal.
fn app_jwt(state: &State, headers: &HeaderMap) -> Result<(), Answer> {
    let refuse =
        |m: &str| Err(Answer::error(StatusCode::UNAUTHORIZED, m).with_auth(CallAuth::Refused));
    let Some(app) = &state.app else {
        return refuse("Integration not found");
    };
    let Some(value) = header(headers, "authorization") else {
        return refuse("A JSON web token could not be decoded");
    };
    let Some(jwt) = value.strip_prefix("Bearer ") else {
        return refuse("A JSON web token could not be decoded");
    };
    if state.tokens.contains_key(jwt) {
        return refuse("A JSON web token could not be decoded");
    }
    jwt::verify(jwt, &app.keys, &app.client_id, app.id, state.now()).or_else(|m| refuse(&m))
}

/// A valid installation token, or the refusal.
fn installation_token(state: &State, headers: &HeaderMap) -> Result<u64, Answer> {
    let refuse = || {
        Err(Answer::error(StatusCode::UNAUTHORIZED, "Bad credentials").with_auth(CallAuth::Refused))
    };
    let Some(token) = bearer(headers) else {
        return refuse();
    };
    match state.tokens.get(token) {
        Some(t)
            if t.expires_at > state.now() && state.installations.contains_key(&t.installation) =>
        {
            Ok(t.installation)
        }
        _ => refuse(),
    }
}

fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query.unwrap_or("")).ok()?;
    pairs.into_iter().find(|(k, _)| k == name).map(|(_, v)| v)
}

/// One page of `items` with GitHub's `Link` header (per_page default 30, at most 100).
fn page(
    items: Vec<Value>,
    base: &str,
    path: &str,
    query: Option<&str>,
) -> (Vec<Value>, Option<String>) {
    let per_page = query_param(query, "per_page")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(30)
        .clamp(1, 100);
    let page_no = query_param(query, "page")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(1)
        .max(1);
    let last = items.len().div_ceil(per_page).max(1);
    let slice: Vec<Value> = items
        .into_iter()
        .skip((page_no - 1) * per_page)
        .take(per_page)
        .collect();
    let url = |p: usize| format!("<{base}/api/v3{path}?per_page={per_page}&page={p}>");
    let mut links = Vec::new();
    if page_no < last {
        links.push(format!("{}; rel=\"next\"", url(page_no + 1)));
        links.push(format!("{}; rel=\"last\"", url(last)));
    }
    if page_no > 1 {
        links.push(format!("{}; rel=\"first\"", url(1)));
        links.push(format!("{}; rel=\"prev\"", url(page_no - 1)));
    }
    (slice, (!links.is_empty()).then(|| links.join(", ")))
}

fn random_hex(n: usize) -> String {
    oore_adapters::crypto::random_token()[..n].to_owned()
}

fn failure_answer(failure: &Failure, now: i64) -> Answer {
    match failure {
        Failure::RateLimited { reset_in } => {
            let mut a = Answer::error(
                StatusCode::FORBIDDEN,
                "API rate limit exceeded for installation ID 1.",
            );
            a.headers.push(("x-ratelimit-remaining".into(), "0".into()));
            a.headers.push((
                "x-ratelimit-reset".into(),
                (now + i64::try_from(*reset_in).unwrap_or(0)).to_string(),
            ));
            a
        }
        Failure::RetryAfter { secs } => {
            let mut a = Answer::error(
                StatusCode::TOO_MANY_REQUESTS,
                "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
            );
            a.headers.push(("retry-after".into(), secs.to_string()));
            a
        }
        Failure::Status { status, message } => Answer::error(
            StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            message,
        ),
    }
}

/// Answers one API call (`path` without the `/api/v3` prefix).
pub(crate) fn handle(
    state: &mut State,
    base: &str,
    method: &Method,
    path: &str,
    query: Option<&str>,
    headers: &HeaderMap,
    body: &[u8],
) -> Answer {
    if let Some(refusal) = gates(headers) {
        return refusal;
    }
    if path.ends_with('/') && path.len() > 1 {
        return Answer::error(StatusCode::NOT_FOUND, "Not Found");
    }
    if let Some(failure) = state.take_failure(method.as_str(), path) {
        return failure_answer(&failure, state.now());
    }
    let body: Option<Value> = if body.is_empty() {
        None
    } else {
        match serde_json::from_slice::<Value>(body) {
            Ok(v @ Value::Object(_)) => Some(v),
            Ok(_) => return Answer::error(StatusCode::BAD_REQUEST, "Body should be a JSON object"),
            Err(_) => return Answer::error(StatusCode::BAD_REQUEST, "Problems parsing JSON"),
        }
    };
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match (method.clone(), segments.as_slice()) {
        (Method::POST, ["app-manifests", code, "conversions"]) => convert(state, base, code),
        (Method::GET, ["app"]) => match app_jwt(state, headers) {
            Err(a) => a,
            Ok(()) => {
                let app = state.app.as_ref().expect("checked by app_jwt");
                Answer::json(
                    StatusCode::OK,
                    &json!({
                        "id": app.id, "slug": app.slug, "client_id": app.client_id,
                        "node_id": format!("A_{}", app.id), "name": app.name,
                        "owner": {"login": app.owner, "id": 1, "type": "Organization"},
                        "description": "", "external_url": base,
                        "html_url": format!("{base}/apps/{}", app.slug),
                        "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z",
                        "permissions": {}, "events": [],
                        "installations_count": state.installations.len(),
                    }),
                )
                .with_auth(CallAuth::Jwt)
            }
        },
        (Method::GET, ["app", "installations"]) => match app_jwt(state, headers) {
            Err(a) => a,
            Ok(()) => {
                let items: Vec<Value> = state
                    .installations
                    .values()
                    .map(|i| state.installation_json(i, base))
                    .collect();
                let (items, link) = page(items, base, "/app/installations", query);
                let mut a =
                    Answer::json(StatusCode::OK, &Value::Array(items)).with_auth(CallAuth::Jwt);
                if let Some(link) = link {
                    a.headers.push(("link".into(), link));
                }
                a
            }
        },
        (Method::POST, ["app", "installations", id, "access_tokens"]) => {
            if let Err(a) = app_jwt(state, headers) {
                return a;
            }
            let Some(installation) = id
                .parse::<u64>()
                .ok()
                .and_then(|id| state.installations.get(&id))
            else {
                return Answer::error(StatusCode::NOT_FOUND, "Not Found").with_auth(CallAuth::Jwt);
            };
            if installation.suspended {
                return Answer::error(
                    StatusCode::FORBIDDEN,
                    "This installation has been suspended",
                )
                .with_auth(CallAuth::Jwt);
            }
            let installation = installation.id;
            let token = format!("ghs_{}", random_hex(36));
            let expires_at = state.now() + 3600;
            state.tokens.insert(
                token.clone(),
                super::state::Token {
                    installation,
                    expires_at,
                },
            );
            let expires = jiff::Timestamp::from_second(expires_at)
                .map(|t| t.to_string())
                .unwrap_or_default();
            Answer::json(
                StatusCode::CREATED,
                &json!({
                    "token": token, "expires_at": expires,
                    "permissions": {"checks": "write", "contents": "read"},
                    "repository_selection": state.installations[&installation].selection,
                }),
            )
            .with_auth(CallAuth::Jwt)
        }
        (Method::GET, ["installation", "repositories"]) => match installation_token(state, headers)
        {
            Err(a) => a,
            Ok(id) => {
                let i = &state.installations[&id];
                let items: Vec<Value> = i.repos.iter().map(|r| repo_json(r, base)).collect();
                let total = items.len();
                let (items, link) = page(items, base, "/installation/repositories", query);
                let mut a = Answer::json(
                    StatusCode::OK,
                    &json!({"total_count": total, "repository_selection": i.selection, "repositories": items}),
                )
                .with_auth(CallAuth::Installation(id));
                if let Some(link) = link {
                    a.headers.push(("link".into(), link));
                }
                a
            }
        },
        (m, ["repos", owner, repo, "check-runs", rest @ ..])
            if m == Method::POST || m == Method::PATCH =>
        {
            let id = match installation_token(state, headers) {
                Err(a) => return a,
                Ok(id) => id,
            };
            let full = format!("{owner}/{repo}");
            if !covers(state, id, &full) {
                return Answer::error(StatusCode::NOT_FOUND, "Not Found")
                    .with_auth(CallAuth::Installation(id));
            }
            check_run(
                state,
                &full,
                rest.first().copied(),
                body.unwrap_or(Value::Null),
            )
            .with_auth(CallAuth::Installation(id))
        }
        (Method::POST, ["repos", owner, repo, "statuses", sha]) => {
            let id = match installation_token(state, headers) {
                Err(a) => return a,
                Ok(id) => id,
            };
            let full = format!("{owner}/{repo}");
            if !covers(state, id, &full) {
                return Answer::error(StatusCode::NOT_FOUND, "Not Found")
                    .with_auth(CallAuth::Installation(id));
            }
            commit_status(state, &full, sha, body.unwrap_or(Value::Null))
                .with_auth(CallAuth::Installation(id))
        }
        _ => Answer::error(StatusCode::NOT_FOUND, "Not Found"),
    }
}

fn covers(state: &State, installation: u64, full: &str) -> bool {
    state.installations[&installation]
        .repos
        .iter()
        .any(|r| format!("{}/{}", r.owner, r.name).eq_ignore_ascii_case(full))
}

fn convert(state: &mut State, base: &str, code: &str) -> Answer {
    let now = state.now();
    let Some(m) = state.manifests.get_mut(code) else {
        return Answer::error(StatusCode::NOT_FOUND, "Not Found");
    };
    if m.used || now - m.created_at > 3600 {
        return Answer::error(StatusCode::NOT_FOUND, "Not Found");
    }
    m.used = true;
    let m = m.clone();
    state.next_app_id += 1;
    let id = 1000 + state.next_app_id;
    let name = m.manifest["name"].as_str().unwrap_or("app").to_owned();
    let slug: String = name
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect::<String>()
        .split('-')
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    let app = super::state::App {
        id,
        slug: slug.clone(),
        name: name.clone(),
        client_id: format!("Iv23li{}", random_hex(14)),
        owner: m.owner.clone(),
        webhook_secret: random_hex(40),
        client_secret: random_hex(40),
        keys: vec![jwt::public_key(&state.key_pem)],
    };
    let body = json!({
        "id": id, "slug": slug, "node_id": format!("A_{id}"), "name": name,
        "description": m.manifest["description"], "external_url": m.manifest["url"],
        "html_url": format!("{base}/apps/{slug}"),
        "owner": {"login": m.owner, "id": 1, "type": "Organization"},
        "client_id": app.client_id, "client_secret": app.client_secret,
        "webhook_secret": app.webhook_secret, "pem": state.key_pem,
        "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z",
        "permissions": m.manifest["default_permissions"], "events": m.manifest["default_events"],
    });
    state.app = Some(app);
    Answer::json(StatusCode::CREATED, &body)
}

fn check_run(state: &mut State, repo: &str, id: Option<&str>, body: Value) -> Answer {
    let unprocessable = |m: &str| {
        Answer::json(
            StatusCode::UNPROCESSABLE_ENTITY,
            &json!({"message": "Invalid request.", "errors": [m], "documentation_url": "https://docs.github.com/rest/checks/runs", "status": "422"}),
        )
    };
    let mut fields = body;
    if fields.get("conclusion").is_some_and(|c| !c.is_null()) {
        fields["status"] = json!("completed");
    }
    if fields["status"] == "completed" && fields.get("conclusion").is_none_or(Value::is_null) {
        return unprocessable("\"conclusion\" is required when \"status\" is \"completed\".");
    }
    if let Some(output) = fields.get("output")
        && (output.get("title").is_none() || output.get("summary").is_none())
    {
        return unprocessable("\"title\" and \"summary\" are required in \"output\".");
    }
    match id {
        None => {
            if fields.get("name").is_none() || fields.get("head_sha").is_none() {
                return unprocessable("\"name\" and \"head_sha\" are required.");
            }
            let id = 5000 + state.check_runs.len() as u64 + 1;
            let status = fields["status"].as_str().unwrap_or("queued").to_owned();
            fields["status"] = json!(status);
            state.check_runs.push(CheckRun {
                id,
                repo: repo.to_owned(),
                fields: fields.clone(),
                statuses: vec![status],
            });
            let mut out = fields;
            out["id"] = json!(id);
            Answer::json(StatusCode::CREATED, &out)
        }
        Some(raw) => {
            let Some(run) = raw.parse::<u64>().ok().and_then(|id| {
                state
                    .check_runs
                    .iter_mut()
                    .find(|r| r.id == id && r.repo == repo)
            }) else {
                return Answer::error(StatusCode::NOT_FOUND, "Not Found");
            };
            if let (Value::Object(target), Value::Object(update)) = (&mut run.fields, fields) {
                for (k, v) in update {
                    target.insert(k, v);
                }
            }
            if let Some(s) = run.fields["status"].as_str() {
                run.statuses.push(s.to_owned());
            }
            let mut out = run.fields.clone();
            out["id"] = json!(run.id);
            Answer::json(StatusCode::OK, &out)
        }
    }
}

fn commit_status(state: &mut State, repo: &str, sha: &str, body: Value) -> Answer {
    let valid = ["error", "failure", "pending", "success"];
    if !body["state"].as_str().is_some_and(|s| valid.contains(&s)) {
        return Answer::json(
            StatusCode::UNPROCESSABLE_ENTITY,
            &json!({"message": "Validation Failed", "errors": [{"resource": "Status", "field": "state", "code": "invalid"}], "status": "422"}),
        );
    }
    if body["description"]
        .as_str()
        .is_some_and(|d| d.chars().count() > 140)
    {
        return Answer::json(
            StatusCode::UNPROCESSABLE_ENTITY,
            &json!({"message": "Validation Failed", "errors": [{"resource": "Status", "code": "custom", "field": "description", "message": "description is too long (maximum is 140 characters)"}], "status": "422"}),
        );
    }
    state.statuses.push(CommitStatus {
        repo: repo.to_owned(),
        sha: sha.to_owned(),
        fields: body.clone(),
    });
    let mut out = body;
    out["id"] = json!(state.statuses.len());
    Answer::json(StatusCode::CREATED, &out)
}
