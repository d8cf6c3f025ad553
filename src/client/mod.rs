//! The thin client: one `Client` with a method per API call, over a
//! [`Transport`]. This issue ships the in-process transport; an HTTP one is a
//! second implementation of the same trait.

mod catalog;
mod http_transport;
mod in_process;
pub mod sessions;
pub mod traffic;

use std::sync::Arc;

use bytes::Bytes;
use futures::future::BoxFuture;
use http::Method;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::model::{
    AccessGrant, AccessLevel, Flow, FlowInput, FlowSaved, Integration, IntegrationPatch,
    MemberAccess, NewIntegration, RegisterConnections, Registered, ReplaceConnection, Replaced,
    UsedBy,
};
use crate::model::{
    AccountPatch, ApiError, AuditRecord, Connection, ConnectionPage, ConnectionPatch,
    CreatedConnection, CredentialsInfo, DemoLoaded, Login, Me, NewConnection, NewUser,
    PasswordChange, Quota, RegeneratedPassword, RegeneratedSecret, RevealedSecret, SessionToken,
    Source, User, UserWithPassword, Visual,
};
use crate::model::{Application, TestResult};
use crate::model::{ConnectionMonitoring, MonitoringOverview};
pub use http_transport::{Http, http_client, normalize_url};
pub use in_process::InProcess;
pub use sessions::SessionStore;

/// One API request, independent of how it travels.
#[derive(Debug, Clone)]
pub struct ApiRequest {
    pub method: Method,
    /// Path and query, e.g. `/api/v1/connections`.
    pub path: String,
    pub body: Option<Bytes>,
    /// Where the change comes from (R28); sent as `X-Switchboard-Source`.
    pub source: Source,
}

/// One API response.
#[derive(Debug, Clone)]
pub struct ApiResponse {
    pub status: u16,
    pub body: Bytes,
}

/// How requests reach the API.
pub trait Transport: Send + Sync + 'static {
    fn send(&self, request: ApiRequest) -> BoxFuture<'_, Result<ApiResponse, ClientError>>;
    /// What the header shows: "embedded <file>" or "server <URL>".
    fn backend(&self) -> String;
    /// Uses a session token for the following requests (HTTP only).
    fn set_session(&self, _token: Option<secrecy::SecretString>) {}
    /// The server's base URL (HTTP only).
    fn base_url(&self) -> Option<String> {
        None
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    /// The API answered with an error.
    #[error("{}", .error.message)]
    Api { status: u16, error: ApiError },
    /// The request did not get an answer.
    #[error("cannot reach the backend: {0}")]
    Transport(String),
    /// The answer was not what this client understands.
    #[error("unexpected answer from the backend: {0}")]
    Decode(String),
}

impl ClientError {
    /// The field the error names, if any.
    pub fn field(&self) -> Option<&str> {
        match self {
            ClientError::Api { error, .. } => error.field.as_deref(),
            _ => None,
        }
    }

    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Api { status, .. } => Some(*status),
            _ => None,
        }
    }

    pub fn code(&self) -> Option<&str> {
        match self {
            ClientError::Api { error, .. } => Some(&error.code),
            _ => None,
        }
    }
}

/// The client every front end holds. Cheap to clone.
#[derive(Clone)]
pub struct Client {
    transport: Arc<dyn Transport>,
    source: Source,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("backend", &self.transport.backend())
            .finish()
    }
}

