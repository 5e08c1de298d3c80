//! Outbound HTTPS to forges (GitHub now, GitLab later): one blocking client over ureq 3
//! with rustls. It trusts the system's CA certificates plus an optional PEM bundle
//! (`OORE_GITHUB_CA_BUNDLE`, for a GitHub Enterprise Server behind a private CA), falling
//! back to Mozilla's roots on a system without any. It sends one `User-Agent`, applies
//! connect and whole-request timeouts, uses no proxy from the environment (a proxy
//! variable meant for builds must not reroute the server's API calls and their tokens),
//! and follows redirects keeping `Authorization` only on the same host. Status codes are
//! answers, not errors: callers map them. ureq's types never leave this module.

use std::path::{Path, PathBuf};
use std::time::Duration;

use ureq::tls::{Certificate, PemItem, RootCerts, TlsConfig};

/// How the client is set up.
#[derive(Debug, Clone)]
pub struct HttpsConfig {
    /// Sent on every request.
    pub user_agent: String,
    /// Extra CA certificates (PEM), trusted besides the system's.
    pub ca_bundle: Option<PathBuf>,
    /// Time to establish a connection.
    pub connect_timeout: Duration,
    /// Time for a whole request, body included.
    pub request_timeout: Duration,
}

impl HttpsConfig {
    /// Oore's defaults: `oored/<version>`, 10 s to connect, 30 s per request.
    pub fn new(ca_bundle: Option<PathBuf>) -> Self {
        Self {
            user_agent: concat!("oored/", env!("CARGO_PKG_VERSION")).to_owned(),
            ca_bundle,
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
        }
    }
}

/// Why the client could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum HttpsSetupError {
    /// The CA bundle cannot be read.
    #[error("cannot read the CA bundle {}: {source}; point the variable at a readable PEM file, or unset it", path.display())]
    Read {
        /// The bundle.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The CA bundle holds no certificate.
    #[error("the CA bundle {} holds no PEM certificate; it must contain `-----BEGIN CERTIFICATE-----` blocks", path.display())]
    Empty {
        /// The bundle.
        path: PathBuf,
    },
}

/// An HTTP method the forge clients use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// GET.
    Get,
    /// POST.
    Post,
    /// PATCH.
    Patch,
    /// PUT.
    Put,
    /// DELETE.
    Delete,
}

/// A response as received. Header names are lowercase.
#[derive(Debug, Clone)]
pub struct HttpAnswer {
    /// Status code.
    pub status: u16,
    /// Headers, in order.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl HttpAnswer {
    /// The first header named `name` (lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Why no response arrived.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct TransportError(pub String);

/// The blocking HTTPS client. Cheap to clone (clones share connections).
#[derive(Clone)]
pub struct HttpsClient {
    agent: ureq::Agent,
}

impl std::fmt::Debug for HttpsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HttpsClient")
    }
}

fn bundle_certs(path: &Path) -> Result<Vec<Certificate<'static>>, HttpsSetupError> {
    let pem = std::fs::read(path).map_err(|source| HttpsSetupError::Read {
        path: path.to_owned(),
        source,
    })?;
    let certs: Vec<Certificate<'static>> = ureq::tls::parse_pem(&pem)
        .filter_map(|item| match item {
            Ok(PemItem::Certificate(c)) => Some(c),
            _ => None,
        })
        .collect();
    if certs.is_empty() {
        return Err(HttpsSetupError::Empty {
            path: path.to_owned(),
        });
    }
    Ok(certs)
}

