//! SCIM reads and writes: users filtered, sorted and paged in SQL (the filter compiled from
//! [`UserFilter`] with a fixed column list), groups from LastPass merged with those kept only
//! by lpgate, and the SCIM state tables — the SQLite store's logic, in PostgreSQL's dialect.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use lpgate_store::{
    AccountId, NewScimGroup, PlanRow, ScimGroupRow, ScimUserPage, ScimUserQuery, ScimUserRow,
    ScimUserState, StoreResult, TextOp, UserFilter, UserSort,
};
use tokio_postgres::GenericClient;
use tokio_postgres::types::ToSql;

use crate::backend;
use crate::rows::{opt_secs, parse_utc, utc};
use crate::sync::group_id;

type Arg = Box<dyn ToSql + Sync + Send>;

const USER_SELECT: &str = "SELECT u.id, u.email, u.fullname, u.status, u.admin, u.disabled,
        u.duo_username, u.last_login_at, u.first_seen, u.valid_from,
        s.user_id AS state_id, s.external_id, s.document, s.created, s.last_modified
     FROM users u LEFT JOIN scim_users s ON s.user_id = u.id";

fn push(args: &mut Vec<Arg>, v: Arg) -> String {
    args.push(v);
    format!("${}", args.len())
}

/// Appends the SQL of `f`; every leaf on a nullable column is wrapped in `COALESCE(…, FALSE)`
/// so a missing value is false, never NULL (NULL would make `NOT` false too).
fn compile(f: &UserFilter, sql: &mut String, args: &mut Vec<Arg>) {
    match f {
        UserFilter::All => sql.push_str("TRUE"),
        UserFilter::And(items) | UserFilter::Or(items) => {
            let and = matches!(f, UserFilter::And(_));
            if items.is_empty() {
                sql.push_str(if and { "TRUE" } else { "FALSE" });
                return;
            }
            sql.push('(');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    sql.push_str(if and { " AND " } else { " OR " });
                }
                compile(item, sql, args);
            }
            sql.push(')');
        }
        UserFilter::Not(inner) => {
            sql.push_str("NOT (");
            compile(inner, sql, args);
            sql.push(')');
        }
        UserFilter::Email(op, v) => text(sql, args, "u.email", false, *op, v),
        UserFilter::ExternalId(op, v) => text(sql, args, "s.external_id", true, *op, v),
        UserFilter::HasExternalId => sql.push_str("(s.external_id IS NOT NULL)"),
        UserFilter::Id(id) => {
            let p = push(args, Box::new(*id));
            sql.push_str(&format!("(u.id = {p})"));
        }
        UserFilter::Active(active) => {
            let p = push(args, Box::new(!*active));
            sql.push_str(&format!("(u.disabled = {p})"));
        }
    }
}

fn text(sql: &mut String, args: &mut Vec<Arg>, col: &str, nullable: bool, op: TextOp, v: &str) {
    let p = push(args, Box::new(v.to_string()));
    let expr = match op {
        TextOp::Eq => format!("{col} = {p}"),
        TextOp::Ne => format!("({col} IS NULL OR {col} <> {p})"),
        TextOp::Contains => format!("strpos({col}, {p}) > 0"),
        TextOp::StartsWith => format!("left({col}, length({p})) = {p}"),
        TextOp::EndsWith => {
            format!("(length({col}) >= length({p}) AND right({col}, length({p})) = {p})")
        }
        TextOp::Gt => format!("{col} > {p}"),
        TextOp::Ge => format!("{col} >= {p}"),
        TextOp::Lt => format!("{col} < {p}"),
        TextOp::Le => format!("{col} <= {p}"),
    };
    if nullable {
        sql.push_str(&format!("COALESCE({expr}, FALSE)"));
    } else {
        sql.push_str(&format!("({expr})"));
    }
}

fn params(args: &[Arg]) -> Vec<&(dyn ToSql + Sync)> {
    args.iter()
        .map(|b| b.as_ref() as &(dyn ToSql + Sync))
        .collect()
}

fn user_row(r: &tokio_postgres::Row) -> StoreResult<ScimUserRow> {
    let state_id: Option<i64> = r.get("state_id");
    let state = match state_id {
        Some(user_id) => Some(ScimUserState {
            user_id,
            external_id: r.get("external_id"),
            document: r.get("document"),
            created: parse_utc(r.get("created"))?,
            last_modified: parse_utc(r.get("last_modified"))?,
        }),
        None => None,
    };
    Ok(ScimUserRow {
        id: r.get("id"),
        email: r.get("email"),
        fullname: r.get("fullname"),
        status: r.get("status"),
        admin: r.get("admin"),
        disabled: r.get("disabled"),
        duo_username: r.get("duo_username"),
        last_login: opt_secs(r.get("last_login_at"))?,
        first_seen: parse_utc(r.get("first_seen"))?,
        valid_from: parse_utc(r.get("valid_from"))?,
        groups: Vec::new(),
        state,
    })
}

