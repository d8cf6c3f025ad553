//! The products Web API (R22) against a real server on a loopback port,
//! through an ordinary HTTP client, as a PIM API client would call it: each
//! call checked against the connection's role (R10) and group (R11), the
//! changes of either holding from the very next call, PIM-shaped pages,
//! errors and PATCH semantics, and the per-connection rate limit.

use std::sync::Arc;
use strum::VariantArray;

use base64::Engine as _;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use switchboard::client::Client;
use switchboard::model::{
    CategoryGrant, CategoryLevel, NewCategory, NewConnection, NewGroup, NewRole, Permission, Source,
};
use switchboard::server::products::Links;
use switchboard::server::serve::{self, Running};
use switchboard::service::Service;
use switchboard::store::Location;
use tempfile::TempDir;

mod common;
use common::Engine;

const OWNER_PASSWORD: &str = "correct horse battery";

struct Env {
    url: String,
    /// Where the store lives, for a second instance on the same database.
    location: Location,
    admin: Client,
    http: reqwest::Client,
    _running: Running,
    _dir: TempDir,
}

/// One answer of the Web API.
#[derive(Debug)]
struct Answer {
    status: u16,
    headers: HeaderMap,
    body: Value,
}

impl Answer {
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    fn message(&self) -> &str {
        self.body["message"].as_str().unwrap_or("")
    }

    /// The identifiers of a page's items.
    fn identifiers(&self) -> Vec<String> {
        self.body["_embedded"]["items"]
            .as_array()
            .unwrap_or_else(|| panic!("not a page: {}", self.body))
            .iter()
            .map(|i| i["identifier"].as_str().unwrap().to_string())
            .collect()
    }

    #[track_caller]
    fn assert_status(&self, status: u16) -> &Self {
        assert_eq!(self.status, status, "{}", self.body);
        if status >= 400 {
            assert_eq!(self.body["code"], status, "{}", self.body);
            assert!(!self.message().is_empty());
        }
        self
    }
}

async fn env_with(engine: Engine, rate: u32, burst: u32) -> Env {
    env_links(engine, rate, burst, Links::default()).await
}

/// A server whose links follow `links` (`serve --public-url`,
/// `--trusted-proxy`).
async fn env_links(engine: Engine, rate: u32, burst: u32, links: Links) -> Env {
    let dir = tempfile::tempdir().unwrap();
    let location = common::location(engine, dir.path()).await;
    let store = common::open_at(&location, dir.path()).await;
    let svc = Arc::new(Service::new(store).with_rate_limit(rate, burst));
    svc.prepare_owner(Some("alice"), Some(OWNER_PASSWORD.to_string().into()))
        .await
        .unwrap();
    let running = serve::start_app_with(
        serve::app(svc),
        "127.0.0.1:0".parse().unwrap(),
        None,
        serve::ServeConfig {
            links: Arc::new(links),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let url = format!("http://{}", running.addr());
    let admin = Client::http(&url, None, None, Source::Cli).unwrap();
    admin.login("alice", OWNER_PASSWORD).await.unwrap();
    Env {
        url,
        location,
        admin,
        http: reqwest::Client::new(),
        _running: running,
        _dir: dir,
    }
}

async fn env(engine: Engine) -> Env {
    env_with(engine, 0, 0).await
}

/// A connection's access token, and its code.
struct Conn {
    code: String,
    token: String,
}

impl Env {
    /// A new connection with this role and group, and a token for it.
    async fn conn(&self, label: &str, role: &str, group: &str) -> Conn {
        let created = self
            .admin
            .create_connection(&NewConnection {
                label: label.into(),
                ..Default::default()
            })
            .await
            .unwrap();
        let c = &created.connection;
        self.admin
            .set_connection_permissions(&c.code, Some(role), Some(group))
            .await
            .unwrap();
        let basic = base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{}", c.client_id, created.secret));
        let token: Value = self
            .http
            .post(format!("{}/api/oauth/v1/token", self.url))
            .header("authorization", format!("Basic {basic}"))
            .json(&json!({"grant_type": "password", "username": c.username, "password": created.password}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        Conn {
            code: c.code.clone(),
            token: token["access_token"].as_str().unwrap().to_string(),
        }
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> Answer {
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Answer {
            status,
            headers,
            body,
        }
    }

    fn at(&self, path: &str) -> String {
        if path.starts_with("http") {
            path.to_string()
        } else {
            format!("{}{path}", self.url)
        }
    }

    async fn get(&self, c: &Conn, path: &str) -> Answer {
        self.send(self.http.get(self.at(path)).bearer_auth(&c.token))
            .await
    }

    async fn list(&self, c: &Conn, query: &str) -> Answer {
        self.get(c, &format!("/api/rest/v1/products{query}")).await
    }

    async fn post(&self, c: &Conn, body: Value) -> Answer {
        self.send(
            self.http
                .post(self.at("/api/rest/v1/products"))
                .bearer_auth(&c.token)
                .json(&body),
        )
        .await
    }

    async fn patch(&self, c: &Conn, identifier: &str, body: Value) -> Answer {
        self.send(
            self.http
                .patch(self.at(&format!("/api/rest/v1/products/{identifier}")))
                .bearer_auth(&c.token)
                .json(&body),
        )
        .await
    }

    async fn delete(&self, c: &Conn, identifier: &str) -> Answer {
        self.send(
            self.http
                .delete(self.at(&format!("/api/rest/v1/products/{identifier}")))
                .bearer_auth(&c.token),
        )
        .await
    }

    async fn category(&self, code: &str, parent: Option<&str>) {
        self.admin
            .create_category(&NewCategory {
                code: code.into(),
                label: code.replace('_', " "),
                parent: parent.map(str::to_string),
            })
            .await
            .unwrap();
    }

    async fn role(&self, code: &str, permissions: &[Permission]) {
        self.admin
            .create_role(&NewRole {
                code: code.into(),
                label: code.replace('_', " "),
                permissions: permissions.to_vec(),
            })
            .await
            .unwrap();
    }

    async fn group(&self, code: &str, grants: &[(&str, CategoryLevel)]) {
        self.admin
            .create_group(&NewGroup {
                code: code.into(),
                label: code.replace('_', " "),
                permissions: grants
                    .iter()
                    .map(|(c, l)| CategoryGrant {
                        category: c.to_string(),
                        level: *l,
                    })
                    .collect(),
            })
            .await
            .unwrap();
    }

    /// master > clothing > {shoes > boots, shirts}; master > electronics >
    /// phones; a role with every permission; products in each, one in two
    /// branches, one in none. Returns a connection with everything.
    async fn catalog(&self) -> Conn {
        self.category("master", None).await;
        self.category("clothing", Some("master")).await;
        self.category("shoes", Some("clothing")).await;
        self.category("boots", Some("shoes")).await;
        self.category("shirts", Some("clothing")).await;
        self.category("electronics", Some("master")).await;
        self.category("phones", Some("electronics")).await;
        self.role("catalog_editor", Permission::VARIANTS).await;
        let full = self.conn("Catalog loader", "catalog_editor", "All").await;
        for (id, cats) in [
            ("boot-1", json!(["boots"])),
            ("shoe-1", json!(["shoes"])),
            ("shirt-1", json!(["shirts"])),
            ("phone-1", json!(["phones"])),
            ("shirt-phone", json!(["shirts", "phones"])),
        ] {
            self.post(&full, json!({"identifier": id, "categories": cats}))
                .await
                .assert_status(201);
        }
        full
    }
}

fn all_but(p: Permission) -> Vec<Permission> {
    Permission::VARIANTS
        .iter()
        .copied()
        .filter(|x| *x != p)
        .collect()
}

#[rstest::rstest]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r10_each_missing_permission_refuses_exactly_the_calls_that_need_it(
    #[values(Engine::Sqlite, Engine::Postgres)] engine: Engine,
) {
    let e = env(engine).await;
    let full = e.catalog().await;
    for &p in Permission::VARIANTS {
        e.role(
            &format!("without_{}", p.as_str().replace('.', "_")),
            &all_but(p),
        )
        .await;
    }
    let probe = e.conn("Probe", "catalog_editor", "All").await;
    for (i, missing) in Permission::VARIANTS.iter().copied().enumerate() {
        let role = format!("without_{}", missing.as_str().replace('.', "_"));
        // The same token throughout: the new role holds from the next call.
        e.admin
            .set_connection_permissions(&probe.code, Some(&role), None)
            .await
            .unwrap();
        // The root lists exactly the routes the role permits (issue 16).
        if missing != Permission::ApiAccess {
            let root = e.get(&probe, "/api/rest/v1").await;
            root.assert_status(200);
            let routes = &root.body["routes"];
            assert_eq!(routes["root"]["route"], "/api/rest/v1");
            for (name, method, needs) in [
                ("pim_api_product_list", "GET", Permission::ProductsList),
                ("pim_api_product_get", "GET", Permission::ProductsList),
                ("pim_api_product_create", "POST", Permission::ProductsEdit),
                (
                    "pim_api_product_partial_update",
                    "PATCH",
                    Permission::ProductsEdit,
                ),
                (
                    "pim_api_product_delete",
                    "DELETE",
                    Permission::ProductsRemove,
                ),
            ] {
                assert_eq!(
                    routes.get(name).is_some(),
                    needs != missing,
                    "{name} without {missing}: {routes}"
                );
                if needs != missing {
                    assert_eq!(routes[name]["methods"][0], method, "{routes}");
                }
            }
        }
        let victim = format!("victim-{i}");
        e.post(
            &full,
            json!({"identifier": victim, "categories": ["shoes"]}),
        )
        .await
        .assert_status(201);
        let calls: [(&str, Vec<Permission>, Answer); 6] = [
            (
                "root",
                vec![Permission::ApiAccess],
                e.get(&probe, "/api/rest/v1").await,
            ),
            (
                "list",
                vec![Permission::ApiAccess, Permission::ProductsList],
                e.list(&probe, "").await,
            ),
            (
                "get",
                vec![Permission::ApiAccess, Permission::ProductsList],
                e.get(&probe, "/api/rest/v1/products/boot-1").await,
            ),
            (
                "create",
                vec![Permission::ApiAccess, Permission::ProductsEdit],
                e.post(&probe, json!({"identifier": format!("new-{i}")}))
                    .await,
            ),
            (
                "update",
                vec![Permission::ApiAccess, Permission::ProductsEdit],
                e.patch(&probe, "boot-1", json!({"enabled": i % 2 == 0}))
                    .await,
            ),
            (
                "delete",
                vec![Permission::ApiAccess, Permission::ProductsRemove],
                e.delete(&probe, &victim).await,
            ),
        ];
        for (call, needs, answer) in calls {
            if needs.contains(&missing) {
                answer.assert_status(403);
                assert!(
                    answer
                        .message()
                        .contains(&format!("needs the {missing} permission")),
                    "{call} without {missing}: {}",
                    answer.body
                );
            } else {
                assert!(
                    (200..300).contains(&answer.status),
                    "{call} without {missing} should succeed: {} {}",
                    answer.status,
                    answer.body
                );
            }
        }
    }
}

#[rstest::rstest]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r10_a_new_role_or_changed_permissions_hold_from_the_next_call(
    #[values(Engine::Sqlite, Engine::Postgres)] engine: Engine,
) {
    let e = env(engine).await;
    e.catalog().await;
    e.role(
        "read_only",
        &[Permission::ApiAccess, Permission::ProductsList],
    )
    .await;
    let c = e.conn("Shop", "catalog_editor", "All").await;
    e.patch(&c, "boot-1", json!({"family": "boots"}))
        .await
        .assert_status(204);
    // Another role without products.edit: the very next update is refused.
    e.admin
        .set_connection_permissions(&c.code, Some("read_only"), None)
        .await
        .unwrap();
    let refused = e.patch(&c, "boot-1", json!({"family": "shoes"})).await;
    refused.assert_status(403);
    assert!(
        refused
            .message()
            .contains("needs the products.edit permission")
    );
    assert!(refused.message().contains("read_only"));
    e.list(&c, "").await.assert_status(200);
    // The role itself changes: the next call sees that too.
    e.admin
        .set_role_permissions(
            "read_only",
            &[
                Permission::ApiAccess,
                Permission::ProductsList,
                Permission::ProductsEdit,
            ],
        )
        .await
        .unwrap();
    e.patch(&c, "boot-1", json!({"family": "shoes"}))
        .await
        .assert_status(204);
    e.admin
        .set_role_permissions("read_only", &[Permission::ProductsList])
        .await
        .unwrap();
    let no_access = e.list(&c, "").await;
    no_access.assert_status(403);
    assert!(
        no_access
            .message()
            .contains("needs the api.access permission")
    );
}

#[rstest::rstest]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r11_a_new_empty_group_lists_no_products_from_the_next_call(
    #[values(Engine::Sqlite, Engine::Postgres)] engine: Engine,
) {
    let e = env(engine).await;
    let full = e.catalog().await;
    let c = e.conn("Feed", "catalog_editor", "All").await;
    assert_eq!(e.list(&c, "?limit=100").await.identifiers().len(), 5);
    e.group("nothing_yet", &[]).await;
    e.admin
        .set_connection_permissions(&c.code, None, Some("nothing_yet"))
        .await
        .unwrap();
    let empty = e.list(&c, "").await;
    empty.assert_status(200);
    assert!(empty.identifiers().is_empty(), "{}", empty.body);
    // Not an error: the products simply do not exist for it.
    e.get(&c, "/api/rest/v1/products/boot-1")
        .await
        .assert_status(404);
    e.patch(&c, "boot-1", json!({"enabled": false}))
        .await
        .assert_status(404);
    e.delete(&c, "boot-1").await.assert_status(404);
    // Nothing changed for those who see it.
    assert_eq!(
        e.get(&full, "/api/rest/v1/products/boot-1").await.body["enabled"],
        true
    );
}

#[rstest::rstest]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r11_view_reads_edit_changes_and_a_grant_reaches_the_subtree(
    #[values(Engine::Sqlite, Engine::Postgres)] engine: Engine,
) {
    let e = env(engine).await;
    let full = e.catalog().await;
    e.group("marketing", &[("clothing", CategoryLevel::View)])
        .await;
    e.group(
        "suppliers",
        &[
            ("clothing", CategoryLevel::View),
            ("shoes", CategoryLevel::Edit),
        ],
    )
    .await;
    let viewer = e
        .conn("Marketing site", "catalog_editor", "marketing")
        .await;
    let supplier = e.conn("Shoe supplier", "catalog_editor", "suppliers").await;
    // view on clothing reaches boots, shoes and shirts, nothing else.
    assert_eq!(
        e.list(&viewer, "").await.identifiers(),
        ["boot-1", "shirt-1", "shirt-phone", "shoe-1"]
    );
    e.get(&viewer, "/api/rest/v1/products/boot-1")
        .await
        .assert_status(200);
    e.get(&viewer, "/api/rest/v1/products/phone-1")
        .await
        .assert_status(404);
    // view only: no change, and no delete.
    let refused = e.patch(&viewer, "boot-1", json!({"enabled": false})).await;
    refused.assert_status(403);
    assert!(refused.message().contains("may only view"));
    e.delete(&viewer, "boot-1").await.assert_status(403);
    // edit on shoes reaches boots (subtree), not shirts (only view).
    e.patch(&supplier, "boot-1", json!({"enabled": false}))
        .await
        .assert_status(204);
    e.patch(&supplier, "shirt-1", json!({"enabled": false}))
        .await
        .assert_status(403);
    // A product it creates must stay where it may edit.
    e.post(
        &supplier,
        json!({"identifier": "shirt-2", "categories": ["shirts"]}),
    )
    .await
    .assert_status(422);
    e.post(
        &supplier,
        json!({"identifier": "boot-2", "categories": ["boots"]}),
    )
    .await
    .assert_status(201);
    // A category it cannot see does not exist for it.
    let hidden = e
        .post(
            &supplier,
            json!({"identifier": "phone-2", "categories": ["phones"]}),
        )
        .await;
    hidden.assert_status(422);
    assert_eq!(hidden.body["errors"][0]["property"], "categories");
    // Categories it cannot see are left out of what it reads, and kept when
    // it replaces the categories.
    let both = e.get(&viewer, "/api/rest/v1/products/shirt-phone").await;
    assert_eq!(both.body["categories"], json!(["shirts"]));
    e.admin
        .set_group_permissions(
            "marketing",
            &[CategoryGrant {
                category: "clothing".into(),
                level: CategoryLevel::Edit,
            }],
        )
        .await
        .unwrap();
    e.patch(&viewer, "shirt-phone", json!({"categories": ["shoes"]}))
        .await
        .assert_status(204);
    let seen_by_all = e.get(&full, "/api/rest/v1/products/shirt-phone").await;
    assert_eq!(seen_by_all.body["categories"], json!(["shoes", "phones"]));
    assert_eq!(
        e.list(
            &viewer,
            r#"?search={"categories":[{"operator":"IN CHILDREN","value":["shoes"]}]}"#
        )
        .await
        .identifiers(),
        ["boot-1", "boot-2", "shirt-phone", "shoe-1"]
    );
}

#[rstest::rstest]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r11_all_sees_everything_also_categories_created_later_and_uncategorized_products_are_everyones(
    #[values(Engine::Sqlite, Engine::Postgres)] engine: Engine,
) {
    let e = env(engine).await;
    let full = e.catalog().await;
    e.category("garden", None).await;
    e.post(
        &full,
        json!({"identifier": "hose-1", "categories": ["garden"]}),
    )
    .await
    .assert_status(201);
    let all = e.conn("Everything", "User", "All").await;
    assert_eq!(e.list(&all, "").await.identifiers().len(), 6);
    e.get(&all, "/api/rest/v1/products/hose-1")
        .await
        .assert_status(200);
    // A product in no category: visible to every group (the PIM's rule).
    e.post(&full, json!({"identifier": "loose-1"}))
        .await
        .assert_status(201);
    e.group("nothing", &[]).await;
    let none = e.conn("Nothing", "catalog_editor", "nothing").await;
    assert_eq!(e.list(&none, "").await.identifiers(), ["loose-1"]);
    e.patch(&none, "loose-1", json!({"enabled": false}))
        .await
        .assert_status(204);
}

