//! Several instances on one database (issue 13, README "Several
//! instances"): two real `switchboard serve` processes, A and B, share one
//! database and one key file, and behave as one service. Each test runs on
//! PostgreSQL (a fresh schema) and on SQLite (two processes on one file on
//! one host, which is supported the same way: issue 14).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use base64::Engine as _;
use serde_json::{Value, json};
use switchboard::client::Client;
use switchboard::model::{FlowType, NewConnection, NewRole, Permission, Source};
use switchboard::store::{Location, PoolConfig, Store};
use tempfile::TempDir;

mod common;
use common::{Engine, ServerProcess};

const OWNER_PASSWORD: &str = common::SERVE_OWNER_PASSWORD;

/// Two instances on one database, and what they share.
struct Pair {
    a: ServerProcess,
    b: ServerProcess,
    database: String,
    key: PathBuf,
    dir: TempDir,
    http: reqwest::Client,
}

/// The key file every instance is given: made once, before any instance
/// starts, as an operator distributes it.
fn make_key_file(dir: &Path) -> PathBuf {
    let seed = dir.join("seed");
    let out = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .arg("--data-dir")
        .arg(&seed)
        .args(["keyring", "list"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let key = dir.join("shared.key");
    std::fs::copy(seed.join("switchboard.key"), &key).unwrap();
    key
}

/// `switchboard serve` with data directory `data` on `database` with the
/// key file `key`, started on a thread of its own (so that two start at the
/// same moment).
fn spawn(
    data: &Path,
    database: &str,
    key: &Path,
    extra: &[&str],
) -> std::thread::JoinHandle<ServerProcess> {
    let (data, database, key) = (data.to_path_buf(), database.to_string(), key.to_path_buf());
    let extra: Vec<String> = extra.iter().map(|a| a.to_string()).collect();
    std::thread::spawn(move || {
        let mut args = vec!["--database", database.as_str(), "--key-file"];
        let key = key.display().to_string();
        args.push(&key);
        args.extend(extra.iter().map(String::as_str));
        common::start_serve(&data, &args)
    })
}

fn started(h: std::thread::JoinHandle<ServerProcess>) -> ServerProcess {
    h.join().expect("the instance started")
}

/// The database two instances share: a fresh PostgreSQL schema, or one
/// SQLite file.
async fn shared_database(engine: Engine, dir: &Path) -> String {
    match common::location(engine, dir).await {
        Location::Postgres(url) => url,
        Location::Sqlite(_) => dir.join("shared.db").display().to_string(),
    }
}

/// A and B on a fresh PostgreSQL schema, started at the same moment on an
/// empty database (they migrate it once and set the owner up once).
async fn pair(engine: Engine, extra: &[&str]) -> Pair {
    let dir = tempfile::tempdir().unwrap();
    let database = shared_database(engine, dir.path()).await;
    let key = make_key_file(dir.path());
    let a = spawn(&dir.path().join("a"), &database, &key, extra);
    let b = spawn(&dir.path().join("b"), &database, &key, extra);
    let (a, b) = (started(a), started(b));
    Pair {
        a,
        b,
        database,
        key,
        dir,
        http: reqwest::Client::new(),
    }
}

/// A client logged in as the owner on `url`.
async fn admin(url: &str) -> Client {
    let c = Client::http(url, None, None, Source::Cli).unwrap();
    c.login("alice", OWNER_PASSWORD).await.unwrap();
    c
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

async fn app(admin: &Client, label: &str) -> App {
    let created = admin
        .create_connection(&NewConnection {
            label: label.into(),
            flow_type: FlowType::Source,
            ..Default::default()
        })
        .await
        .unwrap();
    App {
        code: created.connection.code.clone(),
        client_id: created.connection.client_id.clone(),
        secret: created.secret.clone(),
        username: created.connection.username.clone(),
        password: created.password.clone(),
    }
}

fn basic(id: &str, secret: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"))
    )
}

/// A password grant on `url`: status and body.
async fn grant(http: &reqwest::Client, url: &str, app: &App, password: &str) -> (u16, Value) {
    let body = json!({"grant_type": "password", "username": app.username, "password": password});
    let r = http
        .post(format!("{url}/api/oauth/v1/token"))
        .header("authorization", basic(&app.client_id, &app.secret))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn token(http: &reqwest::Client, url: &str, app: &App) -> String {
    let (status, body) = grant(http, url, app, &app.password).await;
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().unwrap().to_string()
}

/// A bearer GET: status and body.
async fn get(http: &reqwest::Client, url: &str, path: &str, token: &str) -> (u16, Value) {
    let r = http
        .get(format!("{url}{path}"))
        .header("authorization", format!("Bearer {token}"))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// A store of the test's own on the pair's database (read-only checks).
async fn store(p: &Pair) -> Store {
    Store::open(&Location::parse(&p.database), &p.key, PoolConfig::default())
        .await
        .unwrap()
}

#[rstest::rstest]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_started_together_migrate_once_and_a_credential_made_on_a_works_on_b(
    #[values(Engine::Postgres, Engine::Sqlite)] engine: Engine,
) {
    let p = pair(engine, &[]).await;
    // Both answer, ready, on the one database.
    for url in [&p.a.url, &p.b.url] {
        let r = p.http.get(format!("{url}/readyz")).send().await.unwrap();
        assert_eq!(r.status(), 200);
    }
    let on_a = admin(&p.a.url).await;
    let made = app(&on_a, "Made On A").await;
    let t = token(&p.http, &p.b.url, &made).await;
    assert_eq!(get(&p.http, &p.b.url, "/api/rest/v1", &t).await.0, 200);
    assert_eq!(get(&p.http, &p.a.url, "/api/rest/v1", &t).await.0, 200);
    // B sees what A made, and the other way round.
    let on_b = admin(&p.b.url).await;
    assert_eq!(
        on_b.get_connection(&made.code).await.unwrap().client_id,
        made.client_id
    );
    let made_on_b = app(&on_b, "Made On B").await;
    assert!(
        on_a.list_connections()
            .await
            .unwrap()
            .iter()
            .any(|c| c.code == made_on_b.code)
    );
    p.a.stop();
    p.b.stop();
}

/// Regenerating a secret on A while B issues tokens: no token issued with
/// the old secret works anywhere once A has answered, and none is stored.
#[rstest::rstest]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r6_a_secret_regenerated_on_a_races_issuance_on_b_and_no_old_token_survives(
    #[values(Engine::Postgres, Engine::Sqlite)] engine: Engine,
) {
    let p = pair(engine, &[]).await;
    let on_a = Arc::new(admin(&p.a.url).await);
    let racing = app(&on_a, "Racing App").await;
    let (a_url, b_url) = (p.a.url.clone(), p.b.url.clone());
    let mut tasks = Vec::new();
    for i in 0..40 {
        let (http, app, on_a, b_url) =
            (p.http.clone(), racing.clone(), on_a.clone(), b_url.clone());
        tasks.push(tokio::spawn(async move {
            if i == 20 {
                on_a.regenerate_secret(&app.code).await.unwrap();
                None
            } else {
                Some(grant(&http, &b_url, &app, &app.password).await)
            }
        }));
    }
    let mut issued = Vec::new();
    for t in tasks {
        if let Some((200, body)) = t.await.unwrap() {
            issued.push(body["access_token"].as_str().unwrap().to_string());
        }
    }
    for t in &issued {
        assert_eq!(get(&p.http, &b_url, "/api/rest/v1", t).await.0, 401);
        assert_eq!(get(&p.http, &a_url, "/api/rest/v1", t).await.0, 401);
    }
    assert_eq!(store(&p).await.token_rows(&racing.code).await.unwrap(), 0);
    // The old secret is refused on B at once (401, or 429 once the failed
    // requests after the regeneration locked the client).
    let (status, body) = grant(&p.http, &b_url, &racing, &racing.password).await;
    assert!(matches!(status, 401 | 429), "{status} {body}");
    p.a.stop();
    p.b.stop();
}

/// A password regenerated, a token revoked, a connection deleted, a session
/// ended on A: each is refused on B from the very next request.
#[rstest::rstest]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_a_revokes_is_refused_on_b_from_the_next_request(
    #[values(Engine::Postgres, Engine::Sqlite)] engine: Engine,
) {
    let p = pair(engine, &[]).await;
    let (a_url, b_url) = (p.a.url.clone(), p.b.url.clone());
    let on_a = admin(&a_url).await;
    let on_b = admin(&b_url).await;

    // R7: a new password on A; B refuses the old one and the old tokens.
    let one = app(&on_a, "Password App").await;
    let t = token(&p.http, &b_url, &one).await;
    let new_password = on_a.regenerate_password(&one.code).await.unwrap().password;
    assert_eq!(get(&p.http, &b_url, "/api/rest/v1", &t).await.0, 401);
    assert_eq!(grant(&p.http, &b_url, &one, &one.password).await.0, 400);
    assert_eq!(grant(&p.http, &b_url, &one, &new_password).await.0, 200);

    // RFC 7009: a token revoked on A is refused on B.
    let two = app(&on_a, "Revoked App").await;
    let t = token(&p.http, &b_url, &two).await;
    assert_eq!(get(&p.http, &b_url, "/api/rest/v1", &t).await.0, 200);
    let r = p
        .http
        .post(format!("{a_url}/api/oauth/v1/revoke"))
        .header("authorization", basic(&two.client_id, &two.secret))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("token={t}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(get(&p.http, &b_url, "/api/rest/v1", &t).await.0, 401);

    // R8: a connection deleted on A: its token and its client refused on B.
    let three = app(&on_a, "Deleted App").await;
    let t = token(&p.http, &b_url, &three).await;
    on_a.delete_connection(&three.code).await.unwrap();
    assert_eq!(get(&p.http, &b_url, "/api/rest/v1", &t).await.0, 401);
    assert_eq!(grant(&p.http, &b_url, &three, &three.password).await.0, 401);

    // A session ended on A (the same session used on B) is refused on B.
    let session = login_token(&p.http, &a_url).await;
    let me = |url: String, session: String| {
        let http = p.http.clone();
        async move {
            http.get(format!("{url}/api/v1/me"))
                .header("authorization", format!("Bearer {session}"))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(me(b_url.clone(), session.clone()).await, 200);
    let r = p
        .http
        .delete(format!("{a_url}/api/v1/session"))
        .header("authorization", format!("Bearer {session}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(me(b_url.clone(), session.clone()).await, 401);
    // A new password for a user on A ends their sessions on B too.
    let session = login_token(&p.http, &b_url).await;
    assert_eq!(me(b_url.clone(), session.clone()).await, 200);
    on_a.set_password(
        "alice",
        &switchboard::model::PasswordChange {
            password: Some(OWNER_PASSWORD.into()),
        },
    )
    .await
    .unwrap();
    assert_eq!(me(b_url.clone(), session).await, 401);
    drop(on_b);
    p.a.stop();
    p.b.stop();
}

/// A session token from `POST /api/v1/session` as the owner.
async fn login_token(http: &reqwest::Client, url: &str) -> String {
    let r = http
        .post(format!("{url}/api/v1/session"))
        .json(&json!({"username": "alice", "password": OWNER_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let body: Value = r.json().await.unwrap();
    body["token"].as_str().unwrap().to_string()
}

/// R2: creates split over A and B at once never exceed the quota.
#[rstest::rstest]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r2_the_quota_holds_exactly_under_concurrent_creates_on_both_instances(
    #[values(Engine::Postgres, Engine::Sqlite)] engine: Engine,
) {
    let p = pair(engine, &[]).await;
    let on_a = Arc::new(admin(&p.a.url).await);
    let on_b = Arc::new(admin(&p.b.url).await);
    on_a.set_max_connections(12).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..40 {
        let c = if i % 2 == 0 {
            on_a.clone()
        } else {
            on_b.clone()
        };
        tasks.push(tokio::spawn(async move {
            c.create_connection(&NewConnection {
                label: format!("Quota {i}"),
                ..Default::default()
            })
            .await
        }));
    }
    let mut made = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => made += 1,
            Err(e) => assert_eq!(e.code(), Some("quota_reached"), "{e}"),
        }
    }
    assert_eq!(made, 12);
    assert_eq!(on_b.quota().await.unwrap().count, 12);
    assert_eq!(on_a.list_connections().await.unwrap().len(), 12);
    p.a.stop();
    p.b.stop();
}

/// Failed logins and failed token requests count on both instances
/// together: the lock comes after the policy's number of failures in all.
#[rstest::rstest]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_and_token_lockouts_count_failures_from_both_instances(
    #[values(Engine::Postgres, Engine::Sqlite)] engine: Engine,
) {
    let p = pair(engine, &[]).await;
    let urls = [p.a.url.clone(), p.b.url.clone()];
    // People: 5 failures lock the username (USER_LOCKOUT).
    let on_a = admin(&urls[0]).await;
    on_a.create_user(&switchboard::model::NewUser {
        username: "bob".into(),
        kind: switchboard::model::UserKind::Member,
        password: Some("bob's long enough password".into()),
    })
    .await
    .unwrap();
    let login = |url: &str, password: &str| {
        let req = p
            .http
            .post(format!("{url}/api/v1/session"))
            .json(&json!({"username": "bob", "password": password}));
        async move { req.send().await.unwrap().status().as_u16() }
    };
    for i in 0..5 {
        assert_eq!(
            login(&urls[i % 2], "wrong password!").await,
            401,
            "failure {i}"
        );
    }
    // Locked everywhere, even with the right password.
    for url in &urls {
        assert_eq!(login(url, "bob's long enough password").await, 429);
    }
    // Clients: 10 failed token requests lock the client (CLIENT_LOCKOUT).
    let locked = app(&on_a, "Locked Client").await;
    let wrong = App {
        secret: "not the secret".into(),
        ..locked.clone()
    };
    for i in 0..10 {
        let (status, _) = grant(&p.http, &urls[i % 2], &wrong, &wrong.password).await;
        assert_eq!(status, 401, "failure {i}");
    }
    for url in &urls {
        let (status, body) = grant(&p.http, url, &locked, &locked.password).await;
        assert_eq!(status, 429, "{body}");
    }
    p.a.stop();
    p.b.stop();
}

/// A role, a category, a group or a product changed on A holds on B's
/// next request.
#[rstest::rstest]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn catalog_changes_on_a_are_seen_by_b_on_the_next_request(
    #[values(Engine::Postgres, Engine::Sqlite)] engine: Engine,
) {
    let p = pair(engine, &[]).await;
    let (a_url, b_url) = (p.a.url.clone(), p.b.url.clone());
    let on_a = admin(&a_url).await;
    on_a.create_role(&NewRole {
        code: "editor".into(),
        label: "Editor".into(),
        permissions: vec![
            Permission::ApiAccess,
            Permission::ProductsList,
            Permission::ProductsEdit,
        ],
    })
    .await
    .unwrap();
    let writer = app(&on_a, "Writer").await;
    on_a.set_connection_permissions(&writer.code, Some("editor"), None)
        .await
        .unwrap();
    let t = token(&p.http, &b_url, &writer).await;
    let product = json!({"identifier": "shared-1", "values": {
        "name": [{"locale": null, "scope": null, "data": "First"}]}});
    let r = p
        .http
        .post(format!("{a_url}/api/rest/v1/products"))
        .header("authorization", format!("Bearer {t}"))
        .json(&product)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let (status, body) = get(&p.http, &b_url, "/api/rest/v1/products/shared-1", &t).await;
    assert_eq!(status, 200);
    assert_eq!(body["values"]["name"][0]["data"], "First");
    // A product changed on A: B serves the new value at once.
    let r = p
        .http
        .patch(format!("{a_url}/api/rest/v1/products/shared-1"))
        .header("authorization", format!("Bearer {t}"))
        .json(&json!({"values": {"name": [{"locale": null, "scope": null, "data": "Second"}]}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204, "{}", r.text().await.unwrap());
    let (_, body) = get(&p.http, &b_url, "/api/rest/v1/products/shared-1", &t).await;
    assert_eq!(body["values"]["name"][0]["data"], "Second");
    // A role changed on A: B refuses the listing on the next request.
    assert_eq!(
        get(&p.http, &b_url, "/api/rest/v1/products", &t).await.0,
        200
    );
    on_a.set_role_permissions("editor", &[Permission::ApiAccess])
        .await
        .unwrap();
    assert_eq!(
        get(&p.http, &b_url, "/api/rest/v1/products", &t).await.0,
        403
    );
    on_a.set_role_permissions("editor", &[Permission::ApiAccess, Permission::ProductsList])
        .await
        .unwrap();
    assert_eq!(
        get(&p.http, &b_url, "/api/rest/v1/products", &t).await.0,
        200
    );
    // A category and a group on A: a product classified in it disappears
    // from B for a connection whose group may not view it.
    on_a.create_category(&switchboard::model::NewCategory {
        code: "secret_stuff".into(),
        label: "Secret stuff".into(),
        parent: None,
    })
    .await
    .unwrap();
    on_a.create_group(&switchboard::model::NewGroup {
        code: "nothing".into(),
        label: "Nothing".into(),
        permissions: Vec::new(),
    })
    .await
    .unwrap();
    let r = p
        .http
        .patch(format!("{a_url}/api/rest/v1/products/shared-1"))
        .header("authorization", format!("Bearer {t}"))
        .json(&json!({"categories": ["secret_stuff"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "the role no longer edits");
    on_a.set_role_permissions(
        "editor",
        &[
            Permission::ApiAccess,
            Permission::ProductsList,
            Permission::ProductsEdit,
        ],
    )
    .await
    .unwrap();
    let r = p
        .http
        .patch(format!("{a_url}/api/rest/v1/products/shared-1"))
        .header("authorization", format!("Bearer {t}"))
        .json(&json!({"categories": ["secret_stuff"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204, "{}", r.text().await.unwrap());
    assert_eq!(
        get(&p.http, &b_url, "/api/rest/v1/products/shared-1", &t)
            .await
            .0,
        200
    );
    on_a.set_connection_permissions(&writer.code, None, Some("nothing"))
        .await
        .unwrap();
    assert_eq!(
        get(&p.http, &b_url, "/api/rest/v1/products/shared-1", &t)
            .await
            .0,
        404
    );
    p.a.stop();
    p.b.stop();
}

/// R23: calls counted on A and on B add up exactly once both have written.
#[rstest::rstest]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn monitoring_counts_from_both_instances_add_up_exactly(
    #[values(Engine::Postgres, Engine::Sqlite)] engine: Engine,
) {
    let p = pair(engine, &[]).await;
    let on_a = admin(&p.a.url).await;
    let counted = app(&on_a, "Counted App").await;
    let t = token(&p.http, &p.a.url, &counted).await;
    let (mut on_a_calls, mut on_b_calls) = (0, 0);
    for i in 0..37 {
        let url = if i % 3 == 0 { &p.b.url } else { &p.a.url };
        let (status, _) = get(&p.http, url, "/api/rest/v1/products/none-such", &t).await;
        assert_eq!(status, 404);
        if i % 3 == 0 {
            on_b_calls += 1;
        } else {
            on_a_calls += 1;
        }
    }
    // Graceful stops write what each counted.
    let Pair {
        a,
        b,
        database,
        key,
        dir,
        ..
    } = p;
    a.stop();
    b.stop();
    let s = Store::open(&Location::parse(&database), &key, PoolConfig::default())
        .await
        .unwrap();
    let today = chrono::Utc::now().timestamp_millis() / 86_400_000;
    let days = s
        .monitoring_days(Some(&counted.code), today - 1, today)
        .await
        .unwrap();
    let errors: u64 = days.iter().map(|d| d.counts.business_errors).sum();
    assert_eq!(errors, on_a_calls + on_b_calls);
    drop(dir);
}

/// `keyring rotate` while both run: from the moment it answers no
/// instance encrypts with the old key; an instance whose key file was not
/// updated refuses to write until it is.
#[rstest::rstest]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keyring_rotate_is_picked_up_by_every_instance(
    #[values(Engine::Postgres, Engine::Sqlite)] engine: Engine,
) {
    let dir = tempfile::tempdir().unwrap();
    let database = shared_database(engine, dir.path()).await;
    let key = make_key_file(dir.path());
    // B has a copy of the key file on its own host.
    let b_key = dir.path().join("b.key");
    std::fs::copy(&key, &b_key).unwrap();
    let a = started(spawn(&dir.path().join("a"), &database, &key, &[]));
    let b = started(spawn(&dir.path().join("b"), &database, &b_key, &[]));
    let on_a = admin(&a.url).await;
    let on_b = admin(&b.url).await;
    app(&on_a, "Before One").await;
    app(&on_b, "Before Two").await;
    let out = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .arg("--data-dir")
        .arg(dir.path().join("cli"))
        .args(["keyring", "rotate", "--database", &database])
        .arg("--key-file")
        .arg(&key)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{out:?}");
    assert!(said.contains("Key 2 is now active; 2 secret(s)"), "{said}");
    // A (same key file) encrypts with key 2 at once.
    let after = app(&on_a, "After On A").await;
    // B's copy lacks key 2: it refuses to encrypt rather than use key 1.
    let refused = on_b
        .create_connection(&NewConnection {
            label: "After On B".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(refused.status(), Some(503), "{refused}");
    assert!(refused.to_string().contains("key"), "{refused}");
    let regenerate = on_b.regenerate_secret(&after.code).await.unwrap_err();
    assert_eq!(regenerate.status(), Some(503));
    // The rotated file copied to B's host: B picks it up by itself.
    std::fs::copy(&key, &b_key).unwrap();
    let on_b_now = app(&on_b, "After On B").await;
    let s = Store::open(&Location::parse(&database), &key, PoolConfig::default())
        .await
        .unwrap();
    assert_eq!(s.key_usage().await.unwrap(), vec![(2, 4)]);
    // Every secret reads back on both instances.
    for (client, code) in [(&on_a, &on_b_now.code), (&on_b, &after.code)] {
        let revealed = client.reveal_secret(code).await.unwrap();
        assert!(!revealed.secret.is_empty());
    }
    a.stop();
    b.stop();
}

/// The Web API rate limit is per instance (README): a connection past its
/// limit on A still gets answers from B.
#[rstest::rstest]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rate_limit_is_per_instance(
    #[values(Engine::Postgres, Engine::Sqlite)] engine: Engine,
) {
    let p = pair(engine, &["--rate-limit", "1", "--rate-burst", "3"]).await;
    let on_a = admin(&p.a.url).await;
    let limited = app(&on_a, "Limited App").await;
    let t = token(&p.http, &p.a.url, &limited).await;
    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(get(&p.http, &p.a.url, "/api/rest/v1", &t).await.0);
    }
    assert!(statuses.contains(&429), "{statuses:?}");
    assert_eq!(get(&p.http, &p.b.url, "/api/rest/v1", &t).await.0, 200);
    p.a.stop();
    p.b.stop();
}
