//! Acting on LastPass: `plan`, `plans`, `apply`, `approve`, `audit`.

use anyhow::{Context as _, bail};
use chrono::Utc;
use lpgate_domain::{Action, ActionKind, ActionParams};
use lpgate_engine::act::{self, ActError, PlanRequest};
use lpgate_engine::import::{self, HrColumns};
use lpgate_store::{AccountRow, AuditQuery, NewAuditEntry, PlanItemRow, PlanRow, PlanState};
use serde::Serialize;

use crate::cli::{
    ApplyArgs, ApproveArgs, AuditArgs, AuditCommand, GlobalArgs, PlanArgs, PlansCommand,
};
use crate::command::account::client_for;
use crate::command::list::parse_since;
use crate::command::{HeldError, UsageError};
use crate::context::{Ctx, OpenStore};
use crate::output::{self, Format};

/// Who is acting: `--by`, else the local user name.
fn actor(by: Option<&str>) -> String {
    match by {
        Some(b) if !b.trim().is_empty() => b.trim().to_string(),
        _ => std::env::var("USER")
            .or_else(|_| std::env::var("LOGNAME"))
            .map(|u| format!("local:{u}"))
            .unwrap_or_else(|_| "local".into()),
    }
}

/// The named account, or the only one.
async fn pick_account<S: OpenStore>(
    ctx: &Ctx<S>,
    name: Option<&str>,
) -> anyhow::Result<AccountRow> {
    match name {
        Some(n) => Ok(ctx.store.account(n).await?),
        None => {
            let all = ctx.store.list_accounts().await?;
            match all.len() {
                1 => Ok(all.into_iter().next().context("no account")?),
                0 => bail!("no accounts; add one with `lpgate account add`"),
                n => bail!(UsageError(format!(
                    "there are {n} accounts: name one with --account"
                ))),
            }
        }
    }
}

#[derive(Serialize)]
struct ItemOut<'a> {
    plan: i64,
    seq: i64,
    action: &'static str,
    email: &'a str,
    detail: String,
    state: &'static str,
    note: &'a str,
}

fn print_items(plan: &PlanRow, items: &[PlanItemRow], format: Format) -> anyhow::Result<()> {
    let rows: Vec<ItemOut> = items
        .iter()
        .map(|i| ItemOut {
            plan: plan.id,
            seq: i.seq,
            action: i.action.as_str(),
            email: &i.email,
            detail: detail(&i.params),
            state: i.state.as_str(),
            note: i.note.as_deref().unwrap_or(""),
        })
        .collect();
    output::print(
        &rows,
        format,
        &["seq", "action", "email", "detail", "state", "note"],
    )
}

fn detail(p: &ActionParams) -> String {
    let mut parts = Vec::new();
    if !p.groups.is_empty() {
        parts.push(p.groups.join(";"));
    }
    if let Some(f) = &p.fullname {
        parts.push(f.clone());
    }
    parts.join(" ")
}

fn describe(plan: &PlanRow) -> String {
    let counts = format!(
        "{} to do, {} done, {} failed, {} skipped (no-op), {} refused",
        plan.pending, plan.done, plan.failed, plan.skipped, plan.refused
    );
    match plan.state {
        PlanState::Held => format!(
            "plan {} ({}) is HELD: {}. {counts}. Approve it with `lpgate approve {} --by NAME`.",
            plan.id,
            plan.account,
            plan.held_reason.as_deref().unwrap_or(""),
            plan.id
        ),
        PlanState::Ready | PlanState::Approved => format!(
            "plan {} ({}): {counts}. Nothing was sent; run `lpgate apply {}` to apply it.",
            plan.id, plan.account, plan.id
        ),
        other => format!(
            "plan {} ({}) is {}: {counts}.",
            plan.id,
            plan.account,
            other.as_str()
        ),
    }
}

/// `lpgate plan`.
pub async fn plan<S: OpenStore>(global: &GlobalArgs, a: PlanArgs) -> anyhow::Result<()> {
    let ctx = Ctx::<S>::open(global).await?;
    let account = pick_account(&ctx, a.account.as_deref()).await?;
    let (actions, source) = actions_for(&ctx, &account, &a).await?;
    let routing = ctx.config.notifications.routing()?;
    let req = PlanRequest {
        account: account.clone(),
        actions,
        actor: actor(a.by.as_deref()),
        source,
        allow_admins: a.allow_admins,
        exclude: ctx.config.act.exclude(&account.name),
        limits: ctx.config.act.limits(&account.name),
    };
    let (plan, items) = act::make_plan(&ctx.store, req, &routing, Utc::now()).await?;
    print_items(&plan, &items, a.format)?;
    eprintln!("{}", describe(&plan));
    if plan.state == PlanState::Held {
        return Err(HeldError(format!("plan {} is held for approval", plan.id)).into());
    }
    Ok(())
}

