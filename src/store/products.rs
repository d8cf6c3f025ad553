//! Products (R22): writes, each in one transaction; reads by identifier,
//! kept in memory at the products' version (see `product_cache`);
//! and the list with its `search` filters. `categories` is a JSON array of
//! category codes, `attribute_values` the JSON object of the values, both
//! stored as text; so are what a product links to (`product_groups`,
//! `associations`, `quantified_associations`, other products by UUID, and
//! `parent_uuid`): a read also finds the products named there (one more
//! statement, only for products that name some).

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::db::Dialect;
use super::db::{Arg, Row, ToArg, args};
use super::roles::invalid;
use super::{Store, StoreError};
use crate::domain::products::{
    AttributeFilter, AttributeOp, CategoryOp, DAY_MS, DateCmp, FamilyFilter, GroupsFilter,
    LinkedProduct, NumberCmp, ParentFilter, Relations, SearchFilter, TimeFilter, ValueKind,
    ValueTest,
};

/// A product as stored: every category, every value. The values are kept
/// as the JSON text they are stored as: a read never needs to look inside
/// them (a change reads them with [`ProductRow::values_map`]).
#[derive(Debug, Clone)]
pub struct ProductRow {
    pub identifier: String,
    /// Its UUID (v4, lowercase, kept forever); empty on a row not yet
    /// written: writing it gives it a new one.
    pub uuid: String,
    pub enabled: bool,
    pub family: Option<String>,
    pub categories: Vec<String>,
    /// A JSON object (see [`ProductRow::values_from`]).
    pub values: Box<RawValue>,
    pub created_ms: i64,
    pub updated_ms: i64,
    /// Its groups, parent and associations; a read fills `linked`.
    pub relations: Relations,
}

impl ProductRow {
    /// The values to store, from a map of them.
    pub fn values_from(values: &Map<String, Value>) -> Box<RawValue> {
        serde_json::value::to_raw_value(values).expect("values serialise")
    }

    /// The values as a map (for a change that merges into them); stored
    /// values that are not an object read as none.
    pub fn values_map(&self) -> Map<String, Value> {
        serde_json::from_str(self.values.get()).unwrap_or_default()
    }
}

/// Equal fields; the values are compared as their JSON text.
impl PartialEq for ProductRow {
    fn eq(&self, other: &Self) -> bool {
        self.identifier == other.identifier
            && self.uuid == other.uuid
            && self.enabled == other.enabled
            && self.family == other.family
            && self.categories == other.categories
            && self.values.get() == other.values.get()
            && self.created_ms == other.created_ms
            && self.updated_ms == other.updated_ms
            && self.relations == other.relations
    }
}

/// What a product write did.
#[derive(Debug, Clone, PartialEq)]
pub enum ProductWrite {
    Created(ProductRow),
    Updated(ProductRow),
}

/// Which products a list returns.
#[derive(Debug, Clone, Default)]
pub struct ProductQuery {
    /// The categories the caller's group may view; `None`: all. Products in
    /// no category are always visible.
    pub visible: Option<Vec<String>>,
    /// `search` filters, with category subtrees already expanded.
    pub filters: Vec<SearchFilter>,
    /// Only identifiers after this one (`search_after` pagination).
    pub after: Option<String>,
    pub offset: u64,
    pub limit: u64,
    /// Also count every match.
    pub count: bool,
    /// "Now", for `SINCE LAST N DAYS`.
    pub now_ms: i64,
}

fn categories_json(c: &[String]) -> String {
    serde_json::to_string(c).expect("strings serialise")
}

/// A product's columns, in the order [`product_from_row`] reads them.
const PRODUCT_COLUMNS: &str = "p.identifier, p.enabled, p.family, p.categories, p.attribute_values, p.created_at, p.updated_at, p.uuid, p.product_groups, p.parent_uuid, p.associations, p.quantified_associations";

/// One product (the hot read: a literal, so no SQL is built per request).
/// The products' version comes last, and always: the product's columns are
/// NULL when it does not exist.
const PRODUCT_BY_IDENTIFIER: &str = "SELECT p.identifier, p.enabled, p.family, p.categories,
        p.attribute_values, p.created_at, p.updated_at, p.uuid, p.product_groups,
        p.parent_uuid, p.associations, p.quantified_associations, s.products_version
     FROM catalog_state s LEFT JOIN products p ON p.identifier = $1
     WHERE s.id = 1";

/// The column of [`PRODUCT_BY_IDENTIFIER`] with the products' version.
const VERSION_COLUMN: usize = 12;

/// The UUIDs above a product (named by identifier): its parent, the
/// parent's parent…, nearest first (bounded, should a cycle ever be
/// stored by another writer).
const ANCESTORS: &str = "WITH RECURSIVE up(uuid, depth) AS (
        SELECT parent_uuid, 1 FROM products WHERE identifier = $1
        UNION ALL
        SELECT p.parent_uuid, up.depth + 1 FROM products p JOIN up ON p.uuid = up.uuid
        WHERE up.depth < 1000)
    SELECT uuid FROM up WHERE uuid IS NOT NULL ORDER BY depth";

/// A stored JSON column: `empty` (what most products hold) without
/// parsing.
fn json_column<T: serde::de::DeserializeOwned + Default>(
    text: &str,
    empty: &str,
    column: &str,
) -> Result<T, StoreError> {
    if text == empty {
        return Ok(T::default());
    }
    serde_json::from_str(text).map_err(|e| StoreError::Decode(format!("column {column}: {e}")))
}

/// What a product links to, from columns 8 to 11 of [`PRODUCT_COLUMNS`].
fn relations_from_row(r: &Row<'_>) -> Result<Relations, StoreError> {
    let groups: String = r.get(8)?;
    let associations: String = r.get(10)?;
    let quantified: String = r.get(11)?;
    Ok(Relations {
        groups: json_column(&groups, "[]", "product_groups")?,
        parent: r.get(9)?,
        associations: json_column(&associations, "{}", "associations")?,
        quantified: json_column(&quantified, "{}", "quantified_associations")?,
        linked: Default::default(),
    })
}

/// The stored text of a product's groups, associations and quantified
/// associations.
fn relations_text(r: &Relations) -> (String, String, String) {
    let text = |v: Result<String, serde_json::Error>| v.expect("relations serialise");
    (
        text(serde_json::to_string(&r.groups)),
        text(serde_json::to_string(&r.associations)),
        text(serde_json::to_string(&r.quantified)),
    )
}

