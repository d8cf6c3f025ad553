//! The token endpoint (R21), the bearer-checked Web API (R22's 401, R25),
//! regeneration and delete revoking everything at once (R6–R8, Akeneo's
//! `CheckAuthenticationSecurityEndToEnd` transposed), the wrong-credentials
//! watch (R24), per-client lockout and RFC 7009 revocation — all against a
//! real server on a loopback port, through an ordinary HTTP client.

use std::sync::Arc;

use base64::Engine as _;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use switchboard::client::Client;
use switchboard::domain::credentials::Kind;
use switchboard::model::{NewConnection, Source};
use switchboard::server::serve::{self, Running};
use switchboard::service::Service;
use switchboard::store::{Location, TestClock};
use tempfile::TempDir;

mod common;
use common::Engine;

const OWNER_PASSWORD: &str = "correct horse battery";

struct Env {
    url: String,
    /// Where the store lives, for a second instance on the same database.
    location: Location,
    clock: Arc<TestClock>,
    svc: Arc<Service>,
    admin: Client,
    http: reqwest::Client,
    _running: Running,
    _dir: TempDir,
}

/// A connection's four credentials, as its application holds them.
#[derive(Clone)]
struct App {
    code: String,
    client_id: String,
    secret: String,
    username: String,
    password: String,
}

/// One answer of the token endpoint or the Web API.
struct Answer {
    status: u16,
    headers: HeaderMap,
    raw: String,
    body: Value,
}

impl Answer {
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    fn access(&self) -> String {
        self.body["access_token"].as_str().unwrap().to_string()
    }

    fn refresh(&self) -> String {
        self.body["refresh_token"].as_str().unwrap().to_string()
    }

    /// An OAuth error answer: status, RFC code, both body shapes, no-store.
    #[track_caller]
    fn assert_error(&self, status: u16, error: &str) {
        assert_eq!(self.status, status, "{}", self.raw);
        assert_eq!(self.body["error"], error, "{}", self.raw);
        assert_eq!(self.body["code"], status, "{}", self.raw);
        assert!(!self.body["error_description"].as_str().unwrap().is_empty());
        assert_eq!(self.body["message"], self.body["error_description"]);
        assert_eq!(self.header("cache-control"), "no-store");
        if error == "invalid_client" {
            assert!(
                self.header("www-authenticate").starts_with("Basic realm="),
                "{:?}",
                self.headers
            );
        }
    }

    /// A Web API 401: RFC 6750 header and the `{code, message}` body.
    #[track_caller]
    fn assert_invalid_token(&self, message: &str) {
        assert_eq!(self.status, 401, "{}", self.raw);
        assert!(
            self.header("www-authenticate")
                .contains("Bearer realm=\"switchboard\", error=\"invalid_token\""),
            "{:?}",
            self.headers
        );
        assert_eq!(self.body["code"], 401);
        assert!(
            self.body["message"].as_str().unwrap().contains(message),
            "{}",
            self.raw
        );
    }
}

async fn env(engine: Engine) -> Env {
    env_limited(engine, 1_000, 1_000).await
}

/// A server whose clients may be issued `per_second` tokens (burst `burst`).
async fn env_limited(engine: Engine, per_second: u32, burst: u32) -> Env {
    env_with(engine, |svc| svc.with_token_limit(per_second, burst)).await
}

/// A server whose service `configure` sets up (limits, caps).
async fn env_with(engine: Engine, configure: impl FnOnce(Service) -> Service) -> Env {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(TestClock::default());
    let location = common::location(engine, dir.path()).await;
    let store = common::open_at(&location, dir.path())
        .await
        .with_clock(clock.clone());
    let svc = Arc::new(configure(
        Service::new(store).with_token_limit(1_000, 1_000),
    ));
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
        location,
        clock,
        svc,
        admin,
        http: reqwest::Client::new(),
        _running: running,
        _dir: dir,
    }
}

fn basic(id: &str, secret: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"))
    )
}

impl Env {
    async fn app(&self, label: &str) -> App {
        let created = self
            .admin
            .create_connection(&NewConnection {
                label: label.into(),
                ..Default::default()
            })
            .await
            .unwrap();
        App {
            code: created.connection.code,
            client_id: created.connection.client_id,
            secret: created.secret,
            username: created.connection.username,
            password: created.password,
        }
    }

    /// POSTs to `path` with an optional Content-Type and Authorization.
    async fn post(
        &self,
        path: &str,
        content_type: Option<&str>,
        authorization: Option<String>,
        body: impl Into<reqwest::Body>,
    ) -> Answer {
        let mut req = self.http.post(format!("{}{path}", self.url)).body(body);
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        if let Some(a) = authorization {
            req = req.header("authorization", a);
        }
        answer(req.send().await.unwrap()).await
    }

    /// The password grant, as JSON with HTTP Basic.
    async fn password_grant(&self, app: &App) -> Answer {
        self.grant(&app.client_id, &app.secret, &app.username, &app.password)
            .await
    }

    async fn grant(&self, client_id: &str, secret: &str, username: &str, password: &str) -> Answer {
        let body = json!({"grant_type": "password", "username": username, "password": password});
        self.post(
            "/api/oauth/v1/token",
            Some("application/json"),
            Some(basic(client_id, secret)),
            body.to_string(),
        )
        .await
    }

