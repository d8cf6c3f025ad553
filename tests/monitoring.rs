//! R23 monitoring: the Web API calls of source and destination connections
//! counted per UTC hour, served per UTC day for the last 7 days, kept 30
//! days; `other` connections not counted; R8's delete removes the counts;
//! R18 on the monitoring endpoints over both transports.
//!
//! The counting layer is tested behind the real bearer check with real
//! tokens: a test-only route under `/api/rest/v1` (`test/{event}/{count}/{status}`)
//! answers the status it is told and puts the `Counted` it is told into the
//! response, as the products handlers do; the real router's own answers
//! (the root, 404 for unknown paths, 401) are tested alongside.
//!
//! Every test runs on SQLite and on PostgreSQL.

use std::sync::Arc;

use axum::Router;
use axum::extract::Path;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use http::StatusCode;
use secrecy::SecretString;
use switchboard::client::{Client, InProcess};
use switchboard::model::{
    AccessLevel, ApiEvent, Counted, EventCounts, FlowType, IntegrationKind, NewConnection,
    NewIntegration, NewUser, Source, UserKind,
};
use switchboard::server::serve::{self, Running};
use switchboard::server::{self as api, AppState};
use switchboard::service::oauth::TokenRequest;
use switchboard::service::{Actor, Service};
use switchboard::store::{Clock, Location, PoolConfig, Store, TestClock, sqlite_paths};
use tempfile::TempDir;

mod common;
use common::{Engine, open_store};

const OWNER_PASSWORD: &str = "correct horse battery";
const MEMBER_PASSWORD: &str = "a member's long password";

/// What a products handler does, on demand: `event` is created, updated,
/// read or none.
async fn scripted(Path((event, count, status)): Path<(String, u32, u16)>) -> Response {
    let mut resp = StatusCode::from_u16(status).unwrap().into_response();
    let event = match event.as_str() {
        "created" => Some(ApiEvent::Created),
        "updated" => Some(ApiEvent::Updated),
        "read" => Some(ApiEvent::Read),
        _ => None,
    };
    if let Some(event) = event {
        resp.extensions_mut().insert(Counted { event, count });
    }
    resp
}

/// The scripted route behind the same layers as every Web API route.
fn scripted_routes(svc: &AppState) -> Router {
    api::web_api_layers(
        Router::new().route(
            "/api/rest/v1/test/{event}/{count}/{status}",
            axum::routing::any(scripted),
        ),
        svc,
    )
    .with_state(svc.clone())
}

struct Env {
    url: String,
    /// Where the store lives, to open it again.
    location: Location,
    clock: Arc<TestClock>,
    svc: Arc<Service>,
    admin: Client,
    http: reqwest::Client,
    dir: TempDir,
    _running: Running,
}

/// A real server (with the scripted route when `scripted` is set) on a
/// clock the test moves, its store on `engine`, and a client logged in as
/// its owner.
async fn env(engine: Engine, with_scripted_route: bool) -> Env {
    let dir = tempfile::tempdir().unwrap();
    let (_, key) = sqlite_paths(dir.path());
    // Kept (not `open_store`): one test opens the same store again.
    let location = common::location(engine, dir.path()).await;
    let clock = Arc::new(TestClock::default());
    let store = Store::open(&location, &key, PoolConfig::default())
        .await
        .unwrap()
        .with_clock(clock.clone());
    let svc = Arc::new(Service::new(store));
    svc.prepare_owner(Some("alice"), Some(OWNER_PASSWORD.to_string().into()))
        .await
        .unwrap();
    let mut app = api::router(svc.clone());
    if with_scripted_route {
        app = app.merge(scripted_routes(&svc));
    }
    let running = serve::start_app(
        serve::with_socket_layers(app),
        "127.0.0.1:0".parse().unwrap(),
        None,
    )
    .await
    .unwrap();
    let url = format!("http://{}", running.addr());
    let admin = Client::http(&url, None, None, Source::Cli).unwrap();
    admin.login("alice", OWNER_PASSWORD).await.unwrap();
    Env {
        url,
        location,
        clock,
        svc,
        admin,
        http: reqwest::Client::new(),
        dir,
        _running: running,
    }
}

