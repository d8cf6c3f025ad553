//! The store's rules for integrations, flows and registration (SPEC §4):
//! each check names the rule it proves. (The API over them comes next.)

use switchboard::model::{FlowStep, FlowType, IntegrationKind, Source, StepKind};
use switchboard::store::integrations::FlowDraft;
use switchboard::store::{Acting, ConnectionDraft, Store, StoreError};
use tempfile::TempDir;

mod common;
use common::{Engine, open_store};

const ME: Acting<'static> = Acting {
    user: "alice",
    source: Source::Cli,
};

async fn store(engine: Engine) -> (Store, TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(engine, dir.path()).await;
    for code in ["erp", "shop", "dam", "pim"] {
        store
            .create_connection(
                &ME,
                &ConnectionDraft {
                    code: code.into(),
                    label: format!("{code} connection"),
                    flow_type: FlowType::Source,
                    visual: None,
                },
            )
            .await
            .unwrap();
    }
    store
        .create_integration(&ME, "orders", "Orders", IntegrationKind::Standard)
        .await
        .unwrap();
    store
        .create_integration(&ME, "shopify_app", "Shopify App", IntegrationKind::App)
        .await
        .unwrap();
    (store, dir)
}

fn step(kind: StepKind, connection: &str) -> FlowStep {
    FlowStep {
        kind,
        connection: connection.into(),
    }
}

fn flow(code: &str, integration: Option<&str>, steps: Vec<FlowStep>) -> FlowDraft {
    FlowDraft {
        code: code.into(),
        name: format!("Flow {code}"),
        integration: integration.map(str::to_string),
        steps,
        expected_version: None,
    }
}

fn codes(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[rstest::rstest]
#[tokio::test]
async fn r12_several_connections_register_in_one_action_and_again_is_no_change(
    #[values(Engine::Sqlite, Engine::Postgres)] engine: Engine,
) {
    let (s, _d) = store(engine).await;
    let added = s
        .register(&ME, "orders", &codes(&["erp", "shop", "dam"]))
        .await
        .unwrap();
    assert_eq!(added, codes(&["erp", "shop", "dam"]));
    assert_eq!(
        s.get_integration("orders").await.unwrap().registered,
        codes(&["dam", "erp", "shop"])
    );
    let again = s
        .register(&ME, "orders", &codes(&["erp", "pim"]))
        .await
        .unwrap();
    assert_eq!(again, codes(&["pim"]));
    // one unknown code: nothing registered at all (one transaction)
    let err = s
        .register(&ME, "orders", &codes(&["nothing"]))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Missing {
                what: "connection",
                ..
            }
        ),
        "{err}"
    );
    let audit = s.audit_for("integration:orders", 10).await.unwrap();
    assert_eq!(
        audit
            .iter()
            .filter(|r| r.action == "integration.register")
            .count(),
        2
    );
}

#[rstest::rstest]
#[tokio::test]
async fn r14_saving_a_flow_registers_its_connections_and_says_which(
    #[values(Engine::Sqlite, Engine::Postgres)] engine: Engine,
) {
    let (s, _d) = store(engine).await;
    s.register(&ME, "orders", &codes(&["erp"])).await.unwrap();
    let (saved, registered) = s
        .save_flow(
            &ME,
            &flow(
                "sync",
                Some("orders"),
                vec![
                    step(StepKind::Export, "erp"),
                    step(StepKind::Import, "shop"),
                ],
            ),
        )
        .await
        .unwrap();
    assert_eq!(registered, codes(&["shop"]));
    assert_eq!(saved.steps.len(), 2);
    assert_eq!(saved.integration.as_deref(), Some("orders"));
    assert!(
        s.get_integration("orders")
            .await
            .unwrap()
            .registered
            .contains(&"shop".to_string())
    );
}

#[rstest::rstest]
#[tokio::test]
async fn r15_after_deregistration_existing_steps_stay_and_new_ones_are_refused(
    #[values(Engine::Sqlite, Engine::Postgres)] engine: Engine,
) {
    let (s, _d) = store(engine).await;
    s.save_flow(
        &ME,
        &flow("sync", Some("orders"), vec![step(StepKind::Export, "erp")]),
    )
    .await
    .unwrap();
    assert!(s.deregister(&ME, "orders", "erp").await.unwrap());
    assert!(!s.deregister(&ME, "orders", "erp").await.unwrap());
    // the existing step keeps working: saving the same flow (renamed) is fine
    let mut same = flow("sync", Some("orders"), vec![step(StepKind::Export, "erp")]);
    same.name = "Renamed".into();
    let (saved, registered) = s.save_flow(&ME, &same).await.unwrap();
    assert!(registered.is_empty(), "not registered again by itself");
    assert_eq!(saved.name, "Renamed");
    // a new step on it is refused, here or in another flow of the integration
    let more = flow(
        "sync",
        Some("orders"),
        vec![step(StepKind::Export, "erp"), step(StepKind::Import, "erp")],
    );
    let err = s.save_flow(&ME, &more).await.unwrap_err();
    assert!(err.to_string().contains("deregistered"), "{err}");
    let other = flow("other", Some("orders"), vec![step(StepKind::Export, "erp")]);
    assert!(s.save_flow(&ME, &other).await.is_err());
    // registered again, it may be used
    s.register(&ME, "orders", &codes(&["erp"])).await.unwrap();
    s.save_flow(&ME, &more).await.unwrap();
}

