//! HTTP for the products of the Web API (R22), in the PIM API's shapes:
//! `{code, message}` errors (422 with `errors`), HAL pages with absolute
//! links, 201 + `Location` on create. Every handler that reads, creates or
//! updates products puts a [`Counted`] into its response's extensions for
//! monitoring (R23).

use std::sync::Arc;

use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use super::AppState;
use super::extract::{BodyError, read_limited};
use crate::domain::products::{Naming, ValueFilter};
use crate::model::{
    ApiEvent, Counted, ItemLinks, Link, PageLinks, ProductPage, RestError, RestValidationError,
};
use crate::service::catalog::CatalogSnapshot;
use crate::service::oauth::ApiCaller;
use crate::service::products::{
    ListRequest, PAGE_DEFAULT, PAGE_MAX, ProductView, RestFailure, not_found,
};

/// A page as sent: [`ProductPage`]'s shape, with the values passed through.
#[derive(serde::Serialize)]
struct PageOut {
    #[serde(rename = "_links")]
    links: PageLinks,
    #[serde(skip_serializing_if = "Option::is_none")]
    current_page: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    items_count: Option<u64>,
    #[serde(rename = "_embedded")]
    embedded: EmbeddedOut,
}

#[derive(serde::Serialize)]
struct EmbeddedOut {
    items: Vec<ProductView>,
}

/// How a served backend writes absolute links: from its public URL
/// (`serve --public-url`; by default the address it listens on), never from
/// what a client says; the forwarded headers (`X-Forwarded-Host`,
/// `X-Forwarded-Proto`) count only from a proxy the operator names
/// (`--trusted-proxy CIDR`). Put into every request's extensions by `serve`.
#[derive(Debug, Default)]
pub struct Links {
    public: std::sync::OnceLock<String>,
    trusted: Vec<ipnet::IpNet>,
}

impl Links {
    /// `public`: `scheme://host[:port]`, checked by the caller.
    pub fn new(public: Option<String>, trusted: Vec<ipnet::IpNet>) -> Links {
        let links = Links {
            public: std::sync::OnceLock::new(),
            trusted,
        };
        if let Some(p) = public {
            let _ = links.public.set(p.trim_end_matches('/').to_string());
        }
        links
    }

    /// The public URL when none was given: where the server listens.
    pub fn default_to(&self, listening: String) {
        let _ = self.public.set(listening);
    }

    /// `scheme://host` for links in an answer to a request from `peer`.
    fn base(&self, peer: Option<std::net::IpAddr>, headers: &HeaderMap) -> String {
        let public = self.public.get().map_or("http://localhost", String::as_str);
        let (scheme, host) = public.split_once("://").unwrap_or(("http", public));
        let trusted = peer.is_some_and(|ip| self.trusted.iter().any(|n| n.contains(&ip)));
        if !trusted {
            return public.to_string();
        }
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(|v| v.split(',').next().unwrap_or("").trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let scheme = header("x-forwarded-proto")
            .filter(|s| s == "http" || s == "https")
            .unwrap_or_else(|| scheme.to_string());
        let host = header("x-forwarded-host")
            .filter(|h| is_host(h))
            .unwrap_or_else(|| host.to_string());
        format!("{scheme}://{host}")
    }
}

/// Whether `s` is a plain `host[:port]` (a name or an address, nothing that
/// could start a path, a query or a user).
pub fn is_host(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 255
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-.:[]".contains(c))
}

/// `scheme://host` for the links of this answer (see [`Links`]); in
/// process, where nobody reaches the server by URL, `http://localhost`.
pub struct LinkBase(pub String);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for LinkBase {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(LinkBase(match parts.extensions.get::<Arc<Links>>() {
            Some(links) => links.base(super::peer(parts), &parts.headers),
            None => "http://localhost".to_string(),
        }))
    }
}

/// Largest product body.
pub const PRODUCT_BODY_LIMIT: usize = super::BODY_LIMIT;

const PRODUCTS_PATH: &str = "/api/rest/v1/products";
/// The PIM's current products API: the same products, named by UUID.
const PRODUCTS_UUID_PATH: &str = "/api/rest/v1/products-uuid";

/// Which of the two products APIs a route belongs to: one implementation
/// serves both, only how a product is named (and linked) differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Api {
    /// `/api/rest/v1/products/{identifier}`.
    Identifier,
    /// `/api/rest/v1/products-uuid/{uuid}`.
    Uuid,
}

impl Api {
    /// How bodies and answers of this API name the products a product
    /// links to (associations).
    fn naming(self) -> Naming {
        match self {
            Api::Identifier => Naming::Identifier,
            Api::Uuid => Naming::Uuid,
        }
    }

    fn collection(self) -> &'static str {
        match self {
            Api::Identifier => PRODUCTS_PATH,
            Api::Uuid => PRODUCTS_UUID_PATH,
        }
    }

    /// A product's own URL in this API.
    fn item_url(self, base: &str, identifier: &str, uuid: &str) -> String {
        let name = match self {
            Api::Identifier => identifier,
            Api::Uuid => uuid,
        };
        format!(
            "{base}{}/{}",
            self.collection(),
            utf8_percent_encode(name, QUERY)
        )
    }
}

/// What a query value or path segment keeps unencoded in a link.
const QUERY: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

fn rest_error(status: StatusCode, message: String) -> Response {
    (
        status,
        [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))],
        Json(RestError {
            code: status.as_u16(),
            message,
        }),
    )
        .into_response()
}

impl IntoResponse for RestFailure {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        match self {
            RestFailure::Unprocessable { message, errors } => (
                status,
                Json(RestValidationError {
                    code: status.as_u16(),
                    message,
                    errors,
                }),
            )
                .into_response(),
            RestFailure::TooManyRequests {
                retry_after_secs,
                message,
            } => {
                let mut resp = rest_error(status, message);
                resp.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
                resp
            }
            other => rest_error(status, other.message()),
        }
    }
}

/// A JSON answer written into a buffer sized for a product at once (axum's
/// `Json` starts small and grows it several times).
fn json_response<T: serde::Serialize>(value: &T) -> Response {
    let mut buf = Vec::with_capacity(1024);
    match serde_json::to_writer(&mut buf, value) {
        // Like the token answers: what a connection reads is not for caches.
        Ok(()) => (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                ),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            ],
            buf,
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "cannot serialise a Web API answer");
            RestFailure::Internal.into_response()
        }
    }
}

