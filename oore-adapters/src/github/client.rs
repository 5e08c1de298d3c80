//! [`GitHubClient`]: [`GitHubApi`] over [`HttpsClient`]. Every call sends GitHub's
//! headers (forges.md G0), authenticates as the App with a fresh JWT or with an
//! installation token, follows `Link` pagination (only to the API's own origin, so a
//! token never goes elsewhere), and maps refusals to [`ForgeError`]: 401, 403, 404,
//! rate limits (`Retry-After`, `x-ratelimit-remaining: 0` with `x-ratelimit-reset`,
//! 429, secondary limits), 5xx. Rate limits up to `max_wait` away are waited out and the
//! call retried; 5xx and transport failures are retried twice with backoff. A 401 on a
//! JWT about its `iat`/`exp` is retried once with a JWT minted at the response's `Date`.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use jiff::Timestamp;
use oore_core::domain::secret::SecretString;
use oore_core::forge::ForgeError;
use oore_core::github::ports::GitHubApi;
use oore_core::github::{
    AppAuth, AppInfo, InstallationToken, NewAppCredentials, RemoteInstallation, RemoteRepository,
    RepositorySelection,
};
use oore_core::ports::Clock;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::jwt;
use crate::http_client::{HttpAnswer, HttpsClient, Method};

/// The REST API version Oore speaks.
pub const API_VERSION: &str = "2022-11-28";

/// Where the API is and how patient the client is.
#[derive(Debug, Clone)]
pub struct GitHubClientSettings {
    /// `OORE_GITHUB_API_URL`, without trailing slash.
    pub api_url: String,
    /// The longest rate-limit wait done in place; longer ones return `RateLimited`.
    pub max_wait: Duration,
    /// First backoff after a 5xx or a transport failure (doubled once).
    pub backoff: Duration,
}

impl GitHubClientSettings {
    /// Defaults for `api_url`: wait up to a minute, back off from one second.
    pub fn new(api_url: &str) -> Self {
        Self {
            api_url: api_url.trim_end_matches('/').to_owned(),
            max_wait: Duration::from_secs(60),
            backoff: Duration::from_secs(1),
        }
    }
}

/// GitHub's REST API as the App uses it.
#[derive(Clone)]
pub struct GitHubClient {
    http: HttpsClient,
    settings: GitHubClientSettings,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for GitHubClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitHubClient")
            .field("api_url", &self.settings.api_url)
            .finish_non_exhaustive()
    }
}

/// How a call authenticates.
enum Auth<'a> {
    None,
    App(&'a AppAuth),
    Installation(&'a SecretString),
}

#[derive(Deserialize)]
struct Owner {
    login: String,
}

#[derive(Deserialize)]
struct Conversion {
    id: u64,
    slug: String,
    name: String,
    client_id: String,
    client_secret: String,
    webhook_secret: Option<String>,
    pem: String,
    html_url: String,
    owner: Owner,
}

#[derive(Deserialize)]
struct App {
    id: u64,
    slug: String,
    name: String,
    owner: Owner,
}

#[derive(Deserialize)]
struct Account {
    login: String,
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Deserialize)]
struct InstallationJson {
    id: u64,
    account: Account,
    repository_selection: String,
    suspended_at: Option<String>,
    #[serde(default)]
    permissions: serde_json::Map<String, serde_json::Value>,
}

#[derive(Deserialize)]
struct TokenJson {
    token: String,
    expires_at: String,
}

#[derive(Deserialize)]
struct RepoJson {
    id: u64,
    name: String,
    owner: Owner,
    clone_url: String,
    default_branch: Option<String>,
}

#[derive(Deserialize)]
struct RepoPage {
    repositories: Vec<RepoJson>,
}

fn other(message: impl Into<String>) -> ForgeError {
    ForgeError::Other {
        message: message.into(),
    }
}

/// GitHub's `message`, or the start of the body.
fn message_of(answer: &HttpAnswer) -> String {
    #[derive(Deserialize)]
    struct ErrorBody {
        message: String,
    }
    match serde_json::from_slice::<ErrorBody>(&answer.body) {
        Ok(b) => b.message,
        Err(_) => {
            let text = String::from_utf8_lossy(&answer.body);
            let text: String = text.trim().chars().take(200).collect();
            if text.is_empty() {
                format!("HTTP {}", answer.status)
            } else {
                text
            }
        }
    }
}

