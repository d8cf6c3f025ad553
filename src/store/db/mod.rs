//! The one way the store talks to a database, whichever engine it is: SQL
//! text with `$1`-numbered parameters, arguments as [`Arg`]s, and rows read
//! through [`Row`]. Each engine has one driver: rusqlite for SQLite (inline,
//! on connections of our own), sqlx for PostgreSQL (its async pool).
//!
//! The SQL the store writes is the common part of both dialects. What
//! differs is small and spelt out where it is used ([`Dialect`]): SQLite gets
//! its `?N` parameters, `MAX(a, b)` and `json_each`; PostgreSQL its
//! `GREATEST(a, b)` and `jsonb_array_elements_text`.
//!
//! Write transactions are serialised on both engines (SQLite's
//! `BEGIN IMMEDIATE`; a transaction-scoped advisory lock on PostgreSQL), so
//! a check and the write that depends on it never interleave with another
//! writer's, on one instance or several.

pub(crate) mod postgres;
pub(crate) mod sqlite;

use std::borrow::Cow;

use super::StoreError;

/// Which engine runs (for the few statements whose spelling differs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    /// `a` or `b`, whichever is greater (both non-NULL).
    pub fn greatest(self, a: &str, b: &str) -> String {
        match self {
            Dialect::Sqlite => format!("MAX({a}, {b})"),
            Dialect::Postgres => format!("GREATEST({a}, {b})"),
        }
    }

    /// A table source of the strings in the JSON array `expr`, as `alias`
    /// with one column `value`.
    pub fn json_each(self, expr: &str, alias: &str) -> String {
        match self {
            Dialect::Sqlite => format!("json_each({expr}) {alias}"),
            Dialect::Postgres => {
                format!("jsonb_array_elements_text(CAST({expr} AS jsonb)) AS {alias}(value)")
            }
        }
    }
}

/// One bound value. NULLs carry their type (PostgreSQL needs it).
#[derive(Debug, Clone, Copy)]
pub enum Arg<'a> {
    Int(Option<i64>),
    Real(Option<f64>),
    Text(Option<&'a str>),
    Blob(Option<&'a [u8]>),
}

/// What can be bound as a parameter.
pub trait ToArg {
    fn to_arg(&self) -> Arg<'_>;
    /// This type's NULL.
    fn null() -> Arg<'static>;
}

macro_rules! int_arg {
    ($($t:ty),*) => {$(
        impl ToArg for $t {
            fn to_arg(&self) -> Arg<'_> {
                Arg::Int(Some(i64::try_from(*self).unwrap_or(i64::MAX)))
            }
            fn null() -> Arg<'static> {
                Arg::Int(None)
            }
        }
    )*};
}
int_arg!(i64, i32, u32, u16, u8, u64, usize);

impl ToArg for bool {
    fn to_arg(&self) -> Arg<'_> {
        Arg::Int(Some(i64::from(*self)))
    }
    fn null() -> Arg<'static> {
        Arg::Int(None)
    }
}

impl ToArg for f64 {
    fn to_arg(&self) -> Arg<'_> {
        Arg::Real(Some(*self))
    }
    fn null() -> Arg<'static> {
        Arg::Real(None)
    }
}

impl ToArg for str {
    fn to_arg(&self) -> Arg<'_> {
        Arg::Text(Some(self))
    }
    fn null() -> Arg<'static> {
        Arg::Text(None)
    }
}

impl ToArg for String {
    fn to_arg(&self) -> Arg<'_> {
        Arg::Text(Some(self))
    }
    fn null() -> Arg<'static> {
        Arg::Text(None)
    }
}

impl ToArg for [u8] {
    fn to_arg(&self) -> Arg<'_> {
        Arg::Blob(Some(self))
    }
    fn null() -> Arg<'static> {
        Arg::Blob(None)
    }
}

impl ToArg for Vec<u8> {
    fn to_arg(&self) -> Arg<'_> {
        Arg::Blob(Some(self))
    }
    fn null() -> Arg<'static> {
        Arg::Blob(None)
    }
}

impl<T: ToArg> ToArg for Option<T> {
    fn to_arg(&self) -> Arg<'_> {
        match self {
            Some(v) => v.to_arg(),
            None => T::null(),
        }
    }
    fn null() -> Arg<'static> {
        T::null()
    }
}

impl<T: ToArg + ?Sized> ToArg for &T {
    fn to_arg(&self) -> Arg<'_> {
        (**self).to_arg()
    }
    fn null() -> Arg<'static> {
        T::null()
    }
}

