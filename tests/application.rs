//! The application side of a connection (R26) and its test (R27), against
//! a real server on a loopback port and a real outside application on
//! another (tests/common/fake_app.rs), on both engines: each auth kind,
//! write-only secrets (masked reads, kept when omitted or masked, `null`
//! removes, `******` in the audit trail), bad input named by field, the
//! offline flag set and cleared, the background re-test's backoff on the
//! injected clock, failures told in words (timeout, refused, TLS, DNS,
//! redirects), the address deny and allow lists, and who may do it (R20).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::Method;
use serde_json::{Value, json};
use switchboard::client::{Client, ClientError};
use switchboard::domain::application::AddressPolicy;
use switchboard::model::{
    AccessLevel, Application, ApplicationAuth, IntegrationKind, NewConnection, NewIntegration,
    NewUser, SECRET_MASK, Source, UserKind, WriteOnly,
};
use switchboard::server::serve::{self, Running};
use switchboard::service::Service;
use switchboard::service::probe::TestPolicy;
use switchboard::store::TestClock;
use tempfile::TempDir;

mod common;
use common::Engine;
use common::fake_app::FakeApp;

const OWNER_PASSWORD: &str = "correct horse battery";

struct Env {
    url: String,
    clock: Arc<TestClock>,
    svc: Arc<Service>,
    admin: Client,
    app: FakeApp,
    _running: Running,
    _dir: TempDir,
}

/// Tests time out after this long unless a test says otherwise: loopback
/// answers come in milliseconds, a busy machine may take longer.
const TIMEOUT: Duration = Duration::from_secs(5);

async fn env(engine: Engine) -> Env {
    env_with(
        engine,
        TestPolicy {
            timeout: TIMEOUT,
            addresses: AddressPolicy::default(),
        },
    )
    .await
}

async fn env_with(engine: Engine, policy: TestPolicy) -> Env {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(TestClock::default());
    let location = common::location(engine, dir.path()).await;
    let store = common::open_at(&location, dir.path())
        .await
        .with_clock(clock.clone());
    let svc = Arc::new(Service::new(store).with_test_policy(policy));
    svc.prepare_owner(Some("alice"), Some(OWNER_PASSWORD.to_string().into()))
        .await
        .unwrap();
    let running = serve::start(svc.clone(), "127.0.0.1:0".parse().unwrap(), None)
        .await
        .unwrap();
    let url = format!("http://{}", running.addr());
    let admin = Client::http(&url, None, None, Source::Cli).unwrap();
    admin.login("alice", OWNER_PASSWORD).await.unwrap();
    Env {
        url,
        clock,
        svc,
        admin,
        app: FakeApp::start().await,
        _running: running,
        _dir: dir,
    }
}

impl Env {
    /// A connection with `application`; its code.
    async fn connection(&self, label: &str, application: Option<Application>) -> String {
        self.admin
            .create_connection(&NewConnection {
                label: label.into(),
                application: application.map(Box::new),
                ..Default::default()
            })
            .await
            .unwrap()
            .connection
            .code
    }

    /// The fake application's `path`, with `auth`.
    fn at(&self, path: &str, auth: ApplicationAuth) -> Application {
        Application::new(format!("{}{path}", self.app.url), auth)
    }

    fn api_key(&self, key: Option<&str>) -> ApplicationAuth {
        ApplicationAuth::api_key(self.app.creds.header.clone(), key)
    }

    /// A raw call with the admin's session: (status, body).
    async fn raw(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value, String) {
        let resp = self
            .admin
            .raw(method, path, body.map(|b| Bytes::from(b.to_string())))
            .await
            .unwrap();
        let text = String::from_utf8_lossy(&resp.body).into_owned();
        (
            resp.status,
            serde_json::from_str(&text).unwrap_or(Value::Null),
            text,
        )
    }

    /// A member with a password, logged in.
    async fn member(&self, name: &str) -> Client {
        let password = format!("{name} has a long password");
        self.admin
            .create_user(&NewUser {
                username: name.into(),
                kind: UserKind::Member,
                password: Some(password.clone()),
            })
            .await
            .unwrap();
        let c = Client::http(&self.url, None, None, Source::Cli).unwrap();
        c.login(name, &password).await.unwrap();
        c
    }
}

#[track_caller]
fn assert_field(e: &ClientError, status: u16, field: &str) {
    assert_eq!(e.status(), Some(status), "{e:?}");
    assert_eq!(e.field(), Some(field), "{e:?}");
}

