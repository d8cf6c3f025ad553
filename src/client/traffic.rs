//! `switchboard demo-traffic`: drives real Web API calls (R22) with a few
//! demo connections' credentials against a running server, so that
//! monitoring (R23) has something true to show.
//!
//! To use a connection it must hold its password, which is shown only once
//! (R4): so this regenerates the password of each connection it drives (R7,
//! which revokes that connection's tokens) and reveals its secret (R5,
//! audited), as the logged-in user — who must be allowed to (R20).

use std::time::Duration;

use base64::Engine;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

use super::{Client, ClientError};
use crate::model::{CategoryLevel, FlowType};

/// The demo workspace's connections this prefers, with what they do: an ERP
/// and two suppliers writing, three shops reading.
pub const PREFERRED: [&str; 6] = [
    "sap_s_4hana_production",
    "supplier_portal_nordics",
    "infor_m3_manufacturing",
    "shopify_plus_us",
    "zalando_partner",
    "google_merchant_center",
];

/// One connection the traffic acts as.
pub struct App {
    pub code: String,
    pub flow_type: FlowType,
    client_id: String,
    secret: String,
    username: String,
    password: String,
    token: Option<String>,
    /// Categories its group may edit (where it creates products).
    editable: Vec<String>,
    /// Identifiers it has seen.
    known: Vec<String>,
}

/// What one second of traffic did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub sent: u64,
    pub ok: u64,
    pub client_errors: u64,
    pub server_errors: u64,
    pub throttled: u64,
    pub read: u64,
    pub created: u64,
    pub updated: u64,
}

impl Tally {
    fn add(&mut self, other: Tally) {
        self.sent += other.sent;
        self.ok += other.ok;
        self.client_errors += other.client_errors;
        self.server_errors += other.server_errors;
        self.throttled += other.throttled;
        self.read += other.read;
        self.created += other.created;
        self.updated += other.updated;
    }

    /// One line of the summary.
    pub fn line(&self) -> String {
        format!(
            "sent {:>4}  2xx {:>4}  4xx {:>3}  5xx {:>2}  429 {:>2} | read {:>5}  created {:>3}  updated {:>3}",
            self.sent,
            self.ok,
            self.client_errors,
            self.server_errors,
            self.throttled,
            self.read,
            self.created,
            self.updated
        )
    }
}

/// Picks the connections to drive (`wanted`, else the demo's preferred
/// ones, else the first three sources and destinations the user sees) and
/// gets their credentials: a new password (revoking their tokens) and the
/// secret.
pub async fn prepare(admin: &Client, wanted: &[String]) -> Result<Vec<App>, ClientError> {
    let all = admin.list_connections().await?;
    let monitored = |c: &&crate::model::Connection| c.flow_type != FlowType::Other;
    let mut chosen: Vec<&crate::model::Connection> = if !wanted.is_empty() {
        let mut v = Vec::new();
        for code in wanted {
            match all.iter().find(|c| &c.code == code) {
                Some(c) => v.push(c),
                None => {
                    return Err(ClientError::Transport(format!(
                        "no connection {code:?} (or you may not see it)"
                    )));
                }
            }
        }
        v
    } else {
        PREFERRED
            .iter()
            .filter_map(|code| all.iter().find(|c| c.code == *code))
            .collect()
    };
    if chosen.is_empty() {
        for flow in [FlowType::Source, FlowType::Destination] {
            chosen.extend(
                all.iter()
                    .filter(monitored)
                    .filter(|c| c.flow_type == flow)
                    .take(3),
            );
        }
    }
    if chosen.is_empty() {
        return Err(ClientError::Transport(
            "no source or destination connection to drive: load the demo workspace (D in the console) or create one".to_string(),
        ));
    }
    let categories = admin.list_categories().await?;
    let mut apps = Vec::with_capacity(chosen.len());
    for c in chosen {
        let password = admin.regenerate_password(&c.code).await?.password;
        let secret = admin.reveal_secret(&c.code).await?.secret;
        let group = admin.get_group(&c.group).await?;
        let editable: Vec<String> = if group.everything {
            categories.iter().map(|k| k.code.clone()).collect()
        } else {
            group
                .permissions
                .iter()
                .filter(|g| g.level == CategoryLevel::Edit)
                .map(|g| g.category.clone())
                .collect()
        };
        apps.push(App {
            code: c.code.clone(),
            flow_type: c.flow_type,
            client_id: c.client_id.clone(),
            secret,
            username: c.username.clone(),
            password,
            token: None,
            editable,
            known: Vec::new(),
        });
    }
    Ok(apps)
}