/// The time the answer was sent (`Date`), if it says.
fn date_of(answer: &HttpAnswer) -> Option<Timestamp> {
    answer
        .header("date")
        .and_then(|d| jiff::fmt::rfc2822::parse(d).ok())
        .map(|z| z.timestamp())
}

/// Maps a non-2xx answer (forges.md G6).
pub(crate) fn classify(answer: &HttpAnswer, now: Timestamp) -> ForgeError {
    let message = message_of(answer);
    let message = format!("GitHub answered {}: {message}", answer.status);
    let status = answer.status;
    if status == 403 || status == 429 {
        if let Some(secs) = answer
            .header("retry-after")
            .and_then(|v| v.trim().parse::<u64>().ok())
        {
            return ForgeError::RateLimited {
                retry_after: Duration::from_secs(secs),
                message,
            };
        }
        if answer.header("x-ratelimit-remaining").map(str::trim) == Some("0") {
            let now = date_of(answer).unwrap_or(now);
            let reset = answer
                .header("x-ratelimit-reset")
                .and_then(|v| v.trim().parse::<i64>().ok())
                .unwrap_or(now.as_second() + 60);
            let wait = u64::try_from(reset - now.as_second()).unwrap_or(0).max(1);
            return ForgeError::RateLimited {
                retry_after: Duration::from_secs(wait),
                message,
            };
        }
        if status == 429 || message.contains("secondary rate limit") {
            return ForgeError::RateLimited {
                retry_after: Duration::from_secs(60),
                message,
            };
        }
    }
    match status {
        401 => ForgeError::Unauthorized { message },
        403 => ForgeError::Forbidden { message },
        404 => ForgeError::NotFound { message },
        500..=599 => ForgeError::Unavailable { message },
        _ => ForgeError::Other { message },
    }
}

