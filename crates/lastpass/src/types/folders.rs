//! `getsfdata` / `getdetailedsfdata`: shared folders and who may do what in them.

use std::collections::HashMap;
use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

use crate::lenient;

/// One shared folder.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct SharedFolder {
    /// LastPass's folder id (the key of the reply map).
    #[serde(default, skip_deserializing)]
    pub id: String,
    /// The folder's name as shown in vaults.
    #[serde(
        rename(deserialize = "sharedfoldername"),
        deserialize_with = "lenient::string",
        default
    )]
    pub name: String,
    /// The folder was deleted but is still reported.
    #[serde(default, deserialize_with = "lenient::flag")]
    pub deleted: bool,
    /// Security score of the folder's contents; number or numeric string on the wire.
    #[serde(default, deserialize_with = "lenient::number")]
    pub score: Option<f64>,
    /// Who the folder is shared with.
    #[serde(default, deserialize_with = "members")]
    pub users: Vec<FolderMember>,
}

/// One user's access to a shared folder. Flags arrive as 0/1, "0"/"1" or booleans.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct FolderMember {
    /// The member's email.
    pub username: String,
    /// May only read items.
    #[serde(default, deserialize_with = "lenient::flag")]
    pub readonly: bool,
    /// May see passwords (LastPass's "give" flag: the opposite of hide passwords).
    #[serde(default, deserialize_with = "lenient::flag")]
    pub give: bool,
    /// May manage the folder's membership.
    #[serde(default, deserialize_with = "lenient::flag")]
    pub can_administer: bool,
    /// Listed because the user is a super admin.
    #[serde(default, deserialize_with = "lenient::flag")]
    pub superadmin: bool,
    /// Site domains (only from `getdetailedsfdata`).
    #[serde(default, deserialize_with = "lenient::list")]
    pub sites: Vec<String>,
}

fn members<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<FolderMember>, D::Error> {
    Ok(Option::<Vec<FolderMember>>::deserialize(d)?.unwrap_or_default())
}

/// A `getsfdata` reply read in one pass: a bare object of folders keyed by id, among which
/// LastPass may put `status`, `errors` or `error` keys. Read straight into folders rather than
/// through `serde_json::Value` first: a 5,000-folder reply is a few megabytes, and building
/// a map per object first cost as much as the folders themselves.
#[derive(Debug)]
pub(crate) enum FolderReply {
    /// An object: its folders in reply order (a repeated id keeps the last folder given for
    /// it, in the place of its first) and whatever status it carried.
    Map {
        /// The folders, each with its id filled in from its key.
        folders: Vec<SharedFolder>,
        /// The `status` key, when it is a string.
        status: Option<String>,
        /// The messages of `errors`, then of `error`.
        messages: Vec<String>,
    },
    /// PHP's empty array, `[]`: no folders.
    Empty,
    /// Any other JSON value, named for the error.
    Other(&'static str),
}

impl<'de> Deserialize<'de> for FolderReply {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ReplyVisitor)
    }
}

/// The messages of a reply's `errors` or `error` key: a list of strings or one non-empty string.
pub(crate) fn status_messages(value: &serde_json::Value) -> Vec<String> {
    match value {
        serde_json::Value::Array(a) => a
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        serde_json::Value::String(s) if !s.is_empty() => vec![s.clone()],
        _ => Vec::new(),
    }
}

struct ReplyVisitor;

impl<'de> Visitor<'de> for ReplyVisitor {
    type Value = FolderReply;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object of shared folders keyed by id")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<FolderReply, A::Error> {
        let mut folders: Vec<SharedFolder> = Vec::with_capacity(map.size_hint().unwrap_or(0));
        let mut at: HashMap<String, usize> = HashMap::new();
        let mut status = None;
        let (mut errors, mut error) = (Vec::new(), Vec::new());
        let mut keep =
            |folders: &mut Vec<SharedFolder>, folder: SharedFolder| match at.get(&folder.id) {
                Some(&i) => folders[i] = folder,
                None => {
                    at.insert(folder.id.clone(), folders.len());
                    folders.push(folder);
                }
            };
        while let Some(id) = map.next_key::<String>()? {
            if matches!(id.as_str(), "status" | "errors" | "error") {
                let value: serde_json::Value = map.next_value()?;
                let strings = status_messages(&value);
                match id.as_str() {
                    "status" => status = value.as_str().map(str::to_string),
                    "errors" => errors = strings,
                    _ => error = strings,
                }
                if value.is_object() {
                    let mut folder = SharedFolder::deserialize(value)
                        .map_err(|e| de::Error::custom(format_args!("folder {id}: {e}")))?;
                    folder.id = id;
                    keep(&mut folders, folder);
                }
                continue;
            }
            if let Some(mut folder) = map.next_value_seed(MaybeFolder(&id))? {
                folder.id = id;
                keep(&mut folders, folder);
            }
        }
        errors.extend(error);
        Ok(FolderReply::Map {
            folders,
            status,
            messages: errors,
        })
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<FolderReply, A::Error> {
        let mut empty = true;
        while seq.next_element::<de::IgnoredAny>()?.is_some() {
            empty = false;
        }
        Ok(if empty {
            FolderReply::Empty
        } else {
            FolderReply::Other("a list")
        })
    }

    fn visit_unit<E: de::Error>(self) -> Result<FolderReply, E> {
        Ok(FolderReply::Other("null"))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<FolderReply, E> {
        Ok(FolderReply::Other("a boolean"))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<FolderReply, E> {
        Ok(FolderReply::Other("a number"))
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<FolderReply, E> {
        Ok(FolderReply::Other("a number"))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<FolderReply, E> {
        Ok(FolderReply::Other("a number"))
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<FolderReply, E> {
        Ok(FolderReply::Other("a string"))
    }
}

/// One value of the reply: a folder when it is an object, nothing otherwise (LastPass's
/// replies have carried other keys among the folders).
struct MaybeFolder<'a>(&'a str);

impl<'de> DeserializeSeed<'de> for MaybeFolder<'_> {
    type Value = Option<SharedFolder>;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for MaybeFolder<'_> {
    type Value = Option<SharedFolder>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a shared folder")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        SharedFolder::deserialize(de::value::MapAccessDeserializer::new(map))
            .map(Some)
            .map_err(|e| de::Error::custom(format_args!("folder {}: {e}", self.0)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<de::IgnoredAny>()?.is_some() {}
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }
}
