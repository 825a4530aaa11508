//! Listing queries behind `lpgate users`, `groups`, `folders`, `changes`, `events`, and the
//! REST API's keyset pages of users (one index range on (account name, email) from the
//! cursor on, the same rows and order as the SQLite store's per-account walk).

use lpgate_store::{
    ChangeRow, EventRow, FolderRow, GroupRow, StoreError, StoreResult, UserKey, UserOrder,
    UserPageQuery, UserQuery, UserRow,
};
use tokio_postgres::types::ToSql;
use tokio_postgres::{GenericClient, Row};

use crate::backend;
use crate::rows::{opt_secs, parse_local, parse_utc, utc};
use crate::sync::group_id;

/// A user's current groups as a text array, for a query over `users u`.
const GROUPS: &str = "(SELECT COALESCE(array_agg(m.group_name ORDER BY m.group_name), '{}')
      FROM memberships m WHERE m.user_id = u.id)";

/// Maps a row with the columns of [`user_select`].
pub fn user_from_row(r: &Row) -> StoreResult<UserRow> {
    let admin: bool = r.get("admin");
    let mut groups: Vec<String> = r.get("groups");
    groups.sort();
    Ok(UserRow {
        id: r.get("id"),
        account: r.get("account"),
        email: r.get("email"),
        lastpass_id: r.get("lastpass_id"),
        fullname: r.get("fullname"),
        status: r.get("status"),
        role: if admin { "admin" } else { "user" }.to_string(),
        last_login: opt_secs(r.get("last_login_at"))?,
        multifactor: r.get("multifactor"),
        mp_strength: r.get("mp_strength"),
        total_score: r.get("total_score"),
        password_reset_required: r.get("password_reset_required"),
        groups,
        first_seen: parse_utc(r.get("first_seen"))?,
        last_seen: parse_utc(r.get("last_seen"))?,
    })
}

/// The columns [`user_from_row`] reads, from one current user `u` joined to its account `a`.
fn user_select() -> String {
    format!(
        "SELECT u.id, a.name AS account, u.email, u.lastpass_id, u.fullname, u.status, u.admin,
                u.last_login_at, u.multifactor, u.mp_strength, u.total_score,
                u.password_reset_required, {GROUPS} AS groups, u.first_seen,
                COALESCE(u.last_seen, a.last_synced_at, u.first_seen) AS last_seen
         FROM users u JOIN accounts a ON a.id = u.account_id"
    )
}

pub async fn users<C: GenericClient>(c: &C, q: &UserQuery) -> StoreResult<Vec<UserRow>> {
    // Now: the current rows. As of an instant: the version valid then, current or past.
    let source = match q.as_of {
        None => format!(
            "SELECT u.account_id, u.email, u.lastpass_id, u.fullname, u.status, u.admin, u.last_login_at,
                    u.multifactor, u.mp_strength, u.total_score, u.password_reset_required,
                    {GROUPS} AS groups, u.last_seen
             FROM users u"
        ),
        Some(_) => format!(
            "SELECT u.account_id, u.email, u.lastpass_id, u.fullname, u.status, u.admin, u.last_login_at,
                    u.multifactor, u.mp_strength, u.total_score, u.password_reset_required,
                    {GROUPS} AS groups, NULL::text AS last_seen
             FROM users u WHERE u.valid_from <= $5
             UNION ALL
             SELECT h.account_id, h.email, h.lastpass_id, h.fullname, h.status, h.admin, h.last_login_at,
                    h.multifactor, h.mp_strength, h.total_score, h.password_reset_required,
                    ARRAY(SELECT json_array_elements_text(h.groups_json::json)) AS groups,
                    h.valid_to AS last_seen
             FROM users_history h WHERE h.valid_from <= $5 AND h.valid_to > $5"
        ),
    };
    let sql = format!(
        "SELECT f.id AS id, a.name AS account, u.email, u.lastpass_id, u.fullname, u.status, u.admin,
                u.last_login_at, u.multifactor, u.mp_strength, u.total_score,
                u.password_reset_required, u.groups, f.first_seen,
                COALESCE(u.last_seen, a.last_synced_at, f.first_seen) AS last_seen
         FROM ({source}) u
         JOIN accounts a ON a.id = u.account_id
         JOIN users f ON f.account_id = u.account_id AND f.email = u.email
         WHERE ($1::text IS NULL OR a.name = $1)
           AND ($2::text IS NULL OR u.status = $2)
           AND (NOT $3::bool OR u.admin)
           AND ($4::text IS NULL OR $4 = ANY(u.groups))
         ORDER BY a.name, u.email"
    );
    let status = q.status.as_deref().map(str::to_ascii_lowercase);
    let as_of = q.as_of.map(utc);
    let mut params: Vec<&(dyn ToSql + Sync)> = vec![&q.account, &status, &q.admin_only, &q.group];
    if as_of.is_some() {
        params.push(&as_of);
    }
    c.query(&sql, &params)
        .await
        .map_err(backend("list users"))?
        .iter()
        .map(user_from_row)
        .collect()
}

