//! Server benchmarks: listing 10,000 connections over HTTP on loopback
//! (decoded by the client), and the throughput of an authenticated admin GET
//! compared with a bare axum handler, under the same concurrent load.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::get;
use criterion::{Criterion, criterion_group, criterion_main};
use switchboard::client::Client;
use switchboard::model::{AccountPatch, FlowType, Source, UserKind};
use switchboard::server::serve::{self, Running};
use switchboard::service::{Actor, Service, draft_from_label};
use switchboard::store::{Store, sqlite_paths};

const PASSWORD: &str = "correct horse battery";
/// Requests in flight at once while measuring throughput.
const CONCURRENCY: usize = 32;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

struct Fixture {
    _dir: tempfile::TempDir,
    server: Running,
    client: Client,
    token: String,
}

async fn fixture(rows: usize) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let (db, key) = sqlite_paths(dir.path());
    let service = Arc::new(Service::new(Store::open_sqlite(&db, &key).await.unwrap()));
    service
        .prepare_owner(Some("bench"), Some(PASSWORD.to_string().into()))
        .await
        .unwrap();
    let actor = Actor {
        username: "bench".into(),
        kind: UserKind::Owner,
    };
    service
        .update_account(&actor, Source::Cli, AccountPatch { max_connections: 0 })
        .await
        .unwrap();
    let drafts: Vec<_> = (0..rows)
        .map(|i| {
            draft_from_label(&format!("Vendor {} shop {i}", i % 97), FlowType::ALL[i % 3]).unwrap()
        })
        .collect();
    service
        .import_drafts(&actor, Source::Cli, &drafts)
        .await
        .unwrap();
    let server = serve::start(service, "127.0.0.1:0".parse().unwrap(), None)
        .await
        .unwrap();
    let client = Client::http(
        &format!("http://{}", server.addr()),
        None,
        None,
        Source::Cli,
    )
    .unwrap();
    let token = client.login("bench", PASSWORD).await.unwrap().token;
    Fixture {
        _dir: dir,
        server,
        client,
        token,
    }
}

fn list_over_http(c: &mut Criterion) {
    let rt = runtime();
    let f = rt.block_on(fixture(10_000));
    let bytes = rt.block_on(async {
        f.client
            .raw(http::Method::GET, "/api/v1/connections", None)
            .await
            .unwrap()
            .body
            .len()
    });
    eprintln!("list of 10,000 connections: {bytes} bytes of JSON");
    c.bench_function("http_list_10k_connections_decoded", |b| {
        b.iter(|| {
            let list = rt.block_on(f.client.list_connections()).unwrap();
            assert_eq!(list.len(), 10_000);
            black_box(list)
        })
    });
}

/// Runs `iters` GETs of `url` with `CONCURRENCY` in flight; returns the
/// elapsed time (so criterion reports time per request = 1 / throughput).
async fn load(client: &reqwest::Client, url: &str, token: Option<&str>, iters: u64) -> Duration {
    let started = Instant::now();
    let per_worker = iters.div_ceil(CONCURRENCY as u64);
    let mut tasks = Vec::with_capacity(CONCURRENCY);
    for _ in 0..CONCURRENCY {
        let client = client.clone();
        let url = url.to_string();
        let token = token.map(str::to_string);
        tasks.push(tokio::spawn(async move {
            for _ in 0..per_worker {
                let mut req = client.get(&url);
                if let Some(t) = &token {
                    req = req.bearer_auth(t);
                }
                let resp = req.send().await.unwrap();
                assert!(resp.status().is_success());
                black_box(resp.bytes().await.unwrap());
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    started.elapsed() * (iters as u32).max(1) / (per_worker * CONCURRENCY as u64).max(1) as u32
}

fn throughput(c: &mut Criterion) {
    let rt = runtime();
    let f = rt.block_on(fixture(1_000));
    let bare = rt.block_on(async {
        let app = Router::new().route("/bare", get(|| async { "ok" }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        format!("http://{addr}/bare")
    });
    let code = rt
        .block_on(f.client.list_connections_page(0, Some(1)))
        .unwrap()
        .items[0]
        .code
        .clone();
    let authed = format!("http://{}/api/v1/connections/{code}", f.server.addr());
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(CONCURRENCY)
        .build()
        .unwrap();
    let mut group = c.benchmark_group("get_one_connection_under_load");
    group
        .sample_size(30)
        .measurement_time(Duration::from_secs(10));
    group.bench_function("bare_axum_handler", |b| {
        b.iter_custom(|iters| rt.block_on(load(&http, &bare, None, iters)))
    });
    group.bench_function("authenticated_admin_get", |b| {
        b.iter_custom(|iters| rt.block_on(load(&http, &authed, Some(&f.token), iters)))
    });
    group.finish();
}

criterion_group!(benches, list_over_http, throughput);
criterion_main!(benches);
