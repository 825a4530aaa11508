//! `getuserdata`: users, groups and pending invitations, as a full listing or a page.
//!
//! Replies are serialized straight from the company into the output buffer (no intermediate
//! JSON values), so a 100,000-user company pages at wire speed.

use std::collections::{BTreeMap, BTreeSet};

use serde::ser::{SerializeMap, SerializeSeq, SerializeStruct};
use serde::{Serialize, Serializer};

use super::paging;
use crate::state::{Company, User};
use crate::wire::Data;
use crate::wire::json::{EmptyArray, NumStr, Ts, fail, to_body};

/// The exact reply for a `username` that is not in the company.
const UNKNOWN_USER: &[u8] = br#"{"Users":[]}"#;

/// Answers getuserdata.
pub(crate) fn getuserdata(c: &Company, data: Data<'_>) -> Vec<u8> {
    let page = match paging::page(data, None) {
        Ok(p) => p,
        Err(msg) => return fail(&[msg]),
    };
    let username = data.str("username").or_else(|| data.str("UserName"));
    let only_disabled = data.flag("disabled");
    let only_admin = data.flag("admin");
    let keep = |u: &User| (!only_disabled || u.disabled) && (!only_admin || u.admin);
    let selected: Vec<&User> = match username {
        Some(name) => match c.user(name.trim()) {
            Some(u) if keep(u) => vec![u],
            _ => return UNKNOWN_USER.to_vec(),
        },
        None => c.users.iter().filter(|u| keep(u)).collect(),
    };
    let unfiltered = username.is_none() && !only_disabled && !only_admin;
    let invited = (unfiltered && !c.invited.is_empty()).then_some(c.invited.as_slice());
    match page {
        Some(p) => to_body(&PageReply {
            total: selected.len(),
            users: p.slice(&selected),
            // Invitations ride on the first page only, so a paging client sees them once.
            invited: invited.filter(|_| p.index == 0),
        }),
        None => {
            let groups = if unfiltered {
                GroupsJson::All(c)
            } else {
                GroupsJson::Selected(selected_groups(&selected))
            };
            to_body(&FullReply {
                users: &selected,
                groups,
                invited,
            })
        }
    }
}

/// Group name → emails of the selected users, in id order.
fn selected_groups<'a>(users: &[&'a User]) -> BTreeMap<&'a str, Vec<&'a str>> {
    let mut groups: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for u in users {
        for g in &u.groups {
            groups.entry(g).or_default().push(&u.username);
        }
    }
    groups
}

struct FullReply<'a> {
    users: &'a [&'a User],
    groups: GroupsJson<'a>,
    invited: Option<&'a [String]>,
}

impl Serialize for FullReply<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("total", &self.users.len())?;
        m.serialize_entry("count", &self.users.len())?;
        m.serialize_entry(
            "Users",
            &UsersJson {
                users: self.users,
                groups_always: false,
            },
        )?;
        m.serialize_entry("Groups", &self.groups)?;
        if let Some(inv) = self.invited {
            m.serialize_entry("invited", inv)?;
        }
        m.end()
    }
}

struct PageReply<'a> {
    total: usize,
    users: &'a [&'a User],
    invited: Option<&'a [String]>,
}

impl Serialize for PageReply<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("total", &self.total)?;
        m.serialize_entry("count", &self.users.len())?;
        m.serialize_entry(
            "Users",
            &UsersJson {
                users: self.users,
                groups_always: true,
            },
        )?;
        if let Some(inv) = self.invited {
            m.serialize_entry("invited", inv)?;
        }
        m.end()
    }
}

/// `Users`: id → user, or `[]` when empty (PHP).
struct UsersJson<'a> {
    users: &'a [&'a User],
    groups_always: bool,
}

impl Serialize for UsersJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.users.is_empty() {
            return EmptyArray.serialize(s);
        }
        let mut m = s.serialize_map(Some(self.users.len()))?;
        for u in self.users {
            m.serialize_entry(
                &u.id,
                &UserJson {
                    u,
                    groups_always: self.groups_always,
                },
            )?;
        }
        m.end()
    }
}

/// One user in the recorded field order and types.
struct UserJson<'a> {
    u: &'a User,
    groups_always: bool,
}

impl Serialize for UserJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let u = self.u;
        let c = u.counts;
        let mut st = s.serialize_struct("User", 19)?;
        st.serialize_field("username", &u.username)?;
        st.serialize_field("fullname", &u.fullname)?;
        st.serialize_field("mpstrength", &NumStr(u64::from(u.mpstrength)))?;
        st.serialize_field("created", &Ts(u.created))?;
        st.serialize_field("last_pw_change", &Ts(u.last_pw_change))?;
        match u.last_login {
            Some(t) => st.serialize_field("last_login", &Ts(t))?,
            None => st.serialize_field("last_login", "")?,
        }
        st.serialize_field("neverloggedin", &u.never_logged_in())?;
        st.serialize_field("disabled", &u.disabled)?;
        st.serialize_field("admin", &u.admin)?;
        st.serialize_field("totalscore", &u.totalscore.map(|t| NumStr(u64::from(t))))?;
        st.serialize_field("duousername", &u.duousername)?;
        st.serialize_field("sites", &c.map(|c| c.sites))?;
        st.serialize_field("notes", &c.map(|c| c.notes))?;
        st.serialize_field("formfills", &c.map(|c| c.formfills))?;
        st.serialize_field("applications", &c.map(|c| c.applications))?;
        st.serialize_field("attachments", &c.map(|c| c.attachments))?;
        st.serialize_field("password_reset_required", &u.password_reset_required)?;
        st.serialize_field("multifactor", &u.multifactor)?;
        if self.groups_always || !u.groups.is_empty() {
            st.serialize_field("groups", &u.groups)?;
        } else {
            st.skip_field("groups")?;
        }
        st.end()
    }
}

/// `Groups`: name → member emails, or `[]` when there are none.
enum GroupsJson<'a> {
    All(&'a Company),
    Selected(BTreeMap<&'a str, Vec<&'a str>>),
}

impl Serialize for GroupsJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            GroupsJson::All(c) if c.groups.is_empty() => EmptyArray.serialize(s),
            GroupsJson::All(c) => {
                let mut m = s.serialize_map(Some(c.groups.len()))?;
                for (name, ids) in &c.groups {
                    m.serialize_entry(name, &MembersJson { c, ids })?;
                }
                m.end()
            }
            GroupsJson::Selected(g) if g.is_empty() => EmptyArray.serialize(s),
            GroupsJson::Selected(g) => g.serialize(s),
        }
    }
}

struct MembersJson<'a> {
    c: &'a Company,
    ids: &'a BTreeSet<u64>,
}

impl Serialize for MembersJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.ids.len()))?;
        for id in self.ids {
            if let Some(email) = self.c.email_of(*id) {
                seq.serialize_element(email)?;
            }
        }
        seq.end()
    }
}
