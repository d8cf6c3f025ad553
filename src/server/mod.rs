//! The HTTP API (axum): thin handlers that extract, call one service function
//! and map the error once.

mod catalog;
mod extract;
pub mod metrics;
pub mod monitoring;
pub mod oauth;
pub mod openapi;
pub mod products;
pub mod serve;

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouter};
use utoipa_axum::routes;

use crate::model::{
    AccessGrant, Flow, FlowInput, FlowSaved, Integration, IntegrationPatch, MemberAccess,
    NewIntegration, RegisterConnections, Registered, ReplaceConnection, Replaced, UsedBy,
};
use crate::model::{
    AccountPatch, ApiError, AuditRecord, Connection, ConnectionPage, ConnectionPatch,
    CreatedConnection, CredentialsInfo, DemoLoaded, Login, Me, NewConnection, NewUser,
    PasswordChange, Quota, RegeneratedPassword, RegeneratedSecret, RevealedSecret, SessionToken,
    TestResult, User, UserWithPassword, Visual,
};
use crate::service::{Actor, ListFilter, Service, ServiceError};
pub use extract::{ApiJson, CodePath, RequestSource, TwoSegments, UserPath};

/// The identity the in-process transport attaches to every request: the local
/// owner of an embedded store. Extensions cannot come from the wire, so an
/// HTTP request can never carry it.
#[derive(Debug, Clone)]
pub struct LocalIdentity(pub Actor);

/// The header a client uses to say where a change comes from (R28).
pub const SOURCE_HEADER: &str = "x-switchboard-source";

pub type AppState = Arc<Service>;

impl IntoResponse for ServiceError {
    fn into_response(self) -> Response {
        let (status, code) = match &self {
            ServiceError::Invalid { .. } => (StatusCode::BAD_REQUEST, "invalid"),
            ServiceError::NotFound { .. } => (StatusCode::NOT_FOUND, "not_found"),
            ServiceError::Conflict { .. } => (StatusCode::CONFLICT, "conflict"),
            ServiceError::QuotaReached { .. } => (StatusCode::CONFLICT, "quota_reached"),
            ServiceError::Forbidden { .. } => (StatusCode::FORBIDDEN, "forbidden"),
            ServiceError::Unauthenticated { .. } => (StatusCode::UNAUTHORIZED, "unauthenticated"),
            ServiceError::TooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, "too_large"),
            ServiceError::Stale { .. } => (StatusCode::CONFLICT, "stale"),
            ServiceError::TooManyRequests { .. } => {
                (StatusCode::TOO_MANY_REQUESTS, "too_many_requests")
            }
            ServiceError::Unavailable { .. } => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            ServiceError::Internal { .. } => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        };
        let body = ApiError {
            code: code.to_string(),
            message: self.to_string(),
            field: self.field().map(str::to_string),
        };
        let mut resp = (status, Json(body)).into_response();
        match &self {
            ServiceError::TooManyRequests {
                retry_after_secs, ..
            } => {
                resp.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
            }
            ServiceError::Unauthenticated { .. } => {
                resp.headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            ServiceError::Unavailable { .. } => {
                resp.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(1));
            }
            _ => {}
        }
        resp
    }
}

/// The bearer token of a request, if it has one.
fn bearer(parts: &http::request::Parts) -> Option<&str> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// The acting user of a request: the local owner (in process) or the user
/// of the session whose token the request bears.
pub struct Authenticated(pub Actor);

impl axum::extract::FromRequestParts<AppState> for Authenticated {
    type Rejection = ServiceError;

    async fn from_request_parts(
        parts: &mut http::request::Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if let Some(LocalIdentity(actor)) = parts.extensions.get::<LocalIdentity>() {
            return Ok(Authenticated(actor.clone()));
        }
        match bearer(parts) {
            Some(token) => state.authenticate(token).await.map(Authenticated),
            None => Err(ServiceError::Unauthenticated {
                message: "log in first (POST /api/v1/session), then send the session token as `Authorization: Bearer <token>`"
                    .to_string(),
            }),
        }
    }
}

/// The peer address, when served over a socket.
fn peer(parts: &http::request::Parts) -> Option<std::net::IpAddr> {
    parts
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip())
}

/// The peer's address (None in process).
pub struct PeerAddr(pub Option<std::net::IpAddr>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for PeerAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(PeerAddr(peer(parts)))
    }
}

/// The bearer token, if the request has one.
pub struct BearerToken(pub Option<String>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for BearerToken {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(BearerToken(bearer(parts).map(str::to_string)))
    }
}

/// Largest request body accepted.
pub const BODY_LIMIT: usize = 1024 * 1024;

fn no_store<T: IntoResponse>(status: StatusCode, body: T) -> Response {
    let mut resp = (status, body).into_response();
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp.headers_mut()
        .insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    resp
}

