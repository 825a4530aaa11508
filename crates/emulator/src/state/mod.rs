//! The company model: users, groups, shared folders, invitations, former accounts, events and
//! pushed sites, with the few operations that keep them consistent (membership on both sides,
//! empty groups disappearing, removed users leaving every folder).

pub(crate) mod events;
mod folders;
mod user;
pub(crate) mod view;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::NaiveDateTime;

pub use folders::FolderPerms;
pub(crate) use folders::{Folder, FolderMember, PermEncoding};
pub(crate) use user::{User, VaultCounts, user_ip};

use crate::clock::eastern_to_micros;
use crate::rng::SplitMix64;
use events::EventLog;

/// One `pushsitestousers` call as the emulator recorded it.
#[derive(Debug, Clone)]
pub(crate) struct PushedSite {
    pub(crate) psid: u64,
    pub(crate) data: serde_json::Value,
}

/// Who the log shows as the actor of changes made through the Enterprise API or the console.
#[derive(Debug, Clone)]
pub(crate) struct Actor {
    pub(crate) username: String,
    pub(crate) ip: u32,
}

/// The whole business account.
#[derive(Debug, Clone)]
pub(crate) struct Company {
    /// Email domain generated addresses use.
    pub(crate) domain: String,
    /// Actor recorded on events caused by API calls and admin console actions.
    pub(crate) api_actor: Actor,
    /// Company members (active and disabled), always sorted by id.
    pub(crate) users: Vec<User>,
    /// Lowercase email → id of every member.
    index: HashMap<String, u64>,
    /// Group name → member ids. A group with no members does not exist.
    pub(crate) groups: BTreeMap<String, BTreeSet<u64>>,
    /// Shared folders by id.
    pub(crate) folders: BTreeMap<u64, Folder>,
    /// Pending invitations (emails), in invitation order.
    pub(crate) invited: Vec<String>,
    /// Accounts removed from the company with `deluser` 1: they live on as free accounts and
    /// are linked back when the same email is added again.
    pub(crate) former: Vec<User>,
    /// The reporting log.
    pub(crate) events: EventLog,
    /// Sites pushed with `pushsitestousers`.
    pub(crate) pushed: Vec<PushedSite>,
    next_user_id: u64,
    next_folder_id: u64,
    next_psid: u64,
    /// Randomness for run-time choices (new ids), seeded so a test run is repeatable.
    pub(crate) rng: SplitMix64,
}

impl Company {
    /// An account with no users, whose new ids start at plausible LastPass magnitudes.
    pub(crate) fn new(domain: &str, seed: u64) -> Self {
        let mut rng = SplitMix64::new(seed ^ 0x636f_6d70_616e_7921);
        Self {
            domain: domain.to_owned(),
            api_actor: Actor {
                username: format!("admin@{domain}"),
                ip: u32::from_be_bytes([203, 0, 113, 10]),
            },
            users: Vec::new(),
            index: HashMap::new(),
            groups: BTreeMap::new(),
            folders: BTreeMap::new(),
            invited: Vec::new(),
            former: Vec::new(),
            events: EventLog::default(),
            pushed: Vec::new(),
            next_user_id: 400_000_000 + rng.below(60_000_000),
            next_folder_id: 100_000_000 + rng.below(900_000_000),
            next_psid: 1,
            rng,
        }
    }

    /// A fresh user id, larger than every id handed out before.
    pub(crate) fn new_user_id(&mut self) -> u64 {
        let id = self.next_user_id;
        self.next_user_id += 1 + self.rng.below(5_000);
        id
    }

    /// A fresh shared-folder id.
    pub(crate) fn new_folder_id(&mut self) -> u64 {
        let id = self.next_folder_id;
        self.next_folder_id += 1 + self.rng.below(50_000);
        id
    }

    /// A fresh push id for `pushsitestousers`.
    pub(crate) fn new_psid(&mut self) -> u64 {
        let id = self.next_psid;
        self.next_psid += 1;
        id
    }

