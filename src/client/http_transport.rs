//! The HTTP transport: the same requests as the in-process one, over reqwest
//! (rustls). One shared client with timeouts; idempotent calls are retried
//! when the connection fails.

use std::path::Path;
use std::sync::RwLock;
use std::time::Duration;

use futures::future::BoxFuture;
use http::Method;
use secrecy::{ExposeSecret, SecretString};

use super::{ApiRequest, ApiResponse, ClientError, Transport};
use crate::server::SOURCE_HEADER;

/// Waits before the 2nd and 3rd attempt of an idempotent call.
const RETRY_DELAYS: [Duration; 2] = [Duration::from_millis(100), Duration::from_millis(400)];

pub struct Http {
    base: String,
    client: reqwest::Client,
    token: RwLock<Option<SecretString>>,
}

/// The server URL without a trailing slash: the key sessions are stored under.
pub fn normalize_url(url: &str) -> String {
    url.trim().trim_end_matches('/').to_string()
}

/// The reqwest client every HTTP call uses: timeouts, rustls, and
/// `ca_cert` (PEM) added to the trusted roots.
pub fn http_client(ca_cert: Option<&Path>) -> Result<reqwest::Client, ClientError> {
    let mut builder = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(30))
        .pool_idle_timeout(Duration::from_secs(60))
        .user_agent(concat!("switchboard/", env!("CARGO_PKG_VERSION")));
    if let Some(path) = ca_cert {
        let pem = std::fs::read(path).map_err(|e| {
            ClientError::Transport(format!(
                "cannot read the CA certificate {}: {e}",
                path.display()
            ))
        })?;
        builder = builder.use_preconfigured_tls(given_cert_tls(path, &pem)?);
    }
    builder
        .build()
        .map_err(|e| ClientError::Transport(format!("cannot set up HTTPS: {e}")))
}

/// TLS that trusts the public roots and the certificates in `pem`, as
/// roots, and also as the server's own: a self-signed certificate made with
/// `openssl req -x509` is marked CA:TRUE, which the web PKI refuses as a
/// server's certificate; given explicitly, its exact bytes are accepted
/// (the handshake's signatures are still checked with it).
fn given_cert_tls(path: &Path, pem: &[u8]) -> Result<rustls::ClientConfig, ClientError> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject as _;
    let bad = |e: String| {
        ClientError::Transport(format!("{} is not a PEM certificate: {e}", path.display()))
    };
    let given: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<_, _>>()
        .map_err(|e| bad(e.to_string()))?;
    if given.is_empty() {
        return Err(bad("no certificate in it".to_string()));
    }
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    for cert in &given {
        roots.add(cert.clone()).map_err(|e| bad(e.to_string()))?;
    }
    let webpki = rustls::client::WebPkiServerVerifier::builder(std::sync::Arc::new(roots))
        .build()
        .map_err(|e| ClientError::Transport(format!("cannot set up HTTPS: {e}")))?;
    let verifier = GivenCertVerifier { given, webpki };
    Ok(rustls::ClientConfig::builder()
        .dangerous()
        .with_custom_certificate_verifier(std::sync::Arc::new(verifier))
        .with_no_client_auth())
}

/// The web PKI's checks, except that a certificate given with `--ca-cert`
/// is accepted as the server's own when the server presents exactly it.
#[derive(Debug)]
struct GivenCertVerifier {
    given: Vec<rustls::pki_types::CertificateDer<'static>>,
    webpki: std::sync::Arc<rustls::client::WebPkiServerVerifier>,
}

impl rustls::client::danger::ServerCertVerifier for GivenCertVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &rustls::pki_types::CertificateDer<'_>,
        intermediates: &[rustls::pki_types::CertificateDer<'_>],
        server_name: &rustls::pki_types::ServerName<'_>,
        ocsp: &[u8],
        now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        if self.given.iter().any(|c| c.as_ref() == end_entity.as_ref()) {
            return Ok(rustls::client::danger::ServerCertVerified::assertion());
        }
        self.webpki
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.webpki.supported_verify_schemes()
    }
}

impl Http {
    /// A transport to `base_url`; `ca_cert` (PEM) adds a private CA to the
    /// trusted roots.
    pub fn new(base_url: &str, ca_cert: Option<&Path>) -> Result<Http, ClientError> {
        let base = normalize_url(base_url);
        let parsed = reqwest::Url::parse(&base)
            .map_err(|e| ClientError::Transport(format!("bad server URL {base:?}: {e}")))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(ClientError::Transport(format!(
                "bad server URL {base:?}: use http:// or https://"
            )));
        }
        let client = http_client(ca_cert)?;
        Ok(Http {
            base,
            client,
            token: RwLock::new(None),
        })
    }

    pub fn base_url(&self) -> &str {
        &self.base
    }

    fn describe(&self, e: &reqwest::Error) -> ClientError {
        let why = if e.is_timeout() {
            "the server did not answer in time".to_string()
        } else if e.is_connect() {
            // The innermost cause says it best ("Connection refused", a TLS
            // certificate error…).
            let mut source: Option<&dyn std::error::Error> = Some(e);
            let mut last = e.to_string();
            while let Some(s) = source {
                last = s.to_string();
                source = s.source();
            }
            last
        } else {
            e.to_string()
        };
        ClientError::Transport(format!("{}: {why}", self.base))
    }

    async fn send_once(&self, request: &ApiRequest) -> Result<ApiResponse, reqwest::Error> {
        let mut builder = self
            .client
            .request(
                request.method.clone(),
                format!("{}{}", self.base, request.path),
            )
            .header(SOURCE_HEADER, request.source.as_str());
        if let Some(token) = self.token.read().ok().and_then(|t| t.clone()) {
            builder = builder.bearer_auth(token.expose_secret());
        }
        if let Some(body) = &request.body {
            builder = builder
                .header(http::header::CONTENT_TYPE, "application/json")
                .body(body.clone());
        }
        let resp = builder.send().await?;
        let status = resp.status().as_u16();
        let body = resp.bytes().await?;
        Ok(ApiResponse { status, body })
    }
}

impl Transport for Http {
    fn send(&self, request: ApiRequest) -> BoxFuture<'_, Result<ApiResponse, ClientError>> {
        Box::pin(async move {
            let idempotent = matches!(request.method, Method::GET | Method::HEAD);
            let mut attempt = 0;
            loop {
                match self.send_once(&request).await {
                    Ok(resp) => return Ok(resp),
                    Err(e)
                        if idempotent
                            && attempt < RETRY_DELAYS.len()
                            && (e.is_connect() || e.is_timeout()) =>
                    {
                        tokio::time::sleep(RETRY_DELAYS[attempt]).await;
                        attempt += 1;
                    }
                    Err(e) => return Err(self.describe(&e)),
                }
            }
        })
    }

    fn backend(&self) -> String {
        format!("server {}", self.base)
    }

    fn base_url(&self) -> Option<String> {
        Some(self.base.clone())
    }

    fn set_session(&self, token: Option<SecretString>) {
        if let Ok(mut slot) = self.token.write() {
            *slot = token;
        }
    }
}
