//! See and watch: `query`, `search`, `rules`, `findings`, `hr load`.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::{Context as _, bail};
use chrono::Utc;
use lpgate_engine::rules::{self, Rule};
use lpgate_store::{FindingQuery, HrPerson, QueryLimits, QueryRequest};
use serde::Serialize;

use crate::cli::{
    FindingsArgs, FormatArg, GlobalArgs, HrCommand, HrLoadArgs, QueryArgs, RulesCheckArgs,
    RulesCommand, RulesTestArgs, SearchArgs,
};
use crate::command::UsageError;
use crate::context::{Ctx, OpenStore};
use crate::output;

/// `lpgate query`.
pub async fn query<S: OpenStore>(global: &GlobalArgs, a: QueryArgs) -> anyhow::Result<()> {
    let ctx = Ctx::<S>::open(global).await?;
    let timeout = a.timeout_secs.unwrap_or(ctx.config.query.timeout_secs);
    if !(timeout > 0.0 && timeout.is_finite()) {
        bail!(UsageError(format!(
            "invalid --timeout-secs {timeout}: expected a positive number of seconds"
        )));
    }
    let max_rows = a.max_rows.unwrap_or(ctx.config.query.max_rows);
    if max_rows == 0 {
        bail!(UsageError(
            "invalid --max-rows 0: expected at least 1".into()
        ));
    }
    let account = match &a.account {
        Some(name) => Some(ctx.store.account(name).await?.id),
        None => None,
    };
    let result = ctx
        .store
        .query(QueryRequest {
            sql: a.sql,
            params: Vec::new(),
            account,
            limits: QueryLimits {
                timeout: Duration::from_secs_f64(timeout),
                max_rows,
            },
        })
        .await?;
    output::print_query(&result, a.format)?;
    if result.truncated {
        eprintln!(
            "note: only the first {max_rows} rows are shown (--max-rows or query.max_rows allows more)"
        );
    }
    Ok(())
}

/// `lpgate search`.
pub async fn search<S: OpenStore>(global: &GlobalArgs, a: SearchArgs) -> anyhow::Result<()> {
    let ctx = Ctx::<S>::open(global).await?;
    if let Some(name) = &a.account {
        ctx.store.account(name).await?;
    }
    let hits = ctx
        .store
        .search(a.text.join(" "), a.account, a.limit)
        .await?;
    output::print(
        &hits,
        a.format,
        &["account", "kind", "key", "title", "detail"],
    )
}

#[derive(Serialize)]
struct RuleOut<'a> {
    name: &'a str,
    severity: &'a str,
    origin: &'static str,
    key: String,
    description: &'a str,
    sql: &'a str,
}

/// `lpgate rules …`.
pub async fn rules<S: OpenStore>(global: &GlobalArgs, cmd: RulesCommand) -> anyhow::Result<()> {
    match cmd {
        RulesCommand::List(f) => list_rules::<S>(global, f).await,
        RulesCommand::Check(a) => check_rules::<S>(global, a).await,
        RulesCommand::Test(a) => test_rules::<S>(global, a).await,
    }
}

async fn list_rules<S: OpenStore>(global: &GlobalArgs, f: FormatArg) -> anyhow::Result<()> {
    let ctx = Ctx::<S>::open(global).await?;
    let all = ctx.config.rules.rules()?;
    let builtin: Vec<String> = rules::builtin().into_iter().map(|r| r.name).collect();
    let out: Vec<RuleOut> = all
        .iter()
        .map(|r| RuleOut {
            name: &r.name,
            severity: r.severity.as_str(),
            origin: if builtin.contains(&r.name) {
                "built-in"
            } else {
                "custom"
            },
            key: r.key.join(","),
            description: &r.description,
            sql: r.sql.trim(),
        })
        .collect();
    output::print(
        &out,
        f.format,
        &["name", "severity", "origin", "description"],
    )
}

#[derive(Serialize)]
struct MatchOut {
    account: String,
    rule: String,
    severity: String,
    key: String,
    row: serde_json::Value,
}