fn owner() -> Actor {
    Actor {
        username: "alice".into(),
        kind: UserKind::Owner,
    }
}

/// A connection as its application holds it: its code and an access token.
struct App {
    code: String,
    token: String,
}

impl Env {
    async fn app(&self, label: &str, flow_type: FlowType) -> App {
        let created = self
            .admin
            .create_connection(&NewConnection {
                label: label.into(),
                flow_type,
                ..Default::default()
            })
            .await
            .unwrap();
        let c = &created.connection;
        let basic = base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{}", c.client_id, created.secret));
        let body = serde_json::json!({
            "grant_type": "password",
            "username": c.username,
            "password": created.password,
        });
        let tokens: serde_json::Value = self
            .http
            .post(format!("{}/api/oauth/v1/token", self.url))
            .header("authorization", format!("Basic {basic}"))
            .json(&body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        App {
            code: c.code.clone(),
            token: tokens["access_token"].as_str().unwrap().to_string(),
        }
    }

    /// GET `/api/rest/v1/<path>` with `token` (none: no Authorization).
    async fn call(&self, token: Option<&str>, path: &str) -> u16 {
        let mut req = self.http.get(format!("{}/api/rest/v1{path}", self.url));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().await.unwrap().status().as_u16()
    }

    /// Runs a script of scripted calls (`event/count/status`) as `app`.
    async fn script(&self, app: &App, calls: &[&str]) {
        for c in calls {
            let status = self.call(Some(&app.token), &format!("/test/{c}")).await;
            let expected: u16 = c.rsplit('/').next().unwrap().parse().unwrap();
            assert_eq!(status, expected, "{c}");
        }
    }

    /// Moves the store's clock to `at` (or up to 2 ms later: the clock
    /// moves by whole milliseconds, and never earlier than `at`).
    fn set_clock(&self, at: DateTime<Utc>) {
        self.clock
            .advance(at - self.clock.now() + Duration::milliseconds(1));
        assert!(self.clock.now() >= at);
    }

    async fn hours(&self, code: &str) -> Vec<(DateTime<Utc>, EventCounts)> {
        self.svc.store().monitoring_hours(code).await.unwrap()
    }
}

fn counts(created: u64, updated: u64, read: u64, business: u64, technical: u64) -> EventCounts {
    EventCounts {
        created,
        updated,
        read,
        business_errors: business,
        technical_errors: technical,
    }
}

/// Today's midnight (UTC) of the clock.
fn midnight(now: DateTime<Utc>) -> DateTime<Utc> {
    Utc.from_utc_datetime(&now.date_naive().and_hms_opt(0, 0, 0).unwrap())
}

#[rstest::rstest]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r23_counts_match_a_scripted_sequence_of_calls(
    #[values(Engine::Sqlite, Engine::Postgres)] engine: Engine,
) {
    let e = env(engine, true).await;
    let src = e.app("Shop ERP", FlowType::Source).await;
    let dst = e.app("Web shop", FlowType::Destination).await;
    let oth = e.app("Translation tool", FlowType::Other).await;
    e.script(
        &src,
        &[
            "created/3/201",
            "created/2/201",
            "updated/4/200",
            // A source reading is not what it is monitored for.
            "read/5/200",
            "none/0/422",
            "none/0/500",
            // Counted and refused: both.
            "updated/1/422",
            "none/0/204",
        ],
    )
    .await;
    // The real router's 404 after the bearer check is a business error;
    // the root answers 200 and counts nothing.
    assert_eq!(e.call(Some(&src.token), "/unknown").await, 404);
    assert_eq!(e.call(Some(&src.token), "").await, 200);
    e.script(
        &dst,
        &[
            "read/10/200",
            "read/7/200",
            // A destination writing is not counted as created.
            "created/1/201",
            "none/0/404",
            "none/0/503",
            "none/0/204",
        ],
    )
    .await;
    e.script(
        &oth,
        &["created/3/201", "read/2/200", "none/0/404", "none/0/500"],
    )
    .await;
    // Refused by the bearer check: no caller, nothing counted anywhere.
    assert_eq!(e.call(None, "/test/created/9/201").await, 401);
    assert_eq!(e.call(Some("not-a-token"), "/test/read/9/200").await, 401);
    assert_eq!(e.call(Some("not-a-token"), "/unknown").await, 401);

    // Read at once: every call answered before the read is in it.
    let want_src = counts(5, 5, 0, 3, 1);
    let want_dst = counts(0, 0, 17, 1, 1);
    let m = e.admin.connection_monitoring(&src.code).await.unwrap();
    assert!(m.monitored);
    assert_eq!(m.flow_type, FlowType::Source);
    assert_eq!(m.days.len(), 7);
    let today = e.clock.now().date_naive();
    assert_eq!(m.days[6].date, today);
    assert_eq!(m.days[6].counts, want_src);
    assert!(
        m.days[..6]
            .iter()
            .all(|d| d.counts == EventCounts::default())
    );
    assert_eq!(m.total, Some(want_src));
    let m = e.admin.connection_monitoring(&dst.code).await.unwrap();
    assert_eq!(m.total, Some(want_dst));
    let m = e.admin.connection_monitoring(&oth.code).await.unwrap();
    assert!(!m.monitored);
    assert!(m.days.is_empty());
    assert_eq!(m.total, None);
    assert!(e.hours(&oth.code).await.is_empty(), "other: nothing stored");

    let all = e.admin.monitoring().await.unwrap();
    assert_eq!(all.to, today);
    assert_eq!(all.from, today - Duration::days(6));
    let together = counts(5, 5, 17, 4, 2);
    assert_eq!(all.total, together);
    assert_eq!(all.days.len(), 7);
    assert_eq!(all.days[6].counts, together);
    let listed: Vec<(&str, bool, Option<EventCounts>)> = all
        .connections
        .iter()
        .map(|c| (c.code.as_str(), c.monitored, c.total))
        .collect();
    assert_eq!(
        listed,
        [
            (src.code.as_str(), true, Some(want_src)),
            (oth.code.as_str(), false, None),
            (dst.code.as_str(), true, Some(want_dst)),
        ]
    );

    // Reading again counts nothing twice.
    let again = e.admin.monitoring().await.unwrap();
    assert_eq!(again.total, together);
    assert_eq!(e.hours(&src.code).await.len(), 1);
}