#[rstest::rstest]
#[tokio::test]
async fn r16_used_by_lists_every_step_with_its_flow_and_integration(
    #[values(Engine::Sqlite, Engine::Postgres)] engine: Engine,
) {
    let (s, _d) = store(engine).await;
    s.save_flow(
        &ME,
        &flow(
            "sync",
            Some("orders"),
            vec![step(StepKind::Export, "erp"), step(StepKind::Import, "erp")],
        ),
    )
    .await
    .unwrap();
    s.save_flow(
        &ME,
        &flow("adhoc", None, vec![step(StepKind::Import, "erp")]),
    )
    .await
    .unwrap();
    let used = s.used_by("erp").await.unwrap();
    assert_eq!(used.len(), 3);
    assert_eq!(used[0].flow, "adhoc");
    assert_eq!(used[0].integration, None);
    assert_eq!((used[1].position, used[1].kind), (0, StepKind::Export));
    assert_eq!(used[2].integration.as_deref(), Some("orders"));
    assert!(s.used_by("pim").await.unwrap().is_empty());
}

#[rstest::rstest]
#[tokio::test]
async fn r17_apps_refuse_registration_and_standalone_flows_register_nothing(
    #[values(Engine::Sqlite, Engine::Postgres)] engine: Engine,
) {
    let (s, _d) = store(engine).await;
    let err = s
        .register(&ME, "shopify_app", &codes(&["erp"]))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("integration app"), "{err}");
    let (_, registered) = s
        .save_flow(
            &ME,
            &flow(
                "app_flow",
                Some("shopify_app"),
                vec![step(StepKind::Export, "erp")],
            ),
        )
        .await
        .unwrap();
    assert!(registered.is_empty());
    let (_, registered) = s
        .save_flow(
            &ME,
            &flow("alone", None, vec![step(StepKind::Export, "shop")]),
        )
        .await
        .unwrap();
    assert!(registered.is_empty());
    assert!(
        s.get_integration("shopify_app")
            .await
            .unwrap()
            .registered
            .is_empty()
    );
    // attaching the standalone flow to an integration registers its connections
    let (_, registered) = s
        .save_flow(
            &ME,
            &flow(
                "alone",
                Some("orders"),
                vec![step(StepKind::Export, "shop")],
            ),
        )
        .await
        .unwrap();
    assert_eq!(registered, codes(&["shop"]));
}

#[rstest::rstest]
#[tokio::test]
async fn r8_a_connection_in_use_cannot_be_deleted_and_the_error_lists_its_users(
    #[values(Engine::Sqlite, Engine::Postgres)] engine: Engine,
) {
    let (s, _d) = store(engine).await;
    s.save_flow(
        &ME,
        &flow("sync", Some("orders"), vec![step(StepKind::Export, "erp")]),
    )
    .await
    .unwrap();
    match s.delete_connection(&ME, "erp").await.unwrap_err() {
        StoreError::InUse { message, used_by } => {
            assert_eq!(used_by.len(), 1);
            assert!(message.contains("flow sync (orders)"), "{message}");
        }
        other => panic!("{other}"),
    }
    assert!(s.get_connection("erp").await.is_ok(), "nothing deleted");
    s.delete_connection(&ME, "pim").await.unwrap();
}

#[rstest::rstest]
#[tokio::test]
async fn an_integration_with_flows_cannot_be_deleted(
    #[values(Engine::Sqlite, Engine::Postgres)] engine: Engine,
) {
    let (s, _d) = store(engine).await;
    s.save_flow(
        &ME,
        &flow("sync", Some("orders"), vec![step(StepKind::Export, "erp")]),
    )
    .await
    .unwrap();
    let err = s.delete_integration(&ME, "orders").await.unwrap_err();
    assert!(err.to_string().contains("1 flow(s)"), "{err}");
    s.save_flow(
        &ME,
        &flow("sync", None, vec![step(StepKind::Export, "erp")]),
    )
    .await
    .unwrap();
    s.delete_integration(&ME, "orders").await.unwrap();
    assert!(matches!(
        s.get_integration("orders").await.unwrap_err(),
        StoreError::Missing { .. }
    ));
    let renamed = s
        .rename_integration(&ME, "shopify_app", "Shopify")
        .await
        .unwrap();
    assert_eq!((renamed.name.as_str(), renamed.version), ("Shopify", 2));
}
