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
    /// `invalid_parameter`, `unauthorized`, `forbidden`, `not_found`, `rate_limited`,
    /// `not_ready`, `busy`, `internal`.
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

/// The document. Write endpoints (POST /v1/accounts, PATCH/DELETE /v1/accounts/{id},
/// /v1/accounts/{id}/sync, /v1/accounts/{id}/proxy, /v1/sync-runs/{id}, /v1/plans…, /v1/audit,
/// /v1/query) are to be added here as their handlers land.
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
    ),
    modifiers(&Bearer)
)]
pub struct ApiDoc;

/// `GET /openapi.json`.
pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
