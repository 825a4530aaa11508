//! `pushsitestousers`: records the pushed site and hands out a push id.

use chrono::NaiveDateTime;
use serde::Serialize;

use crate::state::events::action;
use crate::state::{Company, PushedSite};
use crate::wire::Data;
use crate::wire::json::{fail, to_body};

#[derive(Serialize)]
struct PushReply {
    status: &'static str,
    psid: String,
}

/// Answers pushsitestousers: `url` is required; the whole `data` is kept for inspection.
pub(crate) fn pushsitestousers(c: &mut Company, now: NaiveDateTime, data: Data<'_>) -> Vec<u8> {
    let Some(url) = data.str("url").map(str::trim).filter(|u| !u.is_empty()) else {
        return fail(&["Missing url".to_owned()]);
    };
    let target = data.str("users").unwrap_or("all").to_owned();
    let url = url.to_owned();
    let psid = c.new_psid();
    c.pushed.push(PushedSite {
        psid,
        data: data.raw().cloned().unwrap_or_default(),
    });
    c.record_admin(now, action::PUSH_SITES, format!("{url} ({target})"));
    to_body(&PushReply {
        status: "OK",
        psid: psid.to_string(),
    })
}
