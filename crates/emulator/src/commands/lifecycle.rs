//! Account lifecycle commands: deluser (0–3), disableuser / enableuser, updateuser and the
//! single-user actions (resetpassword, requiremasterpasswordchange, reinviteuser,
//! disablemultifactor).

use chrono::NaiveDateTime;
use serde::Serialize;
use serde_json::Value;

use super::batch::{apply_profile, does_not_exist, username};
use crate::state::events::action;
use crate::state::{Company, User};
use crate::wire::json::{batch_status, fail, to_body};
use crate::wire::{Data, value_uint};

/// Runs `op` for every user item in `data` (an object or an array of objects) and folds the
/// outcomes into OK / WARN / FAIL.
fn per_user(
    c: &mut Company,
    data: Data<'_>,
    mut op: impl FnMut(&mut Company, Data<'_>) -> Result<(), String>,
) -> Vec<u8> {
    let items = data.items();
    if items.is_empty() {
        return fail(&["Missing username".to_owned()]);
    }
    let errors: Vec<String> = items
        .iter()
        .filter_map(|item| op(c, Data::new(Some(item))).err())
        .collect();
    batch_status(&errors, items.len())
}

/// The member named by the item's `username`, for changing.
fn member<'c>(c: &'c mut Company, d: &Data<'_>) -> Result<&'c mut User, String> {
    let email = username(d)?;
    c.user_mut(email).ok_or_else(|| does_not_exist(email))
}

/// Answers deluser: 0 deactivates, 1 removes from the company (the account lives on as a free
/// account), 2 deletes, 3 withdraws a pending invitation.
pub(crate) fn deluser(c: &mut Company, now: NaiveDateTime, data: Data<'_>) -> Vec<u8> {
    per_user(c, data, |c, d| {
        let email = username(&d)?;
        let mode = match d.get("deleteaction") {
            None => 0,
            Some(v) => value_uint(v)
                .filter(|m| *m <= 3)
                .ok_or_else(|| format!("Invalid deleteaction: {v}"))?,
        };
        match mode {
            0 => {
                let user = c.user_mut(email).ok_or_else(|| does_not_exist(email))?;
                if !user.disabled {
                    user.disabled = true;
                    let target = user.username.clone();
                    c.record_admin(now, action::DEACTIVATED, target);
                }
            }
            1 => {
                let mut user = c.remove_user(email).ok_or_else(|| does_not_exist(email))?;
                user.admin = false;
                user.groups.clear();
                let target = user.username.clone();
                c.former.push(user);
                c.record_admin(now, action::REMOVED_FROM_COMPANY, target);
            }
            2 => {
                let user = c.remove_user(email).ok_or_else(|| does_not_exist(email))?;
                c.record_admin(now, action::ACCOUNT_DELETED, user.username);
            }
            _ => uninvite(c, now, email)?,
        }
        Ok(())
    })
}

fn uninvite(c: &mut Company, now: NaiveDateTime, email: &str) -> Result<(), String> {
    if let Some(i) = c.invitation(email) {
        let target = c.invited.remove(i);
        c.record_admin(now, action::UNINVITED, target);
        return Ok(());
    }
    match c.user(email) {
        None => Err(does_not_exist(email)),
        Some(u) if !u.never_logged_in() => {
            Err(format!("{email} has already accepted the invitation"))
        }
        Some(_) => {
            if let Some(u) = c.remove_user(email) {
                c.record_admin(now, action::UNINVITED, u.username);
            }
            Ok(())
        }
    }
}

/// The disableuser / enableuser reply. Status is lowercase `success`, per the docs.
struct ToggleReply {
    changed_key: &'static str,
    changed: Vec<String>,
    unchanged: Vec<String>,
    error: Option<String>,
}

impl Serialize for ToggleReply {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("status", "success")?;
        m.serialize_entry(self.changed_key, &self.changed)?;
        m.serialize_entry("unchanged_users", &self.unchanged)?;
        if let Some(e) = &self.error {
            m.serialize_entry("error", e)?;
        }
        m.end()
    }
}