/// The admin API, the token endpoints and the probes: every route comes
/// from its handler's `#[utoipa::path]`, so what is routed is what
/// `/api/openapi.json` describes (the path is written once, in the
/// annotation).
fn documented_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(openapi::base())
        .routes(routes!(healthz))
        .routes(routes!(readyz))
        .routes(routes!(openapi::serve_spec))
        .routes(routes!(oauth::token))
        .routes(routes!(oauth::revoke))
        .routes(routes!(me))
        .routes(routes!(get_account, patch_account))
        .routes(routes!(visuals))
        .routes(routes!(load_demo))
        .routes(routes!(list_connections, create_connection))
        .routes(routes!(
            get_connection,
            update_connection,
            delete_connection
        ))
        .routes(routes!(connection_audit))
        .routes(routes!(connection_credentials))
        .routes(routes!(reveal_secret))
        .routes(routes!(regenerate_secret))
        .routes(routes!(regenerate_password))
        .routes(routes!(connection_used_by))
        .routes(routes!(test_connection))
        .routes(routes!(monitoring::connection_monitoring))
        .routes(routes!(monitoring::monitoring_overview))
        .routes(routes!(replace_connection))
        .routes(routes!(list_integrations, create_integration))
        .routes(routes!(
            get_integration,
            rename_integration,
            delete_integration
        ))
        .routes(routes!(register_connections))
        .routes(routes!(deregister_connection))
        .routes(routes!(integration_access))
        .routes(routes!(set_integration_access))
        .routes(routes!(catalog::list_roles, catalog::create_role))
        .routes(routes!(
            catalog::get_role,
            catalog::update_role,
            catalog::delete_role
        ))
        .routes(routes!(catalog::list_groups, catalog::create_group))
        .routes(routes!(
            catalog::get_group,
            catalog::update_group,
            catalog::delete_group
        ))
        .routes(routes!(catalog::list_categories, catalog::create_category))
        .routes(routes!(
            catalog::get_category,
            catalog::update_category,
            catalog::delete_category
        ))
        .routes(routes!(list_flows))
        .routes(routes!(get_flow, save_flow, delete_flow))
        .routes(routes!(login, logout))
        .routes(routes!(list_users, create_user))
        .routes(routes!(remove_user))
        .routes(routes!(set_password))
}

/// The connections' Web API, from the handlers' annotations as above. A
/// products route answers a method it does not serve in the PIM's words.
fn web_api_routes() -> OpenApiRouter<AppState> {
    let pim_405 = |(schemas, paths, method): UtoipaMethodRouter<AppState>| {
        (
            schemas,
            paths,
            method.fallback(products::method_not_allowed),
        )
    };
    OpenApiRouter::new()
        .routes(routes!(oauth::rest_root))
        .routes(pim_405(routes!(
            products::list_products,
            products::create_product,
            products::patch_products
        )))
        .routes(pim_405(routes!(
            products::get_product,
            products::patch_product,
            products::delete_product
        )))
        // The PIM's current API: the same products, named by UUID.
        .routes(pim_405(routes!(
            products::list_products_uuid,
            products::create_product_uuid,
            products::patch_products_uuid
        )))
        .routes(pim_405(routes!(
            products::get_product_uuid,
            products::patch_product_uuid,
            products::delete_product_uuid
        )))
}

/// The API's description: the one [`router`] serves, built from the same
/// route lists.
pub fn spec() -> utoipa::openapi::OpenApi {
    let mut doc = documented_routes().into_openapi();
    doc.merge(web_api_routes().into_openapi());
    openapi::finish(doc)
}

/// The whole API.
pub fn router(service: AppState) -> Router {
    // The route lists also build their description (schemas and all):
    // done once per process, not for every router (each embedded client,
    // each test server).
    static ROUTES: std::sync::OnceLock<(Router<AppState>, Router<AppState>)> =
        std::sync::OnceLock::new();
    let (routes, web_api) = ROUTES
        .get_or_init(|| {
            (
                documented_routes().split_for_parts().0,
                web_api_routes().split_for_parts().0,
            )
        })
        .clone();
    let rest_any = format!("{}/{{*rest}}", crate::REST_ROOT);
    // One layer: the bearer check (401), then the connection's rate limit
    // (429) and overall access (403), and the monitoring count (R23).
    let web_api = web_api_layers(
        web_api.route(&rest_any, axum::routing::any(oauth::rest_not_found)),
        &service,
    );
    routes
        .merge(web_api)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(service)
}

/// Puts Web API routes behind the one layer every one of them runs behind:
/// the bearer check (R22, 401 before anything else), the connection's rate
/// limit (429) and overall access (403, R10), and the monitoring count
/// (R23) of whatever the connection got, refusals included. Routes added to
/// `routes` before this call get it.
pub fn web_api_layers(routes: Router<AppState>, service: &AppState) -> Router<AppState> {
    routes.route_layer(axum::middleware::from_fn_with_state(
        service.clone(),
        oauth::require_bearer,
    ))
}

/// What the probes answer when all is well.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Probe {
    /// `ok` (liveness) or `ready` (readiness).
    pub status: &'static str,
}

/// Liveness, for load balancers and orchestrators: the process answers.
/// No authentication, no database.
#[utoipa::path(get, path = "/healthz", tag = "probes", responses((status = 200, description = "the process answers (no database involved)", body = Probe)))]
async fn healthz() -> Response {
    Json(Probe { status: "ok" }).into_response()
}

