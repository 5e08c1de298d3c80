//! The GitHub setup pages a browser opens (spec 2.1, 2.2), public because the browser
//! has no admin token; the single-use state is what guards them:
//!
//! - `GET /setup/github?state=...`: a form that posts the manifest to GitHub (submitted
//!   by a script, with a button where scripts are off);
//! - `GET /setup/github/callback?code=...&state=...`: where GitHub sends the browser
//!   after *Create GitHub App*; exchanges the code, stores the App, and redirects (303)
//!   to the App's install page;
//! - `GET /setup/github/installed?installation_id=...`: where GitHub sends the browser
//!   after an installation.
//!
//! Plain server-rendered HTML (the web UI comes later); every value is escaped, and the
//! pages are never cached nor framed and send no referrer (the state is in the URL).

use axum::body::Body;
use axum::extract::State;
use http::header::{CACHE_CONTROL, CONTENT_TYPE, LOCATION, REFERRER_POLICY, X_FRAME_OPTIONS};
use http::{HeaderValue, StatusCode};
use oore_core::error::{ErrorClass, UseCaseError};
use oore_core::usecases::github::{complete_setup, setup_page};

use crate::app::App;
use crate::httpd::extract::QueryPairs;
use crate::httpd::response::Response;

/// `text` with HTML's special characters escaped.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn html(status: StatusCode, title: &str, body: &str) -> Response {
    let page = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} - Oore</title>\
         <style>body{{font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;line-height:1.5}}\
         code{{background:#f2f2f2;padding:0 .25rem}}button{{font-size:1rem;padding:.5rem 1rem}}</style>\
         </head><body><h1>{title}</h1>\n{body}\n</body></html>\n",
        title = escape(title)
    );
    let mut response = Response::new(Body::from(page));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    response
}

fn status_of<E: UseCaseError>(e: &E) -> StatusCode {
    match e.class() {
        ErrorClass::NotFound => StatusCode::NOT_FOUND,
        ErrorClass::Conflict => StatusCode::CONFLICT,
        ErrorClass::Invalid => StatusCode::BAD_REQUEST,
        ErrorClass::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorClass::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

fn failure<E: UseCaseError>(title: &str, e: &E) -> Response {
    if e.class() == ErrorClass::Internal {
        tracing::error!(error = %e, "GitHub setup page failed");
    }
    let message = if e.class() == ErrorClass::Internal {
        "something went wrong on the server; the oored log has the details. Start again with <code>oore github setup</code>.".to_owned()
    } else {
        escape(&e.to_string())
    };
    html(status_of(e), title, &format!("<p>{message}</p>"))
}

fn param(query: &[(String, String)], name: &str) -> Option<String> {
    query
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
        .filter(|v| !v.is_empty())
}

fn no_state() -> Response {
    html(
        StatusCode::BAD_REQUEST,
        "GitHub setup",
        "<p>This link has no setup state. Start the setup with <code>oore github setup</code> and open the link it prints.</p>",
    )
}

/// `GET /setup/github?state=...`: the form that posts the manifest to GitHub.
#[utoipa::path(
    get,
    path = "/setup/github",
    operation_id = "github_setup_page",
    tag = "github",
    params(("state" = String, Query, description = "The setup's state")),
    responses(
        (status = 200, description = "An HTML page posting the App manifest to GitHub", content_type = "text/html"),
        (status = 404, description = "Unknown state (HTML)", content_type = "text/html"),
        (status = 409, description = "Expired or used state (HTML)", content_type = "text/html"),
    )
)]
pub(crate) async fn page(State(app): State<App>, QueryPairs(query): QueryPairs) -> Response {
    let Some(state) = param(&query, "state") else {
        return no_state();
    };
    match setup_page(app.services(), app.github(), &state).await {
        Ok(page) => {
            let target = match &page.org {
                Some(org) => format!("the organisation <b>{}</b>", escape(org)),
                None => "your GitHub account".to_owned(),
            };
            html(
                StatusCode::OK,
                "Create the GitHub App",
                &format!(
                    "<p>Oore asks GitHub to create the App <b>{name}</b> for {target}. On GitHub, check the name and click <b>Create GitHub App</b>; you come back here after.</p>\n\
                     <form id=\"manifest-form\" method=\"post\" action=\"{action}\">\n\
                     <input type=\"hidden\" name=\"manifest\" value=\"{manifest}\">\n\
                     <button type=\"submit\">Continue to GitHub</button>\n</form>\n\
                     <script>document.getElementById('manifest-form').submit();</script>",
                    name = escape(&page.app_name),
                    action = escape(&page.action),
                    manifest = escape(&page.manifest),
                ),
            )
        }
        Err(e) => failure("GitHub setup", &e),
    }
}

