//! `reporting`: the account's event log.

use std::fmt;

use chrono::NaiveDateTime;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

use crate::lenient;

/// One event of the LastPass event log.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Event {
    /// When it happened (US/Eastern wall time per the reporting docs; no zone on the wire).
    #[serde(
        rename(deserialize = "Time"),
        deserialize_with = "lenient::required_date"
    )]
    pub time: NaiveDateTime,
    /// Who acted (an admin for admin actions, the user for logins).
    #[serde(
        rename(deserialize = "Username"),
        default,
        deserialize_with = "lenient::string"
    )]
    pub username: String,
    /// Source IP address.
    #[serde(
        rename(deserialize = "IP_Address"),
        default,
        deserialize_with = "lenient::string"
    )]
    pub ip_address: String,
    /// The action, localised to the admin's language ("Make Admin", "Failed Login Attempt"…).
    #[serde(
        rename(deserialize = "Action"),
        default,
        deserialize_with = "lenient::string"
    )]
    pub action: String,
    /// Details, often the user acted upon.
    #[serde(
        rename(deserialize = "Data"),
        default,
        deserialize_with = "lenient::string"
    )]
    pub data: String,
}

/// A filter for `reporting`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventQuery {
    /// Oldest event time (inclusive, US/Eastern).
    pub from: Option<NaiveDateTime>,
    /// Newest event time (inclusive, US/Eastern).
    pub to: Option<NaiveDateTime>,
    /// One user's events; `None` for all users.
    pub user: Option<String>,
    /// Free-text filter LastPass applies.
    pub search: Option<String>,
    /// Admin events only.
    pub admin_only: bool,
    /// Stop after this many events (newest first); `None` for all.
    pub limit: Option<usize>,
}

/// One reply of `reporting`.
#[derive(Debug, Default, Deserialize)]
pub struct ReportingReply {
    /// `OK` normally.
    #[serde(default, deserialize_with = "lenient::text")]
    pub status: Option<String>,
    /// The cursor for older events: a microsecond timestamp, `null` when complete.
    #[serde(default)]
    pub next: Option<serde_json::Value>,
    /// `Event1`, `Event2`, … in order, or `[]` when there are none.
    #[serde(default)]
    pub data: EventMap,
    /// Error messages, when LastPass sends them.
    #[serde(default, deserialize_with = "lenient::list")]
    pub errors: Vec<String>,
    /// The singular variant.
    #[serde(default, deserialize_with = "lenient::list")]
    pub error: Vec<String>,
}

/// Events keyed `EventN`, returned in N order (not in the key's text order, where Event10 would
/// come before Event2).
#[derive(Debug, Default)]
pub struct EventMap(pub Vec<Event>);

impl<'de> Deserialize<'de> for EventMap {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = EventMap;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object of events keyed EventN, or a list")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<EventMap, A::Error> {
                let mut keyed: Vec<(u64, Event)> = Vec::with_capacity(map.size_hint().unwrap_or(0));
                let mut pos = 0u64;
                while let Some(key) = map.next_key::<String>()? {
                    let event: Event = map.next_value()?;
                    let n = key
                        .trim_start_matches(|c: char| !c.is_ascii_digit())
                        .parse::<u64>()
                        .unwrap_or(u64::MAX / 2 + pos);
                    pos += 1;
                    keyed.push((n, event));
                }
                keyed.sort_by_key(|(n, _)| *n);
                Ok(EventMap(keyed.into_iter().map(|(_, e)| e).collect()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<EventMap, A::Error> {
                let mut out = Vec::new();
                while let Some(e) = seq.next_element::<Event>()? {
                    out.push(e);
                }
                Ok(EventMap(out))
            }
            fn visit_unit<E: de::Error>(self) -> Result<EventMap, E> {
                Ok(EventMap(Vec::new()))
            }
        }
        d.deserialize_any(V)
    }
}
