//! SCIM reads and writes: users filtered, sorted and paged in SQL (the filter compiled from
//! [`UserFilter`] with a fixed column list), groups from LastPass merged with those kept only
//! by lpgate, and the SCIM state tables of migration 6.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use lpgate_store::{
    AccountId, NewScimGroup, PlanRow, ScimGroupRow, ScimUserPage, ScimUserQuery, ScimUserRow,
    ScimUserState, StoreResult, TextOp, UserFilter, UserSort,
};
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, params, params_from_iter};

use crate::backend;
use crate::rows::{opt_utc_secs, parse_utc, utc};
use crate::sync::group_id;

/// The columns every SCIM user read selects.
const USER_SELECT: &str = "SELECT u.id, u.email, u.fullname, u.status, u.admin, u.disabled,
        u.duo_username, u.last_login_at, u.first_seen, u.valid_from,
        s.user_id AS state_id, s.external_id, s.document, s.created, s.last_modified
     FROM users u LEFT JOIN scim_users s ON s.user_id = u.id";

/// Appends the SQL of `f` to `sql`, its parameters to `args`. Every leaf on a nullable column
/// is wrapped in `COALESCE(…, 0)` so a missing value is false, never NULL (NULL would make
/// `NOT` false too).
fn compile(f: &UserFilter, sql: &mut String, args: &mut Vec<Value>) {
    match f {
        UserFilter::All => sql.push('1'),
        UserFilter::And(items) | UserFilter::Or(items) => {
            if items.is_empty() {
                sql.push(if matches!(f, UserFilter::And(_)) {
                    '1'
                } else {
                    '0'
                });
                return;
            }
            let joiner = if matches!(f, UserFilter::And(_)) {
                " AND "
            } else {
                " OR "
            };
            sql.push('(');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    sql.push_str(joiner);
                }
                compile(item, sql, args);
            }
            sql.push(')');
        }
        UserFilter::Not(inner) => {
            sql.push_str("NOT ");
            sql.push('(');
            compile(inner, sql, args);
            sql.push(')');
        }
        UserFilter::Email(op, v) => text(sql, args, "u.email", false, *op, v),
        UserFilter::ExternalId(op, v) => text(sql, args, "s.external_id", true, *op, v),
        UserFilter::HasExternalId => sql.push_str("(s.external_id IS NOT NULL)"),
        UserFilter::Id(id) => {
            sql.push_str("(u.id = ?)");
            args.push(Value::Integer(*id));
        }
        UserFilter::Active(active) => {
            sql.push_str("(u.disabled = ?)");
            args.push(Value::Integer(i64::from(!*active)));
        }
    }
}

/// A comparison of a text column. Only a nullable column is wrapped in `COALESCE` (which
/// keeps SQLite from using an index): `u.email = ?` stays an index lookup.
fn text(sql: &mut String, args: &mut Vec<Value>, col: &str, nullable: bool, op: TextOp, v: &str) {
    let v = Value::Text(v.to_string());
    let expr = match op {
        TextOp::Eq => format!("{col} = ?"),
        TextOp::Ne => format!("({col} IS NULL OR {col} != ?)"),
        TextOp::Contains => format!("instr({col}, ?) > 0"),
        TextOp::StartsWith => {
            args.push(v.clone());
            format!("substr({col}, 1, length(?)) = ?")
        }
        TextOp::EndsWith => {
            args.push(v.clone());
            format!(
                "(length({col}) >= length(?) AND substr({col}, length({col}) - length(?) + 1) = ?)"
            )
        }
        TextOp::Gt => format!("{col} > ?"),
        TextOp::Ge => format!("{col} >= ?"),
        TextOp::Lt => format!("{col} < ?"),
        TextOp::Le => format!("{col} <= ?"),
    };
    if op == TextOp::EndsWith {
        args.push(v.clone());
    }
    args.push(v);
    if nullable {
        sql.push_str("COALESCE(");
        sql.push_str(&expr);
        sql.push_str(", 0)");
    } else {
        sql.push('(');
        sql.push_str(&expr);
        sql.push(')');
    }
}

