//! The key ring that encrypts secrets (R5): `switchboard keyring rotate`
//! re-encrypts every secret under a new key without changing any credential;
//! a missing key file is refused rather than silently replaced.

use std::process::Command;
use std::sync::Arc;

use switchboard::client::{Client, InProcess};
use switchboard::model::{Application, ApplicationAuth, NewConnection, Source};
use switchboard::store::{Store, sqlite_paths};

const APP_TOKEN: &str = "ring-app-token-0b5e";
const APP_PASSWORD: &str = "ring-app-password-77c1";

fn switchboard(data_dir: &std::path::Path, args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

async fn client(dir: &std::path::Path) -> Client {
    Client::new(
        Arc::new(InProcess::open(dir, "alice").await.unwrap()),
        Source::Cli,
    )
}

#[tokio::test]
async fn r5_rotating_the_key_ring_reencrypts_every_secret_and_changes_no_credential() {
    let dir = tempfile::tempdir().unwrap();
    let mut created = Vec::new();
    {
        let c = client(dir.path()).await;
        for label in ["Ring One", "Ring Two", "Ring Three"] {
            created.push(
                c.create_connection(&NewConnection {
                    label: label.into(),
                    ..Default::default()
                })
                .await
                .unwrap(),
            );
        }
        // Two application secret values (R26) are under the ring too.
        c.set_application(
            "ring_one",
            Some(Application::new(
                "https://erp.example.com",
                ApplicationAuth::bearer(Some(APP_TOKEN)),
            )),
            None,
        )
        .await
        .unwrap();
        c.set_application(
            "ring_two",
            Some(Application::new(
                "https://shop.example.com",
                ApplicationAuth::basic("shop", Some(APP_PASSWORD)),
            )),
            None,
        )
        .await
        .unwrap();
    }
    let (ok, out) = switchboard(dir.path(), &["keyring", "list"]);
    assert!(ok, "{out}");
    assert!(
        out.contains("key 1    encrypts 5 secret(s)  (active)"),
        "{out}"
    );
    let (ok, out) = switchboard(dir.path(), &["keyring", "rotate"]);
    assert!(ok, "{out}");
    assert!(
        out.contains("Key 2 is now active; 5 secret(s) re-encrypted"),
        "{out}"
    );
    assert!(out.contains("key 1    encrypts 0 secret(s)"), "{out}");
    assert!(
        out.contains("key 2    encrypts 5 secret(s)  (active)"),
        "{out}"
    );
    let key_file = std::fs::read_to_string(dir.path().join("switchboard.key")).unwrap();
    assert!(key_file.contains("\nkey 1 ") && key_file.contains("\nkey 2 "));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("switchboard.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // Every secret reads back unchanged, and passwords still verify.
    let (db, key) = sqlite_paths(dir.path());
    let store = Store::open_sqlite(&db, &key).await.unwrap();
    for c in &created {
        let code = &c.connection.code;
        assert_eq!(
            secrecy::ExposeSecret::expose_secret(&store.secret_of(code).await.unwrap()),
            c.secret
        );
        assert!(store.check_password(code, &c.password).await.unwrap());
    }
    // The application secrets too, and they are under key 2 now.
    for (code, value) in [("ring_one", APP_TOKEN), ("ring_two", APP_PASSWORD)] {
        let (_, secret) = store.application_for_test(code).await.unwrap().unwrap();
        assert_eq!(
            secrecy::ExposeSecret::expose_secret(&secret.unwrap()),
            value
        );
    }
    assert_eq!(store.key_usage().await.unwrap(), vec![(2, 5)]);
    // The rotation is in the audit trail.
    let audit = store.audit_for("keyring", 10).await.unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].action, "keyring.rotate");
}

#[tokio::test]
async fn a_missing_key_file_is_refused_when_the_database_holds_secrets() {
    let dir = tempfile::tempdir().unwrap();
    {
        let c = client(dir.path()).await;
        c.create_connection(&NewConnection {
            label: "Keyed".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    }
    let (db, key) = sqlite_paths(dir.path());
    std::fs::rename(&key, dir.path().join("elsewhere.key")).unwrap();
    let err = Store::open_sqlite(&db, &key).await.unwrap_err().to_string();
    assert!(
        err.contains("key file") && err.contains("1 connection(s)"),
        "{err}"
    );
    assert!(!key.exists(), "no new key file was made");
    // Named explicitly, the moved file works.
    let (ok, out) = switchboard(
        dir.path(),
        &[
            "keyring",
            "--key-file",
            dir.path().join("elsewhere.key").to_str().unwrap(),
            "list",
        ],
    );
    assert!(ok, "{out}");
    assert!(out.contains("encrypts 1 secret(s)"), "{out}");
}