/// Readiness: the database answers and its migrations are the ones this
/// build expects; 503 with the reason otherwise. No authentication.
#[utoipa::path(get, path = "/readyz", tag = "probes", responses((status = 200, description = "the database answers and holds this build's migrations", body = Probe), (status = 503, description = "not ready; the message says why", body = ApiError)))]
async fn readyz(axum::extract::State(service): axum::extract::State<AppState>) -> Response {
    let ready = service.store().ready().await;
    match ready {
        Ok(()) => Json(Probe { status: "ready" }).into_response(),
        Err(message) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(ApiError {
                code: "not_ready".to_string(),
                message,
                field: None,
            }),
        )
            .into_response(),
    }
}

async fn not_found() -> Response {
    ServiceError::NotFound {
        message: "no such endpoint".to_string(),
    }
    .into_response()
}

async fn method_not_allowed() -> Response {
    let body = ApiError {
        code: "method_not_allowed".to_string(),
        message: "this endpoint does not accept that method".to_string(),
        field: None,
    };
    (StatusCode::METHOD_NOT_ALLOWED, Json(body)).into_response()
}

#[utoipa::path(get, path = "/api/v1/me", tag = "account", security(("session" = [])), responses((status = 200, description = "the acting user", body = Me), (status = 401, description = "no or expired session", body = ApiError)))]
async fn me(State(svc): State<AppState>, Authenticated(actor): Authenticated) -> Response {
    Json(svc.me(&actor)).into_response()
}

#[utoipa::path(get, path = "/api/v1/account", tag = "account", security(("session" = [])), responses((status = 200, description = "connection count and limit", body = Quota), (status = 401, description = "no or expired session", body = ApiError)))]
async fn get_account(
    State(svc): State<AppState>,
    Authenticated(actor): Authenticated,
) -> Result<Response, ServiceError> {
    Ok(Json(svc.quota(&actor).await?).into_response())
}

#[utoipa::path(patch, path = "/api/v1/account", tag = "account", security(("session" = [])), request_body = AccountPatch, responses((status = 200, description = "the new limit", body = Quota), (status = 400, description = "bad input; the body names the field", body = ApiError), (status = 401, description = "no or expired session", body = ApiError), (status = 403, description = "not allowed for this user", body = ApiError), (status = 413, description = "body over 1 MiB", body = ApiError)))]
async fn patch_account(
    State(svc): State<AppState>,
    Authenticated(actor): Authenticated,
    RequestSource(source): RequestSource,
    ApiJson(patch): ApiJson<AccountPatch>,
) -> Result<Response, ServiceError> {
    Ok(Json(svc.update_account(&actor, source, patch).await?).into_response())
}

#[utoipa::path(get, path = "/api/v1/visuals", tag = "connections", security(("session" = [])), responses((status = 200, description = "the bundled logos", body = [Visual]), (status = 401, description = "no or expired session", body = ApiError)))]
async fn visuals(State(svc): State<AppState>, Authenticated(_actor): Authenticated) -> Response {
    Json(svc.visuals()).into_response()
}

#[utoipa::path(post, path = "/api/v1/demo", tag = "connections", security(("session" = [])), responses((status = 201, description = "the demo workspace was loaded", body = DemoLoaded), (status = 401, description = "no or expired session", body = ApiError), (status = 403, description = "not allowed for this user", body = ApiError), (status = 409, description = "conflict (taken, quota reached, or changed by someone else)", body = ApiError)))]
async fn load_demo(
    State(svc): State<AppState>,
    Authenticated(actor): Authenticated,
    RequestSource(source): RequestSource,
) -> Result<Response, ServiceError> {
    Ok((
        StatusCode::CREATED,
        Json(svc.load_demo(&actor, source).await?),
    )
        .into_response())
}

#[utoipa::path(get, path = "/api/v1/connections", tag = "connections", security(("session" = [])), params(("offset" = Option<u64>, Query, description = "rows to skip"), ("limit" = Option<u64>, Query, description = "rows to return (all when absent)"), ("stale" = Option<bool>, Query, description = "true: only stale connections (R16b: no flow step, no Web API activity for 30 days)"), ("offline" = Option<bool>, Query, description = "true: only offline connections (R27: the last test of the application failed)")), responses((status = 200, description = "a page of connections in list order", body = ConnectionPage), (status = 400, description = "bad input; the body names the field", body = ApiError), (status = 401, description = "no or expired session", body = ApiError)))]
async fn list_connections(
    State(svc): State<AppState>,
    Authenticated(actor): Authenticated,
    RawQuery(query): RawQuery,
) -> Result<Response, ServiceError> {
    let mut offset = 0u64;
    let mut limit = None;
    let mut filter = ListFilter::default();
    for pair in query
        .as_deref()
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
    {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let number = || {
            value.parse::<u64>().map_err(|_| {
                ServiceError::invalid(
                    key,
                    format!("{key} must be a whole number ≥ 0, not {value:?}"),
                )
            })
        };
        match key {
            "offset" => offset = number()?,
            "limit" => limit = Some(number()?),
            "stale" | "offline" => {
                let on = match value {
                    "true" => true,
                    "false" => false,
                    _ => {
                        return Err(ServiceError::invalid(
                            key,
                            format!("{key} must be true or false, not {value:?}"),
                        ));
                    }
                };
                if key == "stale" {
                    filter.stale = on;
                } else {
                    filter.offline = on;
                }
            }
            other => {
                return Err(ServiceError::invalid(
                    other.to_string(),
                    format!(
                        "unknown query parameter {other:?}; use offset, limit, stale and offline"
                    ),
                ));
            }
        }
    }
    Ok(Json(
        svc.list_connections_where(&actor, offset, limit, filter)
            .await?,
    )
    .into_response())
}

