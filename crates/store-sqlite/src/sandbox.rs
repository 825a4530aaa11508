//! Read-only queries over the documented views, confined by SQLite itself: a connection
//! opened read-only (no write can reach the file), an authorizer that allows only SELECT,
//! reads of the views (and of the internal tables only from inside a view) and functions,
//! limits on lengths and attached databases, and a progress handler that cancels a query at
//! its deadline. Nothing here looks at the SQL text.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use lpgate_store::{QueryRequest, QueryResult, StoreError, StoreResult};
use rusqlite::hooks::{AuthAction, AuthContext, Authorization};
use rusqlite::limits::Limit;
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};

use crate::views;

/// The largest string or blob a query may build (a `randomblob(1e9)` is refused). Small, as
/// no stored value comes near it: SQLite's sort merges hold one row per spilled run in
/// memory, so the row size bounds what an ORDER BY over generated rows can take.
const MAX_VALUE_BYTES: i32 = 1024 * 1024;

/// The most bytes of values one result may hold: the rows are kept in memory and then sent
/// as one JSON document, so without this a query of `hex(randomblob(…))` rows could fill the
/// server's memory before its time limit.
pub const MAX_RESULT_BYTES: usize = 32 * 1024 * 1024;

/// A query connection with the views installed and the authorizer armed.
pub struct QueryConn {
    conn: Connection,
    /// While set, the authorizer lets lpgate's own statements (scope changes) through.
    trusted: Arc<AtomicBool>,
    /// Set while the views are confined to one account.
    scoped: Arc<AtomicBool>,
}

impl QueryConn {
    /// Opens one on the store file.
    pub fn open(path: &Path) -> rusqlite::Result<Self> {
        let mut conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY
                | OpenFlags::SQLITE_OPEN_NO_MUTEX
                | OpenFlags::SQLITE_OPEN_URI,
        )?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        // Sorts and temporary results larger than the page cache (16 MiB) spill to a temporary
        // file instead of growing in memory (an ORDER BY over generated rows would otherwise
        // hold them all in RAM until the time limit).
        conn.execute_batch(
            "PRAGMA temp_store = FILE; PRAGMA cache_size = -16384; PRAGMA mmap_size = 0;",
        )?;
        conn.execute_batch(views::CREATE)?;
        // No write at all, not even to `temp`, except lpgate's own scope changes.
        conn.execute_batch("PRAGMA query_only = ON;")?;
        conn.set_limit(Limit::SQLITE_LIMIT_LENGTH, MAX_VALUE_BYTES)?;
        conn.set_limit(Limit::SQLITE_LIMIT_ATTACHED, 0)?;
        conn.set_limit(Limit::SQLITE_LIMIT_SQL_LENGTH, 1024 * 1024)?;
        let trusted = Arc::new(AtomicBool::new(false));
        let scoped = Arc::new(AtomicBool::new(false));
        let (flag, confined) = (trusted.clone(), scoped.clone());
        conn.authorizer(Some(move |ctx: AuthContext<'_>| {
            if flag.load(Ordering::Relaxed) {
                return Authorization::Allow;
            }
            authorize(&ctx, confined.load(Ordering::Relaxed))
        }))?;
        Ok(QueryConn {
            conn,
            trusted,
            scoped,
        })
    }

    /// Runs one request.
    pub fn run(&mut self, req: &QueryRequest) -> StoreResult<QueryResult> {
        self.set_scope(req.account.map(|a| a.0))?;
        let started = Instant::now();
        let deadline = started + req.limits.timeout;
        let timed_out = Arc::new(AtomicBool::new(false));
        let flag = timed_out.clone();
        self.conn
            .progress_handler(
                1000,
                Some(move || {
                    let late = Instant::now() >= deadline;
                    if late {
                        flag.store(true, Ordering::Relaxed);
                    }
                    late
                }),
            )
            .map_err(internal)?;
        let result = self.execute(req, &timed_out);
        let _ = self.conn.progress_handler(0, None::<fn() -> bool>);
        match result {
            Err(_) if timed_out.load(Ordering::Relaxed) => Err(StoreError::QueryTimeout {
                secs: req.limits.timeout.as_secs_f64(),
            }),
            other => other,
        }
    }

    fn execute(&self, req: &QueryRequest, timed_out: &AtomicBool) -> StoreResult<QueryResult> {
        let mut stmt = self.conn.prepare(&req.sql).map_err(refused)?;
        if !stmt.readonly() {
            return Err(StoreError::QueryRefused(
                "only read-only statements (SELECT, WITH … SELECT) are allowed".into(),
            ));
        }
        for (name, value) in &req.params {
            let key = format!(":{name}");
            if let Some(i) = stmt.parameter_index(&key).map_err(refused)? {
                bind_json(&mut stmt, i, value).map_err(refused)?;
            }
        }
        if let Some(i) = (1..=stmt.parameter_count()).find(|i| {
            stmt.parameter_name(*i)
                .is_none_or(|n| !req.params.iter().any(|(p, _)| n == format!(":{p}")))
        }) {
            let name = stmt.parameter_name(i).unwrap_or("?").to_string();
            return Err(StoreError::QueryRefused(format!(
                "the query uses parameter {name}, which has no value"
            )));
        }
        let columns: Vec<String> = stmt.column_names().map(str::to_string).collect();
        let width = columns.len();
        let mut rows = stmt.raw_query();
        let mut out = Vec::new();
        let mut truncated = false;
        let mut bytes = 0usize;
        loop {
            let row = match rows.next() {
                Ok(Some(r)) => r,
                Ok(None) => break,
                Err(e) if timed_out.load(Ordering::Relaxed) => return Err(internal(e)),
                Err(e) => return Err(refused(e)),
            };
            if out.len() == req.limits.max_rows {
                truncated = true;
                break;
            }
            let mut values = Vec::with_capacity(width);
            for i in 0..width {
                let value = row.get_ref(i).map_err(refused)?;
                bytes = bytes.saturating_add(size_of_value(&value));
                if bytes > MAX_RESULT_BYTES {
                    return Err(StoreError::QueryRefused(format!(
                        "the result is larger than {} MiB (after {} rows): select fewer rows \
                         or columns, or shorter values",
                        MAX_RESULT_BYTES / (1024 * 1024),
                        out.len()
                    )));
                }
                values.push(to_json(value));
            }
            out.push(values);
        }
        Ok(QueryResult {
            columns,
            rows: out,
            truncated,
        })
    }

    fn set_scope(&mut self, account: Option<i64>) -> StoreResult<()> {
        self.trusted.store(true, Ordering::Relaxed);
        let r = self
            .conn
            .execute_batch("PRAGMA query_only = OFF;")
            .and_then(|()| {
                self.conn
                    .execute("UPDATE temp.lpgate_scope SET account_id = ?1", [account])
            })
            .and_then(|_| self.conn.execute_batch("PRAGMA query_only = ON;"));
        self.scoped.store(account.is_some(), Ordering::Relaxed);
        self.trusted.store(false, Ordering::Relaxed);
        r.map_err(internal)
    }
}

