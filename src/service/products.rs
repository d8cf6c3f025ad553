//! The products of the Web API (R22): each call checked against the calling
//! connection's role (R10: 403 naming the missing permission) and group
//! (R11: a product outside what the group may view does not exist for it;
//! changing one needs edit on one of its categories), after the
//! per-connection rate limit.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use serde_json::Value;

use super::catalog::CatalogSnapshot;
use super::oauth::ApiCaller;
use super::{Service, ServiceError};
use crate::domain::catalog::GroupAccess;
use crate::domain::products::{
    self, CategoryOp, LinkedProduct, Naming, ProductInput, Relations, SearchError, SearchFilter,
};
use crate::model::{
    ItemLinks, Permission, ProductAssociation, QuantifiedAssociation, QuantifiedLink, RestViolation,
};
use crate::store::{Found, Lookup, ProductQuery, ProductRow, ProductWrite, StoreError};

/// Largest page of a product list.
pub const PAGE_MAX: u64 = 100;
/// Page size when none is asked for (the PIM's).
pub const PAGE_DEFAULT: u64 = 10;

/// Why a Web API call failed; the server answers `{code, message}` (and
/// `errors` for 422), the PIM API's shapes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RestFailure {
    BadRequest(String),
    Forbidden(String),
    NotFound(String),
    Unprocessable {
        message: String,
        errors: Vec<RestViolation>,
    },
    TooManyRequests {
        retry_after_secs: u64,
        message: String,
    },
    /// The database cannot be reached now (503).
    Unavailable(String),
    /// More than a request may carry (413).
    TooLarge(String),
    Internal,
}

impl RestFailure {
    pub fn status(&self) -> u16 {
        match self {
            RestFailure::BadRequest(_) => 400,
            RestFailure::Forbidden(_) => 403,
            RestFailure::NotFound(_) => 404,
            RestFailure::Unprocessable { .. } => 422,
            RestFailure::TooManyRequests { .. } => 429,
            RestFailure::Unavailable(_) => 503,
            RestFailure::TooLarge(_) => 413,
            RestFailure::Internal => 500,
        }
    }

    pub fn message(&self) -> String {
        match self {
            RestFailure::BadRequest(m)
            | RestFailure::Forbidden(m)
            | RestFailure::NotFound(m)
            | RestFailure::TooLarge(m)
            | RestFailure::Unavailable(m) => m.clone(),
            RestFailure::Unprocessable { message, .. }
            | RestFailure::TooManyRequests { message, .. } => message.clone(),
            RestFailure::Internal => "internal error; see the server log".to_string(),
        }
    }

    fn invalid(errors: Vec<RestViolation>) -> RestFailure {
        let message = match errors.as_slice() {
            [one] => one.message.clone(),
            _ => "Validation failed.".to_string(),
        };
        RestFailure::Unprocessable { message, errors }
    }

    fn one(property: &str, message: String) -> RestFailure {
        RestFailure::invalid(vec![RestViolation {
            property: property.to_string(),
            message,
            attribute: None,
            locale: None,
            scope: None,
        }])
    }
}

/// Through the one conversion of store errors ([`ServiceError`]), into the
/// PIM API's shapes.
impl From<StoreError> for RestFailure {
    fn from(e: StoreError) -> Self {
        match ServiceError::from(e) {
            ServiceError::Invalid { field, message } => RestFailure::one(&field, message),
            ServiceError::NotFound { .. } => RestFailure::NotFound("not found".to_string()),
            ServiceError::Unavailable { message } => RestFailure::Unavailable(message),
            _ => RestFailure::Internal,
        }
    }
}

/// The PIM's 404 for a product, named by identifier or uuid (also the
/// answer for one the connection's group may not see).
pub fn not_found(identifier: &str) -> RestFailure {
    RestFailure::NotFound(format!(
        "Product \"{identifier}\" does not exist or you do not have permission to access it."
    ))
}

/// A product list request, its parameters checked.
#[derive(Debug, Clone, Default)]
pub struct ListRequest {
    /// 1-based (page pagination).
    pub page: u64,
    pub limit: u64,
    /// The `search` parameter, decoded.
    pub search: Option<String>,
    pub with_count: bool,
    /// `pagination_type=search_after`: the identifier to start after.
    pub search_after: Option<Option<String>>,
    /// `attributes`, `locales`, `scope`: which values the answer carries.
    pub values: products::ValueFilter,
    /// `search_locale`, `search_scope`: the locale and channel of attribute
    /// filters that give none.
    pub search_defaults: products::SearchDefaults,
}

