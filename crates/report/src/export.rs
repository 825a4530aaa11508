//! `lpgate export users --map FILE.toml`: LastPass users in the shape an asset or HR system
//! imports, without glue code. The map file chooses and renames fields, rewrites values
//! (`active` → `Enabled`), sets the date format and time zone, and names the key field that
//! identifies a user downstream (it must be present and unique in the export).
//!
//! ```toml
//! key = "email"
//! date_format = "%Y-%m-%d %H:%M"     # strftime; "rfc3339" (the default)
//! time_zone = "Europe/Berlin"        # IANA zone dates are shown in (default UTC)
//! statuses = ["active", "staged"]    # default: every status but deprovisioned
//!
//! [[field]]
//! from = "email"
//! to = "Email Address"
//!
//! [[field]]
//! from = "status"
//! to = "State"
//! values = { active = "Enabled", suspended = "Disabled", staged = "Invited" }
//! ```

use std::collections::{BTreeMap, HashMap};

use chrono::format::{Item, StrftimeItems};
use chrono::{NaiveDateTime, TimeZone};
use chrono_tz::Tz;
use lpgate_store::{QueryLimits, QueryRequest, Store};
use serde::Deserialize;
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::Value;

use crate::ReportError;
use crate::data::Scope;

/// The fields a map may export (columns of the `users` view).
pub const FIELDS: &[&str] = &[
    "account",
    "email",
    "lastpass_id",
    "fullname",
    "status",
    "role",
    "admin",
    "mfa",
    "multifactor",
    "mp_strength",
    "total_score",
    "password_reset_required",
    "never_logged_in",
    "duo_username",
    "linked",
    "created_at",
    "last_login_at",
    "last_pw_change_at",
    "first_seen",
    "last_seen",
    "sites",
    "notes",
    "formfills",
    "applications",
    "attachments",
    "groups",
];

/// Fields holding UTC times (formatted with the map's date format and zone).
const DATE_FIELDS: &[&str] = &[
    "created_at",
    "last_login_at",
    "last_pw_change_at",
    "first_seen",
    "last_seen",
];

/// Fields holding 0/1 flags (exported as true/false).
const BOOL_FIELDS: &[&str] = &["admin", "mfa", "password_reset_required", "never_logged_in"];

/// The statuses a user can have.
const STATUSES: &[&str] = &["active", "suspended", "staged", "deprovisioned"];

/// A map file that cannot be used; the message names the setting and the value at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {message}")]
pub struct MapError {
    /// The file, as named to the user.
    pub file: String,
    /// What is wrong.
    pub message: String,
}

/// The map file as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct MapFile {
    key: String,
    #[serde(default)]
    date_format: Option<String>,
    #[serde(default)]
    time_zone: Option<String>,
    #[serde(default)]
    statuses: Option<Vec<String>>,
    #[serde(default, rename = "field")]
    fields: Vec<FieldFile>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct FieldFile {
    from: String,
    #[serde(default)]
    to: Option<String>,
    #[serde(default)]
    values: BTreeMap<String, String>,
}

/// One exported column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappedField {
    /// Source field (one of [`FIELDS`]).
    pub from: String,
    /// Output name.
    pub to: String,
    /// Value rewrites (source text → output text).
    pub values: BTreeMap<String, String>,
}

/// A checked map.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportMap {
    /// The source field identifying a user (must be one of the mapped fields).
    pub key: String,
    /// strftime format of dates, or `None` for RFC 3339.
    pub date_format: Option<String>,
    /// Zone dates are shown in.
    pub time_zone: Tz,
    /// Statuses exported.
    pub statuses: Vec<String>,
    /// Columns, in order.
    pub fields: Vec<MappedField>,
}

