//! HTTP for the connections' side: `POST /api/oauth/v1/token` (R21), `POST
//! /api/oauth/v1/revoke` (RFC 7009) and the bearer check of `/api/rest/v1`
//! (R22's 401, RFC 6750).

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use base64::Engine;
use secrecy::SecretString;

use super::AppState;
use crate::model::{OAuthError, RestError, TokenResponse};
use crate::service::oauth::{
    ApiCaller, BearerFailure, ClientCredentials, OAuthFailure, TokenRequest,
};

/// Largest token or revocation request body. A real one is a few hundred
/// bytes; this endpoint is unauthenticated, so it reads no more.
pub const OAUTH_BODY_LIMIT: usize = 4096;

const REALM: &str = "switchboard";

fn no_store(mut resp: Response) -> Response {
    let h = resp.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    resp
}

impl IntoResponse for OAuthFailure {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status()).unwrap_or(StatusCode::BAD_REQUEST);
        let message = self.message();
        let body = OAuthError {
            error: self.error().to_string(),
            error_description: message.clone(),
            code: status.as_u16(),
            message,
        };
        let mut resp = (status, Json(body)).into_response();
        match &self {
            OAuthFailure::InvalidClient(_) => {
                resp.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Basic realm=\"switchboard\", charset=\"UTF-8\""),
                );
            }
            OAuthFailure::TooManyRequests {
                retry_after_secs, ..
            } => {
                resp.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
            }
            _ => {}
        }
        no_store(resp)
    }
}

/// The parameters of a token or revocation request, from a JSON object or
/// a form, each at most once.
#[derive(Default)]
struct Params(Vec<(String, String)>);

impl Params {
    fn take(&mut self, name: &str) -> Option<String> {
        let i = self.0.iter().position(|(k, _)| k == name)?;
        Some(self.0.swap_remove(i).1)
    }
}

enum BodyKind {
    Json,
    Form,
}

fn body_kind(headers: &HeaderMap) -> Result<BodyKind, OAuthFailure> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mime = ct.split(';').next().unwrap_or("").trim();
    if mime.eq_ignore_ascii_case("application/json") {
        Ok(BodyKind::Json)
    } else if mime.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
        Ok(BodyKind::Form)
    } else {
        let shown: String = if mime.is_empty() {
            "no Content-Type".to_string()
        } else {
            format!("{:?}", mime.chars().take(60).collect::<String>())
        };
        Err(OAuthFailure::UnsupportedMediaType(format!(
            "{shown} is not accepted: send application/json or application/x-www-form-urlencoded"
        )))
    }
}

async fn read_params(headers: &HeaderMap, body: Body) -> Result<Params, OAuthFailure> {
    let kind = body_kind(headers)?;
    let bytes = super::extract::read_limited(body, OAUTH_BODY_LIMIT)
        .await
        .map_err(|e| match e {
            super::extract::BodyError::TooLarge => OAuthFailure::TooLarge(format!(
                "the request body is too large: at most {OAUTH_BODY_LIMIT} bytes"
            )),
            super::extract::BodyError::Unreadable(why) => {
                OAuthFailure::InvalidRequest(format!("cannot read the request body: {why}"))
            }
        })?;
    let pairs: Vec<(String, String)> = match kind {
        BodyKind::Form => form_urlencoded::parse(&bytes).into_owned().collect(),
        BodyKind::Json => {
            let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| {
                OAuthFailure::InvalidRequest(format!("the body is not valid JSON: {e}"))
            })?;
            let serde_json::Value::Object(map) = value else {
                return Err(OAuthFailure::InvalidRequest(
                    "the body must be a JSON object".to_string(),
                ));
            };
            let mut pairs = Vec::with_capacity(map.len());
            for (k, v) in map {
                match v {
                    serde_json::Value::String(s) => pairs.push((k, s)),
                    serde_json::Value::Null => {}
                    _ => {
                        return Err(OAuthFailure::InvalidRequest(format!(
                            "{k} must be a string"
                        )));
                    }
                }
            }
            pairs
        }
    };
    for (i, (k, _)) in pairs.iter().enumerate() {
        if pairs[..i].iter().any(|(other, _)| other == k) {
            return Err(OAuthFailure::InvalidRequest(format!(
                "{k} is given more than once"
            )));
        }
    }
    Ok(Params(pairs))
}

