//! The connections' side of the API: the OAuth token endpoint (R21), token
//! revocation (RFC 7009), the bearer check of the Web API (R22's 401) and the
//! wrong-credentials watch (R24).
//!
//! The password grant is kept only for compatibility with existing PIM API
//! clients (RFC 9700 §2.4 advises against it): the "resource owner" is the
//! connection's own generated API user, the client must authenticate with its
//! secret first, and failures are counted per client in the database.

use secrecy::{ExposeSecret, SecretString};

use super::{Service, ServiceError};
use crate::domain::credentials::{self, Kind};
use crate::model::{FlowType, TokenResponse};
use crate::store::users::LockoutPolicy;
use crate::store::{ClientRow, IssuedIds, OldRefresh, StoreError, TokenPair};

/// Access tokens live one hour.
pub const ACCESS_TTL_SECS: u64 = 3600;
/// Refresh tokens live 14 days.
pub const REFRESH_TTL_SECS: u64 = 14 * 24 * 3600;
/// R24 warnings show for 7 days.
pub const WARNING_DAYS: i64 = 7;

/// Per client: 10 failed token requests in 15 minutes lock it for 15
/// minutes, on every instance (the counters are in the database).
pub const CLIENT_LOCKOUT: LockoutPolicy = LockoutPolicy {
    max_failures: 10,
    window_ms: 15 * 60_000,
    lock_ms: 15 * 60_000,
};

/// The longest username or value the token endpoint looks at.
const MAX_FIELD: usize = 512;

/// A token request, as the transport decoded it. Secret values are wrapped.
#[derive(Default)]
pub struct TokenRequest {
    pub grant_type: Option<String>,
    pub username: Option<String>,
    pub password: Option<SecretString>,
    pub refresh_token: Option<SecretString>,
    /// From HTTP Basic or from the body (the transport made sure there is
    /// only one).
    pub client: Option<(String, SecretString)>,
}

/// A client's credentials, from HTTP Basic or the body.
pub type ClientCredentials = (String, SecretString);

/// Why a token or revocation request failed (RFC 6749 §5.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OAuthFailure {
    InvalidRequest(String),
    InvalidClient(String),
    InvalidGrant(String),
    UnsupportedGrantType(String),
    UnsupportedMediaType(String),
    TooLarge(String),
    TooManyRequests {
        retry_after_secs: u64,
        message: String,
    },
    /// The database cannot be reached now.
    Unavailable,
    Internal,
}

impl OAuthFailure {
    pub fn status(&self) -> u16 {
        match self {
            OAuthFailure::InvalidRequest(_)
            | OAuthFailure::InvalidGrant(_)
            | OAuthFailure::UnsupportedGrantType(_) => 400,
            OAuthFailure::InvalidClient(_) => 401,
            OAuthFailure::UnsupportedMediaType(_) => 415,
            OAuthFailure::TooLarge(_) => 413,
            OAuthFailure::TooManyRequests { .. } => 429,
            OAuthFailure::Unavailable => 503,
            OAuthFailure::Internal => 500,
        }
    }

    /// The RFC 6749 error code.
    pub fn error(&self) -> &'static str {
        match self {
            OAuthFailure::InvalidRequest(_)
            | OAuthFailure::UnsupportedMediaType(_)
            | OAuthFailure::TooLarge(_) => "invalid_request",
            OAuthFailure::InvalidClient(_) => "invalid_client",
            OAuthFailure::InvalidGrant(_) => "invalid_grant",
            OAuthFailure::UnsupportedGrantType(_) => "unsupported_grant_type",
            // RFC 6749 §5.2 has no code for a lockout (`slow_down` is the
            // device flow's): the client is refused, with 429 and
            // Retry-After saying until when.
            OAuthFailure::TooManyRequests { .. } => "invalid_client",
            OAuthFailure::Unavailable => "temporarily_unavailable",
            OAuthFailure::Internal => "server_error",
        }
    }

    pub fn message(&self) -> String {
        match self {
            OAuthFailure::InvalidRequest(m)
            | OAuthFailure::InvalidClient(m)
            | OAuthFailure::InvalidGrant(m)
            | OAuthFailure::UnsupportedGrantType(m)
            | OAuthFailure::UnsupportedMediaType(m)
            | OAuthFailure::TooLarge(m) => m.clone(),
            OAuthFailure::TooManyRequests { message, .. } => message.clone(),
            OAuthFailure::Unavailable => UNAVAILABLE.to_string(),
            OAuthFailure::Internal => "internal error; see the server log".to_string(),
        }
    }
}

/// What a client is told while the database cannot be reached.
const UNAVAILABLE: &str = "the database is unavailable; try again shortly";

