//! What the server benchmarks share: a 2-worker runtime, a bare axum
//! handler to compare with, and a load generator that keeps a fixed number
//! of requests in flight; and a store on either engine.

// Each benchmark uses some of these.
#![allow(dead_code)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::get;

/// Requests in flight at once while measuring throughput.
pub const CONCURRENCY: usize = 32;

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// A bare axum handler answering "ok" on a loopback port; returns its URL.
pub async fn bare_server() -> String {
    let app = Router::new().route("/bare", get(|| async { "ok" }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}/bare")
}

/// An HTTP client that keeps a connection per in-flight request.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(CONCURRENCY)
        .build()
        .unwrap()
}

/// Sends `iters` requests made by `request` (given the worker's index)
/// with `CONCURRENCY` in flight; every answer must be a success. Returns the
/// elapsed time scaled to exactly `iters` requests, so criterion reports the
/// time per request (1 / throughput).
pub async fn load<F>(iters: u64, request: F) -> Duration
where
    F: Fn(usize) -> reqwest::RequestBuilder + Send + Sync + Clone + 'static,
{
    let started = Instant::now();
    let per_worker = iters.div_ceil(CONCURRENCY as u64);
    let mut tasks = Vec::with_capacity(CONCURRENCY);
    for worker in 0..CONCURRENCY {
        let request = request.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..per_worker {
                let resp = request(worker).send().await.unwrap();
                assert!(resp.status().is_success(), "{}", resp.status());
                black_box(resp.bytes().await.unwrap());
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    started.elapsed() * (iters as u32).max(1) / (per_worker * CONCURRENCY as u64).max(1) as u32
}

/// Which engine a benchmark's store runs on: both run in the same
/// `cargo bench`, one after the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

impl Engine {
    pub const BOTH: [Engine; 2] = [Engine::Sqlite, Engine::Postgres];

    pub fn name(self) -> &'static str {
        match self {
            Engine::Sqlite => "sqlite",
            Engine::Postgres => "postgres",
        }
    }
}

/// The PostgreSQL server benchmarks use (`SWITCHBOARD_TEST_PG`, else the
/// local one); each store gets a database of its own, dropped afterwards.
fn pg_server() -> String {
    std::env::var("SWITCHBOARD_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string())
}

/// Runs `f` on a connection to the server's maintenance database, on a
/// thread and runtime of its own (so it works from inside or outside a
/// runtime, and in `Drop`).
fn on_server(f: impl FnOnce(String) -> Vec<String> + Send + 'static) {
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            use sqlx::Connection as _;
            let server = pg_server();
            let mut c = sqlx::PgConnection::connect(&server)
                .await
                .unwrap_or_else(|e| panic!("PostgreSQL does not answer ({e}): start it"));
            for statement in f(server) {
                sqlx::query(&statement).execute(&mut c).await.unwrap();
            }
        })
    })
    .join()
    .unwrap();
}

/// A store for a benchmark, and what to clean up after it.
pub struct BenchStore {
    pub store: Option<switchboard::store::Store>,
    _dir: tempfile::TempDir,
    database: Option<String>,
}

impl Drop for BenchStore {
    fn drop(&mut self) {
        if let Some(db) = self.database.take() {
            on_server(move |_| vec![format!("DROP DATABASE IF EXISTS \"{db}\" WITH (FORCE)")]);
        }
    }
}

/// A new, empty store on `engine`.
pub async fn open_store(engine: Engine) -> BenchStore {
    use switchboard::store::{Location, PoolConfig, Store, sqlite_paths};
    let dir = tempfile::tempdir().unwrap();
    let (db, key) = sqlite_paths(dir.path());
    let (location, database) = match engine {
        Engine::Sqlite => (Location::Sqlite(db), None),
        Engine::Postgres => {
            static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
            let name = format!(
                "sbbench_{}_{}",
                std::process::id(),
                N.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
            );
            let create = name.clone();
            on_server(move |_| vec![format!("CREATE DATABASE \"{create}\"")]);
            let server = pg_server();
            let base = server.rsplit_once('/').map_or(server.as_str(), |(b, _)| b);
            (Location::Postgres(format!("{base}/{name}")), Some(name))
        }
    };
    // SB_BENCH_POOL=N tries another connection count (the default: serve's).
    let pool = PoolConfig {
        max_connections: std::env::var("SB_BENCH_POOL")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(PoolConfig::default().max_connections),
        ..PoolConfig::default()
    };
    let store = Store::open(&location, &key, pool).await.unwrap();
    BenchStore {
        store: Some(store),
        _dir: dir,
        database,
    }
}