/// Percent-encodes a path segment (codes are `[a-z0-9_]`, but callers may pass anything).
fn segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl Client {
    pub fn new(transport: Arc<dyn Transport>, source: Source) -> Self {
        Client { transport, source }
    }

    /// A client of the embedded backend in `data_dir` (created when needed),
    /// acting as its owner; `owner` names the owner of a new store.
    pub async fn embedded(
        data_dir: &std::path::Path,
        owner: &str,
        source: Source,
    ) -> Result<Client, crate::store::StoreError> {
        let transport = InProcess::open(data_dir, owner).await?;
        Ok(Client::new(Arc::new(transport), source))
    }

    /// The embedded store, acting as another of its users (`--as USERNAME`).
    pub async fn embedded_as(
        data_dir: &std::path::Path,
        owner: &str,
        username: &str,
        source: Source,
    ) -> Result<Client, crate::store::StoreError> {
        let transport = InProcess::open_as(data_dir, owner, username).await?;
        Ok(Client::new(Arc::new(transport), source))
    }

    /// The embedded store as its owner or, with `as_user`, another of its
    /// users, on a clock the caller gives (tests: a fixed start).
    pub async fn embedded_with_clock(
        data_dir: &std::path::Path,
        owner: &str,
        as_user: Option<&str>,
        source: Source,
        clock: Arc<dyn crate::store::Clock>,
    ) -> Result<Client, crate::store::StoreError> {
        let transport = InProcess::open_with(data_dir, owner, as_user, clock).await?;
        Ok(Client::new(Arc::new(transport), source))
    }

    /// A client of a server; `token` is a stored session, if any.
    pub fn http(
        url: &str,
        ca_cert: Option<&std::path::Path>,
        token: Option<secrecy::SecretString>,
        source: Source,
    ) -> Result<Client, ClientError> {
        let transport = Http::new(url, ca_cert)?;
        transport.set_session(token);
        Ok(Client::new(Arc::new(transport), source))
    }

    /// Logs in; later requests carry the new session.
    pub async fn login(&self, username: &str, password: &str) -> Result<SessionToken, ClientError> {
        let body = Login {
            username: username.to_string(),
            password: password.to_string(),
        };
        let session: SessionToken = self
            .call(Method::POST, "/api/v1/session", Some(&body))
            .await?;
        self.transport
            .set_session(Some(secrecy::SecretString::from(session.token.clone())));
        Ok(session)
    }

    /// Ends the session on the server and forgets it here.
    pub async fn logout(&self) -> Result<(), ClientError> {
        let resp = self.raw(Method::DELETE, "/api/v1/session", None).await?;
        self.transport.set_session(None);
        if resp.status == 204 {
            Ok(())
        } else {
            decode::<serde_json::Value>(resp).map(drop)
        }
    }

    pub async fn list_users(&self) -> Result<Vec<User>, ClientError> {
        self.call(Method::GET, "/api/v1/users", None::<&()>).await
    }

    pub async fn create_user(&self, new: &NewUser) -> Result<UserWithPassword, ClientError> {
        self.call(Method::POST, "/api/v1/users", Some(new)).await
    }

    pub async fn remove_user(&self, username: &str) -> Result<(), ClientError> {
        let path = format!("/api/v1/users/{}", segment(username));
        let resp = self.raw(Method::DELETE, &path, None).await?;
        if resp.status == 204 {
            Ok(())
        } else {
            decode::<serde_json::Value>(resp).map(drop)
        }
    }

    pub async fn set_password(
        &self,
        username: &str,
        change: &PasswordChange,
    ) -> Result<UserWithPassword, ClientError> {
        let path = format!("/api/v1/users/{}/password", segment(username));
        self.call(Method::PUT, &path, Some(change)).await
    }

    pub fn backend(&self) -> String {
        self.transport.backend()
    }

    /// Sends a request as is and returns the raw answer (contract tests use it
    /// to send malformed bodies).
    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        body: Option<Bytes>,
    ) -> Result<ApiResponse, ClientError> {
        self.transport
            .send(ApiRequest {
                method,
                path: path.to_string(),
                body,
                source: self.source,
            })
            .await
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&impl Serialize>,
    ) -> Result<T, ClientError> {
        let body = body
            .map(|b| serde_json::to_vec(b).map(Bytes::from))
            .transpose()
            .map_err(|e| ClientError::Decode(e.to_string()))?;
        let resp = self.raw(method, path, body).await?;
        decode(resp)
    }

    pub async fn me(&self) -> Result<Me, ClientError> {
        self.call(Method::GET, "/api/v1/me", None::<&()>).await
    }

    pub async fn quota(&self) -> Result<Quota, ClientError> {
        self.call(Method::GET, "/api/v1/account", None::<&()>).await
    }

    pub async fn set_max_connections(&self, max: u64) -> Result<Quota, ClientError> {
        let patch = AccountPatch {
            max_connections: max,
        };
        self.call(Method::PATCH, "/api/v1/account", Some(&patch))
            .await
    }

    pub async fn visuals(&self) -> Result<Vec<Visual>, ClientError> {
        self.call(Method::GET, "/api/v1/visuals", None::<&()>).await
    }

    pub async fn load_demo(&self) -> Result<DemoLoaded, ClientError> {
        self.call(Method::POST, "/api/v1/demo", None::<&()>).await
    }

    /// Every connection, in list order.
    pub async fn list_connections(&self) -> Result<Vec<Connection>, ClientError> {
        let page: ConnectionPage = self
            .call(Method::GET, "/api/v1/connections", None::<&()>)
            .await?;
        Ok(page.items)
    }

    /// One page of connections (`limit: None` = to the end) and the total.
    pub async fn list_connections_page(
        &self,
        offset: u64,
        limit: Option<u64>,
    ) -> Result<ConnectionPage, ClientError> {
        let path = match limit {
            Some(limit) => format!("/api/v1/connections?offset={offset}&limit={limit}"),
            None => format!("/api/v1/connections?offset={offset}"),
        };
        self.call(Method::GET, &path, None::<&()>).await
    }

    /// R16b: the stale connections (no flow step, no Web API activity for
    /// 30 days).
    pub async fn list_stale_connections(&self) -> Result<Vec<Connection>, ClientError> {
        let page: ConnectionPage = self
            .call(Method::GET, "/api/v1/connections?stale=true", None::<&()>)
            .await?;
        Ok(page.items)
    }

    /// R27: the connections marked offline (their last test failed).
    pub async fn list_offline_connections(&self) -> Result<Vec<Connection>, ClientError> {
        let page: ConnectionPage = self
            .call(Method::GET, "/api/v1/connections?offline=true", None::<&()>)
            .await?;
        Ok(page.items)
    }

    /// R27: calls the connection's application for real (a GET of its ping
    /// URL with its auth); a failure marks the connection offline, a
    /// success clears it. Can take up to the server's test timeout.
    pub async fn test_connection(&self, code: &str) -> Result<TestResult, ClientError> {
        let path = format!("/api/v1/connections/{}/test", segment(code));
        self.call(Method::POST, &path, None::<&()>).await
    }

    /// R26: sets the application side (replacing it whole; a secret value
    /// left `None` or sent as `"******"` keeps the stored one of the same
    /// kind), or removes it with `None`. `version`: as in
    /// [`ConnectionPatch::version`].
    pub async fn set_application(
        &self,
        code: &str,
        application: Option<Application>,
        version: Option<u64>,
    ) -> Result<Connection, ClientError> {
        let patch = ConnectionPatch {
            application: Some(application.map(Box::new)),
            version,
            ..Default::default()
        };
        self.update_connection(code, &patch).await
    }

    pub async fn get_connection(&self, code: &str) -> Result<Connection, ClientError> {
        let path = format!("/api/v1/connections/{}", segment(code));
        self.call(Method::GET, &path, None::<&()>).await
    }

    pub async fn create_connection(
        &self,
        new: &NewConnection,
    ) -> Result<CreatedConnection, ClientError> {
        self.call(Method::POST, "/api/v1/connections", Some(new))
            .await
    }

    pub async fn update_connection(
        &self,
        code: &str,
        patch: &ConnectionPatch,
    ) -> Result<Connection, ClientError> {
        let path = format!("/api/v1/connections/{}", segment(code));
        self.call(Method::PATCH, &path, Some(patch)).await
    }

    pub async fn delete_connection(&self, code: &str) -> Result<(), ClientError> {
        let path = format!("/api/v1/connections/{}", segment(code));
        let resp = self.raw(Method::DELETE, &path, None).await?;
        if resp.status == 204 {
            Ok(())
        } else {
            decode::<serde_json::Value>(resp).map(drop)
        }
    }

    pub async fn connection_audit(&self, code: &str) -> Result<Vec<AuditRecord>, ClientError> {
        let path = format!("/api/v1/connections/{}/audit", segment(code));
        self.call(Method::GET, &path, None::<&()>).await
    }

    /// Client id, username, live tokens and wrong-credentials warnings.
    pub async fn credentials_info(&self, code: &str) -> Result<CredentialsInfo, ClientError> {
        let path = format!("/api/v1/connections/{}/credentials", segment(code));
        self.call(Method::GET, &path, None::<&()>).await
    }

    /// The secret in clear (R5); the reveal is audited.
    pub async fn reveal_secret(&self, code: &str) -> Result<RevealedSecret, ClientError> {
        let path = format!("/api/v1/connections/{}/secret/reveal", segment(code));
        self.call(Method::POST, &path, None::<&()>).await
    }

    /// R6: a new secret; every token of the connection stops working.
    pub async fn regenerate_secret(&self, code: &str) -> Result<RegeneratedSecret, ClientError> {
        let path = format!("/api/v1/connections/{}/secret", segment(code));
        self.call(Method::POST, &path, None::<&()>).await
    }

    /// R7: a new password, returned this once; every token stops working.
    pub async fn regenerate_password(
        &self,
        code: &str,
    ) -> Result<RegeneratedPassword, ClientError> {
        let path = format!("/api/v1/connections/{}/password", segment(code));
        self.call(Method::POST, &path, None::<&()>).await
    }

    /// R16: the flow steps that use a connection.
    pub async fn used_by(&self, code: &str) -> Result<Vec<UsedBy>, ClientError> {
        let path = format!("/api/v1/connections/{}/used-by", segment(code));
        self.call(Method::GET, &path, None::<&()>).await
    }

    /// R23: one connection's Web API calls over the last 7 days, by day
    /// (`monitored: false` and no counts for an `other` connection).
    pub async fn connection_monitoring(
        &self,
        code: &str,
    ) -> Result<ConnectionMonitoring, ClientError> {
        let path = format!("/api/v1/connections/{}/monitoring", segment(code));
        self.call(Method::GET, &path, None::<&()>).await
    }

    /// R23: every connection this user may see (R18), each and together,
    /// over the last 7 days.
    pub async fn monitoring(&self) -> Result<MonitoringOverview, ClientError> {
        self.call(Method::GET, "/api/v1/monitoring", None::<&()>)
            .await
    }

    /// R16a: replaces a connection in one step (`flow` and `position`), one
    /// flow, or everywhere.
    pub async fn replace_connection(
        &self,
        code: &str,
        with: &str,
        flow: Option<&str>,
        position: Option<u32>,
    ) -> Result<Replaced, ClientError> {
        let path = format!("/api/v1/connections/{}/replace", segment(code));
        let body = ReplaceConnection {
            with: with.to_string(),
            flow: flow.map(str::to_string),
            position,
        };
        self.call(Method::POST, &path, Some(&body)).await
    }

    pub async fn list_integrations(&self) -> Result<Vec<Integration>, ClientError> {
        self.call(Method::GET, "/api/v1/integrations", None::<&()>)
            .await
    }

    pub async fn get_integration(&self, code: &str) -> Result<Integration, ClientError> {
        let path = format!("/api/v1/integrations/{}", segment(code));
        self.call(Method::GET, &path, None::<&()>).await
    }

    pub async fn create_integration(
        &self,
        new: &NewIntegration,
    ) -> Result<Integration, ClientError> {
        self.call(Method::POST, "/api/v1/integrations", Some(new))
            .await
    }

    pub async fn rename_integration(
        &self,
        code: &str,
        name: &str,
    ) -> Result<Integration, ClientError> {
        let path = format!("/api/v1/integrations/{}", segment(code));
        let patch = IntegrationPatch {
            name: name.to_string(),
        };
        self.call(Method::PATCH, &path, Some(&patch)).await
    }

    pub async fn delete_integration(&self, code: &str) -> Result<(), ClientError> {
        let path = format!("/api/v1/integrations/{}", segment(code));
        self.no_content(Method::DELETE, &path, None::<&()>).await
    }

    /// R12: several connections in one request.
    pub async fn register(
        &self,
        integration: &str,
        connections: &[String],
    ) -> Result<Registered, ClientError> {
        let path = format!(
            "/api/v1/integrations/{}/registrations",
            segment(integration)
        );
        let body = RegisterConnections {
            connections: connections.to_vec(),
            deregister: Vec::new(),
        };
        self.call(Method::POST, &path, Some(&body)).await
    }

    /// The Register tab's pending changes, applied in one request and one
    /// transaction: `register` and `deregister` are connection codes.
    pub async fn apply_registrations(
        &self,
        integration: &str,
        register: &[String],
        deregister: &[String],
    ) -> Result<Registered, ClientError> {
        let path = format!(
            "/api/v1/integrations/{}/registrations",
            segment(integration)
        );
        let body = RegisterConnections {
            connections: register.to_vec(),
            deregister: deregister.to_vec(),
        };
        self.call(Method::POST, &path, Some(&body)).await
    }

    /// R15.
    pub async fn deregister(
        &self,
        integration: &str,
        connection: &str,
    ) -> Result<Integration, ClientError> {
        let path = format!(
            "/api/v1/integrations/{}/registrations/{}",
            segment(integration),
            segment(connection)
        );
        self.call(Method::DELETE, &path, None::<&()>).await
    }

    /// R19, R29: the members with access to an integration and their level
    /// (admins only).
    pub async fn list_access(&self, integration: &str) -> Result<Vec<MemberAccess>, ClientError> {
        let path = format!("/api/v1/integrations/{}/access", segment(integration));
        self.call(Method::GET, &path, None::<&()>).await
    }

    /// R19: a member's access to an integration; `None` takes it away.
    pub async fn set_access(
        &self,
        integration: &str,
        username: &str,
        level: Option<AccessLevel>,
    ) -> Result<(), ClientError> {
        let path = format!(
            "/api/v1/integrations/{}/access/{}",
            segment(integration),
            segment(username)
        );
        self.no_content(Method::PUT, &path, Some(&AccessGrant { level }))
            .await
    }

    pub async fn list_flows(&self) -> Result<Vec<Flow>, ClientError> {
        self.call(Method::GET, "/api/v1/flows", None::<&()>).await
    }

    pub async fn get_flow(&self, code: &str) -> Result<Flow, ClientError> {
        let path = format!("/api/v1/flows/{}", segment(code));
        self.call(Method::GET, &path, None::<&()>).await
    }

    /// R14: the answer names what the save registered, with a reminder.
    pub async fn save_flow(&self, code: &str, input: &FlowInput) -> Result<FlowSaved, ClientError> {
        let path = format!("/api/v1/flows/{}", segment(code));
        self.call(Method::PUT, &path, Some(input)).await
    }

    pub async fn delete_flow(&self, code: &str) -> Result<(), ClientError> {
        let path = format!("/api/v1/flows/{}", segment(code));
        self.no_content(Method::DELETE, &path, None::<&()>).await
    }

    /// A call answered with 204 on success.
    async fn no_content<B: Serialize>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<(), ClientError> {
        let bytes = body.map(|b| Bytes::from(serde_json::to_vec(b).expect("bodies serialise")));
        let resp = self.raw(method, path, bytes).await?;
        if resp.status == 204 {
            Ok(())
        } else {
            decode::<serde_json::Value>(resp).map(drop)
        }
    }

    /// The URL of the token endpoint for this backend: the server's, or
    /// where `switchboard serve` listens by default for an embedded store.
    pub fn token_url(&self) -> String {
        let base = self
            .transport
            .base_url()
            .unwrap_or_else(|| format!("http://{}", crate::DEFAULT_LISTEN));
        format!("{}{}", base.trim_end_matches('/'), crate::TOKEN_PATH)
    }

    /// Whether this client talks to a server (not the embedded store).
    pub fn is_remote(&self) -> bool {
        self.transport.base_url().is_some()
    }
}

/// Maps a response to the value or to the API's error.
pub fn decode<T: DeserializeOwned>(resp: ApiResponse) -> Result<T, ClientError> {
    if (200..300).contains(&resp.status) {
        serde_json::from_slice(&resp.body).map_err(|e| ClientError::Decode(e.to_string()))
    } else {
        let error = serde_json::from_slice::<ApiError>(&resp.body).unwrap_or_else(|_| ApiError {
            code: "http".to_string(),
            message: format!("the backend answered HTTP {}", resp.status),
            field: None,
        });
        Err(ClientError::Api {
            status: resp.status,
            error,
        })
    }
}
