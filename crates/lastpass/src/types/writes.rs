//! Bodies of the write commands: create, update, group changes, removal, bulk toggles.

use std::collections::BTreeMap;

use serde::{Serialize, Serializer};

use crate::error::Error;

/// A user to create (or update) with `batchadd`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct NewUser {
    /// Email; the identity of the user.
    pub username: String,
    /// Full name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fullname: Option<String>,
    /// Groups to join; created on first use.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    /// Duo Security username.
    #[serde(rename = "duousername", skip_serializing_if = "Option::is_none")]
    pub duo_username: Option<String>,
    /// RSA SecurID username.
    #[serde(rename = "securidusername", skip_serializing_if = "Option::is_none")]
    pub securid_username: Option<String>,
    /// Whether the user must choose a new master password (LastPass defaults to true).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password_reset_required: Option<bool>,
    /// Free attributes (`Department`, `EmployeeNumber`, `objectGUID`, …).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub attribs: BTreeMap<String, String>,
}

impl NewUser {
    /// A new user with just an email.
    pub fn new(username: impl Into<String>) -> Self {
        NewUser {
            username: username.into(),
            ..Default::default()
        }
    }
}

/// Changes to one user's groups with `batchchangegrp`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct GroupChange {
    /// The user's email.
    pub username: String,
    /// Groups to join.
    pub add: Vec<String>,
    /// Groups to leave.
    pub del: Vec<String>,
}

/// What `deluser` does to a user. The four are very different, hence a type, not a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeleteAction {
    /// 0: login blocked; vault, data and business membership kept (reversible).
    Deactivate,
    /// 1: the user leaves the business account; their LastPass account stays as a Free one.
    Remove,
    /// 2: the LastPass account is deleted entirely, vault included. Irreversible.
    Delete,
    /// 3: a pending invitation is withdrawn.
    Uninvite,
}

impl DeleteAction {
    /// The `deleteaction` number on the wire.
    pub fn code(self) -> u8 {
        match self {
            DeleteAction::Deactivate => 0,
            DeleteAction::Remove => 1,
            DeleteAction::Delete => 2,
            DeleteAction::Uninvite => 3,
        }
    }
}

impl Serialize for DeleteAction {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u8(self.code())
    }
}

/// Fields `updateuser` can change (it cannot change admin rights).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct UserUpdate {
    /// The user's email.
    pub username: String,
    /// New full name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fullname: Option<String>,
    /// New Duo username.
    #[serde(rename = "duousername", skip_serializing_if = "Option::is_none")]
    pub duo_username: Option<String>,
    /// New SecurID username.
    #[serde(rename = "securidusername", skip_serializing_if = "Option::is_none")]
    pub securid_username: Option<String>,
}

/// The reply of `disableuser` / `enableuser`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ToggleOutcome {
    /// Users whose state changed.
    pub changed: Vec<String>,
    /// Users already in the requested state.
    pub unchanged: Vec<String>,
    /// LastPass's description of anything it could not do (unknown users).
    pub error: Option<String>,
}

/// Checks an email at the edge so a typo is reported before anything is sent.
pub fn check_email(field: &'static str, value: &str) -> Result<(), Error> {
    let ok = {
        let v = value.trim();
        v.len() == value.len()
            && v.len() <= 254
            && !v.chars().any(|c| c.is_whitespace() || c.is_control())
            && matches!(v.split_once('@'), Some((local, domain)) if !local.is_empty() && domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.') && !domain.contains('@'))
    };
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidInput {
            field,
            value: value.to_string(),
            reason: "expected an email address such as ann@example.com",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert!(check_email("username", "ann@example.com").is_ok());
        assert!(check_email("username", "cy.newhire+lp@example.com").is_ok());
        for bad in [
            "",
            "ann",
            "ann@",
            "@x.com",
            "a b@x.com",
            " a@x.com",
            "a@x",
            "a@@x.com",
        ] {
            let e = check_email("username", bad).unwrap_err().to_string();
            assert!(e.contains("username"), "{e}");
        }
    }

    #[test]
    fn bodies() {
        let u = NewUser {
            duo_username: Some("d".into()),
            ..NewUser::new("a@b.co")
        };
        assert_eq!(
            serde_json::to_string(&u).unwrap(),
            r#"{"username":"a@b.co","duousername":"d"}"#
        );
        assert_eq!(serde_json::to_string(&DeleteAction::Uninvite).unwrap(), "3");
    }
}