    async fn refresh_grant(&self, client_id: &str, secret: &str, refresh: &str) -> Answer {
        let body = json!({"grant_type": "refresh_token", "refresh_token": refresh});
        self.post(
            "/api/oauth/v1/token",
            Some("application/json"),
            Some(basic(client_id, secret)),
            body.to_string(),
        )
        .await
    }

    /// `GET path` with an optional bearer token.
    async fn get(&self, path: &str, token: Option<&str>) -> Answer {
        let mut req = self.http.get(format!("{}{path}", self.url));
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        answer(req.send().await.unwrap()).await
    }

    async fn token_rows(&self, code: &str) -> u64 {
        self.svc.store().token_rows(code).await.unwrap()
    }
}

/// (what, content type, authorization, body, status, error)
type Case<'a> = (
    &'a str,
    Option<&'a str>,
    Option<String>,
    String,
    u16,
    &'a str,
);

async fn answer(resp: reqwest::Response) -> Answer {
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let raw = resp.text().await.unwrap();
    let body = serde_json::from_str(&raw).unwrap_or(Value::Null);
    Answer {
        status,
        headers,
        raw,
        body,
    }
}

#[rstest::rstest]
#[tokio::test]
async fn r21_password_grant_answers_the_pim_shape_with_json_or_form_and_basic_or_body_auth(
    #[values(Engine::Sqlite, Engine::Postgres)] engine: Engine,
) {
    let env = env(engine).await;
    let app = env.app("Magento Shop").await;
    let form = format!(
        "grant_type=password&username={}&password={}",
        app.username, app.password
    );
    let form_in_body = format!(
        "{form}&client_id={}&client_secret={}",
        app.client_id, app.secret
    );
    let json_in_body = json!({
        "grant_type": "password", "username": app.username, "password": app.password,
        "client_id": app.client_id, "client_secret": app.secret,
    })
    .to_string();
    let auth = || Some(basic(&app.client_id, &app.secret));
    let answers = [
        env.password_grant(&app).await,
        env.post(
            "/api/oauth/v1/token",
            Some("application/x-www-form-urlencoded"),
            auth(),
            form.clone(),
        )
        .await,
        env.post(
            "/api/oauth/v1/token",
            Some("application/x-www-form-urlencoded; charset=UTF-8"),
            None,
            form_in_body,
        )
        .await,
        env.post(
            "/api/oauth/v1/token",
            Some("application/json; charset=utf-8"),
            None,
            json_in_body,
        )
        .await,
    ];
    let mut seen = std::collections::HashSet::new();
    for a in &answers {
        assert_eq!(a.status, 200, "{}", a.raw);
        assert_eq!(a.header("cache-control"), "no-store");
        assert_eq!(a.header("pragma"), "no-cache");
        // The exact shape PIM API clients parse, in its order.
        assert!(a.raw.starts_with("{\"access_token\":\"sba_"), "{}", a.raw);
        let keys: Vec<&String> = a.body.as_object().unwrap().keys().collect();
        assert_eq!(keys.len(), 5, "{}", a.raw);
        assert_eq!(a.body["expires_in"], 3600);
        assert_eq!(a.body["token_type"], "bearer");
        assert!(a.body["scope"].is_null() && a.body.get("scope").is_some());
        assert!(Kind::AccessToken.is_well_formed(&a.access()));
        assert!(Kind::RefreshToken.is_well_formed(&a.refresh()));
        assert!(seen.insert(a.access()) && seen.insert(a.refresh()));
        let root = env.get("/api/rest/v1", Some(&a.access())).await;
        assert_eq!(root.status, 200, "{}", root.raw);
        assert_eq!(root.body["connection"]["code"], app.code);
    }
    assert_eq!(env.token_rows(&app.code).await, 8);
}

