//! Connection credentials after creation: reveal (R5), regeneration (R6,
//! R7), tokens (R21, R25) and the wrong-credentials watch (R24).

use secrecy::{ExposeSecret, SecretString};

use super::db::{Db, args};
use super::token_writer;
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
    /// A client by its id (`None` when no connection has it), and the
    /// lock of its failure counter (ms since the epoch; 0: none), in one
    /// read that costs the same whether the id exists or not.
    pub async fn client(&self, client_id: &str) -> Result<(Option<ClientRow>, i64), StoreError> {
        self.db
            .one(
                "SELECT c.id, c.code, c.flow_type, c.secret_mac, c.username, c.password_hash,
                        c.credential_version, f.failures, f.locked_until
                 FROM (SELECT 1 AS one) q
                 LEFT JOIN connections c ON c.client_id = $1
                 LEFT JOIN login_failures f ON f.key = $2",
                args![client_id, client_failure_key(client_id)],
                |r| {
                    let failures = r.get::<Option<i64>>(7)?.unwrap_or(0);
                    let locked_until_ms = r.get::<Option<i64>>(8)?.unwrap_or(0);
                    let Some(id) = r.get::<Option<i64>>(0)? else {
                        return Ok((None, locked_until_ms));
                    };
                    let flow: String = r.get(2)?;
                    Ok((
                        Some(ClientRow {
                            id,
                            code: r.get(1)?,
                            flow_type: FlowType::parse(&flow).unwrap_or(FlowType::Other),
                            secret_mac: r.get(3)?,
                            username: r.get(4)?,
                            password_hash: r.get(5)?,
                            credential_version: r.get(6)?,
                            failures,
                            locked_until_ms,
                        }),
                        locked_until_ms,
                    ))
                },
            )
            .await
    }

    /// A token by its id and its connection, with the catalog's versions
    /// from the same snapshot. Columns by position: looking them up by name
    /// costs more than the read itself.
    pub async fn token(&self, id: u64) -> Result<Option<TokenRow>, StoreError> {
        let Ok(id) = i64::try_from(id) else {
            return Ok(None);
        };
        self.db
            .opt(
                "SELECT t.verifier_mac, t.kind, t.grant_id, t.expires_at,
                        c.id, c.code, c.flow_type, c.role, c.grp,
                        s.version, s.products_version
                 FROM tokens t JOIN connections c ON c.id = t.connection_id
                 JOIN catalog_state s ON s.id = 1
                 WHERE t.id = $1",
                args![id],
                |r| {
                    let kind: String = r.get(1)?;
                    let flow: String = r.get(6)?;
                    Ok(TokenRow {
                        verifier_mac: r.get(0)?,
                        refresh: kind == "refresh",
                        grant_id: r.get(2)?,
                        expires_at_ms: r.get(3)?,
                        connection_id: r.get(4)?,
                        code: r.get(5)?,
                        flow_type: FlowType::parse(&flow).unwrap_or(FlowType::Other),
                        role: r.get(7)?,
                        group: r.get(8)?,
                        catalog_version: r.get(9)?,
                        products_version: r.get(10)?,
                    })
                },
            )
            .await
    }

    /// Writes a new token pair unless the credential changed since it was
    /// checked (`None` then).
    pub async fn issue_tokens(&self, pair: TokenPair) -> Result<Option<IssuedIds>, StoreError> {
        match &self.db {
            Db::Postgres(pg) => token_writer::pg_issue(pg.fast(), None, &pair).await,
            Db::Sqlite(_) => self.tokens()?.issue(pair).await,
        }
    }

    /// Consumes a refresh token and writes its successor pair atomically.
    pub async fn refresh_tokens(
        &self,
        old: OldRefresh,
        pair: TokenPair,
    ) -> Result<Option<IssuedIds>, StoreError> {
        match &self.db {
            Db::Postgres(pg) => token_writer::pg_issue(pg.fast(), Some(&old), &pair).await,
            Db::Sqlite(_) => self.tokens()?.refresh(old, pair).await,
        }
    }

    /// Everything about a connection's credentials but their values.
    pub async fn credentials_info(
        &self,
        code: &str,
        warnings_since_ms: i64,
    ) -> Result<CredentialsInfo, StoreError> {
        let now = self.now_millis();
        let mut tx = self.read_tx().await?;
        let (id, client_id, username, secret_rotated, password_rotated, access, refresh) = tx
            .one(
                "SELECT c.id, c.client_id, c.username, c.secret_rotated_at, c.password_rotated_at,
                    (SELECT COUNT(*) FROM tokens t WHERE t.connection_id = c.id
                        AND t.kind = 'access' AND t.expires_at > $2) AS access,
                    (SELECT COUNT(*) FROM tokens t WHERE t.connection_id = c.id
                        AND t.kind = 'refresh' AND t.expires_at > $2) AS refresh
                 FROM connections c WHERE c.code = $1",
                args![code, now],
                |r| {
                    Ok((
                        r.get::<i64>(0)?,
                        r.get::<String>(1)?,
                        r.get::<String>(2)?,
                        r.get::<Option<i64>>(3)?,
                        r.get::<Option<i64>>(4)?,
                        r.get::<u64>(5)?,
                        r.get::<u64>(6)?,
                    ))
                },
            )
            .await?;
        let wrong = tx
            .rows(
                "SELECT username, first_at, last_at, attempts FROM wrong_credentials
                 WHERE connection_id = $1 AND last_at >= $2 ORDER BY last_at DESC LIMIT 50",
                args![id, warnings_since_ms],
                |r| {
                    Ok(WrongCredentials {
                        username: r.get(0)?,
                        first_at: from_millis(r.get(1)?),
                        last_at: from_millis(r.get(2)?),
                        attempts: r.get(3)?,
                    })
                },
            )
            .await?;
        tx.commit().await?;
        Ok(CredentialsInfo {
            code: code.to_string(),
            client_id,
            username,
            token_path: crate::TOKEN_PATH.to_string(),
            active_access_tokens: access,
            active_refresh_tokens: refresh,
            secret_rotated_at: secret_rotated.map(from_millis),
            password_rotated_at: password_rotated.map(from_millis),
            wrong_credentials: wrong,
        })
    }

    /// The secret, decrypted, with an audit record of who saw it (R5).
    pub async fn reveal_secret(
        &self,
        acting: &Acting<'_>,
        code: &str,
    ) -> Result<(String, SecretString), StoreError> {
        let mut tx = self.write_tx().await?;
        let row: Option<(String, Vec<u8>, i64)> = tx
            .opt(
                "SELECT client_id, secret_ciphertext, secret_key_id FROM connections WHERE code = $1",
                args![code],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
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
        if what == Regenerated::Secret {
            self.keys_current_in(&mut tx).await?;
        }
        let row: Option<(i64, String, String)> = tx
            .opt(
                "SELECT id, client_id, username FROM connections WHERE code = $1",
                args![code],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .await?;
        let (id, client_id, username) = row.ok_or(StoreError::NotFound)?;
        let now = self.now_millis();
        let (value, field, action, shown) = match what {
            Regenerated::Secret => {
                let secret = credentials::new_secret();
                let sealed = self.keys.encrypt(code, "secret", &secret);
                tx.exec(
                    "UPDATE connections SET secret_ciphertext = $1, secret_key_id = $2,
                         secret_mac = $3, secret_rotated_at = $4,
                         credential_version = credential_version + 1
                     WHERE id = $5",
                    args![
                        &sealed.blob,
                        i64::from(sealed.key_id),
                        self.keys.mac_hex(secret.expose_secret()),
                        now,
                        id
                    ],
                )
                .await?;
                (secret, "secret", "connection.secret.regenerate", client_id)
            }
            Regenerated::Password => {
                let password = credentials::new_password();
                tx.exec(
                    "UPDATE connections SET password_hash = $1, password_rotated_at = $2,
                         credential_version = credential_version + 1
                     WHERE id = $3",
                    args![self.keys.hash_password(&password), now, id],
                )
                .await?;
                (
                    password,
                    "password",
                    "connection.password.regenerate",
                    username,
                )
            }
        };
        let revoked = tx
            .exec("DELETE FROM tokens WHERE connection_id = $1", args![id])
            .await?;
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
        tx.exec(
            "INSERT INTO wrong_credentials (connection_id, username, first_at, last_at, attempts)
             VALUES ($1, $2, $3, $3, 1)
             ON CONFLICT (connection_id, username)
             DO UPDATE SET last_at = $3, attempts = wrong_credentials.attempts + 1",
            args![connection_id, username, now],
        )
        .await?;
        tx.exec(
            "UPDATE connections SET wrong_credentials_at = $1 WHERE id = $2",
            args![now, connection_id],
        )
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
        let row: Option<(String, i64)> = tx
            .opt(
                "SELECT kind, grant_id FROM tokens
                 WHERE id = $1 AND verifier_mac = $2 AND connection_id = $3",
                args![id, verifier_mac, connection_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .await?;
        let Some((kind, grant)) = row else {
            return Ok(false);
        };
        if kind == "refresh" {
            tx.exec(
                "DELETE FROM tokens WHERE connection_id = $1 AND grant_id = $2",
                args![connection_id, grant],
            )
            .await?;
        } else {
            tx.exec("DELETE FROM tokens WHERE id = $1", args![id])
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
        let tokens = tx
            .exec("DELETE FROM tokens WHERE expires_at <= $1", args![now])
            .await?;
        // Failure counters whose window and lock are long over (an unknown
        // client id is counted too, so these would otherwise pile up).
        tx.exec(
            "DELETE FROM login_failures WHERE locked_until < $1 AND window_start < $1 - 3600000",
            args![now],
        )
        .await?;
        tx.exec(
            "DELETE FROM wrong_credentials WHERE last_at < $1",
            args![keep_warnings_since_ms],
        )
        .await?;
        tx.exec(
            "UPDATE connections SET wrong_credentials_at = NULL WHERE wrong_credentials_at < $1",
            args![keep_warnings_since_ms],
        )
        .await?;
        tx.commit().await?;
        Ok(tokens)
    }

    /// Every token row of a connection, expired or not (tests, diagnostics).
    pub async fn token_rows(&self, code: &str) -> Result<u64, StoreError> {
        let n: i64 = self
            .db
            .one(
                "SELECT COUNT(*) FROM tokens t JOIN connections c ON c.id = t.connection_id
             WHERE c.code = $1",
                args![code],
                |r| r.get(0),
            )
            .await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Every token row in the store (tests: a deleted connection's go too).
    pub async fn all_token_rows(&self) -> Result<u64, StoreError> {
        let n: i64 = self
            .db
            .one("SELECT COUNT(*) FROM tokens", args![], |r| r.get(0))
            .await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// How many secrets each key of the ring encrypts (the connections'
    /// and their applications', R5 and R26).
    pub async fn key_usage(&self) -> Result<Vec<(u32, u64)>, StoreError> {
        let rows: Vec<(i64, i64)> = self
            .db
            .rows(
                "SELECT k, COUNT(*) FROM (
                     SELECT secret_key_id AS k FROM connections
                     UNION ALL
                     SELECT app_secret_key_id AS k FROM connections
                     WHERE app_secret_ciphertext IS NOT NULL
                 ) s GROUP BY k ORDER BY 1",
                args![],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
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
    /// key (the applications' secret values too), in one transaction.
    /// Returns how many were re-encrypted.
    pub async fn reencrypt_secrets(&self, acting: &Acting<'_>) -> Result<u64, StoreError> {
        let mut tx = self.write_tx().await?;
        self.keys_current_in(&mut tx).await?;
        let active = i64::from(self.keys.info().active);
        // From this commit on, every instance encrypts with this key or
        // refuses to write (`keys_current_in`).
        tx.exec(
            "UPDATE keyring_state SET active_key_id = $1 WHERE id = 1 AND active_key_id < $1",
            args![active],
        )
        .await?;
        let rows: Vec<(i64, String, Vec<u8>, i64)> = tx
            .rows(
                "SELECT id, code, secret_ciphertext, secret_key_id FROM connections
                 WHERE secret_key_id <> $1",
                args![active],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .await?;
        for (id, code, blob, key_id) in &rows {
            let secret = self
                .keys
                .decrypt(code, "secret", &sealed(blob.clone(), *key_id))?;
            let fresh = self.keys.encrypt(code, "secret", &secret);
            tx.exec(
                "UPDATE connections SET secret_ciphertext = $1, secret_key_id = $2 WHERE id = $3",
                args![&fresh.blob, i64::from(fresh.key_id), id],
            )
            .await?;
        }
        // The applications' secret values (R26) too.
        let n = rows.len() as u64 + self.reencrypt_app_secrets_in(&mut tx, active).await?;
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