/// Answers disableuser (`disable` true) or enableuser: data is an array of emails.
pub(crate) fn set_disabled(
    c: &mut Company,
    now: NaiveDateTime,
    data: Data<'_>,
    disable: bool,
) -> Vec<u8> {
    let emails: Vec<&str> = match data.raw() {
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
        Some(Value::String(s)) if s != "all" => vec![s.as_str()],
        _ => return fail(&["No users specified".to_owned()]),
    };
    let mut reply = ToggleReply {
        changed_key: if disable {
            "disabled_users"
        } else {
            "enabled_users"
        },
        changed: Vec::new(),
        unchanged: Vec::new(),
        error: None,
    };
    let mut missing = Vec::new();
    for email in emails.iter().map(|e| e.trim()) {
        let Some(user) = c.user_mut(email) else {
            missing.push(email.to_owned());
            continue;
        };
        let target = user.username.clone();
        if user.disabled == disable {
            reply.unchanged.push(target);
            continue;
        }
        user.disabled = disable;
        let act = if disable {
            action::DEACTIVATED
        } else {
            action::REACTIVATED
        };
        c.record_admin(now, act, target.clone());
        reply.changed.push(target);
    }
    if !missing.is_empty() {
        reply.error = Some(format!(
            "The following users do not exist: {}",
            missing.join(", ")
        ));
    }
    to_body(&reply)
}

/// Answers updateuser: fullname, duousername, securidusername. Admin rights cannot change.
pub(crate) fn updateuser(c: &mut Company, now: NaiveDateTime, data: Data<'_>) -> Vec<u8> {
    per_user(c, data, |c, d| {
        let user = member(c, &d)?;
        apply_profile(user, d);
        let target = user.username.clone();
        c.record_admin(now, action::EDIT_USER, target);
        Ok(())
    })
}

/// Answers resetpassword: a password-reset email goes out.
pub(crate) fn resetpassword(c: &mut Company, now: NaiveDateTime, data: Data<'_>) -> Vec<u8> {
    per_user(c, data, |c, d| {
        let user = member(c, &d)?;
        user.reset_emails_sent += 1;
        let target = user.username.clone();
        c.record_admin(now, action::PASSWORD_RESET_EMAIL, target);
        Ok(())
    })
}

/// Answers requiremasterpasswordchange: the user must change it at next login.
pub(crate) fn requiremasterpasswordchange(
    c: &mut Company,
    now: NaiveDateTime,
    data: Data<'_>,
) -> Vec<u8> {
    per_user(c, data, |c, d| {
        let user = member(c, &d)?;
        if !user.password_reset_required {
            user.password_reset_required = true;
            let target = user.username.clone();
            c.record_admin(now, action::REQUIRE_PASSWORD_CHANGE, target);
        }
        Ok(())
    })
}

/// Answers reinviteuser: only for accounts that never logged in (or pending invitations).
pub(crate) fn reinviteuser(c: &mut Company, now: NaiveDateTime, data: Data<'_>) -> Vec<u8> {
    per_user(c, data, |c, d| {
        let email = username(&d)?;
        if let Some(i) = c.invitation(email) {
            let target = c.invited.get(i).cloned().unwrap_or_default();
            c.record_admin(now, action::REINVITE, target);
            return Ok(());
        }
        let user = c.user_mut(email).ok_or_else(|| does_not_exist(email))?;
        if !user.never_logged_in() {
            return Err(format!("{email} has already accepted the invitation"));
        }
        user.invitations_sent += 1;
        let target = user.username.clone();
        c.record_admin(now, action::REINVITE, target);
        Ok(())
    })
}

/// Answers disablemultifactor: the user's MFA method is cleared.
pub(crate) fn disablemultifactor(c: &mut Company, now: NaiveDateTime, data: Data<'_>) -> Vec<u8> {
    per_user(c, data, |c, d| {
        let user = member(c, &d)?;
        if !user.multifactor.is_empty() {
            user.multifactor.clear();
            let target = user.username.clone();
            c.record_admin(now, action::DISABLE_MULTIFACTOR, target);
        }
        Ok(())
    })
}
