//! Generated users, their groups, and pending invitations.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{NaiveDateTime, TimeDelta};

use super::CompanySpec;
use super::names::{DEPARTMENTS, FIRST, LAST, MFA, TEAMS};
use crate::rng::SplitMix64;
use crate::state::{Company, User, VaultCounts};

const DAY: i64 = 86_400;
/// The oldest account is about four years old.
const MAX_AGE_SECS: i64 = 4 * 365 * DAY;

/// Hands out unique `first.last@domain` addresses with full names.
pub(super) struct EmailBook {
    domain: String,
    /// (first, last) name index pair → how often it was handed out.
    seen: HashMap<u32, u32>,
}

impl EmailBook {
    pub(super) fn new(domain: &str) -> Self {
        Self {
            domain: domain.to_owned(),
            seen: HashMap::new(),
        }
    }

    /// A fresh (email, full name) pair; repeats get a number (`ann.lee2@...`).
    pub(super) fn next(&mut self, rng: &mut SplitMix64) -> (String, String) {
        let fi = rng.below(FIRST.len() as u64) as usize;
        let li = rng.below(LAST.len() as u64) as usize;
        let (first, last) = (FIRST[fi], LAST[li]);
        let n = self.seen.entry((fi * LAST.len() + li) as u32).or_insert(0);
        *n += 1;
        let mut email = String::with_capacity(first.len() + last.len() + self.domain.len() + 4);
        email.push_str(first);
        email.push('.');
        email.push_str(last);
        email.make_ascii_lowercase();
        if *n > 1 {
            email.push_str(&n.to_string());
        }
        email.push('@');
        email.push_str(&self.domain);
        (email, format!("{first} {last}"))
    }
}

/// The group names a spec makes available: departments first, then department–team pairs,
/// then numbered repeats.
pub(super) fn group_names(count: usize) -> Vec<String> {
    (0..count)
        .map(|i| {
            let dept = DEPARTMENTS[i % DEPARTMENTS.len()];
            let round = i / DEPARTMENTS.len();
            if round == 0 {
                dept.to_owned()
            } else {
                let team = TEAMS[(round - 1) % TEAMS.len()];
                let rep = (round - 1) / TEAMS.len();
                if rep == 0 {
                    format!("{dept} - {team}")
                } else {
                    format!("{dept} - {team} {}", rep + 1)
                }
            }
        })
        .collect()
}

fn secs(n: i64) -> TimeDelta {
    TimeDelta::seconds(n)
}

/// A time uniformly between `lo` and `hi`.
fn between(rng: &mut SplitMix64, lo: NaiveDateTime, hi: NaiveDateTime) -> NaiveDateTime {
    let span = (hi - lo).num_seconds().max(0) as u64;
    lo + secs(rng.below(span + 1) as i64)
}

/// Creates `spec.users` members.
pub(super) fn users(
    c: &mut Company,
    spec: &CompanySpec,
    rng: &mut SplitMix64,
    book: &mut EmailBook,
) {
    let names = group_names(spec.groups);
    let mut members: Vec<Vec<u64>> = vec![Vec::new(); names.len()];
    let mut users = Vec::with_capacity(spec.users);
    let n = spec.users.max(1) as i64;
    let anchor = spec.anchor;
    let mfa_total: u32 = MFA.iter().map(|(_, w)| w).sum();
    for i in 0..spec.users {
        let (email, fullname) = book.next(rng);
        let id = c.new_user_id();
        // Older accounts have smaller ids, as in a real account.
        let age = MAX_AGE_SECS * (n - i as i64) / n - rng.below((MAX_AGE_SECS / n) as u64) as i64;
        let created = anchor - secs(age.max(3_600));
        let mut u = User::invited(id, &email, "", created, true);
        u.fullname = if rng.chance(0.03) {
            String::new()
        } else {
            fullname
        };
        u.admin = i == 0 || rng.chance(0.03);
        u.disabled = i != 0 && rng.chance(0.04);
        let never = i != 0 && rng.chance(0.08);
        if !never {
            log_in_history(&mut u, rng, anchor, mfa_total);
        }
        if u.multifactor == "duo" || rng.chance(0.03) {
            u.duousername = Some(u.username.clone());
        }
        for g in pick_groups(rng, names.len()) {
            if let (Some(name), Some(ids)) = (names.get(g), members.get_mut(g)) {
                u.groups.push(name.clone());
                ids.push(id);
            }
        }
        users.push(u);
    }
    let groups: BTreeMap<String, BTreeSet<u64>> = names
        .into_iter()
        .zip(members)
        .filter(|(_, ids)| !ids.is_empty())
        .map(|(name, ids)| (name, ids.into_iter().collect()))
        .collect();
    c.bulk_load(users, groups);
}

