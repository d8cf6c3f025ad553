//! Extractors that turn bad requests into clear `{"code","message","field"}`
//! errors instead of axum's plain-text rejections.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use http::header;
use serde::de::DeserializeOwned;

use super::{BODY_LIMIT, SOURCE_HEADER};
use crate::model::Source;
use crate::service::ServiceError;

/// A JSON body, decoded with the path of the offending field on error.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ServiceError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|ct| {
                let mime = ct.split(';').next().unwrap_or("").trim();
                mime.eq_ignore_ascii_case("application/json")
            })
            .unwrap_or(false);
        if !is_json {
            return Err(ServiceError::invalid(
                "body",
                "the request body must be JSON (Content-Type: application/json)",
            ));
        }
        let bytes = read_body(req.into_body()).await?;
        only_an_object(&bytes)?;
        decode_json(&bytes).map(ApiJson)
    }
}

/// Every admin API body is an object: serde would also take a JSON array
/// for a struct, its fields by position (`["New label"]` renamed a role),
/// which no client means. Malformed JSON is left to the decoder's message.
fn only_an_object(bytes: &[u8]) -> Result<(), ServiceError> {
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    let what = match first {
        None | Some(b'{') => return Ok(()),
        Some(b'[') => "an array",
        Some(b'"') => "a string",
        Some(b'n') => "null",
        Some(b't' | b'f') => "a boolean",
        Some(_) => "a number",
    };
    if what != "an array" && serde_json::from_slice::<serde::de::IgnoredAny>(bytes).is_err() {
        return Ok(());
    }
    Err(ServiceError::invalid(
        "body",
        format!("the request body must be a JSON object ({{…}}), not {what}"),
    ))
}

/// Beyond this many times the limit, an oversized body is no longer read
/// to the end: the connection is closed instead.
const DRAIN_FACTOR: usize = 16;

/// Why a body could not be read.
pub enum BodyError {
    TooLarge,
    Unreadable(String),
}

/// Reads a body of at most `limit` bytes. A larger one is read to its end
/// (up to 16 × `limit`) before the 413 answer, so the client, still sending,
/// gets that answer instead of a reset connection.
pub async fn read_limited(body: axum::body::Body, limit: usize) -> Result<Bytes, BodyError> {
    use http_body_util::BodyExt;
    let mut body = body;
    let mut buf = Vec::new();
    let mut seen = 0usize;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| BodyError::Unreadable(e.to_string()))?;
        if let Ok(data) = frame.into_data() {
            seen += data.len();
            if seen <= limit {
                buf.extend_from_slice(&data);
            } else if seen > DRAIN_FACTOR * limit {
                break;
            }
        }
    }
    if seen > limit {
        return Err(BodyError::TooLarge);
    }
    Ok(Bytes::from(buf))
}

async fn read_body(body: axum::body::Body) -> Result<Bytes, ServiceError> {
    read_limited(body, BODY_LIMIT).await.map_err(|e| match e {
        BodyError::TooLarge => ServiceError::TooLarge {
            message: format!(
                "the request body is too large: at most {} KiB",
                BODY_LIMIT / 1024
            ),
        },
        BodyError::Unreadable(why) => {
            ServiceError::invalid("body", format!("cannot read the request body: {why}"))
        }
    })
}

/// Decodes JSON, naming the field that is wrong.
pub fn decode_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ServiceError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        let text = inner.to_string();
        // serde appends " at line 1 column 9"; the field name says more.
        let message = match text.rfind(" at line ") {
            Some(i) => text[..i].to_string(),
            None => text,
        };
        let field = if path != "." {
            path
        } else if let Some(name) = message
            .strip_prefix("missing field `")
            .or_else(|| message.strip_prefix("unknown field `"))
            .and_then(|rest| rest.split('`').next())
        {
            name.to_string()
        } else {
            "body".to_string()
        };
        let message = if inner.is_syntax() || inner.is_eof() {
            format!("the request body is not valid JSON: {message}")
        } else {
            format!("{field}: {message}")
        };
        ServiceError::Invalid { field, message }
    })
}

/// What the admin API route at `path` names by its first path parameter.
fn kind_in(path: &str) -> &'static str {
    let collection = path
        .strip_prefix("/api/v1/")
        .and_then(|rest| rest.split('/').next())
        .unwrap_or("");
    match collection {
        "connections" => "connection",
        "integrations" => "integration",
        "roles" => "role",
        "groups" => "group",
        "categories" => "category",
        "flows" => "flow",
        "users" => "user",
        _ => "record",
    }
}

/// No code or name holds a control character: such a segment names
/// nothing (and PostgreSQL could not even look up a NUL).
fn names_nothing(kind: &str, value: &str) -> Option<ServiceError> {
    value
        .chars()
        .any(char::is_control)
        .then(|| ServiceError::NotFound {
            message: format!("{kind} {value:?} not found"),
        })
}

/// Reads the one path parameter of a route, naming `field` when it cannot.
async fn path_segment(
    parts: &mut http::request::Parts,
    field: &str,
) -> Result<String, ServiceError> {
    let kind = kind_in(parts.uri.path());
    let value = axum::extract::Path::<String>::from_request_parts(parts, &())
        .await
        .map(|axum::extract::Path(value)| value)
        .map_err(|e| {
            ServiceError::invalid(field, format!("bad {kind} {field} in the path: {e}"))
        })?;
    match names_nothing(kind, &value) {
        Some(e) => Err(e),
        None => Ok(value),
    }
}

/// A `{code}` path segment, with a JSON error when it cannot be read.
pub struct CodePath(pub String);

impl<S: Send + Sync> FromRequestParts<S> for CodePath {
    type Rejection = ServiceError;

    async fn from_request_parts(
        parts: &mut http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        path_segment(parts, "code").await.map(CodePath)
    }
}

/// A `{username}` path segment, with a JSON error when it cannot be read.
pub struct UserPath(pub String);

impl<S: Send + Sync> FromRequestParts<S> for UserPath {
    type Rejection = ServiceError;

    async fn from_request_parts(
        parts: &mut http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        path_segment(parts, "username").await.map(UserPath)
    }
}

/// Where a change comes from, from the `X-Switchboard-Source` header
/// (default `api`).
pub struct RequestSource(pub Source);

impl<S: Send + Sync> FromRequestParts<S> for RequestSource {
    type Rejection = ServiceError;

    async fn from_request_parts(
        parts: &mut http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        match parts.headers.get(SOURCE_HEADER) {
            None => Ok(RequestSource(Source::Api)),
            Some(v) => v
                .to_str()
                .ok()
                .and_then(Source::parse)
                .map(RequestSource)
                .ok_or_else(|| {
                    ServiceError::invalid(SOURCE_HEADER, "source must be tui, api, cli or system")
                }),
        }
    }
}

/// Two path segments (`/{code}/…/{other}`), with a JSON error when they
/// cannot be read.
pub struct TwoSegments(pub String, pub String);

impl<S: Send + Sync> FromRequestParts<S> for TwoSegments {
    type Rejection = ServiceError;

    async fn from_request_parts(
        parts: &mut http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        let kind = kind_in(parts.uri.path());
        let (a, b) = axum::extract::Path::<(String, String)>::from_request_parts(parts, &())
            .await
            .map(|axum::extract::Path(both)| both)
            .map_err(|e| ServiceError::invalid("path", format!("bad path: {e}")))?;
        // The second names a connection or a user: "not found" either way.
        match names_nothing(kind, &a).or_else(|| names_nothing("record", &b)) {
            Some(e) => Err(e),
            None => Ok(TwoSegments(a, b)),
        }
    }
}