#[rstest::rstest]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r26_secrets_are_write_only_kept_when_omitted_or_masked_and_null_removes(
    #[values(Engine::Sqlite, Engine::Postgres)] engine: Engine,
) {
    let env = env(engine).await;
    let creds = env.app.creds.clone();
    let code = env
        .connection(
            "Erp Keyed",
            Some(env.at("/key", env.api_key(Some(&creds.key)))),
        )
        .await;
    // Every read answers the mask: the connection, the list, the raw JSON.
    let c = env.admin.get_connection(&code).await.unwrap();
    let read = c.application.clone().unwrap();
    assert_eq!(read.auth.key, Some(WriteOnly::mask()));
    assert_eq!(read.auth.header.as_deref(), Some("X-API-Key"));
    assert_eq!(read.base_url, format!("{}/key", env.app.url));
    for path in [
        format!("/api/v1/connections/{code}"),
        "/api/v1/connections".to_string(),
    ] {
        let (status, _, text) = env.raw(Method::GET, &path, None).await;
        assert_eq!(status, 200);
        assert!(!text.contains(&creds.key), "{text}");
        assert!(text.contains(r#""key":"******""#), "{text}");
    }
    assert!(env.admin.test_connection(&code).await.unwrap().ok);

    // Omitted: kept (the test still passes with the stored key).
    let moved = Application::new(env.app.url.clone(), env.api_key(None)).with_ping_path("/key");
    let c = env
        .admin
        .set_application(&code, Some(moved), Some(c.version))
        .await
        .unwrap();
    assert_eq!(
        c.application.as_ref().unwrap().ping_path.as_deref(),
        Some("/key")
    );
    let t = env.admin.test_connection(&code).await.unwrap();
    assert!(t.ok, "{t:?}");

    // The mask sent back, as a form would send what it read: nothing
    // changes (no new version, no audit record).
    let audit_before = env.admin.connection_audit(&code).await.unwrap().len();
    let again = env
        .admin
        .set_application(&code, c.application.clone(), Some(c.version))
        .await
        .unwrap();
    assert_eq!(again.version, c.version);
    assert_eq!(
        env.admin.connection_audit(&code).await.unwrap().len(),
        audit_before
    );
    assert!(env.admin.test_connection(&code).await.unwrap().ok);
    // The same key sent again changes nothing either.
    let same =
        Application::new(env.app.url.clone(), env.api_key(Some(&creds.key))).with_ping_path("/key");
    let again = env
        .admin
        .set_application(&code, Some(same), None)
        .await
        .unwrap();
    assert_eq!(again.version, c.version);

    // A new key replaces it: the application refuses a wrong one.
    let wrong = Application::new(env.app.url.clone(), env.api_key(Some("not-the-key")))
        .with_ping_path("/key");
    env.admin
        .set_application(&code, Some(wrong), None)
        .await
        .unwrap();
    let t = env.admin.test_connection(&code).await.unwrap();
    assert!(!t.ok);
    assert_eq!(t.status, Some(401));
    assert_eq!(
        t.message,
        "the application refused the credentials (HTTP 401 Unauthorized)"
    );

    // Another kind without its secret: nothing of that kind to keep.
    let e = env
        .admin
        .set_application(
            &code,
            Some(env.at("/bearer", ApplicationAuth::bearer(None))),
            None,
        )
        .await
        .unwrap_err();
    assert_field(&e, 400, "application.auth.token");
    let e = env
        .admin
        .set_application(
            &code,
            Some(env.at("/bearer", ApplicationAuth::bearer(Some(SECRET_MASK)))),
            None,
        )
        .await
        .unwrap_err();
    assert_field(&e, 400, "application.auth.token");
    // With it, the kind changes.
    let c = env
        .admin
        .set_application(
            &code,
            Some(env.at("/bearer", ApplicationAuth::bearer(Some(&creds.token)))),
            None,
        )
        .await
        .unwrap();
    assert_eq!(
        c.application.as_ref().unwrap().auth,
        ApplicationAuth::bearer(Some(SECRET_MASK))
    );
    assert!(env.admin.test_connection(&code).await.unwrap().ok);

    // `null` removes it; a test then has nothing to call.
    let c = env.admin.set_application(&code, None, None).await.unwrap();
    assert_eq!(c.application, None);
    let e = env.admin.test_connection(&code).await.unwrap_err();
    assert_field(&e, 409, "application");

    // The audit trail: every change per field, secret values as ******.
    let audit = env.admin.connection_audit(&code).await.unwrap();
    let text = serde_json::to_string(&audit).unwrap();
    for s in creds
        .secrets()
        .iter()
        .chain(["not-the-key".to_string()].iter())
    {
        assert!(
            !text.contains(s.as_str()),
            "a secret value is in the audit: {text}"
        );
    }
    let changed = |action: &str, field: &str, old: Option<&str>, new: Option<&str>| {
        audit.iter().any(|r| {
            r.action == action
                && r.changes
                    .iter()
                    .any(|c| c.field == field && c.old.as_deref() == old && c.new.as_deref() == new)
        })
    };
    assert!(changed(
        "connection.create",
        "application.auth.key",
        None,
        Some(SECRET_MASK)
    ));
    assert!(changed(
        "connection.create",
        "application.auth.kind",
        None,
        Some("api_key")
    ));
    assert!(changed(
        "connection.update",
        "application.auth.key",
        Some(SECRET_MASK),
        Some(SECRET_MASK)
    ));
    assert!(changed(
        "connection.update",
        "application.ping_path",
        None,
        Some("/key")
    ));
    assert!(changed(
        "connection.update",
        "application.auth.kind",
        Some("api_key"),
        Some("bearer")
    ));
    assert!(changed(
        "connection.update",
        "application.auth.token",
        Some(SECRET_MASK),
        None
    ));
    assert!(changed(
        "connection.update",
        "application.base_url",
        Some(&format!("{}/bearer", env.app.url)),
        None
    ));
}

#[rstest::rstest]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r26_bad_input_is_a_400_naming_the_field_and_changes_nothing(
    #[values(Engine::Sqlite, Engine::Postgres)] engine: Engine,
) {
    let env = env(engine).await;
    let code = env.connection("Erp Plain", None).await;
    let base = "https://erp.example.com/api";
    let long_token = "t".repeat(5000);
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"base_url": "erp.example.com/api", "auth": {"kind": "none"}}),
            "application.base_url",
        ),
        (
            json!({"base_url": "ftp://erp.example.com", "auth": {"kind": "none"}}),
            "application.base_url",
        ),
        (
            json!({"base_url": "https://user:pw@erp.example.com", "auth": {"kind": "none"}}),
            "application.base_url",
        ),
        (
            json!({"base_url": format!("https://erp.example.com/{}", "a".repeat(3000)), "auth": {"kind": "none"}}),
            "application.base_url",
        ),
        (json!({"auth": {"kind": "none"}}), "application.base_url"),
        (
            json!({"base_url": base, "ping_path": "health", "auth": {"kind": "none"}}),
            "application.ping_path",
        ),
        (
            json!({"base_url": base, "auth": {"kind": "digest"}}),
            "application.auth.kind",
        ),
        (
            json!({"base_url": base, "auth": {"kind": "basic", "password": "pw"}}),
            "application.auth.username",
        ),
        (
            json!({"base_url": base, "auth": {"kind": "basic", "username": "u"}}),
            "application.auth.password",
        ),
        (
            json!({"base_url": base, "auth": {"kind": "api_key", "key": "k"}}),
            "application.auth.header",
        ),
        (
            json!({"base_url": base, "auth": {"kind": "api_key", "header": "X-API-Key"}}),
            "application.auth.key",
        ),
        (
            json!({"base_url": base, "auth": {"kind": "bearer", "token": long_token}}),
            "application.auth.token",
        ),
        (
            json!({"base_url": base, "auth": {"kind": "none", "token": "t"}}),
            "application.auth.token",
        ),
        (
            json!({"base_url": base, "auth": {"kind": "oauth2_client_credentials", "client_id": "c", "client_secret": "s"}}),
            "application.auth.token_url",
        ),
        (
            json!({"base_url": base, "auth": {"kind": "oauth2_client_credentials", "token_url": "https://a:b@idp.example.com/token", "client_id": "c", "client_secret": "s"}}),
            "application.auth.token_url",
        ),
        (
            json!({"base_url": base, "auth": {"kind": "oauth2_client_credentials", "token_url": "https://idp.example.com/token", "client_secret": "s"}}),
            "application.auth.client_id",
        ),
    ];
    let path = format!("/api/v1/connections/{code}");
    for (app, field) in &cases {
        let (status, body, text) = env
            .raw(Method::PATCH, &path, Some(json!({ "application": app })))
            .await;
        assert_eq!(status, 400, "{app}: {text}");
        assert_eq!(body["field"], *field, "{app}: {text}");
        assert!(!text.contains(&long_token), "the message echoes a secret");
        let (status, body, text) = env
            .raw(
                Method::POST,
                "/api/v1/connections",
                Some(json!({"label": "Never Made", "application": app})),
            )
            .await;
        assert_eq!(status, 400, "{app}: {text}");
        assert_eq!(body["field"], *field, "{app}: {text}");
    }
    // An unknown field is named too.
    let (status, body, _) = env
        .raw(
            Method::PATCH,
            &path,
            Some(json!({"application": {"base_url": base, "auth": {"kind": "none"}, "colour": 1}})),
        )
        .await;
    assert_eq!(status, 400);
    assert!(
        body["field"].as_str().unwrap().starts_with("application"),
        "{body}"
    );
    // Nothing changed: no connection made, no update recorded.
    assert_eq!(env.admin.list_connections().await.unwrap().len(), 1);
    let c = env.admin.get_connection(&code).await.unwrap();
    assert_eq!((c.version, c.application), (1, None));
    assert_eq!(env.admin.connection_audit(&code).await.unwrap().len(), 1);
}

