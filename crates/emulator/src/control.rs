//! The control surface: what LastPass users and admins do outside the Enterprise API (log in,
//! change their master password, set up MFA, grant admin rights in the console, invite,
//! share folders). Tests call these to make the account change the way a real one would.

use crate::emulator::Emulator;
use crate::error::EmulatorError;
use crate::state::events::action;
use crate::state::{Folder, FolderMember, FolderPerms, User, VaultCounts, valid_email};

impl Emulator {
    /// The user logs in: `last_login` = now, `neverloggedin` false, vault counts and security
    /// score become numbers (0) instead of null. A pending invitation is accepted (the account
    /// is created). Records a "Login" event.
    pub fn login(&self, email: &str) -> Result<(), EmulatorError> {
        let now = self.now();
        let mut c = self.company_mut();
        if c.user(email).is_none() {
            let Some(i) = c.invitation(email) else {
                return Err(EmulatorError::UnknownUser(email.to_owned()));
            };
            let invited = c.invited.remove(i);
            let id = c.new_user_id();
            c.insert_user(User::invited(id, &invited, "", now, false));
        }
        let user = c
            .user_mut(email)
            .ok_or_else(|| EmulatorError::UnknownUser(email.to_owned()))?;
        if user.disabled {
            return Err(EmulatorError::UserDisabled(email.to_owned()));
        }
        user.last_login = Some(now);
        user.counts.get_or_insert_with(VaultCounts::default);
        user.totalscore.get_or_insert(0);
        let target = user.username.clone();
        c.record_user(now, &target, action::LOGIN, String::new());
        Ok(())
    }

    /// Someone fails to log in as this user. Records "Failed Login Attempt".
    pub fn failed_login(&self, email: &str) -> Result<(), EmulatorError> {
        let now = self.now();
        let mut c = self.company_mut();
        let target = c
            .user(email)
            .map(|u| u.username.clone())
            .ok_or_else(|| EmulatorError::UnknownUser(email.to_owned()))?;
        c.record_user(now, &target, action::FAILED_LOGIN, String::new());
        Ok(())
    }

    /// The user sets a new master password of this strength (0..=100): `mpstrength`,
    /// `last_pw_change` = now, `password_reset_required` cleared.
    pub fn change_master_password(&self, email: &str, strength: u8) -> Result<(), EmulatorError> {
        if strength > 100 {
            return Err(EmulatorError::InvalidStrength(strength));
        }
        let now = self.now();
        let mut c = self.company_mut();
        let user = c
            .user_mut(email)
            .ok_or_else(|| EmulatorError::UnknownUser(email.to_owned()))?;
        user.mpstrength = strength;
        user.last_pw_change = now;
        user.password_reset_required = false;
        let target = user.username.clone();
        c.record_user(now, &target, action::MASTER_PASSWORD_CHANGED, String::new());
        Ok(())
    }

    /// The user enrols in MFA of this kind (e.g. `"lastpass_authenticator"`, `"duo"`), or
    /// turns it off with `None`.
    pub fn set_multifactor(&self, email: &str, kind: Option<&str>) -> Result<(), EmulatorError> {
        let now = self.now();
        let mut c = self.company_mut();
        let user = c
            .user_mut(email)
            .ok_or_else(|| EmulatorError::UnknownUser(email.to_owned()))?;
        user.multifactor = kind.unwrap_or_default().to_owned();
        let target = user.username.clone();
        let (act, data) = match kind.filter(|k| !k.is_empty()) {
            Some(k) => (action::ENABLE_MULTIFACTOR, k.to_owned()),
            None => (action::DISABLE_MULTIFACTOR, String::new()),
        };
        c.record_user(now, &target, act, data);
        Ok(())
    }

    /// An admin grants or takes away admin rights in the console (no API command can).
    /// Records "Make Admin" / "Remove Admin" when the flag changes.
    pub fn set_admin(&self, email: &str, admin: bool) -> Result<(), EmulatorError> {
        let now = self.now();
        let mut c = self.company_mut();
        let user = c
            .user_mut(email)
            .ok_or_else(|| EmulatorError::UnknownUser(email.to_owned()))?;
        if user.admin == admin {
            return Ok(());
        }
        user.admin = admin;
        let target = user.username.clone();
        let act = if admin {
            action::MAKE_ADMIN
        } else {
            action::REMOVE_ADMIN
        };
        c.record_admin(now, act, target);
        Ok(())
    }

    /// An admin invites an address from the console: it shows up in getuserdata's `invited`
    /// until it logs in, is added with batchadd, or is withdrawn with deluser 3.
    pub fn invite(&self, email: &str) -> Result<(), EmulatorError> {
        let email = email.trim();
        if !valid_email(email) {
            return Err(EmulatorError::InvalidEmail(email.to_owned()));
        }
        let now = self.now();
        let mut c = self.company_mut();
        if c.user(email).is_some() {
            return Err(EmulatorError::AlreadyMember(email.to_owned()));
        }
        if c.invitation(email).is_none() {
            let email = email.to_lowercase();
            c.invited.push(email.clone());
            c.record_admin(now, action::INVITE, email);
        }
        Ok(())
    }

    /// Shares a folder (by name, or numeric id) with a member, or changes the member's
    /// permissions. A folder name that does not exist yet creates the folder.
    pub fn share_folder(
        &self,
        folder: &str,
        email: &str,
        perms: FolderPerms,
    ) -> Result<(), EmulatorError> {
        let now = self.now();
        let mut c = self.company_mut();
        let user = c
            .user(email)
            .ok_or_else(|| EmulatorError::UnknownUser(email.to_owned()))?;
        let (user_id, target) = (user.id, user.username.clone());
        let id = match c.folder_id(folder) {
            Some(id) => id,
            None => {
                let id = c.new_folder_id();
                c.folders.insert(id, Folder::new(id, folder));
                id
            }
        };
        let Some(f) = c.folders.get_mut(&id) else {
            return Err(EmulatorError::UnknownFolder(folder.to_owned()));
        };
        let name = f.name.clone();
        match f.members.iter_mut().find(|m| m.user_id == user_id) {
            Some(m) => m.perms = perms,
            None => {
                f.members.push(FolderMember { user_id, perms });
                c.record_admin(
                    now,
                    action::ADD_TO_SHARED_FOLDER,
                    format!("{target} ({name})"),
                );
            }
        }
        Ok(())
    }

    /// Takes a member out of a shared folder.
    pub fn unshare_folder(&self, folder: &str, email: &str) -> Result<(), EmulatorError> {
        let now = self.now();
        let mut c = self.company_mut();
        let id = c
            .folder_id(folder)
            .ok_or_else(|| EmulatorError::UnknownFolder(folder.to_owned()))?;
        let (user_id, target) = c
            .user(email)
            .map(|u| (u.id, u.username.clone()))
            .ok_or_else(|| EmulatorError::UnknownUser(email.to_owned()))?;
        let Some(f) = c.folders.get_mut(&id) else {
            return Err(EmulatorError::UnknownFolder(folder.to_owned()));
        };
        let before = f.members.len();
        f.members.retain(|m| m.user_id != user_id);
        if f.members.len() == before {
            return Err(EmulatorError::NotAFolderMember {
                folder: folder.to_owned(),
                email: email.to_owned(),
            });
        }
        let name = f.name.clone();
        c.record_admin(
            now,
            action::REMOVE_FROM_SHARED_FOLDER,
            format!("{target} ({name})"),
        );
        Ok(())
    }
}
