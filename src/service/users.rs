//! Users, login and sessions (SPEC §1, §7).

use std::net::IpAddr;

use secrecy::{ExposeSecret, SecretString};

use super::{Actor, Service, ServiceError};
use crate::domain::{self, credentials};
use crate::model::{
    Login, NewUser, PasswordChange, SessionToken, Source, User, UserKind, UserWithPassword,
};
use crate::store::users::{LockoutPolicy, UserRow, hash_password, verify_password};
use crate::store::{Acting, StoreError};

/// A session ends after this long without a request.
pub const SESSION_IDLE_SECS: u64 = 12 * 3600;

/// Per username: 5 failures in 15 minutes lock it for 15 minutes.
const USER_LOCKOUT: LockoutPolicy = LockoutPolicy {
    max_failures: 5,
    window_ms: 15 * 60_000,
    lock_ms: 15 * 60_000,
};

/// Per address: 20 failures in 15 minutes lock it for 15 minutes.
const ADDRESS_LOCKOUT: LockoutPolicy = LockoutPolicy {
    max_failures: 20,
    window_ms: 15 * 60_000,
    lock_ms: 15 * 60_000,
};

fn wrong_login() -> ServiceError {
    // The same answer for an unknown user and a wrong password.
    ServiceError::Unauthenticated {
        message: "wrong username or password".to_string(),
    }
}

fn user_not_found(name: &str) -> ServiceError {
    ServiceError::NotFound {
        message: format!("user {name:?} not found"),
    }
}

/// What `serve` did about the owner on start.
pub enum OwnerSetup {
    /// The owner can already log in.
    Ready { username: String },
    /// The owner was created or given a password now; the generated one, if
    /// any, is to be shown once.
    Prepared {
        username: String,
        generated_password: Option<SecretString>,
    },
}

impl Service {
    fn internal(e: StoreError) -> ServiceError {
        ServiceError::from_store(e, None)
    }

    /// The user behind a session token.
    pub async fn authenticate(&self, token: &str) -> Result<Actor, ServiceError> {
        // Asked of the database every time (no cache), so a session ended
        // on any instance is refused on every other from the next request.
        let idle_ms = (SESSION_IDLE_SECS * 1000) as i64;
        match self
            .store
            .session_user(token, idle_ms)
            .await
            .map_err(Self::internal)?
        {
            Some(user) => Ok(Actor {
                username: user.username,
                kind: user.kind,
            }),
            None => Err(ServiceError::Unauthenticated {
                message: "the session has expired or is unknown; log in again".to_string(),
            }),
        }
    }