#[rstest::rstest]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r27_each_auth_kind_reaches_a_real_application_and_wrong_credentials_are_refused(
    #[values(Engine::Sqlite, Engine::Postgres)] engine: Engine,
) {
    let env = env(engine).await;
    let c = env.app.creds.clone();
    let token_url = format!("{}/token", env.app.url);
    let kinds: Vec<(&str, Application, Application)> = vec![
        (
            "none",
            env.at("/health", ApplicationAuth::none()),
            env.at("/denied", ApplicationAuth::none()),
        ),
        (
            "basic",
            env.at(
                "/basic",
                ApplicationAuth::basic(&c.username, Some(&c.password)),
            ),
            env.at(
                "/basic",
                ApplicationAuth::basic(&c.username, Some("wrong password")),
            ),
        ),
        (
            "api_key",
            env.at("/key", env.api_key(Some(&c.key))),
            env.at("/key", env.api_key(Some("wrong-key"))),
        ),
        (
            "bearer",
            env.at("/bearer", ApplicationAuth::bearer(Some(&c.token))),
            env.at("/bearer", ApplicationAuth::bearer(Some("wrong-token"))),
        ),
        (
            "oauth2",
            env.at(
                "/oauth",
                ApplicationAuth::oauth2_client_credentials(
                    &token_url,
                    &c.client_id,
                    Some(&c.client_secret),
                    Some(&c.scope),
                ),
            ),
            env.at(
                "/oauth",
                ApplicationAuth::oauth2_client_credentials(
                    &token_url,
                    &c.client_id,
                    Some("wrong-client-secret"),
                    Some(&c.scope),
                ),
            ),
        ),
    ];
    for (kind, good, bad) in kinds {
        let code = env.connection(&format!("Kind {kind}"), Some(good)).await;
        let t = env.admin.test_connection(&code).await.unwrap();
        assert!(t.ok, "{kind}: {t:?}");
        assert_eq!(t.status, Some(200), "{kind}");
        assert_eq!(t.message, "the application answered HTTP 200 OK");
        // On the injected clock (TestClock::START), not today's.
        assert_eq!(t.tested_at.date_naive().to_string(), "2026-03-02");
        env.admin
            .set_application(&code, Some(bad), None)
            .await
            .unwrap();
        let t = env.admin.test_connection(&code).await.unwrap();
        assert!(!t.ok, "{kind}: {t:?}");
        assert_eq!(t.status, Some(401), "{kind}");
        if kind == "oauth2" {
            assert_eq!(
                t.message,
                "the token endpoint refused the client credentials (HTTP 401 Unauthorized, invalid_client)"
            );
        } else {
            assert!(
                t.message.contains("refused the credentials"),
                "{kind}: {t:?}"
            );
        }
    }
    // The token endpoint was asked with the scope; a wrong scope is
    // refused as such.
    assert!(env.app.token_requests() >= 2);
    let code = env
        .connection(
            "Kind Scope",
            Some(env.at(
                "/oauth",
                ApplicationAuth::oauth2_client_credentials(
                    &token_url,
                    &c.client_id,
                    Some(&c.client_secret),
                    Some("write:everything"),
                ),
            )),
        )
        .await;
    let t = env.admin.test_connection(&code).await.unwrap();
    assert_eq!(
        (t.ok, t.status, t.message.as_str()),
        (
            false,
            Some(400),
            "the token endpoint refused the client credentials (HTTP 400 Bad Request, invalid_scope)"
        )
    );
    // 403 is a refusal too.
    let code = env
        .connection(
            "Kind Forbidden",
            Some(env.at("/forbidden", ApplicationAuth::none())),
        )
        .await;
    let t = env.admin.test_connection(&code).await.unwrap();
    assert_eq!(
        t.message,
        "the application refused the credentials (HTTP 403 Forbidden)"
    );
}