#[rstest::rstest]
#[tokio::test]
async fn r21_every_error_has_its_rfc_status_code_and_both_body_shapes(
    #[values(Engine::Sqlite, Engine::Postgres)] engine: Engine,
) {
    let env = env(engine).await;
    let app = env.app("Table App").await;
    let other = env.app("Other App").await;
    let other_tokens = env.password_grant(&other).await;
    let mine = env.password_grant(&app).await;
    let auth = Some(basic(&app.client_id, &app.secret));
    let pw = |u: &str, p: &str| {
        json!({"grant_type": "password", "username": u, "password": p}).to_string()
    };
    let refresh = |t: &str| json!({"grant_type": "refresh_token", "refresh_token": t}).to_string();
    let json_ct = Some("application/json");
    let form_ct = Some("application/x-www-form-urlencoded");
    // (what, content type, authorization, body, status, error)
    let cases: Vec<Case> = vec![
        (
            "no content type",
            None,
            auth.clone(),
            pw(&app.username, &app.password),
            415,
            "invalid_request",
        ),
        (
            "xml",
            Some("application/xml"),
            auth.clone(),
            "<x/>".into(),
            415,
            "invalid_request",
        ),
        (
            "oversized",
            json_ct,
            auth.clone(),
            format!("{{\"grant_type\":\"{}\"}}", "x".repeat(5000)),
            413,
            "invalid_request",
        ),
        (
            "not json",
            json_ct,
            auth.clone(),
            "{grant_type".into(),
            400,
            "invalid_request",
        ),
        (
            "json array",
            json_ct,
            auth.clone(),
            "[]".into(),
            400,
            "invalid_request",
        ),
        (
            "number field",
            json_ct,
            auth.clone(),
            "{\"grant_type\":\"password\",\"username\":5}".into(),
            400,
            "invalid_request",
        ),
        (
            "duplicate form field",
            form_ct,
            auth.clone(),
            "grant_type=password&grant_type=password".into(),
            400,
            "invalid_request",
        ),
        (
            "no grant_type",
            json_ct,
            auth.clone(),
            "{}".into(),
            400,
            "invalid_request",
        ),
        (
            "unknown grant_type",
            json_ct,
            auth.clone(),
            "{\"grant_type\":\"client_credentials\"}".into(),
            400,
            "unsupported_grant_type",
        ),
        (
            "no client authentication",
            json_ct,
            None,
            pw(&app.username, &app.password),
            401,
            "invalid_client",
        ),
        (
            "unknown client id",
            json_ct,
            Some(basic("sbc_nobody", &app.secret)),
            pw(&app.username, &app.password),
            401,
            "invalid_client",
        ),
        (
            "wrong secret",
            json_ct,
            Some(basic(&app.client_id, &other.secret)),
            pw(&app.username, &app.password),
            401,
            "invalid_client",
        ),
        (
            "Basic not base64",
            json_ct,
            Some("Basic !!!".into()),
            pw(&app.username, &app.password),
            400,
            "invalid_request",
        ),
        (
            "Basic without a colon",
            json_ct,
            Some(format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode("abc")
            )),
            pw(&app.username, &app.password),
            400,
            "invalid_request",
        ),
        (
            "Bearer instead of Basic",
            json_ct,
            Some("Bearer abc".into()),
            pw(&app.username, &app.password),
            401,
            "invalid_client",
        ),
        (
            "two client authentications naming two clients",
            form_ct,
            auth.clone(),
            format!(
                "grant_type=password&username={}&password={}&client_id={}&client_secret={}",
                app.username, app.password, other.client_id, other.secret
            ),
            400,
            "invalid_request",
        ),
        (
            "Basic and a body client_id of another client",
            json_ct,
            auth.clone(),
            json!({"grant_type": "password", "username": app.username,
                "password": app.password, "client_id": other.client_id})
            .to_string(),
            400,
            "invalid_request",
        ),
        (
            "Basic and the same client_id with another secret in the body",
            json_ct,
            auth.clone(),
            json!({"grant_type": "password", "username": app.username,
                "password": app.password, "client_id": app.client_id,
                "client_secret": other.secret})
            .to_string(),
            400,
            "invalid_request",
        ),
        (
            "client_id without secret",
            form_ct,
            None,
            format!("grant_type=password&client_id={}", app.client_id),
            401,
            "invalid_client",
        ),
        (
            "no username",
            json_ct,
            auth.clone(),
            json!({"grant_type": "password", "password": app.password}).to_string(),
            400,
            "invalid_request",
        ),
        (
            "no password",
            json_ct,
            auth.clone(),
            json!({"grant_type": "password", "username": app.username}).to_string(),
            400,
            "invalid_request",
        ),
        (
            "wrong password",
            json_ct,
            auth.clone(),
            pw(&app.username, &other.password),
            400,
            "invalid_grant",
        ),
        (
            "another connection's username",
            json_ct,
            auth.clone(),
            pw(&other.username, &other.password),
            400,
            "invalid_grant",
        ),
        (
            "no refresh_token",
            json_ct,
            auth.clone(),
            "{\"grant_type\":\"refresh_token\"}".into(),
            400,
            "invalid_request",
        ),
        (
            "garbage refresh token",
            json_ct,
            auth.clone(),
            refresh("sbr_garbage"),
            400,
            "invalid_grant",
        ),
        (
            "another client's refresh token",
            json_ct,
            auth.clone(),
            refresh(&other_tokens.refresh()),
            400,
            "invalid_grant",
        ),
        (
            "an access token as refresh token",
            json_ct,
            auth.clone(),
            refresh(&mine.access()),
            400,
            "invalid_grant",
        ),
    ];
    for (what, ct, authz, body, status, error) in cases {
        let a = env.post("/api/oauth/v1/token", ct, authz, body).await;
        assert_eq!(a.status, status, "{what}: {}", a.raw);
        a.assert_error(status, error);
    }
    // Wrong password and a foreign username answer exactly alike (R24).
    let wrong_pw = env
        .grant(&app.client_id, &app.secret, &app.username, &other.password)
        .await;
    let foreign = env
        .password_grant(&App {
            username: other.username.clone(),
            ..app.clone()
        })
        .await;
    assert_eq!(wrong_pw.raw, foreign.raw);
    // Other methods are not served.
    let get = env.get("/api/oauth/v1/token", None).await;
    assert_eq!(get.status, 405);
    // Nothing above issued a token or broke the good ones.
    assert_eq!(env.token_rows(&app.code).await, 2);
    assert_eq!(
        env.get("/api/rest/v1", Some(&mine.access())).await.status,
        200
    );
    assert_eq!(
        env.get("/api/rest/v1", Some(&other_tokens.access()))
            .await
            .status,
        200
    );
}

