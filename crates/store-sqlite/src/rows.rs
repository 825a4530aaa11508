//! Conversions between SQL values and domain/store types, kept here so no SQL type leaks out.

use chrono::{DateTime, NaiveDateTime, Utc};
use rusqlite::Row;

/// The one text format of UTC instants in the file: fixed width, so text order is time order.
pub const UTC_FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.6fZ";
/// LastPass wall-clock times as sent.
pub const LOCAL_FORMAT: &str = "%Y-%m-%d %H:%M:%S";

/// Formats an instant for storage.
pub fn utc(t: DateTime<Utc>) -> String {
    t.format(UTC_FORMAT).to_string()
}

/// Parses a stored instant.
pub fn parse_utc(s: &str) -> rusqlite::Result<DateTime<Utc>> {
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

/// Reads an optional local-time column.
pub fn opt_local(row: &Row, idx: &str) -> rusqlite::Result<Option<NaiveDateTime>> {
    row.get::<_, Option<String>>(idx)?
        .as_deref()
        .map(parse_local)
        .transpose()
}

/// Formats an optional local time.
pub fn local(t: Option<NaiveDateTime>) -> Option<String> {
    t.map(|t| t.format(LOCAL_FORMAT).to_string())
}