/// The system's roots plus the bundle; Mozilla's roots when the system has none and no
/// bundle is given.
fn roots(ca_bundle: Option<&Path>) -> Result<RootCerts, HttpsSetupError> {
    let native = rustls_native_certs::load_native_certs();
    for error in &native.errors {
        tracing::debug!(error = %error, "a system CA certificate could not be loaded");
    }
    let mut certs: Vec<Certificate<'static>> = native
        .certs
        .iter()
        .map(|der| Certificate::from_der(der.as_ref()).to_owned())
        .collect();
    if let Some(path) = ca_bundle {
        certs.extend(bundle_certs(path)?);
    }
    if certs.is_empty() {
        tracing::warn!("no system CA certificates found; trusting Mozilla's root certificates");
        return Ok(RootCerts::WebPki);
    }
    Ok(RootCerts::new_with_certs(&certs))
}

impl HttpsClient {
    /// A client as `config` says.
    pub fn new(config: &HttpsConfig) -> Result<Self, HttpsSetupError> {
        let tls = TlsConfig::builder()
            .root_certs(roots(config.ca_bundle.as_deref())?)
            .build();
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .user_agent(config.user_agent.as_str())
            .timeout_connect(Some(config.connect_timeout))
            .timeout_global(Some(config.request_timeout))
            .proxy(None)
            .max_redirects(5)
            .redirect_auth_headers(ureq::config::RedirectAuthHeaders::SameHost)
            .tls_config(tls)
            .build()
            .into();
        Ok(Self { agent })
    }

    /// Sends one request and reads the whole answer (at most 10 MiB of body).
    pub fn send(
        &self,
        method: Method,
        url: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> Result<HttpAnswer, TransportError> {
        macro_rules! with_headers {
            ($builder:expr) => {{
                let mut b = $builder;
                for (name, value) in headers {
                    b = b.header(*name, *value);
                }
                b
            }};
        }
        let result = match (method, body) {
            (Method::Get, _) => with_headers!(self.agent.get(url)).call(),
            (Method::Delete, _) => with_headers!(self.agent.delete(url)).call(),
            (Method::Post, None) => with_headers!(self.agent.post(url)).send_empty(),
            (Method::Post, Some(b)) => with_headers!(self.agent.post(url)).send(b),
            (Method::Patch, b) => with_headers!(self.agent.patch(url)).send(b.unwrap_or_default()),
            (Method::Put, b) => with_headers!(self.agent.put(url)).send(b.unwrap_or_default()),
        };
        let mut response = result.map_err(|e| transport(&e))?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_ascii_lowercase(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let body = response
            .body_mut()
            .with_config()
            .limit(10 << 20)
            .read_to_vec()
            .map_err(|e| transport(&e))?;
        Ok(HttpAnswer {
            status,
            headers,
            body,
        })
    }
}

fn transport(error: &ureq::Error) -> TransportError {
    use std::io::ErrorKind;
    TransportError(match error {
        ureq::Error::Io(e) => match e.kind() {
            ErrorKind::ConnectionRefused => "connection refused".to_owned(),
            ErrorKind::ConnectionReset => "the connection was reset".to_owned(),
            ErrorKind::TimedOut => "timed out".to_owned(),
            _ => e.to_string(),
        },
        ureq::Error::Timeout(which) => format!("timed out ({which})"),
        ureq::Error::HostNotFound => "host not found (check the URL and DNS)".to_owned(),
        ureq::Error::ConnectionFailed => "connection failed".to_owned(),
        ureq::Error::Tls(e) => format!(
            "TLS failed ({e}); for a private CA set OORE_GITHUB_CA_BUNDLE to its PEM certificate"
        ),
        other => other.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bundle_without_certificates_is_refused_with_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ca.pem");
        std::fs::write(&path, "not a certificate").unwrap();
        let e = HttpsClient::new(&HttpsConfig::new(Some(path))).unwrap_err();
        assert!(e.to_string().contains("BEGIN CERTIFICATE"), "{e}");
        let e =
            HttpsClient::new(&HttpsConfig::new(Some(dir.path().join("missing.pem")))).unwrap_err();
        assert!(e.to_string().contains("cannot read the CA bundle"), "{e}");
    }

    #[test]
    fn the_system_roots_load() {
        HttpsClient::new(&HttpsConfig::new(None)).unwrap();
    }
}
