//! Server benchmarks: listing 10,000 connections over HTTP on loopback
//! (decoded by the client), and the throughput of an authenticated admin GET
//! compared with a bare axum handler, under the same concurrent load.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;
use strum::VariantArray;

use criterion::{Criterion, criterion_group, criterion_main};
use switchboard::client::Client;
use switchboard::model::{AccountPatch, FlowType, Source, UserKind};
use switchboard::server::serve::{self, Running};
use switchboard::service::{Actor, Service, draft_from_label};
use switchboard::store::{Store, sqlite_paths};

mod support;
use support::{bare_server, http_client, load, runtime};

const PASSWORD: &str = "correct horse battery";

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
            draft_from_label(
                &format!("Vendor {} shop {i}", i % 97),
                FlowType::VARIANTS[i % 3],
            )
            .unwrap()
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

fn throughput(c: &mut Criterion) {
    let rt = runtime();
    let f = rt.block_on(fixture(1_000));
    let bare = rt.block_on(bare_server());
    let code = rt
        .block_on(f.client.list_connections_page(0, Some(1)))
        .unwrap()
        .items[0]
        .code
        .clone();
    let authed = format!("http://{}/api/v1/connections/{code}", f.server.addr());
    let http = http_client();
    let mut group = c.benchmark_group("get_one_connection_under_load");
    group
        .sample_size(30)
        .measurement_time(Duration::from_secs(10));
    group.bench_function("bare_axum_handler", |b| {
        b.iter_custom(|iters| {
            let (http, url) = (http.clone(), bare.clone());
            rt.block_on(load(iters, move |_| http.get(&url)))
        })
    });
    group.bench_function("authenticated_admin_get", |b| {
        b.iter_custom(|iters| {
            let (http, url, token) = (http.clone(), authed.clone(), f.token.clone());
            rt.block_on(load(iters, move |_| http.get(&url).bearer_auth(&token)))
        })
    });
    group.finish();
}

criterion_group!(benches, list_over_http, throughput);
criterion_main!(benches);
