//! The API described as OpenAPI 3, generated from the handlers' annotations
//! and the model types (utoipa), served at `/api/openapi.json`.

use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::model;

struct SessionAuth;

impl Modify for SessionAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "session",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A session token from POST /api/v1/session (ends after 12 hours idle)",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A connection's access token from POST /api/oauth/v1/token (1 hour)",
                    ))
                    .build(),
            ),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Switchboard API",
        description = "Administer API connections: their credentials, who may use them, and their audit trail. Admin errors (under /api/v1) are JSON `{code, message, field}`; the token endpoint answers RFC 6749 errors `{error, error_description, code, message}`; the Web API `{code, message}` with the HTTP status as code."
    ),
    paths(
        super::me,
        super::get_account,
        super::patch_account,
        super::visuals,
        super::load_demo,
        super::list_connections,
        super::create_connection,
        super::get_connection,
        super::update_connection,
        super::delete_connection,
        super::connection_audit,
        super::connection_credentials,
        super::reveal_secret,
        super::regenerate_secret,
        super::regenerate_password,
        super::connection_used_by,
        super::test_connection,
        super::monitoring::connection_monitoring,
        super::monitoring::monitoring_overview,
        super::replace_connection,
        super::list_integrations,
        super::create_integration,
        super::get_integration,
        super::rename_integration,
        super::delete_integration,
        super::register_connections,
        super::deregister_connection,
        super::integration_access,
        super::set_integration_access,
        super::list_flows,
        super::get_flow,
        super::save_flow,
        super::delete_flow,
        super::oauth::token,
        super::oauth::revoke,
        super::oauth::rest_root,
        super::products::list_products,
        super::products::get_product,
        super::products::create_product,
        super::products::patch_product,
        super::products::patch_products,
        super::products::list_products_uuid,
        super::products::create_product_uuid,
        super::products::patch_products_uuid,
        super::products::get_product_uuid,
        super::products::patch_product_uuid,
        super::products::delete_product_uuid,
        super::products::delete_product,
        super::catalog::list_roles,
        super::catalog::create_role,
        super::catalog::get_role,
        super::catalog::update_role,
        super::catalog::delete_role,
        super::catalog::list_groups,
        super::catalog::create_group,
        super::catalog::get_group,
        super::catalog::update_group,
        super::catalog::delete_group,
        super::catalog::list_categories,
        super::catalog::create_category,
        super::catalog::get_category,
        super::catalog::update_category,
        super::catalog::delete_category,
        super::login,
        super::logout,
        super::list_users,
        super::create_user,
        super::remove_user,
        super::set_password,
    ),
    components(schemas(
        model::ApiError,
        model::FieldChange,
        model::Application,
        model::ApplicationAuth,
        model::AuthKind,
        model::FlowType,
        model::Source,
        model::UserKind,
        model::Permission,
        model::CategoryLevel,
        model::RestValidationError,
        model::RestViolation,
    )),
    modifiers(&SessionAuth),
    tags(
        (name = "connections", description = "Connections, their credentials and audit trail"),
        (name = "account", description = "The acting user and the account's limits"),
        (name = "session", description = "Log in and out"),
        (name = "users", description = "The people who administer"),
        (name = "integrations", description = "Integrations, flows, registration of connections and members' access"),
        (name = "credentials", description = "A connection's credentials: reveal the secret, regenerate the secret or password"),
        (name = "monitoring", description = "What the connections' Web API calls did (R23): products created, updated and read, business (4xx) and technical (5xx) errors, per day for the last 7 days"),
        (name = "oauth", description = "For the connections' applications: get tokens (password and refresh_token grants; the password grant exists for compatibility with PIM API clients) and revoke them"),
        (name = "web-api", description = "The connections' Web API: bearer token required; each call is checked against the connection's role (R10) and group (R11) and its rate limit (429 with Retry-After)"),
        (name = "permissions", description = "Roles (sets of Web API permissions), groups (category permissions) and the category tree (R10, R11)"),
    )
)]
pub struct ApiDoc;

/// The specification as JSON.
pub fn spec() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

pub(super) async fn serve_spec() -> Json<utoipa::openapi::OpenApi> {
    Json(spec())
}