/// Drives the Web API at `base_url` with `apps`, `rate` requests a second
/// in all, until `stop` resolves; `report` gets each second's tally.
pub async fn run(
    http: &reqwest::Client,
    base_url: &str,
    apps: &mut [App],
    rate: u32,
    stop: impl std::future::Future<Output = ()>,
    mut report: impl FnMut(Tally),
) -> Result<Tally, ClientError> {
    let base = base_url.trim_end_matches('/').to_string();
    let mut rng = StdRng::from_os_rng();
    for app in apps.iter_mut() {
        token(http, &base, app).await?;
        let page = get(http, &base, app, "/api/rest/v1/products?limit=100").await?;
        app.known = identifiers(&page.1);
    }
    let mut pace = tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(rate.max(1))));
    pace.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut second = tokio::time::interval(Duration::from_secs(1));
    second.tick().await;
    let mut total = Tally::default();
    let mut this_second = Tally::default();
    let mut counter = 0u64;
    tokio::pin!(stop);
    loop {
        tokio::select! {
            () = &mut stop => break,
            _ = second.tick() => {
                report(this_second);
                total.add(this_second);
                this_second = Tally::default();
            }
            _ = pace.tick() => {
                counter += 1;
                let i = rng.random_range(0..apps.len());
                let t = one_call(http, &base, &mut apps[i], &mut rng, counter).await?;
                this_second.add(t);
            }
        }
    }
    total.add(this_second);
    Ok(total)
}

