//! The in-process transport: requests go to the server's router directly, no
//! socket, with the local owner's identity attached.

use std::path::Path;
use std::sync::Arc;

use axum::Router;
use bytes::Bytes;
use futures::future::BoxFuture;
use http_body_util::BodyExt;
use tower::ServiceExt;

use super::{ApiRequest, ApiResponse, ClientError, Transport};
use crate::server::{self, LocalIdentity, SOURCE_HEADER};
use crate::service::{Actor, Service};
use crate::store::{Clock, Store, StoreError, SystemClock, sqlite_paths};

pub struct InProcess {
    router: Router,
    identity: LocalIdentity,
    location: String,
    service: Arc<Service>,
    /// Set when the owner opened the store as another user (`--as`).
    viewing_as: Option<String>,
}

impl InProcess {
    /// Wraps a service; every request acts as `actor`.
    pub fn new(service: Arc<Service>, actor: Actor) -> Self {
        InProcess {
            router: server::router(service.clone()),
            identity: LocalIdentity(actor),
            location: service.backend_location().to_string(),
            service,
            viewing_as: None,
        }
    }

    /// Opens (creating when needed) the embedded SQLite store in `data_dir`;
    /// the local owner is `owner` (the first start names them).
    pub async fn open(data_dir: &Path, owner: &str) -> Result<InProcess, StoreError> {
        InProcess::open_with(data_dir, owner, None, Arc::new(SystemClock)).await
    }

    /// Opens the embedded store to act as another user of it (`--as`): the
    /// local owner checks exactly what that user sees and may do.
    pub async fn open_as(
        data_dir: &Path,
        owner: &str,
        username: &str,
    ) -> Result<InProcess, StoreError> {
        InProcess::open_with(data_dir, owner, Some(username), Arc::new(SystemClock)).await
    }

    /// Opens the embedded store acting as the owner or, with `as_user`, as
    /// another of its users, the store reading the time from `clock`.
    pub async fn open_with(
        data_dir: &Path,
        owner: &str,
        as_user: Option<&str>,
        clock: Arc<dyn Clock>,
    ) -> Result<InProcess, StoreError> {
        let (db, key) = sqlite_paths(data_dir);
        let store = Store::open_sqlite(&db, &key).await?.with_clock(clock);
        let me = store.ensure_owner(owner).await?;
        let Some(username) = as_user else {
            let service = Arc::new(Service::new(store));
            return Ok(InProcess::new(
                service,
                Actor {
                    username: me.username,
                    kind: me.kind,
                },
            ));
        };
        let user = store
            .user_by_name(username)
            .await?
            .ok_or_else(|| StoreError::Missing {
                what: "user",
                code: username.to_string(),
            })?;
        let service = Arc::new(Service::new(store));
        let mut t = InProcess::new(
            service,
            Actor {
                username: user.user.username.clone(),
                kind: user.user.kind,
            },
        );
        t.viewing_as = Some(user.user.username);
        Ok(t)
    }

    pub fn service(&self) -> &Arc<Service> {
        &self.service
    }
}

impl Transport for InProcess {
    fn send(&self, request: ApiRequest) -> BoxFuture<'_, Result<ApiResponse, ClientError>> {
        Box::pin(async move {
            let mut builder = http::Request::builder()
                .method(request.method)
                .uri(&request.path)
                .header(SOURCE_HEADER, request.source.as_str());
            if request.body.is_some() {
                builder = builder.header(http::header::CONTENT_TYPE, "application/json");
            }
            let mut req = builder
                .body(axum::body::Body::from(request.body.unwrap_or_default()))
                .map_err(|e| ClientError::Transport(e.to_string()))?;
            req.extensions_mut().insert(self.identity.clone());
            let resp = self
                .router
                .clone()
                .oneshot(req)
                .await
                .map_err(|e| ClientError::Transport(e.to_string()))?;
            let status = resp.status().as_u16();
            let body: Bytes = resp
                .into_body()
                .collect()
                .await
                .map_err(|e| ClientError::Transport(e.to_string()))?
                .to_bytes();
            Ok(ApiResponse { status, body })
        })
    }

    fn backend(&self) -> String {
        match &self.viewing_as {
            Some(user) => format!("embedded {} (as {user})", self.location),
            None => format!("embedded {}", self.location),
        }
    }
}
