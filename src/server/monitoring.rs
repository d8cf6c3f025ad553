//! R23 over HTTP: the layer that counts every Web API call once the bearer
//! check has named its connection, and the admin endpoints that serve the
//! counts.

use axum::Json;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::{AppState, Authenticated, CodePath};
use crate::model::{ApiError, ConnectionMonitoring, Counted, MonitoringOverview};
use crate::service::ServiceError;
use crate::service::oauth::ApiCaller;

/// Runs inside `require_bearer` on every `/api/rest/v1` route: after the
/// handler answers, counts the [`Counted`] it put in the response's
/// extensions and the status (4xx business error, 5xx technical error).
/// Requests refused by the bearer check never get here, so a 401 is not
/// counted; nor is anything of an `other` connection.
pub async fn count_web_api_calls(
    State(svc): State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    let caller = req
        .extensions()
        .get::<ApiCaller>()
        .map(|c| (c.connection_id, c.flow_type));
    let response = next.run(req).await;
    if let Some(caller) = caller {
        svc.count_web_api_call(
            caller,
            response.extensions().get::<Counted>().copied(),
            response.status().as_u16(),
        );
    }
    response
}

#[utoipa::path(get, path = "/api/v1/connections/{code}/monitoring", tag = "monitoring", security(("session" = [])),
    params(("code" = String, Path, description = "the connection code")),
    responses(
        (status = 200, description = "the connection's Web API calls over the last 7 days (UTC), by day, oldest first, and their total (R23); `monitored: false` and no counts for an `other` connection. Calls answered before this request are in it.", body = ConnectionMonitoring),
        (status = 400, description = "bad input; the body names the field", body = ApiError),
        (status = 401, description = "no or expired session", body = ApiError),
        (status = 404, description = "no such connection (or not visible to this user, R18)", body = ApiError)))]
pub async fn connection_monitoring(
    State(svc): State<AppState>,
    Authenticated(actor): Authenticated,
    CodePath(code): CodePath,
) -> Result<Response, ServiceError> {
    Ok(Json(svc.connection_monitoring(&actor, &code).await?).into_response())
}

#[utoipa::path(get, path = "/api/v1/monitoring", tag = "monitoring", security(("session" = [])),
    responses(
        (status = 200, description = "every connection the user may see (R18), each with its last 7 days, and the monitored ones together by day and in total (R23)", body = MonitoringOverview),
        (status = 401, description = "no or expired session", body = ApiError)))]
pub async fn monitoring_overview(
    State(svc): State<AppState>,
    Authenticated(actor): Authenticated,
) -> Result<Response, ServiceError> {
    Ok(Json(svc.monitoring_overview(&actor).await?).into_response())
}
