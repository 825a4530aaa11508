//! `expiredmasterpwlist`: members whose master password is older than a year, by id, with a
//! continuation token.

use chrono::{NaiveDateTime, TimeDelta};
use serde::Serialize;
use serde_json::Value;

use crate::state::Company;
use crate::wire::json::{Ts, fail, to_body};
use crate::wire::{Data, value_uint};

/// Largest and default `limit`, as documented.
const MAX_LIMIT: u64 = 500;

/// Age after which a master password counts as expired (the emulator's choice).
const EXPIRY_DAYS: i64 = 365;

#[derive(Serialize)]
struct Reply<'a> {
    status: &'static str,
    continuation: Continuation,
    items: Vec<Item<'a>>,
}

#[derive(Serialize)]
struct Continuation {
    token: Option<String>,
    remaining_item_count: usize,
}

#[derive(Serialize)]
struct Item<'a> {
    user_id: u64,
    user_name: &'a str,
    last_pw_change: Ts,
}

/// Answers expiredmasterpwlist. The token is the id of the last user returned.
pub(crate) fn expiredmasterpwlist(c: &Company, now: NaiveDateTime, data: Data<'_>) -> Vec<u8> {
    let limit = match data.get("limit") {
        None => MAX_LIMIT,
        Some(v) => match value_uint(v) {
            Some(n) => n.clamp(1, MAX_LIMIT),
            None => return fail(&["Invalid limit".to_owned()]),
        },
    } as usize;
    let after = match data.get("continuation_token") {
        None => None,
        Some(Value::String(s)) if s.is_empty() => None,
        Some(v) => match value_uint(v) {
            Some(id) => Some(id),
            None => return fail(&["Invalid continuation_token".to_owned()]),
        },
    };
    let cutoff = now - TimeDelta::days(EXPIRY_DAYS);
    let start = after.map_or(0, |id| c.users.partition_point(|u| u.id <= id));
    let mut expired = c
        .users
        .get(start..)
        .unwrap_or_default()
        .iter()
        .filter(|u| u.last_pw_change < cutoff);
    let items: Vec<Item<'_>> = expired
        .by_ref()
        .take(limit)
        .map(|u| Item {
            user_id: u.id,
            user_name: &u.username,
            last_pw_change: Ts(u.last_pw_change),
        })
        .collect();
    let remaining = expired.count();
    let token = (remaining > 0)
        .then(|| items.last().map(|i| i.user_id.to_string()))
        .flatten();
    to_body(&Reply {
        status: "Success",
        continuation: Continuation {
            token,
            remaining_item_count: remaining,
        },
        items,
    })
}
