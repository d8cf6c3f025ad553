//! Issue 14: every parser a client reaches, fed arbitrary input — never a
//! panic, never a 5xx, and every refusal a well-formed JSON 4xx.
//!
//! The parsers: the JSON bodies of every POST, PATCH and PUT route of the
//! admin API (`/api/v1`) and of the Web API (products), the token and
//! revocation endpoints' JSON and form bodies, the products `search`
//! grammar and the other query strings, `Authorization` headers (HTTP Basic
//! on the token endpoint, Bearer on both APIs), the forwarded and
//! request-id headers, `X-Switchboard-Source`, and the identifiers and codes
//! of every route with a path parameter.
//!
//! Each property builds one application (the `serve` router with its socket
//! layers, links from a trusted proxy, a peer address, as `serve` gives
//! them) over a store in a temporary directory — on SQLite and on
//! PostgreSQL — seeds it with a few known records (so arbitrary input also
//! reaches the code behind the lookups), then sends every case in process
//! through `tower::ServiceExt::oneshot`. A panic in a handler unwinds through
//! `oneshot` into the property, which proptest reports (and shrinks) as a
//! failure like any 5xx answer.
//!
//! A last test names, on both engines, each place a client can put U+0000
//! (which PostgreSQL cannot store in text), so that class of input is
//! checked every run rather than when the generators happen on it.
//!
//! `PROPTEST_CASES` changes the number of cases of every property;
//! `PARSERS_VERBOSE=1` prints every request and its answer. Each property
//! prints how many answers of each status it got (with `--nocapture`).

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::ConnectInfo;
use base64::Engine as _;
use http::{HeaderValue, Method, Request, header};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_encode, utf8_percent_encode};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::{Index, select};
use proptest::strategy::Union;
use proptest::test_runner::{Config, TestCaseError, TestError, TestRunner};
use serde_json::{Map, Value, json};
use switchboard::domain::credentials::{Kind, SECRET_BODY};
use switchboard::server::products::Links;
use switchboard::server::serve;
use switchboard::service::Service;
use switchboard::store::TestClock;
use tower::ServiceExt;

mod common;
use common::Engine;

const OWNER: &str = "alice";
const OWNER_PASSWORD: &str = "correct horse battery";
/// A member whose name no generated path names: their session stays valid.
const MEMBER: &str = "carol";
const MEMBER_PASSWORD: &str = "a member's long password";

/// The connection whose token the Web API properties use; no generated
/// path names it, so no case regenerates or deletes it.
const WEB_CONNECTION: &str = "fuzz_app";
/// Records the generators name, so arbitrary input reaches past lookups.
const CONNECTIONS: &[&str] = &["shop_conn", "erp_conn"];
const INTEGRATIONS: &[&str] = &["shop", "erp_app"];
const FLOWS: &[&str] = &["sync"];
const USERS: &[&str] = &["bob", "alice"];
const ROLES: &[&str] = &["fuzz_all", "User", "reader"];
const GROUPS: &[&str] = &["All", "shoe_team"];
const CATEGORIES: &[&str] = &["shoes", "boots"];
const PRODUCTS: &[&str] = &["sku-1", "sku-2"];
const FAMILIES: &[&str] = &["footwear", "mugs"];
const FLOW_TYPES: &[&str] = &["source", "destination", "other"];
const VISUALS: &[&str] = &["erp", "pim", "crm", "ecommerce"];
const PERMISSIONS: &[&str] = &[
    "api.access",
    "products.list",
    "products.edit",
    "products.remove",
];

/// Strings that have broken parsers before, or could.
const ODD: &[&str] = &[
    "",
    " ",
    "\0",
    "a\0b",
    "\u{1}\u{7f}",
    "é",
    "🙂",
    "\u{202e}abc",
    "\u{feff}",
    "\u{fffd}",
    "\u{10ffff}",
    "ǅİß",
    "\r\n",
    "\t",
    "\\",
    "\"",
    "'",
    "' OR 1=1 --",
    "<script>",
    "../..",
    "..",
    ".",
    "/",
    "%",
    "%00",
    "%zz",
    "%2F",
    "%FF",
    "+",
    "a b",
    " lead",
    "trail ",
    "a,b",
    "a;b",
    "null",
    "true",
    "0",
    "-1",
    "1e999",
    "{}",
    "[]",
    "$1",
    "?",
    "*",
    "_",
    "sbc_",
    "sba_0_",
];

/// Every field name of every body, for arbitrary objects to hit them.
const FIELDS: &[&str] = &[
    "label",
    "code",
    "flow_type",
    "visual",
    "integration",
    "role",
    "group",
    "version",
    "max_connections",
    "name",
    "kind",
    "connections",
    "deregister",
    "level",
    "permissions",
    "category",
    "parent",
    "steps",
    "connection",
    "with",
    "flow",
    "position",
    "username",
    "password",
    "identifier",
    "enabled",
    "family",
    "categories",
    "values",
    "locale",
    "scope",
    "data",
    "created",
    "updated",
    "_links",
    "uuid",
    "groups",
    "associations",
    "quantified_associations",
    "operator",
    "value",
    "grant_type",
    "refresh_token",
    "client_id",
    "client_secret",
    "token",
    "token_type_hint",
];

/// Texts that are not quite JSON, or JSON at the edges of what parses.
const JUNK_JSON: &[&str] = &[
    "",
    " ",
    "{",
    "}",
    "[",
    "null",
    "true",
    "0",
    "\"\"",
    "1e999",
    "-1e999",
    "123456789012345678901234567890",
    "-0",
    "NaN",
    "Infinity",
    "\"\\ud800\"",
    "{\"label\":\"\\ud800\"}",
    "{\"label\":\"\\u0000\"}",
    "{\"identifier\":\"\\u0000\"}",
    "{\"max_connections\":1e400}",
    "{\"max_connections\":18446744073709551616}",
    "{\"max_connections\":-0}",
    "{\"version\":1.0}",
    "\u{feff}{}",
    "{}{}",
    "{} x",
    "{\"a\":1,\"a\":2}",
    "{\"label\":\"a\",\"label\":\"b\"}",
    "{\"grant_type\":\"password\",\"grant_type\":\"password\"}",
    "[1,]",
    "{,}",
    "{\"a\" 1}",
    "\"unterminated",
    "'single'",
    "{\"label\":\"x\"",
    "{\"values\":{\"name\":[{\"data\":\"\\u0000\",\"locale\":null,\"scope\":null}]}}",
];

/// What a path segment keeps unencoded.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Segments written raw into a path (each a valid URI).
const RAW_SEGMENTS: &[&str] = &[
    "%",
    "%2",
    "%zz",
    "%00",
    "%FF",
    "%C0%80",
    "%ED%A0%80",
    "%2e%2e",
    "..",
    ".",
    "a%2Fb",
    "%2F",
    "~",
    "!$&'()*+,;=:@",
    "%20",
    "+",
    "a%00b",
];

/// Raw pieces of a query string (each a valid URI query).
const RAW_QUERY: &[&str] = &[
    "",
    "&",
    "&&",
    "=",
    "==",
    "a",
    "a=",
    "=a",
    "%",
    "%2",
    "%zz",
    "%FF",
    "%00",
    "%C3%28",
    "+",
    "a=b=c",
    ";",
    "?",
    "search",
    "search=",
    "limit",
    "page=",
    "limit=%00",
    "page=%FF",
];

fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

// ----- requests and answers -------------------------------------------------

/// Who a request says it is.
#[derive(Clone)]
enum Auth {
    Nothing,
    /// The owner's session.
    Owner,
    /// A member's session.
    Member,
    /// The Web API connection's access token.
    Bearer,
    /// This header value (the placeholders resolved).
    Header(Vec<Tv>),
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Auth::Nothing => f.write_str("Nothing"),
            Auth::Owner => f.write_str("Owner"),
            Auth::Member => f.write_str("Member"),
            Auth::Bearer => f.write_str("Bearer"),
            Auth::Header(parts) => write!(f, "Header({parts:?})"),
        }
    }
}

/// A piece of text, or one of the fixture's credentials (known only once
/// the fixture exists), or bytes.
#[derive(Clone)]
enum Tv {
    Lit(String),
    Bytes(Vec<u8>),
    ClientId,
    Secret,
    ApiUser,
    ApiPassword,
    Access,
    Refresh,
    Session,
    /// base64 of the parts, resolved.
    B64(Vec<Tv>),
    /// The parts, form-urlencoded (as RFC 6749 §2.3.1 wants in Basic).
    Form(Vec<Tv>),
    /// A resolved value changed: (position, byte, how).
    Mutated(Box<Tv>, usize, u8, u8),
}

impl fmt::Debug for Tv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Tv::Lit(s) => write!(f, "{:?}", Shown(s.as_bytes())),
            Tv::Bytes(b) => write!(f, "bytes{:?}", Shown(b)),
            Tv::ClientId => f.write_str("<client_id>"),
            Tv::Secret => f.write_str("<secret>"),
            Tv::ApiUser => f.write_str("<api username>"),
            Tv::ApiPassword => f.write_str("<api password>"),
            Tv::Access => f.write_str("<access token>"),
            Tv::Refresh => f.write_str("<refresh token>"),
            Tv::Session => f.write_str("<owner session>"),
            Tv::B64(p) => write!(f, "base64{p:?}"),
            Tv::Form(p) => write!(f, "form{p:?}"),
            Tv::Mutated(v, at, b, how) => write!(f, "mutated({v:?}, at {at}, byte {b}, how {how})"),
        }
    }
}

fn lit(s: impl Into<String>) -> Tv {
    Tv::Lit(s.into())
}

/// Bytes shown as text, cut when long.
struct Shown<'a>(&'a [u8]);

impl fmt::Debug for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const MAX: usize = 600;
        let text = String::from_utf8_lossy(&self.0[..self.0.len().min(MAX)]);
        if self.0.len() > MAX {
            write!(f, "{text:?}… ({} bytes)", self.0.len())
        } else {
            write!(f, "{text:?}")
        }
    }
}

/// One request as a case describes it.
#[derive(Clone)]
struct Call {
    method: Method,
    /// Path and query, as sent (already encoded).
    uri: String,
    auth: Auth,
    /// Header name and value (a value with bytes a header cannot carry is
    /// sent with those replaced by `?`).
    headers: Vec<(&'static str, Vec<Tv>)>,
    body: Vec<Tv>,
}

impl fmt::Debug for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {:?} auth={:?}",
            self.method,
            Shown(self.uri.as_bytes()),
            self.auth
        )?;
        for (k, v) in &self.headers {
            write!(f, " {k}: {v:?}")?;
        }
        match self.body.as_slice() {
            [] => Ok(()),
            [Tv::Bytes(b)] => write!(f, " body={:?}", Shown(b)),
            parts => write!(f, " body={parts:?}"),
        }
    }
}

fn call(method: Method, uri: impl Into<String>, auth: Auth) -> Call {
    Call {
        method,
        uri: uri.into(),
        auth,
        headers: Vec::new(),
        body: Vec::new(),
    }
}

