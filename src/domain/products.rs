//! The products of the Web API (R22) as pure rules: what a product body may
//! hold (the PIM API's standard format, reduced), how a PATCH merges into a
//! product, and the `search` filters of a list.

use std::collections::{BTreeMap, HashSet};

use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::model::RestViolation;

/// Longest product identifier (the PIM's).
pub const IDENTIFIER_MAX: usize = 255;

/// Largest quantity of a quantified association (the PIM's: a signed
/// 32-bit integer).
pub const QUANTITY_MAX: u32 = i32::MAX as u32;

/// How a products API names the products a body or an answer links to
/// (associations): `/api/rest/v1/products` by identifier,
/// `/api/rest/v1/products-uuid` by UUID, as the PIM's two APIs do. A
/// `parent` is named by identifier in both (the PIM names a product model
/// by its code in both).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Naming {
    #[default]
    Identifier,
    Uuid,
}

/// A product body, checked; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProductInput {
    pub identifier: Option<String>,
    /// The product's UUID, canonical (lowercase, hyphenated).
    pub uuid: Option<String>,
    pub enabled: Option<bool>,
    pub family: Option<Option<String>>,
    pub categories: Option<Vec<String>>,
    pub values: Option<Map<String, Value>>,
    /// Product group codes (shape only: Switchboard keeps no groups table).
    pub groups: Option<Vec<String>>,
    /// The parent product's identifier; `Some(None)` removes the parent.
    pub parent: Option<Option<String>>,
    /// Association type → what the body gives of it.
    pub associations: Option<BTreeMap<String, AssociationPatch>>,
    pub quantified_associations: Option<BTreeMap<String, QuantifiedPatch>>,
}

/// One association type in a body: each list given replaces that list
/// (the PIM's PATCH); products as the API names them ([`Naming`]).
/// `product_models` is accepted only empty (Switchboard keeps no product
/// models), so it has nothing to carry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AssociationPatch {
    pub products: Option<Vec<String>>,
    pub groups: Option<Vec<String>>,
}

/// One quantified association type in a body: the products given (as the
/// API names them) with their quantities replace the type's products.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QuantifiedPatch {
    pub products: Option<Vec<(String, u32)>>,
}

/// One association type as stored: products by UUID (stable, so either
/// API reads them in its own naming), groups by code.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Association {
    #[serde(default)]
    pub products: Vec<String>,
    #[serde(default)]
    pub groups: Vec<String>,
}

/// A product of a quantified association as stored.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct QuantifiedProduct {
    pub uuid: String,
    pub quantity: u32,
}

/// One quantified association type as stored.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct QuantifiedAssociation {
    #[serde(default)]
    pub products: Vec<QuantifiedProduct>,
}

/// A product another one links to (its parent, an associated product),
/// as a read or a write finds it: what names it in either API, and its
/// categories (whether the caller's group may see it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkedProduct {
    pub uuid: String,
    pub identifier: String,
    pub categories: Vec<String>,
}

/// What a product links to, as stored: its groups, its parent and its
/// (quantified) associations, other products by UUID.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Relations {
    pub groups: Vec<String>,
    /// The parent product's UUID.
    pub parent: Option<String>,
    pub associations: BTreeMap<String, Association>,
    pub quantified: BTreeMap<String, QuantifiedAssociation>,
    /// Filled when read: each product named above that exists, by UUID.
    pub linked: BTreeMap<String, LinkedProduct>,
}

impl Relations {
    /// Every product named (parent, associated), each once.
    pub fn linked_uuids(&self) -> Vec<&str> {
        let mut seen: Vec<&str> = Vec::new();
        let named = self
            .parent
            .iter()
            .map(String::as_str)
            .chain(
                self.associations
                    .values()
                    .flat_map(|a| a.products.iter().map(String::as_str)),
            )
            .chain(
                self.quantified
                    .values()
                    .flat_map(|q| q.products.iter().map(|p| p.uuid.as_str())),
            );
        for uuid in named {
            if !seen.contains(&uuid) {
                seen.push(uuid);
            }
        }
        seen
    }

    /// Whether it names any other product.
    pub fn links(&self) -> bool {
        self.parent.is_some()
            || self.associations.values().any(|a| !a.products.is_empty())
            || self.quantified.values().any(|q| !q.products.is_empty())
    }

    /// Takes a deleted product out of the associations (as the PIM does);
    /// `true` when it was in one.
    pub fn forget(&mut self, uuid: &str) -> bool {
        let mut changed = false;
        for a in self.associations.values_mut() {
            let before = a.products.len();
            a.products.retain(|p| p != uuid);
            changed |= a.products.len() != before;
        }
        for q in self.quantified.values_mut() {
            let before = q.products.len();
            q.products.retain(|p| p.uuid != uuid);
            changed |= q.products.len() != before;
        }
        changed
    }
}

/// Merges a PATCH's associations (products already resolved to UUIDs), as
/// the PIM does: types absent from the patch stay; for a type present,
/// each list given replaces that list. Products in `hidden` (ones the
/// writer cannot see, so cannot name) stay where they were.
pub fn merge_associations(
    current: &mut BTreeMap<String, Association>,
    patch: BTreeMap<String, AssociationPatch>,
    hidden: &HashSet<String>,
) {
    for (type_code, given) in patch {
        let entry = current.entry(type_code).or_default();
        if let Some(mut products) = given.products {
            for kept in entry.products.iter().filter(|u| hidden.contains(*u)) {
                if !products.contains(kept) {
                    products.push(kept.clone());
                }
            }
            entry.products = products;
        }
        if let Some(groups) = given.groups {
            entry.groups = groups;
        }
    }
}

/// [`merge_associations`] for quantified associations.
pub fn merge_quantified(
    current: &mut BTreeMap<String, QuantifiedAssociation>,
    patch: BTreeMap<String, QuantifiedPatch>,
    hidden: &HashSet<String>,
) {
    for (type_code, given) in patch {
        let entry = current.entry(type_code).or_default();
        if let Some(products) = given.products {
            let mut products: Vec<QuantifiedProduct> = products
                .into_iter()
                .map(|(uuid, quantity)| QuantifiedProduct { uuid, quantity })
                .collect();
            for kept in entry.products.iter().filter(|p| hidden.contains(&p.uuid)) {
                if !products.iter().any(|p| p.uuid == kept.uuid) {
                    products.push(kept.clone());
                }
            }
            entry.products = products;
        }
    }
}

fn violation(property: &str, message: impl Into<String>) -> RestViolation {
    RestViolation {
        property: property.to_string(),
        message: message.into(),
        attribute: None,
        locale: None,
        scope: None,
    }
}

/// The JSON type of a value, as the PIM names it in its messages.
fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "NULL",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn expects(property: &str, what: &str, given: &Value) -> RestViolation {
    violation(
        property,
        format!(
            "Property \"{property}\" expects {what} as data, \"{}\" given.",
            type_name(given)
        ),
    )
}

