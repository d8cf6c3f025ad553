//! Issue 16: the products search, generated as SQL in one place, checked
//! against a small reference model written here, independently: random
//! queries (every operator alone and combined, with and without a group's
//! category restriction, a `search_after` cursor, paging and the count)
//! over a fixed random catalog answer exactly what the model says, on both
//! engines. A bound parameter the SQL does not use (UNCLASSIFIED alone
//! answered 500) or a wrong operator cannot pass this. Products have
//! groups, UUIDs and parents (chains of them, some parents in categories a
//! group cannot view, which then count as none, as they read `null`).

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Map, Value, json};
use switchboard::domain::products::{
    AttributeFilter, AttributeOp, CategoryOp, DateCmp, FamilyFilter, GroupsFilter, NumberCmp,
    ParentFilter, Relations, SearchFilter, TimeFilter, ValueTest,
};
use switchboard::store::{Clock, ProductQuery, ProductRow, Store, TestClock};

mod common;
use common::Engine;

const DAY_MS: i64 = 24 * 3600 * 1000;
const CATEGORIES: [&str; 5] = ["shoes", "boots", "shirts", "phones", "cables"];
const FAMILIES: [&str; 3] = ["footwear", "apparel", "tech"];
/// Group codes; the last one no product is in.
const GROUPS: [&str; 5] = ["promo", "summer", "clearance", "bundle", "unused"];
/// How many products the catalog has; queries also name a few beyond.
const PRODUCTS: usize = 80;

/// A product as the model sees it.
#[derive(Debug, Clone)]
struct Model {
    identifier: String,
    enabled: bool,
    family: Option<String>,
    categories: Vec<String>,
    created: i64,
    updated: i64,
    uuid: String,
    groups: Vec<String>,
    /// The index of its parent, an earlier product (so chains, no cycle).
    parent: Option<usize>,
    /// Its values, in the PIM's standard format.
    values: Map<String, Value>,
}

/// Attribute codes; the last one no product has.
const ATTRIBUTES: [&str; 6] = ["name", "size", "active", "color", "released", "missing"];
const LOCALES: [&str; 3] = ["en_US", "fr_FR", "de_DE"];
const SCOPES: [&str; 2] = ["ecommerce", "mobile"];

/// The data a catalog value may hold: of every JSON type, for every test
/// (text, numbers and numeric strings, booleans, options, dates), and what
/// counts as no data.
fn data_pool() -> Vec<Value> {
    vec![
        json!("Red Shoe"),
        json!("blue boot"),
        json!("SHOE-lace"),
        json!("Café"),
        json!("ÉCLAIR"),
        json!(""),
        json!(null),
        json!(12),
        json!(-3),
        json!(7.5),
        json!("12.50"),
        json!("-3"),
        json!("1.2.3"),
        json!(".5"),
        json!(true),
        json!(false),
        json!(["red", "Blue"]),
        json!(["green"]),
        json!([]),
        json!([1, "red"]),
        json!("2024-01-15"),
        json!("2024-03-01T10:00:00+00:00"),
        json!("2023-12-31 08:00:00"),
        json!("2024-01-15x"),
        json!({"amount": "12.50", "currency": "EUR"}),
        // Price collections and metrics, some of their amounts not numbers.
        json!([{"amount": "12.50", "currency": "EUR"}, {"amount": "15", "currency": "USD"}]),
        json!([{"amount": 7.5, "currency": "EUR"}]),
        json!([{"amount": null, "currency": "EUR"}, {"amount": "-3", "currency": "USD"}]),
        json!([{"amount": "abc", "currency": "EUR"}, "EUR", {"amount": 12}]),
        json!([{"amount": "", "currency": "USD"}, {"amount": 100, "currency": "GBP"}]),
        json!({"amount": "1.2", "unit": "KILOGRAM"}),
        json!({"amount": 12, "unit": "GRAM"}),
        json!({"amount": null, "unit": "KILOGRAM"}),
        json!({"amount": "12.50", "unit": 5}),
        json!({"amount": "-3", "unit": "GRAM"}),
    ]
}

