//! Users, login sessions and failed-login counters. Human passwords are
//! hashed with argon2id here, behind a concurrency cap; session tokens are
//! kept only as keyed digests.

use std::sync::OnceLock;

use argon2::password_hash::{PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Argon2, PasswordHash};
use secrecy::{ExposeSecret, SecretString};
use sqlx::Row;
use tokio::sync::Semaphore;

use super::{Acting, MASK, Store, StoreError, change, from_millis};
use crate::model::{User, UserKind};

/// At most this many argon2 computations at once (each takes ~19 MiB and
/// ~20 ms of a core), so a burst of logins cannot exhaust the machine.
const HASH_CONCURRENCY: usize = 4;

fn hash_permits() -> &'static Semaphore {
    static PERMITS: OnceLock<Semaphore> = OnceLock::new();
    PERMITS.get_or_init(|| Semaphore::new(HASH_CONCURRENCY))
}

/// Hashes a human password with argon2id at the OWASP parameters
/// (m=19 MiB, t=2, p=1: the crate's defaults).
pub async fn hash_password(password: &SecretString) -> Result<String, StoreError> {
    let _permit = hash_permits()
        .acquire()
        .await
        .map_err(|_| StoreError::Hash)?;
    let password = password.clone();
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::from_b64(&base64_salt()).map_err(|_| StoreError::Hash)?;
        Argon2::default()
            .hash_password(password.expose_secret().as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|_| StoreError::Hash)
    })
    .await
    .map_err(|_| StoreError::Hash)?
}

fn base64_salt() -> String {
    use base64::Engine;
    let bytes = crate::domain::credentials::random_bytes::<16>();
    base64::engine::general_purpose::STANDARD_NO_PAD.encode(bytes)
}

/// A PHC string for no password at all: verifying against it costs the same
/// as a real one, so an unknown user takes as long as a wrong password.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let salt = SaltString::from_b64("c3dpdGNoYm9hcmRkdW1teQ").expect("valid salt");
        Argon2::default()
            .hash_password(b"switchboard-dummy-password", &salt)
            .expect("argon2 hashes")
            .to_string()
    })
}

