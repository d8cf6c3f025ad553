//! `switchboard store copy`: everything of a SQLite store into an empty
//! PostgreSQL database, in one transaction on the target (a failure leaves
//! it as it was). Rows are copied as stored, so secrets stay encrypted
//! under the same key ring and tokens, sessions and passwords keep working.
//! Every table's row count is compared at the end, before the commit.

use rusqlite::types::Value;

use super::db::{Arg, Db, Tx, args};
use super::{Store, StoreError};

/// The tables, parents before children (foreign keys hold at every insert).
/// `account` and `catalog_state` are one-row tables the migrations create:
/// their row is replaced, not added.
const TABLES: &[&str] = &[
    "account",
    "users",
    "connections",
    "audit",
    "sessions",
    "login_failures",
    "tokens",
    "wrong_credentials",
    "integrations",
    "flows",
    "flow_steps",
    "registrations",
    "integration_access",
    "roles",
    "categories",
    "groups",
    "group_grants",
    "products",
    "monitoring_hours",
    "keyring_state",
    // Last: the product triggers counted the copied products; the source's
    // versions replace those counts.
    "catalog_state",
];

/// Tables whose rows the migrations seed: replaced wholesale.
const SEEDED: &[&str] = &[
    "account",
    "catalog_state",
    "roles",
    "groups",
    "keyring_state",
];

/// At most this many values per INSERT statement.
const VALUES_PER_STATEMENT: usize = 20_000;

fn refuse(message: String) -> StoreError {
    StoreError::Conflict {
        field: "to",
        message,
    }
}

struct Table {
    columns: Vec<String>,
    rows: Vec<Vec<Value>>,
}

fn read_table(c: &rusqlite::Connection, table: &str) -> Result<Table, StoreError> {
    let mut st = c.prepare(&format!("SELECT * FROM {table}"))?;
    let columns: Vec<String> = st.column_names().iter().map(|s| s.to_string()).collect();
    let n = columns.len();
    let rows = st
        .query_map([], |r| (0..n).map(|i| r.get::<_, Value>(i)).collect())?
        .collect::<rusqlite::Result<Vec<Vec<Value>>>>()?;
    Ok(Table { columns, rows })
}

/// The PostgreSQL type of each column of `table`, for typed NULLs.
async fn column_types(tx: &mut Tx, table: &str) -> Result<Vec<(String, String)>, StoreError> {
    tx.rows(
        "SELECT column_name, data_type FROM information_schema.columns
         WHERE table_schema = current_schema() AND table_name = $1",
        args![table],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .await
}

fn arg<'a>(v: &'a Value, pg_type: &str) -> Arg<'a> {
    match v {
        Value::Integer(i) => Arg::Int(Some(*i)),
        Value::Real(f) => Arg::Real(Some(*f)),
        Value::Text(t) => Arg::Text(Some(t)),
        Value::Blob(b) => Arg::Blob(Some(b)),
        Value::Null => match pg_type {
            "bigint" | "integer" | "smallint" => Arg::Int(None),
            "bytea" => Arg::Blob(None),
            "double precision" | "real" => Arg::Real(None),
            _ => Arg::Text(None),
        },
    }
}

async fn insert_rows(tx: &mut Tx, table: &str, t: &Table) -> Result<(), StoreError> {
    if t.rows.is_empty() {
        return Ok(());
    }
    let types = column_types(tx, table).await?;
    let type_of = |col: &str| {
        types
            .iter()
            .find(|(c, _)| c == col)
            .map_or("text", |(_, t)| t.as_str())
    };
    for col in &t.columns {
        if !types.iter().any(|(c, _)| c == col) {
            return Err(StoreError::Migrate(format!(
                "{table}.{col} exists in the SQLite store but not in the PostgreSQL schema"
            )));
        }
    }
    let width = t.columns.len().max(1);
    let per_statement = (VALUES_PER_STATEMENT / width).max(1);
    let column_list = t.columns.join(", ");
    for chunk in t.rows.chunks(per_statement) {
        let mut sql = format!("INSERT INTO {table} ({column_list}) VALUES ");
        let mut values = Vec::with_capacity(chunk.len() * width);
        for (i, row) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push('(');
            for (j, v) in row.iter().enumerate() {
                if j > 0 {
                    sql.push_str(", ");
                }
                values.push(arg(v, type_of(&t.columns[j])));
                sql.push_str(&format!("${}", values.len()));
            }
            sql.push(')');
        }
        tx.exec(&sql, &values).await?;
    }
    Ok(())
}

impl Store {
    /// Copies this (SQLite) store into `target`, an empty PostgreSQL store
    /// opened with the same key file. Returns each table's row count.
    pub async fn copy_into(&self, target: &Store) -> Result<Vec<(&'static str, u64)>, StoreError> {
        let Db::Sqlite(source) = &self.db else {
            return Err(StoreError::Config(
                "--from: the store to copy must be a SQLite file".to_string(),
            ));
        };
        if !matches!(target.db, Db::Postgres(_)) {
            return Err(StoreError::Config(
                "--to: the target must be a PostgreSQL database".to_string(),
            ));
        }
        let mut tx = target.db.begin().await?;
        for table in TABLES {
            let n: i64 = tx
                .one(&format!("SELECT COUNT(*) FROM {table}"), args![], |r| {
                    r.get(0)
                })
                .await?;
            let seeded = match *table {
                t if SEEDED.contains(&t) => 1,
                _ => 0,
            };
            if n > seeded {
                return Err(refuse(format!(
                    "the target database is not empty ({table} holds {n} row(s)); copy into a new database"
                )));
            }
        }
        // One snapshot of the whole source.
        let tables = source
            .with_reader(|c| {
                c.execute_batch("BEGIN")?;
                let read = TABLES
                    .iter()
                    .map(|t| read_table(c, t).map(|rows| (*t, rows)))
                    .collect::<Result<Vec<_>, _>>();
                let _ = c.execute_batch("COMMIT");
                read
            })
            .await?;
        for table in SEEDED {
            tx.exec(&format!("DELETE FROM {table}"), args![]).await?;
        }
        for (table, rows) in &tables {
            insert_rows(&mut tx, table, rows).await?;
        }
        // Categories name their parent: inserted in id order, a parent
        // always comes first, since a category's parent exists before it.
        let mut counts = Vec::with_capacity(tables.len());
        for (table, rows) in &tables {
            let n: i64 = tx
                .one(&format!("SELECT COUNT(*) FROM {table}"), args![], |r| {
                    r.get(0)
                })
                .await?;
            let expected = rows.rows.len() as u64;
            if u64::try_from(n).unwrap_or(0) != expected {
                return Err(StoreError::Migrate(format!(
                    "{table}: {expected} row(s) read, {n} in the target; nothing was copied"
                )));
            }
            counts.push((*table, expected));
            // Identity columns go on after the copied ids.
            let has_id = rows.columns.iter().any(|c| c == "id");
            if has_id {
                tx.exec(
                    &format!(
                        "SELECT setval(pg_get_serial_sequence('{table}', 'id'),
                                COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
                    ),
                    args![],
                )
                .await?;
            }
        }
        tx.commit().await?;
        Ok(counts)
    }
}
