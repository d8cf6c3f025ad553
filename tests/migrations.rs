//! Migrations merged from branches: a database migrated with a higher
//! number (0006, monitoring) must still take a lower one (0005) that a
//! later build brings, as the branches of one issue land in any order.

use std::path::{Path, PathBuf};

use sqlx::migrate::Migrator;
use switchboard::store::migrate_sqlite_file;

const SOURCE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src/store/migrations/sqlite");

fn migration_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(SOURCE)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "sql"))
        .collect();
    files.sort();
    files
}

fn copy_into(dir: &Path, files: &[&PathBuf]) {
    std::fs::create_dir_all(dir).unwrap();
    for f in files {
        std::fs::copy(f, dir.join(f.file_name().unwrap())).unwrap();
    }
}

fn version(p: &Path) -> i64 {
    let name = p.file_name().unwrap().to_str().unwrap();
    name.split('_').next().unwrap().parse().unwrap()
}

#[tokio::test]
async fn a_migration_numbered_below_an_applied_one_is_still_applied() {
    let tmp = tempfile::tempdir().unwrap();
    let all = migration_files();
    assert!(all.iter().any(|f| version(f) == 6), "0006 is monitoring");
    // Before: 0001 to 0006 but 0005 (later ones build on 0005). After: all
    // of them, with 0005 from the tree when it is there, else a stand-in.
    let before: Vec<&PathBuf> = all
        .iter()
        .filter(|f| version(f) != 5 && version(f) <= 6)
        .collect();
    let after_dir = tmp.path().join("after");
    copy_into(&tmp.path().join("before"), &before);
    copy_into(&after_dir, &all.iter().collect::<Vec<_>>());
    if !all.iter().any(|f| version(f) == 5) {
        std::fs::write(
            after_dir.join("0005_stand_in.sql"),
            "CREATE TABLE stand_in (id INTEGER PRIMARY KEY);",
        )
        .unwrap();
    }
    let db = tmp.path().join("db.sqlite");
    let before = Migrator::new(tmp.path().join("before")).await.unwrap();
    migrate_sqlite_file(&db, &before).unwrap();
    let applied = || {
        let c = rusqlite::Connection::open(&db).unwrap();
        let mut st = c
            .prepare("SELECT version FROM _sqlx_migrations ORDER BY version")
            .unwrap();
        st.query_map([], |r| r.get::<_, i64>(0))
            .unwrap()
            .collect::<Result<Vec<_>, _>>()
            .unwrap()
    };
    assert!(!applied().contains(&5));
    let after = Migrator::new(after_dir).await.unwrap();
    migrate_sqlite_file(&db, &after)
        .expect("the lower-numbered migration applies after the higher one");
    let versions = applied();
    assert!(
        versions.contains(&5) && versions.contains(&6),
        "{versions:?}"
    );
}

/// Opening an up-to-date store reads the migration record once (versions
/// and checksums); a store whose record differs from the build's
/// migrations is refused with a message naming the migration.
#[tokio::test]
async fn an_up_to_date_store_opens_and_a_tampered_migration_record_is_refused() {
    use switchboard::store::Store;
    let tmp = tempfile::tempdir().unwrap();
    let (db, key) = (tmp.path().join("db.sqlite"), tmp.path().join("key"));
    let store = Store::open_sqlite(&db, &key).await.unwrap();
    store.close().await;
    // Again: everything is applied, the store opens and reads.
    let store = Store::open_sqlite(&db, &key).await.unwrap();
    assert_eq!(store.quota().await.unwrap().count, 0);
    store.close().await;
    // A migration whose recorded checksum differs from the build's.
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute_batch("UPDATE _sqlx_migrations SET checksum = x'00' WHERE version = 1")
        .unwrap();
    let refused = Store::open_sqlite(&db, &key).await;
    assert!(
        matches!(refused, Err(ref e) if e.to_string().contains("migration")),
        "{:?}",
        refused.err()
    );
}

/// Several processes starting together on a new file (two `serve`s behind
/// a load balancer) migrate it once: the others wait and find it done,
/// instead of dying on "table … already exists".
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn stores_opened_together_on_a_new_file_all_open() {
    use switchboard::store::Store;
    let tmp = tempfile::tempdir().unwrap();
    let (db, key) = (tmp.path().join("db.sqlite"), tmp.path().join("key"));
    // The key file first, as the first start writes it.
    Store::open_sqlite(&tmp.path().join("other.sqlite"), &key)
        .await
        .unwrap()
        .close()
        .await;
    let opens: Vec<_> = (0..4)
        .map(|_| {
            let (db, key) = (db.clone(), key.clone());
            tokio::spawn(async move { Store::open_sqlite(&db, &key).await })
        })
        .collect();
    for open in opens {
        let store = open.await.unwrap().unwrap();
        assert_eq!(store.quota().await.unwrap().count, 0);
        store.close().await;
    }
}

/// Issue 16: products that existed before 0012 get a UUID each: v4, all
/// different, unique in the index (SQLite's migration composes them from
/// random bytes).
#[tokio::test]
async fn products_stored_before_uuids_each_get_a_distinct_v4_uuid() {
    let tmp = tempfile::tempdir().unwrap();
    let all = migration_files();
    let before: Vec<&PathBuf> = all.iter().filter(|f| version(f) < 12).collect();
    copy_into(&tmp.path().join("before"), &before);
    copy_into(&tmp.path().join("after"), &all.iter().collect::<Vec<_>>());
    let db = tmp.path().join("db.sqlite");
    migrate_sqlite_file(
        &db,
        &Migrator::new(tmp.path().join("before")).await.unwrap(),
    )
    .unwrap();
    {
        let c = rusqlite::Connection::open(&db).unwrap();
        for i in 0..200 {
            c.execute(
                "INSERT INTO products (identifier, created_at, updated_at) VALUES (?1, 0, 0)",
                [format!("old-{i}")],
            )
            .unwrap();
        }
    }
    migrate_sqlite_file(&db, &Migrator::new(tmp.path().join("after")).await.unwrap()).unwrap();
    let c = rusqlite::Connection::open(&db).unwrap();
    // Another writer inserting without one: the trigger gives it one.
    c.execute(
        "INSERT INTO products (identifier, created_at, updated_at) VALUES ('raw', 0, 0)",
        [],
    )
    .unwrap();
    let mut st = c.prepare("SELECT uuid FROM products").unwrap();
    let uuids: Vec<String> = st
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(uuids.len(), 201);
    let distinct: std::collections::HashSet<&String> = uuids.iter().collect();
    assert_eq!(distinct.len(), 201);
    for u in &uuids {
        let parsed = uuid::Uuid::parse_str(u).unwrap_or_else(|e| panic!("{u}: {e}"));
        assert_eq!(parsed.get_version_num(), 4, "{u}");
        assert_eq!(parsed.hyphenated().to_string(), *u, "canonical: {u}");
        assert_eq!(parsed.get_variant(), uuid::Variant::RFC4122, "{u}");
    }
}