/// Checks a password against a stored hash (or against a dummy when there is
/// none), in constant time, behind the concurrency cap.
pub async fn verify_password(password: &SecretString, stored: Option<String>) -> bool {
    let Ok(_permit) = hash_permits().acquire().await else {
        return false;
    };
    let password = password.clone();
    tokio::task::spawn_blocking(move || {
        let real = stored.is_some();
        let phc = stored.unwrap_or_else(|| dummy_hash().to_string());
        let ok = PasswordHash::new(&phc)
            .map(|parsed| {
                Argon2::default()
                    .verify_password(password.expose_secret().as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false);
        ok && real
    })
    .await
    .unwrap_or(false)
}

/// A user with what the login needs.
pub struct UserRow {
    pub id: i64,
    pub user: User,
    pub password_hash: Option<String>,
}

fn user_from_row(r: &sqlx::sqlite::SqliteRow) -> Result<UserRow, sqlx::Error> {
    let kind: String = r.try_get("kind")?;
    let hash: Option<String> = r.try_get("password_hash")?;
    Ok(UserRow {
        id: r.try_get("id")?,
        user: User {
            username: r.try_get("username")?,
            kind: UserKind::parse(&kind).unwrap_or(UserKind::Member),
            can_log_in: hash.is_some(),
            version: u64::try_from(r.try_get::<i64, _>("version")?).unwrap_or(1),
            created_at: from_millis(r.try_get("created_at")?),
        },
        password_hash: hash,
    })
}

const USER_COLUMNS: &str = "id, username, kind, password_hash, version, created_at";

/// Failed-login policy: this many failures within the window lock the key
/// for the lock time (HashiCorp Vault's defaults for a user).
#[derive(Debug, Clone, Copy)]
pub struct LockoutPolicy {
    pub max_failures: i64,
    pub window_ms: i64,
    pub lock_ms: i64,
}

impl Store {
    /// The one user matching `condition` (with `$1` bound to `value`).
    async fn one_user(&self, condition: &str, value: &str) -> Result<Option<UserRow>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {USER_COLUMNS} FROM users WHERE {condition}"
        ))
        .bind(value)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(user_from_row).transpose()?)
    }

    pub async fn user_by_name(&self, username: &str) -> Result<Option<UserRow>, StoreError> {
        self.one_user("username = $1", username).await
    }

    pub async fn owner(&self) -> Result<Option<UserRow>, StoreError> {
        self.one_user("kind = $1", UserKind::Owner.as_str()).await
    }

    pub async fn list_users(&self) -> Result<Vec<User>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {USER_COLUMNS} FROM users ORDER BY kind = 'owner' DESC, username"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| Ok(user_from_row(r)?.user)).collect()
    }

    /// Adds a user; `password_hash` is an argon2id PHC string or `None`.
    pub async fn create_user(
        &self,
        acting: &Acting<'_>,
        username: &str,
        kind: UserKind,
        password_hash: Option<String>,
    ) -> Result<User, StoreError> {
        let mut tx = self.write_tx().await?;
        let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM users WHERE username = $1")
            .bind(username)
            .fetch_optional(&mut *tx)
            .await?;
        if exists.is_some() {
            return Err(StoreError::Conflict {
                field: "username",
                message: format!("user {username:?} already exists"),
            });
        }
        let now = self.now_millis();
        let row = sqlx::query(&format!(
            "INSERT INTO users (username, kind, password_hash, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $4) RETURNING {USER_COLUMNS}"
        ))
        .bind(username)
        .bind(kind.as_str())
        .bind(&password_hash)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        let user = user_from_row(&row)?.user;
        let mut changes = vec![
            change("username", None, Some(username)),
            change("kind", None, Some(kind.as_str())),
        ];
        if password_hash.is_some() {
            changes.push(change("password", None, Some(MASK)));
        }
        self.audit_in(
            &mut tx,
            acting,
            "user.create",
            &format!("user:{username}"),
            &changes,
        )
        .await?;
        tx.commit().await?;
        Ok(user)
    }

    /// Removes a user and their sessions. The owner cannot be removed.
    pub async fn remove_user(
        &self,
        acting: &Acting<'_>,
        username: &str,
    ) -> Result<User, StoreError> {
        let mut tx = self.write_tx().await?;
        let row = sqlx::query(&format!(
            "SELECT {USER_COLUMNS} FROM users WHERE username = $1"
        ))
        .bind(username)
        .fetch_optional(&mut *tx)
        .await?;
        let user = row
            .as_ref()
            .map(user_from_row)
            .transpose()?
            .ok_or(StoreError::NotFound)?;
        if user.user.kind == UserKind::Owner {
            return Err(StoreError::Conflict {
                field: "username",
                message: "the owner cannot be removed".to_string(),
            });
        }
        sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(user.id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM users WHERE id = $1")
            .bind(user.id)
            .execute(&mut *tx)
            .await?;
        self.audit_in(
            &mut tx,
            acting,
            "user.remove",
            &format!("user:{username}"),
            &[
                change("username", Some(username), None),
                change("kind", Some(user.user.kind.as_str()), None),
            ],
        )
        .await?;
        tx.commit().await?;
        Ok(user.user)
    }

    /// Replaces a user's password hash and ends all their sessions.
    pub async fn set_password_hash(
        &self,
        acting: &Acting<'_>,
        username: &str,
        password_hash: &str,
    ) -> Result<User, StoreError> {
        let mut tx = self.write_tx().await?;
        let row = sqlx::query(&format!(
            "UPDATE users SET password_hash = $1, version = version + 1, updated_at = $2
             WHERE username = $3 RETURNING {USER_COLUMNS}"
        ))
        .bind(password_hash)
        .bind(self.now_millis())
        .bind(username)
        .fetch_optional(&mut *tx)
        .await?;
        let user = row
            .as_ref()
            .map(user_from_row)
            .transpose()?
            .ok_or(StoreError::NotFound)?;
        sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(user.id)
            .execute(&mut *tx)
            .await?;
        self.audit_in(
            &mut tx,
            acting,
            "user.password",
            &format!("user:{username}"),
            &[change("password", Some(MASK), Some(MASK))],
        )
        .await?;
        tx.commit().await?;
        Ok(user.user)
    }

    // ----- sessions ------------------------------------------------------

    /// Stores a new session for a user; only the token's digest is kept.
    pub async fn create_session(
        &self,
        user_id: i64,
        token: &SecretString,
    ) -> Result<(), StoreError> {
        let now = self.now_millis();
        sqlx::query(
            "INSERT INTO sessions (token_digest, user_id, created_at, last_seen_at) VALUES ($1, $2, $3, $3)",
        )
        .bind(self.keys.mac_hex(token.expose_secret()))
        .bind(user_id)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The user of a live session. A session idle for longer than `idle_ms`
    /// is deleted and yields `None`; a live one is marked as seen (at most
    /// once a minute, to spare writes).
    pub async fn session_user(
        &self,
        token: &str,
        idle_ms: i64,
    ) -> Result<Option<User>, StoreError> {
        let digest = self.keys.mac_hex(token);
        let Some(row) = self.fast.session(&digest)? else {
            return Ok(None);
        };
        let now = self.now_millis();
        if now - row.last_seen_ms > idle_ms {
            sqlx::query("DELETE FROM sessions WHERE token_digest = $1")
                .bind(&digest)
                .execute(&self.pool)
                .await?;
            return Ok(None);
        }
        if now - row.last_seen_ms > 60_000 {
            sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE token_digest = $2")
                .bind(now)
                .bind(&digest)
                .execute(&self.pool)
                .await?;
        }
        Ok(Some(row.user))
    }

    /// Ends a session; returns whether there was one.
    pub async fn delete_session(&self, token: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM sessions WHERE token_digest = $1")
            .bind(self.keys.mac_hex(token))
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    // ----- failed logins -------------------------------------------------

    /// Milliseconds until the first of `keys` is unlocked, if any is locked.
    pub async fn login_lock(&self, keys: &[String]) -> Result<Option<i64>, StoreError> {
        let now = self.now_millis();
        let mut wait = None;
        for key in keys {
            let until: Option<i64> =
                sqlx::query_scalar("SELECT locked_until FROM login_failures WHERE key = $1")
                    .bind(key)
                    .fetch_optional(&self.pool)
                    .await?;
            if let Some(until) = until.filter(|u| *u > now) {
                wait = Some(wait.map_or(until - now, |w: i64| w.max(until - now)));
            }
        }
        Ok(wait)
    }

    /// Counts a failure against `key`; locks it when the policy says so.
    pub async fn record_login_failure(
        &self,
        key: &str,
        policy: LockoutPolicy,
    ) -> Result<(), StoreError> {
        let now = self.now_millis();
        let mut tx = self.write_tx().await?;
        let row = sqlx::query("SELECT failures, window_start FROM login_failures WHERE key = $1")
            .bind(key)
            .fetch_optional(&mut *tx)
            .await?;
        let (failures, window_start) = match row {
            Some(r) => {
                let failures: i64 = r.try_get("failures")?;
                let start: i64 = r.try_get("window_start")?;
                if now - start > policy.window_ms {
                    (1, now)
                } else {
                    (failures + 1, start)
                }
            }
            None => (1, now),
        };
        let locked_until = if failures >= policy.max_failures {
            now + policy.lock_ms
        } else {
            0
        };
        sqlx::query(
            "INSERT INTO login_failures (key, failures, window_start, locked_until) VALUES ($1, $2, $3, $4)
             ON CONFLICT (key) DO UPDATE SET failures = $2, window_start = $3,
                 locked_until = MAX(login_failures.locked_until, $4)",
        )
        .bind(key)
        .bind(if locked_until > 0 { 0 } else { failures })
        .bind(window_start)
        .bind(locked_until)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn clear_login_failures(&self, key: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM login_failures WHERE key = $1")
            .bind(key)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
