//! One module per family of Enterprise API commands, and the dispatcher that takes the right
//! lock (reads share, writes exclude) and routes `cmd` to its handler.

mod batch;
mod expired;
mod folders;
mod lifecycle;
mod paging;
mod reporting;
mod sites;
mod userdata;

use std::sync::RwLock;

use chrono::NaiveDateTime;

use crate::emulator::{read_company, write_company};
use crate::state::Company;
use crate::wire::{Envelope, json::fail};

/// Every command the emulator answers.
const KNOWN: &[&str] = &[
    "getuserdata",
    "getsfdata",
    "getdetailedsfdata",
    "reporting",
    "expiredmasterpwlist",
    "batchadd",
    "batchchangegrp",
    "deluser",
    "disableuser",
    "enableuser",
    "updateuser",
    "resetpassword",
    "requiremasterpasswordchange",
    "reinviteuser",
    "disablemultifactor",
    "pushsitestousers",
];

/// True for a command the emulator answers.
pub(crate) fn is_known(cmd: &str) -> bool {
    KNOWN.contains(&cmd)
}

/// Runs `cmd` against the company and returns the reply body.
pub(crate) fn execute(
    company: &RwLock<Company>,
    now: NaiveDateTime,
    cmd: &str,
    env: &Envelope,
) -> Vec<u8> {
    let data = env.data();
    match cmd {
        "getuserdata" => userdata::getuserdata(&read_company(company), data),
        "getsfdata" => folders::sfdata(&read_company(company), env, false),
        "getdetailedsfdata" => folders::sfdata(&read_company(company), env, true),
        "reporting" => reporting::reporting(&read_company(company), data),
        "expiredmasterpwlist" => expired::expiredmasterpwlist(&read_company(company), now, data),
        "batchadd" => batch::batchadd(&mut write_company(company), now, data),
        "batchchangegrp" => batch::batchchangegrp(&mut write_company(company), now, data),
        "deluser" => lifecycle::deluser(&mut write_company(company), now, data),
        "disableuser" => lifecycle::set_disabled(&mut write_company(company), now, data, true),
        "enableuser" => lifecycle::set_disabled(&mut write_company(company), now, data, false),
        "updateuser" => lifecycle::updateuser(&mut write_company(company), now, data),
        "resetpassword" => lifecycle::resetpassword(&mut write_company(company), now, data),
        "requiremasterpasswordchange" => {
            lifecycle::requiremasterpasswordchange(&mut write_company(company), now, data)
        }
        "reinviteuser" => lifecycle::reinviteuser(&mut write_company(company), now, data),
        "disablemultifactor" => {
            lifecycle::disablemultifactor(&mut write_company(company), now, data)
        }
        "pushsitestousers" => sites::pushsitestousers(&mut write_company(company), now, data),
        other => fail(&[format!("Unknown command: {other}")]),
    }
}