#[rstest::rstest]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r27_a_failed_test_marks_the_connection_offline_and_a_passing_one_clears_it(
    #[values(Engine::Sqlite, Engine::Postgres)] engine: Engine,
) {
    let env = env(engine).await;
    let code = env
        .connection(
            "Erp Health",
            Some(env.at("/health", ApplicationAuth::none())),
        )
        .await;
    env.connection("Erp Other", None).await;
    let c = env.admin.get_connection(&code).await.unwrap();
    assert!(!c.offline && c.offline_since.is_none() && c.offline_reason.is_none());
    assert!(
        env.admin
            .list_offline_connections()
            .await
            .unwrap()
            .is_empty()
    );

    env.app.set_healthy(false);
    let t = env.admin.test_connection(&code).await.unwrap();
    assert_eq!((t.ok, t.status), (false, Some(503)));
    assert_eq!(
        t.message,
        "the application answered HTTP 503 Service Unavailable: a fault on its side"
    );
    let went = env.svc.store().now();
    let c = env.admin.get_connection(&code).await.unwrap();
    assert!(c.offline);
    assert_eq!(c.offline_reason.as_deref(), Some(t.message.as_str()));
    let since = c.offline_since.unwrap();
    assert!(since <= went && went - since < chrono::Duration::seconds(5));
    // The list says so, and filters.
    let offline = env.admin.list_offline_connections().await.unwrap();
    assert_eq!(offline.len(), 1);
    assert_eq!(offline[0].code, code);
    let (status, body, _) = env
        .raw(
            Method::GET,
            "/api/v1/connections?offline=true&offset=0&limit=1",
            None,
        )
        .await;
    assert_eq!((status, body["total"].as_u64()), (200, Some(1)));
    let (status, body, _) = env
        .raw(Method::GET, "/api/v1/connections?offline=maybe", None)
        .await;
    assert_eq!((status, body["field"].as_str()), (400, Some("offline")));

    // Failing again keeps when it went offline, with the newest reason.
    env.clock.advance(chrono::Duration::seconds(30));
    env.app.stop().await;
    let t = env.admin.test_connection(&code).await.unwrap();
    assert!(
        t.message.starts_with("connection refused by 127.0.0.1:"),
        "{t:?}"
    );
    let c = env.admin.get_connection(&code).await.unwrap();
    assert_eq!(c.offline_since, Some(since));
    assert_eq!(c.offline_reason.as_deref(), Some(t.message.as_str()));

    // Back up (on the same port is not guaranteed: point at a new one).
    let app = FakeApp::start().await;
    env.admin
        .set_application(
            &code,
            Some(Application::new(
                format!("{}/health", app.url),
                ApplicationAuth::none(),
            )),
            None,
        )
        .await
        .unwrap();
    let t = env.admin.test_connection(&code).await.unwrap();
    assert!(t.ok, "{t:?}");
    let c = env.admin.get_connection(&code).await.unwrap();
    assert!(!c.offline && c.offline_since.is_none() && c.offline_reason.is_none());
    assert!(
        env.admin
            .list_offline_connections()
            .await
            .unwrap()
            .is_empty()
    );

    // The flips, not every test, are in the audit trail, by who tested.
    let audit = env.admin.connection_audit(&code).await.unwrap();
    let flips: Vec<(&str, &str)> = audit
        .iter()
        .filter(|r| r.action.starts_with("connection.o"))
        .map(|r| (r.action.as_str(), r.actor.as_str()))
        .collect();
    assert_eq!(
        flips,
        [
            ("connection.online", "alice"),
            ("connection.offline", "alice")
        ]
    );
    let off = audit
        .iter()
        .find(|r| r.action == "connection.offline")
        .unwrap();
    assert_eq!(off.source, Source::Cli);
    assert!(off.changes.iter().any(|c| c.field == "offline"
        && c.old.as_deref() == Some("false")
        && c.new.as_deref() == Some("true")));
}

