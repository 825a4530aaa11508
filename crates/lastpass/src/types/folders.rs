//! `getsfdata` / `getdetailedsfdata`: shared folders and who may do what in them.

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