#[rstest::rstest]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r23_on_the_real_router_an_unknown_path_is_a_business_error_and_a_401_counts_nothing(
    #[values(Engine::Sqlite, Engine::Postgres)] engine: Engine,
) {
    let e = env(engine, false).await;
    let dst = e.app("Web shop", FlowType::Destination).await;
    assert_eq!(e.call(Some(&dst.token), "").await, 200);
    assert_eq!(e.call(Some(&dst.token), "/products/nothing_yet").await, 404);
    assert_eq!(e.call(Some(&dst.token), "/unknown").await, 404);
    assert_eq!(e.call(None, "/unknown").await, 401);
    let m = e.admin.connection_monitoring(&dst.code).await.unwrap();
    assert_eq!(m.total, Some(counts(0, 0, 0, 2, 0)));
    // Over the wire, in the documented shape.
    let raw = e
        .admin
        .raw(
            http::Method::GET,
            &format!("/api/v1/connections/{}/monitoring", dst.code),
            None,
        )
        .await
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&raw.body).unwrap();
    assert_eq!(v["monitored"], true);
    assert_eq!(v["days"][6]["business_errors"], 2);
    assert_eq!(v["days"][6]["read"], 0);
    assert!(v["days"][6]["date"].as_str().unwrap().len() == 10);
    assert_eq!(v["total"]["business_errors"], 2);
}