    /// Position in `users` of the member with this email (any case).
    pub(crate) fn position(&self, email: &str) -> Option<usize> {
        let id = match self.index.get(email) {
            Some(id) => *id,
            None => *self.index.get(&email.to_lowercase())?,
        };
        self.position_of_id(id)
    }

    /// Position in `users` of the member with this id.
    pub(crate) fn position_of_id(&self, id: u64) -> Option<usize> {
        self.users.binary_search_by_key(&id, |u| u.id).ok()
    }

    /// The member with this email (any case).
    pub(crate) fn user(&self, email: &str) -> Option<&User> {
        self.position(email).and_then(|i| self.users.get(i))
    }

    /// The member with this email (any case), for changing.
    pub(crate) fn user_mut(&mut self, email: &str) -> Option<&mut User> {
        let i = self.position(email)?;
        self.users.get_mut(i)
    }

    /// The email of the member with this id.
    pub(crate) fn email_of(&self, id: u64) -> Option<&str> {
        self.position_of_id(id)
            .and_then(|i| self.users.get(i))
            .map(|u| u.username.as_str())
    }

    /// Adds a member, keeping `users` sorted by id, and enters it into every group it names.
    pub(crate) fn insert_user(&mut self, user: User) {
        self.next_user_id = self.next_user_id.max(user.id + 1);
        self.index.insert(user.username.clone(), user.id);
        for g in &user.groups {
            match self.groups.get_mut(g) {
                Some(members) => {
                    members.insert(user.id);
                }
                None => {
                    self.groups.insert(g.clone(), BTreeSet::from([user.id]));
                }
            }
        }
        match self.users.last() {
            Some(last) if last.id > user.id => {
                let at = self.users.partition_point(|u| u.id < user.id);
                self.users.insert(at, user);
            }
            _ => self.users.push(user),
        }
    }

    /// Adds many members at once (the generator's path): `users` must be sorted by id with ids
    /// above every existing one, and `groups` must list exactly their memberships. Much faster
    /// than one [`Company::insert_user`] per user.
    pub(crate) fn bulk_load(&mut self, users: Vec<User>, groups: BTreeMap<String, BTreeSet<u64>>) {
        if let Some(last) = users.last() {
            self.next_user_id = self.next_user_id.max(last.id + 1);
        }
        self.index.reserve(users.len());
        for u in &users {
            self.index.insert(u.username.clone(), u.id);
        }
        self.users.extend(users);
        for (name, ids) in groups {
            self.groups.entry(name).or_default().extend(ids);
        }
    }

    /// Takes a member out of the company: out of the user list, every group (groups left empty
    /// disappear) and every shared folder. Returns the account as it was.
    pub(crate) fn remove_user(&mut self, email: &str) -> Option<User> {
        let pos = self.position(email)?;
        let user = self.users.remove(pos);
        self.index.remove(&user.username);
        for g in &user.groups {
            self.drop_member(g, user.id);
        }
        for folder in self.folders.values_mut() {
            folder.members.retain(|m| m.user_id != user.id);
        }
        Some(user)
    }

    /// Puts the member at `pos` into `group`, creating the group on first use. False when the
    /// member was already in it.
    pub(crate) fn join_group(&mut self, pos: usize, group: &str) -> bool {
        let Some(user) = self.users.get_mut(pos) else {
            return false;
        };
        if user.groups.iter().any(|g| g == group) {
            return false;
        }
        user.groups.push(group.to_owned());
        self.groups
            .entry(group.to_owned())
            .or_default()
            .insert(user.id);
        true
    }

    /// Takes the member at `pos` out of `group`; the group disappears when it empties. False
    /// when the member was not in it.
    pub(crate) fn leave_group(&mut self, pos: usize, group: &str) -> bool {
        let Some(user) = self.users.get_mut(pos) else {
            return false;
        };
        let before = user.groups.len();
        user.groups.retain(|g| g != group);
        if user.groups.len() == before {
            return false;
        }
        let id = user.id;
        self.drop_member(group, id);
        true
    }

