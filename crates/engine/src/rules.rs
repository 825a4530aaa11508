//! Rules: SQL over the documented views whose rows are findings. The built-in pack
//! (`rules/builtin.toml`) plus the user's own; after every sync each account's rules run and
//! findings open, stay open or resolve, queuing notifications in the same transaction.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use lpgate_store::{
    AccountId, FindingsWrite, NewFinding, QueryLimits, QueryRequest, Store, StoreError,
};
use serde::{Deserialize, Serialize};

use crate::notify::{FindingNotice, Routing};

/// How bad a finding is; ordered, so subscriptions can say "high and above".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// For the record.
    Info,
    /// Worth a look.
    Low,
    /// Should be fixed.
    Medium,
    /// Fix soon.
    High,
    /// Fix now.
    Critical,
}

impl Severity {
    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "info" => Some(Severity::Info),
            "low" => Some(Severity::Low),
            "medium" => Some(Severity::Medium),
            "high" => Some(Severity::High),
            "critical" => Some(Severity::Critical),
            _ => None,
        }
    }
}

/// One rule.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Unique name (`admin-without-mfa`).
    pub name: String,
    /// Severity of its findings.
    pub severity: Severity,
    /// What it means and why it matters.
    pub description: String,
    /// One SELECT over the views.
    pub sql: String,
    /// The columns that identify a row (default: `email`).
    #[serde(default = "default_key")]
    pub key: Vec<String>,
}

fn default_key() -> Vec<String> {
    vec!["email".into()]
}

/// A file of rules: `[[rule]]` tables.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    #[serde(default)]
    rule: Vec<Rule>,
}

/// The pack shipped with lpgate.
pub const BUILTIN: &str = include_str!("../rules/builtin.toml");

/// `[rules]` in `lpgate.toml`: parameters of the built-in rules, built-ins turned off, and the
/// user's own rules.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RuleConfig {
    /// `inactive-user`: days without a login.
    pub inactive_days: u32,
    /// `password-reset-pending`: days a required change may wait.
    pub reset_pending_days: u32,
    /// `weak-master-password`: strengths below this (percent) are weak.
    pub weak_mp_strength: u32,
    /// `too-many-super-admins`: more active admins than this is a finding.
    pub max_super_admins: u32,
    /// Names of built-in rules not to run.
    pub disabled: Vec<String>,
    /// The user's own rules.
    pub custom: Vec<Rule>,
    /// Limits of each rule's query.
    pub timeout_secs: f64,
}

impl Default for RuleConfig {
    fn default() -> Self {
        RuleConfig {
            inactive_days: 90,
            reset_pending_days: 14,
            weak_mp_strength: 50,
            max_super_admins: 5,
            disabled: Vec::new(),
            custom: Vec::new(),
            timeout_secs: 30.0,
        }
    }
}

/// A rule definition that cannot run.
#[derive(Debug, thiserror::Error)]
pub enum RuleError {
    /// The rules file is not valid TOML or has unknown keys.
    #[error("rules: {0}")]
    Parse(String),
    /// Two rules share a name.
    #[error("rules: the name {0:?} is used twice")]
    Duplicate(String),
    /// A name that is empty or has characters other than letters, digits, `-`, `_`, `.`.
    #[error("rules: invalid name {0:?}: use letters, digits, '-', '_' and '.'")]
    BadName(String),
    /// `disabled` names a rule that does not exist.
    #[error("rules.disabled: no built-in rule is named {0:?}")]
    UnknownDisabled(String),
    /// The query was refused or is not valid SQL.
    #[error("rule {rule:?}: {cause}")]
    Query {
        /// Rule name.
        rule: String,
        /// Why.
        cause: StoreError,
    },
    /// A key column the query does not return.
    #[error("rule {rule:?}: key column {column:?} is not among the query's columns {columns:?}")]
    MissingKey {
        /// Rule name.
        rule: String,
        /// The missing column.
        column: String,
        /// What the query returns.
        columns: Vec<String>,
    },
    /// The store failed.
    #[error("rules: {0}")]
    Store(StoreError),
}

/// Parses `[[rule]]` tables from TOML text (a rules file or the built-in pack).
pub fn parse_rules(text: &str) -> Result<Vec<Rule>, RuleError> {
    let file: RuleFile = toml::from_str(text).map_err(|e| RuleError::Parse(e.to_string()))?;
    check_names(&file.rule)?;
    Ok(file.rule)
}

/// The built-in pack.
pub fn builtin() -> Vec<Rule> {
    parse_rules(BUILTIN).unwrap_or_default()
}