#[rstest::rstest]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r22_pages_link_first_previous_and_next_with_absolute_hrefs(
    #[values(Engine::Sqlite, Engine::Postgres)] engine: Engine,
) {
    let e = env(engine).await;
    let full = e.catalog().await;
    for i in 0..20 {
        e.post(&full, json!({"identifier": format!("p-{i:02}")}))
            .await
            .assert_status(201);
    }
    // 25 products, pages of 10.
    let first = e.list(&full, "?limit=10&with_count=true").await;
    first.assert_status(200);
    assert_eq!(first.body["current_page"], 1);
    assert_eq!(first.body["items_count"], 25);
    let links = &first.body["_links"];
    let base = format!("{}/api/rest/v1/products?", e.url);
    for name in ["self", "first", "next"] {
        assert!(
            links[name]["href"].as_str().unwrap().starts_with(&base),
            "{links}"
        );
    }
    assert!(links["previous"].is_null(), "{links}");
    let item = &first.body["_embedded"]["items"][0];
    assert_eq!(
        item["_links"]["self"]["href"],
        format!(
            "{}/api/rest/v1/products/{}",
            e.url,
            item["identifier"].as_str().unwrap()
        )
    );
    let mut seen = first.identifiers();
    let second = e
        .get(
            &full,
            first.body["_links"]["next"]["href"].as_str().unwrap(),
        )
        .await;
    assert_eq!(second.body["current_page"], 2);
    assert!(
        second.body["_links"]["previous"]["href"]
            .as_str()
            .unwrap()
            .contains("page=1")
    );
    seen.extend(second.identifiers());
    let third = e
        .get(
            &full,
            second.body["_links"]["next"]["href"].as_str().unwrap(),
        )
        .await;
    assert!(third.body["_links"]["next"].is_null());
    assert_eq!(third.identifiers().len(), 5);
    seen.extend(third.identifiers());
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(seen, sorted, "identifier order, no repeats");
    assert_eq!(seen.len(), 25);
    let back = e
        .get(
            &full,
            third.body["_links"]["previous"]["href"].as_str().unwrap(),
        )
        .await;
    assert_eq!(back.identifiers(), second.identifiers());
    // search_after: follow the next links to the end.
    let mut cursor = e.list(&full, "?pagination_type=search_after&limit=7").await;
    let mut all = cursor.identifiers();
    while let Some(next) = cursor.body["_links"]["next"]["href"].as_str() {
        cursor = e.get(&full, next).await;
        all.extend(cursor.identifiers());
    }
    assert_eq!(all, seen);
    // A search travels in the links.
    let search = r#"{"identifier":[{"operator":"IN","value":["p-01","p-02","p-03"]}]}"#;
    let one = e.list(&full, &format!("?limit=2&search={search}")).await;
    assert_eq!(one.identifiers(), ["p-01", "p-02"]);
    let rest = e
        .get(&full, one.body["_links"]["next"]["href"].as_str().unwrap())
        .await;
    assert_eq!(rest.identifiers(), ["p-03"]);
}

#[rstest::rstest]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r22_bad_limit_bad_json_wrong_type_oversized_body_and_unknown_product(
    #[values(Engine::Sqlite, Engine::Postgres)] engine: Engine,
) {
    let e = env(engine).await;
    let full = e.catalog().await;
    for bad in ["0", "101", "abc", "-1"] {
        let a = e.list(&full, &format!("?limit={bad}")).await;
        a.assert_status(400);
        assert!(a.message().contains("limit"), "{}", a.body);
    }
    e.list(&full, "?limit=100").await.assert_status(200);
    let not_json = e
        .send(
            e.http
                .post(e.at("/api/rest/v1/products"))
                .bearer_auth(&full.token)
                .header("content-type", "application/json")
                .body("{\"identifier\": \"x\""),
        )
        .await;
    not_json.assert_status(400);
    assert!(not_json.message().contains("Invalid json"));
    let text = e
        .send(
            e.http
                .post(e.at("/api/rest/v1/products"))
                .bearer_auth(&full.token)
                .header("content-type", "text/plain")
                .body("{}"),
        )
        .await;
    text.assert_status(415);
    let none = e
        .send(
            e.http
                .patch(e.at("/api/rest/v1/products/x"))
                .bearer_auth(&full.token)
                .body("{}"),
        )
        .await;
    none.assert_status(415);
    let huge = format!(
        "{{\"identifier\":\"big\",\"values\":{{\"note\":[{{\"locale\":null,\"scope\":null,\"data\":\"{}\"}}]}}}}",
        "x".repeat(2 * 1024 * 1024)
    );
    let big = e
        .send(
            e.http
                .post(e.at("/api/rest/v1/products"))
                .bearer_auth(&full.token)
                .header("content-type", "application/json")
                .body(huge),
        )
        .await;
    big.assert_status(413);
    let unknown = e.get(&full, "/api/rest/v1/products/nothing-here").await;
    unknown.assert_status(404);
    assert!(unknown.message().contains("nothing-here"));
    e.delete(&full, "nothing-here").await.assert_status(404);
    let search = e.list(&full, "?search={nope").await;
    search.assert_status(400);
    e.list(
        &full,
        r#"?search={"colour":[{"operator":"LIKE","value":"red"}]}"#,
    )
    .await
    .assert_status(422);
    e.list(
        &full,
        r#"?search={"categories":[{"operator":"IN","value":["nowhere"]}]}"#,
    )
    .await
    .assert_status(422);
    let wrong_method = e
        .send(
            e.http
                .put(e.at("/api/rest/v1/products/boot-1"))
                .bearer_auth(&full.token),
        )
        .await;
    wrong_method.assert_status(405);
}

#[rstest::rstest]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r22_create_answers_201_with_location_and_refuses_duplicates_and_bad_products(
    #[values(Engine::Sqlite, Engine::Postgres)] engine: Engine,
) {
    let e = env(engine).await;
    let full = e.catalog().await;
    let created = e
        .post(
            &full,
            json!({"identifier": "mug-1", "family": "mugs", "categories": ["master"],
                   "values": {"name": [{"locale": "en_US", "scope": null, "data": "Mug"}]}}),
        )
        .await;
    created.assert_status(201);
    assert_eq!(
        created.header("location"),
        format!("{}/api/rest/v1/products/mug-1", e.url)
    );
    let got = e.get(&full, created.header("location")).await;
    got.assert_status(200);
    assert_eq!(got.body["identifier"], "mug-1");
    assert_eq!(got.body["enabled"], true);
    assert_eq!(got.body["family"], "mugs");
    assert_eq!(got.body["categories"], json!(["master"]));
    assert_eq!(got.body["values"]["name"][0]["data"], "Mug");
    assert!(got.body["created"].as_str().unwrap().ends_with("+00:00"));
    let twice = e.post(&full, json!({"identifier": "mug-1"})).await;
    twice.assert_status(422);
    assert_eq!(twice.body["errors"][0]["property"], "identifier");
    let bad = e
        .post(
            &full,
            json!({"identifier": "mug-2", "enabled": "yes", "colour": "red",
                   "values": {"name": "Mug"}, "categories": ["nowhere"]}),
        )
        .await;
    bad.assert_status(422);
    let mut props: Vec<&str> = bad.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["property"].as_str().unwrap())
        .collect();
    props.sort();
    assert_eq!(props, ["colour", "enabled", "values"]);
    e.post(&full, json!({"enabled": true}))
        .await
        .assert_status(422);
    e.get(&full, "/api/rest/v1/products/mug-2")
        .await
        .assert_status(404);
}

#[rstest::rstest]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r22_patch_merges_values_replaces_fields_and_creates_what_is_missing(
    #[values(Engine::Sqlite, Engine::Postgres)] engine: Engine,
) {
    let e = env(engine).await;
    let full = e.catalog().await;
    e.post(
        &full,
        json!({"identifier": "mug-1", "family": "mugs", "categories": ["master"],
               "values": {
                   "name": [{"locale": "en_US", "scope": null, "data": "Mug"},
                            {"locale": "fr_FR", "scope": null, "data": "Tasse"}],
                   "color": [{"locale": null, "scope": null, "data": "red"}]}}),
    )
    .await
    .assert_status(201);
    let updated = e
        .patch(
            &full,
            "mug-1",
            json!({"enabled": false, "categories": ["shoes"],
                   "values": {
                       "name": [{"locale": "fr_FR", "scope": null, "data": "Grande tasse"}],
                       "weight": [{"locale": null, "scope": null, "data": 350}]}}),
        )
        .await;
    updated.assert_status(204);
    assert!(
        updated
            .header("location")
            .ends_with("/api/rest/v1/products/mug-1")
    );
    let got = e.get(&full, "/api/rest/v1/products/mug-1").await.body;
    assert_eq!(got["enabled"], false);
    assert_eq!(got["family"], "mugs", "absent: kept");
    assert_eq!(got["categories"], json!(["shoes"]), "given: replaced");
    assert_eq!(
        got["values"],
        json!({
            "name": [{"locale": "en_US", "scope": null, "data": "Mug"},
                     {"locale": "fr_FR", "scope": null, "data": "Grande tasse"}],
            "color": [{"locale": null, "scope": null, "data": "red"}],
            "weight": [{"locale": null, "scope": null, "data": 350}]
        })
    );
    // An empty patch changes nothing but the update time.
    e.patch(&full, "mug-1", json!({})).await.assert_status(204);
    assert_eq!(
        e.get(&full, "/api/rest/v1/products/mug-1").await.body["values"],
        got["values"]
    );
    // Missing: created (201), then updated (204).
    let made = e.patch(&full, "cup-9", json!({"family": "cups"})).await;
    made.assert_status(201);
    assert!(
        made.header("location")
            .ends_with("/api/rest/v1/products/cup-9")
    );
    e.patch(&full, "cup-9", json!({"family": "mugs"}))
        .await
        .assert_status(204);
    let mismatch = e
        .patch(&full, "cup-9", json!({"identifier": "other"}))
        .await;
    mismatch.assert_status(422);
    assert!(mismatch.message().contains("must match"));
}