    fn drop_member(&mut self, group: &str, id: u64) {
        if let Some(members) = self.groups.get_mut(group) {
            members.remove(&id);
            if members.is_empty() {
                self.groups.remove(group);
            }
        }
    }

    /// Position of a pending invitation for this email (any case).
    pub(crate) fn invitation(&self, email: &str) -> Option<usize> {
        self.invited
            .iter()
            .position(|e| e.eq_ignore_ascii_case(email))
    }

    /// The shared folder with this exact name, or failing that with this numeric id.
    pub(crate) fn folder_id(&self, name_or_id: &str) -> Option<u64> {
        self.folders
            .values()
            .find(|f| f.name == name_or_id)
            .map(|f| f.id)
            .or_else(|| {
                let id = name_or_id.parse::<u64>().ok()?;
                self.folders.contains_key(&id).then_some(id)
            })
    }

    /// Appends an event done by the API/console actor about `data`.
    pub(crate) fn record_admin(&mut self, now: NaiveDateTime, action: &'static str, data: String) {
        let actor = self.api_actor.clone();
        self.events.push(
            eastern_to_micros(now),
            actor.username,
            actor.ip,
            action,
            data,
            true,
        );
    }

    /// Appends an event a user caused themselves (logins, password changes).
    pub(crate) fn record_user(
        &mut self,
        now: NaiveDateTime,
        email: &str,
        action: &'static str,
        data: String,
    ) {
        let ip = user_ip(self.user(email).map_or(0, |u| u.id));
        self.events.push(
            eastern_to_micros(now),
            email.to_owned(),
            ip,
            action,
            data,
            false,
        );
    }
}

/// Whether LastPass would take this as an email address: one `@`, a non-empty local part, a
/// dotted domain, no spaces.
pub(crate) fn valid_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn company_with(emails: &[&str]) -> Company {
        let mut c = Company::new("example.com", 1);
        let t = NaiveDateTime::default();
        for e in emails {
            let id = c.new_user_id();
            c.insert_user(User::invited(id, e, "", t, true));
        }
        c
    }

    #[test]
    fn lookup_is_case_insensitive() {
        let c = company_with(&["ann@example.com"]);
        assert!(c.user("ANN@example.com").is_some());
        assert!(c.user("bob@example.com").is_none());
    }

    #[test]
    fn empty_groups_disappear() {
        let mut c = company_with(&["ann@example.com", "ben@example.com"]);
        assert!(c.join_group(0, "Ops"));
        assert!(!c.join_group(0, "Ops"));
        assert!(c.join_group(1, "Ops"));
        assert!(c.leave_group(0, "Ops"));
        assert_eq!(c.groups.get("Ops").map(|m| m.len()), Some(1));
        assert!(c.leave_group(1, "Ops"));
        assert!(!c.groups.contains_key("Ops"));
    }

    #[test]
    fn removal_cleans_groups_and_index() {
        let mut c = company_with(&["ann@example.com"]);
        c.join_group(0, "Ops");
        let u = c.remove_user("ann@example.com").unwrap();
        assert_eq!(u.username, "ann@example.com");
        assert!(c.groups.is_empty());
        assert!(c.user("ann@example.com").is_none());
    }

    #[test]
    fn reinserted_user_keeps_sort_order() {
        let mut c = company_with(&["a@example.com", "b@example.com", "c@example.com"]);
        let a = c.remove_user("a@example.com").unwrap();
        c.insert_user(a);
        let ids: Vec<u64> = c.users.iter().map(|u| u.id).collect();
        let mut sorted = ids.clone();
        sorted.sort_unstable();
        assert_eq!(ids, sorted);
        assert!(c.user("a@example.com").is_some());
    }

    #[test]
    fn email_validation() {
        assert!(valid_email("a.b+x@example.co.uk"));
        for bad in [
            "",
            "a",
            "a@",
            "@b.com",
            "a@b",
            "a b@c.com",
            "a@@b.com",
            "a@b.com.",
        ] {
            assert!(!valid_email(bad), "{bad}");
        }
    }
}
