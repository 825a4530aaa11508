//! `lpgate report NAME` and `lpgate export users`: thin wrappers over `lpgate-report`, which
//! computes from the store; this module only reads files, picks formats and writes output.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use chrono::Utc;
use lpgate_report::export::{ExportMap, export_users};
use lpgate_report::render::{Format, render};
use lpgate_report::{HrInput, HrPerson, ReportError, ReportKind, Request, Scope};

use crate::cli::{
    CoverageArgs, ExportCommand, ExportFormat, ExportUsersArgs, GlobalArgs, ReportArgs,
    ReportCommand, ReportCommon, ReportFormat,
};
use crate::command::UsageError;
use crate::config::HrColumnsConfig;
use crate::context::{Ctx, OpenStore};

/// `lpgate report NAME`.
pub async fn report<S: OpenStore>(global: &GlobalArgs, a: ReportArgs) -> anyhow::Result<()> {
    let (kind, common, days, coverage) = match a.report {
        ReportCommand::Mfa(c) => (ReportKind::Mfa, c, None, None),
        ReportCommand::Admins(c) => (ReportKind::Admins, c, None, None),
        ReportCommand::Licences(c) => (ReportKind::Licences, c, None, None),
        ReportCommand::Passwords(c) => (ReportKind::Passwords, c, None, None),
        ReportCommand::Inactive(i) => (ReportKind::Inactive, i.common, i.days, None),
        ReportCommand::Coverage(c) => {
            let CoverageArgs { common, .. } = &c;
            let common = ReportCommon {
                account: common.account.clone(),
                format: common.format,
                out: common.out.clone(),
            };
            (ReportKind::Coverage, common, None, Some(c))
        }
    };
    if let Some(d) = days
        && !(1..=lpgate_report::MAX_DAYS).contains(&d)
    {
        return Err(UsageError(format!(
            "invalid --days {d}: expected a whole number of days from 1 to {}",
            lpgate_report::MAX_DAYS
        ))
        .into());
    }
    let format = output_format(common.format, common.out.as_deref());
    let ctx = Ctx::<S>::open(global).await?;
    let hr = match &coverage {
        Some(c) if c.hr.is_some() => Some(read_hr(c, &ctx.config.reports.hr_columns)?),
        _ => None,
    };
    let bad_rows = hr.as_ref().map_or(0, |h| h.bad_rows.len());
    let request = Request {
        kind,
        account: common.account.clone(),
        days,
        hr,
        now: Utc::now(),
    };
    let report = lpgate_report::build(&ctx.store, &ctx.config.report_settings(), request)
        .await
        .map_err(usage)?;
    let bytes = render(&report, format)?;
    write_output(common.out.as_deref(), &bytes, &report.title)?;
    if bad_rows > 0
        && let Some(file) = coverage.as_ref().and_then(|c| c.hr.as_ref())
    {
        eprintln!(
            "warning: {bad_rows} row(s) of {} could not be read; they are listed in the report under \"HR rows that could not be read\"",
            file.display()
        );
    }
    Ok(())
}

/// Mistakes in how the report was asked for exit 2; the rest 1.
fn usage(e: ReportError) -> anyhow::Error {
    match e {
        ReportError::Invalid { .. } | ReportError::NoHrList | ReportError::UnknownAccount(_) => {
            UsageError(e.to_string()).into()
        }
        other => other.into(),
    }
}

fn output_format(flag: Option<ReportFormat>, out: Option<&Path>) -> Format {
    match flag {
        Some(ReportFormat::Html) => Format::Html,
        Some(ReportFormat::Csv) => Format::Csv,
        Some(ReportFormat::Json) => Format::Json,
        None => out.and_then(Format::from_extension).unwrap_or(Format::Json),
    }
}

/// Reads the HR export, keeping good rows and listing bad ones; a file without a usable
/// header fails.
fn read_hr(c: &CoverageArgs, cfg: &HrColumnsConfig) -> anyhow::Result<HrInput> {
    let Some(file) = &c.hr else {
        return Ok(HrInput::default());
    };
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("Failed to read {}", file.display()))?;
    let pick = |flag: &Option<String>, conf: &str| flag.clone().unwrap_or_else(|| conf.into());
    let cols = lpgate_engine::import::HrColumns {
        email: pick(&c.email_column, &cfg.email),
        name: pick(&c.name_column, &cfg.name),
        status: pick(&c.status_column, &cfg.status),
        department: pick(&c.department_column, &cfg.department),
        ..Default::default()
    };
    let name = file.display().to_string();
    let (rows, bad_rows) = lpgate_engine::import::hr_csv_lenient(&text, &name, &cols)?;
    Ok(HrInput {
        source: name,
        people: rows
            .into_iter()
            .map(|r| HrPerson {
                email: r.email,
                name: r.name,
                active: r.active,
                department: r.department,
            })
            .collect(),
        bad_rows,
    })
}

/// Writes to the file (through a temporary file renamed into place, so a reader never sees
/// half a report) or to standard output.
fn write_output(out: Option<&Path>, bytes: &[u8], what: &str) -> anyhow::Result<()> {
    match out {
        None => {
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(bytes)?;
            stdout.flush()?;
        }
        Some(path) => {
            let mut tmp = PathBuf::from(path);
            tmp.as_mut_os_string().push(".partial");
            std::fs::write(&tmp, bytes)
                .with_context(|| format!("Failed to write {}", tmp.display()))?;
            std::fs::rename(&tmp, path)
                .with_context(|| format!("Failed to write {}", path.display()))?;
            eprintln!("{what}: written to {}", path.display());
        }
    }
    Ok(())
}

/// `lpgate export …`.
pub async fn export<S: OpenStore>(global: &GlobalArgs, cmd: ExportCommand) -> anyhow::Result<()> {
    match cmd {
        ExportCommand::Users(a) => export_users_cmd::<S>(global, a).await,
    }
}

async fn export_users_cmd<S: OpenStore>(
    global: &GlobalArgs,
    a: ExportUsersArgs,
) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&a.map)
        .with_context(|| format!("Failed to read {}", a.map.display()))?;
    let map = ExportMap::parse(&text, &a.map.display().to_string())?;
    let ctx = Ctx::<S>::open(global).await?;
    let scope = Scope::resolve(&ctx.store, a.account.as_deref())
        .await
        .map_err(usage)?;
    let table = export_users(&ctx.store, &scope, &map).await?;
    let bytes = match a.format {
        ExportFormat::Csv => table.to_csv()?,
        ExportFormat::Json => table.to_json()?,
    };
    write_output(
        a.out.as_deref(),
        &bytes,
        &format!("{} users exported", table.rows.len()),
    )
}