impl Call {
    fn header(mut self, name: &'static str, value: Option<Vec<Tv>>) -> Call {
        if let Some(v) = value {
            self.headers.push((name, v));
        }
        self
    }

    fn bytes(mut self, body: Vec<u8>) -> Call {
        self.body = vec![Tv::Bytes(body)];
        self
    }

    fn json(self, body: &Value) -> Call {
        self.header("content-type", Some(vec![lit("application/json")]))
            .bytes(serde_json::to_vec(body).unwrap())
    }
}

/// What came back.
struct Answer {
    status: u16,
    headers: http::HeaderMap,
    body: bytes::Bytes,
}

impl Answer {
    fn text(&self) -> String {
        format!("{:?}", Shown(&self.body))
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

/// A header value from arbitrary bytes: those a header cannot carry become
/// `?`.
fn header_value(bytes: &[u8]) -> HeaderValue {
    let clean: Vec<u8> = bytes
        .iter()
        .map(|&b| {
            if (b < 0x20 && b != b'\t') || b == 0x7f {
                b'?'
            } else {
                b
            }
        })
        .collect();
    HeaderValue::from_bytes(&clean).expect("cleaned header bytes are valid")
}

// ----- the fixture ----------------------------------------------------------

/// One application over one store, seeded.
struct Fx {
    rt: tokio::runtime::Runtime,
    app: axum::Router,
    clock: Arc<TestClock>,
    owner: String,
    member: String,
    /// The Web API connection's tokens (the token property renews them).
    access: std::sync::Mutex<String>,
    refresh: std::sync::Mutex<String>,
    client_id: String,
    secret: String,
    api_user: String,
    api_password: String,
    /// How many answers of each status the cases got (seeding excluded).
    statuses: std::sync::Mutex<std::collections::BTreeMap<u16, u32>>,
    _dir: tempfile::TempDir,
}

impl Fx {
    fn new(engine: Engine) -> Fx {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(TestClock::default());
        let svc = rt.block_on(async {
            let store = common::open_store(engine, dir.path())
                .await
                .with_clock(clock.clone());
            // No rate limits: every case reaches the parsers and what is
            // behind them, not a 429.
            let svc = Arc::new(
                Service::new(store)
                    .with_rate_limit(0, 0)
                    .with_token_limit(0, 0),
            );
            svc.prepare_owner(Some(OWNER), Some(OWNER_PASSWORD.to_string().into()))
                .await
                .unwrap();
            svc
        });
        // As `serve --public-url … --trusted-proxy 127.0.0.0/8` gives them:
        // the forwarded headers of the (loopback) peer count.
        let links = Arc::new(Links::new(
            Some("http://pim.example:8080".into()),
            vec!["127.0.0.0/8".parse().unwrap()],
        ));
        let app = serve::app(svc).layer(axum::Extension(links));
        let mut fx = Fx {
            rt,
            app,
            clock,
            owner: String::new(),
            member: String::new(),
            access: Default::default(),
            refresh: Default::default(),
            client_id: String::new(),
            secret: String::new(),
            api_user: String::new(),
            api_password: String::new(),
            statuses: Default::default(),
            _dir: dir,
        };
        fx.seed();
        fx
    }

    /// The known records, through the API itself.
    fn seed(&mut self) {
        let login = |fx: &Fx, user: &str, password: &str| -> String {
            let a = fx.ok(call(Method::POST, "/api/v1/session", Auth::Nothing)
                .json(&json!({"username": user, "password": password})));
            a["token"].as_str().unwrap().to_string()
        };
        self.owner = login(self, OWNER, OWNER_PASSWORD);
        let post = |fx: &Fx, path: &str, body: Value| -> Value {
            fx.ok(call(Method::POST, format!("/api/v1{path}"), Auth::Owner).json(&body))
        };
        for (user, kind) in [("bob", "member"), (MEMBER, "member"), ("adam", "admin")] {
            post(
                self,
                "/users",
                json!({"username": user, "kind": kind, "password": MEMBER_PASSWORD}),
            );
        }
        self.member = login(self, MEMBER, MEMBER_PASSWORD);
        post(
            self,
            "/categories",
            json!({"code": "shoes", "label": "Shoes"}),
        );
        post(
            self,
            "/categories",
            json!({"code": "boots", "label": "Boots", "parent": "shoes"}),
        );
        post(
            self,
            "/roles",
            json!({"code": "fuzz_all", "label": "Everything", "permissions": PERMISSIONS}),
        );
        post(
            self,
            "/roles",
            json!({"code": "reader", "label": "Reader", "permissions": ["api.access", "products.list"]}),
        );
        post(
            self,
            "/groups",
            json!({"code": "shoe_team", "label": "Shoe team",
                   "permissions": [{"category": "shoes", "level": "view"}]}),
        );
        post(
            self,
            "/integrations",
            json!({"name": "Shop", "code": "shop"}),
        );
        post(
            self,
            "/integrations",
            json!({"name": "ERP app", "code": "erp_app", "kind": "app"}),
        );
        for code in CONNECTIONS {
            post(self, "/connections", json!({"label": code, "code": code}));
        }
        post(
            self,
            "/integrations/shop/registrations",
            json!({"connections": ["shop_conn"]}),
        );
        self.ok(call(Method::PUT, "/api/v1/flows/sync", Auth::Owner)
            .json(&json!({"name": "Sync", "integration": "shop",
                    "steps": [{"kind": "export", "connection": "shop_conn"}]})));
        self.ok(call(
            Method::PUT,
            "/api/v1/integrations/shop/access/bob",
            Auth::Owner,
        )
        .json(&json!({"level": "monitor"})));
        let created = post(
            self,
            "/connections",
            json!({"label": "Fuzz app", "code": WEB_CONNECTION}),
        );
        self.ok(call(
            Method::PATCH,
            format!("/api/v1/connections/{WEB_CONNECTION}"),
            Auth::Owner,
        )
        .json(&json!({"role": "fuzz_all"})));
        let c = &created["connection"];
        self.client_id = c["client_id"].as_str().unwrap().to_string();
        self.api_user = c["username"].as_str().unwrap().to_string();
        self.secret = created["secret"].as_str().unwrap().to_string();
        self.api_password = created["password"].as_str().unwrap().to_string();
        let tokens = self.ok(call(Method::POST, "/api/oauth/v1/token", Auth::Nothing)
            .header(
                "authorization",
                Some(vec![
                    lit("Basic "),
                    Tv::B64(vec![Tv::ClientId, lit(":"), Tv::Secret]),
                ]),
            )
            .json(&json!({"grant_type": "password", "username": self.api_user,
                              "password": self.api_password})));
        self.renew(&tokens);
        for (id, cats) in [("sku-1", json!(["boots"])), ("sku-2", json!([]))] {
            self.ok(
                call(Method::POST, "/api/rest/v1/products", Auth::Bearer).json(
                    &json!({"identifier": id, "family": "footwear", "categories": cats,
                        "values": {"name": [{"locale": "en_US", "scope": null, "data": id}]}}),
                ),
            );
        }
    }

    /// Keeps the tokens of a token answer.
    fn renew(&self, tokens: &Value) {
        if let (Some(a), Some(r)) = (
            tokens["access_token"].as_str(),
            tokens["refresh_token"].as_str(),
        ) {
            *self.access.lock().unwrap() = a.to_string();
            *self.refresh.lock().unwrap() = r.to_string();
        }
    }

    /// Sends a seeding request, which must succeed; its JSON answer.
    #[track_caller]
    fn ok(&self, c: Call) -> Value {
        let a = self.send(&c);
        assert!(a.status < 300, "seeding {c:?}: {} {}", a.status, a.text());
        a.json()
    }

    fn resolve(&self, v: &Tv) -> Vec<u8> {
        match v {
            Tv::Lit(s) => s.as_bytes().to_vec(),
            Tv::Bytes(b) => b.clone(),
            Tv::ClientId => self.client_id.clone().into_bytes(),
            Tv::Secret => self.secret.clone().into_bytes(),
            Tv::ApiUser => self.api_user.clone().into_bytes(),
            Tv::ApiPassword => self.api_password.clone().into_bytes(),
            Tv::Access => self.access.lock().unwrap().clone().into_bytes(),
            Tv::Refresh => self.refresh.lock().unwrap().clone().into_bytes(),
            Tv::Session => self.owner.clone().into_bytes(),
            Tv::B64(parts) => base64::engine::general_purpose::STANDARD
                .encode(self.resolve_all(parts))
                .into_bytes(),
            Tv::Form(parts) => form_urlencoded::byte_serialize(&self.resolve_all(parts))
                .collect::<String>()
                .into_bytes(),
            Tv::Mutated(v, at, byte, how) => {
                let mut b = self.resolve(v);
                let i = if b.is_empty() { 0 } else { at % b.len() };
                match how % 4 {
                    0 => b.truncate(i),
                    1 if !b.is_empty() => b[i] = *byte,
                    2 => b.insert(i, *byte),
                    _ if !b.is_empty() => {
                        b.remove(i);
                    }
                    _ => b.push(*byte),
                }
                b
            }
        }
    }

    fn resolve_all(&self, parts: &[Tv]) -> Vec<u8> {
        parts.iter().flat_map(|p| self.resolve(p)).collect()
    }

    fn send(&self, c: &Call) -> Answer {
        let uri = http::Uri::try_from(c.uri.as_str()).unwrap_or_else(|e| {
            panic!("the test made a bad URI {:?}: {e}", Shown(c.uri.as_bytes()))
        });
        let mut req = Request::builder().method(c.method.clone()).uri(uri);
        let auth = match &c.auth {
            Auth::Nothing => None,
            Auth::Owner => Some(format!("Bearer {}", self.owner).into_bytes()),
            Auth::Member => Some(format!("Bearer {}", self.member).into_bytes()),
            Auth::Bearer => Some(format!("Bearer {}", self.access.lock().unwrap()).into_bytes()),
            Auth::Header(parts) => Some(self.resolve_all(parts)),
        };
        if let Some(a) = auth {
            req = req.header(header::AUTHORIZATION, header_value(&a));
        }
        for (name, value) in &c.headers {
            req = req.header(*name, header_value(&self.resolve_all(value)));
        }
        let mut req = req.body(Body::from(self.resolve_all(&c.body))).unwrap();
        // As `serve` gives it: the peer's address.
        req.extensions_mut()
            .insert(ConnectInfo(SocketAddr::from(([127, 0, 0, 1], 40_000))));
        self.rt.block_on(async {
            let resp = self.app.clone().oneshot(req).await.unwrap();
            let status = resp.status().as_u16();
            let headers = resp.headers().clone();
            let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
                .await
                .unwrap();
            Answer {
                status,
                headers,
                body,
            }
        })
    }

    /// Sends `c`: no 5xx, and a 4xx is JSON with a message.
    fn check(&self, c: &Call) -> Result<Answer, TestCaseError> {
        // Beyond what a URI can carry (`http` refuses it; so would a server).
        if http::Uri::try_from(c.uri.as_str()).is_err() {
            return Err(TestCaseError::reject("not a URI"));
        }
        let a = self.send(c);
        if std::env::var_os("PARSERS_VERBOSE").is_some() {
            eprintln!("{c:?}\n  -> {} {}", a.status, a.text());
        }
        *self.statuses.lock().unwrap().entry(a.status).or_default() += 1;
        if a.status >= 500 {
            return Err(TestCaseError::fail(format!(
                "answered {}: {}",
                a.status,
                a.text()
            )));
        }
        // A HEAD answer has no body (RFC 9110 §9.3.2).
        if a.status >= 400 && c.method != Method::HEAD {
            let ct = a
                .headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            prop_assert!(
                ct.starts_with("application/json"),
                "{} without a JSON Content-Type ({ct:?}): {}",
                a.status,
                a.text()
            );
            let v: Value = serde_json::from_slice(&a.body).map_err(|e| {
                TestCaseError::fail(format!("{} body is not JSON ({e}): {}", a.status, a.text()))
            })?;
            prop_assert!(
                v.get("message")
                    .and_then(Value::as_str)
                    .is_some_and(|m| !m.is_empty()),
                "{} body without a message: {}",
                a.status,
                a.text()
            );
        }
        Ok(a)
    }
}

/// Runs `property` over `strategy` on one fixture for `engine`; a failure
/// panics with the shrunk input.
fn run<S: Strategy>(
    name: &str,
    engine: Engine,
    n: u32,
    strategy: S,
    property: impl Fn(&Fx, S::Value) -> Result<(), TestCaseError>,
) where
    S::Value: fmt::Debug,
{
    let fx = Fx::new(engine);
    let mut runner = TestRunner::new(Config {
        cases: n,
        max_shrink_iters: 512,
        failure_persistence: None,
        ..Config::default()
    });
    let started = std::time::Instant::now();
    let result = runner.run(&strategy, |v| property(&fx, v));
    eprintln!(
        "{name} on {engine:?}: {n} cases in {:?}; statuses {:?}",
        started.elapsed(),
        fx.statuses.lock().unwrap()
    );
    match result {
        Ok(()) => {}
        Err(TestError::Fail(why, input)) => {
            panic!("{name} on {engine:?} fails\n  minimal input: {input:#?}\n  failure: {why}")
        }
        Err(TestError::Abort(why)) => panic!("{name} on {engine:?} aborted: {why}"),
    }
}

// ----- strategies: texts and JSON ------------------------------------------

fn text() -> BoxedStrategy<String> {
    prop_oneof![
        3 => vec(any::<char>(), 0..24).prop_map(String::from_iter),
        2 => "\\PC{0,24}",
        3 => select(ODD).prop_map(str::to_string),
        1 => "[a-z_]{1,12}",
        1 => (1usize..400).prop_map(|n| "x".repeat(n)),
    ]
    .boxed()
}

/// A string over a body's size limit (1 MiB), or just long.
fn huge() -> BoxedStrategy<String> {
    prop_oneof![
        Just("é".repeat(40_000)),
        Just("a".repeat(switchboard::server::BODY_LIMIT + 1)),
    ]
    .boxed()
}

fn number() -> BoxedStrategy<Value> {
    prop_oneof![
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (0u64..100).prop_map(Value::from),
        select(
            &[
                0u64,
                1,
                u32::MAX as u64,
                u32::MAX as u64 + 1,
                i64::MAX as u64,
                i64::MAX as u64 + 1,
                u64::MAX
            ][..]
        )
        .prop_map(Value::from),
        any::<f64>().prop_filter_map("finite", |f| serde_json::Number::from_f64(f)
            .map(Value::Number)),
        select(&[-1.0f64, 0.5, 1e308, -0.0, 1e-300][..]).prop_map(Value::from),
    ]
    .boxed()
}

fn json_leaf() -> BoxedStrategy<Value> {
    prop_oneof![
        2 => Just(Value::Null),
        2 => any::<bool>().prop_map(Value::Bool),
        3 => number(),
        6 => text().prop_map(Value::String),
        1 => select(FIELDS).prop_map(|s| Value::String(s.into())),
    ]
    .boxed()
}

fn key() -> BoxedStrategy<String> {
    prop_oneof![3 => select(FIELDS).prop_map(str::to_string), 2 => text()].boxed()
}

/// Any JSON value: nested objects and arrays, big numbers, any text; now
/// and then a string over the body limit.
fn json_value() -> BoxedStrategy<Value> {
    let tree = json_leaf().prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..6).prop_map(Value::Array),
            vec((key(), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    });
    prop_oneof![40 => tree, 1 => huge().prop_map(Value::String)].boxed()
}

/// An object of `fields`, each absent, right, or any JSON value, and now
/// and then one field more.
fn obj(fields: Vec<(&'static str, BoxedStrategy<Value>)>) -> BoxedStrategy<Value> {
    let per: Vec<BoxedStrategy<Option<(String, Value)>>> = fields
        .into_iter()
        .map(|(k, good)| {
            prop_oneof![
                1 => Just(None),
                14 => good.prop_map(move |v| Some((k.to_string(), v))),
                1 => json_value().prop_map(move |v| Some((k.to_string(), v))),
            ]
            .boxed()
        })
        .collect();
    (per, prop::option::weighted(0.1, (key(), json_value())))
        .prop_map(|(fields, extra)| {
            let mut m: Map<String, Value> = fields.into_iter().flatten().collect();
            if let Some((k, v)) = extra {
                m.insert(k, v);
            }
            Value::Object(m)
        })
        .boxed()
}

fn string_of(known: &'static [&'static str]) -> BoxedStrategy<Value> {
    prop_oneof![
        6 => select(known).prop_map(|s| Value::String(s.into())),
        2 => "[a-z][a-z0-9_]{2,20}".prop_map(Value::String),
        1 => text().prop_map(Value::String),
    ]
    .boxed()
}

fn label() -> BoxedStrategy<Value> {
    prop_oneof![
        5 => "[A-Za-z][A-Za-z0-9 ]{2,30}".prop_map(Value::String),
        1 => text().prop_map(Value::String),
    ]
    .boxed()
}

fn or_null(s: BoxedStrategy<Value>) -> BoxedStrategy<Value> {
    prop_oneof![1 => Just(Value::Null), 3 => s].boxed()
}

fn list(s: BoxedStrategy<Value>, max: usize) -> BoxedStrategy<Value> {
    vec(s, 0..max).prop_map(Value::Array).boxed()
}

fn version() -> BoxedStrategy<Value> {
    prop_oneof![3 => (1u64..4).prop_map(Value::from), 1 => number()].boxed()
}

/// A body for a route whose right shape is `shaped`: mostly that shape with
/// some fields wrong, else any JSON, any bytes, near-JSON text, deep
/// nesting, or the shape with a byte changed.
fn body_bytes(shaped: BoxedStrategy<Value>) -> BoxedStrategy<Vec<u8>> {
    prop_oneof![
        12 => shaped.clone().prop_map(|v| serde_json::to_vec(&v).unwrap()),
        2 => json_value().prop_map(|v| serde_json::to_vec(&v).unwrap()),
        1 => vec(any::<u8>(), 0..200),
        1 => select(JUNK_JSON).prop_map(|s| s.as_bytes().to_vec()),
        1 => (1usize..4000, any::<bool>()).prop_map(|(n, arrays)| if arrays {
            format!("{}{}", "[".repeat(n), "]".repeat(n)).into_bytes()
        } else {
            format!("{}1{}", "{\"a\":".repeat(n), "}".repeat(n)).into_bytes()
        }),
        2 => (shaped, any::<Index>(), any::<u8>(), 0u8..3).prop_map(|(v, at, byte, how)| {
            let mut b = serde_json::to_vec(&v).unwrap();
            let i = at.index(b.len() + 1);
            match how {
                0 => b.truncate(i),
                1 => b.insert(i, byte),
                _ => {
                    if i < b.len() {
                        b[i] = byte;
                    }
                }
            }
            b
        }),
    ]
    .boxed()
}

/// Arbitrary bytes a header can carry (the rest become `?` when sent).
fn header_bytes() -> BoxedStrategy<Vec<u8>> {
    prop_oneof![vec(any::<u8>(), 0..60), text().prop_map(String::into_bytes),].boxed()
}

fn content_type() -> BoxedStrategy<Option<Vec<Tv>>> {
    prop_oneof![
        24 => Just(Some(vec![lit("application/json")])),
        1 => Just(Some(vec![lit("application/json; charset=utf-8")])),
        1 => Just(Some(vec![lit("APPLICATION/JSON ;")])),
        1 => Just(Some(vec![lit("application/x-www-form-urlencoded")])),
        1 => Just(None),
        1 => Just(Some(vec![lit("text/plain")])),
        1 => header_bytes().prop_map(|b| Some(vec![Tv::Bytes(b)])),
    ]
    .boxed()
}

/// `X-Switchboard-Source`: mostly absent.
fn source_header() -> BoxedStrategy<Option<Vec<Tv>>> {
    prop_oneof![
        16 => Just(None),
        1 => select(&["tui", "api", "cli", "system"][..]).prop_map(|s| Some(vec![lit(s)])),
        1 => header_bytes().prop_map(|b| Some(vec![Tv::Bytes(b)])),
    ]
    .boxed()
}

/// `X-Request-Id` (read by the request log): mostly absent.
fn request_id() -> BoxedStrategy<Option<Vec<Tv>>> {
    prop_oneof![
        8 => Just(None),
        1 => header_bytes().prop_map(|b| Some(vec![Tv::Bytes(b)])),
        1 => (60usize..400).prop_map(|n| Some(vec![lit("é".repeat(n))])),
    ]
    .boxed()
}

/// Arbitrary text, percent-encoded into one path segment.
fn encoded(s: &str) -> String {
    utf8_percent_encode(s, SEGMENT).to_string()
}

/// A path segment: a known code, arbitrary text or bytes (encoded), or a
/// raw oddity.
fn segment(known: &'static [&'static str]) -> BoxedStrategy<String> {
    prop_oneof![
        3 => select(known).prop_map(str::to_string),
        3 => text().prop_map(|s| encoded(&s)),
        1 => vec(any::<u8>(), 1..24).prop_map(|b| percent_encode(&b, NON_ALPHANUMERIC).to_string()),
        1 => select(RAW_SEGMENTS).prop_map(str::to_string),
        1 => (256usize..2000).prop_map(|n| "a".repeat(n)),
    ]
    .boxed()
}

