//! The client's calls for roles (R10), groups and categories (R11).

use http::Method;

use super::{Client, ClientError, segment};
use crate::model::{
    Category, CategoryGrant, CategoryPatch, Connection, ConnectionPatch, Group, GroupPatch,
    NewCategory, NewGroup, NewRole, Permission, Role, RolePatch,
};

impl Client {
    pub async fn list_roles(&self) -> Result<Vec<Role>, ClientError> {
        self.call(Method::GET, "/api/v1/roles", None::<&()>).await
    }

    pub async fn get_role(&self, code: &str) -> Result<Role, ClientError> {
        let path = format!("/api/v1/roles/{}", segment(code));
        self.call(Method::GET, &path, None::<&()>).await
    }

    pub async fn create_role(&self, new: &NewRole) -> Result<Role, ClientError> {
        self.call(Method::POST, "/api/v1/roles", Some(new)).await
    }

    /// Renames a role and/or replaces its permissions.
    pub async fn update_role(&self, code: &str, patch: &RolePatch) -> Result<Role, ClientError> {
        let path = format!("/api/v1/roles/{}", segment(code));
        self.call(Method::PATCH, &path, Some(patch)).await
    }

    /// Replaces a role's permissions.
    pub async fn set_role_permissions(
        &self,
        code: &str,
        permissions: &[Permission],
    ) -> Result<Role, ClientError> {
        let patch = RolePatch {
            permissions: Some(permissions.to_vec()),
            ..Default::default()
        };
        self.update_role(code, &patch).await
    }

    /// Refused (409) while a connection has the role, and for `User`.
    pub async fn delete_role(&self, code: &str) -> Result<(), ClientError> {
        let path = format!("/api/v1/roles/{}", segment(code));
        self.no_content(Method::DELETE, &path, None::<&()>).await
    }

    pub async fn list_groups(&self) -> Result<Vec<Group>, ClientError> {
        self.call(Method::GET, "/api/v1/groups", None::<&()>).await
    }

    pub async fn get_group(&self, code: &str) -> Result<Group, ClientError> {
        let path = format!("/api/v1/groups/{}", segment(code));
        self.call(Method::GET, &path, None::<&()>).await
    }

    pub async fn create_group(&self, new: &NewGroup) -> Result<Group, ClientError> {
        self.call(Method::POST, "/api/v1/groups", Some(new)).await
    }

    pub async fn update_group(&self, code: &str, patch: &GroupPatch) -> Result<Group, ClientError> {
        let path = format!("/api/v1/groups/{}", segment(code));
        self.call(Method::PATCH, &path, Some(patch)).await
    }

    /// Replaces a group's category permissions.
    pub async fn set_group_permissions(
        &self,
        code: &str,
        permissions: &[CategoryGrant],
    ) -> Result<Group, ClientError> {
        let patch = GroupPatch {
            permissions: Some(permissions.to_vec()),
            ..Default::default()
        };
        self.update_group(code, &patch).await
    }

    /// Refused (409) while a connection is in the group, and for `All`.
    pub async fn delete_group(&self, code: &str) -> Result<(), ClientError> {
        let path = format!("/api/v1/groups/{}", segment(code));
        self.no_content(Method::DELETE, &path, None::<&()>).await
    }

    /// Every category, parents before their children.
    pub async fn list_categories(&self) -> Result<Vec<Category>, ClientError> {
        self.call(Method::GET, "/api/v1/categories", None::<&()>)
            .await
    }

    pub async fn get_category(&self, code: &str) -> Result<Category, ClientError> {
        let path = format!("/api/v1/categories/{}", segment(code));
        self.call(Method::GET, &path, None::<&()>).await
    }

    pub async fn create_category(&self, new: &NewCategory) -> Result<Category, ClientError> {
        self.call(Method::POST, "/api/v1/categories", Some(new))
            .await
    }

    pub async fn rename_category(&self, code: &str, label: &str) -> Result<Category, ClientError> {
        let path = format!("/api/v1/categories/{}", segment(code));
        let patch = CategoryPatch {
            label: label.to_string(),
        };
        self.call(Method::PATCH, &path, Some(&patch)).await
    }

    /// Refused (409) while it has sub-categories, products or grants.
    pub async fn delete_category(&self, code: &str) -> Result<(), ClientError> {
        let path = format!("/api/v1/categories/{}", segment(code));
        self.no_content(Method::DELETE, &path, None::<&()>).await
    }

    /// R10, R11: gives a connection a role and/or a group (the next Web API
    /// request of the connection is checked against them).
    pub async fn set_connection_permissions(
        &self,
        code: &str,
        role: Option<&str>,
        group: Option<&str>,
    ) -> Result<Connection, ClientError> {
        let patch = ConnectionPatch {
            role: role.map(str::to_string),
            group: group.map(str::to_string),
            ..Default::default()
        };
        self.update_connection(code, &patch).await
    }
}