/// Decodes one part of HTTP Basic client credentials (RFC 6749 §2.3.1:
/// form-urlencoded before base64).
fn form_decode(s: &str) -> Result<String, OAuthFailure> {
    let plus = s.replace('+', " ");
    percent_encoding::percent_decode_str(&plus)
        .decode_utf8()
        .map(|c| c.into_owned())
        .map_err(|_| {
            OAuthFailure::InvalidRequest(
                "the Basic credentials are not valid UTF-8 after decoding".to_string(),
            )
        })
}

/// The client's credentials from `Authorization: Basic` or the body. Both
/// at once (RFC 6749 §2.3) is accepted only when they name the same client
/// (OAuth libraries' "include client id" option repeats the Basic
/// `client_id`, and sometimes the secret, in the body); otherwise refused.
fn client_credentials(
    headers: &HeaderMap,
    params: &mut Params,
) -> Result<Option<ClientCredentials>, OAuthFailure> {
    let body_id = params.take("client_id");
    let body_secret = params.take("client_secret").map(zeroize::Zeroizing::new);
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return match (body_id, body_secret) {
            (Some(id), Some(secret)) => Ok(Some((id, SecretString::from(secret.to_string())))),
            (None, None) => Ok(None),
            (Some(_), None) => Err(OAuthFailure::InvalidClient(
                "client_secret is missing (client_id is given in the body)".to_string(),
            )),
            (None, Some(_)) => Err(OAuthFailure::InvalidClient(
                "client_id is missing (client_secret is given in the body)".to_string(),
            )),
        };
    };
    let (id, secret) = basic_credentials(value)?;
    let same_id = body_id.as_ref().is_none_or(|b| *b == id);
    let same_secret = body_secret.as_ref().is_none_or(|b| {
        use secrecy::ExposeSecret as _;
        use subtle::ConstantTimeEq as _;
        bool::from(b.as_bytes().ct_eq(secret.expose_secret().as_bytes()))
    });
    if !(same_id && same_secret) {
        return Err(OAuthFailure::InvalidRequest(
            "the client authenticates twice (Authorization header and body) with different credentials: use one".to_string(),
        ));
    }
    Ok(Some((id, secret)))
}

/// `client_id` and secret from an `Authorization: Basic` header.
fn basic_credentials(value: &HeaderValue) -> Result<ClientCredentials, OAuthFailure> {
    let malformed = || {
        OAuthFailure::InvalidClient(
            "the Authorization header must be HTTP Basic: Basic base64(client_id:secret)"
                .to_string(),
        )
    };
    let value = value.to_str().map_err(|_| malformed())?;
    let (scheme, encoded) = value.trim().split_once(' ').ok_or_else(malformed)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(malformed());
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .map_err(|_| {
            OAuthFailure::InvalidRequest("the Basic credentials are not valid base64".to_string())
        })?;
    let decoded = zeroize::Zeroizing::new(decoded);
    let text = std::str::from_utf8(&decoded).map_err(|_| {
        OAuthFailure::InvalidRequest("the Basic credentials are not valid UTF-8".to_string())
    })?;
    let (id, secret) = text.split_once(':').ok_or_else(|| {
        OAuthFailure::InvalidRequest(
            "the Basic credentials must be client_id:secret (no colon found)".to_string(),
        )
    })?;
    Ok((form_decode(id)?, SecretString::from(form_decode(secret)?)))
}

/// The token endpoint's body, as the description shows it (the handler
/// reads the fields one by one, from JSON or a form).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct TokenForm {
    grant_type: GrantType,
    /// The connection's API username (password grant).
    username: Option<String>,
    /// The connection's API password (password grant).
    password: Option<String>,
    /// A refresh token of this client (refresh_token grant).
    refresh_token: Option<String>,
    /// The client id, when not given by HTTP Basic.
    client_id: Option<String>,
    /// The client secret, when not given by HTTP Basic.
    client_secret: Option<String>,
}

