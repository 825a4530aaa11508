//! `batchadd` (create or update users) and `batchchangegrp` (group membership): per-user
//! outcomes folded into OK / WARN / FAIL.

use chrono::NaiveDateTime;
use serde_json::Value;

use crate::state::events::action;
use crate::state::{Company, User, valid_email};
use crate::wire::json::{batch_status, fail};
use crate::wire::{Data, value_flag};

/// Answers batchadd.
pub(crate) fn batchadd(c: &mut Company, now: NaiveDateTime, data: Data<'_>) -> Vec<u8> {
    let items = data.items();
    if data.raw().is_none() {
        return fail(&["No users specified".to_owned()]);
    }
    let errors: Vec<String> = items
        .iter()
        .filter_map(|item| add_one(c, now, Data::new(Some(item))).err())
        .collect();
    batch_status(&errors, items.len())
}

/// The `username` of a batch item, trimmed; the per-user error text when it is missing.
pub(super) fn username<'a>(d: &Data<'a>) -> Result<&'a str, String> {
    d.str("username")
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| "Missing username".to_owned())
}

/// The error LastPass gives for an email that is not in the company.
pub(super) fn does_not_exist(email: &str) -> String {
    format!("{email} does not exist")
}

/// Group names from an array of strings (or a single string), trimmed, empties dropped.
fn names(v: Option<&Value>) -> Vec<String> {
    let raw: Vec<&Value> = match v {
        Some(Value::Array(a)) => a.iter().collect(),
        Some(s @ Value::String(_)) => vec![s],
        _ => Vec::new(),
    };
    let mut out: Vec<String> = Vec::new();
    for name in raw.iter().filter_map(|v| v.as_str()).map(str::trim) {
        if !name.is_empty() && !out.iter().any(|n| n == name) {
            out.push(name.to_owned());
        }
    }
    out
}

fn add_one(c: &mut Company, now: NaiveDateTime, d: Data<'_>) -> Result<(), String> {
    let email = username(&d)?;
    if !valid_email(email) {
        return Err(format!("{email} is not a valid email address"));
    }
    let groups = names(d.get("groups"));
    let reset_flag = d.get("password_reset_required").and_then(value_flag);
    let has_password = d.str("password").is_some_and(|p| !p.is_empty());

    if let Some(pos) = c.position(email) {
        let Some(user) = c.users.get_mut(pos) else {
            return Err(does_not_exist(email));
        };
        apply_profile(user, d);
        if let Some(flag) = reset_flag {
            user.password_reset_required = flag;
        }
        if has_password {
            user.last_pw_change = now;
        }
        let target = user.username.clone();
        for g in &groups {
            c.join_group(pos, g);
        }
        c.record_admin(now, action::EDIT_USER, target);
        return Ok(());
    }

    let former = c
        .former
        .iter()
        .position(|u| u.username.eq_ignore_ascii_case(email));
    let mut user = match former {
        Some(i) => {
            let mut u = c.former.remove(i);
            u.disabled = false;
            if let Some(flag) = reset_flag {
                u.password_reset_required = flag;
            }
            u
        }
        None => {
            let id = c.new_user_id();
            User::invited(id, email, "", now, reset_flag.unwrap_or(true))
        }
    };
    apply_profile(&mut user, d);
    if has_password {
        user.last_pw_change = now;
    }
    user.groups = groups;
    let target = user.username.clone();
    if let Some(i) = c.invitation(&target) {
        c.invited.remove(i);
    }
    c.insert_user(user);
    c.record_admin(now, action::ACCOUNT_CREATED, target);
    Ok(())
}

/// Copies the profile fields batchadd and updateuser share (only those present).
pub(super) fn apply_profile(user: &mut User, d: Data<'_>) {
    if let Some(f) = d.str("fullname") {
        user.fullname = f.to_owned();
    }
    if let Some(v) = d.get("duousername") {
        user.duousername = v.as_str().map(str::to_owned).filter(|s| !s.is_empty());
    }
    if let Some(v) = d.get("securidusername") {
        user.securidusername = v.as_str().map(str::to_owned).filter(|s| !s.is_empty());
    }
    if let Some(Value::Object(a)) = d.get("attribs") {
        for (k, v) in a {
            user.attribs.insert(k.clone(), v.clone());
        }
    }
}

/// Answers batchchangegrp.
pub(crate) fn batchchangegrp(c: &mut Company, now: NaiveDateTime, data: Data<'_>) -> Vec<u8> {
    let items = data.items();
    if items.is_empty() {
        return fail(&["No users specified".to_owned()]);
    }
    let errors: Vec<String> = items
        .iter()
        .filter_map(|item| change_groups(c, now, Data::new(Some(item))).err())
        .collect();
    batch_status(&errors, items.len())
}

fn change_groups(c: &mut Company, now: NaiveDateTime, d: Data<'_>) -> Result<(), String> {
    let email = username(&d)?;
    let pos = c.position(email).ok_or_else(|| does_not_exist(email))?;
    let target = c
        .users
        .get(pos)
        .map(|u| u.username.clone())
        .unwrap_or_default();
    for g in names(d.get("add")) {
        if c.join_group(pos, &g) {
            c.record_admin(now, action::ADD_TO_GROUP, format!("{target} ({g})"));
        }
    }
    for g in names(d.get("del")) {
        if c.leave_group(pos, &g) {
            c.record_admin(now, action::REMOVE_FROM_GROUP, format!("{target} ({g})"));
        }
    }
    Ok(())
}