fn counted(mut resp: Response, event: ApiEvent, count: usize) -> Response {
    resp.extensions_mut().insert(Counted {
        event,
        count: u32::try_from(count).unwrap_or(u32::MAX),
    });
    resp
}

fn with_location(mut resp: Response, url: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(url) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    resp
}

fn identifier_of(path: Result<Path<String>, PathRejection>) -> Result<String, RestFailure> {
    let id = path
        .map(|Path(id)| id)
        .map_err(|e| RestFailure::BadRequest(format!("bad product identifier in the path: {e}")))?;
    // No identifier holds a control character (and PostgreSQL could not
    // look up a NUL): such a product does not exist.
    if id.chars().any(char::is_control) {
        return Err(not_found(&id.escape_debug().to_string()));
    }
    Ok(id)
}

/// A product body: JSON only (415), at most 1 MiB (413), well-formed (400).
async fn json_body(headers: &HeaderMap, body: Body) -> Result<serde_json::Value, Response> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap_or("?"));
    match ct {
        None => {
            return Err(rest_error(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "The 'Content-Type' header is missing. 'application/json' has to be specified as value."
                    .to_string(),
            ));
        }
        Some(ct) => {
            let mime = ct.split(';').next().unwrap_or("").trim();
            if !mime.eq_ignore_ascii_case("application/json") {
                let shown: String = mime.chars().take(60).collect();
                return Err(rest_error(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    format!(
                        "'{shown}' in 'Content-Type' header is not valid. Only 'application/json' is allowed."
                    ),
                ));
            }
        }
    }
    let bytes = read_limited(body, PRODUCT_BODY_LIMIT)
        .await
        .map_err(|e| match e {
            BodyError::TooLarge => rest_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!(
                    "Request content exceeded the maximum allowed size of {PRODUCT_BODY_LIMIT} bytes."
                ),
            ),
            BodyError::Unreadable(why) => rest_error(
                StatusCode::BAD_REQUEST,
                format!("Cannot read the request body: {why}"),
            ),
        })?;
    serde_json::from_slice(&bytes).map_err(|e| {
        rest_error(
            StatusCode::BAD_REQUEST,
            format!("Invalid json message received: {e}"),
        )
    })
}

/// `attributes`, `locales` and `scope`, where a product read names them.
fn value_param(filter: &mut ValueFilter, key: &str, value: &str) -> Result<(), RestFailure> {
    if value.chars().any(char::is_control) {
        return Err(RestFailure::BadRequest(format!(
            "{key} must not contain control characters"
        )));
    }
    match key {
        "attributes" => filter.attributes = ValueFilter::list(value),
        "locales" => filter.locales = ValueFilter::list(value),
        "scope" => filter.scope = Some(value.trim().to_string()).filter(|s| !s.is_empty()),
        _ => {}
    }
    Ok(())
}

/// The value filters of a single product's read.
fn read_request(query: Option<&str>) -> Result<ValueFilter, RestFailure> {
    let mut filter = ValueFilter::default();
    for (key, value) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        value_param(&mut filter, &key, &value)?;
    }
    Ok(filter)
}

/// The parameters of a list, checked; unknown ones are ignored (PIM
/// clients send some Switchboard does not use, like `with_quality_scores`).
fn list_request(query: Option<&str>) -> Result<ListRequest, RestFailure> {
    let mut req = ListRequest {
        page: 1,
        limit: PAGE_DEFAULT,
        ..Default::default()
    };
    let mut cursor = false;
    let mut after = None;
    for (key, value) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        let shown = || value.chars().take(40).collect::<String>();
        match key.as_ref() {
            "limit" => {
                req.limit = value
                    .parse::<u64>()
                    .ok()
                    .filter(|l| (1..=PAGE_MAX).contains(l))
                    .ok_or_else(|| {
                        RestFailure::BadRequest(format!(
                            "limit must be a whole number from 1 to {PAGE_MAX} (you cannot request more than {PAGE_MAX} items), not {:?}",
                            shown()
                        ))
                    })?;
            }
            "page" => {
                req.page = value
                    .parse::<u64>()
                    .ok()
                    .filter(|p| *p >= 1 && *p <= u64::from(u32::MAX))
                    .ok_or_else(|| {
                        RestFailure::BadRequest(format!(
                            "page must be a whole number from 1, not {:?}",
                            shown()
                        ))
                    })?;
            }
            "with_count" => {
                req.with_count = match value.as_ref() {
                    "true" => true,
                    "false" => false,
                    _ => {
                        return Err(RestFailure::BadRequest(format!(
                            "with_count must be true or false, not {:?}",
                            shown()
                        )));
                    }
                }
            }
            "pagination_type" => {
                cursor = match value.as_ref() {
                    "page" => false,
                    "search_after" => true,
                    _ => {
                        return Err(RestFailure::BadRequest(format!(
                            "pagination_type must be page or search_after, not {:?}",
                            shown()
                        )));
                    }
                }
            }
            "search_after" => {
                if value.chars().any(char::is_control) {
                    return Err(RestFailure::BadRequest(
                        "search_after must not contain control characters".to_string(),
                    ));
                }
                after = Some(value.into_owned());
            }
            "search" => req.search = Some(value.into_owned()),
            "search_locale" | "search_scope" => {
                if value.chars().any(char::is_control) {
                    return Err(RestFailure::BadRequest(format!(
                        "{key} must not contain control characters"
                    )));
                }
                let v = Some(value.trim().to_string()).filter(|s| !s.is_empty());
                if key == "search_locale" {
                    req.search_defaults.locale = v;
                } else {
                    req.search_defaults.scope = v;
                }
            }
            "attributes" | "locales" | "scope" => value_param(&mut req.values, &key, &value)?,
            _ => {}
        }
    }
    if cursor {
        req.search_after = Some(after);
    }
    Ok(req)
}

