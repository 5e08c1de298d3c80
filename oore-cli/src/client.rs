//! The HTTP client for `oored`'s JSON API (ureq, blocking). HTTP error statuses are read
//! as values, not errors, so the error envelope's body can be shown; transport failures
//! become [`CliError::Unreachable`]. `https://` uses rustls with the system's roots or
//! the configured CA bundle, through a proxy when the environment names one ([`crate::tls`]).

use std::time::Duration;

use oore_core::api::ErrorEnvelope;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{ApiError, CliError};
use crate::resolve::Target;
use crate::tls;

/// Time allowed to establish the TCP connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Time allowed for a whole request, response body included.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// A client bound to one server and token.
pub(crate) struct ApiClient {
    agent: ureq::Agent,
    target: Target,
}

/// A response as received: status, body and request id.
#[derive(Debug)]
pub(crate) struct RawResponse {
    /// HTTP status.
    pub(crate) status: u16,
    /// The body as text.
    pub(crate) body: String,
    /// The URL requested, for messages.
    pub(crate) url: String,
    /// The `X-Request-Id` header, if any.
    pub(crate) request_id: Option<String>,
}

impl ApiClient {
    /// A client for `target`.
    pub(crate) fn new(target: Target) -> Self {
        let agent: ureq::Agent = tls::agent_config(&target.roots)
            .timeout_connect(Some(CONNECT_TIMEOUT))
            .timeout_global(Some(REQUEST_TIMEOUT))
            .build()
            .into();
        Self { agent, target }
    }

    /// `GET path`, decoding a 2xx JSON body as `T`.
    pub(crate) fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, CliError> {
        self.decode(self.send(Method::Get, path, None)?)
    }

    /// `POST path` with an optional JSON body, decoding a 2xx JSON body as `T`.
    pub(crate) fn post<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: Option<&B>,
    ) -> Result<T, CliError> {
        let body = body.map(to_json).transpose()?;
        self.decode(self.send(Method::Post, path, body)?)
    }

    /// `PUT path` with a JSON body, decoding a 2xx JSON body as `T`.
    pub(crate) fn put<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, CliError> {
        let body = to_json(body)?;
        self.decode(self.send(Method::Put, path, Some(body))?)
    }

    /// `DELETE path`, expecting a 2xx (usually 204) with any body.
    pub(crate) fn delete(&self, path: &str) -> Result<(), CliError> {
        let response = self.send(Method::Delete, path, None)?;
        if (200..300).contains(&response.status) {
            Ok(())
        } else {
            Err(self.error(response))
        }
    }

    /// Send a request and return whatever came back; only transport failures are errors.
    pub(crate) fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<String>,
    ) -> Result<RawResponse, CliError> {
        let server = self.target.server.to_string();
        let url = format!("{server}{path}");
        let auth = self
            .target
            .token
            .as_ref()
            .map(|t| format!("Bearer {}", t.expose()));
        let result = match (method, body) {
            (Method::Get, _) => with_auth(self.agent.get(&url), &auth).call(),
            (Method::Delete, _) => with_auth(self.agent.delete(&url), &auth).call(),
            (Method::Post, None) => with_auth(self.agent.post(&url), &auth).send_empty(),
            (Method::Post, Some(body)) => with_auth(self.agent.post(&url), &auth)
                .content_type("application/json")
                .send(body),
            (Method::Put, body) => with_auth(self.agent.put(&url), &auth)
                .content_type("application/json")
                .send(body.unwrap_or_default()),
        };
        let mut response = result.map_err(|e| self.transport_error(&e))?;
        let status = response.status().as_u16();
        let request_id = response
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = response
            .body_mut()
            .read_to_string()
            .map_err(|e| self.transport_error(&e))?;
        Ok(RawResponse {
            status,
            body,
            url,
            request_id,
        })
    }

    /// Decode a 2xx body as `T`, or turn the response into an error.
    pub(crate) fn decode<T: DeserializeOwned>(&self, response: RawResponse) -> Result<T, CliError> {
        if !(200..300).contains(&response.status) {
            return Err(self.error(response));
        }
        serde_json::from_str(&response.body).map_err(|e| CliError::BadResponse {
            url: response.url,
            status: response.status,
            reason: format!("the body is not the expected JSON ({e})"),
            request_id: response.request_id,
        })
    }

    /// The error for a non-2xx response: the envelope if the body is one.
    pub(crate) fn error(&self, response: RawResponse) -> CliError {
        match serde_json::from_str::<ErrorEnvelope>(&response.body) {
            Ok(envelope) => CliError::Api(Box::new(ApiError {
                status: response.status,
                server: self.target.server.to_string(),
                envelope,
                token_fix: self.target.token_fix(),
                hints: Vec::new(),
                flags: &[],
            })),
            Err(_) => CliError::BadResponse {
                url: response.url,
                status: response.status,
                reason: format!(
                    "the body is not an oored error ({})",
                    snippet(&response.body)
                ),
                request_id: response.request_id,
            },
        }
    }

    /// The error for a failure below HTTP.
    pub(crate) fn transport_error(&self, error: &ureq::Error) -> CliError {
        transport_error(&self.target, error)
    }

    /// The server and token this client talks to.
    pub(crate) fn target(&self) -> &Target {
        &self.target
    }
}

