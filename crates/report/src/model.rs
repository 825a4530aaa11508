//! The shape every report has, whatever it measures: what it is, which accounts and which sync
//! runs it was computed from (an auditor's first question is "as of when?"), headline figures,
//! and sections of rows. Renderers (`render`) only ever see this structure.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

/// One finished report, ready to render.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// Machine name (`mfa`, `coverage`, …), as in `lpgate report NAME`.
    pub name: String,
    /// Title for people.
    pub title: String,
    /// What the report shows and how it counts, in a sentence or two.
    pub description: String,
    /// The accounts it covers, by name.
    pub accounts: Vec<String>,
    /// When it was produced (UTC).
    pub generated_at: DateTime<Utc>,
    /// The sync run each account's figures come from.
    pub sources: Vec<Source>,
    /// The parameters it was produced with (`days`, `weak_below`, the HR file…).
    pub parameters: Vec<Parameter>,
    /// Headline figures.
    pub summary: Vec<Figure>,
    /// Sections of rows, in reading order.
    pub sections: Vec<Section>,
    /// Caveats a reader must know (an account never synced, data LastPass did not provide…).
    pub notes: Vec<String>,
}

/// The sync run one account's figures come from: the newest successful one.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Source {
    /// Account name.
    pub account: String,
    /// The run's id (`lpgate` `sync_runs`), `None` when the account never synced successfully.
    pub run_id: Option<i64>,
    /// When that run finished (UTC).
    pub finished_at: Option<DateTime<Utc>>,
    /// The newest run's outcome when it is not that run (a later sync failed), so a reader
    /// knows the figures may be stale.
    pub later_failure: Option<String>,
}

/// A named input of the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Parameter {
    /// Stable key.
    pub key: String,
    /// Value as text.
    pub value: String,
}

/// One headline number.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Figure {
    /// Stable key.
    pub key: String,
    /// Label for people.
    pub label: String,
    /// The value (a count, a percentage, or null when it cannot be known).
    pub value: Value,
}

/// A column of a section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Column {
    /// Stable snake_case key (JSON object key, CSV header).
    pub key: String,
    /// Heading for people (HTML).
    pub label: String,
}

/// A table of rows under a heading.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Section {
    /// Stable key (the CSV `section` column).
    pub key: String,
    /// Heading.
    pub title: String,
    /// What the rows are.
    pub description: String,
    /// Columns, in order.
    pub columns: Vec<Column>,
    /// Rows, each as long as `columns`.
    pub rows: Vec<Vec<Value>>,
}

impl Section {
    /// An empty section with these `(key, label)` columns.
    pub fn new(key: &str, title: &str, description: &str, columns: &[(&str, &str)]) -> Self {
        Section {
            key: key.into(),
            title: title.into(),
            description: description.into(),
            columns: columns
                .iter()
                .map(|(k, l)| Column {
                    key: (*k).into(),
                    label: (*l).into(),
                })
                .collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row (one value per column, in column order).
    pub fn push(&mut self, row: Vec<Value>) {
        debug_assert_eq!(row.len(), self.columns.len(), "section {}", self.key);
        self.rows.push(row);
    }
}

impl Report {
    /// A figure by key (tests, the dashboard later).
    pub fn figure(&self, key: &str) -> Option<&Value> {
        self.summary.iter().find(|f| f.key == key).map(|f| &f.value)
    }

    /// A section by key.
    pub fn section(&self, key: &str) -> Option<&Section> {
        self.sections.iter().find(|s| s.key == key)
    }
}

/// A figure.
pub(crate) fn figure(key: &str, label: &str, value: impl Into<Value>) -> Figure {
    Figure {
        key: key.into(),
        label: label.into(),
        value: value.into(),
    }
}

/// A parameter.
pub(crate) fn parameter(key: &str, value: impl ToString) -> Parameter {
    Parameter {
        key: key.into(),
        value: value.to_string(),
    }
}

/// A share as a percentage with one decimal, or null when there is nothing to divide by.
pub(crate) fn percent(part: usize, whole: usize) -> Value {
    if whole == 0 {
        return Value::Null;
    }
    let p = (1000.0 * part as f64 / whole as f64).round() / 10.0;
    serde_json::Number::from_f64(p)
        .map(Value::Number)
        .unwrap_or(Value::Null)
}
