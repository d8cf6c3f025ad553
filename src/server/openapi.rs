//! The API described as OpenAPI 3, generated from the handlers' annotations
//! and the model types (utoipa), served at `/api/openapi.json`.

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
        (name = "probes", description = "Liveness, readiness and this description: no authentication"),
    )
)]
pub struct ApiDoc;

/// What every description starts from: the title, the shared schemas, the
/// security schemes and the tags. The paths come from the router.
pub(super) fn base() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// The specification as JSON, the one [`super::router`] serves.
pub fn spec() -> utoipa::openapi::OpenApi {
    super::spec()
}

/// Adds what every route of a kind may answer, written once here rather
/// than on each handler: what the route's layers answer before the handler
/// runs (no or a bad token, a body too large or not JSON, the rate limit)
/// and a database that does not answer.
pub(super) fn finish(mut doc: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    use utoipa::openapi::{Content, Ref, ResponseBuilder};
    let error = |path: &str| {
        if path.starts_with("/api/oauth/") {
            "OAuthError"
        } else if path.starts_with("/api/rest/") {
            "RestError"
        } else {
            "ApiError"
        }
    };
    for (path, item) in doc.paths.paths.iter_mut() {
        let schema = error(path);
        let web_api = path.starts_with("/api/rest/");
        for op in operations(item) {
            let takes_input =
                op.request_body.is_some() || op.parameters.as_ref().is_some_and(|p| !p.is_empty());
            let secured = op.security.as_ref().is_some_and(|s| !s.is_empty());
            let mut add = |status: &str, description: &str| {
                if !op.responses.responses.contains_key(status) {
                    let response = ResponseBuilder::new()
                        .description(description)
                        .content(
                            "application/json",
                            Content::new(Some(Ref::from_schema_name(schema))),
                        )
                        .build();
                    op.responses
                        .responses
                        .insert(status.to_string(), response.into());
                }
            };
            if takes_input {
                add("400", "bad input; the body names what is wrong");
            }
            if secured {
                add("401", "no, an unknown or an expired token");
            }
            if web_api {
                add("403", "the connection's role lacks the permission (R10)");
                add("429", "the connection's rate limit; see Retry-After");
            }
            if op.request_body.is_some() {
                add("413", "the body is too large");
                add("415", "the body is not of a content type the route reads");
            }
            if path != "/healthz" && path != "/api/openapi.json" {
                add(
                    "503",
                    "the database does not answer; try again (the message says why)",
                );
            }
        }
    }
    doc
}

fn operations(
    item: &mut utoipa::openapi::PathItem,
) -> impl Iterator<Item = &mut utoipa::openapi::path::Operation> {
    [
        item.get.as_mut(),
        item.put.as_mut(),
        item.post.as_mut(),
        item.delete.as_mut(),
        item.patch.as_mut(),
    ]
    .into_iter()
    .flatten()
}

/// `GET /api/openapi.json`: serialised once, on the first request.
#[utoipa::path(get, path = "/api/openapi.json", tag = "probes", responses((status = 200, description = "this description (OpenAPI 3.1)", content_type = "application/json")))]
pub(super) async fn serve_spec() -> axum::response::Response {
    use axum::response::IntoResponse;
    static SPEC: std::sync::OnceLock<bytes::Bytes> = std::sync::OnceLock::new();
    let body = SPEC.get_or_init(|| {
        serde_json::to_vec(&spec())
            .expect("the description serialises")
            .into()
    });
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        body.clone(),
    )
        .into_response()
}
