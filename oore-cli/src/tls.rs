//! https for `oore`: which certificates a server may present, and the one place agents
//! are configured, so the API client and the downloads agree. TLS is rustls with the
//! platform's verifier (the system's roots). A CA bundle (a PEM file of certificates:
//! `OORE_CA_BUNDLE`, else the profile's `ca_bundle`) replaces the system's roots, as
//! `curl --cacert` does: for a server whose certificate a private CA signed.
//! Proxies come from `HTTPS_PROXY` / `HTTP_PROXY` / `ALL_PROXY`, with `NO_PROXY` naming
//! the hosts reached directly.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use ureq::config::ConfigBuilder;
use ureq::tls::{Certificate, PemItem, RootCerts, TlsConfig};
use ureq::typestate::AgentScope;

use crate::error::CliError;

/// The certificates a server's certificate must chain to.
#[derive(Debug, Clone, Default)]
pub(crate) enum Roots {
    /// The system's, through the platform verifier.
    #[default]
    System,
    /// Only those of a CA bundle.
    Bundle {
        /// Where they were read from, for messages.
        path: PathBuf,
        /// The certificates.
        certs: Arc<Vec<Certificate<'static>>>,
    },
}

impl Roots {
    /// The certificates of the PEM bundle at `path`; an error that names the file and the
    /// two ways to set it when it cannot be read or holds none.
    pub(crate) fn from_bundle(path: &Path) -> Result<Self, CliError> {
        let invalid = |why: String| CliError::CaBundle {
            path: path.to_owned(),
            reason: why,
        };
        let pem = std::fs::read(path).map_err(|e| invalid(e.to_string()))?;
        let mut certs = Vec::new();
        for item in ureq::tls::parse_pem(&pem) {
            match item {
                Ok(PemItem::Certificate(cert)) => certs.push(cert),
                Ok(_) => {}
                Err(e) => return Err(invalid(format!("it is not valid PEM ({e})"))),
            }
        }
        if certs.is_empty() {
            return Err(invalid(
                "it holds no certificate (expected PEM blocks: -----BEGIN CERTIFICATE-----)"
                    .to_owned(),
            ));
        }
        Ok(Self::Bundle {
            path: path.to_owned(),
            certs: Arc::new(certs),
        })
    }

    /// The bundle's path, when there is one.
    pub(crate) fn bundle_path(&self) -> Option<&Path> {
        match self {
            Self::System => None,
            Self::Bundle { path, .. } => Some(path),
        }
    }

    fn tls_config(&self) -> TlsConfig {
        let roots = match self {
            Self::System => RootCerts::PlatformVerifier,
            Self::Bundle { certs, .. } => RootCerts::Specific(Arc::clone(certs)),
        };
        TlsConfig::builder().root_certs(roots).build()
    }
}

/// An agent configuration with `roots`, the proxy from the environment, `oore`'s
/// User-Agent, and HTTP error statuses read as values; the caller adds its timeouts.
pub(crate) fn agent_config(roots: &Roots) -> ConfigBuilder<AgentScope> {
    ureq::Agent::config_builder()
        .tls_config(roots.tls_config())
        .proxy(ureq::Proxy::try_from_env())
        .http_status_as_error(false)
        .user_agent(concat!("oore/", env!("CARGO_PKG_VERSION")))
}

/// What to add to a TLS failure's message: where the trusted certificates came from and
/// how to trust the server's.
pub(crate) fn tls_hint(roots: &Roots) -> String {
    match roots.bundle_path() {
        Some(path) => format!(
            "the server's certificate does not chain to the CA bundle {} (OORE_CA_BUNDLE or the profile's ca_bundle); check that it holds the CA that signed it",
            path.display()
        ),
        None => "if a private CA signed the server's certificate, trust it with `oore config set --ca-bundle FILE` (a PEM file) or OORE_CA_BUNDLE".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bundle_must_hold_certificates() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.pem");
        let err = Roots::from_bundle(&missing).unwrap_err().to_string();
        assert!(err.contains("missing.pem"), "{err}");
        assert!(err.contains("OORE_CA_BUNDLE"), "{err}");

        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let err = Roots::from_bundle(&empty).unwrap_err().to_string();
        assert!(err.contains("holds no certificate"), "{err}");

        let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        let good = dir.path().join("ca.pem");
        std::fs::write(&good, cert.cert.pem()).unwrap();
        let roots = Roots::from_bundle(&good).unwrap();
        assert_eq!(roots.bundle_path(), Some(good.as_path()));
    }
}
