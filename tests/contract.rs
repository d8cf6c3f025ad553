//! Contract tests: every endpoint driven through a `Client`. Each check is a
//! function of a `Backend`, so the HTTP transport (next issue) runs the same
//! suite by adding one constructor.

use std::sync::Arc;
use strum::VariantArray;

use bytes::Bytes;
use http::Method;
use serde_json::{Value, json};
use switchboard::client::{Client, ClientError, InProcess};
use switchboard::domain::credentials::Kind;
use switchboard::model::{
    AccessLevel, ConnectionPatch, FlowInput, FlowStep, FlowType, IntegrationKind, NewConnection,
    NewIntegration, NewUser, Source, StepKind, UserKind,
};
use switchboard::server::serve::{self, Running};
use switchboard::service::Actor;
use switchboard::service::Service;
use switchboard::store::{Store, TestClock};
use tempfile::TempDir;

mod common;
use common::Engine;

struct Backend {
    client: Client,
    service: Arc<Service>,
    dir: TempDir,
    /// The store's clock, which tests move forward.
    clock: Arc<TestClock>,
    /// The server, for the HTTP runs (stops when the test ends).
    _server: Option<Running>,
}

/// A store in a fresh directory (or a fresh PostgreSQL schema), on a clock
/// the test moves.
async fn store_with_clock(engine: Engine) -> (TempDir, Store, Arc<TestClock>) {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(TestClock::default());
    let store = common::open_store(engine, dir.path())
        .await
        .with_clock(clock.clone());
    (dir, store, clock)
}

async fn embedded(engine: Engine) -> Backend {
    let (dir, store, clock) = store_with_clock(engine).await;
    let me = store.ensure_owner("alice").await.unwrap();
    let service = Arc::new(Service::new(store));
    let transport = InProcess::new(
        service.clone(),
        Actor {
            username: me.username,
            kind: me.kind,
        },
    );
    Backend {
        client: Client::new(Arc::new(transport), Source::Cli),
        service,
        dir,
        clock,
        _server: None,
    }
}

const OWNER_PASSWORD: &str = "correct horse battery";
const MEMBER_PASSWORD: &str = "a member's long password";

/// A real server on a loopback port, and a client logged in as its owner.
async fn served(engine: Engine) -> Backend {
    let (dir, store, clock) = store_with_clock(engine).await;
    let service = Arc::new(Service::new(store));
    service
        .prepare_owner(Some("alice"), Some(OWNER_PASSWORD.to_string().into()))
        .await
        .unwrap();
    let server = serve::start(service.clone(), "127.0.0.1:0".parse().unwrap(), None)
        .await
        .unwrap();
    let url = format!("http://{}", server.addr());
    let client = Client::http(&url, None, None, Source::Cli).unwrap();
    client.login("alice", OWNER_PASSWORD).await.unwrap();
    Backend {
        client,
        service,
        dir,
        clock,
        _server: Some(server),
    }
}

impl Backend {
    /// A new member and a client acting as them, over the same transport.
    async fn member(&self, username: &str) -> Client {
        self.client
            .create_user(&NewUser {
                username: username.into(),
                kind: UserKind::Member,
                password: Some(MEMBER_PASSWORD.into()),
            })
            .await
            .unwrap();
        match &self._server {
            None => Client::new(
                Arc::new(InProcess::new(
                    self.service.clone(),
                    Actor {
                        username: username.into(),
                        kind: UserKind::Member,
                    },
                )),
                Source::Cli,
            ),
            Some(server) => {
                let url = format!("http://{}", server.addr());
                let client = Client::http(&url, None, None, Source::Cli).unwrap();
                client.login(username, MEMBER_PASSWORD).await.unwrap();
                client
            }
        }
    }

    /// Moves the store's clock on; the owner's session is renewed (it would
    /// have timed out).
    async fn advance(&self, by: chrono::Duration) {
        self.clock.advance(by);
        if self._server.is_some() {
            self.client.login("alice", OWNER_PASSWORD).await.unwrap();
        }
    }
}

/// Runs each named check four times: in process and over HTTP, each on
/// SQLite and on PostgreSQL.
macro_rules! contract {
    ($($name:ident),* $(,)?) => {
        mod in_process {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(super::embedded(super::Engine::Sqlite).await).await
                }
            )*
        }
        mod over_http {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(super::served(super::Engine::Sqlite).await).await
                }
            )*
        }
        mod in_process_pg {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(super::embedded(super::Engine::Postgres).await).await
                }
            )*
        }
        mod over_http_pg {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(super::served(super::Engine::Postgres).await).await
                }
            )*
        }
    };
}

contract!(
    r1_create_generates_the_code_from_the_label,
    r1_every_bad_input_gets_a_400_naming_the_field_and_changes_nothing,
    r1_duplicate_code_is_a_409_and_changes_nothing,
    r2_quota_default_is_50_and_the_next_create_names_the_limit,
    r2_quota_holds_under_concurrent_creates,
    r3_create_generates_four_credentials,
    r4_r5_the_password_is_returned_once_and_nothing_is_stored_in_plain_text,
    r1_r9_edit_changes_label_flow_type_and_visual_never_the_code,
    r28_every_change_is_audited_with_old_and_new_values_and_masked_secrets,
    r8_delete_removes_the_connection_and_its_credentials,
    demo_workspace_loads_once_into_an_empty_store,
    errors_are_json_for_unknown_endpoints_and_methods,
    visuals_list_the_bundled_logos,
    client_errors_carry_status_code_and_field,
    list_pages_in_label_order_with_a_total,
    malformed_paths_and_huge_bodies_get_json_4xx,
    r4_debug_output_of_a_create_answer_hides_the_credentials,
    r5_the_secret_can_be_revealed_again_and_every_reveal_is_audited,
    r6_regenerating_the_secret_keeps_the_client_id_and_replaces_the_secret,
    r7_regenerating_the_password_returns_a_new_one_once,
    credentials_of_an_unknown_connection_are_not_found,
    r12_several_connections_register_in_one_request,
    r13_a_connection_created_inside_an_integration_is_registered_with_it,
    r14_saving_a_flow_registers_its_connections_with_a_reminder,
    r15_deregistered_connections_stay_in_existing_steps_but_not_new_ones,
    r16_used_by_names_flows_steps_and_integrations,
    r17_apps_refuse_registration_and_standalone_flows_register_nothing,
    r8_delete_is_refused_while_flow_steps_use_the_connection,
    integrations_are_created_renamed_and_deleted_with_clear_errors,
    r12_r15_pending_registrations_and_deregistrations_apply_in_one_request,
    r16a_replace_in_one_step_one_flow_or_everywhere_then_delete,
    r16b_unused_connections_without_activity_for_30_days_are_flagged_and_filtered,
    r18_a_member_sees_their_integrations_the_connections_registered_with_them_and_steps_on_those,
    r19_monitor_reads_and_only_manage_registers_and_saves_flows,
    r20_a_member_acts_on_credentials_only_through_an_integration_they_manage,
);

