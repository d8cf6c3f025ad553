//! Connection credentials after creation: reveal (R5), regeneration (R6,
//! R7), tokens (R21, R25) and the wrong-credentials watch (R24).

use secrecy::{ExposeSecret, SecretString};
use sqlx::Row;

use super::token_writer::{IssuedIds, OldRefresh, TokenPair};
use super::{Acting, MASK, Store, StoreError, change, connection_target, from_millis, sealed};
use crate::domain::credentials;
use crate::model::{CredentialsInfo, FlowType, WrongCredentials};

/// What the token endpoint needs to know about a client.
#[derive(Clone)]
pub struct ClientRow {
    pub id: i64,
    pub code: String,
    pub flow_type: FlowType,
    pub secret_mac: String,
    pub username: String,
    pub password_hash: String,
    pub credential_version: i64,
    /// Recent failed token requests of this client.
    pub failures: i64,
    pub locked_until_ms: i64,
}

impl std::fmt::Debug for ClientRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientRow")
            .field("code", &self.code)
            .finish_non_exhaustive()
    }
}

/// A token found by its id, with its connection.
#[derive(Debug, Clone)]
pub struct TokenRow {
    /// The keyed digest of the token's verifier, to compare in constant time.
    pub verifier_mac: String,
    pub refresh: bool,
    pub grant_id: i64,
    pub expires_at_ms: i64,
    pub connection_id: i64,
    pub code: String,
    pub flow_type: FlowType,
    pub role: String,
    pub group: String,
    /// The `catalog_state` version, read in the same statement, so the Web
    /// API checks roles and groups at no extra read.
    pub catalog_version: i64,
    /// The products' version, from the same snapshot: products kept in
    /// memory at this version or a later one are current.
    pub products_version: i64,
}

/// The failure-counter key of a client (in `login_failures`).
pub fn client_failure_key(client_id: &str) -> String {
    format!("client:{client_id}")
}

/// Which credential a regeneration replaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Regenerated {
    Secret,
    Password,
}

impl Store {
    /// A client by its id, with its failure counter (inline read).
    pub fn client(&self, client_id: &str) -> Result<Option<ClientRow>, StoreError> {
        self.fast.client(client_id)
    }

    /// A token by its id (inline read).
    pub fn token(&self, id: u64) -> Result<Option<TokenRow>, StoreError> {
        self.fast.token(id)
    }

    /// Writes a new token pair unless the credential changed since it was
    /// checked (`None` then).
    pub async fn issue_tokens(&self, pair: TokenPair) -> Result<Option<IssuedIds>, StoreError> {
        self.tokens()?.issue(pair).await
    }

    /// Consumes a refresh token and writes its successor pair atomically.
    pub async fn refresh_tokens(
        &self,
        old: OldRefresh,
        pair: TokenPair,
    ) -> Result<Option<IssuedIds>, StoreError> {
        self.tokens()?.refresh(old, pair).await
    }

