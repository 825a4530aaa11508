//! `lpgate token create|list|revoke`: API tokens. The token is printed once; the store keeps
//! only its keyed hash (`lpgate_engine::token`).

use anyhow::bail;
use chrono::{DateTime, Utc};
use lpgate_engine::generate_token;
use lpgate_store::{NewToken, StoreError, TokenScope};

use crate::cli::{FormatArg, GlobalArgs, TokenCommand, TokenCreateArgs};
use crate::command::UsageError;
use crate::command::list::parse_instant;
use crate::context::{Ctx, OpenStore};
use crate::output;

/// Runs a `token` subcommand.
pub async fn run<S: OpenStore>(global: &GlobalArgs, cmd: TokenCommand) -> anyhow::Result<()> {
    match cmd {
        TokenCommand::Create(a) => create::<S>(global, a).await,
        TokenCommand::List(f) => list::<S>(global, f).await,
        TokenCommand::Revoke(a) => revoke::<S>(global, &a.name).await,
    }
}

/// Parses `--expires`: `90d`, `12h`, `30m`, `2w` from now, or a date / RFC 3339 instant that
/// must lie in the future.
pub fn parse_expires(text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, UsageError> {
    let t = text.trim();
    let bad = || {
        UsageError(format!(
            "invalid --expires {t:?}: expected a positive duration (90d, 12h, 30m, 2w) or a future date"
        ))
    };
    if let Some(unit) = t.chars().last()
        && unit.is_ascii_alphabetic()
        && t.len() > 1
    {
        let n: i64 = t[..t.len() - 1].parse().map_err(|_| bad())?;
        let secs = match unit {
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 7 * 86_400,
            _ => return Err(bad()),
        };
        if n <= 0 || n > 100 * 365 {
            return Err(bad());
        }
        return Ok(now + chrono::Duration::seconds(n * secs));
    }
    let at = parse_instant("--expires", t)?;
    if at <= now {
        return Err(bad());
    }
    Ok(at)
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
}

async fn create<S: OpenStore>(global: &GlobalArgs, a: TokenCreateArgs) -> anyhow::Result<()> {
    let scope = TokenScope::parse(&a.scope).ok_or_else(|| {
        UsageError(format!(
            "invalid --scope {:?}: expected read, write, admin or scim",
            a.scope
        ))
    })?;
    if !valid_name(&a.name) {
        return Err(UsageError(format!(
            "invalid token name {:?}: use 1 to 64 letters, digits, '-', '_' or '.'",
            a.name
        ))
        .into());
    }
    let now = Utc::now();
    let expires_at = a
        .expires
        .as_deref()
        .map(|e| parse_expires(e, now))
        .transpose()?;
    let ctx = Ctx::<S>::open(global).await?;
    let token = generate_token();
    let new = NewToken {
        name: a.name.clone(),
        scope,
        account: a.account.clone(),
        expires_at,
        hash: ctx.key.token_key().hash(&token),
        now,
    };
    match ctx.store.create_token(new).await {
        Ok(row) => {
            eprintln!(
                "token {:?} created ({} scope{}{}); it is shown once, below — store it now",
                row.name,
                row.scope.as_str(),
                row.account
                    .as_deref()
                    .map(|a| format!(", account {a}"))
                    .unwrap_or_default(),
                row.expires_at
                    .map(|e| format!(", expires {}", e.format("%Y-%m-%d %H:%M UTC")))
                    .unwrap_or_default(),
            );
            println!("{token}");
            Ok(())
        }
        Err(StoreError::NotFound { name, .. }) => {
            bail!("no account named {name:?}; `lpgate account list` shows the names")
        }
        Err(e) => Err(e.into()),
    }
}

async fn list<S: OpenStore>(global: &GlobalArgs, f: FormatArg) -> anyhow::Result<()> {
    let ctx = Ctx::<S>::open(global).await?;
    let rows = ctx.store.list_tokens().await?;
    output::print(
        &rows,
        f.format,
        &[
            "name",
            "scope",
            "account",
            "created_at",
            "expires_at",
            "last_used_at",
            "revoked_at",
        ],
    )
}

async fn revoke<S: OpenStore>(global: &GlobalArgs, name: &str) -> anyhow::Result<()> {
    let ctx = Ctx::<S>::open(global).await?;
    match ctx.store.revoke_token(name, Utc::now()).await {
        Ok(_) => {
            eprintln!("token {name:?} revoked");
            Ok(())
        }
        Err(StoreError::NotFound { .. }) => {
            bail!("no live token named {name:?}; `lpgate token list` shows the names")
        }
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[test]
    fn expires_forms() {
        let now = Utc::now();
        assert_eq!(
            parse_expires("90d", now).unwrap(),
            now + chrono::Duration::days(90)
        );
        for bad in ["0d", "-1d", "5x", "d", "2001-01-01", "soon"] {
            let e = parse_expires(bad, now).unwrap_err().0;
            assert!(e.contains(bad), "{e}");
        }
    }
}