#[rstest::rstest]
#[tokio::test]
async fn r21_refresh_rotates_both_tokens_and_the_used_refresh_token_dies(
    #[values(Engine::Sqlite, Engine::Postgres)] engine: Engine,
) {
    let env = env(engine).await;
    let app = env.app("Rotating App").await;
    let first = env.password_grant(&app).await;
    let second = env
        .refresh_grant(&app.client_id, &app.secret, &first.refresh())
        .await;
    assert_eq!(second.status, 200, "{}", second.raw);
    assert_ne!(second.access(), first.access());
    assert_ne!(second.refresh(), first.refresh());
    // The used refresh token is gone; the old access token lives on until
    // it expires (as in the PIM API).
    env.refresh_grant(&app.client_id, &app.secret, &first.refresh())
        .await
        .assert_error(400, "invalid_grant");
    assert_eq!(
        env.get("/api/rest/v1", Some(&first.access())).await.status,
        200
    );
    assert_eq!(
        env.get("/api/rest/v1", Some(&second.access())).await.status,
        200
    );
    // The new refresh token works, with the secret in the form body too.
    let third = env
        .post(
            "/api/oauth/v1/token",
            Some("application/x-www-form-urlencoded"),
            None,
            format!(
                "grant_type=refresh_token&refresh_token={}&client_id={}&client_secret={}",
                second.refresh(),
                app.client_id,
                app.secret
            ),
        )
        .await;
    assert_eq!(third.status, 200, "{}", third.raw);
    // Two concurrent refreshes with one token: exactly one wins.
    let last = third.refresh();
    let (a, b) = tokio::join!(
        env.refresh_grant(&app.client_id, &app.secret, &last),
        env.refresh_grant(&app.client_id, &app.secret, &last),
    );
    let wins = [a.status, b.status].iter().filter(|s| **s == 200).count();
    assert_eq!(wins, 1, "{} / {}", a.raw, b.raw);
}

#[rstest::rstest]
#[tokio::test]
async fn r21_tokens_expire_after_one_hour_and_fourteen_days_to_the_second(
    #[values(Engine::Sqlite, Engine::Postgres)] engine: Engine,
) {
    let env = env(engine).await;
    let app = env.app("Clocked App").await;
    let t = env.password_grant(&app).await;
    env.clock.advance(chrono::Duration::seconds(3599));
    assert_eq!(env.get("/api/rest/v1", Some(&t.access())).await.status, 200);
    env.clock.advance(chrono::Duration::seconds(1));
    env.get("/api/rest/v1", Some(&t.access()))
        .await
        .assert_invalid_token("has expired");
    // The refresh token still works at 14 days minus a second…
    let keep = env.password_grant(&app).await;
    env.clock
        .advance(chrono::Duration::days(14) - chrono::Duration::seconds(1));
    let renewed = env
        .refresh_grant(&app.client_id, &app.secret, &keep.refresh())
        .await;
    assert_eq!(renewed.status, 200, "{}", renewed.raw);
    // …and not at 14 days.
    let again = env.password_grant(&app).await;
    env.clock.advance(chrono::Duration::days(14));
    env.refresh_grant(&app.client_id, &app.secret, &again.refresh())
        .await
        .assert_error(400, "invalid_grant");
    // Expired rows are swept.
    assert!(env.token_rows(&app.code).await > 0);
    env.svc.sweep_expired().await.unwrap();
    assert_eq!(env.token_rows(&app.code).await, 0);
}

/// The three checks Akeneo runs after a regeneration, plus the database.
async fn assert_everything_old_is_dead(env: &Env, app: &App, old: &Answer, secret: &str) {
    env.get("/api/rest/v1", Some(&old.access()))
        .await
        .assert_invalid_token("invalid");
    env.refresh_grant(&app.client_id, secret, &old.refresh())
        .await
        .assert_error(400, "invalid_grant");
    assert_eq!(env.token_rows(&app.code).await, 0, "no token row is left");
}

#[rstest::rstest]
#[tokio::test]
async fn r6_after_a_secret_regeneration_old_tokens_old_secret_and_old_refresh_fail_at_once(
    #[values(Engine::Sqlite, Engine::Postgres)] engine: Engine,
) {
    let env = env(engine).await;
    let app = env.app("Leaky App").await;
    let bystander = env.app("Bystander").await;
    let theirs = env.password_grant(&bystander).await;
    let old = env.password_grant(&app).await;
    let _second = env.password_grant(&app).await;
    assert_eq!(env.token_rows(&app.code).await, 4);
    let regenerated = env.admin.regenerate_secret(&app.code).await.unwrap();
    assert_eq!(regenerated.client_id, app.client_id, "the client id stays");
    assert_ne!(regenerated.secret, app.secret);
    assert_eq!(regenerated.revoked_tokens, 4);
    // the old secret: invalid_client
    env.password_grant(&app)
        .await
        .assert_error(401, "invalid_client");
    assert_everything_old_is_dead(&env, &app, &old, &regenerated.secret).await;
    // the new secret works; the other connection never noticed
    let fresh = env
        .grant(
            &app.client_id,
            &regenerated.secret,
            &app.username,
            &app.password,
        )
        .await;
    assert_eq!(fresh.status, 200, "{}", fresh.raw);
    assert_eq!(
        env.get("/api/rest/v1", Some(&theirs.access())).await.status,
        200
    );
    // the audit trail has it, without the value
    let audit = env.admin.connection_audit(&app.code).await.unwrap();
    let record = audit
        .iter()
        .find(|r| r.action == "connection.secret.regenerate")
        .unwrap();
    let text = serde_json::to_string(record).unwrap();
    assert!(!text.contains(&regenerated.secret) && !text.contains(&app.secret));
}

