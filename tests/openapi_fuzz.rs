//! Issue 16, item 8: the server answers only what `/api/openapi.json` says.
//!
//! A schema-driven fuzz run against a real server on a loopback port, on
//! both engines. For every operation the description lists, requests are
//! generated from the description itself: path parameters from the codes
//! that exist (and ones that do not, and junk), query parameters from their
//! schemas (in range, out of range, not of the type), bodies from the request
//! schema (valid, fields missing or of the wrong type, extra fields, not an
//! object, not JSON, the wrong content type), and the caller's credentials
//! (valid, missing, garbage, the wrong kind). Every answer must have a status
//! the operation documents, never a 5xx, and a body that validates against
//! the schema documented for that status.
//!
//! The run is bounded in time (`FUZZ_SECONDS`, default 12 per engine),
//! visiting the operations in turn, and seeded (`FUZZ_SEED` replays a run;
//! the seed is printed).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, RngCore, SeedableRng};
use serde_json::{Map, Value, json};
use switchboard::server::serve;
use switchboard::service::Service;

mod common;
use common::Engine;

const OWNER: &str = "alice";
const OWNER_PASSWORD: &str = "correct horse battery";
const MEMBER: &str = "bob";
const MEMBER_PASSWORD: &str = "member password for the fuzz run";

/// One documented operation.
struct Operation {
    method: String,
    path: String,
    op: Value,
}

/// What the run knows that exists, to name in paths, queries and bodies.
#[derive(Default)]
struct Pools {
    by_kind: BTreeMap<&'static str, Vec<String>>,
}

impl Pools {
    fn add(&mut self, kind: &'static str, value: impl Into<String>) {
        self.by_kind.entry(kind).or_default().push(value.into());
    }

    fn pick(&self, kind: &str, rng: &mut StdRng) -> Option<String> {
        let list = self.by_kind.get(kind)?;
        (!list.is_empty()).then(|| list[rng.random_range(0..list.len())].clone())
    }

    fn any(&self, rng: &mut StdRng) -> String {
        let kinds: Vec<_> = self.by_kind.keys().collect();
        let kind = kinds[rng.random_range(0..kinds.len())];
        self.pick(kind, rng).unwrap_or_default()
    }
}

/// The credentials the run holds.
struct Creds {
    owner_session: String,
    member_session: String,
    /// A Web API token of a connection no generated request names.
    web_token: String,
    /// The client the token and revoke endpoints are fuzzed with.
    client_id: String,
    client_secret: String,
    api_username: String,
    api_password: String,
}

struct Run {
    url: String,
    http: reqwest::Client,
    spec: Value,
    pools: Pools,
    creds: Creds,
    rng: StdRng,
    validators: BTreeMap<String, jsonschema::Validator>,
    /// The server's service, to log in again without HTTP: generated
    /// logins lock the loopback address out (R-login lockout), as they
    /// should.
    svc: Arc<Service>,
}

/// One answer that breaks the description.
#[derive(Debug)]
struct Finding {
    operation: String,
    status: u16,
    what: String,
}