async fn actions_for<S: OpenStore>(
    ctx: &Ctx<S>,
    account: &AccountRow,
    a: &PlanArgs,
) -> anyhow::Result<(Vec<Action>, String)> {
    let word = a.action.as_deref().map(str::to_lowercase);
    match (word.as_deref(), &a.from) {
        (Some("groups" | "offboard"), None) => bail!(UsageError(format!(
            "plan {}: give the HR export with --from HR.csv",
            word.unwrap_or_default()
        ))),
        (Some(w @ ("groups" | "offboard")), Some(file)) => {
            let text = std::fs::read_to_string(file)
                .with_context(|| format!("Failed to read {}", file.display()))?;
            let cols = HrColumns {
                email: a.email_column.clone(),
                status: a.status_column.clone(),
                groups: a.groups_column.clone(),
                ..HrColumns::default()
            };
            let hr = import::hr_csv(&text, &file.display().to_string(), &cols)?;
            let users = ctx
                .store
                .load_users(account.id, all_emails(ctx, account).await?)
                .await?;
            if w == "groups" {
                let actions = import::hr_group_actions(&hr, &users)
                    .map_err(|e| UsageError(format!("{}: {e}", file.display())))?;
                Ok((actions, format!("hr-groups: {}", file.display())))
            } else {
                let kind = ActionKind::parse(&a.offboard_action)
                    .ok()
                    .filter(|k| k.is_removal())
                    .ok_or_else(|| {
                        UsageError(format!(
                            "invalid --offboard-action {:?}: expected suspend, remove or deprovision",
                            a.offboard_action
                        ))
                    })?;
                Ok((
                    import::offboard_actions(&hr, &users, a.orphans, kind),
                    format!(
                        "hr-offboard{}: {}",
                        if a.orphans { " with orphans" } else { "" },
                        file.display()
                    ),
                ))
            }
        }
        (None, Some(file)) => {
            if !a.users.is_empty() {
                bail!(UsageError(
                    "--from ACTIONS.csv takes no users on the command line".into()
                ));
            }
            let text = std::fs::read_to_string(file)
                .with_context(|| format!("Failed to read {}", file.display()))?;
            let actions = import::actions_csv(&text, &file.display().to_string())?;
            Ok((actions, format!("csv: {}", file.display())))
        }
        (Some(w), Some(_)) => bail!(UsageError(format!(
            "plan {w} takes users on the command line; --from is for an actions CSV (no action word) or an HR export (groups / offboard)"
        ))),
        (None, None) => bail!(UsageError(
            "give an action and users (`lpgate plan suspend ann@example.com`) or --from FILE.csv"
                .into()
        )),
        (Some(w), None) => {
            let kind = ActionKind::parse(w).map_err(|e| UsageError(e.to_string()))?;
            if a.users.is_empty() {
                bail!(UsageError(format!("plan {w}: name at least one user")));
            }
            let mut actions = Vec::new();
            for u in &a.users {
                let email = u.trim().to_lowercase();
                if !lpgate_domain::directory::looks_like_email(&email) {
                    bail!(UsageError(format!(
                        "invalid user {u:?}: expected an email address"
                    )));
                }
                let base = ActionParams {
                    fullname: a.fullname.clone(),
                    groups: a.group.clone(),
                    duo_username: a.duo_username.clone(),
                    securid_username: a.securid_username.clone(),
                    password_reset_required: (kind == ActionKind::Provision)
                        .then_some(!a.no_password_reset),
                    attribs: Default::default(),
                };
                match kind {
                    ActionKind::AddToGroup | ActionKind::RemoveFromGroup => {
                        if a.group.is_empty() {
                            bail!(UsageError(format!("plan {w}: give --group NAME")));
                        }
                        for g in &a.group {
                            actions.push(Action {
                                kind,
                                email: email.clone(),
                                params: ActionParams {
                                    groups: vec![g.clone()],
                                    ..ActionParams::default()
                                },
                            });
                        }
                    }
                    _ => actions.push(Action {
                        kind,
                        email,
                        params: base,
                    }),
                }
            }
            Ok((actions, format!("cli: plan {w}")))
        }
    }
}

/// Every stored email of the account (present or not), for HR comparisons.
async fn all_emails<S: OpenStore>(
    ctx: &Ctx<S>,
    account: &AccountRow,
) -> anyhow::Result<Vec<String>> {
    let rows = ctx
        .store
        .list_users(lpgate_store::UserQuery {
            account: Some(account.name.clone()),
            ..Default::default()
        })
        .await?;
    Ok(rows.into_iter().map(|u| u.email).collect())
}