fn list_link(
    api: Api,
    base: &str,
    req: &ListRequest,
    page: Option<u64>,
    after: Option<&str>,
) -> Link {
    let mut href = format!("{base}{}?", api.collection());
    match &req.search_after {
        None => href.push_str(&format!(
            "page={}&with_count={}&pagination_type=page&limit={}",
            page.unwrap_or(1),
            req.with_count,
            req.limit
        )),
        Some(_) => {
            href.push_str(&format!("pagination_type=search_after&limit={}", req.limit));
            if let Some(a) = after {
                href.push_str(&format!("&search_after={}", utf8_percent_encode(a, QUERY)));
            }
        }
    }
    if let Some(s) = req.search.as_deref().filter(|s| !s.is_empty()) {
        href.push_str(&format!("&search={}", utf8_percent_encode(s, QUERY)));
    }
    let d = &req.search_defaults;
    for (key, v) in [("search_locale", &d.locale), ("search_scope", &d.scope)] {
        if let Some(v) = v {
            href.push_str(&format!("&{key}={}", utf8_percent_encode(v, QUERY)));
        }
    }
    // The value filters hold on every page.
    let f = &req.values;
    for (key, list) in [("attributes", &f.attributes), ("locales", &f.locales)] {
        if let Some(items) = list {
            href.push_str(&format!(
                "&{key}={}",
                utf8_percent_encode(&items.join(","), QUERY)
            ));
        }
    }
    if let Some(scope) = &f.scope {
        href.push_str(&format!("&scope={}", utf8_percent_encode(scope, QUERY)));
    }
    Link { href }
}

#[utoipa::path(get, path = "/api/rest/v1/products", tag = "web-api", security(("bearer" = [])),
    params(
        ("page" = Option<u64>, Query, minimum = 1, description = "1-based page (default 1)"),
        ("limit" = Option<u64>, Query, minimum = 1, maximum = 100, description = "products per page, 1 to 100 (default 10)"),
        ("with_count" = Option<bool>, Query, description = "true: also count every match (`items_count`)"),
        ("pagination_type" = Option<String>, Query, description = "`page` (default) or `search_after`"),
        ("search_after" = Option<String>, Query, description = "with search_after pagination: the identifier to start after (follow the `next` link)"),
        ("attributes" = Option<String>, Query, description = "comma-separated attribute codes: only their values"),
        ("locales" = Option<String>, Query, description = "comma-separated locales: only values for them (and values that are not localisable)"),
        ("scope" = Option<String>, Query, description = "a channel: only values for it (and values that are not scopable)"),
        ("search_locale" = Option<String>, Query, description = "a locale: attribute filters in `search` that give no locale (or locales) look at values of this locale and values that are not localisable"),
        ("search_scope" = Option<String>, Query, description = "a channel: attribute filters in `search` that give no scope look at values of this channel and values that are not scopable"),
        ("search" = Option<String>, Query, description = "PIM search filters as JSON, e.g. `{\"categories\":[{\"operator\":\"IN\",\"value\":[\"shoes\"]}]}`; properties identifier (IN, NOT IN, =, !=), uuid (IN, NOT IN: arrays of UUIDs), categories (IN, NOT IN, IN CHILDREN, NOT IN CHILDREN, UNCLASSIFIED, IN OR UNCLASSIFIED), enabled (=, !=), family (IN, NOT IN, EMPTY, NOT EMPTY), groups (IN, NOT IN: arrays of group codes; EMPTY, NOT EMPTY), parent (a product identifier: = its descendants at any depth, IN direct children of any of an array, EMPTY without a parent, NOT EMPTY with one; a parent the group cannot view counts as none), created and updated (=, != on or not on the given day, <, >, BETWEEN, NOT BETWEEN, SINCE LAST N DAYS; \"YYYY-MM-DD HH:MM:SS\" UTC); any other property is an attribute code, filtering its values (optional locale or locales, and scope, restrict which values count; strings compared ASCII case-insensitively): text STARTS WITH, ENDS WITH, CONTAINS, DOES NOT CONTAIN, =, != (a string), IN, NOT IN (an array of strings; string or multi-select data), numbers <, <=, =, !=, >=, > (a number; numeric data or numeric strings), booleans =, != (a boolean), dates <, >, =, != (\"YYYY-MM-DD\"), BETWEEN, NOT BETWEEN (two of them), price collections <, <=, =, !=, >=, > (`{\"amount\": 12.5, \"currency\": \"EUR\"}`, amount a number or numeric string: some price in that currency compares), metrics <, <=, =, !=, >=, > (`{\"amount\": 1.2, \"unit\": \"KILOGRAM\"}`: values of that unit only, no unit conversion), and EMPTY, NOT EMPTY (on price collections optionally with `{\"currency\": \"EUR\"}`: no price, or some price, in that currency); search_locale and search_scope give attribute filters without their own locale or scope; a negated operator matches products that have such a value, none of which matches. A value of the wrong shape, an unknown operator, or completeness and quality_score, is a 422")),
    responses(
        (status = 200, description = "a page of the products the connection's group may view, in identifier order", body = ProductPage),
        (status = 400, description = "a bad parameter (limit outside 1–100, search not JSON…)", body = RestError),
        (status = 401, description = "missing, unknown, expired or revoked token", body = RestError),
        (status = 403, description = "the role lacks api.access or products.list", body = RestError),
        (status = 422, description = "a search filter that is not supported (an unknown operator, a value of the wrong shape for the property or attribute), or an unknown category", body = RestError),
        (status = 429, description = "the connection's rate limit; see Retry-After", body = RestError)))]
pub async fn list_products(
    State(svc): State<AppState>,
    Extension(caller): Extension<Arc<ApiCaller>>,
    Extension(snapshot): Extension<Arc<CatalogSnapshot>>,
    LinkBase(base): LinkBase,
    RawQuery(query): RawQuery,
) -> Response {
    list(
        Api::Identifier,
        &svc,
        &caller,
        &snapshot,
        &base,
        query.as_deref(),
    )
    .await
}