async fn r16a_replace_in_one_step_one_flow_or_everywhere_then_delete(b: Backend) {
    let codes = with_connections(&b, &["Old ERP", "New ERP", "Other"]).await;
    let (old, new_erp) = (&codes[0], &codes[1]);
    let i = integration(&b, "Orders", IntegrationKind::Standard).await;
    let two_steps = flow_input(
        Some(&i),
        &[(StepKind::Export, old), (StepKind::Import, old)],
    );
    b.client.save_flow("sync_a", &two_steps).await.unwrap();
    b.client
        .save_flow("sync_b", &flow_input(None, &[(StepKind::Export, old)]))
        .await
        .unwrap();
    // one step
    let one = b
        .client
        .replace_connection(old, new_erp, Some("sync_a"), Some(1))
        .await
        .unwrap();
    assert_eq!(
        (one.steps, one.flows.clone()),
        (1, vec!["sync_a".to_string()])
    );
    assert_eq!(
        one.registered_with,
        vec![i.clone()],
        "R14: registered where needed"
    );
    let a = b.client.get_flow("sync_a").await.unwrap();
    assert_eq!(a.steps[0].connection, *old);
    assert_eq!(a.steps[1].connection, *new_erp);
    // a place it is not used: 404; itself: 409; bad input names the field
    let err = b
        .client
        .replace_connection(old, new_erp, Some("sync_a"), Some(1))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(404));
    let err = b
        .client
        .replace_connection(old, old, None, None)
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(409));
    let err = b
        .client
        .replace_connection(old, new_erp, None, Some(0))
        .await
        .unwrap_err();
    assert_eq!(err.field(), Some("position"));
    let err = b
        .client
        .replace_connection(old, "nothing_here", None, None)
        .await
        .unwrap_err();
    assert_eq!(err.field(), Some("with"));
    // everywhere: the old one is then unused and can be deleted
    let all = b
        .client
        .replace_connection(old, new_erp, None, None)
        .await
        .unwrap();
    assert_eq!(all.steps, 2);
    assert_eq!(all.flows, vec!["sync_a".to_string(), "sync_b".to_string()]);
    assert!(b.client.used_by(old).await.unwrap().is_empty());
    assert_eq!(b.client.used_by(new_erp).await.unwrap().len(), 3);
    b.client.delete_connection(old).await.unwrap();
    let audit = b
        .client
        .raw(Method::GET, "/api/v1/flows/sync_b", None)
        .await
        .unwrap();
    assert_eq!(audit.status, 200);
}

async fn r12_r15_pending_registrations_and_deregistrations_apply_in_one_request(b: Backend) {
    let codes = with_connections(&b, &["Alpha App", "Beta App", "Gamma App"]).await;
    let i = integration(&b, "Orders", IntegrationKind::Standard).await;
    b.client.register(&i, &codes[..2]).await.unwrap();
    let done = b
        .client
        .apply_registrations(&i, &codes[2..], &codes[..1])
        .await
        .unwrap();
    assert_eq!(done.registered, vec![codes[2].clone()]);
    assert_eq!(done.deregistered, vec![codes[0].clone()]);
    assert_eq!(
        done.integration.registered,
        vec![codes[1].clone(), codes[2].clone()]
    );
    // one bad code: nothing of the request applies
    let err = b
        .client
        .apply_registrations(&i, &codes[..1], &["no_such".to_string()])
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(404));
    assert_eq!(
        b.client.get_integration(&i).await.unwrap().registered,
        vec![codes[1].clone(), codes[2].clone()]
    );
}

async fn with_connections(b: &Backend, labels: &[&str]) -> Vec<String> {
    let mut codes = Vec::new();
    for l in labels {
        codes.push(
            b.client
                .create_connection(&new(l))
                .await
                .unwrap()
                .connection
                .code,
        );
    }
    codes
}

async fn integration(b: &Backend, name: &str, kind: IntegrationKind) -> String {
    b.client
        .create_integration(&NewIntegration {
            name: name.into(),
            code: None,
            kind,
        })
        .await
        .unwrap()
        .code
}

fn flow_input(integration: Option<&str>, steps: &[(StepKind, &str)]) -> FlowInput {
    FlowInput {
        name: "Order sync".into(),
        integration: integration.map(str::to_string),
        steps: steps
            .iter()
            .map(|(kind, c)| FlowStep {
                kind: *kind,
                connection: c.to_string(),
            })
            .collect(),
        version: None,
    }
}

async fn r12_several_connections_register_in_one_request(b: Backend) {
    let codes = with_connections(&b, &["Shop One", "Shop Two", "Shop Three"]).await;
    let i = integration(&b, "Orders", IntegrationKind::Standard).await;
    let done = b.client.register(&i, &codes).await.unwrap();
    assert_eq!(done.registered.len(), 3);
    let mut sorted = codes.clone();
    sorted.sort();
    assert_eq!(done.integration.registered, sorted, "in code order");
    let again = b.client.register(&i, &codes[..1]).await.unwrap();
    assert!(again.registered.is_empty());
    // an unknown code: 404 naming it, and nothing changes
    let err = b
        .client
        .register(&i, &["nothing_here".to_string()])
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(404));
    assert!(err.to_string().contains("nothing_here"), "{err}");
    let err = b.client.register(&i, &[]).await.unwrap_err();
    assert_eq!(err.field(), Some("connections"));
    let err = b
        .client
        .register(&i, &["Bad Code".to_string()])
        .await
        .unwrap_err();
    assert_eq!(
        (err.status(), err.field()),
        (Some(400), Some("connections"))
    );
    let audit = b
        .client
        .raw(Method::GET, "/api/v1/integrations/orders", None)
        .await
        .unwrap();
    assert_eq!(audit.status, 200);
}

