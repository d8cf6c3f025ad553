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
        let cert = reqwest::Certificate::from_pem(&pem).map_err(|e| {
            ClientError::Transport(format!("{} is not a PEM certificate: {e}", path.display()))
        })?;
        builder = builder.add_root_certificate(cert);
    }
    builder
        .build()
        .map_err(|e| ClientError::Transport(format!("cannot set up HTTPS: {e}")))
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