#[utoipa::path(get, path = "/api/rest/v1/products-uuid", tag = "web-api", security(("bearer" = [])),
    params(
        ("page" = Option<u64>, Query, minimum = 1, description = "1-based page (default 1)"),
        ("limit" = Option<u64>, Query, minimum = 1, maximum = 100, description = "products per page, 1 to 100 (default 10)"),
        ("with_count" = Option<bool>, Query, description = "true: also count every match (`items_count`)"),
        ("pagination_type" = Option<String>, Query, description = "`page` (default) or `search_after`"),
        ("search_after" = Option<String>, Query, description = "with search_after pagination: where to start (follow the `next` link)"),
        ("attributes" = Option<String>, Query, description = "comma-separated attribute codes: only their values"),
        ("locales" = Option<String>, Query, description = "comma-separated locales: only values for them (and values that are not localisable)"),
        ("scope" = Option<String>, Query, description = "a channel: only values for it (and values that are not scopable)"),
        ("search_locale" = Option<String>, Query, description = "a locale: attribute filters in `search` that give no locale (or locales) look at values of this locale and values that are not localisable"),
        ("search_scope" = Option<String>, Query, description = "a channel: attribute filters in `search` that give no scope look at values of this channel and values that are not scopable"),
        ("search" = Option<String>, Query, description = "PIM search filters as JSON, as for `/api/rest/v1/products`, e.g. `{\"uuid\":[{\"operator\":\"IN\",\"value\":[\"8945388d-cf5b-49af-8799-05d1ed6e296f\"]}]}`; properties identifier (IN, NOT IN, =, !=), uuid (IN, NOT IN: arrays of UUIDs), categories (IN, NOT IN, IN CHILDREN, NOT IN CHILDREN, UNCLASSIFIED, IN OR UNCLASSIFIED), enabled (=, !=), family (IN, NOT IN, EMPTY, NOT EMPTY), groups (IN, NOT IN: arrays of group codes; EMPTY, NOT EMPTY), parent (a product identifier: = its descendants at any depth, IN direct children of any of an array, EMPTY without a parent, NOT EMPTY with one; a parent the group cannot view counts as none), created and updated (=, != on or not on the given day, <, >, BETWEEN, NOT BETWEEN, SINCE LAST N DAYS; \"YYYY-MM-DD HH:MM:SS\" UTC); any other property is an attribute code, filtering its values (optional locale or locales, and scope, restrict which values count; strings compared ASCII case-insensitively): text STARTS WITH, ENDS WITH, CONTAINS, DOES NOT CONTAIN, =, != (a string), IN, NOT IN (an array of strings; string or multi-select data), numbers <, <=, =, !=, >=, > (a number; numeric data or numeric strings), booleans =, != (a boolean), dates <, >, =, != (\"YYYY-MM-DD\"), BETWEEN, NOT BETWEEN (two of them), price collections <, <=, =, !=, >=, > (`{\"amount\": 12.5, \"currency\": \"EUR\"}`, amount a number or numeric string: some price in that currency compares), metrics <, <=, =, !=, >=, > (`{\"amount\": 1.2, \"unit\": \"KILOGRAM\"}`: values of that unit only, no unit conversion), and EMPTY, NOT EMPTY (on price collections optionally with `{\"currency\": \"EUR\"}`: no price, or some price, in that currency); search_locale and search_scope give attribute filters without their own locale or scope; a negated operator matches products that have such a value, none of which matches. A value of the wrong shape, an unknown operator, or completeness and quality_score, is a 422")),
    responses(
        (status = 200, description = "a page of the products the connection's group may view, each with its `uuid` and linked by it", body = ProductPage),
        (status = 400, description = "a bad parameter (limit outside 1–100, search not JSON…)", body = RestError),
        (status = 401, description = "missing, unknown, expired or revoked token", body = RestError),
        (status = 403, description = "the role lacks api.access or products.list", body = RestError),
        (status = 422, description = "a search filter that is not supported (an unknown operator, a value of the wrong shape for the property or attribute), or an unknown category", body = RestError),
        (status = 429, description = "the connection's rate limit; see Retry-After", body = RestError)))]
pub async fn list_products_uuid(
    State(svc): State<AppState>,
    Extension(caller): Extension<Arc<ApiCaller>>,
    Extension(snapshot): Extension<Arc<CatalogSnapshot>>,
    LinkBase(base): LinkBase,
    RawQuery(query): RawQuery,
) -> Response {
    list(Api::Uuid, &svc, &caller, &snapshot, &base, query.as_deref()).await
}

/// A page of products in either API.
async fn list(
    api: Api,
    svc: &AppState,
    caller: &ApiCaller,
    snapshot: &CatalogSnapshot,
    base: &str,
    query: Option<&str>,
) -> Response {
    let result = async {
        let req = list_request(query)?;
        let listing = svc
            .list_products(caller, snapshot, req.clone(), api.naming())
            .await?;
        Ok::<_, RestFailure>((req, listing))
    }
    .await;
    let (req, listing) = match result {
        Ok(r) => r,
        Err(f) => return f.into_response(),
    };
    let links = match &req.search_after {
        None => PageLinks {
            self_: list_link(api, base, &req, Some(req.page), None),
            first: list_link(api, base, &req, Some(1), None),
            previous: (req.page > 1).then(|| list_link(api, base, &req, Some(req.page - 1), None)),
            next: listing
                .has_next
                .then(|| list_link(api, base, &req, Some(req.page + 1), None)),
        },
        Some(after) => PageLinks {
            self_: list_link(api, base, &req, None, after.as_deref()),
            first: list_link(api, base, &req, None, None),
            previous: None,
            next: listing
                .has_next
                .then(|| listing.items.last())
                .flatten()
                .map(|last| list_link(api, base, &req, None, Some(&last.identifier))),
        },
    };
    let n = listing.items.len();
    let page = PageOut {
        links,
        current_page: req.search_after.is_none().then_some(req.page),
        items_count: listing.count,
        embedded: EmbeddedOut {
            items: listing
                .items
                .into_iter()
                .map(|mut product| {
                    product.links = Some(ItemLinks {
                        self_: Link {
                            href: api.item_url(base, &product.identifier, &product.uuid),
                        },
                    });
                    product
                })
                .collect(),
        },
    };
    counted(json_response(&page), ApiEvent::Read, n)
}

#[utoipa::path(get, path = "/api/rest/v1/products/{identifier}", tag = "web-api", security(("bearer" = [])),
    params(("identifier" = String, Path, description = "the product identifier"),
        ("attributes" = Option<String>, Query, description = "comma-separated attribute codes: only their values"),
        ("locales" = Option<String>, Query, description = "comma-separated locales: only values for them (and values that are not localisable)"),
        ("scope" = Option<String>, Query, description = "a channel: only values for it (and values that are not scopable)")),
    responses(
        (status = 200, description = "the product; categories the group cannot view are left out", body = crate::model::Product),
        (status = 401, description = "missing, unknown, expired or revoked token", body = RestError),
        (status = 403, description = "the role lacks api.access or products.list", body = RestError),
        (status = 404, description = "no such product, or none of its categories is visible to the connection's group", body = RestError),
        (status = 429, description = "the connection's rate limit; see Retry-After", body = RestError)))]