impl ExportMap {
    /// Parses and checks a map file's text; `file` names it in errors.
    pub fn parse(text: &str, file: &str) -> Result<Self, MapError> {
        let bad = |message: String| MapError {
            file: file.to_string(),
            message,
        };
        let raw: MapFile = toml::from_str(text).map_err(|e| bad(e.to_string().trim().into()))?;
        if raw.fields.is_empty() {
            return Err(bad(
                "no [[field]] tables: map at least one field (from = \"email\", to = \"Email\")"
                    .into(),
            ));
        }
        let mut fields: Vec<MappedField> = Vec::new();
        for (i, f) in raw.fields.iter().enumerate() {
            if !FIELDS.contains(&f.from.as_str()) {
                return Err(bad(format!(
                    "field {}: from = {:?} is not a user field (fields: {})",
                    i + 1,
                    f.from,
                    FIELDS.join(", ")
                )));
            }
            let to = f.to.clone().unwrap_or_else(|| f.from.clone());
            if to.trim().is_empty() {
                return Err(bad(format!(
                    "field {} ({}): to = {to:?} is empty",
                    i + 1,
                    f.from
                )));
            }
            if let Some(other) = fields.iter().find(|g| g.to == to) {
                return Err(bad(format!(
                    "field {} ({}): to = {to:?} is already the name of field {:?}",
                    i + 1,
                    f.from,
                    other.from
                )));
            }
            if !f.values.is_empty() && DATE_FIELDS.contains(&f.from.as_str()) {
                return Err(bad(format!(
                    "field {} ({}): values cannot rewrite a date field",
                    i + 1,
                    f.from
                )));
            }
            fields.push(MappedField {
                from: f.from.clone(),
                to,
                values: f.values.clone(),
            });
        }
        if !fields.iter().any(|f| f.from == raw.key) {
            let mapped: Vec<&str> = fields.iter().map(|f| f.from.as_str()).collect();
            return Err(bad(format!(
                "key = {:?}: the key must be one of the mapped fields (mapped: {})",
                raw.key,
                mapped.join(", ")
            )));
        }
        let time_zone = match raw.time_zone.as_deref() {
            None => Tz::UTC,
            Some(z) => z.parse::<Tz>().map_err(|_| {
                bad(format!(
                    "time_zone = {z:?}: not an IANA time zone (e.g. UTC, Europe/Berlin, America/New_York)"
                ))
            })?,
        };
        let date_format = match raw.date_format.as_deref() {
            None | Some("rfc3339") => None,
            Some(f) => {
                if f.is_empty() || StrftimeItems::new(f).any(|i| matches!(i, Item::Error)) {
                    return Err(bad(format!(
                        "date_format = {f:?}: not a valid strftime format (e.g. \"%Y-%m-%d %H:%M\", or \"rfc3339\")"
                    )));
                }
                Some(f.to_string())
            }
        };
        let statuses = match raw.statuses {
            None => STATUSES[..3].iter().map(|s| s.to_string()).collect(),
            Some(list) => {
                if let Some(s) = list.iter().find(|s| !STATUSES.contains(&s.as_str())) {
                    return Err(bad(format!(
                        "statuses: {s:?} is not a status (statuses: {})",
                        STATUSES.join(", ")
                    )));
                }
                list
            }
        };
        Ok(ExportMap {
            key: raw.key,
            date_format,
            time_zone,
            statuses,
            fields,
        })
    }

    fn date(&self, text: &str) -> Value {
        let Ok(t) = NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S") else {
            return Value::String(text.to_string());
        };
        let local = self.time_zone.from_utc_datetime(&t);
        Value::String(match &self.date_format {
            None => local.to_rfc3339(),
            Some(f) => local.format(f).to_string(),
        })
    }

    fn value(&self, field: &MappedField, raw: Value) -> Value {
        let v = if DATE_FIELDS.contains(&field.from.as_str()) {
            match raw {
                Value::String(s) => self.date(&s),
                other => other,
            }
        } else if BOOL_FIELDS.contains(&field.from.as_str()) {
            match raw {
                Value::Number(n) => Value::Bool(n.as_i64().is_some_and(|n| n != 0)),
                other => other,
            }
        } else if field.from == "groups" {
            match raw {
                Value::String(s) => serde_json::from_str(&s).unwrap_or(Value::String(s)),
                other => other,
            }
        } else {
            raw
        };
        let text = match &v {
            Value::String(s) => Some(s.clone()),
            Value::Bool(b) => Some(b.to_string()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        };
        match text.and_then(|t| field.values.get(&t)) {
            Some(to) => Value::String(to.clone()),
            None => v,
        }
    }
}