fn admin_auth() -> BoxedStrategy<Auth> {
    prop_oneof![
        20 => Just(Auth::Owner),
        3 => Just(Auth::Member),
        1 => Just(Auth::Nothing),
        1 => Just(Auth::Bearer),
        1 => header_bytes().prop_map(|b| Auth::Header(vec![lit("Bearer "), Tv::Bytes(b)])),
    ]
    .boxed()
}

fn web_auth() -> BoxedStrategy<Auth> {
    prop_oneof![
        24 => Just(Auth::Bearer),
        1 => Just(Auth::Nothing),
        1 => Just(Auth::Owner),
        1 => header_bytes().prop_map(|b| Auth::Header(vec![lit("Bearer "), Tv::Bytes(b)])),
    ]
    .boxed()
}

// ----- the admin API's bodies -----------------------------------------------

fn grant() -> BoxedStrategy<Value> {
    obj(vec![
        ("category", string_of(CATEGORIES)),
        ("level", string_of(&["view", "edit"])),
    ])
}

fn step() -> BoxedStrategy<Value> {
    obj(vec![
        ("kind", string_of(&["export", "import"])),
        ("connection", string_of(CONNECTIONS)),
    ])
}

/// Requests to one admin route that reads a body: `path`, a body of
/// `shape` (or not), any Content-Type, source and caller.
fn admin_route(
    method: Method,
    path: BoxedStrategy<String>,
    shape: BoxedStrategy<Value>,
) -> BoxedStrategy<Call> {
    (
        path,
        body_bytes(shape),
        content_type(),
        source_header(),
        admin_auth(),
    )
        .prop_map(move |(path, body, ct, source, auth)| {
            call(method.clone(), format!("/api/v1{path}"), auth)
                .header("content-type", ct)
                .header("x-switchboard-source", source)
                .bytes(body)
        })
        .boxed()
}

