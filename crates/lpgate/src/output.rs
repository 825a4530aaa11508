//! Output of listing commands: an aligned table for people, JSON (one array of objects with
//! stable snake_case keys) or CSV for scripts. Only data goes to stdout.

use std::fmt::Write as _;
use std::io::Write;

use clap::ValueEnum;
use serde::Serialize;
use serde_json::Value;

/// `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum Format {
    /// Aligned columns for a terminal.
    #[default]
    Table,
    /// One JSON array of objects.
    Json,
    /// CSV with a header row (lists joined with `;`).
    Csv,
}

/// A table built row by row and printed with aligned columns.
pub struct Table {
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column headings.
    pub fn new(headers: &[&str]) -> Self {
        Table {
            headers: headers.iter().map(|h| h.to_string()).collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row; missing cells are blank, extra cells are dropped.
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// Renders the table with two spaces between columns and a rule under the headings.
    pub fn render(&self) -> String {
        let n = self.headers.len();
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (i, cell) in row.iter().take(n).enumerate() {
                widths[i] = widths[i].max(cell.chars().count());
            }
        }
        let mut out = String::new();
        let line = |cells: &[String], out: &mut String| {
            let mut text = String::new();
            for (i, w) in widths.iter().enumerate() {
                let cell = cells.get(i).map(String::as_str).unwrap_or("");
                let pad = w.saturating_sub(cell.chars().count());
                let _ = write!(text, "{cell}{}", " ".repeat(pad));
                if i + 1 < n {
                    text.push_str("  ");
                }
            }
            out.push_str(text.trim_end());
            out.push('\n');
        };
        line(&self.headers, &mut out);
        let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
        line(&rule, &mut out);
        for row in &self.rows {
            line(row, &mut out);
        }
        out
    }
}

fn cell(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Array(a) => a.iter().map(cell).collect::<Vec<_>>().join(";"),
        other => other.to_string(),
    }
}

/// Prints rows in the chosen format. `columns` picks and orders the table's columns (by JSON
/// key); JSON and CSV carry every field.
pub fn print<T: Serialize>(rows: &[T], format: Format, columns: &[&str]) -> anyhow::Result<()> {
    let values: Vec<Value> = rows
        .iter()
        .map(serde_json::to_value)
        .collect::<Result<_, _>>()?;
    let mut stdout = std::io::stdout().lock();
    match format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut stdout, &values)?;
            writeln!(stdout)?;
        }
        Format::Csv => {
            let mut w = csv::Writer::from_writer(stdout);
            let keys: Vec<String> = match values.first() {
                Some(Value::Object(m)) => m.keys().cloned().collect(),
                _ => columns.iter().map(|c| c.to_string()).collect(),
            };
            w.write_record(&keys)?;
            for v in &values {
                w.write_record(keys.iter().map(|k| cell(&v[k.as_str()])))?;
            }
            w.flush()?;
        }
        Format::Table => {
            let mut t = Table::new(columns);
            for v in &values {
                t.row(columns.iter().map(|c| cell(&v[*c])).collect());
            }
            write!(stdout, "{}", t.render())?;
        }
    }
    Ok(())
}

/// Prints a query's answer: a table with its own columns, JSON objects, or CSV.
pub fn print_query(result: &lpgate_store::QueryResult, format: Format) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    match format {
        Format::Json => {
            let objects: Vec<Value> = result
                .rows
                .iter()
                .map(|r| {
                    Value::Object(
                        result
                            .columns
                            .iter()
                            .cloned()
                            .zip(r.iter().cloned())
                            .collect(),
                    )
                })
                .collect();
            serde_json::to_writer_pretty(&mut stdout, &objects)?;
            writeln!(stdout)?;
        }
        Format::Csv => {
            let mut w = csv::Writer::from_writer(stdout);
            w.write_record(&result.columns)?;
            for r in &result.rows {
                w.write_record(r.iter().map(cell))?;
            }
            w.flush()?;
        }
        Format::Table => {
            let headers: Vec<&str> = result.columns.iter().map(String::as_str).collect();
            let mut t = Table::new(&headers);
            for r in &result.rows {
                t.row(r.iter().map(cell).collect());
            }
            write!(stdout, "{}", t.render())?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligns_columns() {
        let mut t = Table::new(&["a", "long header"]);
        t.row(vec!["wide cell".into(), "x".into()]);
        let s = t.render();
        let lines: Vec<&str> = s.lines().collect();
        assert_eq!(lines[0], "a          long header");
        assert_eq!(lines[2], "wide cell  x");
    }

    #[test]
    fn cells_flatten_lists() {
        assert_eq!(cell(&serde_json::json!(["a", "b"])), "a;b");
        assert_eq!(cell(&Value::Null), "");
        assert_eq!(cell(&serde_json::json!(3)), "3");
    }
}
