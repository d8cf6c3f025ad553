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