/// A product as the Web API answers it (the shape of
/// [`crate::model::Product`]), its values passed through as stored.
#[derive(Debug, serde::Serialize)]
pub struct ProductView {
    /// In a list: the product's own link.
    #[serde(rename = "_links", skip_serializing_if = "Option::is_none")]
    pub links: Option<ItemLinks>,
    pub uuid: String,
    pub identifier: String,
    pub enabled: bool,
    pub family: Option<String>,
    pub categories: Vec<String>,
    pub groups: Vec<String>,
    pub parent: Option<String>,
    pub values: Box<serde_json::value::RawValue>,
    pub associations: BTreeMap<String, ProductAssociation>,
    pub quantified_associations: BTreeMap<String, QuantifiedAssociation>,
    pub created: String,
    pub updated: String,
}

/// One page of products, in identifier order.
#[derive(Debug)]
pub struct Listing {
    pub items: Vec<ProductView>,
    pub has_next: bool,
    pub count: Option<u64>,
}

/// `2026-01-31T09:30:00+00:00`, the PIM's format.
fn time_text(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
}

/// A product as `access` may see it: hidden categories left out, and only
/// the values `filter` keeps; linked products named as `naming` says,
/// those the group cannot see left out (a hidden parent reads as null).
fn shown(
    p: &ProductRow,
    access: &GroupAccess,
    filter: &products::ValueFilter,
    naming: Naming,
) -> ProductView {
    let r = &p.relations;
    let visible = |uuid: &str| {
        r.linked
            .get(uuid)
            .filter(|l| access.can_view_product(&l.categories))
    };
    let name = |l: &LinkedProduct| match naming {
        Naming::Identifier => l.identifier.clone(),
        Naming::Uuid => l.uuid.clone(),
    };
    let associations = r
        .associations
        .iter()
        .map(|(type_code, a)| {
            let shown = ProductAssociation {
                products: a
                    .products
                    .iter()
                    .filter_map(|u| visible(u))
                    .map(name)
                    .collect(),
                product_models: Vec::new(),
                groups: a.groups.clone(),
            };
            (type_code.clone(), shown)
        })
        .collect();
    let quantified_associations = r
        .quantified
        .iter()
        .map(|(type_code, q)| {
            let products = q
                .products
                .iter()
                .filter_map(|qp| visible(&qp.uuid).map(|l| (l, qp.quantity)))
                .map(|(l, quantity)| QuantifiedLink {
                    identifier: (naming == Naming::Identifier).then(|| l.identifier.clone()),
                    uuid: (naming == Naming::Uuid).then(|| l.uuid.clone()),
                    quantity,
                })
                .collect();
            let shown = QuantifiedAssociation {
                products,
                product_models: Vec::new(),
            };
            (type_code.clone(), shown)
        })
        .collect();
    let categories = match access {
        GroupAccess::Everything => p.categories.clone(),
        _ => p
            .categories
            .iter()
            .filter(|c| access.can_view(c))
            .cloned()
            .collect(),
    };
    ProductView {
        links: None,
        categories,
        uuid: p.uuid.clone(),
        identifier: p.identifier.clone(),
        enabled: p.enabled,
        family: p.family.clone(),
        groups: r.groups.clone(),
        parent: r
            .parent
            .as_deref()
            .and_then(visible)
            .map(|l| l.identifier.clone()),
        values: if filter.keeps_all() {
            p.values.clone()
        } else {
            filter.apply_raw(&p.values)
        },
        associations,
        quantified_associations,
        created: time_text(p.created_ms),
        updated: time_text(p.updated_ms),
    }
}

