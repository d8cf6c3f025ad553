//! `switchboard store copy --to postgres://… [--from PATH]` (issue 13): an
//! existing SQLite store moves into an empty PostgreSQL database, and its
//! credentials, tokens and logins keep working there.

use std::path::Path;
use std::process::{Command, Stdio};

use base64::Engine as _;
use serde_json::{Value, json};
use switchboard::client::Client;
use switchboard::model::{
    Application, ApplicationAuth, FlowType, IntegrationKind, NewConnection, NewIntegration, Source,
};

mod common;
use common::ServerProcess;

const OWNER_PASSWORD: &str = common::SERVE_OWNER_PASSWORD;

fn switchboard(data: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn serve(data: &Path, extra: &[&str]) -> ServerProcess {
    common::start_serve(data, extra)
}

async fn password_grant(url: &str, client_id: &str, secret: &str, user: &str, pw: &str) -> u16 {
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{client_id}:{secret}"));
    reqwest::Client::new()
        .post(format!("{url}/api/oauth/v1/token"))
        .header("authorization", format!("Basic {basic}"))
        .json(&json!({"grant_type": "password", "username": user, "password": pw}))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sqlite_store_moves_to_postgres_and_its_credentials_keep_working() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    // A SQLite store in use: connections, an integration, a token.
    let old = serve(&data, &[]);
    let admin = Client::http(&old.url, None, None, Source::Cli).unwrap();
    admin.login("alice", OWNER_PASSWORD).await.unwrap();
    let mut made = Vec::new();
    for label in ["Copied ERP", "Copied Shop", "Copied PIM"] {
        made.push(
            admin
                .create_connection(&NewConnection {
                    label: label.into(),
                    flow_type: FlowType::Source,
                    ..Default::default()
                })
                .await
                .unwrap(),
        );
    }
    admin
        .create_integration(&NewIntegration {
            code: Some("copied_integration".into()),
            name: "Copied integration".into(),
            kind: IntegrationKind::Standard,
        })
        .await
        .unwrap();
    // An application side with a secret value (R26), and one offline (R27).
    let app = common::fake_app::FakeApp::start().await;
    let shop = made[1].connection.code.clone();
    let pim = made[2].connection.code.clone();
    admin
        .set_application(
            &shop,
            Some(Application::new(
                format!("{}/bearer", app.url),
                ApplicationAuth::bearer(Some(&app.creds.token)),
            )),
            None,
        )
        .await
        .unwrap();
    assert!(admin.test_connection(&shop).await.unwrap().ok);
    admin
        .set_application(
            &pim,
            Some(Application::new(
                format!("{}/denied", app.url),
                ApplicationAuth::none(),
            )),
            None,
        )
        .await
        .unwrap();
    let failed = admin.test_connection(&pim).await.unwrap();
    assert!(!failed.ok);
    let first = &made[0];
    let basic = base64::engine::general_purpose::STANDARD
        .encode(format!("{}:{}", first.connection.client_id, first.secret));
    let r = reqwest::Client::new()
        .post(format!("{}/api/oauth/v1/token", old.url))
        .header("authorization", format!("Basic {basic}"))
        .json(&json!({"grant_type": "password",
            "username": first.connection.username, "password": first.password}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let token = r.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    old.stop();

    // Copy into an empty PostgreSQL database.
    let url = common::pg::fresh_url().await;
    let (ok, said) = switchboard(&data, &["store", "copy", "--to", &url]);
    assert!(ok, "{said}");
    assert!(said.contains("connections"), "{said}");
    assert!(said.contains("3 row(s)"), "{said}");
    // Not twice: the target now holds data.
    let (ok, again) = switchboard(&data, &["store", "copy", "--to", &url]);
    assert!(!ok, "{again}");
    assert!(again.contains("not empty"), "{again}");

    // Served from PostgreSQL with the same key file: everything works.
    let new = serve(&data, &["--database", &url]);
    let admin = Client::http(&new.url, None, None, Source::Cli).unwrap();
    admin.login("alice", OWNER_PASSWORD).await.unwrap();
    let listed = admin.list_connections().await.unwrap();
    assert_eq!(listed.len(), 3);
    assert!(admin.get_integration("copied_integration").await.is_ok());
    for m in &made {
        assert_eq!(
            password_grant(
                &new.url,
                &m.connection.client_id,
                &m.secret,
                &m.connection.username,
                &m.password
            )
            .await,
            200,
            "{}",
            m.connection.code
        );
        let revealed = admin.reveal_secret(&m.connection.code).await.unwrap();
        assert_eq!(revealed.secret, m.secret);
    }
    // The application's secret value came along, still encrypted under the
    // same key file: the test authenticates with it. The offline flag too.
    let copied = admin.get_connection(&shop).await.unwrap();
    assert_eq!(
        copied.application.unwrap().auth,
        ApplicationAuth::bearer(Some(switchboard::model::SECRET_MASK))
    );
    assert!(admin.test_connection(&shop).await.unwrap().ok);
    let offline = admin.list_offline_connections().await.unwrap();
    assert_eq!(offline.len(), 1);
    assert_eq!(offline[0].code, pim);
    assert_eq!(
        offline[0].offline_reason.as_deref(),
        Some(failed.message.as_str())
    );
    // The token issued on SQLite still answers.
    let r = reqwest::Client::new()
        .get(format!("{}/api/rest/v1", new.url))
        .header("authorization", format!("Bearer {token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // New rows get new ids (the identity columns go on after the copied).
    admin
        .create_connection(&NewConnection {
            label: "Made After The Copy".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(admin.list_connections().await.unwrap().len(), 4);
    new.stop();
}

/// Issue 16: a product's groups, parent and (quantified) associations are
/// columns of its row: copied with it, and read back the same from
/// PostgreSQL, the linked products found by their uuids there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn products_keep_their_groups_parent_and_associations_across_a_copy() {
    use switchboard::domain::products::{
        Association, QuantifiedAssociation, QuantifiedProduct, Relations,
    };
    use switchboard::store::{Location, Lookup, ProductRow, ProductWrite, StoreError};
    let dir = tempfile::tempdir().unwrap();
    let source = common::open_store(common::Engine::Sqlite, dir.path()).await;
    let row = |identifier: &str, relations: Relations| ProductRow {
        identifier: identifier.to_string(),
        uuid: String::new(),
        enabled: true,
        family: None,
        categories: Vec::new(),
        values: ProductRow::values_from(&serde_json::Map::new()),
        created_ms: 0,
        updated_ms: 0,
        relations,
    };
    let written = source
        .write_product("parent-1", &Lookup::default(), |_, _| {
            Ok::<_, StoreError>(row("parent-1", Relations::default()))
        })
        .await
        .unwrap();
    let ProductWrite::Created(parent) = written else {
        panic!("{written:?}")
    };
    let relations = Relations {
        groups: vec!["promo".into()],
        parent: Some(parent.uuid.clone()),
        associations: [(
            "X_SELL".to_string(),
            Association {
                products: vec![parent.uuid.clone()],
                groups: vec!["summer".into()],
            },
        )]
        .into(),
        quantified: [(
            "SET".to_string(),
            QuantifiedAssociation {
                products: vec![QuantifiedProduct {
                    uuid: parent.uuid.clone(),
                    quantity: 3,
                }],
            },
        )]
        .into(),
        linked: Default::default(),
    };
    source
        .write_product("child-1", &Lookup::default(), |_, _| {
            Ok::<_, StoreError>(row("child-1", relations.clone()))
        })
        .await
        .unwrap();
    let target = common::open_at(
        &Location::Postgres(common::pg::fresh_url().await),
        dir.path(),
    )
    .await;
    source.copy_into(&target).await.unwrap();
    let original = source.product("child-1", 0).await.unwrap().unwrap();
    let copied = target.product("child-1", 0).await.unwrap().unwrap();
    assert_eq!(*copied, *original);
    assert_eq!(copied.relations.groups, relations.groups);
    assert_eq!(copied.relations.associations, relations.associations);
    assert_eq!(copied.relations.quantified, relations.quantified);
    assert_eq!(copied.relations.parent, Some(parent.uuid.clone()));
    assert_eq!(copied.relations.linked[&parent.uuid].identifier, "parent-1");
}

#[test]
fn a_copy_to_something_else_than_postgres_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, said) = switchboard(dir.path(), &["store", "copy", "--to", "/tmp/other.db"]);
    assert!(!ok);
    assert!(said.contains("--from") || said.contains("--to"), "{said}");
}
