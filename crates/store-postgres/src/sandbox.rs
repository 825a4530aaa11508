//! Read-only queries over the documented views, confined by PostgreSQL itself.
//!
//! Queries run on connections that log in as a role of their own (`lpgate_query_<db oid>`,
//! created at open, its password kept in `sandbox_role`): that role may select the views of
//! schema `lpgate_views` and nothing else, and its transactions default to read-only. Each
//! query runs in `BEGIN READ ONLY` with `SET LOCAL statement_timeout`, and is rolled back.
//! Logging in as the role (rather than `SET ROLE` on lpgate's own connection) matters: a
//! query could `set_config('role', 'none', …)` back to the session's login role.
//!
//! An account-scoped request is limited through `sandbox_scope`: before the query, lpgate's
//! own connection records the account for the sandbox session's backend pid, and every view
//! keeps only that account's rows (a session without a row sees nothing). The sandbox role
//! cannot write that table.
//!
//! Named parameters (`:name`) become `$n`; their types are those PostgreSQL infers, and JSON
//! values are converted to them. Results come back as JSON as SQLite's would: booleans as 0/1.

use std::time::Duration;

use lpgate_store::{QueryRequest, QueryResult, StoreError, StoreResult};
use tokio_postgres::Client;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::{FromSql, ToSql, Type};

use crate::{PostgresStore, backend, message};

/// Creates the sandbox role if needed (under the migration lock) and returns its name and
/// password. lpgate's role needs CREATEROLE for the first open of a database.
pub async fn ensure_role(client: &mut Client) -> StoreResult<(String, String)> {
    let ctx = "prepare the query sandbox";
    client
        .execute(
            "SELECT pg_advisory_lock($1)",
            &[&crate::schema::MIGRATION_LOCK],
        )
        .await
        .map_err(backend(ctx))?;
    let result = ensure_role_locked(client).await;
    let _ = client
        .execute(
            "SELECT pg_advisory_unlock($1)",
            &[&crate::schema::MIGRATION_LOCK],
        )
        .await;
    result
}

async fn ensure_role_locked(client: &mut Client) -> StoreResult<(String, String)> {
    let ctx = "prepare the query sandbox";
    let kept = client
        .query_opt("SELECT name, password FROM sandbox_role", &[])
        .await
        .map_err(backend(ctx))?;
    let (name, password) = match kept {
        Some(r) => (r.get::<_, String>(0), r.get::<_, String>(1)),
        None => {
            let oid: u32 = client
                .query_one(
                    "SELECT oid FROM pg_database WHERE datname = current_database()",
                    &[],
                )
                .await
                .map_err(backend(ctx))?
                .get(0);
            let name = format!("lpgate_query_{oid}");
            let password: String = (0..32)
                .map(|_| char::from(b"0123456789abcdef"[fastrand::usize(..16)]))
                .collect();
            // The name and password are generated here (letters, digits, underscore).
            let sql = format!(
                "DO $$ BEGIN
                     IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{name}') THEN
                         ALTER ROLE {name} WITH LOGIN PASSWORD '{password}';
                     ELSE
                         CREATE ROLE {name} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT PASSWORD '{password}';
                     END IF;
                 END $$"
            );
            client.batch_execute(&sql).await.map_err(|e| StoreError::Backend {
                context: ctx,
                message: format!(
                    "cannot create the query role {name} (lpgate's database role needs CREATEROLE \
                     the first time it opens a database): {}",
                    message(&e)
                ),
            })?;
            client
                .execute(
                    "INSERT INTO sandbox_role (name, password) VALUES ($1, $2)",
                    &[&name, &password],
                )
                .await
                .map_err(backend(ctx))?;
            (name, password)
        }
    };
    client
        .batch_execute(&format!(
            "ALTER ROLE {name} SET default_transaction_read_only = on;
             REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {name};
             GRANT USAGE ON SCHEMA lpgate_views TO {name};
             GRANT SELECT ON ALL TABLES IN SCHEMA lpgate_views TO {name};"
        ))
        .await
        .map_err(backend(ctx))?;
    Ok((name, password))
}

