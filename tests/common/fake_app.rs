//! An outside application for the tests of R26/R27: a real HTTP server on
//! a loopback port that checks each auth kind's credentials, with an
//! OAuth2 token endpoint, one route that answers 401, one that hangs, one
//! that redirects to another host name, and a health route that can be
//! switched off. It counts every request it gets.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;

/// The credentials the application accepts.
#[derive(Debug, Clone)]
pub struct Creds {
    pub username: String,
    pub password: String,
    pub header: String,
    pub key: String,
    pub token: String,
    pub client_id: String,
    pub client_secret: String,
    pub scope: String,
    /// What the token endpoint issues.
    pub access_token: String,
}

impl Default for Creds {
    fn default() -> Self {
        Creds {
            username: "erp-user".into(),
            password: "app-password-3f9a2b".into(),
            header: "X-API-Key".into(),
            key: "app-key-7c21d0e4".into(),
            token: "app-token-5d88a1c9".into(),
            client_id: "switchboard-client".into(),
            client_secret: "app-client-secret-91b04e".into(),
            scope: "read:health".into(),
            access_token: "issued-access-token-e4c7f2".into(),
        }
    }
}

impl Creds {
    /// Every secret value of these credentials (for byte searches).
    pub fn secrets(&self) -> Vec<String> {
        vec![
            self.password.clone(),
            self.key.clone(),
            self.token.clone(),
            self.client_secret.clone(),
            self.access_token.clone(),
        ]
    }
}

#[derive(Clone)]
struct AppState {
    creds: Arc<Creds>,
    port: u16,
    healthy: Arc<AtomicBool>,
    hits: Arc<AtomicU64>,
    token_requests: Arc<AtomicU64>,
}

/// A running application; stopped when dropped (or by [`FakeApp::stop`]).
pub struct FakeApp {
    pub addr: SocketAddr,
    /// `http://127.0.0.1:PORT`
    pub url: String,
    pub creds: Arc<Creds>,
    healthy: Arc<AtomicBool>,
    hits: Arc<AtomicU64>,
    token_requests: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl FakeApp {
    pub async fn start() -> FakeApp {
        FakeApp::start_with(Creds::default()).await
    }

    pub async fn start_with(creds: Creds) -> FakeApp {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = AppState {
            creds: Arc::new(creds),
            port: addr.port(),
            healthy: Arc::new(AtomicBool::new(true)),
            hits: Arc::new(AtomicU64::new(0)),
            token_requests: Arc::new(AtomicU64::new(0)),
        };
        let router = Router::new()
            .route("/health", get(health))
            .route("/basic", get(basic))
            .route("/key", get(key))
            .route("/bearer", get(bearer))
            .route("/oauth", get(bearer_issued))
            .route("/token", post(token))
            .route("/denied", get(|| async { StatusCode::UNAUTHORIZED }))
            .route("/forbidden", get(|| async { StatusCode::FORBIDDEN }))
            .route("/hang", get(hang))
            .route("/elsewhere", get(elsewhere))
            .route("/same", get(same))
            .route("/loop", get(redirect_loop))
            .layer(axum::middleware::from_fn_with_state(state.clone(), count))
            .with_state(state.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        FakeApp {
            addr,
            url: format!("http://{addr}"),
            creds: state.creds,
            healthy: state.healthy,
            hits: state.hits,
            token_requests: state.token_requests,
            task,
        }
    }

    /// `/health` answers 200 when healthy, 503 when not.
    pub fn set_healthy(&self, healthy: bool) {
        self.healthy.store(healthy, Ordering::SeqCst);
    }

    /// Requests received so far (every route).
    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::SeqCst)
    }

    pub fn token_requests(&self) -> u64 {
        self.token_requests.load(Ordering::SeqCst)
    }

    /// Stops listening: new connections are refused.
    pub async fn stop(mut self) {
        let task = std::mem::replace(&mut self.task, tokio::spawn(async {}));
        task.abort();
        let _ = task.await;
    }
}

impl Drop for FakeApp {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn count(State(s): State<AppState>, req: Request, next: axum::middleware::Next) -> Response {
    s.hits.fetch_add(1, Ordering::SeqCst);
    next.run(req).await
}

fn authorization(h: &HeaderMap) -> &str {
    h.get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

fn basic_of(user: &str, password: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

fn verdict(ok: bool) -> Response {
    if ok {
        (StatusCode::OK, "fine").into_response()
    } else {
        StatusCode::UNAUTHORIZED.into_response()
    }
}

async fn health(State(s): State<AppState>) -> Response {
    if s.healthy.load(Ordering::SeqCst) {
        (StatusCode::OK, "up").into_response()
    } else {
        StatusCode::SERVICE_UNAVAILABLE.into_response()
    }
}

async fn basic(State(s): State<AppState>, h: HeaderMap) -> Response {
    verdict(authorization(&h) == basic_of(&s.creds.username, &s.creds.password))
}

async fn key(State(s): State<AppState>, h: HeaderMap) -> Response {
    let given = h.get(s.creds.header.as_str()).and_then(|v| v.to_str().ok());
    verdict(given == Some(s.creds.key.as_str()))
}

async fn bearer(State(s): State<AppState>, h: HeaderMap) -> Response {
    verdict(authorization(&h) == format!("Bearer {}", s.creds.token))
}

async fn bearer_issued(State(s): State<AppState>, h: HeaderMap) -> Response {
    verdict(authorization(&h) == format!("Bearer {}", s.creds.access_token))
}

/// RFC 6749 §4.4: client credentials with HTTP Basic, the scope checked.
async fn token(State(s): State<AppState>, h: HeaderMap, body: String) -> Response {
    s.token_requests.fetch_add(1, Ordering::SeqCst);
    let client_ok = authorization(&h) == basic_of(&s.creds.client_id, &s.creds.client_secret);
    let form: Vec<(String, String)> = form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect();
    let has = |k: &str, v: &str| form.iter().any(|(a, b)| a == k && b == v);
    if !client_ok {
        return (
            StatusCode::UNAUTHORIZED,
            axum::Json(serde_json::json!({"error": "invalid_client"})),
        )
            .into_response();
    }
    if !has("grant_type", "client_credentials") || !has("scope", &s.creds.scope) {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(serde_json::json!({"error": "invalid_scope"})),
        )
            .into_response();
    }
    axum::Json(serde_json::json!({
        "access_token": s.creds.access_token,
        "token_type": "bearer",
        "expires_in": 3600
    }))
    .into_response()
}

async fn hang() -> Response {
    tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
    StatusCode::OK.into_response()
}

/// To the same port, under another host name.
async fn elsewhere(State(s): State<AppState>) -> Response {
    (
        StatusCode::FOUND,
        [(
            header::LOCATION,
            format!("http://localhost:{}/health", s.port),
        )],
    )
        .into_response()
}

async fn same() -> Response {
    (StatusCode::FOUND, [(header::LOCATION, "/health")]).into_response()
}

async fn redirect_loop() -> Response {
    (StatusCode::FOUND, [(header::LOCATION, "/loop")]).into_response()
}