/// Fills in what a user who has logged in has: last login, password history, strength,
/// score, vault counts, MFA.
fn log_in_history(u: &mut User, rng: &mut SplitMix64, anchor: NaiveDateTime, mfa_total: u32) {
    let stale_line = anchor - secs(90 * DAY);
    let last_login = if rng.chance(0.10) {
        between(
            rng,
            u.created.min(stale_line - secs(DAY)),
            stale_line - secs(DAY),
        )
    } else {
        between(rng, u.created.max(stale_line), anchor)
    };
    let last_login = last_login.max(u.created);
    u.last_login = Some(last_login);
    u.last_pw_change = between(rng, u.created, last_login);
    u.mpstrength = if rng.chance(0.15) {
        rng.range(5, 49) as u8
    } else {
        (50.0 + 50.0 * rng.unit().sqrt()).round() as u8
    };
    let score = f64::from(u.mpstrength) * 0.6 + rng.unit() * 40.0;
    u.totalscore = Some(score.min(100.0) as u8);
    let skew = |rng: &mut SplitMix64, max: f64| (rng.unit().powi(2) * max) as u32;
    u.counts = Some(VaultCounts {
        sites: skew(rng, 400.0),
        notes: skew(rng, 40.0),
        formfills: skew(rng, 4.0),
        applications: skew(rng, 3.0),
        attachments: skew(rng, 10.0),
    });
    u.password_reset_required = rng.chance(0.02);
    u.invitations_sent = 1;
    if !rng.chance(0.30) {
        let mut roll = rng.below(u64::from(mfa_total)) as u32;
        for (kind, w) in MFA {
            if roll < *w {
                u.multifactor = (*kind).to_owned();
                break;
            }
            roll -= w;
        }
    }
}

/// Indices of 0–5 groups, most users in 1–3, biased towards the first (largest) groups.
fn pick_groups(rng: &mut SplitMix64, count: usize) -> Vec<usize> {
    if count == 0 {
        return Vec::new();
    }
    let k = match rng.below(100) {
        0..10 => 0,
        10..40 => 1,
        40..65 => 2,
        65..85 => 3,
        85..95 => 4,
        _ => 5,
    };
    let mut out: Vec<usize> = Vec::with_capacity(k);
    for _ in 0..k * 2 {
        if out.len() == k {
            break;
        }
        let idx = (rng.unit().powi(2) * count as f64) as usize;
        if idx < count && !out.contains(&idx) {
            out.push(idx);
        }
    }
    out
}

/// A few pending invitations: one per 500 users plus one, at most 200.
pub(super) fn invitations(
    c: &mut Company,
    spec: &CompanySpec,
    rng: &mut SplitMix64,
    book: &mut EmailBook,
) {
    if spec.users == 0 {
        return;
    }
    for _ in 0..(1 + spec.users / 500).min(200) {
        let (email, _) = book.next(rng);
        c.invited.push(email);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_names_are_unique() {
        let names = group_names(2_000);
        let mut sorted = names.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), 2_000);
        assert_eq!(names[0], "Engineering");
    }
}
