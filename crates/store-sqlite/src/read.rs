//! Listing queries behind `lpgate users`, `groups`, `folders`, `changes`, `events`.

use lpgate_store::{ChangeRow, EventRow, FolderRow, GroupRow, StoreResult, UserQuery, UserRow};
use rusqlite::{Connection, params};

use crate::backend;
use crate::rows::{parse_local, parse_utc, secs_to_utc, utc};
use crate::sync::group_id;

pub fn users(conn: &Connection, q: &UserQuery) -> StoreResult<Vec<UserRow>> {
    let ctx = "list users";
    // Now: the current rows. As of an instant: the version valid then, current or past.
    let source = match q.as_of {
        None => "SELECT account_id, email, lastpass_id, fullname, status, admin, last_login_at, multifactor,
                        mp_strength, total_score, password_reset_required,
                        (SELECT json_group_array(group_name) FROM memberships m WHERE m.user_id = users.id) AS groups_json,
                        last_seen
                 FROM users"
            .to_string(),
        Some(_) => "SELECT account_id, email, lastpass_id, fullname, status, admin, last_login_at, multifactor,
                        mp_strength, total_score, password_reset_required,
                        (SELECT json_group_array(group_name) FROM memberships m WHERE m.user_id = users.id) AS groups_json,
                        NULL AS last_seen
                 FROM users WHERE valid_from <= ?5
                 UNION ALL
                 SELECT account_id, email, lastpass_id, fullname, status, admin, last_login_at, multifactor,
                        mp_strength, total_score, password_reset_required, groups_json, valid_to AS last_seen
                 FROM users_history WHERE valid_from <= ?5 AND valid_to > ?5"
            .to_string(),
    };
    let sql = format!(
        "SELECT f.id AS id, a.name AS account, u.email, u.lastpass_id, u.fullname, u.status, u.admin, u.last_login_at,
                u.multifactor, u.mp_strength, u.total_score, u.password_reset_required, u.groups_json,
                f.first_seen, COALESCE(u.last_seen, a.last_synced_at, f.first_seen) AS last_seen
         FROM ({source}) u
         JOIN accounts a ON a.id = u.account_id
         JOIN users f ON f.account_id = u.account_id AND f.email = u.email
         WHERE (?1 IS NULL OR a.name = ?1)
           AND (?2 IS NULL OR u.status = ?2)
           AND (?3 = 0 OR u.admin = 1)
           AND (?4 IS NULL OR EXISTS (SELECT 1 FROM json_each(u.groups_json) WHERE value = ?4))
         ORDER BY a.name, u.email"
    );
    let mut stmt = conn.prepare(&sql).map_err(backend(ctx))?;
    let as_of = q.as_of.map(utc);
    let status = q.status.as_deref().map(str::to_ascii_lowercase);
    let rows = if as_of.is_some() {
        stmt.query_map(
            params![q.account, status, q.admin_only, q.group, as_of],
            user_from_row,
        )
    } else {
        stmt.query_map(
            params![q.account, status, q.admin_only, q.group],
            user_from_row,
        )
    }
    .map_err(backend(ctx))?
    .collect::<Result<Vec<_>, _>>()
    .map_err(backend(ctx))?;
    Ok(rows)
}

/// Maps a row with the columns of [`users`]' outer SELECT.
/// The columns [`user_from_row`] reads, in this order: every query it maps must select exactly
/// these (read by position: looking each column up by name cost more than the read itself).
#[cfg(test)]
pub const USER_ROW_COLUMNS: [&str; 15] = [
    "id",
    "account",
    "email",
    "lastpass_id",
    "fullname",
    "status",
    "admin",
    "last_login_at",
    "multifactor",
    "mp_strength",
    "total_score",
    "password_reset_required",
    "groups_json",
    "first_seen",
    "last_seen",
];

pub fn user_from_row(r: &rusqlite::Row) -> rusqlite::Result<UserRow> {
    let admin: bool = r.get(6)?;
    let groups: String = r.get(12)?;
    let first_seen: String = r.get(13)?;
    let last_seen: String = r.get(14)?;
    Ok(UserRow {
        id: r.get(0)?,
        account: r.get(1)?,
        email: r.get(2)?,
        lastpass_id: r.get(3)?,
        fullname: r.get(4)?,
        status: r.get(5)?,
        role: if admin { "admin" } else { "user" }.to_string(),
        last_login: r.get::<_, Option<i64>>(7)?.map(secs_to_utc).transpose()?,
        multifactor: r.get(8)?,
        mp_strength: r.get(9)?,
        total_score: r.get(10)?,
        password_reset_required: r.get(11)?,
        groups: {
            let mut g: Vec<String> = serde_json::from_str(&groups).unwrap_or_default();
            g.sort();
            g
        },
        first_seen: parse_utc(&first_seen)?,
        last_seen: parse_utc(&last_seen)?,
    })
}

