//! Secrets never reach a log: every event of a create, an edit and a delete,
//! at TRACE level and from every crate (sqlx included), is captured and
//! searched for the secret and the password.

use std::sync::Arc;

use switchboard::client::{Client, InProcess};
use switchboard::model::{ConnectionPatch, NewConnection, Source};

mod common;
use common::Captured;

#[test]
fn secrets_never_reach_the_log() {
    let captured = Captured::default();
    let subscriber = captured.subscriber();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let created = tracing::subscriber::with_default(subscriber, || {
        rt.block_on(async {
            let t = InProcess::open(dir.path(), "alice").await.unwrap();
            let client = Client::new(Arc::new(t), Source::Tui);
            let created = client
                .create_connection(&NewConnection {
                    label: "Logged App".into(),
                    ..Default::default()
                })
                .await
                .unwrap();
            client
                .update_connection(
                    "logged_app",
                    &ConnectionPatch {
                        label: Some("Logged App 2".into()),
                        ..Default::default()
                    },
                )
                .await
                .unwrap();
            client.list_connections().await.unwrap();
            client.delete_connection("logged_app").await.unwrap();
            created
        })
    });
    let log = captured.text();
    assert!(
        log.contains("connection created"),
        "the log was captured:\n{log}"
    );
    assert!(
        !log.contains(&created.password),
        "the password is in the log"
    );
    assert!(!log.contains(&created.secret), "the secret is in the log");
}
