//! `getsfdata` and `getdetailedsfdata`: shared folders keyed by id, each member with its
//! permission flags in the folder's own encoding, plus site domains in the detailed variant.

use serde::ser::{SerializeMap, SerializeSeq, SerializeStruct};
use serde::{Serialize, Serializer};

use super::paging;
use crate::state::{Company, Folder, FolderMember, PermEncoding};
use crate::wire::Envelope;
use crate::wire::json::{EmptyArray, fail, to_body};

/// Answers getsfdata (`detailed` false) or getdetailedsfdata (`detailed` true). Both page by
/// folder when `pagesize` is given in `data` or at the top level.
pub(crate) fn sfdata(c: &Company, env: &Envelope, detailed: bool) -> Vec<u8> {
    let page = match paging::page(env.data(), Some(&env.top)) {
        Ok(p) => p,
        Err(msg) => return fail(&[msg]),
    };
    let all: Vec<&Folder> = c.folders.values().collect();
    let folders = match page {
        Some(p) => p.slice(&all),
        None => &all[..],
    };
    to_body(&FoldersJson {
        c,
        folders,
        detailed,
    })
}

struct FoldersJson<'a> {
    c: &'a Company,
    folders: &'a [&'a Folder],
    detailed: bool,
}

impl Serialize for FoldersJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.folders.is_empty() {
            return EmptyArray.serialize(s);
        }
        let mut m = s.serialize_map(Some(self.folders.len()))?;
        for f in self.folders {
            m.serialize_entry(
                &f.id,
                &FolderJson {
                    c: self.c,
                    f,
                    detailed: self.detailed,
                },
            )?;
        }
        m.end()
    }
}

struct FolderJson<'a> {
    c: &'a Company,
    f: &'a Folder,
    detailed: bool,
}

impl Serialize for FolderJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Folder", 4)?;
        st.serialize_field("sharedfoldername", &self.f.name)?;
        st.serialize_field("deleted", &self.f.deleted)?;
        st.serialize_field("score", &Score(self.f))?;
        st.serialize_field("users", &MembersJson(self))?;
        st.end()
    }
}

/// `score`: a number (`99`, `72.5`) or, in some folders, a numeric string (`"72.5"`).
struct Score<'a>(&'a Folder);

impl Serialize for Score<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let t = self.0.score_tenths;
        let text = if t.is_multiple_of(10) {
            format!("{}", t / 10)
        } else {
            format!("{}.{}", t / 10, t % 10)
        };
        if self.0.score_as_string {
            s.serialize_str(&text)
        } else if t.is_multiple_of(10) {
            s.serialize_u16(t / 10)
        } else {
            s.serialize_f64(f64::from(t) / 10.0)
        }
    }
}

struct MembersJson<'a>(&'a FolderJson<'a>);

impl Serialize for MembersJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let fj = self.0;
        let mut seq = s.serialize_seq(Some(fj.f.members.len()))?;
        for m in &fj.f.members {
            let Some(pos) = fj.c.position_of_id(m.user_id) else {
                continue;
            };
            let Some(user) = fj.c.users.get(pos) else {
                continue;
            };
            seq.serialize_element(&MemberJson {
                m,
                username: &user.username,
                superadmin: user.admin,
                f: fj.f,
                detailed: fj.detailed,
            })?;
        }
        seq.end()
    }
}

struct MemberJson<'a> {
    m: &'a FolderMember,
    username: &'a str,
    superadmin: bool,
    f: &'a Folder,
    detailed: bool,
}

impl Serialize for MemberJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let enc = self.f.encoding;
        let p = self.m.perms;
        let mut st = s.serialize_struct("Member", 7)?;
        st.serialize_field("username", self.username)?;
        st.serialize_field("readonly", &Flag(p.readonly, enc))?;
        st.serialize_field("give", &Flag(p.give, enc))?;
        st.serialize_field("can_administer", &Flag(p.can_administer, enc))?;
        if enc == PermEncoding::Int {
            st.serialize_field("superadmin", &Flag(self.superadmin, enc))?;
        } else {
            st.skip_field("superadmin")?;
        }
        if self.detailed {
            st.serialize_field("sites", &self.f.sites)?;
        } else {
            st.skip_field("sites")?;
        }
        st.end()
    }
}

/// A permission flag in one of the three encodings the real service uses.
struct Flag(bool, PermEncoding);

impl Serialize for Flag {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.1 {
            PermEncoding::Int => s.serialize_u8(u8::from(self.0)),
            PermEncoding::Str => s.serialize_str(if self.0 { "1" } else { "0" }),
            PermEncoding::Bool => s.serialize_bool(self.0),
        }
    }
}
