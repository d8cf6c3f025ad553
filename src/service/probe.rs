//! The test of a connection's application (R27): one real GET of its ping
//! URL with its auth (an OAuth2 token fetched first), within a timeout,
//! told in words an administrator understands.
//!
//! Outbound safety. A test is a request the server makes where an admin
//! points it, so:
//! * every host is resolved here, and the test is refused when any of its
//!   addresses is one the policy denies (link-local and cloud metadata by
//!   default): no connection is attempted;
//! * the request is pinned to the addresses checked (reqwest's `resolve`),
//!   so a second DNS answer (rebinding) cannot send it elsewhere;
//! * no proxy from the environment is used (it would resolve on its own);
//! * redirects are followed only to the same scheme, host and port, at
//!   most [`MAX_REDIRECTS`]; one to another host is reported, not followed.
//!
//! Secret values go into request headers marked sensitive and nowhere else:
//! no message, log line or error text holds one.

use std::collections::HashSet;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use http::header::{ACCEPT, CONTENT_TYPE, LOCATION};
use http::{HeaderName, HeaderValue, StatusCode};
use secrecy::{ExposeSecret, SecretString};

use crate::domain::application::{AddressPolicy, StoredApplication, parse_http_url, ping_url};
use crate::model::AuthKind;

/// How long a test may take unless `serve --test-timeout` says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Redirects followed (to the same scheme, host and port) at most.
pub const MAX_REDIRECTS: usize = 5;
/// The largest token endpoint answer read.
const TOKEN_BODY_MAX: usize = 64 * 1024;

/// What a test may do: how long it may take, which addresses it may reach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestPolicy {
    pub timeout: Duration,
    pub addresses: AddressPolicy,
}

impl Default for TestPolicy {
    fn default() -> Self {
        TestPolicy {
            timeout: DEFAULT_TIMEOUT,
            addresses: AddressPolicy::default(),
        }
    }
}

/// How the test authenticates.
enum Auth {
    None,
    Basic {
        username: String,
        password: SecretString,
    },
    Header {
        name: HeaderName,
        value: SecretString,
    },
    Bearer(SecretString),
    OAuth2 {
        token_url: url::Url,
        client_id: String,
        client_secret: SecretString,
        scope: Option<String>,
    },
}

/// One test to run: where, and with which credentials.
pub struct Probe {
    ping: url::Url,
    auth: Auth,
}

impl std::fmt::Debug for Probe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Probe")
            .field("ping", &self.ping.as_str())
            .finish_non_exhaustive()
    }
}

/// What the test found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub ok: bool,
    pub status: Option<u16>,
    pub message: String,
    pub latency: Duration,
}

/// A failed test: the status when the application (or its token
/// endpoint) answered, and why.
struct Failed {
    status: Option<u16>,
    message: String,
}

fn failed(message: impl Into<String>) -> Failed {
    Failed {
        status: None,
        message: message.into(),
    }
}

impl Probe {
    /// The test of a stored application side and its decrypted secret
    /// value. `Err` says what is wrong with what is stored.
    pub fn new(app: &StoredApplication, secret: Option<SecretString>) -> Result<Probe, String> {
        let ping = ping_url(&app.base_url, app.ping_path.as_deref()).map_err(|e| e.message)?;
        let missing = || format!("the stored {} auth lacks its secret value", app.kind);
        let p = &app.public;
        let auth = match app.kind {
            AuthKind::None => Auth::None,
            AuthKind::Basic => Auth::Basic {
                username: p.username.clone().unwrap_or_default(),
                password: secret.ok_or_else(missing)?,
            },
            AuthKind::ApiKey => Auth::Header {
                name: HeaderName::from_bytes(p.header.as_deref().unwrap_or("").as_bytes())
                    .map_err(|_| "the stored API key header is not a header name".to_string())?,
                value: secret.ok_or_else(missing)?,
            },
            AuthKind::Bearer => Auth::Bearer(secret.ok_or_else(missing)?),
            AuthKind::Oauth2ClientCredentials => Auth::OAuth2 {
                token_url: parse_http_url(
                    "application.auth.token_url",
                    p.token_url.as_deref().unwrap_or(""),
                )
                .map_err(|e| e.message)?,
                client_id: p.client_id.clone().unwrap_or_default(),
                client_secret: secret.ok_or_else(missing)?,
                scope: p.scope.clone(),
            },
        };
        Ok(Probe { ping, auth })
    }