#[rstest::rstest]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r23_other_connections_are_not_counted_and_a_flow_type_change_applies_from_the_next_call(
    #[values(Engine::Sqlite, Engine::Postgres)] engine: Engine,
) {
    let e = env(engine, true).await;
    let app = e.app("Sometimes monitored", FlowType::Other).await;
    e.script(&app, &["read/4/200", "none/0/404", "none/0/500"])
        .await;
    assert!(
        !e.admin
            .connection_monitoring(&app.code)
            .await
            .unwrap()
            .monitored
    );
    assert!(e.hours(&app.code).await.is_empty());
    let patch = |flow_type| switchboard::model::ConnectionPatch {
        flow_type: Some(flow_type),
        ..Default::default()
    };
    // Destination now: the same token's next calls count.
    e.admin
        .update_connection(&app.code, &patch(FlowType::Destination))
        .await
        .unwrap();
    e.script(&app, &["read/4/200", "none/0/404"]).await;
    let m = e.admin.connection_monitoring(&app.code).await.unwrap();
    assert_eq!(m.total, Some(counts(0, 0, 4, 1, 0)));
    // Other again: not monitored, and nothing more is stored.
    e.admin
        .update_connection(&app.code, &patch(FlowType::Other))
        .await
        .unwrap();
    e.script(&app, &["read/4/200", "none/0/500"]).await;
    let m = e.admin.connection_monitoring(&app.code).await.unwrap();
    assert!(!m.monitored && m.total.is_none() && m.days.is_empty());
    e.svc.store().flush_monitoring().await.unwrap();
    let hours = e.hours(&app.code).await;
    assert_eq!(hours.len(), 1);
    assert_eq!(hours[0].1, counts(0, 0, 4, 1, 0));
}

#[rstest::rstest]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r23_calls_go_into_utc_hours_and_are_served_by_utc_day_for_the_last_7_days(
    #[values(Engine::Sqlite, Engine::Postgres)] engine: Engine,
) {
    let e = env(engine, true).await;
    let dst = e.app("Web shop", FlowType::Destination).await;
    let today = midnight(e.clock.now());
    // Tokens stay valid when the clock goes back.
    let at = |t: DateTime<Utc>| e.set_clock(t);
    at(today - Duration::days(7) + Duration::hours(12));
    e.script(&dst, &["read/8/200"]).await; // before the window
    at(today - Duration::days(6) + Duration::hours(12));
    e.script(&dst, &["read/4/200", "none/0/404"]).await; // its first day
    at(today - Duration::days(6) + Duration::hours(13) + Duration::minutes(30));
    e.script(&dst, &["read/16/200"]).await; // same day, next hour
    // Across midnight: 1.5 s before, then 1.5 s after.
    at(today - Duration::milliseconds(1500));
    e.script(&dst, &["read/1/200"]).await;
    e.clock.advance(Duration::seconds(3));
    e.script(&dst, &["read/2/200", "none/0/500"]).await;

    at(today + Duration::hours(12));
    let m = e
        .svc
        .connection_monitoring(&owner(), &dst.code)
        .await
        .unwrap();
    let days: Vec<(NaiveDate, u64, u64, u64)> = m
        .days
        .iter()
        .map(|d| {
            (
                d.date,
                d.counts.read,
                d.counts.business_errors,
                d.counts.technical_errors,
            )
        })
        .collect();
    let date = |back: i64| (today - Duration::days(back)).date_naive();
    assert_eq!(
        days,
        [
            (date(6), 20, 1, 0),
            (date(5), 0, 0, 0),
            (date(4), 0, 0, 0),
            (date(3), 0, 0, 0),
            (date(2), 0, 0, 0),
            (date(1), 1, 0, 0),
            (date(0), 2, 0, 1),
        ]
    );
    assert_eq!(m.total, Some(counts(0, 0, 23, 1, 1)));
    // Stored by hour: the day before the window is still kept (30 days).
    let hours: Vec<(DateTime<Utc>, u64)> = e
        .hours(&dst.code)
        .await
        .into_iter()
        .map(|(h, c)| (h, c.read))
        .collect();
    assert_eq!(
        hours,
        [
            (today - Duration::days(7) + Duration::hours(12), 8),
            (today - Duration::days(6) + Duration::hours(12), 4),
            (today - Duration::days(6) + Duration::hours(13), 16),
            (today - Duration::hours(1), 1),
            (today, 2),
        ]
    );
    // A day later the window moves on by one day.
    at(today + Duration::days(1) + Duration::hours(12));
    let m = e
        .svc
        .connection_monitoring(&owner(), &dst.code)
        .await
        .unwrap();
    assert_eq!(m.days[0].date, date(5));
    assert_eq!(m.days[6].date, date(-1));
    assert_eq!(m.total, Some(counts(0, 0, 3, 0, 1)));
    let all = e.svc.monitoring_overview(&owner()).await.unwrap();
    assert_eq!(all.total, counts(0, 0, 3, 0, 1));
    assert_eq!(all.days[5].counts.read, 2);
}