#[utoipa::path(post, path = "/api/v1/connections", tag = "connections", security(("session" = [])), request_body = NewConnection, responses((status = 201, description = "created; the password is in this answer only", body = CreatedConnection), (status = 400, description = "bad input; the body names the field", body = ApiError), (status = 401, description = "no or expired session", body = ApiError), (status = 403, description = "not allowed for this user", body = ApiError), (status = 404, description = "the integration named does not exist (or is not visible to this user)", body = ApiError), (status = 409, description = "conflict (taken, quota reached, or changed by someone else)", body = ApiError), (status = 413, description = "body over 1 MiB", body = ApiError)))]
async fn create_connection(
    State(svc): State<AppState>,
    Authenticated(actor): Authenticated,
    RequestSource(source): RequestSource,
    ApiJson(new): ApiJson<NewConnection>,
) -> Result<Response, ServiceError> {
    let created = svc.create_connection(&actor, source, new).await?;
    Ok(no_store(StatusCode::CREATED, Json(created)))
}

#[utoipa::path(get, path = "/api/v1/connections/{code}", tag = "connections", security(("session" = [])), params(("code" = String, Path, description = "the connection code")), responses((status = 200, description = "the connection", body = Connection), (status = 400, description = "bad input; the body names the field", body = ApiError), (status = 401, description = "no or expired session", body = ApiError), (status = 404, description = "no such record", body = ApiError)))]
async fn get_connection(
    State(svc): State<AppState>,
    Authenticated(actor): Authenticated,
    CodePath(code): CodePath,
) -> Result<Response, ServiceError> {
    Ok(Json(svc.get_connection(&actor, &code).await?).into_response())
}

#[utoipa::path(patch, path = "/api/v1/connections/{code}", tag = "connections", security(("session" = [])), params(("code" = String, Path, description = "the connection code")), request_body = ConnectionPatch, responses((status = 200, description = "the changed connection", body = Connection), (status = 400, description = "bad input; the body names the field", body = ApiError), (status = 401, description = "no or expired session", body = ApiError), (status = 403, description = "not allowed for this user", body = ApiError), (status = 404, description = "no such record", body = ApiError), (status = 409, description = "conflict (taken, quota reached, or changed by someone else)", body = ApiError), (status = 413, description = "body over 1 MiB", body = ApiError)))]
async fn update_connection(
    State(svc): State<AppState>,
    Authenticated(actor): Authenticated,
    RequestSource(source): RequestSource,
    CodePath(code): CodePath,
    ApiJson(patch): ApiJson<ConnectionPatch>,
) -> Result<Response, ServiceError> {
    Ok(Json(svc.update_connection(&actor, source, &code, patch).await?).into_response())
}