/// `GET /setup/github/callback?code=...&state=...`: stores the new App and sends the
/// browser on to install it.
#[utoipa::path(
    get,
    path = "/setup/github/callback",
    operation_id = "github_setup_page_callback",
    tag = "github",
    params(
        ("code" = String, Query, description = "GitHub's manifest code"),
        ("state" = String, Query, description = "The setup's state"),
    ),
    responses(
        (status = 303, description = "The App is stored; on to its install page"),
        (status = 400, description = "The code was refused (HTML)", content_type = "text/html"),
        (status = 404, description = "Unknown state (HTML)", content_type = "text/html"),
        (status = 409, description = "Expired or used state (HTML)", content_type = "text/html"),
    )
)]
pub(crate) async fn callback(State(app): State<App>, QueryPairs(query): QueryPairs) -> Response {
    let Some(state) = param(&query, "state") else {
        return no_state();
    };
    let code = param(&query, "code");
    match complete_setup(app.services(), app.github(), &state, code.as_deref()).await {
        Ok(done) => {
            tracing::info!(app_id = done.app_id, slug = %done.slug, "GitHub App created and stored");
            let mut response = html(
                StatusCode::SEE_OTHER,
                "GitHub App created",
                &format!(
                    "<p>The GitHub App <b>{}</b> is created and its credentials are stored. Next, <a href=\"{url}\">install it on your repositories</a>.</p>",
                    escape(&done.name),
                    url = escape(&done.install_url)
                ),
            );
            if let Ok(location) = HeaderValue::from_str(&done.install_url) {
                response.headers_mut().insert(LOCATION, location);
            }
            response
        }
        Err(e) => {
            tracing::warn!(error = %e, "GitHub App setup callback failed");
            failure("GitHub App setup failed", &e)
        }
    }
}

/// `GET /setup/github/installed`: GitHub's `setup_url`, after an installation.
#[utoipa::path(
    get,
    path = "/setup/github/installed",
    operation_id = "github_setup_page_installed",
    tag = "github",
    params(
        ("installation_id" = Option<String>, Query, description = "GitHub's installation id"),
        ("setup_action" = Option<String>, Query, description = "install or update"),
    ),
    responses((status = 200, description = "What happens next (HTML)", content_type = "text/html"))
)]
pub(crate) async fn installed(QueryPairs(query): QueryPairs) -> Response {
    let id = param(&query, "installation_id")
        .filter(|id| id.chars().all(|c| c.is_ascii_digit()))
        .map(|id| format!(" (installation {id})"))
        .unwrap_or_default();
    let action = if param(&query, "setup_action").as_deref() == Some("update") {
        "updated"
    } else {
        "installed"
    };
    html(
        StatusCode::OK,
        &format!("GitHub App {action}"),
        &format!(
            "<p>The GitHub App was {action}{id}. Oore picks up its repositories with the next sync: run <code>oore github sync</code> now, then <code>oore repo list</code> shows them.</p>"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_attributes_and_text() {
        assert_eq!(
            escape(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }
}