/// `lpgate plans …`.
pub async fn plans<S: OpenStore>(global: &GlobalArgs, cmd: PlansCommand) -> anyhow::Result<()> {
    let ctx = Ctx::<S>::open(global).await?;
    match cmd {
        PlansCommand::List(a) => {
            let rows = ctx.store.list_plans(a.account, 1000).await?;
            output::print(
                &rows,
                a.format,
                &[
                    "id",
                    "account",
                    "state",
                    "created_at",
                    "created_by",
                    "source",
                    "pending",
                    "done",
                    "failed",
                    "skipped",
                    "refused",
                ],
            )
        }
        PlansCommand::Show(a) => {
            let (plan, items) = ctx.store.plan(a.plan).await?;
            print_items(&plan, &items, a.format)?;
            eprintln!("{}", describe(&plan));
            Ok(())
        }
    }
}

/// `lpgate apply`.
pub async fn apply<S: OpenStore>(global: &GlobalArgs, a: ApplyArgs) -> anyhow::Result<()> {
    let ctx = Ctx::<S>::open(global).await?;
    let (plan, _) = ctx.store.plan(a.plan).await?;
    let account = ctx.store.account(&plan.account).await?;
    let client = client_for(&ctx, &account)?;
    let routing = ctx.config.notifications.routing()?;
    let policy = ctx.config.act.policy(&account.name);
    let result = act::apply_plan(
        &ctx.store,
        &client,
        a.plan,
        &actor(a.by.as_deref()),
        &policy,
        &routing,
        &Utc::now,
    )
    .await;
    let report = match result {
        Ok(r) => r,
        Err(ActError::Held { plan, reason }) => {
            return Err(HeldError(format!(
                "plan {plan} is held for approval ({reason}); nothing was sent. Approve it with `lpgate approve {plan} --by NAME`"
            ))
            .into());
        }
        Err(e) => return Err(e.into()),
    };
    let (plan, items) = ctx.store.plan(a.plan).await?;
    print_items(&plan, &items, a.format)?;
    eprintln!(
        "applied: {} done now, {} failed, {} done before; {} user(s) re-read from LastPass, {} change(s) recorded",
        report.done, report.failed, report.already_done, report.refreshed, report.changes
    );
    eprintln!("{}", describe(&plan));
    if plan.failed > 0 {
        bail!(
            "{} item(s) failed (see the note column); `lpgate apply {}` retries them",
            plan.failed,
            plan.id
        );
    }
    Ok(())
}

/// `lpgate approve`.
pub async fn approve<S: OpenStore>(global: &GlobalArgs, a: ApproveArgs) -> anyhow::Result<()> {
    let ctx = Ctx::<S>::open(global).await?;
    if a.by.trim().is_empty() {
        bail!(UsageError("--by: give the approver's name".into()));
    }
    let (plan, _) = ctx.store.plan(a.plan).await?;
    let row = ctx
        .store
        .approve_plan(
            a.plan,
            NewAuditEntry {
                at: Utc::now(),
                actor: a.by.trim().to_string(),
                account: Some(plan.account_id),
                action: "plan.approve".into(),
                target: format!("plan {}", a.plan),
                plan_id: Some(a.plan),
                summary: plan.held_reason.clone().unwrap_or_default(),
                outcome: "approved".into(),
            },
        )
        .await?;
    eprintln!("{}", describe(&row));
    Ok(())
}

/// `lpgate audit` and `lpgate audit verify`.
pub async fn audit<S: OpenStore>(global: &GlobalArgs, a: AuditArgs) -> anyhow::Result<()> {
    let ctx = Ctx::<S>::open(global).await?;
    if let Some(AuditCommand::Verify) = a.command {
        return match act::verify_audit(&ctx.store).await? {
            Ok(n) => {
                println!("audit log verified: {n} entries, chain intact");
                Ok(())
            }
            Err(broken) => bail!("audit log tampered with: {broken}"),
        };
    }
    let since = a
        .since
        .as_deref()
        .map(|s| parse_since("--since", s, Utc::now()))
        .transpose()?;
    let rows = ctx
        .store
        .list_audit(AuditQuery {
            before: None,
            since,
            actor: a.user,
            account: a.account,
            limit: a.limit,
        })
        .await?;
    output::print(
        &rows,
        a.format,
        &[
            "seq", "at", "actor", "account", "action", "target", "plan_id", "outcome",
        ],
    )
}
