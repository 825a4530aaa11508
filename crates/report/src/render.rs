//! Rendering a [`Report`]: JSON (one object, stable snake_case keys), CSV (one table, every
//! section's rows with a leading `section` column) and standalone HTML (askama templates
//! compiled into the binary: no external assets, a print stylesheet, one page per section,
//! table headers repeated on every printed page, and the sync runs the figures come from).

use askama::Template;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use crate::model::Report;

/// An output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One JSON object.
    Json,
    /// CSV with a header row.
    Csv,
    /// A standalone, printable HTML page.
    Html,
}

impl Format {
    /// Parses `json`, `csv` or `html`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "json" => Some(Format::Json),
            "csv" => Some(Format::Csv),
            "html" => Some(Format::Html),
            _ => None,
        }
    }

    /// The format a file name's extension asks for (`.json`, `.csv`, `.html`/`.htm`).
    pub fn from_extension(path: &std::path::Path) -> Option<Self> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "json" => Some(Format::Json),
            "csv" => Some(Format::Csv),
            "html" | "htm" => Some(Format::Html),
            _ => None,
        }
    }

    /// The HTTP `Content-Type`.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Json => "application/json",
            Format::Csv => "text/csv; charset=utf-8",
            Format::Html => "text/html; charset=utf-8",
        }
    }

    /// The file extension, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Csv => "csv",
            Format::Html => "html",
        }
    }
}

/// Why rendering failed (never expected; the message says which renderer).
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// The HTML template failed.
    #[error("rendering the HTML report failed: {0}")]
    Html(#[from] askama::Error),
    /// Writing CSV failed.
    #[error("rendering the CSV report failed: {0}")]
    Csv(String),
    /// Writing JSON failed.
    #[error("rendering the JSON report failed: {0}")]
    Json(String),
}

/// Renders a report.
pub fn render(report: &Report, format: Format) -> Result<Vec<u8>, RenderError> {
    match format {
        Format::Json => {
            let mut text = serde_json::to_string_pretty(&to_json(report))
                .map_err(|e| RenderError::Json(e.to_string()))?;
            text.push('\n');
            Ok(text.into_bytes())
        }
        Format::Csv => to_csv(report),
        Format::Html => Ok(Page::new(report).render()?.into_bytes()),
    }
}

/// The suggested file name: `lpgate-NAME[-ACCOUNT]-YYYYMMDD-HHMMSS.EXT`.
pub fn file_name(report: &Report, account: Option<&str>, format: Format) -> String {
    let mut name = format!("lpgate-{}", report.name);
    if let Some(a) = account {
        name.push('-');
        name.extend(a.chars().map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        }));
    }
    format!(
        "{name}-{}.{}",
        report.generated_at.format("%Y%m%d-%H%M%S"),
        format.extension()
    )
}

/// The JSON form: summary and parameters as objects, rows as objects keyed by column.
pub fn to_json(r: &Report) -> Value {
    let sections: Vec<Value> = r
        .sections
        .iter()
        .map(|s| {
            let rows: Vec<Value> = s
                .rows
                .iter()
                .map(|row| {
                    Value::Object(
                        s.columns
                            .iter()
                            .map(|c| c.key.clone())
                            .zip(row.iter().cloned())
                            .collect::<Map<_, _>>(),
                    )
                })
                .collect();
            json!({
                "key": s.key, "title": s.title, "description": s.description,
                "columns": s.columns, "rows": rows,
            })
        })
        .collect();
    json!({
        "report": r.name,
        "title": r.title,
        "description": r.description,
        "accounts": r.accounts,
        "generated_at": stamp(r.generated_at),
        "sources": r.sources.iter().map(|s| json!({
            "account": s.account,
            "run_id": s.run_id,
            "finished_at": s.finished_at.map(stamp),
            "later_failure": s.later_failure,
        })).collect::<Vec<_>>(),
        "parameters": r.parameters.iter().map(|p| (p.key.clone(), json!(p.value))).collect::<Map<_, _>>(),
        "summary": r.summary.iter().map(|f| (f.key.clone(), f.value.clone())).collect::<Map<_, _>>(),
        "sections": sections,
        "notes": r.notes,
    })
}

