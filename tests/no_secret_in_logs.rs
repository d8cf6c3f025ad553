//! Secrets never reach a log: every event of a create, an edit and a delete,
//! at TRACE level and from every crate (sqlx included), is captured and
//! searched for the secret and the password.

use std::io::Write;
use std::sync::{Arc, Mutex};

use switchboard::client::{Client, InProcess};
use switchboard::model::{ConnectionPatch, NewConnection, Source};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn secrets_never_reach_the_log() {
    let captured = Captured::default();
    let sink = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || sink.clone())
        .finish();
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
    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
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