#[rstest::rstest]
#[tokio::test]
async fn r7_after_a_password_regeneration_old_tokens_old_password_and_old_refresh_fail_at_once(
    #[values(Engine::Sqlite, Engine::Postgres)] engine: Engine,
) {
    let env = env(engine).await;
    let app = env.app("Password App").await;
    let old = env.password_grant(&app).await;
    let regenerated = env.admin.regenerate_password(&app.code).await.unwrap();
    assert_eq!(regenerated.username, app.username);
    assert_ne!(regenerated.password, app.password);
    assert!(Kind::Password.is_well_formed(&regenerated.password));
    assert_eq!(regenerated.revoked_tokens, 2);
    env.password_grant(&app)
        .await
        .assert_error(400, "invalid_grant");
    assert_everything_old_is_dead(&env, &app, &old, &app.secret).await;
    let fresh = env
        .grant(
            &app.client_id,
            &app.secret,
            &app.username,
            &regenerated.password,
        )
        .await;
    assert_eq!(fresh.status, 200, "{}", fresh.raw);
    // R4: nothing shows the new password again.
    let info = env.admin.credentials_info(&app.code).await.unwrap();
    assert!(
        !serde_json::to_string(&info)
            .unwrap()
            .contains(&regenerated.password)
    );
    assert!(info.password_rotated_at.is_some());
}

#[rstest::rstest]
#[tokio::test]
async fn r8_after_a_delete_old_tokens_secret_and_refresh_fail_and_no_row_is_left(
    #[values(Engine::Sqlite, Engine::Postgres)] engine: Engine,
) {
    let env = env(engine).await;
    let app = env.app("Doomed App").await;
    let old = env.password_grant(&app).await;
    let rows_before = env.svc.store().all_token_rows().await.unwrap();
    assert_eq!(rows_before, 2);
    env.admin.delete_connection(&app.code).await.unwrap();
    env.get("/api/rest/v1", Some(&old.access()))
        .await
        .assert_invalid_token("invalid");
    env.password_grant(&app)
        .await
        .assert_error(401, "invalid_client");
    env.refresh_grant(&app.client_id, &app.secret, &old.refresh())
        .await
        .assert_error(401, "invalid_client");
    assert_eq!(env.svc.store().all_token_rows().await.unwrap(), 0);
}

#[rstest::rstest]
#[tokio::test]
async fn r6_no_token_survives_a_regeneration_that_races_with_issuance(
    #[values(Engine::Sqlite, Engine::Postgres)] engine: Engine,
) {
    let env = Arc::new(env(engine).await);
    let app = env.app("Racing App").await;
    let mut tasks = Vec::new();
    for i in 0..40 {
        let env = env.clone();
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            if i == 20 {
                env.admin.regenerate_secret(&app.code).await.unwrap();
                None
            } else {
                Some(env.password_grant(&app).await)
            }
        }));
    }
    let mut issued = Vec::new();
    for t in tasks {
        if let Some(a) = t.await.unwrap()
            && a.status == 200
        {
            issued.push(a.access());
        }
    }
    // Every token was issued with the old secret: none may work now.
    for token in &issued {
        assert_eq!(env.get("/api/rest/v1", Some(token)).await.status, 401);
    }
    assert_eq!(env.token_rows(&app.code).await, 0);
}

#[rstest::rstest]
#[tokio::test]
async fn r24_a_foreign_username_is_refused_recorded_on_the_client_and_shown_for_seven_days(
    #[values(Engine::Sqlite, Engine::Postgres)] engine: Engine,
) {
    let env = env(engine).await;
    let a = env.app("Client A").await;
    let b = env.app("Client B").await;
    for _ in 0..2 {
        env.grant(&a.client_id, &a.secret, &b.username, &b.password)
            .await
            .assert_error(400, "invalid_grant");
    }
    let info = env.admin.credentials_info(&a.code).await.unwrap();
    assert_eq!(info.wrong_credentials.len(), 1);
    assert_eq!(info.wrong_credentials[0].username, b.username);
    assert_eq!(info.wrong_credentials[0].attempts, 2);
    assert!(
        env.admin
            .get_connection(&a.code)
            .await
            .unwrap()
            .wrong_credentials_at
            .is_some()
    );
    // recorded on A only
    assert!(
        env.admin
            .credentials_info(&b.code)
            .await
            .unwrap()
            .wrong_credentials
            .is_empty()
    );
    assert!(
        env.admin
            .get_connection(&b.code)
            .await
            .unwrap()
            .wrong_credentials_at
            .is_none()
    );
    // shown for 7 days, then no more (the admin's idle session ends meanwhile)
    env.clock.advance(chrono::Duration::days(6));
    env.admin.login("alice", OWNER_PASSWORD).await.unwrap();
    assert!(
        env.admin
            .get_connection(&a.code)
            .await
            .unwrap()
            .wrong_credentials_at
            .is_some()
    );
    env.clock.advance(chrono::Duration::days(2));
    env.admin.login("alice", OWNER_PASSWORD).await.unwrap();
    let listed = env.admin.list_connections().await.unwrap();
    assert!(listed.iter().all(|c| c.wrong_credentials_at.is_none()));
    assert!(
        env.admin
            .credentials_info(&a.code)
            .await
            .unwrap()
            .wrong_credentials
            .is_empty()
    );
}