impl Service {
    /// Every Web API request, after the bearer check: the connection's rate
    /// limit, then overall access (R10's `api.access`).
    /// Returns the roles and groups the rest of the request is checked
    /// against.
    pub async fn web_api_gate(
        &self,
        caller: &ApiCaller,
        version: Option<super::catalog::CatalogVersion>,
    ) -> Result<Arc<CatalogSnapshot>, RestFailure> {
        if let Err(wait) = self.catalog.limit.check(caller.connection_id) {
            let secs = wait.as_secs_f64().ceil().max(1.0) as u64;
            return Err(RestFailure::TooManyRequests {
                retry_after_secs: secs,
                message: format!(
                    "Too many requests for connection \"{}\": try again in {secs} s.",
                    caller.code
                ),
            });
        }
        let snapshot = match version {
            Some(v) => self.catalog_snapshot_at(v).await?,
            None => self.catalog_snapshot().await?,
        };
        self.require(&snapshot, caller, Permission::ApiAccess, "any Web API call")?;
        Ok(snapshot)
    }

    /// The caller's role must grant `permission`; returns its group's access.
    fn require<'a>(
        &self,
        snapshot: &'a CatalogSnapshot,
        caller: &ApiCaller,
        permission: Permission,
        doing: &str,
    ) -> Result<&'a GroupAccess, RestFailure> {
        let granted = snapshot
            .roles
            .get(&caller.role)
            .is_some_and(|p| p.contains(&permission));
        if !granted {
            return Err(RestFailure::Forbidden(format!(
                "Access forbidden: {doing} needs the {permission} permission ({}), which the role \"{}\" of connection \"{}\" does not grant.",
                permission.description(),
                caller.role,
                caller.code
            )));
        }
        Ok(snapshot.groups.get(&caller.group).unwrap_or(&NO_ACCESS))
    }

    fn checked<'a>(
        &self,
        snapshot: &'a CatalogSnapshot,
        caller: &ApiCaller,
        permission: Permission,
        doing: &str,
    ) -> Result<(&'a CatalogSnapshot, GroupAccess), RestFailure> {
        let access = self.require(snapshot, caller, permission, doing)?.clone();
        Ok((snapshot, access))
    }

    /// `GET /api/rest/v1/products/{identifier}`: a kept product, else one
    /// primary-key read.
    pub async fn get_product(
        &self,
        caller: &ApiCaller,
        snapshot: &CatalogSnapshot,
        identifier: &str,
        filter: &products::ValueFilter,
        naming: Naming,
    ) -> Result<ProductView, RestFailure> {
        let access = self.require(
            snapshot,
            caller,
            Permission::ProductsList,
            "getting a product",
        )?;
        let found = self
            .store
            .product(identifier, caller.products_version)
            .await?;
        match found {
            Some(p) if access.can_view_product(&p.categories) => {
                Ok(shown(&p, access, filter, naming))
            }
            _ => Err(not_found(identifier)),
        }
    }

    /// `GET /api/rest/v1/products`.
    pub async fn list_products(
        &self,
        caller: &ApiCaller,
        snapshot: &CatalogSnapshot,
        req: ListRequest,
        naming: Naming,
    ) -> Result<Listing, RestFailure> {
        let (snapshot, access) = self.checked(
            snapshot,
            caller,
            Permission::ProductsList,
            "listing products",
        )?;
        let mut filters = match req.search.as_deref() {
            None | Some("") => Vec::new(),
            Some(s) => {
                products::parse_search_with(s, &req.search_defaults).map_err(|e| match e {
                    SearchError::BadJson(m) => RestFailure::BadRequest(m),
                    SearchError::Unsupported(m) => RestFailure::Unprocessable {
                        message: m,
                        errors: Vec::new(),
                    },
                })?
            }
        };
        // Category filters name categories the group may see; children
        // filters take the subtree.
        for f in &mut filters {
            if let SearchFilter::Categories(op, codes) = f {
                for c in codes.iter() {
                    if !snapshot.tree.contains(c) || !access.can_view(c) {
                        return Err(RestFailure::Unprocessable {
                            message: format!("Category \"{c}\" does not exist."),
                            errors: Vec::new(),
                        });
                    }
                }
                if matches!(op, CategoryOp::InChildren | CategoryOp::NotInChildren) {
                    *codes = codes
                        .iter()
                        .flat_map(|c| snapshot.tree.subtree(c))
                        .collect();
                }
            }
        }
        let (after, offset) = match &req.search_after {
            Some(after) => (after.clone(), 0),
            None => (None, (req.page.max(1) - 1).saturating_mul(req.limit)),
        };
        let query = ProductQuery {
            visible: access.viewable(),
            filters,
            after,
            offset,
            limit: req.limit + 1,
            count: req.with_count,
            now_ms: self.store.now_millis(),
        };
        let (mut rows, count) = self.store.products(query).await?;
        let has_next = rows.len() as u64 > req.limit;
        rows.truncate(req.limit as usize);
        Ok(Listing {
            items: rows
                .iter()
                .map(|p| shown(p, &access, &req.values, naming))
                .collect(),
            has_next,
            count,
        })
    }

    /// The categories of a body: each known and visible to the group.
    fn check_categories(
        snapshot: &CatalogSnapshot,
        access: &GroupAccess,
        input: &ProductInput,
    ) -> Result<(), RestFailure> {
        let unknown: Vec<RestViolation> = input
            .categories
            .iter()
            .flatten()
            .filter(|c| !snapshot.tree.contains(c) || !access.can_view(c))
            .map(|c| RestViolation {
                property: "categories".to_string(),
                message: format!("The category \"{c}\" does not exist."),
                attribute: None,
                locale: None,
                scope: None,
            })
            .collect();
        if unknown.is_empty() {
            Ok(())
        } else {
            Err(RestFailure::invalid(unknown))
        }
    }

    /// A product stays editable by the group that writes it.
    fn keep_editable(access: &GroupAccess, p: &ProductRow) -> Result<(), RestFailure> {
        if access.can_edit_product(&p.categories) {
            Ok(())
        } else {
            Err(RestFailure::one(
                "categories",
                "The product must stay in at least one category your group may edit.".to_string(),
            ))
        }
    }

    /// `POST /api/rest/v1/products`: creates; a taken identifier is a 422.
    pub async fn create_product(
        &self,
        caller: &ApiCaller,
        snapshot: &CatalogSnapshot,
        body: Value,
        naming: Naming,
    ) -> Result<(String, String), RestFailure> {
        let (snapshot, access) = self.checked(
            snapshot,
            caller,
            Permission::ProductsEdit,
            "creating products",
        )?;
        let input = products::parse_product_body(body, naming).map_err(RestFailure::invalid)?;
        let Some(identifier) = input.identifier.clone() else {
            return Err(RestFailure::one(
                "identifier",
                "The identifier is required.".to_string(),
            ));
        };
        Self::check_categories(snapshot, &access, &input)?;
        let lookup = lookup_of(&input, naming);
        let written = self
            .store
            .write_product(&identifier, &lookup, |current, found| {
                if current.is_some() {
                    return Err(RestFailure::one(
                        "identifier",
                        "The same identifier is already set on another product".to_string(),
                    ));
                }
                let p = new_product(identifier.clone(), input, found, &access, naming)?;
                Self::keep_editable(&access, &p)?;
                Ok(p)
            })
            .await?;
        let (ProductWrite::Created(p) | ProductWrite::Updated(p)) = written;
        Ok((p.identifier, p.uuid))
    }

    /// `PATCH /api/rest/v1/products/{identifier}`: merges into the product,
    /// or creates it (the PIM's upsert). `true` when it was created; the
    /// identifier.
    pub async fn upsert_product(
        &self,
        caller: &ApiCaller,
        snapshot: &CatalogSnapshot,
        identifier: &str,
        body: Value,
        naming: Naming,
    ) -> Result<(bool, String, String), RestFailure> {
        let (snapshot, access) = self.checked(
            snapshot,
            caller,
            Permission::ProductsEdit,
            "updating products",
        )?;
        if let Err(m) = products::check_identifier(identifier) {
            return Err(RestFailure::one("identifier", m));
        }
        let input = products::parse_product_body(body, naming).map_err(RestFailure::invalid)?;
        if let Some(given) = input.identifier.as_deref().filter(|i| *i != identifier) {
            return Err(RestFailure::one(
                "identifier",
                format!(
                    "The identifier \"{given}\" provided in the request body must match the identifier \"{identifier}\" provided in the url."
                ),
            ));
        }
        Self::check_categories(snapshot, &access, &input)?;
        let lookup = lookup_of(&input, naming);
        let written = self
            .store
            .write_product(
                identifier,
                &lookup,
                upsert(caller, &access, identifier, input, naming),
            )
            .await?;
        Ok(match written {
            ProductWrite::Created(p) => (true, p.identifier, p.uuid),
            ProductWrite::Updated(p) => (false, p.identifier, p.uuid),
        })
    }

    /// The identifier of the product a UUID names (`None`: none does, or it
    /// is not a UUID). The UUID API resolves its paths with it.
    pub async fn product_identifier(&self, uuid: &str) -> Result<Option<String>, RestFailure> {
        let Ok(uuid) = uuid::Uuid::parse_str(uuid) else {
            return Ok(None);
        };
        Ok(self
            .store
            .product_identifier(&uuid.hyphenated().to_string())
            .await?)
    }

    /// `PATCH /api/rest/v1/products` with one JSON product per line: each
    /// line upserted as `PATCH …/products/{identifier}` would, on its own
    /// (a bad line fails alone), in order, with one commit for the request.
    /// The answer has one result per non-blank line.
    pub async fn upsert_products(
        &self,
        caller: &ApiCaller,
        snapshot: &CatalogSnapshot,
        body: &[u8],
        naming: Naming,
    ) -> Result<Vec<BatchLine>, RestFailure> {
        let (snapshot, access) = self.checked(
            snapshot,
            caller,
            Permission::ProductsEdit,
            "updating products",
        )?;
        let lines: Vec<(usize, &[u8])> = body
            .split(|b| *b == b'\n')
            .enumerate()
            .map(|(i, line)| (i + 1, line))
            .filter(|(_, line)| line.iter().any(|b| !b.is_ascii_whitespace()))
            .collect();
        if lines.len() > BATCH_MAX {
            return Err(RestFailure::TooLarge(format!(
                "Too many resources to process, {BATCH_MAX} is the maximum allowed."
            )));
        }
        // Each line checked on its own first; the ones that pass are
        // written together, in order.
        let mut answers: Vec<Option<BatchLine>> = Vec::with_capacity(lines.len());
        let mut writes = Vec::new();
        let mut written_at = Vec::new();
        for (n, line) in &lines {
            match batch_line_input(line, snapshot, &access, naming) {
                Ok((identifier, input)) => {
                    written_at.push((answers.len(), *n, identifier.clone()));
                    answers.push(None);
                    let lookup = lookup_of(&input, naming);
                    let decide: crate::store::Decide<'_, RestFailure> = Box::new(upsert_owned(
                        caller,
                        &access,
                        identifier.clone(),
                        input,
                        naming,
                    ));
                    writes.push((identifier, lookup, decide));
                }
                Err((identifier, failure)) => {
                    answers.push(Some(BatchLine::failed(*n, identifier, &failure)));
                }
            }
        }
        let results = self.store.write_products(writes).await?;
        for ((at, n, identifier), result) in written_at.into_iter().zip(results) {
            answers[at] = Some(match result {
                Ok(ProductWrite::Created(p)) => BatchLine::ok(n, identifier, p.uuid, 201),
                Ok(ProductWrite::Updated(p)) => BatchLine::ok(n, identifier, p.uuid, 204),
                Err(failure) => BatchLine::failed(n, Some(identifier), &failure),
            });
        }
        Ok(answers.into_iter().flatten().collect())
    }

    /// `DELETE /api/rest/v1/products/{identifier}`.
    pub async fn delete_product(
        &self,
        caller: &ApiCaller,
        snapshot: &CatalogSnapshot,
        identifier: &str,
    ) -> Result<(), RestFailure> {
        let (_, access) = self.checked(
            snapshot,
            caller,
            Permission::ProductsRemove,
            "deleting products",
        )?;
        self.store
            .delete_product(identifier, |p, children| {
                if !access.can_view_product(&p.categories) {
                    Err(not_found(identifier))
                } else if !access.can_edit_product(&p.categories) {
                    Err(RestFailure::Forbidden(format!(
                        "Product \"{identifier}\" cannot be deleted: the group \"{}\" of connection \"{}\" may only view its categories.",
                        caller.group, caller.code
                    )))
                } else if !children.is_empty() {
                    Err(parent_of(identifier, children, &access))
                } else {
                    Ok(())
                }
            })
            .await
            .map_err(|e| match e {
                RestFailure::NotFound(_) => not_found(identifier),
                other => other,
            })
    }
}

