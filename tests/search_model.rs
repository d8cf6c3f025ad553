//! Issue 16: the products search, generated as SQL in one place, checked
//! against a small reference model written here, independently: random
//! queries (every operator alone and combined, with and without a group's
//! category restriction, a `search_after` cursor, paging and the count)
//! over a fixed random catalog answer exactly what the model says, on both
//! engines. A bound parameter the SQL does not use (UNCLASSIFIED alone
//! answered 500) or a wrong operator cannot pass this.

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use switchboard::domain::products::{CategoryOp, FamilyFilter, SearchFilter, TimeFilter};
use switchboard::store::{Clock, ProductQuery, ProductRow, Store, TestClock};

mod common;
use common::Engine;

const DAY_MS: i64 = 24 * 3600 * 1000;
const CATEGORIES: [&str; 5] = ["shoes", "boots", "shirts", "phones", "cables"];
const FAMILIES: [&str; 3] = ["footwear", "apparel", "tech"];

/// A product as the model sees it.
#[derive(Debug, Clone)]
struct Model {
    identifier: String,
    enabled: bool,
    family: Option<String>,
    categories: Vec<String>,
    created: i64,
    updated: i64,
}

/// The catalog: 80 products from a fixed seed, each with an age in days.
fn catalog(now: i64) -> Vec<(Model, u32)> {
    let mut state: u64 = 0x5eed_1234_abcd_0001;
    let mut next = move |n: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % n
    };
    (0..80)
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
            (
                Model {
                    identifier: format!("sku-{i:03}"),
                    enabled: next(3) != 0,
                    family,
                    categories,
                    created,
                    // As the store writes a product inserted `age` days ago.
                    updated: created + (now - created) / 2,
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

/// The model: does `p` match `q`?
fn matches(p: &Model, q: &ProductQuery) -> bool {
    if let Some(visible) = &q.visible
        && !(p.categories.is_empty() || in_any(&p.categories, visible))
    {
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
    let identifiers =
        proptest::collection::vec((0usize..90).prop_map(|i| format!("sku-{i:03}")), 0..6);
    let op = proptest::sample::select(vec![
        CategoryOp::In,
        CategoryOp::NotIn,
        CategoryOp::InChildren,
        CategoryOp::NotInChildren,
        CategoryOp::Unclassified,
        CategoryOp::InOrUnclassified,
    ]);
    prop_oneof![
        (any::<bool>(), identifiers)
            .prop_map(|(negate, values)| SearchFilter::Identifier { negate, values }),
        any::<bool>().prop_map(SearchFilter::Enabled),
        codes(&FAMILIES).prop_map(|v| SearchFilter::Family(FamilyFilter::In(v))),
        codes(&FAMILIES).prop_map(|v| SearchFilter::Family(FamilyFilter::NotIn(v))),
        Just(SearchFilter::Family(FamilyFilter::Empty)),
        Just(SearchFilter::Family(FamilyFilter::NotEmpty)),
        (op, codes(&CATEGORIES)).prop_map(|(op, c)| SearchFilter::Categories(op, c)),
        time_filter(now).prop_map(SearchFilter::Created),
        time_filter(now).prop_map(SearchFilter::Updated),
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
    let products = catalog(now);
    let rows: Vec<(ProductRow, u32)> = products
        .iter()
        .map(|(m, age)| {
            (
                ProductRow {
                    identifier: m.identifier.clone(),
                    uuid: String::new(),
                    enabled: m.enabled,
                    family: m.family.clone(),
                    categories: m.categories.clone(),
                    values: ProductRow::values_from(&serde_json::Map::new()),
                    created_ms: 0,
                    updated_ms: 0,
                    relations: Default::default(),
                },
                *age,
            )
        })
        .collect();
    assert_eq!(rt.block_on(store.insert_products(&rows)).unwrap(), 80);
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
            .map(|(m, _)| m)
            .filter(|m| matches(m, &q))
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