/// The exported users: column names and rows, in key order.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportTable {
    /// Output names, in order.
    pub columns: Vec<String>,
    /// One row per user.
    pub rows: Vec<Vec<Value>>,
}

/// Why an export failed: the map's key is missing or not unique for some user, or the store
/// failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// A user has no value for the key field.
    #[error(
        "key {key}: {email} (account {account}) has no value for it; choose a key every user has, such as email"
    )]
    MissingKey {
        /// The key field.
        key: String,
        /// The user.
        email: String,
        /// The user's account.
        account: String,
    },
    /// Two users share a key value.
    #[error(
        "key {key}: the value {value:?} belongs to more than one user ({first} and {second}); export one account with --account, or choose a key that is unique"
    )]
    DuplicateKey {
        /// The key field.
        key: String,
        /// The shared value.
        value: String,
        /// The first user (`account/email`).
        first: String,
        /// The second user.
        second: String,
    },
    /// Reading the users failed.
    #[error(transparent)]
    Report(#[from] ReportError),
}

/// Exports the users in scope through the map.
pub async fn export_users<S: Store>(
    store: &S,
    scope: &Scope,
    map: &ExportMap,
) -> Result<ExportTable, ExportError> {
    let mut select: Vec<&str> = vec!["account", "email", "status"];
    for f in &map.fields {
        if !select.contains(&f.from.as_str()) {
            select.push(&f.from);
        }
    }
    let result = store
        .query(QueryRequest {
            sql: format!(
                "SELECT {} FROM users ORDER BY account, email",
                select.join(", ")
            ),
            params: vec![],
            account: match scope {
                Scope::All => None,
                Scope::One { id, .. } => Some(*id),
            },
            limits: QueryLimits {
                timeout: std::time::Duration::from_secs(120),
                max_rows: 50_000_000,
            },
        })
        .await
        .map_err(ReportError::from)?;
    if result.truncated {
        return Err(ReportError::TooLarge.into());
    }
    let index: HashMap<&str, usize> = result
        .columns
        .iter()
        .enumerate()
        .map(|(i, c)| (c.as_str(), i))
        .collect();
    let col = |row: &[Value], name: &str| {
        index
            .get(name)
            .and_then(|i| row.get(*i))
            .cloned()
            .unwrap_or(Value::Null)
    };
    let mut seen: HashMap<String, String> = HashMap::new();
    let mut rows = Vec::new();
    for row in &result.rows {
        let status = col(row, "status");
        if !map
            .statuses
            .iter()
            .any(|s| Some(s.as_str()) == status.as_str())
        {
            continue;
        }
        let who = || {
            format!(
                "{}/{}",
                col(row, "account").as_str().unwrap_or(""),
                col(row, "email").as_str().unwrap_or("")
            )
        };
        let key = match col(row, &map.key) {
            Value::Null => String::new(),
            Value::String(s) => s,
            other => other.to_string(),
        };
        if key.is_empty() {
            return Err(ExportError::MissingKey {
                key: map.key.clone(),
                email: col(row, "email").as_str().unwrap_or("").to_string(),
                account: col(row, "account").as_str().unwrap_or("").to_string(),
            });
        }
        if let Some(first) = seen.insert(key.to_lowercase(), who()) {
            return Err(ExportError::DuplicateKey {
                key: map.key.clone(),
                value: key,
                first,
                second: who(),
            });
        }
        rows.push(
            map.fields
                .iter()
                .map(|f| map.value(f, col(row, &f.from)))
                .collect(),
        );
    }
    Ok(ExportTable {
        columns: map.fields.iter().map(|f| f.to.clone()).collect(),
        rows,
    })
}