#[rstest::rstest]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r27_offline_connections_are_retested_with_backoff_and_come_back_by_themselves(
    #[values(Engine::Sqlite, Engine::Postgres)] engine: Engine,
) {
    let env = env(engine).await;
    let code = env
        .connection(
            "Erp Flaky",
            Some(env.at("/health", ApplicationAuth::none())),
        )
        .await;
    // Online connections are never re-tested.
    env.clock.advance(chrono::Duration::hours(2));
    assert_eq!(env.svc.retest_offline().await.unwrap().tested, 0);

    env.app.set_healthy(false);
    assert!(!env.admin.test_connection(&code).await.unwrap().ok);
    let store = env.svc.store();
    let minute = 60_000;
    let (at, delay) = store.retest_schedule(&code).await.unwrap().unwrap();
    assert_eq!(delay, minute);
    let left = (at - store.now()).num_milliseconds();
    assert!((50_000..=60_000).contains(&left), "{left} ms");
    // Not due yet: nothing runs.
    assert_eq!(env.svc.retest_offline().await.unwrap().tested, 0);
    // Due after a minute; each failure doubles the wait, up to an hour.
    let mut waits = Vec::new();
    let mut wait = minute;
    for _ in 0..8 {
        env.clock
            .advance(chrono::Duration::milliseconds(wait - 2_000));
        assert_eq!(
            env.svc.retest_offline().await.unwrap().tested,
            0,
            "not before {wait} ms"
        );
        env.clock.advance(chrono::Duration::seconds(3));
        let pass = env.svc.retest_offline().await.unwrap();
        assert_eq!((pass.tested, pass.online), (1, 0));
        wait = store.retest_schedule(&code).await.unwrap().unwrap().1;
        waits.push(wait / minute);
    }
    assert_eq!(waits, [2, 4, 8, 16, 32, 60, 60, 60]);
    let hits = env.app.hits();
    assert!(env.admin.get_connection(&code).await.unwrap().offline);

    // The application recovers: the next re-test brings it back.
    env.app.set_healthy(true);
    env.clock
        .advance(chrono::Duration::milliseconds(wait + 1_000));
    let pass = env.svc.retest_offline().await.unwrap();
    assert_eq!((pass.tested, pass.online), (1, 1));
    assert_eq!(env.app.hits(), hits + 1);
    let c = env.admin.get_connection(&code).await.unwrap();
    assert!(!c.offline, "{c:?}");
    assert_eq!(store.retest_schedule(&code).await.unwrap(), None);
    let audit = env.admin.connection_audit(&code).await.unwrap();
    assert_eq!(audit[0].action, "connection.online");
    assert_eq!(
        (audit[0].actor.as_str(), audit[0].source),
        ("system", Source::System)
    );
    env.clock.advance(chrono::Duration::hours(2));
    assert_eq!(env.svc.retest_offline().await.unwrap().tested, 0);

    // Changing an offline connection's application re-tests it at the next
    // pass; removing it ends the offline state.
    env.app.set_healthy(false);
    assert!(!env.admin.test_connection(&code).await.unwrap().ok);
    env.admin
        .set_application(
            &code,
            Some(env.at("/health?v=2", ApplicationAuth::none())),
            None,
        )
        .await
        .unwrap();
    assert_eq!(env.svc.retest_offline().await.unwrap().tested, 1);
    let c = env.admin.set_application(&code, None, None).await.unwrap();
    assert!(!c.offline && c.offline_reason.is_none());
    env.clock.advance(chrono::Duration::hours(2));
    assert_eq!(env.svc.retest_offline().await.unwrap().tested, 0);
}

