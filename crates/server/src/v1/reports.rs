//! `GET /v1/reports/{name}`: the compliance reports `lpgate report` produces, as JSON, CSV or
//! standalone HTML, computed from the store. An account-limited token gets its account's
//! report only. `coverage` compares with the HR list loaded by `lpgate hr load` (a GET
//! cannot upload one).

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use chrono::Utc;
use lpgate_report::render::{Format, file_name, render};
use lpgate_report::{MAX_DAYS, ReportError, ReportKind, Request};
use lpgate_store::Store;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::params::Params;
use crate::state::AppState;
use crate::v1::account_param;

/// The report routes.
pub fn routes<S: Store>() -> Router<AppState<S>> {
    Router::new().route("/reports/{name}", get(show::<S>))
}

#[utoipa::path(
    get,
    path = "/v1/reports/{name}",
    operation_id = "get_report",
    tag = "reports",
    summary = "A compliance report: mfa, coverage, inactive, admins, licences or passwords",
    description = "Computed from the store (never live from LastPass), with the sync run each account's figures come from. JSON is one object; CSV is every section's rows in one table with a leading `section` column; HTML is a standalone printable page. `coverage` compares with the HR list loaded by `lpgate hr load`.",
    params(
        ("name" = String, Path, description = "mfa, coverage, inactive, admins, licences or passwords"),
        ("account" = Option<String>, Query, description = "Only this account (by name); an account-limited token always gets its own"),
        ("format" = Option<String>, Query, description = "json (default), csv or html"),
        ("days" = Option<u32>, Query, description = "inactive only: days without a login, 1 to 3650 (default: rules.inactive_days)"),
    ),
    responses(
        (status = 200, description = "The report; Content-Disposition names a file", content(
            (crate::v1::openapi::ReportBody = "application/json"),
            (String = "text/csv"),
            (String = "text/html"),
        )),
        (status = 400, description = "A parameter is invalid (`field` names it)", body = crate::v1::openapi::ErrorBody),
        (status = 404, description = "No such report", body = crate::v1::openapi::ErrorBody),
        (status = 409, description = "coverage: no HR list is loaded", body = crate::v1::openapi::ErrorBody),
        (status = "default", description = "Error envelope", body = crate::v1::openapi::ErrorBody),
    ),
    security(("bearer" = [])),
)]
async fn show<S: Store>(
    State(state): State<AppState<S>>,
    Extension(caller): Extension<Caller>,
    Path(name): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    respond(&state, &caller, &name, raw.as_deref()).await
}

/// The report `name` for `caller` with the query `raw` (`account`, `format`, `days`), as the
/// response `GET /v1/reports/{name}` gives; shared with the dashboard.
pub(crate) async fn respond<S: Store>(
    state: &AppState<S>,
    caller: &Caller,
    name: &str,
    raw: Option<&str>,
) -> Result<Response, ApiError> {
    let Some(kind) = ReportKind::parse(name) else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no report {name:?}; reports: {}", ReportKind::names()),
        ));
    };
    let p = Params::parse(raw, &["account", "format", "days"])?;
    let format = match p.get("format") {
        None => Format::Json,
        Some(f) => Format::parse(f).ok_or_else(|| {
            ApiError::invalid(
                "format",
                format!("invalid format {f:?}: expected json, csv or html"),
            )
        })?,
    };
    let days = match (p.get("days"), kind) {
        (None, _) => None,
        (Some(d), ReportKind::Inactive) => Some(
            d.parse::<u32>()
                .ok()
                .filter(|n| (1..=MAX_DAYS).contains(n))
                .ok_or_else(|| {
                    ApiError::invalid(
                        "days",
                        format!("invalid days {d:?}: expected a whole number from 1 to {MAX_DAYS}"),
                    )
                })?,
        ),
        (Some(_), _) => {
            return Err(ApiError::invalid(
                "days",
                format!("the {name} report takes no days (only inactive does)"),
            ));
        }
    };
    let account = account_param(state, caller, &p).await?;
    let request = Request {
        kind,
        account: account.clone(),
        days,
        hr: None,
        now: Utc::now(),
    };
    let report = lpgate_report::build(&state.store, &state.reports, request)
        .await
        .map_err(report_error)?;
    let body = render(&report, format).map_err(|e| {
        tracing::error!(error = %e, "rendering a report failed");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "rendering the report failed; see the server log",
        )
    })?;
    let disposition = format!(
        "{}; filename=\"{}\"",
        if format == Format::Csv {
            "attachment"
        } else {
            "inline"
        },
        file_name(&report, account.as_deref(), format)
    );
    let mut res = (StatusCode::OK, body).into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    // Reports name people: never cached by browsers or proxies.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if format == Format::Html {
        // The page is standalone: no script, no external fetch of any kind.
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'"),
        );
    }
    Ok(res)
}

fn report_error(e: ReportError) -> ApiError {
    match e {
        ReportError::UnknownAccount(a) => {
            ApiError::invalid("account", format!("unknown account {a:?}"))
        }
        ReportError::Invalid { field, message } => ApiError::invalid(field, message),
        ReportError::NoHrList => ApiError::new(
            StatusCode::CONFLICT,
            "no_hr_list",
            "the coverage report needs an HR list: load one with `lpgate hr load FILE.csv`",
        ),
        ReportError::Store(e) => e.into(),
        ReportError::TooLarge => {
            ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string())
        }
    }
}
