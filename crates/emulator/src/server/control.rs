//! The `/_emulator/*` JSON routes: the control surface over HTTP, for a separately running
//! emulator driven by scripts or the demo. Errors are `{"error": "..."}` with 404 or 400.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, post, put};
use axum::{Json, Router};
use bytes::Bytes;
use chrono::{NaiveDateTime, TimeDelta};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::clock::Clock;
use crate::emulator::Emulator;
use crate::error::EmulatorError;
use crate::faults::FaultSpec;
use crate::state::FolderPerms;

/// The control routes, to be nested under `/_emulator`.
pub(super) fn routes() -> Router<Emulator> {
    Router::new()
        .route("/users/{email}/login", post(login))
        .route("/users/{email}/failed-login", post(failed_login))
        .route("/users/{email}/master-password", post(master_password))
        .route("/users/{email}/mfa", post(mfa))
        .route("/users/{email}/admin", post(admin))
        .route("/invite", post(invite))
        .route("/folders/{folder}/members", post(share))
        .route("/folders/{folder}/members/{email}", delete(unshare))
        .route("/rotate-provhash", post(rotate))
        .route(
            "/faults",
            put(set_faults).delete(clear_faults).get(faults_injected),
        )
        .route("/clock", put(set_clock))
        .route("/state", axum::routing::get(state))
        .route("/requests", axum::routing::get(requests))
        .fallback(not_found)
}

/// A control-route failure, answered as `{"error": "..."}`.
struct ControlError {
    status: StatusCode,
    message: String,
}

impl IntoResponse for ControlError {
    fn into_response(self) -> Response {
        (self.status, Json(json!({ "error": self.message }))).into_response()
    }
}

impl From<EmulatorError> for ControlError {
    fn from(e: EmulatorError) -> Self {
        let status = match e {
            EmulatorError::UnknownUser(_)
            | EmulatorError::UnknownFolder(_)
            | EmulatorError::NotAFolderMember { .. } => StatusCode::NOT_FOUND,
            _ => StatusCode::BAD_REQUEST,
        };
        Self {
            status,
            message: e.to_string(),
        }
    }
}

fn bad_request(message: impl Into<String>) -> ControlError {
    ControlError {
        status: StatusCode::BAD_REQUEST,
        message: message.into(),
    }
}

/// Parses a JSON body; an empty body reads as `{}`.
fn body<T: DeserializeOwned>(b: &Bytes) -> Result<T, ControlError> {
    let raw: &[u8] = if b.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        b
    };
    serde_json::from_slice(raw).map_err(|e| bad_request(format!("invalid JSON body: {e}")))
}

type Reply = Result<Json<serde_json::Value>, ControlError>;

fn done() -> Reply {
    Ok(Json(json!({ "ok": true })))
}

async fn not_found() -> ControlError {
    ControlError {
        status: StatusCode::NOT_FOUND,
        message: "no such control route".into(),
    }
}

async fn login(State(emu): State<Emulator>, Path(email): Path<String>) -> Reply {
    emu.login(&email)?;
    done()
}

async fn failed_login(State(emu): State<Emulator>, Path(email): Path<String>) -> Reply {
    emu.failed_login(&email)?;
    done()
}

#[derive(Deserialize)]
struct StrengthReq {
    strength: u8,
}

async fn master_password(
    State(emu): State<Emulator>,
    Path(email): Path<String>,
    b: Bytes,
) -> Reply {
    let req: StrengthReq = body(&b)?;
    emu.change_master_password(&email, req.strength)?;
    done()
}

#[derive(Deserialize)]
struct MfaReq {
    #[serde(default)]
    kind: Option<String>,
}

async fn mfa(State(emu): State<Emulator>, Path(email): Path<String>, b: Bytes) -> Reply {
    let req: MfaReq = body(&b)?;
    emu.set_multifactor(&email, req.kind.as_deref())?;
    done()
}

#[derive(Deserialize)]
struct AdminReq {
    admin: bool,
}

async fn admin(State(emu): State<Emulator>, Path(email): Path<String>, b: Bytes) -> Reply {
    let req: AdminReq = body(&b)?;
    emu.set_admin(&email, req.admin)?;
    done()
}

#[derive(Deserialize)]
struct InviteReq {
    email: String,
}

async fn invite(State(emu): State<Emulator>, b: Bytes) -> Reply {
    let req: InviteReq = body(&b)?;
    emu.invite(&req.email)?;
    done()
}

#[derive(Deserialize)]
struct ShareReq {
    email: String,
    #[serde(flatten)]
    perms: FolderPerms,
}

async fn share(State(emu): State<Emulator>, Path(folder): Path<String>, b: Bytes) -> Reply {
    let req: ShareReq = body(&b)?;
    emu.share_folder(&folder, &req.email, req.perms)?;
    done()
}

async fn unshare(
    State(emu): State<Emulator>,
    Path((folder, email)): Path<(String, String)>,
) -> Reply {
    emu.unshare_folder(&folder, &email)?;
    done()
}

async fn rotate(State(emu): State<Emulator>) -> Reply {
    let provhash = emu.rotate_provhash();
    Ok(Json(json!({ "provhash": provhash })))
}

#[derive(Deserialize)]
struct FaultsReq {
    #[serde(default)]
    command: Option<String>,
    #[serde(default)]
    faults: FaultSpec,
}

async fn set_faults(State(emu): State<Emulator>, b: Bytes) -> Reply {
    let req: FaultsReq = body(&b)?;
    emu.set_faults(req.command.as_deref(), req.faults);
    done()
}

async fn clear_faults(State(emu): State<Emulator>) -> Reply {
    emu.clear_faults();
    done()
}

/// `{"mode":"system"}`, `{"mode":"fixed","at":"2026-11-01 09:00:00"}` or
/// `{"mode":"offset","secs":3600}`.
#[derive(Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
enum ClockReq {
    System,
    Fixed { at: String },
    Offset { secs: i64 },
}

async fn set_clock(State(emu): State<Emulator>, b: Bytes) -> Reply {
    let clock = match body::<ClockReq>(&b)? {
        ClockReq::System => Clock::System,
        ClockReq::Fixed { at } => {
            let t = NaiveDateTime::parse_from_str(&at, "%Y-%m-%d %H:%M:%S")
                .or_else(|_| NaiveDateTime::parse_from_str(&at, "%Y-%m-%dT%H:%M:%S"))
                .map_err(|_| bad_request(format!("invalid time {at:?}")))?;
            Clock::Fixed(t)
        }
        ClockReq::Offset { secs } => Clock::Offset(
            TimeDelta::try_seconds(secs)
                .filter(|d| d.num_days().abs() <= 365 * 100)
                .ok_or_else(|| bad_request("offset out of range (at most 100 years)"))?,
        ),
    };
    emu.set_clock(clock);
    Ok(Json(json!({ "ok": true, "now": emu.now() })))
}

async fn state(State(emu): State<Emulator>) -> Response {
    Json(emu.view()).into_response()
}

async fn faults_injected(State(emu): State<Emulator>) -> Response {
    Json(emu.faults_injected()).into_response()
}

async fn requests(State(emu): State<Emulator>) -> Response {
    Json(emu.request_counts()).into_response()
}
