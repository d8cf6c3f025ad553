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
    /// Codes of the product groups it belongs to (letters, digits and `_`;
    /// Switchboard keeps no list of groups, so any code is accepted).
    #[serde(default)]
    pub groups: Vec<String>,
    /// The identifier of its parent, or null. Switchboard keeps no product
    /// models: a parent is a product of the catalog, named by identifier in
    /// both APIs; it must exist and cannot be the product or one of its
    /// descendants. A parent the caller's group cannot view reads as null.
    #[serde(default)]
    pub parent: Option<String>,
    /// `{attribute: [{"locale", "scope", "data"}]}`.
    #[schema(value_type = Object)]
    pub values: serde_json::Map<String, serde_json::Value>,
    /// Association type code → the products (by identifier; by uuid in
    /// `/api/rest/v1/products-uuid`) and groups associated. Every product
    /// must exist; a PATCH replaces each list it gives and keeps the types
    /// it does not name.
    #[serde(default)]
    pub associations: std::collections::BTreeMap<String, ProductAssociation>,
    /// Quantified association type code → products with a quantity.
    #[serde(default)]
    pub quantified_associations: std::collections::BTreeMap<String, QuantifiedAssociation>,
    /// ISO 8601 with the offset, e.g. `2026-01-31T09:30:00+00:00`.
    pub created: String,
    pub updated: String,
}

/// One association type of a product (the PIM's shape).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ProductAssociation {
    /// Product identifiers (`/api/rest/v1/products`) or uuids
    /// (`/api/rest/v1/products-uuid`); products the caller's group cannot
    /// view are left out (and kept).
    #[serde(default)]
    pub products: Vec<String>,
    /// Always empty: Switchboard keeps no product models (a body may only
    /// give an empty list).
    #[serde(default)]
    pub product_models: Vec<String>,
    /// Product group codes.
    #[serde(default)]
    pub groups: Vec<String>,
}

/// One quantified association type of a product (the PIM's shape).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct QuantifiedAssociation {
    #[serde(default)]
    pub products: Vec<QuantifiedLink>,
    /// Always empty: Switchboard keeps no product models.
    #[serde(default)]
    pub product_models: Vec<QuantifiedLink>,
}

/// A product of a quantified association: `{"identifier", "quantity"}` in
/// `/api/rest/v1/products`, `{"uuid", "quantity"}` in
/// `/api/rest/v1/products-uuid`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct QuantifiedLink {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identifier: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uuid: Option<String>,
    /// 1 to 2147483647.
    #[schema(minimum = 1, maximum = 2147483647)]
    pub quantity: u32,
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
    /// The property at fault: `identifier`, `enabled`, `family`,
    /// `categories`, `values`, `groups`, `parent`, or a path into the
    /// associations such as `associations.X_SELL.products`.
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