    /// Checks a username and password and opens a session. Failed attempts
    /// count per username and per address, in the database.
    pub async fn login(
        &self,
        login: Login,
        addr: Option<IpAddr>,
    ) -> Result<SessionToken, ServiceError> {
        if login.username.is_empty() {
            return Err(ServiceError::invalid("username", "username is required"));
        }
        // No user has a longer name (domain::validate_username): refused
        // before it is logged, counted or stored.
        let n = login.username.chars().count();
        if n > domain::USERNAME_MAX {
            return Err(ServiceError::invalid(
                "username",
                format!(
                    "username must be at most {} characters, not {n}",
                    domain::USERNAME_MAX
                ),
            ));
        }
        if login.username.chars().any(char::is_control) {
            // No user name holds one: refused as such, and logged quoted and
            // escaped (a newline or an escape sequence cannot forge or
            // colour a log line).
            tracing::info!(username = ?login.username, "login refused: control characters in the username");
            return Err(ServiceError::invalid(
                "username",
                "username must not contain control characters",
            ));
        }
        if login.password.is_empty() {
            return Err(ServiceError::invalid("password", "password is required"));
        }
        if login.password.len() > domain::PASSWORD_MAX * 4 {
            return Err(wrong_login());
        }
        let user_key = format!("user:{}", login.username);
        let addr_key = format!(
            "addr:{}",
            addr.map_or("local".to_string(), |a| a.to_string())
        );
        let keys = [user_key.clone(), addr_key.clone()];
        if let Some(wait_ms) = self.store.login_lock(&keys).await.map_err(Self::internal)? {
            let secs = (wait_ms as u64).div_ceil(1000).max(1);
            return Err(ServiceError::TooManyRequests {
                retry_after_secs: secs,
                message: format!("too many failed logins; try again in {secs} s"),
            });
        }
        let row = self
            .store
            .user_by_name(&login.username)
            .await
            .map_err(Self::internal)?;
        let password = SecretString::from(login.password);
        let stored = row.as_ref().and_then(|r| r.password_hash.clone());
        if !verify_password(&password, stored).await {
            self.store
                .record_login_failure(&user_key, USER_LOCKOUT)
                .await
                .map_err(Self::internal)?;
            self.store
                .record_login_failure(&addr_key, ADDRESS_LOCKOUT)
                .await
                .map_err(Self::internal)?;
            // Quoted and escaped: a newline or an escape sequence in what
            // the client sent cannot forge or colour a log line.
            tracing::info!(username = ?login.username, "login failed");
            return Err(wrong_login());
        }
        let row = row.ok_or_else(wrong_login)?;
        self.store
            .clear_login_failures(&user_key)
            .await
            .map_err(Self::internal)?;
        let token = credentials::new_session_token();
        self.store
            .create_session(row.id, &token)
            .await
            .map_err(Self::internal)?;
        tracing::info!(username = %row.user.username, "login");
        Ok(SessionToken {
            token: token.expose_secret().to_string(),
            user: row.user,
            idle_timeout_secs: SESSION_IDLE_SECS,
        })
    }

    /// Ends the session of `token`.
    pub async fn logout(&self, token: &str) -> Result<(), ServiceError> {
        self.store
            .delete_session(token)
            .await
            .map_err(Self::internal)?;
        Ok(())
    }

    /// A user who must exist (404 naming them otherwise).
    async fn existing_user(&self, username: &str) -> Result<UserRow, ServiceError> {
        self.store
            .user_by_name(username)
            .await
            .map_err(Self::internal)?
            .ok_or_else(|| user_not_found(username))
    }

    pub async fn list_users(&self, actor: &Actor) -> Result<Vec<User>, ServiceError> {
        Self::require_admin(actor, "list users")?;
        self.store.list_users().await.map_err(Self::internal)
    }

    /// The password to store: the one given (checked) or a generated one,
    /// which is returned to be shown once.
    async fn choose_password(
        given: Option<String>,
    ) -> Result<(String, Option<String>), ServiceError> {
        let (password, generated) = match given {
            Some(p) => {
                domain::validate_human_password(&p)?;
                (SecretString::from(p), None)
            }
            None => {
                let p = credentials::new_human_password();
                let shown = p.expose_secret().to_string();
                (p, Some(shown))
            }
        };
        let hash = hash_password(&password).await.map_err(Self::internal)?;
        Ok((hash, generated))
    }

    pub async fn create_user(
        &self,
        actor: &Actor,
        source: Source,
        new: NewUser,
    ) -> Result<UserWithPassword, ServiceError> {
        Self::require_admin(actor, "add users")?;
        domain::validate_username(&new.username)?;
        match new.kind {
            UserKind::Owner => {
                return Err(ServiceError::invalid(
                    "kind",
                    "there is one owner, created first; add an admin or a member",
                ));
            }
            UserKind::Admin if actor.kind != UserKind::Owner => {
                return Err(ServiceError::Forbidden {
                    message: "only the owner may add admins".to_string(),
                });
            }
            _ => {}
        }
        let (hash, generated) = Self::choose_password(new.password).await?;
        let acting = actor.acting(source);
        let user = self
            .store
            .create_user(&acting, &new.username, new.kind, Some(hash))
            .await
            .map_err(Self::internal)?;
        Ok(UserWithPassword {
            user,
            generated_password: generated,
        })
    }

