//! PostgreSQL going away under a running `serve` (issue 13): requests get
//! 503 with a clear message (never a 500, never a hang past the connect
//! timeout), `/readyz` says not ready, and the server recovers by itself
//! once the database is back. A test binary of its own: it closes this
//! binary's whole test database to connections.

use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};
use sqlx::Connection as _;
use switchboard::client::Client;
use switchboard::model::{FlowType, NewConnection, Source};

mod common;

const OWNER_PASSWORD: &str = common::SERVE_OWNER_PASSWORD;

/// Runs statements on the server's maintenance database.
async fn admin_sql(statements: &[String]) {
    let mut c = sqlx::PgConnection::connect(&common::pg::server_url())
        .await
        .unwrap();
    for s in statements {
        sqlx::query(s).execute(&mut c).await.unwrap();
    }
    c.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_get_503_while_postgres_is_away_and_the_server_recovers_by_itself() {
    let dir = tempfile::tempdir().unwrap();
    let database = common::pg::fresh_url().await;
    let server = common::start_serve(
        dir.path(),
        &["--database", &database, "--db-connect-timeout", "1"],
    );
    let url = server.url.clone();
    let http = reqwest::Client::new();
    let admin = Client::http(&url, None, None, Source::Cli).unwrap();
    admin.login("alice", OWNER_PASSWORD).await.unwrap();
    let made = admin
        .create_connection(&NewConnection {
            label: "Outage App".into(),
            flow_type: FlowType::Source,
            ..Default::default()
        })
        .await
        .unwrap();
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{}", made.connection.client_id, made.secret))
    );
    let grant = || {
        http.post(format!("{url}/api/oauth/v1/token"))
            .header("authorization", basic.clone())
            .json(&json!({"grant_type": "password",
                "username": made.connection.username, "password": made.password}))
            .send()
    };
    let r = grant().await.unwrap();
    assert_eq!(r.status(), 200);
    let token = r.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let api = || {
        http.get(format!("{url}/api/rest/v1"))
            .header("authorization", format!("Bearer {token}"))
            .send()
    };
    assert_eq!(api().await.unwrap().status(), 200);

    // PostgreSQL goes away: no new connection, the server's own cut.
    let db = common::pg::database_name();
    admin_sql(&[
        format!("ALTER DATABASE \"{db}\" ALLOW_CONNECTIONS false"),
        format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
             WHERE datname = '{db}' AND application_name = 'switchboard'"
        ),
    ])
    .await;
    let started = Instant::now();
    // The Web API, the token endpoint, the admin API and readiness all say
    // 503 with a message; liveness still answers.
    let r = api().await.unwrap();
    assert_eq!(r.status(), 503);
    let body: Value = r.json().await.unwrap();
    assert!(
        body["message"].as_str().unwrap().contains("unavailable"),
        "{body}"
    );
    let r = grant().await.unwrap();
    assert_eq!(r.status(), 503);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "temporarily_unavailable", "{body}");
    let e = admin.list_connections().await.unwrap_err();
    assert_eq!(e.status(), Some(503), "{e}");
    assert_eq!(e.code(), Some("unavailable"));
    let r = http.get(format!("{url}/readyz")).send().await.unwrap();
    assert_eq!(r.status(), 503);
    let r = http.get(format!("{url}/healthz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    // Each answer came within the connect timeout (1 s), not after a hang.
    assert!(started.elapsed() < Duration::from_secs(15));

    // Back: the server recovers without a restart.
    admin_sql(&[format!("ALTER DATABASE \"{db}\" ALLOW_CONNECTIONS true")]).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if api().await.unwrap().status() == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "the server did not recover");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(grant().await.unwrap().status(), 200);
    assert!(admin.list_connections().await.is_ok());
    let r = http.get(format!("{url}/readyz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    server.stop();
}