/// A segment that is mostly one of the `known` codes (where the body is
/// what a case is about).
fn known_segment(known: &'static [&'static str]) -> BoxedStrategy<String> {
    prop_oneof![
        6 => select(known).prop_map(str::to_string),
        1 => segment(known),
    ]
    .boxed()
}

/// `template` with its `{}` a segment, mostly of `known` codes.
fn at(template: &'static str, known: &'static [&'static str]) -> BoxedStrategy<String> {
    known_segment(known)
        .prop_map(move |s| template.replacen("{}", &s, 1))
        .boxed()
}

fn fixed(path: &'static str) -> BoxedStrategy<String> {
    Just(path.to_string()).boxed()
}

/// Every admin route that reads a body, with the right shape of it.
fn admin_body_call() -> BoxedStrategy<Call> {
    let text_value = || text().prop_map(Value::String).boxed();
    Union::new(vec![
        admin_route(
            Method::PATCH,
            fixed("/account"),
            obj(vec![("max_connections", number())]),
        ),
        admin_route(
            Method::POST,
            fixed("/connections"),
            obj(vec![
                ("label", label()),
                ("code", or_null(string_of(CONNECTIONS))),
                ("flow_type", string_of(FLOW_TYPES)),
                ("visual", or_null(string_of(VISUALS))),
                ("integration", or_null(string_of(INTEGRATIONS))),
            ]),
        ),
        admin_route(
            Method::PATCH,
            at("/connections/{}", CONNECTIONS),
            obj(vec![
                ("label", label()),
                ("flow_type", string_of(FLOW_TYPES)),
                ("visual", or_null(string_of(VISUALS))),
                ("role", string_of(ROLES)),
                ("group", string_of(GROUPS)),
                ("version", version()),
            ]),
        ),
        admin_route(
            Method::POST,
            at("/connections/{}/replace", CONNECTIONS),
            obj(vec![
                ("with", string_of(CONNECTIONS)),
                ("flow", or_null(string_of(FLOWS))),
                ("position", or_null(number())),
            ]),
        ),
        admin_route(
            Method::POST,
            fixed("/integrations"),
            obj(vec![
                ("name", label()),
                ("code", or_null(string_of(INTEGRATIONS))),
                ("kind", string_of(&["standard", "app"])),
            ]),
        ),
        admin_route(
            Method::PATCH,
            at("/integrations/{}", INTEGRATIONS),
            obj(vec![("name", label())]),
        ),
        admin_route(
            Method::POST,
            at("/integrations/{}/registrations", INTEGRATIONS),
            obj(vec![
                ("connections", list(string_of(CONNECTIONS), 5)),
                ("deregister", list(string_of(CONNECTIONS), 3)),
            ]),
        ),
        admin_route(
            Method::PUT,
            (known_segment(INTEGRATIONS), known_segment(USERS))
                .prop_map(|(i, u)| format!("/integrations/{i}/access/{u}"))
                .boxed(),
            obj(vec![("level", or_null(string_of(&["monitor", "manage"])))]),
        ),
        admin_route(
            Method::POST,
            fixed("/roles"),
            obj(vec![
                ("code", string_of(ROLES)),
                ("label", label()),
                ("permissions", list(string_of(PERMISSIONS), 6)),
            ]),
        ),
        admin_route(
            Method::PATCH,
            at("/roles/{}", ROLES),
            obj(vec![
                ("label", label()),
                ("permissions", list(string_of(PERMISSIONS), 6)),
                ("version", version()),
            ]),
        ),
        admin_route(
            Method::POST,
            fixed("/groups"),
            obj(vec![
                ("code", string_of(GROUPS)),
                ("label", label()),
                ("permissions", list(grant(), 4)),
            ]),
        ),
        admin_route(
            Method::PATCH,
            at("/groups/{}", GROUPS),
            obj(vec![
                ("label", label()),
                ("permissions", list(grant(), 4)),
                ("version", version()),
            ]),
        ),
        admin_route(
            Method::POST,
            fixed("/categories"),
            obj(vec![
                ("code", string_of(CATEGORIES)),
                ("label", label()),
                ("parent", or_null(string_of(CATEGORIES))),
            ]),
        ),
        admin_route(
            Method::PATCH,
            at("/categories/{}", CATEGORIES),
            obj(vec![("label", label())]),
        ),
        admin_route(
            Method::PUT,
            at("/flows/{}", FLOWS),
            obj(vec![
                ("name", label()),
                ("integration", or_null(string_of(INTEGRATIONS))),
                ("steps", list(step(), 4)),
                ("version", or_null(version())),
            ]),
        ),
        admin_route(
            Method::POST,
            fixed("/session"),
            obj(vec![
                ("username", string_of(&["alice", "bob", "nobody"])),
                ("password", text_value()),
            ]),
        ),
        admin_route(
            Method::POST,
            fixed("/users"),
            obj(vec![
                ("username", string_of(USERS)),
                ("kind", string_of(&["owner", "admin", "member"])),
                ("password", or_null(text_value())),
            ]),
        ),
        admin_route(
            Method::PUT,
            at("/users/{}/password", &["bob"]),
            obj(vec![("password", or_null(text_value()))]),
        ),
        // Routes that read no body: whatever comes is ignored.
        admin_route(Method::POST, fixed("/demo"), json_value()),
        admin_route(
            Method::POST,
            at("/connections/{}/secret/reveal", CONNECTIONS),
            json_value(),
        ),
        admin_route(
            Method::POST,
            at("/connections/{}/secret", CONNECTIONS),
            json_value(),
        ),
        admin_route(
            Method::POST,
            at("/connections/{}/password", CONNECTIONS),
            json_value(),
        ),
    ])
    .boxed()
}

fn admin_json_bodies(engine: Engine, n: u32) {
    run(
        "admin_json_bodies",
        engine,
        n,
        admin_body_call(),
        |fx, c| fx.check(&c).map(drop),
    );
}

#[test]
fn admin_json_bodies_never_panic_nor_500() {
    admin_json_bodies(Engine::Sqlite, cases(300));
}

#[test]
fn admin_json_bodies_never_panic_nor_500_on_postgres() {
    admin_json_bodies(Engine::Postgres, cases(150));
}

// ----- the Web API's product bodies ----------------------------------------

fn value_item() -> BoxedStrategy<Value> {
    obj(vec![
        ("locale", or_null(string_of(&["en_US", "fr_FR"]))),
        ("scope", or_null(string_of(&["ecommerce", "print"]))),
        ("data", json_value()),
    ])
}

fn product_values() -> BoxedStrategy<Value> {
    vec(
        (
            prop_oneof![
                5 => select(&["name", "description", "weight"][..]).prop_map(str::to_string),
                2 => "[a-z_]{1,10}",
                1 => text(),
                1 => Just("x".repeat(101)),
            ],
            prop_oneof![4 => list(value_item(), 4), 1 => json_value()],
        ),
        0..4,
    )
    .prop_map(|kv| Value::Object(kv.into_iter().collect()))
    .boxed()
}

fn product_body() -> BoxedStrategy<Value> {
    obj(vec![
        (
            "identifier",
            prop_oneof![
                3 => select(PRODUCTS).prop_map(|s| Value::String(s.into())),
                5 => "[a-z0-9-]{1,16}".prop_map(Value::String),
                2 => text().prop_map(Value::String),
                1 => Just(Value::String("i".repeat(255))),
                1 => Just(Value::String("i".repeat(256))),
            ]
            .boxed(),
        ),
        ("enabled", any::<bool>().prop_map(Value::Bool).boxed()),
        ("family", or_null(string_of(FAMILIES))),
        ("categories", list(string_of(CATEGORIES), 4)),
        ("values", product_values()),
        ("created", text().prop_map(Value::String).boxed()),
        ("updated", text().prop_map(Value::String).boxed()),
        (
            "groups",
            prop_oneof![4 => Just(json!([])), 4 => list(string_of(GROUP_CODES), 3), 1 => json_value()]
                .boxed(),
        ),
        (
            "parent",
            prop_oneof![4 => Just(Value::Null), 4 => string_of(PRODUCTS), 1 => json_value()].boxed(),
        ),
        (
            "associations",
            prop_oneof![4 => Just(json!({})), 4 => associations(), 1 => json_value()].boxed(),
        ),
        (
            "quantified_associations",
            prop_oneof![4 => Just(json!({})), 4 => quantified_associations(), 1 => json_value()]
                .boxed(),
        ),
    ])
}

/// Product group and association type codes, and what is not one.
const GROUP_CODES: &[&str] = &["promo", "X_SELL", "PACK"];

/// A product as an association names it: an identifier, a uuid, or not.
fn associated_product() -> BoxedStrategy<Value> {
    prop_oneof![
        4 => string_of(PRODUCTS),
        1 => Just(json!("0b8e8f5e-2a51-4f47-9a5e-6a3c7d1e2f40")),
        1 => json_value(),
    ]
    .boxed()
}

/// `associations` in the PIM's shape, with some fields wrong.
fn associations() -> BoxedStrategy<Value> {
    vec(
        (
            prop_oneof![4 => select(GROUP_CODES).prop_map(str::to_string), 1 => text()],
            obj(vec![
                ("products", list(associated_product(), 3)),
                (
                    "product_models",
                    prop_oneof![4 => Just(json!([])), 1 => list(string_of(PRODUCTS), 2)].boxed(),
                ),
                ("groups", list(string_of(GROUP_CODES), 3)),
            ]),
        ),
        0..3,
    )
    .prop_map(|kv| Value::Object(kv.into_iter().collect()))
    .boxed()
}

/// `quantified_associations` in the PIM's shape, with some fields wrong.
fn quantified_associations() -> BoxedStrategy<Value> {
    let item = obj(vec![
        ("identifier", associated_product()),
        (
            "quantity",
            prop_oneof![4 => (1u64..10).prop_map(Value::from), 2 => number()].boxed(),
        ),
    ]);
    vec(
        (
            prop_oneof![4 => select(GROUP_CODES).prop_map(str::to_string), 1 => text()],
            obj(vec![
                ("products", list(item, 3)),
                ("product_models", Just(json!([])).boxed()),
            ]),
        ),
        0..3,
    )
    .prop_map(|kv| Value::Object(kv.into_iter().collect()))
    .boxed()
}

/// An identifier the API accepts: any printable text without a comma or
/// semicolon, trimmed.
fn valid_identifier() -> BoxedStrategy<String> {
    "\\PC{1,40}"
        .prop_map(|s| {
            let s: String = s.chars().filter(|c| !matches!(c, ',' | ';')).collect();
            let s = s.trim().to_string();
            if s.is_empty() { "p".to_string() } else { s }
        })
        .boxed()
}

/// A product the API accepts, its values' data any JSON at all.
fn valid_product() -> BoxedStrategy<Value> {
    let item = (
        prop_oneof![
            Just(Value::Null),
            Just(json!("en_US")),
            Just(json!("fr_FR"))
        ],
        prop_oneof![Just(Value::Null), Just(json!("ecommerce"))],
        json_value(),
    )
        .prop_map(|(locale, scope, data)| json!({"locale": locale, "scope": scope, "data": data}));
    (
        valid_identifier(),
        any::<bool>(),
        prop_oneof![Just(Value::Null), select(FAMILIES).prop_map(|f| json!(f))],
        prop::sample::subsequence(CATEGORIES, 0..=2),
        vec(("[a-z_]{1,12}", item), 0..4),
    )
        .prop_map(|(identifier, enabled, family, categories, values)| {
            let values: Map<String, Value> =
                values.into_iter().map(|(k, v)| (k, json!([v]))).collect();
            json!({"identifier": identifier, "enabled": enabled, "family": family,
                   "categories": categories, "values": values})
        })
        .boxed()
}

fn product_body_call() -> BoxedStrategy<Call> {
    let target = prop_oneof![
        1 => Just((Method::POST, "/api/rest/v1/products".to_string())),
        2 => prop_oneof![2 => known_segment(PRODUCTS), 1 => "[a-z0-9-]{1,16}".boxed()]
            .prop_map(|s| (Method::PATCH, format!("/api/rest/v1/products/{s}"))),
    ];
    (
        target,
        prop_oneof![
            3 => body_bytes(product_body()),
            1 => valid_product().prop_map(|v| serde_json::to_vec(&v).unwrap()),
        ],
        content_type(),
        web_auth(),
        request_id(),
    )
        .prop_map(|((method, path), body, ct, auth, id)| {
            call(method, path, auth)
                .header("content-type", ct)
                .header("x-request-id", id)
                .bytes(body)
        })
        .boxed()
}

fn product_bodies(engine: Engine, n: u32) {
    run("product_bodies", engine, n, product_body_call(), |fx, c| {
        let a = fx.check(&c)?;
        // What was stored reads back.
        if let Some(location) = a.headers.get(header::LOCATION) {
            let url = location.to_str().unwrap_or("");
            let path = url.strip_prefix("http://pim.example:8080").unwrap_or(url);
            prop_assert!(
                path.starts_with("/api/rest/v1/products/"),
                "Location {url:?}"
            );
            let read = fx.check(&call(Method::GET, path, Auth::Bearer))?;
            prop_assert_eq!(read.status, 200, "GET {}: {}", path, read.text());
        }
        Ok(())
    });
}

#[test]
fn web_api_product_bodies_never_panic_nor_500() {
    product_bodies(Engine::Sqlite, cases(300));
}

#[test]
fn web_api_product_bodies_never_panic_nor_500_on_postgres() {
    product_bodies(Engine::Postgres, cases(150));
}

// ----- the products `search` grammar and query strings ---------------------

const OPERATORS: &[&str] = &[
    "IN",
    "NOT IN",
    "=",
    "!=",
    "<",
    ">",
    "BETWEEN",
    "NOT BETWEEN",
    "SINCE LAST N DAYS",
    "EMPTY",
    "NOT EMPTY",
    "IN CHILDREN",
    "NOT IN CHILDREN",
    "UNCLASSIFIED",
    "IN OR UNCLASSIFIED",
    "in",
    "STARTS WITH",
    "ENDS WITH",
    "CONTAINS",
    "DOES NOT CONTAIN",
    "<=",
    ">=",
    "",
];

fn date() -> BoxedStrategy<String> {
    prop_oneof![
        3 => "[0-9]{4}-[01][0-9]-[0-3][0-9] [0-2][0-9]:[0-5][0-9]:[0-5][0-9]",
        1 => select(&[
            "2026-01-01 10:00:00",
            "1970-01-01 00:00:00",
            "0000-01-01 00:00:00",
            "9999-12-31 23:59:59",
            "+262142-12-31 23:59:59",
            "-262143-01-01 00:00:00",
            "2026-02-30 00:00:00",
            "2026-01-01T10:00:00",
            "2026-01-01 24:00:00",
            "2026-01-01 23:59:60",
        ][..]).prop_map(str::to_string),
        1 => text(),
    ]
    .boxed()
}

fn search_operand() -> BoxedStrategy<Value> {
    let s = prop_oneof![
        3 => select(PRODUCTS).prop_map(str::to_string),
        3 => select(CATEGORIES).prop_map(str::to_string),
        1 => select(FAMILIES).prop_map(str::to_string),
        1 => select(&[
            "8945388d-cf5b-49af-8799-05d1ed6e296f",
            "8945388D-CF5B-49AF-8799-05D1ED6E296F",
            "{8945388d-cf5b-49af-8799-05d1ed6e296f}",
            "urn:uuid:8945388d-cf5b-49af-8799-05d1ed6e296f",
            "8945388dcf5b49af879905d1ed6e296f",
            "8945388d-cf5b-49af-8799-05d1ed6e296",
        ][..]).prop_map(str::to_string),
        3 => text(),
    ];
    prop_oneof![
        3 => vec(s.clone(), 0..5).prop_map(|v| json!(v)),
        2 => s.prop_map(Value::String),
        2 => date().prop_map(Value::String),
        2 => vec(date(), 0..4).prop_map(|v| json!(v)),
        1 => vec(s_many(), 1..2).prop_map(|v| json!(v.concat())),
        2 => number(),
        1 => any::<bool>().prop_map(Value::Bool),
        2 => json_value(),
        // Prices and metrics, well formed or not.
        2 => (
            prop_oneof![number(), select(&["12.50", "-3", "1.", "x"][..]).prop_map(|s| json!(s)), json_value()],
            select(&["currency", "unit", "amount", "x"][..]),
            prop_oneof![select(&["EUR", "KILOGRAM", "a b", ""][..]).prop_map(|s| json!(s)), json_value()],
        )
            .prop_map(|(amount, key, code)| json!({"amount": amount, key: code})),
    ]
    .boxed()
}

/// Many strings at once (a long IN list, as long as a URI can carry).
fn s_many() -> BoxedStrategy<Vec<String>> {
    (1usize..2_000)
        .prop_map(|n| (0..n).map(|i| format!("sku-{i}")).collect())
        .boxed()
}

fn condition() -> BoxedStrategy<Value> {
    prop_oneof![
        8 => (
            prop_oneof![4 => select(OPERATORS).prop_map(|s| Value::String(s.into())), 1 => json_value()],
            prop::option::weighted(0.9, search_operand()),
            prop::option::weighted(0.1, (select(&["locale", "scope", "locales", "context"][..]), json_value())),
        )
            .prop_map(|(op, value, extra)| {
                let mut m = Map::new();
                m.insert("operator".into(), op);
                if let Some(v) = value {
                    m.insert("value".into(), v);
                }
                if let Some((k, v)) = extra {
                    m.insert(k.into(), v);
                }
                Value::Object(m)
            }),
        1 => json_value(),
    ]
    .boxed()
}

/// A `search` value: mostly the grammar with arbitrary operators and
/// values, else any JSON or text, or the grammar cut short.
fn search() -> BoxedStrategy<String> {
    let property = prop_oneof![
        6 => select(&[
            "identifier", "enabled", "family", "categories", "created", "updated", "groups",
            "parent", "uuid", "name", "size", "color", "release_date", "completeness", "price",
            "weight",
        ][..])
            .prop_map(str::to_string),
        1 => text(),
    ];
    let filters = vec(
        (
            property,
            prop_oneof![8 => vec(condition(), 0..4).prop_map(Value::Array), 1 => json_value()],
        ),
        0..4,
    )
    .prop_map(|kv| Value::Object(kv.into_iter().collect()).to_string());
    prop_oneof![
        8 => filters.clone(),
        1 => json_value().prop_map(|v| v.to_string()),
        1 => text(),
        1 => (filters, any::<Index>()).prop_map(|(s, at)| {
            let mut cut = at.index(s.len() + 1);
            while !s.is_char_boundary(cut) {
                cut -= 1;
            }
            s[..cut].to_string()
        }),
    ]
    .boxed()
}

fn number_text() -> BoxedStrategy<String> {
    prop_oneof![
        3 => select(&[
            "0", "1", "10", "100", "101", "-1", "+1", " 1", "1 ", "1.5", "1e2", "", "0x10",
            "4294967295", "4294967296", "9223372036854775807", "9223372036854775808",
            "18446744073709551615", "18446744073709551616", "00000000000000000001",
        ][..]).prop_map(str::to_string),
        2 => any::<u64>().prop_map(|n| n.to_string()),
        1 => text(),
    ]
    .boxed()
}

/// One `key=value` of a products list, form-encoded; or a raw piece.
fn list_param() -> BoxedStrategy<String> {
    let kv = prop_oneof![
        2 => number_text().prop_map(|v| ("limit".to_string(), v)),
        2 => number_text().prop_map(|v| ("page".to_string(), v)),
        1 => prop_oneof![Just("true".to_string()), Just("false".to_string()), text()]
            .prop_map(|v| ("with_count".to_string(), v)),
        1 => prop_oneof![Just("page".to_string()), Just("search_after".to_string()), text()]
            .prop_map(|v| ("pagination_type".to_string(), v)),
        2 => prop_oneof![select(PRODUCTS).prop_map(str::to_string), text()]
            .prop_map(|v| ("search_after".to_string(), v)),
        6 => search().prop_map(|v| ("search".to_string(), v)),
        1 => text().prop_map(|v| ("locales".to_string(), v)),
        1 => text().prop_map(|v| ("attributes".to_string(), v)),
        1 => text().prop_map(|v| ("scope".to_string(), v)),
        1 => text().prop_map(|v| ("search_locale".to_string(), v)),
        1 => text().prop_map(|v| ("search_scope".to_string(), v)),
        1 => (text(), text()),
    ];
    prop_oneof![
        8 => kv.prop_map(|(k, v)| {
            form_urlencoded::Serializer::new(String::new()).append_pair(&k, &v).finish()
        }),
        1 => select(RAW_QUERY).prop_map(str::to_string),
        1 => vec(any::<u8>(), 0..20).prop_map(|b| percent_encode(&b, NON_ALPHANUMERIC).to_string()),
    ]
    .boxed()
}

/// `GET /api/rest/v1/products?…`, and now and then another Web API route
/// with the same query.
fn products_query_call() -> BoxedStrategy<Call> {
    let path = prop_oneof![
        8 => Just("/api/rest/v1/products"),
        1 => Just("/api/rest/v1/products/sku-1"),
        1 => Just("/api/rest/v1"),
    ];
    (path, vec(list_param(), 0..6), web_auth())
        .prop_map(|(path, params, auth)| {
            call(Method::GET, format!("{path}?{}", params.join("&")), auth)
        })
        .boxed()
}

/// Admin lists: `GET /api/v1/connections?offset=&limit=&stale=`, and query
/// strings on routes that take none.
fn admin_query_call() -> BoxedStrategy<Call> {
    let param = prop_oneof![
        3 => (
            select(&["offset", "limit", "stale", "Offset", "limit[]", ""][..]),
            prop_oneof![number_text(), Just("true".to_string()), Just("false".to_string())],
        )
            .prop_map(|(k, v)| form_urlencoded::Serializer::new(String::new()).append_pair(k, &v).finish()),
        2 => (select(&["offset", "limit", "stale"][..]), number_text())
            .prop_map(|(k, v)| format!("{k}={}", utf8_percent_encode(&v, SEGMENT))),
        1 => select(RAW_QUERY).prop_map(str::to_string),
        1 => (text(), text()).prop_map(|(k, v)| form_urlencoded::Serializer::new(String::new()).append_pair(&k, &v).finish()),
    ];
    let path = prop_oneof![
        6 => Just("/api/v1/connections"),
        1 => Just("/api/v1/me"),
        1 => Just("/api/v1/integrations"),
        1 => Just("/api/v1/categories"),
        1 => Just("/api/v1/monitoring"),
    ];
    (path, vec(param, 0..5), admin_auth())
        .prop_map(|(path, params, auth)| {
            call(Method::GET, format!("{path}?{}", params.join("&")), auth)
        })
        .boxed()
}

fn query_call() -> BoxedStrategy<Call> {
    prop_oneof![3 => products_query_call(), 1 => admin_query_call()].boxed()
}

fn query_strings(engine: Engine, n: u32) {
    run("query_strings", engine, n, query_call(), |fx, c| {
        fx.check(&c).map(drop)
    });
}

#[test]
fn search_and_query_strings_never_panic_nor_500() {
    query_strings(Engine::Sqlite, cases(400));
}

#[test]
fn search_and_query_strings_never_panic_nor_500_on_postgres() {
    query_strings(Engine::Postgres, cases(200));
}

// ----- the token and revocation endpoints -----------------------------------

/// A value of a token request's field.
fn token_field_value() -> BoxedStrategy<Tv> {
    prop_oneof![
        2 => select(&["password", "refresh_token", "client_credentials", "PASSWORD", ""][..]).prop_map(lit),
        1 => Just(Tv::ClientId),
        1 => Just(Tv::Secret),
        2 => Just(Tv::ApiUser),
        2 => Just(Tv::ApiPassword),
        1 => Just(Tv::Refresh),
        1 => Just(Tv::Access),
        1 => composed_token().prop_map(lit),
        3 => text().prop_map(Tv::Lit),
        1 => Just(lit("x".repeat(513))),
        1 => (
            prop_oneof![Just(Tv::ApiUser), Just(Tv::ApiPassword), Just(Tv::Refresh), Just(Tv::ClientId)],
            any::<usize>(), any::<u8>(), any::<u8>(),
        ).prop_map(|(v, at, b, how)| Tv::Mutated(Box::new(v), at, b, how)),
    ]
    .boxed()
}

/// A well-formed (checksummed) access or refresh token with any id.
fn composed_token() -> BoxedStrategy<String> {
    (
        any::<bool>(),
        prop_oneof![
            any::<u64>(),
            0u64..10,
            Just(u64::MAX),
            Just(i64::MAX as u64 + 1)
        ],
        proptest::string::string_regex(&format!("[A-Za-z0-9]{{{SECRET_BODY}}}")).unwrap(),
    )
        .prop_map(|(access, id, verifier)| {
            let kind = if access {
                Kind::AccessToken
            } else {
                Kind::RefreshToken
            };
            kind.compose_token(id, &verifier)
        })
        .boxed()
}

fn token_field_name() -> BoxedStrategy<String> {
    prop_oneof![
        6 => select(&[
            "grant_type", "username", "password", "refresh_token", "client_id",
            "client_secret", "token", "token_type_hint", "scope",
        ][..]).prop_map(str::to_string),
        1 => text(),
    ]
    .boxed()
}

/// The `Authorization` header of a token request.
fn basic_header() -> BoxedStrategy<Option<Vec<Tv>>> {
    let scheme = prop_oneof![
        8 => Just("Basic "),
        1 => select(&["basic ", "BASIC ", "Basic", "Basic  ", " Basic ", "Basic\t", "Bearer ", "Digest "][..]),
    ];
    let credential = prop_oneof![
        3 => Just(vec![Tv::ClientId, lit(":"), Tv::Secret]),
        2 => (token_field_value(), token_field_value()).prop_map(|(a, b)| vec![a, lit(":"), b]),
        1 => (token_field_value(), token_field_value())
            .prop_map(|(a, b)| vec![Tv::Form(vec![a]), lit(":"), Tv::Form(vec![b])]),
        1 => token_field_value().prop_map(|a| vec![a]),
        1 => vec(any::<u8>(), 0..40).prop_map(|b| vec![Tv::Bytes(b)]),
        1 => (text(), text()).prop_map(|(a, b)| vec![lit(format!("{a}%FF:{b}%"))]),
    ];
    prop_oneof![
        3 => Just(None),
        8 => Just(Some(vec![lit("Basic "), Tv::B64(vec![Tv::ClientId, lit(":"), Tv::Secret])])),
        6 => (scheme.clone(), credential).prop_map(|(s, c)| Some(vec![lit(s), Tv::B64(c)])),
        1 => (scheme.clone(), "[A-Za-z0-9+/=]{0,40}").prop_map(|(s, b)| Some(vec![lit(s), lit(b)])),
        1 => (scheme, text()).prop_map(|(s, t)| Some(vec![lit(s), Tv::Lit(t)])),
        1 => header_bytes().prop_map(|b| Some(vec![Tv::Bytes(b)])),
    ]
    .boxed()
}

/// A field of a request shape: mostly there with its right value, else
/// absent or any value.
fn field(name: &'static str, right: Tv) -> BoxedStrategy<Option<(String, Tv)>> {
    prop_oneof![
        1 => Just(None),
        10 => Just(Some((name.to_string(), right))),
        2 => token_field_value().prop_map(move |v| Some((name.to_string(), v))),
    ]
    .boxed()
}

/// The fields of a token or revocation request: a password grant, a
/// refresh grant or a revocation, each field right or not; now and then
/// the client's credentials in the body too; a few arbitrary fields more
/// (a name given twice among them).
fn token_fields() -> BoxedStrategy<Vec<(String, Tv)>> {
    let shape = prop_oneof![
        3 => vec![
            field("grant_type", lit("password")),
            field("username", Tv::ApiUser),
            field("password", Tv::ApiPassword),
        ],
        2 => vec![
            field("grant_type", lit("refresh_token")),
            field("refresh_token", Tv::Refresh),
        ],
        1 => vec![
            field("token", Tv::Access),
            field("token_type_hint", lit("access_token")),
        ],
    ];
    let body_client = prop::option::weighted(
        0.2,
        vec![
            field("client_id", Tv::ClientId),
            field("client_secret", Tv::Secret),
        ],
    );
    let extra = prop::option::weighted(0.3, vec((token_field_name(), token_field_value()), 1..3));
    (
        shape,
        body_client,
        extra,
        prop::option::weighted(
            0.05,
            vec((token_field_name(), token_field_value()), 100..200),
        ),
    )
        .prop_map(|(shape, client, extra, many)| {
            let mut fields: Vec<(String, Tv)> = shape.into_iter().flatten().collect();
            fields.extend(client.into_iter().flatten().flatten());
            fields.extend(extra.into_iter().flatten());
            fields.extend(many.into_iter().flatten());
            fields
        })
        .boxed()
}

/// A token or revocation request: form or JSON (or neither), fields from
/// the real ones and arbitrary ones, values from the real credentials and
/// arbitrary text, and any Basic header.
fn token_call() -> BoxedStrategy<Call> {
    let fields = token_fields();
    let json_extra = prop::option::weighted(0.2, (token_field_name(), json_value()));
    let body_kind = prop_oneof![
        4 => Just("form"),
        4 => Just("json"),
        1 => Just("raw"),
    ];
    (
        prop_oneof![4 => Just("/api/oauth/v1/token"), 1 => Just("/api/oauth/v1/revoke")],
        body_kind,
        fields,
        json_extra,
        prop_oneof![
            8 => Just(None),
            1 => Just(Some(vec![lit("application/json")])),
            1 => Just(Some(vec![lit("application/x-www-form-urlencoded; charset=utf-8")])),
            1 => header_bytes().prop_map(|b| Some(vec![Tv::Bytes(b)])),
        ],
        basic_header(),
        vec(any::<u8>(), 0..120),
        0u8..16,
    )
        .prop_map(|(path, kind, fields, extra, ct, basic, raw, big)| {
            let mut c = call(Method::POST, path, Auth::Nothing);
            let mut body: Vec<Tv> = Vec::new();
            let default_ct = match kind {
                "form" => {
                    for (i, (k, v)) in fields.into_iter().enumerate() {
                        if i > 0 {
                            body.push(lit("&"));
                        }
                        body.push(Tv::Form(vec![lit(k)]));
                        body.push(lit("="));
                        body.push(Tv::Form(vec![v]));
                    }
                    "application/x-www-form-urlencoded"
                }
                "json" => {
                    // Written by hand so the placeholders stay placeholders:
                    // literal text goes through serde; a credential resolves
                    // to ASCII that needs no escape (a mutated one may break
                    // the JSON: one more malformed body).
                    body.push(lit("{"));
                    let mut first = true;
                    for (k, v) in fields {
                        if !first {
                            body.push(lit(","));
                        }
                        first = false;
                        body.push(lit(Value::String(k).to_string()));
                        body.push(lit(":"));
                        match v {
                            Tv::Lit(s) => body.push(lit(Value::String(s).to_string())),
                            other => {
                                body.push(lit("\""));
                                body.push(other);
                                body.push(lit("\""));
                            }
                        }
                    }
                    if let Some((k, v)) = extra {
                        if !first {
                            body.push(lit(","));
                        }
                        body.push(lit(format!("{}:{v}", Value::String(k))));
                    }
                    body.push(lit("}"));
                    "application/json"
                }
                _ => {
                    body.push(Tv::Bytes(raw));
                    "application/x-www-form-urlencoded"
                }
            };
            if big == 0 {
                body.push(lit(format!("&pad={}", "p".repeat(5000))));
            }
            c.body = body;
            c.header(
                "content-type",
                Some(ct.unwrap_or_else(|| vec![lit(default_ct)])),
            )
            .header("authorization", basic)
        })
        .boxed()
}

fn token_requests(engine: Engine, n: u32) {
    run("token_requests", engine, n, token_call(), |fx, c| {
        let result = fx.check(&c);
        // Past any lockout the case caused, so the next reaches the grant.
        fx.clock.advance(chrono::Duration::minutes(16));
        let a = result?;
        if a.status == 200 {
            fx.renew(&a.json());
        }
        if a.status >= 400 {
            // Token endpoint errors are OAuth errors (RFC 6749 §5.2).
            let v = a.json();
            prop_assert!(v["error"].is_string(), "not an OAuth error: {}", a.text());
        }
        Ok(())
    });
}

#[test]
fn token_endpoint_bodies_and_basic_headers_never_panic_nor_500() {
    token_requests(Engine::Sqlite, cases(400));
}

#[test]
fn token_endpoint_bodies_and_basic_headers_never_panic_nor_500_on_postgres() {
    token_requests(Engine::Postgres, cases(200));
}

// ----- Authorization headers on both APIs -----------------------------------

fn authorization() -> BoxedStrategy<Option<Vec<Tv>>> {
    let token = prop_oneof![
        2 => (Just(Tv::Access), any::<usize>(), any::<u8>(), any::<u8>())
            .prop_map(|(v, at, b, how)| Tv::Mutated(Box::new(v), at, b, how)),
        2 => composed_token().prop_map(lit),
        1 => Just(Tv::Refresh),
        1 => Just(Tv::Access),
        1 => Just(Tv::Session),
        1 => Just(Tv::ClientId),
        2 => text().prop_map(Tv::Lit),
        1 => Just(lit("x".repeat(5000))),
    ];
    let scheme = prop_oneof![
        6 => Just("Bearer "),
        1 => select(&["bearer ", "BEARER ", "Bearer", "Bearer  ", " Bearer ", "Bearer\t", "Basic ", "Token ", ""][..]),
    ];
    prop_oneof![
        1 => Just(None),
        8 => (scheme, token, select(&["", " ", "  ", "\t", ","][..]))
            .prop_map(|(s, t, tail)| Some(vec![lit(s), t, lit(tail)])),
        1 => header_bytes().prop_map(|b| Some(vec![Tv::Bytes(b)])),
    ]
    .boxed()
}

fn authorization_call() -> BoxedStrategy<Call> {
    let target = prop_oneof![
        Just((Method::GET, "/api/rest/v1")),
        Just((Method::GET, "/api/rest/v1/products?limit=2")),
        Just((Method::GET, "/api/rest/v1/products/sku-1")),
        Just((Method::DELETE, "/api/rest/v1/products/nope")),
        Just((Method::GET, "/api/rest/v1/nowhere")),
        Just((Method::GET, "/api/v1/me")),
        Just((Method::GET, "/api/v1/connections")),
        // Ends the session the header names: never the owner's, which the
        // generator does not name with this route.
        Just((Method::DELETE, "/api/v1/session")),
        Just((Method::GET, "/healthz")),
    ];
    (
        target,
        authorization(),
        prop::option::weighted(0.1, authorization()),
    )
        .prop_map(|((m, path), auth, second)| {
            let logout = m == Method::DELETE && path == "/api/v1/session";
            let auth = match auth {
                Some(parts) if logout && parts.iter().any(|p| matches!(p, Tv::Session)) => {
                    Auth::Nothing
                }
                Some(parts) => Auth::Header(parts),
                None => Auth::Nothing,
            };
            let second = second
                .flatten()
                .filter(|p| !(logout && p.iter().any(|t| matches!(t, Tv::Session))));
            call(m, path, auth).header("authorization", second)
        })
        .boxed()
}

fn authorization_headers(engine: Engine, n: u32) {
    run(
        "authorization_headers",
        engine,
        n,
        authorization_call(),
        |fx, c| {
            let a = fx.check(&c)?;
            if a.status == 401 && c.uri.starts_with("/api/rest/v1") {
                let challenge = a
                    .headers
                    .get(header::WWW_AUTHENTICATE)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("");
                prop_assert!(
                    challenge.starts_with("Bearer realm="),
                    "a Web API 401 without its Bearer challenge: {challenge:?}"
                );
            }
            Ok(())
        },
    );
}

#[test]
fn bearer_headers_never_panic_nor_500() {
    authorization_headers(Engine::Sqlite, cases(300));
}

#[test]
fn bearer_headers_never_panic_nor_500_on_postgres() {
    authorization_headers(Engine::Postgres, cases(150));
}

// ----- path identifiers and codes -------------------------------------------

fn methods() -> BoxedStrategy<Method> {
    prop_oneof![
        12 => Just(Method::GET),
        1 => Just(Method::POST),
        1 => Just(Method::PUT),
        1 => Just(Method::PATCH),
        1 => Just(Method::DELETE),
        1 => Just(Method::HEAD),
        1 => Just(Method::OPTIONS),
        1 => Just(Method::from_bytes(b"PROPFIND").unwrap()),
    ]
    .boxed()
}

/// Requests to one route with path parameters: `template`'s first `{}` a
/// segment of `known` codes or arbitrary, its second a user name or
/// arbitrary; a body that would pass, so the identifier is what is wrong;
/// now and then another method or more path.
fn path_route(
    method: Method,
    template: &'static str,
    known: &'static [&'static str],
    body: Option<Value>,
) -> BoxedStrategy<Call> {
    (
        segment(known),
        segment(USERS),
        prop::option::weighted(0.1, methods()),
        prop::option::weighted(0.05, "(/[a-z.]{0,6}(%[0-9A-F]{2})?){1,3}"),
        admin_auth(),
    )
        .prop_map(move |(first, second, other, tail, auth)| {
            let mut path = template
                .replacen("{}", &first, 1)
                .replacen("{}", &second, 1);
            if let Some(t) = tail {
                path.push_str(&t);
            }
            let auth = match auth {
                Auth::Owner if path.starts_with("/api/rest/") => Auth::Bearer,
                other => other,
            };
            let c = call(other.unwrap_or_else(|| method.clone()), path, auth);
            match &body {
                Some(b) => c.json(b),
                None => c,
            }
        })
        .boxed()
}