fn is_code(s: &str) -> bool {
    !s.is_empty() && s.len() <= 100 && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// An identifier: 1–255 characters, no line break, comma or semicolon, no
/// surrounding spaces.
pub fn check_identifier(id: &str) -> Result<(), String> {
    if id.is_empty() {
        return Err("The identifier must not be empty.".to_string());
    }
    if id.chars().count() > IDENTIFIER_MAX {
        return Err(format!(
            "The identifier is too long: at most {IDENTIFIER_MAX} characters."
        ));
    }
    if id.trim() != id {
        return Err("The identifier must not start or end with spaces.".to_string());
    }
    if id.chars().any(|c| c.is_control() || c == ',' || c == ';') {
        return Err(
            "The identifier must not contain a comma, a semicolon or a line break.".to_string(),
        );
    }
    Ok(())
}

/// Checks one attribute's values: an array of `{locale, scope, data}`, each
/// locale and scope pair at most once.
fn check_value_list(attribute: &str, list: &Value, out: &mut Vec<RestViolation>) {
    let at = |message: String| RestViolation {
        property: "values".to_string(),
        message,
        attribute: Some(attribute.to_string()),
        locale: None,
        scope: None,
    };
    if !is_code(attribute) {
        out.push(at(format!(
            "The attribute code {attribute:?} may contain only letters, digits and _ (1 to 100)."
        )));
        return;
    }
    let Value::Array(items) = list else {
        out.push(at(format!(
            "Property \"values\" expects an array of {{\"locale\", \"scope\", \"data\"}} objects for the attribute \"{attribute}\", \"{}\" given.",
            type_name(list)
        )));
        return;
    };
    let mut seen: Vec<(Option<&str>, Option<&str>)> = Vec::new();
    for item in items {
        let Value::Object(fields) = item else {
            out.push(at(format!(
                "Each value of \"{attribute}\" must be an object with \"locale\", \"scope\" and \"data\"."
            )));
            continue;
        };
        if let Some(extra) = fields.keys().find(|k| {
            !matches!(
                k.as_str(),
                "locale" | "scope" | "data" | "attribute_type" | "linked_data"
            )
        }) {
            out.push(at(format!(
                "Property \"{extra}\" does not exist in a value of \"{attribute}\": use locale, scope and data."
            )));
            continue;
        }
        if !fields.contains_key("data") {
            out.push(at(format!("A value of \"{attribute}\" has no \"data\".")));
            continue;
        }
        let mut key: [Option<&str>; 2] = [None, None];
        let mut ok = true;
        for (i, name) in ["locale", "scope"].into_iter().enumerate() {
            match fields.get(name) {
                None | Some(Value::Null) => {}
                Some(Value::String(s)) if is_code(s) => key[i] = Some(s.as_str()),
                Some(other) => {
                    out.push(at(format!(
                        "The {name} of a value of \"{attribute}\" must be a code or null, not {other}."
                    )));
                    ok = false;
                }
            }
        }
        if !ok {
            continue;
        }
        if seen.contains(&(key[0], key[1])) {
            out.push(RestViolation {
                locale: key[0].map(str::to_string),
                scope: key[1].map(str::to_string),
                ..at(format!(
                    "\"{attribute}\" has two values for the same locale and scope."
                ))
            });
            continue;
        }
        seen.push((key[0], key[1]));
    }
}

/// Codes (letters, digits and `_`), each once; what is not one is
/// reported under `property`.
fn code_list(
    property: &str,
    what: &str,
    items: Vec<Value>,
    errors: &mut Vec<RestViolation>,
) -> Vec<String> {
    let mut codes: Vec<String> = Vec::with_capacity(items.len());
    for item in items {
        match item {
            Value::String(s) if is_code(&s) => {
                if !codes.contains(&s) {
                    codes.push(s);
                }
            }
            other => errors.push(violation(
                property,
                format!(
                    "Property \"{property}\" expects an array of {what} codes (letters, digits and _), {} is not one.",
                    shown(&other)
                ),
            )),
        }
    }
    codes
}

/// A value as a message quotes it: at most 60 characters.
fn shown(v: &Value) -> String {
    let text = v.to_string();
    if text.chars().count() > 60 {
        format!("{}…", text.chars().take(60).collect::<String>())
    } else {
        text
    }
}

/// A product named in an association: an identifier, or a UUID (made
/// canonical) in the UUID API.
fn product_name(naming: Naming, name: &str) -> Result<String, String> {
    match naming {
        Naming::Identifier => check_identifier(name).map(|()| name.to_string()),
        Naming::Uuid => uuid::Uuid::parse_str(name)
            .map(|u| u.hyphenated().to_string())
            .map_err(|_| {
                format!(
                    "{:?} is not a product uuid (this API names products by uuid).",
                    name.chars().take(60).collect::<String>()
                )
            }),
    }
}

/// The property path of an association type's field, e.g.
/// `associations.X_SELL.products`; a type that is not a code is refused
/// (and named quoted, cut short).
fn type_field(root: &str, type_code: &str, errors: &mut Vec<RestViolation>) -> Option<String> {
    if is_code(type_code) {
        Some(format!("{root}.{type_code}"))
    } else {
        errors.push(violation(
            root,
            format!(
                "The association type code {:?} may contain only letters, digits and _ (1 to 100).",
                type_code.chars().take(60).collect::<String>()
            ),
        ));
        None
    }
}

/// `product_models`: Switchboard keeps no product models, so only an empty
/// list is accepted (a code would name one that does not exist).
fn no_product_models(field: &str, value: &Value, errors: &mut Vec<RestViolation>) {
    match value {
        Value::Array(items) if items.is_empty() => {}
        Value::Array(items) => errors.push(violation(
            field,
            format!(
                "Switchboard keeps no product models: {} does not exist. \"product_models\" must be an empty array.",
                shown(&items[0])
            ),
        )),
        other => errors.push(expects(field, "an array", other)),
    }
}

/// `associations`: type → `{"products", "product_models", "groups"}`, every
/// key optional.
fn parse_associations(
    types: Map<String, Value>,
    naming: Naming,
    errors: &mut Vec<RestViolation>,
) -> BTreeMap<String, AssociationPatch> {
    let mut out = BTreeMap::new();
    for (type_code, lists) in types {
        let Some(at) = type_field("associations", &type_code, errors) else {
            continue;
        };
        let Value::Object(lists) = lists else {
            errors.push(expects(
                &at,
                "an object with \"products\", \"product_models\" and \"groups\"",
                &lists,
            ));
            continue;
        };
        let mut patch = AssociationPatch::default();
        for (key, value) in lists {
            let field = format!("{at}.{key}");
            match (key.as_str(), value) {
                ("products", Value::Array(items)) => {
                    let mut names: Vec<String> = Vec::with_capacity(items.len());
                    for item in items {
                        let name = match &item {
                            Value::String(s) => product_name(naming, s),
                            other => Err(format!(
                                "Property \"{field}\" expects an array of product {}s, {} is not one.",
                                match naming {
                                    Naming::Identifier => "identifier",
                                    Naming::Uuid => "uuid",
                                },
                                shown(other)
                            )),
                        };
                        match name {
                            Ok(n) if !names.contains(&n) => names.push(n),
                            Ok(_) => {}
                            Err(m) => errors.push(violation(&field, m)),
                        }
                    }
                    patch.products = Some(names);
                }
                ("product_models", value) => no_product_models(&field, &value, errors),
                ("groups", Value::Array(items)) => {
                    patch.groups = Some(code_list(&field, "group", items, errors));
                }
                ("products" | "groups", other) => errors.push(expects(&field, "an array", &other)),
                (other, _) => errors.push(violation(
                    &field,
                    format!(
                        "Property \"{}\" does not exist in an association: use products, product_models and groups.",
                        other.chars().take(60).collect::<String>()
                    ),
                )),
            }
        }
        out.insert(type_code, patch);
    }
    out
}

/// `quantified_associations`: type → `{"products": [{"identifier" (or
/// "uuid"), "quantity"}], "product_models": []}`.
fn parse_quantified(
    types: Map<String, Value>,
    naming: Naming,
    errors: &mut Vec<RestViolation>,
) -> BTreeMap<String, QuantifiedPatch> {
    let key_name = match naming {
        Naming::Identifier => "identifier",
        Naming::Uuid => "uuid",
    };
    let mut out = BTreeMap::new();
    for (type_code, lists) in types {
        let Some(at) = type_field("quantified_associations", &type_code, errors) else {
            continue;
        };
        let Value::Object(lists) = lists else {
            errors.push(expects(
                &at,
                "an object with \"products\" and \"product_models\"",
                &lists,
            ));
            continue;
        };
        let mut patch = QuantifiedPatch::default();
        for (key, value) in lists {
            let field = format!("{at}.{key}");
            match (key.as_str(), value) {
                ("products", Value::Array(items)) => {
                    let mut products: Vec<(String, u32)> = Vec::with_capacity(items.len());
                    for item in items {
                        match quantified_item(&field, key_name, naming, &item) {
                            Ok((name, _)) if products.iter().any(|(n, _)| *n == name) => {
                                errors.push(violation(
                                    &field,
                                    format!("The product \"{name}\" is given twice."),
                                ));
                            }
                            Ok(p) => products.push(p),
                            Err(m) => errors.push(violation(&field, m)),
                        }
                    }
                    patch.products = Some(products);
                }
                ("product_models", value) => no_product_models(&field, &value, errors),
                ("products", other) => errors.push(expects(&field, "an array", &other)),
                (other, _) => errors.push(violation(
                    &field,
                    format!(
                        "Property \"{}\" does not exist in a quantified association: use products and product_models.",
                        other.chars().take(60).collect::<String>()
                    ),
                )),
            }
        }
        out.insert(type_code, patch);
    }
    out
}

/// One `{"identifier" (or "uuid"), "quantity"}` of a quantified
/// association: the product's name and a quantity from 1 to
/// [`QUANTITY_MAX`].
fn quantified_item(
    field: &str,
    key_name: &str,
    naming: Naming,
    item: &Value,
) -> Result<(String, u32), String> {
    let Value::Object(fields) = item else {
        return Err(format!(
            "Property \"{field}\" expects objects {{\"{key_name}\": …, \"quantity\": …}}, {} given.",
            shown(item)
        ));
    };
    // The other API's name of the product is read-only here, as `created`
    // is in a product: a client may send back what it read elsewhere.
    let other_name = match naming {
        Naming::Identifier => "uuid",
        Naming::Uuid => "identifier",
    };
    if let Some(extra) = fields
        .keys()
        .find(|k| *k != key_name && *k != "quantity" && *k != other_name)
    {
        return Err(format!(
            "Property \"{}\" does not exist in a quantified product: use {key_name} and quantity.",
            extra.chars().take(60).collect::<String>()
        ));
    }
    let name = match fields.get(key_name) {
        Some(Value::String(s)) => product_name(naming, s)?,
        Some(other) => {
            return Err(format!(
                "The {key_name} of a quantified product must be a string, {} given.",
                shown(other)
            ));
        }
        None => return Err(format!("A quantified product has no \"{key_name}\".")),
    };
    let quantity = fields
        .get("quantity")
        .and_then(Value::as_u64)
        .and_then(|q| u32::try_from(q).ok())
        .filter(|q| (1..=QUANTITY_MAX).contains(q));
    match quantity {
        Some(q) => Ok((name, q)),
        None => Err(format!(
            "The quantity of \"{name}\" must be a whole number from 1 to {QUANTITY_MAX}, {} given.",
            fields
                .get("quantity")
                .map_or_else(|| "none".to_string(), shown)
        )),
    }
}

/// Reads a product body, products it associates named as `naming` says.
/// Unknown properties, wrong types and malformed values are all reported
/// at once (a 422 answer lists them).
pub fn parse_product_body(body: Value, naming: Naming) -> Result<ProductInput, Vec<RestViolation>> {
    let Value::Object(map) = body else {
        return Err(vec![violation(
            "body",
            format!(
                "The body must be a JSON object describing a product, \"{}\" given.",
                type_name(&body)
            ),
        )]);
    };
    let mut input = ProductInput::default();
    let mut errors = Vec::new();
    for (key, value) in map {
        match key.as_str() {
            "identifier" => match value {
                Value::String(s) => match check_identifier(&s) {
                    Ok(()) => input.identifier = Some(s),
                    Err(m) => errors.push(violation("identifier", m)),
                },
                other => errors.push(expects("identifier", "a string", &other)),
            },
            "enabled" => match value {
                Value::Bool(b) => input.enabled = Some(b),
                other => errors.push(expects("enabled", "a boolean", &other)),
            },
            "family" => match value {
                Value::Null => input.family = Some(None),
                Value::String(s) if is_code(&s) => input.family = Some(Some(s)),
                Value::String(s) => errors.push(violation(
                    "family",
                    format!("The family code {s:?} may contain only letters, digits and _."),
                )),
                other => errors.push(expects("family", "a string or null", &other)),
            },
            "categories" => match value {
                Value::Array(items) => {
                    let mut codes: Vec<String> = Vec::with_capacity(items.len());
                    for item in items {
                        match item {
                            Value::String(s) if is_code(&s) => {
                                if !codes.contains(&s) {
                                    codes.push(s);
                                }
                            }
                            other => errors.push(violation(
                                "categories",
                                format!(
                                    "Property \"categories\" expects an array of category codes, {other} is not one."
                                ),
                            )),
                        }
                    }
                    input.categories = Some(codes);
                }
                other => errors.push(expects("categories", "an array", &other)),
            },
            "values" => match value {
                Value::Object(values) => {
                    for (attribute, list) in &values {
                        check_value_list(attribute, list, &mut errors);
                    }
                    input.values = Some(values);
                }
                other => errors.push(expects("values", "an object", &other)),
            },
            "uuid" => match value {
                Value::Null => {}
                Value::String(s) => match uuid::Uuid::parse_str(&s) {
                    Ok(u) => input.uuid = Some(u.hyphenated().to_string()),
                    Err(_) => errors.push(violation(
                        "uuid",
                        format!(
                            "The uuid {:?} is not a valid UUID.",
                            s.chars().take(60).collect::<String>()
                        ),
                    )),
                },
                other => errors.push(expects("uuid", "a string", &other)),
            },
            // Read-only in the PIM's format: accepted and ignored, so a
            // client may send back what it read.
            "created" | "updated" | "_links" => {}
            "groups" => match value {
                Value::Array(items) => {
                    input.groups = Some(code_list("groups", "group", items, &mut errors));
                }
                other => errors.push(expects("groups", "an array", &other)),
            },
            "parent" => match value {
                Value::Null => input.parent = Some(None),
                Value::String(s) => match check_identifier(&s) {
                    Ok(()) => input.parent = Some(Some(s)),
                    Err(m) => errors.push(violation(
                        "parent",
                        format!("The parent must be a product identifier: {m}"),
                    )),
                },
                other => errors.push(expects("parent", "a string or null", &other)),
            },
            "associations" => match value {
                Value::Object(types) => {
                    input.associations = Some(parse_associations(types, naming, &mut errors));
                }
                other => errors.push(expects("associations", "an object", &other)),
            },
            "quantified_associations" => match value {
                Value::Object(types) => {
                    input.quantified_associations =
                        Some(parse_quantified(types, naming, &mut errors));
                }
                other => errors.push(expects("quantified_associations", "an object", &other)),
            },
            other => errors.push(violation(
                other,
                format!(
                    "Property \"{other}\" does not exist. Check the standard format documentation."
                ),
            )),
        }
    }
    if errors.is_empty() {
        Ok(input)
    } else {
        Err(errors)
    }
}

fn locale_scope(v: &Value) -> (Option<&str>, Option<&str>) {
    (
        v.get("locale").and_then(Value::as_str),
        v.get("scope").and_then(Value::as_str),
    )
}

/// Merges a PATCH's `values` into a product's, as the PIM does: attributes
/// absent from the patch keep all their values; for an attribute present,
/// each `{locale, scope}` given replaces the value with the same locale and
/// scope and the others stay. `data: null` removes that value (the PIM
/// keeps no empty values), and an attribute left with none goes.
pub fn merge_values(current: &mut Map<String, Value>, patch: Map<String, Value>) {
    for (attribute, new_list) in patch {
        let Value::Array(new_items) = new_list else {
            continue;
        };
        let old_items = match current.get_mut(&attribute) {
            Some(Value::Array(old_items)) => old_items,
            _ => {
                current.insert(attribute.clone(), Value::Array(Vec::new()));
                match current.get_mut(&attribute) {
                    Some(Value::Array(items)) => items,
                    _ => continue,
                }
            }
        };
        for item in new_items {
            let key = locale_scope(&item);
            let key = (key.0.map(str::to_string), key.1.map(str::to_string));
            let found = old_items.iter().position(|o| {
                let k = locale_scope(o);
                (k.0, k.1) == (key.0.as_deref(), key.1.as_deref())
            });
            let empty = item.get("data").is_none_or(Value::is_null);
            match (found, empty) {
                (Some(i), true) => {
                    old_items.remove(i);
                }
                (Some(i), false) => old_items[i] = item,
                (None, true) => {}
                (None, false) => old_items.push(item),
            }
        }
        if old_items.is_empty() {
            current.remove(&attribute);
        }
    }
}

/// A filter of `GET /api/rest/v1/products?search=…` (the PIM's syntax:
/// `{"property":[{"operator":…,"value":…}]}`).
#[derive(Debug, Clone, PartialEq)]
pub enum SearchFilter {
    /// `identifier`: `IN`, `NOT IN` (arrays), `=`, `!=` (a string).
    Identifier {
        negate: bool,
        values: Vec<String>,
    },
    /// `enabled`: `=` or `!=` a boolean; holds the value products must have.
    Enabled(bool),
    /// `family`: `IN`, `NOT IN`, `EMPTY`, `NOT EMPTY`.
    Family(FamilyFilter),
    /// `categories`.
    Categories(CategoryOp, Vec<String>),
    /// `created` and `updated`.
    Created(TimeFilter),
    Updated(TimeFilter),
    /// `groups`: `IN`, `NOT IN` (arrays of group codes), `EMPTY`,
    /// `NOT EMPTY`.
    Groups(GroupsFilter),
    /// `parent` (Switchboard's parents are products, named by identifier).
    Parent(ParentFilter),
    /// `uuid`: `IN`, `NOT IN` (arrays of UUIDs, made canonical: lowercase
    /// and hyphenated, as stored).
    Uuid {
        negate: bool,
        values: Vec<String>,
    },
    /// A property that is not one of the above: an attribute's values (the
    /// PIM's filters on product values).
    Attribute(AttributeFilter),
}

/// A filter on the values of one attribute. Switchboard has no attribute
/// catalog: the operator and the value's JSON type say what is compared,
/// and a stored value takes part when its data has the matching type.
#[derive(Debug, Clone, PartialEq)]
pub struct AttributeFilter {
    /// The attribute code (letters, digits and `_`, as the PIM's).
    pub code: String,
    /// `locale` (or `locales`): only values with one of these locales;
    /// `None`: values of any locale.
    pub locales: Option<Vec<String>>,
    /// `scope`: only values of this channel; `None`: any.
    pub scope: Option<String>,
    /// The locales came from `search_locale` (the filter gave none): values
    /// with no locale (of attributes that are not localisable) count too.
    pub default_locale: bool,
    /// The scope came from `search_scope`: values with no scope count too.
    pub default_scope: bool,
    pub op: AttributeOp,
}

/// The list parameters `search_locale` and `search_scope`: the locale and
/// channel of attribute filters that give none of their own.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SearchDefaults {
    pub locale: Option<String>,
    pub scope: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum AttributeOp {
    /// `EMPTY`: no value looked at holds data (null, `""` and `[]` are
    /// none).
    Empty,
    /// `NOT EMPTY`: some value looked at holds data.
    NotEmpty,
    /// `EMPTY` with `{"currency": …}` (price collections): no value looked
    /// at holds a price in this currency with an amount.
    EmptyPrice(String),
    /// `NOT EMPTY` with `{"currency": …}`: some value looked at does.
    NotEmptyPrice(String),
    /// Some value looked at passes `test`; negated (the PIM's `!=`,
    /// `NOT IN`, `DOES NOT CONTAIN`, `NOT BETWEEN`): the product has a value
    /// of the test's kind and none passes.
    Test { test: ValueTest, negate: bool },
}

/// A test of one value's data. Strings are compared ASCII
/// case-insensitively: the filter's strings are held lowercased.
#[derive(Debug, Clone, PartialEq)]
pub enum ValueTest {
    /// Text (string data): `STARTS WITH`, `ENDS WITH`, `CONTAINS`, `=`.
    StartsWith(String),
    EndsWith(String),
    Contains(String),
    TextEquals(String),
    /// `IN`: string data, or an array of strings holding one of these.
    OneOf(Vec<String>),
    /// Numbers (numeric data, or a string of digits with at most one
    /// point).
    Number(NumberCmp, f64),
    /// Boolean data equal to this.
    Boolean(bool),
    /// Dates (string data starting `YYYY-MM-DD`, compared by that day):
    /// the day given as `YYYY-MM-DD`.
    Date(DateCmp, String),
    DateBetween(String, String),
    /// Price collections (`{"amount", "currency"}`): an entry of the data
    /// array in this currency (compared exactly) whose amount (a number or
    /// numeric string) compares.
    Price(NumberCmp, f64, String),
    /// Metrics (`{"amount", "unit"}`): data of this unit (compared exactly;
    /// no conversion) whose amount compares.
    Metric(NumberCmp, f64, String),
}

impl ValueTest {
    /// The kind of data the test looks at.
    pub fn kind(&self) -> ValueKind<'_> {
        match self {
            ValueTest::StartsWith(_)
            | ValueTest::EndsWith(_)
            | ValueTest::Contains(_)
            | ValueTest::TextEquals(_) => ValueKind::Text,
            ValueTest::OneOf(_) => ValueKind::Options,
            ValueTest::Number(..) => ValueKind::Number,
            ValueTest::Boolean(_) => ValueKind::Boolean,
            ValueTest::Date(..) | ValueTest::DateBetween(..) => ValueKind::Date,
            ValueTest::Price(.., currency) => ValueKind::Price(currency),
            ValueTest::Metric(.., unit) => ValueKind::Metric(unit),
        }
    }
}

