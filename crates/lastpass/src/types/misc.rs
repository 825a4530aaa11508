//! `pushsitestousers` and `expiredmasterpwlist`.

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize, Serializer};

use crate::lenient;

/// Who receives a pushed site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushTarget {
    /// Every user of the company (`"all"`).
    All,
    /// Members of one group, by name.
    Group(String),
    /// One user, by email.
    User(String),
}

impl Serialize for PushTarget {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            PushTarget::All => s.serialize_str("all"),
            PushTarget::Group(g) => s.serialize_str(g),
            PushTarget::User(u) => s.serialize_str(u),
        }
    }
}

/// How the pushed site's login name is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum UsernameType {
    /// Each recipient's email.
    Email,
    /// Each recipient's username part.
    Username,
    /// The `username` given in the push.
    Custom,
}

/// A site to push into users' vaults (`pushsitestousers`).
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct PushSite {
    /// Recipients.
    pub users: PushTarget,
    /// Keep re-pushing if the user deletes it (`"1"`).
    #[serde(serialize_with = "flag01")]
    pub persistent: bool,
    /// The site's URL.
    pub url: String,
    /// The site's name in the vault.
    pub name: String,
    /// Vault folder to put it in.
    pub group: String,
    /// How the login name is chosen.
    pub usernametype: UsernameType,
    /// The login name when `usernametype` is custom.
    pub username: String,
    /// The site password. Secret: this type's `Debug` hides it.
    pub password: String,
    /// Notes.
    pub notes: String,
    /// Mark as favourite (`"on"`).
    #[serde(rename = "fav", serialize_with = "flag_on")]
    pub favorite: bool,
}

impl std::fmt::Debug for PushSite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PushSite")
            .field("users", &self.users)
            .field("url", &self.url)
            .field("name", &self.name)
            .field("password", &"***")
            .finish_non_exhaustive()
    }
}

fn flag01<S: Serializer>(v: &bool, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(if *v { "1" } else { "0" })
}

fn flag_on<S: Serializer>(v: &bool, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(if *v { "on" } else { "" })
}

/// The reply of `pushsitestousers`.
#[derive(Debug, Default, Deserialize)]
pub struct PushReply {
    /// Status word.
    #[serde(default, deserialize_with = "lenient::text")]
    pub status: Option<String>,
    /// The id of the push.
    #[serde(default, deserialize_with = "lenient::text")]
    pub psid: Option<String>,
    /// Errors, if any.
    #[serde(default, deserialize_with = "lenient::list")]
    pub errors: Vec<String>,
    /// The singular variant.
    #[serde(default, deserialize_with = "lenient::list")]
    pub error: Vec<String>,
}

/// A user whose master password has expired under the account's policy.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct ExpiredPassword {
    /// LastPass user id.
    #[serde(deserialize_with = "lenient::string")]
    pub user_id: String,
    /// The user's email.
    #[serde(deserialize_with = "lenient::string")]
    pub user_name: String,
    /// When the master password was last changed.
    #[serde(default, deserialize_with = "lenient::date")]
    pub last_pw_change: Option<NaiveDateTime>,
}

/// The continuation block of `expiredmasterpwlist`.
#[derive(Debug, Default, Deserialize)]
pub struct Continuation {
    /// Token for the next call; `null` or `""` when done.
    #[serde(default, deserialize_with = "lenient::text")]
    pub token: Option<String>,
    /// How many items remain after this reply.
    #[serde(default, deserialize_with = "lenient::number")]
    pub remaining_item_count: Option<u64>,
}

/// One reply of `expiredmasterpwlist`.
#[derive(Debug, Default, Deserialize)]
pub struct ExpiredReply {
    /// `Success` normally.
    #[serde(default, deserialize_with = "lenient::text")]
    pub status: Option<String>,
    /// Paging state.
    #[serde(default)]
    pub continuation: Option<Continuation>,
    /// This page's users.
    #[serde(default)]
    pub items: Option<Vec<ExpiredPassword>>,
    /// Errors, if any.
    #[serde(default, deserialize_with = "lenient::list")]
    pub errors: Vec<String>,
    /// The singular variant.
    #[serde(default, deserialize_with = "lenient::list")]
    pub error: Vec<String>,
}