/// A linked product from `uuid, identifier, categories`.
fn linked_from_row(r: &Row<'_>) -> Result<LinkedProduct, StoreError> {
    let categories: String = r.get(2)?;
    Ok(LinkedProduct {
        uuid: r.get::<Option<String>>(0)?.unwrap_or_default(),
        identifier: r.get(1)?,
        categories: serde_json::from_str(&categories).unwrap_or_default(),
    })
}

/// The products a write names (its parent, its associated products), to
/// be looked up in its transaction: so a product written by an earlier
/// line of the same batch is found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lookup {
    /// By identifier: a parent; associated products in the identifier API.
    pub identifiers: Vec<String>,
    /// By UUID: associated products in the UUID API.
    pub uuids: Vec<String>,
    /// A parent whose ancestors the write needs (a product cannot become
    /// its own ancestor).
    pub ancestors_of: Option<String>,
}

/// What a [`Lookup`] found.
#[derive(Debug, Clone, Default)]
pub struct Found {
    pub by_identifier: HashMap<String, LinkedProduct>,
    pub by_uuid: HashMap<String, LinkedProduct>,
    /// The UUIDs above `ancestors_of`, nearest first.
    pub ancestors: Vec<String>,
}

/// A product from a row of [`PRODUCT_COLUMNS`] (columns by position:
/// looking them up by name costs more than the read itself).
fn product_from_row(r: &Row<'_>) -> Result<ProductRow, StoreError> {
    let categories: String = r.get(3)?;
    let values: String = r.get(4)?;
    let values = RawValue::from_string(values)
        .map_err(|e| StoreError::Decode(format!("column attribute_values: {e}")))?;
    Ok(ProductRow {
        identifier: r.get(0)?,
        enabled: r.get::<i64>(1)? == 1,
        family: r.get(2)?,
        categories: serde_json::from_str(&categories).unwrap_or_default(),
        values,
        created_ms: r.get(5)?,
        updated_ms: r.get(6)?,
        uuid: r.get::<Option<String>>(7)?.unwrap_or_default(),
        relations: relations_from_row(r)?,
    })
}

/// A new product UUID (v4, lowercase and hyphenated, as the PIM's).
pub fn new_uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// A parameter of a product list, owned while its statement is built.
#[derive(Debug, Clone)]
enum Param {
    Int(i64),
    Real(f64),
    Text(String),
}

impl Param {
    fn to_arg(&self) -> Arg<'_> {
        match self {
            Param::Int(i) => i.to_arg(),
            Param::Real(r) => Arg::Real(Some(*r)),
            Param::Text(s) => s.to_arg(),
        }
    }
}

/// What a write makes of a product, given what is stored (or `None`) and
/// the products its body names: the row to write, or the write's refusal.
pub type Decide<'a, E> =
    Box<dyn FnOnce(Option<ProductRow>, &Found) -> Result<ProductRow, E> + Send + 'a>;

