//! Shared folders: name, score, members with permissions, the sites inside, and how this folder
//! happens to encode its permission flags on the wire.

use serde::{Deserialize, Serialize};

/// What a member may do in a shared folder.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct FolderPerms {
    /// Can see passwords' sites but not change them ("Read only").
    pub readonly: bool,
    /// May see (give out) the passwords ("Hide passwords" off).
    pub give: bool,
    /// May manage the folder's members ("Admin").
    pub can_administer: bool,
}

/// The real service sends folder permission flags in three encodings (ints, strings, booleans;
/// see fixtures/getsfdata.json). Each folder keeps one so replies are stable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PermEncoding {
    /// `0`/`1`, with a `superadmin` flag per member (as in the docs).
    Int,
    /// `"0"`/`"1"`, no `superadmin` key.
    Str,
    /// `true`/`false`, no `superadmin` key.
    Bool,
}

/// A member entry of a shared folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FolderMember {
    pub(crate) user_id: u64,
    pub(crate) perms: FolderPerms,
}

/// One shared folder.
#[derive(Debug, Clone)]
pub(crate) struct Folder {
    pub(crate) id: u64,
    pub(crate) name: String,
    pub(crate) deleted: bool,
    /// Security score in tenths (725 = 72.5).
    pub(crate) score_tenths: u16,
    /// Whether the score travels as a numeric string (`"72.5"`) rather than a number.
    pub(crate) score_as_string: bool,
    pub(crate) encoding: PermEncoding,
    pub(crate) members: Vec<FolderMember>,
    /// Domains of the sites stored in the folder (getdetailedsfdata).
    pub(crate) sites: Vec<String>,
}

impl Folder {
    /// An empty folder in the documented encoding (ints, numeric score).
    pub(crate) fn new(id: u64, name: &str) -> Self {
        Self {
            id,
            name: name.to_owned(),
            deleted: false,
            score_tenths: 1000,
            score_as_string: false,
            encoding: PermEncoding::Int,
            members: Vec::new(),
            sites: Vec::new(),
        }
    }
}
