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
use switchboard::domain::products::{
    CategoryOp, FamilyFilter, GroupsFilter, ParentFilter, Relations, SearchFilter, TimeFilter,
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
        (at.clone(), at).prop_map(|(a, b)| TimeFilter::NotBetween(a.min(b), a.max(b))),
        (0u32..70).prop_map(TimeFilter::SinceLastDays),
    ]
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
                    values: ProductRow::values_from(&serde_json::Map::new()),
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
