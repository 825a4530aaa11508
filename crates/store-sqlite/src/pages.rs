//! Keyset pages of current users for the REST API, and one user by row id.
//!
//! A page walks accounts in name order and, inside each, users along their (account, email)
//! index from the cursor on, so every page — the first or the thousandth — is a short index
//! range that stops after `limit` rows, never a scan and sort of the whole table.

use std::sync::LazyLock;

use lpgate_store::{StoreError, StoreResult, UserKey, UserPageQuery, UserRow};
use rusqlite::{Connection, OptionalExtension, params};

use crate::backend;
use crate::read::user_from_row;

/// The columns [`user_from_row`] reads, from one user joined to its account.
const SELECT: &str = "SELECT u.id AS id, a.name AS account, u.email, u.lastpass_id, u.fullname, u.status,
        u.admin, u.last_login_at, u.multifactor, u.mp_strength, u.total_score,
        u.password_reset_required,
        (SELECT json_group_array(group_name) FROM memberships m WHERE m.user_id = u.id) AS groups_json,
        u.first_seen, COALESCE(u.last_seen, a.last_synced_at, u.first_seen) AS last_seen
     FROM users u JOIN accounts a ON a.id = u.account_id";

/// The filters every page applies, numbered from ?3 (?1 is the account id, ?2 the limit).
const FILTERS: &str = "(?3 IS NULL OR u.status = ?3)
           AND (?4 IS NULL OR u.admin = ?4)
           AND (?5 IS NULL OR EXISTS (SELECT 1 FROM memberships m WHERE m.user_id = u.id AND m.group_name = ?5))
           AND (?6 IS NULL OR instr(lower(u.email), lower(?6)) > 0 OR instr(lower(u.fullname), lower(?6)) > 0)
           AND (?7 IS NULL OR u.valid_from >= ?7)";

/// One account's users from its first email on (?8 is always NULL here: both statements take
/// the same parameters).
static FROM_START: LazyLock<String> = LazyLock::new(|| {
    format!(
        "{SELECT} WHERE u.account_id = ?1 AND ?8 IS NULL AND {FILTERS}
         ORDER BY u.email LIMIT ?2"
    )
});

/// One account's users after an email (?8, exclusive). A separate statement rather than
/// `?8 IS NULL OR …`, which would stop SQLite using the bound as an index range.
static AFTER_EMAIL: LazyLock<String> = LazyLock::new(|| {
    format!(
        "{SELECT} WHERE u.account_id = ?1 AND u.email > ?8 AND {FILTERS}
         ORDER BY u.email LIMIT ?2"
    )
});

/// The keys of one account's users from its first email on, and after an email: the same
/// WHERE as the two statements above, reading only the (account, email) index when no filter
/// needs the row.
static KEYS_FROM_START: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT u.id, a.name, u.email {KEYS_FROM} WHERE u.account_id = ?1 AND ?8 IS NULL AND {FILTERS}
         ORDER BY u.email LIMIT ?2"
    )
});
static KEYS_AFTER_EMAIL: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT u.id, a.name, u.email {KEYS_FROM} WHERE u.account_id = ?1 AND u.email > ?8 AND {FILTERS}
         ORDER BY u.email LIMIT ?2"
    )
});
const KEYS_FROM: &str = "FROM users u JOIN accounts a ON a.id = u.account_id";

/// One user by id.
static BY_ID: LazyLock<String> = LazyLock::new(|| format!("{SELECT} WHERE u.id = ?1"));

pub fn page(conn: &Connection, q: &UserPageQuery) -> StoreResult<Vec<UserRow>> {
    walk(conn, q, [&*FROM_START, &*AFTER_EMAIL], user_from_row)
}

pub fn keys(conn: &Connection, q: &UserPageQuery) -> StoreResult<Vec<UserKey>> {
    walk(conn, q, [&*KEYS_FROM_START, &*KEYS_AFTER_EMAIL], |r| {
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

/// One page: accounts in name order, then each account's users from the cursor on through
/// `statements` (from the start, after an email), until `limit` rows.
fn walk<T>(
    conn: &Connection,
    q: &UserPageQuery,
    statements: [&str; 2],
    map: impl Fn(&rusqlite::Row) -> rusqlite::Result<T>,
) -> StoreResult<Vec<T>> {
    let ctx = "page users";
    let (after_account, after_email) = match &q.after {
        Some((a, e)) => (Some(a.as_str()), Some(e.as_str())),
        None => (None, None),
    };
    let accounts = conn
        .prepare_cached(
            "SELECT id, name FROM accounts
             WHERE (?1 IS NULL OR name = ?1) AND (?2 IS NULL OR name >= ?2)
             ORDER BY name",
        )
        .and_then(|mut stmt| {
            stmt.query_map(params![q.account, after_account], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
            })?
            .collect::<Result<Vec<_>, _>>()
        })
        .map_err(backend(ctx))?;
    let status = q.status.as_deref().map(str::to_ascii_lowercase);
    let updated_since = q.updated_since.map(crate::rows::utc);
    let mut out = Vec::with_capacity(q.limit.min(1024));
    for (id, name) in accounts {
        let remaining = q.limit.saturating_sub(out.len());
        if remaining == 0 {
            break;
        }
        // The cursor's email bounds only the cursor's own account; later accounts start at
        // their first user.
        let after = after_email.filter(|_| after_account == Some(name.as_str()));
        let sql = if after.is_some() {
            statements[1]
        } else {
            statements[0]
        };
        let mut stmt = conn.prepare_cached(sql).map_err(backend(ctx))?;
        let rows = stmt
            .query_map(
                params![
                    id,
                    remaining as i64,
                    status,
                    q.admin,
                    q.group,
                    q.text,
                    updated_since,
                    after
                ],
                &map,
            )
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

    /// `user_from_row` reads by position: every query must select its columns in its order.
    #[test]
    fn queries_select_the_columns_user_from_row_reads() {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::schema::migrate(&mut conn).unwrap();
        for sql in [&*FROM_START, &*AFTER_EMAIL, &*BY_ID] {
            let stmt = conn.prepare(sql).unwrap();
            assert_eq!(stmt.column_names().collect::<Vec<_>>(), USER_ROW_COLUMNS);
        }
    }

    /// Every page is an index range on (account, email): no full scan, no sort.
    #[test]
    fn pages_use_the_account_email_index() {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::schema::migrate(&mut conn).unwrap();
        for sql in [
            &*FROM_START,
            &*AFTER_EMAIL,
            &*KEYS_FROM_START,
            &*KEYS_AFTER_EMAIL,
        ] {
            let plan: Vec<String> = conn
                .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
                .unwrap()
                .query_map(
                    params![
                        1,
                        10,
                        None::<String>,
                        None::<bool>,
                        None::<String>,
                        None::<String>,
                        None::<String>,
                        "x"
                    ],
                    |r| r.get::<_, String>(3),
                )
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            let plan = plan.join("\n");
            assert!(plan.contains("SEARCH u USING"), "{plan}");
            assert!(!plan.contains("SCAN u"), "{plan}");
            assert!(!plan.contains("TEMP B-TREE"), "{plan}");
        }
    }
}