/// The grants the token endpoint knows.
#[derive(utoipa::ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)]
pub enum GrantType {
    Password,
    RefreshToken,
}

/// The revoke endpoint's body (RFC 7009).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct RevokeForm {
    /// An access or refresh token of this client.
    token: String,
    /// `access_token` or `refresh_token`: a hint, the token is found either way.
    token_type_hint: Option<String>,
    /// The client id, when not given by HTTP Basic.
    client_id: Option<String>,
    /// The client secret, when not given by HTTP Basic.
    client_secret: Option<String>,
}

#[utoipa::path(post, path = "/api/oauth/v1/token", tag = "oauth",
    request_body(description = "`{\"grant_type\":\"password\",\"username\":…,\"password\":…}` or `{\"grant_type\":\"refresh_token\",\"refresh_token\":…}`, as JSON or as a form. Client authentication: HTTP Basic `client_id:secret` (or `client_id`/`client_secret` in the body; both may be given when they name the same client).",
        content((TokenForm = "application/json"), (TokenForm = "application/x-www-form-urlencoded"))),
    responses(
        (status = 200, description = "tokens: access for 1 hour, refresh for 14 days", body = TokenResponse),
        (status = 400, description = "invalid_request, invalid_grant or unsupported_grant_type", body = OAuthError),
        (status = 401, description = "invalid_client, with WWW-Authenticate: Basic", body = OAuthError),
        (status = 413, description = "body over 4 KiB", body = OAuthError),
        (status = 415, description = "not JSON nor a form", body = OAuthError),
        (status = 429, description = "too many failed requests for this client; see Retry-After", body = OAuthError)))]
pub async fn token(State(svc): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    let result = async {
        let mut params = read_params(&headers, body).await?;
        let client = client_credentials(&headers, &mut params)?;
        let request = TokenRequest {
            grant_type: params.take("grant_type"),
            username: params.take("username"),
            password: params.take("password").map(SecretString::from),
            refresh_token: params.take("refresh_token").map(SecretString::from),
            client,
        };
        svc.token(request).await
    }
    .await;
    match result {
        Ok(tokens) => no_store((StatusCode::OK, Json(tokens)).into_response()),
        Err(failure) => failure.into_response(),
    }
}

#[utoipa::path(post, path = "/api/oauth/v1/revoke", tag = "oauth",
    request_body(description = "`token` (an access or refresh token of this client), optional `token_type_hint`; as a form or as JSON. Client authentication as for the token endpoint. Revoking a refresh token also revokes the access tokens issued with it.",
        content((RevokeForm = "application/x-www-form-urlencoded"), (RevokeForm = "application/json"))),
    responses(
        (status = 200, description = "revoked, or unknown (RFC 7009: not an error)"),
        (status = 400, description = "invalid_request", body = OAuthError),
        (status = 401, description = "invalid_client", body = OAuthError),
        (status = 413, description = "body over 4 KiB", body = OAuthError),
        (status = 415, description = "not a form nor JSON", body = OAuthError),
        (status = 429, description = "too many failed requests for this client", body = OAuthError)))]
pub async fn revoke(State(svc): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    let result = async {
        let mut params = read_params(&headers, body).await?;
        let client = client_credentials(&headers, &mut params)?;
        svc.revoke(client, params.take("token").map(SecretString::from))
            .await
    }
    .await;
    match result {
        Ok(()) => no_store(StatusCode::OK.into_response()),
        Err(failure) => failure.into_response(),
    }
}

fn bearer_failure(f: BearerFailure) -> Response {
    let status = match f {
        BearerFailure::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        BearerFailure::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::UNAUTHORIZED,
    };
    let mut resp = (
        status,
        Json(RestError {
            code: status.as_u16(),
            message: f.message().to_string(),
        }),
    )
        .into_response();
    if status == StatusCode::UNAUTHORIZED {
        let challenge = format!(
            "Bearer realm=\"{REALM}\", error=\"invalid_token\", error_description=\"{}\"",
            f.message().replace('"', "'")
        );
        if let Ok(v) = HeaderValue::from_str(&challenge) {
            resp.headers_mut().insert(header::WWW_AUTHENTICATE, v);
        }
    }
    resp
}