    pub async fn remove_user(
        &self,
        actor: &Actor,
        source: Source,
        username: &str,
    ) -> Result<(), ServiceError> {
        Self::require_admin(actor, "remove users")?;
        let target = self.existing_user(username).await?;
        if target.user.kind == UserKind::Admin && actor.kind != UserKind::Owner {
            return Err(ServiceError::Forbidden {
                message: "only the owner may remove admins".to_string(),
            });
        }
        let acting = actor.acting(source);
        let removed = self.store.remove_user(&acting, username).await;
        match removed {
            Ok(_) => Ok(()),
            Err(StoreError::NotFound) => Err(user_not_found(username)),
            Err(e) => Err(Self::internal(e)),
        }
    }

    /// Sets a password: anyone their own; admins a member's; the owner anyone's.
    /// Ends the user's sessions.
    pub async fn set_password(
        &self,
        actor: &Actor,
        source: Source,
        username: &str,
        change: PasswordChange,
    ) -> Result<UserWithPassword, ServiceError> {
        let target = self.existing_user(username).await?;
        let allowed = actor.username == username
            || actor.kind == UserKind::Owner
            || (actor.kind == UserKind::Admin && target.user.kind == UserKind::Member);
        if !allowed {
            return Err(ServiceError::Forbidden {
                message: format!("you may not set the password of {username:?}"),
            });
        }
        let (hash, generated) = Self::choose_password(change.password).await?;
        let acting = actor.acting(source);
        let user = self
            .store
            .set_password_hash(&acting, username, &hash)
            .await
            .map_err(Self::internal)?;
        Ok(UserWithPassword {
            user,
            generated_password: generated,
        })
    }

    /// Makes sure the owner can log in to a served backend: creates the owner
    /// (named `owner_name`, default "owner") on an empty store, or gives a
    /// password-less owner (from embedded use) one. `password` is used when
    /// given, else one is generated and returned to be printed once.
    pub async fn prepare_owner(
        &self,
        owner_name: Option<&str>,
        password: Option<SecretString>,
    ) -> Result<OwnerSetup, ServiceError> {
        if let Some(p) = &password {
            domain::validate_human_password(p.expose_secret())?;
        }
        let existing = self.store.owner().await.map_err(Self::internal)?;
        if let Some(owner) = &existing
            && owner.password_hash.is_some()
        {
            return Ok(OwnerSetup::Ready {
                username: owner.user.username.clone(),
            });
        }
        let (password, generated) = match password {
            Some(p) => (p, None),
            None => {
                let p = credentials::new_human_password();
                (p.clone(), Some(p))
            }
        };
        let hash = hash_password(&password).await.map_err(Self::internal)?;
        let username = match existing {
            Some(owner) => {
                let acting = Acting {
                    user: &owner.user.username,
                    source: Source::System,
                };
                self.store
                    .set_password_hash(&acting, &owner.user.username, &hash)
                    .await
                    .map_err(Self::internal)?;
                owner.user.username
            }
            None => {
                let name = owner_name.unwrap_or("owner");
                domain::validate_username(name)?;
                let acting = Acting {
                    user: name,
                    source: Source::System,
                };
                if let Err(e) = self
                    .store
                    .create_user(&acting, name, UserKind::Owner, Some(hash))
                    .await
                {
                    // Another instance starting at the same time on the same
                    // database created the owner first.
                    if let Ok(Some(owner)) = self.store.owner().await
                        && owner.password_hash.is_some()
                    {
                        return Ok(OwnerSetup::Ready {
                            username: owner.user.username,
                        });
                    }
                    return Err(Self::internal(e));
                }
                name.to_string()
            }
        };
        Ok(OwnerSetup::Prepared {
            username,
            generated_password: generated,
        })
    }
}