async fn r13_a_connection_created_inside_an_integration_is_registered_with_it(b: Backend) {
    let i = integration(&b, "Marketing", IntegrationKind::Standard).await;
    let created = b
        .client
        .create_connection(&NewConnection {
            label: "Mailchimp".into(),
            integration: Some(i.clone()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        b.client.get_integration(&i).await.unwrap().registered,
        vec![created.connection.code]
    );
    // an unknown integration: nothing is created
    let err = b
        .client
        .create_connection(&NewConnection {
            label: "Orphan".into(),
            integration: Some("no_such_integration".into()),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(404));
    assert!(b.client.get_connection("orphan").await.is_err());
}

async fn r14_saving_a_flow_registers_its_connections_with_a_reminder(b: Backend) {
    let codes = with_connections(&b, &["ERP", "Webshop"]).await;
    let i = integration(&b, "Orders", IntegrationKind::Standard).await;
    b.client.register(&i, &codes[..1]).await.unwrap();
    let saved = b
        .client
        .save_flow(
            "order_sync",
            &flow_input(
                Some(&i),
                &[(StepKind::Export, &codes[0]), (StepKind::Import, &codes[1])],
            ),
        )
        .await
        .unwrap();
    assert_eq!(saved.registered, vec![codes[1].clone()]);
    let reminder = saved.reminder.unwrap();
    assert!(
        reminder.contains("webshop") && reminder.contains("every user of orders"),
        "{reminder}"
    );
    assert_eq!(saved.flow.steps.len(), 2);
    assert_eq!(saved.flow.version, 1);
    // saving again registers nothing and says nothing; a stale version is refused
    let mut input = flow_input(
        Some(&i),
        &[(StepKind::Export, &codes[0]), (StepKind::Import, &codes[1])],
    );
    input.version = Some(1);
    let again = b.client.save_flow("order_sync", &input).await.unwrap();
    assert!(again.registered.is_empty() && again.reminder.is_none());
    let err = b.client.save_flow("order_sync", &input).await.unwrap_err();
    assert_eq!(err.code(), Some("stale"), "{err}");
    assert_eq!(b.client.list_flows().await.unwrap().len(), 1);
}

async fn r15_deregistered_connections_stay_in_existing_steps_but_not_new_ones(b: Backend) {
    let codes = with_connections(&b, &["ERP"]).await;
    let i = integration(&b, "Orders", IntegrationKind::Standard).await;
    let one = flow_input(Some(&i), &[(StepKind::Export, &codes[0])]);
    b.client.save_flow("sync", &one).await.unwrap();
    let after = b.client.deregister(&i, &codes[0]).await.unwrap();
    assert!(after.registered.is_empty());
    // the flow keeps its step, and can still be saved with it
    assert_eq!(b.client.get_flow("sync").await.unwrap().steps.len(), 1);
    b.client.save_flow("sync", &one).await.unwrap();
    // a new step on it is refused, naming the rule
    let two = flow_input(
        Some(&i),
        &[(StepKind::Export, &codes[0]), (StepKind::Import, &codes[0])],
    );
    let err = b.client.save_flow("sync", &two).await.unwrap_err();
    assert_eq!((err.status(), err.field()), (Some(409), Some("steps")));
    assert!(err.to_string().contains("deregistered"), "{err}");
    // deregistering again: not registered
    assert_eq!(
        b.client
            .deregister(&i, &codes[0])
            .await
            .unwrap_err()
            .status(),
        Some(404)
    );
}

async fn r16_used_by_names_flows_steps_and_integrations(b: Backend) {
    let codes = with_connections(&b, &["ERP", "Spare"]).await;
    let i = integration(&b, "Orders", IntegrationKind::Standard).await;
    b.client
        .save_flow(
            "sync",
            &flow_input(
                Some(&i),
                &[(StepKind::Export, &codes[0]), (StepKind::Import, &codes[0])],
            ),
        )
        .await
        .unwrap();
    let used = b.client.used_by(&codes[0]).await.unwrap();
    assert_eq!(used.len(), 2);
    assert_eq!(used[1].kind, StepKind::Import);
    assert_eq!(used[0].integration.as_deref(), Some("orders"));
    assert!(b.client.used_by(&codes[1]).await.unwrap().is_empty());
    assert_eq!(
        b.client.used_by("nothing").await.unwrap_err().status(),
        Some(404)
    );
}

async fn r17_apps_refuse_registration_and_standalone_flows_register_nothing(b: Backend) {
    let codes = with_connections(&b, &["ERP"]).await;
    let app = integration(&b, "Shopify Connector", IntegrationKind::App).await;
    let err = b.client.register(&app, &codes).await.unwrap_err();
    assert_eq!(err.status(), Some(409));
    assert!(err.to_string().contains("integration app"), "{err}");
    let saved = b
        .client
        .save_flow("alone", &flow_input(None, &[(StepKind::Export, &codes[0])]))
        .await
        .unwrap();
    assert!(saved.registered.is_empty() && saved.flow.integration.is_none());
    // attached to an integration, its connections get registered
    let i = integration(&b, "Orders", IntegrationKind::Standard).await;
    let attached = b
        .client
        .save_flow(
            "alone",
            &flow_input(Some(&i), &[(StepKind::Export, &codes[0])]),
        )
        .await
        .unwrap();
    assert_eq!(attached.registered, codes);
}

async fn r8_delete_is_refused_while_flow_steps_use_the_connection(b: Backend) {
    let codes = with_connections(&b, &["ERP"]).await;
    b.client
        .save_flow("adhoc", &flow_input(None, &[(StepKind::Import, &codes[0])]))
        .await
        .unwrap();
    let err = b.client.delete_connection(&codes[0]).await.unwrap_err();
    assert_eq!(err.status(), Some(409));
    assert!(err.to_string().contains("standalone flow adhoc"), "{err}");
    b.client.delete_flow("adhoc").await.unwrap();
    b.client.delete_connection(&codes[0]).await.unwrap();
}

async fn integrations_are_created_renamed_and_deleted_with_clear_errors(b: Backend) {
    let i = integration(&b, "ERP → Shop", IntegrationKind::Standard).await;
    assert_eq!(i, "erp_shop");
    let err = b
        .client
        .create_integration(&NewIntegration {
            name: "ERP → Shop".into(),
            code: None,
            kind: IntegrationKind::Standard,
        })
        .await
        .unwrap_err();
    assert_eq!((err.status(), err.field()), (Some(409), Some("code")));
    let err = b
        .client
        .create_integration(&NewIntegration {
            name: " x ".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!((err.status(), err.field()), (Some(400), Some("name")));
    let renamed = b
        .client
        .rename_integration(&i, "ERP to Shop")
        .await
        .unwrap();
    assert_eq!((renamed.name.as_str(), renamed.version), ("ERP to Shop", 2));
    let codes = with_connections(&b, &["ERP"]).await;
    b.client
        .save_flow(
            "erp_flow",
            &flow_input(Some(&i), &[(StepKind::Export, &codes[0])]),
        )
        .await
        .unwrap();
    let err = b.client.delete_integration(&i).await.unwrap_err();
    assert_eq!(err.status(), Some(409));
    b.client.delete_flow("erp_flow").await.unwrap();
    b.client.delete_integration(&i).await.unwrap();
    assert_eq!(
        b.client.get_integration(&i).await.unwrap_err().status(),
        Some(404)
    );
    assert!(b.client.list_integrations().await.unwrap().is_empty());
}

async fn r5_the_secret_can_be_revealed_again_and_every_reveal_is_audited(b: Backend) {
    let created = b.client.create_connection(&new("Reveal Me")).await.unwrap();
    let code = &created.connection.code;
    for _ in 0..2 {
        let revealed = b.client.reveal_secret(code).await.unwrap();
        assert_eq!(revealed.secret, created.secret);
        assert_eq!(revealed.client_id, created.connection.client_id);
        assert!(!format!("{revealed:?}").contains(&created.secret));
    }
    let audit = b.client.connection_audit(code).await.unwrap();
    let reveals = audit
        .iter()
        .filter(|r| r.action == "connection.secret.reveal")
        .count();
    assert_eq!(reveals, 2);
    // The summary never carries a secret value, nor the password.
    let info = b.client.credentials_info(code).await.unwrap();
    let text = serde_json::to_string(&info).unwrap();
    assert!(!text.contains(&created.secret) && !text.contains(&created.password));
    assert_eq!(info.client_id, created.connection.client_id);
    assert_eq!(info.username, created.connection.username);
    assert_eq!(info.token_path, "/api/oauth/v1/token");
    assert_eq!(
        (info.active_access_tokens, info.active_refresh_tokens),
        (0, 0)
    );
}

async fn r6_regenerating_the_secret_keeps_the_client_id_and_replaces_the_secret(b: Backend) {
    let created = b.client.create_connection(&new("Rotate Me")).await.unwrap();
    let code = &created.connection.code;
    let done = b.client.regenerate_secret(code).await.unwrap();
    assert_eq!(done.client_id, created.connection.client_id);
    assert_ne!(done.secret, created.secret);
    assert!(Kind::Secret.is_well_formed(&done.secret));
    assert_eq!(
        b.client.reveal_secret(code).await.unwrap().secret,
        done.secret
    );
    let info = b.client.credentials_info(code).await.unwrap();
    assert!(info.secret_rotated_at.is_some());
    assert!(info.password_rotated_at.is_none());
    let audit = b.client.connection_audit(code).await.unwrap();
    let record = audit
        .iter()
        .find(|r| r.action == "connection.secret.regenerate")
        .expect("audited");
    let secret_change = record.changes.iter().find(|c| c.field == "secret").unwrap();
    assert_eq!(secret_change.old.as_deref(), Some("******"));
    assert_eq!(secret_change.new.as_deref(), Some("******"));
}

async fn r7_regenerating_the_password_returns_a_new_one_once(b: Backend) {
    let created = b
        .client
        .create_connection(&new("New Password"))
        .await
        .unwrap();
    let code = &created.connection.code;
    let done = b.client.regenerate_password(code).await.unwrap();
    assert_eq!(done.username, created.connection.username);
    assert_ne!(done.password, created.password);
    assert!(!format!("{done:?}").contains(&done.password));
    let store = b.service.store();
    assert!(store.check_password(code, &done.password).await.unwrap());
    assert!(!store.check_password(code, &created.password).await.unwrap());
    // No read shows it again (R4).
    for path in [
        format!("/api/v1/connections/{code}"),
        format!("/api/v1/connections/{code}/credentials"),
        format!("/api/v1/connections/{code}/audit"),
        "/api/v1/connections".to_string(),
    ] {
        let resp = b.client.raw(Method::GET, &path, None).await.unwrap();
        assert_eq!(resp.status, 200, "{path}");
        let body = String::from_utf8_lossy(&resp.body);
        assert!(!body.contains(&done.password), "{path}");
    }
}

async fn credentials_of_an_unknown_connection_are_not_found(b: Backend) {
    for e in [
        b.client.credentials_info("nothing").await.unwrap_err(),
        b.client
            .reveal_secret("nothing")
            .await
            .map(drop)
            .unwrap_err(),
        b.client
            .regenerate_secret("nothing")
            .await
            .map(drop)
            .unwrap_err(),
        b.client
            .regenerate_password("nothing")
            .await
            .map(drop)
            .unwrap_err(),
    ] {
        assert_eq!(e.status(), Some(404), "{e}");
        assert_eq!(e.code(), Some("not_found"));
    }
}

fn new(label: &str) -> NewConnection {
    NewConnection {
        label: label.to_string(),
        ..Default::default()
    }
}

async fn raw_json(client: &Client, method: Method, path: &str, body: &str) -> (u16, Value) {
    let resp = client
        .raw(method, path, Some(Bytes::from(body.to_string())))
        .await
        .unwrap();
    let v = serde_json::from_slice(&resp.body).unwrap_or(Value::Null);
    (resp.status, v)
}

async fn raw_get(client: &Client, method: Method, path: &str) -> (u16, Value) {
    let resp = client.raw(method, path, None).await.unwrap();
    let v = serde_json::from_slice(&resp.body).unwrap_or(Value::Null);
    (resp.status, v)
}

/// The observable state, to prove a refused request changed nothing.
async fn state(b: &Backend) -> (Value, Value, usize) {
    let list = serde_json::to_value(b.client.list_connections().await.unwrap()).unwrap();
    let quota = serde_json::to_value(b.client.quota().await.unwrap()).unwrap();
    let audit = b
        .service
        .store()
        .audit_for("connection:erp_main", 1000)
        .await
        .unwrap()
        .len();
    (list, quota, audit)
}

async fn r1_create_generates_the_code_from_the_label(b: Backend) {
    let created = b
        .client
        .create_connection(&new("Magento Storefront"))
        .await
        .unwrap();
    assert_eq!(created.connection.code, "magento_storefront");
    assert_eq!(created.connection.label, "Magento Storefront");
    assert_eq!(
        created.connection.flow_type,
        FlowType::Source,
        "default flow type"
    );
    let c = b
        .client
        .create_connection(&NewConnection {
            label: "  ERP (SAP) — prod ".into(),
            code: None,
            flow_type: FlowType::Destination,
            visual: Some("erp".into()),
            integration: None,
            application: None,
        })
        .await
        .unwrap()
        .connection;
    assert_eq!(c.code, "erp_sap_prod");
    assert_eq!(c.label, "ERP (SAP) — prod", "label is trimmed");
    assert_eq!(c.flow_type, FlowType::Destination);
    assert_eq!(c.visual.as_deref(), Some("erp"));
    assert_eq!(c.role, "User");
    assert_eq!(c.group, "All");
    let got = b.client.get_connection("erp_sap_prod").await.unwrap();
    assert_eq!(got, c);
    let list = b.client.list_connections().await.unwrap();
    assert_eq!(list.len(), 2);
}

async fn r1_every_bad_input_gets_a_400_naming_the_field_and_changes_nothing(b: Backend) {
    b.client
        .create_connection(&NewConnection {
            label: "ERP main".into(),
            code: Some("erp_main".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    let before = state(&b).await;
    let long = "x".repeat(101);
    let cases: Vec<(String, &str)> = vec![
        ("{}".into(), "label"),
        (r#"{"label":""}"#.into(), "label"),
        (r#"{"label":"   "}"#.into(), "label"),
        (r#"{"label":"ab"}"#.into(), "label"),
        (format!(r#"{{"label":"{long}"}}"#), "label"),
        (r#"{"label":"Bad\nline"}"#.into(), "label"),
        (r#"{"label":5}"#.into(), "label"),
        (r#"{"label":null}"#.into(), "label"),
        (r#"{"label":"Okay","code":"Bad Code"}"#.into(), "code"),
        (r#"{"label":"Okay","code":"ab"}"#.into(), "code"),
        (r#"{"label":"Okay","code":""}"#.into(), "code"),
        (format!(r#"{{"label":"Okay","code":"{long}"}}"#), "code"),
        (r#"{"label":"Okay","code":5}"#.into(), "code"),
        (r#"{"label":"— ü —"}"#.into(), "code"),
        (
            r#"{"label":"Okay","flow_type":"sideways"}"#.into(),
            "flow_type",
        ),
        (r#"{"label":"Okay","flow_type":1}"#.into(), "flow_type"),
        (r#"{"label":"Okay","visual":"nope"}"#.into(), "visual"),
        (
            r#"{"label":"Okay","visual":"relative.png"}"#.into(),
            "visual",
        ),
        (r#"{"label":"Okay","visual":7}"#.into(), "visual"),
        (r#"{"label":"Okay","password":"mine"}"#.into(), "password"),
        ("not json".into(), "body"),
        ("[]".into(), "body"),
        ("".into(), "body"),
    ];
    for (body, field) in cases {
        let (status, err) = raw_json(&b.client, Method::POST, "/api/v1/connections", &body).await;
        assert_eq!(status, 400, "{body} → {err}");
        assert_eq!(err["code"], "invalid", "{body} → {err}");
        assert_eq!(err["field"], field, "{body} → {err}");
        let message = err["message"].as_str().unwrap();
        assert!(
            !message.is_empty() && !message.contains("line 1"),
            "{message}"
        );
        assert_eq!(state(&b).await, before, "{body} changed something");
    }
}

async fn r1_duplicate_code_is_a_409_and_changes_nothing(b: Backend) {
    b.client.create_connection(&new("ERP main")).await.unwrap();
    let before = state(&b).await;
    let err = b
        .client
        .create_connection(&new("ERP Main"))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(409));
    assert_eq!(err.field(), Some("code"));
    assert!(err.to_string().contains("erp_main"), "{err}");
    assert_eq!(state(&b).await, before);
}

async fn r2_quota_default_is_50_and_the_next_create_names_the_limit(b: Backend) {
    let q = b.client.quota().await.unwrap();
    assert_eq!((q.count, q.max_connections, q.reached), (0, 50, false));
    b.client.set_max_connections(3).await.unwrap();
    for label in ["One app", "Two app", "Three app"] {
        b.client.create_connection(&new(label)).await.unwrap();
    }
    let q = b.client.quota().await.unwrap();
    assert!(
        q.reached,
        "the API tells the limit is reached before a form is filled"
    );
    let before = state(&b).await;
    let err = b
        .client
        .create_connection(&new("Four app"))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(409));
    assert_eq!(err.code(), Some("quota_reached"));
    assert!(err.to_string().contains("at most 3 connections"), "{err}");
    assert_eq!(state(&b).await, before);
    // Deleting frees a place; 0 means unlimited.
    b.client.delete_connection("one_app").await.unwrap();
    b.client.create_connection(&new("Four app")).await.unwrap();
    b.client.set_max_connections(0).await.unwrap();
    for i in 0..5 {
        b.client
            .create_connection(&new(&format!("More {i}")))
            .await
            .unwrap();
    }
    let q = b.client.quota().await.unwrap();
    assert_eq!((q.count, q.reached), (8, false));
}

async fn r2_quota_holds_under_concurrent_creates(b: Backend) {
    b.client.set_max_connections(5).await.unwrap();
    let tasks: Vec<_> = (0..24)
        .map(|i| {
            let client = b.client.clone();
            tokio::spawn(async move {
                client
                    .create_connection(&new(&format!("Parallel {i}")))
                    .await
            })
        })
        .collect();
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => ok += 1,
            Err(e) => assert_eq!(e.code(), Some("quota_reached"), "{e}"),
        }
    }
    assert_eq!(ok, 5);
    assert_eq!(b.client.list_connections().await.unwrap().len(), 5);
    assert_eq!(b.client.quota().await.unwrap().count, 5);
}

async fn r3_create_generates_four_credentials(b: Backend) {
    let mut ids = std::collections::HashSet::new();
    for i in 0..5 {
        let created = b
            .client
            .create_connection(&new(&format!("Shop {i}")))
            .await
            .unwrap();
        let c = &created.connection;
        // prefix, random body, 6-character checksum (R3)
        assert!(
            Kind::ClientId.is_well_formed(&c.client_id),
            "{}",
            c.client_id
        );
        assert_eq!(c.client_id.len(), 4 + 22 + 6);
        let (code, digits) = c.username.rsplit_once('_').unwrap();
        assert_eq!(code, c.code);
        assert!(digits.len() == 4 && digits.bytes().all(|d| d.is_ascii_digit()));
        assert!(Kind::Secret.is_well_formed(&created.secret));
        assert!(Kind::Password.is_well_formed(&created.password));
        assert_eq!(created.secret.len(), 4 + 43 + 6);
        assert_eq!(created.password.len(), 4 + 43 + 6);
        for s in [&c.client_id, &created.secret, &created.password] {
            assert!(s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'));
            assert!(ids.insert(s.clone()), "credentials are unique");
        }
    }
}

async fn r4_r5_the_password_is_returned_once_and_nothing_is_stored_in_plain_text(b: Backend) {
    let created = b
        .client
        .create_connection(&new("Bynder DAM"))
        .await
        .unwrap();
    let code = &created.connection.code;
    // No read returns the password (or the secret) again.
    for path in [
        "/api/v1/connections".to_string(),
        format!("/api/v1/connections/{code}"),
        format!("/api/v1/connections/{code}/audit"),
    ] {
        let resp = b.client.raw(Method::GET, &path, None).await.unwrap();
        let text = String::from_utf8_lossy(&resp.body);
        assert!(
            !text.contains(&created.password),
            "{path} shows the password"
        );
        assert!(!text.contains(&created.secret), "{path} shows the secret");
        assert!(!text.contains("password_hash") && !text.contains("secret_ciphertext"));
    }
    // The store checks the password through its hash and decrypts the secret.
    let store = b.service.store();
    assert!(store.check_password(code, &created.password).await.unwrap());
    assert!(!store.check_password(code, "sbp_wrong").await.unwrap());
    use secrecy::ExposeSecret;
    assert_eq!(
        store.secret_of(code).await.unwrap().expose_secret(),
        created.secret
    );
    // The database files hold neither value in plain text.
    store.close().await;
    for entry in std::fs::read_dir(b.dir.path()).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        for needle in [&created.password, &created.secret] {
            let hit = bytes.windows(needle.len()).any(|w| w == needle.as_bytes());
            assert!(
                !hit,
                "a file in the data directory holds a secret in plain text"
            );
        }
    }
}

async fn r1_r9_edit_changes_label_flow_type_and_visual_never_the_code(b: Backend) {
    b.client
        .create_connection(&new("Odoo Staging"))
        .await
        .unwrap();
    let patch = ConnectionPatch {
        label: Some("Odoo Production".into()),
        flow_type: Some(FlowType::Other),
        visual: Some(Some("erp".into())),
        version: None,
        ..Default::default()
    };
    let c = b
        .client
        .update_connection("odoo_staging", &patch)
        .await
        .unwrap();
    assert_eq!(c.code, "odoo_staging");
    assert_eq!(c.label, "Odoo Production");
    assert_eq!(c.flow_type, FlowType::Other);
    assert_eq!(c.visual.as_deref(), Some("erp"));
    // Absent fields stay; `visual: null` removes the visual.
    let c = b
        .client
        .update_connection(
            "odoo_staging",
            &ConnectionPatch {
                visual: Some(None),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!((c.label.as_str(), c.visual), ("Odoo Production", None));
    let before = state(&b).await;
    for (body, field) in [
        (r#"{"code":"new_code"}"#, "code"),
        (r#"{"label":"x"}"#, "label"),
        (r#"{"flow_type":"up"}"#, "flow_type"),
        (r#"{"visual":"nope"}"#, "visual"),
        (r#"{"label":[]}"#, "label"),
    ] {
        let (status, err) = raw_json(
            &b.client,
            Method::PATCH,
            "/api/v1/connections/odoo_staging",
            body,
        )
        .await;
        assert_eq!(
            (status, err["field"].as_str()),
            (400, Some(field)),
            "{body} → {err}"
        );
    }
    assert_eq!(state(&b).await, before);
    let err = b
        .client
        .update_connection("missing", &patch)
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(404));
}

async fn r28_every_change_is_audited_with_old_and_new_values_and_masked_secrets(b: Backend) {
    let created = b
        .client
        .create_connection(&new("Akeneo Sync"))
        .await
        .unwrap();
    b.client
        .update_connection(
            "akeneo_sync",
            &ConnectionPatch {
                label: Some("Akeneo Sync EU".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    // A change that changes nothing records nothing.
    b.client
        .update_connection(
            "akeneo_sync",
            &ConnectionPatch {
                label: Some("Akeneo Sync EU".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let trail = b.client.connection_audit("akeneo_sync").await.unwrap();
    assert_eq!(trail.len(), 2);
    let update = &trail[0];
    assert_eq!(update.action, "connection.update");
    assert_eq!(update.actor, "alice");
    assert_eq!(update.source, Source::Cli);
    assert_eq!(update.changes.len(), 1);
    assert_eq!(update.changes[0].field, "label");
    assert_eq!(update.changes[0].old.as_deref(), Some("Akeneo Sync"));
    assert_eq!(update.changes[0].new.as_deref(), Some("Akeneo Sync EU"));
    let create = &trail[1];
    assert_eq!(create.action, "connection.create");
    let secret = create.changes.iter().find(|c| c.field == "secret").unwrap();
    assert_eq!(secret.new.as_deref(), Some("******"));
    let password = create
        .changes
        .iter()
        .find(|c| c.field == "password")
        .unwrap();
    assert_eq!(password.new.as_deref(), Some("******"));
    let json = serde_json::to_string(&trail).unwrap();
    assert!(!json.contains(&created.password) && !json.contains(&created.secret));
    // Delete is audited too, and the trail outlives the connection.
    b.client.delete_connection("akeneo_sync").await.unwrap();
    let trail = b.client.connection_audit("akeneo_sync").await.unwrap();
    assert_eq!(trail[0].action, "connection.delete");
    assert!(
        trail[0]
            .changes
            .iter()
            .any(|c| c.field == "label" && c.new.is_none())
    );
}

async fn r8_delete_removes_the_connection_and_its_credentials(b: Backend) {
    let created = b
        .client
        .create_connection(&new("Shopify Plus"))
        .await
        .unwrap();
    b.client.delete_connection("shopify_plus").await.unwrap();
    let err = b.client.get_connection("shopify_plus").await.unwrap_err();
    assert_eq!(err.status(), Some(404));
    assert_eq!(b.client.quota().await.unwrap().count, 0);
    let store = b.service.store();
    assert!(
        store
            .check_password("shopify_plus", &created.password)
            .await
            .is_err()
    );
    let err = b
        .client
        .delete_connection("shopify_plus")
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(404));
    assert!(err.to_string().contains("shopify_plus"), "{err}");
    // The same code can be used again; it gets new credentials.
    let again = b
        .client
        .create_connection(&new("Shopify Plus"))
        .await
        .unwrap();
    assert_ne!(again.connection.client_id, created.connection.client_id);
}

async fn demo_workspace_loads_once_into_an_empty_store(b: Backend) {
    let loaded = b.client.load_demo().await.unwrap();
    assert!(loaded.created >= 30);
    let list = b.client.list_connections().await.unwrap();
    assert_eq!(list.len() as u64, loaded.created);
    for &flow in FlowType::VARIANTS {
        assert!(list.iter().any(|c| c.flow_type == flow), "demo has {flow}");
    }
    assert!(list.iter().filter(|c| c.visual.is_some()).count() >= 8);
    // integrations (one app), flows (some standalone), members with access
    assert_eq!(
        (loaded.integrations, loaded.flows, loaded.members),
        (4, 7, 3)
    );
    // The catalog of the Web API (R10, R11, R22): roles, groups, a category
    // tree, products, and connections given other roles and groups.
    assert_eq!(
        (
            loaded.roles,
            loaded.groups,
            loaded.categories,
            loaded.products
        ),
        (3, 3, 13, 40)
    );
    let roles = b.client.list_roles().await.unwrap();
    assert_eq!(roles.len(), 4);
    assert!(
        roles
            .iter()
            .any(|r| r.code == "read_only" && r.connection_count >= 3)
    );
    let groups = b.client.list_groups().await.unwrap();
    assert_eq!(groups.len(), 4);
    assert!(
        groups
            .iter()
            .any(|g| g.code == "marketing" && !g.permissions.is_empty())
    );
    assert_eq!(b.client.list_categories().await.unwrap().len(), 13);
    assert!(list.iter().filter(|c| c.role != "User").count() >= 8);
    assert!(list.iter().filter(|c| c.group != "All").count() >= 4);
    assert!(list.iter().any(|c| c.role == "User" && c.group == "All"));
    let integrations = b.client.list_integrations().await.unwrap();
    assert!(integrations.iter().any(|i| i.kind == IntegrationKind::App));
    assert!(
        integrations
            .iter()
            .all(|i| i.kind == IntegrationKind::Standard || i.registered.is_empty())
    );
    let flows = b.client.list_flows().await.unwrap();
    assert!(flows.iter().filter(|f| f.integration.is_none()).count() >= 2);
    assert!(list.iter().any(|c| c.in_use) && list.iter().any(|c| !c.in_use));
    // A past for some: the long idle ones unused by any step are stale
    // (R16b); the legacy import is idle too, but a flow still uses it.
    let stale: Vec<String> = b
        .client
        .list_stale_connections()
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.code)
        .collect();
    assert_eq!(
        stale,
        [
            "odoo_staging",
            "partner_sftp_drop_csv",
            "print_catalog_2025_indesign"
        ]
    );
    let legacy = b
        .client
        .get_connection("akeneo_pim_legacy_import")
        .await
        .unwrap();
    assert!(legacy.in_use && !legacy.stale && legacy.last_activity_at.is_some());
    let err = b.client.load_demo().await.unwrap_err();
    assert_eq!(err.status(), Some(409));
    assert_eq!(b.client.list_connections().await.unwrap().len(), list.len());
}

async fn errors_are_json_for_unknown_endpoints_and_methods(b: Backend) {
    let (status, v) = raw_get(&b.client, Method::GET, "/api/v1/nothing").await;
    assert_eq!((status, v["code"].as_str()), (404, Some("not_found")));
    let (status, v) = raw_get(&b.client, Method::PUT, "/api/v1/connections").await;
    assert_eq!(
        (status, v["code"].as_str()),
        (405, Some("method_not_allowed"))
    );
    let (status, v) = raw_json(
        &b.client,
        Method::PATCH,
        "/api/v1/account",
        r#"{"max_connections":-1}"#,
    )
    .await;
    assert_eq!(
        (status, v["field"].clone()),
        (400, json!("max_connections"))
    );
}

#[tokio::test]
async fn requests_without_an_identity_are_refused() {
    use tower::ServiceExt;
    let b = embedded(Engine::Sqlite).await;
    let router = switchboard::server::router(b.service.clone());
    let req = http::Request::get("/api/v1/connections")
        .body(axum::body::Body::empty())
        .unwrap();
    let resp = router.oneshot(req).await.unwrap();
    assert_eq!(resp.status(), 401);
}

async fn visuals_list_the_bundled_logos(b: Backend) {
    let visuals = b.client.visuals().await.unwrap();
    assert!(visuals.len() >= 8);
    for v in &visuals {
        let path = format!("{}/assets/logos/{}.png", env!("CARGO_MANIFEST_DIR"), v.name);
        assert!(std::path::Path::new(&path).exists(), "{path}");
    }
}

#[tokio::test]
async fn data_survives_a_restart_and_files_are_private() {
    let dir = tempfile::tempdir().unwrap();
    {
        let t = InProcess::open(dir.path(), "alice").await.unwrap();
        let service = t.service().clone();
        let client = Client::new(Arc::new(t), Source::Tui);
        client
            .create_connection(&new("Persisted App"))
            .await
            .unwrap();
        service.store().close().await;
    }
    let t = InProcess::open(dir.path(), "someone-else").await.unwrap();
    let client = Client::new(Arc::new(t), Source::Tui);
    let list = client.list_connections().await.unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].code, "persisted_app");
    assert_eq!(
        client.me().await.unwrap().username,
        "alice",
        "the first owner stays"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for name in ["switchboard.db", "switchboard.key"] {
            let mode = std::fs::metadata(dir.path().join(name))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{name}");
        }
    }
}

async fn client_errors_carry_status_code_and_field(b: Backend) {
    let err = b.client.create_connection(&new("ab")).await.unwrap_err();
    match &err {
        ClientError::Api { status, error } => {
            assert_eq!(*status, 400);
            assert_eq!(error.field.as_deref(), Some("label"));
            assert!(error.message.contains("too short"));
        }
        other => panic!("unexpected {other:?}"),
    }
}

async fn list_pages_in_label_order_with_a_total(b: Backend) {
    b.client.load_demo().await.unwrap();
    let all = b.client.list_connections().await.unwrap();
    let mut sorted = all.clone();
    sorted.sort_by_key(|c| (switchboard::domain::sort_key(&c.label), c.code.clone()));
    assert_eq!(
        all, sorted,
        "list order is label (case and accents folded), then code"
    );
    let u = all
        .iter()
        .position(|c| c.label.starts_with("Übersetzung"))
        .unwrap();
    let z = all
        .iter()
        .position(|c| c.label.starts_with("Zalando"))
        .unwrap();
    assert!(u < z, "Ü sorts with U, before Z");
    let first = b.client.list_connections_page(0, Some(10)).await.unwrap();
    assert_eq!((first.items.len(), first.total, first.offset), (10, 36, 0));
    let rest = b.client.list_connections_page(10, None).await.unwrap();
    assert_eq!(rest.items.len(), 26);
    let joined: Vec<_> = first.items.into_iter().chain(rest.items).collect();
    assert_eq!(joined, all);
    let past = b.client.list_connections_page(100, Some(5)).await.unwrap();
    assert!(past.items.is_empty());
    for (query, field) in [
        ("limit=ten", "limit"),
        ("offset=-1", "offset"),
        ("offset=1.5", "offset"),
        ("sort=label", "sort"),
    ] {
        let (status, v) = raw_get(
            &b.client,
            Method::GET,
            &format!("/api/v1/connections?{query}"),
        )
        .await;
        assert_eq!(
            (status, v["field"].as_str()),
            (400, Some(field)),
            "{query}: {v}"
        );
    }
}

async fn malformed_paths_and_huge_bodies_get_json_4xx(b: Backend) {
    let (status, v) = raw_get(&b.client, Method::GET, "/api/v1/connections/%FF%FE").await;
    assert_eq!((status, v["field"].as_str()), (400, Some("code")));
    let huge = format!(r#"{{"label":"{}"}}"#, "x".repeat(3 * 1024 * 1024));
    let (status, v) = raw_json(&b.client, Method::POST, "/api/v1/connections", &huge).await;
    assert_eq!((status, v["code"].as_str()), (413, Some("too_large")));
    assert!(b.client.list_connections().await.unwrap().is_empty());
}

async fn r4_debug_output_of_a_create_answer_hides_the_credentials(b: Backend) {
    let created = b
        .client
        .create_connection(&new("Debugged App"))
        .await
        .unwrap();
    let debug = format!("{created:?}");
    assert!(debug.contains("debugged_app"));
    assert!(!debug.contains(&created.password) && !debug.contains(&created.secret));
}

fn status<T>(r: &Result<T, ClientError>) -> u16 {
    match r {
        Ok(_) => 200,
        Err(e) => e.status().unwrap_or(0),
    }
}

async fn r16b_unused_connections_without_activity_for_30_days_are_flagged_and_filtered(b: Backend) {
    let codes = with_connections(&b, &["Used", "Idle"]).await;
    b.client
        .save_flow("adhoc", &flow_input(None, &[(StepKind::Export, &codes[0])]))
        .await
        .unwrap();
    assert!(b.client.list_stale_connections().await.unwrap().is_empty());
    b.advance(chrono::Duration::days(29)).await;
    assert!(b.client.list_stale_connections().await.unwrap().is_empty());
    b.advance(chrono::Duration::days(2)).await;
    let stale: Vec<String> = b
        .client
        .list_stale_connections()
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.code)
        .collect();
    assert_eq!(stale, vec![codes[1].clone()]);
    let all = b.client.list_connections().await.unwrap();
    assert_eq!(
        all.iter().map(|c| (c.stale, c.in_use)).collect::<Vec<_>>(),
        [(true, false), (false, true)],
        "Idle, then Used, in label order"
    );
    assert!(b.client.get_connection(&codes[1]).await.unwrap().stale);
    // Used by no step any more: it is stale too.
    b.client.delete_flow("adhoc").await.unwrap();
    assert_eq!(b.client.list_stale_connections().await.unwrap().len(), 2);
    let bad = b
        .client
        .raw(Method::GET, "/api/v1/connections?stale=maybe", None)
        .await
        .unwrap();
    assert_eq!(bad.status, 400);
}

async fn r18_a_member_sees_their_integrations_the_connections_registered_with_them_and_steps_on_those(
    b: Backend,
) {
    let codes = with_connections(&b, &["Mine", "Theirs", "Shared", "Nobody"]).await;
    let (mine, theirs, shared, nobody) = (&codes[0], &codes[1], &codes[2], &codes[3]);
    let ours = integration(&b, "Ours", IntegrationKind::Standard).await;
    let other = integration(&b, "Other", IntegrationKind::Standard).await;
    b.client
        .register(&ours, &[mine.clone(), shared.clone()])
        .await
        .unwrap();
    b.client
        .save_flow(
            "other_sync",
            &flow_input(
                Some(&other),
                &[(StepKind::Export, theirs), (StepKind::Import, shared)],
            ),
        )
        .await
        .unwrap();
    b.client
        .save_flow("lonely", &flow_input(None, &[(StepKind::Export, nobody)]))
        .await
        .unwrap();
    let mia = b.member("mia").await;
    // No access yet: nothing at all.
    assert!(mia.list_integrations().await.unwrap().is_empty());
    assert!(mia.list_connections().await.unwrap().is_empty());
    assert!(mia.list_flows().await.unwrap().is_empty());
    assert_eq!(status(&mia.get_connection(mine).await), 404);
    b.client
        .set_access(&ours, "mia", Some(AccessLevel::Monitor))
        .await
        .unwrap();
    let integrations = mia.list_integrations().await.unwrap();
    assert_eq!(
        integrations
            .iter()
            .map(|i| (i.code.as_str(), i.access))
            .collect::<Vec<_>>(),
        [(ours.as_str(), Some(AccessLevel::Monitor))]
    );
    let seen: Vec<String> = mia
        .list_connections()
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.code)
        .collect();
    assert_eq!(seen, vec![mine.clone(), shared.clone()]);
    // The other integration's flow shows only its step on the shared one.
    let flows = mia.list_flows().await.unwrap();
    assert_eq!(flows.len(), 1);
    assert_eq!(flows[0].code, "other_sync");
    assert!(flows[0].partial);
    assert_eq!(
        flows[0]
            .steps
            .iter()
            .map(|s| s.connection.as_str())
            .collect::<Vec<_>>(),
        [shared.as_str()]
    );
    assert_eq!(mia.get_flow("other_sync").await.unwrap(), flows[0]);
    let used = mia.used_by(shared).await.unwrap();
    assert_eq!(used.len(), 1);
    // Everything else is "not found", never "forbidden".
    for r in [
        status(&mia.get_connection(theirs).await),
        status(&mia.get_connection(nobody).await),
        status(&mia.used_by(theirs).await),
        status(&mia.get_integration(&other).await),
        status(&mia.get_flow("lonely").await),
        status(&mia.connection_audit(theirs).await),
        status(&mia.credentials_info(theirs).await),
    ] {
        assert_eq!(r, 404);
    }
    // The owner sees everything.
    assert_eq!(b.client.list_connections().await.unwrap().len(), 4);
    assert_eq!(b.client.list_flows().await.unwrap().len(), 2);
}

async fn r19_monitor_reads_and_only_manage_registers_and_saves_flows(b: Backend) {
    let codes = with_connections(&b, &["ERP", "Shop"]).await;
    let i = integration(&b, "Orders", IntegrationKind::Standard).await;
    b.client.register(&i, &codes[..1]).await.unwrap();
    let max = b.member("max").await;
    b.client
        .set_access(&i, "max", Some(AccessLevel::Monitor))
        .await
        .unwrap();
    assert_eq!(
        max.get_integration(&i).await.unwrap().access,
        Some(AccessLevel::Monitor)
    );
    let err = max.deregister(&i, &codes[0]).await.unwrap_err();
    assert_eq!(err.status(), Some(403));
    assert!(err.to_string().contains("monitor"), "{err}");
    let err = max
        .save_flow(
            "sync",
            &flow_input(Some(&i), &[(StepKind::Export, &codes[0])]),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(403));
    // Nothing changed.
    assert_eq!(
        b.client.get_integration(&i).await.unwrap().registered,
        codes[..1]
    );
    assert!(b.client.list_flows().await.unwrap().is_empty());
    b.client
        .set_access(&i, "max", Some(AccessLevel::Manage))
        .await
        .unwrap();
    let saved = max
        .save_flow(
            "sync",
            &flow_input(Some(&i), &[(StepKind::Export, &codes[0])]),
        )
        .await
        .unwrap();
    assert!(saved.registered.is_empty());
    max.deregister(&i, &codes[0]).await.unwrap();
    // The shop is not visible to max: registering it is "not found" (R12).
    assert_eq!(status(&max.register(&i, &codes[1..]).await), 404);
    // Access taken away: the integration is gone for them.
    b.client.set_access(&i, "max", None).await.unwrap();
    assert_eq!(status(&max.get_integration(&i).await), 404);
}

async fn r20_a_member_acts_on_credentials_only_through_an_integration_they_manage(b: Backend) {
    let codes = with_connections(&b, &["Watched", "Managed"]).await;
    let watch = integration(&b, "Watch", IntegrationKind::Standard).await;
    let run = integration(&b, "Run", IntegrationKind::Standard).await;
    b.client.register(&watch, &codes[..1]).await.unwrap();
    b.client.register(&run, &codes[1..]).await.unwrap();
    let tom = b.member("tom").await;
    b.client
        .set_access(&watch, "tom", Some(AccessLevel::Monitor))
        .await
        .unwrap();
    b.client
        .set_access(&run, "tom", Some(AccessLevel::Manage))
        .await
        .unwrap();
    let (watched, managed) = (&codes[0], &codes[1]);
    // Seen through a monitored integration: read, but not act.
    assert!(tom.get_connection(watched).await.is_ok());
    assert_eq!(status(&tom.reveal_secret(watched).await), 403);
    assert_eq!(status(&tom.regenerate_secret(watched).await), 403);
    assert_eq!(status(&tom.regenerate_password(watched).await), 403);
    let patch = ConnectionPatch {
        label: Some("Renamed".into()),
        ..Default::default()
    };
    assert_eq!(status(&tom.update_connection(watched, &patch).await), 403);
    assert_eq!(status(&tom.delete_connection(watched).await), 403);
    assert_eq!(
        b.client.get_connection(watched).await.unwrap().label,
        "Watched"
    );
    // Managed: credentials and settings.
    assert!(tom.reveal_secret(managed).await.is_ok());
    let before = b.client.get_connection(managed).await.unwrap().client_id;
    tom.regenerate_secret(managed).await.unwrap();
    assert_eq!(
        b.client.get_connection(managed).await.unwrap().client_id,
        before
    );
    tom.update_connection(managed, &patch).await.unwrap();
    assert_eq!(
        b.client.get_connection(managed).await.unwrap().label,
        "Renamed"
    );
}