/// The UUID the catalog gives product `i` (queries name some beyond it).
fn uuid_of(i: usize) -> String {
    format!("00000000-0000-4000-8000-{i:012}")
}

/// The catalog: [`PRODUCTS`] products from a fixed seed, each with an age
/// in days.
fn catalog(now: i64) -> Vec<(Model, u32)> {
    let mut state: u64 = 0x5eed_1234_abcd_0001;
    let mut next = move |n: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % n
    };
    (0..PRODUCTS)
        .map(|i| {
            let age = u32::try_from(next(60)).unwrap();
            let created = now - i64::from(age) * DAY_MS;
            let family = match next(4) {
                3 => None,
                f => Some(FAMILIES[f as usize].to_string()),
            };
            let categories: Vec<String> = CATEGORIES
                .iter()
                .filter(|_| next(4) == 0)
                .map(|c| c.to_string())
                .collect();
            let enabled = next(3) != 0;
            let groups: Vec<String> = GROUPS[..4]
                .iter()
                .filter(|_| next(3) == 0)
                .map(|g| g.to_string())
                .collect();
            // About half have a parent, an earlier product: chains form.
            let parent = (i > 0 && next(2) == 0).then(|| next(i as u64) as usize);
            let pool = data_pool();
            let mut values = Map::new();
            for code in &ATTRIBUTES[..5] {
                let n = next(4);
                let items: Vec<Value> = (0..n)
                    .map(|_| {
                        let locale = match next(3) {
                            0 => Value::Null,
                            l => json!(LOCALES[l as usize - 1]),
                        };
                        let scope = match next(3) {
                            0 => Value::Null,
                            c => json!(SCOPES[c as usize - 1]),
                        };
                        let data = pool[next(pool.len() as u64) as usize].clone();
                        json!({"locale": locale, "scope": scope, "data": data})
                    })
                    .collect();
                if !items.is_empty() {
                    values.insert(code.to_string(), Value::Array(items));
                }
            }
            (
                Model {
                    identifier: format!("sku-{i:03}"),
                    enabled,
                    family,
                    categories,
                    created,
                    // As the store writes a product inserted `age` days ago.
                    updated: created + (now - created) / 2,
                    uuid: uuid_of(i),
                    groups,
                    parent,
                    values,
                },
                age,
            )
        })
        .collect()
}

fn in_any(categories: &[String], codes: &[String]) -> bool {
    categories.iter().any(|c| codes.contains(c))
}

fn time_ok(t: &TimeFilter, at: i64, now: i64) -> bool {
    match *t {
        TimeFilter::Before(ms) => at < ms,
        TimeFilter::After(ms) => at > ms,
        TimeFilter::Between(a, b) => a <= at && at <= b,
        TimeFilter::NotBetween(a, b) => !(a <= at && at <= b),
        TimeFilter::SinceLastDays(n) => at >= now - i64::from(n) * DAY_MS,
        TimeFilter::OnDay(start) => start <= at && at < start + DAY_MS,
        TimeFilter::NotOnDay(start) => !(start <= at && at < start + DAY_MS),
    }
}

/// The data of `p`'s values of the filter's attribute that it looks at
/// (by locale and scope).
fn looked_at<'a>(p: &'a Model, f: &AttributeFilter) -> Vec<&'a Value> {
    let Some(Value::Array(items)) = p.values.get(&f.code) else {
        return Vec::new();
    };
    items
        .iter()
        .filter(|v| {
            // search_locale and search_scope let values with none count.
            f.locales.as_ref().is_none_or(|l| {
                (f.default_locale && v["locale"].is_null())
                    || v["locale"]
                        .as_str()
                        .is_some_and(|x| l.iter().any(|y| y == x))
            }) && f.scope.as_ref().is_none_or(|s| {
                (f.default_scope && v["scope"].is_null()) || v["scope"].as_str() == Some(s.as_str())
            })
        })
        .map(|v| &v["data"])
        .collect()
}

fn present(d: &Value) -> bool {
    !(d.is_null() || d == &json!("") || d == &json!([]))
}

