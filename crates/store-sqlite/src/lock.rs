//! Per-account sync locks: advisory file locks beside the database. The kernel releases them
//! when the holder exits, however it exits, so a SIGKILLed sync never blocks the next one.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::PathBuf;

use lpgate_store::{AccountId, AccountLock, StoreError, StoreResult};

/// A held lock; dropping it (or the process ending) releases it.
struct FileLock {
    _file: File,
}

impl AccountLock for FileLock {}

/// Takes the lock for `account` next to the database at `db`, without waiting.
pub fn try_lock(db: PathBuf, account: AccountId) -> StoreResult<Box<dyn AccountLock>> {
    let mut dir = db.clone().into_os_string();
    dir.push(".locks");
    let dir = PathBuf::from(dir);
    std::fs::create_dir_all(&dir).map_err(|e| StoreError::Backend {
        context: "sync lock",
        message: format!("{}: {e}", dir.display()),
    })?;
    let path = dir.join(format!("account-{}.lock", account.0));
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| StoreError::Backend {
            context: "sync lock",
            message: format!("{}: {e}", path.display()),
        })?;
    match file.try_lock() {
        Ok(()) => Ok(Box::new(FileLock { _file: file })),
        Err(TryLockError::WouldBlock) => Err(StoreError::Busy(
            "another sync of this account is running; it was not started twice".to_string(),
        )),
        Err(TryLockError::Error(e)) => Err(StoreError::Backend {
            context: "sync lock",
            message: format!("{}: {e}", path.display()),
        }),
    }
}