/// The FROM and WHERE clauses of a product list and their parameters.
fn product_where(q: &ProductQuery, dialect: super::db::Dialect) -> (String, Vec<Param>) {
    let mut sql = String::from(" FROM products p WHERE 1 = 1");
    let mut params: Vec<Param> = Vec::new();
    let mut param = |v: Param| {
        params.push(v);
        format!("${}", params.len())
    };
    let json = |v: &[String]| Param::Text(serde_json::to_string(v).expect("strings serialise"));
    // The strings of the JSON array parameter `set`, as a subquery.
    let set_of = |set: &str| format!("SELECT s.value FROM {}", dialect.json_each(set, "s"));
    // Whether the JSON array `column` holds a string of the set.
    let holds_any = |column: &str, set: &str| {
        format!(
            "EXISTS (SELECT 1 FROM {} WHERE j.value IN ({}))",
            dialect.json_each(column, "j"),
            set_of(set)
        )
    };
    let in_any = |set: &str| holds_any("p.categories", set);
    // The group's visible categories: one parameter, named again by the
    // filters that look at other products (a parent the group cannot view
    // counts as none, as it reads `null`).
    let visible = q.visible.as_ref().map(|v| param(json(v)));
    let q_visible = match &visible {
        Some(set) => {
            sql.push_str(&format!(" AND (p.categories = '[]' OR {})", in_any(set)));
            format!(
                " AND (q.categories = '[]' OR {})",
                holds_any("q.categories", set)
            )
        }
        None => String::new(),
    };
    // `p` has a parent `q` the group can view (one read by the unique uuid).
    let parent_shown = format!(
        "p.parent_uuid IS NOT NULL AND EXISTS (SELECT 1 FROM products q WHERE q.uuid = p.parent_uuid{q_visible})"
    );
    if let Some(after) = &q.after {
        let a = param(Param::Text(after.clone()));
        sql.push_str(&format!(" AND p.identifier > {a}"));
    }
    for f in &q.filters {
        let clause = match f {
            SearchFilter::Identifier { negate, values } => {
                let set = param(json(values));
                let not = if *negate { "NOT " } else { "" };
                format!("p.identifier {not}IN ({})", set_of(&set))
            }
            SearchFilter::Enabled(b) => {
                format!("p.enabled = {}", param(Param::Int(i64::from(*b))))
            }
            SearchFilter::Family(FamilyFilter::In(v)) => {
                format!("p.family IN ({})", set_of(&param(json(v))))
            }
            SearchFilter::Family(FamilyFilter::NotIn(v)) => format!(
                "(p.family IS NULL OR p.family NOT IN ({}))",
                set_of(&param(json(v)))
            ),
            SearchFilter::Family(FamilyFilter::Empty) => "p.family IS NULL".to_string(),
            SearchFilter::Family(FamilyFilter::NotEmpty) => "p.family IS NOT NULL".to_string(),
            // A parameter is numbered only where the clause uses it: one
            // bound but unused is an error on both engines (UNCLASSIFIED
            // alone answered 500).
            SearchFilter::Categories(op, codes) => match op {
                CategoryOp::In | CategoryOp::InChildren => in_any(&param(json(codes))),
                CategoryOp::NotIn | CategoryOp::NotInChildren => {
                    format!("NOT {}", in_any(&param(json(codes))))
                }
                CategoryOp::Unclassified => "p.categories = '[]'".to_string(),
                CategoryOp::InOrUnclassified => {
                    format!("(p.categories = '[]' OR {})", in_any(&param(json(codes))))
                }
            },
            // Stored groups are canonical JSON text: none is `[]`, which
            // spares reading the groupless products' arrays.
            SearchFilter::Groups(GroupsFilter::In(v)) => format!(
                "(p.product_groups <> '[]' AND {})",
                holds_any("p.product_groups", &param(json(v)))
            ),
            SearchFilter::Groups(GroupsFilter::NotIn(v)) => format!(
                "(p.product_groups = '[]' OR NOT {})",
                holds_any("p.product_groups", &param(json(v)))
            ),
            SearchFilter::Groups(GroupsFilter::Empty) => "p.product_groups = '[]'".to_string(),
            SearchFilter::Groups(GroupsFilter::NotEmpty) => "p.product_groups <> '[]'".to_string(),
            SearchFilter::Parent(ParentFilter::NotEmpty) => format!("({parent_shown})"),
            SearchFilter::Parent(ParentFilter::Empty) => format!("NOT ({parent_shown})"),
            SearchFilter::Parent(ParentFilter::In(v)) => format!(
                "p.parent_uuid IN (SELECT q.uuid FROM products q WHERE q.identifier IN ({}){q_visible})",
                set_of(&param(json(v)))
            ),
            // The product and, down its children (by index), every product
            // the group can view under it; UNION ends even on a cycle
            // another writer might have stored. `IS TRUE` keeps the tree one
            // hashed set on PostgreSQL: as a semi-join under the page's LIMIT
            // it was rescanned for every product read (SQLite builds one
            // index of it either way).
            SearchFilter::Parent(ParentFilter::Descends(identifier)) => format!(
                "(p.parent_uuid IN (WITH RECURSIVE tree(uuid) AS (
                    SELECT q.uuid FROM products q WHERE q.identifier = {}{q_visible}
                    UNION
                    SELECT q.uuid FROM tree t JOIN products q ON q.parent_uuid = t.uuid
                    WHERE 1 = 1{q_visible})
                 SELECT tree.uuid FROM tree)) IS TRUE",
                param(Param::Text(identifier.clone()))
            ),
            SearchFilter::Uuid { negate, values } => {
                let set = param(json(values));
                let not = if *negate { "NOT " } else { "" };
                format!("p.uuid {not}IN ({})", set_of(&set))
            }
            SearchFilter::Created(t) | SearchFilter::Updated(t) => {
                let column = if matches!(f, SearchFilter::Created(_)) {
                    "p.created_at"
                } else {
                    "p.updated_at"
                };
                match *t {
                    TimeFilter::Before(ms) => format!("{column} < {}", param(Param::Int(ms))),
                    TimeFilter::After(ms) => format!("{column} > {}", param(Param::Int(ms))),
                    TimeFilter::Between(a, b) => format!(
                        "{column} BETWEEN {} AND {}",
                        param(Param::Int(a)),
                        param(Param::Int(b))
                    ),
                    TimeFilter::NotBetween(a, b) => format!(
                        "{column} NOT BETWEEN {} AND {}",
                        param(Param::Int(a)),
                        param(Param::Int(b))
                    ),
                    TimeFilter::SinceLastDays(n) => format!(
                        "{column} >= {}",
                        param(Param::Int(q.now_ms - i64::from(n) * 24 * 3600 * 1000))
                    ),
                    TimeFilter::OnDay(start) => format!(
                        "({column} >= {} AND {column} < {})",
                        param(Param::Int(start)),
                        param(Param::Int(start.saturating_add(DAY_MS)))
                    ),
                    TimeFilter::NotOnDay(start) => format!(
                        "({column} < {} OR {column} >= {})",
                        param(Param::Int(start)),
                        param(Param::Int(start.saturating_add(DAY_MS)))
                    ),
                }
            }
            SearchFilter::Attribute(a) => attribute_clause(a, dialect, &mut param),
        };
        sql.push_str(" AND ");
        sql.push_str(&clause);
    }
    (sql, params)
}

