//! Generated shared folders: members with mixed permissions, sites, and the wire encodings the
//! real service mixes (mostly ints, some string or boolean flags, some string scores).

use std::collections::HashSet;

use super::CompanySpec;
use super::names::{DEPARTMENTS, SITES, TOPICS};
use crate::rng::SplitMix64;
use crate::state::{Company, Folder, FolderMember, FolderPerms, PermEncoding};

/// Creates `spec.folders` folders shared with 1–30 members each.
pub(super) fn folders(c: &mut Company, spec: &CompanySpec, rng: &mut SplitMix64) {
    if c.users.is_empty() {
        return;
    }
    let mut names = HashSet::new();
    for i in 0..spec.folders {
        let id = c.new_folder_id();
        let mut f = Folder::new(id, &folder_name(i, rng, &mut names));
        f.encoding = match i % 10 {
            3 => PermEncoding::Str,
            7 => PermEncoding::Bool,
            _ => PermEncoding::Int,
        };
        f.score_as_string = i % 5 == 2;
        f.score_tenths = rng.range(300, 1000) as u16;
        if !rng.chance(0.3) {
            f.score_tenths -= f.score_tenths % 10;
        }
        f.deleted = rng.chance(0.02);
        let site_count = rng.range(1, 12) as usize;
        for _ in 0..site_count {
            if let Some(s) = rng.pick(SITES)
                && !f.sites.iter().any(|x| x == s)
            {
                f.sites.push((*s).to_owned());
            }
        }
        f.members = members(c, rng);
        c.folders.insert(id, f);
    }
}

/// `Shared-<Department>-<Topic>`, numbered when taken.
fn folder_name(i: usize, rng: &mut SplitMix64, taken: &mut HashSet<String>) -> String {
    let dept = DEPARTMENTS[i % DEPARTMENTS.len()].replace(' ', "");
    let topic = rng.pick(TOPICS).copied().unwrap_or("Misc");
    let base = format!("Shared-{dept}-{topic}");
    let mut name = base.clone();
    let mut n = 1;
    while !taken.insert(name.clone()) {
        n += 1;
        name = format!("{base} {n}");
    }
    name
}

/// 1–30 distinct members (skewed small); on 90 % of folders the first can administer.
fn members(c: &Company, rng: &mut SplitMix64) -> Vec<FolderMember> {
    let want = 1 + (rng.unit().powi(2) * 29.0).round() as usize;
    let want = want.min(c.users.len());
    let mut out: Vec<FolderMember> = Vec::with_capacity(want);
    let mut tries = 0;
    while out.len() < want && tries < want * 4 {
        tries += 1;
        let Some(u) = rng.pick(&c.users) else { break };
        if out.iter().any(|m| m.user_id == u.id) {
            continue;
        }
        let manager = out.is_empty() && rng.chance(0.9);
        let readonly = !manager && rng.chance(0.35);
        let perms = FolderPerms {
            readonly,
            give: manager || (!readonly && rng.chance(0.25)),
            can_administer: manager || (!readonly && rng.chance(0.08)),
        };
        out.push(FolderMember {
            user_id: u.id,
            perms,
        });
    }
    out
}
