//! `switchboard users grant|revoke` (R19) and `switchboard --as USERNAME`
//! (the owner opens the embedded store as another user, R18).

use std::process::Command;

use switchboard::client::Client;
use switchboard::model::{IntegrationKind, NewConnection, NewIntegration, Source};

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

#[tokio::test]
async fn r18_r19_granted_access_decides_what_a_member_sees_as_the_owner_checks_with_as() {
    let dir = tempfile::tempdir().unwrap();
    {
        let owner = Client::embedded(dir.path(), "alice", Source::Cli)
            .await
            .unwrap();
        for label in ["Seen One", "Unseen One"] {
            owner
                .create_connection(&NewConnection {
                    label: label.into(),
                    ..Default::default()
                })
                .await
                .unwrap();
        }
        owner
            .create_integration(&NewIntegration {
                name: "Orders".into(),
                code: None,
                kind: IntegrationKind::Standard,
            })
            .await
            .unwrap();
        owner
            .register("orders", &["seen_one".to_string()])
            .await
            .unwrap();
    }
    let (ok, out) = switchboard(dir.path(), &["users", "add", "mia"]);
    assert!(ok, "{out}");
    let (ok, out) = switchboard(
        dir.path(),
        &["users", "grant", "mia", "orders", "sometimes"],
    );
    assert!(!ok && out.contains("manage or monitor"), "{out}");
    let (ok, out) = switchboard(dir.path(), &["users", "grant", "mia", "orders", "monitor"]);
    assert!(
        ok && out.contains("mia now has monitor access to orders"),
        "{out}"
    );

    let as_mia = Client::embedded_as(dir.path(), "alice", "mia", Source::Cli)
        .await
        .unwrap();
    assert!(as_mia.backend().ends_with("(as mia)"));
    assert_eq!(as_mia.me().await.unwrap().username, "mia");
    let seen: Vec<String> = as_mia
        .list_connections()
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.code)
        .collect();
    assert_eq!(seen, vec!["seen_one".to_string()]);
    assert_eq!(
        as_mia
            .get_connection("unseen_one")
            .await
            .unwrap_err()
            .status(),
        Some(404)
    );
    // monitor: read-only
    assert_eq!(
        as_mia
            .reveal_secret("seen_one")
            .await
            .map(drop)
            .unwrap_err()
            .status(),
        Some(403)
    );
    drop(as_mia);

    let (ok, out) = switchboard(dir.path(), &["users", "revoke", "mia", "orders"]);
    assert!(ok, "{out}");
    let as_mia = Client::embedded_as(dir.path(), "alice", "mia", Source::Cli)
        .await
        .unwrap();
    assert!(as_mia.list_connections().await.unwrap().is_empty());
    // an unknown user is refused, naming them
    let (ok, out) = switchboard(dir.path(), &["--as", "nobody", "quota"]);
    assert!(!ok && out.contains("nobody"), "{out}");
}