fn check_names(rules: &[Rule]) -> Result<(), RuleError> {
    let mut seen = HashSet::new();
    for r in rules {
        let ok = !r.name.is_empty()
            && r.name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if !ok {
            return Err(RuleError::BadName(r.name.clone()));
        }
        if !seen.insert(r.name.as_str()) {
            return Err(RuleError::Duplicate(r.name.clone()));
        }
    }
    Ok(())
}

impl RuleConfig {
    /// The rules to run: the built-ins not disabled, then the user's own.
    pub fn rules(&self) -> Result<Vec<Rule>, RuleError> {
        let builtin = builtin();
        for d in &self.disabled {
            if !builtin.iter().any(|r| &r.name == d) {
                return Err(RuleError::UnknownDisabled(d.clone()));
            }
        }
        let mut all: Vec<Rule> = builtin
            .into_iter()
            .filter(|r| !self.disabled.contains(&r.name))
            .collect();
        all.extend(self.custom.iter().cloned());
        check_names(&all)?;
        Ok(all)
    }

    /// Named parameters every rule query may use.
    pub fn params(&self, now: DateTime<Utc>) -> Vec<(String, serde_json::Value)> {
        vec![
            (
                "now".into(),
                now.format("%Y-%m-%d %H:%M:%S").to_string().into(),
            ),
            ("inactive_days".into(), self.inactive_days.into()),
            ("reset_pending_days".into(), self.reset_pending_days.into()),
            ("weak_mp_strength".into(), self.weak_mp_strength.into()),
            ("max_super_admins".into(), self.max_super_admins.into()),
        ]
    }

    fn limits(&self) -> QueryLimits {
        QueryLimits {
            timeout: std::time::Duration::from_secs_f64(self.timeout_secs.max(0.1)),
            max_rows: 1_000_000,
        }
    }
}

/// One rule's matches on one account.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleMatches {
    /// The rule.
    pub rule: Rule,
    /// Each row: its key and the row as a JSON object.
    pub rows: Vec<(String, serde_json::Value)>,
}

/// Runs the rules on one account (or on every account when `account` is `None`), each query
/// confined to it by the store.
pub async fn evaluate<S: Store>(
    store: &S,
    account: Option<AccountId>,
    rules: &[Rule],
    config: &RuleConfig,
    now: DateTime<Utc>,
) -> Result<Vec<RuleMatches>, RuleError> {
    let params = config.params(now);
    // One call for all the rules, so the store can run them in one sandbox session.
    let requests = rules
        .iter()
        .map(|rule| QueryRequest {
            sql: rule.sql.clone(),
            params: params.clone(),
            account,
            limits: config.limits(),
        })
        .collect();
    let results = store.query_all(requests).await.map_err(RuleError::Store)?;
    let mut out = Vec::with_capacity(rules.len());
    for (rule, result) in rules.iter().zip(results) {
        let result = result.map_err(|cause| RuleError::Query {
            rule: rule.name.clone(),
            cause,
        })?;
        let key_idx: Vec<usize> =
            rule.key
                .iter()
                .map(|k| {
                    result.columns.iter().position(|c| c == k).ok_or_else(|| {
                        RuleError::MissingKey {
                            rule: rule.name.clone(),
                            column: k.clone(),
                            columns: result.columns.clone(),
                        }
                    })
                })
                .collect::<Result<_, _>>()?;
        let rows = result
            .rows
            .into_iter()
            .map(|values| {
                let key = key_idx
                    .iter()
                    .map(|i| match &values[*i] {
                        serde_json::Value::String(s) => s.clone(),
                        other => other.to_string(),
                    })
                    .collect::<Vec<_>>()
                    .join("|");
                let row: serde_json::Map<String, serde_json::Value> =
                    result.columns.iter().cloned().zip(values).collect();
                (key, serde_json::Value::Object(row))
            })
            .collect();
        out.push(RuleMatches {
            rule: rule.clone(),
            rows,
        });
    }
    // A rule without an answer would resolve its open findings: never let that pass.
    if out.len() != rules.len() {
        return Err(RuleError::Store(StoreError::Backend {
            context: "evaluate rules",
            message: format!("the store answered {} of {} rules", out.len(), rules.len()),
        }));
    }
    Ok(out)
}

/// What one evaluation did to an account's findings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FindingsSummary {
    /// Findings opened.
    pub opened: usize,
    /// Findings still open.
    pub still_open: usize,
    /// Findings resolved.
    pub resolved: usize,
    /// Notifications queued.
    pub notifications: usize,
}