/// The `WHERE`, order and bounds of a page and its parameters (from `$1`): the keyset walk
/// along (account name, email) from the cursor, or, with `sort`, every match sorted (ties by
/// account and email, NULL last logins first, names compared ignoring ASCII case as SQLite's
/// NOCASE does) with `OFFSET`. `None` when the free-text filter has no word (it matches no
/// one, as in SQLite).
fn page_filter(q: &UserPageQuery) -> Option<(String, Vec<Box<dyn ToSql + Sync + Send>>)> {
    let mut sql = String::from("TRUE");
    let mut args: Vec<Box<dyn ToSql + Sync + Send>> = Vec::new();
    let mut arg = |sql: &mut String, fragment: &str, v: Box<dyn ToSql + Sync + Send>| {
        args.push(v);
        sql.push_str(&fragment.replace('?', &format!("${}", args.len())));
    };
    if let Some(a) = &q.account {
        arg(&mut sql, " AND a.name = ?", Box::new(a.clone()));
    }
    if q.sort.is_none()
        && let Some((a, e)) = &q.after
    {
        arg(&mut sql, " AND (a.name, u.email) > (?", Box::new(a.clone()));
        arg(&mut sql, ", ?)", Box::new(e.clone()));
    }
    if let Some(s) = &q.status {
        arg(
            &mut sql,
            " AND u.status = ?",
            Box::new(s.to_ascii_lowercase()),
        );
    }
    if let Some(admin) = q.admin {
        arg(&mut sql, " AND u.admin = ?", Box::new(admin));
    }
    if let Some(g) = &q.group {
        arg(
            &mut sql,
            " AND EXISTS (SELECT 1 FROM memberships m WHERE m.user_id = u.id AND m.group_name = ?)",
            Box::new(g.clone()),
        );
    }
    if let Some(t) = &q.text {
        arg(
            &mut sql,
            " AND (strpos(lower(u.email), lower(?)) > 0",
            Box::new(t.clone()),
        );
        arg(
            &mut sql,
            " OR strpos(lower(u.fullname), lower(?)) > 0)",
            Box::new(t.clone()),
        );
    }
    if let Some(since) = q.updated_since {
        arg(&mut sql, " AND u.valid_from >= ?", Box::new(utc(since)));
    }
    if let Some(words) = &q.words {
        let query = crate::search::tsquery(words)?;
        arg(
            &mut sql,
            " AND u.search @@ to_tsquery('simple', ?)",
            Box::new(query),
        );
    }
    match q.sort {
        None => arg(
            &mut sql,
            " ORDER BY a.name, u.email LIMIT ?",
            Box::new(q.limit as i64),
        ),
        Some((order, descending)) => {
            let key = match order {
                UserOrder::Name => {
                    "translate(u.fullname, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')"
                }
                UserOrder::LastLogin => "u.last_login_at",
            };
            // SQLite sorts NULL (never logged in) first when ascending, last when descending.
            let key_dir = if descending {
                " DESC NULLS LAST"
            } else {
                " ASC NULLS FIRST"
            };
            let tie_dir = if descending { " DESC" } else { "" };
            arg(
                &mut sql,
                &format!(" ORDER BY {key}{key_dir}, a.name{tie_dir}, u.email{tie_dir} LIMIT ?"),
                Box::new(q.limit as i64),
            );
            arg(&mut sql, " OFFSET ?", Box::new(q.offset as i64));
        }
    }
    Some((sql, args))
}

