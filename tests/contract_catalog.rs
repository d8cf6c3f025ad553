//! Contract tests of roles (R10), groups and categories (R11) and of giving
//! them to connections (R20): every check driven through a `Client`, run in
//! process and over HTTP (a real server on a loopback port), each on SQLite
//! and on PostgreSQL.

use std::sync::Arc;
use strum::VariantArray;

use bytes::Bytes;
use http::Method;
use serde_json::Value;
use switchboard::client::{Client, ClientError, InProcess};
use switchboard::model::{
    AccessLevel, CategoryGrant, CategoryLevel, GroupPatch, IntegrationKind, NewCategory,
    NewConnection, NewGroup, NewIntegration, NewRole, NewUser, Permission, RolePatch, Source,
    UserKind,
};
use switchboard::server::serve::{self, Running};
use switchboard::service::{Actor, Service};
use switchboard::store::{ProductRow, Store};
use tempfile::TempDir;

mod common;
use common::{Engine, open_store};

struct Backend {
    client: Client,
    service: Arc<Service>,
    _dir: TempDir,
    server: Option<Running>,
}

const OWNER_PASSWORD: &str = "correct horse battery";
const MEMBER_PASSWORD: &str = "a member's long password";

/// A store in a fresh directory (or a fresh PostgreSQL schema).
async fn store(engine: Engine) -> (TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(engine, dir.path()).await;
    (dir, store)
}

async fn embedded(engine: Engine) -> Backend {
    let (dir, store) = store(engine).await;
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
        _dir: dir,
        server: None,
    }
}