/// The WHERE clause of an attribute filter: the attribute's values (by the
/// bound code, never written into the SQL) as rows `x(loc, sc, t, d)`:
/// locale, scope, the data's JSON type (`string`, `number`, `boolean`,
/// `array`, `object`, `null`) and the data as text (strings unquoted);
/// PostgreSQL also has `j`, the data as jsonb. Stored values that are not
/// arrays of objects read as none. Strings are compared lowercased, ASCII
/// only on both engines (PostgreSQL's `lower` under the "C" collation).
fn attribute_clause(
    f: &AttributeFilter,
    dialect: Dialect,
    param: &mut dyn FnMut(Param) -> String,
) -> String {
    let sqlite = dialect == Dialect::Sqlite;
    let code = param(Param::Text(f.code.clone()));
    let source = if sqlite {
        format!(
            "(SELECT json_extract(e, '$.locale') AS loc, json_extract(e, '$.scope') AS sc,
                CASE json_type(e, '$.data') WHEN 'text' THEN 'string' WHEN 'integer' THEN 'number'
                    WHEN 'real' THEN 'number' WHEN 'true' THEN 'boolean' WHEN 'false' THEN 'boolean'
                    ELSE json_type(e, '$.data') END AS t,
                json_extract(e, '$.data') AS d
             FROM (SELECT CASE WHEN v.type = 'object' THEN v.value ELSE '{{}}' END AS e
                   FROM json_each(p.attribute_values) a,
                        json_each(CASE WHEN a.type = 'array' THEN a.value ELSE '[]' END) v
                   WHERE a.key = {code})) x"
        )
    } else {
        format!(
            "(SELECT v.value ->> 'locale' AS loc, v.value ->> 'scope' AS sc,
                jsonb_typeof(v.value -> 'data') AS t, v.value ->> 'data' AS d, v.value -> 'data' AS j
             FROM (SELECT CAST(p.attribute_values AS jsonb) -> {code} AS vs) w,
                  jsonb_array_elements(CASE WHEN jsonb_typeof(w.vs) = 'array' THEN w.vs ELSE CAST('[]' AS jsonb) END) AS v(value)) x"
        )
    };
    let set_of = |set: &str| format!("SELECT s.value FROM {}", dialect.json_each(set, "s"));
    let json = |v: &[String]| Param::Text(serde_json::to_string(v).expect("strings serialise"));
    let lower = |e: &str| {
        if sqlite {
            format!("lower({e})")
        } else {
            format!("lower({e} COLLATE \"C\")")
        }
    };
    let mut sel = String::from("1 = 1");
    // A locale or scope from search_locale / search_scope also lets values
    // with none (of attributes that are not localisable or scopable) count.
    let or_none = |default: bool, column: &str| {
        if default {
            format!(" OR {column} IS NULL")
        } else {
            String::new()
        }
    };
    if let Some(locales) = &f.locales {
        sel.push_str(&format!(
            " AND (x.loc IN ({}){})",
            set_of(&param(json(locales))),
            or_none(f.default_locale, "x.loc")
        ));
    }
    if let Some(scope) = &f.scope {
        sel.push_str(&format!(
            " AND (x.sc = {}{})",
            param(Param::Text(scope.clone())),
            or_none(f.default_scope, "x.sc")
        ));
    }
    let exists = |cond: &str| format!("EXISTS (SELECT 1 FROM {source} WHERE {sel} AND {cond})");
    let text = "(x.t = 'string' AND x.d <> '')";
    // A number, or a numeric string, as a number (else NULL): `is_number`
    // and `is_string` test the JSON type of `d`, the data as text.
    let numeric = |is_number: &str, is_string: &str, d: &str| {
        if sqlite {
            let y = format!("(CASE WHEN substr({d}, 1, 1) = '-' THEN substr({d}, 2) ELSE {d} END)");
            format!(
                "(CASE WHEN {is_number} THEN {d}
                    WHEN {is_string} AND length({d}) <= 40 AND {y} <> '' AND {y} NOT GLOB '*[^0-9.]*'
                        AND {y} NOT GLOB '*.*.*' AND {y} NOT GLOB '.*' AND {y} NOT GLOB '*.'
                    THEN CAST({d} AS REAL) END)"
            )
        } else {
            format!(
                "(CASE WHEN {is_number} THEN CAST({d} AS double precision)
                    WHEN {is_string} AND length({d}) <= 40 AND {d} ~ '^-?[0-9]+(\\.[0-9]+)?$'
                    THEN CAST({d} AS double precision) END)"
            )
        }
    };
    let number = numeric("x.t = 'number'", "x.t = 'string'", "x.d");
    // The amount of a price entry `pe` or a metric `m` (its JSON text).
    let amount = |obj: &str| {
        if sqlite {
            numeric(
                &format!("json_type({obj}, '$.amount') IN ('integer', 'real')"),
                &format!("json_type({obj}, '$.amount') = 'text'"),
                &format!("json_extract({obj}, '$.amount')"),
            )
        } else {
            numeric(
                &format!("jsonb_typeof({obj} -> 'amount') = 'number'"),
                &format!("jsonb_typeof({obj} -> 'amount') = 'string'"),
                &format!("({obj} ->> 'amount')"),
            )
        }
    };
    // The field `key` of the object `obj` is a string equal to `bound`.
    let field_is = |obj: &str, key: &str, bound: &str| {
        if sqlite {
            format!(
                "json_type({obj}, '$.{key}') = 'text' AND json_extract({obj}, '$.{key}') = {bound}"
            )
        } else {
            format!("jsonb_typeof({obj} -> '{key}') = 'string' AND ({obj} ->> '{key}') = {bound}")
        }
    };
    // Some price entry `pe` of the data (an array) in the currency `bound`
    // passes `cond`.
    let price = |bound: &str, cond: &str| {
        let entries = if sqlite {
            "json_each(CASE WHEN x.t = 'array' THEN x.d ELSE '[]' END) pe WHERE pe.type = 'object'"
                .to_string()
        } else {
            "jsonb_array_elements(CASE WHEN x.t = 'array' THEN x.j ELSE CAST('[]' AS jsonb) END) AS pe(value)
             WHERE jsonb_typeof(pe.value) = 'object'"
                .to_string()
        };
        format!(
            "x.t = 'array' AND EXISTS (SELECT 1 FROM {entries} AND {} AND {cond})",
            field_is("pe.value", "currency", bound)
        )
    };
    // The data as a metric object, and a condition: it is a metric of the
    // unit `bound` and passes `cond`.
    let m = if sqlite {
        "(CASE WHEN x.t = 'object' THEN x.d ELSE '{}' END)"
    } else {
        "x.j"
    };
    let metric = |bound: &str, cond: &str| {
        format!(
            "x.t = 'object' AND {} AND {cond}",
            field_is(m, "unit", bound)
        )
    };
    let compare = |cmp: &NumberCmp| match cmp {
        NumberCmp::Lt => "<",
        NumberCmp::Le => "<=",
        NumberCmp::Eq => "=",
        NumberCmp::Ge => ">=",
        NumberCmp::Gt => ">",
    };
    let date = if sqlite {
        "(x.t = 'string' AND x.d GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]*'
            AND (length(x.d) = 10 OR substr(x.d, 11, 1) IN ('T', ' ')))"
    } else {
        "(x.t = 'string' AND x.d ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}([T ]|$)')"
    };
    let kind = |k: ValueKind| match k {
        ValueKind::Text => text.to_string(),
        ValueKind::Options => format!("({text} OR (x.t = 'array' AND x.d <> '[]'))"),
        ValueKind::Number => format!("{number} IS NOT NULL"),
        ValueKind::Boolean => "x.t = 'boolean'".to_string(),
        ValueKind::Date => date.to_string(),
        // Their conditions bind the currency or unit: made with the test.
        ValueKind::Price(_) | ValueKind::Metric(_) => "1 = 0".to_string(),
    };
    let l = lower("x.d");
    match &f.op {
        AttributeOp::Empty | AttributeOp::NotEmpty => {
            let present = exists(
                "x.t IS NOT NULL AND x.t <> 'null' AND NOT (x.t = 'string' AND x.d = '')
                 AND NOT (x.t = 'array' AND x.d = '[]')",
            );
            if f.op == AttributeOp::Empty {
                format!("NOT {present}")
            } else {
                present
            }
        }
        AttributeOp::EmptyPrice(currency) | AttributeOp::NotEmptyPrice(currency) => {
            let c = param(Param::Text(currency.clone()));
            let has_amount = if sqlite {
                "json_type(pe.value, '$.amount') IN ('integer', 'real', 'text')
                 AND json_extract(pe.value, '$.amount') <> ''"
            } else {
                "jsonb_typeof(pe.value -> 'amount') IN ('number', 'string')
                 AND (pe.value ->> 'amount') <> ''"
            };
            let present = exists(&price(&c, has_amount));
            if matches!(f.op, AttributeOp::EmptyPrice(_)) {
                format!("NOT {present}")
            } else {
                present
            }
        }
        AttributeOp::Test { test, negate } => {
            // The kind's condition of price and metric tests (which bind
            // the currency or unit).
            let mut own_kind = None;
            let cond = match test {
                ValueTest::Price(cmp, v, currency) => {
                    let c = param(Param::Text(currency.clone()));
                    let a = amount("pe.value");
                    own_kind = Some(price(&c, &format!("{a} IS NOT NULL")));
                    let v = param(Param::Real(*v));
                    price(&c, &format!("{a} {} {v}", compare(cmp)))
                }
                ValueTest::Metric(cmp, v, unit) => {
                    let u = param(Param::Text(unit.clone()));
                    let a = amount(m);
                    own_kind = Some(metric(&u, &format!("{a} IS NOT NULL")));
                    let v = param(Param::Real(*v));
                    metric(&u, &format!("{a} {} {v}", compare(cmp)))
                }
                ValueTest::StartsWith(n) => {
                    let n = param(Param::Text(n.clone()));
                    format!("{text} AND substr({l}, 1, length({n})) = {n}")
                }
                ValueTest::EndsWith(n) => {
                    let n = param(Param::Text(n.clone()));
                    format!(
                        "{text} AND length({l}) >= length({n}) AND substr({l}, length({l}) - length({n}) + 1) = {n}"
                    )
                }
                ValueTest::Contains(n) => {
                    let n = param(Param::Text(n.clone()));
                    let position = if sqlite { "instr" } else { "strpos" };
                    format!("{text} AND {position}({l}, {n}) > 0")
                }
                ValueTest::TextEquals(n) => {
                    format!("{text} AND {l} = {}", param(Param::Text(n.clone())))
                }
                ValueTest::OneOf(values) => {
                    let set = set_of(&param(json(values)));
                    let items = if sqlite {
                        format!(
                            "json_each(CASE WHEN x.t = 'array' THEN x.d ELSE '[]' END) o WHERE o.type = 'text' AND {}",
                            lower("o.value")
                        )
                    } else {
                        format!(
                            "jsonb_array_elements(CASE WHEN x.t = 'array' THEN x.j ELSE CAST('[]' AS jsonb) END) AS o(value)
                             WHERE jsonb_typeof(o.value) = 'string' AND {}",
                            lower("(o.value #>> '{}')")
                        )
                    };
                    format!(
                        "((x.t = 'string' AND {l} IN ({set})) OR (x.t = 'array' AND EXISTS (SELECT 1 FROM {items} IN ({set}))))"
                    )
                }
                ValueTest::Number(cmp, v) => {
                    format!("{number} {} {}", compare(cmp), param(Param::Real(*v)))
                }
                ValueTest::Boolean(b) => match (sqlite, b) {
                    (true, true) => "x.t = 'boolean' AND x.d = 1".to_string(),
                    (true, false) => "x.t = 'boolean' AND x.d = 0".to_string(),
                    (false, true) => "x.t = 'boolean' AND x.d = 'true'".to_string(),
                    (false, false) => "x.t = 'boolean' AND x.d = 'false'".to_string(),
                },
                ValueTest::Date(cmp, day) => {
                    let op = match cmp {
                        DateCmp::Before => "<",
                        DateCmp::After => ">",
                        DateCmp::On => "=",
                    };
                    format!(
                        "{date} AND substr(x.d, 1, 10) {op} {}",
                        param(Param::Text(day.clone()))
                    )
                }
                ValueTest::DateBetween(a, b) => format!(
                    "{date} AND substr(x.d, 1, 10) BETWEEN {} AND {}",
                    param(Param::Text(a.clone())),
                    param(Param::Text(b.clone()))
                ),
            };
            if *negate {
                let k = own_kind.unwrap_or_else(|| kind(test.kind()));
                format!("({} AND NOT {})", exists(&k), exists(&cond))
            } else {
                exists(&cond)
            }
        }
    }
}