fn internal(e: StoreError) -> OAuthFailure {
    match ServiceError::from(e) {
        ServiceError::Unavailable { .. } => OAuthFailure::Unavailable,
        ServiceError::Invalid { message, .. } => OAuthFailure::InvalidRequest(message),
        _ => OAuthFailure::Internal,
    }
}

/// Token requests (grants and refreshes) each client may make per second by
/// default, and the burst: far above what a client needs (one token lasts an
/// hour), far below what fills a database (issue 14).
pub const DEFAULT_TOKENS_PER_SECOND: u32 = 5;
pub const DEFAULT_TOKEN_BURST: u32 = 20;

/// The most live tokens (access and refresh, each issuance makes a pair) a
/// connection keeps by default: issuing past it revokes the oldest. A
/// hundred grants at once is more than any integration's workers hold.
pub const DEFAULT_LIVE_TOKENS: u32 = 200;

/// What an unknown client's secret is compared with: a MAC's length and
/// shape, matching nothing.
const UNKNOWN_CLIENT_MAC: &str = "0000000000000000000000000000000000000000000000000000000000000000";

const BAD_CLIENT: &str =
    "client authentication failed: the client_id does not match any client, or the secret is wrong";
const BAD_USER: &str = "no user found for the given username and password (for this client)";
const BAD_REFRESH: &str =
    "the refresh token is invalid, has expired, was revoked, or belongs to another client";

/// Why a Web API request is not authenticated (RFC 6750 `invalid_token`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BearerFailure {
    Missing,
    Invalid,
    Expired,
    /// The database cannot be reached now (503).
    Unavailable,
    Internal,
}

impl BearerFailure {
    pub fn message(self) -> &'static str {
        match self {
            BearerFailure::Missing => {
                "Authentication is required: send `Authorization: Bearer <access token>` (get one from POST /api/oauth/v1/token)"
            }
            BearerFailure::Invalid => "The access token provided is invalid.",
            BearerFailure::Expired => "The access token provided has expired.",
            BearerFailure::Unavailable => UNAVAILABLE,
            BearerFailure::Internal => "internal error; see the server log",
        }
    }
}

/// The connection a Web API request acts as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiCaller {
    pub connection_id: i64,
    pub code: String,
    pub flow_type: FlowType,
    pub role: String,
    pub group: String,
    /// The products' version the token check read: a product kept in
    /// memory at this version or later is current for this request.
    pub products_version: i64,
}

/// A field of a token request: bounded, and free of control characters
/// (no credential holds one; PostgreSQL could not even look up a NUL).
fn check_len(field: &str, value: &str) -> Result<(), OAuthFailure> {
    if value.len() > MAX_FIELD {
        return Err(OAuthFailure::InvalidRequest(format!(
            "{field} is too long (at most {MAX_FIELD} bytes)"
        )));
    }
    if value.chars().any(char::is_control) {
        return Err(OAuthFailure::InvalidRequest(format!(
            "{field} must not contain control characters"
        )));
    }
    Ok(())
}

impl Service {
    fn now_ms(&self) -> i64 {
        self.store.now_millis()
    }

    /// Counts a failure against the client; the lockout follows.
    async fn client_failed(&self, client_id: &str) {
        let key = crate::store::creds_failure_key(client_id);
        if let Err(e) = self.store.record_login_failure(&key, CLIENT_LOCKOUT).await {
            tracing::error!(error = %e, "cannot count a failed token request");
        }
    }

    /// Checks the client's secret (an HMAC compare, before anything else
    /// costs anything) and its lockout.
    async fn authenticate_client(
        &self,
        client: Option<&ClientCredentials>,
    ) -> Result<ClientRow, OAuthFailure> {
        let Some((client_id, secret)) = client else {
            return Err(OAuthFailure::InvalidClient(
                "client authentication is required: send the client id and secret with HTTP Basic (Authorization: Basic base64(client_id:secret))".to_string(),
            ));
        };
        check_len("client_id", client_id)?;
        // An unknown client id takes the same path as a known one with a
        // wrong secret (the same read, a compare, a failure counted and a
        // lock after ten), so neither the answer nor its time tells an
        // attacker which client ids exist (issue 14).
        let (row, locked_until_ms) = self.store.client(client_id).await.map_err(internal)?;
        let now = self.now_ms();
        if locked_until_ms > now {
            let secs = ((locked_until_ms - now) as u64).div_ceil(1000);
            return Err(OAuthFailure::TooManyRequests {
                retry_after_secs: secs,
                message: format!(
                    "too many failed token requests for this client; try again in {secs} s"
                ),
            });
        }
        let stored_mac = row
            .as_ref()
            .map_or(UNKNOWN_CLIENT_MAC, |r| r.secret_mac.as_str());
        let matches = self
            .store
            .keys()
            .mac_matches(secret.expose_secret(), stored_mac);
        match row {
            Some(row) if matches => Ok(row),
            _ => {
                self.client_failed(client_id).await;
                Err(OAuthFailure::InvalidClient(BAD_CLIENT.to_string()))
            }
        }
    }

