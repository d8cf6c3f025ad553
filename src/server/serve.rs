//! `switchboard serve`: the API on a socket, plain or TLS (rustls), with
//! request ids, request logs that never hold credentials, malformed
//! requests answered in words (`heads`), and a graceful shutdown.

mod heads;

use super::metrics::Metrics;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum_server::Handle;
use axum_server::tls_rustls::RustlsConfig;

use super::products::Links;
use http::{HeaderName, Request, header};
use tower_http::request_id::{
    MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

use super::{AppState, router};

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Request ids: a random prefix per process and a counter, so ids are
/// unique across instances without a system call per request.
#[derive(Clone)]
struct CountingIds {
    prefix: Arc<str>,
    next: Arc<AtomicU64>,
}

impl CountingIds {
    fn new() -> Self {
        CountingIds {
            prefix: crate::domain::credentials::random_base62(8).into(),
            next: Arc::new(AtomicU64::new(1)),
        }
    }
}

impl MakeRequestId for CountingIds {
    fn make_request_id<B>(&mut self, _request: &Request<B>) -> Option<RequestId> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        http::HeaderValue::from_str(&format!("{}-{n}", self.prefix))
            .ok()
            .map(RequestId::new)
    }
}

/// How long in-flight requests may take to finish on shutdown.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// The router with what a socket needs around it.
pub fn app(service: AppState) -> Router {
    with_socket_layers(router(service))
}

/// [`app`], and with `metrics` every request counted and `GET /metrics`
/// served (`serve --metrics`).
pub fn app_with_metrics(service: AppState, metrics: Option<Arc<Metrics>>) -> Router {
    let Some(metrics) = metrics else {
        return app(service);
    };
    let scrape = Router::new()
        .route(
            "/metrics",
            axum::routing::get(super::metrics::serve_metrics),
        )
        .with_state((metrics.clone(), service.clone()));
    let counted = router(service)
        .merge(scrape)
        .layer(axum::middleware::from_fn_with_state(
            metrics,
            super::metrics::count,
        ));
    with_socket_layers(counted)
}