/// The policy: SELECT, functions, recursive CTEs, reads of the views, of `temp` and of CTEs,
/// and reads of `main` only from inside a view. Everything else (writes, DDL, ATTACH, PRAGMA,
/// transactions…) is denied. `scoped`: the views show one account only.
fn authorize(ctx: &AuthContext<'_>, scoped: bool) -> Authorization {
    match ctx.action {
        AuthAction::Select | AuthAction::Recursive => Authorization::Allow,
        AuthAction::Function { function_name } => {
            // Present for defence in depth: the build omits extension loading entirely.
            if function_name.eq_ignore_ascii_case("load_extension") {
                Authorization::Deny
            } else {
                Authorization::Allow
            }
        }
        AuthAction::Read {
            table_name,
            column_name,
        } => {
            if column_name == "provhash_sealed" {
                return Authorization::Deny;
            }
            let from_view = ctx.accessor.is_some_and(|v| views::VIEW_NAMES.contains(&v));
            // No database: a common table expression or subquery result, not a table. An
            // empty column: SQLite checking a table's rows without reading a column (a
            // flattened view's COUNT(*) reports its joined tables so, without the view's name).
            // When confined to one account, only for `accounts`, which every view joins by id:
            // `COUNT(*) FROM main.users` would count every account's rows, and
            // `COUNT(*) FROM main.hr_people` the whole company's staff.
            let harmless = matches!(ctx.database_name, None | Some("temp"))
                || (column_name.is_empty()
                    && table_name != "sqlite_master"
                    && (!scoped || table_name == "accounts"));
            if from_view || harmless {
                Authorization::Allow
            } else {
                Authorization::Deny
            }
        }
        _ => Authorization::Deny,
    }
}

fn bind_json(
    stmt: &mut rusqlite::Statement<'_>,
    i: usize,
    v: &serde_json::Value,
) -> rusqlite::Result<()> {
    use serde_json::Value;
    match v {
        Value::Null => stmt.raw_bind_parameter(i, rusqlite::types::Null),
        Value::Bool(b) => stmt.raw_bind_parameter(i, *b),
        Value::Number(n) => match n.as_i64() {
            Some(x) => stmt.raw_bind_parameter(i, x),
            None => stmt.raw_bind_parameter(i, n.as_f64().unwrap_or(0.0)),
        },
        Value::String(s) => stmt.raw_bind_parameter(i, s.as_str()),
        other => stmt.raw_bind_parameter(i, other.to_string()),
    }
}

/// About what a value costs in the result (blobs are shown as their size only).
fn size_of_value(v: &ValueRef<'_>) -> usize {
    match v {
        ValueRef::Text(t) => t.len() + 8,
        _ => 16,
    }
}

fn to_json(v: ValueRef<'_>) -> serde_json::Value {
    match v {
        ValueRef::Null => serde_json::Value::Null,
        ValueRef::Integer(i) => i.into(),
        ValueRef::Real(f) => serde_json::Number::from_f64(f)
            .map(serde_json::Value::Number)
            .unwrap_or(serde_json::Value::Null),
        ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned().into(),
        ValueRef::Blob(b) => format!("<{} bytes>", b.len()).into(),
    }
}

/// SQLite's refusal or syntax error, with its own message (it names the table, column or
/// the "not authorized" action).
fn refused(e: rusqlite::Error) -> StoreError {
    let msg = match &e {
        rusqlite::Error::SqliteFailure(_, Some(m)) if m == "not authorized" => {
            "not authorized: queries may only read the documented views (see docs/query.md); \
             writes, ATTACH, PRAGMA and internal tables are refused"
                .to_string()
        }
        rusqlite::Error::SqliteFailure(_, Some(m)) => m.clone(),
        other => other.to_string(),
    };
    StoreError::QueryRefused(msg)
}

fn internal(e: rusqlite::Error) -> StoreError {
    StoreError::Backend {
        context: "query",
        message: e.to_string(),
    }
}
