//! `reporting`: the event log, newest first, at most 10,000 events a reply, paged by a
//! microsecond `next` cursor; default (`Event1…` map) and SIEM (`events` array) formats.

use chrono::{NaiveDate, NaiveDateTime};
use serde::ser::{SerializeMap, SerializeStruct};
use serde::{Serialize, Serializer};
use serde_json::Value;

use crate::clock::{eastern_to_micros, micros_to_eastern};
use crate::state::Company;
use crate::state::events::Event;
use crate::wire::Data;
use crate::wire::json::{EmptyArray, Ts, fail, format_ip, to_body};

/// Events per reply, as documented.
pub(crate) const PAGE_LIMIT: usize = 10_000;

/// Answers reporting.
pub(crate) fn reporting(c: &Company, data: Data<'_>) -> Vec<u8> {
    let q = match Query::parse(data) {
        Ok(q) => q,
        Err(msg) => return fail(&[msg]),
    };
    let all = c.events.all();
    let lo = all.partition_point(|e| e.micros < q.from);
    let hi = all.partition_point(|e| e.micros <= q.upper);
    let window = all.get(lo..hi.max(lo)).unwrap_or_default();
    let mut matching = window.iter().rev().filter(|e| q.matches(e));
    let page: Vec<&Event> = matching.by_ref().take(PAGE_LIMIT).collect();
    let next = matching.next().map(|e| e.micros);
    if q.siem {
        to_body(&SiemReply {
            next,
            events: &page,
        })
    } else {
        to_body(&Reply {
            next,
            events: &page,
        })
    }
}

/// The filters of one reporting call.
struct Query {
    from: i64,
    upper: i64,
    user: Option<String>,
    search: Option<String>,
    admin_only: bool,
    siem: bool,
}

impl Query {
    fn parse(data: Data<'_>) -> Result<Self, String> {
        let from = match data.str("from").filter(|s| !s.trim().is_empty()) {
            Some(s) => eastern_to_micros(parse_time(s, false).ok_or("Invalid from date")?),
            None => i64::MIN,
        };
        let to = match data.str("to").filter(|s| !s.trim().is_empty()) {
            Some(s) => eastern_to_micros(parse_time(s, true).ok_or("Invalid to date")?) + 999_999,
            None => i64::MAX,
        };
        let next = match data.get("next") {
            None => i64::MAX,
            Some(Value::Number(n)) => n.as_i64().ok_or("Invalid next")?,
            Some(Value::String(s)) if s.trim().is_empty() => i64::MAX,
            Some(Value::String(s)) => s.trim().parse().map_err(|_| "Invalid next")?,
            Some(_) => return Err("Invalid next".to_owned()),
        };
        let user = data
            .str("user")
            .map(str::trim)
            .filter(|u| !u.is_empty() && !u.eq_ignore_ascii_case("allusers"))
            .map(str::to_lowercase);
        let search = data
            .str("search")
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_lowercase);
        Ok(Self {
            from,
            upper: to.min(next),
            user,
            search,
            admin_only: data.flag("admin"),
            siem: data
                .str("format")
                .is_some_and(|f| f.eq_ignore_ascii_case("siem")),
        })
    }

    fn matches(&self, e: &Event) -> bool {
        if self.admin_only && !e.admin {
            return false;
        }
        if let Some(u) = &self.user
            && !e.username.eq_ignore_ascii_case(u)
        {
            return false;
        }
        if let Some(s) = &self.search {
            let hit = [e.action, e.data.as_str(), e.username.as_str()]
                .iter()
                .any(|f| f.to_lowercase().contains(s.as_str()));
            if !hit {
                return false;
            }
        }
        true
    }
}

/// `"YYYY-MM-DD HH:MM:SS"`, or a bare date (start of day, or end of day for `to`).
fn parse_time(s: &str, end_of_day: bool) -> Option<NaiveDateTime> {
    let s = s.trim();
    if let Ok(t) = NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S") {
        return Some(t);
    }
    let d = NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()?;
    if end_of_day {
        d.and_hms_opt(23, 59, 59)
    } else {
        d.and_hms_opt(0, 0, 0)
    }
}

struct Reply<'a> {
    next: Option<i64>,
    events: &'a [&'a Event],
}

impl Serialize for Reply<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(3))?;
        m.serialize_entry("status", "OK")?;
        m.serialize_entry("next", &self.next)?;
        if self.events.is_empty() {
            m.serialize_entry("data", &EmptyArray)?;
        } else {
            m.serialize_entry("data", &EventMap(self.events))?;
        }
        m.end()
    }
}

struct EventMap<'a>(&'a [&'a Event]);

impl Serialize for EventMap<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (i, e) in self.0.iter().enumerate() {
            m.serialize_entry(&format!("Event{}", i + 1), &EventJson { e, siem: false })?;
        }
        m.end()
    }
}

struct SiemReply<'a> {
    next: Option<i64>,
    events: &'a [&'a Event],
}

impl Serialize for SiemReply<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(3))?;
        m.serialize_entry("status", "OK")?;
        m.serialize_entry("next", &self.next)?;
        let list: Vec<EventJson<'_>> = self
            .events
            .iter()
            .map(|e| EventJson { e, siem: true })
            .collect();
        m.serialize_entry("events", &list)?;
        m.end()
    }
}

struct EventJson<'a> {
    e: &'a Event,
    siem: bool,
}

impl Serialize for EventJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let e = self.e;
        let mut st = s.serialize_struct("Event", 6)?;
        st.serialize_field("Time", &Ts(micros_to_eastern(e.micros)))?;
        st.serialize_field("Username", &e.username)?;
        st.serialize_field("IP_Address", &format_ip(e.ip))?;
        st.serialize_field("Action", e.action)?;
        st.serialize_field("Data", &e.data)?;
        if self.siem {
            st.serialize_field("ID", &e.id.to_string())?;
        } else {
            st.skip_field("ID")?;
        }
        st.end()
    }
}