/// A group that grants nothing (a connection whose group vanished).
static NO_ACCESS: std::sync::LazyLock<GroupAccess> =
    std::sync::LazyLock::new(|| GroupAccess::Levels(Default::default()));

/// A product that is the parent of others is not deleted (the safe choice:
/// Switchboard's parents are products, and a child left without its
/// parent would change unseen); the refusal names the children the group
/// may see, and counts the others.
fn parent_of(identifier: &str, children: &[LinkedProduct], access: &GroupAccess) -> RestFailure {
    let seen: Vec<String> = children
        .iter()
        .filter(|c| access.can_view_product(&c.categories))
        .map(|c| format!("\"{}\"", c.identifier))
        .collect();
    let unseen = children.len() - seen.len();
    let mut named = seen.join(", ");
    if unseen > 0 {
        if !named.is_empty() {
            named.push_str(" and ");
        }
        named.push_str(&format!("{unseen} product(s) your group cannot view"));
    }
    RestFailure::one(
        "parent",
        format!(
            "Product \"{identifier}\" cannot be deleted: it is the parent of {named}. Give them another parent (or none) first."
        ),
    )
}

/// The products a body names, looked up in its write's transaction.
fn lookup_of(input: &ProductInput, naming: Naming) -> Lookup {
    let mut lookup = Lookup::default();
    if let Some(Some(parent)) = &input.parent {
        lookup.identifiers.push(parent.clone());
        lookup.ancestors_of = Some(parent.clone());
    }
    let associated = input
        .associations
        .iter()
        .flat_map(|a| a.values())
        .flat_map(|a| a.products.iter().flatten())
        .chain(
            input
                .quantified_associations
                .iter()
                .flat_map(|q| q.values())
                .flat_map(|q| q.products.iter().flatten().map(|(name, _)| name)),
        );
    let names = match naming {
        Naming::Identifier => &mut lookup.identifiers,
        Naming::Uuid => &mut lookup.uuids,
    };
    for name in associated {
        if !names.contains(name) {
            names.push(name.clone());
        }
    }
    lookup
}