/// A number, or a string of digits with at most one inner point and an
/// optional leading `-` (at most 40 characters).
fn number(d: &Value) -> Option<f64> {
    match d {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => {
            let digits = s.strip_prefix('-').unwrap_or(s);
            let parts: Vec<&str> = digits.split('.').collect();
            let ok = s.chars().count() <= 40
                && parts.len() <= 2
                && parts
                    .iter()
                    .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
            ok.then(|| s.parse().unwrap())
        }
        _ => None,
    }
}

/// The day a date string starts with (`YYYY-MM-DD`, alone or followed by
/// `T` or a space).
fn day(d: &Value) -> Option<&str> {
    let s = d.as_str()?;
    let b = s.as_bytes();
    let shaped = b.len() >= 10
        && b[..10].iter().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                *c == b'-'
            } else {
                c.is_ascii_digit()
            }
        })
        && (b.len() == 10 || b[10] == b'T' || b[10] == b' ');
    shaped.then(|| &s[..10])
}

fn nonempty_text(d: &Value) -> Option<String> {
    d.as_str()
        .filter(|s| !s.is_empty())
        .map(str::to_ascii_lowercase)
}

/// The amounts of the prices in `currency` the data (a price collection)
/// holds.
fn prices<'a>(d: &'a Value, currency: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
    d.as_array()
        .into_iter()
        .flatten()
        .filter(move |e| e.is_object() && e["currency"].as_str() == Some(currency))
        .map(|e| &e["amount"])
}

/// The amount of a metric of `unit`.
fn metric<'a>(d: &'a Value, unit: &str) -> Option<&'a Value> {
    (d.is_object() && d["unit"].as_str() == Some(unit)).then(|| &d["amount"])
}

fn compares(cmp: &NumberCmp, n: f64, v: f64) -> bool {
    match cmp {
        NumberCmp::Lt => n < v,
        NumberCmp::Le => n <= v,
        NumberCmp::Eq => n == v,
        NumberCmp::Ge => n >= v,
        NumberCmp::Gt => n > v,
    }
}

/// Whether the data is of the kind `t` looks at.
fn of_kind(t: &ValueTest, d: &Value) -> bool {
    match t {
        ValueTest::StartsWith(_)
        | ValueTest::EndsWith(_)
        | ValueTest::Contains(_)
        | ValueTest::TextEquals(_) => nonempty_text(d).is_some(),
        ValueTest::OneOf(_) => {
            nonempty_text(d).is_some() || d.as_array().is_some_and(|a| !a.is_empty())
        }
        ValueTest::Number(..) => number(d).is_some(),
        ValueTest::Boolean(_) => d.is_boolean(),
        ValueTest::Date(..) | ValueTest::DateBetween(..) => day(d).is_some(),
        ValueTest::Price(_, _, c) => prices(d, c).any(|a| number(a).is_some()),
        ValueTest::Metric(_, _, u) => metric(d, u).and_then(number).is_some(),
    }
}

fn passes(t: &ValueTest, d: &Value) -> bool {
    let text = nonempty_text(d);
    match t {
        ValueTest::StartsWith(n) => text.is_some_and(|s| s.starts_with(n.as_str())),
        ValueTest::EndsWith(n) => text.is_some_and(|s| s.ends_with(n.as_str())),
        ValueTest::Contains(n) => text.is_some_and(|s| s.contains(n.as_str())),
        ValueTest::TextEquals(n) => text.is_some_and(|s| &s == n),
        ValueTest::OneOf(set) => match d {
            Value::String(s) => set.contains(&s.to_ascii_lowercase()),
            Value::Array(items) => items
                .iter()
                .filter_map(Value::as_str)
                .any(|s| set.contains(&s.to_ascii_lowercase())),
            _ => false,
        },
        ValueTest::Number(cmp, v) => number(d).is_some_and(|n| compares(cmp, n, *v)),
        ValueTest::Price(cmp, v, c) => {
            prices(d, c).any(|a| number(a).is_some_and(|n| compares(cmp, n, *v)))
        }
        ValueTest::Metric(cmp, v, u) => metric(d, u)
            .and_then(number)
            .is_some_and(|n| compares(cmp, n, *v)),
        ValueTest::Boolean(b) => d.as_bool() == Some(*b),
        ValueTest::Date(cmp, at) => day(d).is_some_and(|x| match cmp {
            DateCmp::Before => x < at.as_str(),
            DateCmp::After => x > at.as_str(),
            DateCmp::On => x == at.as_str(),
        }),
        ValueTest::DateBetween(a, b) => day(d).is_some_and(|x| a.as_str() <= x && x <= b.as_str()),
    }
}

