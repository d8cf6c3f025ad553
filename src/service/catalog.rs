//! Roles (R10), groups and categories (R11): who may change them (owner and
//! admins; everyone may read them), the rules, and what the Web API checks a
//! request against — a snapshot of every role and group, cached and
//! re-read whenever the database's catalog version moves.

use std::collections::{HashMap, HashSet};
use std::num::NonZeroU32;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use super::{Actor, Service, ServiceError};
use crate::domain::catalog::{self as rules, CategoryTree, GroupAccess};
use crate::model::{
    Category, CategoryPatch, Group, GroupPatch, NewCategory, NewGroup, NewRole, Permission, Role,
    RolePatch, Source,
};
use crate::store::StoreError;

/// The `catalog_state` version a request was authenticated at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CatalogVersion(pub i64);

/// Roles, groups and the tree at one catalog version.
#[derive(Debug)]
pub struct CatalogSnapshot {
    pub version: i64,
    pub roles: HashMap<String, Vec<Permission>>,
    pub groups: HashMap<String, GroupAccess>,
    pub tree: CategoryTree,
}

impl CatalogSnapshot {
    fn build(rows: crate::store::CatalogRows) -> CatalogSnapshot {
        let tree = CategoryTree::new(rows.categories);
        let mut grants: HashMap<String, Vec<(String, crate::model::CategoryLevel)>> =
            HashMap::new();
        for (group, category, level) in rows.grants {
            grants.entry(group).or_default().push((category, level));
        }
        let groups = rows
            .groups
            .into_iter()
            .map(|(code, everything)| {
                let access = if everything {
                    GroupAccess::Everything
                } else {
                    GroupAccess::resolve(&tree, grants.get(&code).map_or(&[][..], Vec::as_slice))
                };
                (code, access)
            })
            .collect();
        CatalogSnapshot {
            version: rows.version,
            roles: rows.roles.into_iter().collect(),
            groups,
            tree,
        }
    }
}

/// The per-connection rate limit of the Web API (a token bucket each).
pub struct WebApiLimit {
    limiter: Option<DefaultKeyedRateLimiter<i64>>,
    clock: DefaultClock,
}

/// Requests per second and burst a connection may send by default.
pub const DEFAULT_RATE_PER_SECOND: u32 = 100;
pub const DEFAULT_RATE_BURST: u32 = 200;

impl WebApiLimit {
    /// `per_second` 0 turns the limit off.
    pub fn new(per_second: u32, burst: u32) -> WebApiLimit {
        let limiter = NonZeroU32::new(per_second).map(|rate| {
            let burst = NonZeroU32::new(burst.max(per_second)).unwrap_or(rate);
            RateLimiter::keyed(Quota::per_second(rate).allow_burst(burst))
        });
        WebApiLimit {
            limiter,
            clock: DefaultClock::default(),
        }
    }

    /// Takes one request from the connection's bucket, or says how long to
    /// wait.
    pub fn check(&self, connection_id: i64) -> Result<(), Duration> {
        match &self.limiter {
            None => Ok(()),
            Some(l) => l
                .check_key(&connection_id)
                .map_err(|not_until| not_until.wait_time_from(self.clock.now())),
        }
    }
}

/// What a service keeps for the Web API between requests.
pub struct CatalogCache {
    snapshot: RwLock<Option<Arc<CatalogSnapshot>>>,
    pub(super) limit: WebApiLimit,
}

impl Default for CatalogCache {
    fn default() -> Self {
        CatalogCache {
            snapshot: RwLock::new(None),
            limit: WebApiLimit::new(DEFAULT_RATE_PER_SECOND, DEFAULT_RATE_BURST),
        }
    }
}

fn store_err(e: StoreError) -> ServiceError {
    ServiceError::from_store(e, None)
}

impl Service {
    /// Sets the Web API's per-connection rate limit (`per_second` 0: none).
    pub fn with_rate_limit(mut self, per_second: u32, burst: u32) -> Self {
        self.catalog.limit = WebApiLimit::new(per_second, burst);
        self
    }

    /// Roles and groups as the database holds them now: the cached snapshot
    /// when its version is the stored one (one primary-key read), else a
    /// fresh one. A change made through any server instance shows on the
    /// next request.
    pub async fn catalog_snapshot(&self) -> Result<Arc<CatalogSnapshot>, StoreError> {
        let version = self.store.catalog_version().await?;
        self.catalog_snapshot_at(CatalogVersion(version)).await
    }