pub async fn get_product(
    State(svc): State<AppState>,
    Extension(caller): Extension<Arc<ApiCaller>>,
    Extension(snapshot): Extension<Arc<CatalogSnapshot>>,
    path: Result<Path<String>, PathRejection>,
    RawQuery(query): RawQuery,
) -> Response {
    let result = match (identifier_of(path), read_request(query.as_deref())) {
        (Ok(id), Ok(filter)) => {
            svc.get_product(&caller, &snapshot, &id, &filter, Naming::Identifier)
                .await
        }
        (Err(f), _) | (_, Err(f)) => Err(f),
    };
    match result {
        Ok(product) => counted(json_response(&product), ApiEvent::Read, 1),
        Err(f) => f.into_response(),
    }
}

#[utoipa::path(post, path = "/api/rest/v1/products", tag = "web-api", security(("bearer" = [])),
    request_body(content = crate::model::Product, description = "`identifier` (required), `enabled`, `family`, `categories`, `values`, `groups`, `parent` (an existing product's identifier), `associations` and `quantified_associations` (products named by identifier; each must exist); read-only fields (`created`, `updated`, `_links`) are ignored"),
    responses(
        (status = 201, description = "created; `Location` names it; no body"),
        (status = 400, description = "the body is not JSON", body = RestError),
        (status = 401, description = "missing, unknown, expired or revoked token", body = RestError),
        (status = 403, description = "the role lacks api.access or products.edit", body = RestError),
        (status = 413, description = "body over 1 MiB", body = RestError),
        (status = 415, description = "not application/json", body = RestError),
        (status = 422, description = "invalid product, or the identifier is taken; `errors` lists each problem", body = RestError),
        (status = 429, description = "the connection's rate limit; see Retry-After", body = RestError)))]
pub async fn create_product(
    State(svc): State<AppState>,
    Extension(caller): Extension<Arc<ApiCaller>>,
    Extension(snapshot): Extension<Arc<CatalogSnapshot>>,
    LinkBase(base): LinkBase,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let value = match json_body(&headers, body).await {
        Ok(v) => v,
        Err(resp) => return resp,
    };
    create(Api::Identifier, &svc, &caller, &snapshot, &base, value).await
}

#[utoipa::path(post, path = "/api/rest/v1/products-uuid", tag = "web-api", security(("bearer" = [])),
    request_body(content = crate::model::Product, description = "`uuid` (optional: one is given), `identifier` (optional: the uuid), `enabled`, `family`, `categories`, `values`, `groups`, `parent` (an existing product's identifier), `associations` and `quantified_associations` (products named by uuid; each must exist)"),
    responses(
        (status = 201, description = "created; `Location` names it by uuid; no body"),
        (status = 400, description = "the body is not JSON", body = RestError),
        (status = 401, description = "missing, unknown, expired or revoked token", body = RestError),
        (status = 403, description = "the role lacks api.access or products.edit", body = RestError),
        (status = 413, description = "body over 1 MiB", body = RestError),
        (status = 415, description = "not application/json", body = RestError),
        (status = 422, description = "invalid product, or the identifier or uuid is taken; `errors` lists each problem", body = RestError),
        (status = 429, description = "the connection's rate limit; see Retry-After", body = RestError)))]
pub async fn create_product_uuid(
    State(svc): State<AppState>,
    Extension(caller): Extension<Arc<ApiCaller>>,
    Extension(snapshot): Extension<Arc<CatalogSnapshot>>,
    LinkBase(base): LinkBase,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let mut value = match json_body(&headers, body).await {
        Ok(v) => v,
        Err(resp) => return resp,
    };
    // Named by UUID: one is given when the body has none, and it stands
    // for the identifier when the body has none either.
    if let serde_json::Value::Object(map) = &mut value {
        let uuid = match map.get("uuid").and_then(serde_json::Value::as_str) {
            Some(u) => u.to_string(),
            None => {
                let u = crate::store::new_uuid();
                map.insert("uuid".into(), u.clone().into());
                u
            }
        };
        if map.get("identifier").is_none_or(serde_json::Value::is_null) {
            map.insert("identifier".into(), uuid.into());
        }
    }
    create(Api::Uuid, &svc, &caller, &snapshot, &base, value).await
}

async fn create(
    api: Api,
    svc: &AppState,
    caller: &ApiCaller,
    snapshot: &CatalogSnapshot,
    base: &str,
    value: serde_json::Value,
) -> Response {
    match svc
        .create_product(caller, snapshot, value, api.naming())
        .await
    {
        Ok((identifier, uuid)) => {
            let resp = with_location(
                StatusCode::CREATED.into_response(),
                &api.item_url(base, &identifier, &uuid),
            );
            counted(resp, ApiEvent::Created, 1)
        }
        Err(f) => f.into_response(),
    }
}

/// The content type of the PIM's batch bodies and of their answers.
pub const COLLECTION: &str = "application/vnd.akeneo.collection+json";

/// Most bytes a batch body may hold (a hundred products of the single
/// product's limit would be too much to hold for one request).
const BATCH_BODY_LIMIT: usize = 16 * 1024 * 1024;

#[utoipa::path(patch, path = "/api/rest/v1/products", tag = "web-api", security(("bearer" = [])),
    request_body(content = String, content_type = "application/vnd.akeneo.collection+json", description = "one JSON product per line (at most 100), each upserted as `PATCH /api/rest/v1/products/{identifier}` would, on its own: a bad line fails alone"),
    responses(
        (status = 200, description = "one JSON line per product, in order: `{\"line\":N,\"identifier\":…,\"status_code\":201|204|4xx,\"message\":…,\"errors\":[…]}`", content_type = "application/vnd.akeneo.collection+json", body = crate::service::products::BatchLine),
        (status = 400, description = "the body cannot be read", body = RestError),
        (status = 401, description = "missing, unknown, expired or revoked token", body = RestError),
        (status = 403, description = "the role lacks products.edit", body = RestError),
        (status = 413, description = "more than 100 products, or a body over 16 MiB", body = RestError),
        (status = 415, description = "not application/vnd.akeneo.collection+json", body = RestError),
        (status = 429, description = "the connection's rate limit; see Retry-After", body = RestError)))]
pub async fn patch_products(
    State(svc): State<AppState>,
    Extension(caller): Extension<Arc<ApiCaller>>,
    Extension(snapshot): Extension<Arc<CatalogSnapshot>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    batch(Api::Identifier, svc, caller, snapshot, headers, body).await
}