/// A price's amount that counts as one: a number or a non-empty string.
fn has_amount(a: &Value) -> bool {
    a.is_number() || a.as_str().is_some_and(|s| !s.is_empty())
}

fn attribute_ok(p: &Model, f: &AttributeFilter) -> bool {
    let data = looked_at(p, f);
    match &f.op {
        AttributeOp::Empty => !data.iter().any(|d| present(d)),
        AttributeOp::NotEmpty => data.iter().any(|d| present(d)),
        AttributeOp::EmptyPrice(c) => !data.iter().any(|d| prices(d, c).any(has_amount)),
        AttributeOp::NotEmptyPrice(c) => data.iter().any(|d| prices(d, c).any(has_amount)),
        AttributeOp::Test {
            test,
            negate: false,
        } => data.iter().any(|d| passes(test, d)),
        AttributeOp::Test { test, negate: true } => {
            data.iter().any(|d| of_kind(test, d)) && !data.iter().any(|d| passes(test, d))
        }
    }
}

/// Whether the group of `q` may view `p`.
fn viewable(p: &Model, q: &ProductQuery) -> bool {
    q.visible
        .as_ref()
        .is_none_or(|visible| p.categories.is_empty() || in_any(&p.categories, visible))
}

/// The parent of `p` as the group reads it: none when it cannot view it.
fn shown_parent<'a>(p: &Model, all: &'a [Model], q: &ProductQuery) -> Option<&'a Model> {
    p.parent
        .map(|i| &all[i])
        .filter(|parent| viewable(parent, q))
}

/// Whether `p` descends from the product `identifier`, following the
/// parents the group reads.
fn descends(p: &Model, identifier: &str, all: &[Model], q: &ProductQuery) -> bool {
    let mut at = p;
    while let Some(parent) = shown_parent(at, all, q) {
        if parent.identifier == identifier {
            return true;
        }
        at = parent;
    }
    false
}

/// The model: does `p` (one of `all`) match `q`?
fn matches(p: &Model, all: &[Model], q: &ProductQuery) -> bool {
    if !viewable(p, q) {
        return false;
    }
    if let Some(after) = &q.after
        && p.identifier.as_str() <= after.as_str()
    {
        return false;
    }
    q.filters.iter().all(|f| match f {
        SearchFilter::Identifier { negate, values } => values.contains(&p.identifier) != *negate,
        SearchFilter::Enabled(b) => p.enabled == *b,
        SearchFilter::Family(FamilyFilter::In(v)) => {
            p.family.as_ref().is_some_and(|f| v.contains(f))
        }
        SearchFilter::Family(FamilyFilter::NotIn(v)) => {
            p.family.as_ref().is_none_or(|f| !v.contains(f))
        }
        SearchFilter::Family(FamilyFilter::Empty) => p.family.is_none(),
        SearchFilter::Family(FamilyFilter::NotEmpty) => p.family.is_some(),
        SearchFilter::Categories(op, codes) => match op {
            CategoryOp::In | CategoryOp::InChildren => in_any(&p.categories, codes),
            CategoryOp::NotIn | CategoryOp::NotInChildren => !in_any(&p.categories, codes),
            CategoryOp::Unclassified => p.categories.is_empty(),
            CategoryOp::InOrUnclassified => p.categories.is_empty() || in_any(&p.categories, codes),
        },
        SearchFilter::Created(t) => time_ok(t, p.created, q.now_ms),
        SearchFilter::Updated(t) => time_ok(t, p.updated, q.now_ms),
        SearchFilter::Groups(GroupsFilter::In(v)) => p.groups.iter().any(|g| v.contains(g)),
        SearchFilter::Groups(GroupsFilter::NotIn(v)) => !p.groups.iter().any(|g| v.contains(g)),
        SearchFilter::Groups(GroupsFilter::Empty) => p.groups.is_empty(),
        SearchFilter::Groups(GroupsFilter::NotEmpty) => !p.groups.is_empty(),
        SearchFilter::Parent(ParentFilter::Descends(id)) => descends(p, id, all, q),
        SearchFilter::Parent(ParentFilter::In(v)) => {
            shown_parent(p, all, q).is_some_and(|parent| v.contains(&parent.identifier))
        }
        SearchFilter::Parent(ParentFilter::Empty) => shown_parent(p, all, q).is_none(),
        SearchFilter::Parent(ParentFilter::NotEmpty) => shown_parent(p, all, q).is_some(),
        SearchFilter::Uuid { negate, values } => values.contains(&p.uuid) != *negate,
        SearchFilter::Attribute(a) => attribute_ok(p, a),
    })
}

