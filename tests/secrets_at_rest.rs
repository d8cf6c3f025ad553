//! Secrets at rest: after a scripted life of connections (create, tokens,
//! refresh, reveal, regenerations, revocation, a delete), a byte search of the
//! SQLite database file, its WAL, a dump of the PostgreSQL store that lived
//! the same life, and the log file (every event, every crate, TRACE) finds
//! none of the issued secrets, passwords or tokens, nor any secret value of
//! the connections' applications (R26: a password, key, token and client
//! secret set, tested against a real application, changed and removed) or
//! the access token its token endpoint issued.

use std::sync::Arc;

use base64::Engine;
use serde_json::{Value, json};
use switchboard::client::Client;
use switchboard::model::{Application, ApplicationAuth, NewConnection, Source};
use switchboard::server::serve;
use switchboard::service::Service;
use switchboard::store::{Location, PoolConfig, Store, sqlite_paths};

mod common;
use common::fake_app::{Creds, FakeApp};

const OWNER_PASSWORD: &str = "a long owner password";

fn basic(id: &str, secret: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"))
    )
}

async fn token(
    http: &reqwest::Client,
    url: &str,
    id: &str,
    secret: &str,
    body: Value,
) -> (u16, Value) {
    let r = http
        .post(format!("{url}/api/oauth/v1/token"))
        .header("authorization", basic(id, secret))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

fn files_holding(paths: &[std::path::PathBuf], needle: &str) -> Vec<String> {
    paths
        .iter()
        .filter(|p| {
            std::fs::read(p)
                .map(|bytes| bytes.windows(needle.len()).any(|w| w == needle.as_bytes()))
                .unwrap_or(false)
        })
        .map(|p| p.display().to_string())
        .collect()
}

#[test]
fn no_issued_secret_password_or_token_is_in_the_database_its_wal_or_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let log_path = dir.path().join("switchboard.log");
    let log_file = std::fs::File::create(&log_path).unwrap();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(std::sync::Mutex::new(log_file))
        .finish();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (db, key) = sqlite_paths(dir.path());
    // Global: the server's tasks, the token writer and the driver's threads
    // all log here (this file holds one test).
    tracing::subscriber::set_global_default(subscriber).unwrap();
    let pg_url = rt.block_on(common::pg::fresh_url());
    let mut secrets: Vec<String> = Vec::new();
    for (tag, location) in [
        ("lite", Location::Sqlite(db.clone())),
        ("pg", Location::Postgres(pg_url.clone())),
    ] {
        let key = key.clone();
        secrets.extend(rt.block_on(async move {
            let store = Store::open(&location, &key, PoolConfig::default())
                .await
                .unwrap();
            let svc = Arc::new(Service::new(store));
            svc.prepare_owner(Some("alice"), Some(OWNER_PASSWORD.to_string().into()))
                .await
                .unwrap();
            let running = serve::start(svc.clone(), "127.0.0.1:0".parse().unwrap(), None)
                .await
                .unwrap();
            let url = format!("http://{}", running.addr());
            let admin = Client::http(&url, None, None, Source::Cli).unwrap();
            let session = admin.login("alice", OWNER_PASSWORD).await.unwrap();
            let http = reqwest::Client::new();
            let mut issued = vec![OWNER_PASSWORD.to_string(), session.token.clone()];
            for label in ["Life One", "Life Two", "Life Three"] {
                let c = admin
                    .create_connection(&NewConnection {
                        label: label.into(),
                        ..Default::default()
                    })
                    .await
                    .unwrap();
                let (id, code, user) = (
                    c.connection.client_id.clone(),
                    c.connection.code.clone(),
                    c.connection.username.clone(),
                );
                issued.push(c.secret.clone());
                issued.push(c.password.clone());
                let grant = json!({"grant_type":"password","username":user,"password":c.password});
                let (s, t) = token(&http, &url, &id, &c.secret, grant.clone()).await;
                assert_eq!(s, 200);
                issued.push(t["access_token"].as_str().unwrap().to_string());
                issued.push(t["refresh_token"].as_str().unwrap().to_string());
                let refresh = json!({"grant_type":"refresh_token","refresh_token":t["refresh_token"]});
                let (s, t2) = token(&http, &url, &id, &c.secret, refresh).await;
                assert_eq!(s, 200);
                issued.push(t2["access_token"].as_str().unwrap().to_string());
                issued.push(t2["refresh_token"].as_str().unwrap().to_string());
                // a wrong password and a foreign username (R24)
                let bad = json!({"grant_type":"password","username":user,"password":"sbp_wrong_guess_value"});
                assert_eq!(token(&http, &url, &id, &c.secret, bad).await.0, 400);
                let foreign = json!({"grant_type":"password","username":"someone_0000","password":c.password});
                assert_eq!(token(&http, &url, &id, &c.secret, foreign).await.0, 400);
                // reveal, rotate both, get tokens with the new ones
                let revealed = admin.reveal_secret(&code).await.unwrap();
                assert_eq!(revealed.secret, c.secret);
                let s2 = admin.regenerate_secret(&code).await.unwrap();
                let p2 = admin.regenerate_password(&code).await.unwrap();
                issued.push(s2.secret.clone());
                issued.push(p2.password.clone());
                let grant = json!({"grant_type":"password","username":user,"password":p2.password});
                let (s, t3) = token(&http, &url, &id, &s2.secret, grant).await;
                assert_eq!(s, 200);
                issued.push(t3["access_token"].as_str().unwrap().to_string());
                issued.push(t3["refresh_token"].as_str().unwrap().to_string());
                let r = http
                    .post(format!("{url}/api/oauth/v1/revoke"))
                    .header("authorization", basic(&id, &s2.secret))
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(format!("token={}", t3["refresh_token"].as_str().unwrap()))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 200);
            }
            // The application side (R26): a real application for each auth
            // kind, every secret value through create, test, a change and
            // a removal.
            let app = FakeApp::start_with(Creds {
                password: format!("app-password-{tag}-3f9a2b"),
                key: format!("app-key-{tag}-7c21d0e4"),
                token: format!("app-token-{tag}-5d88a1c9"),
                client_secret: format!("app-client-secret-{tag}-91b04e"),
                access_token: format!("issued-access-token-{tag}-e4c7f2"),
                ..Creds::default()
            })
            .await;
            let cr = app.creds.clone();
            let token_url = format!("{}/token", app.url);
            for (label, path, auth) in [
                (
                    "App Basic",
                    "/basic",
                    ApplicationAuth::basic(&cr.username, Some(&cr.password)),
                ),
                (
                    "App Key",
                    "/key",
                    ApplicationAuth::api_key(&cr.header, Some(&cr.key)),
                ),
                ("App Bearer", "/bearer", ApplicationAuth::bearer(Some(&cr.token))),
                (
                    "App OAuth",
                    "/oauth",
                    ApplicationAuth::oauth2_client_credentials(
                        &token_url,
                        &cr.client_id,
                        Some(&cr.client_secret),
                        Some(&cr.scope),
                    ),
                ),
            ] {
                let c = admin
                    .create_connection(&NewConnection {
                        label: label.into(),
                        application: Some(Box::new(Application::new(
                            format!("{}{path}", app.url),
                            auth,
                        ))),
                        ..Default::default()
                    })
                    .await
                    .unwrap();
                let t = admin.test_connection(&c.connection.code).await.unwrap();
                assert!(t.ok, "{label}: {t:?}");
            }
            issued.extend(cr.secrets());
            let rotated = format!("app-key-rotated-{tag}-40aa");
            admin
                .set_application(
                    "app_key",
                    Some(Application::new(
                        format!("{}/key", app.url),
                        ApplicationAuth::api_key(&cr.header, Some(&rotated)),
                    )),
                    None,
                )
                .await
                .unwrap();
            assert!(!admin.test_connection("app_key").await.unwrap().ok);
            issued.push(rotated);
            admin.set_application("app_bearer", None, None).await.unwrap();
            admin.delete_connection("life_two").await.unwrap();
            admin.logout().await.unwrap();
            drop(running);
            svc.store().flush_monitoring().await.unwrap();
            issued
        }));
    }
    // The PostgreSQL store's whole content, as a backup would hold it.
    let schema = pg_url.rsplit("search_path%3D").next().unwrap().to_string();
    let dump = dir.path().join("postgres.sql");
    let out = std::process::Command::new("pg_dump")
        .arg(format!("--dbname={pg_url}"))
        .args(["--data-only", "--schema", &schema, "--file"])
        .arg(&dump)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(secrets.len(), 2 * (2 + 3 * 10 + 5 + 1));
    let wal = dir.path().join("switchboard.db-wal");
    assert!(wal.exists(), "the WAL is part of the search");
    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(
        log.contains("secret regenerated")
            && log.contains("/api/oauth/v1/token")
            && log.contains("application tested"),
        "the log was written at TRACE level:\n{}",
        &log[..log.len().min(2000)]
    );
    let files = [db.clone(), wal, dump.clone(), log_path];
    for s in &secrets {
        let found = files_holding(&files, s);
        assert!(found.is_empty(), "a secret value is in {found:?}");
    }
    // The search does find what is stored in clear: the codes, in both.
    assert!(!files_holding(&files[..2], "life_three").is_empty());
    assert!(!files_holding(&[dump], "life_three").is_empty());
}