fn user_row(account: AccountId, r: &rusqlite::Row) -> rusqlite::Result<ScimUserRow> {
    let state_id: Option<i64> = r.get("state_id")?;
    let state = match state_id {
        Some(user_id) => Some(ScimUserState {
            user_id,
            external_id: r.get("external_id")?,
            document: r.get("document")?,
            created: parse_utc(&r.get::<_, String>("created")?)?,
            last_modified: parse_utc(&r.get::<_, String>("last_modified")?)?,
        }),
        None => None,
    };
    let _ = account;
    Ok(ScimUserRow {
        id: r.get("id")?,
        email: r.get("email")?,
        fullname: r.get("fullname")?,
        status: r.get("status")?,
        admin: r.get("admin")?,
        disabled: r.get("disabled")?,
        duo_username: r.get("duo_username")?,
        last_login: opt_utc_secs(r, "last_login_at")?,
        first_seen: parse_utc(&r.get::<_, String>("first_seen")?)?,
        valid_from: parse_utc(&r.get::<_, String>("valid_from")?)?,
        groups: Vec::new(),
        state,
    })
}

/// An account's current users matching the query, with their groups and SCIM state.
pub fn users(conn: &Connection, q: &ScimUserQuery) -> StoreResult<ScimUserPage> {
    let ctx = "read SCIM users";
    let mut cond = String::from("u.account_id = ? AND u.status != 'deprovisioned' AND ");
    let mut args = vec![Value::Integer(q.account.0)];
    compile(&q.filter, &mut cond, &mut args);
    let order = match q.sort {
        UserSort::Id => "u.id",
        UserSort::Email => "u.email",
    };
    let dir = if q.descending { "DESC" } else { "ASC" };
    let mut page_args = args.clone();
    page_args.push(Value::Integer(q.limit.map_or(-1, |l| l as i64)));
    page_args.push(Value::Integer(q.offset as i64));
    let sql = format!("{USER_SELECT} WHERE {cond} ORDER BY {order} {dir} LIMIT ? OFFSET ?");
    let mut stmt = conn.prepare_cached(&sql).map_err(backend(ctx))?;
    let mut users = stmt
        .query_map(params_from_iter(page_args), |r| user_row(q.account, r))
        .map_err(backend(ctx))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(backend(ctx))?;
    // The whole count is known without counting when this page is the last one.
    let short = q.limit.is_none_or(|l| users.len() < l);
    let total = if short && (q.offset == 0 || !users.is_empty()) {
        q.offset + users.len()
    } else {
        let sql = format!(
            "SELECT COUNT(*) FROM users u LEFT JOIN scim_users s ON s.user_id = u.id WHERE {cond}"
        );
        let n: i64 = conn
            .prepare_cached(&sql)
            .and_then(|mut s| s.query_row(params_from_iter(args), |r| r.get(0)))
            .map_err(backend(ctx))?;
        n as usize
    };
    let mut stmt = conn
        .prepare_cached("SELECT group_name FROM memberships WHERE user_id = ?1 ORDER BY group_name")
        .map_err(backend(ctx))?;
    for u in &mut users {
        let names = stmt
            .query_map([u.id], |r| r.get::<_, String>(0))
            .map_err(backend(ctx))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(backend(ctx))?;
        u.groups = names
            .into_iter()
            .map(|n| (group_id(q.account, &n), n))
            .collect();
    }
    Ok(ScimUserPage { total, users })
}

pub fn put_user(conn: &Connection, account: AccountId, s: &ScimUserState) -> StoreResult<()> {
    conn.prepare_cached(
        "INSERT INTO scim_users (user_id, account_id, external_id, document, created, last_modified)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (user_id) DO UPDATE SET account_id = excluded.account_id,
             external_id = excluded.external_id, document = excluded.document,
             last_modified = excluded.last_modified",
    )
    .and_then(|mut st| {
        st.execute(params![
            s.user_id,
            account.0,
            s.external_id,
            s.document,
            utc(s.created),
            utc(s.last_modified)
        ])
    })
    .map_err(backend("write SCIM user"))?;
    Ok(())
}