fn codes(from: &'static [&'static str]) -> impl Strategy<Value = Vec<String>> {
    proptest::sample::subsequence(from.to_vec(), 0..=from.len())
        .prop_map(|v| v.into_iter().map(str::to_string).collect())
}

fn time_filter(now: i64) -> impl Strategy<Value = TimeFilter> {
    let at = (0i64..70).prop_map(move |d| now - d * DAY_MS);
    prop_oneof![
        at.clone().prop_map(TimeFilter::Before),
        at.clone().prop_map(TimeFilter::After),
        (at.clone(), at.clone()).prop_map(|(a, b)| TimeFilter::Between(a.min(b), a.max(b))),
        (at.clone(), at.clone()).prop_map(|(a, b)| TimeFilter::NotBetween(a.min(b), a.max(b))),
        (0u32..70).prop_map(TimeFilter::SinceLastDays),
        at.clone()
            .prop_map(|t| TimeFilter::OnDay(t.div_euclid(DAY_MS) * DAY_MS)),
        at.prop_map(|t| TimeFilter::NotOnDay(t.div_euclid(DAY_MS) * DAY_MS)),
    ]
}

/// A string the catalog's text starts with, ends with or holds (or not),
/// lowercased as the parser holds it.
fn needle() -> impl Strategy<Value = String> {
    proptest::sample::select(vec![
        "", "red", "RED SHOE", "shoe", "boot", "-lace", "caf", "é", "É", "éclair", "12.50", "2024",
        "green", "blue",
    ])
    .prop_map(|s| s.to_ascii_lowercase())
}

fn currency() -> impl Strategy<Value = String> {
    proptest::sample::select(vec!["EUR", "USD", "GBP", "JPY"]).prop_map(str::to_string)
}

fn unit() -> impl Strategy<Value = String> {
    proptest::sample::select(vec!["KILOGRAM", "GRAM", "METER"]).prop_map(str::to_string)
}

fn value_test() -> impl Strategy<Value = ValueTest> {
    let cmp = proptest::sample::select(vec![
        NumberCmp::Lt,
        NumberCmp::Le,
        NumberCmp::Eq,
        NumberCmp::Ge,
        NumberCmp::Gt,
    ]);
    let num = proptest::sample::select(vec![-3.0, 0.0, 1.2, 7.5, 12.0, 12.5, 15.0, 100.0]);
    let date = || {
        proptest::sample::select(vec!["2023-12-31", "2024-01-15", "2024-02-01", "2024-03-01"])
            .prop_map(str::to_string)
    };
    let dcmp = proptest::sample::select(vec![DateCmp::Before, DateCmp::After, DateCmp::On]);
    prop_oneof![
        needle().prop_map(ValueTest::StartsWith),
        needle().prop_map(ValueTest::EndsWith),
        needle().prop_map(ValueTest::Contains),
        needle().prop_map(ValueTest::TextEquals),
        proptest::collection::vec(needle(), 0..3).prop_map(ValueTest::OneOf),
        (cmp.clone(), num.clone()).prop_map(|(c, n)| ValueTest::Number(c, n)),
        any::<bool>().prop_map(ValueTest::Boolean),
        (dcmp, date()).prop_map(|(c, d)| ValueTest::Date(c, d)),
        (date(), date()).prop_map(|(a, b)| ValueTest::DateBetween(a, b)),
        (cmp.clone(), num.clone(), currency()).prop_map(|(c, n, cur)| ValueTest::Price(c, n, cur)),
        (cmp, num, unit()).prop_map(|(c, n, u)| ValueTest::Metric(c, n, u)),
    ]
}

