//! Free-text search over the tsvector columns of users, groups and folders (GIN indexes):
//! every word a required prefix, as in the SQLite store's FTS5 index.
//!
//! Ranking is by tier, then in a fixed order: a hit whose every word matches its name (every
//! group and folder hit, and a user found by name) comes before a user found through the
//! words of the address; within a tier, folders, then groups, then users, each by account
//! (in the order accounts were added) and key. `rank` is minus the tier (lower is better).
//!
//! Why not `ts_rank`: at 1,000,000 users a three-letter prefix matches 15,000–40,000 of
//! them, and ranking them all read every match's row (50–200 ms). The fixed order lets
//! users be read along the (account, email) index, which stops after a few dozen matches
//! (about 5 ms); PostgreSQL itself chooses that walk for common words and the GIN index for
//! rare ones.

use std::cmp::Reverse;
use std::collections::HashMap;

use lpgate_store::{SearchHit, StoreError, StoreResult};
use tokio_postgres::types::ToSql;
use tokio_postgres::{GenericClient, Row};

use crate::backend;

/// The tsquery for what a person typed: each word (letters and digits) a prefix, all
/// required. `None` when there is no word.
pub fn tsquery(text: &str) -> Option<String> {
    query_words(text, "")
}

/// The same query with every word required in the name (weight A).
fn name_tsquery(text: &str) -> Option<String> {
    query_words(text, "A")
}

fn query_words(text: &str, weight: &str) -> Option<String> {
    let words: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| format!("{}:*{weight}", w.to_lowercase()))
        .collect();
    (!words.is_empty()).then(|| words.join(" & "))
}

/// Users read in index order per hit asked for, before deciding whether that read was
/// enough (see [`users`]).
const WALK_PER_HIT: usize = 2;

/// A hit before its account's name is known, with what orders it.
struct Found {
    tier: i32,
    kind: &'static str,
    account_id: i64,
    key: String,
    title: String,
    detail: String,
    /// A folder's row id, to count its members once it is among the hits.
    folder_rid: Option<i64>,
}

impl Found {
    fn order(&self) -> (Reverse<i32>, &'static str, i64, &str) {
        (Reverse(self.tier), self.kind, self.account_id, &self.key)
    }
}

/// Searches users, groups and folders (of one account when named; of none when it does not
/// exist), best `limit` hits first.
pub async fn search<C: GenericClient>(
    c: &C,
    text: &str,
    account: Option<&str>,
    limit: usize,
) -> StoreResult<Vec<SearchHit>> {
    let (Some(q), Some(qa)) = (tsquery(text), name_tsquery(text)) else {
        return Err(StoreError::QueryRefused(format!(
            "search text {text:?} has no word to look for"
        )));
    };
    let ctx = "search";
    let account_id = match account {
        None => None,
        Some(name) => {
            match c
                .query_opt("SELECT id FROM accounts WHERE name = $1", &[&name])
                .await
                .map_err(backend(ctx))?
            {
                Some(r) => Some(r.get::<_, i64>(0)),
                None => return Ok(Vec::new()),
            }
        }
    };
    if limit == 0 {
        return Ok(Vec::new());
    }
    // The two reads go out together on the connection (pipelined): a search is about as
    // long as the slower one, not the sum of their round trips.
    let (mut found, users) = futures_util::future::try_join(
        named(c, &q, account_id, limit),
        users(c, &q, &qa, account_id, limit),
    )
    .await?;
    found.extend(users);
    found.sort_by(|a, b| a.order().cmp(&b.order()));
    found.truncate(limit);
    // Names of the hits' accounts only: an MSP's store holds hundreds of accounts.
    let ids: Vec<i64> = found.iter().map(|f| f.account_id).collect();
    let names: HashMap<i64, String> = c
        .query("SELECT id, name FROM accounts WHERE id = ANY($1)", &[&ids])
        .await
        .map_err(backend(ctx))?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    Ok(found
        .into_iter()
        .map(|f| SearchHit {
            account: names.get(&f.account_id).cloned().unwrap_or_default(),
            kind: f.kind.to_string(),
            key: f.key,
            title: f.title,
            detail: f.detail,
            rank: -f64::from(f.tier),
        })
        .collect())
}

/// The `AND` that limits a query to one account (parameter `$n`), or nothing. Two texts
/// rather than `$n IS NULL OR …`, which would keep PostgreSQL off the account's index.
fn scope(column: &str, account: Option<i64>, n: usize) -> String {
    match account {
        Some(_) => format!(" AND {column} = ${n}"),
        None => String::new(),
    }
}

/// Runs one search read: its parameters are `params`, then the row limit, then the account
/// when `sql` was limited to one with [`scope`].
async fn read<C: GenericClient>(
    c: &C,
    ctx: &'static str,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
    limit: usize,
    account: Option<i64>,
) -> StoreResult<Vec<Row>> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let mut all: Vec<&(dyn ToSql + Sync)> = params.to_vec();
    all.push(&limit);
    if let Some(a) = &account {
        all.push(a);
    }
    c.query(sql, &all).await.map_err(backend(ctx))
}

