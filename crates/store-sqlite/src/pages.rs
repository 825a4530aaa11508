//! Keyset pages of current users for the REST API, and one user by row id.
//!
//! A page walks accounts in name order and, inside each, users along their (account, email)
//! index from the cursor on, so every page — the first or the thousandth — is a short index
//! range that stops after `limit` rows, never a scan and sort of the whole table.

use std::sync::LazyLock;

use lpgate_store::{StoreError, StoreResult, UserKey, UserOrder, UserPageQuery, UserRow};
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, params_from_iter};

use crate::backend;
use crate::read::user_from_row;

/// The columns [`user_from_row`] reads, from one user joined to its account.
const SELECT: &str = "SELECT u.id AS id, a.name AS account, u.email, u.lastpass_id, u.fullname, u.status,
        u.admin, u.last_login_at, u.multifactor, u.mp_strength, u.total_score,
        u.password_reset_required,
        (SELECT json_group_array(group_name) FROM memberships m WHERE m.user_id = u.id) AS groups_json,
        u.first_seen, COALESCE(u.last_seen, a.last_synced_at, u.first_seen) AS last_seen
     FROM users u JOIN accounts a ON a.id = u.account_id";

/// What a page selects: whole rows or only keys.
#[derive(Clone, Copy)]
enum Columns {
    Rows,
    Keys,
}

/// The statement for one account's slice of a page, with only the conditions the query uses
/// (no `?N IS NULL OR …`: SQLite re-prepares a statement on every run when a bound value can
/// change its plan, and cannot use an optional bound as an index range). Parameters in order:
/// account id, then the cursor email, status, admin, group, text (twice), updated_since, the
/// free-text expression of those present, then the limit. Each combination's text is cached by the connection.
fn slice_sql(columns: Columns, q: &UserPageQuery, after: bool, dense: bool) -> String {
    let mut sql = String::with_capacity(1024);
    sql.push_str(match columns {
        Columns::Rows => SELECT,
        Columns::Keys => {
            "SELECT u.id, a.name, u.email FROM users u JOIN accounts a ON a.id = u.account_id"
        }
    });
    sql.push_str(" WHERE u.account_id = ?");
    if after {
        sql.push_str(" AND u.email > ?");
    }
    push_filters(&mut sql, q);
    if q.words.is_some() && !dense {
        // Few hits: driven by them (the unary `+` keeps SQLite from walking the account's
        // email index and probing each user instead), then sorted; the keyset bound still
        // applies. Many hits (see `DENSE_HITS`): walking the email index and probing the
        // hits stops after `limit` matches, sooner than sorting thousands of hits.
        sql = sql.replacen("u.account_id = ?", "+u.account_id = ?", 1);
    }
    sql.push_str(" ORDER BY u.email LIMIT ?");
    sql
}

/// The sorted statement of a page in another order than the keyset's: every account (or
/// the one named), the filters, sorted, `LIMIT ? OFFSET ?`. Parameters: the account name
/// when filtered, the filters as in [`slice_sql`], the limit, the offset. `indexed`: every
/// user is in the sort indexes (see [`sort_indexes_complete`]); otherwise all are sorted.
fn sorted_sql(
    columns: Columns,
    q: &UserPageQuery,
    (order, descending): (UserOrder, bool),
    indexed: bool,
) -> String {
    let mut sql = String::with_capacity(1024);
    sql.push_str(match columns {
        Columns::Rows => SELECT,
        Columns::Keys => {
            "SELECT u.id, a.name, u.email FROM users u JOIN accounts a ON a.id = u.account_id"
        }
    });
    sql.push_str(" WHERE 1");
    if q.account.is_some() {
        sql.push_str(" AND u.account_id = (SELECT id FROM accounts WHERE name = ?)");
    }
    push_filters(&mut sql, q);
    // Each key has its index: SQLite reads along it and sorts only users with equal keys by
    // the tie-break. Named (`INDEXED BY`) unless a selective filter leaves few users to sort:
    // without statistics SQLite 3.54 prefers scanning the (account, email) index and sorting
    // all 100,000 users (330 ms against 2 ms).
    let (key, index) = match order {
        UserOrder::Name => ("u.fullname COLLATE NOCASE", "users_by_name"),
        UserOrder::LastLogin => ("u.last_login_at", "users_by_last_login"),
    };
    if !indexed {
        // A first snapshot's users are not in the indexes yet: sort them all.
    } else if q.words.is_none() && q.text.is_none() && q.group.is_none() {
        // The indexes are partial (`sorted = 1`): the condition lets SQLite use them.
        sql.push_str(" AND u.sorted = 1");
        sql = sql.replacen(
            "FROM users u ",
            &format!("FROM users u INDEXED BY {index} "),
            1,
        );
    }
    let dir = if descending { " DESC" } else { "" };
    sql.push_str(&format!(
        " ORDER BY {key}{dir}, a.name{dir}, u.email{dir} LIMIT ? OFFSET ?"
    ));
    sql
}

