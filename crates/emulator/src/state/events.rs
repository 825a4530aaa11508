//! The reporting log: events with unique microsecond timestamps, kept in time order, and the
//! Action names the emulator writes.

/// Action strings. Those marked "spec" appear in the spec's list of real Action names; the rest
/// are the emulator's choice where the spec names none (documented in docs/emulator.md).
pub(crate) mod action {
    /// A successful login (emulator's name).
    pub(crate) const LOGIN: &str = "Login";
    /// spec
    pub(crate) const FAILED_LOGIN: &str = "Failed Login Attempt";
    /// spec
    pub(crate) const ACCOUNT_CREATED: &str = "Employee Account Created";
    /// spec
    pub(crate) const ACCOUNT_DELETED: &str = "Employee Account Deleted";
    /// deluser 1 (emulator's name).
    pub(crate) const REMOVED_FROM_COMPANY: &str = "Removed User from Company";
    /// deluser 3 (emulator's name).
    pub(crate) const UNINVITED: &str = "Uninvited User";
    /// spec
    pub(crate) const DEACTIVATED: &str = "Deactivated User";
    /// spec
    pub(crate) const REACTIVATED: &str = "Reactivated User";
    /// spec
    pub(crate) const MAKE_ADMIN: &str = "Make Admin";
    /// spec
    pub(crate) const REMOVE_ADMIN: &str = "Remove Admin";
    /// spec
    pub(crate) const REQUIRE_PASSWORD_CHANGE: &str = "Require Password Change";
    /// spec
    pub(crate) const SUPER_ADMIN_PASSWORD_RESET: &str = "Super Admin Password Reset";
    /// spec
    pub(crate) const ADD_TO_SHARED_FOLDER: &str = "Add to Shared Folder";
    /// spec
    pub(crate) const EDIT_POLICY: &str = "Edit Policy";
    /// spec
    pub(crate) const MASTER_PASSWORD_REUSE: &str = "Master Password Reuse";
    /// Emulator's name.
    pub(crate) const REMOVE_FROM_SHARED_FOLDER: &str = "Remove from Shared Folder";
    /// batchadd on an existing user, updateuser (emulator's name).
    pub(crate) const EDIT_USER: &str = "Edit User";
    /// batchchangegrp / batchadd groups (emulator's name).
    pub(crate) const ADD_TO_GROUP: &str = "Add to Group";
    /// batchchangegrp (emulator's name).
    pub(crate) const REMOVE_FROM_GROUP: &str = "Remove from Group";
    /// resetpassword (emulator's name).
    pub(crate) const PASSWORD_RESET_EMAIL: &str = "Send Password Reset Email";
    /// reinviteuser (emulator's name).
    pub(crate) const REINVITE: &str = "Reinvite User";
    /// Control-surface invitation (emulator's name).
    pub(crate) const INVITE: &str = "Invite User";
    /// disablemultifactor or MFA turned off (emulator's name).
    pub(crate) const DISABLE_MULTIFACTOR: &str = "Disable Multifactor";
    /// MFA turned on by the user (emulator's name).
    pub(crate) const ENABLE_MULTIFACTOR: &str = "Enable Multifactor";
    /// The user changed their master password (emulator's name).
    pub(crate) const MASTER_PASSWORD_CHANGED: &str = "Change Master Password";
    /// pushsitestousers (emulator's name).
    pub(crate) const PUSH_SITES: &str = "Push Sites to Users";
}

/// One reporting event.
#[derive(Debug, Clone)]
pub(crate) struct Event {
    /// Epoch microseconds, unique across the log.
    pub(crate) micros: i64,
    /// Stable event id (the SIEM format's `ID`).
    pub(crate) id: u64,
    /// Who did it.
    pub(crate) username: String,
    pub(crate) ip: u32,
    pub(crate) action: &'static str,
    /// What it was done to (target email, group, folder).
    pub(crate) data: String,
    /// Whether this is an administrative event (`admin: "1"` filter).
    pub(crate) admin: bool,
}

/// Events in ascending time order. Every event gets a distinct microsecond, so a `next`
/// cursor never repeats or skips an event.
#[derive(Debug, Clone)]
pub(crate) struct EventLog {
    events: Vec<Event>,
    next_id: u64,
}

impl Default for EventLog {
    fn default() -> Self {
        Self {
            events: Vec::new(),
            next_id: 1_000_001,
        }
    }
}

impl EventLog {
    /// Appends an event at `micros`, or one microsecond after the latest event when the clock
    /// says otherwise (frozen or set back), so time order and uniqueness always hold.
    pub(crate) fn push(
        &mut self,
        micros: i64,
        username: String,
        ip: u32,
        action: &'static str,
        data: String,
        admin: bool,
    ) {
        let micros = match self.events.last() {
            Some(last) if last.micros >= micros => last.micros + 1,
            _ => micros,
        };
        let id = self.next_id;
        self.next_id += 1;
        self.events.push(Event {
            micros,
            id,
            username,
            ip,
            action,
            data,
            admin,
        });
    }

    /// All events, oldest first.
    pub(crate) fn all(&self) -> &[Event] {
        &self.events
    }

    /// How many events the log holds.
    pub(crate) fn len(&self) -> usize {
        self.events.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_stay_unique_and_ordered() {
        let mut log = EventLog::default();
        for m in [100, 100, 50, 200, 200] {
            log.push(m, "a".into(), 0, action::LOGIN, String::new(), false);
        }
        let ms: Vec<i64> = log.all().iter().map(|e| e.micros).collect();
        assert_eq!(ms, vec![100, 101, 102, 200, 201]);
        let ids: Vec<u64> = log.all().iter().map(|e| e.id).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
    }
}