/// What data a test looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind<'a> {
    /// A non-empty string.
    Text,
    /// A non-empty string or a non-empty array.
    Options,
    /// A number, or a numeric string (digits with at most one point, an
    /// optional leading `-`, at most 40 characters).
    Number,
    Boolean,
    /// A string starting `YYYY-MM-DD`, alone or followed by `T` or a space.
    Date,
    /// An array holding a price (`{"amount", "currency"}`) in this currency
    /// with a numeric amount.
    Price(&'a str),
    /// A metric (`{"amount", "unit"}`) of this unit with a numeric amount.
    Metric(&'a str),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumberCmp {
    Lt,
    Le,
    Eq,
    Ge,
    Gt,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateCmp {
    Before,
    After,
    On,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupsFilter {
    /// In at least one of these groups.
    In(Vec<String>),
    /// In none of them (products in no group included).
    NotIn(Vec<String>),
    Empty,
    NotEmpty,
}

/// The PIM's `parent` filter; a parent the caller's group cannot view
/// counts as none (it reads as `null`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParentFilter {
    /// `=`: descends from this product, at any depth (the PIM: "descendants
    /// of the provided product model", root or sub).
    Descends(String),
    /// `IN`: a direct child of one of these products.
    In(Vec<String>),
    /// `EMPTY`: no parent (the PIM's simple products).
    Empty,
    /// `NOT EMPTY`: a parent (the PIM's variant products).
    NotEmpty,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FamilyFilter {
    In(Vec<String>),
    NotIn(Vec<String>),
    Empty,
    NotEmpty,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CategoryOp {
    In,
    NotIn,
    /// In the category or under it.
    InChildren,
    NotInChildren,
    Unclassified,
    InOrUnclassified,
}

/// Times in milliseconds since the epoch (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeFilter {
    Before(i64),
    After(i64),
    Between(i64, i64),
    NotBetween(i64, i64),
    SinceLastDays(u32),
    /// `=`: during the day (UTC) starting at this time.
    OnDay(i64),
    /// `!=`: not during the day starting at this time.
    NotOnDay(i64),
}

/// Why a `search` was refused: 400 for JSON that does not parse, 422 for a
/// filter the API does not know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SearchError {
    BadJson(String),
    Unsupported(String),
}

fn unsupported(property: &str, operator: &str) -> SearchError {
    SearchError::Unsupported(format!(
        "Filter on property \"{property}\" is not supported or does not support operator \"{operator}\""
    ))
}

fn structure(property: &str) -> SearchError {
    SearchError::Unsupported(format!(
        "Structure of filter \"{property}\" should respect this structure: {{\"{property}\":[{{\"operator\": \"my_operator\", \"value\": \"my_value\"}}]}}"
    ))
}

fn strings(property: &str, value: Option<&Value>) -> Result<Vec<String>, SearchError> {
    let Some(Value::Array(items)) = value else {
        return Err(SearchError::Unsupported(format!(
            "Property \"{property}\" expects an array as value"
        )));
    };
    items
        .iter()
        .map(|v| {
            v.as_str().map(str::to_string).ok_or_else(|| {
                SearchError::Unsupported(format!(
                    "Property \"{property}\" expects an array of strings as value"
                ))
            })
        })
        .collect()
}

/// An array of UUIDs, each made canonical (lowercase, hyphenated).
fn uuids(property: &str, value: Option<&Value>) -> Result<Vec<String>, SearchError> {
    strings(property, value)?
        .iter()
        .map(|s| {
            uuid::Uuid::parse_str(s)
                .map(|u| u.hyphenated().to_string())
                .map_err(|_| {
                    SearchError::Unsupported(format!(
                        "Property \"{property}\" expects an array of valid UUIDs as value: {:?} is not one",
                        s.chars().take(60).collect::<String>()
                    ))
                })
        })
        .collect()
}

/// A day in milliseconds.
pub const DAY_MS: i64 = 24 * 3600 * 1000;

/// `YYYY-MM-DD hh:mm:ss` (UTC) in milliseconds.
fn datetime(property: &str, v: Option<&Value>) -> Result<i64, SearchError> {
    let bad = || {
        SearchError::Unsupported(format!(
            "Property \"{property}\" expects a string with the format \"yyyy-mm-dd hh:mm:ss\" as value"
        ))
    };
    let s = v.and_then(Value::as_str).ok_or_else(bad)?;
    chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S")
        .map(|t| t.and_utc().timestamp_millis())
        .map_err(|_| bad())
}

fn time_filter(
    property: &str,
    operator: &str,
    v: Option<&Value>,
) -> Result<TimeFilter, SearchError> {
    Ok(match operator {
        "<" => TimeFilter::Before(datetime(property, v)?),
        "=" | "!=" => {
            let start = datetime(property, v)?.div_euclid(DAY_MS) * DAY_MS;
            if operator == "=" {
                TimeFilter::OnDay(start)
            } else {
                TimeFilter::NotOnDay(start)
            }
        }
        ">" => TimeFilter::After(datetime(property, v)?),
        "BETWEEN" | "NOT BETWEEN" => {
            let Some(Value::Array(pair)) = v else {
                return Err(SearchError::Unsupported(format!(
                    "Property \"{property}\" expects an array of two dates with {operator}"
                )));
            };
            if pair.len() != 2 {
                return Err(SearchError::Unsupported(format!(
                    "Property \"{property}\" expects an array of two dates with {operator}"
                )));
            }
            let a = datetime(property, pair.first())?;
            let b = datetime(property, pair.get(1))?;
            if operator == "BETWEEN" {
                TimeFilter::Between(a, b)
            } else {
                TimeFilter::NotBetween(a, b)
            }
        }
        "SINCE LAST N DAYS" => {
            let n = v
                .and_then(Value::as_u64)
                .and_then(|n| u32::try_from(n).ok())
                .ok_or_else(|| {
                    SearchError::Unsupported(format!(
                        "Property \"{property}\" expects a whole number of days with SINCE LAST N DAYS"
                    ))
                })?;
            TimeFilter::SinceLastDays(n)
        }
        other => return Err(unsupported(property, other)),
    })
}

/// The properties of a product the search knows (or the PIM documents and
/// Switchboard does not support): any other is an attribute code.
const PRODUCT_PROPERTIES: [&str; 11] = [
    "identifier",
    "uuid",
    "categories",
    "enabled",
    "family",
    "groups",
    "parent",
    "created",
    "updated",
    "completeness",
    "quality_score",
];

/// An attribute code as the PIM allows them: letters, digits and `_`, at
/// most 100 characters.
fn is_attribute_code(s: &str) -> bool {
    !s.is_empty() && s.len() <= 100 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// `YYYY-MM-DD`, alone or starting an ISO-8601 date and time: the day.
fn attribute_date(property: &str, v: Option<&Value>) -> Result<String, SearchError> {
    let bad = || {
        SearchError::Unsupported(format!(
            "Property \"{property}\" expects a date with the format \"yyyy-mm-dd\" as value"
        ))
    };
    let s = v.and_then(Value::as_str).ok_or_else(bad)?;
    let day = s.get(..10).ok_or_else(bad)?;
    let rest = &s[10..];
    if !(rest.is_empty() || rest.starts_with('T') || rest.starts_with(' ')) {
        return Err(bad());
    }
    chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d").map_err(|_| bad())?;
    if !day.bytes().enumerate().all(|(i, b)| {
        if i == 4 || i == 7 {
            b == b'-'
        } else {
            b.is_ascii_digit()
        }
    }) {
        return Err(bad());
    }
    Ok(day.to_string())
}

/// A filter on the values of the attribute `code`: condition `c`, whose
/// value is `value`.
fn attribute_filter(
    code: &str,
    operator: &str,
    c: &Value,
    value: Option<&Value>,
    defaults: &SearchDefaults,
) -> Result<AttributeFilter, SearchError> {
    let locales = match (c.get("locale"), c.get("locales")) {
        (Some(_), Some(_)) => {
            return Err(SearchError::Unsupported(format!(
                "Filter on attribute \"{code}\" expects either a locale or locales, not both"
            )));
        }
        (Some(Value::Null), None) | (None, None) | (None, Some(Value::Null)) => None,
        (Some(Value::String(l)), None) => Some(vec![l.clone()]),
        (None, Some(v @ Value::Array(_))) => Some(strings(code, Some(v)).map_err(|_| {
            SearchError::Unsupported(format!(
                "Filter on attribute \"{code}\" expects an array of locale codes as locales"
            ))
        })?),
        _ => {
            return Err(SearchError::Unsupported(format!(
                "Filter on attribute \"{code}\" expects a locale code as locale"
            )));
        }
    };
    let scope = match c.get("scope") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            return Err(SearchError::Unsupported(format!(
                "Filter on attribute \"{code}\" expects a channel code as scope"
            )));
        }
    };
    let default_locale = locales.is_none() && defaults.locale.is_some();
    let locales = locales.or_else(|| defaults.locale.clone().map(|l| vec![l]));
    let default_scope = scope.is_none() && defaults.scope.is_some();
    let scope = scope.or_else(|| defaults.scope.clone());
    let test = |test: ValueTest, negate: bool| AttributeOp::Test { test, negate };
    let done = |op: AttributeOp| AttributeFilter {
        code: code.to_string(),
        locales: locales.clone(),
        scope: scope.clone(),
        default_locale,
        default_scope,
        op,
    };
    // An object value: a price (`currency`) or a metric (`unit`).
    if let Some(Value::Object(o)) = value {
        let cmp = match operator {
            "<" => Some(NumberCmp::Lt),
            "<=" => Some(NumberCmp::Le),
            "=" | "!=" => Some(NumberCmp::Eq),
            ">=" => Some(NumberCmp::Ge),
            ">" => Some(NumberCmp::Gt),
            _ => None,
        };
        if let Some(cmp) = cmp {
            return Ok(done(test(
                measure(code, operator, o, cmp)?,
                operator == "!=",
            )));
        }
        if matches!(operator, "EMPTY" | "NOT EMPTY") && o.contains_key("currency") {
            let currency = match (o.get("currency"), o.len()) {
                (Some(Value::String(c)), 1) if is_attribute_code(c) => c.clone(),
                _ => {
                    return Err(SearchError::Unsupported(format!(
                        "Property \"{code}\" expects an object with a currency code, as {{\"currency\": \"EUR\"}}, as value with {operator}"
                    )));
                }
            };
            return Ok(done(if operator == "EMPTY" {
                AttributeOp::EmptyPrice(currency)
            } else {
                AttributeOp::NotEmptyPrice(currency)
            }));
        }
    }
    let text = || {
        value
            .and_then(Value::as_str)
            .map(str::to_ascii_lowercase)
            .ok_or_else(|| {
                SearchError::Unsupported(format!(
                    "Property \"{code}\" expects a string as value with {operator}"
                ))
            })
    };
    let number = || {
        value.and_then(Value::as_f64).ok_or_else(|| {
            SearchError::Unsupported(format!(
                "Property \"{code}\" expects a number as value with {operator}"
            ))
        })
    };
    let op = match operator {
        "EMPTY" => AttributeOp::Empty,
        "NOT EMPTY" => AttributeOp::NotEmpty,
        "STARTS WITH" => test(ValueTest::StartsWith(text()?), false),
        "ENDS WITH" => test(ValueTest::EndsWith(text()?), false),
        "CONTAINS" => test(ValueTest::Contains(text()?), false),
        "DOES NOT CONTAIN" => test(ValueTest::Contains(text()?), true),
        "IN" | "NOT IN" => {
            let values = strings(code, value)?
                .iter()
                .map(|s| s.to_ascii_lowercase())
                .collect();
            test(ValueTest::OneOf(values), operator == "NOT IN")
        }
        "=" | "!=" => {
            let negate = operator == "!=";
            match value {
                Some(Value::Bool(b)) => test(ValueTest::Boolean(*b), negate),
                Some(Value::Number(_)) => test(ValueTest::Number(NumberCmp::Eq, number()?), negate),
                Some(Value::String(_)) => match attribute_date(code, value) {
                    Ok(day) => test(ValueTest::Date(DateCmp::On, day), negate),
                    Err(_) => test(ValueTest::TextEquals(text()?), negate),
                },
                _ => {
                    return Err(SearchError::Unsupported(format!(
                        "Property \"{code}\" expects a string, a number or a boolean as value with {operator}"
                    )));
                }
            }
        }
        "<" | ">" => match value {
            Some(Value::Number(_)) => {
                let cmp = if operator == "<" {
                    NumberCmp::Lt
                } else {
                    NumberCmp::Gt
                };
                test(ValueTest::Number(cmp, number()?), false)
            }
            _ => {
                let cmp = if operator == "<" {
                    DateCmp::Before
                } else {
                    DateCmp::After
                };
                test(ValueTest::Date(cmp, attribute_date(code, value)?), false)
            }
        },
        "<=" => test(ValueTest::Number(NumberCmp::Le, number()?), false),
        ">=" => test(ValueTest::Number(NumberCmp::Ge, number()?), false),
        "BETWEEN" | "NOT BETWEEN" => {
            let bad = || {
                SearchError::Unsupported(format!(
                    "Property \"{code}\" expects an array of two dates with {operator}"
                ))
            };
            let Some(Value::Array(pair)) = value else {
                return Err(bad());
            };
            if pair.len() != 2 {
                return Err(bad());
            }
            let a = attribute_date(code, pair.first())?;
            let b = attribute_date(code, pair.get(1))?;
            test(ValueTest::DateBetween(a, b), operator == "NOT BETWEEN")
        }
        other => return Err(unsupported(code, other)),
    };
    Ok(done(op))
}

/// The value of a price (`{"amount", "currency"}`) or metric
/// (`{"amount", "unit"}`) comparison: the amount a number or a numeric
/// string, the currency or unit a code.
fn measure(
    code: &str,
    operator: &str,
    o: &Map<String, Value>,
    cmp: NumberCmp,
) -> Result<ValueTest, SearchError> {
    let (key, price) = if o.contains_key("currency") {
        ("currency", true)
    } else if o.contains_key("unit") {
        ("unit", false)
    } else {
        return Err(SearchError::Unsupported(format!(
            "Property \"{code}\" expects an object with amount and currency (a price) or amount and unit (a metric) as value with {operator}"
        )));
    };
    let bad = || {
        SearchError::Unsupported(format!(
            "Property \"{code}\" expects an object with a numeric amount and a {key} code, as {{\"amount\": 12.5, \"{key}\": \"{}\"}}, as value with {operator}",
            if price { "EUR" } else { "KILOGRAM" }
        ))
    };
    if o.len() != 2 {
        return Err(bad());
    }
    let amount = match o.get("amount") {
        Some(Value::Number(n)) => n.as_f64().filter(|a| a.is_finite()),
        Some(Value::String(a)) if is_decimal(a) => a.parse::<f64>().ok(),
        _ => None,
    }
    .ok_or_else(bad)?;
    let unit = match o.get(key) {
        Some(Value::String(u)) if is_attribute_code(u) => u.clone(),
        _ => return Err(bad()),
    };
    Ok(if price {
        ValueTest::Price(cmp, amount, unit)
    } else {
        ValueTest::Metric(cmp, amount, unit)
    })
}

/// A numeric string as stored amounts are read: an optional `-`, digits,
/// at most one point with digits on both sides, at most 40 characters.
fn is_decimal(s: &str) -> bool {
    let digits = s.strip_prefix('-').unwrap_or(s);
    let mut parts = digits.split('.');
    let whole =
        |p: Option<&str>| p.is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    s.len() <= 40
        && whole(parts.next())
        && match parts.next() {
            None => true,
            frac => whole(frac) && parts.next().is_none(),
        }
}

/// Whether any string (or key) in `value` holds U+0000, which no stored
/// value can (PostgreSQL refuses it in text).
fn holds_nul(value: &Value) -> bool {
    match value {
        Value::String(s) => s.contains('\0'),
        Value::Array(items) => items.iter().any(holds_nul),
        Value::Object(map) => map.iter().any(|(k, v)| k.contains('\0') || holds_nul(v)),
        _ => false,
    }
}

/// Parses the `search` parameter (already percent-decoded).
pub fn parse_search(search: &str) -> Result<Vec<SearchFilter>, SearchError> {
    parse_search_with(search, &SearchDefaults::default())
}

/// Parses the `search` parameter, attribute filters that name no locale or
/// scope taking `defaults` (`search_locale`, `search_scope`).
pub fn parse_search_with(
    search: &str,
    defaults: &SearchDefaults,
) -> Result<Vec<SearchFilter>, SearchError> {
    let value: Value = serde_json::from_str(search)
        .map_err(|_| SearchError::BadJson("Search query parameter should be valid JSON.".into()))?;
    if holds_nul(&value) {
        return Err(SearchError::Unsupported(
            "Search values must not contain the NUL character (U+0000)".to_string(),
        ));
    }
    let Value::Object(map) = value else {
        return Err(SearchError::Unsupported(
            "Search query parameter should be a JSON object: {\"property\":[{\"operator\":…,\"value\":…}]}"
                .to_string(),
        ));
    };
    let mut filters = Vec::new();
    for (property, conditions) in &map {
        let Value::Array(conditions) = conditions else {
            return Err(structure(property));
        };
        for c in conditions {
            let Some(operator) = c.get("operator").and_then(Value::as_str) else {
                return Err(structure(property));
            };
            let value = c.get("value");
            let filter = match (property.as_str(), operator) {
                ("identifier", "IN") => SearchFilter::Identifier {
                    negate: false,
                    values: strings(property, value)?,
                },
                ("identifier", "NOT IN") => SearchFilter::Identifier {
                    negate: true,
                    values: strings(property, value)?,
                },
                ("identifier", "=" | "!=") => {
                    let Some(s) = value.and_then(Value::as_str) else {
                        return Err(SearchError::Unsupported(format!(
                            "Property \"identifier\" expects a string as value with {operator}"
                        )));
                    };
                    SearchFilter::Identifier {
                        negate: operator == "!=",
                        values: vec![s.to_string()],
                    }
                }
                ("enabled", "=" | "!=") => {
                    let Some(b) = value.and_then(Value::as_bool) else {
                        return Err(SearchError::Unsupported(
                            "Property \"enabled\" expects a boolean as value".to_string(),
                        ));
                    };
                    SearchFilter::Enabled(if operator == "=" { b } else { !b })
                }
                ("family", "IN") => {
                    SearchFilter::Family(FamilyFilter::In(strings(property, value)?))
                }
                ("family", "NOT IN") => {
                    SearchFilter::Family(FamilyFilter::NotIn(strings(property, value)?))
                }
                ("family", "EMPTY") => SearchFilter::Family(FamilyFilter::Empty),
                ("family", "NOT EMPTY") => SearchFilter::Family(FamilyFilter::NotEmpty),
                ("categories", op) => {
                    let op = match op {
                        "IN" => CategoryOp::In,
                        "NOT IN" => CategoryOp::NotIn,
                        "IN CHILDREN" => CategoryOp::InChildren,
                        "NOT IN CHILDREN" => CategoryOp::NotInChildren,
                        "UNCLASSIFIED" => CategoryOp::Unclassified,
                        "IN OR UNCLASSIFIED" => CategoryOp::InOrUnclassified,
                        other => return Err(unsupported(property, other)),
                    };
                    let codes = if op == CategoryOp::Unclassified {
                        Vec::new()
                    } else {
                        strings(property, value)?
                    };
                    SearchFilter::Categories(op, codes)
                }
                ("groups", "IN") => {
                    SearchFilter::Groups(GroupsFilter::In(strings(property, value)?))
                }
                ("groups", "NOT IN") => {
                    SearchFilter::Groups(GroupsFilter::NotIn(strings(property, value)?))
                }
                ("groups", "EMPTY") => SearchFilter::Groups(GroupsFilter::Empty),
                ("groups", "NOT EMPTY") => SearchFilter::Groups(GroupsFilter::NotEmpty),
                ("parent", "=") => {
                    let Some(s) = value.and_then(Value::as_str) else {
                        return Err(SearchError::Unsupported(
                            "Property \"parent\" expects a string (a product identifier) as value with ="
                                .to_string(),
                        ));
                    };
                    SearchFilter::Parent(ParentFilter::Descends(s.to_string()))
                }
                ("parent", "IN") => {
                    SearchFilter::Parent(ParentFilter::In(strings(property, value)?))
                }
                ("parent", "EMPTY") => SearchFilter::Parent(ParentFilter::Empty),
                ("parent", "NOT EMPTY") => SearchFilter::Parent(ParentFilter::NotEmpty),
                ("uuid", "IN" | "NOT IN") => SearchFilter::Uuid {
                    negate: operator == "NOT IN",
                    values: uuids(property, value)?,
                },
                ("created", op) => SearchFilter::Created(time_filter(property, op, value)?),
                ("updated", op) => SearchFilter::Updated(time_filter(property, op, value)?),
                (p, op) if PRODUCT_PROPERTIES.contains(&p) || !is_attribute_code(p) => {
                    return Err(unsupported(p, op));
                }
                (p, op) => SearchFilter::Attribute(attribute_filter(p, op, c, value, defaults)?),
            };
            filters.push(filter);
        }
    }
    Ok(filters)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => unreachable!(),
        }
    }

    #[test]
    fn r22_patch_merges_values_by_attribute_locale_and_scope() {
        let mut current = obj(json!({
            "name": [{"locale": "en_US", "scope": null, "data": "Mug"},
                     {"locale": "fr_FR", "scope": null, "data": "Tasse"}],
            "color": [{"locale": null, "scope": null, "data": "red"}]
        }));
        merge_values(
            &mut current,
            obj(json!({
                "name": [{"locale": "fr_FR", "scope": null, "data": "Tasse XL"}],
                "weight": [{"locale": null, "scope": null, "data": 3}]
            })),
        );
        assert_eq!(
            Value::Object(current),
            json!({
                "name": [{"locale": "en_US", "scope": null, "data": "Mug"},
                         {"locale": "fr_FR", "scope": null, "data": "Tasse XL"}],
                "color": [{"locale": null, "scope": null, "data": "red"}],
                "weight": [{"locale": null, "scope": null, "data": 3}]
            })
        );
    }

    #[test]
    fn r22_a_body_with_several_problems_names_each() {
        let errors = parse_product_body(
            json!({
                "identifier": "a,b",
                "enabled": "yes",
                "colour": 1,
                "values": {"name": "plain"}
            }),
            Naming::Identifier,
        )
        .unwrap_err();
        let mut props: Vec<&str> = errors.iter().map(|e| e.property.as_str()).collect();
        props.sort();
        assert_eq!(props, ["colour", "enabled", "identifier", "values"]);
        let values = errors.iter().find(|e| e.property == "values").unwrap();
        assert_eq!(values.attribute.as_deref(), Some("name"));
        let ok = parse_product_body(
            json!({
                "identifier": "mug-1",
                "categories": ["mugs", "mugs"],
                "values": {"name": [{"locale": "en_US", "scope": null, "data": "Mug"}]},
                "created": "ignored",
                "groups": []
            }),
            Naming::Identifier,
        )
        .unwrap();
        assert_eq!(ok.categories.unwrap(), ["mugs"]);
        let twice = parse_product_body(
            json!({"values": {"name": [
                {"locale": "en_US", "scope": null, "data": "a"},
                {"locale": "en_US", "data": "b"}]}}),
            Naming::Identifier,
        )
        .unwrap_err();
        assert_eq!(twice[0].locale.as_deref(), Some("en_US"));
    }

    /// Issue 16: groups, a parent and (quantified) associations are read in
    /// the PIM's shape, products named as the API names them; a bad one is
    /// named by its path (`associations.X_SELL.products`).
    #[test]
    fn associations_groups_and_parent_are_read_in_the_pims_shape() {
        let body = json!({
            "groups": ["promo", "promo", "summer"],
            "parent": "mug-model",
            "associations": {
                "X_SELL": {"products": ["a", "b", "a"], "product_models": [], "groups": ["g1"]},
                "PACK": {"groups": []}
            },
            "quantified_associations": {
                "SET": {"products": [{"identifier": "a", "quantity": 2}], "product_models": []}
            }
        });
        let input = parse_product_body(body, Naming::Identifier).unwrap();
        assert_eq!(input.groups.unwrap(), ["promo", "summer"]);
        assert_eq!(input.parent, Some(Some("mug-model".to_string())));
        let a = input.associations.unwrap();
        assert_eq!(
            a["X_SELL"].products.as_deref(),
            Some(&["a".to_string(), "b".to_string()][..])
        );
        assert_eq!(a["X_SELL"].groups.as_deref(), Some(&["g1".to_string()][..]));
        assert_eq!(a["PACK"].products, None);
        assert_eq!(
            input.quantified_associations.unwrap()["SET"].products,
            Some(vec![("a".to_string(), 2)])
        );
        // The UUID API names products by uuid (made canonical).
        let u = "0B8E8F5E-2A51-4F47-9A5E-6A3C7D1E2F40";
        let input = parse_product_body(
            json!({"associations": {"X_SELL": {"products": [u]}},
                   "quantified_associations": {"SET": {"products": [{"uuid": u, "quantity": 1}]}}}),
            Naming::Uuid,
        )
        .unwrap();
        assert_eq!(
            input.associations.unwrap()["X_SELL"].products.as_deref(),
            Some(&[u.to_lowercase()][..])
        );
        let bad = |body: Value, naming: Naming| -> Vec<String> {
            let mut props: Vec<String> = parse_product_body(body, naming)
                .unwrap_err()
                .into_iter()
                .map(|e| e.property)
                .collect();
            props.sort();
            props
        };
        assert_eq!(
            bad(
                json!({"associations": {"X_SELL": {"products": ["a"]}}}),
                Naming::Uuid
            ),
            ["associations.X_SELL.products"]
        );
        assert_eq!(
            bad(
                json!({"associations": {"X_SELL": {"products": "a", "product_models": ["m"], "colour": []},
                                        "bad type": {}, "UP": []},
                       "groups": ["a b"], "parent": 3}),
                Naming::Identifier
            ),
            [
                "associations",
                "associations.UP",
                "associations.X_SELL.colour",
                "associations.X_SELL.product_models",
                "associations.X_SELL.products",
                "groups",
                "parent"
            ]
        );
        for quantity in [
            json!(0),
            json!(-1),
            json!(1.5),
            json!("2"),
            json!(2_147_483_648_u64),
            Value::Null,
        ] {
            assert_eq!(
                bad(
                    json!({"quantified_associations": {"SET": {"products": [{"identifier": "a", "quantity": quantity}]}}}),
                    Naming::Identifier
                ),
                ["quantified_associations.SET.products"],
                "{quantity}"
            );
        }
        assert_eq!(
            bad(
                json!({"quantified_associations": {"SET": {"products": [
                    {"identifier": "a", "quantity": 1}, {"identifier": "a", "quantity": 2},
                    {"uuid": "a", "quantity": 1}]}}}),
                Naming::Identifier
            ),
            [
                "quantified_associations.SET.products",
                "quantified_associations.SET.products"
            ]
        );
        assert!(
            parse_product_body(json!({"parent": null}), Naming::Identifier)
                .unwrap()
                .parent
                == Some(None)
        );
    }

    #[test]
    fn a_patch_replaces_the_lists_it_gives_keeps_the_rest_and_what_is_hidden() {
        let mut current: BTreeMap<String, Association> = BTreeMap::new();
        current.insert(
            "X_SELL".into(),
            Association {
                products: vec!["u1".into(), "hidden".into()],
                groups: vec!["g".into()],
            },
        );
        current.insert(
            "PACK".into(),
            Association {
                products: vec!["u2".into()],
                groups: Vec::new(),
            },
        );
        let mut patch = BTreeMap::new();
        patch.insert(
            "X_SELL".to_string(),
            AssociationPatch {
                products: Some(vec!["u3".into()]),
                groups: None,
            },
        );
        patch.insert(
            "UPSELL".to_string(),
            AssociationPatch {
                products: None,
                groups: Some(vec!["g2".into()]),
            },
        );
        let hidden: HashSet<String> = ["hidden".to_string()].into();
        merge_associations(&mut current, patch, &hidden);
        assert_eq!(current["X_SELL"].products, ["u3", "hidden"]);
        assert_eq!(current["X_SELL"].groups, ["g"]);
        assert_eq!(current["PACK"].products, ["u2"]);
        assert_eq!(current["UPSELL"].groups, ["g2"]);
        let mut q: BTreeMap<String, QuantifiedAssociation> = BTreeMap::new();
        let mut patch = BTreeMap::new();
        patch.insert(
            "SET".to_string(),
            QuantifiedPatch {
                products: Some(vec![("u1".into(), 3)]),
            },
        );
        merge_quantified(&mut q, patch, &HashSet::new());
        assert_eq!(
            q["SET"].products,
            [QuantifiedProduct {
                uuid: "u1".into(),
                quantity: 3
            }]
        );
        let mut r = Relations {
            parent: Some("p".into()),
            associations: current,
            quantified: q,
            ..Default::default()
        };
        assert_eq!(r.linked_uuids(), ["p", "u2", "u3", "hidden", "u1"]);
        assert!(r.forget("u1") && r.forget("u2"));
        assert!(!r.forget("p"), "a parent is not an association");
        assert_eq!(r.linked_uuids(), ["p", "u3", "hidden"]);
    }

    #[test]
    fn r22_search_reads_the_pim_syntax() {
        let f = parse_search(
            r#"{"categories":[{"operator":"IN","value":["shoes"]}],"identifier":[{"operator":"=","value":"x"}]}"#,
        )
        .unwrap();
        assert!(f.contains(&SearchFilter::Categories(
            CategoryOp::In,
            vec!["shoes".into()]
        )));
        assert!(f.contains(&SearchFilter::Identifier {
            negate: false,
            values: vec!["x".into()]
        }));
        assert!(matches!(
            parse_search("{nope"),
            Err(SearchError::BadJson(_))
        ));
        assert!(matches!(
            parse_search(r#"{"colour":[{"operator":"LIKE","value":"red"}]}"#),
            Err(SearchError::Unsupported(_))
        ));
        assert!(matches!(
            parse_search(r#"{"updated":[{"operator":">","value":"2026-01-01 10:00:00"}]}"#),
            Ok(v) if v == [SearchFilter::Updated(TimeFilter::After(1_767_261_600_000))]
        ));
    }

    /// Issue 16: the PIM's documented `groups`, `parent` and `uuid`
    /// filters are read; a value of the wrong shape is refused naming the
    /// property, and so is an operator the PIM does not document for it.
    #[test]
    fn groups_parent_and_uuid_filters_read_the_pim_syntax() {
        let one = |s: &str| parse_search(s).map(|mut v| v.remove(0));
        assert_eq!(
            one(r#"{"groups":[{"operator":"IN","value":["promo","summer"]}]}"#),
            Ok(SearchFilter::Groups(GroupsFilter::In(vec![
                "promo".into(),
                "summer".into()
            ])))
        );
        assert_eq!(
            one(r#"{"groups":[{"operator":"NOT IN","value":[]}]}"#),
            Ok(SearchFilter::Groups(GroupsFilter::NotIn(Vec::new())))
        );
        assert_eq!(
            one(r#"{"groups":[{"operator":"EMPTY"}]}"#),
            Ok(SearchFilter::Groups(GroupsFilter::Empty))
        );
        assert_eq!(
            one(r#"{"groups":[{"operator":"NOT EMPTY","value":null}]}"#),
            Ok(SearchFilter::Groups(GroupsFilter::NotEmpty))
        );
        assert_eq!(
            one(r#"{"parent":[{"operator":"=","value":"tee"}]}"#),
            Ok(SearchFilter::Parent(ParentFilter::Descends("tee".into())))
        );
        assert_eq!(
            one(r#"{"parent":[{"operator":"IN","value":["tee-red","tee-blue"]}]}"#),
            Ok(SearchFilter::Parent(ParentFilter::In(vec![
                "tee-red".into(),
                "tee-blue".into()
            ])))
        );
        assert_eq!(
            one(r#"{"parent":[{"operator":"EMPTY"}]}"#),
            Ok(SearchFilter::Parent(ParentFilter::Empty))
        );
        assert_eq!(
            one(r#"{"parent":[{"operator":"NOT EMPTY"}]}"#),
            Ok(SearchFilter::Parent(ParentFilter::NotEmpty))
        );
        // UUIDs are made canonical, as they are stored.
        assert_eq!(
            one(
                r#"{"uuid":[{"operator":"NOT IN","value":["8945388D-CF5B-49AF-8799-05D1ED6E296F","941fe89299dd440fb2a98eccb94248f0"]}]}"#
            ),
            Ok(SearchFilter::Uuid {
                negate: true,
                values: vec![
                    "8945388d-cf5b-49af-8799-05d1ed6e296f".into(),
                    "941fe892-99dd-440f-b2a9-8eccb94248f0".into()
                ]
            })
        );
        for (search, property) in [
            (
                r#"{"groups":[{"operator":"IN","value":"promo"}]}"#,
                "groups",
            ),
            (
                r#"{"groups":[{"operator":"NOT IN","value":[1]}]}"#,
                "groups",
            ),
            (r#"{"groups":[{"operator":"IN"}]}"#, "groups"),
            (r#"{"groups":[{"operator":"=","value":"promo"}]}"#, "groups"),
            (r#"{"parent":[{"operator":"=","value":["tee"]}]}"#, "parent"),
            (r#"{"parent":[{"operator":"=","value":null}]}"#, "parent"),
            (r#"{"parent":[{"operator":"IN","value":"tee"}]}"#, "parent"),
            (
                r#"{"parent":[{"operator":"NOT IN","value":["tee"]}]}"#,
                "parent",
            ),
            (
                r#"{"uuid":[{"operator":"IN","value":["not-a-uuid"]}]}"#,
                "uuid",
            ),
            (
                r#"{"uuid":[{"operator":"IN","value":"8945388d-cf5b-49af-8799-05d1ed6e296f"}]}"#,
                "uuid",
            ),
            (
                r#"{"uuid":[{"operator":"=","value":"8945388d-cf5b-49af-8799-05d1ed6e296f"}]}"#,
                "uuid",
            ),
            (r#"{"uuid":{"operator":"IN","value":[]}}"#, "uuid"),
        ] {
            match parse_search(search) {
                Err(SearchError::Unsupported(m)) => {
                    assert!(m.contains(&format!("\"{property}\"")), "{search}: {m}")
                }
                other => panic!("{search}: {other:?}"),
            }
        }
    }

    /// Issue 16: `created` and `updated` take `=` and `!=` (on, not on the
    /// given day, UTC).
    #[test]
    fn created_and_updated_read_on_and_not_on_the_day() {
        let day = 1_767_225_600_000; // 2026-01-01 00:00:00 UTC
        assert_eq!(
            parse_search(r#"{"created":[{"operator":"=","value":"2026-01-01 10:00:00"}]}"#),
            Ok(vec![SearchFilter::Created(TimeFilter::OnDay(day))])
        );
        assert_eq!(
            parse_search(r#"{"updated":[{"operator":"!=","value":"2026-01-01 23:59:59"}]}"#),
            Ok(vec![SearchFilter::Updated(TimeFilter::NotOnDay(day))])
        );
        for bad in [
            r#"{"created":[{"operator":"=","value":"2026-01-01"}]}"#,
            r#"{"created":[{"operator":"!=","value":1}]}"#,
            r#"{"updated":[{"operator":"="}]}"#,
        ] {
            assert!(
                matches!(parse_search(bad), Err(SearchError::Unsupported(ref m)) if m.contains('"')),
                "{bad}"
            );
        }
    }

    /// Issue 16: a property that is not a product property is an
    /// attribute; the operator and the value's JSON type choose the test.
    #[test]
    fn attribute_filters_read_the_pim_syntax() {
        let one = |s: &str| match parse_search(s) {
            Ok(mut v) => match v.remove(0) {
                SearchFilter::Attribute(a) => a,
                other => panic!("{s}: {other:?}"),
            },
            Err(e) => panic!("{s}: {e:?}"),
        };
        let a = one(
            r#"{"name":[{"operator":"CONTAINS","value":"Shoe","locale":"en_US","scope":"ecommerce"}]}"#,
        );
        assert_eq!(
            a,
            AttributeFilter {
                code: "name".into(),
                locales: Some(vec!["en_US".into()]),
                scope: Some("ecommerce".into()),
                default_locale: false,
                default_scope: false,
                op: AttributeOp::Test {
                    test: ValueTest::Contains("shoe".into()),
                    negate: false
                },
            }
        );
        let test = |s: &str| match one(s).op {
            AttributeOp::Test { test, negate } => (test, negate),
            other => panic!("{s}: {other:?}"),
        };
        let f = |op: &str, value: &str| {
            format!(
                r#"{{"a_1":[{{"operator":"{op}","value":{value},"locales":["en_US","fr_FR"]}}]}}"#
            )
        };
        use ValueTest as T;
        for (op, value, want) in [
            (
                "STARTS WITH",
                r#""AB""#,
                (T::StartsWith("ab".into()), false),
            ),
            ("ENDS WITH", r#""ab""#, (T::EndsWith("ab".into()), false)),
            (
                "DOES NOT CONTAIN",
                r#""x""#,
                (T::Contains("x".into()), true),
            ),
            ("=", r#""Red""#, (T::TextEquals("red".into()), false)),
            ("!=", r#""red""#, (T::TextEquals("red".into()), true)),
            (
                "IN",
                r#"["Red","blue"]"#,
                (T::OneOf(vec!["red".into(), "blue".into()]), false),
            ),
            ("NOT IN", "[]", (T::OneOf(Vec::new()), true)),
            ("<", "10", (T::Number(NumberCmp::Lt, 10.0), false)),
            ("<=", "1.5", (T::Number(NumberCmp::Le, 1.5), false)),
            ("=", "-2", (T::Number(NumberCmp::Eq, -2.0), false)),
            ("!=", "3", (T::Number(NumberCmp::Eq, 3.0), true)),
            (">=", "0", (T::Number(NumberCmp::Ge, 0.0), false)),
            (">", "7", (T::Number(NumberCmp::Gt, 7.0), false)),
            ("=", "true", (T::Boolean(true), false)),
            ("!=", "false", (T::Boolean(false), true)),
            (
                "<",
                r#""2016-07-04""#,
                (T::Date(DateCmp::Before, "2016-07-04".into()), false),
            ),
            (
                ">",
                r#""2016-07-04T10:00:00+00:00""#,
                (T::Date(DateCmp::After, "2016-07-04".into()), false),
            ),
            (
                "=",
                r#""2016-07-04""#,
                (T::Date(DateCmp::On, "2016-07-04".into()), false),
            ),
            (
                "!=",
                r#""2016-07-04""#,
                (T::Date(DateCmp::On, "2016-07-04".into()), true),
            ),
            (
                "BETWEEN",
                r#"["2016-07-01","2016-07-31"]"#,
                (
                    T::DateBetween("2016-07-01".into(), "2016-07-31".into()),
                    false,
                ),
            ),
            (
                "NOT BETWEEN",
                r#"["2016-07-01","2016-07-31"]"#,
                (
                    T::DateBetween("2016-07-01".into(), "2016-07-31".into()),
                    true,
                ),
            ),
        ] {
            assert_eq!(test(&f(op, value)), want, "{op} {value}");
        }
        assert_eq!(
            one(r#"{"a":[{"operator":"EMPTY"}]}"#).op,
            AttributeOp::Empty
        );
        let not_empty = one(r#"{"a":[{"operator":"NOT EMPTY","scope":null,"locale":null}]}"#);
        assert_eq!(not_empty.op, AttributeOp::NotEmpty);
        assert_eq!((not_empty.locales, not_empty.scope), (None, None));
        for (search, property) in [
            (r#"{"name":[{"operator":"CONTAINS"}]}"#, "name"),
            (r#"{"name":[{"operator":"CONTAINS","value":1}]}"#, "name"),
            (r#"{"name":[{"operator":"IN","value":"red"}]}"#, "name"),
            (r#"{"name":[{"operator":"NOT IN","value":[1]}]}"#, "name"),
            (r#"{"name":[{"operator":"LIKE","value":"x"}]}"#, "name"),
            (r#"{"name":[{"operator":"=","value":null}]}"#, "name"),
            (r#"{"name":[{"operator":"=","value":[1]}]}"#, "name"),
            (r#"{"size":[{"operator":"<","value":"big"}]}"#, "size"),
            (r#"{"size":[{"operator":"<=","value":"1"}]}"#, "size"),
            (r#"{"size":[{"operator":">=","value":true}]}"#, "size"),
            (
                r#"{"date":[{"operator":"<","value":"2016-13-01"}]}"#,
                "date",
            ),
            (
                r#"{"date":[{"operator":">","value":"2016-07-04x"}]}"#,
                "date",
            ),
            (
                r#"{"date":[{"operator":"BETWEEN","value":["2016-07-04"]}]}"#,
                "date",
            ),
            (
                r#"{"date":[{"operator":"NOT BETWEEN","value":"2016-07-04"}]}"#,
                "date",
            ),
            (r#"{"name":[{"operator":"EMPTY","locale":1}]}"#, "name"),
            (
                r#"{"name":[{"operator":"EMPTY","locales":"en_US"}]}"#,
                "name",
            ),
            (
                r#"{"name":[{"operator":"EMPTY","locale":"en_US","locales":["en_US"]}]}"#,
                "name",
            ),
            (
                r#"{"name":[{"operator":"EMPTY","scope":["ecommerce"]}]}"#,
                "name",
            ),
            (
                r#"{"completeness":[{"operator":"=","value":100}]}"#,
                "completeness",
            ),
            (r#"{"bad code":[{"operator":"EMPTY"}]}"#, "bad code"),
            (r#"{"name":[{"value":"x"}]}"#, "name"),
            (
                r#"{"price":[{"operator":"<","value":{"amount":1}}]}"#,
                "price",
            ),
            (r#"{"price":[{"operator":"<","value":{}}]}"#, "price"),
            (
                r#"{"price":[{"operator":"=","value":{"amount":"1.","currency":"EUR"}}]}"#,
                "price",
            ),
            (
                r#"{"price":[{"operator":">","value":{"amount":"x","currency":"EUR"}}]}"#,
                "price",
            ),
            (
                r#"{"price":[{"operator":">","value":{"amount":1,"currency":"E R"}}]}"#,
                "price",
            ),
            (
                r#"{"price":[{"operator":">","value":{"amount":1,"currency":3}}]}"#,
                "price",
            ),
            (
                r#"{"price":[{"operator":">","value":{"amount":null,"currency":"EUR"}}]}"#,
                "price",
            ),
            (
                r#"{"price":[{"operator":">","value":{"amount":1,"currency":"EUR","unit":"G"}}]}"#,
                "price",
            ),
            (
                r#"{"price":[{"operator":"IN","value":{"amount":1,"currency":"EUR"}}]}"#,
                "price",
            ),
            (
                r#"{"price":[{"operator":"EMPTY","value":{"currency":1}}]}"#,
                "price",
            ),
            (
                r#"{"price":[{"operator":"NOT EMPTY","value":{"currency":"EUR","amount":1}}]}"#,
                "price",
            ),
            (
                r#"{"weight":[{"operator":"<=","value":{"amount":1,"unit":null}}]}"#,
                "weight",
            ),
            (
                r#"{"weight":[{"operator":"!=","value":{"amount":[1],"unit":"GRAM"}}]}"#,
                "weight",
            ),
        ] {
            match parse_search(search) {
                Err(SearchError::Unsupported(m)) => {
                    assert!(m.contains(&format!("\"{property}\"")), "{search}: {m}")
                }
                other => panic!("{search}: {other:?}"),
            }
        }
    }

    /// Price and metric filters: the value's object shape chooses; EMPTY
    /// and NOT EMPTY on a price may name a currency.
    #[test]
    fn price_and_metric_filters_read_the_pim_syntax() {
        let one = |s: &str| match parse_search(s) {
            Ok(mut v) => match v.remove(0) {
                SearchFilter::Attribute(a) => a.op,
                other => panic!("{s}: {other:?}"),
            },
            Err(e) => panic!("{s}: {e:?}"),
        };
        let test = |test: ValueTest, negate: bool| AttributeOp::Test { test, negate };
        for (op, cmp, negate) in [
            ("<", NumberCmp::Lt, false),
            ("<=", NumberCmp::Le, false),
            ("=", NumberCmp::Eq, false),
            ("!=", NumberCmp::Eq, true),
            (">=", NumberCmp::Ge, false),
            (">", NumberCmp::Gt, false),
        ] {
            assert_eq!(
                one(&format!(
                    r#"{{"price":[{{"operator":"{op}","value":{{"amount":12.5,"currency":"EUR"}}}}]}}"#
                )),
                test(ValueTest::Price(cmp, 12.5, "EUR".into()), negate)
            );
            assert_eq!(
                one(&format!(
                    r#"{{"price":[{{"operator":"{op}","value":{{"currency":"USD","amount":"-3.25"}}}}]}}"#
                )),
                test(ValueTest::Price(cmp, -3.25, "USD".into()), negate)
            );
            assert_eq!(
                one(&format!(
                    r#"{{"weight":[{{"operator":"{op}","value":{{"amount":"1","unit":"KILOGRAM"}}}}]}}"#
                )),
                test(ValueTest::Metric(cmp, 1.0, "KILOGRAM".into()), negate)
            );
        }
        assert_eq!(
            one(r#"{"price":[{"operator":"EMPTY","value":{"currency":"EUR"}}]}"#),
            AttributeOp::EmptyPrice("EUR".into())
        );
        assert_eq!(
            one(r#"{"price":[{"operator":"NOT EMPTY","value":{"currency":"EUR"}}]}"#),
            AttributeOp::NotEmptyPrice("EUR".into())
        );
        // The plain forms (and a metric's unit, which they need not name).
        assert_eq!(
            one(r#"{"price":[{"operator":"EMPTY"}]}"#),
            AttributeOp::Empty
        );
        assert_eq!(
            one(r#"{"weight":[{"operator":"NOT EMPTY","value":{"unit":"GRAM"}}]}"#),
            AttributeOp::NotEmpty
        );
        // Other value types keep their tests.
        assert_eq!(
            one(r#"{"size":[{"operator":"<","value":3}]}"#),
            test(ValueTest::Number(NumberCmp::Lt, 3.0), false)
        );
        assert!(is_decimal("12") && is_decimal("-0.50") && !is_decimal("1.2.3"));
        assert!(!is_decimal("") && !is_decimal("-") && !is_decimal(".5") && !is_decimal("1."));
    }

    /// `search_locale` and `search_scope` fill in filters without their own,
    /// marked so that values with no locale or scope count too.
    #[test]
    fn search_defaults_apply_to_attribute_filters_without_their_own() {
        let defaults = SearchDefaults {
            locale: Some("en_US".into()),
            scope: Some("ecommerce".into()),
        };
        let parse = |s: &str| match parse_search_with(s, &defaults).unwrap().remove(0) {
            SearchFilter::Attribute(a) => a,
            other => panic!("{other:?}"),
        };
        let a = parse(r#"{"name":[{"operator":"EMPTY"}]}"#);
        assert_eq!(a.locales, Some(vec!["en_US".to_string()]));
        assert_eq!(a.scope.as_deref(), Some("ecommerce"));
        assert!(a.default_locale && a.default_scope);
        let own = parse(r#"{"name":[{"operator":"EMPTY","locale":"fr_FR","scope":"print"}]}"#);
        assert_eq!(own.locales, Some(vec!["fr_FR".to_string()]));
        assert_eq!(own.scope.as_deref(), Some("print"));
        assert!(!own.default_locale && !own.default_scope);
        let some = parse(r#"{"name":[{"operator":"EMPTY","locales":["de_DE"]}]}"#);
        assert!(!some.default_locale && some.default_scope);
        // Other properties are not touched.
        assert_eq!(
            parse_search_with(r#"{"enabled":[{"operator":"=","value":true}]}"#, &defaults),
            Ok(vec![SearchFilter::Enabled(true)])
        );
        let plain = match parse_search(r#"{"name":[{"operator":"EMPTY"}]}"#)
            .unwrap()
            .remove(0)
        {
            SearchFilter::Attribute(a) => a,
            other => panic!("{other:?}"),
        };
        assert_eq!((plain.locales, plain.scope), (None, None));
        assert!(!plain.default_locale && !plain.default_scope);
    }

    proptest::proptest! {
        #[test]
        fn any_search_or_body_is_answered_without_panicking(s in ".{0,200}") {
            let _ = parse_search(&s);
            if let Ok(v) = serde_json::from_str::<Value>(&s) {
                let _ = parse_product_body(v.clone(), Naming::Identifier);
                let _ = parse_product_body(v, Naming::Uuid);
            }
        }
    }
}

/// The `attributes`, `locales` and `scope` parameters of product reads:
/// which of a product's values the answer carries, as the PIM applies
/// them (only the named attributes; only values for those locales, or not
/// localisable; only values for that channel, or not scopable). An
/// attribute left with no value is left out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ValueFilter {
    pub attributes: Option<Vec<String>>,
    pub locales: Option<Vec<String>>,
    pub scope: Option<String>,
}

impl ValueFilter {
    /// Whether it keeps every value (then the stored text is used as is).
    pub fn keeps_all(&self) -> bool {
        self.attributes.is_none() && self.locales.is_none() && self.scope.is_none()
    }

    /// A comma-separated list parameter (`attributes=name,colour`); blank
    /// items are skipped, and a list of nothing filters nothing.
    pub fn list(value: &str) -> Option<Vec<String>> {
        let items: Vec<String> = value
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        (!items.is_empty()).then_some(items)
    }

    /// [`ValueFilter::apply`] on the stored JSON text, without building
    /// the values: each kept attribute's entries are copied as they are
    /// stored, only their `locale` and `scope` read. Text that is not an
    /// object of arrays goes through [`ValueFilter::apply`].
    pub fn apply_raw(&self, values: &RawValue) -> Box<RawValue> {
        use std::borrow::Cow;
        #[derive(serde::Deserialize)]
        struct Entry<'a> {
            #[serde(borrow, default)]
            locale: Option<Cow<'a, str>>,
            #[serde(borrow, default)]
            scope: Option<Cow<'a, str>>,
        }
        let fallback = || {
            let map: Map<String, Value> = serde_json::from_str(values.get()).unwrap_or_default();
            serde_json::value::to_raw_value(&self.apply(&map)).expect("values serialise")
        };
        let Ok(attributes) = serde_json::from_str::<
            std::collections::BTreeMap<Cow<'_, str>, Vec<&RawValue>>,
        >(values.get()) else {
            return fallback();
        };
        let mut out = String::with_capacity(values.get().len());
        out.push('{');
        for (attribute, entries) in &attributes {
            if self
                .attributes
                .as_ref()
                .is_some_and(|keep| !keep.iter().any(|a| a == attribute))
            {
                continue;
            }
            let mut first = true;
            for entry in entries {
                let Ok(e) = serde_json::from_str::<Entry<'_>>(entry.get()) else {
                    return fallback();
                };
                let locale_ok = match (&self.locales, &e.locale) {
                    (Some(locales), Some(l)) => locales.iter().any(|x| x == l),
                    _ => true,
                };
                let scope_ok = match (&self.scope, &e.scope) {
                    (Some(scope), Some(s)) => scope == s,
                    _ => true,
                };
                if !(locale_ok && scope_ok) {
                    continue;
                }
                if first {
                    if out.len() > 1 {
                        out.push(',');
                    }
                    out.push_str(&serde_json::to_string(attribute).expect("a key serialises"));
                    out.push_str(":[");
                    first = false;
                } else {
                    out.push(',');
                }
                out.push_str(entry.get());
            }
            if !first {
                out.push(']');
            }
        }
        out.push('}');
        RawValue::from_string(out).unwrap_or_else(|_| fallback())
    }

    /// `values` (a product's stored values, a JSON object of arrays of
    /// `{locale, scope, data}`) as this filter shows them.
    pub fn apply(&self, values: &Map<String, Value>) -> Map<String, Value> {
        let mut shown = Map::new();
        for (attribute, entries) in values {
            if self
                .attributes
                .as_ref()
                .is_some_and(|keep| !keep.iter().any(|a| a == attribute))
            {
                continue;
            }
            let Value::Array(entries) = entries else {
                shown.insert(attribute.clone(), entries.clone());
                continue;
            };
            let kept: Vec<Value> = entries
                .iter()
                .filter(|e| self.keeps_entry(e))
                .cloned()
                .collect();
            if !kept.is_empty() {
                shown.insert(attribute.clone(), Value::Array(kept));
            }
        }
        shown
    }

    fn keeps_entry(&self, entry: &Value) -> bool {
        let field = |name: &str| entry.get(name).and_then(Value::as_str);
        let locale_ok = match (&self.locales, field("locale")) {
            (Some(locales), Some(l)) => locales.iter().any(|x| x == l),
            _ => true,
        };
        let scope_ok = match (&self.scope, field("scope")) {
            (Some(scope), Some(s)) => scope == s,
            _ => true,
        };
        locale_ok && scope_ok
    }
}

#[cfg(test)]
mod value_filter_tests {
    use super::*;

    proptest::proptest! {
        /// Reading the stored text directly shows exactly what the filter
        /// shows on the parsed values.
        #[test]
        fn the_raw_filter_agrees_with_the_parsed_one(
            entries in proptest::collection::vec(
                (0..4usize, proptest::option::of(0..3usize), proptest::option::of(0..3usize), "[a-z ]{0,6}"),
                0..12,
            ),
            attributes in proptest::option::of(proptest::collection::vec(0..4usize, 0..3)),
            locales in proptest::option::of(proptest::collection::vec(0..3usize, 0..3)),
            scope in proptest::option::of(0..3usize),
        ) {
            let attr = ["name", "colour", "price", "ünï \"q\""];
            let loc = ["en_US", "fr_FR", "de_DE"];
            let sc = ["ecommerce", "print", "mobile"];
            let mut values = Map::new();
            for (a, l, s, data) in &entries {
                let entry = serde_json::json!({
                    "locale": l.map(|i| loc[i]),
                    "scope": s.map(|i| sc[i]),
                    "data": data,
                });
                values
                    .entry(attr[*a].to_string())
                    .or_insert_with(|| Value::Array(Vec::new()))
                    .as_array_mut()
                    .unwrap()
                    .push(entry);
            }
            let filter = ValueFilter {
                attributes: attributes.map(|v| v.iter().map(|i| attr[*i].to_string()).collect()),
                locales: locales.map(|v| v.iter().map(|i| loc[*i].to_string()).collect()),
                scope: scope.map(|i| sc[i].to_string()),
            };
            let raw = serde_json::value::to_raw_value(&values).unwrap();
            let fast: Map<String, Value> = serde_json::from_str(filter.apply_raw(&raw).get()).unwrap();
            proptest::prop_assert_eq!(fast, filter.apply(&values));
        }
    }
}