#[rstest::rstest]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r27_timeouts_refusals_tls_dns_and_redirects_are_told_in_words(
    #[values(Engine::Sqlite, Engine::Postgres)] engine: Engine,
) {
    let env = env_with(
        engine,
        TestPolicy {
            timeout: Duration::from_millis(700),
            addresses: AddressPolicy::default(),
        },
    )
    .await;
    let port = env.app.addr.port();
    let test = |label: &'static str, base: String| {
        let env = &env;
        async move {
            let code = env
                .connection(label, Some(Application::new(base, ApplicationAuth::none())))
                .await;
            env.admin.test_connection(&code).await.unwrap()
        }
    };
    // A hanging application: the timeout, in words.
    let t = test("Hangs", format!("{}/hang", env.app.url)).await;
    assert!(!t.ok);
    assert_eq!(t.status, None);
    assert_eq!(
        t.message,
        "no answer within 700 ms (timed out): the application is down, overloaded or unreachable"
    );
    assert!((700..5_000).contains(&t.latency_ms), "{t:?}");
    // Nothing listening.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let t = test("Refused", format!("http://127.0.0.1:{closed}/")).await;
    assert_eq!(
        t.message,
        format!(
            "connection refused by 127.0.0.1:{closed}: nothing listens there (is the application running?), or a firewall refuses"
        )
    );
    // TLS to a plain HTTP server.
    let t = test("Not Tls", format!("https://127.0.0.1:{port}/health")).await;
    assert!(
        t.message
            .starts_with(&format!("the TLS handshake with 127.0.0.1:{port} failed: ")),
        "{t:?}"
    );
    // A name that does not resolve (RFC 6761: .invalid never does).
    let t = test("No Dns", "http://erp.switchboard-test.invalid/".to_string()).await;
    assert!(
        t.message
            .starts_with("the host name erp.switchboard-test.invalid could not be resolved (DNS)"),
        "{t:?}"
    );
    // A redirect to another host name (the same server, as `localhost`) is
    // reported, not followed.
    let hits = env.app.hits();
    let t = test("Goes Elsewhere", format!("{}/elsewhere", env.app.url)).await;
    assert_eq!((t.ok, t.status), (false, Some(302)));
    assert_eq!(
        t.message,
        format!(
            "the application redirected to another host (http://localhost:{port}), not followed: point base_url at where it answers"
        )
    );
    assert_eq!(env.app.hits(), hits + 1, "the redirect was not followed");
    // One on the same host is followed.
    let t = test("Same Host", format!("{}/same", env.app.url)).await;
    assert!(t.ok, "{t:?}");
    assert_eq!(env.app.hits(), hits + 3);
    // At most five of them.
    let t = test("Loops", format!("{}/loop", env.app.url)).await;
    assert_eq!(
        t.message,
        "the application redirected more than 5 times; not followed further"
    );
    assert_eq!(env.app.hits(), hits + 3 + 6);
}

