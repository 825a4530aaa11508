//! The bodies of lpgate's fuzz targets, one function each, taking arbitrary bytes. `fuzz/`
//! (cargo-fuzz, nightly) calls them from `fuzz_target!`; `tests/corpus.rs` calls them on
//! every file of `fuzz/corpus/<target>/` on stable, so the ordinary test suite runs the same
//! code over the seeds and over every crash found so far.
//!
//! Each must return for any input: no panic, no hang, no unbounded memory.

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

// The configuration loader lives in the `lpgate` binary crate; its two files are compiled
// here as they are there.
#[allow(dead_code, missing_docs, clippy::expect_used)]
#[path = "../../lpgate/src/config.rs"]
mod config;
#[allow(dead_code, missing_docs, clippy::expect_used)]
#[path = "../../lpgate/src/config_env.rs"]
mod config_env;

use std::path::Path;

/// A target: its name (the directory under `fuzz/corpus/` and the cargo-fuzz binary) and
/// its body.
pub type Target = (&'static str, fn(&[u8]));

/// Every target.
pub const TARGETS: &[Target] = &[
    ("lastpass_reply", lastpass_reply),
    ("scim_filter", scim_filter),
    ("scim_patch", scim_patch),
    ("scim_body", scim_body),
    ("rest_body", rest_body),
    ("csv_import", csv_import),
    ("config", config),
];

/// A LastPass Enterprise API reply, read by every command's parser.
pub fn lastpass_reply(data: &[u8]) {
    lpgate_lastpass::fuzzing::reply(data);
}

/// A SCIM `filter=` (and the query string it comes in).
pub fn scim_filter(data: &[u8]) {
    lpgate_server::fuzzing::scim_filter(&String::from_utf8_lossy(data));
}

/// A SCIM PATCH body: operations and their paths, applied to a user.
pub fn scim_patch(data: &[u8]) {
    lpgate_server::fuzzing::scim_patch(data);
}

/// A SCIM user or group body, or a search request.
pub fn scim_body(data: &[u8]) {
    lpgate_server::fuzzing::scim_body(data);
}

/// Every `/v1` JSON body.
pub fn rest_body(data: &[u8]) {
    lpgate_server::fuzzing::rest_body(data);
}

/// The CSV importers: HR exports (strict and lenient, the group and offboarding plans made
/// from them), action lists, and the HR export map.
pub fn csv_import(data: &[u8]) {
    use lpgate_engine::import;
    let text = String::from_utf8_lossy(data);
    let cols = import::HrColumns::default();
    let _ = import::hr_csv(&text, "fuzz.csv", &cols);
    if let Ok((rows, _)) = import::hr_csv_lenient(&text, "fuzz.csv", &cols) {
        let _ = import::hr_group_actions(&rows, &[]);
        let _ = import::offboard_actions(&rows, &[], true, lpgate_domain::ActionKind::Suspend);
    }
    let _ = import::actions_csv(&text, "fuzz.csv");
    let _ = lpgate_report::export::ExportMap::parse(&text, "fuzz.toml");
}

/// `lpgate.toml`, as `lpgate` loads and checks it (no environment).
pub fn config(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let _ = config::Config::from_text(&text, Path::new("fuzz.toml"), std::iter::empty());
}
