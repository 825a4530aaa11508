//! Lifecycle actions and how a plan decides each one against the user's current state:
//! do it, skip it (already so), or refuse it (it cannot apply). Also the safety limits that
//! hold a plan for approval. Pure: the engine supplies the state, the store keeps the plan.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::status::AccountStatus;

/// What an action does, and the Enterprise API command it maps to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ActionKind {
    /// `batchadd`: a new, non-admin user (password change required by default).
    Provision,
    /// `updateuser`: full name, Duo / SecurID usernames (`batchadd` of the existing user when
    /// attributes are given too, since `updateuser` takes none).
    Update,
    /// `deluser` 0: login blocked, vault and membership kept (reversible).
    Suspend,
    /// `deluser` 1: leaves the business account; the LastPass account stays as a Free one.
    Remove,
    /// `deluser` 2: the LastPass account and vault are deleted. Irreversible.
    Deprovision,
    /// `deluser` 3: a pending invitation is withdrawn.
    Uninvite,
    /// `enableuser`: a suspended user may log in again.
    Enable,
    /// `reinviteuser`: the invitation is sent again.
    Reinvite,
    /// `resetpassword`: a master-password reset email.
    ResetPassword,
    /// `requiremasterpasswordchange`: a new master password at next login.
    RequirePasswordChange,
    /// `disablemultifactor`: MFA off, so the user can enrol again.
    ResetMfa,
    /// `batchchangegrp` add.
    AddToGroup,
    /// `batchchangegrp` del.
    RemoveFromGroup,
}

impl ActionKind {
    /// Every action, in the order plans apply them.
    pub const ALL: [ActionKind; 13] = [
        ActionKind::Provision,
        ActionKind::Update,
        ActionKind::Enable,
        ActionKind::AddToGroup,
        ActionKind::RemoveFromGroup,
        ActionKind::Reinvite,
        ActionKind::ResetPassword,
        ActionKind::RequirePasswordChange,
        ActionKind::ResetMfa,
        ActionKind::Suspend,
        ActionKind::Remove,
        ActionKind::Deprovision,
        ActionKind::Uninvite,
    ];

    /// The name used on the command line, in CSV files, plans and the audit log.
    pub fn as_str(self) -> &'static str {
        match self {
            ActionKind::Provision => "provision",
            ActionKind::Update => "update",
            ActionKind::Suspend => "suspend",
            ActionKind::Remove => "remove",
            ActionKind::Deprovision => "deprovision",
            ActionKind::Uninvite => "uninvite",
            ActionKind::Enable => "enable",
            ActionKind::Reinvite => "reinvite",
            ActionKind::ResetPassword => "reset-password",
            ActionKind::RequirePasswordChange => "require-password-change",
            ActionKind::ResetMfa => "reset-mfa",
            ActionKind::AddToGroup => "add-to-group",
            ActionKind::RemoveFromGroup => "remove-from-group",
        }
    }

    /// Parses a name (as `as_str` writes it).
    pub fn parse(s: &str) -> Result<Self, UnknownAction> {
        ActionKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| UnknownAction(s.to_string()))
    }

    /// Actions that take access away; the safety limits count these.
    pub fn is_removal(self) -> bool {
        matches!(
            self,
            ActionKind::Suspend | ActionKind::Remove | ActionKind::Deprovision
        )
    }

    /// The position in which a plan applies this kind (provisioning first, removals last).
    pub fn order(self) -> usize {
        ActionKind::ALL
            .iter()
            .position(|k| *k == self)
            .unwrap_or(usize::MAX)
    }
}

/// An action name that does not exist.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid action {0:?}: expected one of provision, update, suspend, remove, deprovision, uninvite, enable, reinvite, reset-password, require-password-change, reset-mfa, add-to-group, remove-from-group"
)]
pub struct UnknownAction(pub String);

/// What an action needs besides its kind and user.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionParams {
    /// Provision / update: full name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fullname: Option<String>,
    /// Add / remove to or from this group; provision: the groups to join.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    /// Provision / update: Duo username.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duo_username: Option<String>,
    /// Provision / update: RSA SecurID username.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub securid_username: Option<String>,
    /// Provision: require a new master password at first login (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_reset_required: Option<bool>,
    /// Provision: free attributes (Department, EmployeeNumber…).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attribs: BTreeMap<String, String>,
}

/// One action on one user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Action {
    /// What.
    pub kind: ActionKind,
    /// Whom (lowercase email).
    pub email: String,
    /// With what.
    pub params: ActionParams,
}

