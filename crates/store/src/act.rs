//! Plans (what will be done to whom, decided before anything is sent), their items' progress,
//! and the append-only, hash-chained audit log.

use chrono::{DateTime, Utc};
use lpgate_domain::{ActionKind, ActionParams};
use serde::Serialize;

use crate::account::AccountId;

/// Where a plan stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum PlanState {
    /// May be applied.
    Ready,
    /// Over a safety limit: needs an approval first.
    Held,
    /// Held, then approved: may be applied.
    Approved,
    /// Being applied (or stopped mid-way: applying again resumes).
    Applying,
    /// Every item done or skipped.
    Applied,
    /// Applied, but some items failed (their errors are on the items).
    Partial,
}

impl PlanState {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            PlanState::Ready => "ready",
            PlanState::Held => "held",
            PlanState::Approved => "approved",
            PlanState::Applying => "applying",
            PlanState::Applied => "applied",
            PlanState::Partial => "partial",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        [
            PlanState::Ready,
            PlanState::Held,
            PlanState::Approved,
            PlanState::Applying,
            PlanState::Applied,
            PlanState::Partial,
        ]
        .into_iter()
        .find(|p| p.as_str() == s)
    }
}

/// Where one item of a plan stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ItemState {
    /// Not sent yet.
    Pending,
    /// LastPass accepted it.
    Done,
    /// LastPass refused it (the note has its error); applying again retries it.
    Failed,
    /// Nothing to do (the note says why).
    Skipped,
    /// It cannot apply (the note says why); never sent.
    Refused,
}

impl ItemState {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            ItemState::Pending => "pending",
            ItemState::Done => "done",
            ItemState::Failed => "failed",
            ItemState::Skipped => "skipped",
            ItemState::Refused => "refused",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        [
            ItemState::Pending,
            ItemState::Done,
            ItemState::Failed,
            ItemState::Skipped,
            ItemState::Refused,
        ]
        .into_iter()
        .find(|p| p.as_str() == s)
    }
}

/// A plan to store.
#[derive(Debug, Clone)]
pub struct NewPlan {
    /// The account it acts on.
    pub account: AccountId,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// Who made it.
    pub created_by: String,
    /// From what (`cli`, `csv: FILE`, `hr-groups: FILE`, `automation: RULE`…).
    pub source: String,
    /// Why it is held, when it is.
    pub held_reason: Option<String>,
    /// The items, in the order they apply.
    pub items: Vec<NewPlanItem>,
}

/// One item to store.
#[derive(Debug, Clone, PartialEq)]
pub struct NewPlanItem {
    /// What.
    pub action: ActionKind,
    /// Whom.
    pub email: String,
    /// With what.
    pub params: ActionParams,
    /// `Pending`, `Skipped` or `Refused`.
    pub state: ItemState,
    /// Why skipped or refused.
    pub note: Option<String>,
}

/// A stored plan with its item counts.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PlanRow {
    /// Plan id (what `apply` and `approve` take).
    pub id: i64,
    /// Account name.
    pub account: String,
    /// Account id.
    #[serde(skip)]
    pub account_id: AccountId,
    /// Where it stands.
    pub state: PlanState,
    /// Why it is (or was) held.
    pub held_reason: Option<String>,
    /// Who approved it.
    pub approved_by: Option<String>,
    /// When.
    pub approved_at: Option<DateTime<Utc>>,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// Who made it.
    pub created_by: String,
    /// From what.
    pub source: String,
    /// When applying last finished.
    pub finished_at: Option<DateTime<Utc>>,
    /// Items still to send.
    pub pending: i64,
    /// Items done.
    pub done: i64,
    /// Items that failed.
    pub failed: i64,
    /// Items skipped as no-ops.
    pub skipped: i64,
    /// Items refused.
    pub refused: i64,
}