/// The product being written, as its body's links may name it.
struct Writing<'a> {
    identifier: &'a str,
    /// `None` for a new product given no uuid (nothing can name it yet).
    uuid: Option<&'a str>,
    existed: bool,
}

/// `current` (a stored product's, or none) changed by the body's groups,
/// parent and associations. Every product named must exist and be one the
/// group may view (else it does not exist for it) and cannot be the
/// product itself, nor make it its own ancestor; all problems are
/// reported at once, each under its path (`associations.X_SELL.products`).
/// Linked products the group cannot see stay as they are.
fn relate(
    mut current: Relations,
    me: &Writing<'_>,
    input: &mut ProductInput,
    found: &Found,
    access: &GroupAccess,
    naming: Naming,
) -> Result<Relations, RestFailure> {
    let mut errors: Vec<RestViolation> = Vec::new();
    let fail = |errors: &mut Vec<RestViolation>, property: &str, message: String| {
        errors.push(RestViolation {
            property: property.to_string(),
            message,
            attribute: None,
            locale: None,
            scope: None,
        });
    };
    let hidden: HashSet<String> = current
        .linked
        .values()
        .filter(|l| !access.can_view_product(&l.categories))
        .map(|l| l.uuid.clone())
        .collect();
    let visible = |l: &&LinkedProduct| access.can_view_product(&l.categories);
    if let Some(groups) = input.groups.take() {
        current.groups = groups;
    }
    match input.parent.take() {
        None => {}
        // A parent the group cannot see is not the group's to remove.
        Some(None) if current.parent.as_ref().is_some_and(|p| hidden.contains(p)) => {}
        Some(None) => current.parent = None,
        Some(Some(name)) if name == me.identifier => fail(
            &mut errors,
            "parent",
            format!("The product \"{name}\" cannot be its own parent."),
        ),
        Some(Some(name)) => match found.by_identifier.get(&name).filter(visible) {
            None => fail(
                &mut errors,
                "parent",
                format!(
                    "The parent product \"{name}\" does not exist (Switchboard keeps no product models: a parent is a product)."
                ),
            ),
            Some(_)
                if me.existed
                    && me
                        .uuid
                        .is_some_and(|u| found.ancestors.iter().any(|a| a == u)) =>
            {
                fail(
                    &mut errors,
                    "parent",
                    format!(
                        "The product \"{name}\" cannot be the parent of \"{}\": it descends from it.",
                        me.identifier
                    ),
                );
            }
            Some(parent) => current.parent = Some(parent.uuid.clone()),
        },
    }
    // A product named in an association, as its UUID.
    let resolve = |errors: &mut Vec<RestViolation>, field: &str, name: &str| {
        let itself = match naming {
            Naming::Identifier => name == me.identifier,
            Naming::Uuid => me.uuid == Some(name),
        };
        if itself {
            fail(
                errors,
                field,
                format!("The product \"{name}\" cannot be associated with itself."),
            );
            return None;
        }
        let by = match naming {
            Naming::Identifier => &found.by_identifier,
            Naming::Uuid => &found.by_uuid,
        };
        match by.get(name).filter(visible) {
            Some(l) => Some(l.uuid.clone()),
            None => {
                fail(
                    errors,
                    field,
                    format!("The product \"{name}\" does not exist."),
                );
                None
            }
        }
    };
    if let Some(mut patch) = input.associations.take() {
        for (type_code, given) in &mut patch {
            if let Some(names) = given.products.as_mut() {
                let field = format!("associations.{type_code}.products");
                *names = names
                    .iter()
                    .filter_map(|n| resolve(&mut errors, &field, n))
                    .collect();
            }
        }
        products::merge_associations(&mut current.associations, patch, &hidden);
    }
    if let Some(mut patch) = input.quantified_associations.take() {
        for (type_code, given) in &mut patch {
            if let Some(items) = given.products.as_mut() {
                let field = format!("quantified_associations.{type_code}.products");
                *items = items
                    .iter()
                    .filter_map(|(n, q)| resolve(&mut errors, &field, n).map(|u| (u, *q)))
                    .collect();
            }
        }
        products::merge_quantified(&mut current.quantified, patch, &hidden);
    }
    if errors.is_empty() {
        Ok(current)
    } else {
        Err(RestFailure::invalid(errors))
    }
}

