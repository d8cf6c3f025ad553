//! The server's request log: a request id per request, and never a token,
//! a password or an `Authorization` header.

use std::sync::Arc;

use switchboard::client::Client;
use switchboard::model::{NewConnection, Source};
use switchboard::server::serve;
use switchboard::service::Service;
use switchboard::store::{Store, sqlite_paths};

mod common;
use common::Captured;

#[test]
fn request_logs_carry_ids_and_no_credentials() {
    let captured = Captured::default();
    let subscriber = captured.subscriber();
    // One thread: the server's tasks log through this test's subscriber.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let password = "correct horse battery";
    let (token, created) = tracing::subscriber::with_default(subscriber, || {
        rt.block_on(async {
            let (db, key) = sqlite_paths(dir.path());
            let store = Store::open_sqlite(&db, &key).await.unwrap();
            let service = Arc::new(Service::new(store));
            service
                .prepare_owner(Some("alice"), Some(password.to_string().into()))
                .await
                .unwrap();
            let running = serve::start(service, "127.0.0.1:0".parse().unwrap(), None)
                .await
                .unwrap();
            let client = Client::http(
                &format!("http://{}", running.addr()),
                None,
                None,
                Source::Cli,
            )
            .unwrap();
            let session = client.login("alice", password).await.unwrap();
            let created = client
                .create_connection(&NewConnection {
                    label: "Logged Remote".into(),
                    ..Default::default()
                })
                .await
                .unwrap();
            client.list_connections().await.unwrap();
            running.shutdown().await.unwrap();
            (session.token, created)
        })
    });
    let log = captured.text();
    assert!(
        log.contains("path=/api/v1/connections"),
        "requests are logged:\n{log}"
    );
    assert!(
        log.contains("request{id="),
        "each request has an id:\n{log}"
    );
    for secret in [token.as_str(), password, &created.password, &created.secret] {
        assert!(!log.contains(secret), "a credential reached the log");
    }
    assert!(
        !log.to_lowercase().contains("bearer "),
        "no Authorization header in the log"
    );
}

/// Issue 14: what a client sends is quoted and escaped in the log and
/// bounded before it is logged or stored. A newline in a username cannot
/// forge a log line; a huge username is refused with 400 naming the field,
/// and leaves no log line and no database row of its size.
#[test]
fn a_username_cannot_forge_a_log_line_and_a_huge_one_is_refused() {
    let captured = Captured::default();
    let subscriber = captured.subscriber();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (db, key) = sqlite_paths(dir.path());
    let statuses = tracing::subscriber::with_default(subscriber, || {
        rt.block_on(async {
            let store = Store::open_sqlite(&db, &key).await.unwrap();
            let service = Arc::new(Service::new(store));
            service
                .prepare_owner(Some("alice"), Some("correct horse battery".into()))
                .await
                .unwrap();
            let running = serve::start(service, "127.0.0.1:0".parse().unwrap(), None)
                .await
                .unwrap();
            let url = format!("http://{}/api/v1/session", running.addr());
            let http = reqwest::Client::new();
            let mut statuses = Vec::new();
            for username in [
                "bob\n2026-01-01T00:00:00Z  INFO FORGED admin logged in".to_string(),
                "eve\u{1b}[2J\u{1b}[31mred".to_string(),
                "x".repeat(900 * 1024),
            ] {
                let r = http
                    .post(&url)
                    .json(&serde_json::json!({"username": username, "password": "whatever it is"}))
                    .send()
                    .await
                    .unwrap();
                let status = r.status().as_u16();
                let body: serde_json::Value = r.json().await.unwrap();
                statuses.push((status, body));
            }
            running.shutdown().await.unwrap();
            statuses
        })
    });
    let log = captured.text();
    assert!(
        !log.lines().any(|l| l.starts_with("2026-01-01T00:00:00Z")),
        "a forged line:\n{log}"
    );
    assert!(
        !log.contains('\u{1b}'),
        "an escape sequence reached the log"
    );
    assert!(
        log.contains("login refused: control characters in the username"),
        "the refusals are logged:\n{log}"
    );
    assert!(
        log.contains("\\n2026-01-01T00:00:00Z") && log.contains("\\u{1b}[2J"),
        "logged quoted and escaped:\n{log}"
    );
    assert!(
        log.lines().all(|l| l.len() < 2_000),
        "every log line is bounded"
    );
    // Control characters: no user name holds one, refused naming the field.
    for (status, body) in &statuses[..2] {
        assert_eq!(*status, 400, "{body}");
        assert_eq!(body["field"], "username");
    }
    assert_eq!(statuses[2].0, 400, "{}", statuses[2].1);
    assert_eq!(statuses[2].1["field"], "username");
    // Nothing of its size was stored.
    let c = rusqlite::Connection::open(&db).unwrap();
    let longest: i64 = c
        .query_row(
            "SELECT COALESCE(MAX(LENGTH(key)), 0) FROM login_failures",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(longest < 200, "{longest}");
}