fn attribute_filter() -> impl Strategy<Value = SearchFilter> {
    let op = prop_oneof![
        1 => Just(AttributeOp::Empty),
        1 => Just(AttributeOp::NotEmpty),
        1 => currency().prop_map(AttributeOp::EmptyPrice),
        1 => currency().prop_map(AttributeOp::NotEmptyPrice),
        6 => (value_test(), any::<bool>()).prop_map(|(test, negate)| AttributeOp::Test { test, negate }),
    ];
    (
        proptest::sample::select(ATTRIBUTES.to_vec()),
        proptest::option::of(codes(&LOCALES)),
        proptest::option::of(proptest::sample::select(SCOPES.to_vec())),
        op,
        any::<(bool, bool)>(),
    )
        .prop_map(
            |(code, locales, scope, op, (default_locale, default_scope))| {
                SearchFilter::Attribute(AttributeFilter {
                    code: code.to_string(),
                    locales,
                    scope: scope.map(str::to_string),
                    default_locale,
                    default_scope,
                    op,
                })
            },
        )
}

fn filter(now: i64) -> impl Strategy<Value = SearchFilter> {
    let identifier = || (0usize..PRODUCTS + 10).prop_map(|i| format!("sku-{i:03}"));
    let identifiers = proptest::collection::vec(identifier(), 0..6);
    let uuids = proptest::collection::vec((0usize..PRODUCTS + 10).prop_map(uuid_of), 0..6);
    let op = proptest::sample::select(vec![
        CategoryOp::In,
        CategoryOp::NotIn,
        CategoryOp::InChildren,
        CategoryOp::NotInChildren,
        CategoryOp::Unclassified,
        CategoryOp::InOrUnclassified,
    ]);
    prop_oneof![
        (any::<bool>(), identifiers.clone())
            .prop_map(|(negate, values)| SearchFilter::Identifier { negate, values }),
        any::<bool>().prop_map(SearchFilter::Enabled),
        codes(&FAMILIES).prop_map(|v| SearchFilter::Family(FamilyFilter::In(v))),
        codes(&FAMILIES).prop_map(|v| SearchFilter::Family(FamilyFilter::NotIn(v))),
        Just(SearchFilter::Family(FamilyFilter::Empty)),
        Just(SearchFilter::Family(FamilyFilter::NotEmpty)),
        (op, codes(&CATEGORIES)).prop_map(|(op, c)| SearchFilter::Categories(op, c)),
        time_filter(now).prop_map(SearchFilter::Created),
        time_filter(now).prop_map(SearchFilter::Updated),
        codes(&GROUPS).prop_map(|v| SearchFilter::Groups(GroupsFilter::In(v))),
        codes(&GROUPS).prop_map(|v| SearchFilter::Groups(GroupsFilter::NotIn(v))),
        Just(SearchFilter::Groups(GroupsFilter::Empty)),
        Just(SearchFilter::Groups(GroupsFilter::NotEmpty)),
        identifier().prop_map(|i| SearchFilter::Parent(ParentFilter::Descends(i))),
        identifiers.prop_map(|v| SearchFilter::Parent(ParentFilter::In(v))),
        Just(SearchFilter::Parent(ParentFilter::Empty)),
        Just(SearchFilter::Parent(ParentFilter::NotEmpty)),
        (any::<bool>(), uuids).prop_map(|(negate, values)| SearchFilter::Uuid { negate, values }),
        attribute_filter(),
        attribute_filter(),
        attribute_filter(),
        attribute_filter(),
        attribute_filter(),
        attribute_filter(),
    ]
}