/// The arguments of one statement: `args![a, b, c]`.
#[macro_export]
#[doc(hidden)]
macro_rules! sql_args {
    ($($e:expr),* $(,)?) => {
        &[$($crate::store::db::ToArg::to_arg(&$e)),*][..]
    };
}
pub(crate) use sql_args as args;

/// One column's value, borrowed from its row.
#[derive(Debug, Clone, Copy)]
pub enum Val<'r> {
    Null,
    Int(i64),
    Real(f64),
    Text(&'r str),
    Blob(&'r [u8]),
}

/// A column by position or by name.
#[derive(Debug, Clone, Copy)]
pub enum Col<'a> {
    At(usize),
    Named(&'a str),
}

impl From<usize> for Col<'_> {
    fn from(i: usize) -> Self {
        Col::At(i)
    }
}

impl<'a> From<&'a str> for Col<'a> {
    fn from(n: &'a str) -> Self {
        Col::Named(n)
    }
}

impl std::fmt::Display for Col<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Col::At(i) => write!(f, "column {i}"),
            Col::Named(n) => write!(f, "column {n}"),
        }
    }
}

/// A row of either engine.
pub enum Row<'a> {
    Lite(&'a rusqlite::Row<'a>),
    Pg(&'a sqlx::postgres::PgRow),
}

impl Row<'_> {
    fn val(&self, col: Col<'_>) -> Result<Val<'_>, StoreError> {
        match self {
            Row::Lite(r) => sqlite::val(r, col),
            Row::Pg(r) => postgres::val(r, col),
        }
    }

    /// The column's value as `T`.
    pub fn get<'c, T: FromVal>(&self, col: impl Into<Col<'c>>) -> Result<T, StoreError> {
        let col = col.into();
        let v = self.val(col)?;
        T::from_val(v).ok_or_else(|| StoreError::Decode(format!("{col}: unexpected {v:?}")))
    }
}

/// What a column's value converts to.
pub trait FromVal: Sized {
    fn from_val(v: Val<'_>) -> Option<Self>;
}

impl FromVal for i64 {
    fn from_val(v: Val<'_>) -> Option<Self> {
        match v {
            Val::Int(i) => Some(i),
            _ => None,
        }
    }
}

impl FromVal for u64 {
    fn from_val(v: Val<'_>) -> Option<Self> {
        i64::from_val(v).map(|i| u64::try_from(i).unwrap_or(0))
    }
}

impl FromVal for u32 {
    fn from_val(v: Val<'_>) -> Option<Self> {
        i64::from_val(v).map(|i| u32::try_from(i).unwrap_or(0))
    }
}

impl FromVal for bool {
    fn from_val(v: Val<'_>) -> Option<Self> {
        i64::from_val(v).map(|i| i != 0)
    }
}

impl FromVal for f64 {
    fn from_val(v: Val<'_>) -> Option<Self> {
        match v {
            Val::Real(f) => Some(f),
            #[allow(clippy::cast_precision_loss)]
            Val::Int(i) => Some(i as f64),
            _ => None,
        }
    }
}

impl FromVal for String {
    fn from_val(v: Val<'_>) -> Option<Self> {
        match v {
            Val::Text(s) => Some(s.to_string()),
            _ => None,
        }
    }
}

impl FromVal for Vec<u8> {
    fn from_val(v: Val<'_>) -> Option<Self> {
        match v {
            Val::Blob(b) => Some(b.to_vec()),
            _ => None,
        }
    }
}

impl<T: FromVal> FromVal for Option<T> {
    fn from_val(v: Val<'_>) -> Option<Self> {
        match v {
            Val::Null => Some(None),
            v => T::from_val(v).map(Some),
        }
    }
}

/// The SQLite spelling of a statement: `$N` parameters become `?N` (SQLite
/// numbers `$N` by first appearance, not by N). Quoted text is left alone.
pub(crate) fn sqlite_sql(sql: &str) -> Cow<'_, str> {
    if !sql.contains('$') {
        return Cow::Borrowed(sql);
    }
    let mut out = String::with_capacity(sql.len());
    let mut quoted = false;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                quoted = !quoted;
                out.push(c);
            }
            '$' if !quoted && chars.peek().is_some_and(char::is_ascii_digit) => out.push('?'),
            _ => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// An open database of either engine.
pub enum Db {
    Sqlite(sqlite::Lite),
    /// Boxed: its connect options are large, and a store holds one Db.
    Postgres(Box<postgres::Pg>),
}

/// A transaction: a write transaction ([`Db::begin`]) is serialised with
/// every other writer; a read transaction ([`Db::read`]) sees one snapshot.
/// Dropped without [`Tx::commit`], it rolls back.
pub enum Tx {
    Sqlite(sqlite::LiteTx),
    Postgres(postgres::PgTx),
}