#[utoipa::path(delete, path = "/api/v1/connections/{code}", tag = "connections", security(("session" = [])), params(("code" = String, Path, description = "the connection code")), responses((status = 204, description = "deleted"), (status = 400, description = "bad input; the body names the field", body = ApiError), (status = 401, description = "no or expired session", body = ApiError), (status = 403, description = "not allowed for this user", body = ApiError), (status = 404, description = "no such record", body = ApiError), (status = 409, description = "flow steps use it (R8, R16); the message names them (GET …/used-by lists them)", body = ApiError)))]
async fn delete_connection(
    State(svc): State<AppState>,
    Authenticated(actor): Authenticated,
    RequestSource(source): RequestSource,
    CodePath(code): CodePath,
) -> Result<Response, ServiceError> {
    svc.delete_connection(&actor, source, &code).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[utoipa::path(get, path = "/api/v1/connections/{code}/audit", tag = "connections", security(("session" = [])), params(("code" = String, Path, description = "the connection code")), responses((status = 200, description = "the audit trail, newest first", body = [AuditRecord]), (status = 400, description = "bad input; the body names the field", body = ApiError), (status = 401, description = "no or expired session", body = ApiError), (status = 404, description = "no such record", body = ApiError)))]
async fn connection_audit(
    State(svc): State<AppState>,
    Authenticated(actor): Authenticated,
    CodePath(code): CodePath,
) -> Result<Response, ServiceError> {
    Ok(Json(svc.connection_audit(&actor, &code).await?).into_response())
}

#[utoipa::path(get, path = "/api/v1/connections/{code}/credentials", tag = "credentials", security(("session" = [])), params(("code" = String, Path, description = "the connection code")), responses((status = 200, description = "client id, username, live token counts, wrong-credentials warnings of the last 7 days; never a secret value", body = CredentialsInfo), (status = 400, description = "bad input; the body names the field", body = ApiError), (status = 401, description = "no or expired session", body = ApiError), (status = 404, description = "no such record", body = ApiError)))]
async fn connection_credentials(
    State(svc): State<AppState>,
    Authenticated(actor): Authenticated,
    CodePath(code): CodePath,
) -> Result<Response, ServiceError> {
    Ok(Json(svc.credentials_info(&actor, &code).await?).into_response())
}

#[utoipa::path(post, path = "/api/v1/connections/{code}/secret/reveal", tag = "credentials", security(("session" = [])), params(("code" = String, Path, description = "the connection code")), responses((status = 200, description = "the secret (R5); the reveal is recorded in the audit trail", body = RevealedSecret), (status = 400, description = "bad input; the body names the field", body = ApiError), (status = 401, description = "no or expired session", body = ApiError), (status = 403, description = "not allowed for this user", body = ApiError), (status = 404, description = "no such record", body = ApiError)))]
async fn reveal_secret(
    State(svc): State<AppState>,
    Authenticated(actor): Authenticated,
    RequestSource(source): RequestSource,
    CodePath(code): CodePath,
) -> Result<Response, ServiceError> {
    let revealed = svc.reveal_secret(&actor, source, &code).await?;
    Ok(no_store(StatusCode::OK, Json(revealed)))
}

#[utoipa::path(post, path = "/api/v1/connections/{code}/secret", tag = "credentials", security(("session" = [])), params(("code" = String, Path, description = "the connection code")), responses((status = 200, description = "a new secret (R6); the client id stays; every token of the connection was revoked", body = RegeneratedSecret), (status = 400, description = "bad input; the body names the field", body = ApiError), (status = 401, description = "no or expired session", body = ApiError), (status = 403, description = "not allowed for this user", body = ApiError), (status = 404, description = "no such record", body = ApiError)))]
async fn regenerate_secret(
    State(svc): State<AppState>,
    Authenticated(actor): Authenticated,
    RequestSource(source): RequestSource,
    CodePath(code): CodePath,
) -> Result<Response, ServiceError> {
    let done = svc.regenerate_secret(&actor, source, &code).await?;
    Ok(no_store(StatusCode::OK, Json(done)))
}

#[utoipa::path(post, path = "/api/v1/connections/{code}/password", tag = "credentials", security(("session" = [])), params(("code" = String, Path, description = "the connection code")), responses((status = 200, description = "a new password, in this answer only (R4, R7); every token of the connection was revoked", body = RegeneratedPassword), (status = 400, description = "bad input; the body names the field", body = ApiError), (status = 401, description = "no or expired session", body = ApiError), (status = 403, description = "not allowed for this user", body = ApiError), (status = 404, description = "no such record", body = ApiError)))]
async fn regenerate_password(
    State(svc): State<AppState>,
    Authenticated(actor): Authenticated,
    RequestSource(source): RequestSource,
    CodePath(code): CodePath,
) -> Result<Response, ServiceError> {
    let done = svc.regenerate_password(&actor, source, &code).await?;
    Ok(no_store(StatusCode::OK, Json(done)))
}

#[utoipa::path(post, path = "/api/v1/connections/{code}/test", tag = "connections", security(("session" = [])), params(("code" = String, Path, description = "the connection code")), responses((status = 200, description = "the application was called (R27): `ok` says whether it answered 2xx with the credentials; a failure marks the connection offline, a success clears it", body = TestResult), (status = 400, description = "bad input; the body names the field", body = ApiError), (status = 401, description = "no or expired session", body = ApiError), (status = 403, description = "not allowed for this user (R20)", body = ApiError), (status = 404, description = "no such record", body = ApiError), (status = 409, description = "the connection has no application side", body = ApiError)))]
async fn test_connection(
    State(svc): State<AppState>,
    Authenticated(actor): Authenticated,
    RequestSource(source): RequestSource,
    CodePath(code): CodePath,
) -> Result<Response, ServiceError> {
    let result = svc.test_connection(&actor, source, &code).await?;
    Ok(no_store(StatusCode::OK, Json(result)))
}

#[utoipa::path(post, path = "/api/v1/session", tag = "session", request_body = Login, responses((status = 201, description = "a session token", body = SessionToken), (status = 400, description = "bad input; the body names the field", body = ApiError), (status = 401, description = "wrong username or password", body = ApiError), (status = 413, description = "body over 1 MiB", body = ApiError), (status = 429, description = "too many failed logins; see Retry-After", body = ApiError)))]
async fn login(
    State(svc): State<AppState>,
    PeerAddr(addr): PeerAddr,
    ApiJson(login): ApiJson<Login>,
) -> Result<Response, ServiceError> {
    let session = svc.login(login, addr).await?;
    Ok(no_store(StatusCode::CREATED, Json(session)))
}

#[utoipa::path(delete, path = "/api/v1/session", tag = "session", security(("session" = [])), responses((status = 204, description = "the session ended; a token that is unknown or expired has nothing left to end and gets 204 too"), (status = 401, description = "the request bears no token", body = ApiError)))]
async fn logout(
    State(svc): State<AppState>,
    BearerToken(token): BearerToken,
) -> Result<Response, ServiceError> {
    match token {
        Some(token) => {
            svc.logout(&token).await?;
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        None => Err(ServiceError::Unauthenticated {
            message: "no session to end: the request bears no token".to_string(),
        }),
    }
}

#[utoipa::path(get, path = "/api/v1/users", tag = "users", security(("session" = [])), responses((status = 200, description = "all users", body = [User]), (status = 401, description = "no or expired session", body = ApiError), (status = 403, description = "not allowed for this user", body = ApiError)))]
async fn list_users(
    State(svc): State<AppState>,
    Authenticated(actor): Authenticated,
) -> Result<Response, ServiceError> {
    Ok(Json(svc.list_users(&actor).await?).into_response())
}

#[utoipa::path(post, path = "/api/v1/users", tag = "users", security(("session" = [])), request_body = NewUser, responses((status = 201, description = "the user, with a generated password shown once", body = UserWithPassword), (status = 400, description = "bad input; the body names the field", body = ApiError), (status = 401, description = "no or expired session", body = ApiError), (status = 403, description = "not allowed for this user", body = ApiError), (status = 409, description = "conflict (taken, quota reached, or changed by someone else)", body = ApiError), (status = 413, description = "body over 1 MiB", body = ApiError)))]
async fn create_user(
    State(svc): State<AppState>,
    Authenticated(actor): Authenticated,
    RequestSource(source): RequestSource,
    ApiJson(new): ApiJson<NewUser>,
) -> Result<Response, ServiceError> {
    let created = svc.create_user(&actor, source, new).await?;
    Ok(no_store(StatusCode::CREATED, Json(created)))
}

#[utoipa::path(delete, path = "/api/v1/users/{username}", tag = "users", security(("session" = [])), params(("username" = String, Path, description = "the user name")), responses((status = 204, description = "removed; their sessions ended"), (status = 400, description = "bad input; the body names the field", body = ApiError), (status = 401, description = "no or expired session", body = ApiError), (status = 403, description = "not allowed for this user", body = ApiError), (status = 404, description = "no such record", body = ApiError), (status = 409, description = "conflict (taken, quota reached, or changed by someone else)", body = ApiError)))]
async fn remove_user(
    State(svc): State<AppState>,
    Authenticated(actor): Authenticated,
    RequestSource(source): RequestSource,
    UserPath(username): UserPath,
) -> Result<Response, ServiceError> {
    svc.remove_user(&actor, source, &username).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[utoipa::path(put, path = "/api/v1/users/{username}/password", tag = "users", security(("session" = [])), params(("username" = String, Path, description = "the user name")), request_body = PasswordChange, responses((status = 200, description = "set; the user's sessions ended", body = UserWithPassword), (status = 400, description = "bad input; the body names the field", body = ApiError), (status = 401, description = "no or expired session", body = ApiError), (status = 403, description = "not allowed for this user", body = ApiError), (status = 404, description = "no such record", body = ApiError), (status = 413, description = "body over 1 MiB", body = ApiError)))]
async fn set_password(
    State(svc): State<AppState>,
    Authenticated(actor): Authenticated,
    RequestSource(source): RequestSource,
    UserPath(username): UserPath,
    ApiJson(change): ApiJson<PasswordChange>,
) -> Result<Response, ServiceError> {
    let done = svc.set_password(&actor, source, &username, change).await?;
    Ok(no_store(StatusCode::OK, Json(done)))
}

#[utoipa::path(get, path = "/api/v1/connections/{code}/used-by", tag = "integrations", security(("session" = [])), params(("code" = String, Path, description = "the connection code")), responses((status = 200, description = "every flow step that uses the connection (R16)", body = [UsedBy]), (status = 400, description = "bad input; the body names the field", body = ApiError), (status = 401, description = "no or expired session", body = ApiError), (status = 404, description = "no such record", body = ApiError)))]
async fn connection_used_by(
    State(svc): State<AppState>,
    Authenticated(actor): Authenticated,
    CodePath(code): CodePath,
) -> Result<Response, ServiceError> {
    Ok(Json(svc.used_by(&actor, &code).await?).into_response())
}

#[utoipa::path(get, path = "/api/v1/integrations", tag = "integrations", security(("session" = [])), responses((status = 200, description = "the integrations the user may see, with their registrations", body = [Integration]), (status = 401, description = "no or expired session", body = ApiError)))]
async fn list_integrations(
    State(svc): State<AppState>,
    Authenticated(actor): Authenticated,
) -> Result<Response, ServiceError> {
    Ok(Json(svc.list_integrations(&actor).await?).into_response())
}

#[utoipa::path(post, path = "/api/v1/integrations", tag = "integrations", security(("session" = [])), request_body = NewIntegration, responses((status = 201, description = "created", body = Integration), (status = 400, description = "bad input; the body names the field", body = ApiError), (status = 401, description = "no or expired session", body = ApiError), (status = 403, description = "not allowed for this user", body = ApiError), (status = 409, description = "the code is taken", body = ApiError), (status = 413, description = "body over 1 MiB", body = ApiError)))]
async fn create_integration(
    State(svc): State<AppState>,
    Authenticated(actor): Authenticated,
    RequestSource(source): RequestSource,
    ApiJson(new): ApiJson<NewIntegration>,
) -> Result<Response, ServiceError> {
    let created = svc.create_integration(&actor, source, new).await?;
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

#[utoipa::path(get, path = "/api/v1/integrations/{code}", tag = "integrations", security(("session" = [])), params(("code" = String, Path, description = "the integration code")), responses((status = 200, description = "the integration", body = Integration), (status = 400, description = "bad input; the body names the field", body = ApiError), (status = 401, description = "no or expired session", body = ApiError), (status = 404, description = "no such record (or not visible to this user)", body = ApiError)))]
async fn get_integration(
    State(svc): State<AppState>,
    Authenticated(actor): Authenticated,
    CodePath(code): CodePath,
) -> Result<Response, ServiceError> {
    Ok(Json(svc.get_integration(&actor, &code).await?).into_response())
}

#[utoipa::path(patch, path = "/api/v1/integrations/{code}", tag = "integrations", security(("session" = [])), params(("code" = String, Path, description = "the integration code")), request_body = IntegrationPatch, responses((status = 200, description = "renamed", body = Integration), (status = 400, description = "bad input; the body names the field", body = ApiError), (status = 401, description = "no or expired session", body = ApiError), (status = 403, description = "monitor access only", body = ApiError), (status = 404, description = "no such record", body = ApiError), (status = 413, description = "body over 1 MiB", body = ApiError)))]
async fn rename_integration(
    State(svc): State<AppState>,
    Authenticated(actor): Authenticated,
    RequestSource(source): RequestSource,
    CodePath(code): CodePath,
    ApiJson(patch): ApiJson<IntegrationPatch>,
) -> Result<Response, ServiceError> {
    Ok(Json(svc.rename_integration(&actor, source, &code, patch).await?).into_response())
}

#[utoipa::path(delete, path = "/api/v1/integrations/{code}", tag = "integrations", security(("session" = [])), params(("code" = String, Path, description = "the integration code")), responses((status = 204, description = "deleted with its registrations and access grants"), (status = 400, description = "bad input; the body names the field", body = ApiError), (status = 401, description = "no or expired session", body = ApiError), (status = 403, description = "not allowed for this user", body = ApiError), (status = 404, description = "no such record", body = ApiError), (status = 409, description = "it still holds flows", body = ApiError)))]
async fn delete_integration(
    State(svc): State<AppState>,
    Authenticated(actor): Authenticated,
    RequestSource(source): RequestSource,
    CodePath(code): CodePath,
) -> Result<Response, ServiceError> {
    svc.delete_integration(&actor, source, &code).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[utoipa::path(post, path = "/api/v1/integrations/{code}/registrations", tag = "integrations", security(("session" = [])), params(("code" = String, Path, description = "the integration code")), request_body = RegisterConnections, responses((status = 200, description = "registered in one transaction (R12); `registered` lists what was new", body = Registered), (status = 400, description = "bad input; the body names the field", body = ApiError), (status = 401, description = "no or expired session", body = ApiError), (status = 403, description = "monitor access only", body = ApiError), (status = 404, description = "no such integration or connection", body = ApiError), (status = 409, description = "an integration app (R17)", body = ApiError), (status = 413, description = "body over 1 MiB", body = ApiError)))]
async fn register_connections(
    State(svc): State<AppState>,
    Authenticated(actor): Authenticated,
    RequestSource(source): RequestSource,
    CodePath(code): CodePath,
    ApiJson(body): ApiJson<RegisterConnections>,
) -> Result<Response, ServiceError> {
    Ok(Json(
        svc.register(&actor, source, &code, body.connections, body.deregister)
            .await?,
    )
    .into_response())
}

#[utoipa::path(delete, path = "/api/v1/integrations/{code}/registrations/{connection}", tag = "integrations", security(("session" = [])), params(("code" = String, Path, description = "the integration code"), ("connection" = String, Path, description = "the connection code")), responses((status = 200, description = "deregistered (R15): existing steps keep the connection", body = Integration), (status = 400, description = "bad input; the body names the field", body = ApiError), (status = 401, description = "no or expired session", body = ApiError), (status = 403, description = "monitor access only", body = ApiError), (status = 404, description = "not registered, or no such record", body = ApiError)))]
async fn deregister_connection(
    State(svc): State<AppState>,
    Authenticated(actor): Authenticated,
    RequestSource(source): RequestSource,
    TwoSegments(code, connection): TwoSegments,
) -> Result<Response, ServiceError> {
    Ok(Json(svc.deregister(&actor, source, &code, &connection).await?).into_response())
}

#[utoipa::path(get, path = "/api/v1/integrations/{code}/access", tag = "integrations", security(("session" = [])), params(("code" = String, Path, description = "the integration code")), responses((status = 200, description = "the members with access to it and their level (manage or monitor), by username", body = [MemberAccess]), (status = 401, description = "no or expired session", body = ApiError), (status = 403, description = "not an admin or the owner", body = ApiError), (status = 404, description = "no such integration", body = ApiError)))]
async fn integration_access(
    State(svc): State<AppState>,
    Authenticated(actor): Authenticated,
    CodePath(code): CodePath,
) -> Result<Response, ServiceError> {
    Ok(Json(svc.integration_access(&actor, &code).await?).into_response())
}

#[utoipa::path(put, path = "/api/v1/integrations/{code}/access/{username}", tag = "integrations", security(("session" = [])), params(("code" = String, Path, description = "the integration code"), ("username" = String, Path, description = "a member")), request_body = AccessGrant, responses((status = 204, description = "the member's access is set (or taken away with null)"), (status = 400, description = "bad input; the body names the field", body = ApiError), (status = 401, description = "no or expired session", body = ApiError), (status = 403, description = "not allowed for this user", body = ApiError), (status = 404, description = "no such integration or user", body = ApiError), (status = 413, description = "body over 1 MiB", body = ApiError)))]
async fn set_integration_access(
    State(svc): State<AppState>,
    Authenticated(actor): Authenticated,
    RequestSource(source): RequestSource,
    TwoSegments(code, username): TwoSegments,
    ApiJson(grant): ApiJson<AccessGrant>,
) -> Result<Response, ServiceError> {
    svc.set_access(&actor, source, &code, &username, grant)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[utoipa::path(get, path = "/api/v1/flows", tag = "integrations", security(("session" = [])), responses((status = 200, description = "the flows the user may see, with their steps", body = [Flow]), (status = 401, description = "no or expired session", body = ApiError)))]
async fn list_flows(
    State(svc): State<AppState>,
    Authenticated(actor): Authenticated,
) -> Result<Response, ServiceError> {
    Ok(Json(svc.list_flows(&actor).await?).into_response())
}

#[utoipa::path(get, path = "/api/v1/flows/{code}", tag = "integrations", security(("session" = [])), params(("code" = String, Path, description = "the flow code")), responses((status = 200, description = "the flow", body = Flow), (status = 400, description = "bad input; the body names the field", body = ApiError), (status = 401, description = "no or expired session", body = ApiError), (status = 404, description = "no such record", body = ApiError)))]
async fn get_flow(
    State(svc): State<AppState>,
    Authenticated(actor): Authenticated,
    CodePath(code): CodePath,
) -> Result<Response, ServiceError> {
    Ok(Json(svc.get_flow(&actor, &code).await?).into_response())
}

#[utoipa::path(put, path = "/api/v1/flows/{code}", tag = "integrations", security(("session" = [])), params(("code" = String, Path, description = "the flow code")), request_body = FlowInput, responses((status = 200, description = "saved; connections it registered (R14) and the reminder", body = FlowSaved), (status = 400, description = "bad input; the body names the field", body = ApiError), (status = 401, description = "no or expired session", body = ApiError), (status = 403, description = "not allowed for this user", body = ApiError), (status = 404, description = "no such integration or connection", body = ApiError), (status = 409, description = "a new step on a deregistered connection (R15), or a stale version", body = ApiError), (status = 413, description = "body over 1 MiB", body = ApiError)))]
async fn save_flow(
    State(svc): State<AppState>,
    Authenticated(actor): Authenticated,
    RequestSource(source): RequestSource,
    CodePath(code): CodePath,
    ApiJson(input): ApiJson<FlowInput>,
) -> Result<Response, ServiceError> {
    Ok(Json(svc.save_flow(&actor, source, &code, input).await?).into_response())
}

#[utoipa::path(delete, path = "/api/v1/flows/{code}", tag = "integrations", security(("session" = [])), params(("code" = String, Path, description = "the flow code")), responses((status = 204, description = "deleted with its steps"), (status = 400, description = "bad input; the body names the field", body = ApiError), (status = 401, description = "no or expired session", body = ApiError), (status = 403, description = "not allowed for this user", body = ApiError), (status = 404, description = "no such record", body = ApiError)))]
async fn delete_flow(
    State(svc): State<AppState>,
    Authenticated(actor): Authenticated,
    RequestSource(source): RequestSource,
    CodePath(code): CodePath,
) -> Result<Response, ServiceError> {
    svc.delete_flow(&actor, source, &code).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[utoipa::path(post, path = "/api/v1/connections/{code}/replace", tag = "integrations", security(("session" = [])), params(("code" = String, Path, description = "the connection to replace")), request_body = ReplaceConnection, responses((status = 200, description = "replaced in one transaction (R16a); the replacement is registered where its new flows need it", body = Replaced), (status = 400, description = "bad input; the body names the field", body = ApiError), (status = 401, description = "no or expired session", body = ApiError), (status = 403, description = "not allowed for this user", body = ApiError), (status = 404, description = "no such connection, or not used there", body = ApiError), (status = 409, description = "a connection cannot replace itself", body = ApiError), (status = 413, description = "body over 1 MiB", body = ApiError)))]
async fn replace_connection(
    State(svc): State<AppState>,
    Authenticated(actor): Authenticated,
    RequestSource(source): RequestSource,
    CodePath(code): CodePath,
    ApiJson(req): ApiJson<ReplaceConnection>,
) -> Result<Response, ServiceError> {
    Ok(Json(svc.replace_connection(&actor, source, &code, req).await?).into_response())
}