    /// The snapshot at `version` (read with the request's token).
    pub async fn catalog_snapshot_at(
        &self,
        CatalogVersion(version): CatalogVersion,
    ) -> Result<Arc<CatalogSnapshot>, StoreError> {
        // A cached snapshot at this version or a later one is fresh enough
        // (the version only goes up).
        if let Ok(guard) = self.catalog.snapshot.read()
            && let Some(s) = guard.as_ref()
            && s.version >= version
        {
            return Ok(Arc::clone(s));
        }
        let fresh = Arc::new(CatalogSnapshot::build(self.store.catalog_rows().await?));
        if let Ok(mut guard) = self.catalog.snapshot.write() {
            let newer = guard.as_ref().is_some_and(|s| s.version > fresh.version);
            if !newer {
                *guard = Some(Arc::clone(&fresh));
            }
        }
        Ok(fresh)
    }

    /// The codes of the connections `actor` may see (R18); `None` for admins.
    async fn visible_codes(&self, actor: &Actor) -> Result<Option<HashSet<String>>, ServiceError> {
        if actor.is_admin() {
            return Ok(None);
        }
        let (items, _) = self
            .store
            .list_connections_for(0, None, Some(&actor.username), None)
            .await
            .map_err(store_err)?;
        Ok(Some(items.into_iter().map(|c| c.code).collect()))
    }

    fn only_visible(list: &mut Vec<String>, visible: &Option<HashSet<String>>) {
        if let Some(v) = visible {
            list.retain(|c| v.contains(c));
        }
    }

    // ----- roles -------------------------------------------------------------

    pub async fn list_roles(&self, actor: &Actor) -> Result<Vec<Role>, ServiceError> {
        let visible = self.visible_codes(actor).await?;
        let mut roles = self.store.list_roles().await.map_err(store_err)?;
        for r in &mut roles {
            Self::only_visible(&mut r.connections, &visible);
        }
        Ok(roles)
    }

    pub async fn get_role(&self, actor: &Actor, code: &str) -> Result<Role, ServiceError> {
        let visible = self.visible_codes(actor).await?;
        let mut role = self.store.get_role(code).await.map_err(store_err)?;
        Self::only_visible(&mut role.connections, &visible);
        Ok(role)
    }

    pub async fn create_role(
        &self,
        actor: &Actor,
        source: Source,
        new: NewRole,
    ) -> Result<Role, ServiceError> {
        Self::require_admin(actor, "create roles")?;
        rules::validate_set_code(&new.code)?;
        let label = rules::validate_name(&new.label, "label")?;
        let permissions = rules::normalize_permissions(&new.permissions);
        self.store
            .create_role(&actor.acting(source), &new.code, &label, &permissions)
            .await
            .map_err(store_err)
    }

    pub async fn update_role(
        &self,
        actor: &Actor,
        source: Source,
        code: &str,
        patch: RolePatch,
    ) -> Result<Role, ServiceError> {
        Self::require_admin(actor, "change roles")?;
        let label = patch
            .label
            .as_deref()
            .map(|l| rules::validate_name(l, "label"))
            .transpose()?;
        let permissions = patch
            .permissions
            .as_deref()
            .map(rules::normalize_permissions);
        self.store
            .update_role(
                &actor.acting(source),
                code,
                label.as_deref(),
                permissions.as_deref(),
                patch.version,
            )
            .await
            .map_err(store_err)
    }

    pub async fn delete_role(
        &self,
        actor: &Actor,
        source: Source,
        code: &str,
    ) -> Result<(), ServiceError> {
        Self::require_admin(actor, "delete roles")?;
        self.store
            .delete_role(&actor.acting(source), code)
            .await
            .map_err(store_err)
    }

    // ----- groups ------------------------------------------------------------

    pub async fn list_groups(&self, actor: &Actor) -> Result<Vec<Group>, ServiceError> {
        let visible = self.visible_codes(actor).await?;
        let mut groups = self.store.list_groups().await.map_err(store_err)?;
        for g in &mut groups {
            Self::only_visible(&mut g.connections, &visible);
        }
        Ok(groups)
    }

    pub async fn get_group(&self, actor: &Actor, code: &str) -> Result<Group, ServiceError> {
        let visible = self.visible_codes(actor).await?;
        let mut group = self.store.get_group(code).await.map_err(store_err)?;
        Self::only_visible(&mut group.connections, &visible);
        Ok(group)
    }

