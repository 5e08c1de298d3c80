//! The browser's part of the GitHub App setup, played by a test: open oored's setup
//! page, read its form (action and the `manifest` field), post it to the fake GitHub as
//! the page's script would, and follow GitHub's redirect back to oored's callback.

use crate::http::{self, HttpResponse};

/// What the browser saw.
#[derive(Debug)]
pub struct SetupVisit {
    /// The setup page.
    pub page: HttpResponse,
    /// Where the form posts.
    pub action: String,
    /// The manifest the form posts, as JSON.
    pub manifest: serde_json::Value,
    /// GitHub's redirect (`redirect_url?code=...&state=...`).
    pub callback_url: String,
}

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The value of the first `name="..."` attribute after `from` in `html`.
fn attribute(html: &str, from: &str, name: &str) -> Option<String> {
    let start = html.find(from)?;
    let rest = &html[start..];
    let at = rest.find(&format!("{name}=\""))? + name.len() + 2;
    let end = rest[at..].find('"')?;
    Some(unescape(&rest[at..at + end]))
}

/// Opens `setup_url`, posts its form to GitHub and returns GitHub's redirect, without
/// following it (a headless machine stops here and pastes the URL).
///
/// # Panics
/// If the page is not a setup form or GitHub does not redirect.
pub fn create_app(setup_url: &str) -> SetupVisit {
    let page = http::get(setup_url, None);
    assert_eq!(page.status, 200, "the setup page: {}", page.text());
    let html = page.text();
    let action = attribute(&html, "<form", "action").expect("the page has a form action");
    let raw = attribute(&html, "name=\"manifest\"", "value").expect("the form has a manifest");
    let manifest: serde_json::Value = serde_json::from_str(&raw).expect("the manifest is JSON");
    let body = serde_urlencoded::to_string([("manifest", raw.as_str())]).expect("form body");
    let response = http::request(
        "POST",
        &action,
        &[("Content-Type", "application/x-www-form-urlencoded")],
        Some(body.as_bytes()),
    )
    .expect("post the manifest to GitHub");
    assert_eq!(response.status, 302, "GitHub's answer: {}", response.text());
    let callback_url = response
        .header("location")
        .expect("GitHub redirects")
        .to_owned();
    SetupVisit {
        page,
        action,
        manifest,
        callback_url,
    }
}

/// [`create_app`], then follows GitHub's redirect to oored's callback and returns its
/// answer (a 303 to the install page when the App was stored).
pub fn complete_setup(setup_url: &str) -> (SetupVisit, HttpResponse) {
    let visit = create_app(setup_url);
    let callback = http::get(&visit.callback_url, None);
    (visit, callback)
}
