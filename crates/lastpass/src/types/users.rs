//! `getuserdata`: users, groups and pending invitations.

use std::collections::BTreeMap;
use std::fmt;

use chrono::NaiveDateTime;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

use crate::lenient;

/// One LastPass user as `getuserdata` describes them, with every quirk resolved into a type.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct User {
    /// LastPass's numeric user id (the key of the `Users` map), kept as the string it is sent as.
    #[serde(default, skip_deserializing)]
    pub id: String,
    /// The email address: the key of every write command.
    pub username: String,
    /// Full name; empty when not set.
    #[serde(default, deserialize_with = "lenient::string")]
    pub fullname: String,
    /// Master password strength, 0..100; `None` when LastPass has none (never logged in).
    #[serde(default, deserialize_with = "lenient::number")]
    pub mpstrength: Option<u8>,
    /// When the account was created (account time zone, no zone marker on the wire).
    #[serde(default, deserialize_with = "lenient::date")]
    pub created: Option<NaiveDateTime>,
    /// Last master password change.
    #[serde(default, deserialize_with = "lenient::date")]
    pub last_pw_change: Option<NaiveDateTime>,
    /// Last login; `None` when never (`""` on the wire).
    #[serde(default, deserialize_with = "lenient::date")]
    pub last_login: Option<NaiveDateTime>,
    /// Invited or created but never logged in.
    #[serde(
        default,
        rename(deserialize = "neverloggedin"),
        deserialize_with = "lenient::flag"
    )]
    pub never_logged_in: bool,
    /// Deactivated: login blocked, data and membership kept.
    #[serde(default, deserialize_with = "lenient::flag")]
    pub disabled: bool,
    /// An admin of the business account.
    #[serde(default, deserialize_with = "lenient::flag")]
    pub admin: bool,
    /// Security score (0..100); `None` for users who never logged in.
    #[serde(
        default,
        rename(deserialize = "totalscore"),
        deserialize_with = "lenient::number"
    )]
    pub total_score: Option<f64>,
    /// Duo Security username, when set.
    #[serde(
        default,
        rename(deserialize = "duousername"),
        deserialize_with = "lenient::text"
    )]
    pub duo_username: Option<String>,
    /// Vault item counts; `None` for users who never logged in.
    #[serde(default, deserialize_with = "lenient::number")]
    pub sites: Option<u32>,
    /// Secure notes count.
    #[serde(default, deserialize_with = "lenient::number")]
    pub notes: Option<u32>,
    /// Form fill profiles count.
    #[serde(default, deserialize_with = "lenient::number")]
    pub formfills: Option<u32>,
    /// Applications count.
    #[serde(default, deserialize_with = "lenient::number")]
    pub applications: Option<u32>,
    /// Attachments count.
    #[serde(default, deserialize_with = "lenient::number")]
    pub attachments: Option<u32>,
    /// The user must set a new master password at next login.
    #[serde(default, deserialize_with = "lenient::flag")]
    pub password_reset_required: bool,
    /// Group names; the key is omitted on the wire when the user has none.
    #[serde(default, deserialize_with = "lenient::list")]
    pub groups: Vec<String>,
    /// Linked personal account email, when there is one.
    #[serde(default, deserialize_with = "lenient::text")]
    pub linked: Option<String>,
    /// The configured multifactor method; `None` when the user has none (`""` on the wire).
    #[serde(default, deserialize_with = "lenient::text")]
    pub multifactor: Option<String>,
}

/// One reply of `getuserdata` (a page or a full listing).
#[derive(Debug, Default, Deserialize)]
pub struct UserDataReply {
    /// All users matching the filter (absent in older replies).
    #[serde(default, deserialize_with = "lenient::number")]
    pub total: Option<u64>,
    /// Users in this reply (absent in older replies).
    #[serde(default, deserialize_with = "lenient::number")]
    pub count: Option<u64>,
    /// Users keyed by id; `[]` when there are none.
    #[serde(default, rename = "Users")]
    pub users: UserMap,
    /// Groups by name; absent on paged replies.
    #[serde(default, rename = "Groups")]
    pub groups: Option<GroupMap>,
    /// Emails with a pending invitation.
    #[serde(default, deserialize_with = "lenient::list")]
    pub invited: Vec<String>,
    /// Present only when LastPass reports a failure instead of data.
    #[serde(default)]
    pub status: Option<String>,
    /// Error messages, when LastPass sends them.
    #[serde(default, deserialize_with = "lenient::list")]
    pub errors: Vec<String>,
    /// The singular variant of `errors` some replies use.
    #[serde(default, deserialize_with = "lenient::list")]
    pub error: Vec<String>,
}

/// The `Users` object in map order, with each user's id filled in from its key.
#[derive(Debug, Default)]
pub struct UserMap(pub Vec<User>);

impl<'de> Deserialize<'de> for UserMap {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = UserMap;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object of users keyed by id, or []")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<UserMap, A::Error> {
                let mut out = Vec::with_capacity(map.size_hint().unwrap_or(0));
                while let Some(id) = map.next_key::<String>()? {
                    let mut user: User = map.next_value()?;
                    user.id = id;
                    out.push(user);
                }
                Ok(UserMap(out))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<UserMap, A::Error> {
                // PHP's empty array: `"Users":[]`. A non-empty list has no ids, which would be
                // a new shape: refuse it rather than invent ids.
                match seq.next_element::<de::IgnoredAny>()? {
                    None => Ok(UserMap(Vec::new())),
                    Some(_) => Err(de::Error::custom(
                        "Users came as a non-empty list; expected an object keyed by user id",
                    )),
                }
            }
            fn visit_unit<E: de::Error>(self) -> Result<UserMap, E> {
                Ok(UserMap(Vec::new()))
            }
        }
        d.deserialize_any(V)
    }
}

/// The `Groups` object: group name → member emails; `[]` when empty.
#[derive(Debug, Default)]
pub struct GroupMap(pub Vec<(String, Vec<String>)>);

impl<'de> Deserialize<'de> for GroupMap {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = GroupMap;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object of groups keyed by name, or []")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<GroupMap, A::Error> {
                #[derive(Deserialize)]
                struct Members(#[serde(deserialize_with = "lenient::list")] Vec<String>);
                let mut out = Vec::new();
                while let Some((name, Members(m))) = map.next_entry::<String, Members>()? {
                    out.push((name, m));
                }
                Ok(GroupMap(out))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<GroupMap, A::Error> {
                while seq.next_element::<de::IgnoredAny>()?.is_some() {}
                Ok(GroupMap(Vec::new()))
            }
            fn visit_unit<E: de::Error>(self) -> Result<GroupMap, E> {
                Ok(GroupMap(Vec::new()))
            }
        }
        d.deserialize_any(V)
    }
}

/// Which users `getuserdata` should list.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum UserFilter {
    /// Everyone in the company.
    #[default]
    All,
    /// Only disabled users (`disabled: 1`).
    Disabled,
    /// Only admins (`admin: 1`).
    Admins,
}

/// The whole directory of a company, as one complete, consistent listing.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Directory {
    /// The `total` LastPass reported (equal to `users.len()` on a complete listing).
    pub total: u64,
    /// Every user, each exactly once, ordered by LastPass id.
    pub users: Vec<User>,
    /// Group name → member emails (groups sorted by name; members in LastPass's order, or
    /// user id order when rebuilt from paged replies).
    pub groups: BTreeMap<String, Vec<String>>,
    /// Emails with a pending invitation and no account yet.
    pub invited: Vec<String>,
}