fn new_product(
    identifier: String,
    mut input: ProductInput,
    found: &Found,
    access: &GroupAccess,
    naming: Naming,
) -> Result<ProductRow, RestFailure> {
    let uuid = input.uuid.clone();
    let relations = relate(
        Relations::default(),
        &Writing {
            identifier: &identifier,
            uuid: uuid.as_deref(),
            existed: false,
        },
        &mut input,
        found,
        access,
        naming,
    )?;
    Ok(ProductRow {
        identifier,
        // Empty: the store gives it a new one.
        uuid: uuid.unwrap_or_default(),
        enabled: input.enabled.unwrap_or(true),
        family: input.family.flatten(),
        categories: input.categories.unwrap_or_default(),
        // As a merge into nothing: a value with null data is no value.
        values: {
            let mut values = serde_json::Map::new();
            products::merge_values(&mut values, input.values.unwrap_or_default());
            ProductRow::values_from(&values)
        },
        created_ms: 0,
        updated_ms: 0,
        relations,
    })
}

/// PATCH: given fields replace, `values` merge, and so do the
/// associations (per type and list, see [`relate`]); the categories the
/// group cannot see stay as they are (it cannot name them).
fn merged(
    mut old: ProductRow,
    mut input: ProductInput,
    access: &GroupAccess,
    found: &Found,
    naming: Naming,
) -> Result<ProductRow, RestFailure> {
    old.relations = relate(
        std::mem::take(&mut old.relations),
        &Writing {
            identifier: &old.identifier,
            uuid: Some(&old.uuid),
            existed: true,
        },
        &mut input,
        found,
        access,
        naming,
    )?;
    if let Some(e) = input.enabled {
        old.enabled = e;
    }
    if let Some(f) = input.family {
        old.family = f;
    }
    if let Some(mut categories) = input.categories {
        let hidden = old
            .categories
            .iter()
            .filter(|c| !access.can_view(c))
            .cloned();
        for h in hidden {
            if !categories.contains(&h) {
                categories.push(h);
            }
        }
        old.categories = categories;
    }
    if let Some(values) = input.values {
        let mut current = old.values_map();
        products::merge_values(&mut current, values);
        old.values = ProductRow::values_from(&current);
    }
    Ok(old)
}

