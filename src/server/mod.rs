//! The HTTP API (axum): thin handlers that extract, call one service function
//! and map the error once.

mod extract;

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};

use crate::model::{AccountPatch, ApiError, ConnectionPatch, NewConnection};
use crate::service::{Actor, Service, ServiceError};
pub use extract::{ApiJson, CodePath, RequestSource};

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
            ServiceError::Internal { .. } => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        };
        let body = ApiError {
            code: code.to_string(),
            message: self.to_string(),
            field: self.field().map(str::to_string),
        };
        (status, Json(body)).into_response()
    }
}

/// The acting user of a request.
pub struct Authenticated(pub Actor);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Authenticated {
    type Rejection = ServiceError;

    async fn from_request_parts(
        parts: &mut http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        match parts.extensions.get::<LocalIdentity>() {
            Some(LocalIdentity(actor)) => Ok(Authenticated(actor.clone())),
            None => Err(ServiceError::Unauthenticated {
                message: "authentication required".to_string(),
            }),
        }
    }
}

fn no_store<T: IntoResponse>(status: StatusCode, body: T) -> Response {
    let mut resp = (status, body).into_response();
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// The whole API.
pub fn router(service: AppState) -> Router {
    let api = Router::new()
        .route("/me", get(me))
        .route("/account", get(get_account).patch(patch_account))
        .route("/visuals", get(visuals))
        .route("/demo", axum::routing::post(load_demo))
        .route(
            "/connections",
            get(list_connections).post(create_connection),
        )
        .route(
            "/connections/{code}",
            get(get_connection)
                .patch(update_connection)
                .delete(delete_connection),
        )
        .route("/connections/{code}/audit", get(connection_audit));
    Router::new()
        .nest("/api/v1", api)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(service)
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

async fn me(State(svc): State<AppState>, Authenticated(actor): Authenticated) -> Response {
    Json(svc.me(&actor)).into_response()
}

async fn get_account(
    State(svc): State<AppState>,
    Authenticated(actor): Authenticated,
) -> Result<Response, ServiceError> {
    Ok(Json(svc.quota(&actor).await?).into_response())
}

async fn patch_account(
    State(svc): State<AppState>,
    Authenticated(actor): Authenticated,
    RequestSource(source): RequestSource,
    ApiJson(patch): ApiJson<AccountPatch>,
) -> Result<Response, ServiceError> {
    Ok(Json(svc.update_account(&actor, source, patch).await?).into_response())
}

async fn visuals(State(svc): State<AppState>, Authenticated(_): Authenticated) -> Response {
    Json(svc.visuals()).into_response()
}

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

async fn list_connections(
    State(svc): State<AppState>,
    Authenticated(actor): Authenticated,
    RawQuery(query): RawQuery,
) -> Result<Response, ServiceError> {
    let mut offset = 0u64;
    let mut limit = None;
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
            other => {
                return Err(ServiceError::invalid(
                    other.to_string(),
                    format!("unknown query parameter {other:?}; use offset and limit"),
                ));
            }
        }
    }
    Ok(Json(svc.list_connections(&actor, offset, limit).await?).into_response())
}

async fn create_connection(
    State(svc): State<AppState>,
    Authenticated(actor): Authenticated,
    RequestSource(source): RequestSource,
    ApiJson(new): ApiJson<NewConnection>,
) -> Result<Response, ServiceError> {
    let created = svc.create_connection(&actor, source, new).await?;
    Ok(no_store(StatusCode::CREATED, Json(created)))
}

async fn get_connection(
    State(svc): State<AppState>,
    Authenticated(actor): Authenticated,
    CodePath(code): CodePath,
) -> Result<Response, ServiceError> {
    Ok(Json(svc.get_connection(&actor, &code).await?).into_response())
}

async fn update_connection(
    State(svc): State<AppState>,
    Authenticated(actor): Authenticated,
    RequestSource(source): RequestSource,
    CodePath(code): CodePath,
    ApiJson(patch): ApiJson<ConnectionPatch>,
) -> Result<Response, ServiceError> {
    Ok(Json(svc.update_connection(&actor, source, &code, patch).await?).into_response())
}

async fn delete_connection(
    State(svc): State<AppState>,
    Authenticated(actor): Authenticated,
    RequestSource(source): RequestSource,
    CodePath(code): CodePath,
) -> Result<Response, ServiceError> {
    svc.delete_connection(&actor, source, &code).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn connection_audit(
    State(svc): State<AppState>,
    Authenticated(actor): Authenticated,
    CodePath(code): CodePath,
) -> Result<Response, ServiceError> {
    Ok(Json(svc.connection_audit(&actor, &code).await?).into_response())
}
