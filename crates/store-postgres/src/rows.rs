//! Conversions between stored values and store types, in the SQLite store's formats (so
//! `lpgate migrate` copies rows unchanged and the audit chain hashes the same text).

use chrono::{DateTime, NaiveDateTime, Utc};
use lpgate_store::StoreError;

/// The one text format of UTC instants: fixed width, so text order is time order.
pub const UTC_FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.6fZ";
/// LastPass wall-clock times as sent.
pub const LOCAL_FORMAT: &str = "%Y-%m-%d %H:%M:%S";

/// Formats an instant for storage.
pub fn utc(t: DateTime<Utc>) -> String {
    t.format(UTC_FORMAT).to_string()
}

fn bad(what: &str, value: &str) -> StoreError {
    StoreError::Backend {
        context: "read stored value",
        message: format!("bad stored {what}: {value:?}"),
    }
}

/// Parses a stored instant.
pub fn parse_utc(s: &str) -> Result<DateTime<Utc>, StoreError> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    NaiveDateTime::parse_from_str(s, UTC_FORMAT)
        .map(|n| n.and_utc())
        .map_err(|_| bad("instant", s))
}

/// Parses an optional stored instant.
pub fn opt_utc(s: Option<String>) -> Result<Option<DateTime<Utc>>, StoreError> {
    s.as_deref().map(parse_utc).transpose()
}

/// Parses a stored local time.
pub fn parse_local(s: &str) -> Result<NaiveDateTime, StoreError> {
    NaiveDateTime::parse_from_str(s, LOCAL_FORMAT).map_err(|_| bad("local time", s))
}

/// Formats an optional local time.
pub fn local(t: Option<NaiveDateTime>) -> Option<String> {
    t.map(|t| t.format(LOCAL_FORMAT).to_string())
}

/// A LastPass wall-clock time as stored: seconds of the naive time since 1970-01-01 00:00.
pub fn local_secs(t: Option<NaiveDateTime>) -> Option<i64> {
    t.map(|t| t.and_utc().timestamp())
}

/// Reads a `local_secs` value back.
pub fn from_local_secs(s: Option<i64>) -> Result<Option<NaiveDateTime>, StoreError> {
    s.map(|s| secs_to_utc(s).map(|t| t.naive_utc())).transpose()
}

/// An instant from Unix seconds.
pub fn secs_to_utc(s: i64) -> Result<DateTime<Utc>, StoreError> {
    DateTime::from_timestamp(s, 0).ok_or_else(|| bad("Unix time", &s.to_string()))
}

/// Reads an optional Unix-seconds value.
pub fn opt_secs(s: Option<i64>) -> Result<Option<DateTime<Utc>>, StoreError> {
    s.map(secs_to_utc).transpose()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn formats_round_trip() {
        let t = NaiveDateTime::parse_from_str("2026-03-01 07:08:09.012345", "%Y-%m-%d %H:%M:%S%.f")
            .unwrap()
            .and_utc();
        assert_eq!(utc(t), "2026-03-01T07:08:09.012345Z");
        assert_eq!(parse_utc(&utc(t)).unwrap(), t);
        let l = t.naive_utc();
        assert_eq!(local(Some(l)).unwrap(), "2026-03-01 07:08:09");
        assert_eq!(
            from_local_secs(local_secs(Some(
                parse_local("2026-03-01 07:08:09").unwrap()
            )))
            .unwrap()
            .unwrap(),
            parse_local("2026-03-01 07:08:09").unwrap()
        );
    }
}