/// What the store knows about the user now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Current {
    /// Derived status.
    pub status: AccountStatus,
    /// Company admin.
    pub admin: bool,
    /// Groups, sorted.
    pub groups: Vec<String>,
    /// Full name.
    pub fullname: String,
    /// Duo username.
    pub duo_username: Option<String>,
    /// Has MFA.
    pub mfa: bool,
    /// Only a pending invitation.
    pub invited_only: bool,
}

/// A plan's verdict on one action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Send it.
    Do,
    /// Nothing to do; why.
    Skip(String),
    /// It cannot apply; why.
    Refuse(String),
}

/// Decides an action against the user's current state (`None`: lpgate has never seen them).
/// `allow_admins` lets remove / deprovision touch admins.
pub fn decide(action: &Action, current: Option<&Current>, allow_admins: bool) -> Decision {
    use ActionKind as K;
    use Decision::{Do, Refuse, Skip};
    let present = current.filter(|c| c.status != AccountStatus::Deprovisioned);
    let group = action.params.groups.first();
    match action.kind {
        K::Provision => match present {
            Some(c) => Skip(format!("already in LastPass ({})", c.status.as_str())),
            None => Do,
        },
        _ if present.is_none() => match action.kind {
            K::Remove | K::Deprovision | K::Uninvite => Skip("not in LastPass".into()),
            _ => Refuse(match current {
                Some(_) => "the user is deprovisioned".into(),
                None => "no such user in LastPass (as of the last sync)".into(),
            }),
        },
        _ => {
            let Some(c) = present else {
                return Refuse("no such user in LastPass".into());
            };
            match action.kind {
                K::Provision => Skip("already in LastPass".into()),
                K::Update => {
                    let p = &action.params;
                    if !p.attribs.is_empty() {
                        // LastPass does not report attributes back: always send them.
                        Do
                    } else if p.fullname.is_none()
                        && p.duo_username.is_none()
                        && p.securid_username.is_none()
                    {
                        Refuse(
                            "nothing to update: give a full name, Duo or SecurID username".into(),
                        )
                    } else if p.fullname.as_ref().is_none_or(|f| *f == c.fullname)
                        && p.duo_username
                            .as_ref()
                            .is_none_or(|d| Some(d) == c.duo_username.as_ref())
                        && p.securid_username.is_none()
                    {
                        Skip("already so".into())
                    } else {
                        Do
                    }
                }
                K::Suspend => {
                    if c.status == AccountStatus::Suspended {
                        Skip("already suspended".into())
                    } else {
                        Do
                    }
                }
                K::Remove | K::Deprovision => {
                    if c.admin && !allow_admins {
                        Refuse("the user is an admin (--allow-admins permits this)".into())
                    } else {
                        Do
                    }
                }
                K::Uninvite => {
                    if c.invited_only || c.status == AccountStatus::Staged {
                        Do
                    } else {
                        Refuse("the user has joined; use remove or suspend".into())
                    }
                }
                K::Enable => {
                    if c.status == AccountStatus::Suspended {
                        Do
                    } else {
                        Skip(format!("not suspended ({})", c.status.as_str()))
                    }
                }
                K::Reinvite => {
                    if c.status == AccountStatus::Staged {
                        Do
                    } else {
                        Refuse(format!(
                            "the user has logged in ({}); nothing to re-invite",
                            c.status.as_str()
                        ))
                    }
                }
                K::ResetPassword | K::RequirePasswordChange => Do,
                K::ResetMfa => {
                    if c.mfa {
                        Do
                    } else {
                        Skip("no MFA to reset".into())
                    }
                }
                K::AddToGroup | K::RemoveFromGroup => match group {
                    None => Refuse("no group given".into()),
                    Some(g) => {
                        let member = c.groups.iter().any(|x| x == g);
                        match (action.kind, member) {
                            (K::AddToGroup, true) => Skip(format!("already in {g}")),
                            (K::RemoveFromGroup, false) => Skip(format!("not in {g}")),
                            _ => Do,
                        }
                    }
                },
            }
        }
    }
}

/// Per-account limits on removals in one plan.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SafetyLimits {
    /// More suspensions, removals and deprovisions than this holds the plan.
    pub max_removals: usize,
    /// More than this share (percent) of active users holds the plan, above
    /// `pct_min_users` active users.
    pub max_removal_pct: f64,
    /// Below this many active users the percentage does not apply.
    pub pct_min_users: usize,
}