/// Every route with a path parameter (and the catch-alls), with each
/// method it serves.
fn path_call() -> BoxedStrategy<Call> {
    let conns: &'static [&'static str] = CONNECTIONS;
    let renamed = || Some(json!({"label": "Renamed"}));
    Union::new(vec![
        path_route(Method::GET, "/api/v1/connections/{}", conns, None),
        path_route(Method::PATCH, "/api/v1/connections/{}", conns, renamed()),
        path_route(
            Method::DELETE,
            "/api/v1/connections/{}",
            &["erp_conn"],
            None,
        ),
        path_route(Method::GET, "/api/v1/connections/{}/audit", conns, None),
        path_route(
            Method::GET,
            "/api/v1/connections/{}/credentials",
            conns,
            None,
        ),
        path_route(
            Method::POST,
            "/api/v1/connections/{}/secret/reveal",
            conns,
            None,
        ),
        path_route(Method::POST, "/api/v1/connections/{}/secret", conns, None),
        path_route(Method::POST, "/api/v1/connections/{}/password", conns, None),
        path_route(Method::GET, "/api/v1/connections/{}/used-by", conns, None),
        path_route(
            Method::GET,
            "/api/v1/connections/{}/monitoring",
            conns,
            None,
        ),
        path_route(
            Method::POST,
            "/api/v1/connections/{}/replace",
            conns,
            Some(json!({"with": "erp_conn"})),
        ),
        path_route(Method::GET, "/api/v1/integrations/{}", INTEGRATIONS, None),
        path_route(
            Method::PATCH,
            "/api/v1/integrations/{}",
            INTEGRATIONS,
            Some(json!({"name": "Renamed"})),
        ),
        path_route(
            Method::DELETE,
            "/api/v1/integrations/{}",
            &["erp_app"],
            None,
        ),
        path_route(
            Method::POST,
            "/api/v1/integrations/{}/registrations",
            INTEGRATIONS,
            Some(json!({"connections": ["shop_conn"]})),
        ),
        path_route(
            Method::DELETE,
            "/api/v1/integrations/{}/registrations/{}",
            INTEGRATIONS,
            None,
        ),
        path_route(
            Method::PUT,
            "/api/v1/integrations/{}/access/{}",
            INTEGRATIONS,
            Some(json!({"level": "monitor"})),
        ),
        path_route(Method::GET, "/api/v1/roles/{}", ROLES, None),
        path_route(Method::PATCH, "/api/v1/roles/{}", ROLES, renamed()),
        path_route(Method::DELETE, "/api/v1/roles/{}", &["reader"], None),
        path_route(Method::GET, "/api/v1/groups/{}", GROUPS, None),
        path_route(Method::PATCH, "/api/v1/groups/{}", GROUPS, renamed()),
        path_route(Method::DELETE, "/api/v1/groups/{}", GROUPS, None),
        path_route(Method::GET, "/api/v1/categories/{}", CATEGORIES, None),
        path_route(
            Method::PATCH,
            "/api/v1/categories/{}",
            CATEGORIES,
            renamed(),
        ),
        path_route(Method::DELETE, "/api/v1/categories/{}", CATEGORIES, None),
        path_route(Method::GET, "/api/v1/flows/{}", FLOWS, None),
        path_route(
            Method::PUT,
            "/api/v1/flows/{}",
            FLOWS,
            Some(json!({"name": "F", "steps": []})),
        ),
        path_route(Method::DELETE, "/api/v1/flows/{}", FLOWS, None),
        path_route(Method::DELETE, "/api/v1/users/{}", &["bob"], None),
        path_route(
            Method::PUT,
            "/api/v1/users/{}/password",
            &["bob"],
            Some(json!({})),
        ),
        path_route(Method::GET, "/api/rest/v1/products/{}", PRODUCTS, None),
        path_route(
            Method::PATCH,
            "/api/rest/v1/products/{}",
            PRODUCTS,
            Some(json!({"enabled": true})),
        ),
        path_route(Method::DELETE, "/api/rest/v1/products/{}", &["sku-2"], None),
        path_route(Method::GET, "/api/rest/v1/{}", &["products"], None),
        path_route(Method::GET, "/api/v1/{}", &["me"], None),
        path_route(Method::GET, "/{}", &["api", "healthz"], None),
    ])
    .boxed()
}