    /// Runs the test under `policy`: the whole of it (name resolution, a
    /// token, redirects) within the policy's timeout.
    pub async fn run(&self, policy: &TestPolicy) -> Outcome {
        let started = Instant::now();
        let result = tokio::time::timeout(policy.timeout, self.attempt(policy)).await;
        let latency = started.elapsed();
        match result {
            Ok(Ok((status, message))) => Outcome {
                ok: true,
                status: Some(status),
                message,
                latency,
            },
            Ok(Err(f)) => Outcome {
                ok: false,
                status: f.status,
                message: f.message,
                latency,
            },
            Err(_) => Outcome {
                ok: false,
                status: None,
                message: timed_out(policy.timeout),
                latency,
            },
        }
    }

    async fn attempt(&self, policy: &TestPolicy) -> Result<(u16, String), Failed> {
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(policy.timeout)
            .connect_timeout(policy.timeout)
            .pool_max_idle_per_host(0)
            .user_agent(concat!("switchboard-test/", env!("CARGO_PKG_VERSION")));
        let mut pinned = HashSet::new();
        builder = pin(builder, &self.ping, policy, &mut pinned).await?;
        if let Auth::OAuth2 { token_url, .. } = &self.auth {
            builder = pin(builder, token_url, policy, &mut pinned).await?;
        }
        let client = builder
            .build()
            .map_err(|e| failed(format!("cannot set up the request: {e}")))?;
        let token = match &self.auth {
            Auth::OAuth2 {
                token_url,
                client_id,
                client_secret,
                scope,
            } => Some(
                fetch_token(
                    &client,
                    token_url,
                    client_id,
                    client_secret,
                    scope.as_deref(),
                    policy.timeout,
                )
                .await?,
            ),
            _ => None,
        };
        let mut url = self.ping.clone();
        let mut hops = 0;
        loop {
            let mut req = client.get(url.clone());
            req = match &self.auth {
                Auth::None => req,
                Auth::Basic { username, password } => {
                    req.basic_auth(username, Some(password.expose_secret()))
                }
                Auth::Header { name, value } => {
                    let mut v = HeaderValue::from_str(value.expose_secret()).map_err(|_| {
                        failed("the stored API key cannot be sent in a header".to_string())
                    })?;
                    v.set_sensitive(true);
                    req.header(name.clone(), v)
                }
                Auth::Bearer(t) => req.bearer_auth(t.expose_secret()),
                Auth::OAuth2 { .. } => match &token {
                    Some(t) => req.bearer_auth(t.expose_secret()),
                    None => req,
                },
            };
            let resp = req
                .send()
                .await
                .map_err(|e| describe(&e, "the application", &url, policy.timeout))?;
            let status = resp.status();
            if status.is_redirection()
                && let Some(next) = redirect_target(&url, resp.headers())
            {
                if next.origin() != url.origin() {
                    return Err(Failed {
                        status: Some(status.as_u16()),
                        message: format!(
                            "the application redirected to another host ({}), not followed: point base_url at where it answers",
                            next.origin().ascii_serialization()
                        ),
                    });
                }
                if hops == MAX_REDIRECTS {
                    return Err(Failed {
                        status: Some(status.as_u16()),
                        message: format!(
                            "the application redirected more than {MAX_REDIRECTS} times; not followed further"
                        ),
                    });
                }
                hops += 1;
                url = next;
                continue;
            }
            return judge(status);
        }
    }
}

/// Where a redirect answer points, resolved against the URL it answered.
fn redirect_target(url: &url::Url, headers: &http::HeaderMap) -> Option<url::Url> {
    let location = headers.get(LOCATION)?.to_str().ok()?;
    url.join(location).ok()
}