/// The filters' conditions (all but account and cursor), in the order their values bind.
fn push_filters(sql: &mut String, q: &UserPageQuery) {
    if q.status.is_some() {
        sql.push_str(" AND u.status = ?");
    }
    if q.admin.is_some() {
        sql.push_str(" AND u.admin = ?");
    }
    if q.group.is_some() {
        sql.push_str(
            " AND EXISTS (SELECT 1 FROM memberships m WHERE m.user_id = u.id AND m.group_name = ?)",
        );
    }
    if q.text.is_some() {
        // The text is bound twice, once for each column.
        sql.push_str(
            " AND (instr(lower(u.email), lower(?)) > 0 OR instr(lower(u.fullname), lower(?)) > 0)",
        );
    }
    if q.updated_since.is_some() {
        sql.push_str(" AND u.valid_from >= ?");
    }
    if q.words.is_some() {
        sql.push_str(
            " AND u.id IN (SELECT rowid / 4 FROM search WHERE search MATCH ? AND rowid % 4 = 1)",
        );
    }
}

/// One user by id.
static BY_ID: LazyLock<String> = LazyLock::new(|| format!("{SELECT} WHERE u.id = ?1"));

pub fn page(conn: &Connection, q: &UserPageQuery) -> StoreResult<Vec<UserRow>> {
    walk(conn, q, Columns::Rows, user_from_row)
}

pub fn keys(conn: &Connection, q: &UserPageQuery) -> StoreResult<Vec<UserKey>> {
    walk(conn, q, Columns::Keys, |r| {
        Ok(UserKey {
            id: r.get(0)?,
            account: r.get(1)?,
            email: r.get(2)?,
        })
    })
}

/// The current users with these ids, in that order, absent ones left out.
pub fn by_ids(conn: &Connection, ids: &[i64]) -> StoreResult<Vec<UserRow>> {
    let mut stmt = conn.prepare_cached(&BY_ID).map_err(backend("read users"))?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(u) = stmt
            .query_row([id], user_from_row)
            .optional()
            .map_err(backend("read users"))?
        {
            out.push(u);
        }
    }
    Ok(out)
}

/// The values of [`push_filters`]' conditions, in order; `None` when the free-text filter
/// has no word (it matches no one).
fn filter_values(q: &UserPageQuery) -> Option<Vec<Value>> {
    let mut values = Vec::new();
    values.extend(
        q.status
            .as_deref()
            .map(|s| Value::Text(s.to_ascii_lowercase())),
    );
    values.extend(q.admin.map(|a| Value::Integer(a.into())));
    values.extend(q.group.clone().map(Value::Text));
    if let Some(text) = &q.text {
        values.extend([Value::Text(text.clone()), Value::Text(text.clone())]);
    }
    values.extend(q.updated_since.map(|t| Value::Text(crate::rows::utc(t))));
    if let Some(words) = &q.words {
        values.push(Value::Text(crate::search::match_expression(words)?));
    }
    Some(values)
}

/// Whether every user is in the sort indexes: no account's first snapshot is waiting for the
/// step after it that enters its users (see migration 12), which runs a second or two.
fn sort_indexes_complete(conn: &Connection) -> rusqlite::Result<bool> {
    conn.prepare_cached(
        "SELECT NOT EXISTS (SELECT 1 FROM accounts WHERE has_snapshot = 1 AND search_ready = 0)",
    )?
    .query_row([], |r| r.get(0))
}

