//! The fake's web side: the "new App" pages that take a manifest and answer the way the
//! browser sees it after *Create GitHub App* (a redirect to `redirect_url?code&state`),
//! the install page, and git's smart HTTP (`git http-backend`) behind installation
//! tokens (`x-access-token:<token>` as Basic auth, forges.md G5).

use std::path::Path;
use std::process::Stdio;

use base64::Engine as _;
use http::{HeaderMap, Method, StatusCode};
use serde_json::Value;
use tokio::io::AsyncWriteExt as _;

use super::api::Answer;
use super::state::{CallAuth, Manifest, State};

fn page(status: StatusCode, text: &str) -> Answer {
    Answer {
        status,
        headers: vec![("content-type".into(), "text/html; charset=utf-8".into())],
        body: format!("<!doctype html><title>fake GitHub</title><p>{text}</p>").into_bytes(),
        auth: CallAuth::None,
    }
}

fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query.unwrap_or("")).ok()?;
    pairs.into_iter().find(|(k, _)| k == name).map(|(_, v)| v)
}

/// `POST /settings/apps/new` and `POST /organizations/{org}/settings/apps/new`.
pub(crate) fn new_app(state: &mut State, owner: &str, query: Option<&str>, body: &[u8]) -> Answer {
    let form: Vec<(String, String)> = serde_urlencoded::from_bytes(body).unwrap_or_default();
    let Some(raw) = form
        .into_iter()
        .find(|(k, _)| k == "manifest")
        .map(|(_, v)| v)
    else {
        return page(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Invalid GitHub App configuration: no manifest",
        );
    };
    let Ok(manifest @ Value::Object(_)) = serde_json::from_str::<Value>(&raw) else {
        return page(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Invalid GitHub App configuration: the manifest is not a JSON object",
        );
    };
    for required in ["url", "redirect_url"] {
        if !manifest[required].is_string() {
            return page(
                StatusCode::UNPROCESSABLE_ENTITY,
                &format!("Invalid GitHub App configuration: {required} is required"),
            );
        }
    }
    if manifest.get("hook_attributes").is_some() && !manifest["hook_attributes"]["url"].is_string()
    {
        return page(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Invalid GitHub App configuration: hook_attributes.url is required",
        );
    }
    let code = oore_adapters::crypto::random_token()[..20].to_owned();
    let created_at = state.now();
    let redirect = manifest["redirect_url"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    state.manifests.insert(
        code.clone(),
        Manifest {
            manifest,
            owner: owner.to_owned(),
            created_at,
            used: false,
        },
    );
    let mut location = format!("{redirect}?code={code}");
    if let Some(s) = query_param(query, "state") {
        location.push_str(&format!(
            "&state={}",
            oore_core::api::paths::query_component(&s)
        ));
    }
    Answer {
        status: StatusCode::FOUND,
        headers: vec![("location".into(), location)],
        body: Vec::new(),
        auth: CallAuth::None,
    }
}

/// `GET /apps/{slug}/installations/new`.
pub(crate) fn install_page(state: &State, slug: &str) -> Answer {
    match &state.app {
        Some(app) if app.slug == slug => page(StatusCode::OK, &format!("Install {}", app.name)),
        _ => page(StatusCode::NOT_FOUND, "Not Found"),
    }
}

fn unauthorized() -> Answer {
    Answer {
        status: StatusCode::UNAUTHORIZED,
        headers: vec![("www-authenticate".into(), "Basic realm=\"GitHub\"".into())],
        body: b"Invalid username or token.".to_vec(),
        auth: CallAuth::Refused,
    }
}

/// Which installation a git request's Basic credentials act as, if the token is live
/// and covers `repo`.
fn git_auth(state: &State, headers: &HeaderMap, repo: &str) -> Option<u64> {
    let value = headers.get("authorization")?.to_str().ok()?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(value.strip_prefix("Basic ")?)
        .ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (_user, token) = decoded.split_once(':')?;
    let t = state.tokens.get(token)?;
    let installation = state.installations.get(&t.installation)?;
    (t.expires_at > state.now()
        && installation
            .repos
            .iter()
            .any(|r| format!("{}/{}", r.owner, r.name).eq_ignore_ascii_case(repo)))
    .then_some(t.installation)
}

/// What a git request needs, decided under the state's lock.
pub(crate) enum GitPlan {
    /// Answer this.
    Answer(Answer),
    /// Run `git http-backend` on this repository.
    Run {
        dir: std::path::PathBuf,
        installation: u64,
    },
}

/// `/{owner}/{repo}.git/...`: checks the token, finds the repository on disk.
pub(crate) fn git_plan(state: &State, repo: &str, headers: &HeaderMap) -> GitPlan {
    let Some(installation) = git_auth(state, headers, repo) else {
        return GitPlan::Answer(unauthorized());
    };
    match state.git_roots.get(&repo.to_lowercase()) {
        Some(dir) => GitPlan::Run {
            dir: dir.clone(),
            installation,
        },
        None => GitPlan::Answer(page(StatusCode::NOT_FOUND, "Repository not found.")),
    }
}

/// Runs `git http-backend` as a CGI for `rest` (`info/refs`, `git-upload-pack`, ...).
pub(crate) async fn http_backend(
    dir: &Path,
    rest: &str,
    method: &Method,
    query: Option<&str>,
    headers: &HeaderMap,
    body: Vec<u8>,
) -> Answer {
    let (Some(root), Some(name)) = (dir.parent(), dir.file_name()) else {
        return page(StatusCode::NOT_FOUND, "Repository not found.");
    };
    let header = |n: &str| {
        headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    let mut command = tokio::process::Command::new("git");
    command
        .arg("http-backend")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_PROJECT_ROOT", root)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("PATH_INFO", format!("/{}/{rest}", name.to_string_lossy()))
        .env("REQUEST_METHOD", method.as_str())
        .env("QUERY_STRING", query.unwrap_or(""))
        .env("CONTENT_TYPE", header("content-type"))
        .env("CONTENT_LENGTH", body.len().to_string())
        .env("GIT_PROTOCOL", header("git-protocol"))
        .env("REMOTE_USER", "x-access-token")
        .env("REMOTE_ADDR", "127.0.0.1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if !header("content-encoding").is_empty() {
        command.env("HTTP_CONTENT_ENCODING", header("content-encoding"));
    }
    let mut child = match command.spawn() {
        Ok(c) => c,
        Err(e) => {
            return page(
                StatusCode::INTERNAL_SERVER_ERROR,
                &format!("git http-backend: {e}"),
            );
        }
    };
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(&body).await;
    }
    let output = match child.wait_with_output().await {
        Ok(o) => o,
        Err(e) => {
            return page(
                StatusCode::INTERNAL_SERVER_ERROR,
                &format!("git http-backend: {e}"),
            );
        }
    };
    let out = output.stdout;
    let (head_end, sep) = match out.windows(4).position(|w| w == b"\r\n\r\n") {
        Some(i) => (i, 4),
        None => match out.windows(2).position(|w| w == b"\n\n") {
            Some(i) => (i, 2),
            None => {
                return page(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    &String::from_utf8_lossy(&output.stderr),
                );
            }
        },
    };
    let head = String::from_utf8_lossy(&out[..head_end]).into_owned();
    let mut status = StatusCode::OK;
    let mut headers = Vec::new();
    for line in head.lines() {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("status") {
            status = value
                .split(' ')
                .next()
                .and_then(|s| s.parse().ok())
                .and_then(|s| StatusCode::from_u16(s).ok())
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        } else {
            headers.push((name.trim().to_ascii_lowercase(), value.to_owned()));
        }
    }
    Answer {
        status,
        headers,
        body: out[head_end + sep..].to_vec(),
        auth: CallAuth::None,
    }
}
