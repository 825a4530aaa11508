//! Copying a SQLite store into an empty PostgreSQL database (`lpgate migrate`): every table,
//! row for row, ids and audit hashes kept, in one transaction. The tables have the same
//! columns in both stores (see schema.rs); SQLite's 0/1 flags become booleans, and the search
//! index (FTS5 there, generated columns here) is rebuilt by PostgreSQL itself.

use std::path::Path;
use std::pin::pin;

use lpgate_store::{StoreError, StoreResult};
use rusqlite::types::Value;
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{ToSql, Type};

use crate::{PostgresStore, backend};

/// The tables copied, in an order that satisfies the foreign keys (accounts first).
pub const TABLES: &[&str] = &[
    "accounts",
    "sync_runs",
    "users",
    "users_history",
    "groups",
    "memberships",
    "folders",
    "folder_members",
    "events",
    "changes",
    "findings",
    "outbox",
    "hr_people",
    "plans",
    "plan_items",
    "audit",
    "api_tokens",
    "expired_passwords",
    "expired_password_reads",
    "scim_users",
    "scim_groups",
    "account_schedule",
];

/// Identity columns whose sequences continue after the copied ids.
const IDENTITIES: &[(&str, &str)] = &[
    ("accounts", "id"),
    ("sync_runs", "id"),
    ("users", "id"),
    ("groups", "rid"),
    ("folders", "rid"),
    ("events", "id"),
    ("changes", "id"),
    ("findings", "id"),
    ("outbox", "id"),
    ("plans", "id"),
    ("api_tokens", "id"),
];

fn sqlite_err(context: &'static str) -> impl Fn(rusqlite::Error) -> StoreError {
    move |e| StoreError::Backend {
        context,
        message: e.to_string(),
    }
}

/// Reads a SQLite table's rows for the given columns.
fn read_table(path: &Path, table: &str, columns: &[String]) -> StoreResult<Vec<Vec<Value>>> {
    let ctx = "read the SQLite store";
    let conn =
        rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(sqlite_err(ctx))?;
    let sql = format!("SELECT {} FROM {table}", columns.join(", "));
    let mut stmt = conn.prepare(&sql).map_err(sqlite_err(ctx))?;
    let width = columns.len();
    let rows = stmt
        .query_map([], |r| (0..width).map(|i| r.get::<_, Value>(i)).collect())
        .map_err(sqlite_err(ctx))?
        .collect::<Result<Vec<Vec<Value>>, _>>()
        .map_err(sqlite_err(ctx))?;
    Ok(rows)
}

/// One SQLite value as the PostgreSQL column type wants it.
fn convert(
    v: &Value,
    ty: &Type,
    table: &str,
    column: &str,
) -> StoreResult<Box<dyn ToSql + Sync + Send>> {
    let bad = || StoreError::Backend {
        context: "copy the SQLite store",
        message: format!("{table}.{column}: {v:?} does not fit {ty}"),
    };
    Ok(match (v, ty) {
        (Value::Null, &Type::BOOL) => Box::new(None::<bool>),
        (Value::Null, &Type::INT8) => Box::new(None::<i64>),
        (Value::Null, &Type::FLOAT8) => Box::new(None::<f64>),
        (Value::Null, &Type::BYTEA) => Box::new(None::<Vec<u8>>),
        (Value::Null, _) => Box::new(None::<String>),
        (Value::Integer(i), &Type::BOOL) => Box::new(*i != 0),
        (Value::Integer(i), &Type::INT8) => Box::new(*i),
        (Value::Integer(i), &Type::FLOAT8) => Box::new(*i as f64),
        (Value::Real(f), &Type::FLOAT8) => Box::new(*f),
        (Value::Text(t), &Type::TEXT) => Box::new(t.clone()),
        (Value::Integer(i), &Type::TEXT) => Box::new(i.to_string()),
        (Value::Blob(b), &Type::BYTEA) => Box::new(b.clone()),
        _ => return Err(bad()),
    })
}

/// Copies the SQLite store at `path` into the PostgreSQL database at `url` (migrated first;
/// it must hold no account and no audit entry). Returns each table's row count.
pub async fn copy_from_sqlite(path: &Path, url: &str) -> StoreResult<Vec<(String, u64)>> {
    let ctx = "copy the SQLite store";
    // Opening migrates the target (and checks the SQLite file is a store).
    let target = PostgresStore::open(url).await?;
    let mut conn = target.conn(ctx).await?;
    let tx = conn.transaction().await.map_err(backend(ctx))?;
    let used: i64 = tx
        .query_one(
            "SELECT (SELECT COUNT(*) FROM accounts) + (SELECT COUNT(*) FROM audit)
                  + (SELECT COUNT(*) FROM api_tokens)",
            &[],
        )
        .await
        .map_err(backend(ctx))?
        .get(0);
    if used > 0 {
        return Err(StoreError::Conflict(
            "the PostgreSQL database already holds an installation; migrate into an empty one"
                .into(),
        ));
    }
    let mut counts = Vec::new();
    for table in TABLES {
        let cols = tx
            .query(
                "SELECT column_name::text, data_type::text FROM information_schema.columns
                 WHERE table_schema = current_schema() AND table_name = $1 AND is_generated = 'NEVER'
                   AND data_type <> 'tsvector'
                 ORDER BY ordinal_position",
                &[table],
            )
            .await
            .map_err(backend(ctx))?;
        let columns: Vec<String> = cols.iter().map(|r| r.get(0)).collect();
        let types: Vec<Type> = cols
            .iter()
            .map(|r| match r.get::<_, &str>(1) {
                "boolean" => Type::BOOL,
                "bigint" => Type::INT8,
                "double precision" => Type::FLOAT8,
                "bytea" => Type::BYTEA,
                _ => Type::TEXT,
            })
            .collect();
        let rows = {
            let (path, table, columns) = (path.to_path_buf(), table.to_string(), columns.clone());
            tokio::task::spawn_blocking(move || read_table(&path, &table, &columns))
                .await
                .map_err(|e| StoreError::Backend {
                    context: ctx,
                    message: e.to_string(),
                })??
        };
        let sink = tx
            .copy_in(&format!(
                "COPY {table} ({}) FROM STDIN (FORMAT binary)",
                columns.join(", ")
            ))
            .await
            .map_err(backend(ctx))?;
        let mut writer = pin!(BinaryCopyInWriter::new(sink, &types));
        for row in &rows {
            let values = row
                .iter()
                .zip(types.iter().zip(&columns))
                .map(|(v, (ty, col))| convert(v, ty, table, col))
                .collect::<StoreResult<Vec<_>>>()?;
            let refs: Vec<&(dyn ToSql + Sync)> = values
                .iter()
                .map(|b| b.as_ref() as &(dyn ToSql + Sync))
                .collect();
            writer.as_mut().write(&refs).await.map_err(backend(ctx))?;
        }
        let n = writer.finish().await.map_err(backend(ctx))?;
        counts.push((table.to_string(), n));
    }
    // Search vectors are not in SQLite's rows: computed here, as each sync computes them.
    tx.execute(
        &format!("UPDATE users SET search = {}", crate::tsv::USER_SEARCH_SQL),
        &[],
    )
    .await
    .map_err(backend(ctx))?;
    for (table, col) in IDENTITIES {
        tx.execute(
            &format!(
                "SELECT setval(pg_get_serial_sequence('{table}', '{col}'),
                               GREATEST((SELECT MAX({col}) FROM {table}), 0) + 1, false)"
            ),
            &[],
        )
        .await
        .map_err(backend(ctx))?;
    }
    tx.commit().await.map_err(backend(ctx))?;
    Ok(counts)
}