pub async fn users<C: GenericClient>(c: &C, q: &ScimUserQuery) -> StoreResult<ScimUserPage> {
    let ctx = "read SCIM users";
    let mut args: Vec<Arg> = vec![Box::new(q.account.0)];
    let mut cond = String::from("u.account_id = $1 AND u.status <> 'deprovisioned' AND ");
    compile(&q.filter, &mut cond, &mut args);
    let order = match q.sort {
        UserSort::Id => "u.id",
        UserSort::Email => "u.email",
    };
    let dir = if q.descending { "DESC" } else { "ASC" };
    let count_args = args.len();
    let limit = push(&mut args, Box::new(q.limit.map(|l| l as i64)));
    let offset = push(&mut args, Box::new(q.offset as i64));
    let sql =
        format!("{USER_SELECT} WHERE {cond} ORDER BY {order} {dir} LIMIT {limit} OFFSET {offset}");
    let mut users = c
        .query(&sql, &params(&args))
        .await
        .map_err(backend(ctx))?
        .iter()
        .map(user_row)
        .collect::<StoreResult<Vec<_>>>()?;
    let short = q.limit.is_none_or(|l| users.len() < l);
    let total = if short && (q.offset == 0 || !users.is_empty()) {
        q.offset + users.len()
    } else {
        let sql = format!(
            "SELECT COUNT(*) FROM users u LEFT JOIN scim_users s ON s.user_id = u.id WHERE {cond}"
        );
        let n: i64 = c
            .query_one(&sql, &params(&args[..count_args]))
            .await
            .map_err(backend(ctx))?
            .get(0);
        n as usize
    };
    let ids: Vec<i64> = users.iter().map(|u| u.id).collect();
    let mut groups: BTreeMap<i64, Vec<String>> = BTreeMap::new();
    for r in c
        .query(
            "SELECT user_id, group_name FROM memberships WHERE user_id = ANY($1) ORDER BY user_id, group_name",
            &[&ids],
        )
        .await
        .map_err(backend(ctx))?
    {
        groups.entry(r.get(0)).or_default().push(r.get(1));
    }
    for u in &mut users {
        u.groups = groups
            .remove(&u.id)
            .unwrap_or_default()
            .into_iter()
            .map(|n| (group_id(q.account, &n), n))
            .collect();
    }
    Ok(ScimUserPage { total, users })
}

pub async fn put_user<C: GenericClient>(
    c: &C,
    account: AccountId,
    s: &ScimUserState,
) -> StoreResult<()> {
    c.execute(
        "INSERT INTO scim_users (user_id, account_id, external_id, document, created, last_modified)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (user_id) DO UPDATE SET account_id = excluded.account_id,
             external_id = excluded.external_id, document = excluded.document,
             last_modified = excluded.last_modified",
        &[
            &s.user_id,
            &account.0,
            &s.external_id,
            &s.document,
            &utc(s.created),
            &utc(s.last_modified),
        ],
    )
    .await
    .map_err(backend("write SCIM user"))?;
    Ok(())
}

pub async fn delete_user<C: GenericClient>(
    c: &C,
    account: AccountId,
    user_id: i64,
) -> StoreResult<()> {
    c.execute(
        "DELETE FROM scim_users WHERE user_id = $1 AND account_id = $2",
        &[&user_id, &account.0],
    )
    .await
    .map_err(backend("forget SCIM user"))?;
    Ok(())
}

