//! Roles (R10), groups and categories (R11) and the products of the Web API
//! (R22): the API's bodies.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The role every connection starts with.
pub const DEFAULT_ROLE: &str = "User";
/// The group every connection starts with; it grants edit on everything.
pub const DEFAULT_GROUP: &str = "All";

/// One Web API permission (an ACL) a role may grant.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    ToSchema,
    strum::VariantArray,
    strum::EnumString,
    strum::IntoStaticStr,
    strum::Display,
)]
#[strum(serialize_all = "lowercase")]
pub enum Permission {
    /// Overall Web API access: needed for every `/api/rest/v1` call.
    #[serde(rename = "api.access")]
    #[strum(serialize = "api.access")]
    ApiAccess,
    /// `GET /api/rest/v1/products` and `GET …/products/{identifier}`.
    #[serde(rename = "products.list")]
    #[strum(serialize = "products.list")]
    ProductsList,
    /// Create and update products (`POST`, `PATCH`).
    #[serde(rename = "products.edit")]
    #[strum(serialize = "products.edit")]
    ProductsEdit,
    /// `DELETE /api/rest/v1/products/{identifier}`.
    #[serde(rename = "products.remove")]
    #[strum(serialize = "products.remove")]
    ProductsRemove,
}

impl Permission {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    pub fn parse(s: &str) -> Option<Permission> {
        s.parse().ok()
    }

    /// What it allows, for screens and messages.
    pub fn description(self) -> &'static str {
        match self {
            Permission::ApiAccess => "overall Web API access",
            Permission::ProductsList => "list and get products",
            Permission::ProductsEdit => "create and update products",
            Permission::ProductsRemove => "delete products",
        }
    }
}

/// A named set of Web API permissions (R10).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Role {
    /// The key connections name it by; never changes.
    pub code: String,
    pub label: String,
    /// In the order of [`Permission::VARIANTS`].
    pub permissions: Vec<Permission>,
    /// The default role (`User`): new connections get it; it cannot be
    /// deleted.
    pub default: bool,
    /// How many connections have this role.
    pub connection_count: u64,
    /// The codes of those connections the caller may see (R18), in code
    /// order.
    pub connections: Vec<String>,
    pub version: u64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Body of `POST /api/v1/roles`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRole {
    /// Letters, digits and `_`, 3–100 characters; unique.
    pub code: String,
    pub label: String,
    #[serde(default)]
    pub permissions: Vec<Permission>,
}

/// Body of `PATCH /api/v1/roles/{code}`: only the named fields change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RolePatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// The whole new set (replaces the old one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions: Option<Vec<Permission>>,
    /// The version the change is based on (409 when another came first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
}

/// `view` or `edit` on a category and everything under it.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    ToSchema,
    strum::VariantArray,
    strum::EnumString,
    strum::IntoStaticStr,
    strum::Display,
)]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum CategoryLevel {
    /// See the products classified there.
    View,
    /// See and change them (implies view).
    Edit,
}

impl CategoryLevel {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    pub fn parse(s: &str) -> Option<CategoryLevel> {
        s.parse().ok()
    }
}

/// One category permission of a group; it applies to the category's subtree.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CategoryGrant {
    pub category: String,
    pub level: CategoryLevel,
}

/// A named set of category permissions (R11).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Group {
    pub code: String,
    pub label: String,
    /// Edit on every category, including those created later (the default
    /// group `All`); its grants cannot be edited.
    pub everything: bool,
    /// The grants, in category code order. A new group has none: it sees no
    /// categorized product.
    pub permissions: Vec<CategoryGrant>,
    /// The default group (`All`): new connections get it; it cannot be
    /// deleted.
    pub default: bool,
    /// How many connections are in this group.
    pub connection_count: u64,
    /// The codes of those connections the caller may see (R18).
    pub connections: Vec<String>,
    pub version: u64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Body of `POST /api/v1/groups`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewGroup {
    pub code: String,
    pub label: String,
    #[serde(default)]
    pub permissions: Vec<CategoryGrant>,
}

/// Body of `PATCH /api/v1/groups/{code}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupPatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// The whole new set of grants (replaces the old one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions: Option<Vec<CategoryGrant>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
}

/// A product category: a node of one tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Category {
    pub code: String,
    pub label: String,
    /// `None` for a root.
    pub parent: Option<String>,
    pub version: u64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Body of `POST /api/v1/categories`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCategory {
    /// Letters, digits and `_`, 1–100 characters; unique; never changes.
    pub code: String,
    pub label: String,
    #[serde(default)]
    pub parent: Option<String>,
}

/// Body of `PATCH /api/v1/categories/{code}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CategoryPatch {
    pub label: String,
}

/// A product as the Web API serves it (the PIM API's standard format,
/// reduced to what Switchboard keeps).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Product {
    /// Stable and kept forever; names the product in
    /// `/api/rest/v1/products-uuid/{uuid}`.
    #[serde(default)]
    pub uuid: String,
    pub identifier: String,
    pub enabled: bool,
    pub family: Option<String>,
    /// The categories the caller's group may view (others are kept, unseen).
    pub categories: Vec<String>,
    /// Always empty (kept for PIM API clients).
    #[serde(default)]
    pub groups: Vec<String>,
    /// Always null (kept for PIM API clients).
    #[serde(default)]
    pub parent: Option<String>,
    /// `{attribute: [{"locale", "scope", "data"}]}`.
    #[schema(value_type = Object)]
    pub values: serde_json::Map<String, serde_json::Value>,
    /// Always empty (kept for PIM API clients).
    #[serde(default)]
    #[schema(value_type = Object)]
    pub associations: serde_json::Map<String, serde_json::Value>,
    /// ISO 8601 with the offset, e.g. `2026-01-31T09:30:00+00:00`.
    pub created: String,
    pub updated: String,
}

/// A HAL link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Link {
    pub href: String,
}

/// `_links` of a product in a list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ItemLinks {
    #[serde(rename = "self")]
    pub self_: Link,
}

/// A product in a list: the product and its own link.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ProductItem {
    #[serde(rename = "_links")]
    pub links: ItemLinks,
    #[serde(flatten)]
    pub product: Product,
}

/// `_links` of a page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PageLinks {
    #[serde(rename = "self")]
    pub self_: Link,
    pub first: Link,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<Link>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<Link>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct EmbeddedProducts {
    pub items: Vec<ProductItem>,
}

/// `GET /api/rest/v1/products`: one page, HAL-style.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ProductPage {
    #[serde(rename = "_links")]
    pub links: PageLinks,
    /// With `pagination_type=page` (the default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_page: Option<u64>,
    /// With `with_count=true`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub items_count: Option<u64>,
    #[serde(rename = "_embedded")]
    pub embedded: EmbeddedProducts,
}

/// One problem with a product body (a 422 answer lists them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RestViolation {
    /// `identifier`, `enabled`, `family`, `categories` or `values`.
    pub property: String,
    pub message: String,
    /// For a value: its attribute, locale and scope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attribute: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

/// The Web API's 422 answer: `{code, message, errors}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RestValidationError {
    pub code: u16,
    pub message: String,
    /// Each problem; absent when the message says it all.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<RestViolation>,
}