#[rstest::rstest]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r23_hours_older_than_30_days_are_deleted_by_the_sweep_and_by_reads(
    #[values(Engine::Sqlite, Engine::Postgres)] engine: Engine,
) {
    let e = env(engine, true).await;
    let dst = e.app("Web shop", FlowType::Destination).await;
    e.script(&dst, &["read/1/200"]).await;
    e.svc.store().flush_monitoring().await.unwrap();
    assert_eq!(e.hours(&dst.code).await.len(), 1);
    // 29 days on: kept.
    e.clock.advance(Duration::days(29));
    e.svc.sweep_expired().await.unwrap();
    assert_eq!(e.hours(&dst.code).await.len(), 1);
    // Past 30 days: the sweep deletes it.
    e.clock.advance(Duration::days(1) + Duration::hours(2));
    e.svc.sweep_expired().await.unwrap();
    assert!(e.hours(&dst.code).await.is_empty());

    // A read deletes them too. (The owner's session timed out meanwhile.)
    e.admin.login("alice", OWNER_PASSWORD).await.unwrap();
    let dst2 = e.app("Other shop", FlowType::Destination).await;
    e.script(&dst2, &["read/1/200"]).await;
    e.svc.store().flush_monitoring().await.unwrap();
    assert_eq!(e.hours(&dst2.code).await.len(), 1);
    e.clock.advance(Duration::days(31));
    let all = e.svc.monitoring_overview(&owner()).await.unwrap();
    assert_eq!(all.total, EventCounts::default());
    assert_eq!(e.svc.store().all_monitoring_rows().await.unwrap(), 0);
}

#[rstest::rstest]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r23_counts_are_written_within_about_a_second_without_a_read(
    #[values(Engine::Sqlite, Engine::Postgres)] engine: Engine,
) {
    let e = env(engine, true).await;
    let dst = e.app("Web shop", FlowType::Destination).await;
    e.script(&dst, &["read/3/200"]).await;
    let started = std::time::Instant::now();
    // `monitoring_hours` reads what is written, without writing first.
    while e.hours(&dst.code).await.is_empty() {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(3),
            "not written after 3 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(e.hours(&dst.code).await[0].1, counts(0, 0, 3, 0, 0));
}

#[rstest::rstest]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r23_pending_counts_are_written_when_the_store_closes(
    #[values(Engine::Sqlite, Engine::Postgres)] engine: Engine,
) {
    let e = env(engine, true).await;
    let dst = e.app("Web shop", FlowType::Destination).await;
    e.script(&dst, &["read/3/200", "none/0/503"]).await;
    e.svc.store().close().await;
    let (_, key) = sqlite_paths(e.dir.path());
    let reopened = Store::open(&e.location, &key, PoolConfig::default())
        .await
        .unwrap();
    let hours = reopened.monitoring_hours(&dst.code).await.unwrap();
    assert_eq!(hours.len(), 1);
    assert_eq!(hours[0].1, counts(0, 0, 3, 0, 1));
}