#[rstest::rstest]
#[tokio::test]
async fn failed_token_requests_lock_the_client_on_every_instance_with_429_and_retry_after(
    #[values(Engine::Sqlite, Engine::Postgres)] engine: Engine,
) {
    let env = env(engine).await;
    let app = env.app("Guessed App").await;
    let other = env.app("Untouched App").await;
    for _ in 0..10 {
        env.grant(&app.client_id, "sbs_guess", &app.username, &app.password)
            .await
            .assert_error(401, "invalid_client");
    }
    // Locked, even with the right secret.
    let locked = env.password_grant(&app).await;
    assert_eq!(locked.status, 429, "{}", locked.raw);
    let retry: u64 = locked.header("retry-after").parse().unwrap();
    assert!((1..=900).contains(&retry), "{retry}");
    assert_eq!(locked.body["code"], 429);
    // An RFC 6749 §5.2 code (issue 14): the client is refused.
    assert_eq!(locked.body["error"], "invalid_client", "{}", locked.raw);
    // A second instance on the same database sees the same lock.
    let second = Service::new(
        common::open_at(&env.location, env._dir.path())
            .await
            .with_clock(env.clock.clone()),
    );
    let running = serve::start(Arc::new(second), "127.0.0.1:0".parse().unwrap(), None)
        .await
        .unwrap();
    let on_second = env
        .http
        .post(format!("http://{}/api/oauth/v1/token", running.addr()))
        .header("authorization", basic(&app.client_id, &app.secret))
        .header("content-type", "application/json")
        .body(
            json!({"grant_type":"password","username":app.username,"password":app.password})
                .to_string(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(on_second.status().as_u16(), 429);
    // Other clients are not affected; the lock ends.
    assert_eq!(env.password_grant(&other).await.status, 200);
    env.clock.advance(chrono::Duration::minutes(16));
    assert_eq!(env.password_grant(&app).await.status, 200);
}

#[rstest::rstest]
#[tokio::test]
async fn rfc7009_revocation_drops_a_clients_own_tokens_only(
    #[values(Engine::Sqlite, Engine::Postgres)] engine: Engine,
) {
    let env = env(engine).await;
    let app = env.app("Tidy App").await;
    let other = env.app("Other Tidy App").await;
    let auth = || Some(basic(&app.client_id, &app.secret));
    let form = Some("application/x-www-form-urlencoded");
    // an access token
    let t = env.password_grant(&app).await;
    let r = env
        .post(
            "/api/oauth/v1/revoke",
            form,
            auth(),
            format!("token={}", t.access()),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.raw);
    env.get("/api/rest/v1", Some(&t.access()))
        .await
        .assert_invalid_token("invalid");
    // a refresh token takes its access token with it
    let t = env.password_grant(&app).await;
    let keep = env.password_grant(&app).await;
    let r = env
        .post(
            "/api/oauth/v1/revoke",
            form,
            auth(),
            format!("token={}&token_type_hint=refresh_token", t.refresh()),
        )
        .await;
    assert_eq!(r.status, 200);
    env.get("/api/rest/v1", Some(&t.access()))
        .await
        .assert_invalid_token("invalid");
    env.refresh_grant(&app.client_id, &app.secret, &t.refresh())
        .await
        .assert_error(400, "invalid_grant");
    assert_eq!(
        env.get("/api/rest/v1", Some(&keep.access())).await.status,
        200
    );
    // unknown tokens are fine; another client's token is not touched
    let theirs = env.password_grant(&other).await;
    for token in ["sba_unknown".to_string(), theirs.access()] {
        let r = env
            .post(
                "/api/oauth/v1/revoke",
                form,
                auth(),
                format!("token={token}"),
            )
            .await;
        assert_eq!(r.status, 200);
    }
    assert_eq!(
        env.get("/api/rest/v1", Some(&theirs.access())).await.status,
        200
    );
    // no token, or no client: errors
    env.post("/api/oauth/v1/revoke", form, auth(), "")
        .await
        .assert_error(400, "invalid_request");
    env.post(
        "/api/oauth/v1/revoke",
        form,
        None,
        format!("token={}", keep.access()),
    )
    .await
    .assert_error(401, "invalid_client");
}

#[rstest::rstest]
#[tokio::test]
async fn r22_every_web_api_path_needs_a_valid_bearer_token(
    #[values(Engine::Sqlite, Engine::Postgres)] engine: Engine,
) {
    let env = env(engine).await;
    let app = env.app("Bearer App").await;
    let t = env.password_grant(&app).await;
    env.get("/api/rest/v1", None)
        .await
        .assert_invalid_token("Authentication is required");
    env.get("/api/rest/v1/products", None)
        .await
        .assert_invalid_token("Authentication is required");
    env.get("/api/rest/v1", Some("sba_not_a_token"))
        .await
        .assert_invalid_token("invalid");
    env.get("/api/rest/v1", Some(&t.refresh()))
        .await
        .assert_invalid_token("invalid");
    // a real token's id with another verifier (the checksum recomputed)
    let (id, _) = Kind::AccessToken.parse_token(&t.access()).unwrap();
    let guessed = Kind::AccessToken.compose_token(id, &"A".repeat(43));
    env.get("/api/rest/v1", Some(&guessed))
        .await
        .assert_invalid_token("invalid");
    // a well-formed token that was never issued
    let forged = Kind::AccessToken.generate();
    env.get("/api/rest/v1", Some(&forged))
        .await
        .assert_invalid_token("invalid");
    // a Basic header is not a bearer token
    let r = env
        .http
        .get(format!("{}/api/rest/v1", env.url))
        .header("authorization", basic(&app.client_id, &app.secret))
        .send()
        .await
        .unwrap();
    answer(r)
        .await
        .assert_invalid_token("Authentication is required");
    // the scheme is case-insensitive
    let r = env
        .http
        .get(format!("{}/api/rest/v1", env.url))
        .header("authorization", format!("bearer {}", t.access()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let root = env.get("/api/rest/v1", Some(&t.access())).await;
    assert_eq!(
        root.body["authentication"]["token"]["route"],
        "/api/oauth/v1/token"
    );
    assert_eq!(root.body["connection"]["flow_type"], "source");
    let missing = env.get("/api/rest/v1/nothing", Some(&t.access())).await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.body["code"], 404);
}

#[rstest::rstest]
#[tokio::test]
async fn r16b_no_step_and_no_web_api_activity_for_30_days_make_a_connection_stale(
    #[values(Engine::Sqlite, Engine::Postgres)] engine: Engine,
) {
    use switchboard::model::{FlowInput, FlowStep, StepKind};
    let env = env(engine).await;
    let active = env.app("Active App").await;
    let idle = env.app("Idle App").await;
    let used = env.app("Used App").await;
    env.admin
        .save_flow(
            "adhoc_flow",
            &FlowInput {
                name: "Adhoc".into(),
                integration: None,
                steps: vec![FlowStep {
                    kind: StepKind::Export,
                    connection: used.code.clone(),
                }],
                version: None,
            },
        )
        .await
        .unwrap();
    assert!(env.admin.list_stale_connections().await.unwrap().is_empty());
    env.clock.advance(chrono::Duration::days(29));
    assert_eq!(env.password_grant(&active).await.status, 200);
    env.clock.advance(chrono::Duration::days(2));
    env.admin.login("alice", OWNER_PASSWORD).await.unwrap();
    let stale: Vec<String> = env
        .admin
        .list_stale_connections()
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.code)
        .collect();
    assert_eq!(stale, vec![idle.code.clone()]);
    let all = env.admin.list_connections().await.unwrap();
    let flag = |code: &str| all.iter().find(|c| c.code == code).unwrap().clone();
    assert!(flag(&idle.code).stale);
    assert!(!flag(&active.code).stale && flag(&active.code).last_activity_at.is_some());
    assert!(!flag(&used.code).stale && flag(&used.code).in_use);
    assert!(env.admin.get_connection(&idle.code).await.unwrap().stale);
    // a bad filter value names the parameter
    let resp = env
        .admin
        .raw(http::Method::GET, "/api/v1/connections?stale=maybe", None)
        .await
        .unwrap();
    assert_eq!(resp.status, 400);
}

/// Issue 14: an unknown client id is answered exactly as a known one with a
/// wrong secret, and is locked after the same ten failures, so neither the
/// answer nor the lockout tells an attacker which client ids exist. (Both
/// take the same path: one read, a constant-time compare, a counted
/// failure; `benches/oauth.rs` measures both.)
#[rstest::rstest]
#[tokio::test]
async fn an_unknown_client_id_is_answered_as_a_wrong_secret_and_locked_alike(
    #[values(Engine::Sqlite, Engine::Postgres)] engine: Engine,
) {
    let env = env(engine).await;
    let known = env.app("Known Client").await;
    let unknown_id = "sbc_0000000000000000000000abcdef";
    let mut answers = Vec::new();
    for id in [known.client_id.as_str(), unknown_id] {
        let mut statuses = Vec::new();
        for _ in 0..11 {
            let a = env
                .grant(id, "sbs_not_the_secret", &known.username, &known.password)
                .await;
            statuses.push(a.status);
            if a.status == 401 {
                a.assert_error(401, "invalid_client");
            }
            answers.push((
                a.status,
                a.body["error"].clone(),
                a.body["error_description"].clone(),
            ));
        }
        assert_eq!(statuses[..10], [401; 10], "{id}");
        assert_eq!(
            statuses[10], 429,
            "{id}: locked after ten failures like any client"
        );
    }
    // The two sequences of answers are the same.
    assert_eq!(answers[..11], answers[11..]);
}

/// Issue 14: token issuance is limited per client (429 with Retry-After),
/// so one client cannot fill the database with tokens; other clients are
/// not affected, and the bucket refills.
#[rstest::rstest]
#[tokio::test]
async fn token_requests_are_limited_per_client(
    #[values(Engine::Sqlite, Engine::Postgres)] engine: Engine,
) {
    let env = env_limited(engine, 1, 3).await;
    let busy = env.app("Busy Client").await;
    let calm = env.app("Calm Client").await;
    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(env.password_grant(&busy).await);
    }
    assert!(statuses[..3].iter().all(|a| a.status == 200));
    let refused = &statuses[3];
    assert_eq!(refused.status, 429, "{}", refused.raw);
    let retry: u64 = refused.header("retry-after").parse().unwrap();
    assert!((1..=2).contains(&retry), "{retry}");
    assert!(
        refused.body["error_description"]
            .as_str()
            .unwrap()
            .contains("too many token requests")
    );
    // Only the refused request's tokens are missing: three pairs stored.
    assert_eq!(env.token_rows(&busy.code).await, 6);
    assert_eq!(env.password_grant(&calm).await.status, 200);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(env.password_grant(&busy).await.status, 200);
}

/// Issue 14: a connection keeps at most its cap of live tokens; issuing
/// past it revokes the oldest (its access token and refresh token stop
/// working at once), other connections keep theirs, and concurrent
/// issuances never leave more than the cap.
#[rstest::rstest]
#[tokio::test]
async fn issuing_past_the_live_token_cap_revokes_the_oldest(
    #[values(Engine::Sqlite, Engine::Postgres)] engine: Engine,
) {
    let env = env_with(engine, |svc| svc.with_live_token_cap(6)).await;
    let busy = env.app("Busy Client").await;
    let calm = env.app("Calm Client").await;
    let calm_grant = env.password_grant(&calm).await;
    let mut grants = Vec::new();
    for _ in 0..5 {
        let g = env.password_grant(&busy).await;
        assert_eq!(g.status, 200, "{}", g.raw);
        grants.push(g);
    }
    assert_eq!(env.token_rows(&busy.code).await, 6);
    for (i, g) in grants.iter().enumerate() {
        let got = env.get("/api/rest/v1", Some(&g.access())).await;
        if i < 2 {
            got.assert_invalid_token("");
            env.refresh_grant(&busy.client_id, &busy.secret, &g.refresh())
                .await
                .assert_error(400, "invalid_grant");
        } else {
            assert_eq!(got.status, 200, "grant {i}: {}", got.raw);
        }
    }
    // A refresh makes a new pair in its grant and trims the oldest again.
    let refreshed = env
        .refresh_grant(&busy.client_id, &busy.secret, &grants[4].refresh())
        .await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.raw);
    assert!(env.token_rows(&busy.code).await <= 6);
    let newest = env.get("/api/rest/v1", Some(&refreshed.access())).await;
    assert_eq!(newest.status, 200, "{}", newest.raw);
    let oldest_left = env.get("/api/rest/v1", Some(&grants[2].access())).await;
    oldest_left.assert_invalid_token("");
    // Concurrent issuances: every answer valid. SQLite's one writer keeps
    // the cap exactly; PostgreSQL statements running at the same moment
    // do not see each other's pairs, so it may hold those over the cap
    // until the next issuance trims back to it (README).
    let answers = futures::future::join_all((0..24).map(|_| env.password_grant(&busy))).await;
    assert!(answers.iter().all(|a| a.status == 200));
    let rows = env.token_rows(&busy.code).await;
    if engine == Engine::Sqlite {
        assert_eq!(rows, 6, "token rows past a cap of 6");
    }
    let last = env.password_grant(&busy).await;
    assert_eq!(env.token_rows(&busy.code).await, 6);
    assert_eq!(
        env.get("/api/rest/v1", Some(&last.access())).await.status,
        200
    );
    // The other connection's tokens were never touched.
    assert_eq!(env.token_rows(&calm.code).await, 2);
    let calm_get = env.get("/api/rest/v1", Some(&calm_grant.access())).await;
    assert_eq!(calm_get.status, 200, "{}", calm_get.raw);
}