/// The `rel="next"` URL of a `Link` header.
pub(crate) fn next_link(link: &str) -> Option<String> {
    link.split(',').find_map(|part| {
        let (url, params) = part.split_once(';')?;
        params
            .split(';')
            .any(|p| p.trim() == r#"rel="next""#)
            .then(|| {
                url.trim()
                    .trim_start_matches('<')
                    .trim_end_matches('>')
                    .to_owned()
            })
    })
}

fn is_clock_skew(error: &ForgeError) -> bool {
    matches!(error, ForgeError::Unauthorized { message }
        if message.contains("'Issued at'") || message.contains("'Expiration time'"))
}

impl GitHubClient {
    /// A client for the API in `settings`, with JWT times from `clock`.
    pub fn new(http: HttpsClient, settings: GitHubClientSettings, clock: Arc<dyn Clock>) -> Self {
        Self {
            http,
            settings,
            clock,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.settings.api_url)
    }

    /// One request, on a blocking thread.
    async fn send_once(
        &self,
        method: Method,
        url: &str,
        authorization: Option<String>,
        body: Option<Vec<u8>>,
    ) -> Result<HttpAnswer, ForgeError> {
        let http = self.http.clone();
        let url = url.to_owned();
        tokio::task::spawn_blocking(move || {
            let mut headers: Vec<(&str, &str)> = vec![
                ("Accept", "application/vnd.github+json"),
                ("X-GitHub-Api-Version", API_VERSION),
            ];
            if let Some(a) = &authorization {
                headers.push(("Authorization", a));
            }
            if body.is_some() {
                headers.push(("Content-Type", "application/json"));
            }
            http.send(method, &url, &headers, body.as_deref())
        })
        .await
        .map_err(|e| ForgeError::Unavailable {
            message: format!("the request task failed: {e}"),
        })?
        .map_err(|e| ForgeError::Unavailable {
            message: format!("cannot reach GitHub at {}: {e}", self.settings.api_url),
        })
    }

    /// A request with retries (module doc); `Ok` only for 2xx.
    async fn call(
        &self,
        method: Method,
        url: &str,
        auth: &Auth<'_>,
        body: Option<&serde_json::Value>,
    ) -> Result<HttpAnswer, ForgeError> {
        let body = body.map(|b| b.to_string().into_bytes());
        let key = match auth {
            Auth::App(app) => Some(jwt::parse_key(&app.private_key).map_err(other)?),
            _ => None,
        };
        let mut jwt_now = self.clock.now();
        let mut backoff = self.settings.backoff;
        let mut failures = 0;
        let mut reminted = false;
        loop {
            let authorization = match (auth, &key) {
                (Auth::App(app), Some(key)) => Some(format!(
                    "Bearer {}",
                    jwt::app_jwt(key, &app.client_id, jwt_now).map_err(other)?
                )),
                (Auth::Installation(token), _) => Some(format!("Bearer {}", token.expose())),
                _ => None,
            };
            let error = match self
                .send_once(method, url, authorization, body.clone())
                .await
            {
                Ok(answer) if (200..300).contains(&answer.status) => return Ok(answer),
                Ok(answer) => {
                    let error = classify(&answer, self.clock.now());
                    if key.is_some() && !reminted && is_clock_skew(&error) {
                        tracing::warn!(error = %error, "GitHub refused the App's JWT over the clock; minting one at GitHub's time");
                        jwt_now = date_of(&answer).unwrap_or_else(|| self.clock.now());
                        reminted = true;
                        continue;
                    }
                    error
                }
                Err(e) => e,
            };
            match &error {
                ForgeError::RateLimited { retry_after, .. }
                    if *retry_after <= self.settings.max_wait && failures < 3 =>
                {
                    tracing::warn!(
                        wait_secs = retry_after.as_secs(),
                        "GitHub's rate limit was reached; waiting for the reset"
                    );
                    failures += 1;
                    tokio::time::sleep(*retry_after).await;
                }
                ForgeError::Unavailable { .. } if failures < 2 => {
                    tracing::warn!(error = %error, backoff_ms = backoff.as_millis() as u64, "GitHub failed; retrying");
                    failures += 1;
                    tokio::time::sleep(backoff).await;
                    backoff *= 2;
                }
                _ => return Err(error),
            }
        }
    }

    async fn json<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        auth: &Auth<'_>,
        body: Option<&serde_json::Value>,
    ) -> Result<T, ForgeError> {
        let answer = self.call(method, &self.url(path), auth, body).await?;
        serde_json::from_slice(&answer.body).map_err(|e| {
            other(format!(
                "GitHub's answer to {path} is not the expected JSON ({e})"
            ))
        })
    }

    /// Every page of a listing; `items` takes one page's body apart.
    async fn pages<T>(
        &self,
        path: &str,
        auth: &Auth<'_>,
        items: impl Fn(&[u8]) -> Result<Vec<T>, serde_json::Error>,
    ) -> Result<Vec<T>, ForgeError> {
        let origin = self.settings.api_url.clone();
        let mut url = self.url(path);
        let mut out = Vec::new();
        for _ in 0..1000 {
            let answer = self.call(Method::Get, &url, auth, None).await?;
            out.extend(items(&answer.body).map_err(|e| {
                other(format!(
                    "GitHub's answer to {path} is not the expected JSON ({e})"
                ))
            })?);
            match answer.header("link").and_then(next_link) {
                Some(next) if next.starts_with(&origin) => url = next,
                Some(next) => {
                    return Err(other(format!(
                        "GitHub's next page {next} is outside {origin}; check OORE_GITHUB_API_URL"
                    )));
                }
                None => return Ok(out),
            }
        }
        Err(other(format!("{path} has more than 1000 pages")))
    }
}

#[async_trait]
impl GitHubApi for GitHubClient {
    async fn convert_manifest(&self, code: &str) -> Result<NewAppCredentials, ForgeError> {
        let path = format!(
            "/app-manifests/{}/conversions",
            oore_core::api::paths::segment(code)
        );
        let c: Conversion = self.json(Method::Post, &path, &Auth::None, None).await?;
        Ok(NewAppCredentials {
            app_id: c.id,
            slug: c.slug,
            name: c.name,
            client_id: c.client_id,
            html_url: c.html_url,
            owner_login: c.owner.login,
            client_secret: SecretString::new(c.client_secret),
            webhook_secret: c.webhook_secret.map(SecretString::new),
            pem: SecretString::new(c.pem),
        })
    }

    async fn app(&self, auth: &AppAuth) -> Result<AppInfo, ForgeError> {
        let app: App = self
            .json(Method::Get, "/app", &Auth::App(auth), None)
            .await?;
        Ok(AppInfo {
            app_id: app.id,
            slug: app.slug,
            name: app.name,
            owner_login: app.owner.login,
        })
    }