#[rstest::rstest]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r8_deleting_a_connection_removes_its_monitoring_data(
    #[values(Engine::Sqlite, Engine::Postgres)] engine: Engine,
) {
    let e = env(engine, true).await;
    let keep = e.app("Kept shop", FlowType::Destination).await;
    let gone = e.app("Web shop", FlowType::Destination).await;
    e.script(&keep, &["read/1/200"]).await;
    e.script(&gone, &["read/5/200", "none/0/404"]).await;
    e.admin.connection_monitoring(&gone.code).await.unwrap();
    assert_eq!(e.hours(&gone.code).await.len(), 1);
    // More calls, not written yet (most likely) when the delete comes.
    e.script(&gone, &["read/7/200", "none/0/500"]).await;
    e.admin.delete_connection(&gone.code).await.unwrap();
    // At once a new connection with the same code: SQLite gives it the
    // same row id (the highest one was deleted; PostgreSQL a new one). It
    // inherits nothing, not even the counts that were pending at the delete.
    let again = e
        .admin
        .create_connection(&NewConnection {
            label: "Web shop".into(),
            flow_type: FlowType::Destination,
            ..Default::default()
        })
        .await
        .unwrap()
        .connection;
    assert_eq!(again.code, gone.code);
    let m = e.admin.connection_monitoring(&again.code).await.unwrap();
    assert_eq!(m.total, Some(EventCounts::default()));
    assert!(e.hours(&again.code).await.is_empty());
    assert_eq!(e.svc.store().all_monitoring_rows().await.unwrap(), 1);
    let all = e.admin.monitoring().await.unwrap();
    assert_eq!(all.total, counts(0, 0, 1, 0, 0));
    // Deleted again: its (empty) monitoring is not found.
    e.admin.delete_connection(&again.code).await.unwrap();
    assert_eq!(
        e.admin
            .connection_monitoring(&again.code)
            .await
            .unwrap_err()
            .status(),
        Some(404)
    );
    assert_eq!(e.svc.store().all_monitoring_rows().await.unwrap(), 1);
}

// ----- R18 on the monitoring endpoints, over both transports ---------------

struct Backend {
    client: Client,
    svc: Arc<Service>,
    _dir: TempDir,
    server: Option<Running>,
}

async fn service(engine: Engine) -> (TempDir, Arc<Service>) {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(engine, dir.path()).await;
    (dir, Arc::new(Service::new(store)))
}

async fn embedded(engine: Engine) -> Backend {
    let (dir, svc) = service(engine).await;
    let me = svc.store().ensure_owner("alice").await.unwrap();
    let transport = InProcess::new(
        svc.clone(),
        Actor {
            username: me.username,
            kind: me.kind,
        },
    );
    Backend {
        client: Client::new(Arc::new(transport), Source::Cli),
        svc,
        _dir: dir,
        server: None,
    }
}

async fn served(engine: Engine) -> Backend {
    let (dir, svc) = service(engine).await;
    svc.prepare_owner(Some("alice"), Some(OWNER_PASSWORD.to_string().into()))
        .await
        .unwrap();
    let server = serve::start(svc.clone(), "127.0.0.1:0".parse().unwrap(), None)
        .await
        .unwrap();
    let client = Client::http(
        &format!("http://{}", server.addr()),
        None,
        None,
        Source::Cli,
    )
    .unwrap();
    client.login("alice", OWNER_PASSWORD).await.unwrap();
    Backend {
        client,
        svc,
        _dir: dir,
        server: Some(server),
    }
}

impl Backend {
    async fn member(&self, username: &str) -> Client {
        self.client
            .create_user(&NewUser {
                username: username.into(),
                kind: UserKind::Member,
                password: Some(MEMBER_PASSWORD.into()),
            })
            .await
            .unwrap();
        match &self.server {
            None => Client::new(
                Arc::new(InProcess::new(
                    self.svc.clone(),
                    Actor {
                        username: username.into(),
                        kind: UserKind::Member,
                    },
                )),
                Source::Cli,
            ),
            Some(server) => {
                let client = Client::http(
                    &format!("http://{}", server.addr()),
                    None,
                    None,
                    Source::Cli,
                )
                .unwrap();
                client.login(username, MEMBER_PASSWORD).await.unwrap();
                client
            }
        }
    }

    /// Creates a connection and makes one Web API call with a real token
    /// through the service's own router: an unknown path, a business error.
    async fn connection_with_one_error(&self, label: &str, flow_type: FlowType) -> String {
        use tower::ServiceExt;
        let created = self
            .client
            .create_connection(&NewConnection {
                label: label.into(),
                flow_type,
                ..Default::default()
            })
            .await
            .unwrap();
        let c = &created.connection;
        let tokens = self
            .svc
            .token(TokenRequest {
                grant_type: Some("password".into()),
                username: Some(c.username.clone()),
                password: Some(SecretString::from(created.password.clone())),
                refresh_token: None,
                client: Some((
                    c.client_id.clone(),
                    SecretString::from(created.secret.clone()),
                )),
            })
            .await
            .unwrap();
        let req = http::Request::get("/api/rest/v1/unknown")
            .header("authorization", format!("Bearer {}", tokens.access_token))
            .body(axum::body::Body::empty())
            .unwrap();
        let resp = api::router(self.svc.clone()).oneshot(req).await.unwrap();
        assert_eq!(resp.status(), 404);
        c.code.clone()
    }
}