#[cfg(test)]
mod tests {
    use super::time_text;

    #[test]
    fn times_are_written_in_the_pims_format() {
        // 2026-01-31T09:30:00.250Z
        assert_eq!(time_text(1_769_851_800_250), "2026-01-31T09:30:00+00:00");
        assert_eq!(time_text(0), "1970-01-01T00:00:00+00:00");
    }
}

/// Most products one batch upsert takes (the PIM's limit).
pub const BATCH_MAX: usize = 100;

/// One line of a batch upsert's answer, in the PIM's shape.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct BatchLine {
    pub line: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identifier: Option<String>,
    /// The product's UUID, once written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uuid: Option<String>,
    pub status_code: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<RestViolation>,
}

impl BatchLine {
    fn ok(line: usize, identifier: String, uuid: String, status_code: u16) -> BatchLine {
        BatchLine {
            line,
            identifier: Some(identifier),
            uuid: Some(uuid),
            status_code,
            message: None,
            errors: Vec::new(),
        }
    }

    fn failed(line: usize, identifier: Option<String>, failure: &RestFailure) -> BatchLine {
        BatchLine {
            line,
            identifier,
            uuid: None,
            status_code: failure.status(),
            message: Some(failure.message()),
            errors: match failure {
                RestFailure::Unprocessable { errors, .. } => errors.clone(),
                _ => Vec::new(),
            },
        }
    }
}