pub fn delete_user(conn: &Connection, account: AccountId, user_id: i64) -> StoreResult<()> {
    conn.execute(
        "DELETE FROM scim_users WHERE user_id = ?1 AND account_id = ?2",
        params![user_id, account.0],
    )
    .map_err(backend("forget SCIM user"))?;
    Ok(())
}

/// Groups of LastPass and of lpgate merged by id; optionally one only (by id or name).
pub fn groups(
    conn: &Connection,
    account: AccountId,
    only_id: Option<&str>,
    only_name: Option<&str>,
    with_members: bool,
) -> StoreResult<Vec<ScimGroupRow>> {
    let ctx = "read SCIM groups";
    let mut out: BTreeMap<String, ScimGroupRow> = BTreeMap::new();
    let mut stmt = conn
        .prepare_cached(
            "SELECT id, name, first_seen FROM groups WHERE account_id = ?1
               AND (?2 IS NULL OR id = ?2) AND (?3 IS NULL OR name = ?3)",
        )
        .map_err(backend(ctx))?;
    let rows = stmt
        .query_map(params![account.0, only_id, only_name], |r| {
            let first_seen = parse_utc(&r.get::<_, String>(2)?)?;
            Ok(ScimGroupRow {
                id: r.get(0)?,
                name: r.get(1)?,
                external_id: None,
                created: first_seen,
                last_modified: first_seen,
                members: None,
                in_lastpass: true,
            })
        })
        .map_err(backend(ctx))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(backend(ctx))?;
    for g in rows {
        out.insert(g.id.clone(), g);
    }
    let mut stmt = conn
        .prepare_cached(
            "SELECT id, name, external_id, created, last_modified FROM scim_groups
             WHERE account_id = ?1 AND (?2 IS NULL OR id = ?2) AND (?3 IS NULL OR name = ?3)",
        )
        .map_err(backend(ctx))?;
    let kept = stmt
        .query_map(params![account.0, only_id, only_name], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<String>>(2)?,
                parse_utc(&r.get::<_, String>(3)?)?,
                parse_utc(&r.get::<_, String>(4)?)?,
            ))
        })
        .map_err(backend(ctx))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(backend(ctx))?;
    let kept_ids: std::collections::BTreeSet<String> = kept.iter().map(|k| k.0.clone()).collect();
    for (id, name, external_id, created, last_modified) in kept {
        let g = out.entry(id.clone()).or_insert_with(|| ScimGroupRow {
            id,
            name,
            external_id: None,
            created,
            last_modified,
            members: None,
            in_lastpass: false,
        });
        g.external_id = external_id;
        g.created = g.created.min(created);
        g.last_modified = g.last_modified.max(last_modified);
    }
    // A group is LastPass's while it has current members: one re-read after its last
    // member left (which cannot tell that the group is gone) leaves its row behind until the
    // next full sync.
    let single = out.len() == 1;
    let mut by_group: BTreeMap<String, Vec<(i64, String)>> = BTreeMap::new();
    if !single && out.values().any(|g| g.in_lastpass) {
        let ctx = "read group members";
        let mut stmt = conn
            .prepare_cached(
                "SELECT m.group_name, u.id, u.email FROM users u CROSS JOIN memberships m ON m.user_id = u.id
                 WHERE u.account_id = ?1 AND u.status != 'deprovisioned' ORDER BY u.email",
            )
            .map_err(backend(ctx))?;
        let rows = stmt
            .query_map([account.0], |r| {
                Ok((r.get::<_, String>(0)?, r.get(1)?, r.get(2)?))
            })
            .map_err(backend(ctx))?;
        for row in rows {
            let (g, id, email) = row.map_err(backend(ctx))?;
            by_group.entry(g).or_default().push((id, email));
        }
    }
    let mut gone = Vec::new();
    for g in out.values_mut() {
        if !g.in_lastpass {
            g.members = with_members.then(Vec::new);
            continue;
        }
        let m = if single {
            members(conn, account, &g.name)?
        } else {
            by_group.remove(&g.name).unwrap_or_default()
        };
        if m.is_empty() {
            g.in_lastpass = false;
            if !kept_ids.contains(&g.id) {
                gone.push(g.id.clone());
            }
        }
        g.members = with_members.then_some(m);
    }
    for id in gone {
        out.remove(&id);
    }
    let mut v: Vec<ScimGroupRow> = out.into_values().collect();
    v.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.id.cmp(&b.id)));
    Ok(v)
}