async fn page_rows<C: GenericClient>(
    c: &C,
    q: &UserPageQuery,
    select: &str,
) -> StoreResult<Vec<Row>> {
    let Some((filter, args)) = page_filter(q) else {
        return Ok(Vec::new());
    };
    let params: Vec<&(dyn ToSql + Sync)> = args
        .iter()
        .map(|b| b.as_ref() as &(dyn ToSql + Sync))
        .collect();
    c.query(&format!("{select} WHERE {filter}"), &params)
        .await
        .map_err(backend("page users"))
}

pub async fn page<C: GenericClient>(c: &C, q: &UserPageQuery) -> StoreResult<Vec<UserRow>> {
    page_rows(c, q, &user_select())
        .await?
        .iter()
        .map(user_from_row)
        .collect()
}

pub async fn keys<C: GenericClient>(c: &C, q: &UserPageQuery) -> StoreResult<Vec<UserKey>> {
    Ok(page_rows(
        c,
        q,
        "SELECT u.id, a.name, u.email FROM users u JOIN accounts a ON a.id = u.account_id",
    )
    .await?
    .iter()
    .map(|r| UserKey {
        id: r.get(0),
        account: r.get(1),
        email: r.get(2),
    })
    .collect())
}

/// The current users with these ids, in that order, absent ones left out.
pub async fn by_ids<C: GenericClient>(c: &C, ids: &[i64]) -> StoreResult<Vec<UserRow>> {
    let rows = c
        .query(&format!("{} WHERE u.id = ANY($1)", user_select()), &[&ids])
        .await
        .map_err(backend("read users"))?;
    let mut by_id = std::collections::HashMap::new();
    for r in &rows {
        let u = user_from_row(r)?;
        by_id.insert(u.id, u);
    }
    Ok(ids.iter().filter_map(|id| by_id.get(id).cloned()).collect())
}

pub async fn by_id<C: GenericClient>(c: &C, id: i64) -> StoreResult<UserRow> {
    let row = c
        .query_opt(&format!("{} WHERE u.id = $1", user_select()), &[&id])
        .await
        .map_err(backend("read user"))?;
    match row {
        Some(r) => user_from_row(&r),
        None => Err(StoreError::NotFound {
            what: "user",
            name: id.to_string(),
        }),
    }
}

pub async fn groups<C: GenericClient>(c: &C, account: Option<&str>) -> StoreResult<Vec<GroupRow>> {
    Ok(c.query(
        "SELECT a.id AS account_id, a.name AS account, g.name,
                    COALESCE(c.members, 0) AS members
             FROM groups g JOIN accounts a ON a.id = g.account_id
             LEFT JOIN (SELECT u.account_id, m.group_name, COUNT(*) AS members
                        FROM memberships m JOIN users u ON u.id = m.user_id
                        GROUP BY u.account_id, m.group_name) c
                    ON c.account_id = g.account_id AND c.group_name = g.name
             WHERE ($1::text IS NULL OR a.name = $1)
             ORDER BY a.name, g.name",
        &[&account],
    )
    .await
    .map_err(backend("list groups"))?
    .iter()
    .map(|r| {
        let name: String = r.get("name");
        GroupRow {
            account: r.get("account"),
            id: group_id(lpgate_store::AccountId(r.get("account_id")), &name),
            name,
            members: r.get("members"),
        }
    })
    .collect())
}

pub async fn group_by_id<C: GenericClient>(c: &C, id: &str) -> StoreResult<GroupRow> {
    let row = c
        .query_opt(
            "SELECT a.name AS account, g.id, g.name,
                    (SELECT COUNT(*) FROM memberships m JOIN users u ON u.id = m.user_id
                      WHERE u.account_id = g.account_id AND m.group_name = g.name) AS members
             FROM groups g JOIN accounts a ON a.id = g.account_id
             WHERE g.id = $1",
            &[&id],
        )
        .await
        .map_err(backend("read group"))?;
    match row {
        Some(r) => Ok(GroupRow {
            account: r.get("account"),
            id: r.get("id"),
            name: r.get("name"),
            members: r.get("members"),
        }),
        None => Err(StoreError::NotFound {
            what: "group",
            name: id.to_string(),
        }),
    }
}