/// Every `/api/rest/v1` request: a valid, unexpired, unrevoked access token,
/// or 401; then the connection's rate limit and `api.access`. The calling
/// connection and the roles and groups it is checked against go into the
/// request's extensions.
pub async fn require_bearer(State(svc): State<AppState>, mut req: Request, next: Next) -> Response {
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim());
    let mut resp = match svc.authenticate_bearer_at(token).await {
        // Then the connection's rate limit (429) and overall access (403,
        // R10); the roles and groups read go on to the handler. One layer:
        // each costs a boxed future per request.
        Ok((caller, catalog_version)) => {
            let who = (caller.connection_id, caller.flow_type);
            let resp = match svc.web_api_gate(&caller, Some(catalog_version)).await {
                Ok(snapshot) => {
                    // Shared: the handler's extractor clones what is inserted.
                    req.extensions_mut().insert(std::sync::Arc::new(caller));
                    req.extensions_mut().insert(snapshot);
                    next.run(req).await
                }
                // A 429 or 403 is the connection's business error too.
                Err(f) => f.into_response(),
            };
            // R23: what the handler did (its `Counted`, or a batch's
            // lines) and the status.
            let status = resp.status().as_u16();
            match resp
                .extensions()
                .get::<crate::domain::monitoring::CountedLines>()
            {
                Some(lines) => svc.count_web_api_lines(who, *lines, status),
                None => svc.count_web_api_call(
                    who,
                    resp.extensions().get::<crate::model::Counted>().copied(),
                    status,
                ),
            }
            resp
        }
        Err(f) => bearer_failure(f),
    };
    // What a connection reads (or is refused) is not for caches.
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// The Web API's endpoints, as `GET /api/rest/v1` lists them.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct RestRoot {
    /// The connection the token belongs to.
    pub connection: RestCaller,
    pub authentication: RestAuthentication,
    pub routes: RestRoutes,
}

/// One endpoint: its path and methods.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct RestRoute {
    pub route: &'static str,
    pub methods: &'static [&'static str],
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct RestAuthentication {
    pub token: RestRoute,
    pub revoke: RestRoute,
}

/// The Web API routes the connection may call, by the PIM's route names
/// (`pim_api_product_list`…): the root always, the products routes as its
/// role's permissions allow.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct RestRoutes {
    pub root: RestRoute,
    #[serde(flatten)]
    #[schema(value_type = std::collections::BTreeMap<String, RestRoute>)]
    pub permitted: std::collections::BTreeMap<&'static str, RestRoute>,
}

/// Each products route (PIM name, path, method) and the permission it needs.
type ProductRoute = (
    &'static str,
    &'static str,
    &'static [&'static str],
    crate::model::Permission,
);
const PRODUCT_ROUTES: [ProductRoute; 12] = {
    use crate::model::Permission::{ProductsEdit, ProductsList, ProductsRemove};
    const ONE: &str = "/api/rest/v1/products/{code}";
    const ONE_UUID: &str = "/api/rest/v1/products-uuid/{uuid}";
    [
        (
            "pim_api_product_list",
            "/api/rest/v1/products",
            &["GET"],
            ProductsList,
        ),
        (
            "pim_api_product_create",
            "/api/rest/v1/products",
            &["POST"],
            ProductsEdit,
        ),
        (
            "pim_api_product_partial_update_list",
            "/api/rest/v1/products",
            &["PATCH"],
            ProductsEdit,
        ),
        ("pim_api_product_get", ONE, &["GET"], ProductsList),
        (
            "pim_api_product_partial_update",
            ONE,
            &["PATCH"],
            ProductsEdit,
        ),
        ("pim_api_product_delete", ONE, &["DELETE"], ProductsRemove),
        (
            "pim_api_product_uuid_list",
            "/api/rest/v1/products-uuid",
            &["GET"],
            ProductsList,
        ),
        (
            "pim_api_product_uuid_create",
            "/api/rest/v1/products-uuid",
            &["POST"],
            ProductsEdit,
        ),
        (
            "pim_api_product_uuid_partial_update_list",
            "/api/rest/v1/products-uuid",
            &["PATCH"],
            ProductsEdit,
        ),
        ("pim_api_product_uuid_get", ONE_UUID, &["GET"], ProductsList),
        (
            "pim_api_product_uuid_partial_update",
            ONE_UUID,
            &["PATCH"],
            ProductsEdit,
        ),
        (
            "pim_api_product_uuid_delete",
            ONE_UUID,
            &["DELETE"],
            ProductsRemove,
        ),
    ]
};

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct RestCaller {
    pub code: String,
    pub flow_type: crate::model::FlowType,
    pub role: String,
    pub group: String,
}