impl Store {
    /// Creates or changes one product in one transaction: `decide` gets the
    /// stored product (if any, with the products it links to) and what
    /// `lookup` found, and returns the product to store, or its refusal.
    /// Categories that do not exist (any more) are refused.
    pub async fn write_product<E: From<StoreError>>(
        &self,
        identifier: &str,
        lookup: &Lookup,
        decide: impl FnOnce(Option<ProductRow>, &Found) -> Result<ProductRow, E>,
    ) -> Result<ProductWrite, E> {
        let mut tx = self.write_tx().await?;
        let written = self
            .write_product_in(&mut tx, identifier, lookup, decide)
            .await??;
        tx.commit().await?;
        Ok(written)
    }

    /// The products `names` name in `column` (`identifier` or `uuid`).
    async fn linked_by(
        &self,
        tx: &mut super::db::Tx,
        column: &str,
        names: &[String],
    ) -> Result<Vec<LinkedProduct>, StoreError> {
        if names.is_empty() {
            return Ok(Vec::new());
        }
        let set = serde_json::to_string(names).expect("strings serialise");
        tx.rows(
            &format!(
                "SELECT p.uuid, p.identifier, p.categories FROM products p
                 WHERE p.{column} IN (SELECT s.value FROM {})",
                self.dialect().json_each("$1", "s")
            ),
            args![&set],
            linked_from_row,
        )
        .await
    }

    /// Fills each product's `relations.linked` with the products it names
    /// that exist (one statement, none when they name none).
    async fn resolve_links(
        &self,
        tx: &mut super::db::Tx,
        rows: &mut [ProductRow],
    ) -> Result<(), StoreError> {
        let mut uuids: Vec<String> = Vec::new();
        for row in rows.iter() {
            for u in row.relations.linked_uuids() {
                if !uuids.iter().any(|x| x == u) {
                    uuids.push(u.to_string());
                }
            }
        }
        if uuids.is_empty() {
            return Ok(());
        }
        let found: HashMap<String, LinkedProduct> = self
            .linked_by(tx, "uuid", &uuids)
            .await?
            .into_iter()
            .map(|l| (l.uuid.clone(), l))
            .collect();
        for row in rows.iter_mut() {
            let linked = row
                .relations
                .linked_uuids()
                .into_iter()
                .filter_map(|u| found.get(u))
                .map(|l| (l.uuid.clone(), l.clone()))
                .collect();
            row.relations.linked = linked;
        }
        Ok(())
    }

