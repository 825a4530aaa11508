//! Re-reading a few users from LastPass by username after a plan is applied, so the store and
//! the change history show the result without waiting for the next full sync.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::time::Instant;

use chrono::{DateTime, Utc};
use futures_util::{StreamExt, stream};
use lpgate_domain::{AccountStatus, AccountZone, UserRecord, diff_groups, diff_user};
use lpgate_lastpass::Client;
use lpgate_store::{AccountRow, Fingerprinted, Store, SyncWrite};

use crate::normalize;
use crate::notify::Routing;
use crate::sync::{SyncError, SyncReport, restored, sort_by_email};

/// Re-reads `emails` with `getuserdata` by username and writes what changed as a run of its
/// own. A user LastPass no longer returns is deprovisioned only when listed in `may_leave`
/// (the plan removed them); others keep their state until the next full sync. Call with the
/// account's sync lock held.
#[allow(clippy::too_many_arguments)]
pub async fn refresh_users<S: Store>(
    store: &S,
    client: &Client,
    account: &AccountRow,
    zone: AccountZone,
    emails: &[String],
    may_leave: &HashSet<String>,
    routing: &Routing,
    now: DateTime<Utc>,
) -> Result<SyncReport, SyncError> {
    let started = Instant::now();
    let name = &account.name;
    let store_err = |cause| SyncError::Store {
        account: name.clone(),
        cause,
    };
    let run = store.begin_run(account.id, now).await.map_err(store_err)?;
    let answers: Vec<(String, Result<Option<lpgate_lastpass::User>, _>)> =
        stream::iter(emails.iter().cloned())
            .map(|email| async move {
                let answer = client.get_user(&email).await;
                (email, answer)
            })
            .buffer_unordered(4)
            .collect()
            .await;
    let mut fresh = Vec::new();
    let mut missing = Vec::new();
    for (email, answer) in answers {
        match answer {
            Ok(Some(u)) => fresh.push(normalize::user(u)),
            Ok(None) => missing.push(email),
            Err(cause) => {
                let err = SyncError::Fetch {
                    account: name.clone(),
                    cause,
                };
                let _ = store.fail_run(run, now, err.to_string()).await;
                return Err(err);
            }
        }
    }
    // Only the group names: reading every user's fingerprint (`snapshot_index`) cost a
    // 100,000-user account about as much as the rest of a one-user re-read.
    let known_groups = store.group_names(account.id).await.map_err(store_err)?;
    let old: HashMap<String, UserRecord> = store
        .load_users(account.id, emails.to_vec())
        .await
        .map_err(store_err)?
        .into_iter()
        .map(|u| (u.email.clone(), u))
        .collect();
    let mut changes = Vec::new();
    let mut upsert = Vec::new();
    let mut groups: BTreeSet<String> = known_groups.clone();
    for rec in fresh {
        groups.extend(rec.groups.iter().cloned());
        let fingerprint = rec.fingerprint();
        match old.get(&rec.email) {
            Some(o) if o.status == AccountStatus::Deprovisioned => changes.extend(restored(&rec)),
            Some(o) if *o == rec => continue,
            o => changes.extend(diff_user(o, Some(&rec))),
        }
        upsert.push(Fingerprinted {
            record: rec,
            fingerprint,
        });
    }
    let mut gone = Vec::new();
    for email in missing {
        let present = old
            .get(&email)
            .is_some_and(|o| o.status != AccountStatus::Deprovisioned);
        if present && may_leave.contains(&email) {
            changes.extend(diff_user(old.get(&email), None));
            gone.push(email);
        }
    }
    gone.sort();
    changes.extend(diff_groups(&known_groups, &groups));
    let mut changes_by_kind = BTreeMap::new();
    for c in &changes {
        *changes_by_kind.entry(c.kind).or_insert(0) += 1;
    }
    let write = SyncWrite {
        upsert_users: sort_by_email(upsert),
        deprovision: gone,
        groups,
        notifications: routing.for_changes(account.id, name, &changes),
        changes,
        users_fetched: emails.len() as i64,
        ..SyncWrite::nothing(account.id, run, now, zone)
    };
    let run_row = match store.commit_sync(write).await {
        Ok(r) => r,
        Err(e) => {
            let err = store_err(e);
            let _ = store.fail_run(run, now, err.to_string()).await;
            return Err(err);
        }
    };
    Ok(SyncReport {
        run: run_row,
        baseline: false,
        changes_by_kind,
        elapsed: started.elapsed(),
    })
}