#[rstest::rstest]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r22_search_by_identifier_categories_enabled_and_family(
    #[values(Engine::Sqlite, Engine::Postgres)] engine: Engine,
) {
    let e = env(engine).await;
    let full = e.catalog().await;
    e.patch(
        &full,
        "shoe-1",
        json!({"enabled": false, "family": "shoes"}),
    )
    .await
    .assert_status(204);
    let q = |s: &str| format!("?search={s}");
    assert_eq!(
        e.list(
            &full,
            &q(r#"{"identifier":[{"operator":"IN","value":["boot-1","phone-1","nope"]}]}"#)
        )
        .await
        .identifiers(),
        ["boot-1", "phone-1"]
    );
    assert_eq!(
        e.list(
            &full,
            &q(r#"{"identifier":[{"operator":"=","value":"shoe-1"}]}"#)
        )
        .await
        .identifiers(),
        ["shoe-1"]
    );
    assert_eq!(
        e.list(
            &full,
            &q(r#"{"categories":[{"operator":"IN","value":["shirts"]}]}"#)
        )
        .await
        .identifiers(),
        ["shirt-1", "shirt-phone"]
    );
    assert_eq!(
        e.list(
            &full,
            &q(r#"{"categories":[{"operator":"IN CHILDREN","value":["clothing"]}],"enabled":[{"operator":"=","value":true}]}"#)
        )
        .await
        .identifiers(),
        ["boot-1", "shirt-1", "shirt-phone"]
    );
    assert_eq!(
        e.list(&full, &q(r#"{"family":[{"operator":"NOT EMPTY"}]}"#))
            .await
            .identifiers(),
        ["shoe-1"]
    );
    // UNCLASSIFIED alone (it takes no value) answered 500 (issue 16).
    let unclassified = e
        .list(&full, &q(r#"{"categories":[{"operator":"UNCLASSIFIED"}]}"#))
        .await;
    unclassified.assert_status(200);
    let classified = ["boot-1", "shirt-1", "shirt-phone", "shoe-1"];
    assert!(
        unclassified
            .identifiers()
            .iter()
            .all(|id| !classified.contains(&id.as_str())),
        "{:?}",
        unclassified.identifiers()
    );
    assert_eq!(
        e.list(
            &full,
            &q(r#"{"updated":[{"operator":"SINCE LAST N DAYS","value":1}]}"#)
        )
        .await
        .identifiers()
        .len(),
        5
    );
}

#[rstest::rstest]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r22_past_the_rate_limit_a_connection_gets_429_with_retry_after(
    #[values(Engine::Sqlite, Engine::Postgres)] engine: Engine,
) {
    let e = env_with(engine, 2, 5).await;
    e.role("catalog_editor", Permission::VARIANTS).await;
    let busy = e.conn("Busy", "catalog_editor", "All").await;
    let calm = e.conn("Calm", "catalog_editor", "All").await;
    let mut statuses = Vec::new();
    let mut retry_after = None;
    for _ in 0..12 {
        let a = e.list(&busy, "").await;
        if a.status == 429 {
            a.assert_status(429);
            retry_after = Some(a.header("retry-after").parse::<u64>().unwrap());
        }
        statuses.push(a.status);
    }
    assert!(statuses.iter().take(5).all(|s| *s == 200), "{statuses:?}");
    assert!(statuses.contains(&429), "{statuses:?}");
    assert!(retry_after.unwrap() >= 1);
    // Another connection has its own bucket.
    e.list(&calm, "").await.assert_status(200);
}

/// A connection of another process to the database, with the engine's own
/// client: rusqlite on the SQLite file, sqlx on the PostgreSQL schema.
enum RawConnection {
    Sqlite(rusqlite::Connection),
    Postgres(sqlx::PgConnection),
}

impl RawConnection {
    async fn open(location: &Location) -> RawConnection {
        match location {
            Location::Sqlite(db) => {
                let raw = rusqlite::Connection::open(db).unwrap();
                raw.busy_timeout(std::time::Duration::from_secs(5)).unwrap();
                RawConnection::Sqlite(raw)
            }
            Location::Postgres(url) => {
                use sqlx::Connection;
                RawConnection::Postgres(sqlx::PgConnection::connect(url).await.unwrap())
            }
        }
    }

    async fn execute(&mut self, sql: &str) {
        match self {
            RawConnection::Sqlite(raw) => {
                raw.execute(sql, []).unwrap();
            }
            RawConnection::Postgres(raw) => {
                sqlx::query(sql).execute(&mut *raw).await.unwrap();
            }
        }
    }
}

/// A product read again is served from memory while no product changed;
/// a change made through this server, through another server instance on
/// the same database, or straight in the database by another process holds
/// from the next read.
#[rstest::rstest]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r22_a_product_read_again_reflects_every_change_at_once_on_every_instance(
    #[values(Engine::Sqlite, Engine::Postgres)] engine: Engine,
) {
    let e = env(engine).await;
    let full = e.catalog().await;
    let get = |id: &'static str| {
        let e = &e;
        let full = &full;
        async move { e.get(full, &format!("/api/rest/v1/products/{id}")).await }
    };
    for _ in 0..2 {
        assert_eq!(get("boot-1").await.body["family"], Value::Null);
    }
    // Through this server.
    e.patch(&full, "boot-1", json!({"family": "boots"}))
        .await
        .assert_status(204);
    assert_eq!(get("boot-1").await.body["family"], "boots");

    // Through a second instance on the same database.
    let second = serve::start(
        Arc::new(Service::new(
            common::open_at(&e.location, e._dir.path()).await,
        )),
        "127.0.0.1:0".parse().unwrap(),
        None,
    )
    .await
    .unwrap();
    let there = |id: &str| format!("http://{}/api/rest/v1/products/{id}", second.addr());
    assert_eq!(get("shoe-1").await.body["enabled"], true);
    e.send(
        e.http
            .patch(there("shoe-1"))
            .bearer_auth(&full.token)
            .json(&json!({"enabled": false})),
    )
    .await
    .assert_status(204);
    assert_eq!(get("shoe-1").await.body["enabled"], false);
    get("shirt-1").await.assert_status(200);
    e.send(e.http.delete(there("shirt-1")).bearer_auth(&full.token))
        .await
        .assert_status(204);
    get("shirt-1").await.assert_status(404);

    // Straight in the database, by another process's connection.
    assert_eq!(get("phone-1").await.body["family"], Value::Null);
    let mut raw = RawConnection::open(&e.location).await;
    raw.execute("UPDATE products SET family = 'phones' WHERE identifier = 'phone-1'")
        .await;
    assert_eq!(get("phone-1").await.body["family"], "phones");
    raw.execute("DELETE FROM products WHERE identifier = 'phone-1'")
        .await;
    get("phone-1").await.assert_status(404);
    raw.execute(
        "INSERT INTO products (identifier, enabled, family, categories, attribute_values, created_at, updated_at)
         VALUES ('phone-1', 1, 'restored', '[\"phones\"]', '{}', 0, 0)",
    )
    .await;
    assert_eq!(get("phone-1").await.body["family"], "restored");
}

/// The monitoring hook (R23): handlers that read, create or update products
/// put a `Counted` into their response's extensions; errors and deletes
/// count nothing.
#[rstest::rstest]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r23_product_handlers_report_what_they_read_created_and_updated(
    #[values(Engine::Sqlite, Engine::Postgres)] engine: Engine,
) {
    use switchboard::model::{ApiEvent, Counted, UserKind};
    use switchboard::service::Actor;
    use tower::ServiceExt;

    let dir = tempfile::tempdir().unwrap();
    let svc = Arc::new(Service::new(common::open_store(engine, dir.path()).await));
    svc.prepare_owner(Some("alice"), None).await.unwrap();
    let owner = Actor {
        username: "alice".into(),
        kind: UserKind::Owner,
    };
    let created = svc
        .create_connection(
            &owner,
            Source::Cli,
            NewConnection {
                label: "Counted".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    svc.update_role(
        &owner,
        Source::Cli,
        "User",
        switchboard::model::RolePatch {
            permissions: Some(Permission::VARIANTS.to_vec()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let router = switchboard::server::router(svc.clone());
    let send = |req: http::Request<axum::body::Body>| {
        let router = router.clone();
        async move { router.oneshot(req).await.unwrap() }
    };
    let c = &created.connection;
    let basic = base64::engine::general_purpose::STANDARD
        .encode(format!("{}:{}", c.client_id, created.secret));
    let grant =
        json!({"grant_type": "password", "username": c.username, "password": created.password});
    let resp = send(
        http::Request::post("/api/oauth/v1/token")
            .header("authorization", format!("Basic {basic}"))
            .header("content-type", "application/json")
            .body(axum::body::Body::from(grant.to_string()))
            .unwrap(),
    )
    .await;
    let bytes = http_body_util::BodyExt::collect(resp.into_body())
        .await
        .unwrap()
        .to_bytes();
    let token: Value = serde_json::from_slice(&bytes).unwrap();
    let bearer = format!("Bearer {}", token["access_token"].as_str().unwrap());
    let call = |method: &str, path: &str, body: Option<Value>| {
        let mut b = http::Request::builder()
            .method(method)
            .uri(path)
            .header("authorization", &bearer);
        if body.is_some() {
            b = b.header("content-type", "application/json");
        }
        b.body(axum::body::Body::from(
            body.map(|v| v.to_string()).unwrap_or_default(),
        ))
        .unwrap()
    };
    let counted = |r: &http::Response<axum::body::Body>| r.extensions().get::<Counted>().copied();
    let r = send(call(
        "POST",
        "/api/rest/v1/products",
        Some(json!({"identifier": "a"})),
    ))
    .await;
    assert_eq!(
        (r.status().as_u16(), counted(&r)),
        (
            201,
            Some(Counted {
                event: ApiEvent::Created,
                count: 1
            })
        )
    );
    let r = send(call("PATCH", "/api/rest/v1/products/b", Some(json!({})))).await;
    assert_eq!(
        (r.status().as_u16(), counted(&r)),
        (
            201,
            Some(Counted {
                event: ApiEvent::Created,
                count: 1
            })
        )
    );
    let r = send(call(
        "PATCH",
        "/api/rest/v1/products/a",
        Some(json!({"enabled": false})),
    ))
    .await;
    assert_eq!(
        (r.status().as_u16(), counted(&r)),
        (
            204,
            Some(Counted {
                event: ApiEvent::Updated,
                count: 1
            })
        )
    );
    let r = send(call("GET", "/api/rest/v1/products/a", None)).await;
    assert_eq!(
        (r.status().as_u16(), counted(&r)),
        (
            200,
            Some(Counted {
                event: ApiEvent::Read,
                count: 1
            })
        )
    );
    let r = send(call("GET", "/api/rest/v1/products?limit=1", None)).await;
    assert_eq!(
        (r.status().as_u16(), counted(&r)),
        (
            200,
            Some(Counted {
                event: ApiEvent::Read,
                count: 1
            })
        )
    );
    let r = send(call("GET", "/api/rest/v1/products", None)).await;
    assert_eq!(
        (r.status().as_u16(), counted(&r)),
        (
            200,
            Some(Counted {
                event: ApiEvent::Read,
                count: 2
            })
        )
    );
    let r = send(call("GET", "/api/rest/v1/products/nope", None)).await;
    assert_eq!((r.status().as_u16(), counted(&r)), (404, None));
    let r = send(call(
        "POST",
        "/api/rest/v1/products",
        Some(json!({"identifier": "a"})),
    ))
    .await;
    assert_eq!((r.status().as_u16(), counted(&r)), (422, None));
    let r = send(call("DELETE", "/api/rest/v1/products/a", None)).await;
    assert_eq!((r.status().as_u16(), counted(&r)), (204, None));
}

/// `switchboard demo-traffic`'s driver: with the demo workspace, real calls
/// by its ERP, suppliers and shops, which read, create and update products
/// and run into a few client errors, never a server error.
#[rstest::rstest]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_traffic_drives_reads_and_writes_with_the_demo_connections(
    #[values(Engine::Sqlite, Engine::Postgres)] engine: Engine,
) {
    use switchboard::client::traffic;
    let e = env(engine).await;
    e.admin.load_demo().await.unwrap();
    let mut apps = traffic::prepare(&e.admin, &[]).await.unwrap();
    let codes: Vec<&str> = apps.iter().map(|a| a.code.as_str()).collect();
    assert_eq!(codes, traffic::PREFERRED);
    let mut seconds = Vec::new();
    let total = traffic::run(
        &reqwest::Client::new(),
        &e.url,
        &mut apps,
        100,
        tokio::time::sleep(std::time::Duration::from_millis(2500)),
        |t| seconds.push(t),
    )
    .await
    .unwrap();
    assert!(seconds.len() >= 2, "{seconds:?}");
    assert!(total.sent >= 100, "{total:?}");
    assert!(
        total.read > 0 && total.updated > 0 && total.created > 0,
        "{total:?}"
    );
    assert!(total.client_errors > 0, "{total:?}");
    assert_eq!(total.server_errors, 0, "{total:?}");
    assert_eq!(total.ok + total.client_errors, total.sent);
    // It drove the demo ERP with the role the demo gave it.
    let erp = e
        .admin
        .get_connection("sap_s_4hana_production")
        .await
        .unwrap();
    assert_eq!(erp.role, "catalog_editor");
}

/// Issue 14: links come from the server's public URL, never from the
/// client's `Host` or forwarded headers, except from a proxy the operator
/// trusts; product answers are not for caches.
#[rstest::rstest]
#[tokio::test]
async fn links_follow_the_public_url_not_the_client_and_answers_are_no_store(
    #[values(Engine::Sqlite, Engine::Postgres)] engine: Engine,
) {
    let spoofed = |req: reqwest::RequestBuilder| {
        req.header("host", "evil.example")
            .header("x-forwarded-host", "evil.example")
            .header("x-forwarded-proto", "https")
    };
    // By default: the address it listens on.
    let e = env(engine).await;
    let c = e.catalog().await;
    let created = e.post(&c, json!({"identifier": "linked"})).await;
    created.assert_status(201);
    assert_eq!(created.header("cache-control"), "no-store");
    let refused = e
        .send(e.http.get(e.at("/api/rest/v1/products/linked")))
        .await;
    refused.assert_status(401);
    assert_eq!(refused.header("cache-control"), "no-store");
    let page = e
        .send(spoofed(
            e.http
                .get(e.at("/api/rest/v1/products?limit=1"))
                .bearer_auth(&c.token),
        ))
        .await;
    page.assert_status(200);
    let href = page.body["_links"]["self"]["href"].as_str().unwrap();
    assert!(href.starts_with(&format!("{}/", e.url)), "{href}");
    assert_eq!(page.header("cache-control"), "no-store");
    let one = e.get(&c, "/api/rest/v1/products/linked").await;
    one.assert_status(200);
    assert_eq!(one.header("cache-control"), "no-store");
    let missing = e.get(&c, "/api/rest/v1/products/none-such").await;
    missing.assert_status(404);
    assert_eq!(missing.header("cache-control"), "no-store");

    // `--public-url`, and this test's address as a trusted proxy.
    let e = env_links(
        engine,
        0,
        0,
        Links::new(
            Some("https://pim.example.com".into()),
            vec!["127.0.0.1/32".parse().unwrap()],
        ),
    )
    .await;
    let c = e.catalog().await;
    let plain = e.list(&c, "?limit=1").await;
    let href = plain.body["_links"]["self"]["href"].as_str().unwrap();
    assert!(
        href.starts_with("https://pim.example.com/api/rest/v1/products?"),
        "{href}"
    );
    let proxied = e
        .send(
            e.http
                .get(e.at("/api/rest/v1/products?limit=1"))
                .bearer_auth(&c.token)
                .header("x-forwarded-host", "shop.example.org")
                .header("x-forwarded-proto", "http"),
        )
        .await;
    let href = proxied.body["_links"]["self"]["href"].as_str().unwrap();
    assert!(
        href.starts_with("http://shop.example.org/api/rest/v1/products?"),
        "{href}"
    );
    // Another proxy than the trusted one: its headers are ignored.
    let e = env_links(
        engine,
        0,
        0,
        Links::new(
            Some("https://pim.example.com".into()),
            vec!["10.0.0.0/8".parse().unwrap()],
        ),
    )
    .await;
    let c = e.catalog().await;
    let ignored = e
        .send(spoofed(
            e.http
                .get(e.at("/api/rest/v1/products?limit=1"))
                .bearer_auth(&c.token),
        ))
        .await;
    let href = ignored.body["_links"]["self"]["href"].as_str().unwrap();
    assert!(href.starts_with("https://pim.example.com/"), "{href}");
}

/// Issue 16: `attributes`, `locales` and `scope` on lists and reads keep
/// only the named attributes' values, only values for those locales (or
/// not localisable), only values for that channel (or not scopable), and
/// the list's links carry them to the next page.
#[rstest::rstest]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn product_reads_keep_only_the_attributes_locales_and_scope_asked_for(
    #[values(Engine::Sqlite, Engine::Postgres)] engine: Engine,
) {
    let e = env(engine).await;
    let full = e.catalog().await;
    let v = |locale: Value, scope: Value, data: &str| json!({"locale": locale, "scope": scope, "data": data});
    e.post(
        &full,
        json!({"identifier": "aaa-filtered", "values": {
            "name": [v(json!("en_US"), Value::Null, "Boot"), v(json!("fr_FR"), Value::Null, "Botte")],
            "description": [
                v(json!("en_US"), json!("ecommerce"), "Web text"),
                v(json!("en_US"), json!("print"), "Print text"),
                v(json!("de_DE"), json!("ecommerce"), "Webtext")
            ],
            "sku_note": [v(Value::Null, Value::Null, "plain")]
        }}),
    )
    .await
    .assert_status(201);
    let values = |a: &Answer| {
        let item = if a.body["_embedded"].is_object() {
            a.body["_embedded"]["items"][0].clone()
        } else {
            a.body.clone()
        };
        assert_eq!(item["identifier"], "aaa-filtered", "{}", a.body);
        item["values"].clone()
    };
    // Nothing asked: everything.
    let all = e.get(&full, "/api/rest/v1/products/aaa-filtered").await;
    all.assert_status(200);
    assert_eq!(values(&all).as_object().unwrap().len(), 3);
    // attributes.
    let only = e
        .get(
            &full,
            "/api/rest/v1/products/aaa-filtered?attributes=name,sku_note",
        )
        .await;
    let got = values(&only);
    assert_eq!(got.as_object().unwrap().len(), 2, "{got}");
    assert_eq!(got["name"].as_array().unwrap().len(), 2);
    // locales: other locales' values go, values with no locale stay, an
    // attribute left with none goes.
    let fr = e
        .get(&full, "/api/rest/v1/products/aaa-filtered?locales=fr_FR")
        .await;
    let got = values(&fr);
    assert_eq!(
        got["name"],
        json!([v(json!("fr_FR"), Value::Null, "Botte")])
    );
    assert!(got.get("description").is_none(), "{got}");
    assert_eq!(got["sku_note"][0]["data"], "plain");
    // scope with locales, on a list; the links keep them.
    let page = e
        .list(
            &full,
            "?limit=1&search=%7B%22identifier%22%3A%5B%7B%22operator%22%3A%22IN%22%2C%22value%22%3A%5B%22aaa-filtered%22%5D%7D%5D%7D&scope=ecommerce&locales=en_US,de_DE",
        )
        .await;
    page.assert_status(200);
    let got = values(&page);
    assert_eq!(
        got["description"],
        json!([
            v(json!("en_US"), json!("ecommerce"), "Web text"),
            v(json!("de_DE"), json!("ecommerce"), "Webtext")
        ])
    );
    assert_eq!(got["name"], json!([v(json!("en_US"), Value::Null, "Boot")]));
    let first = page.body["_links"]["first"]["href"].as_str().unwrap();
    assert!(
        first.contains("scope=ecommerce") && first.contains("locales=en_US%2Cde_DE"),
        "{first}"
    );
    // A control character is refused, naming the parameter.
    let bad = e
        .get(&full, "/api/rest/v1/products/aaa-filtered?scope=a%00b")
        .await;
    bad.assert_status(400);
    assert!(bad.message().contains("scope"), "{}", bad.body);
}

/// Issue 16: `PATCH /api/rest/v1/products` with one product per line
/// (`application/vnd.akeneo.collection+json`) upserts each line on its own,
/// in order: one bad line fails alone; the answer is one JSON line per
/// product; monitoring counts each line as its own create, update or error.
#[rstest::rstest]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_upsert_writes_each_line_on_its_own_and_answers_line_by_line(
    #[values(Engine::Sqlite, Engine::Postgres)] engine: Engine,
) {
    let e = env(engine).await;
    e.catalog().await;
    let src = e.conn("Batch Source", "catalog_editor", "All").await;
    e.admin
        .update_connection(
            &src.code,
            &switchboard::model::ConnectionPatch {
                flow_type: Some(switchboard::model::FlowType::Source),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let batch = |body: String, ct: &str| {
        e.http
            .patch(e.at("/api/rest/v1/products"))
            .bearer_auth(&src.token)
            .header("content-type", ct.to_string())
            .body(body)
    };
    let lines = [
        json!({"identifier": "batch-new", "categories": ["shoes"], "values": {"name": [{"locale": null, "scope": null, "data": "New"}]}}).to_string(),
        json!({"identifier": "boot-1", "enabled": false}).to_string(),
        "{not json".to_string(),
        String::new(),
        json!({"identifier": "batch-bad", "categories": ["nowhere"]}).to_string(),
        json!({"enabled": true}).to_string(),
        json!({"identifier": "batch-new", "family": "shoes"}).to_string(),
    ];
    let resp = batch(lines.join("\n"), switchboard::server::products::COLLECTION)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()["content-type"],
        switchboard::server::products::COLLECTION
    );
    let text = resp.text().await.unwrap();
    let answers: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let shape: Vec<(u64, Value, u64)> = answers
        .iter()
        .map(|a| {
            (
                a["line"].as_u64().unwrap(),
                a["identifier"].clone(),
                a["status_code"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        shape,
        [
            (1, json!("batch-new"), 201),
            (2, json!("boot-1"), 204),
            (3, Value::Null, 400),
            (5, json!("batch-bad"), 422),
            (6, Value::Null, 422),
            (7, json!("batch-new"), 204),
        ],
        "{text}"
    );
    assert!(
        answers[2]["message"]
            .as_str()
            .unwrap()
            .contains("Invalid json")
    );
    assert!(
        answers[3]["message"].as_str().unwrap().contains("nowhere"),
        "{text}"
    );
    // What the good lines wrote is there; the bad ones wrote nothing.
    let new = e.get(&src, "/api/rest/v1/products/batch-new").await;
    new.assert_status(200);
    assert_eq!(new.body["family"], "shoes");
    assert_eq!(new.body["values"]["name"][0]["data"], "New");
    let boot = e.get(&src, "/api/rest/v1/products/boot-1").await;
    assert_eq!(boot.body["enabled"], false);
    e.get(&src, "/api/rest/v1/products/batch-bad")
        .await
        .assert_status(404);
    // Monitoring: 1 created, 2 updated, 3 failed lines (a source's reads
    // are not its events).
    let seen = e.admin.connection_monitoring(&src.code).await.unwrap();
    let total = seen.total.unwrap();
    // (The fourth error is the 404 of the read of batch-bad just above.)
    assert_eq!(
        (total.created, total.updated, total.business_errors),
        (1, 2, 3 + 1),
        "{total:?}"
    );
    // Over a hundred lines: 413, nothing written.
    let many: Vec<String> = (0..101)
        .map(|i| json!({"identifier": format!("many-{i}")}).to_string())
        .collect();
    let resp = batch(many.join("\n"), switchboard::server::products::COLLECTION)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 413);
    e.get(&src, "/api/rest/v1/products/many-0")
        .await
        .assert_status(404);
    // Plain JSON is not a batch: 415.
    let resp = batch(lines[0].clone(), "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 415);
}

/// Issue 16: `data: null` removes a value, as in the PIM (it keeps no
/// empty values); an attribute left with none is gone; a create with a
/// null value stores none.
#[rstest::rstest]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn null_data_removes_a_value_and_an_attribute_left_empty(
    #[values(Engine::Sqlite, Engine::Postgres)] engine: Engine,
) {
    let e = env(engine).await;
    let full = e.catalog().await;
    let v = |locale: Value, data: Value| json!({"locale": locale, "scope": null, "data": data});
    e.post(
        &full,
        json!({"identifier": "nulled", "values": {
            "name": [v(json!("en_US"), json!("Mug")), v(json!("fr_FR"), json!("Tasse"))],
            "color": [v(Value::Null, json!("red"))],
            "weight": [v(Value::Null, Value::Null)]
        }}),
    )
    .await
    .assert_status(201);
    let values = |a: &Answer| a.body["values"].clone();
    let created = e.get(&full, "/api/rest/v1/products/nulled").await;
    assert!(values(&created).get("weight").is_none(), "{}", created.body);
    e.patch(
        &full,
        "nulled",
        json!({"values": {"name": [v(json!("fr_FR"), Value::Null)]}}),
    )
    .await
    .assert_status(204);
    let after = e.get(&full, "/api/rest/v1/products/nulled").await;
    assert_eq!(
        values(&after)["name"],
        json!([v(json!("en_US"), json!("Mug"))])
    );
    e.patch(
        &full,
        "nulled",
        json!({"values": {"color": [v(Value::Null, Value::Null)]}}),
    )
    .await
    .assert_status(204);
    let after = e.get(&full, "/api/rest/v1/products/nulled").await;
    assert!(values(&after).get("color").is_none(), "{}", after.body);
    assert_eq!(values(&after).as_object().unwrap().len(), 1);
}

/// Issue 16: every product has a stable UUID (v4) answered as `uuid` in
/// both APIs, and `/api/rest/v1/products-uuid` serves the same products by
/// it: list (links by uuid), get, create (a uuid given when the body has
/// none, the identifier the uuid when it has none), upsert, delete and the
/// batch upsert.
#[rstest::rstest]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_uuid_api_serves_the_same_products_by_their_stable_uuid(
    #[values(Engine::Sqlite, Engine::Postgres)] engine: Engine,
) {
    let e = env(engine).await;
    let full = e.catalog().await;
    let is_v4 = |u: &str| uuid::Uuid::parse_str(u).is_ok_and(|u| u.get_version_num() == 4);
    // Both APIs answer the same uuid; it stays across an update.
    let boot = e.get(&full, "/api/rest/v1/products/boot-1").await;
    let uuid = boot.body["uuid"].as_str().unwrap().to_string();
    assert!(is_v4(&uuid), "{uuid}");
    let by_uuid = e
        .get(&full, &format!("/api/rest/v1/products-uuid/{uuid}"))
        .await;
    by_uuid.assert_status(200);
    assert_eq!(by_uuid.body["identifier"], "boot-1");
    e.patch(&full, "boot-1", json!({"enabled": false}))
        .await
        .assert_status(204);
    let again = e.get(&full, "/api/rest/v1/products/boot-1").await;
    assert_eq!(again.body["uuid"], uuid.as_str());
    // The list: every item has a uuid and links by it.
    let page = e.get(&full, "/api/rest/v1/products-uuid?limit=2").await;
    page.assert_status(200);
    for item in page.body["_embedded"]["items"].as_array().unwrap() {
        let u = item["uuid"].as_str().unwrap();
        assert!(is_v4(u), "{item}");
        assert!(
            item["_links"]["self"]["href"]
                .as_str()
                .unwrap()
                .ends_with(&format!("/api/rest/v1/products-uuid/{u}")),
            "{item}"
        );
    }
    assert!(
        page.body["_links"]["next"]["href"]
            .as_str()
            .unwrap()
            .contains("/api/rest/v1/products-uuid?"),
        "{}",
        page.body
    );
    // Create without identifier or uuid: one is given, and it is both.
    let send = |method: reqwest::Method, path: &str, body: Value| {
        e.http
            .request(method, e.at(path))
            .bearer_auth(&full.token)
            .json(&body)
            .send()
    };
    let created = send(
        reqwest::Method::POST,
        "/api/rest/v1/products-uuid",
        json!({"enabled": true}),
    )
    .await
    .unwrap();
    assert_eq!(created.status(), 201);
    let location = created.headers()["location"].to_str().unwrap().to_string();
    let new_uuid = location.rsplit('/').next().unwrap().to_string();
    assert!(
        is_v4(&new_uuid) && location.contains("/products-uuid/"),
        "{location}"
    );
    let fresh = e
        .get(&full, &format!("/api/rest/v1/products-uuid/{new_uuid}"))
        .await;
    assert_eq!(fresh.body["identifier"], new_uuid.as_str());
    // Upsert by a uuid nobody has: created with it; then updated.
    let chosen = "0b8e8f5e-2a51-4f47-9a5e-6a3c7d1e2f40";
    let path = format!("/api/rest/v1/products-uuid/{chosen}");
    let first = send(
        reqwest::Method::PATCH,
        &path,
        json!({"identifier": "by-uuid", "family": "shoes"}),
    )
    .await
    .unwrap();
    assert_eq!(first.status(), 201);
    let second = send(reqwest::Method::PATCH, &path, json!({"enabled": false}))
        .await
        .unwrap();
    assert_eq!(second.status(), 204);
    let read = e.get(&full, "/api/rest/v1/products/by-uuid").await;
    assert_eq!(read.body["uuid"], chosen);
    assert_eq!(read.body["enabled"], false);
    // A body naming another uuid, or an identifier another product has.
    let other = send(
        reqwest::Method::PATCH,
        &path,
        json!({"uuid": new_uuid, "enabled": true}),
    )
    .await
    .unwrap();
    assert_eq!(other.status(), 422);
    let taken = send(
        reqwest::Method::PATCH,
        "/api/rest/v1/products-uuid/6f1c0e44-94a4-4c3e-8f3e-2b0f9a7d5c11",
        json!({"identifier": "boot-1"}),
    )
    .await
    .unwrap();
    assert_eq!(taken.status(), 422);
    // Batch by uuid: an existing one updated, a new one created with its
    // uuid, one clashing with another product's identifier refused alone.
    let lines = [
        json!({"uuid": chosen, "family": "boots"}).to_string(),
        json!({"uuid": "3d0f6a2b-7c1e-4b8a-9e55-0a1b2c3d4e5f", "identifier": "batch-by-uuid"})
            .to_string(),
        json!({"uuid": "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d", "identifier": "boot-1"}).to_string(),
    ];
    let resp = e
        .http
        .patch(e.at("/api/rest/v1/products-uuid"))
        .bearer_auth(&full.token)
        .header("content-type", switchboard::server::products::COLLECTION)
        .body(lines.join("\n"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let text = resp.text().await.unwrap();
    let statuses: Vec<(Value, u64)> = text
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            (v["uuid"].clone(), v["status_code"].as_u64().unwrap())
        })
        .collect();
    assert_eq!(
        statuses,
        [
            (json!(chosen), 204),
            (json!("3d0f6a2b-7c1e-4b8a-9e55-0a1b2c3d4e5f"), 201),
            (Value::Null, 422)
        ],
        "{text}"
    );
    assert_eq!(
        e.get(&full, "/api/rest/v1/products/by-uuid").await.body["family"],
        "boots"
    );
    // Delete by uuid; then it is gone from both APIs. A path that is not a
    // UUID names nothing.
    let gone = send(reqwest::Method::DELETE, &path, Value::Null)
        .await
        .unwrap();
    assert_eq!(gone.status(), 204);
    e.get(&full, &path).await.assert_status(404);
    e.get(&full, "/api/rest/v1/products/by-uuid")
        .await
        .assert_status(404);
    e.get(&full, "/api/rest/v1/products-uuid/not-a-uuid")
        .await
        .assert_status(404);
    // The root lists the UUID routes too.
    let root = e.get(&full, "/api/rest/v1").await;
    assert_eq!(
        root.body["routes"]["pim_api_product_uuid_get"]["route"],
        "/api/rest/v1/products-uuid/{uuid}"
    );
}

impl Env {
    /// A product's uuid, read by identifier.
    async fn uuid_of(&self, c: &Conn, identifier: &str) -> String {
        let read = self
            .get(c, &format!("/api/rest/v1/products/{identifier}"))
            .await;
        read.assert_status(200);
        read.body["uuid"].as_str().unwrap().to_string()
    }

    /// A request with a JSON body to the UUID API.
    async fn uuid_api(&self, c: &Conn, method: reqwest::Method, path: &str, body: Value) -> Answer {
        self.send(
            self.http
                .request(method, self.at(path))
                .bearer_auth(&c.token)
                .json(&body),
        )
        .await
    }

    /// A batch upsert; its answer's lines.
    async fn batch(&self, c: &Conn, path: &str, lines: &[Value]) -> Vec<Value> {
        let body: Vec<String> = lines.iter().map(Value::to_string).collect();
        let resp = self
            .http
            .patch(self.at(path))
            .bearer_auth(&c.token)
            .header("content-type", switchboard::server::products::COLLECTION)
            .body(body.join("\n"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        resp.text()
            .await
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

/// A 422's violations, as `(property, message)`.
fn violations(a: &Answer) -> Vec<(String, String)> {
    a.body["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("no errors: {}", a.body))
        .iter()
        .map(|e| {
            (
                e["property"].as_str().unwrap().to_string(),
                e["message"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// Issue 16, item 5: products copied from a real PIM keep their groups,
/// parent and (quantified) associations: stored, and read back in the
/// PIM's shape by both APIs, each naming associated products its own way
/// (identifiers; uuids in `/products-uuid`). A product without any reads
/// `groups: []`, `parent: null`, `associations: {}`,
/// `quantified_associations: {}`; the value filters leave them alone. A
/// PATCH replaces each list it gives and keeps the types it does not name.
#[rstest::rstest]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn associations_groups_and_parent_are_stored_and_read_back_by_either_api(
    #[values(Engine::Sqlite, Engine::Postgres)] engine: Engine,
) {
    let e = env(engine).await;
    let full = e.catalog().await;
    let shoe = e.uuid_of(&full, "shoe-1").await;
    let shirt = e.uuid_of(&full, "shirt-1").await;
    let phone = e.uuid_of(&full, "phone-1").await;
    let boot = e.uuid_of(&full, "boot-1").await;
    e.post(
        &full,
        json!({"identifier": "kit", "categories": ["shoes"],
            "groups": ["promo", "summer", "promo"],
            "parent": "boot-1",
            "values": {"name": [{"locale": "en_US", "scope": null, "data": "Kit"}]},
            "associations": {
                "X_SELL": {"products": ["shoe-1", "shirt-1"], "product_models": [], "groups": ["summer"]},
                "PACK": {}
            },
            "quantified_associations": {
                "SET": {"products": [{"identifier": "phone-1", "quantity": 2}], "product_models": []}
            }}),
    )
    .await
    .assert_status(201);
    let by_identifier = json!({
        "groups": ["promo", "summer"],
        "parent": "boot-1",
        "associations": {
            "PACK": {"products": [], "product_models": [], "groups": []},
            "X_SELL": {"products": ["shoe-1", "shirt-1"], "product_models": [], "groups": ["summer"]}
        },
        "quantified_associations": {
            "SET": {"products": [{"identifier": "phone-1", "quantity": 2}], "product_models": []}
        }
    });
    let by_uuid = json!({
        "groups": ["promo", "summer"],
        "parent": "boot-1",
        "associations": {
            "PACK": {"products": [], "product_models": [], "groups": []},
            "X_SELL": {"products": [shoe, shirt], "product_models": [], "groups": ["summer"]}
        },
        "quantified_associations": {
            "SET": {"products": [{"uuid": phone, "quantity": 2}], "product_models": []}
        }
    });
    let links = |body: &Value| {
        json!({
            "groups": body["groups"],
            "parent": body["parent"],
            "associations": body["associations"],
            "quantified_associations": body["quantified_associations"],
        })
    };
    let kit = e.get(&full, "/api/rest/v1/products/kit").await;
    kit.assert_status(200);
    assert_eq!(links(&kit.body), by_identifier, "{}", kit.body);
    let kit_uuid = kit.body["uuid"].as_str().unwrap().to_string();
    let read = e
        .get(&full, &format!("/api/rest/v1/products-uuid/{kit_uuid}"))
        .await;
    read.assert_status(200);
    assert_eq!(links(&read.body), by_uuid, "{}", read.body);
    // Lists: the same, in each API; filters of values leave them alone.
    for (path, expected) in [
        ("/api/rest/v1/products", &by_identifier),
        ("/api/rest/v1/products-uuid", &by_uuid),
    ] {
        let page = e
            .get(
                &full,
                &format!("{path}?limit=100&attributes=colour&locales=fr_FR&scope=print"),
            )
            .await;
        page.assert_status(200);
        let items = page.body["_embedded"]["items"].as_array().unwrap();
        let item = items.iter().find(|i| i["identifier"] == "kit").unwrap();
        assert_eq!(&links(item), expected, "{item}");
        assert_eq!(item["values"], json!({}));
        // A product that links to nothing reads in the PIM's empty shape.
        let plain = items.iter().find(|i| i["identifier"] == "shirt-1").unwrap();
        assert_eq!(
            links(plain),
            json!({"groups": [], "parent": null, "associations": {}, "quantified_associations": {}}),
            "{plain}"
        );
    }
    // PATCH: a type given replaces each list it gives; types not named stay.
    e.patch(
        &full,
        "kit",
        json!({"associations": {"X_SELL": {"groups": []}, "UPSELL": {"products": ["phone-1"]}},
               "quantified_associations": {"SET": {"product_models": []}}}),
    )
    .await
    .assert_status(204);
    let after = e.get(&full, "/api/rest/v1/products/kit").await;
    assert_eq!(
        after.body["associations"],
        json!({
            "PACK": {"products": [], "product_models": [], "groups": []},
            "UPSELL": {"products": ["phone-1"], "product_models": [], "groups": []},
            "X_SELL": {"products": ["shoe-1", "shirt-1"], "product_models": [], "groups": []}
        })
    );
    assert_eq!(
        after.body["quantified_associations"],
        by_identifier["quantified_associations"]
    );
    assert_eq!(after.body["parent"], "boot-1", "not given, kept");
    assert_eq!(after.body["values"]["name"][0]["data"], "Kit");
    // Through the UUID API, by uuid: read back by identifier.
    e.uuid_api(
        &full,
        reqwest::Method::PATCH,
        &format!("/api/rest/v1/products-uuid/{kit_uuid}"),
        json!({"associations": {"X_SELL": {"products": [boot.to_uppercase()]}},
               "quantified_associations": {"SET": {"products": [
                   {"uuid": shoe, "quantity": 5}, {"uuid": phone, "quantity": 1}]}},
               "groups": [],
               "parent": null}),
    )
    .await
    .assert_status(204);
    let after = e.get(&full, "/api/rest/v1/products/kit").await;
    assert_eq!(
        links(&after.body),
        json!({
            "groups": [],
            "parent": null,
            "associations": {
                "PACK": {"products": [], "product_models": [], "groups": []},
                "UPSELL": {"products": ["phone-1"], "product_models": [], "groups": []},
                "X_SELL": {"products": ["boot-1"], "product_models": [], "groups": []}
            },
            "quantified_associations": {
                "SET": {"products": [{"identifier": "shoe-1", "quantity": 5},
                                     {"identifier": "phone-1", "quantity": 1}], "product_models": []}
            }
        }),
        "{}",
        after.body
    );
    // What a client read, sent back as it is, changes nothing.
    let mut echo = after.body.clone();
    echo.as_object_mut().unwrap().remove("uuid");
    e.patch(&full, "kit", echo).await.assert_status(204);
    let again = e.get(&full, "/api/rest/v1/products/kit").await;
    assert_eq!(links(&again.body), links(&after.body));
    let mut echo = e
        .get(&full, &format!("/api/rest/v1/products-uuid/{kit_uuid}"))
        .await
        .body;
    echo.as_object_mut().unwrap().remove("_links");
    e.uuid_api(
        &full,
        reqwest::Method::PATCH,
        &format!("/api/rest/v1/products-uuid/{kit_uuid}"),
        echo,
    )
    .await
    .assert_status(204);
    let again = e.get(&full, "/api/rest/v1/products/kit").await;
    assert_eq!(links(&again.body), links(&after.body));
    // A create through the UUID API names its associations by uuid.
    e.uuid_api(
        &full,
        reqwest::Method::POST,
        "/api/rest/v1/products-uuid",
        json!({"identifier": "kit-2", "associations": {"PACK": {"products": [kit_uuid]}},
               "parent": "kit"}),
    )
    .await
    .assert_status(201);
    let kit2 = e.get(&full, "/api/rest/v1/products/kit-2").await;
    assert_eq!(
        kit2.body["associations"]["PACK"]["products"],
        json!(["kit"])
    );
    assert_eq!(kit2.body["parent"], "kit");
}

/// Issue 16, item 5: a parent or an associated product that does not exist
/// is a 422 naming the field and the product, as is every malformed
/// association, a quantity that is not a positive whole number, a product
/// associated with itself or made its own ancestor, and product models
/// (Switchboard keeps none); nothing is changed, and nothing answers 500.
#[rstest::rstest]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_parent_or_associated_product_is_a_422_naming_it(
    #[values(Engine::Sqlite, Engine::Postgres)] engine: Engine,
) {
    let e = env(engine).await;
    let full = e.catalog().await;
    let refused = |a: &Answer, property: &str, names: &str| {
        a.assert_status(422);
        let v = violations(a);
        assert!(
            v.iter().any(|(p, m)| p == property && m.contains(names)),
            "{property} / {names}: {}",
            a.body
        );
    };
    // On create: nothing is created.
    let a = e
        .post(
            &full,
            json!({"identifier": "orphan", "parent": "no-such-parent"}),
        )
        .await;
    refused(&a, "parent", "no-such-parent");
    let a = e
        .post(
            &full,
            json!({"identifier": "orphan", "associations": {"X_SELL": {"products": ["shoe-1", "ghost-1"]}},
                   "quantified_associations": {"SET": {"products": [{"identifier": "ghost-2", "quantity": 1}]}}}),
        )
        .await;
    refused(&a, "associations.X_SELL.products", "ghost-1");
    refused(&a, "quantified_associations.SET.products", "ghost-2");
    assert_eq!(violations(&a).len(), 2, "{}", a.body);
    e.get(&full, "/api/rest/v1/products/orphan")
        .await
        .assert_status(404);
    // On update: nothing changes.
    e.patch(
        &full,
        "boot-1",
        json!({"associations": {"X_SELL": {"products": ["shoe-1"]}}, "groups": ["g"]}),
    )
    .await
    .assert_status(204);
    let before = e.get(&full, "/api/rest/v1/products/boot-1").await.body;
    for (body, property, names) in [
        (
            json!({"enabled": false, "quantified_associations": {"SET": {"products": [{"identifier": "shoe-1", "quantity": 0}]}}}),
            "quantified_associations.SET.products",
            "quantity",
        ),
        (
            json!({"quantified_associations": {"SET": {"products": [{"identifier": "shoe-1", "quantity": 1.5}]}}}),
            "quantified_associations.SET.products",
            "whole number",
        ),
        (
            json!({"quantified_associations": {"SET": {"products": [{"identifier": "shoe-1", "quantity": -3}]}}}),
            "quantified_associations.SET.products",
            "shoe-1",
        ),
        (
            json!({"quantified_associations": {"SET": {"products": [{"identifier": "shoe-1"}]}}}),
            "quantified_associations.SET.products",
            "quantity",
        ),
        (
            json!({"quantified_associations": {"SET": {"products": [{"uuid": "shoe-1", "quantity": 1}]}}}),
            "quantified_associations.SET.products",
            "has no \"identifier\"",
        ),
        (
            json!({"associations": {"X_SELL": {"products": ["ghost"]}}, "groups": []}),
            "associations.X_SELL.products",
            "ghost",
        ),
        (
            json!({"associations": {"X_SELL": {"products": "shoe-1"}}}),
            "associations.X_SELL.products",
            "array",
        ),
        (
            json!({"associations": {"X_SELL": {"product_models": ["model-1"]}}}),
            "associations.X_SELL.product_models",
            "model-1",
        ),
        (
            json!({"quantified_associations": {"SET": {"product_models": [{"identifier": "model-1", "quantity": 1}]}}}),
            "quantified_associations.SET.product_models",
            "model-1",
        ),
        (
            json!({"associations": {"X_SELL": {"colour": []}}}),
            "associations.X_SELL.colour",
            "colour",
        ),
        (
            json!({"associations": {"X SELL": {}}}),
            "associations",
            "X SELL",
        ),
        (json!({"associations": []}), "associations", "object"),
        (
            json!({"associations": {"X_SELL": null}}),
            "associations.X_SELL",
            "object",
        ),
        (json!({"groups": ["a-b"]}), "groups", "a-b"),
        (json!({"groups": "promo"}), "groups", "array"),
        (json!({"parent": 7}), "parent", "string"),
        (json!({"parent": "boot-1"}), "parent", "own parent"),
        (
            json!({"associations": {"X_SELL": {"products": ["boot-1"]}}}),
            "associations.X_SELL.products",
            "itself",
        ),
    ] {
        let a = e.patch(&full, "boot-1", body.clone()).await;
        refused(&a, property, names);
        assert_eq!(
            e.get(&full, "/api/rest/v1/products/boot-1").await.body,
            before,
            "{body}"
        );
    }
    // A product cannot become its own ancestor.
    e.patch(&full, "shoe-1", json!({"parent": "boot-1"}))
        .await
        .assert_status(204);
    e.patch(&full, "shirt-1", json!({"parent": "shoe-1"}))
        .await
        .assert_status(204);
    let a = e.patch(&full, "boot-1", json!({"parent": "shirt-1"})).await;
    refused(&a, "parent", "descends");
    // The UUID API names associated products by uuid: an identifier there
    // names nothing.
    let boot = e.uuid_of(&full, "boot-1").await;
    let a = e
        .uuid_api(
            &full,
            reqwest::Method::PATCH,
            &format!("/api/rest/v1/products-uuid/{boot}"),
            json!({"associations": {"X_SELL": {"products": ["phone-1"]}}}),
        )
        .await;
    refused(&a, "associations.X_SELL.products", "phone-1");
    let a = e
        .uuid_api(
            &full,
            reqwest::Method::PATCH,
            &format!("/api/rest/v1/products-uuid/{boot}"),
            json!({"associations": {"X_SELL": {"products": ["6f1c0e44-94a4-4c3e-8f3e-2b0f9a7d5c11"]}}}),
        )
        .await;
    refused(
        &a,
        "associations.X_SELL.products",
        "6f1c0e44-94a4-4c3e-8f3e-2b0f9a7d5c11",
    );
    assert_eq!(
        e.get(&full, "/api/rest/v1/products/boot-1").await.body,
        before
    );
}

/// Issue 16, item 5: a batch line may name, as parent or associated
/// product, a product an earlier line of the same batch created (in both
/// APIs); a line naming one that does not exist fails alone.
#[rstest::rstest]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_line_may_link_to_a_product_an_earlier_line_created(
    #[values(Engine::Sqlite, Engine::Postgres)] engine: Engine,
) {
    let e = env(engine).await;
    let full = e.catalog().await;
    let answers = e
        .batch(
            &full,
            "/api/rest/v1/products",
            &[
                json!({"identifier": "b-child", "parent": "b-parent"}),
                json!({"identifier": "b-parent", "categories": ["shoes"]}),
                json!({"identifier": "b-child", "parent": "b-parent",
                       "associations": {"PACK": {"products": ["b-parent", "boot-1"]}},
                       "quantified_associations": {"SET": {"products": [{"identifier": "b-parent", "quantity": 3}]}}}),
                json!({"identifier": "b-other", "associations": {"PACK": {"products": ["b-ghost"]}}}),
            ],
        )
        .await;
    let statuses: Vec<u64> = answers
        .iter()
        .map(|a| a["status_code"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, [422, 201, 201, 422], "{answers:?}");
    assert_eq!(answers[0]["errors"][0]["property"], "parent");
    assert!(answers[0]["message"].as_str().unwrap().contains("b-parent"));
    assert_eq!(
        answers[3]["errors"][0]["property"],
        "associations.PACK.products"
    );
    assert!(answers[3]["message"].as_str().unwrap().contains("b-ghost"));
    let child = e.get(&full, "/api/rest/v1/products/b-child").await;
    assert_eq!(child.body["parent"], "b-parent");
    assert_eq!(
        child.body["associations"]["PACK"]["products"],
        json!(["b-parent", "boot-1"])
    );
    assert_eq!(
        child.body["quantified_associations"]["SET"]["products"],
        json!([{"identifier": "b-parent", "quantity": 3}])
    );
    e.get(&full, "/api/rest/v1/products/b-other")
        .await
        .assert_status(404);
    // The UUID API: by uuid.
    let first = "3d0f6a2b-7c1e-4b8a-9e55-0a1b2c3d4e5f";
    let answers = e
        .batch(
            &full,
            "/api/rest/v1/products-uuid",
            &[
                json!({"uuid": first, "identifier": "u-first"}),
                json!({"uuid": "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d", "identifier": "u-second",
                       "parent": "u-first",
                       "associations": {"X_SELL": {"products": [first]}},
                       "quantified_associations": {"SET": {"products": [{"uuid": first, "quantity": 1}]}}}),
            ],
        )
        .await;
    let statuses: Vec<u64> = answers
        .iter()
        .map(|a| a["status_code"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, [201, 201], "{answers:?}");
    let second = e.get(&full, "/api/rest/v1/products/u-second").await;
    assert_eq!(second.body["parent"], "u-first");
    assert_eq!(
        second.body["associations"]["X_SELL"]["products"],
        json!(["u-first"])
    );
    assert_eq!(
        second.body["quantified_associations"]["SET"]["products"],
        json!([{"identifier": "u-first", "quantity": 1}])
    );
}

/// Issue 16, item 5: deleting a product takes it out of every other
/// product's associations (as the PIM does; those products count as
/// updated). A product that is another's parent is not deleted: 422 naming
/// the children (the safe choice; the PIM's parents are product models).
#[rstest::rstest]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_product_unlinks_it_and_a_parent_is_refused_naming_its_children(
    #[values(Engine::Sqlite, Engine::Postgres)] engine: Engine,
) {
    let e = env(engine).await;
    let full = e.catalog().await;
    e.post(
        &full,
        json!({"identifier": "kit", "parent": "boot-1",
               "associations": {"X_SELL": {"products": ["shoe-1", "shirt-1"]}},
               "quantified_associations": {"SET": {"products": [
                   {"identifier": "shoe-1", "quantity": 2}, {"identifier": "phone-1", "quantity": 1}]}}}),
    )
    .await
    .assert_status(201);
    let before = e.get(&full, "/api/rest/v1/products/kit").await.body;
    let shoe = e.uuid_of(&full, "shoe-1").await;
    // By uuid or by identifier: the same.
    let gone = e
        .uuid_api(
            &full,
            reqwest::Method::DELETE,
            &format!("/api/rest/v1/products-uuid/{shoe}"),
            Value::Null,
        )
        .await;
    gone.assert_status(204);
    e.delete(&full, "shirt-1").await.assert_status(204);
    let kit = e.get(&full, "/api/rest/v1/products/kit").await.body;
    assert_eq!(
        kit["associations"],
        json!({"X_SELL": {"products": [], "product_models": [], "groups": []}})
    );
    assert_eq!(
        kit["quantified_associations"]["SET"]["products"],
        json!([{"identifier": "phone-1", "quantity": 1}])
    );
    assert_ne!(kit["updated"], Value::Null);
    assert!(
        kit["updated"].as_str().unwrap() >= before["updated"].as_str().unwrap(),
        "{kit}"
    );
    // A parent is kept while it has children; the refusal names them.
    let refused = e.delete(&full, "boot-1").await;
    refused.assert_status(422);
    assert!(refused.message().contains("\"kit\""), "{}", refused.body);
    e.get(&full, "/api/rest/v1/products/boot-1")
        .await
        .assert_status(200);
    let boot = e.uuid_of(&full, "boot-1").await;
    e.uuid_api(
        &full,
        reqwest::Method::DELETE,
        &format!("/api/rest/v1/products-uuid/{boot}"),
        Value::Null,
    )
    .await
    .assert_status(422);
    // Without children, it goes.
    e.patch(&full, "kit", json!({"parent": null}))
        .await
        .assert_status(204);
    e.delete(&full, "boot-1").await.assert_status(204);
    assert_eq!(
        e.get(&full, "/api/rest/v1/products/kit").await.body["parent"],
        Value::Null
    );
}

/// Issue 16, item 5, with R11: a product the connection's group cannot see
/// does not exist for it as a parent or associated product either (422),
/// is left out when it reads one that links to it (a hidden parent reads
/// null), and stays linked when it replaces the lists it sees.
#[rstest::rstest]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn links_to_products_a_group_cannot_see_are_hidden_and_kept(
    #[values(Engine::Sqlite, Engine::Postgres)] engine: Engine,
) {
    let e = env(engine).await;
    let full = e.catalog().await;
    e.group("shoe_team", &[("shoes", CategoryLevel::Edit)])
        .await;
    let team = e.conn("Shoe team", "catalog_editor", "shoe_team").await;
    e.post(
        &full,
        json!({"identifier": "kit", "categories": ["shoes"], "parent": "phone-1",
               "associations": {"X_SELL": {"products": ["boot-1", "phone-1"]}},
               "quantified_associations": {"SET": {"products": [{"identifier": "phone-1", "quantity": 4}]}}}),
    )
    .await
    .assert_status(201);
    let seen = e.get(&team, "/api/rest/v1/products/kit").await;
    seen.assert_status(200);
    assert_eq!(seen.body["parent"], Value::Null);
    assert_eq!(
        seen.body["associations"]["X_SELL"]["products"],
        json!(["boot-1"])
    );
    assert_eq!(
        seen.body["quantified_associations"]["SET"]["products"],
        json!([])
    );
    // It cannot name what it cannot see.
    let a = e
        .patch(
            &team,
            "kit",
            json!({"associations": {"UPSELL": {"products": ["phone-1"]}}}),
        )
        .await;
    a.assert_status(422);
    assert_eq!(violations(&a)[0].0, "associations.UPSELL.products");
    // Replacing what it sees keeps what it does not; so does a null parent.
    e.patch(
        &team,
        "kit",
        json!({"parent": null, "associations": {"X_SELL": {"products": ["shoe-1"]}},
               "quantified_associations": {"SET": {"products": [{"identifier": "boot-1", "quantity": 1}]}}}),
    )
    .await
    .assert_status(204);
    let all = e.get(&full, "/api/rest/v1/products/kit").await.body;
    assert_eq!(all["parent"], "phone-1");
    assert_eq!(
        all["associations"]["X_SELL"]["products"],
        json!(["shoe-1", "phone-1"])
    );
    assert_eq!(
        all["quantified_associations"]["SET"]["products"],
        json!([{"identifier": "boot-1", "quantity": 1}, {"identifier": "phone-1", "quantity": 4}])
    );
    // A parent it cannot see is not named when it is refused its delete.
    e.post(
        &team,
        json!({"identifier": "boot-kit", "categories": ["boots"], "parent": "shoe-1"}),
    )
    .await
    .assert_status(201);
    e.patch(&full, "phone-1", json!({"parent": "shoe-1"}))
        .await
        .assert_status(204);
    let refused = e.delete(&team, "shoe-1").await;
    refused.assert_status(422);
    assert!(
        refused.message().contains("\"boot-kit\""),
        "{}",
        refused.body
    );
    assert!(!refused.message().contains("phone-1"), "{}", refused.body);
    assert!(
        refused.message().contains("1 product(s)"),
        "{}",
        refused.body
    );
}

/// Issue 16: a client written against the PIM's filter documentation
/// searches by `groups` (`IN`, `NOT IN`, `EMPTY`, `NOT EMPTY`), `parent`
/// (`=`: descendants at any depth; `IN`: direct children; `EMPTY`,
/// `NOT EMPTY`) and `uuid` (`IN`, `NOT IN`) on both APIs, combined with
/// other filters, `with_count` and `search_after` pages; a value of the
/// wrong shape, or an operator the PIM does not document for the
/// property, is a 422 naming it. A parent the group cannot view counts as
/// none, as it reads `null`.
#[rstest::rstest]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_by_groups_parent_and_uuid_as_the_pim_documents(
    #[values(Engine::Sqlite, Engine::Postgres)] engine: Engine,
) {
    let e = env(engine).await;
    let full = e.catalog().await;
    // tee > {tee-red > {tee-red-s, tee-red-m}, tee-blue > tee-blue-s}, and
    // kit (in shoes) under phone-1.
    for (id, parent, groups, categories) in [
        ("tee", None, json!([]), json!(["shirts"])),
        ("tee-red", Some("tee"), json!(["promo"]), json!(["shirts"])),
        (
            "tee-red-s",
            Some("tee-red"),
            json!(["promo", "summer"]),
            json!(["shirts"]),
        ),
        ("tee-red-m", Some("tee-red"), json!([]), json!([])),
        (
            "tee-blue",
            Some("tee"),
            json!(["summer"]),
            json!(["shirts"]),
        ),
        ("tee-blue-s", Some("tee-blue"), json!([]), json!(["shirts"])),
        ("kit", Some("phone-1"), json!(["bundle"]), json!(["shoes"])),
    ] {
        e.post(
            &full,
            json!({"identifier": id, "parent": parent, "groups": groups, "categories": categories}),
        )
        .await
        .assert_status(201);
    }
    let simple = [
        "boot-1",
        "phone-1",
        "shirt-1",
        "shirt-phone",
        "shoe-1",
        "tee",
    ];
    let search = |api: &str, s: &str| format!("/api/rest/v1/{api}?limit=100&search={s}");
    for api in ["products", "products-uuid"] {
        let found = async |s: &str| {
            let a = e.get(&full, &search(api, s)).await;
            a.assert_status(200);
            a.identifiers()
        };
        // groups
        assert_eq!(
            found(r#"{"groups":[{"operator":"IN","value":["promo"]}]}"#).await,
            ["tee-red", "tee-red-s"]
        );
        assert_eq!(
            found(r#"{"groups":[{"operator":"IN","value":["promo","summer","nope"]}]}"#).await,
            ["tee-blue", "tee-red", "tee-red-s"]
        );
        assert_eq!(
            found(r#"{"groups":[{"operator":"NOT IN","value":["promo","bundle"]}]}"#).await,
            [
                "boot-1",
                "phone-1",
                "shirt-1",
                "shirt-phone",
                "shoe-1",
                "tee",
                "tee-blue",
                "tee-blue-s",
                "tee-red-m"
            ]
        );
        assert_eq!(
            found(r#"{"groups":[{"operator":"EMPTY"}]}"#).await,
            [
                "boot-1",
                "phone-1",
                "shirt-1",
                "shirt-phone",
                "shoe-1",
                "tee",
                "tee-blue-s",
                "tee-red-m"
            ]
        );
        assert_eq!(
            found(r#"{"groups":[{"operator":"NOT EMPTY"}]}"#).await,
            ["kit", "tee-blue", "tee-red", "tee-red-s"]
        );
        assert_eq!(
            found(
                r#"{"groups":[{"operator":"IN","value":["promo"]},{"operator":"NOT IN","value":["summer"]}]}"#
            )
            .await,
            ["tee-red"]
        );
        // parent
        assert_eq!(
            found(r#"{"parent":[{"operator":"=","value":"tee"}]}"#).await,
            [
                "tee-blue",
                "tee-blue-s",
                "tee-red",
                "tee-red-m",
                "tee-red-s"
            ]
        );
        assert_eq!(
            found(r#"{"parent":[{"operator":"=","value":"tee-red"}]}"#).await,
            ["tee-red-m", "tee-red-s"]
        );
        assert!(
            found(r#"{"parent":[{"operator":"=","value":"nope"}]}"#)
                .await
                .is_empty()
        );
        assert_eq!(
            found(r#"{"parent":[{"operator":"IN","value":["tee"]}]}"#).await,
            ["tee-blue", "tee-red"]
        );
        assert_eq!(
            found(r#"{"parent":[{"operator":"IN","value":["tee-red","tee-blue","phone-1"]}]}"#)
                .await,
            ["kit", "tee-blue-s", "tee-red-m", "tee-red-s"]
        );
        assert_eq!(found(r#"{"parent":[{"operator":"EMPTY"}]}"#).await, simple);
        assert_eq!(
            found(r#"{"parent":[{"operator":"NOT EMPTY"}]}"#).await,
            [
                "kit",
                "tee-blue",
                "tee-blue-s",
                "tee-red",
                "tee-red-m",
                "tee-red-s"
            ]
        );
        assert_eq!(
            found(
                r#"{"parent":[{"operator":"=","value":"tee"}],"groups":[{"operator":"EMPTY"}],"categories":[{"operator":"IN","value":["shirts"]}]}"#
            )
            .await,
            ["tee-blue-s"]
        );
    }
    // uuid, on both APIs; a UUID in capitals is the same UUID.
    let boot = e.uuid_of(&full, "boot-1").await;
    let phone = e.uuid_of(&full, "phone-1").await;
    let absent = "8945388d-cf5b-49af-8799-05d1ed6e296f";
    for api in ["products", "products-uuid"] {
        let listed = e
            .get(
                &full,
                &search(
                    api,
                    &format!(
                        r#"{{"uuid":[{{"operator":"IN","value":["{boot}","{}","{absent}"]}}]}}"#,
                        phone.to_uppercase()
                    ),
                ),
            )
            .await;
        listed.assert_status(200);
        assert_eq!(listed.identifiers(), ["boot-1", "phone-1"]);
        let uuids: Vec<&str> = listed.body["_embedded"]["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["uuid"].as_str().unwrap())
            .collect();
        assert_eq!(uuids, [boot.as_str(), phone.as_str()]);
        let others = e
            .get(
                &full,
                &format!(
                    "{}&with_count=true",
                    search(
                        api,
                        &format!(r#"{{"uuid":[{{"operator":"NOT IN","value":["{boot}"]}}]}}"#)
                    )
                ),
            )
            .await;
        others.assert_status(200);
        assert_eq!(others.body["items_count"], 11);
        assert!(!others.identifiers().contains(&"boot-1".to_string()));
    }

    // with_count and search_after pages carry the new filters.
    for api in ["products", "products-uuid"] {
        let counted = e
            .get(
                &full,
                &format!(
                    "/api/rest/v1/{api}?limit=2&with_count=true&search={}",
                    r#"{"parent":[{"operator":"NOT EMPTY"}],"groups":[{"operator":"NOT IN","value":["bundle"]}]}"#
                ),
            )
            .await;
        counted.assert_status(200);
        assert_eq!(counted.body["items_count"], 5);
        assert_eq!(counted.identifiers(), ["tee-blue", "tee-blue-s"]);
        let mut page = e
            .get(
                &full,
                &format!(
                    "/api/rest/v1/{api}?pagination_type=search_after&limit=2&search={}",
                    r#"{"parent":[{"operator":"=","value":"tee"}]}"#
                ),
            )
            .await;
        page.assert_status(200);
        let mut all = page.identifiers();
        let mut pages = 1;
        while let Some(next) = page.body["_links"]["next"]["href"].as_str() {
            assert!(next.contains("search="), "{next}");
            page = e.get(&full, next).await;
            page.assert_status(200);
            all.extend(page.identifiers());
            pages += 1;
        }
        assert_eq!(pages, 3);
        assert_eq!(
            all,
            [
                "tee-blue",
                "tee-blue-s",
                "tee-red",
                "tee-red-m",
                "tee-red-s"
            ]
        );
        let mut page = e
            .get(
                &full,
                &format!(
                    "/api/rest/v1/{api}?pagination_type=search_after&limit=1&search={}",
                    r#"{"groups":[{"operator":"IN","value":["promo","summer"]}]}"#
                ),
            )
            .await;
        let mut all = page.identifiers();
        while let Some(next) = page.body["_links"]["next"]["href"].as_str() {
            page = e.get(&full, next).await;
            all.extend(page.identifiers());
        }
        assert_eq!(all, ["tee-blue", "tee-red", "tee-red-s"]);
    }

    // A parent the group cannot view counts as none: kit's parent phone-1
    // reads null for a group that sees shoes only.
    e.group("shoe_team", &[("shoes", CategoryLevel::View)])
        .await;
    let team = e.conn("Shoe team", "catalog_editor", "shoe_team").await;
    let seen = async |s: &str| {
        let a = e.get(&team, &search("products", s)).await;
        a.assert_status(200);
        a.identifiers()
    };
    assert_eq!(
        seen(r#"{"parent":[{"operator":"EMPTY"}]}"#).await,
        ["boot-1", "kit", "shoe-1", "tee-red-m"]
    );
    assert!(
        seen(r#"{"parent":[{"operator":"NOT EMPTY"}]}"#)
            .await
            .is_empty()
    );
    assert!(
        seen(r#"{"parent":[{"operator":"IN","value":["phone-1"]}]}"#)
            .await
            .is_empty()
    );
    assert!(
        seen(r#"{"parent":[{"operator":"=","value":"phone-1"}]}"#)
            .await
            .is_empty()
    );
    // tee-red-m (in no category) descends from tee through tee-red, which
    // the group cannot view either.
    assert!(
        seen(r#"{"parent":[{"operator":"=","value":"tee"}]}"#)
            .await
            .is_empty()
    );
    assert_eq!(
        seen(r#"{"groups":[{"operator":"NOT EMPTY"}]}"#).await,
        ["kit"]
    );

    // Values of the wrong shape, and operators the PIM does not document
    // for the property: 422 in the PIM's shape, naming the property.
    for (s, property) in [
        (
            r#"{"groups":[{"operator":"IN","value":"promo"}]}"#,
            "groups",
        ),
        (
            r#"{"groups":[{"operator":"NOT IN","value":[1,2]}]}"#,
            "groups",
        ),
        (r#"{"groups":[{"operator":"IN"}]}"#, "groups"),
        (r#"{"groups":[{"operator":"=","value":"promo"}]}"#, "groups"),
        (r#"{"groups":{"operator":"EMPTY"}}"#, "groups"),
        (r#"{"parent":[{"operator":"=","value":["tee"]}]}"#, "parent"),
        (r#"{"parent":[{"operator":"=","value":7}]}"#, "parent"),
        (r#"{"parent":[{"operator":"="}]}"#, "parent"),
        (r#"{"parent":[{"operator":"IN","value":"tee"}]}"#, "parent"),
        (r#"{"parent":[{"operator":"IN","value":[null]}]}"#, "parent"),
        (
            r#"{"parent":[{"operator":"NOT IN","value":["tee"]}]}"#,
            "parent",
        ),
        (r#"{"uuid":[{"operator":"IN","value":["boot-1"]}]}"#, "uuid"),
        (
            r#"{"uuid":[{"operator":"NOT IN","value":"8945388d-cf5b-49af-8799-05d1ed6e296f"}]}"#,
            "uuid",
        ),
        (
            r#"{"uuid":[{"operator":"IN","value":[{"uuid":"8945388d-cf5b-49af-8799-05d1ed6e296f"}]}]}"#,
            "uuid",
        ),
        (
            r#"{"uuid":[{"operator":"=","value":"8945388d-cf5b-49af-8799-05d1ed6e296f"}]}"#,
            "uuid",
        ),
        (r#"{"uuid":[{"operator":"EMPTY"}]}"#, "uuid"),
    ] {
        for api in ["products", "products-uuid"] {
            let refused = e.get(&full, &search(api, s)).await;
            refused.assert_status(422);
            assert!(
                refused.message().contains(&format!("\"{property}\"")),
                "{s}: {}",
                refused.body
            );
        }
    }
}

/// Issue 16: `created` and `updated` `=` and `!=` (on, not on the day),
/// and the PIM's filters on attribute values, by the data's JSON type,
/// restricted by `locale`/`locales` and `scope`; a bad shape is a 422
/// naming the attribute.
#[rstest::rstest]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_by_created_updated_day_and_attribute_values(
    #[values(Engine::Sqlite, Engine::Postgres)] engine: Engine,
) {
    let e = env(engine).await;
    let full = e.catalog().await;
    let v = |data: Value| json!([{"locale": null, "scope": null, "data": data}]);
    for (id, values) in [
        (
            "boot-1",
            json!({
                "name": [
                    {"locale": "en_US", "scope": "ecommerce", "data": "Red Winter Boot"},
                    {"locale": "fr_FR", "scope": "ecommerce", "data": "Botte rouge"}
                ],
                "size": v(json!(42)),
                "waterproof": v(json!(true)),
                "color": v(json!("red")),
                "release_date": v(json!("2016-07-04T00:00:00+00:00"))
            }),
        ),
        (
            "shoe-1",
            json!({
                "name": [{"locale": "en_US", "scope": "ecommerce", "data": "Blue shoe"}],
                "size": v(json!("38.5")),
                "waterproof": v(json!(false)),
                "color": v(json!(["blue", "white"])),
                "release_date": v(json!("2016-08-01"))
            }),
        ),
        (
            "shirt-1",
            json!({
                "name": [{"locale": "en_US", "scope": "mobile", "data": "red shirt"}],
                "size": v(json!(3))
            }),
        ),
    ] {
        e.patch(&full, id, json!({"values": values}))
            .await
            .assert_status(204);
    }
    let ids = |search: Value| {
        let q = format!(
            "?limit=100&with_count=true&search={}",
            form_urlencoded::byte_serialize(search.to_string().as_bytes()).collect::<String>()
        );
        let e = &e;
        let full = &full;
        async move {
            let a = e.list(full, &q).await;
            a.assert_status(200);
            a.identifiers()
        }
    };
    // The day the catalog was written (as the products say).
    let boot = e.get(&full, "/api/rest/v1/products/boot-1").await;
    let today = format!("{} 00:00:00", &boot.body["created"].as_str().unwrap()[..10]);
    let all = ["boot-1", "phone-1", "shirt-1", "shirt-phone", "shoe-1"];
    for property in ["created", "updated"] {
        assert_eq!(
            ids(json!({property: [{"operator": "=", "value": today}]})).await,
            all
        );
        assert!(
            ids(json!({property: [{"operator": "!=", "value": today}]}))
                .await
                .is_empty()
        );
        assert!(
            ids(json!({property: [{"operator": "=", "value": "2016-07-04 10:00:00"}]}))
                .await
                .is_empty()
        );
        assert_eq!(
            ids(json!({property: [{"operator": "!=", "value": "2016-07-04 10:00:00"}]})).await,
            all
        );
    }
    let name = |op: &str, value: Value| json!({"name": [{"operator": op, "value": value}]});
    for (search, want) in [
        // Text, case-insensitive, over any locale unless one is given.
        (name("CONTAINS", json!("RED")), &["boot-1", "shirt-1"][..]),
        (
            json!({"name": [{"operator": "CONTAINS", "value": "red", "locale": "en_US", "scope": "ecommerce"}]}),
            &["boot-1"],
        ),
        (
            json!({"name": [{"operator": "CONTAINS", "value": "rouge", "locales": ["fr_FR", "de_DE"]}]}),
            &["boot-1"],
        ),
        (
            json!({"name": [{"operator": "CONTAINS", "value": "rouge", "locale": "en_US"}]}),
            &[],
        ),
        (name("STARTS WITH", json!("blue")), &["shoe-1"]),
        (name("ENDS WITH", json!("BOOT")), &["boot-1"]),
        (name("=", json!("red shirt")), &["shirt-1"]),
        (name("!=", json!("red shirt")), &["boot-1", "shoe-1"]),
        // Products without the attribute are not among the negations.
        (name("DOES NOT CONTAIN", json!("red")), &["shoe-1"]),
        (name("IN", json!(["Blue Shoe", "x"])), &["shoe-1"]),
        (name("NOT IN", json!(["blue shoe"])), &["boot-1", "shirt-1"]),
        (name("EMPTY", Value::Null), &["phone-1", "shirt-phone"]),
        (
            json!({"name": [{"operator": "NOT EMPTY", "scope": "mobile"}]}),
            &["shirt-1"],
        ),
        // Numbers: numeric data and numeric strings.
        (
            json!({"size": [{"operator": "<", "value": 40}]}),
            &["shirt-1", "shoe-1"],
        ),
        (
            json!({"size": [{"operator": "<=", "value": 38.5}]}),
            &["shirt-1", "shoe-1"],
        ),
        (
            json!({"size": [{"operator": "=", "value": 42}]}),
            &["boot-1"],
        ),
        (
            json!({"size": [{"operator": "!=", "value": 42}]}),
            &["shirt-1", "shoe-1"],
        ),
        (
            json!({"size": [{"operator": ">=", "value": 38.5}]}),
            &["boot-1", "shoe-1"],
        ),
        (
            json!({"size": [{"operator": ">", "value": 3}]}),
            &["boot-1", "shoe-1"],
        ),
        // Booleans.
        (
            json!({"waterproof": [{"operator": "=", "value": true}]}),
            &["boot-1"],
        ),
        (
            json!({"waterproof": [{"operator": "!=", "value": true}]}),
            &["shoe-1"],
        ),
        // Simple and multi select options.
        (
            json!({"color": [{"operator": "IN", "value": ["RED", "white"]}]}),
            &["boot-1", "shoe-1"],
        ),
        (
            json!({"color": [{"operator": "NOT IN", "value": ["white"]}]}),
            &["boot-1"],
        ),
        (
            json!({"color": [{"operator": "NOT EMPTY"}]}),
            &["boot-1", "shoe-1"],
        ),
        // Dates.
        (
            json!({"release_date": [{"operator": "<", "value": "2016-07-05"}]}),
            &["boot-1"],
        ),
        (
            json!({"release_date": [{"operator": ">", "value": "2016-07-04"}]}),
            &["shoe-1"],
        ),
        (
            json!({"release_date": [{"operator": "=", "value": "2016-07-04"}]}),
            &["boot-1"],
        ),
        (
            json!({"release_date": [{"operator": "!=", "value": "2016-07-04"}]}),
            &["shoe-1"],
        ),
        (
            json!({"release_date": [{"operator": "BETWEEN", "value": ["2016-07-01", "2016-07-31"]}]}),
            &["boot-1"],
        ),
        (
            json!({"release_date": [{"operator": "NOT BETWEEN", "value": ["2016-07-01", "2016-07-31"]}]}),
            &["shoe-1"],
        ),
        // Combined with a product property and another attribute.
        (
            json!({"categories": [{"operator": "IN CHILDREN", "value": ["clothing"]}],
                   "size": [{"operator": "<", "value": 40}],
                   "name": [{"operator": "NOT EMPTY"}]}),
            &["shirt-1", "shoe-1"],
        ),
    ] {
        assert_eq!(ids(search.clone()).await, want, "{search}");
    }
    // Paging and the count hold under an attribute filter.
    let page = e
        .list(
            &full,
            &format!(
                "?limit=1&with_count=true&search={}",
                form_urlencoded::byte_serialize(
                    json!({"size": [{"operator": "NOT EMPTY"}]})
                        .to_string()
                        .as_bytes()
                )
                .collect::<String>()
            ),
        )
        .await;
    page.assert_status(200);
    assert_eq!(page.identifiers(), ["boot-1"]);
    assert_eq!(page.body["items_count"], 3);
    for (search, property) in [
        (name("CONTAINS", Value::Null), "name"),
        (name("CONTAINS", json!(1)), "name"),
        (name("IN", json!("red")), "name"),
        (name("LIKE", json!("red")), "name"),
        (json!({"size": [{"operator": "<", "value": "big"}]}), "size"),
        (json!({"size": [{"operator": ">=", "value": "1"}]}), "size"),
        (
            json!({"release_date": [{"operator": "BETWEEN", "value": ["2016-07-01"]}]}),
            "release_date",
        ),
        (
            json!({"name": [{"operator": "EMPTY", "locale": 1}]}),
            "name",
        ),
        (
            json!({"name": [{"operator": "EMPTY", "scope": ["x"]}]}),
            "name",
        ),
        (
            json!({"created": [{"operator": "=", "value": "2016-07-04"}]}),
            "created",
        ),
        (
            json!({"completeness": [{"operator": "=", "value": 100}]}),
            "completeness",
        ),
    ] {
        let q = format!(
            "?search={}",
            form_urlencoded::byte_serialize(search.to_string().as_bytes()).collect::<String>()
        );
        let a = e.list(&full, &q).await;
        a.assert_status(422);
        assert!(
            a.message().contains(&format!("\"{property}\"")),
            "{search}: {}",
            a.message()
        );
    }
}

/// Price collection and metric filters (the value's shape chooses: an
/// object with `currency` or with `unit`; metrics compare in the same unit
/// only), EMPTY / NOT EMPTY on a currency, and `search_locale` /
/// `search_scope` as the locale and scope of filters that give none, on
/// both list routes; bad shapes and control characters are refused.
#[rstest::rstest]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_by_prices_metrics_and_default_locale_and_scope(
    #[values(Engine::Sqlite, Engine::Postgres)] engine: Engine,
) {
    let e = env(engine).await;
    let full = e.catalog().await;
    let v = |data: Value| json!([{"locale": null, "scope": null, "data": data}]);
    for (id, values) in [
        (
            "boot-1",
            json!({
                "price": v(json!([{"amount": "12.50", "currency": "EUR"},
                                  {"amount": "15.00", "currency": "USD"}])),
                "weight": v(json!({"amount": "1.2", "unit": "KILOGRAM"})),
                "name": [
                    {"locale": "en_US", "scope": "ecommerce", "data": "Red boot"},
                    {"locale": "fr_FR", "scope": "mobile", "data": "Botte"}
                ],
                "color": v(json!("red"))
            }),
        ),
        (
            "shoe-1",
            json!({
                "price": v(json!([{"amount": 30, "currency": "EUR"},
                                  {"amount": null, "currency": "USD"}])),
                "weight": v(json!({"amount": 800, "unit": "GRAM"})),
                "name": [{"locale": "fr_FR", "scope": "ecommerce", "data": "Chaussure"}]
            }),
        ),
        (
            "shirt-1",
            json!({
                "price": v(json!([{"amount": "9", "currency": "USD"}])),
                "weight": v(json!({"amount": 2, "unit": "KILOGRAM"}))
            }),
        ),
    ] {
        e.patch(&full, id, json!({"values": values}))
            .await
            .assert_status(204);
    }
    let query = |search: &Value, extra: &str| {
        format!(
            "?limit=100&search={}{extra}",
            form_urlencoded::byte_serialize(search.to_string().as_bytes()).collect::<String>()
        )
    };
    let price = |op: &str, value: Value| json!({"price": [{"operator": op, "value": value}]});
    let weight = |op: &str, value: Value| json!({"weight": [{"operator": op, "value": value}]});
    let cases: Vec<(Value, &str, &[&str])> = vec![
        (
            price("<", json!({"amount": 13, "currency": "EUR"})),
            "",
            &["boot-1"],
        ),
        (
            price("<=", json!({"amount": "30", "currency": "EUR"})),
            "",
            &["boot-1", "shoe-1"],
        ),
        (
            price("=", json!({"amount": 12.5, "currency": "EUR"})),
            "",
            &["boot-1"],
        ),
        // Products with a EUR price, none of them 12.50.
        (
            price("!=", json!({"amount": 12.5, "currency": "EUR"})),
            "",
            &["shoe-1"],
        ),
        (
            price(">=", json!({"amount": 9, "currency": "USD"})),
            "",
            &["boot-1", "shirt-1"],
        ),
        (
            price(">", json!({"amount": 10, "currency": "USD"})),
            "",
            &["boot-1"],
        ),
        (price(">", json!({"amount": 0, "currency": "GBP"})), "", &[]),
        (
            price("NOT EMPTY", json!({"currency": "USD"})),
            "",
            &["boot-1", "shirt-1"],
        ),
        (
            price("EMPTY", json!({"currency": "USD"})),
            "",
            &["phone-1", "shirt-phone", "shoe-1"],
        ),
        (
            price("EMPTY", json!({"currency": "EUR"})),
            "",
            &["phone-1", "shirt-1", "shirt-phone"],
        ),
        (
            json!({"price": [{"operator": "NOT EMPTY"}]}),
            "",
            &["boot-1", "shirt-1", "shoe-1"],
        ),
        // Metrics: the same unit only, no conversion.
        (
            weight("<", json!({"amount": 2, "unit": "KILOGRAM"})),
            "",
            &["boot-1"],
        ),
        (
            weight("<=", json!({"amount": "2", "unit": "KILOGRAM"})),
            "",
            &["boot-1", "shirt-1"],
        ),
        (
            weight("=", json!({"amount": 800, "unit": "GRAM"})),
            "",
            &["shoe-1"],
        ),
        (
            weight("!=", json!({"amount": 2, "unit": "KILOGRAM"})),
            "",
            &["boot-1"],
        ),
        (
            weight(">=", json!({"amount": 1, "unit": "GRAM"})),
            "",
            &["shoe-1"],
        ),
        (
            weight(">", json!({"amount": 1, "unit": "KILOGRAM"})),
            "",
            &["boot-1", "shirt-1"],
        ),
        (
            json!({"weight": [{"operator": "EMPTY"}]}),
            "",
            &["phone-1", "shirt-phone"],
        ),
        (
            json!({"weight": [{"operator": "NOT EMPTY"}]}),
            "",
            &["boot-1", "shirt-1", "shoe-1"],
        ),
        // search_locale and search_scope: the filter's own win; values
        // with no locale or scope (not localisable or scopable) count.
        (
            json!({"name": [{"operator": "NOT EMPTY"}]}),
            "&search_locale=en_US",
            &["boot-1"],
        ),
        (
            json!({"name": [{"operator": "NOT EMPTY"}]}),
            "&search_scope=ecommerce",
            &["boot-1", "shoe-1"],
        ),
        (
            json!({"name": [{"operator": "NOT EMPTY"}]}),
            "&search_locale=fr_FR&search_scope=ecommerce",
            &["shoe-1"],
        ),
        (
            json!({"name": [{"operator": "NOT EMPTY", "locale": "fr_FR"}]}),
            "&search_locale=en_US",
            &["boot-1", "shoe-1"],
        ),
        (
            json!({"name": [{"operator": "NOT EMPTY", "scope": "mobile"}]}),
            "&search_scope=ecommerce",
            &["boot-1"],
        ),
        (
            json!({"color": [{"operator": "=", "value": "red"}]}),
            "&search_locale=de_DE&search_scope=mobile",
            &["boot-1"],
        ),
        (
            price("<", json!({"amount": 100, "currency": "EUR"})),
            "&search_locale=en_US&search_scope=ecommerce",
            &["boot-1", "shoe-1"],
        ),
    ];
    for (search, extra, want) in cases {
        let q = query(&search, extra);
        let a = e.list(&full, &q).await;
        a.assert_status(200);
        assert_eq!(a.identifiers(), want, "{search} {extra}");
        // The products-uuid list filters alike.
        let u = e
            .get(&full, &format!("/api/rest/v1/products-uuid{q}"))
            .await;
        u.assert_status(200);
        assert_eq!(
            u.body["_embedded"]["items"].as_array().unwrap().len(),
            want.len(),
            "{search} {extra}"
        );
    }
    // The links keep search_locale and search_scope.
    let a = e
        .list(
            &full,
            &query(
                &json!({"name": [{"operator": "NOT EMPTY"}]}),
                "&search_locale=en_US&search_scope=ecommerce",
            ),
        )
        .await;
    let next = a.body["_links"]["self"]["href"].as_str().unwrap();
    assert!(
        next.contains("&search_locale=en_US") && next.contains("&search_scope=ecommerce"),
        "{next}"
    );
    for (search, property) in [
        (price("<", json!({"amount": 1})), "price"),
        (
            price("=", json!({"amount": "x", "currency": "EUR"})),
            "price",
        ),
        (price(">", json!({"amount": 1, "currency": 2})), "price"),
        (price(">", json!({"currency": "EUR"})), "price"),
        (
            price("IN", json!({"amount": 1, "currency": "EUR"})),
            "price",
        ),
        (price("EMPTY", json!({"currency": null})), "price"),
        (
            weight("<", json!({"amount": null, "unit": "GRAM"})),
            "weight",
        ),
        (
            weight("!=", json!({"amount": 1, "unit": ["GRAM"]})),
            "weight",
        ),
        (
            weight(">=", json!({"amount": 1, "unit": "GRAM", "x": 1})),
            "weight",
        ),
    ] {
        for path in ["/api/rest/v1/products", "/api/rest/v1/products-uuid"] {
            let a = e.get(&full, &format!("{path}{}", query(&search, ""))).await;
            a.assert_status(422);
            assert!(
                a.message().contains(&format!("\"{property}\"")),
                "{search}: {}",
                a.message()
            );
        }
    }
    for bad in ["&search_locale=en%0AUS", "&search_scope=%7F"] {
        for path in ["/api/rest/v1/products", "/api/rest/v1/products-uuid"] {
            let a = e
                .get(&full, &format!("{path}{}", query(&json!({}), bad)))
                .await;
            a.assert_status(400);
        }
    }
}
