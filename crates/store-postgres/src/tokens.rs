//! API token rows: names, scopes, account limits and keyed hashes (never tokens).

use chrono::{DateTime, Utc};
use lpgate_store::{AccountId, NewToken, StoreError, StoreResult, TokenRow, TokenScope};
use tokio_postgres::{GenericClient, Row};

use crate::rows::{opt_utc, parse_utc, utc};
use crate::{backend, is_unique_violation};

const SELECT: &str = "SELECT t.id, t.name, t.scope, t.account_id, a.name AS account, t.created_at,
        t.expires_at, t.last_used_at, t.revoked_at
     FROM api_tokens t LEFT JOIN accounts a ON a.id = t.account_id";

fn from_row(r: &Row) -> StoreResult<TokenRow> {
    let scope: &str = r.get("scope");
    Ok(TokenRow {
        id: r.get("id"),
        name: r.get("name"),
        // An unknown stored scope can only come from a newer lpgate; it grants nothing.
        scope: TokenScope::parse(scope).unwrap_or(TokenScope::Scim),
        account_id: r.get::<_, Option<i64>>("account_id").map(AccountId),
        account: r.get("account"),
        created_at: parse_utc(r.get("created_at"))?,
        expires_at: opt_utc(r.get("expires_at"))?,
        last_used_at: opt_utc(r.get("last_used_at"))?,
        revoked_at: opt_utc(r.get("revoked_at"))?,
    })
}

async fn by_id<C: GenericClient>(c: &C, id: i64, ctx: &'static str) -> StoreResult<TokenRow> {
    let r = c
        .query_one(&format!("{SELECT} WHERE t.id = $1"), &[&id])
        .await
        .map_err(backend(ctx))?;
    from_row(&r)
}

pub async fn create<C: GenericClient>(c: &C, t: NewToken) -> StoreResult<TokenRow> {
    let ctx = "create token";
    let account_id: Option<i64> = match &t.account {
        None => None,
        Some(name) => Some(
            c.query_opt("SELECT id FROM accounts WHERE name = $1", &[name])
                .await
                .map_err(backend(ctx))?
                .map(|r| r.get(0))
                .ok_or_else(|| StoreError::NotFound {
                    what: "account",
                    name: name.clone(),
                })?,
        ),
    };
    let res = c
        .query_one(
            "INSERT INTO api_tokens (name, scope, account_id, hash, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            &[
                &t.name,
                &t.scope.as_str(),
                &account_id,
                &t.hash,
                &utc(t.now),
                &t.expires_at.map(utc),
            ],
        )
        .await;
    match res {
        Ok(r) => by_id(c, r.get(0), ctx).await,
        Err(e) if is_unique_violation(&e) => Err(StoreError::Conflict(format!(
            "a token named {:?} exists; revoke it first or choose another name",
            t.name
        ))),
        Err(e) => Err(backend(ctx)(e)),
    }
}

pub async fn list<C: GenericClient>(c: &C) -> StoreResult<Vec<TokenRow>> {
    c.query(&format!("{SELECT} ORDER BY t.name, t.id"), &[])
        .await
        .map_err(backend("list tokens"))?
        .iter()
        .map(from_row)
        .collect()
}

pub async fn revoke<C: GenericClient>(
    c: &C,
    name: &str,
    now: DateTime<Utc>,
) -> StoreResult<TokenRow> {
    let ctx = "revoke token";
    let id: i64 = c
        .query_opt(
            "UPDATE api_tokens SET revoked_at = $2 WHERE name = $1 AND revoked_at IS NULL RETURNING id",
            &[&name, &utc(now)],
        )
        .await
        .map_err(backend(ctx))?
        .map(|r| r.get(0))
        .ok_or_else(|| StoreError::NotFound {
            what: "live token",
            name: name.to_string(),
        })?;
    by_id(c, id, ctx).await
}

pub async fn by_hash<C: GenericClient>(c: &C, hash: &str) -> StoreResult<Option<TokenRow>> {
    c.query_opt(&format!("{SELECT} WHERE t.hash = $1"), &[&hash])
        .await
        .map_err(backend("read token"))?
        .as_ref()
        .map(from_row)
        .transpose()
}

pub async fn touch<C: GenericClient>(c: &C, id: i64, now: DateTime<Utc>) -> StoreResult<()> {
    c.execute(
        "UPDATE api_tokens SET last_used_at = $2 WHERE id = $1",
        &[&id, &utc(now)],
    )
    .await
    .map_err(backend("record token use"))?;
    Ok(())
}