/// A page in another order than the keyset's (see [`sorted_sql`]).
fn sorted<T>(
    conn: &Connection,
    q: &UserPageQuery,
    columns: Columns,
    (order, descending): (UserOrder, bool),
    map: impl Fn(&rusqlite::Row) -> rusqlite::Result<T>,
) -> StoreResult<Vec<T>> {
    let ctx = "page users";
    let Some(filters) = filter_values(q) else {
        return Ok(Vec::new());
    };
    let mut values: Vec<Value> = q.account.clone().map(Value::Text).into_iter().collect();
    values.extend(filters);
    values.push(Value::Integer(q.limit as i64));
    values.push(Value::Integer(q.offset as i64));
    let indexed = sort_indexes_complete(conn).map_err(backend(ctx))?;
    let mut stmt = conn
        .prepare_cached(&sorted_sql(columns, q, (order, descending), indexed))
        .map_err(backend(ctx))?;
    let rows = stmt
        .query_map(params_from_iter(values), &map)
        .map_err(backend(ctx))?;
    rows.collect::<Result<Vec<_>, _>>().map_err(backend(ctx))
}

/// From this many free-text hits on, a page walks the email index and probes the hits
/// instead of sorting them. Walking finds `limit` matches after about `limit × users / hits`
/// rows, sorting costs about `hits`: they cross near √(limit × users), ≈ 2,300 for pages of 50
/// over 100,000 users (measured: a one-letter prefix, 20,000 hits, 25 ms sorted and 5–9 ms
/// walked; a rare name the other way round).
const DENSE_HITS: i64 = 2_000;

/// How many users the free-text expression matches, in all accounts.
fn word_hits(conn: &Connection, expr: &str) -> rusqlite::Result<i64> {
    conn.prepare_cached("SELECT count(*) FROM search WHERE search MATCH ?1 AND rowid % 4 = 1")?
        .query_row([expr], |r| r.get(0))
}

/// One page: accounts in name order, then each account's users from the cursor on, until
/// `limit` rows (or, with another order, [`sorted`]).
fn walk<T>(
    conn: &Connection,
    q: &UserPageQuery,
    columns: Columns,
    map: impl Fn(&rusqlite::Row) -> rusqlite::Result<T>,
) -> StoreResult<Vec<T>> {
    let ctx = "page users";
    if let Some(order) = q.sort {
        return sorted(conn, q, columns, order, map);
    }
    let (after_account, after_email) = match &q.after {
        Some((a, e)) => (Some(a.as_str()), Some(e.as_str())),
        None => (None, None),
    };
    let accounts = {
        let (sql, bound): (&str, Option<&str>) = match (&q.account, after_account) {
            (Some(name), _) => ("SELECT id, name FROM accounts WHERE name = ?1", Some(name)),
            (None, Some(after)) => (
                "SELECT id, name FROM accounts WHERE name >= ?1 ORDER BY name",
                Some(after),
            ),
            (None, None) => (
                "SELECT id, name FROM accounts WHERE ?1 IS NULL ORDER BY name",
                None,
            ),
        };
        conn.prepare_cached(sql)
            .and_then(|mut stmt| {
                stmt.query_map([bound], |r| {
                    Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
                })?
                .collect::<Result<Vec<_>, _>>()
            })
            .map_err(backend(ctx))?
    };
    let Some(filters) = filter_values(q) else {
        return Ok(Vec::new());
    };
    let dense = match q.words.as_deref().and_then(crate::search::match_expression) {
        Some(expr) => word_hits(conn, &expr).map_err(backend(ctx))? >= DENSE_HITS,
        None => false,
    };
    let mut out = Vec::with_capacity(q.limit.min(1024));
    for (id, name) in accounts {
        let remaining = q.limit.saturating_sub(out.len());
        if remaining == 0 {
            break;
        }
        // The cursor's email bounds only the cursor's own account; later accounts start at
        // their first user (and one sorting before the cursor's is never listed).
        if after_account.is_some_and(|a| name.as_str() < a) {
            continue;
        }
        let after = after_email.filter(|_| after_account == Some(name.as_str()));
        let mut values: Vec<Value> = vec![Value::Integer(id)];
        values.extend(after.map(|e| Value::Text(e.to_string())));
        values.extend(filters.iter().cloned());
        values.push(Value::Integer(remaining as i64));
        let mut stmt = conn
            .prepare_cached(&slice_sql(columns, q, after.is_some(), dense))
            .map_err(backend(ctx))?;
        let rows = stmt
            .query_map(params_from_iter(values), &map)
            .map_err(backend(ctx))?;
        for row in rows {
            out.push(row.map_err(backend(ctx))?);
        }
    }
    Ok(out)
}