/// A stored item.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PlanItemRow {
    /// Position in the plan.
    pub seq: i64,
    /// What.
    #[cfg_attr(feature = "openapi", schema(schema_with = action_kind_schema))]
    pub action: ActionKind,
    /// Whom.
    pub email: String,
    /// With what.
    #[cfg_attr(feature = "openapi", schema(schema_with = action_params_schema))]
    pub params: ActionParams,
    /// Where it stands.
    pub state: ItemState,
    /// Why skipped or refused, LastPass's error, or a note on a done item ("already gone").
    pub note: Option<String>,
    /// When it was done or last failed.
    pub done_at: Option<DateTime<Utc>>,
}

/// `PlanItemRow::action` in the OpenAPI document: the action's kebab-case name.
#[cfg(feature = "openapi")]
fn action_kind_schema() -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .description(Some("What."))
        .enum_values(Some(ActionKind::ALL.iter().map(|k| k.as_str())))
        .build()
}

/// `PlanItemRow::params` in the OpenAPI document (`lpgate_domain::ActionParams`); empty
/// fields are left out.
#[cfg(feature = "openapi")]
fn action_params_schema() -> utoipa::openapi::Object {
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
    let string = || ObjectBuilder::new().schema_type(Type::String);
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .description(Some("With what (fields that do not apply are left out)."))
        .property(
            "fullname",
            string().description(Some("Provision / update: full name.")),
        )
        .property(
            "groups",
            ArrayBuilder::new().items(string()).description(Some(
                "Add / remove to or from this group; provision: the groups to join.",
            )),
        )
        .property(
            "duo_username",
            string().description(Some("Provision / update: Duo username.")),
        )
        .property(
            "securid_username",
            string().description(Some("Provision / update: RSA SecurID username.")),
        )
        .property(
            "password_reset_required",
            ObjectBuilder::new()
                .schema_type(Type::Boolean)
                .description(Some(
                    "Provision: require a new master password at first login.",
                )),
        )
        .property(
            "attribs",
            ObjectBuilder::new()
                .schema_type(Type::Object)
                .additional_properties(Some(string()))
                .description(Some(
                    "Provision: free attributes (Department, EmployeeNumber…).",
                )),
        )
        .build()
}

/// The outcome of sending one item.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemResult {
    /// The item.
    pub seq: i64,
    /// `Done` or `Failed`.
    pub state: ItemState,
    /// The error, when failed.
    pub note: Option<String>,
}

/// An audit entry to append.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAuditEntry {
    /// When.
    pub at: DateTime<Utc>,
    /// Who: the local user, an API token's name or a SCIM client.
    pub actor: String,
    /// The account (its name is recorded, so the entry outlives the account).
    pub account: Option<AccountId>,
    /// What (`suspend`, `plan.create`, `plan.approve`…).
    pub action: String,
    /// On whom or what.
    pub target: String,
    /// The plan, if any.
    pub plan_id: Option<i64>,
    /// What was asked (never a secret).
    pub summary: String,
    /// How it ended.
    pub outcome: String,
}

/// A stored audit entry with its chain.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditRow {
    /// Entry number, from 1, without gaps.
    pub seq: i64,
    /// When (UTC, as hashed).
    pub at: String,
    /// Who.
    pub actor: String,
    /// Account name.
    pub account: Option<String>,
    /// What.
    pub action: String,
    /// On whom or what.
    pub target: String,
    /// The plan.
    pub plan_id: Option<i64>,
    /// What was asked.
    pub summary: String,
    /// How it ended.
    pub outcome: String,
    /// The previous entry's hash.
    pub prev_hash: String,
    /// This entry's hash.
    pub hash: String,
}

/// A filter for listing the audit log.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    /// Only entries at or after this instant.
    pub since: Option<DateTime<Utc>>,
    /// Only this actor.
    pub actor: Option<String>,
    /// Only this account.
    pub account: Option<String>,
    /// Only entries before this sequence number (the next page).
    pub before: Option<i64>,
    /// At most this many, newest first.
    pub limit: usize,
}
