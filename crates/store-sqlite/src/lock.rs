//! Per-account locks (a sync's, the automations'): advisory file locks beside the database.
//! The kernel releases them when the holder exits, however it exits, so a SIGKILLed sync
//! never blocks the next one.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::PathBuf;

use lpgate_store::{AccountId, AccountLock, StoreError, StoreResult};

/// A held lock; dropping it (or the process ending) releases it.
struct FileLock {
    _file: File,
}

impl AccountLock for FileLock {}

/// Which of an account's locks.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// A sync's (and a plan's apply).
    Sync,
    /// The automations'.
    Automations,
}

impl Kind {
    fn file(self, account: AccountId) -> String {
        match self {
            Kind::Sync => format!("account-{}.lock", account.0),
            Kind::Automations => format!("automations-{}.lock", account.0),
        }
    }

    fn context(self) -> &'static str {
        match self {
            Kind::Sync => "sync lock",
            Kind::Automations => "automations lock",
        }
    }

    fn busy(self) -> &'static str {
        match self {
            Kind::Sync => "another sync of this account is running; it was not started twice",
            Kind::Automations => {
                "another process is running this account's automations; they were not run twice"
            }
        }
    }
}

/// [`try_lock`] off the async runtime's threads (it opens a file).
pub async fn take(
    db: PathBuf,
    account: AccountId,
    kind: Kind,
) -> StoreResult<Box<dyn AccountLock>> {
    tokio::task::spawn_blocking(move || try_lock(db, account, kind))
        .await
        .map_err(|e| StoreError::Backend {
            context: kind.context(),
            message: e.to_string(),
        })?
}

/// Takes the `kind` lock for `account` next to the database at `db`, without waiting.
fn try_lock(db: PathBuf, account: AccountId, kind: Kind) -> StoreResult<Box<dyn AccountLock>> {
    let mut dir = db.clone().into_os_string();
    dir.push(".locks");
    let dir = PathBuf::from(dir);
    std::fs::create_dir_all(&dir).map_err(|e| StoreError::Backend {
        context: kind.context(),
        message: format!("{}: {e}", dir.display()),
    })?;
    let path = dir.join(kind.file(account));
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| StoreError::Backend {
            context: kind.context(),
            message: format!("{}: {e}", path.display()),
        })?;
    match file.try_lock() {
        Ok(()) => Ok(Box::new(FileLock { _file: file })),
        Err(TryLockError::WouldBlock) => Err(StoreError::Busy(kind.busy().to_string())),
        Err(TryLockError::Error(e)) => Err(StoreError::Backend {
            context: kind.context(),
            message: format!("{}: {e}", path.display()),
        }),
    }
}