/// Runs each named check four times: in process and over HTTP, each on
/// SQLite and on PostgreSQL.
macro_rules! both_transports {
    ($($name:ident),* $(,)?) => {
        mod in_process {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(super::embedded(super::Engine::Sqlite).await).await
                }
            )*
        }
        mod over_http {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(super::served(super::Engine::Sqlite).await).await
                }
            )*
        }
        mod in_process_pg {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(super::embedded(super::Engine::Postgres).await).await
                }
            )*
        }
        mod over_http_pg {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(super::served(super::Engine::Postgres).await).await
                }
            )*
        }
    };
}

both_transports!(
    r18_r23_members_see_the_monitoring_of_the_connections_they_can_see_only,
    r23_unknown_connections_are_not_found,
);

async fn r18_r23_members_see_the_monitoring_of_the_connections_they_can_see_only(b: Backend) {
    let seen = b
        .connection_with_one_error("Registered shop", FlowType::Destination)
        .await;
    let unseen = b
        .connection_with_one_error("Hidden ERP", FlowType::Source)
        .await;
    let quiet = b
        .connection_with_one_error("Registered tool", FlowType::Other)
        .await;
    let integration = b
        .client
        .create_integration(&NewIntegration {
            name: "Shop".into(),
            code: None,
            kind: IntegrationKind::Standard,
        })
        .await
        .unwrap()
        .code;
    b.client
        .register(&integration, &[seen.clone(), quiet.clone()])
        .await
        .unwrap();
    let mia = b.member("mia").await;
    // No access yet: nothing, and every connection is "not found".
    let none = mia.monitoring().await.unwrap();
    assert!(none.connections.is_empty());
    assert_eq!(none.total, EventCounts::default());
    assert_eq!(
        mia.connection_monitoring(&seen).await.unwrap_err().status(),
        Some(404)
    );
    // Monitor access is enough to read.
    b.client
        .set_access(&integration, "mia", Some(AccessLevel::Monitor))
        .await
        .unwrap();
    let all = mia.monitoring().await.unwrap();
    let codes: Vec<&str> = all.connections.iter().map(|c| c.code.as_str()).collect();
    assert_eq!(codes, [seen.as_str(), quiet.as_str()]);
    assert_eq!(all.total, counts(0, 0, 0, 1, 0), "only what mia can see");
    assert!(!all.connections[1].monitored);
    let one = mia.connection_monitoring(&seen).await.unwrap();
    assert_eq!(one.total, Some(counts(0, 0, 0, 1, 0)));
    let refused = mia.connection_monitoring(&unseen).await.unwrap_err();
    assert_eq!(refused.status(), Some(404), "not found, never forbidden");
    assert!(refused.to_string().contains("not found"), "{refused}");
    // The owner sees both monitored connections' errors.
    let owner_view = b.client.monitoring().await.unwrap();
    assert_eq!(owner_view.connections.len(), 3);
    assert_eq!(owner_view.total, counts(0, 0, 0, 2, 0));
    assert_eq!(
        b.client.connection_monitoring(&unseen).await.unwrap().total,
        Some(counts(0, 0, 0, 1, 0))
    );
}

async fn r23_unknown_connections_are_not_found(b: Backend) {
    let err = b.client.connection_monitoring("nothing").await.unwrap_err();
    assert_eq!(err.status(), Some(404));
    assert_eq!(err.code(), Some("not_found"));
    // As for GET /api/v1/connections/{code}: no such code, not found.
    let err = b
        .client
        .connection_monitoring("Bad Code/..")
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(404));
    let empty = b.client.monitoring().await.unwrap();
    assert!(empty.connections.is_empty());
    assert_eq!(empty.days.len(), 7);
}
