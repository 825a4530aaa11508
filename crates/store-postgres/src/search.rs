//! Free-text search over the generated tsvector columns of users, groups and folders (GIN
//! indexes): every word a required prefix, the name weighing more than the words of the
//! address, as the SQLite store's FTS5 index does. Ranks are `-ts_rank` (lower is better).

use lpgate_store::{SearchHit, StoreError, StoreResult};
use tokio_postgres::GenericClient;

use crate::backend;

/// The tsquery for what a person typed: each word (letters and digits) a prefix, all
/// required. `None` when there is no word.
pub fn tsquery(text: &str) -> Option<String> {
    let words: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| format!("{}:*", w.to_lowercase()))
        .collect();
    (!words.is_empty()).then(|| words.join(" & "))
}

pub async fn search<C: GenericClient>(
    c: &C,
    text: &str,
    account: Option<&str>,
    limit: usize,
) -> StoreResult<Vec<SearchHit>> {
    let Some(q) = tsquery(text) else {
        return Err(StoreError::QueryRefused(format!(
            "search text {text:?} has no word to look for"
        )));
    };
    let rows = c
        .query(
            "WITH q AS (SELECT to_tsquery('simple', $1) AS q),
             hits AS (
                 SELECT 'user'::text AS kind, u.email AS key, u.fullname AS title, u.account_id,
                        ts_rank('{0.1, 0.2, 0.4, 1.0}', u.search, q.q) AS rank, u.status AS detail,
                        NULL::bigint AS folder_rid
                 FROM users u, q WHERE u.search @@ q.q
                 UNION ALL
                 SELECT 'group', g.name, g.name, g.account_id,
                        ts_rank('{0.1, 0.2, 0.4, 1.0}', g.search, q.q), 'group', NULL
                 FROM groups g, q WHERE g.search @@ q.q
                 UNION ALL
                 SELECT 'folder', f.id, f.name, f.account_id,
                        ts_rank('{0.1, 0.2, 0.4, 1.0}', f.search, q.q), NULL, f.rid
                 FROM folders f, q WHERE f.search @@ q.q)
             SELECT h.kind, h.key, h.title, a.name, -h.rank::float8 AS rank,
                    COALESCE(h.detail,
                             (SELECT COUNT(*) || ' members' FROM folder_members m
                              JOIN folders f ON f.account_id = m.account_id AND f.id = m.folder_id
                              WHERE f.rid = h.folder_rid)) AS detail
             FROM (SELECT * FROM hits WHERE $2::text IS NULL
                     OR account_id = (SELECT id FROM accounts WHERE name = $2)
                   ORDER BY rank DESC, kind, key LIMIT $3) h
             JOIN accounts a ON a.id = h.account_id
             ORDER BY h.rank DESC, h.kind, h.key",
            &[&q, &account, &(limit as i64)],
        )
        .await
        .map_err(backend("search"))?;
    Ok(rows
        .iter()
        .map(|r| SearchHit {
            kind: r.get(0),
            key: r.get(1),
            title: r.get(2),
            account: r.get(3),
            rank: r.get(4),
            detail: r.get::<_, Option<String>>(5).unwrap_or_default(),
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
    }
}