/// Issue 16: an OAuth library's "include client id" option repeats the
/// Basic client id (and sometimes the secret) in the body: accepted when
/// both name the same client.
#[rstest::rstest]
#[tokio::test]
async fn basic_plus_the_same_client_id_in_the_body_is_accepted(
    #[values(Engine::Sqlite, Engine::Postgres)] engine: Engine,
) {
    let env = env(engine).await;
    let app = env.app("Include Id App").await;
    for body in [
        json!({"grant_type": "password", "username": app.username,
            "password": app.password, "client_id": app.client_id})
        .to_string(),
        json!({"grant_type": "password", "username": app.username,
            "password": app.password, "client_id": app.client_id,
            "client_secret": app.secret})
        .to_string(),
    ] {
        let a = env
            .post(
                "/api/oauth/v1/token",
                Some("application/json"),
                Some(basic(&app.client_id, &app.secret)),
                body,
            )
            .await;
        assert_eq!(a.status, 200, "{}", a.raw);
        assert_eq!(env.get("/api/rest/v1", Some(&a.access())).await.status, 200);
    }
    // As a form too, with a refresh.
    let first = env.password_grant(&app).await;
    let form = format!(
        "grant_type=refresh_token&refresh_token={}&client_id={}",
        first.refresh(),
        app.client_id
    );
    let refreshed = env
        .post(
            "/api/oauth/v1/token",
            Some("application/x-www-form-urlencoded"),
            Some(basic(&app.client_id, &app.secret)),
            form,
        )
        .await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.raw);
}