/// Rewrites `:name` parameters to `$n`, skipping string literals, quoted identifiers,
/// comments and `::` casts. Returns the SQL and the names in `$n` order.
pub fn number_params(sql: &str) -> (String, Vec<String>) {
    let mut out = String::with_capacity(sql.len());
    let mut names: Vec<String> = Vec::new();
    let chars: Vec<char> = sql.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\'' | '"' => {
                out.push(c);
                i += 1;
                while i < chars.len() {
                    out.push(chars[i]);
                    if chars[i] == c {
                        if chars.get(i + 1) == Some(&c) {
                            out.push(c);
                            i += 2;
                            continue;
                        }
                        i += 1;
                        break;
                    }
                    i += 1;
                }
            }
            '-' if chars.get(i + 1) == Some(&'-') => {
                while i < chars.len() && chars[i] != '\n' {
                    out.push(chars[i]);
                    i += 1;
                }
            }
            '/' if chars.get(i + 1) == Some(&'*') => {
                while i < chars.len() && !(chars[i] == '*' && chars.get(i + 1) == Some(&'/')) {
                    out.push(chars[i]);
                    i += 1;
                }
                out.push_str("*/");
                i += 2;
            }
            ':' if chars.get(i + 1) == Some(&':') => {
                out.push_str("::");
                i += 2;
            }
            ':' if chars
                .get(i + 1)
                .is_some_and(|n| n.is_alphabetic() || *n == '_') =>
            {
                let start = i + 1;
                let mut end = start;
                while end < chars.len() && (chars[end].is_alphanumeric() || chars[end] == '_') {
                    end += 1;
                }
                let name: String = chars[start..end].iter().collect();
                let n = match names.iter().position(|x| *x == name) {
                    Some(p) => p + 1,
                    None => {
                        names.push(name);
                        names.len()
                    }
                };
                out.push_str(&format!("${n}"));
                i = end;
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    (out, names)
}

/// The first keyword of the statement, after whitespace and comments.
fn first_keyword(sql: &str) -> String {
    let mut s = sql.trim_start();
    loop {
        if let Some(rest) = s.strip_prefix("--") {
            s = rest.split_once('\n').map_or("", |x| x.1).trim_start();
        } else if let Some(rest) = s.strip_prefix("/*") {
            s = rest.split_once("*/").map_or("", |x| x.1).trim_start();
        } else {
            break;
        }
    }
    s.trim_start_matches('(')
        .chars()
        .take_while(|c| c.is_alphabetic())
        .collect::<String>()
        .to_ascii_uppercase()
}

/// A JSON value converted to the type PostgreSQL inferred for its parameter.
fn to_param(
    name: &str,
    ty: &Type,
    v: &serde_json::Value,
) -> StoreResult<Box<dyn ToSql + Sync + Send>> {
    use serde_json::Value;
    let bad = || {
        StoreError::QueryRefused(format!(
            "parameter :{name} is {v}, which does not fit its type {ty} here"
        ))
    };
    if v.is_null() {
        return Ok(match *ty {
            Type::INT2 => Box::new(None::<i16>),
            Type::INT4 => Box::new(None::<i32>),
            Type::INT8 => Box::new(None::<i64>),
            Type::FLOAT4 => Box::new(None::<f32>),
            Type::FLOAT8 => Box::new(None::<f64>),
            Type::BOOL => Box::new(None::<bool>),
            _ => Box::new(None::<String>),
        });
    }
    let text = match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    Ok(match *ty {
        Type::INT2 => Box::new(text.parse::<i16>().map_err(|_| bad())?),
        Type::INT4 => Box::new(text.parse::<i32>().map_err(|_| bad())?),
        Type::INT8 => Box::new(text.parse::<i64>().map_err(|_| bad())?),
        Type::FLOAT4 => Box::new(text.parse::<f32>().map_err(|_| bad())?),
        Type::FLOAT8 => Box::new(text.parse::<f64>().map_err(|_| bad())?),
        Type::BOOL => Box::new(match v {
            Value::Bool(b) => *b,
            Value::Number(n) => n.as_f64().is_some_and(|x| x != 0.0),
            _ => return Err(bad()),
        }),
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN => Box::new(text),
        _ => {
            return Err(StoreError::QueryRefused(format!(
                "parameter :{name} is used as {ty}, which lpgate cannot bind; cast it \
                 (:{name}::text, :{name}::bigint…)"
            )));
        }
    })
}

/// Any column value, as the JSON the SQLite sandbox would return.
struct Json(serde_json::Value);

impl<'a> FromSql<'a> for Json {
    fn from_sql(
        ty: &Type,
        raw: &'a [u8],
    ) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        use serde_json::Value;
        let v = match *ty {
            Type::BOOL => Value::from(i64::from(bool::from_sql(ty, raw)?)),
            Type::INT2 => Value::from(i16::from_sql(ty, raw)?),
            Type::INT4 => Value::from(i32::from_sql(ty, raw)?),
            Type::INT8 => Value::from(i64::from_sql(ty, raw)?),
            Type::OID => Value::from(u32::from_sql(ty, raw)?),
            Type::FLOAT4 => float(f64::from(f32::from_sql(ty, raw)?)),
            Type::FLOAT8 => float(f64::from_sql(ty, raw)?),
            Type::NUMERIC => numeric(raw),
            Type::JSONB => Value::from(String::from_utf8_lossy(raw.get(1..).unwrap_or_default())),
            Type::BYTEA => Value::from(format!("<{} bytes>", raw.len())),
            Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::JSON | Type::UNKNOWN => {
                Value::from(String::from_utf8_lossy(raw).into_owned())
            }
            Type::TIMESTAMP | Type::TIMESTAMPTZ => {
                let micros = i64::from_sql(&Type::INT8, raw)?;
                let base = chrono::DateTime::from_timestamp(946_684_800, 0).unwrap_or_default();
                let t = base + chrono::Duration::microseconds(micros);
                Value::from(t.format("%Y-%m-%d %H:%M:%S").to_string())
            }
            Type::DATE => {
                let days = i32::from_sql(&Type::INT4, raw)?;
                let base = chrono::NaiveDate::from_ymd_opt(2000, 1, 1).unwrap_or_default();
                Value::from((base + chrono::Duration::days(i64::from(days))).to_string())
            }
            _ => Value::from(format!("<{ty}>")),
        };
        Ok(Json(v))
    }

    fn from_sql_null(_: &Type) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Json(serde_json::Value::Null))
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