    pub async fn create_group(
        &self,
        actor: &Actor,
        source: Source,
        new: NewGroup,
    ) -> Result<Group, ServiceError> {
        Self::require_admin(actor, "create groups")?;
        rules::validate_set_code(&new.code)?;
        let label = rules::validate_name(&new.label, "label")?;
        let grants = rules::normalize_grants(&new.permissions)?;
        self.store
            .create_group(&actor.acting(source), &new.code, &label, &grants)
            .await
            .map_err(store_err)
    }

    pub async fn update_group(
        &self,
        actor: &Actor,
        source: Source,
        code: &str,
        patch: GroupPatch,
    ) -> Result<Group, ServiceError> {
        Self::require_admin(actor, "change groups")?;
        let label = patch
            .label
            .as_deref()
            .map(|l| rules::validate_name(l, "label"))
            .transpose()?;
        let grants = patch
            .permissions
            .as_deref()
            .map(rules::normalize_grants)
            .transpose()?;
        self.store
            .update_group(
                &actor.acting(source),
                code,
                label.as_deref(),
                grants.as_deref(),
                patch.version,
            )
            .await
            .map_err(store_err)
    }

    pub async fn delete_group(
        &self,
        actor: &Actor,
        source: Source,
        code: &str,
    ) -> Result<(), ServiceError> {
        Self::require_admin(actor, "delete groups")?;
        self.store
            .delete_group(&actor.acting(source), code)
            .await
            .map_err(store_err)
    }

    // ----- categories --------------------------------------------------------

    pub async fn list_categories(&self, _actor: &Actor) -> Result<Vec<Category>, ServiceError> {
        self.store.list_categories().await.map_err(store_err)
    }

    pub async fn get_category(&self, _actor: &Actor, code: &str) -> Result<Category, ServiceError> {
        self.store.get_category(code).await.map_err(store_err)
    }

    pub async fn create_category(
        &self,
        actor: &Actor,
        source: Source,
        new: NewCategory,
    ) -> Result<Category, ServiceError> {
        Self::require_admin(actor, "create categories")?;
        rules::validate_category_code(&new.code, "code")?;
        let label = rules::validate_name(&new.label, "label")?;
        if let Some(p) = &new.parent {
            rules::validate_category_code(p, "parent")?;
        }
        self.store
            .create_category(
                &actor.acting(source),
                &new.code,
                &label,
                new.parent.as_deref(),
            )
            .await
            .map_err(store_err)
    }

    pub async fn rename_category(
        &self,
        actor: &Actor,
        source: Source,
        code: &str,
        patch: CategoryPatch,
    ) -> Result<Category, ServiceError> {
        Self::require_admin(actor, "rename categories")?;
        let label = rules::validate_name(&patch.label, "label")?;
        self.store
            .rename_category(&actor.acting(source), code, &label)
            .await
            .map_err(store_err)
    }

    pub async fn delete_category(
        &self,
        actor: &Actor,
        source: Source,
        code: &str,
    ) -> Result<(), ServiceError> {
        Self::require_admin(actor, "delete categories")?;
        self.store
            .delete_category(&actor.acting(source), code)
            .await
            .map_err(store_err)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    #[test]
    fn the_demo_catalog_names_only_what_it_defines() {
        let demo: super::super::DemoFile =
            serde_json::from_str(super::super::DEMO_JSON).expect("demo.json parses");
        let categories: HashSet<&str> = demo.categories.iter().map(|c| c.code.as_str()).collect();
        for c in &demo.categories {
            if let Some(p) = &c.parent {
                assert!(categories.contains(p.as_str()), "parent {p}");
            }
        }
        for p in &demo.products {
            assert!(!p.categories.is_empty(), "{} is categorized", p.identifier);
            for c in &p.categories {
                assert!(categories.contains(c.as_str()), "{}: {c}", p.identifier);
            }
            crate::domain::products::check_identifier(&p.identifier).unwrap();
        }
        for g in &demo.groups {
            for grant in &g.permissions {
                assert!(categories.contains(grant.category.as_str()), "{}", g.code);
            }
        }
        let roles: HashSet<&str> = demo.roles.iter().map(|r| r.code.as_str()).collect();
        let groups: HashSet<&str> = demo.groups.iter().map(|g| g.code.as_str()).collect();
        let connections: HashSet<&str> = demo
            .connections
            .iter()
            .filter_map(|c| c.code.as_deref())
            .collect();
        for p in &demo.permissions {
            assert!(
                connections.contains(p.connection.as_str()),
                "{}",
                p.connection
            );
            assert!(roles.contains(p.role.as_str()) || p.role == "User");
            assert!(groups.contains(p.group.as_str()) || p.group == "All");
        }
    }
}