    /// A fresh pair of verifiers for `row`: the rows to store, and the
    /// verifiers to compose the tokens with once the rows have their ids.
    fn new_pair(&self, row: &ClientRow, grant_id: i64) -> (TokenPair, [SecretString; 2]) {
        let access = credentials::new_verifier();
        let refresh = credentials::new_verifier();
        let now = self.now_ms();
        let keys = self.store.keys();
        let pair = TokenPair {
            connection_id: row.id,
            credential_version: row.credential_version,
            grant_id,
            access_verifier_mac: keys.mac_hex(access.expose_secret()),
            refresh_verifier_mac: keys.mac_hex(refresh.expose_secret()),
            now_ms: now,
            access_expires_ms: now + (ACCESS_TTL_SECS as i64) * 1000,
            refresh_expires_ms: now + (REFRESH_TTL_SECS as i64) * 1000,
            live_cap: self.live_token_cap,
        };
        (pair, [access, refresh])
    }

    /// The answer, once the pair's rows exist.
    fn token_response(ids: IssuedIds, verifiers: &[SecretString; 2]) -> TokenResponse {
        TokenResponse {
            access_token: Kind::AccessToken.compose_token(ids.access, verifiers[0].expose_secret()),
            expires_in: ACCESS_TTL_SECS,
            token_type: "bearer".to_string(),
            scope: None,
            refresh_token: Kind::RefreshToken
                .compose_token(ids.refresh, verifiers[1].expose_secret()),
        }
    }

    /// `POST /api/oauth/v1/token` (R21, R24).
    pub async fn token(&self, req: TokenRequest) -> Result<TokenResponse, OAuthFailure> {
        let grant_type = match req.grant_type.as_deref() {
            None | Some("") => {
                return Err(OAuthFailure::InvalidRequest(
                    "grant_type is missing: use \"password\" or \"refresh_token\"".to_string(),
                ));
            }
            Some(g @ ("password" | "refresh_token")) => g.to_string(),
            Some(other) => {
                let shown: String = other.chars().take(40).collect();
                return Err(OAuthFailure::UnsupportedGrantType(format!(
                    "grant_type {shown:?} is not supported: use \"password\" or \"refresh_token\""
                )));
            }
        };
        let row = self.authenticate_client(req.client.as_ref()).await?;
        if let Err(wait) = self.token_limit.check(row.id) {
            let secs = wait.as_secs_f64().ceil().max(1.0) as u64;
            return Err(OAuthFailure::TooManyRequests {
                retry_after_secs: secs,
                message: format!("too many token requests for this client; try again in {secs} s"),
            });
        }
        let client_id = req
            .client
            .as_ref()
            .map(|(id, _)| id.clone())
            .unwrap_or_default();
        if grant_type == "password" {
            let username = req.username.as_deref().unwrap_or("");
            let password = req.password.as_ref();
            if username.is_empty() {
                return Err(OAuthFailure::InvalidRequest(
                    "username is missing (the connection's API username)".to_string(),
                ));
            }
            let Some(password) = password.filter(|p| !p.expose_secret().is_empty()) else {
                return Err(OAuthFailure::InvalidRequest(
                    "password is missing (the connection's API password)".to_string(),
                ));
            };
            check_len("username", username)?;
            if username != row.username {
                // R24: recorded on this client's connection; the answer is
                // the same as for a wrong password.
                if let Err(e) = self.store.record_wrong_credentials(row.id, username).await {
                    tracing::error!(error = %e, "cannot record a wrong-credentials use");
                }
                tracing::warn!(connection = %row.code, "token request with another username");
                self.client_failed(&client_id).await;
                return Err(OAuthFailure::InvalidGrant(BAD_USER.to_string()));
            }
            if !self
                .store
                .keys()
                .verify_password(password.expose_secret(), &row.password_hash)
            {
                self.client_failed(&client_id).await;
                return Err(OAuthFailure::InvalidGrant(BAD_USER.to_string()));
            }
            let grant_id = i64::from_le_bytes(credentials::random_bytes::<8>()) & i64::MAX;
            let (pair, verifiers) = self.new_pair(&row, grant_id);
            let Some(ids) = self.store.issue_tokens(pair).await.map_err(internal)? else {
                // The secret or password was regenerated in between.
                return Err(OAuthFailure::InvalidClient(BAD_CLIENT.to_string()));
            };
            self.clear_client_failures(&row, &client_id).await;
            return Ok(Self::token_response(ids, &verifiers));
        }
        // refresh_token
        let Some(refresh) = req
            .refresh_token
            .as_ref()
            .filter(|r| !r.expose_secret().is_empty())
        else {
            return Err(OAuthFailure::InvalidRequest(
                "refresh_token is missing".to_string(),
            ));
        };
        // The writer checks the token atomically as it consumes it: its
        // row, its verifier, its connection, its expiry.
        let Some((id, verifier)) = Kind::RefreshToken.parse_token(refresh.expose_secret()) else {
            self.client_failed(&client_id).await;
            return Err(OAuthFailure::InvalidGrant(BAD_REFRESH.to_string()));
        };
        let old = OldRefresh {
            id,
            verifier_mac: self.store.keys().mac_hex(verifier),
        };
        let (pair, verifiers) = self.new_pair(&row, 0);
        let Some(ids) = self
            .store
            .refresh_tokens(old, pair)
            .await
            .map_err(internal)?
        else {
            // Unknown, used, expired, another client's, or revoked.
            self.client_failed(&client_id).await;
            return Err(OAuthFailure::InvalidGrant(BAD_REFRESH.to_string()));
        };
        self.clear_client_failures(&row, &client_id).await;
        Ok(Self::token_response(ids, &verifiers))
    }