/// Request ids and request logs around any router (benchmarks and tests
/// serve the API with extra routes this way).
/// At most `max` bytes of `s` (visible ASCII, so any cut is a char
/// boundary; otherwise cut at the last boundary before).
fn bounded(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

pub fn with_socket_layers(app: Router) -> Router {
    app.layer(
        TraceLayer::new_for_http()
            .make_span_with(|req: &Request<_>| {
                // A client may send its own request id: visible ASCII
                // only (`to_str`), and like the path bounded in length.
                let id = req
                    .headers()
                    .get(&REQUEST_ID)
                    .and_then(|v| v.to_str().ok())
                    .map_or("-", |id| bounded(id, 64));
                // The path only: never the query or any header.
                let path = bounded(req.uri().path(), 256);
                tracing::info_span!("request", id = %id, method = %req.method(), path = %path)
            })
            .on_response(DefaultOnResponse::new().level(Level::INFO)),
    )
    .layer(PropagateRequestIdLayer::new(REQUEST_ID))
    .layer(SetRequestIdLayer::new(REQUEST_ID, CountingIds::new()))
    .layer(SetSensitiveRequestHeadersLayer::new([
        header::AUTHORIZATION,
        header::COOKIE,
    ]))
}

/// TLS certificate and key files (PEM).
#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// A server that is listening.
pub struct Running {
    addr: SocketAddr,
    handle: Stopper,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// Asks a server to stop gracefully: in-flight requests finish, and
/// connections that have sent nothing yet are closed at once (they would
/// otherwise hold the shutdown until their header timeout).
#[derive(Clone)]
pub struct Stopper {
    handle: Handle,
    stopping: Arc<tokio::sync::watch::Sender<bool>>,
}

impl Stopper {
    pub fn graceful_shutdown(&self, grace: Option<Duration>) {
        self.stopping.send_replace(true);
        self.handle.graceful_shutdown(grace);
    }
}

impl Running {
    /// The address it listens on (the real port when asked for port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting, lets in-flight requests finish, and waits.
    pub async fn shutdown(self) -> std::io::Result<()> {
        self.handle.graceful_shutdown(Some(SHUTDOWN_GRACE));
        self.task.await.map_err(std::io::Error::other)?
    }

    /// Runs until the server stops.
    pub async fn wait(self) -> std::io::Result<()> {
        self.task.await.map_err(std::io::Error::other)?
    }

    /// Asks for a graceful shutdown without waiting (from a signal handler).
    pub fn handle(&self) -> Stopper {
        self.handle.clone()
    }
}

impl TlsFiles {
    /// Loads the certificate and key, as `start` will: called by `serve`
    /// before it opens the database, so a bad file is said before anything
    /// is created.
    pub async fn check(&self) -> anyhow::Result<()> {
        self.load().await.map(drop)
    }

    async fn load(&self) -> anyhow::Result<RustlsConfig> {
        use anyhow::Context as _;
        install_crypto();
        RustlsConfig::from_pem_file(&self.cert, &self.key)
            .await
            .with_context(|| {
                format!(
                    "cannot use the TLS certificate {} and key {}",
                    self.cert.display(),
                    self.key.display()
                )
            })
    }
}

/// Closes a connection that sends nothing within `timeout`: hyper's header
/// timeout counts from a request's first byte, and the protocol detection
/// before it waits for that byte as long as it takes.
///
/// It also caps the connections open at once: past `--max-connections` a
/// new connection is closed as soon as it is accepted, so idle sockets can
/// never use up the process's file descriptors.
#[derive(Debug, Clone)]
struct FirstByte {
    timeout: Duration,
    /// Becomes true when the server is asked to stop.
    stopping: tokio::sync::watch::Receiver<bool>,
    /// One permit per open connection.
    slots: Arc<tokio::sync::Semaphore>,
    /// When a refused connection was last logged (ms since start), so a
    /// flood writes one line a minute, not one per connection.
    refused_logged: Arc<AtomicU64>,
    refused: Arc<AtomicU64>,
    started: std::time::Instant,
}

impl FirstByte {
    fn new(timeout: Duration, stopping: &tokio::sync::watch::Sender<bool>, max: usize) -> Self {
        FirstByte {
            timeout,
            stopping: stopping.subscribe(),
            slots: Arc::new(tokio::sync::Semaphore::new(max)),
            refused_logged: Arc::new(AtomicU64::new(0)),
            refused: Arc::new(AtomicU64::new(0)),
            started: std::time::Instant::now(),
        }
    }

    /// Counts a connection refused for the cap; logs at most once a minute.
    fn refuse(&self) -> std::io::Error {
        let refused = self.refused.fetch_add(1, Ordering::Relaxed) + 1;
        let now = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let last = self.refused_logged.load(Ordering::Relaxed);
        if (last == 0 || now.saturating_sub(last) >= 60_000)
            && self
                .refused_logged
                .compare_exchange(last, now.max(1), Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            tracing::warn!(
                refused,
                "connection limit reached (--max-connections): new connections are closed"
            );
        }
        std::io::Error::other("too many connections")
    }
}

/// An accepted connection and its place under the cap, given back when it
/// closes.
#[derive(Debug)]
pub struct Held {
    stream: tokio::net::TcpStream,
    _slot: tokio::sync::OwnedSemaphorePermit,
}

impl tokio::io::AsyncRead for Held {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl tokio::io::AsyncWrite for Held {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

impl<S: Send + 'static> axum_server::accept::Accept<tokio::net::TcpStream, S> for FirstByte {
    type Stream = Held;
    type Service = S;
    type Future = std::pin::Pin<
        Box<dyn std::future::Future<Output = std::io::Result<(Self::Stream, S)>> + Send>,
    >;

    fn accept(&self, stream: tokio::net::TcpStream, service: S) -> Self::Future {
        let timeout = self.timeout;
        let mut stopping = self.stopping.clone();
        // Refused at once, before anything is read: the socket closes.
        let slot = self
            .slots
            .clone()
            .try_acquire_owned()
            .map_err(|_| self.refuse());
        Box::pin(async move {
            let slot = slot?;
            let mut first = [0u8; 1];
            let peeked = tokio::select! {
                p = tokio::time::timeout(timeout, stream.peek(&mut first)) => p,
                _ = stopping.wait_for(|s| *s) => {
                    return Err(std::io::Error::other("the server is stopping"));
                }
            };
            match peeked {
                Ok(Ok(n)) if n > 0 => Ok((
                    Held {
                        stream,
                        _slot: slot,
                    },
                    service,
                )),
                Ok(Err(e)) => Err(e),
                _ => Err(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "nothing sent within the header timeout",
                )),
            }
        })
    }
}

/// A connection whose request headers are not complete within `timeout`
/// (a slow or silent client, or an idle keep-alive connection) is closed:
/// hyper's header-read timeout, which needs a timer to act at all.
fn bound_reads(
    builder: &mut hyper_util::server::conn::auto::Builder<hyper_util::rt::TokioExecutor>,
    timeout: Duration,
) {
    builder
        .http1()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(timeout);
    builder
        .http2()
        .timer(hyper_util::rt::TokioTimer::new())
        .keep_alive_interval(timeout)
        .keep_alive_timeout(timeout);
}

/// Uses ring for rustls, once per process.
fn install_crypto() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Starts serving `service` on `listen`.
pub async fn start(
    service: AppState,
    listen: SocketAddr,
    tls: Option<TlsFiles>,
) -> anyhow::Result<Running> {
    start_app(app(service), listen, tls).await
}

/// Starts serving `app` (made by [`app`] or [`with_socket_layers`]) on
/// `listen`, its links built from the address it listens on.
pub async fn start_app(
    app: Router,
    listen: SocketAddr,
    tls: Option<TlsFiles>,
) -> anyhow::Result<Running> {
    start_app_with(app, listen, tls, ServeConfig::default()).await
}

/// How long a client may take to send a request's headers, and how long an
/// idle keep-alive connection stays open waiting for the next request (the
/// same bound), unless `serve --header-timeout` says otherwise.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(30);

/// What `serve` is configured with beyond the address and TLS.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// Links' public URL and trusted proxies (`--public-url`,
    /// `--trusted-proxy`).
    pub links: Arc<Links>,
    /// `--header-timeout`: see [`HEADER_TIMEOUT`].
    pub header_timeout: Duration,
    /// `--max-connections`: see [`MAX_CONNECTIONS`].
    pub max_connections: usize,
}

/// How many connections `serve` keeps open at once unless
/// `--max-connections` says otherwise; past it, new ones are closed.
pub const MAX_CONNECTIONS: usize = 512;

impl Default for ServeConfig {
    fn default() -> Self {
        ServeConfig {
            links: Arc::new(Links::default()),
            header_timeout: HEADER_TIMEOUT,
            max_connections: MAX_CONNECTIONS,
        }
    }
}

/// [`start_app`] with `config`; without a public URL, links use the address
/// it listens on.
pub async fn start_app_with(
    app: Router,
    listen: SocketAddr,
    tls: Option<TlsFiles>,
    config: ServeConfig,
) -> anyhow::Result<Running> {
    let links = config.links.clone();
    let stopping = Arc::new(tokio::sync::watch::channel(false).0);
    let scheme = if tls.is_some() { "https" } else { "http" };
    let app = app.layer(axum::Extension(links.clone()));
    let app = app.into_make_service_with_connect_info::<SocketAddr>();
    let handle = Handle::new();
    let gate = FirstByte::new(
        config.header_timeout,
        &stopping,
        config.max_connections.max(1),
    );
    let task = match tls {
        Some(files) => {
            let rustls = files.load().await?;
            // Heads are checked after TLS, on what hyper will read.
            let acceptor = heads::CheckHeads::new(
                axum_server::tls_rustls::RustlsAcceptor::new(rustls)
                    .handshake_timeout(config.header_timeout)
                    .acceptor(gate),
            );
            let mut server = axum_server::bind(listen)
                .acceptor(acceptor)
                .handle(handle.clone());
            bound_reads(server.http_builder(), config.header_timeout);
            tokio::spawn(async move { server.serve(app).await })
        }
        None => {
            let mut server = axum_server::bind(listen)
                .acceptor(heads::CheckHeads::new(gate))
                .handle(handle.clone());
            bound_reads(server.http_builder(), config.header_timeout);
            tokio::spawn(async move { server.serve(app).await })
        }
    };
    let addr = match handle.listening().await {
        Some(addr) => addr,
        None => {
            let err = match task.await {
                Ok(Err(e)) => e.to_string(),
                _ => "the server stopped at once".to_string(),
            };
            anyhow::bail!("cannot listen on {listen}: {err}");
        }
    };
    links.default_to(format!("{scheme}://{addr}"));
    Ok(Running {
        addr,
        handle: Stopper { handle, stopping },
        task,
    })
}

/// Resolves when the process is asked to stop (Ctrl-C or SIGTERM).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