/// The test's verdict on the application's status.
fn judge(status: StatusCode) -> Result<(u16, String), Failed> {
    let code = status.as_u16();
    let fail = |message: String| {
        Err(Failed {
            status: Some(code),
            message,
        })
    };
    match code {
        200..=299 => Ok((code, format!("the application answered HTTP {status}"))),
        401 | 403 => fail(format!(
            "the application refused the credentials (HTTP {status})"
        )),
        404 => fail(format!(
            "the application answered HTTP {status}: check base_url and ping_path"
        )),
        500..=599 => fail(format!(
            "the application answered HTTP {status}: a fault on its side"
        )),
        _ => fail(format!("the application answered HTTP {status}")),
    }
}

fn seconds(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{} ms", d.as_millis())
    }
}

fn timed_out(timeout: Duration) -> String {
    format!(
        "no answer within {} (timed out): the application is down, overloaded or unreachable",
        seconds(timeout)
    )
}

/// `host:port` of a URL, for messages.
fn place(url: &url::Url) -> String {
    match (url.host_str(), url.port_or_known_default()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_string(),
        _ => url.origin().ascii_serialization(),
    }
}

/// Resolves `url`'s host (once per name), refuses it when the policy
/// denies any of its addresses, and pins the client to those addresses.
async fn pin(
    builder: reqwest::ClientBuilder,
    url: &url::Url,
    policy: &TestPolicy,
    pinned: &mut HashSet<String>,
) -> Result<reqwest::ClientBuilder, Failed> {
    let refused = |name: &str, ip: IpAddr| {
        let via = if name == ip.to_string() {
            String::new()
        } else {
            format!("{name} resolves to ")
        };
        failed(format!(
            "refused: {via}{ip}, an address this server does not let tests reach (link-local and cloud metadata addresses, and any `serve --test-deny` names; `--test-allow` exempts); no request was made"
        ))
    };
    let port = url.port_or_known_default().unwrap_or(80);
    match url.host() {
        Some(url::Host::Ipv4(ip)) => {
            let ip = IpAddr::V4(ip);
            if policy.addresses.refuses(ip) {
                return Err(refused(&ip.to_string(), ip));
            }
            Ok(builder)
        }
        Some(url::Host::Ipv6(ip)) => {
            let ip = IpAddr::V6(ip);
            if policy.addresses.refuses(ip) {
                return Err(refused(&ip.to_string(), ip));
            }
            Ok(builder)
        }
        Some(url::Host::Domain(name)) => {
            if !pinned.insert(name.to_ascii_lowercase()) {
                return Ok(builder);
            }
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((name, port))
                .await
                .map_err(|e| {
                    failed(format!(
                        "the host name {name} could not be resolved (DNS): {e}"
                    ))
                })?
                .collect();
            if addrs.is_empty() {
                return Err(failed(format!(
                    "the host name {name} could not be resolved (DNS): no address"
                )));
            }
            if let Some(bad) = addrs.iter().find(|a| policy.addresses.refuses(a.ip())) {
                return Err(refused(name, bad.ip()));
            }
            Ok(builder.resolve_to_addrs(name, &addrs))
        }
        None => Err(failed(format!("{url} has no host"))),
    }
}