fn float(f: f64) -> serde_json::Value {
    serde_json::Number::from_f64(f)
        .map(serde_json::Value::Number)
        .unwrap_or(serde_json::Value::Null)
}

/// A NUMERIC in PostgreSQL's binary form: an integer when it has no fraction (as SQLite's
/// `SUM` of integers is), else a float.
fn numeric(raw: &[u8]) -> serde_json::Value {
    let word = |i: usize| -> i64 {
        raw.get(i..i + 2)
            .map_or(0, |b| i64::from(i16::from_be_bytes([b[0], b[1]])))
    };
    let (ndigits, weight, sign, dscale) = (word(0), word(2), word(4), word(6));
    if sign == 0xC000_u16 as i16 as i64 {
        return serde_json::Value::Null;
    }
    let mut value = 0f64;
    for d in 0..ndigits {
        let digit = word(8 + 2 * d as usize) as f64;
        value += digit * 10_000f64.powi((weight - d) as i32);
    }
    if sign == 0x4000 {
        value = -value;
    }
    if dscale == 0 && value.abs() < 9.0e15 {
        serde_json::Value::from(value as i64)
    } else {
        float(value)
    }
}

/// The store's error for a failed sandbox statement.
fn refused(e: &tokio_postgres::Error, timeout: Duration) -> StoreError {
    match e.code() {
        Some(c) if *c == SqlState::QUERY_CANCELED => StoreError::QueryTimeout {
            secs: timeout.as_secs_f64(),
        },
        Some(c) if *c == SqlState::INSUFFICIENT_PRIVILEGE => StoreError::QueryRefused(format!(
            "not authorized: queries may only read the documented views (see docs/query.md); \
             writes and internal tables are refused ({})",
            message(e)
        )),
        Some(_) => StoreError::QueryRefused(message(e)),
        None => StoreError::Backend {
            context: "query",
            message: message(e),
        },
    }
}

/// Most prepared statements one sandbox connection keeps. Rules are a few dozen statements
/// run after every sync of every account; beyond this (ad-hoc queries), the cache starts over.
const STATEMENT_CACHE: usize = 64;

