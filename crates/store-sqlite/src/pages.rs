//! Keyset pages of current users for the REST API, and one user by row id.

use lpgate_store::{StoreError, StoreResult, UserPageQuery, UserRow};
use rusqlite::{Connection, OptionalExtension, params};

use crate::backend;
use crate::read::user_from_row;

/// The outer SELECT shared by both queries: current rows only, with the columns
/// [`user_from_row`] reads. `CROSS JOIN` keeps accounts (few, scanned in name order) as the
/// outer loop, so users come from their (account, email) index already in page order and a
/// page stops after `limit` rows; left to itself the planner could scan and sort every user
/// (about 30 ms a page at 100,000 users).
const SELECT: &str = "SELECT u.id AS id, a.name AS account, u.email, u.lastpass_id, u.fullname, u.status,
        u.admin, u.last_login_at, u.multifactor, u.mp_strength, u.total_score,
        u.password_reset_required,
        (SELECT json_group_array(group_name) FROM memberships m WHERE m.user_id = u.id) AS groups_json,
        u.first_seen, COALESCE(u.last_seen, a.last_synced_at, u.first_seen) AS last_seen
     FROM accounts a CROSS JOIN users u ON u.account_id = a.id";

pub fn page(conn: &Connection, q: &UserPageQuery) -> StoreResult<Vec<UserRow>> {
    let ctx = "page users";
    let sql = format!(
        "{SELECT}
         WHERE (?1 IS NULL OR a.name = ?1)
           AND (?2 IS NULL OR u.status = ?2)
           AND (?3 IS NULL OR u.admin = ?3)
           AND (?4 IS NULL OR EXISTS (SELECT 1 FROM memberships m WHERE m.user_id = u.id AND m.group_name = ?4))
           AND (?5 IS NULL OR instr(lower(u.email), lower(?5)) > 0 OR instr(lower(u.fullname), lower(?5)) > 0)
           AND (?6 IS NULL OR (a.name, u.email) > (?6, ?7))
           AND (?9 IS NULL OR u.valid_from >= ?9)
         ORDER BY a.name, u.email
         LIMIT ?8"
    );
    let status = q.status.as_deref().map(str::to_ascii_lowercase);
    let (after_account, after_email) = match &q.after {
        Some((a, e)) => (Some(a.as_str()), Some(e.as_str())),
        None => (None, None),
    };
    let mut stmt = conn.prepare_cached(&sql).map_err(backend(ctx))?;
    stmt.query_map(
        params![
            q.account,
            status,
            q.admin,
            q.group,
            q.text,
            after_account,
            after_email,
            q.limit as i64,
            q.updated_since.map(crate::rows::utc)
        ],
        user_from_row,
    )
    .map_err(backend(ctx))?
    .collect::<Result<Vec<_>, _>>()
    .map_err(backend(ctx))
}

pub fn by_id(conn: &Connection, id: i64) -> StoreResult<UserRow> {
    // Cached: parsing this statement cost more than running it.
    conn.prepare_cached(&format!("{SELECT} WHERE u.id = ?1"))
        .and_then(|mut stmt| stmt.query_row([id], user_from_row).optional())
        .map_err(backend("read user"))?
        .ok_or_else(|| StoreError::NotFound {
            what: "user",
            name: id.to_string(),
        })
}