/// OAuth2 client credentials (RFC 6749 §4.4): the client authenticates
/// with HTTP Basic; the access token comes back, held as a secret.
async fn fetch_token(
    client: &reqwest::Client,
    token_url: &url::Url,
    client_id: &str,
    client_secret: &SecretString,
    scope: Option<&str>,
    timeout: Duration,
) -> Result<SecretString, Failed> {
    let form = {
        let mut form = form_urlencoded::Serializer::new(String::new());
        form.append_pair("grant_type", "client_credentials");
        if let Some(scope) = scope {
            form.append_pair("scope", scope);
        }
        form.finish()
    };
    let mut resp = client
        .post(token_url.clone())
        .basic_auth(client_id, Some(client_secret.expose_secret()))
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(ACCEPT, "application/json")
        .body(form)
        .send()
        .await
        .map_err(|e| describe(&e, "the token endpoint", token_url, timeout))?;
    let status = resp.status();
    let code = status.as_u16();
    let fail = |message: String| Failed {
        status: Some(code),
        message,
    };
    if status.is_redirection() {
        return Err(fail(format!(
            "the token endpoint redirected (HTTP {status}), not followed: give its final URL as token_url"
        )));
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| describe(&e, "the token endpoint", token_url, timeout))?
    {
        body.extend_from_slice(&chunk);
        if body.len() > TOKEN_BODY_MAX {
            return Err(fail(
                "the token endpoint's answer is too large to be a token".to_string(),
            ));
        }
    }
    let json: Option<serde_json::Value> = serde_json::from_slice(&body).ok();
    if !status.is_success() {
        // RFC 6749 §5.2's error code says which part failed; it is a short
        // word, never a credential.
        let error = json
            .as_ref()
            .and_then(|j| j.get("error"))
            .and_then(|e| e.as_str())
            .filter(|e| e.len() <= 40 && e.bytes().all(|b| b.is_ascii_graphic()))
            .map(|e| format!(", {e}"))
            .unwrap_or_default();
        return Err(match code {
            400 | 401 | 403 => fail(format!(
                "the token endpoint refused the client credentials (HTTP {status}{error})"
            )),
            _ => fail(format!("the token endpoint answered HTTP {status}{error}")),
        });
    }
    let token = json
        .as_ref()
        .and_then(|j| j.get("access_token"))
        .and_then(|t| t.as_str())
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            fail(format!(
                "the token endpoint answered HTTP {status} without an access_token"
            ))
        })?;
    Ok(SecretString::from(token.to_string()))
}

/// What went wrong with a request, in an administrator's words (never
/// reqwest's own text, which names the whole URL).
fn describe(e: &reqwest::Error, who: &str, url: &url::Url, timeout: Duration) -> Failed {
    if e.is_timeout() {
        return failed(timed_out(timeout));
    }
    let at = place(url);
    let mut innermost = None;
    let mut tls = None;
    let mut kind = None;
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = source {
        innermost = Some(err.to_string());
        if let Some(r) = err.downcast_ref::<rustls::Error>() {
            tls.get_or_insert_with(|| r.to_string());
        }
        source = err.source();
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            if kind.is_none() || io.kind() != std::io::ErrorKind::Other {
                kind = Some(io.kind());
            }
            // An io::Error's `source` skips the error it wraps (TLS errors
            // come as io::Errors wrapping io::Errors wrapping rustls').
            if let Some(inner) = io.get_ref() {
                source = Some(inner as &(dyn std::error::Error + 'static));
            }
        }
    }
    let detail = innermost.unwrap_or_default();
    if let Some(tls) = tls {
        return failed(format!("the TLS handshake with {at} failed: {tls}"));
    }
    match kind {
        Some(std::io::ErrorKind::ConnectionRefused) => failed(format!(
            "connection refused by {at}: nothing listens there (is {who} running?), or a firewall refuses"
        )),
        Some(std::io::ErrorKind::TimedOut) => failed(timed_out(timeout)),
        Some(
            std::io::ErrorKind::ConnectionReset
            | std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::UnexpectedEof,
        ) => failed(format!("{at} closed the connection: {detail}")),
        _ if detail.contains("certificate") || detail.to_lowercase().contains("tls") => {
            failed(format!("the TLS handshake with {at} failed: {detail}"))
        }
        _ if e.is_connect() => failed(format!("cannot connect to {at}: {detail}")),
        _ => failed(format!("the request to {who} at {at} failed: {detail}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_told_in_words() {
        assert!(judge(StatusCode::OK).is_ok());
        let m = |s: u16| {
            judge(StatusCode::from_u16(s).unwrap())
                .err()
                .unwrap()
                .message
        };
        assert_eq!(
            m(401),
            "the application refused the credentials (HTTP 401 Unauthorized)"
        );
        assert!(m(403).contains("refused the credentials"));
        assert!(m(404).contains("ping_path"));
        assert!(m(502).contains("502 Bad Gateway"));
        assert_eq!(seconds(Duration::from_secs(10)), "10 s");
        assert_eq!(seconds(Duration::from_millis(300)), "300 ms");
    }
}
