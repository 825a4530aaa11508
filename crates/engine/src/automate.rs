//! Automations: a rule's open findings turned into a plan ("suspend users inactive for 90
//! days"). The plan follows the same safety limits as any other; it is applied without a
//! human only when the automation says `auto_apply` and the plan is not held. Exclusion lists
//! are honoured, and while an earlier plan of the same automation waits for a human, no new
//! one is made.

use chrono::{DateTime, Utc};
use lpgate_domain::{Action, ActionKind, ActionParams, SafetyLimits};
use lpgate_lastpass::Client;
use lpgate_store::{AccountRow, FindingQuery, PlanState, Store};
use serde::{Deserialize, Serialize};

use crate::act::{ActError, ApplyPolicy, PlanRequest, apply_plan, make_plan};
use crate::notify::Routing;

/// One `[[automations]]` table.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Automation {
    /// A name for the plans' source and the logs.
    pub name: String,
    /// The rule whose open findings it acts on (their key must be an email).
    pub rule: String,
    /// The action (`suspend`, `remove-from-group`, `require-password-change`…).
    pub action: String,
    /// The group, for add-to-group / remove-from-group.
    #[serde(default)]
    pub group: Option<String>,
    /// Apply the plan without a human when it is not held.
    #[serde(default)]
    pub auto_apply: bool,
    /// Users it never touches, besides `[act] exclude`.
    #[serde(default)]
    pub exclude: Vec<String>,
}

/// An automation that cannot run as written.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum AutomationError {
    /// The action name is not an action.
    #[error("automations {name:?}: {cause}")]
    Action {
        /// Automation name.
        name: String,
        /// Why.
        cause: lpgate_domain::plan::UnknownAction,
    },
    /// A group action without a group.
    #[error("automations {0:?}: action needs group = \"…\"")]
    MissingGroup(String),
    /// The rule does not exist.
    #[error("automations {name:?}: no rule named {rule:?}")]
    UnknownRule {
        /// Automation name.
        name: String,
        /// The rule named.
        rule: String,
    },
}

impl Automation {
    /// Checks the action, the group and that the rule exists.
    pub fn validate(&self, rules: &[String]) -> Result<ActionKind, AutomationError> {
        let kind = ActionKind::parse(&self.action).map_err(|cause| AutomationError::Action {
            name: self.name.clone(),
            cause,
        })?;
        if matches!(kind, ActionKind::AddToGroup | ActionKind::RemoveFromGroup)
            && self.group.as_deref().is_none_or(str::is_empty)
        {
            return Err(AutomationError::MissingGroup(self.name.clone()));
        }
        if !rules.contains(&self.rule) {
            return Err(AutomationError::UnknownRule {
                name: self.name.clone(),
                rule: self.rule.clone(),
            });
        }
        Ok(kind)
    }
}

/// What one automation did on one account.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AutomationOutcome {
    /// Automation name.
    pub name: String,
    /// The plan it made or found waiting, if any.
    pub plan: Option<i64>,
    /// Its state afterwards.
    pub state: Option<PlanState>,
    /// Items it applied now.
    pub applied: usize,
    /// What happened, in words.
    pub note: String,
}

/// Everything an automation run needs besides the automations.
#[derive(Debug, Clone)]
pub struct AutomationEnv<'a> {
    /// The account's safety limits.
    pub limits: SafetyLimits,
    /// `[act] exclude` for the account.
    pub exclude: &'a [String],
    /// How plans are applied.
    pub policy: &'a ApplyPolicy,
    /// Notification routing.
    pub routing: &'a Routing,
}