#[utoipa::path(get, path = "/api/rest/v1", tag = "web-api", security(("bearer" = [])),
    responses(
        (status = 200, description = "the endpoints the connection may call (by its role's permissions), and which connection the token is", body = RestRoot),
        (status = 401, description = "missing, unknown, expired or revoked token; WWW-Authenticate: Bearer error=\"invalid_token\"", body = RestError)))]
pub async fn rest_root(
    Extension(caller): Extension<std::sync::Arc<ApiCaller>>,
    Extension(snapshot): Extension<std::sync::Arc<crate::service::catalog::CatalogSnapshot>>,
) -> Response {
    let granted = snapshot
        .roles
        .get(&caller.role)
        .map_or(&[][..], Vec::as_slice);
    let permitted = PRODUCT_ROUTES
        .iter()
        .filter(|(_, _, _, needs)| granted.contains(needs))
        .map(|&(name, route, methods, _)| (name, RestRoute { route, methods }))
        .collect();
    let root = RestRoot {
        connection: RestCaller {
            code: caller.code.clone(),
            flow_type: caller.flow_type,
            role: caller.role.clone(),
            group: caller.group.clone(),
        },
        authentication: RestAuthentication {
            token: RestRoute {
                route: crate::TOKEN_PATH,
                methods: &["POST"],
            },
            revoke: RestRoute {
                route: crate::REVOKE_PATH,
                methods: &["POST"],
            },
        },
        routes: RestRoutes {
            root: RestRoute {
                route: crate::REST_ROOT,
                methods: &["GET"],
            },
            permitted,
        },
    };
    Json(root).into_response()
}

/// Any other path under `/api/rest/v1` (after the bearer check).
pub async fn rest_not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(RestError {
            code: 404,
            message: "Resource not found: GET /api/rest/v1 lists the endpoints".to_string(),
        }),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    fn with_auth(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Ok(v) = HeaderValue::from_str(value) {
            h.insert(header::AUTHORIZATION, v);
        }
        h
    }

    #[test]
    fn basic_credentials_are_form_decoded_after_base64() {
        let encoded = base64::engine::general_purpose::STANDARD.encode("my%20client:s%3Acret+x");
        let got = client_credentials(
            &with_auth(&format!("Basic {encoded}")),
            &mut Params::default(),
        )
        .unwrap()
        .unwrap();
        assert_eq!(got.0, "my client");
        assert_eq!(got.1.expose_secret(), "s:cret x");
    }

    proptest::proptest! {
        #[test]
        fn any_authorization_header_is_answered_without_panicking(value in ".{0,200}") {
            let _ = client_credentials(&with_auth(&value), &mut Params::default());
            let encoded = base64::engine::general_purpose::STANDARD.encode(value.as_bytes());
            let _ = client_credentials(&with_auth(&format!("Basic {encoded}")), &mut Params::default());
        }

        #[test]
        fn any_body_is_answered_without_panicking(body in proptest::collection::vec(proptest::num::u8::ANY, 0..300), json in proptest::bool::ANY) {
            let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
            let mut headers = HeaderMap::new();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(if json { "application/json" } else { "application/x-www-form-urlencoded" }),
            );
            let _ = rt.block_on(read_params(&headers, Body::from(body)));
        }
    }
}
