//! Benchmarks for the figures the README promises: first frame over 10,000
//! stored connections, one filter keystroke over 100,000, and one draw of a
//! 10,000-row list.

use std::hint::black_box;
use std::sync::Arc;
use strum::VariantArray;

use chrono::Utc;
use criterion::{Criterion, criterion_group, criterion_main};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use switchboard::client::{Client, InProcess};
use switchboard::model::{Connection, FlowType, Me, Quota, Source, UserKind};
use switchboard::service::{Actor, draft_from_label};
use switchboard::tui::app::{Msg, Snapshot};
use switchboard::tui::theme::Theme;
use switchboard::tui::{self, App};

const VENDORS: &[&str] = &[
    "Magento",
    "Shopify",
    "SAP",
    "Odoo",
    "Bynder",
    "Cloudinary",
    "Smartling",
    "DeepL",
    "Amazon",
    "Zalando",
    "Salesforce",
    "HubSpot",
    "Mailchimp",
    "Akeneo",
    "Dynamics",
    "Infor",
    "Otto",
    "BigCommerce",
    "Looker",
    "Windchill",
];
const KINDS: &[&str] = &[
    "Storefront",
    "ERP",
    "DAM",
    "Catalog",
    "Feed",
    "Portal",
    "Sync",
    "Export",
];
const REGIONS: &[&str] = &["EU", "US", "UK", "DE", "FR", "Nordics", "APAC", "LATAM"];

fn label(i: usize) -> String {
    format!(
        "{} {} {} {}",
        VENDORS[i % VENDORS.len()],
        KINDS[(i / VENDORS.len()) % KINDS.len()],
        REGIONS[(i / 7) % REGIONS.len()],
        i
    )
}

fn flow(i: usize) -> FlowType {
    FlowType::VARIANTS[i % 3]
}

fn synthetic(n: usize) -> Vec<Connection> {
    // A fixed date: the figures never depend on the day they are taken.
    let now = chrono::DateTime::parse_from_rfc3339("2026-03-02T09:30:00Z")
        .unwrap()
        .with_timezone(&Utc);
    (0..n)
        .map(|i| {
            let label = label(i);
            let code = switchboard::domain::slug_from_label(&label);
            Connection {
                username: format!("{code}_1234"),
                client_id: format!("sbc_{i:022}"),
                code,
                label,
                flow_type: flow(i),
                visual: Some(switchboard::domain::BUNDLED_VISUALS[i % 10].0.to_string()),
                role: "User".into(),
                group: "All".into(),
                created_at: now,
                updated_at: now,
                version: 1,
                wrong_credentials_at: None,
                in_use: false,
                last_activity_at: None,
                stale: false,
                application: None,
                offline: false,
                offline_since: None,
                offline_reason: None,
            }
        })
        .collect()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn app_over(rt: &tokio::runtime::Runtime, dir: &std::path::Path, rows: usize) -> App {
    let client = rt
        .block_on(Client::embedded(dir, "bench", Source::Tui))
        .unwrap();
    let mut app = App::headless(client, Theme::colored());
    let snapshot = Snapshot {
        me: Me {
            username: "bench".into(),
            kind: UserKind::Owner,
        },
        quota: Quota {
            count: rows as u64,
            max_connections: 0,
            reached: false,
        },
        connections: synthetic(rows),
        total: rows as u64,
    };
    // The audit load it asks for is not needed for drawing.
    let _ = app.update(Msg::Loaded(Ok(snapshot)));
    app
}

fn terminal() -> Terminal<TestBackend> {
    Terminal::new(TestBackend::new(200, 50)).unwrap()
}

fn key(c: char) -> Msg {
    Msg::Input(Event::Key(KeyEvent::new(
        KeyCode::Char(c),
        KeyModifiers::NONE,
    )))
}

fn first_frame(c: &mut Criterion) {
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    rt.block_on(async {
        let transport = InProcess::open(dir.path(), "bench").await.unwrap();
        let service = transport.service().clone();
        let actor = Actor {
            username: "bench".into(),
            kind: UserKind::Owner,
        };
        service
            .update_account(
                &actor,
                Source::Cli,
                switchboard::model::AccountPatch { max_connections: 0 },
            )
            .await
            .unwrap();
        let drafts: Vec<_> = (0..10_000)
            .map(|i| draft_from_label(&label(i), flow(i)).unwrap())
            .collect();
        service
            .import_drafts(&actor, Source::Cli, &drafts)
            .await
            .unwrap();
        service.store().close().await;
    });
    // From opening the store to the first frame drawn; closing it (at quit,
    // in the app) is not timed.
    c.bench_function("first_frame_10k_connections_200x50", |b| {
        b.iter_custom(|iters| {
            let mut total = std::time::Duration::ZERO;
            for _ in 0..iters {
                rt.block_on(async {
                    let started = std::time::Instant::now();
                    let transport = InProcess::open(dir.path(), "bench").await.unwrap();
                    let service = transport.service().clone();
                    let client = Client::new(Arc::new(transport), Source::Tui);
                    let mut app = App::headless(client, Theme::colored());
                    // As the event loop does: it tells the terminal's size,
                    // the first page arrives, the first frame is drawn; the
                    // rest of the rows follow in the background.
                    let _ = app.update(Msg::Input(Event::Resize(200, 50)));
                    let first = app.start().remove(0);
                    assert!(matches!(first, tui::Command::LoadFirst { .. }));
                    let loaded = tui::app::execute(&app.client, first).await.unwrap();
                    let _ = app.update(loaded);
                    let mut t = terminal();
                    tui::draw_once(&mut t, &mut app).unwrap();
                    total += started.elapsed();
                    assert_eq!(app.data.total, 10_000);
                    black_box(t);
                    service.store().close().await;
                })
            }
            total
        })
    });
}

fn filter_keystroke(c: &mut Criterion) {
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    let mut app = app_over(&rt, dir.path(), 100_000);
    let mut t = terminal();
    let _ = app.update(key('/'));
    // Each sample: reset the query (not timed), then time one keystroke
    // and the draw that shows it.
    let mut keystroke = |name: &str, prefix: &str, typed: char| {
        c.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let mut total = std::time::Duration::ZERO;
                for _ in 0..iters {
                    let _ = app.update(Msg::Input(Event::Key(KeyEvent::new(
                        KeyCode::Char('u'),
                        KeyModifiers::CONTROL,
                    ))));
                    for ch in prefix.chars() {
                        let _ = app.update(key(ch));
                    }
                    let started = std::time::Instant::now();
                    let _ = app.update(key(typed));
                    tui::draw_once(&mut t, &mut app).unwrap();
                    total += started.elapsed();
                }
                total
            })
        });
    };
    keystroke("filter_first_keystroke_100k_plus_draw", "", 'm');
    keystroke("filter_next_keystroke_100k_plus_draw", "m", 'a');
}

fn draw_list(c: &mut Criterion) {
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    let mut app = app_over(&rt, dir.path(), 10_000);
    let mut t = terminal();
    c.bench_function("draw_list_10k_rows_200x50", |b| {
        b.iter(|| tui::draw_once(&mut t, &mut app).unwrap())
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = first_frame, filter_keystroke, draw_list
}
criterion_main!(benches);