#[rstest::rstest]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_answer_is_one_the_description_lists(
    #[values(Engine::Sqlite, Engine::Postgres)] engine: Engine,
) {
    let dir = tempfile::tempdir().unwrap();
    let location = common::location(engine, dir.path()).await;
    let store = common::open_at(&location, dir.path()).await;
    // A rate limit the run will reach, so 429s are checked too.
    let svc = Arc::new(Service::new(store).with_rate_limit(200, 400));
    svc.prepare_owner(Some(OWNER), Some(OWNER_PASSWORD.to_string().into()))
        .await
        .unwrap();
    let running = serve::start_app_with(
        serve::app(svc.clone()),
        "127.0.0.1:0".parse().unwrap(),
        None,
        serve::ServeConfig::default(),
    )
    .await
    .unwrap();
    let url = format!("http://{}", running.addr());
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let spec: Value = http
        .get(format!("{url}/api/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let (pools, creds) = prepare(&http, &url).await;
    let seed: u64 = std::env::var("FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        });
    println!("FUZZ_SEED={seed} ({engine:?})");
    let mut run = Run {
        url,
        http,
        spec,
        pools,
        creds,
        rng: StdRng::seed_from_u64(seed),
        validators: BTreeMap::new(),
        svc,
    };
    let operations = operations(&run.spec);
    assert!(
        operations.len() >= 70,
        "the description lists {} operations",
        operations.len()
    );
    let seconds: u64 = std::env::var("FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(12);
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut findings = BTreeMap::new();
    let mut sent = 0usize;
    let mut statuses: BTreeMap<String, BTreeSet<u16>> = BTreeMap::new();
    // At least one full round, then on until the deadline.
    let mut round = 0;
    while round == 0 || Instant::now() < deadline {
        for op in &operations {
            let name = format!("{} {}", op.method.to_uppercase(), op.path);
            let (status, found) = run.one(op).await;
            sent += 1;
            statuses.entry(name).or_default().insert(status);
            for f in found {
                // One example of each kind of finding per operation.
                let kind: String = f.what.chars().take(40).collect();
                findings
                    .entry((f.operation.clone(), f.status, kind))
                    .or_insert(f);
            }
        }
        round += 1;
    }
    if std::env::var_os("FUZZ_VERBOSE").is_some() {
        for (name, seen) in &statuses {
            println!("{name}: {seen:?}");
        }
    }
    println!(
        "{sent} requests in {round} rounds over {} operations ({engine:?})",
        operations.len()
    );
    assert!(
        findings.is_empty(),
        "FUZZ_SEED={seed}: {} answers the description does not list:\n{}",
        findings.len(),
        findings
            .values()
            .map(|f| format!("  {} -> {}: {}", f.operation, f.status, f.what))
            .collect::<Vec<_>>()
            .join("\n")
    );
    // Every operation was reached beyond its authentication: some answer
    // other than 401 came back for each.
    for (name, seen) in &statuses {
        assert!(
            seen.iter().any(|s| *s != 401),
            "{name}: only 401s in {round} rounds"
        );
    }
}

/// The operations of the description, in path order.
fn operations(spec: &Value) -> Vec<Operation> {
    let mut out = Vec::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if ["get", "put", "post", "delete", "patch"].contains(&method.as_str()) {
                out.push(Operation {
                    method: method.clone(),
                    path: path.clone(),
                    op: op.clone(),
                });
            }
        }
    }
    out
}

/// Sessions, a member, the demo workspace, the connections whose
/// credentials the run uses, and the pools of what exists.
async fn prepare(http: &reqwest::Client, url: &str) -> (Pools, Creds) {
    let owner_session = login(http, url, OWNER, OWNER_PASSWORD).await;
    let send = |method: reqwest::Method, path: &str, body: Option<Value>| {
        let mut req = http
            .request(method, format!("{url}{path}"))
            .bearer_auth(&owner_session);
        if let Some(body) = body {
            req = req.json(&body);
        }
        async move {
            let resp = req.send().await.unwrap();
            let status = resp.status();
            let body: Value = resp.json().await.unwrap_or(Value::Null);
            assert!(status.is_success(), "{status}: {body}");
            body
        }
    };
    send(reqwest::Method::POST, "/api/v1/demo", None).await;
    let member = send(
        reqwest::Method::POST,
        "/api/v1/users",
        Some(json!({"username": MEMBER, "kind": "member", "password": MEMBER_PASSWORD})),
    )
    .await;
    assert_eq!(member["user"]["username"], MEMBER);
    let member_session = login(http, url, MEMBER, MEMBER_PASSWORD).await;

    // The Web API caller: its own role with every permission and a group
    // that may view every category; no generated request names them.
    let role = send(reqwest::Method::GET, "/api/v1/roles", None).await;
    let permissions: BTreeSet<String> = role
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r["permissions"].as_array().unwrap().clone())
        .map(|p| p.as_str().unwrap().to_string())
        .collect();
    send(
        reqwest::Method::POST,
        "/api/v1/roles",
        Some(json!({"code": "fuzz_caller", "label": "Fuzz caller", "permissions": permissions})),
    )
    .await;
    let web = send(
        reqwest::Method::POST,
        "/api/v1/connections",
        Some(json!({"label": "Fuzz web caller", "code": "fuzz_web"})),
    )
    .await;
    send(
        reqwest::Method::PATCH,
        "/api/v1/connections/fuzz_web",
        Some(json!({"role": "fuzz_caller"})),
    )
    .await;
    let web_token = token(
        http,
        url,
        &web["connection"]["client_id"],
        &web["secret"],
        &web["connection"]["username"],
        &web["password"],
    )
    .await;
    let tok = send(
        reqwest::Method::POST,
        "/api/v1/connections",
        Some(json!({"label": "Fuzz token client", "code": "fuzz_token"})),
    )
    .await;

    let mut pools = Pools::default();
    let connections = send(reqwest::Method::GET, "/api/v1/connections", None).await;
    for c in connections["items"].as_array().unwrap() {
        let code = c["code"].as_str().unwrap();
        if !code.starts_with("fuzz_") {
            pools.add("connection", code);
        }
    }
    for (kind, path) in [
        ("integration", "/api/v1/integrations"),
        ("flow", "/api/v1/flows"),
        ("role", "/api/v1/roles"),
        ("group", "/api/v1/groups"),
        ("category", "/api/v1/categories"),
    ] {
        for item in send(reqwest::Method::GET, path, None)
            .await
            .as_array()
            .unwrap()
        {
            let code = item["code"].as_str().unwrap();
            if code != "fuzz_caller" {
                pools.add(kind, code);
            }
        }
    }
    pools.add("username", MEMBER);
    pools.add("username", "nobody");
    let products: Value = http
        .get(format!("{url}/api/rest/v1/products?limit=100"))
        .bearer_auth(&web_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for p in products["_embedded"]["items"].as_array().unwrap() {
        pools.add("identifier", p["identifier"].as_str().unwrap());
        pools.add("uuid", p["uuid"].as_str().unwrap());
    }
    for p in [
        "pim_catalog_text",
        "description",
        "name",
        "en_US",
        "ecommerce",
    ] {
        pools.add("attribute", p);
    }
    assert!(
        pools
            .by_kind
            .get("identifier")
            .is_some_and(|l| !l.is_empty()),
        "the demo has products"
    );
    let creds = Creds {
        owner_session,
        member_session,
        web_token,
        client_id: tok["connection"]["client_id"].as_str().unwrap().into(),
        client_secret: tok["secret"].as_str().unwrap().into(),
        api_username: tok["connection"]["username"].as_str().unwrap().into(),
        api_password: tok["password"].as_str().unwrap().into(),
    };
    (pools, creds)
}

async fn login(http: &reqwest::Client, url: &str, user: &str, password: &str) -> String {
    let req = http
        .post(format!("{url}/api/v1/session"))
        .json(&json!({"username": user, "password": password}));
    answer_field(req, "token").await
}

async fn token(
    http: &reqwest::Client,
    url: &str,
    client_id: &Value,
    secret: &Value,
    username: &Value,
    password: &Value,
) -> String {
    let req = http
        .post(format!("{url}/api/oauth/v1/token"))
        .basic_auth(client_id.as_str().unwrap(), secret.as_str())
        .json(&json!({"grant_type": "password", "username": username, "password": password}));
    answer_field(req, "access_token").await
}

/// Sends `req` and returns the text field `field` of its JSON answer.
async fn answer_field(req: reqwest::RequestBuilder, field: &str) -> String {
    let resp: Value = req.send().await.unwrap().json().await.unwrap();
    resp[field]
        .as_str()
        .unwrap_or_else(|| panic!("no {field}: {resp}"))
        .to_string()
}

/// How a request authenticates.
enum Auth {
    None,
    Bearer(String),
    Basic(String, String),
}

impl Run {
    fn chance(&mut self, percent: u32) -> bool {
        self.rng.random_range(0..100) < percent
    }

    /// Sends one generated request for `op` and checks the answer.
    async fn one(&mut self, op: &Operation) -> (u16, Vec<Finding>) {
        let name = format!("{} {}", op.method.to_uppercase(), op.path);
        let path = self.fill_path(&op.path);
        let query = self.query(&op.op);
        let auth = self.auth(op);
        let (content_type, body) = self.body(op);
        let method = reqwest::Method::from_bytes(op.method.to_uppercase().as_bytes()).unwrap();
        let mut url = format!("{}{path}", self.url);
        if !query.is_empty() {
            url.push('?');
            url.push_str(&query);
        }
        let mut req = self.http.request(method, &url);
        req = match &auth {
            Auth::None => req,
            Auth::Bearer(t) => req.bearer_auth(t),
            Auth::Basic(id, secret) => req.basic_auth(id, Some(secret)),
        };
        if let Some(ct) = &content_type {
            req = req.header("content-type", ct);
        }
        if let Some(body) = body {
            req = req.body(body);
        }
        let resp = match req.send().await {
            Ok(resp) => resp,
            Err(e) => {
                return (
                    0,
                    vec![Finding {
                        operation: name,
                        status: 0,
                        what: format!("no answer: {e}"),
                    }],
                );
            }
        };
        let status = resp.status().as_u16();
        if let (401, Auth::Bearer(t)) = (status, &auth)
            && (*t == self.creds.owner_session || *t == self.creds.member_session)
        {
            self.renew_sessions().await;
        }
        let answered_type = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let text = resp.text().await.unwrap_or_default();
        let mut found = Vec::new();
        let mut finding = |what: String| {
            found.push(Finding {
                operation: name.clone(),
                status,
                what,
            })
        };
        let key = status.to_string();
        let Some(documented) = op.op["responses"].get(&key) else {
            finding(format!(
                "undocumented status (documented: {}); {} {url}; answer {}",
                op.op["responses"]
                    .as_object()
                    .unwrap()
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", "),
                op.method.to_uppercase(),
                cut(&text)
            ));
            return (status, found);
        };
        let documented = self.resolve(documented).clone();
        let Some(content) = documented["content"].as_object().filter(|c| !c.is_empty()) else {
            if !text.is_empty() {
                finding(format!(
                    "documented without a body, answered {}",
                    cut(&text)
                ));
            }
            return (status, found);
        };
        let media = answered_type.split(';').next().unwrap_or("").trim();
        let Some(described) = content.get(media) else {
            finding(format!(
                "answered {media:?}, documented {:?}",
                content.keys().collect::<Vec<_>>()
            ));
            return (status, found);
        };
        let Some(schema) = described.get("schema") else {
            return (status, found);
        };
        let instances: Vec<Result<Value, String>> = if media.ends_with("collection+json") {
            text.lines()
                .map(|l| serde_json::from_str(l).map_err(|e| e.to_string()))
                .collect()
        } else {
            vec![serde_json::from_str(&text).map_err(|e| e.to_string())]
        };
        let validator_key = format!("{name} {status}");
        if !self.validators.contains_key(&validator_key) {
            let mut root = schema.as_object().cloned().unwrap_or_default();
            root.insert("components".into(), self.spec["components"].clone());
            let validator = jsonschema::validator_for(&Value::Object(root))
                .unwrap_or_else(|e| panic!("{validator_key}: the schema does not compile: {e}"));
            self.validators.insert(validator_key.clone(), validator);
        }
        let validator = &self.validators[&validator_key];
        for instance in instances {
            match instance {
                Err(e) => finding(format!("not JSON ({e}): {}", cut(&text))),
                Ok(value) => {
                    let errors: Vec<String> = validator
                        .iter_errors(&value)
                        .take(3)
                        .map(|e| format!("{} at {}", e, e.instance_path()))
                        .collect();
                    if !errors.is_empty() {
                        finding(format!(
                            "body does not match its schema: {}; body {}",
                            errors.join("; "),
                            cut(&text)
                        ));
                    }
                }
            }
        }
        (status, found)
    }

    /// Logs in again whoever a generated request logged out (`DELETE
    /// /api/v1/session`), or whose password it changed or whom it removed.
    async fn renew_sessions(&mut self) {
        let me = |token: String| {
            let req = self
                .http
                .get(format!("{}/api/v1/me", self.url))
                .bearer_auth(token);
            async move { req.send().await.unwrap().status().as_u16() }
        };
        if me(self.creds.owner_session.clone()).await == 401 {
            self.creds.owner_session = self.local_login(OWNER, OWNER_PASSWORD).await.unwrap();
        }
        if me(self.creds.member_session.clone()).await == 401 {
            let password = MEMBER_PASSWORD;
            let owner = self.creds.owner_session.clone();
            let set = self
                .http
                .put(format!("{}/api/v1/users/{MEMBER}/password", self.url))
                .bearer_auth(&owner)
                .json(&json!({ "password": password }))
                .send()
                .await
                .unwrap();
            if set.status() == 404 {
                let created = self
                    .http
                    .post(format!("{}/api/v1/users", self.url))
                    .bearer_auth(&owner)
                    .json(&json!({"username": MEMBER, "kind": "member", "password": password}))
                    .send()
                    .await
                    .unwrap();
                assert!(created.status().is_success(), "{}", created.status());
            }
            // A generated login may have locked the member out (429): the
            // run goes on with the owner alone until the lock ends.
            if let Some(session) = self.local_login(MEMBER, password).await {
                self.creds.member_session = session;
            }
        }
    }

    /// A session as if logged in from the machine itself.
    async fn local_login(&self, user: &str, password: &str) -> Option<String> {
        let login = switchboard::model::Login {
            username: user.into(),
            password: password.into(),
        };
        self.svc.login(login, None).await.ok().map(|s| s.token)
    }

    /// Follows a `$ref` into the components.
    fn resolve<'a>(&'a self, value: &'a Value) -> &'a Value {
        match value.get("$ref").and_then(Value::as_str) {
            Some(r) => {
                let mut at = &self.spec;
                for part in r.trim_start_matches("#/").split('/') {
                    at = &at[part];
                }
                self.resolve(at)
            }
            None => value,
        }
    }

    fn fill_path(&mut self, template: &str) -> String {
        let mut out = String::new();
        let mut rest = template;
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let close = rest[open..].find('}').unwrap() + open;
            let name = &rest[open + 1..close];
            let before = &out;
            let kind = match name {
                "code" if before.ends_with("/connections/") => "connection",
                "code" if before.ends_with("/integrations/") => "integration",
                "code" if before.ends_with("/flows/") => "flow",
                "code" if before.ends_with("/roles/") => "role",
                "code" if before.ends_with("/groups/") => "group",
                "code" if before.ends_with("/categories/") => "category",
                "connection" => "connection",
                "username" => "username",
                "identifier" => "identifier",
                "uuid" => "uuid",
                other => panic!("no pool for the path parameter {other} of {template}"),
            };
            let value = if self.chance(75) {
                self.pools.pick(kind, &mut self.rng).unwrap_or_default()
            } else {
                self.junk_text()
            };
            out.push_str(&percent_encode(&value));
            rest = &rest[close + 1..];
        }
        out.push_str(rest);
        out
    }

    fn query(&mut self, op: &Value) -> String {
        let mut pairs = Vec::new();
        let params = op["parameters"].as_array().cloned().unwrap_or_default();
        for p in params {
            let p = self.resolve(&p).clone();
            if p["in"] != "query" || self.chance(40) {
                continue;
            }
            let name = p["name"].as_str().unwrap().to_string();
            let value = self.query_value(&name, &p["schema"]);
            pairs.push(format!(
                "{}={}",
                percent_encode(&name),
                percent_encode(&value)
            ));
        }
        if self.chance(5) {
            pairs.push(format!("{}=1", percent_encode(&self.junk_text())));
        }
        pairs.join("&")
    }

    fn query_value(&mut self, name: &str, schema: &Value) -> String {
        if self.chance(10) {
            return self.junk_text();
        }
        match name {
            "search" => self.search().to_string(),
            "pagination_type" => ["page", "search_after"][self.rng.random_range(0..2)].into(),
            "search_after" => self.pools.pick("identifier", &mut self.rng).unwrap(),
            "attributes" | "locales" | "scope" | "search_locale" | "search_scope" => {
                self.pools.pick("attribute", &mut self.rng).unwrap()
            }
            _ => {
                let schema = self.resolve(schema).clone();
                match type_of(&schema).as_deref() {
                    Some("integer") => self.integer(&schema).to_string(),
                    Some("boolean") => {
                        ["true", "false", "1", "yes"][self.rng.random_range(0..4)].into()
                    }
                    _ => self.text(),
                }
            }
        }
    }

    /// A PIM search: mostly well formed, over the documented properties.
    fn search(&mut self) -> Value {
        let mut filters = Map::new();
        for _ in 0..self.rng.random_range(0..3) {
            let (property, operators): (&str, &[&str]) = match self.rng.random_range(0..12) {
                0 => ("identifier", &["IN", "NOT IN", "=", "!="]),
                1 => (
                    "categories",
                    &[
                        "IN",
                        "NOT IN",
                        "IN CHILDREN",
                        "NOT IN CHILDREN",
                        "UNCLASSIFIED",
                        "IN OR UNCLASSIFIED",
                    ],
                ),
                2 => ("enabled", &["=", "!="]),
                3 => ("family", &["IN", "NOT IN", "EMPTY", "NOT EMPTY"]),
                4 => (
                    "updated",
                    &["<", ">", "BETWEEN", "NOT BETWEEN", "SINCE LAST N DAYS"],
                ),
                5 => ("groups", &["IN", "NOT IN", "EMPTY", "NOT EMPTY"]),
                6 => ("parent", &["=", "IN", "EMPTY", "NOT EMPTY"]),
                7 => ("uuid", &["IN", "NOT IN"]),
                8 => ("created", &["=", "!=", "<", ">"]),
                9 | 10 => (
                    ["name", "size", "color", "release_date"][self.rng.random_range(0..4)],
                    &[
                        "STARTS WITH",
                        "ENDS WITH",
                        "CONTAINS",
                        "DOES NOT CONTAIN",
                        "=",
                        "!=",
                        "<",
                        "<=",
                        ">=",
                        ">",
                        "IN",
                        "NOT IN",
                        "BETWEEN",
                        "NOT BETWEEN",
                        "EMPTY",
                        "NOT EMPTY",
                        "LIKE",
                    ],
                ),
                11 if self.chance(50) => (
                    ["price", "weight"][self.rng.random_range(0..2)],
                    &["<", "<=", "=", "!=", ">=", ">", "EMPTY", "NOT EMPTY", "IN"],
                ),
                _ => ("nonsense code", &["IN", "LIKE"]),
            };
            let operator = operators[self.rng.random_range(0..operators.len())];
            let value = match (property, self.rng.random_range(0..4)) {
                (_, 0) => self.value(&json!({}), 0),
                ("enabled", _) => json!(self.chance(50)),
                ("updated", _) if operator.contains("BETWEEN") => {
                    json!(["2026-01-01 00:00:00", "2027-01-01 00:00:00"])
                }
                ("updated", _) if operator.starts_with("SINCE") => {
                    json!(self.rng.random_range(0..40))
                }
                ("updated" | "created", _) => json!("2026-06-01 00:00:00"),
                ("name" | "size" | "color" | "release_date", roll) => match (operator, roll) {
                    (_, 1) => json!(self.rng.random_range(-5..50)),
                    ("BETWEEN" | "NOT BETWEEN", _) => json!(["2016-07-01", "2016-07-31"]),
                    ("IN" | "NOT IN", _) => json!(["red", "blue"]),
                    ("<" | ">" | "=" | "!=", 2) => json!("2016-07-04"),
                    ("=" | "!=", _) => json!(self.chance(50)),
                    _ => json!("Red"),
                },
                ("price", 1) => json!({"amount": "12.50"}),
                ("price", _) if operator.contains("EMPTY") => json!({"currency": "EUR"}),
                ("price", _) => json!({"amount": self.rng.random_range(-5..50), "currency": "EUR"}),
                ("weight", 1) => json!({"amount": 1.5, "unit": ["GRAM"]}),
                ("weight", _) => json!({"amount": "1.2", "unit": "KILOGRAM"}),
                ("categories", _) => json!([self.pools.pick("category", &mut self.rng)]),
                ("parent", _) if operator == "=" => {
                    json!(self.pools.pick("identifier", &mut self.rng))
                }
                ("uuid", _) => json!([self.pools.pick("uuid", &mut self.rng)]),
                _ => json!([self.pools.pick("identifier", &mut self.rng)]),
            };
            let mut condition = json!({"operator": operator, "value": value});
            if property != "created" && self.chance(30) {
                condition["locale"] = json!("en_US");
                condition["scope"] = json!("ecommerce");
            }
            filters.insert(property.into(), json!([condition]));
        }
        Value::Object(filters)
    }

    fn auth(&mut self, op: &Operation) -> Auth {
        let roll = self.rng.random_range(0..100);
        let scheme = op.op["security"][0]
            .as_object()
            .and_then(|o| o.keys().next().cloned());
        if op.path.starts_with("/api/oauth/") {
            return match roll {
                0..=79 => Auth::Basic(
                    self.creds.client_id.clone(),
                    self.creds.client_secret.clone(),
                ),
                80..=87 => Auth::Basic(self.creds.client_id.clone(), self.junk_text()),
                88..=93 => Auth::Basic(self.code(), self.junk_text()),
                _ => Auth::None,
            };
        }
        let good = match scheme.as_deref() {
            Some("bearer") => self.creds.web_token.clone(),
            Some("session") if roll % 4 == 0 => self.creds.member_session.clone(),
            Some("session") => self.creds.owner_session.clone(),
            _ => return Auth::None,
        };
        match roll {
            0..=89 => Auth::Bearer(good),
            90..=93 => Auth::None,
            94..=96 => Auth::Bearer(format!("{:x}", self.rng.next_u64())),
            _ => Auth::Bearer(if scheme.as_deref() == Some("bearer") {
                self.creds.owner_session.clone()
            } else {
                self.creds.web_token.clone()
            }),
        }
    }

    /// The request's content type and body, from its documented schema.
    fn body(&mut self, op: &Operation) -> (Option<String>, Option<Vec<u8>>) {
        let Some(request) = op.op.get("requestBody") else {
            return if self.chance(5) {
                (Some("application/json".into()), Some(b"{}".to_vec()))
            } else {
                (None, None)
            };
        };
        let content = request["content"].as_object().cloned().unwrap_or_default();
        let types: Vec<_> = content.keys().cloned().collect();
        let media = types[self.rng.random_range(0..types.len())].clone();
        let schema = content[&media]["schema"].clone();
        let mut value = self.value(&schema, 0);
        if op.path.starts_with("/api/oauth/") {
            self.oauth_fields(&op.path, &mut value);
        }
        if op.path == "/api/v1/session" && self.chance(30) {
            // A login that may succeed (unless a generated one locked the
            // address out, or changed the member's password).
            value = json!({"username": MEMBER, "password": MEMBER_PASSWORD});
        }
        match self.rng.random_range(0..100) {
            0..=3 => return (Some(media), Some(b"{not json".to_vec())),
            4..=6 => return (Some("text/plain".into()), Some(b"hello".to_vec())),
            7..=9 => return (Some(media), Some(Vec::new())),
            10..=13 => value = self.value(&json!({}), 0),
            _ => {}
        }
        let bytes = if media.ends_with("collection+json") {
            let mut lines = Vec::new();
            for _ in 0..self.rng.random_range(0..4) {
                let line = self.value(&schema, 0);
                lines.push(line.to_string());
            }
            lines.join("\n").into_bytes()
        } else if media == "application/x-www-form-urlencoded" {
            match &value {
                Value::Object(o) => o
                    .iter()
                    .map(|(k, v)| {
                        let v = v
                            .as_str()
                            .map(str::to_string)
                            .unwrap_or_else(|| v.to_string());
                        format!("{}={}", percent_encode(k), percent_encode(&v))
                    })
                    .collect::<Vec<_>>()
                    .join("&")
                    .into_bytes(),
                other => other.to_string().into_bytes(),
            }
        } else {
            value.to_string().into_bytes()
        };
        (Some(media), Some(bytes))
    }

    /// Token and revoke bodies that get past the client check often enough
    /// to reach the grants.
    fn oauth_fields(&mut self, path: &str, value: &mut Value) {
        let Value::Object(o) = value else { return };
        if path.ends_with("/token") && self.chance(60) {
            if self.chance(70) {
                o.insert("grant_type".into(), json!("password"));
                o.insert("username".into(), json!(self.creds.api_username));
                let password = if self.chance(80) {
                    self.creds.api_password.clone()
                } else {
                    self.junk_text()
                };
                o.insert("password".into(), json!(password));
            } else {
                o.insert("grant_type".into(), json!("refresh_token"));
            }
        }
    }

    /// A value for `schema`: mostly valid, sometimes not.
    fn value(&mut self, schema: &Value, depth: usize) -> Value {
        let schema = self.resolve(schema).clone();
        if depth > 4 {
            return Value::Null;
        }
        if self.chance(4) {
            // The wrong type altogether.
            return match self.rng.random_range(0..5) {
                0 => Value::Null,
                1 => json!(self.rng.random_range(-3..1000)),
                2 => json!(self.junk_text()),
                3 => json!([]),
                _ => json!(true),
            };
        }
        for key in ["oneOf", "anyOf"] {
            if let Some(choices) = schema[key].as_array().filter(|c| !c.is_empty()) {
                let choice = choices[self.rng.random_range(0..choices.len())].clone();
                return self.value(&choice, depth + 1);
            }
        }
        if let Some(all) = schema["allOf"].as_array() {
            let mut merged = Map::new();
            for part in all.clone() {
                if let Value::Object(o) = self.value(&part, depth + 1) {
                    merged.extend(o);
                }
            }
            return Value::Object(merged);
        }
        if let Some(options) = schema["enum"].as_array().filter(|e| !e.is_empty()) {
            if self.chance(90) {
                return options[self.rng.random_range(0..options.len())].clone();
            }
            return json!(self.text());
        }
        match type_of(&schema).as_deref() {
            Some("object") => {
                let required: BTreeSet<String> = schema["required"]
                    .as_array()
                    .map(|r| {
                        r.iter()
                            .filter_map(|v| v.as_str().map(String::from))
                            .collect()
                    })
                    .unwrap_or_default();
                let mut out = Map::new();
                if let Some(props) = schema["properties"].as_object() {
                    for (name, prop) in props.clone() {
                        let wanted = if required.contains(&name) { 95 } else { 50 };
                        if self.chance(wanted) {
                            let v = self.named_value(&name, &prop, depth);
                            out.insert(name, v);
                        }
                    }
                } else if schema.get("additionalProperties").is_some() {
                    for _ in 0..self.rng.random_range(0..3) {
                        let extra = schema["additionalProperties"].clone();
                        let v = self.value(&extra, depth + 1);
                        out.insert(self.code(), v);
                    }
                }
                if self.chance(5) {
                    out.insert(self.code(), json!(self.text()));
                }
                Value::Object(out)
            }
            Some("array") => {
                let items = schema["items"].clone();
                (0..self.rng.random_range(0..4))
                    .map(|_| self.value(&items, depth + 1))
                    .collect()
            }
            Some("integer") => json!(self.integer(&schema)),
            Some("number") => json!(self.integer(&schema) as f64 / 2.0),
            Some("boolean") => json!(self.chance(50)),
            Some("null") => Value::Null,
            Some("string") => json!(self.string(&schema)),
            _ => match self.rng.random_range(0..4) {
                0 => json!(self.text()),
                1 => json!(self.rng.random_range(0..100)),
                2 => json!({}),
                _ => Value::Null,
            },
        }
    }

    /// A property's value: a code that exists where the name says which
    /// kind it is, else from its schema.
    fn named_value(&mut self, name: &str, schema: &Value, depth: usize) -> Value {
        let kind = match name {
            "connection" | "connections" | "replacement" => Some("connection"),
            "role" => Some("role"),
            "group" => Some("group"),
            "categories" | "parent" => Some("category"),
            "identifier" => Some("identifier"),
            "integration" => Some("integration"),
            "username" => Some("username"),
            _ => None,
        };
        if let Some(kind) = kind.filter(|_| self.chance(60)) {
            let code = self.pools.pick(kind, &mut self.rng).unwrap_or_default();
            let schema = self.resolve(schema).clone();
            return if type_of(&schema).as_deref() == Some("array") {
                json!([code])
            } else {
                json!(code)
            };
        }
        self.value(schema, depth + 1)
    }

    fn integer(&mut self, schema: &Value) -> i64 {
        let min = schema["minimum"].as_i64().unwrap_or(0);
        let max = schema["maximum"].as_i64().unwrap_or(min + 200);
        match self.rng.random_range(0..10) {
            0 => min - 1,
            1 => max + 1,
            2 => i64::MAX,
            3 => -1,
            _ => self.rng.random_range(min..=max.max(min)),
        }
    }

    fn string(&mut self, schema: &Value) -> String {
        match schema["format"].as_str() {
            Some("uuid") if self.chance(70) => self.pools.pick("uuid", &mut self.rng).unwrap(),
            Some("date-time") if self.chance(70) => "2026-12-07T10:00:00Z".into(),
            _ => self.text(),
        }
    }

    /// Text: codes that exist, new codes, labels, and junk.
    fn text(&mut self) -> String {
        match self.rng.random_range(0..10) {
            0..=3 => self.pools.any(&mut self.rng),
            4..=6 => self.code(),
            7 => "A label with spaces".into(),
            _ => self.junk_text(),
        }
    }

    fn code(&mut self) -> String {
        let len = self.rng.random_range(1..12);
        (0..len)
            .map(|_| {
                let c = self.rng.random_range(0..37);
                match c {
                    0..=25 => (b'a' + c as u8) as char,
                    26..=35 => (b'0' + (c - 26) as u8) as char,
                    _ => '_',
                }
            })
            .collect()
    }

    /// Text no well-behaved client sends.
    fn junk_text(&mut self) -> String {
        match self.rng.random_range(0..8) {
            0 => String::new(),
            1 => "x".repeat(self.rng.random_range(65..600)),
            2 => "line\nbreak\u{1b}[31m".into(),
            3 => "nul\u{0}byte".into(),
            4 => "üñíçødé ☃ 🚀".into(),
            5 => "../../etc/passwd".into(),
            6 => "'; DROP TABLE connections; --".into(),
            _ => format!("{:x}", self.rng.next_u64()),
        }
    }
}

/// The JSON Schema type of a schema (the first that is not null).
fn type_of(schema: &Value) -> Option<String> {
    match &schema["type"] {
        Value::String(s) => Some(s.clone()),
        Value::Array(types) => types
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null")
            .map(String::from),
        _ => schema.get("properties").map(|_| "object".to_string()),
    }
}

fn percent_encode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

fn cut(text: &str) -> String {
    text.chars().take(300).collect()
}