/// The HTTP methods the API uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Method {
    Get,
    Post,
    Put,
    Delete,
}

fn with_auth<B>(
    request: ureq::RequestBuilder<B>,
    auth: &Option<String>,
) -> ureq::RequestBuilder<B> {
    match auth {
        Some(value) => request.header("Authorization", value),
        None => request,
    }
}

fn to_json<B: Serialize>(body: &B) -> Result<String, CliError> {
    serde_json::to_string(body)
        .map_err(|e| CliError::Usage(format!("cannot encode the request: {e}")))
}

/// [`CliError::Unreachable`] for a failure below HTTP, with what to do about a TLS failure.
pub(crate) fn transport_error(target: &Target, error: &ureq::Error) -> CliError {
    let mut reason = transport_reason(error);
    if is_tls_failure(error) {
        reason = format!("TLS failed ({reason}); {}", tls::tls_hint(&target.roots));
    }
    CliError::Unreachable {
        url: target.server.to_string(),
        reason,
    }
}

/// True when the handshake or the certificate check failed.
fn is_tls_failure(error: &ureq::Error) -> bool {
    match error {
        ureq::Error::Tls(_) | ureq::Error::Rustls(_) | ureq::Error::Pem(_) => true,
        ureq::Error::Io(e) => {
            let text = e.to_string().to_ascii_lowercase();
            e.kind() == std::io::ErrorKind::InvalidData
                && (text.contains("certificate")
                    || text.contains("tls")
                    || text.contains("handshake"))
        }
        _ => false,
    }
}

/// A short, human reason for a transport failure.
fn transport_reason(error: &ureq::Error) -> String {
    use std::io::ErrorKind;
    match error {
        ureq::Error::Io(e) => match e.kind() {
            ErrorKind::ConnectionRefused => "connection refused".to_owned(),
            ErrorKind::ConnectionReset => "the connection was reset".to_owned(),
            ErrorKind::ConnectionAborted => "the connection was aborted".to_owned(),
            ErrorKind::TimedOut => "timed out".to_owned(),
            ErrorKind::UnexpectedEof => "the server closed the connection".to_owned(),
            _ => e.to_string(),
        },
        ureq::Error::Timeout(which) => {
            format!(
                "timed out ({which}; limits: connect {CONNECT_TIMEOUT:?}, request {REQUEST_TIMEOUT:?})"
            )
        }
        ureq::Error::HostNotFound => "host not found".to_owned(),
        ureq::Error::ConnectionFailed => "connection failed".to_owned(),
        ureq::Error::ConnectProxyFailed(why) => format!(
            "the proxy refused the connection ({why}); check HTTPS_PROXY, or list the host in NO_PROXY"
        ),
        other => other.to_string(),
    }
}

/// The start of a body, for messages about unexpected responses.
fn snippet(body: &str) -> String {
    let trimmed = body.trim();
    if trimmed.is_empty() {
        return "empty body".to_owned();
    }
    let mut short: String = trimmed.chars().take(120).collect();
    if short.len() < trimmed.len() {
        short.push('…');
    }
    crate::table::sanitize(&short)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snippet_is_short_and_safe() {
        assert_eq!(snippet("  "), "empty body");
        assert_eq!(snippet("<html>\n</html>"), "<html>\\n</html>");
        assert_eq!(snippet(&"x".repeat(500)).chars().count(), 121);
    }
}