impl Db {
    pub fn dialect(&self) -> Dialect {
        match self {
            Db::Sqlite(_) => Dialect::Sqlite,
            Db::Postgres(_) => Dialect::Postgres,
        }
    }

    pub async fn begin(&self) -> Result<Tx, StoreError> {
        match self {
            Db::Sqlite(d) => Ok(Tx::Sqlite(d.begin().await?)),
            Db::Postgres(d) => Ok(Tx::Postgres(d.begin().await?)),
        }
    }

    /// Starts a read transaction: its statements see one snapshot.
    pub async fn read(&self) -> Result<Tx, StoreError> {
        match self {
            Db::Sqlite(d) => Ok(Tx::Sqlite(d.begin_read().await?)),
            Db::Postgres(d) => Ok(Tx::Postgres(d.begin_read().await?)),
        }
    }

    /// Every row of a read.
    pub async fn rows<T>(
        &self,
        sql: &str,
        args: &[Arg<'_>],
        f: impl FnMut(&Row<'_>) -> Result<T, StoreError>,
    ) -> Result<Vec<T>, StoreError> {
        match self {
            Db::Sqlite(d) => sqlite::rows(&*d.reader().await?, sql, args, f),
            Db::Postgres(d) => d.read_all(sql, args, f).await,
        }
    }

    /// The first row of a read, if any.
    pub async fn opt<T>(
        &self,
        sql: &str,
        args: &[Arg<'_>],
        f: impl FnOnce(&Row<'_>) -> Result<T, StoreError>,
    ) -> Result<Option<T>, StoreError> {
        match self {
            Db::Sqlite(d) => sqlite::opt(&*d.reader().await?, sql, args, f),
            Db::Postgres(d) => d.read(sql, args, f).await,
        }
    }

    /// The one row of a read; `NotFound` when there is none.
    pub async fn one<T>(
        &self,
        sql: &str,
        args: &[Arg<'_>],
        f: impl FnOnce(&Row<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.opt(sql, args, f).await?.ok_or(StoreError::NotFound)
    }

    /// A single write, committed on its own.
    pub async fn exec(&self, sql: &str, args: &[Arg<'_>]) -> Result<u64, StoreError> {
        match self {
            Db::Sqlite(d) => d.exec(sql, args).await,
            Db::Postgres(d) => d.write(sql, args).await,
        }
    }
}

impl Tx {
    pub fn dialect(&self) -> Dialect {
        match self {
            Tx::Sqlite(_) => Dialect::Sqlite,
            Tx::Postgres(_) => Dialect::Postgres,
        }
    }

    pub async fn rows<T>(
        &mut self,
        sql: &str,
        args: &[Arg<'_>],
        f: impl FnMut(&Row<'_>) -> Result<T, StoreError>,
    ) -> Result<Vec<T>, StoreError> {
        match self {
            Tx::Sqlite(t) => sqlite::rows(t.conn(), sql, args, f),
            Tx::Postgres(t) => postgres::rows(t.conn(), sql, args, f).await,
        }
    }

    pub async fn opt<T>(
        &mut self,
        sql: &str,
        args: &[Arg<'_>],
        f: impl FnOnce(&Row<'_>) -> Result<T, StoreError>,
    ) -> Result<Option<T>, StoreError> {
        match self {
            Tx::Sqlite(t) => sqlite::opt(t.conn(), sql, args, f),
            Tx::Postgres(t) => postgres::opt(t.conn(), sql, args, f).await,
        }
    }

    pub async fn one<T>(
        &mut self,
        sql: &str,
        args: &[Arg<'_>],
        f: impl FnOnce(&Row<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.opt(sql, args, f).await?.ok_or(StoreError::NotFound)
    }

    pub async fn exec(&mut self, sql: &str, args: &[Arg<'_>]) -> Result<u64, StoreError> {
        match self {
            Tx::Sqlite(t) => sqlite::exec(t.conn(), sql, args),
            Tx::Postgres(t) => postgres::exec(t.conn(), sql, args).await,
        }
    }

    pub async fn commit(self) -> Result<(), StoreError> {
        match self {
            Tx::Sqlite(t) => t.commit(),
            Tx::Postgres(t) => t.commit().await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_parameters_are_numbered_and_quotes_left_alone() {
        assert_eq!(
            sqlite_sql("SELECT '$1', a FROM t WHERE b = $2 AND c = $1"),
            "SELECT '$1', a FROM t WHERE b = ?2 AND c = ?1"
        );
        assert!(matches!(sqlite_sql("SELECT 1"), Cow::Borrowed(_)));
    }
}
