//! What the server benchmarks share: a 2-worker runtime, a bare axum
//! handler to compare with, and a load generator that keeps a fixed number
//! of requests in flight.

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