fn stamp(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// One CSV table: `section`, then the union of every section's columns in first-seen order.
fn to_csv(r: &Report) -> Result<Vec<u8>, RenderError> {
    let mut keys: Vec<&str> = Vec::new();
    for s in &r.sections {
        for c in &s.columns {
            if !keys.contains(&c.key.as_str()) {
                keys.push(&c.key);
            }
        }
    }
    let mut w = csv::Writer::from_writer(Vec::new());
    let err = |e: csv::Error| RenderError::Csv(e.to_string());
    w.write_record(std::iter::once("section").chain(keys.iter().copied()))
        .map_err(err)?;
    for s in &r.sections {
        for row in &s.rows {
            let cells = keys.iter().map(|k| {
                s.columns
                    .iter()
                    .position(|c| c.key == *k)
                    .and_then(|i| row.get(i))
                    .map(csv_cell)
                    .unwrap_or_default()
            });
            w.write_record(std::iter::once(s.key.clone()).chain(cells))
                .map_err(err)?;
        }
    }
    w.into_inner().map_err(|e| RenderError::Csv(e.to_string()))
}

/// A value as CSV text: lists joined with `;`, null empty, booleans `true`/`false`.
pub(crate) fn csv_cell(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Array(a) => a.iter().map(csv_cell).collect::<Vec<_>>().join(";"),
        other => other.to_string(),
    }
}

/// A value as people read it in HTML: times as `YYYY-MM-DD HH:MM UTC`, booleans yes/no,
/// lists joined, null as an em dash.
fn html_cell(v: &Value) -> String {
    match v {
        Value::Null => "—".into(),
        Value::Bool(true) => "yes".into(),
        Value::Bool(false) => "no".into(),
        Value::String(s) => match DateTime::parse_from_rfc3339(s) {
            Ok(t) if s.len() == 20 => t.format("%Y-%m-%d %H:%M UTC").to_string(),
            _ => s.clone(),
        },
        Value::Array(a) => a.iter().map(html_cell).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    }
}

/// The HTML page's view of a report: everything already text.
#[derive(Template)]
#[template(path = "report.html")]
struct Page<'a> {
    r: &'a Report,
    generated: String,
    sources: Vec<[String; 3]>,
    summary: Vec<(String, String)>,
    parameters: Vec<(String, String)>,
    sections: Vec<HtmlSection<'a>>,
}

struct HtmlSection<'a> {
    key: &'a str,
    title: &'a str,
    description: &'a str,
    headers: Vec<&'a str>,
    /// Cells as text, and whether each is a number (right-aligned).
    rows: Vec<Vec<(String, bool)>>,
}

impl<'a> Page<'a> {
    fn new(r: &'a Report) -> Self {
        let at = |t: DateTime<Utc>| t.format("%Y-%m-%d %H:%M:%S UTC").to_string();
        Page {
            r,
            generated: at(r.generated_at),
            sources: r
                .sources
                .iter()
                .map(|s| {
                    [
                        s.account.clone(),
                        s.run_id
                            .map(|i| i.to_string())
                            .unwrap_or_else(|| "never synced".into()),
                        match (s.finished_at, &s.later_failure) {
                            (Some(t), None) => at(t),
                            (Some(t), Some(o)) => format!("{} (a later sync {o})", at(t)),
                            (None, _) => "—".into(),
                        },
                    ]
                })
                .collect(),
            summary: r
                .summary
                .iter()
                .map(|f| (f.label.clone(), html_cell(&f.value)))
                .collect(),
            parameters: r
                .parameters
                .iter()
                .map(|p| (p.key.clone(), p.value.clone()))
                .collect(),
            sections: r
                .sections
                .iter()
                .map(|s| HtmlSection {
                    key: &s.key,
                    title: &s.title,
                    description: &s.description,
                    headers: s.columns.iter().map(|c| c.label.as_str()).collect(),
                    rows: s
                        .rows
                        .iter()
                        .map(|row| row.iter().map(|v| (html_cell(v), v.is_number())).collect())
                        .collect(),
                })
                .collect(),
        }
    }
}
