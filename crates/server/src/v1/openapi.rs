//! The OpenAPI document, generated from the handlers' `#[utoipa::path]` attributes and the
//! response types' `ToSchema` derives, served at `GET /openapi.json` (no token: it describes
//! the API, not the directory). `docs/openapi.json` is this document, checked fresh by a test.

use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

// The types below exist only to describe replies in the document; nothing reads their fields.

/// A list reply: `{"result": [...], "next_cursor": "…" | null}`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct List<T> {
    /// The items.
    pub result: Vec<T>,
    /// Where the next page starts; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// A single-item reply: `{"result": {...}}`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct Item<T> {
    /// The item.
    pub result: T,
}

/// `POST /v1/accounts`: the account added, with the user count the credential check saw.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct AccountAdded {
    /// The account (its `id` is its name).
    #[serde(flatten)]
    pub account: lpgate_store::AccountRow,
    /// Users LastPass reported when the credentials were checked.
    pub users: u64,
}

/// `DELETE /v1/accounts/{id}`: what was removed.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct AccountDeleted {
    /// The account's name.
    pub id: String,
    /// Always `true`.
    pub deleted: bool,
}

/// `POST /v1/accounts/{id}/sync`: the run started; `GET /v1/sync-runs/{run_id}` follows it.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct SyncStarted {
    /// The sync run's id.
    pub run_id: i64,
    /// The account's name.
    pub account: String,
}

/// A plan with its items.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct PlanDetail {
    /// The plan and its item counts.
    #[serde(flatten)]
    pub plan: lpgate_store::PlanRow,
    /// The items, in the order they apply.
    pub items: Vec<lpgate_store::PlanItemRow>,
}

/// `POST /v1/plans/{id}/apply`: the plan as it stands afterwards, with what this run did.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct PlanApplied {
    /// The plan and its item counts.
    #[serde(flatten)]
    pub plan: lpgate_store::PlanRow,
    /// The items, in the order they apply.
    pub items: Vec<lpgate_store::PlanItemRow>,
    /// What applying did; `null` when the items were sent but re-reading the users failed.
    pub report: Option<ApplyReport>,
    /// Why the re-read after applying failed, when it did.
    pub warning: Option<String>,
}

/// What applying did (`lpgate_engine::act::ApplyReport`).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ApplyReport {
    /// Plan id.
    pub plan: i64,
    /// Items LastPass accepted in this run.
    pub done: usize,
    /// Items LastPass refused in this run (applying again retries them).
    pub failed: usize,
    /// Items already done before this run.
    pub already_done: usize,
    /// Users re-read afterwards.
    pub refreshed: usize,
    /// Changes the re-read recorded.
    pub changes: i64,
}

/// `GET /v1/reports/{name}?format=json`: one report.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ReportBody {
    /// The report's name (`mfa`, `coverage`, …).
    pub report: String,
    /// Title for people.
    pub title: String,
    /// What it shows and how it counts.
    pub description: String,
    /// Accounts covered, by name.
    pub accounts: Vec<String>,
    /// When it was produced (RFC 3339, UTC).
    pub generated_at: String,
    /// The sync run each account's figures come from: `{account, run_id, finished_at,
    /// later_failure}`; `run_id` is null for an account never synced successfully.
    pub sources: Vec<serde_json::Value>,
    /// Parameters it was produced with, by name.
    pub parameters: serde_json::Value,
    /// Headline figures by key (counts, percentages, null when unknown).
    pub summary: serde_json::Value,
    /// Sections: `{key, title, description, columns: [{key, label}], rows: [{column: value}]}`.
    pub sections: Vec<serde_json::Value>,
    /// Caveats (accounts never synced, data not available).
    pub notes: Vec<String>,
}

/// An error reply.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ErrorBody {
    /// What went wrong.
    pub error: ErrorDetail,
}

/// An error: a stable code, a message for people, the request field at fault.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ErrorDetail {
    /// `invalid_parameter`, `invalid_body`, `body_too_large`, `unauthorized`, `forbidden`,
    /// `not_found`, `conflict`, `no_hr_list`, `sync_running`, `plan_held`, `credentials_rejected`,
    /// `query_refused`, `query_timeout`, `rate_limited`, `not_ready`, `not_configured`, `busy`,
    /// `sync_failed`, `upstream_error`, `internal`.
    pub code: String,
    /// For people.
    pub message: String,
    /// The query parameter or body field at fault, when there is one.
    pub field: Option<String>,
}

struct Bearer;

impl Modify for Bearer {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        if let Some(components) = openapi.components.as_mut() {
            components.add_security_scheme(
                "bearer",
                SecurityScheme::Http(
                    HttpBuilder::new()
                        .scheme(HttpAuthScheme::Bearer)
                        .bearer_format("lpg_…")
                        .build(),
                ),
            );
        }
    }
}

/// The document: every route, reads and writes.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "lpgate",
        description = "Self-hosted LastPass Enterprise connector: the REST API. See docs/api.md."
    ),
    paths(
        crate::health::healthz,
        crate::health::readyz,
        crate::metrics::metrics,
        super::accounts::index,
        super::accounts::show,
        super::users::index,
        super::users::show,
        super::directory::user_roles,
        super::directory::roles,
        super::groups::index,
        super::directory::group_members,
        super::directory::folders,
        super::directory::events,
        super::findings::index,
        super::changes::index,
        super::admin::create,
        super::admin::update,
        super::admin::remove,
        super::admin::sync,
        super::admin::run,
        super::admin::proxy,
        super::plans::create,
        super::plans::index,
        super::plans::show,
        super::plans::approve,
        super::plans::apply,
        super::plans::audit,
        super::query::run,
        super::reports::show,
    ),
    modifiers(&Bearer)
)]
pub struct ApiDoc;

/// `GET /openapi.json`.
pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use utoipa::PartialSchema;
    use utoipa::openapi::{RefOr, Schema};

    /// The document's `ApplyReport` is written out by hand: it must name the fields the
    /// engine's report serializes.
    #[test]
    fn apply_report_schema_names_the_engine_report_fields() {
        let served = serde_json::to_value(lpgate_engine::act::ApplyReport::default()).unwrap();
        let mut served: Vec<String> = served.as_object().unwrap().keys().cloned().collect();
        let RefOr::T(Schema::Object(doc)) = super::ApplyReport::schema() else {
            panic!("ApplyReport is not an object schema");
        };
        let mut documented: Vec<String> = doc.properties.keys().cloned().collect();
        served.sort();
        documented.sort();
        assert_eq!(documented, served);
    }
}