fn identifiers(page: &Value) -> Vec<String> {
    page["_embedded"]["items"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|i| i["identifier"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn transport(e: reqwest::Error) -> ClientError {
    ClientError::Transport(e.to_string())
}

/// A token for `app` (the password grant).
async fn token(http: &reqwest::Client, base: &str, app: &mut App) -> Result<(), ClientError> {
    let basic = base64::engine::general_purpose::STANDARD
        .encode(format!("{}:{}", app.client_id, app.secret));
    let resp = http
        .post(format!("{base}{}", crate::TOKEN_PATH))
        .header("authorization", format!("Basic {basic}"))
        .json(
            &json!({"grant_type": "password", "username": app.username, "password": app.password}),
        )
        .send()
        .await
        .map_err(transport)?;
    let status = resp.status().as_u16();
    let body: Value = resp.json().await.map_err(transport)?;
    match body["access_token"].as_str() {
        Some(t) if status == 200 => {
            app.token = Some(t.to_string());
            Ok(())
        }
        _ => Err(ClientError::Transport(format!(
            "no token for {}: HTTP {status} {}",
            app.code, body["message"]
        ))),
    }
}

async fn send(
    http: &reqwest::Client,
    base: &str,
    app: &mut App,
    method: reqwest::Method,
    path: &str,
    body: Option<&Value>,
) -> Result<(u16, Value), ClientError> {
    for attempt in 0..2 {
        let mut req = http
            .request(method.clone(), format!("{base}{path}"))
            .bearer_auth(app.token.as_deref().unwrap_or(""));
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req.send().await.map_err(transport)?;
        let status = resp.status().as_u16();
        // An expired (or revoked) token: get a new one, once.
        if status == 401 && attempt == 0 {
            token(http, base, app).await?;
            continue;
        }
        let text = resp.text().await.map_err(transport)?;
        let value = serde_json::from_str(&text).unwrap_or(Value::Null);
        return Ok((status, value));
    }
    Ok((401, Value::Null))
}

async fn get(
    http: &reqwest::Client,
    base: &str,
    app: &mut App,
    path: &str,
) -> Result<(u16, Value), ClientError> {
    send(http, base, app, reqwest::Method::GET, path, None).await
}

fn tally(status: u16) -> Tally {
    Tally {
        sent: 1,
        ok: u64::from((200..300).contains(&status)),
        client_errors: u64::from((400..500).contains(&status)),
        server_errors: u64::from(status >= 500),
        throttled: u64::from(status == 429),
        ..Tally::default()
    }
}

/// One realistic call: destinations mostly read; sources mostly write; a
/// few calls of each go wrong the way clients do (unknown product, invalid
/// body).
async fn one_call(
    http: &reqwest::Client,
    base: &str,
    app: &mut App,
    rng: &mut StdRng,
    n: u64,
) -> Result<Tally, ClientError> {
    let pick = |rng: &mut StdRng, known: &[String]| -> Option<String> {
        (!known.is_empty()).then(|| known[rng.random_range(0..known.len())].clone())
    };
    let roll: u32 = rng.random_range(0..100);
    let reading = app.flow_type == FlowType::Destination;
    if reading || roll < 15 {
        let roll = rng.random_range(0..100);
        if roll < 55 {
            let page = rng.random_range(1..=3);
            let limit = [10, 20, 50][rng.random_range(0..3)];
            let (status, body) = get(
                http,
                base,
                app,
                &format!("/api/rest/v1/products?page={page}&limit={limit}"),
            )
            .await?;
            let found = identifiers(&body);
            let mut t = tally(status);
            t.read = found.len() as u64;
            for id in found {
                if !app.known.contains(&id) {
                    app.known.push(id);
                }
            }
            return Ok(t);
        }
        if roll < 90 {
            let Some(id) = pick(rng, &app.known) else {
                return Ok(tally(
                    get(http, base, app, "/api/rest/v1/products").await?.0,
                ));
            };
            let (status, _) = get(http, base, app, &format!("/api/rest/v1/products/{id}")).await?;
            let mut t = tally(status);
            t.read = u64::from(status == 200);
            return Ok(t);
        }
        // A product that is not there (or not for this connection).
        let (status, _) = get(
            http,
            base,
            app,
            &format!("/api/rest/v1/products/DISCONTINUED-{n}"),
        )
        .await?;
        return Ok(tally(status));
    }
    let category = pick(rng, &app.editable);
    if roll < 55 {
        // Update a known product: a new price, sometimes a new name.
        let Some(id) = pick(rng, &app.known) else {
            return Ok(Tally::default());
        };
        let amount = format!(
            "{}.{:02}",
            rng.random_range(9..300),
            rng.random_range(0..100)
        );
        let mut values = json!({"price": [{"locale": null, "scope": null,
            "data": [{"amount": amount, "currency": "EUR"}]}]});
        if rng.random_bool(0.3) {
            values["name"] = json!([{"locale": "en_US", "scope": null,
                "data": format!("{id} (rev. {n})")}]);
        }
        let (status, _) = send(
            http,
            base,
            app,
            reqwest::Method::PATCH,
            &format!("/api/rest/v1/products/{id}"),
            Some(&json!({"values": values})),
        )
        .await?;
        let mut t = tally(status);
        t.updated = u64::from(status == 204);
        t.created = u64::from(status == 201);
        return Ok(t);
    }
    if roll < 85 {
        // A new product, half by POST, half by PATCH (the upsert).
        let id = format!("DT-{}-{n}", app.code.to_uppercase().replace('_', "-"));
        let body = json!({
            "identifier": id,
            "family": "demo_traffic",
            "categories": category.iter().collect::<Vec<_>>(),
            "values": {"name": [{"locale": "en_US", "scope": null, "data": format!("New item {n}")}]}
        });
        let (status, _) = if rng.random_bool(0.5) {
            send(
                http,
                base,
                app,
                reqwest::Method::POST,
                "/api/rest/v1/products",
                Some(&body),
            )
            .await?
        } else {
            send(
                http,
                base,
                app,
                reqwest::Method::PATCH,
                &format!("/api/rest/v1/products/{id}"),
                Some(&body),
            )
            .await?
        };
        let mut t = tally(status);
        t.created = u64::from(status == 201);
        if status == 201 {
            app.known.push(id);
        }
        return Ok(t);
    }
    // An invalid product: values that are not an object (422).
    let (status, _) = send(
        http,
        base,
        app,
        reqwest::Method::POST,
        "/api/rest/v1/products",
        Some(&json!({"identifier": format!("BROKEN-{n}"), "values": "price: 12"})),
    )
    .await?;
    Ok(tally(status))
}
