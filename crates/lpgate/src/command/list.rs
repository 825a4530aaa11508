//! Listing commands: `users`, `groups`, `folders`, `changes`, `events` — all from the store.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use lpgate_domain::{AccountStatus, ChangeKind};
use lpgate_store::UserQuery;

use crate::cli::{ChangesArgs, EventsArgs, GlobalArgs, ListArgs, UsersArgs};
use crate::command::UsageError;
use crate::context::{Ctx, OpenStore};
use crate::output;

/// Parses `7d`, `12h`, `30m`, `2w` (ago from `now`) or a date / RFC 3339 instant.
pub fn parse_since(
    flag: &str,
    text: &str,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, UsageError> {
    let t = text.trim();
    if let Some(unit) = t.chars().last()
        && let Ok(n) = t[..t.len() - unit.len_utf8()].parse::<i64>()
    {
        let secs = match unit {
            'm' => Some(60),
            'h' => Some(3600),
            'd' => Some(86_400),
            'w' => Some(7 * 86_400),
            _ => None,
        };
        if let Some(s) = secs {
            return Ok(now - chrono::Duration::seconds(n.saturating_mul(s)));
        }
    }
    parse_instant(flag, t)
}

/// Parses `YYYY-MM-DD` (midnight UTC), `YYYY-MM-DD HH:MM:SS` (UTC) or RFC 3339.
pub fn parse_instant(flag: &str, t: &str) -> Result<DateTime<Utc>, UsageError> {
    if let Ok(d) = DateTime::parse_from_rfc3339(t) {
        return Ok(d.with_timezone(&Utc));
    }
    if let Ok(d) = NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S") {
        return Ok(d.and_utc());
    }
    if let Ok(d) = NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        return Ok(d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc());
    }
    Err(UsageError(format!(
        "invalid {flag} {t:?}: expected 7d, 12h, 30m, 2w, YYYY-MM-DD, or an RFC 3339 time"
    )))
}

/// `lpgate users`.
pub async fn users<S: OpenStore>(global: &GlobalArgs, a: UsersArgs) -> anyhow::Result<()> {
    if let Some(s) = &a.status {
        s.parse::<AccountStatus>()
            .map_err(|e| UsageError(format!("--status: {e}")))?;
    }
    let as_of = a
        .as_of
        .as_deref()
        .map(|t| parse_instant("--as-of", t))
        .transpose()?;
    let ctx = Ctx::<S>::open(global).await?;
    if let Some(acc) = &a.account {
        ctx.store.account(acc).await?;
    }
    let rows = ctx
        .store
        .list_users(UserQuery {
            account: a.account,
            status: a.status,
            admin_only: a.admin,
            group: a.group,
            as_of,
        })
        .await?;
    output::print(
        &rows,
        a.format,
        &[
            "account",
            "email",
            "fullname",
            "status",
            "role",
            "last_login",
            "multifactor",
            "groups",
        ],
    )
}

/// `lpgate groups`.
pub async fn groups<S: OpenStore>(global: &GlobalArgs, a: ListArgs) -> anyhow::Result<()> {
    let ctx = Ctx::<S>::open(global).await?;
    let rows = ctx.store.list_groups(a.account).await?;
    output::print(&rows, a.format, &["account", "name", "members", "id"])
}

/// `lpgate folders`.
pub async fn folders<S: OpenStore>(global: &GlobalArgs, a: ListArgs) -> anyhow::Result<()> {
    let ctx = Ctx::<S>::open(global).await?;
    let rows = ctx.store.list_folders(a.account).await?;
    output::print(
        &rows,
        a.format,
        &[
            "account",
            "id",
            "name",
            "members",
            "administrators",
            "score",
            "deleted",
        ],
    )
}

/// `lpgate changes`.
pub async fn changes<S: OpenStore>(global: &GlobalArgs, a: ChangesArgs) -> anyhow::Result<()> {
    if let Some(k) = &a.kind
        && ChangeKind::parse(k).is_none()
    {
        let all: Vec<&str> = ChangeKind::ALL.iter().map(|k| k.as_str()).collect();
        return Err(UsageError(format!(
            "invalid --kind {k:?}: expected one of {}",
            all.join(", ")
        ))
        .into());
    }
    let since = a
        .since
        .as_deref()
        .map(|s| parse_since("--since", s, Utc::now()))
        .transpose()?;
    let ctx = Ctx::<S>::open(global).await?;
    let rows = ctx
        .store
        .list_changes(a.account, since, a.kind, None, a.limit)
        .await?;
    output::print(
        &rows,
        a.format,
        &[
            "account", "at", "kind", "subject", "related", "before", "after",
        ],
    )
}

/// `lpgate events`.
pub async fn events<S: OpenStore>(global: &GlobalArgs, a: EventsArgs) -> anyhow::Result<()> {
    let since = a
        .since
        .as_deref()
        .map(|s| parse_since("--since", s, Utc::now()))
        .transpose()?;
    let ctx = Ctx::<S>::open(global).await?;
    let rows = ctx
        .store
        .list_events(a.account, since, None, a.limit)
        .await?;
    output::print(
        &rows,
        a.format,
        &[
            "account",
            "time_local",
            "username",
            "action",
            "data",
            "ip_address",
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_forms() {
        let now = parse_instant("x", "2026-11-24T00:00:00Z").unwrap();
        assert_eq!(
            parse_since("--since", "7d", now).unwrap().to_rfc3339(),
            "2026-11-17T00:00:00+00:00"
        );
        assert_eq!(
            parse_since("--since", "12h", now).unwrap().to_rfc3339(),
            "2026-11-23T12:00:00+00:00"
        );
        assert_eq!(
            parse_since("--since", "2026-03-01", now)
                .unwrap()
                .to_rfc3339(),
            "2026-03-01T00:00:00+00:00"
        );
        let e = parse_since("--since", "yesterday", now)
            .unwrap_err()
            .to_string();
        assert!(e.contains("--since") && e.contains("yesterday"), "{e}");
    }
}