/// Runs the automations on one account after its rules ran.
///
/// Holds the account's automations lock throughout: a worker sharing the store that is
/// running them already makes each automation here report itself skipped, instead of a
/// second plan being made from the same findings.
pub async fn run_automations<S: Store>(
    store: &S,
    client: &Client,
    account: &AccountRow,
    automations: &[Automation],
    env: &AutomationEnv<'_>,
    now: &(impl Fn() -> DateTime<Utc> + Sync),
) -> Result<Vec<AutomationOutcome>, ActError> {
    let _lock = match store.try_lock_automations(account.id).await {
        Ok(lock) => lock,
        Err(lpgate_store::StoreError::Busy(message)) => {
            return Ok(automations
                .iter()
                .map(|a| AutomationOutcome {
                    name: a.name.clone(),
                    plan: None,
                    state: None,
                    applied: 0,
                    note: format!("skipped: {message}"),
                })
                .collect());
        }
        Err(e) => return Err(e.into()),
    };
    let mut out = Vec::new();
    for a in automations {
        let Ok(kind) = lpgate_domain::ActionKind::parse(&a.action) else {
            continue; // refused when the config was loaded
        };
        let source = format!("automation: {}", a.name);
        let waiting = store
            .list_plans(Some(account.name.clone()), 200)
            .await?
            .into_iter()
            .find(|p| {
                p.source == source
                    && matches!(
                        p.state,
                        PlanState::Ready | PlanState::Held | PlanState::Approved
                    )
            });
        if let Some(p) = waiting {
            out.push(AutomationOutcome {
                name: a.name.clone(),
                plan: Some(p.id),
                state: Some(p.state),
                applied: 0,
                note: format!("plan {} is still waiting ({})", p.id, p.state.as_str()),
            });
            continue;
        }
        let findings = store
            .list_findings(FindingQuery {
                before: None,
                account: Some(account.name.clone()),
                rule: Some(a.rule.clone()),
                open_only: true,
                limit: 1_000_000,
            })
            .await?;
        let actions: Vec<Action> = findings
            .iter()
            .filter(|f| lpgate_domain::directory::looks_like_email(&f.key))
            .map(|f| Action {
                kind,
                email: f.key.clone(),
                params: ActionParams {
                    groups: a.group.iter().cloned().collect(),
                    ..ActionParams::default()
                },
            })
            .collect();
        if actions.is_empty() {
            out.push(AutomationOutcome {
                name: a.name.clone(),
                plan: None,
                state: None,
                applied: 0,
                note: "nothing to do".into(),
            });
            continue;
        }
        let mut exclude = env.exclude.to_vec();
        exclude.extend(a.exclude.iter().cloned());
        let (plan, _) = make_plan(
            store,
            PlanRequest {
                account: account.clone(),
                actions,
                actor: format!("automation:{}", a.name),
                source,
                allow_admins: false,
                exclude,
                limits: env.limits,
            },
            env.routing,
            now(),
        )
        .await?;
        if plan.pending == 0 {
            // Everything was a no-op or refused: record it as applied so it does not wait.
            store
                .set_plan_state(plan.id, PlanState::Applied, now())
                .await?;
            out.push(AutomationOutcome {
                name: a.name.clone(),
                plan: Some(plan.id),
                state: Some(PlanState::Applied),
                applied: 0,
                note: "every item was a no-op or excluded".into(),
            });
            continue;
        }
        if a.auto_apply && plan.state == PlanState::Ready {
            let report = apply_plan(
                store,
                client,
                plan.id,
                &format!("automation:{}", a.name),
                env.policy,
                env.routing,
                now,
            )
            .await?;
            let (after, _) = store.plan(plan.id).await?;
            out.push(AutomationOutcome {
                name: a.name.clone(),
                plan: Some(plan.id),
                state: Some(after.state),
                applied: report.done,
                note: format!("applied {} item(s)", report.done),
            });
        } else {
            out.push(AutomationOutcome {
                name: a.name.clone(),
                plan: Some(plan.id),
                state: Some(plan.state),
                applied: 0,
                note: if plan.state == PlanState::Held {
                    format!(
                        "plan {} is held: {}",
                        plan.id,
                        plan.held_reason.clone().unwrap_or_default()
                    )
                } else {
                    format!("plan {} waits for `lpgate apply {}`", plan.id, plan.id)
                },
            });
        }
    }
    Ok(out)
}
