//! Conversions between SQL values and domain/store types, kept here so no SQL type leaks out.

use chrono::{DateTime, NaiveDateTime, Utc};
use rusqlite::Row;

/// The one text format of UTC instants in the file: fixed width, so text order is time order.
pub const UTC_FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.6fZ";
/// LastPass wall-clock times as sent.
pub const LOCAL_FORMAT: &str = "%Y-%m-%d %H:%M:%S";

/// Formats an instant for storage (`UTC_FORMAT`, written by hand: a first sync formats
/// hundreds of thousands of these and a format-string formatter dominates the write).
pub fn utc(t: DateTime<Utc>) -> String {
    let n = t.naive_utc();
    let mut s = String::with_capacity(27);
    push_date_time(&mut s, n, 'T');
    s.push('.');
    push_num(&mut s, n.and_utc().timestamp_subsec_micros(), 6);
    s.push('Z');
    s
}

fn push_num(s: &mut String, v: u32, width: usize) {
    let mut buf = [b'0'; 10];
    let mut v = v;
    for i in (0..width).rev() {
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
    }
    s.extend(buf[..width].iter().map(|b| char::from(*b)));
}

fn push_date_time(s: &mut String, n: NaiveDateTime, sep: char) {
    use chrono::{Datelike, Timelike};
    push_num(s, n.year().clamp(0, 9999) as u32, 4);
    s.push('-');
    push_num(s, n.month(), 2);
    s.push('-');
    push_num(s, n.day(), 2);
    s.push(sep);
    push_num(s, n.hour(), 2);
    s.push(':');
    push_num(s, n.minute(), 2);
    s.push(':');
    push_num(s, n.second(), 2);
}

/// Parses a stored instant.
pub fn parse_utc(s: &str) -> rusqlite::Result<DateTime<Utc>> {
    // RFC 3339's hand-written parser reads `UTC_FORMAT` several times faster than the
    // format-string parser, which stays as the fallback (and the error) for anything else.
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    NaiveDateTime::parse_from_str(s, UTC_FORMAT)
        .map(|n| n.and_utc())
        .map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
        })
}

/// Parses a stored local time.
pub fn parse_local(s: &str) -> rusqlite::Result<NaiveDateTime> {
    NaiveDateTime::parse_from_str(s, LOCAL_FORMAT).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    })
}

/// Reads an optional instant column.
pub fn opt_utc(row: &Row, idx: &str) -> rusqlite::Result<Option<DateTime<Utc>>> {
    row.get::<_, Option<String>>(idx)?
        .as_deref()
        .map(parse_utc)
        .transpose()
}

/// Formats an optional local time (`LOCAL_FORMAT`).
pub fn local(t: Option<NaiveDateTime>) -> Option<String> {
    t.map(|t| {
        let mut s = String::with_capacity(19);
        push_date_time(&mut s, t, ' ');
        s
    })
}

/// A LastPass wall-clock time as stored in `users`: seconds of the naive time since
/// 1970-01-01 00:00 (no zone applied).
pub fn local_secs(t: Option<NaiveDateTime>) -> Option<i64> {
    t.map(|t| t.and_utc().timestamp())
}

/// Reads an optional `local_secs` column.
pub fn opt_local_secs(row: &Row, idx: &str) -> rusqlite::Result<Option<NaiveDateTime>> {
    row.get::<_, Option<i64>>(idx)?
        .map(|s| secs_to_utc(s).map(|t| t.naive_utc()))
        .transpose()
}

/// Reads an optional Unix-seconds column.
pub fn opt_utc_secs(row: &Row, idx: &str) -> rusqlite::Result<Option<DateTime<Utc>>> {
    row.get::<_, Option<i64>>(idx)?.map(secs_to_utc).transpose()
}

/// An instant from Unix seconds (LastPass's times are stored so).
pub fn secs_to_utc(s: i64) -> rusqlite::Result<DateTime<Utc>> {
    DateTime::from_timestamp(s, 0).ok_or(rusqlite::Error::IntegralValueOutOfRange(0, s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_formatting_matches_the_formats() {
        let t = NaiveDateTime::parse_from_str("2026-03-01 07:08:09.012345", "%Y-%m-%d %H:%M:%S%.f")
            .unwrap()
            .and_utc();
        assert_eq!(utc(t), t.format(UTC_FORMAT).to_string());
        assert_eq!(parse_utc(&utc(t)).unwrap(), t);
        let l = t.naive_utc();
        assert_eq!(local(Some(l)).unwrap(), l.format(LOCAL_FORMAT).to_string());
    }

    #[test]
    fn local_seconds_round_trip() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        let l = NaiveDateTime::parse_from_str("2026-03-29 02:30:00", LOCAL_FORMAT).unwrap();
        let back = conn
            .query_row("SELECT ?1 AS t", [local_secs(Some(l))], |r| {
                opt_local_secs(r, "t")
            })
            .unwrap();
        assert_eq!(back, Some(l));
    }
}
