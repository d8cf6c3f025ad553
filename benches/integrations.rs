//! Registration and visibility at scale (issue 5): a member with access to
//! 100 integrations, in a workspace of 10,000 connections and 50,000 flow
//! steps, lists the connections they may see; 1,000 connections are
//! registered with an integration in one action (one transaction).

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;
use strum::VariantArray;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use switchboard::model::{
    AccessGrant, AccessLevel, AccountPatch, FlowInput, FlowStep, FlowType, IntegrationKind,
    NewIntegration, Source, StepKind, UserKind,
};
use switchboard::service::{Actor, Service, draft_from_label};
mod support;
use support::{BenchStore, Engine};

const CONNECTIONS: usize = 10_000;
const INTEGRATIONS: usize = 100;
const FLOWS: usize = 5_000;
const STEPS_PER_FLOW: usize = 10;

struct Fixture {
    service: Arc<Service>,
    owner: Actor,
    member: Actor,
    codes: Vec<String>,
    /// Last: the database goes after the service.
    _store: BenchStore,
}

async fn fixture(engine: Engine) -> Fixture {
    let mut bench_store = support::open_store(engine).await;
    let service = Arc::new(Service::new(bench_store.store.take().unwrap()));
    service.prepare_owner(Some("bench"), None).await.unwrap();
    let owner = Actor {
        username: "bench".into(),
        kind: UserKind::Owner,
    };
    service
        .update_account(&owner, Source::Cli, AccountPatch { max_connections: 0 })
        .await
        .unwrap();
    let drafts: Vec<_> = (0..CONNECTIONS)
        .map(|i| {
            draft_from_label(
                &format!("Vendor {} app {i}", i % 97),
                FlowType::VARIANTS[i % 3],
            )
            .unwrap()
        })
        .collect();
    let codes: Vec<String> = drafts.iter().map(|d| d.code.clone()).collect();
    service
        .import_drafts(&owner, Source::Cli, &drafts)
        .await
        .unwrap();
    service
        .create_user(
            &owner,
            Source::Cli,
            switchboard::model::NewUser {
                username: "member".into(),
                kind: UserKind::Member,
                password: Some("a long member password".into()),
            },
        )
        .await
        .unwrap();
    for n in 0..INTEGRATIONS {
        let code = format!("integration_{n:03}");
        service
            .create_integration(
                &owner,
                Source::Cli,
                NewIntegration {
                    name: format!("Integration {n}"),
                    code: Some(code.clone()),
                    kind: IntegrationKind::Standard,
                },
            )
            .await
            .unwrap();
        service
            .set_access(
                &owner,
                Source::Cli,
                &code,
                "member",
                AccessGrant {
                    level: Some(AccessLevel::Monitor),
                },
            )
            .await
            .unwrap();
    }
    // 5,000 flows of 10 steps, spread over the integrations (each save
    // registers what its steps use).
    for f in 0..FLOWS {
        let steps = (0..STEPS_PER_FLOW)
            .map(|s| FlowStep {
                kind: if s % 2 == 0 {
                    StepKind::Export
                } else {
                    StepKind::Import
                },
                connection: codes[(f * 7 + s * 13) % (CONNECTIONS / 2)].clone(),
            })
            .collect();
        service
            .save_flow(
                &owner,
                Source::Cli,
                &format!("flow_{f:05}"),
                FlowInput {
                    name: format!("Flow {f}"),
                    integration: Some(format!("integration_{:03}", f % INTEGRATIONS)),
                    steps,
                    version: None,
                },
            )
            .await
            .unwrap();
    }
    Fixture {
        service,
        owner,
        member: Actor {
            username: "member".into(),
            kind: UserKind::Member,
        },
        codes,
        _store: bench_store,
    }
}

fn benches(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut group = c.benchmark_group("integrations");
    for engine in Engine::BOTH {
        bench_engine(&rt, &mut group, engine);
    }
    group.finish();
}

/// One engine's three benchmarks, named `…/sqlite` or `…/postgres`.
fn bench_engine(
    rt: &tokio::runtime::Runtime,
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    engine: Engine,
) {
    let f = rt.block_on(fixture(engine));
    let name = engine.name();
    let visible = rt
        .block_on(f.service.list_connections(&f.member, 0, None))
        .unwrap();
    eprintln!(
        "{name}: member sees {} of {CONNECTIONS} connections ({} flow steps in the workspace)",
        visible.items.len(),
        FLOWS * STEPS_PER_FLOW
    );
    group.measurement_time(Duration::from_secs(10));
    group.sample_size(100);
    group.bench_function(
        format!("member_lists_visible_connections_10k_50k_steps/{name}"),
        |b| {
            b.iter(|| {
                let page = rt
                    .block_on(f.service.list_connections(&f.member, 0, None))
                    .unwrap();
                black_box(page)
            })
        },
    );
    group.bench_function(
        format!("owner_lists_all_connections_10k_50k_steps/{name}"),
        |b| {
            b.iter(|| {
                let page = rt
                    .block_on(f.service.list_connections(&f.owner, 0, None))
                    .unwrap();
                black_box(page)
            })
        },
    );
    let batch: Vec<String> = f.codes[CONNECTIONS - 1_000..].to_vec();
    let mut n = 0u32;
    group.sample_size(20);
    group.bench_function(
        format!("register_1000_connections_one_transaction/{name}"),
        |b| {
            b.iter_batched(
                || {
                    n += 1;
                    let code = format!("target_{n:05}");
                    rt.block_on(f.service.create_integration(
                        &f.owner,
                        Source::Cli,
                        NewIntegration {
                            name: format!("Target {n}"),
                            code: Some(code.clone()),
                            kind: IntegrationKind::Standard,
                        },
                    ))
                    .unwrap();
                    code
                },
                |code| {
                    let done = rt
                        .block_on(f.service.register(
                            &f.owner,
                            Source::Cli,
                            &code,
                            batch.clone(),
                            Vec::new(),
                        ))
                        .unwrap();
                    assert_eq!(done.registered.len(), 1_000);
                    black_box(done)
                },
                BatchSize::PerIteration,
            )
        },
    );
    rt.block_on(f.service.store().close());
}

criterion_group!(integration_benches, benches);
criterion_main!(integration_benches);