/// Evaluates the rules on an account and records the outcome: new rows open findings,
/// matching rows keep theirs open, rows that stopped matching resolve theirs. Findings of
/// rules that no longer exist resolve too.
pub async fn check_account<S: Store>(
    store: &S,
    account: AccountId,
    account_name: &str,
    config: &RuleConfig,
    routing: &Routing,
    now: DateTime<Utc>,
) -> Result<FindingsSummary, RuleError> {
    let rules = config.rules()?;
    let matches = evaluate(store, Some(account), &rules, config, now).await?;
    let open = store
        .open_findings(account)
        .await
        .map_err(RuleError::Store)?;
    let mut open_by_key: HashMap<(&str, &str), &lpgate_store::FindingRow> = open
        .iter()
        .map(|f| ((f.rule.as_str(), f.key.as_str()), f))
        .collect();
    let mut write = FindingsWrite {
        account,
        now,
        open: Vec::new(),
        still_open: Vec::new(),
        resolve: Vec::new(),
        notifications: Vec::new(),
    };
    for m in &matches {
        let mut seen = HashSet::new();
        for (key, row) in &m.rows {
            if !seen.insert(key.as_str()) {
                continue; // the query returned the same identity twice
            }
            match open_by_key.remove(&(m.rule.name.as_str(), key.as_str())) {
                Some(f) => write.still_open.push((f.id, row.clone())),
                None => {
                    write.notifications.extend(routing.for_finding(
                        account,
                        account_name,
                        &FindingNotice {
                            opened: true,
                            rule: &m.rule.name,
                            severity: m.rule.severity,
                            description: &m.rule.description,
                            key,
                            row,
                        },
                    ));
                    write.open.push(NewFinding {
                        rule: m.rule.name.clone(),
                        severity: m.rule.severity.as_str().into(),
                        key: key.clone(),
                        row: row.clone(),
                    });
                }
            }
        }
    }
    for f in open_by_key.into_values() {
        let rule = rules.iter().find(|r| r.name == f.rule);
        let severity = Severity::parse(&f.severity).unwrap_or(Severity::Info);
        write.notifications.extend(routing.for_finding(
            account,
            account_name,
            &FindingNotice {
                opened: false,
                rule: &f.rule,
                severity,
                description: rule.map_or("", |r| r.description.as_str()),
                key: &f.key,
                row: &f.row,
            },
        ));
        write.resolve.push(f.id);
    }
    let summary = FindingsSummary {
        opened: write.open.len(),
        still_open: write.still_open.len(),
        resolved: write.resolve.len(),
        notifications: write.notifications.len(),
    };
    store
        .write_findings(write)
        .await
        .map_err(RuleError::Store)?;
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_pack_parses_and_covers_the_issue() {
        let rules = parse_rules(BUILTIN).unwrap();
        let names: Vec<&str> = rules.iter().map(|r| r.name.as_str()).collect();
        for expected in [
            "admin-without-mfa",
            "admin-never-logged-in",
            "inactive-user",
            "weak-master-password",
            "password-reset-pending",
            "disabled-user-with-access",
            "folder-without-admin",
            "too-many-super-admins",
            "not-in-hr",
        ] {
            assert!(names.contains(&expected), "{expected} missing");
        }
    }

    #[test]
    fn config_mistakes_are_named() {
        let c = RuleConfig {
            disabled: vec!["no-such-rule".into()],
            ..RuleConfig::default()
        };
        assert!(c.rules().unwrap_err().to_string().contains("no-such-rule"));
        let dup = RuleConfig {
            custom: vec![Rule {
                name: "inactive-user".into(),
                severity: Severity::Low,
                description: String::new(),
                sql: "SELECT 1".into(),
                key: vec![],
            }],
            ..RuleConfig::default()
        };
        assert!(matches!(dup.rules(), Err(RuleError::Duplicate(_))));
        assert!(matches!(
            parse_rules(
                "[[rule]]\nname = \"a b\"\nseverity = \"low\"\ndescription = \"\"\nsql = \"SELECT 1\"\n"
            ),
            Err(RuleError::BadName(_))
        ));
        assert!(
            parse_rules(
                "[[rule]]\nname = \"a\"\nseverity = \"urgent\"\ndescription = \"\"\nsql = \"\"\n"
            )
            .unwrap_err()
            .to_string()
            .contains("urgent")
        );
    }

    #[test]
    fn severities_order() {
        assert!(Severity::Critical > Severity::High && Severity::Low > Severity::Info);
    }
}