pub async fn folders<C: GenericClient>(
    c: &C,
    account: Option<&str>,
) -> StoreResult<Vec<FolderRow>> {
    Ok(c.query(
        "SELECT a.name AS account, f.id, f.name, f.deleted, f.score,
                    COUNT(m.email) AS members,
                    COUNT(*) FILTER (WHERE m.can_administer) AS administrators
             FROM folders f JOIN accounts a ON a.id = f.account_id
             LEFT JOIN folder_members m ON m.account_id = f.account_id AND m.folder_id = f.id
             WHERE ($1::text IS NULL OR a.name = $1)
             GROUP BY a.name, f.account_id, f.id, f.name, f.deleted, f.score
             ORDER BY a.name, f.name, f.id",
        &[&account],
    )
    .await
    .map_err(backend("list folders"))?
    .iter()
    .map(|r| FolderRow {
        account: r.get("account"),
        id: r.get("id"),
        name: r.get("name"),
        deleted: r.get("deleted"),
        score: r.get("score"),
        members: r.get("members"),
        administrators: r.get("administrators"),
    })
    .collect())
}

pub async fn changes<C: GenericClient>(
    c: &C,
    account: Option<&str>,
    since: Option<String>,
    kind: Option<&str>,
    before: Option<i64>,
    limit: usize,
) -> StoreResult<Vec<ChangeRow>> {
    c.query(
        "SELECT c.id, a.name AS account, c.at, c.run_id, c.kind, c.subject, c.related, c.before, c.after
         FROM changes c JOIN accounts a ON a.id = c.account_id
         WHERE ($1::text IS NULL OR a.name = $1) AND ($2::text IS NULL OR c.at >= $2)
           AND ($3::text IS NULL OR c.kind = $3)
           AND c.id < COALESCE($5::int8, 9223372036854775807)
         ORDER BY c.id DESC LIMIT $4",
        &[&account, &since, &kind, &(limit as i64), &before],
    )
    .await
    .map_err(backend("list changes"))?
    .iter()
    .map(|r| {
        Ok(ChangeRow {
            id: r.get("id"),
            account: r.get("account"),
            at: parse_utc(r.get("at"))?,
            run_id: r.get("run_id"),
            kind: r.get("kind"),
            subject: r.get("subject"),
            related: r.get("related"),
            before: r.get("before"),
            after: r.get("after"),
        })
    })
    .collect()
}

pub async fn events<C: GenericClient>(
    c: &C,
    account: Option<&str>,
    since: Option<String>,
    before: Option<(String, i64)>,
    limit: usize,
) -> StoreResult<Vec<EventRow>> {
    let (before_time, before_id) = before.unzip();
    c.query(
        "SELECT e.id, a.name AS account, e.time_at, e.time_local, e.username, e.ip_address, e.action, e.data
         FROM events e JOIN accounts a ON a.id = e.account_id
         WHERE ($1::text IS NULL OR a.name = $1) AND ($2::text IS NULL OR e.time_at >= $2)
           AND ($4::text IS NULL OR (e.time_at, e.id) < ($4, $5::int8))
         ORDER BY e.time_at DESC, e.id DESC LIMIT $3",
        &[&account, &since, &(limit as i64), &before_time, &before_id],
    )
    .await
    .map_err(backend("list events"))?
    .iter()
    .map(|r| {
        Ok(EventRow {
            id: r.get("id"),
            account: r.get("account"),
            time: parse_utc(r.get("time_at"))?,
            time_local: parse_local(r.get("time_local"))?,
            username: r.get("username"),
            ip_address: r.get("ip_address"),
            action: r.get("action"),
            data: r.get("data"),
        })
    })
    .collect()
}