impl Default for SafetyLimits {
    fn default() -> Self {
        SafetyLimits {
            max_removals: 25,
            max_removal_pct: 10.0,
            pct_min_users: 50,
        }
    }
}

impl SafetyLimits {
    /// Why a plan with `removals` removals in an account of `active` active users must be
    /// approved first, if it must.
    pub fn hold_reason(&self, removals: usize, active: usize) -> Option<String> {
        if removals > self.max_removals {
            return Some(format!(
                "it would suspend, remove or deprovision {removals} users, more than max_removals ({})",
                self.max_removals
            ));
        }
        if active > self.pct_min_users
            && (removals as f64) * 100.0 > self.max_removal_pct * active as f64
        {
            return Some(format!(
                "it would suspend, remove or deprovision {removals} of {active} active users, more than max_removal_pct ({} %)",
                self.max_removal_pct
            ));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(status: AccountStatus) -> Current {
        Current {
            status,
            admin: false,
            groups: vec!["Sales".into()],
            fullname: "Ann Lee".into(),
            duo_username: None,
            mfa: true,
            invited_only: false,
        }
    }

    fn act(kind: ActionKind) -> Action {
        Action {
            kind,
            email: "ann@example.com".into(),
            params: ActionParams::default(),
        }
    }

    #[test]
    fn names_round_trip() {
        for k in ActionKind::ALL {
            assert_eq!(ActionKind::parse(k.as_str()), Ok(k));
        }
        assert!(
            ActionKind::parse("nuke")
                .unwrap_err()
                .to_string()
                .contains("nuke")
        );
    }

    #[test]
    fn no_ops_are_skipped_and_impossible_actions_refused() {
        use AccountStatus::*;
        let active = user(Active);
        assert_eq!(
            decide(&act(ActionKind::Suspend), Some(&active), false),
            Decision::Do
        );
        assert!(matches!(
            decide(&act(ActionKind::Suspend), Some(&user(Suspended)), false),
            Decision::Skip(_)
        ));
        assert!(matches!(
            decide(&act(ActionKind::Enable), Some(&active), false),
            Decision::Skip(_)
        ));
        assert!(matches!(
            decide(&act(ActionKind::Provision), Some(&active), false),
            Decision::Skip(_)
        ));
        assert_eq!(
            decide(&act(ActionKind::Provision), None, false),
            Decision::Do
        );
        assert_eq!(
            decide(
                &act(ActionKind::Provision),
                Some(&user(Deprovisioned)),
                false
            ),
            Decision::Do
        );
        assert!(matches!(
            decide(&act(ActionKind::Suspend), None, false),
            Decision::Refuse(_)
        ));
        assert!(matches!(
            decide(&act(ActionKind::Deprovision), None, false),
            Decision::Skip(_)
        ));
        let mut admin = user(Active);
        admin.admin = true;
        assert!(matches!(
            decide(&act(ActionKind::Deprovision), Some(&admin), false),
            Decision::Refuse(m) if m.contains("--allow-admins")
        ));
        assert_eq!(
            decide(&act(ActionKind::Deprovision), Some(&admin), true),
            Decision::Do
        );
        let mut add = act(ActionKind::AddToGroup);
        add.params.groups = vec!["Sales".into()];
        assert!(matches!(
            decide(&add, Some(&active), false),
            Decision::Skip(_)
        ));
        add.params.groups = vec!["Ops".into()];
        assert_eq!(decide(&add, Some(&active), false), Decision::Do);
        let mut rm = act(ActionKind::RemoveFromGroup);
        rm.params.groups = vec!["Ops".into()];
        assert!(matches!(
            decide(&rm, Some(&active), false),
            Decision::Skip(_)
        ));
        assert!(matches!(
            decide(&act(ActionKind::Reinvite), Some(&active), false),
            Decision::Refuse(_)
        ));
        assert_eq!(
            decide(&act(ActionKind::Reinvite), Some(&user(Staged)), false),
            Decision::Do
        );
    }

    #[test]
    fn limits_hold_large_removals() {
        let l = SafetyLimits::default();
        assert_eq!(l.hold_reason(25, 1000), None);
        assert!(l.hold_reason(26, 1000).unwrap().contains("max_removals"));
        assert!(l.hold_reason(11, 100).unwrap().contains("max_removal_pct"));
        assert_eq!(l.hold_reason(10, 100), None);
        assert_eq!(
            l.hold_reason(20, 50),
            None,
            "percentage only above 50 users"
        );
    }
}