#[rstest::rstest]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r27_link_local_and_metadata_addresses_are_refused_before_any_connection(
    #[values(Engine::Sqlite, Engine::Postgres)] engine: Engine,
) {
    let env = env(engine).await;
    for (label, base, ip) in [
        (
            "Metadata",
            "http://169.254.169.254/latest/meta-data/",
            "169.254.169.254",
        ),
        ("Link Local Six", "http://[fe80::1]:8080/", "fe80::1"),
        (
            "Alibaba Metadata",
            "http://100.100.100.200/",
            "100.100.100.200",
        ),
        (
            "Mapped",
            "http://[::ffff:169.254.169.254]/",
            "::ffff:169.254.169.254",
        ),
    ] {
        let code = env
            .connection(label, Some(Application::new(base, ApplicationAuth::none())))
            .await;
        let t = env.admin.test_connection(&code).await.unwrap();
        assert!(!t.ok);
        assert_eq!(t.status, None);
        assert!(
            t.message.starts_with(&format!(
                "refused: {ip}, an address this server does not let tests reach"
            )) && t.message.ends_with("no request was made"),
            "{label}: {t:?}"
        );
        // Refused, and so offline: it cannot be reached.
        assert!(env.admin.get_connection(&code).await.unwrap().offline);
    }
    // A token endpoint there is refused too, before the application is
    // called.
    let code = env
        .connection(
            "Metadata Token",
            Some(env.at(
                "/oauth",
                ApplicationAuth::oauth2_client_credentials(
                    "http://169.254.169.254/token",
                    "c",
                    Some("s"),
                    None,
                ),
            )),
        )
        .await;
    let t = env.admin.test_connection(&code).await.unwrap();
    assert!(t.message.starts_with("refused: 169.254.169.254"), "{t:?}");
    assert_eq!(env.app.hits(), 0, "nothing reached the application");
}