/// A batch line's product, checked as a single upsert checks its body;
/// a refusal names the line's identifier when it has one.
fn batch_line_input(
    line: &[u8],
    snapshot: &CatalogSnapshot,
    access: &GroupAccess,
    naming: Naming,
) -> Result<(String, ProductInput), (Option<String>, RestFailure)> {
    let body: Value = serde_json::from_slice(line).map_err(|e| {
        (
            None,
            RestFailure::BadRequest(format!("Invalid json message received: {e}")),
        )
    })?;
    let named = body
        .get("identifier")
        .and_then(Value::as_str)
        .map(str::to_string);
    let fail = |f: RestFailure| (named.clone(), f);
    let input =
        products::parse_product_body(body, naming).map_err(|e| fail(RestFailure::invalid(e)))?;
    let Some(identifier) = input.identifier.clone() else {
        return Err(fail(RestFailure::one(
            "identifier",
            "The identifier is required.".to_string(),
        )));
    };
    if let Err(m) = products::check_identifier(&identifier) {
        return Err(fail(RestFailure::one("identifier", m)));
    }
    Service::check_categories(snapshot, access, &input).map_err(fail)?;
    Ok((identifier, input))
}

/// What an upsert of `identifier` writes over `current`: a new product, or
/// the old one merged with `input` (R11: only what the group may edit).
fn upsert<'a>(
    caller: &'a ApiCaller,
    access: &'a GroupAccess,
    identifier: &'a str,
    input: ProductInput,
    naming: Naming,
) -> impl FnOnce(Option<ProductRow>, &Found) -> Result<ProductRow, RestFailure> + Send + 'a {
    move |current, found| {
        let p = match current {
            None => new_product(identifier.to_string(), input, found, access, naming)?,
            Some(old) if !access.can_view_product(&old.categories) => {
                return Err(not_found(identifier));
            }
            // A product's UUID never changes; a create by UUID meeting a
            // product of that identifier is not that product.
            Some(old) if input.uuid.as_ref().is_some_and(|u| *u != old.uuid) => {
                return Err(RestFailure::one(
                    "uuid",
                    format!(
                        "The product \"{identifier}\" has the uuid \"{}\"; a product's uuid cannot be changed.",
                        old.uuid
                    ),
                ));
            }
            Some(old) if !access.can_edit_product(&old.categories) => {
                return Err(RestFailure::Forbidden(format!(
                    "Product \"{identifier}\" cannot be updated: the group \"{}\" of connection \"{}\" may only view its categories.",
                    caller.group, caller.code
                )));
            }
            Some(old) => merged(old, input, access, found, naming)?,
        };
        Service::keep_editable(access, &p)?;
        Ok(p)
    }
}

/// [`upsert`] owning its identifier (a batch line's).
fn upsert_owned<'a>(
    caller: &'a ApiCaller,
    access: &'a GroupAccess,
    identifier: String,
    input: ProductInput,
    naming: Naming,
) -> impl FnOnce(Option<ProductRow>, &Found) -> Result<ProductRow, RestFailure> + Send + 'a {
    move |current, found| upsert(caller, access, &identifier, input, naming)(current, found)
}