async fn run_rules<S: OpenStore>(
    ctx: &Ctx<S>,
    account: Option<&str>,
    rules: &[Rule],
) -> anyhow::Result<Vec<MatchOut>> {
    let accounts = match account {
        Some(name) => vec![ctx.store.account(name).await?],
        None => ctx.store.list_accounts().await?,
    };
    let now = Utc::now();
    let mut out = Vec::new();
    for acct in &accounts {
        let matches =
            rules::evaluate(&ctx.store, Some(acct.id), rules, &ctx.config.rules, now).await?;
        for m in matches {
            for (key, row) in m.rows {
                out.push(MatchOut {
                    account: acct.name.clone(),
                    rule: m.rule.name.clone(),
                    severity: m.rule.severity.as_str().into(),
                    key,
                    row,
                });
            }
        }
    }
    Ok(out)
}

async fn check_rules<S: OpenStore>(global: &GlobalArgs, a: RulesCheckArgs) -> anyhow::Result<()> {
    let ctx = Ctx::<S>::open(global).await?;
    let mut all = ctx.config.rules.rules()?;
    if let Some(r) = &a.rule {
        all.retain(|x| &x.name == r);
        if all.is_empty() {
            bail!(UsageError(format!(
                "--rule {r:?}: no such rule (see `lpgate rules list`)"
            )));
        }
    }
    let out = run_rules(&ctx, a.account.as_deref(), &all).await?;
    summarize(&out);
    output::print(&out, a.format, &["account", "rule", "severity", "key"])
}

async fn test_rules<S: OpenStore>(global: &GlobalArgs, a: RulesTestArgs) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&a.file)
        .with_context(|| format!("Failed to read {}", a.file.display()))?;
    let rules = rules::parse_rules(&text).with_context(|| format!("{}", a.file.display()))?;
    if rules.is_empty() {
        bail!("{}: no [[rule]] tables found", a.file.display());
    }
    let ctx = Ctx::<S>::open(global).await?;
    let out = run_rules(&ctx, a.account.as_deref(), &rules)
        .await
        .with_context(|| format!("{}", a.file.display()))?;
    eprintln!(
        "{}: {} rule(s) valid and ran over the store",
        a.file.display(),
        rules.len()
    );
    summarize(&out);
    output::print(&out, a.format, &["account", "rule", "severity", "key"])
}

fn summarize(out: &[MatchOut]) {
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for m in out {
        *counts.entry(m.rule.as_str()).or_default() += 1;
    }
    let mut v: Vec<_> = counts.into_iter().collect();
    v.sort();
    for (rule, n) in v {
        eprintln!("{rule}: {n} match(es)");
    }
}

/// `lpgate findings`.
pub async fn findings<S: OpenStore>(global: &GlobalArgs, a: FindingsArgs) -> anyhow::Result<()> {
    let ctx = Ctx::<S>::open(global).await?;
    let rows = ctx
        .store
        .list_findings(FindingQuery {
            before: None,
            account: a.account,
            rule: a.rule,
            open_only: a.open,
            limit: a.limit,
        })
        .await?;
    output::print(
        &rows,
        a.format,
        &[
            "id",
            "account",
            "rule",
            "severity",
            "key",
            "opened_at",
            "resolved_at",
        ],
    )
}

/// `lpgate hr …`.
pub async fn hr<S: OpenStore>(global: &GlobalArgs, cmd: HrCommand) -> anyhow::Result<()> {
    match cmd {
        HrCommand::Load(a) => hr_load::<S>(global, a).await,
    }
}

async fn hr_load<S: OpenStore>(global: &GlobalArgs, a: HrLoadArgs) -> anyhow::Result<()> {
    let people = read_hr(&a)?;
    let ctx = Ctx::<S>::open(global).await?;
    let n = ctx.store.load_hr(people, Utc::now()).await?;
    eprintln!("{}: {n} people loaded", a.file.display());
    Ok(())
}

/// Reads an HR CSV export with the engine's importer (the same one `plan groups` and
/// `plan offboard` use); every bad row is reported and nothing is loaded when any is bad.
fn read_hr(a: &HrLoadArgs) -> anyhow::Result<Vec<HrPerson>> {
    let text = std::fs::read_to_string(&a.file)
        .with_context(|| format!("Failed to read {}", a.file.display()))?;
    let cols = lpgate_engine::import::HrColumns {
        email: a.email_column.clone(),
        name: a.name_column.clone(),
        status: a.status_column.clone(),
        department: a.department_column.clone(),
        ..Default::default()
    };
    let rows = lpgate_engine::import::hr_csv(&text, &a.file.display().to_string(), &cols)?;
    Ok(rows
        .into_iter()
        .map(|r| HrPerson {
            email: r.email,
            name: r.name,
            status: if r.active { "active" } else { "terminated" }.into(),
            department: r.department,
        })
        .collect())
}
