//! Products read by identifier, kept in memory at the products' version
//! they were read at. Every product insert, change or delete adds one to
//! `catalog_state.products_version` (triggers, so every writer and every
//! process counts); the bearer check reads that version with the token, in
//! the same snapshot. A kept product is served only to a request whose
//! version is not newer than the cache's: nothing changed in between, so it
//! is exactly what the database would answer, and a change made anywhere
//! holds from the next request on. A newer version empties the cache.
//!
//! Only found products are kept (a guessed identifier cannot fill memory),
//! at most [`CAPACITY`] of them; a full cache starts over.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

use super::products::ProductRow;

/// Products kept at most.
pub const CAPACITY: usize = 16_384;

#[derive(Default)]
pub struct ProductCache {
    state: RwLock<State>,
}

#[derive(Default)]
struct State {
    /// The products' version every kept product was read at.
    version: i64,
    products: HashMap<String, Arc<ProductRow>>,
}

impl ProductCache {
    /// The product kept for `identifier` if the cache is at `version` or
    /// later (`None`: read it from the database).
    pub fn get(&self, identifier: &str, version: i64) -> Option<Arc<ProductRow>> {
        let state = self.state.read().unwrap_or_else(PoisonError::into_inner);
        if state.version < version {
            return None;
        }
        state.products.get(identifier).cloned()
    }

    /// Keeps a product read at `version`; a newer version than the cache's
    /// empties it first, an older one is not kept.
    pub fn put(&self, version: i64, product: Arc<ProductRow>) {
        let mut state = self.state.write().unwrap_or_else(PoisonError::into_inner);
        if version > state.version {
            state.products.clear();
            state.version = version;
        }
        if version < state.version {
            return;
        }
        if state.products.len() >= CAPACITY {
            state.products.clear();
        }
        state.products.insert(product.identifier.clone(), product);
    }

    /// How many products are kept.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.state
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .products
            .len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn product(id: &str, updated_ms: i64) -> Arc<ProductRow> {
        Arc::new(ProductRow {
            uuid: String::new(),
            identifier: id.to_string(),
            enabled: true,
            family: None,
            categories: Vec::new(),
            values: serde_json::value::RawValue::from_string("{}".to_string()).unwrap(),
            created_ms: 0,
            updated_ms,
            relations: Default::default(),
        })
    }

    #[test]
    fn a_kept_product_is_served_at_its_version_and_older_ones_only() {
        let cache = ProductCache::default();
        cache.put(5, product("a", 1));
        assert_eq!(cache.get("a", 5).unwrap().updated_ms, 1);
        assert_eq!(cache.get("a", 4).unwrap().updated_ms, 1);
        assert!(cache.get("a", 6).is_none(), "a newer version must read");
        assert!(cache.get("b", 5).is_none());
    }

    #[test]
    fn a_newer_version_empties_the_cache_and_an_older_read_is_not_kept() {
        let cache = ProductCache::default();
        cache.put(5, product("a", 1));
        cache.put(7, product("b", 2));
        assert!(cache.get("a", 5).is_none(), "read at 5, the cache is at 7");
        assert_eq!(cache.get("b", 7).unwrap().updated_ms, 2);
        // A read that started before the change comes back late.
        cache.put(6, product("a", 1));
        assert!(cache.get("a", 7).is_none());
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn a_full_cache_starts_over() {
        let cache = ProductCache::default();
        for i in 0..CAPACITY {
            cache.put(1, product(&format!("p{i}"), 0));
        }
        assert_eq!(cache.len(), CAPACITY);
        cache.put(1, product("one-more", 0));
        assert_eq!(cache.len(), 1);
        assert!(cache.get("one-more", 1).is_some());
    }
}