    /// What `lookup` names, as stored now in `tx`.
    async fn find(&self, tx: &mut super::db::Tx, lookup: &Lookup) -> Result<Found, StoreError> {
        let by = |found: Vec<LinkedProduct>, key: fn(&LinkedProduct) -> &String| {
            found
                .into_iter()
                .map(|l| (key(&l).clone(), l))
                .collect::<HashMap<_, _>>()
        };
        let by_identifier = by(
            self.linked_by(tx, "identifier", &lookup.identifiers)
                .await?,
            |l| &l.identifier,
        );
        let by_uuid = by(self.linked_by(tx, "uuid", &lookup.uuids).await?, |l| {
            &l.uuid
        });
        let ancestors = match &lookup.ancestors_of {
            Some(parent) => tx.rows(ANCESTORS, args![parent], |r| r.get(0)).await?,
            None => Vec::new(),
        };
        Ok(Found {
            by_identifier,
            by_uuid,
            ancestors,
        })
    }

    /// Writes several products in one transaction, each on its own: a line
    /// `decide` refuses (or whose categories went meanwhile) is undone
    /// alone (a savepoint each) and the others are written, with one
    /// commit for all. A store failure fails them all.
    pub async fn write_products<E: From<StoreError>>(
        &self,
        lines: Vec<(String, Lookup, Decide<'_, E>)>,
    ) -> Result<Vec<Result<ProductWrite, E>>, StoreError> {
        let mut tx = self.write_tx().await?;
        let mut results = Vec::with_capacity(lines.len());
        for (identifier, lookup, decide) in lines {
            tx.exec("SAVEPOINT product_line", args![]).await?;
            // A statement the line made fail (text PostgreSQL cannot store)
            // is the line's; the database going away is everyone's.
            let written = match self
                .write_product_in(&mut tx, &identifier, &lookup, decide)
                .await
            {
                Ok(written) => written,
                Err(e @ StoreError::Unavailable(_)) => return Err(e),
                Err(e) => Err(E::from(e)),
            };
            let undo = if written.is_ok() {
                "RELEASE SAVEPOINT product_line"
            } else {
                "ROLLBACK TO SAVEPOINT product_line"
            };
            tx.exec(undo, args![]).await?;
            if written.is_err() {
                tx.exec("RELEASE SAVEPOINT product_line", args![]).await?;
            }
            results.push(written);
        }
        tx.commit().await?;
        Ok(results)
    }

    /// [`Store::write_product`] inside `tx`: the outer error is the store's
    /// (the transaction is lost), the inner one the product's refusal.
    async fn write_product_in<E: From<StoreError>>(
        &self,
        tx: &mut super::db::Tx,
        identifier: &str,
        lookup: &Lookup,
        decide: impl FnOnce(Option<ProductRow>, &Found) -> Result<ProductRow, E>,
    ) -> Result<Result<ProductWrite, E>, StoreError> {
        let mut current = tx
            .opt(
                &format!("SELECT {PRODUCT_COLUMNS} FROM products p WHERE p.identifier = $1"),
                args![identifier],
                product_from_row,
            )
            .await?;
        if let Some(c) = current.as_mut() {
            self.resolve_links(tx, std::slice::from_mut(c)).await?;
        }
        let found = self.find(tx, lookup).await?;
        let existed = current.is_some();
        let mut product = match decide(current, &found) {
            Ok(p) => p,
            Err(e) => return Ok(Err(e)),
        };
        let categories = categories_json(&product.categories);
        let known: i64 = tx
            .one(
                &format!(
                    "SELECT COUNT(*) FROM {} JOIN categories c ON c.code = j.value",
                    self.dialect().json_each("$1", "j")
                ),
                args![&categories],
                |r| r.get(0),
            )
            .await?;
        if known != product.categories.len() as i64 {
            return Ok(Err(invalid(
                "categories",
                "a category of the product was deleted meanwhile; try again".to_string(),
            )
            .into()));
        }
        let now = self.now_millis();
        product.updated_ms = now;
        let (groups, associations, quantified) = relations_text(&product.relations);
        if existed {
            tx.exec(
                "UPDATE products SET enabled = $2, family = $3, categories = $4,
                     attribute_values = $5, updated_at = $6, product_groups = $7,
                     parent_uuid = $8, associations = $9, quantified_associations = $10
                 WHERE identifier = $1",
                args![
                    &product.identifier,
                    product.enabled,
                    &product.family,
                    &categories,
                    product.values.get(),
                    now,
                    &groups,
                    &product.relations.parent,
                    &associations,
                    &quantified
                ],
            )
            .await?;
        } else {
            product.created_ms = now;
            if product.uuid.is_empty() {
                product.uuid = new_uuid();
            } else {
                // A UUID the client chose names no other product.
                let taken: Option<String> = tx
                    .opt(
                        "SELECT identifier FROM products WHERE uuid = $1",
                        args![&product.uuid],
                        |r| r.get(0),
                    )
                    .await?;
                if let Some(other) = taken {
                    return Ok(Err(invalid(
                        "uuid",
                        format!(
                            "The uuid \"{}\" is already used by the product \"{other}\".",
                            product.uuid
                        ),
                    )
                    .into()));
                }
            }
            tx.exec(
                "INSERT INTO products
                     (identifier, enabled, family, categories, attribute_values, created_at, updated_at, uuid,
                      product_groups, parent_uuid, associations, quantified_associations)
                 VALUES ($1, $2, $3, $4, $5, $6, $6, $7, $8, $9, $10, $11)",
                args![
                    &product.identifier,
                    product.enabled,
                    &product.family,
                    &categories,
                    product.values.get(),
                    now,
                    &product.uuid,
                    &groups,
                    &product.relations.parent,
                    &associations,
                    &quantified
                ],
            )
            .await?;
        }
        Ok(Ok(if existed {
            ProductWrite::Updated(product)
        } else {
            ProductWrite::Created(product)
        }))
    }

    /// Deletes a product; `allow` sees it and the products whose parent it
    /// is (by identifier) first, and may refuse. The deleted product leaves
    /// every other product's associations, as in the PIM (those products
    /// count as updated); children `allow` lets go lose their parent.
    pub async fn delete_product<E: From<StoreError>>(
        &self,
        identifier: &str,
        allow: impl FnOnce(&ProductRow, &[LinkedProduct]) -> Result<(), E>,
    ) -> Result<(), E> {
        let mut tx = self.write_tx().await?;
        let current = tx
            .opt(
                &format!("SELECT {PRODUCT_COLUMNS} FROM products p WHERE p.identifier = $1"),
                args![identifier],
                product_from_row,
            )
            .await?;
        let Some(current) = current else {
            return Err(StoreError::NotFound.into());
        };
        let children = if current.uuid.is_empty() {
            Vec::new()
        } else {
            tx.rows(
                "SELECT p.uuid, p.identifier, p.categories FROM products p
                 WHERE p.parent_uuid = $1 ORDER BY p.identifier",
                args![&current.uuid],
                linked_from_row,
            )
            .await?
        };
        allow(&current, &children)?;
        if !current.uuid.is_empty() {
            self.forget_product(&mut tx, &current.uuid).await?;
        }
        tx.exec(
            "DELETE FROM products WHERE identifier = $1",
            args![identifier],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Takes the product `uuid` out of every association and parent, in
    /// `tx`: only products whose stored text names it are read (a UUID
    /// cannot appear in that text as anything else).
    async fn forget_product(&self, tx: &mut super::db::Tx, uuid: &str) -> Result<(), StoreError> {
        let now = self.now_millis();
        let named = format!("%\"{uuid}\"%");
        let rows: Vec<(String, String, String)> = tx
            .rows(
                "SELECT identifier, associations, quantified_associations FROM products
                 WHERE (associations <> '{}' OR quantified_associations <> '{}')
                   AND (associations LIKE $1 OR quantified_associations LIKE $1)",
                args![&named],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .await?;
        for (identifier, associations, quantified) in rows {
            let mut relations = Relations {
                associations: json_column(&associations, "{}", "associations")?,
                quantified: json_column(&quantified, "{}", "quantified_associations")?,
                ..Default::default()
            };
            if !relations.forget(uuid) {
                continue;
            }
            let (_, associations, quantified) = relations_text(&relations);
            tx.exec(
                "UPDATE products SET associations = $2, quantified_associations = $3,
                     updated_at = $4
                 WHERE identifier = $1",
                args![&identifier, &associations, &quantified, now],
            )
            .await?;
        }
        tx.exec(
            "UPDATE products SET parent_uuid = NULL, updated_at = $2 WHERE parent_uuid = $1",
            args![uuid, now],
        )
        .await?;
        Ok(())
    }

    /// Inserts products that do not exist yet (the demo workspace), in one
    /// transaction; returns how many were new. `age_days` gives each a past.
    pub async fn insert_products(&self, products: &[(ProductRow, u32)]) -> Result<u64, StoreError> {
        const DAY_MS: i64 = 24 * 3600 * 1000;
        let now = self.now_millis();
        let mut tx = self.write_tx().await?;
        let mut created = 0;
        for (p, age_days) in products {
            let created_at = now - i64::from(*age_days) * DAY_MS;
            let updated_at = created_at + (now - created_at) / 2;
            let (groups, associations, quantified) = relations_text(&p.relations);
            created += tx
                .exec(
                    "INSERT INTO products
                         (identifier, enabled, family, categories, attribute_values, created_at, updated_at, uuid,
                          product_groups, parent_uuid, associations, quantified_associations)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
                     ON CONFLICT (identifier) DO NOTHING",
                    args![
                        &p.identifier,
                        p.enabled,
                        &p.family,
                        categories_json(&p.categories),
                        p.values.get(),
                        created_at,
                        updated_at,
                        if p.uuid.is_empty() {
                            new_uuid()
                        } else {
                            p.uuid.clone()
                        },
                        &groups,
                        &p.relations.parent,
                        &associations,
                        &quantified
                    ],
                )
                .await?;
        }
        tx.commit().await?;
        Ok(created)
    }

    /// The identifier of the product with this UUID, if there is one.
    pub async fn product_identifier(&self, uuid: &str) -> Result<Option<String>, StoreError> {
        self.db
            .opt(
                "SELECT identifier FROM products WHERE uuid = $1",
                args![uuid],
                |r| r.get(0),
            )
            .await
    }

    /// One product by identifier as of the products' version `version`
    /// (read with the request's token) or later: kept in memory while no
    /// product changes, else a primary-key read (inline on SQLite) that
    /// also reads the products' version, in the same snapshot. A product
    /// that links to others is read again with them, in one snapshot.
    pub async fn product(
        &self,
        identifier: &str,
        version: i64,
    ) -> Result<Option<Arc<ProductRow>>, StoreError> {
        if let Some(kept) = self.products.get(identifier, version) {
            return Ok(Some(kept));
        }
        let read = |r: &Row<'_>| {
            let read_at: i64 = r.get(VERSION_COLUMN)?;
            let found: Option<String> = r.get(0)?;
            Ok((read_at, found.map(|_| product_from_row(r)).transpose()?))
        };
        let (mut read_at, mut found) = self
            .db
            .one(PRODUCT_BY_IDENTIFIER, args![identifier], read)
            .await?;
        if found.as_ref().is_some_and(|p| p.relations.links()) {
            let mut tx = self.read_tx().await?;
            (read_at, found) = tx
                .one(PRODUCT_BY_IDENTIFIER, args![identifier], read)
                .await?;
            if let Some(p) = found.as_mut() {
                self.resolve_links(&mut tx, std::slice::from_mut(p)).await?;
            }
            tx.commit().await?;
        }
        Ok(found.map(|p| {
            let p = Arc::new(p);
            self.products.put(read_at, Arc::clone(&p));
            p
        }))
    }

    /// A page of products in identifier order, and the count of all matches
    /// when asked for; both from one snapshot.
    pub async fn products(
        &self,
        query: ProductQuery,
    ) -> Result<(Vec<ProductRow>, Option<u64>), StoreError> {
        let (where_sql, params) = product_where(&query, self.dialect());
        let args: Vec<Arg<'_>> = params.iter().map(Param::to_arg).collect();
        let mut tx = self.read_tx().await?;
        let mut items = tx
            .rows(
                &format!(
                    "SELECT {PRODUCT_COLUMNS}{where_sql} ORDER BY p.identifier LIMIT {} OFFSET {}",
                    query.limit.min(i64::MAX as u64),
                    query.offset.min(i64::MAX as u64)
                ),
                &args,
                product_from_row,
            )
            .await?;
        self.resolve_links(&mut tx, &mut items).await?;
        let count = if query.count {
            let n: i64 = tx
                .one(&format!("SELECT COUNT(*){where_sql}"), &args, |r| r.get(0))
                .await?;
            Some(u64::try_from(n).unwrap_or(0))
        } else {
            None
        };
        tx.commit().await?;
        Ok((items, count))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_parameters_are_numbered_in_order_and_typed() {
        let q = ProductQuery {
            visible: Some(vec!["shoes".into()]),
            after: Some("sku-1".into()),
            filters: vec![
                SearchFilter::Enabled(true),
                SearchFilter::Created(TimeFilter::Between(1, 2)),
            ],
            ..Default::default()
        };
        for dialect in [
            super::super::db::Dialect::Sqlite,
            super::super::db::Dialect::Postgres,
        ] {
            let (sql, params) = product_where(&q, dialect);
            assert_eq!(params.len(), 5, "{sql}");
            for n in 1..=5 {
                assert!(sql.contains(&format!("${n}")), "{sql}");
            }
            assert!(!sql.contains("$6"), "{sql}");
            assert!(matches!(params[0], Param::Text(ref s) if s == "[\"shoes\"]"));
            assert!(matches!(params[2], Param::Int(1)));
        }
    }

    /// Every filter, alone and after a group restriction and a cursor, binds
    /// exactly the parameters its SQL names ($1…$n, each once at least):
    /// an unused bound parameter is an error on both engines.
    #[test]
    fn every_filter_binds_exactly_the_parameters_it_names() {
        let v = || vec!["a".to_string()];
        let mut filters = vec![
            SearchFilter::Identifier {
                negate: false,
                values: v(),
            },
            SearchFilter::Identifier {
                negate: true,
                values: v(),
            },
            SearchFilter::Enabled(true),
            SearchFilter::Family(FamilyFilter::In(v())),
            SearchFilter::Family(FamilyFilter::NotIn(v())),
            SearchFilter::Family(FamilyFilter::Empty),
            SearchFilter::Family(FamilyFilter::NotEmpty),
        ];
        for op in [
            CategoryOp::In,
            CategoryOp::NotIn,
            CategoryOp::InChildren,
            CategoryOp::NotInChildren,
            CategoryOp::Unclassified,
            CategoryOp::InOrUnclassified,
        ] {
            filters.push(SearchFilter::Categories(op, v()));
        }
        filters.extend([
            SearchFilter::Groups(GroupsFilter::In(v())),
            SearchFilter::Groups(GroupsFilter::NotIn(v())),
            SearchFilter::Groups(GroupsFilter::Empty),
            SearchFilter::Groups(GroupsFilter::NotEmpty),
            SearchFilter::Parent(ParentFilter::Descends("a".into())),
            SearchFilter::Parent(ParentFilter::In(v())),
            SearchFilter::Parent(ParentFilter::Empty),
            SearchFilter::Parent(ParentFilter::NotEmpty),
            SearchFilter::Uuid {
                negate: false,
                values: v(),
            },
            SearchFilter::Uuid {
                negate: true,
                values: v(),
            },
        ]);
        for t in [
            TimeFilter::Before(1),
            TimeFilter::After(1),
            TimeFilter::Between(1, 2),
            TimeFilter::NotBetween(1, 2),
            TimeFilter::SinceLastDays(3),
            TimeFilter::OnDay(0),
            TimeFilter::NotOnDay(0),
        ] {
            filters.push(SearchFilter::Created(t));
            filters.push(SearchFilter::Updated(t));
        }
        let tests = [
            ValueTest::StartsWith("a".into()),
            ValueTest::EndsWith("a".into()),
            ValueTest::Contains("a".into()),
            ValueTest::TextEquals("a".into()),
            ValueTest::OneOf(v()),
            ValueTest::Number(NumberCmp::Lt, 1.5),
            ValueTest::Number(NumberCmp::Eq, 1.0),
            ValueTest::Boolean(true),
            ValueTest::Boolean(false),
            ValueTest::Date(DateCmp::Before, "2026-01-01".into()),
            ValueTest::Date(DateCmp::On, "2026-01-01".into()),
            ValueTest::DateBetween("2026-01-01".into(), "2026-02-01".into()),
            ValueTest::Price(NumberCmp::Le, 12.5, "EUR".into()),
            ValueTest::Price(NumberCmp::Eq, 3.0, "USD".into()),
            ValueTest::Metric(NumberCmp::Gt, 1.2, "KILOGRAM".into()),
            ValueTest::Metric(NumberCmp::Eq, 1.0, "GRAM".into()),
        ];
        let mut ops = vec![
            AttributeOp::Empty,
            AttributeOp::NotEmpty,
            AttributeOp::EmptyPrice("EUR".into()),
            AttributeOp::NotEmptyPrice("EUR".into()),
        ];
        for test in tests {
            for negate in [false, true] {
                ops.push(AttributeOp::Test {
                    test: test.clone(),
                    negate,
                });
            }
        }
        for (i, op) in ops.into_iter().enumerate() {
            filters.push(SearchFilter::Attribute(AttributeFilter {
                code: "name".into(),
                locales: (i % 2 == 0).then(v),
                scope: (i % 3 == 0).then(|| "ecommerce".to_string()),
                default_locale: i % 4 == 0,
                default_scope: i % 5 == 0,
                op,
            }));
        }
        let named = |sql: &str| -> usize {
            (1..=512)
                .take_while(|n| sql.contains(&format!("${n}")))
                .count()
        };
        for dialect in [
            super::super::db::Dialect::Sqlite,
            super::super::db::Dialect::Postgres,
        ] {
            for f in &filters {
                for (visible, after) in [(None, None), (Some(v()), Some("x".to_string()))] {
                    let q = ProductQuery {
                        visible,
                        after,
                        filters: vec![f.clone()],
                        ..Default::default()
                    };
                    let (sql, params) = product_where(&q, dialect);
                    assert_eq!(params.len(), named(&sql), "{f:?}: {sql}");
                    assert!(!sql.contains(&format!("${}", params.len() + 1)), "{sql}");
                }
            }
            // All together, with and without the group restriction (which
            // the filters on a parent name again).
            for visible in [None, Some(v())] {
                let all = ProductQuery {
                    visible,
                    filters: filters.clone(),
                    ..Default::default()
                };
                let (sql, params) = product_where(&all, dialect);
                assert_eq!(params.len(), named(&sql), "{sql}");
            }
        }
    }

    #[test]
    fn values_round_trip_through_a_map() {
        let mut map = Map::new();
        map.insert("name".into(), Value::String("Boot".into()));
        let p = ProductRow {
            uuid: String::new(),
            identifier: "a".into(),
            enabled: true,
            family: None,
            categories: Vec::new(),
            values: ProductRow::values_from(&map),
            created_ms: 0,
            updated_ms: 0,
            relations: Relations::default(),
        };
        assert_eq!(p.values.get(), r#"{"name":"Boot"}"#);
        assert_eq!(p.values_map(), map);
    }
}