fn members(conn: &Connection, account: AccountId, group: &str) -> StoreResult<Vec<(i64, String)>> {
    let ctx = "read group members";
    let mut stmt = conn
        .prepare_cached(
            "SELECT u.id, u.email FROM users u CROSS JOIN memberships m
               ON m.user_id = u.id AND m.group_name = ?2
             WHERE u.account_id = ?1 AND u.status != 'deprovisioned' ORDER BY u.email",
        )
        .map_err(backend(ctx))?;
    stmt.query_map(params![account.0, group], |r| Ok((r.get(0)?, r.get(1)?)))
        .map_err(backend(ctx))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(backend(ctx))
}

pub fn put_group(conn: &Connection, g: &NewScimGroup) -> StoreResult<String> {
    let id = group_id(g.account, &g.name);
    let now = utc(g.now);
    conn.execute(
        "INSERT INTO scim_groups (account_id, id, name, external_id, created, last_modified)
         VALUES (?1, ?2, ?3, ?4, ?5, ?5)
         ON CONFLICT (account_id, id) DO UPDATE SET external_id = excluded.external_id,
             last_modified = excluded.last_modified",
        params![g.account.0, id, g.name, g.external_id, now],
    )
    .map_err(backend("write SCIM group"))?;
    Ok(id)
}

pub fn delete_group(conn: &Connection, account: AccountId, id: &str) -> StoreResult<()> {
    conn.execute(
        "DELETE FROM scim_groups WHERE account_id = ?1 AND id = ?2",
        params![account.0, id],
    )
    .map_err(backend("forget SCIM group"))?;
    Ok(())
}

pub fn waiting_plan(
    conn: &Connection,
    account: AccountId,
    source: &str,
) -> StoreResult<Option<PlanRow>> {
    let id: Option<i64> = conn
        .prepare_cached(
            "SELECT id FROM plans WHERE account_id = ?1 AND source = ?2
               AND state IN ('held', 'approved', 'ready') ORDER BY id DESC LIMIT 1",
        )
        .and_then(|mut s| {
            s.query_row(params![account.0, source], |r| r.get(0))
                .optional()
        })
        .map_err(backend("find waiting plan"))?;
    match id {
        Some(id) => Ok(Some(crate::act::get(conn, id)?.0)),
        None => Ok(None),
    }
}

pub fn recent_removals(
    conn: &Connection,
    account: AccountId,
    actor: &str,
    since: DateTime<Utc>,
) -> StoreResult<usize> {
    let n: i64 = conn
        .prepare_cached(
            "SELECT COUNT(*) FROM plans p JOIN plan_items i ON i.plan_id = p.id
             WHERE p.account_id = ?1 AND p.created_by = ?2 AND p.created_at >= ?3
               AND i.action IN ('suspend', 'remove', 'deprovision')
               AND i.state IN ('pending', 'done', 'failed')",
        )
        .and_then(|mut s| s.query_row(params![account.0, actor, utc(since)], |r| r.get(0)))
        .map_err(backend("count recent removals"))?;
    Ok(n as usize)
}