fn path_segments(engine: Engine, n: u32) {
    run("path_segments", engine, n, path_call(), |fx, c| {
        fx.check(&c).map(drop)
    });
}

#[test]
fn path_identifiers_and_codes_never_panic_nor_500() {
    path_segments(Engine::Sqlite, cases(400));
}

#[test]
fn path_identifiers_and_codes_never_panic_nor_500_on_postgres() {
    path_segments(Engine::Postgres, cases(200));
}

// ----- forwarded headers (links from a trusted proxy) -----------------------

fn forwarded_call() -> BoxedStrategy<Call> {
    let host = prop_oneof![
        2 => select(&["pim.example", "pim.example:443", "[::1]:8080", "a,b", " , ", "evil.example/x", "user@evil", ""][..])
            .prop_map(|s| Some(vec![lit(s)])),
        3 => header_bytes().prop_map(|b| Some(vec![Tv::Bytes(b)])),
        1 => Just(Some(vec![lit("h".repeat(300))])),
        1 => Just(None),
    ];
    let proto = prop_oneof![
        2 => select(&["http", "https", "HTTPS", "ftp", "https, http", ""][..]).prop_map(|s| Some(vec![lit(s)])),
        1 => header_bytes().prop_map(|b| Some(vec![Tv::Bytes(b)])),
        1 => Just(None),
    ];
    let target = prop_oneof![
        3 => Just((Method::GET, "/api/rest/v1/products?limit=1&search=%7B%7D".to_string(), None)),
        1 => Just((Method::GET, "/api/rest/v1/products?pagination_type=search_after&limit=1".to_string(), None)),
        2 => "[a-z0-9-]{1,12}".prop_map(|id| (
            Method::POST,
            "/api/rest/v1/products".to_string(),
            Some(json!({"identifier": format!("fwd-{id}")})),
        )),
        1 => text().prop_map(|id| (
            Method::PATCH,
            format!("/api/rest/v1/products/{}", encoded(&format!("fwd {id}"))),
            Some(json!({"enabled": false})),
        )),
    ];
    (
        target,
        host,
        proto,
        request_id(),
        prop::option::of(header_bytes()),
    )
        .prop_map(|((method, path, body), host, proto, id, plain_host)| {
            let c = call(method, path, Auth::Bearer)
                .header("x-forwarded-host", host)
                .header("x-forwarded-proto", proto)
                .header("x-request-id", id)
                .header("host", plain_host.map(|b| vec![Tv::Bytes(b)]));
            match body {
                Some(b) => c.json(&b),
                None => c,
            }
        })
        .boxed()
}

