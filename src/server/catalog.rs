//! HTTP for roles (R10), groups and categories (R11) under `/api/v1`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::{ApiJson, AppState, Authenticated, CodePath, RequestSource};
use crate::model::{
    ApiError, Category, CategoryPatch, Group, GroupPatch, NewCategory, NewGroup, NewRole, Role,
    RolePatch,
};
use crate::service::ServiceError;

#[utoipa::path(get, path = "/api/v1/roles", tag = "permissions", security(("session" = [])), responses((status = 200, description = "every role with the connections that have it (those the caller may see)", body = [Role]), (status = 401, description = "no or expired session", body = ApiError)))]
pub async fn list_roles(
    State(svc): State<AppState>,
    Authenticated(actor): Authenticated,
) -> Result<Response, ServiceError> {
    Ok(Json(svc.list_roles(&actor).await?).into_response())
}

#[utoipa::path(post, path = "/api/v1/roles", tag = "permissions", security(("session" = [])), request_body = NewRole, responses((status = 201, description = "created (audited)", body = Role), (status = 400, description = "bad input; the body names the field", body = ApiError), (status = 401, description = "no or expired session", body = ApiError), (status = 403, description = "only the owner or an admin may do this", body = ApiError), (status = 409, description = "the code is taken", body = ApiError), (status = 413, description = "body over 1 MiB", body = ApiError)))]
pub async fn create_role(
    State(svc): State<AppState>,
    Authenticated(actor): Authenticated,
    RequestSource(source): RequestSource,
    ApiJson(new): ApiJson<NewRole>,
) -> Result<Response, ServiceError> {
    let created = svc.create_role(&actor, source, new).await?;
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

#[utoipa::path(get, path = "/api/v1/roles/{code}", tag = "permissions", security(("session" = [])), params(("code" = String, Path, description = "the role code")), responses((status = 200, description = "the role", body = Role), (status = 400, description = "bad input; the body names the field", body = ApiError), (status = 401, description = "no or expired session", body = ApiError), (status = 404, description = "no such record", body = ApiError)))]
pub async fn get_role(
    State(svc): State<AppState>,
    Authenticated(actor): Authenticated,
    CodePath(code): CodePath,
) -> Result<Response, ServiceError> {
    Ok(Json(svc.get_role(&actor, &code).await?).into_response())
}

#[utoipa::path(patch, path = "/api/v1/roles/{code}", tag = "permissions", security(("session" = [])), params(("code" = String, Path, description = "the role code")), request_body = RolePatch, responses((status = 200, description = "changed (audited); connections with it see the change on their next Web API request", body = Role), (status = 400, description = "bad input; the body names the field", body = ApiError), (status = 401, description = "no or expired session", body = ApiError), (status = 403, description = "only the owner or an admin may do this", body = ApiError), (status = 404, description = "no such record", body = ApiError), (status = 409, description = "changed by someone else since the version named", body = ApiError), (status = 413, description = "body over 1 MiB", body = ApiError)))]
pub async fn update_role(
    State(svc): State<AppState>,
    Authenticated(actor): Authenticated,
    RequestSource(source): RequestSource,
    CodePath(code): CodePath,
    ApiJson(patch): ApiJson<RolePatch>,
) -> Result<Response, ServiceError> {
    Ok(Json(svc.update_role(&actor, source, &code, patch).await?).into_response())
}

#[utoipa::path(delete, path = "/api/v1/roles/{code}", tag = "permissions", security(("session" = [])), params(("code" = String, Path, description = "the role code")), responses((status = 204, description = "deleted (audited)"), (status = 400, description = "bad input; the body names the field", body = ApiError), (status = 401, description = "no or expired session", body = ApiError), (status = 403, description = "only the owner or an admin may do this", body = ApiError), (status = 404, description = "no such record", body = ApiError), (status = 409, description = "the default role, or connections have it (the message names them)", body = ApiError)))]
pub async fn delete_role(
    State(svc): State<AppState>,
    Authenticated(actor): Authenticated,
    RequestSource(source): RequestSource,
    CodePath(code): CodePath,
) -> Result<Response, ServiceError> {
    svc.delete_role(&actor, source, &code).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[utoipa::path(get, path = "/api/v1/groups", tag = "permissions", security(("session" = [])), responses((status = 200, description = "every group with the connections that have it (those the caller may see)", body = [Group]), (status = 401, description = "no or expired session", body = ApiError)))]
pub async fn list_groups(
    State(svc): State<AppState>,
    Authenticated(actor): Authenticated,
) -> Result<Response, ServiceError> {
    Ok(Json(svc.list_groups(&actor).await?).into_response())
}

#[utoipa::path(post, path = "/api/v1/groups", tag = "permissions", security(("session" = [])), request_body = NewGroup, responses((status = 201, description = "created (audited)", body = Group), (status = 400, description = "bad input; the body names the field", body = ApiError), (status = 401, description = "no or expired session", body = ApiError), (status = 403, description = "only the owner or an admin may do this", body = ApiError), (status = 409, description = "the code is taken", body = ApiError), (status = 413, description = "body over 1 MiB", body = ApiError)))]
pub async fn create_group(
    State(svc): State<AppState>,
    Authenticated(actor): Authenticated,
    RequestSource(source): RequestSource,
    ApiJson(new): ApiJson<NewGroup>,
) -> Result<Response, ServiceError> {
    let created = svc.create_group(&actor, source, new).await?;
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

#[utoipa::path(get, path = "/api/v1/groups/{code}", tag = "permissions", security(("session" = [])), params(("code" = String, Path, description = "the group code")), responses((status = 200, description = "the group", body = Group), (status = 400, description = "bad input; the body names the field", body = ApiError), (status = 401, description = "no or expired session", body = ApiError), (status = 404, description = "no such record", body = ApiError)))]
pub async fn get_group(
    State(svc): State<AppState>,
    Authenticated(actor): Authenticated,
    CodePath(code): CodePath,
) -> Result<Response, ServiceError> {
    Ok(Json(svc.get_group(&actor, &code).await?).into_response())
}

#[utoipa::path(patch, path = "/api/v1/groups/{code}", tag = "permissions", security(("session" = [])), params(("code" = String, Path, description = "the group code")), request_body = GroupPatch, responses((status = 200, description = "changed (audited); connections with it see the change on their next Web API request", body = Group), (status = 400, description = "bad input; the body names the field", body = ApiError), (status = 401, description = "no or expired session", body = ApiError), (status = 403, description = "only the owner or an admin may do this", body = ApiError), (status = 404, description = "no such record", body = ApiError), (status = 409, description = "changed by someone else since the version named", body = ApiError), (status = 413, description = "body over 1 MiB", body = ApiError)))]
pub async fn update_group(
    State(svc): State<AppState>,
    Authenticated(actor): Authenticated,
    RequestSource(source): RequestSource,
    CodePath(code): CodePath,
    ApiJson(patch): ApiJson<GroupPatch>,
) -> Result<Response, ServiceError> {
    Ok(Json(svc.update_group(&actor, source, &code, patch).await?).into_response())
}

#[utoipa::path(delete, path = "/api/v1/groups/{code}", tag = "permissions", security(("session" = [])), params(("code" = String, Path, description = "the group code")), responses((status = 204, description = "deleted (audited)"), (status = 400, description = "bad input; the body names the field", body = ApiError), (status = 401, description = "no or expired session", body = ApiError), (status = 403, description = "only the owner or an admin may do this", body = ApiError), (status = 404, description = "no such record", body = ApiError), (status = 409, description = "the default group, or connections are in it (the message names them)", body = ApiError)))]
pub async fn delete_group(
    State(svc): State<AppState>,
    Authenticated(actor): Authenticated,
    RequestSource(source): RequestSource,
    CodePath(code): CodePath,
) -> Result<Response, ServiceError> {
    svc.delete_group(&actor, source, &code).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[utoipa::path(get, path = "/api/v1/categories", tag = "permissions", security(("session" = [])), responses((status = 200, description = "every category, parents before children", body = [Category]), (status = 401, description = "no or expired session", body = ApiError)))]
pub async fn list_categories(
    State(svc): State<AppState>,
    Authenticated(actor): Authenticated,
) -> Result<Response, ServiceError> {
    Ok(Json(svc.list_categories(&actor).await?).into_response())
}

#[utoipa::path(post, path = "/api/v1/categories", tag = "permissions", security(("session" = [])), request_body = NewCategory, responses((status = 201, description = "created (audited)", body = Category), (status = 400, description = "bad input; the body names the field", body = ApiError), (status = 401, description = "no or expired session", body = ApiError), (status = 403, description = "only the owner or an admin may do this", body = ApiError), (status = 409, description = "the code is taken", body = ApiError), (status = 413, description = "body over 1 MiB", body = ApiError)))]
pub async fn create_category(
    State(svc): State<AppState>,
    Authenticated(actor): Authenticated,
    RequestSource(source): RequestSource,
    ApiJson(new): ApiJson<NewCategory>,
) -> Result<Response, ServiceError> {
    let created = svc.create_category(&actor, source, new).await?;
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

#[utoipa::path(get, path = "/api/v1/categories/{code}", tag = "permissions", security(("session" = [])), params(("code" = String, Path, description = "the category code")), responses((status = 200, description = "the category", body = Category), (status = 400, description = "bad input; the body names the field", body = ApiError), (status = 401, description = "no or expired session", body = ApiError), (status = 404, description = "no such record", body = ApiError)))]
pub async fn get_category(
    State(svc): State<AppState>,
    Authenticated(actor): Authenticated,
    CodePath(code): CodePath,
) -> Result<Response, ServiceError> {
    Ok(Json(svc.get_category(&actor, &code).await?).into_response())
}

#[utoipa::path(patch, path = "/api/v1/categories/{code}", tag = "permissions", security(("session" = [])), params(("code" = String, Path, description = "the category code")), request_body = CategoryPatch, responses((status = 200, description = "renamed (audited)", body = Category), (status = 400, description = "bad input; the body names the field", body = ApiError), (status = 401, description = "no or expired session", body = ApiError), (status = 403, description = "only the owner or an admin may do this", body = ApiError), (status = 404, description = "no such record", body = ApiError), (status = 413, description = "body over 1 MiB", body = ApiError)))]
pub async fn update_category(
    State(svc): State<AppState>,
    Authenticated(actor): Authenticated,
    RequestSource(source): RequestSource,
    CodePath(code): CodePath,
    ApiJson(patch): ApiJson<CategoryPatch>,
) -> Result<Response, ServiceError> {
    Ok(Json(svc.rename_category(&actor, source, &code, patch).await?).into_response())
}

#[utoipa::path(delete, path = "/api/v1/categories/{code}", tag = "permissions", security(("session" = [])), params(("code" = String, Path, description = "the category code")), responses((status = 204, description = "deleted (audited)"), (status = 400, description = "bad input; the body names the field", body = ApiError), (status = 401, description = "no or expired session", body = ApiError), (status = 403, description = "only the owner or an admin may do this", body = ApiError), (status = 404, description = "no such record", body = ApiError), (status = 409, description = "it has sub-categories, products or group permissions", body = ApiError)))]
pub async fn delete_category(
    State(svc): State<AppState>,
    Authenticated(actor): Authenticated,
    RequestSource(source): RequestSource,
    CodePath(code): CodePath,
) -> Result<Response, ServiceError> {
    svc.delete_category(&actor, source, &code).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
