//! Clone URLs and their credentials: split `https://user:token@host/...` into a plain URL
//! and an `Authorization` header given to git through the environment, and redact
//! credentials from everything that is logged or returned.

/// A clone URL prepared for git.
#[derive(Clone)]
pub(crate) struct RemoteUrl {
    /// What git is given: without credentials for HTTP(S); unchanged otherwise (an SSH
    /// user name is needed and is no secret).
    pub(crate) plain: String,
    /// For messages and logs: credentials replaced by `***`.
    pub(crate) display: String,
    /// `(config key, value)` of an `http.<url>.extraHeader` carrying the credentials.
    pub(crate) auth: Option<(String, String)>,
    /// Secret strings scrubbed from any text shown (the user info, raw and decoded).
    secrets: Vec<String>,
}

impl std::fmt::Debug for RemoteUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RemoteUrl({})", self.display)
    }
}

impl RemoteUrl {
    pub(crate) fn parse(url: &str) -> Self {
        let display = redact_credentials(url);
        let mut prepared = Self {
            plain: url.to_owned(),
            display,
            auth: None,
            secrets: Vec::new(),
        };
        let Some((scheme, rest)) = url.split_once("://") else {
            return prepared;
        };
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, path) = rest.split_at(end);
        let Some((userinfo, host)) = authority.rsplit_once('@') else {
            return prepared;
        };
        let http = scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https");
        if !http && !userinfo.contains(':') {
            return prepared;
        }
        let decoded = percent_decode(userinfo);
        for secret in [
            userinfo.to_owned(),
            String::from_utf8_lossy(&decoded).into_owned(),
        ] {
            let secret = secret.split_once(':').map_or(secret.as_str(), |(_, p)| p);
            if secret.len() >= 4 && !prepared.secrets.iter().any(|s| s == secret) {
                prepared.secrets.push(secret.to_owned());
            }
        }
        if http {
            let mut credentials = decoded;
            if !credentials.contains(&b':') {
                credentials.push(b':');
            }
            prepared.plain = format!("{scheme}://{host}{path}");
            prepared.auth = Some((
                format!("http.{scheme}://{host}/.extraHeader"),
                format!("Authorization: Basic {}", base64(&credentials)),
            ));
        }
        prepared
    }

    /// `text` with URL credentials and this URL's secrets replaced by `***`.
    pub(crate) fn scrub(&self, text: &str) -> String {
        let mut out = redact_credentials(text);
        for secret in &self.secrets {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), "***");
            }
        }
        out
    }
}

/// Replaces the user info of every `scheme://user:password@host` in `text` with `***`
/// (`https://user:pass@host/x` becomes `https://***@host/x`).
pub fn redact_credentials(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        let (head, tail) = rest.split_at(i + 3);
        out.push_str(head);
        let end = tail
            .find(|c: char| c == '/' || c.is_whitespace() || "'\"<>`".contains(c))
            .unwrap_or(tail.len());
        let authority = &tail[..end];
        match authority.rfind('@') {
            Some(at) => {
                out.push_str("***");
                out.push_str(&authority[at..]);
            }
            None => out.push_str(authority),
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

/// `%XX` escapes decoded; a `%` not followed by two hex digits is kept as is.
fn percent_decode(s: &str) -> Vec<u8> {
    percent_encoding::percent_decode_str(s).collect()
}

/// Standard (RFC 4648) base64 with padding, as HTTP Basic authentication wants.
fn base64(data: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_every_url_with_user_info() {
        assert_eq!(
            redact_credentials("fatal: https://user:pass@example.com/a.git and http://tok@h:8/x"),
            "fatal: https://***@example.com/a.git and http://***@h:8/x"
        );
        assert_eq!(
            redact_credentials("file:///tmp/repo https://example.com/a@b"),
            "file:///tmp/repo https://example.com/a@b"
        );
    }

    #[test]
    fn http_credentials_move_to_a_header() {
        let url = RemoteUrl::parse("https://x-access-token:ghs_S3cr%40t@github.com/o/r.git");
        assert_eq!(url.plain, "https://github.com/o/r.git");
        assert_eq!(url.display, "https://***@github.com/o/r.git");
        let (key, value) = url.auth.clone().unwrap();
        assert_eq!(key, "http.https://github.com/.extraHeader");
        assert_eq!(
            value,
            format!(
                "Authorization: Basic {}",
                base64(b"x-access-token:ghs_S3cr@t")
            )
        );
        assert_eq!(url.scrub("token ghs_S3cr@t leaked"), "token *** leaked");
        assert!(!format!("{url:?}").contains("S3cr"));
    }

    #[test]
    fn ssh_and_plain_urls_are_left_alone() {
        for u in [
            "git@github.com:o/r.git",
            "ssh://git@host/r.git",
            "file:///tmp/r",
        ] {
            let url = RemoteUrl::parse(u);
            assert_eq!(url.plain, u);
            assert!(url.auth.is_none());
        }
    }

    #[test]
    fn base64_matches_rfc_4648() {
        for (input, expected) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(input.as_bytes()), expected);
        }
    }
}