pub fn by_id(conn: &Connection, id: i64) -> StoreResult<UserRow> {
    // Cached: parsing this statement cost more than running it.
    conn.prepare_cached(&BY_ID)
        .and_then(|mut stmt| stmt.query_row([id], user_from_row).optional())
        .map_err(backend("read user"))?
        .ok_or_else(|| StoreError::NotFound {
            what: "user",
            name: id.to_string(),
        })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::read::USER_ROW_COLUMNS;
    use rusqlite::params;

    /// Every combination of filters, with and without a cursor.
    fn queries() -> Vec<(UserPageQuery, bool)> {
        let mut out = Vec::new();
        for mask in 0..64u32 {
            let q = UserPageQuery {
                status: (mask & 1 != 0).then(|| "active".to_string()),
                admin: (mask & 2 != 0).then_some(true),
                group: (mask & 4 != 0).then(|| "g".to_string()),
                text: (mask & 8 != 0).then(|| "x".to_string()),
                updated_since: (mask & 16 != 0).then(chrono::Utc::now),
                words: (mask & 32 != 0).then(|| "x".to_string()),
                ..UserPageQuery::default()
            };
            out.push((q.clone(), false));
            out.push((q, true));
        }
        out
    }

    /// `user_from_row` reads by position: every query must select its columns in its order.
    #[test]
    fn queries_select_the_columns_user_from_row_reads() {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::schema::migrate(&mut conn).unwrap();
        let mut statements = vec![BY_ID.to_string()];
        statements.extend(queries().iter().flat_map(|(q, after)| {
            [false, true].map(|dense| slice_sql(Columns::Rows, q, *after, dense))
        }));
        for (q, descending) in queries() {
            for order in UserOrder::ALL {
                for indexed in [true, false] {
                    statements.push(sorted_sql(Columns::Rows, &q, (order, descending), indexed));
                }
            }
        }
        for sql in statements {
            let stmt = conn.prepare(&sql).unwrap();
            assert_eq!(stmt.column_names().collect::<Vec<_>>(), USER_ROW_COLUMNS);
        }
    }

    /// Every combination binds exactly the parameters its statement has.
    #[test]
    fn every_filter_combination_runs() {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::schema::migrate(&mut conn).unwrap();
        conn.execute(
            "INSERT INTO accounts (name, cid, provhash_sealed, time_zone, sync_interval_secs, created_at)
             VALUES ('acme', 1, x'00', 'UTC', 900, '2026-01-01T00:00:00.000000Z')",
            [],
        )
        .unwrap();
        for (mut q, after) in queries() {
            q.limit = 10;
            if after {
                q.after = Some(("acme".into(), "m@x.io".into()));
            }
            assert!(page(&conn, &q).unwrap().is_empty());
            assert!(keys(&conn, &q).unwrap().is_empty());
            // The same filters sorted, for one account and for all.
            for account in [None, Some("acme".to_string())] {
                for order in UserOrder::ALL {
                    let q = UserPageQuery {
                        account: account.clone(),
                        sort: Some((order, after)),
                        offset: 3,
                        ..q.clone()
                    };
                    assert!(page(&conn, &q).unwrap().is_empty());
                    assert!(keys(&conn, &q).unwrap().is_empty());
                }
            }
        }
    }

    /// Every slice is an index range on (account, email): no full scan, no sort.
    #[test]
    fn sorted_pages_read_along_their_index() {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::schema::migrate(&mut conn).unwrap();
        for (order, index) in [
            (UserOrder::Name, "users_by_name"),
            (UserOrder::LastLogin, "users_by_last_login"),
        ] {
            for descending in [false, true] {
                let q = UserPageQuery::default();
                let sql = sorted_sql(Columns::Rows, &q, (order, descending), true);
                let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
                let mut rows = stmt.raw_query();
                let mut plan = String::new();
                while let Some(r) = rows.next().unwrap() {
                    plan.push_str(&r.get::<_, String>(3).unwrap());
                    plan.push('\n');
                }
                assert!(
                    plan.contains(&format!("SCAN u USING INDEX {index}")),
                    "{plan}"
                );
            }
        }
    }

    #[test]
    fn pages_use_the_account_email_index() {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::schema::migrate(&mut conn).unwrap();
        for (q, after) in queries() {
            for (columns, dense) in [
                (Columns::Rows, false),
                (Columns::Keys, false),
                (Columns::Rows, true),
                (Columns::Keys, true),
            ] {
                let sql = slice_sql(columns, &q, after, dense);
                // Parameters left unbound are NULL: enough to plan.
                let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
                let mut rows = stmt.raw_query();
                let mut plan = String::new();
                while let Some(r) = rows.next().unwrap() {
                    plan.push_str(&r.get::<_, String>(3).unwrap());
                    plan.push('\n');
                }
                assert!(!plan.contains("SCAN u"), "{plan}");
                if q.words.is_some() && !dense {
                    // Driven by the free-text hits: each a row-id lookup, then sorted.
                    assert!(
                        plan.contains("SEARCH u USING INTEGER PRIMARY KEY"),
                        "{sql}\n{plan}"
                    );
                } else {
                    assert!(plan.contains("SEARCH u USING"), "{sql}\n{plan}");
                    assert!(!plan.contains("TEMP B-TREE"), "{plan}");
                }
            }
        }
    }

    /// A first snapshot's users enter the sort indexes only in the step after it commits
    /// (migration 12); until then sorted pages sort them all, and list the same users.
    #[test]
    fn sorted_pages_list_a_first_snapshot_before_and_after_it_enters_the_sort_indexes() {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::schema::migrate(&mut conn).unwrap();
        conn.execute(
            "INSERT INTO accounts (id, name, cid, provhash_sealed, time_zone, sync_interval_secs,
                                   created_at, has_snapshot)
             VALUES (1, 'acme', 1, x'00', 'UTC', 900, '2026-01-01T00:00:00Z', 1)",
            [],
        )
        .unwrap();
        let people = [
            ("c@x.io", "carol Jones", Some(30)),
            ("a@x.io", "Bob Stone", None),
            ("d@x.io", "alice Wu", Some(10)),
            ("b@x.io", "Dan Ray", Some(20)),
            ("e@x.io", "Eve Park", None),
        ];
        for (email, name, login) in people {
            conn.execute(
                "INSERT INTO users (account_id, email, fullname, status, admin, disabled,
                                    never_logged_in, invited_only, password_reset_required,
                                    fingerprint, first_seen, valid_from, last_login_at, sorted)
                 VALUES (1, ?1, ?2, 'active', 0, 0, 0, 0, 0, 0, ?4, ?4, ?3, 0)",
                params![email, name, login, "2026-01-01T00:00:00.000000Z"],
            )
            .unwrap();
        }
        let read = |conn: &Connection| {
            let mut out = Vec::new();
            for order in UserOrder::ALL {
                for descending in [false, true] {
                    let q = UserPageQuery {
                        sort: Some((order, descending)),
                        limit: 10,
                        ..UserPageQuery::default()
                    };
                    let emails: Vec<String> = page(conn, &q)
                        .unwrap()
                        .into_iter()
                        .map(|u| u.email)
                        .collect();
                    out.push(emails);
                }
            }
            out
        };
        assert!(!sort_indexes_complete(&conn).unwrap());
        let before = read(&conn);
        let by_name = ["d@x.io", "a@x.io", "c@x.io", "b@x.io", "e@x.io"];
        let by_login = ["a@x.io", "e@x.io", "d@x.io", "b@x.io", "c@x.io"];
        let rev = |v: &[&str]| v.iter().rev().map(|s| s.to_string()).collect::<Vec<_>>();
        let fwd = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            before,
            vec![fwd(&by_name), rev(&by_name), fwd(&by_login), rev(&by_login)]
        );
        crate::search::ensure_ready(&mut conn, 1).unwrap();
        assert!(sort_indexes_complete(&conn).unwrap());
        let unsorted: i64 = conn
            .query_row("SELECT count(*) FROM users WHERE sorted = 0", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(unsorted, 0);
        assert_eq!(read(&conn), before);
        let in_index: i64 = conn
            .query_row(
                "SELECT count(*) FROM users INDEXED BY users_by_name WHERE sorted = 1",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(in_index, 5);
    }
}