/// A batch upsert in either API. In the UUID API each line is named as a
/// single `PATCH …/products-uuid/{uuid}` names it (by its `uuid`).
async fn batch(
    api: Api,
    svc: AppState,
    caller: Arc<ApiCaller>,
    snapshot: Arc<CatalogSnapshot>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let mime = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|ct| ct.split(';').next().unwrap_or("").trim().to_string());
    if !mime
        .as_deref()
        .is_some_and(|m| m.eq_ignore_ascii_case(COLLECTION))
    {
        let shown: String = mime.unwrap_or_default().chars().take(60).collect();
        return rest_error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!(
                "'{shown}' in 'Content-Type' header is not valid. Only '{COLLECTION}' is allowed."
            ),
        );
    }
    let bytes = match read_limited(body, BATCH_BODY_LIMIT).await {
        Ok(b) => b,
        Err(BodyError::TooLarge) => {
            return rest_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!(
                    "Request content exceeded the maximum allowed size of {BATCH_BODY_LIMIT} bytes."
                ),
            );
        }
        Err(BodyError::Unreadable(why)) => {
            return rest_error(
                StatusCode::BAD_REQUEST,
                format!("Cannot read the request body: {why}"),
            );
        }
    };
    let bytes = match api {
        Api::Identifier => bytes,
        Api::Uuid => match named_by_uuid(&svc, &bytes).await {
            Ok(b) => b,
            Err(f) => return f.into_response(),
        },
    };
    let lines = match svc
        .upsert_products(&caller, &snapshot, &bytes, api.naming())
        .await
    {
        Ok(lines) => lines,
        Err(f) => return f.into_response(),
    };
    let mut tally = crate::domain::monitoring::CountedLines::default();
    let mut text = String::new();
    for line in &lines {
        match line.status_code {
            201 => tally.created += 1,
            204 => tally.updated += 1,
            _ => tally.errors += 1,
        }
        if !text.is_empty() {
            text.push('\n');
        }
        text.push_str(&serde_json::to_string(line).unwrap_or_default());
    }
    let mut resp = (
        StatusCode::OK,
        [(header::CONTENT_TYPE, HeaderValue::from_static(COLLECTION))],
        text,
    )
        .into_response();
    resp.extensions_mut().insert(tally);
    resp
}

#[utoipa::path(patch, path = "/api/rest/v1/products/{identifier}", tag = "web-api", security(("bearer" = [])),
    params(("identifier" = String, Path, description = "the product identifier")),
    request_body(content = crate::model::Product, description = "the fields to change: `enabled`, `family`, `categories`, `groups`, `parent` replace; `values` merge per attribute, locale and scope, `associations` and `quantified_associations` per type and list (the PIM's rules); creates the product when it does not exist"),
    responses(
        (status = 201, description = "created; `Location` names it"),
        (status = 204, description = "updated; `Location` names it"),
        (status = 400, description = "the body is not JSON", body = RestError),
        (status = 401, description = "missing, unknown, expired or revoked token", body = RestError),
        (status = 403, description = "the role lacks products.edit, or the group may only view the product", body = RestError),
        (status = 404, description = "none of the product's categories is visible to the connection's group", body = RestError),
        (status = 413, description = "body over 1 MiB", body = RestError),
        (status = 415, description = "not application/json", body = RestError),
        (status = 422, description = "invalid product; `errors` lists each problem", body = RestError),
        (status = 429, description = "the connection's rate limit; see Retry-After", body = RestError)))]
pub async fn patch_product(
    State(svc): State<AppState>,
    Extension(caller): Extension<Arc<ApiCaller>>,
    Extension(snapshot): Extension<Arc<CatalogSnapshot>>,
    LinkBase(base): LinkBase,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
    body: Body,
) -> Response {
    let identifier = match identifier_of(path) {
        Ok(id) => id,
        Err(f) => return f.into_response(),
    };
    let value = match json_body(&headers, body).await {
        Ok(v) => v,
        Err(resp) => return resp,
    };
    upsert(
        Api::Identifier,
        &svc,
        &caller,
        &snapshot,
        &base,
        &identifier,
        value,
    )
    .await
}

#[utoipa::path(patch, path = "/api/rest/v1/products-uuid/{uuid}", tag = "web-api", security(("bearer" = [])),
    params(("uuid" = String, Path, description = "the product's uuid")),
    request_body(content = crate::model::Product, description = "as `PATCH /api/rest/v1/products/{identifier}`; creates the product with this uuid when none has it (its identifier: the body's, else the uuid)"),
    responses(
        (status = 201, description = "created; `Location` names it"),
        (status = 204, description = "updated; `Location` names it"),
        (status = 400, description = "the body is not JSON", body = RestError),
        (status = 401, description = "missing, unknown, expired or revoked token", body = RestError),
        (status = 403, description = "the role lacks products.edit, or the group may only view the product", body = RestError),
        (status = 404, description = "the uuid is not a UUID, or none of the product's categories is visible to the connection's group", body = RestError),
        (status = 413, description = "body over 1 MiB", body = RestError),
        (status = 415, description = "not application/json", body = RestError),
        (status = 422, description = "invalid product (or another uuid, or an identifier another product has); `errors` lists each problem", body = RestError),
        (status = 429, description = "the connection's rate limit; see Retry-After", body = RestError)))]
pub async fn patch_product_uuid(
    State(svc): State<AppState>,
    Extension(caller): Extension<Arc<ApiCaller>>,
    Extension(snapshot): Extension<Arc<CatalogSnapshot>>,
    LinkBase(base): LinkBase,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
    body: Body,
) -> Response {
    let uuid = match uuid_of(path) {
        Ok(u) => u,
        Err(f) => return f.into_response(),
    };
    let mut value = match json_body(&headers, body).await {
        Ok(v) => v,
        Err(resp) => return resp,
    };
    let identifier = match name_by_uuid(&svc, &uuid, &mut value).await {
        Ok(id) => id,
        Err(f) => return f.into_response(),
    };
    upsert(
        Api::Uuid,
        &svc,
        &caller,
        &snapshot,
        &base,
        &identifier,
        value,
    )
    .await
}