/// The best `limit` users, in rank order.
///
/// First `WALK_PER_HIT × limit` matches are read in (account, email) order, which PostgreSQL
/// serves by walking that index for a common word and from the GIN index for a rare one.
/// That read is the answer when it held every match, or when it holds `limit` name matches
/// (no later one can come before them). Otherwise — few name matches among many — every
/// match is ranked, as `ts_rank` did.
async fn users<C: GenericClient>(
    c: &C,
    q: &str,
    qa: &str,
    account: Option<i64>,
    limit: usize,
) -> StoreResult<Vec<Found>> {
    let ctx = "search users";
    let walk = limit.saturating_mul(WALK_PER_HIT);
    let select = |order: &str| {
        format!(
            "SELECT u.email, u.fullname, u.status, u.account_id,
                    (u.search @@ to_tsquery('simple', $2)) AS in_name
             FROM users u
             WHERE u.search @@ to_tsquery('simple', $1){}
             ORDER BY {order} LIMIT $3",
            scope("u.account_id", account, 4)
        )
    };
    let params: [&(dyn ToSql + Sync); 2] = [&q, &qa];
    let rows = read(
        c,
        ctx,
        &select("u.account_id, u.email"),
        &params,
        walk,
        account,
    )
    .await?;
    let in_name = rows.iter().filter(|r| r.get::<_, bool>(4)).count();
    let rows = if rows.len() < walk || in_name >= limit {
        rows
    } else {
        let sql = select("in_name DESC, u.account_id, u.email");
        read(c, ctx, &sql, &params, limit, account).await?
    };
    Ok(rows
        .iter()
        .map(|r| Found {
            tier: if r.get::<_, bool>(4) { 2 } else { 1 },
            kind: "user",
            account_id: r.get(3),
            key: r.get(0),
            title: r.get(1),
            detail: r.get(2),
            folder_rid: None,
        })
        .collect())
}

/// Groups or folders read in any order before deciding how to find the first ones (see
/// [`named`]).
const NAMED_CAP: usize = 500;

/// The first `limit` groups and folders whose name matches (all of them rank in the first
/// tier), with their detail: `group`, or a folder's member count.
///
/// Their few distinct words leave PostgreSQL's estimate for a prefix at a flat 2 % of the
/// rows, so it walked the whole key index for a word no group has (30 ms at 70,000 groups
/// and folders). So each kind is first read from the GIN index in any order, up to
/// `NAMED_CAP` rows; fewer is every match, which is sorted here. More means a common word,
/// and the key index is walked for the first `limit`, which ends soon.
async fn named<C: GenericClient>(
    c: &C,
    q: &str,
    account: Option<i64>,
    limit: usize,
) -> StoreResult<Vec<Found>> {
    let (groups, folders) = futures_util::future::try_join(
        named_kind(c, "group", q, account, limit),
        named_kind(c, "folder", q, account, limit),
    )
    .await?;
    let mut found = groups;
    found.extend(folders);
    found.sort_by(|a, b| a.order().cmp(&b.order()));
    found.truncate(limit);
    let folders: Vec<i64> = found.iter().filter_map(|f| f.folder_rid).collect();
    if !folders.is_empty() {
        let counts: HashMap<i64, i64> = c
            .query(
                "SELECT f.rid, (SELECT COUNT(*) FROM folder_members m
                                WHERE m.account_id = f.account_id AND m.folder_id = f.id)
                 FROM folders f WHERE f.rid = ANY($1)",
                &[&folders],
            )
            .await
            .map_err(backend("search folders"))?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        for f in &mut found {
            if let Some(rid) = f.folder_rid {
                f.detail = format!("{} members", counts.get(&rid).copied().unwrap_or(0));
            }
        }
    }
    Ok(found)
}

/// One kind's first `limit` matches in (account, key) order (see [`named`]).
async fn named_kind<C: GenericClient>(
    c: &C,
    kind: &'static str,
    q: &str,
    account: Option<i64>,
    limit: usize,
) -> StoreResult<Vec<Found>> {
    let ctx = "search groups and folders";
    let (columns, table, key) = match kind {
        "group" => (
            "t.account_id, t.name, t.name, NULL::int8",
            "groups",
            "t.name",
        ),
        _ => ("t.account_id, t.id, t.name, t.rid", "folders", "t.id"),
    };
    let sql = |order: &str| {
        format!(
            "SELECT {columns} FROM {table} t
             WHERE t.search @@ to_tsquery('simple', $1){} {order} LIMIT $2",
            scope("t.account_id", account, 3)
        )
    };
    let params: [&(dyn ToSql + Sync); 1] = [&q];
    let cap = NAMED_CAP.max(limit);
    let mut rows = read(c, ctx, &sql(""), &params, cap, account).await?;
    if rows.len() >= cap {
        let sql = sql(&format!("ORDER BY t.account_id, {key}"));
        rows = read(c, ctx, &sql, &params, limit, account).await?;
    }
    Ok(rows
        .iter()
        .map(|r| Found {
            tier: 2,
            kind,
            account_id: r.get(0),
            key: r.get(1),
            title: r.get(2),
            detail: if kind == "group" {
                "group".into()
            } else {
                String::new()
            },
            folder_rid: r.get(3),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_word_is_a_required_prefix() {
        assert_eq!(tsquery("Jo SMI").as_deref(), Some("jo:* & smi:*"));
        assert_eq!(
            tsquery("o'brien \"x").as_deref(),
            Some("o:* & brien:* & x:*")
        );
        assert_eq!(tsquery(" -- "), None);
        assert_eq!(name_tsquery("Jo SMI").as_deref(), Some("jo:*A & smi:*A"));
    }
}