/// `SET LOCAL` statements for a sandbox transaction, ending with `SELECT pg_backend_pid()`
/// so that one round trip both configures the session and names it for `sandbox_scope`.
fn session_settings(scoped: bool) -> String {
    // A query confined to one account reads a few thousand rows: starting parallel workers
    // cost it more than they saved (a rule over 2,000 of 1,000,000 users: 73 ms with them,
    // 27-40 ms without).
    let parallel = if scoped {
        "SET LOCAL max_parallel_workers_per_gather = 0;"
    } else {
        ""
    };
    // (JIT is off for every lpgate connection, the sandbox's included: see `open`.)
    // Custom plans only: statements are prepared once per connection (see `run`), and after
    // five runs PostgreSQL would switch to a generic plan, in which a rule's
    // `datetime(:now, '-90 days')` is no longer a constant but a function call per row
    // (`inactive-user` took three times as long).
    format!(
        "SET TRANSACTION READ ONLY;
         SET LOCAL search_path = lpgate_views, pg_catalog;
         SET LOCAL plan_cache_mode = force_custom_plan;
         {parallel}
         SELECT pg_backend_pid()"
    )
}

/// A query that is not a read is refused before it reaches the database.
fn check_read(sql: &str) -> StoreResult<()> {
    let keyword = first_keyword(sql);
    if matches!(keyword.as_str(), "SELECT" | "WITH" | "VALUES" | "TABLE") {
        Ok(())
    } else {
        Err(StoreError::QueryRefused(
            "not authorized: only read-only statements (SELECT, WITH … SELECT) over the \
             documented views (see docs/query.md) are allowed"
                .into(),
        ))
    }
}

impl PostgresStore {
    /// Runs queries one after another in one sandbox transaction, stopping at the first that
    /// fails (see `Store::query_all`). Queries for different scopes run one session each.
    pub(crate) async fn sandboxed_all(
        &self,
        reqs: Vec<QueryRequest>,
    ) -> StoreResult<Vec<StoreResult<QueryResult>>> {
        let ctx = "query";
        // Statements are checked before any session is made: the run stops at the first
        // refused one, which answers in its place, and one refused first makes no session
        // or scope row at all.
        let refused = reqs
            .iter()
            .enumerate()
            .find_map(|(i, r)| check_read(&r.sql).err().map(|e| (i, e)));
        let (runnable, refusal) = match refused {
            Some((i, e)) => (&reqs[..i], Some(e)),
            None => (&reqs[..], None),
        };
        let Some(first) = runnable.first() else {
            return Ok(refusal.map(Err).into_iter().collect());
        };
        let scope = first.account;
        if runnable.iter().any(|r| r.account != scope) {
            let mut out = Vec::with_capacity(reqs.len());
            for req in runnable {
                let answers = Box::pin(self.sandboxed_all(vec![req.clone()])).await?;
                let failed = answers.iter().any(Result::is_err);
                out.extend(answers);
                if failed {
                    return Ok(out);
                }
            }
            out.extend(refusal.map(Err));
            return Ok(out);
        }
        let mut conn = self
            .inner
            .sandbox
            .get()
            .await
            .map_err(|e| StoreError::Backend {
                context: ctx,
                message: format!("cannot open a query-sandbox connection: {e}"),
            })?;
        let tx = conn.transaction().await.map_err(backend(ctx))?;
        let pid = backend_pid(
            &tx.simple_query(&session_settings(scope.is_some()))
                .await
                .map_err(backend(ctx))?,
        )?;
        // Under READ COMMITTED each statement below sees this scope, recorded after the
        // transaction began.
        self.conn(ctx)
            .await?
            .execute(
                "INSERT INTO sandbox_scope (pid, all_accounts, account_id) VALUES ($1, $2, $3)
                 ON CONFLICT (pid) DO UPDATE SET all_accounts = excluded.all_accounts,
                    account_id = excluded.account_id",
                &[&pid, &scope.is_none(), &scope.map(|a| a.0)],
            )
            .await
            .map_err(backend(ctx))?;
        let mut out = Vec::with_capacity(reqs.len());
        let mut timeout_set = None;
        for req in runnable {
            let result = async {
                if timeout_set != Some(req.limits.timeout) {
                    let ms = req.limits.timeout.as_millis().clamp(1, i32::MAX as u128);
                    tx.batch_execute(&format!("SET LOCAL statement_timeout = {ms}"))
                        .await
                        .map_err(backend(ctx))?;
                    timeout_set = Some(req.limits.timeout);
                }
                run(&tx, req).await
            }
            .await;
            let failed = result.is_err();
            out.push(result);
            if failed {
                break;
            }
        }
        let _ = tx.rollback().await;
        if !out.last().is_some_and(Result::is_err) {
            out.extend(refusal.map(Err));
        }
        Ok(out)
    }
}