/// A UUID batch's lines, each named for the write: a line with a `uuid`
/// gets the identifier of the product that has it (or keeps its own, or
/// takes the uuid, for a new one), as [`name_by_uuid`] does; lines that are
/// not JSON objects, or have no uuid, go as they are (the write answers
/// them). Line numbers are kept.
async fn named_by_uuid(svc: &AppState, body: &[u8]) -> Result<axum::body::Bytes, RestFailure> {
    let mut out = Vec::with_capacity(body.len() + 64);
    for (i, line) in body.split(|b| *b == b'\n').enumerate() {
        if i > 0 {
            out.push(b'\n');
        }
        let parsed = serde_json::from_slice::<serde_json::Value>(line).ok();
        let uuid = parsed
            .as_ref()
            .and_then(|v| v.get("uuid"))
            .and_then(serde_json::Value::as_str)
            .and_then(|u| uuid::Uuid::parse_str(u).ok())
            .map(|u| u.hyphenated().to_string());
        match (parsed, uuid) {
            (Some(mut value), Some(uuid)) => {
                let identifier = name_by_uuid(svc, &uuid, &mut value).await?;
                if let serde_json::Value::Object(map) = &mut value
                    && map.get("identifier").is_none_or(serde_json::Value::is_null)
                {
                    map.insert("identifier".into(), identifier.into());
                }
                out.extend_from_slice(value.to_string().as_bytes());
            }
            _ => out.extend_from_slice(line),
        }
    }
    Ok(out.into())
}

/// The UUID in a path, canonical; one that is not a UUID names nothing.
fn uuid_of(path: Result<Path<String>, PathRejection>) -> Result<String, RestFailure> {
    let raw = identifier_of(path)?;
    uuid::Uuid::parse_str(&raw)
        .map(|u| u.hyphenated().to_string())
        .map_err(|_| not_found(&raw.escape_debug().to_string()))
}

/// The identifier an upsert by UUID writes to: the product that has the
/// UUID; else the body's identifier, else the UUID itself (a new product).
/// The body is given the UUID, so the write checks it.
async fn name_by_uuid(
    svc: &AppState,
    uuid: &str,
    value: &mut serde_json::Value,
) -> Result<String, RestFailure> {
    let existing = svc.product_identifier(uuid).await?;
    let serde_json::Value::Object(map) = value else {
        // Not an object: the write refuses it, naming the body.
        return Ok(existing.unwrap_or_else(|| uuid.to_string()));
    };
    if let Some(given) = map.get("uuid").and_then(serde_json::Value::as_str)
        && uuid::Uuid::parse_str(given).map(|u| u.hyphenated().to_string()) != Ok(uuid.to_string())
    {
        return Err(RestFailure::Unprocessable {
            message: format!(
                "The uuid \"{}\" provided in the request body must match the uuid \"{uuid}\" provided in the url.",
                given.chars().take(60).collect::<String>()
            ),
            errors: Vec::new(),
        });
    }
    map.insert("uuid".into(), uuid.into());
    let identifier = match (
        existing,
        map.get("identifier").and_then(serde_json::Value::as_str),
    ) {
        (Some(existing), _) => existing,
        (None, Some(given)) => given.to_string(),
        (None, None) => uuid.to_string(),
    };
    Ok(identifier)
}

async fn upsert(
    api: Api,
    svc: &AppState,
    caller: &ApiCaller,
    snapshot: &CatalogSnapshot,
    base: &str,
    identifier: &str,
    value: serde_json::Value,
) -> Response {
    match svc
        .upsert_product(caller, snapshot, identifier, value, api.naming())
        .await
    {
        Ok((created, identifier, uuid)) => {
            let (status, event) = if created {
                (StatusCode::CREATED, ApiEvent::Created)
            } else {
                (StatusCode::NO_CONTENT, ApiEvent::Updated)
            };
            let resp = with_location(
                status.into_response(),
                &api.item_url(base, &identifier, &uuid),
            );
            counted(resp, event, 1)
        }
        Err(f) => f.into_response(),
    }
}

#[utoipa::path(delete, path = "/api/rest/v1/products/{identifier}", tag = "web-api", security(("bearer" = [])),
    params(("identifier" = String, Path, description = "the product identifier")),
    responses(
        (status = 204, description = "deleted"),
        (status = 401, description = "missing, unknown, expired or revoked token", body = RestError),
        (status = 403, description = "the role lacks products.remove, or the group may only view the product", body = RestError),
        (status = 404, description = "no such product, or not visible to the connection's group", body = RestError),
        (status = 422, description = "it is the parent of other products (the message names them): give them another parent first", body = RestError),
        (status = 429, description = "the connection's rate limit; see Retry-After", body = RestError)))]
pub async fn delete_product(
    State(svc): State<AppState>,
    Extension(caller): Extension<Arc<ApiCaller>>,
    Extension(snapshot): Extension<Arc<CatalogSnapshot>>,
    path: Result<Path<String>, PathRejection>,
) -> Response {
    let identifier = match identifier_of(path) {
        Ok(id) => id,
        Err(f) => return f.into_response(),
    };
    match svc.delete_product(&caller, &snapshot, &identifier).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(f) => f.into_response(),
    }
}

#[utoipa::path(get, path = "/api/rest/v1/products-uuid/{uuid}", tag = "web-api", security(("bearer" = [])),
    params(("uuid" = String, Path, description = "the product's uuid"),
        ("attributes" = Option<String>, Query, description = "comma-separated attribute codes: only their values"),
        ("locales" = Option<String>, Query, description = "comma-separated locales: only values for them (and values that are not localisable)"),
        ("scope" = Option<String>, Query, description = "a channel: only values for it (and values that are not scopable)")),
    responses(
        (status = 200, description = "the product; categories the group cannot view are left out", body = crate::model::Product),
        (status = 401, description = "missing, unknown, expired or revoked token", body = RestError),
        (status = 403, description = "the role lacks api.access or products.list", body = RestError),
        (status = 404, description = "no product has this uuid, or none of its categories is visible to the connection's group", body = RestError),
        (status = 429, description = "the connection's rate limit; see Retry-After", body = RestError)))]
pub async fn get_product_uuid(
    State(svc): State<AppState>,
    Extension(caller): Extension<Arc<ApiCaller>>,
    Extension(snapshot): Extension<Arc<CatalogSnapshot>>,
    path: Result<Path<String>, PathRejection>,
    RawQuery(query): RawQuery,
) -> Response {
    let result = async {
        let uuid = uuid_of(path)?;
        let filter = read_request(query.as_deref())?;
        let identifier = svc
            .product_identifier(&uuid)
            .await?
            .ok_or_else(|| not_found(&uuid))?;
        svc.get_product(&caller, &snapshot, &identifier, &filter, Naming::Uuid)
            .await
            .map_err(|f| match f {
                RestFailure::NotFound(_) => not_found(&uuid),
                other => other,
            })
    }
    .await;
    match result {
        Ok(product) => counted(json_response(&product), ApiEvent::Read, 1),
        Err(f) => f.into_response(),
    }
}