    async fn installations(&self, auth: &AppAuth) -> Result<Vec<RemoteInstallation>, ForgeError> {
        let list = self
            .pages(
                "/app/installations?per_page=100",
                &Auth::App(auth),
                |body| serde_json::from_slice::<Vec<InstallationJson>>(body),
            )
            .await?;
        list.into_iter()
            .map(|i| {
                let mut permissions: Vec<String> = i
                    .permissions
                    .iter()
                    .map(|(k, v)| format!("{k}:{}", v.as_str().unwrap_or_default()))
                    .collect();
                permissions.sort();
                Ok(RemoteInstallation {
                    id: i.id,
                    account_login: i.account.login,
                    account_type: i.account.kind,
                    repository_selection: i
                        .repository_selection
                        .parse::<RepositorySelection>()
                        .map_err(other)?,
                    suspended: i.suspended_at.is_some(),
                    permissions,
                })
            })
            .collect()
    }

    async fn create_installation_token(
        &self,
        auth: &AppAuth,
        installation_id: u64,
    ) -> Result<InstallationToken, ForgeError> {
        let path = format!("/app/installations/{installation_id}/access_tokens");
        let t: TokenJson = self
            .json(Method::Post, &path, &Auth::App(auth), None)
            .await?;
        Ok(InstallationToken {
            token: SecretString::new(t.token),
            expires_at: t.expires_at.parse().map_err(|e| {
                other(format!(
                    "GitHub's token expiry '{}' is not a time ({e})",
                    t.expires_at
                ))
            })?,
        })
    }

    async fn installation_repositories(
        &self,
        token: &SecretString,
    ) -> Result<Vec<RemoteRepository>, ForgeError> {
        let list = self
            .pages(
                "/installation/repositories?per_page=100",
                &Auth::Installation(token),
                |body| serde_json::from_slice::<RepoPage>(body).map(|p| p.repositories),
            )
            .await?;
        Ok(list
            .into_iter()
            .map(|r| RemoteRepository {
                github_id: r.id,
                owner: r.owner.login,
                name: r.name,
                clone_url: r.clone_url,
                default_branch: r.default_branch,
            })
            .collect())
    }

    fn check_private_key(&self, pem: &SecretString) -> Result<(), String> {
        jwt::parse_key(pem).map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, headers: &[(&str, &str)], body: &str) -> HttpAnswer {
        HttpAnswer {
            status,
            headers: headers
                .iter()
                .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
                .collect(),
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn refusals_map_to_forge_errors() {
        let now = Timestamp::from_second(1_000).unwrap();
        let msg = r#"{"message":"Bad credentials","documentation_url":"x","status":"401"}"#;
        assert!(matches!(
            classify(&answer(401, &[], msg), now),
            ForgeError::Unauthorized { message } if message == "GitHub answered 401: Bad credentials"
        ));
        assert!(matches!(
            classify(
                &answer(
                    403,
                    &[("x-ratelimit-remaining", "4999")],
                    r#"{"message":"This installation has been suspended"}"#
                ),
                now
            ),
            ForgeError::Forbidden { .. }
        ));
        assert!(matches!(
            classify(&answer(403, &[("x-ratelimit-remaining", "0"), ("x-ratelimit-reset", "1030")], "{}"), now),
            ForgeError::RateLimited { retry_after, .. } if retry_after == Duration::from_secs(30)
        ));
        assert!(matches!(
            classify(&answer(429, &[("retry-after", "7")], "{}"), now),
            ForgeError::RateLimited { retry_after, .. } if retry_after == Duration::from_secs(7)
        ));
        assert!(matches!(
            classify(
                &answer(
                    403,
                    &[],
                    r#"{"message":"You have exceeded a secondary rate limit"}"#
                ),
                now
            ),
            ForgeError::RateLimited { .. }
        ));
        assert!(matches!(
            classify(&answer(404, &[], ""), now),
            ForgeError::NotFound { .. }
        ));
        assert!(matches!(
            classify(&answer(502, &[], "<html>"), now),
            ForgeError::Unavailable { .. }
        ));
        assert!(matches!(
            classify(&answer(422, &[], "{}"), now),
            ForgeError::Other { .. }
        ));
    }

    #[test]
    fn next_links_are_found() {
        let link = r#"<https://api.github.com/x?page=2>; rel="next", <https://api.github.com/x?page=5>; rel="last""#;
        assert_eq!(
            next_link(link).as_deref(),
            Some("https://api.github.com/x?page=2")
        );
        assert_eq!(next_link(r#"<https://a/x?page=1>; rel="prev""#), None);
    }
}