impl ExportTable {
    /// CSV with a header row (lists joined with `;`).
    pub fn to_csv(&self) -> Result<Vec<u8>, crate::RenderError> {
        let err = |e: csv::Error| crate::RenderError::Csv(e.to_string());
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(&self.columns).map_err(err)?;
        for row in &self.rows {
            w.write_record(row.iter().map(crate::render::csv_cell))
                .map_err(err)?;
        }
        w.into_inner()
            .map_err(|e| crate::RenderError::Csv(e.to_string()))
    }

    /// A JSON array of objects whose keys keep the map's order.
    pub fn to_json(&self) -> Result<Vec<u8>, crate::RenderError> {
        let rows: Vec<Ordered<'_>> = self
            .rows
            .iter()
            .map(|r| Ordered(&self.columns, r))
            .collect();
        let mut out = serde_json::to_vec_pretty(&rows)
            .map_err(|e| crate::RenderError::Json(e.to_string()))?;
        out.push(b'\n');
        Ok(out)
    }
}

/// One row as a JSON object in column order.
struct Ordered<'a>(&'a [String], &'a [Value]);

impl Serialize for Ordered<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in self.0.iter().zip(self.1) {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    const GOOD: &str = r#"
key = "email"
date_format = "%Y-%m-%d %H:%M"
time_zone = "Europe/Berlin"
[[field]]
from = "email"
to = "Email"
[[field]]
from = "status"
values = { active = "Enabled" }
[[field]]
from = "last_login_at"
to = "Last Login"
"#;

    #[test]
    fn a_good_map_converts_dates_and_values() {
        let m = ExportMap::parse(GOOD, "m.toml").unwrap();
        assert_eq!(m.fields[1].to, "status");
        assert_eq!(m.statuses, ["active", "suspended", "staged"]);
        let d = m.value(&m.fields[2], Value::String("2026-01-15 12:30:00".into()));
        assert_eq!(d, Value::String("2026-01-15 13:30".into()));
        let s = m.value(&m.fields[1], Value::String("active".into()));
        assert_eq!(s, Value::String("Enabled".into()));
        let s = m.value(&m.fields[1], Value::String("staged".into()));
        assert_eq!(s, Value::String("staged".into()));
        let rfc = ExportMap::parse(
            "key = \"email\"\n[[field]]\nfrom = \"email\"\n[[field]]\nfrom = \"created_at\"\n",
            "m",
        )
        .unwrap();
        assert_eq!(
            rfc.value(&rfc.fields[1], Value::String("2026-01-15 12:30:00".into())),
            Value::String("2026-01-15T12:30:00+00:00".into())
        );
    }

    #[test]
    fn bad_maps_name_the_setting_and_value() {
        let cases = [
            (
                GOOD.replace("Europe/Berlin", "Mars/Olympus"),
                "time_zone = \"Mars/Olympus\"",
            ),
            (
                GOOD.replace("key = \"email\"", "key = \"fullname\""),
                "key = \"fullname\"",
            ),
            (
                GOOD.replace("from = \"status\"", "from = \"colour\""),
                "from = \"colour\"",
            ),
            (GOOD.replace("%Y-%m-%d %H:%M", "%Q"), "date_format = \"%Q\""),
            (
                GOOD.replace("to = \"Last Login\"", "to = \"Email\""),
                "to = \"Email\"",
            ),
            (format!("colour = 1\n{GOOD}"), "colour"),
            ("key = \"email\"\n".to_string(), "no [[field]]"),
            (format!("statuses = [\"gone\"]\n{GOOD}"), "\"gone\""),
        ];
        for (text, expect) in cases {
            let e = ExportMap::parse(&text, "map.toml").unwrap_err().to_string();
            assert!(e.starts_with("map.toml: "), "{e}");
            assert!(e.contains(expect), "{expect}: {e}");
        }
    }
}
