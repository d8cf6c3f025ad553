//! The products Web API under load on loopback, 2 cores:
//! `GET /api/rest/v1/products/{identifier}` with a bearer token (role and
//! group checked, rate limit on) compared with a bare axum handler in the
//! same run (target: at least half its throughput), and a page of 100.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::json;
use switchboard::model::{FlowType, NewConnection, Source, UserKind};
use switchboard::server::serve::{self, Running};
use switchboard::service::{Actor, Service};
use switchboard::store::ProductRow;

mod support;
use support::{BenchStore, CONCURRENCY, Engine, bare_server, http_client, load, runtime};

/// Products in the catalog.
const PRODUCTS: usize = 1000;

struct Fixture {
    service: Arc<Service>,
    server: Running,
    tokens: Vec<String>,
    /// Last: the database goes after the server and the service.
    _store: BenchStore,
}

async fn fixture(engine: Engine) -> Fixture {
    let mut bench_store = support::open_store(engine).await;
    // The limiter runs on every request but never refuses here.
    let service = Arc::new(
        Service::new(bench_store.store.take().unwrap()).with_rate_limit(1_000_000, 1_000_000),
    );
    service.prepare_owner(Some("bench"), None).await.unwrap();
    let actor = Actor {
        username: "bench".into(),
        kind: UserKind::Owner,
    };
    let products: Vec<(ProductRow, u32)> = (0..PRODUCTS)
        .map(|i| {
            let values = json!({
                "name": [{"locale": "en_US", "scope": null, "data": format!("Product {i}")},
                         {"locale": "de_DE", "scope": null, "data": format!("Produkt {i}")}],
                "description": [{"locale": "en_US", "scope": "ecommerce",
                                 "data": "A sturdy, well-made product for everyday use."}],
                "price": [{"locale": null, "scope": null,
                           "data": [{"amount": "19.99", "currency": "EUR"}]}]
            });
            (
                ProductRow {
                    uuid: String::new(),
                    identifier: format!("sku-{i:05}"),
                    enabled: true,
                    family: Some("bench".into()),
                    categories: Vec::new(),
                    values: ProductRow::values_from(
                        &values.as_object().cloned().unwrap_or_default(),
                    ),
                    created_ms: 0,
                    updated_ms: 0,
                    relations: Default::default(),
                },
                1,
            )
        })
        .collect();
    service.store().insert_products(&products).await.unwrap();
    let server = serve::start(service.clone(), "127.0.0.1:0".parse().unwrap(), None)
        .await
        .unwrap();
    let http = http_client();
    let token_url = format!("http://{}/api/oauth/v1/token", server.addr());
    let mut tokens = Vec::new();
    for i in 0..CONCURRENCY {
        // The default role User lists products; the default group All sees
        // them all. Destinations: every read is counted (R23), so this
        // measures the API with monitoring on.
        let created = service
            .create_connection(
                &actor,
                Source::Cli,
                NewConnection {
                    label: format!("Bench reader {i}"),
                    flow_type: FlowType::Destination,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        let c = &created.connection;
        let basic = base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{}", c.client_id, created.secret));
        let v: serde_json::Value = http
            .post(&token_url)
            .header("authorization", format!("Basic {basic}"))
            .json(&json!({"grant_type": "password", "username": c.username, "password": created.password}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        tokens.push(v["access_token"].as_str().unwrap().to_string());
    }
    Fixture {
        service,
        server,
        tokens,
        _store: bench_store,
    }
}

/// Both engines in the same run, each against the same bare handler.
fn get_product_under_load(c: &mut Criterion) {
    let rt = runtime();
    let http = http_client();
    let bare = rt.block_on(bare_server());
    let mut group = c.benchmark_group("products_get_under_load");
    group
        .throughput(Throughput::Elements(1))
        .sample_size(30)
        .measurement_time(Duration::from_secs(10));
    group.bench_function("bare_axum_handler", |b| {
        b.iter_custom(|iters| {
            let (http, url) = (http.clone(), bare.clone());
            rt.block_on(load(iters, move |_| http.get(&url)))
        })
    });
    let mut fixtures = Vec::new();
    for engine in Engine::BOTH {
        let f = rt.block_on(fixture(engine));
        let base = format!("http://{}/api/rest/v1/products", f.server.addr());
        let counter = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        group.bench_function(format!("bearer_get_product/{}", engine.name()), |b| {
            b.iter_custom(|iters| {
                let (http, base, tokens, counter) = (
                    http.clone(),
                    base.clone(),
                    f.tokens.clone(),
                    counter.clone(),
                );
                rt.block_on(load(iters, move |worker| {
                    let n = counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % PRODUCTS;
                    http.get(format!("{base}/sku-{n:05}"))
                        .bearer_auth(&tokens[worker % tokens.len()])
                }))
            })
        });
        // The bare handler again, right after: the ratio is taken against
        // the nearer of the two.
        group.bench_function(format!("bare_axum_handler/after_{}", engine.name()), |b| {
            b.iter_custom(|iters| {
                let (http, url) = (http.clone(), bare.clone());
                rt.block_on(load(iters, move |_| http.get(&url)))
            })
        });
        fixtures.push((engine, f));
    }
    group.finish();
    let mut group = c.benchmark_group("products_list_page_of_100");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(8));
    for (engine, f) in &fixtures {
        let base = format!("http://{}/api/rest/v1/products", f.server.addr());
        group.bench_function(format!("bearer_list_100/{}", engine.name()), |b| {
            b.iter_custom(|iters| {
                let (http, base, tokens) = (http.clone(), base.clone(), f.tokens.clone());
                rt.block_on(load(iters, move |worker| {
                    http.get(format!("{base}?limit=100&page={}", worker % 10 + 1))
                        .bearer_auth(&tokens[worker % tokens.len()])
                }))
            })
        });
    }
    group.finish();
    for (_, f) in fixtures {
        rt.block_on(f.service.store().close());
    }
}

/// The server's own cost per request, without sockets or a load generator:
/// the whole router (socket layers included) called in process.
fn get_product_in_process(c: &mut Criterion) {
    use tower::ServiceExt;
    let rt = runtime();
    let f = rt.block_on(fixture(Engine::Sqlite));
    let app = switchboard::server::serve::app(f.service.clone());
    let bare = axum::Router::new().route("/bare", axum::routing::get(|| async { "ok" }));
    let mut group = c.benchmark_group("products_get_in_process");
    group.bench_function("bare_axum_handler", |b| {
        b.iter(|| {
            let req = axum::http::Request::get("/bare")
                .body(axum::body::Body::empty())
                .unwrap();
            rt.block_on(async {
                let resp = bare.clone().oneshot(req).await.unwrap();
                axum::body::to_bytes(resp.into_body(), usize::MAX)
                    .await
                    .unwrap()
            })
        })
    });
    let auth = format!("Bearer {}", f.tokens[0]);
    let n = std::cell::Cell::new(0usize);
    group.bench_function("bearer_get_product", |b| {
        b.iter(|| {
            let i = n.get();
            n.set((i + 1) % PRODUCTS);
            let req = axum::http::Request::get(format!("/api/rest/v1/products/sku-{i:05}"))
                .header("authorization", &auth)
                .body(axum::body::Body::empty())
                .unwrap();
            rt.block_on(async {
                let resp = app.clone().oneshot(req).await.unwrap();
                assert!(resp.status().is_success());
                axum::body::to_bytes(resp.into_body(), usize::MAX)
                    .await
                    .unwrap()
            })
        })
    });
    group.finish();
}

/// A connection whose role may edit products, and its token.
async fn writer_token(f: &Fixture) -> String {
    use strum::VariantArray;
    use switchboard::model::{ConnectionPatch, NewRole, Permission};
    let actor = Actor {
        username: "bench".into(),
        kind: UserKind::Owner,
    };
    f.service
        .create_role(
            &actor,
            Source::Cli,
            NewRole {
                code: "bench_editor".into(),
                label: "Bench editor".into(),
                permissions: Permission::VARIANTS.to_vec(),
            },
        )
        .await
        .unwrap();
    let created = f
        .service
        .create_connection(
            &actor,
            Source::Cli,
            NewConnection {
                label: "Bench writer".into(),
                flow_type: FlowType::Source,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let c = &created.connection;
    f.service
        .update_connection(
            &actor,
            Source::Cli,
            &c.code,
            ConnectionPatch {
                role: Some("bench_editor".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let basic = base64::engine::general_purpose::STANDARD
        .encode(format!("{}:{}", c.client_id, created.secret));
    let v: serde_json::Value = http_client()
        .post(format!("http://{}/api/oauth/v1/token", f.server.addr()))
        .header("authorization", format!("Basic {basic}"))
        .json(&json!({"grant_type": "password", "username": c.username, "password": created.password}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["access_token"].as_str().unwrap().to_string()
}

/// Issue 16's targets, in process (no sockets): a batch upsert of 100
/// products in one request (each line its own savepoint, one commit) and a
/// page of 100 products with the `attributes` and `locales` filters.
fn batch_and_filtered_page(c: &mut Criterion) {
    use tower::ServiceExt;
    let rt = runtime();
    let mut group = c.benchmark_group("products_batch_and_filters");
    for engine in Engine::BOTH {
        let f = rt.block_on(fixture(engine));
        let token = format!("Bearer {}", rt.block_on(writer_token(&f)));
        let app = switchboard::server::serve::app(f.service.clone());
        let round = std::cell::Cell::new(0usize);
        group.throughput(Throughput::Elements(100));
        group.bench_function(format!("batch_upsert_100_lines/{}", engine.name()), |b| {
            b.iter(|| {
                // A hundred existing products, a new name each time.
                let r = round.get();
                round.set(r + 1);
                let body: Vec<String> = (0..100)
                    .map(|i| {
                        json!({"identifier": format!("sku-{:05}", (r * 100 + i) % PRODUCTS),
                               "values": {"name": [{"locale": "en_US", "scope": null,
                                                    "data": format!("Name {r}")}]}})
                        .to_string()
                    })
                    .collect();
                let req = axum::http::Request::patch("/api/rest/v1/products")
                    .header("authorization", &token)
                    .header("content-type", switchboard::server::products::COLLECTION)
                    .body(axum::body::Body::from(body.join("\n")))
                    .unwrap();
                rt.block_on(async {
                    let resp = app.clone().oneshot(req).await.unwrap();
                    assert_eq!(resp.status(), 200);
                    let text = axum::body::to_bytes(resp.into_body(), usize::MAX)
                        .await
                        .unwrap();
                    assert_eq!(text.split(|b| *b == b'\n').count(), 100);
                    assert!(!text.windows(16).any(|w| w == b"\"status_code\":4"));
                })
            })
        });
        group.throughput(Throughput::Elements(1));
        let auth = format!("Bearer {}", f.tokens[0]);
        let page = |query: &'static str| {
            let req = axum::http::Request::get(format!("/api/rest/v1/products?{query}"))
                .header("authorization", &auth)
                .body(axum::body::Body::empty())
                .unwrap();
            rt.block_on(async {
                let resp = app.clone().oneshot(req).await.unwrap();
                assert_eq!(resp.status(), 200);
                axum::body::to_bytes(resp.into_body(), usize::MAX)
                    .await
                    .unwrap()
            })
        };
        group.bench_function(format!("page_of_100/{}", engine.name()), |b| {
            b.iter(|| page("limit=100"))
        });
        group.bench_function(
            format!("page_of_100_attributes_and_locales/{}", engine.name()),
            |b| b.iter(|| page("limit=100&attributes=name,price&locales=en_US")),
        );
        rt.block_on(f.service.store().close());
        drop(f);
    }
    group.finish();
}

criterion_group!(
    benches,
    get_product_in_process,
    get_product_under_load,
    batch_and_filtered_page
);
criterion_main!(benches);