    /// Everything about a connection's credentials but their values.
    pub async fn credentials_info(
        &self,
        code: &str,
        warnings_since_ms: i64,
    ) -> Result<CredentialsInfo, StoreError> {
        let now = self.now_millis();
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(
            "SELECT c.id, c.client_id, c.username, c.secret_rotated_at, c.password_rotated_at,
                (SELECT COUNT(*) FROM tokens t WHERE t.connection_id = c.id
                    AND t.kind = 'access' AND t.expires_at > $2) AS access,
                (SELECT COUNT(*) FROM tokens t WHERE t.connection_id = c.id
                    AND t.kind = 'refresh' AND t.expires_at > $2) AS refresh
             FROM connections c WHERE c.code = $1",
        )
        .bind(code)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound)?;
        let id: i64 = row.try_get("id")?;
        let wrong = sqlx::query(
            "SELECT username, first_at, last_at, attempts FROM wrong_credentials
             WHERE connection_id = $1 AND last_at >= $2 ORDER BY last_at DESC LIMIT 50",
        )
        .bind(id)
        .bind(warnings_since_ms)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        let count = |v: i64| u64::try_from(v).unwrap_or(0);
        Ok(CredentialsInfo {
            code: code.to_string(),
            client_id: row.try_get("client_id")?,
            username: row.try_get("username")?,
            token_path: crate::TOKEN_PATH.to_string(),
            active_access_tokens: count(row.try_get("access")?),
            active_refresh_tokens: count(row.try_get("refresh")?),
            secret_rotated_at: row
                .try_get::<Option<i64>, _>("secret_rotated_at")?
                .map(from_millis),
            password_rotated_at: row
                .try_get::<Option<i64>, _>("password_rotated_at")?
                .map(from_millis),
            wrong_credentials: wrong
                .iter()
                .map(|r| {
                    Ok(WrongCredentials {
                        username: r.try_get("username")?,
                        first_at: from_millis(r.try_get("first_at")?),
                        last_at: from_millis(r.try_get("last_at")?),
                        attempts: count(r.try_get("attempts")?),
                    })
                })
                .collect::<Result<_, sqlx::Error>>()?,
        })
    }

    /// The secret, decrypted, with an audit record of who saw it (R5).
    pub async fn reveal_secret(
        &self,
        acting: &Acting<'_>,
        code: &str,
    ) -> Result<(String, SecretString), StoreError> {
        let mut tx = self.write_tx().await?;
        let row: Option<(String, Vec<u8>, i64)> = sqlx::query_as(
            "SELECT client_id, secret_ciphertext, secret_key_id FROM connections WHERE code = $1",
        )
        .bind(code)
        .fetch_optional(&mut *tx)
        .await?;
        let (client_id, blob, key_id) = row.ok_or(StoreError::NotFound)?;
        let secret = self.keys.decrypt(code, "secret", &sealed(blob, key_id))?;
        self.audit_in(
            &mut tx,
            acting,
            "connection.secret.reveal",
            &connection_target(code),
            &[],
        )
        .await?;
        tx.commit().await?;
        Ok((client_id, secret))
    }

    /// R6: a new secret, every token of the connection revoked, the audit
    /// record — one transaction. The client id stays.
    pub async fn regenerate_secret(
        &self,
        acting: &Acting<'_>,
        code: &str,
    ) -> Result<(String, SecretString, u64), StoreError> {
        self.regenerate(acting, code, Regenerated::Secret).await
    }

    /// R7: a new password (returned once), every token revoked, audited.
    pub async fn regenerate_password(
        &self,
        acting: &Acting<'_>,
        code: &str,
    ) -> Result<(String, SecretString, u64), StoreError> {
        self.regenerate(acting, code, Regenerated::Password).await
    }

    async fn regenerate(
        &self,
        acting: &Acting<'_>,
        code: &str,
        what: Regenerated,
    ) -> Result<(String, SecretString, u64), StoreError> {
        let mut tx = self.write_tx().await?;
        let row: Option<(i64, String, String)> =
            sqlx::query_as("SELECT id, client_id, username FROM connections WHERE code = $1")
                .bind(code)
                .fetch_optional(&mut *tx)
                .await?;
        let (id, client_id, username) = row.ok_or(StoreError::NotFound)?;
        let now = self.now_millis();
        let (value, field, action, shown) = match what {
            Regenerated::Secret => {
                let secret = credentials::new_secret();
                let sealed = self.keys.encrypt(code, "secret", &secret);
                sqlx::query(
                    "UPDATE connections SET secret_ciphertext = $1, secret_key_id = $2,
                         secret_mac = $3, secret_rotated_at = $4,
                         credential_version = credential_version + 1
                     WHERE id = $5",
                )
                .bind(&sealed.blob)
                .bind(i64::from(sealed.key_id))
                .bind(self.keys.mac_hex(secret.expose_secret()))
                .bind(now)
                .bind(id)
                .execute(&mut *tx)
                .await?;
                (secret, "secret", "connection.secret.regenerate", client_id)
            }
            Regenerated::Password => {
                let password = credentials::new_password();
                sqlx::query(
                    "UPDATE connections SET password_hash = $1, password_rotated_at = $2,
                         credential_version = credential_version + 1
                     WHERE id = $3",
                )
                .bind(self.keys.hash_password(&password))
                .bind(now)
                .bind(id)
                .execute(&mut *tx)
                .await?;
                (
                    password,
                    "password",
                    "connection.password.regenerate",
                    username,
                )
            }
        };
        let revoked = sqlx::query("DELETE FROM tokens WHERE connection_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        let revoked_text = revoked.to_string();
        self.audit_in(
            &mut tx,
            acting,
            action,
            &connection_target(code),
            &[
                change(field, Some(MASK), Some(MASK)),
                change("tokens", Some(&revoked_text), Some("0")),
            ],
        )
        .await?;
        tx.commit().await?;
        Ok((shown, value, revoked))
    }

    /// R24: notes that the client of connection `connection_id` came with
    /// `username`, which is not its own.
    pub async fn record_wrong_credentials(
        &self,
        connection_id: i64,
        username: &str,
    ) -> Result<(), StoreError> {
        let now = self.now_millis();
        let mut tx = self.write_tx().await?;
        sqlx::query(
            "INSERT INTO wrong_credentials (connection_id, username, first_at, last_at, attempts)
             VALUES ($1, $2, $3, $3, 1)
             ON CONFLICT (connection_id, username)
             DO UPDATE SET last_at = $3, attempts = attempts + 1",
        )
        .bind(connection_id)
        .bind(username)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE connections SET wrong_credentials_at = $1 WHERE id = $2")
            .bind(now)
            .bind(connection_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// RFC 7009: deletes a token of this connection; a refresh token takes
    /// the access tokens of its grant with it. Whether anything was deleted.
    pub async fn revoke_token(
        &self,
        connection_id: i64,
        id: u64,
        verifier_mac: &str,
    ) -> Result<bool, StoreError> {
        let id = i64::try_from(id).unwrap_or(-1);
        let mut tx = self.write_tx().await?;
        let row: Option<(String, i64)> = sqlx::query_as(
            "SELECT kind, grant_id FROM tokens
             WHERE id = $1 AND verifier_mac = $2 AND connection_id = $3",
        )
        .bind(id)
        .bind(verifier_mac)
        .bind(connection_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((kind, grant)) = row else {
            return Ok(false);
        };
        if kind == "refresh" {
            sqlx::query("DELETE FROM tokens WHERE connection_id = $1 AND grant_id = $2")
                .bind(connection_id)
                .bind(grant)
                .execute(&mut *tx)
                .await?;
        } else {
            sqlx::query("DELETE FROM tokens WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Deletes expired tokens and wrong-credentials records older than
    /// `keep_warnings_since_ms`. Returns how many tokens went.
    pub async fn sweep_expired(&self, keep_warnings_since_ms: i64) -> Result<u64, StoreError> {
        let now = self.now_millis();
        let mut tx = self.write_tx().await?;
        let tokens = sqlx::query("DELETE FROM tokens WHERE expires_at <= $1")
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        sqlx::query("DELETE FROM wrong_credentials WHERE last_at < $1")
            .bind(keep_warnings_since_ms)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "UPDATE connections SET wrong_credentials_at = NULL WHERE wrong_credentials_at < $1",
        )
        .bind(keep_warnings_since_ms)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(tokens)
    }

    /// Every token row of a connection, expired or not (tests, diagnostics).
    pub async fn token_rows(&self, code: &str) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM tokens t JOIN connections c ON c.id = t.connection_id
             WHERE c.code = $1",
        )
        .bind(code)
        .fetch_one(&self.pool)
        .await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Every token row in the store (tests: a deleted connection's go too).
    pub async fn all_token_rows(&self) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM tokens")
            .fetch_one(&self.pool)
            .await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// How many secrets each key of the ring encrypts.
    pub async fn key_usage(&self) -> Result<Vec<(u32, u64)>, StoreError> {
        let rows: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT secret_key_id, COUNT(*) FROM connections GROUP BY secret_key_id ORDER BY 1",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(k, n)| {
                (
                    u32::try_from(k).unwrap_or(u32::MAX),
                    u64::try_from(n).unwrap_or(0),
                )
            })
            .collect())
    }

    /// After a key rotation: re-encrypts every secret not under the active
    /// key, in one transaction. Returns how many were re-encrypted.
    pub async fn reencrypt_secrets(&self, acting: &Acting<'_>) -> Result<u64, StoreError> {
        let active = i64::from(self.keys.info().active);
        let mut tx = self.write_tx().await?;
        let rows: Vec<(i64, String, Vec<u8>, i64)> = sqlx::query_as(
            "SELECT id, code, secret_ciphertext, secret_key_id FROM connections
             WHERE secret_key_id <> $1",
        )
        .bind(active)
        .fetch_all(&mut *tx)
        .await?;
        for (id, code, blob, key_id) in &rows {
            let secret = self
                .keys
                .decrypt(code, "secret", &sealed(blob.clone(), *key_id))?;
            let fresh = self.keys.encrypt(code, "secret", &secret);
            sqlx::query(
                "UPDATE connections SET secret_ciphertext = $1, secret_key_id = $2 WHERE id = $3",
            )
            .bind(&fresh.blob)
            .bind(i64::from(fresh.key_id))
            .bind(id)
            .execute(&mut *tx)
            .await?;
        }
        let n = rows.len() as u64;
        self.audit_in(
            &mut tx,
            acting,
            "keyring.rotate",
            "keyring",
            &[change(
                "active_key",
                None,
                Some(&format!("{active} ({n} secrets re-encrypted)")),
            )],
        )
        .await?;
        tx.commit().await?;
        Ok(n)
    }
}