fn query(now: i64) -> impl Strategy<Value = ProductQuery> {
    (
        proptest::collection::vec(filter(now), 0..4),
        proptest::option::of(codes(&CATEGORIES)),
        proptest::option::of((0usize..85).prop_map(|i| format!("sku-{i:03}"))),
        0u64..30,
        1u64..40,
        any::<bool>(),
    )
        .prop_map(
            move |(filters, visible, after, offset, limit, count)| ProductQuery {
                visible,
                filters,
                after,
                offset,
                limit,
                count,
                now_ms: now,
            },
        )
}

/// A clock that does not move.
struct Stopped(chrono::DateTime<chrono::Utc>);

impl Clock for Stopped {
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.0
    }
}

fn search_matches_the_model(engine: Engine) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    // Stopped: the catalog's times are computed from the same "now" the
    // store writes them with (a clock that moves put them a millisecond or
    // more apart on a busy machine, and the time filters' edges with them).
    let clock = std::sync::Arc::new(Stopped(TestClock::default().now()));
    let store: Store = rt
        .block_on(common::open_store(engine, dir.path()))
        .with_clock(clock.clone());
    let now = store.now_millis();
    let (products, ages): (Vec<Model>, Vec<u32>) = catalog(now).into_iter().unzip();
    let rows: Vec<(ProductRow, u32)> = products
        .iter()
        .zip(&ages)
        .map(|(m, age)| {
            (
                ProductRow {
                    identifier: m.identifier.clone(),
                    uuid: m.uuid.clone(),
                    enabled: m.enabled,
                    family: m.family.clone(),
                    categories: m.categories.clone(),
                    values: ProductRow::values_from(&m.values),
                    created_ms: 0,
                    updated_ms: 0,
                    relations: Relations {
                        groups: m.groups.clone(),
                        parent: m.parent.map(uuid_of),
                        ..Default::default()
                    },
                },
                *age,
            )
        })
        .collect();
    assert_eq!(
        rt.block_on(store.insert_products(&rows)).unwrap(),
        PRODUCTS as u64
    );
    // The catalog has what the new filters look at, chains of parents too.
    assert!(products.iter().any(|m| m.groups.len() > 1));
    assert!(products.iter().any(|m| m.groups.is_empty()));
    assert!(
        products
            .iter()
            .any(|m| m.parent.is_some_and(|i| products[i].parent.is_some()))
    );
    let mut runner = TestRunner::new(Config {
        cases: 300,
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(&query(now), |q| {
        let (page, count) = rt
            .block_on(store.products(q.clone()))
            .map_err(|e| TestCaseError::fail(format!("{e} for {q:?}")))?;
        let mut expected: Vec<&Model> = products
            .iter()
            .filter(|m| matches(m, &products, &q))
            .collect();
        expected.sort_by(|a, b| a.identifier.cmp(&b.identifier));
        let total = expected.len() as u64;
        let want: Vec<&str> = expected
            .iter()
            .skip(q.offset as usize)
            .take(q.limit as usize)
            .map(|m| m.identifier.as_str())
            .collect();
        let got: Vec<&str> = page.iter().map(|p| p.identifier.as_str()).collect();
        prop_assert_eq!(got, want, "{:?}", q);
        prop_assert_eq!(count, q.count.then_some(total), "{:?}", q);
        Ok(())
    });
    rt.block_on(store.close());
    if let Err(e) = result {
        panic!("{e}");
    }
}

#[test]
fn the_search_answers_what_the_reference_model_says() {
    search_matches_the_model(Engine::Sqlite);
}

#[test]
fn the_search_answers_what_the_reference_model_says_on_postgres() {
    search_matches_the_model(Engine::Postgres);
}
