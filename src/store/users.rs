//! Users, login sessions and failed-login counters. Human passwords are
//! hashed with argon2id here, behind a concurrency cap; session tokens are
//! kept only as keyed digests.

use std::sync::OnceLock;

use argon2::password_hash::{PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Argon2, PasswordHash};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Semaphore;

use super::db::{Row, args};
use super::{Acting, MASK, Store, StoreError, change, from_millis};
use crate::model::{Me, Source, User, UserKind};

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

/// A user from a row of `USER_COLUMNS`: the one decoder of the record
/// (the session lookup reads the same columns after its own).
fn user_from_row(r: &Row<'_>) -> Result<UserRow, StoreError> {
    let kind: String = r.get("kind")?;
    let hash: Option<String> = r.get("password_hash")?;
    Ok(UserRow {
        id: r.get("id")?,
        user: User {
            username: r.get("username")?,
            kind: UserKind::parse(&kind).unwrap_or(UserKind::Member),
            can_log_in: hash.is_some(),
            version: r.get::<u64>("version")?.max(1),
            created_at: from_millis(r.get("created_at")?),
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
    /// The owner, created with `username` on the first start of an empty store.
    pub async fn ensure_owner(&self, username: &str) -> Result<Me, StoreError> {
        // The common case (a store that has its owner) needs no write.
        let found: Option<String> = self
            .db
            .opt(
                "SELECT username FROM users WHERE kind = 'owner'",
                args![],
                |r| r.get(0),
            )
            .await?;
        if let Some(name) = found {
            return Ok(Me {
                username: name,
                kind: UserKind::Owner,
            });
        }
        let mut tx = self.write_tx().await?;
        let existing: Option<String> = tx
            .opt(
                "SELECT username FROM users WHERE kind = 'owner'",
                args![],
                |r| r.get(0),
            )
            .await?;
        let name = match existing {
            Some(name) => name,
            None => {
                tx.exec(
                    "INSERT INTO users (username, kind, created_at) VALUES ($1, 'owner', $2)",
                    args![username, self.now_millis()],
                )
                .await?;
                let acting = Acting {
                    user: username,
                    source: Source::System,
                };
                self.audit_in(
                    &mut tx,
                    &acting,
                    "user.create",
                    &format!("user:{username}"),
                    &[change("kind", None, Some("owner"))],
                )
                .await?;
                username.to_string()
            }
        };
        tx.commit().await?;
        Ok(Me {
            username: name,
            kind: UserKind::Owner,
        })
    }

    /// The one user matching `condition` (with `$1` bound to `value`).
    async fn one_user(&self, condition: &str, value: &str) -> Result<Option<UserRow>, StoreError> {
        self.db
            .opt(
                &format!("SELECT {USER_COLUMNS} FROM users WHERE {condition}"),
                args![value],
                user_from_row,
            )
            .await
    }

    pub async fn user_by_name(&self, username: &str) -> Result<Option<UserRow>, StoreError> {
        self.one_user("username = $1", username).await
    }

    pub async fn owner(&self) -> Result<Option<UserRow>, StoreError> {
        self.one_user("kind = $1", UserKind::Owner.as_str()).await
    }

    pub async fn list_users(&self) -> Result<Vec<User>, StoreError> {
        self.db
            .rows(
                &format!(
                    "SELECT {USER_COLUMNS} FROM users
                     ORDER BY CASE WHEN kind = 'owner' THEN 0 ELSE 1 END, username"
                ),
                args![],
                |r| Ok(user_from_row(r)?.user),
            )
            .await
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
        let exists: Option<i64> = tx
            .opt(
                "SELECT id FROM users WHERE username = $1",
                args![username],
                |r| r.get(0),
            )
            .await?;
        if exists.is_some() {
            return Err(StoreError::Conflict {
                field: "username",
                message: format!("user {username:?} already exists"),
            });
        }
        let now = self.now_millis();
        let user = tx
            .one(
                &format!(
                    "INSERT INTO users (username, kind, password_hash, created_at, updated_at)
                     VALUES ($1, $2, $3, $4, $4) RETURNING {USER_COLUMNS}"
                ),
                args![username, kind.as_str(), &password_hash, now],
                user_from_row,
            )
            .await?
            .user;
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
        let user = tx
            .one(
                &format!("SELECT {USER_COLUMNS} FROM users WHERE username = $1"),
                args![username],
                user_from_row,
            )
            .await?;
        if user.user.kind == UserKind::Owner {
            return Err(StoreError::Conflict {
                field: "username",
                message: "the owner cannot be removed".to_string(),
            });
        }
        tx.exec("DELETE FROM sessions WHERE user_id = $1", args![user.id])
            .await?;
        tx.exec("DELETE FROM users WHERE id = $1", args![user.id])
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
        let user = tx
            .one(
                &format!(
                    "UPDATE users SET password_hash = $1, version = version + 1, updated_at = $2
                     WHERE username = $3 RETURNING {USER_COLUMNS}"
                ),
                args![password_hash, self.now_millis(), username],
                user_from_row,
            )
            .await?;
        tx.exec("DELETE FROM sessions WHERE user_id = $1", args![user.id])
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
        self.db.exec("INSERT INTO sessions (token_digest, user_id, created_at, last_seen_at) VALUES ($1, $2, $3, $3)", args![self.keys.mac_hex(token.expose_secret()), user_id, now]).await?;
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
        let found: Option<(i64, User)> = self
            .db
            .opt(
                "SELECT s.last_seen_at, u.id, u.username, u.kind, u.password_hash, u.version,
                        u.created_at
                 FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_digest = $1",
                args![&digest],
                |r| Ok((r.get(0)?, user_from_row(r)?.user)),
            )
            .await?;
        let Some((last_seen_ms, user)) = found else {
            return Ok(None);
        };
        let now = self.now_millis();
        if now - last_seen_ms > idle_ms {
            self.db
                .exec(
                    "DELETE FROM sessions WHERE token_digest = $1",
                    args![&digest],
                )
                .await?;
            return Ok(None);
        }
        if now - last_seen_ms > 60_000 {
            self.db
                .exec(
                    "UPDATE sessions SET last_seen_at = $1 WHERE token_digest = $2",
                    args![now, &digest],
                )
                .await?;
        }
        Ok(Some(user))
    }

    /// Ends a session; returns whether there was one.
    pub async fn delete_session(&self, token: &str) -> Result<bool, StoreError> {
        let done = self
            .db
            .exec(
                "DELETE FROM sessions WHERE token_digest = $1",
                args![self.keys.mac_hex(token)],
            )
            .await?;
        Ok(done > 0)
    }

    // ----- failed logins -------------------------------------------------

    /// Milliseconds until the first of `keys` is unlocked, if any is locked.
    pub async fn login_lock(&self, keys: &[String]) -> Result<Option<i64>, StoreError> {
        let now = self.now_millis();
        let mut wait = None;
        for key in keys {
            let until: Option<i64> = self
                .db
                .opt(
                    "SELECT locked_until FROM login_failures WHERE key = $1",
                    args![key],
                    |r| r.get(0),
                )
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
        let row: Option<(i64, i64)> = tx
            .opt(
                "SELECT failures, window_start FROM login_failures WHERE key = $1",
                args![key],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .await?;
        let (failures, window_start) = match row {
            Some((failures, start)) => {
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
        let sql = format!(
            "INSERT INTO login_failures (key, failures, window_start, locked_until) VALUES ($1, $2, $3, $4)
             ON CONFLICT (key) DO UPDATE SET failures = $2, window_start = $3,
                 locked_until = {}",
            self.dialect().greatest("login_failures.locked_until", "$4")
        );
        tx.exec(
            &sql,
            args![
                key,
                if locked_until > 0 { 0 } else { failures },
                window_start,
                locked_until
            ],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn clear_login_failures(&self, key: &str) -> Result<(), StoreError> {
        self.db
            .exec("DELETE FROM login_failures WHERE key = $1", args![key])
            .await?;
        Ok(())
    }
}