/// Groups of LastPass and of lpgate merged by id; optionally one only (by id or name).
pub async fn groups<C: GenericClient>(
    c: &C,
    account: AccountId,
    only_id: Option<&str>,
    only_name: Option<&str>,
    with_members: bool,
) -> StoreResult<Vec<ScimGroupRow>> {
    let ctx = "read SCIM groups";
    let mut out: BTreeMap<String, ScimGroupRow> = BTreeMap::new();
    for r in c
        .query(
            "SELECT id, name, first_seen FROM groups WHERE account_id = $1
               AND ($2::text IS NULL OR id = $2) AND ($3::text IS NULL OR name = $3)",
            &[&account.0, &only_id, &only_name],
        )
        .await
        .map_err(backend(ctx))?
    {
        let first_seen = parse_utc(r.get(2))?;
        let id: String = r.get(0);
        out.insert(
            id.clone(),
            ScimGroupRow {
                id,
                name: r.get(1),
                external_id: None,
                created: first_seen,
                last_modified: first_seen,
                members: None,
                in_lastpass: true,
            },
        );
    }
    let mut kept = Vec::new();
    for r in c
        .query(
            "SELECT id, name, external_id, created, last_modified FROM scim_groups
             WHERE account_id = $1 AND ($2::text IS NULL OR id = $2) AND ($3::text IS NULL OR name = $3)",
            &[&account.0, &only_id, &only_name],
        )
        .await
        .map_err(backend(ctx))?
    {
        kept.push((
            r.get::<_, String>(0),
            r.get::<_, String>(1),
            r.get::<_, Option<String>>(2),
            parse_utc(r.get(3))?,
            parse_utc(r.get(4))?,
        ));
    }
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
    // A group is LastPass's while it has current members.
    let names: Vec<String> = out
        .values()
        .filter(|g| g.in_lastpass)
        .map(|g| g.name.clone())
        .collect();
    let mut by_group: BTreeMap<String, Vec<(i64, String)>> = BTreeMap::new();
    if !names.is_empty() {
        for r in c
            .query(
                "SELECT m.group_name, u.id, u.email FROM users u JOIN memberships m ON m.user_id = u.id
                 WHERE u.account_id = $1 AND u.status <> 'deprovisioned' AND m.group_name = ANY($2)
                 ORDER BY u.email",
                &[&account.0, &names],
            )
            .await
            .map_err(backend("read group members"))?
        {
            by_group
                .entry(r.get(0))
                .or_default()
                .push((r.get(1), r.get(2)));
        }
    }
    let mut gone = Vec::new();
    for g in out.values_mut() {
        if !g.in_lastpass {
            g.members = with_members.then(Vec::new);
            continue;
        }
        let m = by_group.remove(&g.name).unwrap_or_default();
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

pub async fn put_group<C: GenericClient>(c: &C, g: &NewScimGroup) -> StoreResult<String> {
    let id = group_id(g.account, &g.name);
    c.execute(
        "INSERT INTO scim_groups (account_id, id, name, external_id, created, last_modified)
         VALUES ($1, $2, $3, $4, $5, $5)
         ON CONFLICT (account_id, id) DO UPDATE SET external_id = excluded.external_id,
             last_modified = excluded.last_modified",
        &[&g.account.0, &id, &g.name, &g.external_id, &utc(g.now)],
    )
    .await
    .map_err(backend("write SCIM group"))?;
    Ok(id)
}

pub async fn delete_group<C: GenericClient>(
    c: &C,
    account: AccountId,
    id: &str,
) -> StoreResult<()> {
    c.execute(
        "DELETE FROM scim_groups WHERE account_id = $1 AND id = $2",
        &[&account.0, &id],
    )
    .await
    .map_err(backend("forget SCIM group"))?;
    Ok(())
}

pub async fn waiting_plan<C: GenericClient>(
    c: &C,
    account: AccountId,
    source: &str,
) -> StoreResult<Option<PlanRow>> {
    let id: Option<i64> = c
        .query_opt(
            "SELECT id FROM plans WHERE account_id = $1 AND source = $2
               AND state IN ('held', 'approved', 'ready') ORDER BY id DESC LIMIT 1",
            &[&account.0, &source],
        )
        .await
        .map_err(backend("find waiting plan"))?
        .map(|r| r.get(0));
    match id {
        Some(id) => Ok(Some(crate::act::get_plan_row(c, id).await?)),
        None => Ok(None),
    }
}

pub async fn recent_removals<C: GenericClient>(
    c: &C,
    account: AccountId,
    actor: &str,
    since: DateTime<Utc>,
) -> StoreResult<usize> {
    let n: i64 = c
        .query_one(
            "SELECT COUNT(*) FROM plans p JOIN plan_items i ON i.plan_id = p.id
             WHERE p.account_id = $1 AND p.created_by = $2 AND p.created_at >= $3
               AND i.action IN ('suspend', 'remove', 'deprovision')
               AND i.state IN ('pending', 'done', 'failed')",
            &[&account.0, &actor, &utc(since)],
        )
        .await
        .map_err(backend("count recent removals"))?
        .get(0);
    Ok(n as usize)
}