async fn served(engine: Engine) -> Backend {
    let (dir, store) = store(engine).await;
    let service = Arc::new(Service::new(store));
    service
        .prepare_owner(Some("alice"), Some(OWNER_PASSWORD.to_string().into()))
        .await
        .unwrap();
    let server = serve::start(service.clone(), "127.0.0.1:0".parse().unwrap(), None)
        .await
        .unwrap();
    let client = Client::http(
        &format!("http://{}", server.addr()),
        None,
        None,
        Source::Cli,
    )
    .unwrap();
    client.login("alice", OWNER_PASSWORD).await.unwrap();
    Backend {
        client,
        service,
        _dir: dir,
        server: Some(server),
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
        match &self.server {
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
                let client = Client::http(
                    &format!("http://{}", server.addr()),
                    None,
                    None,
                    Source::Cli,
                )
                .unwrap();
                client.login(username, MEMBER_PASSWORD).await.unwrap();
                client
            }
        }
    }

    async fn connection(&self, label: &str) -> String {
        self.client
            .create_connection(&NewConnection {
                label: label.into(),
                ..Default::default()
            })
            .await
            .unwrap()
            .connection
            .code
    }

    async fn audit(&self, target: &str) -> Vec<switchboard::model::AuditRecord> {
        self.service.store().audit_for(target, 100).await.unwrap()
    }

    async fn tree(&self) {
        for (code, parent) in [
            ("master", None),
            ("clothing", Some("master")),
            ("shoes", Some("clothing")),
            ("electronics", Some("master")),
        ] {
            self.client
                .create_category(&NewCategory {
                    code: code.into(),
                    label: code.to_uppercase(),
                    parent: parent.map(str::to_string),
                })
                .await
                .unwrap();
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
    r10_roles_are_created_renamed_given_permissions_and_deleted_with_an_audit_trail,
    r10_a_role_in_use_or_the_default_role_cannot_be_deleted,
    r11_groups_are_created_changed_and_deleted_and_all_stays_all,
    r11_categories_form_a_tree_and_only_unused_ones_are_deleted,
    r10_r11_bad_input_names_the_field_and_changes_nothing,
    r10_r11_a_connection_gets_a_role_and_a_group_through_its_patch,
    r20_members_read_roles_and_groups_and_set_them_only_on_connections_they_manage,
);

fn status<T>(r: &Result<T, ClientError>) -> u16 {
    match r {
        Ok(_) => 200,
        Err(e) => e.status().unwrap_or(0),
    }
}

async fn r10_roles_are_created_renamed_given_permissions_and_deleted_with_an_audit_trail(
    b: Backend,
) {
    let roles = b.client.list_roles().await.unwrap();
    assert_eq!(roles.len(), 1);
    let user = &roles[0];
    assert_eq!((user.code.as_str(), user.default), ("User", true));
    assert_eq!(
        user.permissions,
        [Permission::ApiAccess, Permission::ProductsList]
    );
    let created = b
        .client
        .create_role(&NewRole {
            code: "read_only".into(),
            label: "  Read only ".into(),
            permissions: vec![
                Permission::ProductsList,
                Permission::ApiAccess,
                Permission::ApiAccess,
            ],
        })
        .await
        .unwrap();
    assert_eq!(created.label, "Read only");
    assert_eq!(
        created.permissions,
        [Permission::ApiAccess, Permission::ProductsList],
        "canonical order, once each"
    );
    assert!(!created.default && created.connection_count == 0);
    let renamed = b
        .client
        .update_role(
            "read_only",
            &RolePatch {
                label: Some("Reader".into()),
                version: Some(created.version),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!((renamed.label.as_str(), renamed.version), ("Reader", 2));
    // A change based on an old version is refused.
    let stale = b
        .client
        .update_role(
            "read_only",
            &RolePatch {
                label: Some("Late".into()),
                version: Some(created.version),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(
        (stale.status(), stale.field()),
        (Some(409), Some("version"))
    );
    let edited = b
        .client
        .set_role_permissions("read_only", Permission::VARIANTS)
        .await
        .unwrap();
    assert_eq!(edited.permissions, Permission::VARIANTS);
    assert_eq!(b.client.get_role("read_only").await.unwrap(), edited);
    b.client.delete_role("read_only").await.unwrap();
    assert_eq!(status(&b.client.get_role("read_only").await), 404);
    assert_eq!(status(&b.client.delete_role("read_only").await), 404);
    let trail: Vec<String> = b
        .audit("role:read_only")
        .await
        .into_iter()
        .map(|r| r.action)
        .collect();
    assert_eq!(
        trail,
        ["role.delete", "role.update", "role.update", "role.create"]
    );
    let perms = b.audit("role:read_only").await;
    let change = perms[1]
        .changes
        .iter()
        .find(|c| c.field == "permissions")
        .unwrap();
    assert_eq!(change.old.as_deref(), Some("api.access, products.list"));
    assert_eq!(
        change.new.as_deref(),
        Some("api.access, products.list, products.edit, products.remove")
    );
}

async fn r10_a_role_in_use_or_the_default_role_cannot_be_deleted(b: Backend) {
    b.client
        .create_role(&NewRole {
            code: "feeds".into(),
            label: "Feeds".into(),
            permissions: vec![Permission::ApiAccess],
        })
        .await
        .unwrap();
    let a = b.connection("Feed A").await;
    let c = b.connection("Feed B").await;
    for code in [&a, &c] {
        b.client
            .set_connection_permissions(code, Some("feeds"), None)
            .await
            .unwrap();
    }
    let role = b.client.get_role("feeds").await.unwrap();
    assert_eq!(role.connection_count, 2);
    assert_eq!(role.connections, [a.clone(), c.clone()]);
    let err = b.client.delete_role("feeds").await.unwrap_err();
    assert_eq!((err.status(), err.field()), (Some(409), Some("role")));
    assert!(
        err.to_string().contains("2 connections (feed_a, feed_b)"),
        "{err}"
    );
    assert!(b.client.get_role("feeds").await.is_ok());
    let err = b.client.delete_role("User").await.unwrap_err();
    assert_eq!(err.status(), Some(409));
    assert!(err.to_string().contains("default role"), "{err}");
    // Once no connection has it, it goes.
    for code in [&a, &c] {
        b.client
            .set_connection_permissions(code, Some("User"), None)
            .await
            .unwrap();
    }
    b.client.delete_role("feeds").await.unwrap();
}

async fn r11_groups_are_created_changed_and_deleted_and_all_stays_all(b: Backend) {
    b.tree().await;
    let groups = b.client.list_groups().await.unwrap();
    assert_eq!(groups.len(), 1);
    assert!(groups[0].everything && groups[0].default && groups[0].code == "All");
    let empty = b
        .client
        .create_group(&NewGroup {
            code: "suppliers".into(),
            label: "Suppliers".into(),
            permissions: vec![],
        })
        .await
        .unwrap();
    assert!(empty.permissions.is_empty() && !empty.everything);
    let grants = vec![
        CategoryGrant {
            category: "shoes".into(),
            level: CategoryLevel::Edit,
        },
        CategoryGrant {
            category: "clothing".into(),
            level: CategoryLevel::View,
        },
    ];
    let changed = b
        .client
        .set_group_permissions("suppliers", &grants)
        .await
        .unwrap();
    assert_eq!(
        changed.permissions,
        [grants[1].clone(), grants[0].clone()],
        "in category order"
    );
    let renamed = b
        .client
        .update_group(
            "suppliers",
            &GroupPatch {
                label: Some("Shoe suppliers".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(renamed.permissions, changed.permissions);
    // `All` grants everything, now and later: its grants do not change.
    let err = b
        .client
        .set_group_permissions("All", &grants)
        .await
        .unwrap_err();
    assert_eq!(
        (err.status(), err.field()),
        (Some(400), Some("permissions"))
    );
    assert_eq!(status(&b.client.delete_group("All").await), 409);
    let used = b.connection("Supplier portal").await;
    b.client
        .set_connection_permissions(&used, None, Some("suppliers"))
        .await
        .unwrap();
    let err = b.client.delete_group("suppliers").await.unwrap_err();
    assert_eq!((err.status(), err.field()), (Some(409), Some("group")));
    assert!(err.to_string().contains("supplier_portal"), "{err}");
    b.client.delete_connection(&used).await.unwrap();
    b.client.delete_group("suppliers").await.unwrap();
    let trail: Vec<String> = b
        .audit("group:suppliers")
        .await
        .into_iter()
        .map(|r| r.action)
        .collect();
    assert_eq!(
        trail,
        [
            "group.delete",
            "group.update",
            "group.update",
            "group.create"
        ]
    );
}

async fn r11_categories_form_a_tree_and_only_unused_ones_are_deleted(b: Backend) {
    b.tree().await;
    let codes: Vec<(String, Option<String>)> = b
        .client
        .list_categories()
        .await
        .unwrap()
        .into_iter()
        .map(|c| (c.code, c.parent))
        .collect();
    assert_eq!(
        codes,
        [
            ("master".to_string(), None),
            ("clothing".to_string(), Some("master".to_string())),
            ("shoes".to_string(), Some("clothing".to_string())),
            ("electronics".to_string(), Some("master".to_string())),
        ],
        "parents before their children"
    );
    let renamed = b.client.rename_category("shoes", "Footwear").await.unwrap();
    assert_eq!(renamed.label, "Footwear");
    let err = b.client.delete_category("clothing").await.unwrap_err();
    assert_eq!(err.status(), Some(409));
    assert!(err.to_string().contains("shoes"), "{err}");
    b.client
        .create_group(&NewGroup {
            code: "phones".into(),
            label: "Phones".into(),
            permissions: vec![CategoryGrant {
                category: "electronics".into(),
                level: CategoryLevel::View,
            }],
        })
        .await
        .unwrap();
    let err = b.client.delete_category("electronics").await.unwrap_err();
    assert_eq!(err.status(), Some(409));
    assert!(err.to_string().contains("phones"), "{err}");
    b.service
        .store()
        .insert_products(&[(
            ProductRow {
                uuid: String::new(),
                identifier: "boot-1".into(),
                enabled: true,
                family: None,
                categories: vec!["shoes".into()],
                values: ProductRow::values_from(&Default::default()),
                created_ms: 0,
                updated_ms: 0,
                relations: Default::default(),
            },
            1,
        )])
        .await
        .unwrap();
    let err = b.client.delete_category("shoes").await.unwrap_err();
    assert_eq!(err.status(), Some(409));
    assert!(err.to_string().contains("1 product"), "{err}");
    b.client
        .create_category(&NewCategory {
            code: "spare".into(),
            label: "Spare".into(),
            parent: Some("master".into()),
        })
        .await
        .unwrap();
    b.client.delete_category("spare").await.unwrap();
    assert_eq!(status(&b.client.get_category("spare").await), 404);
    assert_eq!(b.client.list_categories().await.unwrap().len(), 4);
}

async fn r10_r11_bad_input_names_the_field_and_changes_nothing(b: Backend) {
    b.tree().await;
    let conn = b.connection("Shop").await;
    let before = (
        serde_json::to_value(b.client.list_roles().await.unwrap()).unwrap(),
        serde_json::to_value(b.client.list_groups().await.unwrap()).unwrap(),
        serde_json::to_value(b.client.list_categories().await.unwrap()).unwrap(),
        serde_json::to_value(b.client.get_connection(&conn).await.unwrap()).unwrap(),
    );
    let role = |code: &str, label: &str| NewRole {
        code: code.into(),
        label: label.into(),
        permissions: vec![],
    };
    for (new, field) in [
        (role("ab", "Short"), "code"),
        (role("read only", "Spaces"), "code"),
        (role("fine_code", "   "), "label"),
        (role("fine_code", &"x".repeat(101)), "label"),
    ] {
        let err = b.client.create_role(&new).await.unwrap_err();
        assert_eq!(
            (err.status(), err.field()),
            (Some(400), Some(field)),
            "{err}"
        );
    }
    let err = b
        .client
        .create_role(&role("User", "Again"))
        .await
        .unwrap_err();
    assert_eq!((err.status(), err.field()), (Some(409), Some("code")));
    let raw = |path: &str, body: &str| {
        let c = b.client.clone();
        let (path, body) = (path.to_string(), body.to_string());
        async move {
            let resp = c
                .raw(Method::POST, &path, Some(Bytes::from(body)))
                .await
                .unwrap();
            let v: Value = serde_json::from_slice(&resp.body).unwrap();
            (resp.status, v["field"].as_str().unwrap_or("").to_string())
        }
    };
    let (st, field) = raw(
        "/api/v1/roles",
        r#"{"code":"x_role","label":"X","permissions":["products.fly"]}"#,
    )
    .await;
    assert_eq!(st, 400);
    assert!(field.starts_with("permissions"), "{field}");
    let (st, field) = raw(
        "/api/v1/roles",
        r#"{"code":"x_role","label":"X","colour":1}"#,
    )
    .await;
    assert_eq!((st, field.as_str()), (400, "colour"));
    let group = |grants: Vec<CategoryGrant>| NewGroup {
        code: "some_group".into(),
        label: "Some".into(),
        permissions: grants,
    };
    let grant = |c: &str, l| CategoryGrant {
        category: c.into(),
        level: l,
    };
    for grants in [
        vec![grant("nowhere", CategoryLevel::View)],
        vec![
            grant("shoes", CategoryLevel::View),
            grant("shoes", CategoryLevel::Edit),
        ],
    ] {
        let err = b.client.create_group(&group(grants)).await.unwrap_err();
        assert_eq!(
            (err.status(), err.field()),
            (Some(400), Some("permissions")),
            "{err}"
        );
    }
    let (st, field) = raw(
        "/api/v1/groups",
        r#"{"code":"g_x","label":"G","permissions":[{"category":"shoes","level":"own"}]}"#,
    )
    .await;
    assert_eq!(st, 400);
    assert!(field.starts_with("permissions"), "{field}");
    for (new, field, st) in [
        (("bad code", "Bad", None), "code", 400),
        (("fine", "", None), "label", 400),
        (("fine", "Fine", Some("nowhere")), "parent", 400),
        (("shoes", "Again", None), "code", 409),
    ] {
        let err = b
            .client
            .create_category(&NewCategory {
                code: new.0.into(),
                label: new.1.into(),
                parent: new.2.map(str::to_string),
            })
            .await
            .unwrap_err();
        assert_eq!(
            (err.status(), err.field()),
            (Some(st), Some(field)),
            "{err}"
        );
    }
    for (role, group, field) in [
        (Some("nope"), None, "role"),
        (None, Some("nope"), "group"),
        (Some("User"), Some("nope"), "group"),
    ] {
        let err = b
            .client
            .set_connection_permissions(&conn, role, group)
            .await
            .unwrap_err();
        assert_eq!(
            (err.status(), err.field()),
            (Some(400), Some(field)),
            "{err}"
        );
        assert!(err.to_string().contains("\"nope\" does not exist"), "{err}");
    }
    let after = (
        serde_json::to_value(b.client.list_roles().await.unwrap()).unwrap(),
        serde_json::to_value(b.client.list_groups().await.unwrap()).unwrap(),
        serde_json::to_value(b.client.list_categories().await.unwrap()).unwrap(),
        serde_json::to_value(b.client.get_connection(&conn).await.unwrap()).unwrap(),
    );
    assert_eq!(before, after);
}

async fn r10_r11_a_connection_gets_a_role_and_a_group_through_its_patch(b: Backend) {
    b.tree().await;
    b.client
        .create_role(&NewRole {
            code: "catalog_editor".into(),
            label: "Catalog editor".into(),
            permissions: Permission::VARIANTS.to_vec(),
        })
        .await
        .unwrap();
    b.client
        .create_group(&NewGroup {
            code: "marketing".into(),
            label: "Marketing".into(),
            permissions: vec![],
        })
        .await
        .unwrap();
    let code = b.connection("Shopify").await;
    let fresh = b.client.get_connection(&code).await.unwrap();
    assert_eq!((fresh.role.as_str(), fresh.group.as_str()), ("User", "All"));
    let changed = b
        .client
        .set_connection_permissions(&code, Some("catalog_editor"), Some("marketing"))
        .await
        .unwrap();
    assert_eq!(
        (changed.role.as_str(), changed.group.as_str()),
        ("catalog_editor", "marketing")
    );
    assert_eq!(changed.version, fresh.version + 1);
    let group = b.client.get_group("marketing").await.unwrap();
    assert_eq!(group.connections, std::slice::from_ref(&code));
    let record = &b.client.connection_audit(&code).await.unwrap()[0];
    assert_eq!(record.action, "connection.update");
    let fields: Vec<(&str, Option<&str>, Option<&str>)> = record
        .changes
        .iter()
        .map(|c| (c.field.as_str(), c.old.as_deref(), c.new.as_deref()))
        .collect();
    assert_eq!(
        fields,
        [
            ("role", Some("User"), Some("catalog_editor")),
            ("group", Some("All"), Some("marketing"))
        ]
    );
}

async fn r20_members_read_roles_and_groups_and_set_them_only_on_connections_they_manage(
    b: Backend,
) {
    let watched = b.connection("Watched").await;
    let managed = b.connection("Managed").await;
    let unseen = b.connection("Unseen").await;
    for (name, code) in [("Watch", &watched), ("Run", &managed)] {
        let i = b
            .client
            .create_integration(&NewIntegration {
                name: name.into(),
                code: None,
                kind: IntegrationKind::Standard,
            })
            .await
            .unwrap()
            .code;
        b.client
            .register(&i, std::slice::from_ref(code))
            .await
            .unwrap();
    }
    b.client
        .create_role(&NewRole {
            code: "read_only".into(),
            label: "Read only".into(),
            permissions: vec![Permission::ApiAccess, Permission::ProductsList],
        })
        .await
        .unwrap();
    let tom = b.member("tom").await;
    b.client
        .set_access("watch", "tom", Some(AccessLevel::Monitor))
        .await
        .unwrap();
    b.client
        .set_access("run", "tom", Some(AccessLevel::Manage))
        .await
        .unwrap();
    // Members read roles and groups, seeing only the connections they see.
    let roles = tom.list_roles().await.unwrap();
    let user = roles.iter().find(|r| r.code == "User").unwrap();
    assert_eq!(user.connection_count, 3);
    assert_eq!(user.connections, [managed.clone(), watched.clone()]);
    assert_eq!(tom.list_groups().await.unwrap().len(), 1);
    assert!(tom.list_categories().await.unwrap().is_empty());
    // Only owner and admins define them.
    let new_role = NewRole {
        code: "tom_role".into(),
        label: "Tom's".into(),
        permissions: vec![],
    };
    assert_eq!(status(&tom.create_role(&new_role).await), 403);
    assert_eq!(
        status(
            &tom.set_role_permissions("read_only", Permission::VARIANTS)
                .await
        ),
        403
    );
    assert_eq!(status(&tom.delete_role("read_only").await), 403);
    assert_eq!(
        status(
            &tom.create_group(&NewGroup {
                code: "tom_group".into(),
                label: "Tom's".into(),
                permissions: vec![],
            })
            .await
        ),
        403
    );
    assert_eq!(
        status(
            &tom.create_category(&NewCategory {
                code: "toms".into(),
                label: "Tom's".into(),
                parent: None,
            })
            .await
        ),
        403
    );
    // R20: a connection's permissions, only through an integration managed.
    let done = tom
        .set_connection_permissions(&managed, Some("read_only"), Some("All"))
        .await
        .unwrap();
    assert_eq!(done.role, "read_only");
    assert_eq!(
        status(
            &tom.set_connection_permissions(&watched, Some("read_only"), None)
                .await
        ),
        403
    );
    assert_eq!(
        status(
            &tom.set_connection_permissions(&unseen, Some("read_only"), None)
                .await
        ),
        404
    );
    for code in [&watched, &unseen] {
        assert_eq!(b.client.get_connection(code).await.unwrap().role, "User");
    }
}