fn forwarded_headers(engine: Engine, n: u32) {
    run("forwarded_headers", engine, n, forwarded_call(), |fx, c| {
        let a = fx.check(&c)?;
        // Links stay absolute URLs of a plain host, whatever was forwarded.
        let mut links: Vec<String> = Vec::new();
        if let Some(l) = a.headers.get(header::LOCATION) {
            links.push(l.to_str().unwrap_or("").to_string());
        }
        if a.status == 200 {
            let v = a.json();
            for rel in ["self", "first", "next", "previous"] {
                if let Some(h) = v["_links"][rel]["href"].as_str() {
                    links.push(h.to_string());
                }
            }
        }
        for l in links {
            let rest = l
                .strip_prefix("http://")
                .or_else(|| l.strip_prefix("https://"))
                .unwrap_or("");
            let host = rest.split('/').next().unwrap_or("");
            prop_assert!(
                switchboard::server::products::is_host(host),
                "a link with a host that is not one: {l:?}"
            );
        }
        Ok(())
    });
}

#[test]
fn forwarded_and_request_id_headers_never_panic_nor_500() {
    forwarded_headers(Engine::Sqlite, cases(200));
}

#[test]
fn forwarded_and_request_id_headers_never_panic_nor_500_on_postgres() {
    forwarded_headers(Engine::Postgres, cases(100));
}