#[utoipa::path(delete, path = "/api/rest/v1/products-uuid/{uuid}", tag = "web-api", security(("bearer" = [])),
    params(("uuid" = String, Path, description = "the product's uuid")),
    responses(
        (status = 204, description = "deleted"),
        (status = 401, description = "missing, unknown, expired or revoked token", body = RestError),
        (status = 403, description = "the role lacks products.remove, or the group may only view the product", body = RestError),
        (status = 404, description = "no product has this uuid, or it is not visible to the connection's group", body = RestError),
        (status = 422, description = "it is the parent of other products (the message names them): give them another parent first", body = RestError),
        (status = 429, description = "the connection's rate limit; see Retry-After", body = RestError)))]
pub async fn delete_product_uuid(
    State(svc): State<AppState>,
    Extension(caller): Extension<Arc<ApiCaller>>,
    Extension(snapshot): Extension<Arc<CatalogSnapshot>>,
    path: Result<Path<String>, PathRejection>,
) -> Response {
    let result = async {
        let uuid = uuid_of(path)?;
        let identifier = svc
            .product_identifier(&uuid)
            .await?
            .ok_or_else(|| not_found(&uuid))?;
        svc.delete_product(&caller, &snapshot, &identifier)
            .await
            .map_err(|f| match f {
                RestFailure::NotFound(_) => not_found(&uuid),
                other => other,
            })
    }
    .await;
    match result {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(f) => f.into_response(),
    }
}

#[utoipa::path(patch, path = "/api/rest/v1/products-uuid", tag = "web-api", security(("bearer" = [])),
    request_body(content = String, content_type = "application/vnd.akeneo.collection+json", description = "one JSON product per line (at most 100), each upserted as `PATCH /api/rest/v1/products-uuid/{uuid}` would (by its `uuid`; without one, by its `identifier`), on its own: a bad line fails alone"),
    responses(
        (status = 200, description = "one JSON line per product, in order: `{\"line\":N,\"uuid\":…,\"identifier\":…,\"status_code\":201|204|4xx,\"message\":…,\"errors\":[…]}`", content_type = "application/vnd.akeneo.collection+json", body = crate::service::products::BatchLine),
        (status = 400, description = "the body cannot be read", body = RestError),
        (status = 401, description = "missing, unknown, expired or revoked token", body = RestError),
        (status = 403, description = "the role lacks products.edit", body = RestError),
        (status = 413, description = "more than 100 products, or a body over 16 MiB", body = RestError),
        (status = 415, description = "not application/vnd.akeneo.collection+json", body = RestError),
        (status = 429, description = "the connection's rate limit; see Retry-After", body = RestError)))]
pub async fn patch_products_uuid(
    State(svc): State<AppState>,
    Extension(caller): Extension<Arc<ApiCaller>>,
    Extension(snapshot): Extension<Arc<CatalogSnapshot>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    batch(Api::Uuid, svc, caller, snapshot, headers, body).await
}

/// A method the products routes do not serve.
pub async fn method_not_allowed(req: Request) -> Response {
    rest_error(
        StatusCode::METHOD_NOT_ALLOWED,
        format!(
            "No route found for '{} {}': Method Not Allowed",
            req.method(),
            req.uri().path()
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r22_list_parameters_are_checked() {
        assert_eq!(list_request(None).unwrap().limit, 10);
        for bad in [
            "limit=0",
            "limit=101",
            "limit=abc",
            "page=0",
            "with_count=yes",
            "search_locale=en%0AUS",
            "search_scope=%09",
        ] {
            assert!(
                matches!(list_request(Some(bad)), Err(RestFailure::BadRequest(_))),
                "{bad}"
            );
        }
        let r = list_request(Some(
            "limit=100&page=3&search=%7B%22a%22%7D&locales=en_US&pagination_type=search_after",
        ))
        .unwrap();
        assert_eq!((r.limit, r.page), (100, 3));
        assert_eq!(r.search.as_deref(), Some("{\"a\"}"));
        assert_eq!(r.search_after, Some(None));
        let d = list_request(Some("search_locale=en_US&search_scope=+ecommerce+"))
            .unwrap()
            .search_defaults;
        assert_eq!(d.locale.as_deref(), Some("en_US"));
        assert_eq!(d.scope.as_deref(), Some("ecommerce"));
        assert_eq!(
            list_request(Some("search_locale="))
                .unwrap()
                .search_defaults,
            Default::default()
        );
    }

    #[test]
    fn links_are_absolute_and_encode_the_search() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("evil.example"));
        h.insert("x-forwarded-host", HeaderValue::from_static("evil.example"));
        let links = Links::new(Some("http://pim.example:8080/".into()), Vec::new());
        let peer = Some(std::net::IpAddr::from([127, 0, 0, 1]));
        // Neither Host nor a forwarded header from an untrusted peer counts.
        let base = links.base(peer, &h);
        assert_eq!(base, "http://pim.example:8080");
        // From a trusted proxy, the forwarded host and scheme do.
        h.insert("x-forwarded-proto", HeaderValue::from_static("https"));
        let proxied = Links::new(
            Some("http://pim.example:8080".into()),
            vec!["127.0.0.0/8".parse().unwrap()],
        );
        assert_eq!(proxied.base(peer, &h), "https://evil.example");
        assert_eq!(
            proxied.base(Some(std::net::IpAddr::from([10, 0, 0, 1])), &h),
            "http://pim.example:8080"
        );
        let req = ListRequest {
            page: 2,
            limit: 5,
            search: Some("{\"x\":1}".into()),
            ..Default::default()
        };
        assert_eq!(
            list_link(Api::Identifier, &base, &req, Some(3), None).href,
            "http://pim.example:8080/api/rest/v1/products?page=3&with_count=false&pagination_type=page&limit=5&search=%7B%22x%22%3A1%7D"
        );
        assert_eq!(
            Api::Identifier.item_url(&base, "a b/c", "u"),
            "http://pim.example:8080/api/rest/v1/products/a%20b%2Fc"
        );
        assert_eq!(
            Api::Uuid.item_url(&base, "a b/c", "0b8e8f5e-2a51-4f47-9a5e-6a3c7d1e2f40"),
            "http://pim.example:8080/api/rest/v1/products-uuid/0b8e8f5e-2a51-4f47-9a5e-6a3c7d1e2f40"
        );
    }
}
