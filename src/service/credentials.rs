//! The administrators' side of a connection's credentials: what they are
//! (never the password), reveal the secret (R5, audited), regenerate the
//! secret (R6) or the password (R7).

use secrecy::ExposeSecret;

use super::oauth::WARNING_DAYS;
use super::{Actor, Service, ServiceError};
use crate::model::{
    Connection, CredentialsInfo, RegeneratedPassword, RegeneratedSecret, RevealedSecret, Source,
};

const DAY_MS: i64 = 24 * 3600 * 1000;
/// R16b: no step and no Web API activity for this long make a connection stale.
pub const STALE_DAYS: i64 = 30;

impl Service {
    /// Keeps an R24 warning only while it is recent enough to show, and
    /// computes the stale flag (R16b).
    pub(super) fn age_warning(&self, mut c: Connection) -> Connection {
        let now = self.store.now_millis();
        let since = now - WARNING_DAYS * DAY_MS;
        if c.wrong_credentials_at
            .is_some_and(|at| at.timestamp_millis() < since)
        {
            c.wrong_credentials_at = None;
        }
        let last = c
            .last_activity_at
            .map_or(c.created_at, |a| a.max(c.created_at));
        c.stale = !c.in_use && last.timestamp_millis() < now - STALE_DAYS * DAY_MS;
        c
    }

    /// Client id, username, token counts and R24 warnings of a connection.
    pub async fn credentials_info(
        &self,
        actor: &Actor,
        code: &str,
    ) -> Result<CredentialsInfo, ServiceError> {
        // Seeing the credentials' summary requires seeing the connection.
        self.get_connection(actor, code).await?;
        let since = self.store.now_millis() - WARNING_DAYS * DAY_MS;
        self.store
            .credentials_info(code, since)
            .await
            .map_err(|e| ServiceError::from_store(e, Some(code)))
    }

    /// R5: the secret in clear, for those who may act on the connection's
    /// credentials (R20). Every reveal is in the audit trail.
    pub async fn reveal_secret(
        &self,
        actor: &Actor,
        source: Source,
        code: &str,
    ) -> Result<RevealedSecret, ServiceError> {
        self.require_connection_manage(actor, code, "see its secret")
            .await?;
        let (client_id, secret) = self
            .store
            .reveal_secret(&actor.acting(source), code)
            .await
            .map_err(|e| ServiceError::from_store(e, Some(code)))?;
        Ok(RevealedSecret {
            client_id,
            secret: secret.expose_secret().to_string(),
        })
    }

    /// R6: a new secret; every token of the connection stops working now.
    pub async fn regenerate_secret(
        &self,
        actor: &Actor,
        source: Source,
        code: &str,
    ) -> Result<RegeneratedSecret, ServiceError> {
        self.require_connection_manage(actor, code, "regenerate its secret")
            .await?;
        let (client_id, secret, revoked) = self
            .store
            .regenerate_secret(&actor.acting(source), code)
            .await
            .map_err(|e| ServiceError::from_store(e, Some(code)))?;
        tracing::info!(code, revoked_tokens = revoked, "secret regenerated");
        Ok(RegeneratedSecret {
            client_id,
            secret: secret.expose_secret().to_string(),
            revoked_tokens: revoked,
        })
    }

    /// R7: a new password, in this answer only; every token stops working.
    pub async fn regenerate_password(
        &self,
        actor: &Actor,
        source: Source,
        code: &str,
    ) -> Result<RegeneratedPassword, ServiceError> {
        self.require_connection_manage(actor, code, "regenerate its password")
            .await?;
        let (username, password, revoked) = self
            .store
            .regenerate_password(&actor.acting(source), code)
            .await
            .map_err(|e| ServiceError::from_store(e, Some(code)))?;
        tracing::info!(code, revoked_tokens = revoked, "password regenerated");
        Ok(RegeneratedPassword {
            username,
            password: password.expose_secret().to_string(),
            revoked_tokens: revoked,
        })
    }
}