pub fn groups(conn: &Connection, account: Option<&str>) -> StoreResult<Vec<GroupRow>> {
    let ctx = "list groups";
    let mut stmt = conn
        .prepare(
            "SELECT a.id AS account_id, a.name AS account, g.name, g.members
             FROM groups g JOIN accounts a ON a.id = g.account_id
             WHERE (?1 IS NULL OR a.name = ?1)
             ORDER BY a.name, g.name",
        )
        .map_err(backend(ctx))?;
    stmt.query_map([account], |r| {
        let name: String = r.get("name")?;
        Ok(GroupRow {
            account: r.get("account")?,
            id: group_id(lpgate_store::AccountId(r.get("account_id")?), &name),
            name,
            members: r.get("members")?,
        })
    })
    .map_err(backend(ctx))?
    .collect::<Result<Vec<_>, _>>()
    .map_err(backend(ctx))
}

pub fn folders(conn: &Connection, account: Option<&str>) -> StoreResult<Vec<FolderRow>> {
    let ctx = "list folders";
    let mut stmt = conn
        .prepare(
            "SELECT a.name AS account, f.id, f.name, f.deleted, f.score, f.members,
                    f.administrators
             FROM folders f JOIN accounts a ON a.id = f.account_id
             WHERE (?1 IS NULL OR a.name = ?1)
             ORDER BY a.name, f.name, f.id",
        )
        .map_err(backend(ctx))?;
    stmt.query_map([account], |r| {
        Ok(FolderRow {
            account: r.get("account")?,
            id: r.get("id")?,
            name: r.get("name")?,
            deleted: r.get("deleted")?,
            score: r.get("score")?,
            members: r.get("members")?,
            administrators: r.get("administrators")?,
        })
    })
    .map_err(backend(ctx))?
    .collect::<Result<Vec<_>, _>>()
    .map_err(backend(ctx))
}

pub fn changes(
    conn: &Connection,
    account: Option<&str>,
    since: Option<String>,
    kind: Option<&str>,
    before: Option<i64>,
    limit: usize,
) -> StoreResult<Vec<ChangeRow>> {
    let ctx = "list changes";
    let mut stmt = conn
        .prepare(
            "SELECT c.id, a.name AS account, c.at, c.run_id, c.kind, c.subject, c.related, c.before, c.after
             FROM changes c JOIN accounts a ON a.id = c.account_id
             WHERE (?1 IS NULL OR a.name = ?1) AND (?2 IS NULL OR c.at >= ?2) AND (?3 IS NULL OR c.kind = ?3)
               AND c.id < COALESCE(?5, 9223372036854775807)
             ORDER BY c.id DESC LIMIT ?4",
        )
        .map_err(backend(ctx))?;
    stmt.query_map(params![account, since, kind, limit as i64, before], |r| {
        Ok(ChangeRow {
            id: r.get("id")?,
            account: r.get("account")?,
            at: parse_utc(&r.get::<_, String>("at")?)?,
            run_id: r.get("run_id")?,
            kind: r.get("kind")?,
            subject: r.get("subject")?,
            related: r.get("related")?,
            before: r.get("before")?,
            after: r.get("after")?,
        })
    })
    .map_err(backend(ctx))?
    .collect::<Result<Vec<_>, _>>()
    .map_err(backend(ctx))
}

pub fn events(
    conn: &Connection,
    account: Option<&str>,
    since: Option<String>,
    before: Option<(String, i64)>,
    limit: usize,
) -> StoreResult<Vec<EventRow>> {
    let ctx = "list events";
    // Only the filters given are in the statement, so SQLite walks `events_by_time` (one
    // account) or `events_by_recent` (all) backwards from the cursor and stops at `limit`
    // instead of sorting every event (the `?N IS NULL OR` form defeated both indexes).
    let mut sql = String::from(
        "SELECT e.id, a.name AS account, e.time_at, e.time_local, e.username, e.ip_address, e.action, e.data
         FROM events e JOIN accounts a ON a.id = e.account_id WHERE 1",
    );
    if account.is_some() {
        sql.push_str(" AND e.account_id = (SELECT id FROM accounts WHERE name = ?1)");
    }
    if since.is_some() {
        sql.push_str(" AND e.time_at >= ?2");
    }
    if before.is_some() {
        sql.push_str(" AND e.time_at <= ?4 AND (e.time_at < ?4 OR e.id < ?5)");
    }
    sql.push_str(" ORDER BY e.time_at DESC, e.id DESC LIMIT ?3");
    let mut stmt = conn.prepare_cached(&sql).map_err(backend(ctx))?;
    let (before_time, before_id) = before.unzip();
    let values: [&dyn rusqlite::ToSql; 5] =
        [&account, &since, &(limit as i64), &before_time, &before_id];
    let used: Vec<(&str, &dyn rusqlite::ToSql)> = ["?1", "?2", "?3", "?4", "?5"]
        .into_iter()
        .zip(values)
        .filter(|(name, _)| sql.contains(name))
        .collect();
    stmt.query_map(used.as_slice(), |r| {
        Ok(EventRow {
            id: r.get("id")?,
            account: r.get("account")?,
            time: parse_utc(&r.get::<_, String>("time_at")?)?,
            time_local: parse_local(&r.get::<_, String>("time_local")?)?,
            username: r.get("username")?,
            ip_address: r.get("ip_address")?,
            action: r.get("action")?,
            data: r.get("data")?,
        })
    })
    .map_err(backend(ctx))?
    .collect::<Result<Vec<_>, _>>()
    .map_err(backend(ctx))
}