#[rstest::rstest]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r27_the_deny_list_takes_more_and_the_allow_list_exempts(
    #[values(Engine::Sqlite, Engine::Postgres)] engine: Engine,
) {
    let loopback = ["127.0.0.0/8".parse().unwrap(), "::1/128".parse().unwrap()];
    let env = env_with(
        engine,
        TestPolicy {
            timeout: TIMEOUT,
            addresses: AddressPolicy::with(&loopback, &[]),
        },
    )
    .await;
    let port = env.app.addr.port();
    let code = env
        .connection(
            "Denied Loopback",
            Some(env.at("/health", ApplicationAuth::none())),
        )
        .await;
    let t = env.admin.test_connection(&code).await.unwrap();
    assert!(t.message.starts_with("refused: 127.0.0.1,"), "{t:?}");
    // By name: the name's addresses are checked.
    let by_name = env
        .connection(
            "Denied By Name",
            Some(Application::new(
                format!("http://localhost:{port}/health"),
                ApplicationAuth::none(),
            )),
        )
        .await;
    let t = env.admin.test_connection(&by_name).await.unwrap();
    assert!(
        t.message.starts_with("refused: localhost resolves to "),
        "{t:?}"
    );
    assert_eq!(env.app.hits(), 0, "no connection was attempted");

    let env = env_with(
        engine,
        TestPolicy {
            timeout: TIMEOUT,
            addresses: AddressPolicy::with(&loopback, &["127.0.0.1/32".parse().unwrap()]),
        },
    )
    .await;
    let code = env
        .connection(
            "Allowed Loopback",
            Some(env.at("/health", ApplicationAuth::none())),
        )
        .await;
    let t = env.admin.test_connection(&code).await.unwrap();
    assert!(t.ok, "{t:?}");
    assert_eq!(env.app.hits(), 1);
}

#[rstest::rstest]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r20_members_set_and_test_the_application_only_where_they_manage(
    #[values(Engine::Sqlite, Engine::Postgres)] engine: Engine,
) {
    let env = env(engine).await;
    let key = env.app.creds.key.clone();
    for name in ["Orders", "Finance"] {
        env.admin
            .create_integration(&NewIntegration {
                name: name.into(),
                code: None,
                kind: IntegrationKind::Standard,
            })
            .await
            .unwrap();
    }
    let managed = env
        .connection("Erp Orders", Some(env.at("/key", env.api_key(Some(&key)))))
        .await;
    let monitored = env
        .connection("Erp Finance", Some(env.at("/key", env.api_key(Some(&key)))))
        .await;
    let unseen = env
        .connection("Erp Hidden", Some(env.at("/key", env.api_key(Some(&key)))))
        .await;
    env.admin
        .register("orders", std::slice::from_ref(&managed))
        .await
        .unwrap();
    env.admin
        .register("finance", std::slice::from_ref(&monitored))
        .await
        .unwrap();
    let mia = env.member("mia").await;
    env.admin
        .set_access("orders", "mia", Some(AccessLevel::Manage))
        .await
        .unwrap();
    env.admin
        .set_access("finance", "mia", Some(AccessLevel::Monitor))
        .await
        .unwrap();

    // Managed: she sets it (the key kept when omitted) and tests it.
    let c = mia.get_connection(&managed).await.unwrap();
    assert_eq!(c.application.unwrap().auth.key, Some(WriteOnly::mask()));
    let moved = Application::new(env.app.url.clone(), env.api_key(None)).with_ping_path("/key");
    mia.set_application(&managed, Some(moved), None)
        .await
        .unwrap();
    assert!(mia.test_connection(&managed).await.unwrap().ok);
    let audit = env.admin.connection_audit(&managed).await.unwrap();
    assert_eq!(audit[0].actor, "mia");

    // Monitored: she sees it, masked, and may neither change nor test it.
    let c = mia.get_connection(&monitored).await.unwrap();
    assert_eq!(c.application.unwrap().auth.key, Some(WriteOnly::mask()));
    let e = mia.test_connection(&monitored).await.unwrap_err();
    assert_eq!(e.status(), Some(403), "{e:?}");
    let e = mia
        .set_application(&monitored, None, None)
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(403), "{e:?}");
    assert!(
        env.admin
            .get_connection(&monitored)
            .await
            .unwrap()
            .application
            .is_some()
    );

    // Unseen: it does not exist for her.
    assert_eq!(
        mia.test_connection(&unseen).await.unwrap_err().status(),
        Some(404)
    );
    assert_eq!(
        mia.set_application(&unseen, None, None)
            .await
            .unwrap_err()
            .status(),
        Some(404)
    );
    let hits = env.app.hits();
    assert_eq!(hits, 1, "only the allowed test reached the application");
}