// ----- U+0000, everywhere a client can put it --------------------------------

/// NUL (U+0000) in every identifier, code, name and query value a client
/// sends (percent-encoded in paths and queries, escaped in JSON, inside
/// Basic credentials): each answered like any other unknown or invalid
/// value, never a 5xx. The properties above find these at random; this
/// names each one, on both engines.
fn nul_everywhere(engine: Engine) {
    let fx = Fx::new(engine);
    let seg = "a%00b";
    let nul = "a\u{0}b";
    let owner = |m: Method, path: String| call(m, path, Auth::Owner);
    let mut calls = Vec::new();
    for path in [
        "/connections/{}",
        "/connections/{}/audit",
        "/connections/{}/credentials",
        "/connections/{}/used-by",
        "/connections/{}/monitoring",
        "/integrations/{}",
        "/roles/{}",
        "/groups/{}",
        "/categories/{}",
        "/flows/{}",
    ] {
        calls.push(owner(
            Method::GET,
            format!("/api/v1{}", path.replace("{}", seg)),
        ));
    }
    for path in [
        "/connections/{}",
        "/integrations/{}",
        "/roles/{}",
        "/groups/{}",
        "/categories/{}",
        "/flows/{}",
        "/users/{}",
        "/integrations/{}/registrations/shop_conn",
        "/integrations/shop/registrations/{}",
    ] {
        calls.push(owner(
            Method::DELETE,
            format!("/api/v1{}", path.replace("{}", seg)),
        ));
    }
    for path in [
        "/connections/{}/secret/reveal",
        "/connections/{}/secret",
        "/connections/{}/password",
    ] {
        calls.push(owner(
            Method::POST,
            format!("/api/v1{}", path.replace("{}", seg)),
        ));
    }
    let renamed = json!({"label": "Renamed"});
    for (m, path, body) in [
        (Method::PATCH, "/connections/{}", renamed.clone()),
        (Method::PATCH, "/roles/{}", renamed.clone()),
        (Method::PATCH, "/groups/{}", renamed.clone()),
        (Method::PATCH, "/categories/{}", renamed),
        (
            Method::PATCH,
            "/integrations/{}",
            json!({"name": "Renamed"}),
        ),
        (
            Method::POST,
            "/connections/{}/replace",
            json!({"with": "erp_conn"}),
        ),
        (
            Method::POST,
            "/integrations/{}/registrations",
            json!({"connections": ["shop_conn"]}),
        ),
        (
            Method::PUT,
            "/integrations/{}/access/bob",
            json!({"level": "monitor"}),
        ),
        (
            Method::PUT,
            "/integrations/shop/access/{}",
            json!({"level": "monitor"}),
        ),
        (Method::PUT, "/users/{}/password", json!({})),
        (Method::PUT, "/flows/{}", json!({"name": "F", "steps": []})),
        // …and in bodies.
        (
            Method::PATCH,
            "/connections/shop_conn",
            json!({"role": nul}),
        ),
        (
            Method::PATCH,
            "/connections/shop_conn",
            json!({"group": nul}),
        ),
        (
            Method::POST,
            "/connections/shop_conn/replace",
            json!({"with": nul}),
        ),
        (
            Method::POST,
            "/connections/shop_conn/replace",
            json!({"with": "erp_conn", "flow": nul}),
        ),
        (
            Method::POST,
            "/integrations/shop/registrations",
            json!({"connections": [nul]}),
        ),
        (
            Method::PUT,
            "/flows/sync",
            json!({"name": "F", "integration": nul, "steps": []}),
        ),
        (
            Method::PUT,
            "/flows/sync",
            json!({"name": "F", "steps": [{"kind": "export", "connection": nul}]}),
        ),
        (
            Method::POST,
            "/connections",
            json!({"label": "Nul test", "integration": nul}),
        ),
        (
            Method::POST,
            "/users",
            json!({"username": nul, "kind": "member"}),
        ),
        (
            Method::POST,
            "/groups",
            json!({"code": "nul_g", "label": "G", "permissions": [{"category": nul, "level": "view"}]}),
        ),
        (
            Method::POST,
            "/categories",
            json!({"code": "nul_c", "label": "C", "parent": nul}),
        ),
    ] {
        calls.push(owner(m, format!("/api/v1{}", path.replace("{}", seg))).json(&body));
    }
    for (user, password) in [(nul, "x"), ("alice", nul)] {
        calls.push(
            call(Method::POST, "/api/v1/session", Auth::Nothing)
                .json(&json!({"username": user, "password": password})),
        );
    }
    // The Web API: identifiers in the path, the cursor, the search.
    for m in [Method::GET, Method::DELETE] {
        calls.push(call(
            m,
            format!("/api/rest/v1/products/{seg}"),
            Auth::Bearer,
        ));
    }
    calls.push(
        call(
            Method::PATCH,
            format!("/api/rest/v1/products/{seg}"),
            Auth::Bearer,
        )
        .json(&json!({"enabled": true})),
    );
    calls.push(call(
        Method::GET,
        format!("/api/rest/v1/products?pagination_type=search_after&search_after={seg}"),
        Auth::Bearer,
    ));
    for search in [
        json!({"identifier": [{"operator": "IN", "value": [nul]}]}),
        json!({"identifier": [{"operator": "=", "value": nul}]}),
        json!({"family": [{"operator": "NOT IN", "value": [nul]}]}),
        json!({"categories": [{"operator": "IN", "value": [nul]}]}),
        json!({"name": [{"operator": "CONTAINS", "value": nul, "locale": "en_US"}]}),
        json!({"name": [{"operator": "EMPTY", "locale": nul, "scope": nul}]}),
        json!({"color": [{"operator": "IN", "value": [nul]}]}),
    ] {
        let q: String = form_urlencoded::byte_serialize(search.to_string().as_bytes()).collect();
        calls.push(call(
            Method::GET,
            format!("/api/rest/v1/products?search={q}"),
            Auth::Bearer,
        ));
    }
    calls.push(call(Method::POST, "/api/rest/v1/products", Auth::Bearer).json(
        &json!({"identifier": "nul-data", "values": {"name": [{"locale": null, "scope": null, "data": nul}]}}),
    ));
    // The token endpoints: the client id in Basic and in the body, the
    // username, the token.
    let grant = json!({"grant_type": "password", "username": "u", "password": "p"});
    calls.push(
        call(Method::POST, "/api/oauth/v1/token", Auth::Nothing)
            .header(
                "authorization",
                Some(vec![lit("Basic "), Tv::B64(vec![lit(nul), lit(":x")])]),
            )
            .json(&grant),
    );
    calls.push(
        call(Method::POST, "/api/oauth/v1/token", Auth::Nothing)
            .header(
                "authorization",
                Some(vec![lit("Basic "), Tv::B64(vec![lit("a%00b:x")])]),
            )
            .json(&grant),
    );
    calls.push(
        call(Method::POST, "/api/oauth/v1/token", Auth::Nothing).json(
            &json!({"grant_type": "password", "username": "u", "password": "p",
                "client_id": nul, "client_secret": "x"}),
        ),
    );
    calls.push(
        call(Method::POST, "/api/oauth/v1/token", Auth::Nothing)
            .header(
                "authorization",
                Some(vec![
                    lit("Basic "),
                    Tv::B64(vec![Tv::ClientId, lit(":"), Tv::Secret]),
                ]),
            )
            .json(&json!({"grant_type": "password", "username": nul, "password": "p"})),
    );
    calls.push(
        call(Method::POST, "/api/oauth/v1/revoke", Auth::Nothing)
            .json(&json!({"token": "x", "client_id": nul, "client_secret": "x"})),
    );
    let mut failures = Vec::new();
    for c in &calls {
        if let Err(e) = fx.check(c) {
            failures.push(format!("  {c:?}\n    {e}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} requests with U+0000 on {engine:?} were not answered with a JSON 4xx or a success:\n{}",
        failures.len(),
        calls.len(),
        failures.join("\n")
    );
}

#[test]
fn nul_in_identifiers_codes_and_values_is_never_a_500() {
    nul_everywhere(Engine::Sqlite);
}

#[test]
fn nul_in_identifiers_codes_and_values_is_never_a_500_on_postgres() {
    nul_everywhere(Engine::Postgres);
}