    async fn clear_client_failures(&self, row: &ClientRow, client_id: &str) {
        if row.failures > 0 {
            let key = crate::store::creds_failure_key(client_id);
            if let Err(e) = self.store.clear_login_failures(&key).await {
                tracing::error!(error = %e, "cannot reset a client's failure counter");
            }
        }
    }

    /// `POST /api/oauth/v1/revoke` (RFC 7009): the client drops one of its
    /// own tokens. Unknown tokens are not an error.
    pub async fn revoke(
        &self,
        client: Option<ClientCredentials>,
        token: Option<SecretString>,
    ) -> Result<(), OAuthFailure> {
        let Some(token) = token.filter(|t| !t.expose_secret().is_empty()) else {
            return Err(OAuthFailure::InvalidRequest("token is missing".to_string()));
        };
        let row = self.authenticate_client(client.as_ref()).await?;
        let token = token.expose_secret();
        let parsed = Kind::AccessToken
            .parse_token(token)
            .or_else(|| Kind::RefreshToken.parse_token(token));
        if let Some((id, verifier)) = parsed {
            let mac = self.store.keys().mac_hex(verifier);
            self.store
                .revoke_token(row.id, id, &mac)
                .await
                .map_err(internal)?;
        }
        Ok(())
    }

    /// The bearer check of every `/api/rest/v1` request (R22, R25): a digest
    /// lookup, so a revoked token fails on the very next request.
    pub async fn authenticate_bearer(
        &self,
        token: Option<&str>,
    ) -> Result<ApiCaller, BearerFailure> {
        self.authenticate_bearer_at(token)
            .await
            .map(|(caller, _)| caller)
    }

    /// As [`Service::authenticate_bearer`], with the catalog version read
    /// in the same statement (what the role and group checks compare their
    /// cache with).
    pub async fn authenticate_bearer_at(
        &self,
        token: Option<&str>,
    ) -> Result<(ApiCaller, super::catalog::CatalogVersion), BearerFailure> {
        let token = token.ok_or(BearerFailure::Missing)?;
        let (id, verifier) = Kind::AccessToken
            .parse_token(token)
            .ok_or(BearerFailure::Invalid)?;
        let row = self
            .store
            .token(id)
            .await
            .map_err(|e| match ServiceError::from(e) {
                ServiceError::Unavailable { .. } => BearerFailure::Unavailable,
                _ => BearerFailure::Internal,
            })?
            .filter(|t| !t.refresh)
            .filter(|t| self.store.keys().mac_matches(verifier, &t.verifier_mac))
            .ok_or(BearerFailure::Invalid)?;
        if row.expires_at_ms <= self.now_ms() {
            return Err(BearerFailure::Expired);
        }
        let version = super::catalog::CatalogVersion(row.catalog_version);
        Ok((
            ApiCaller {
                connection_id: row.connection_id,
                code: row.code,
                flow_type: row.flow_type,
                role: row.role,
                group: row.group,
                products_version: row.products_version,
            },
            version,
        ))
    }

    /// Deletes expired tokens, old warnings and monitoring hours past their
    /// 30 days (run every few minutes by `serve`).
    pub async fn sweep_expired(&self) -> Result<u64, ServiceError> {
        let keep_since = self.now_ms() - 30 * 24 * 3600 * 1000;
        // A failed write keeps the counts for the next one; the tokens
        // are swept all the same.
        if let Err(e) = self.store.flush_monitoring().await {
            tracing::error!(error = %e, "monitoring retention sweep failed");
        }
        self.store
            .sweep_expired(keep_since)
            .await
            .map_err(|e| ServiceError::from_store(e, None))
    }
}
