//! https: the real `oore` against the real server behind a TLS front on loopback whose
//! certificate a test CA (made with rcgen) signed. The CA bundle comes from the profile
//! or `OORE_CA_BUNDLE`; without it the certificate is refused with the way to trust it.
//! Proxies from the environment are used, and `NO_PROXY` bypasses them.

use std::net::SocketAddr;
use std::sync::Arc;

use oore_testkit::TestServer;
use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::support::{Cli, dead_url};

/// A TLS listener on `127.0.0.1` that forwards each connection to the plain server.
struct TlsFront {
    port: u16,
    ca_pem: String,
    _runtime: tokio::runtime::Runtime,
}

impl TlsFront {
    fn new(backend: SocketAddr) -> Self {
        let ca_key = KeyPair::generate().expect("CA key");
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca_cert = ca_params.self_signed(&ca_key).expect("CA certificate");
        let issuer = Issuer::new(ca_params, ca_key);
        let key = KeyPair::generate().expect("server key");
        let cert = CertificateParams::new(vec!["localhost".to_owned()])
            .expect("server params")
            .signed_by(&key, &issuer)
            .expect("server certificate");
        let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
        let config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_no_client_auth()
            .with_single_cert(
                vec![cert.der().clone()],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
            )
            .expect("server config");
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let listener = runtime
            .block_on(TcpListener::bind("127.0.0.1:0"))
            .expect("bind");
        let port = listener.local_addr().expect("addr").port();
        runtime.spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    // A client that refuses the certificate ends the handshake: fine.
                    let Ok(mut tls) = acceptor.accept(stream).await else {
                        return;
                    };
                    if let Ok(mut plain) = TcpStream::connect(backend).await {
                        let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
                    }
                });
            }
        });
        Self {
            port,
            ca_pem: ca_cert.pem(),
            _runtime: runtime,
        }
    }

    fn url(&self) -> String {
        format!("https://localhost:{}", self.port)
    }
}

fn backend(server: &TestServer) -> SocketAddr {
    let url = server.url();
    let authority = url.trim_start_matches("http://").trim_end_matches('/');
    authority
        .parse()
        .expect("the test server listens on an IP and port")
}

#[test]
fn https_works_with_the_profiles_ca_bundle_or_oore_ca_bundle() {
    let server = TestServer::start();
    let front = TlsFront::new(backend(&server));
    let mut cli = Cli::new();
    let ca = cli.work_dir().join("ca.pem");
    std::fs::write(&ca, &front.ca_pem).unwrap();
    let url = front.url();
    cli.run(&[
        "config",
        "init",
        "--server",
        &url,
        "--token",
        server.admin_token(),
    ])
    .ok();

    // The system's roots do not know the test CA.
    cli.run(&["repo", "list"])
        .code(3)
        .stderr_has("TLS failed")
        .stderr_has("oore config set --ca-bundle FILE");

    cli.run(&["config", "set", "--ca-bundle", "ca.pem"])
        .ok()
        .stdout_has("CA bundle");
    cli.run(&["config", "show"])
        .ok()
        .stdout_has(&format!("the CA bundle {}", ca.display()));
    cli.run(&["health"]).ok().stdout_has("healthy");
    cli.run(&["repo", "list"])
        .ok()
        .stdout_has("no repositories yet");
    cli.run(&["config", "set", "--no-ca-bundle"]).ok();
    cli.run(&["repo", "list"]).code(3);

    // The environment variable, over the profile.
    cli.env("OORE_CA_BUNDLE", &ca.display().to_string());
    cli.run(&["repo", "list"]).ok();
    let mut broken = Cli::new();
    broken.env("OORE_CA_BUNDLE", "/nonexistent/ca.pem");
    broken
        .run(&["--server", &url, "--token", "x", "repo", "list"])
        .code(2)
        .stderr_has("cannot use the CA bundle /nonexistent/ca.pem");
}

#[test]
fn proxies_from_the_environment_are_used_unless_no_proxy_names_the_host() {
    let server = TestServer::start();
    let front = TlsFront::new(backend(&server));
    let mut cli = Cli::new();
    let ca = cli.work_dir().join("ca.pem");
    std::fs::write(&ca, &front.ca_pem).unwrap();
    cli.env("OORE_CA_BUNDLE", &ca.display().to_string());
    // Nothing listens at the proxy's address.
    cli.env("HTTPS_PROXY", &dead_url());
    let url = front.url();
    let token = server.admin_token().to_owned();
    cli.run(&["--server", &url, "--token", &token, "repo", "list"])
        .code(3);
    cli.env("NO_PROXY", "localhost");
    cli.run(&["--server", &url, "--token", &token, "repo", "list"])
        .ok();
}

#[test]
fn a_token_over_plain_http_to_another_machine_is_warned_about() {
    let cli = Cli::new();
    cli.run(&[
        "--server",
        "http://ci.example.invalid:9",
        "--token",
        "t0ken",
        "health",
    ])
    .code(3)
    .stderr_has("warning: the admin token is sent to http://ci.example.invalid:9 unencrypted");
    // Loopback is this machine: no warning.
    let run = cli
        .run(&["--server", &dead_url(), "--token", "t0ken", "health"])
        .code(3);
    assert!(!run.stderr.contains("unencrypted"), "{run}");
}