/// The backend pid that `session_settings`' last statement returned.
fn backend_pid(messages: &[tokio_postgres::SimpleQueryMessage]) -> StoreResult<i32> {
    messages
        .iter()
        .find_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(r) => r.get(0)?.parse().ok(),
            _ => None,
        })
        .ok_or_else(|| StoreError::Backend {
            context: "query",
            message: "the sandbox session did not report its backend pid".into(),
        })
}

async fn run(
    tx: &deadpool_postgres::Transaction<'_>,
    req: &QueryRequest,
) -> StoreResult<QueryResult> {
    let timeout = req.limits.timeout;
    let (sql, names) = number_params(&req.sql);
    // Prepared once per connection: an account's rules run after every sync, and parsing
    // and analysing their view-heavy SQL each time was a good part of their cost.
    if tx.statement_cache.size() >= STATEMENT_CACHE {
        tx.statement_cache.clear();
    }
    let stmt = tx
        .prepare_cached(&sql)
        .await
        .map_err(|e| refused(&e, timeout))?;
    let result = fetch(tx, req, &stmt, &names).await;
    if result.is_err() {
        // A statement whose plan no longer fits (a view replaced by a newer lpgate) is
        // prepared again next time.
        tx.statement_cache.remove(&sql, &[]);
    }
    result
}

async fn fetch(
    tx: &deadpool_postgres::Transaction<'_>,
    req: &QueryRequest,
    stmt: &tokio_postgres::Statement,
    names: &[String],
) -> StoreResult<QueryResult> {
    use futures_util::StreamExt;
    let timeout = req.limits.timeout;
    let mut args: Vec<Box<dyn ToSql + Sync + Send>> = Vec::with_capacity(names.len());
    for (name, ty) in names.iter().zip(stmt.params()) {
        let Some((_, value)) = req.params.iter().find(|(p, _)| p == name) else {
            return Err(StoreError::QueryRefused(format!(
                "the query uses parameter :{name}, which has no value"
            )));
        };
        args.push(to_param(name, ty, value)?);
    }
    let columns: Vec<String> = stmt
        .columns()
        .iter()
        .map(|c| c.name().to_string())
        .collect();
    let width = columns.len();
    let params = args.iter().map(|b| b.as_ref() as &(dyn ToSql + Sync));
    let stream = tx
        .query_raw(stmt, params)
        .await
        .map_err(|e| refused(&e, timeout))?;
    let mut stream = std::pin::pin!(stream);
    let mut rows = Vec::new();
    let mut truncated = false;
    while let Some(row) = stream.next().await {
        let row = row.map_err(|e| refused(&e, timeout))?;
        if rows.len() == req.limits.max_rows {
            truncated = true;
            break;
        }
        let mut values = Vec::with_capacity(width);
        for i in 0..width {
            let v: Json = row.try_get(i).map_err(|e| refused(&e, timeout))?;
            values.push(v.0);
        }
        rows.push(values);
    }
    Ok(QueryResult {
        columns,
        rows,
        truncated,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_parameters_become_numbered_outside_literals() {
        let (sql, names) = number_params(
            "SELECT ':x', \"a:b\", c::text FROM t -- :no\nWHERE a < :now AND b = :n_2 OR c = :now /* :z */",
        );
        assert_eq!(
            sql,
            "SELECT ':x', \"a:b\", c::text FROM t -- :no\nWHERE a < $1 AND b = $2 OR c = $1 /* :z */"
        );
        assert_eq!(names, vec!["now".to_string(), "n_2".to_string()]);
    }

    #[test]
    fn only_reads_pass_the_first_keyword_check() {
        assert_eq!(first_keyword("  -- c\n /* x */ select 1"), "SELECT");
        assert_eq!(
            first_keyword("(WITH a AS (SELECT 1) SELECT * FROM a)"),
            "WITH"
        );
        assert_eq!(first_keyword("reset role"), "RESET");
    }
}
