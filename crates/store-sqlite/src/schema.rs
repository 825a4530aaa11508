//! Migrations, applied in order at open; `PRAGMA user_version` records how far a file got.
//! Each runs in its own transaction, so a crash mid-migration leaves the previous version.

use rusqlite::Connection;

/// Every migration, in order. Never edit one that has shipped in a release: add another.
/// (Migration 1 was reshaped before the first release, on 2026-11-24: integer LastPass times
/// and memberships keyed by user row id.)
/// The bulk tables (users, memberships, folders, events, changes…) carry no foreign-key
/// constraint: checking one per row cost a 100,000-user first sync a third of its write.
/// `remove_account` deletes an account's rows from each of them explicitly instead.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE accounts (
    id                  INTEGER PRIMARY KEY,
    name                TEXT NOT NULL UNIQUE,
    cid                 INTEGER NOT NULL,
    region              TEXT,
    url                 TEXT,
    provhash_sealed     BLOB NOT NULL,
    enabled             INTEGER NOT NULL DEFAULT 1,
    time_zone           TEXT NOT NULL,
    sync_interval_secs  INTEGER NOT NULL,
    created_at          TEXT NOT NULL,
    last_synced_at      TEXT,
    has_snapshot        INTEGER NOT NULL DEFAULT 0,
    event_watermark     TEXT
);

CREATE TABLE sync_runs (
    id           INTEGER PRIMARY KEY,
    account_id   INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    started_at   TEXT NOT NULL,
    finished_at  TEXT,
    outcome      TEXT NOT NULL,
    error        TEXT,
    users        INTEGER NOT NULL DEFAULT 0,
    groups_count INTEGER NOT NULL DEFAULT 0,
    folders      INTEGER NOT NULL DEFAULT 0,
    events       INTEGER NOT NULL DEFAULT 0,
    changes      INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX sync_runs_account ON sync_runs(account_id, id);

-- The current state of every user ever seen; deprovisioned users stay with that status.
-- A rowid table: its rows are large, where WITHOUT ROWID would slow bulk inserts. LastPass's
-- times are integers: `*_local` the wall-clock time as sent (seconds of that naive time since
-- 1970-01-01 00:00), `*_at` the instant in UTC (Unix seconds). Integers keep the 100,000-row
-- write narrow; the documented views show them as text. The current groups are in
-- `memberships` only.
CREATE TABLE users (
    id                      INTEGER PRIMARY KEY,
    account_id              INTEGER NOT NULL,
    email                   TEXT NOT NULL,
    lastpass_id             TEXT,
    fullname                TEXT NOT NULL,
    status                  TEXT NOT NULL,
    admin                   INTEGER NOT NULL,
    disabled                INTEGER NOT NULL,
    never_logged_in         INTEGER NOT NULL,
    invited_only            INTEGER NOT NULL,
    mp_strength             INTEGER,
    total_score             REAL,
    created_local           INTEGER,
    created_at              INTEGER,
    last_pw_change_local    INTEGER,
    last_pw_change_at       INTEGER,
    last_login_local        INTEGER,
    last_login_at           INTEGER,
    duo_username            TEXT,
    multifactor             TEXT,
    linked                  TEXT,
    password_reset_required INTEGER NOT NULL,
    sites                   INTEGER,
    notes                   INTEGER,
    formfills               INTEGER,
    applications            INTEGER,
    attachments             INTEGER,
    fingerprint             INTEGER NOT NULL,
    first_seen              TEXT NOT NULL,
    last_seen               TEXT,
    valid_from              TEXT NOT NULL,
    UNIQUE (account_id, email)
);

-- Past versions of users: a row per version that is no longer current, [valid_from, valid_to),
-- with the groups the user was in then.
CREATE TABLE users_history (
    account_id              INTEGER NOT NULL,
    email                   TEXT NOT NULL,
    lastpass_id             TEXT,
    fullname                TEXT NOT NULL,
    status                  TEXT NOT NULL,
    admin                   INTEGER NOT NULL,
    disabled                INTEGER NOT NULL,
    never_logged_in         INTEGER NOT NULL,
    invited_only            INTEGER NOT NULL,
    mp_strength             INTEGER,
    total_score             REAL,
    created_local           INTEGER,
    created_at              INTEGER,
    last_pw_change_local    INTEGER,
    last_pw_change_at       INTEGER,
    last_login_local        INTEGER,
    last_login_at           INTEGER,
    duo_username            TEXT,
    multifactor             TEXT,
    linked                  TEXT,
    password_reset_required INTEGER NOT NULL,
    sites                   INTEGER,
    notes                   INTEGER,
    formfills               INTEGER,
    applications            INTEGER,
    attachments             INTEGER,
    groups_json             TEXT NOT NULL,
    valid_from              TEXT NOT NULL,
    valid_to                TEXT NOT NULL
);
CREATE INDEX users_history_by_user ON users_history(account_id, email, valid_from);
CREATE INDEX users_history_by_time ON users_history(account_id, valid_from, valid_to);

-- Rowid tables (groups, folders): the search index refers to their rows by row id.
CREATE TABLE groups (
    rid         INTEGER PRIMARY KEY,
    account_id  INTEGER NOT NULL,
    name        TEXT NOT NULL,
    id          TEXT NOT NULL,
    first_seen  TEXT NOT NULL,
    UNIQUE (account_id, name)
);

-- Keyed by the user's row id: a first sync writes users in row-id order, so its inserts
-- append instead of landing all over the tree (that halved this table's write).
CREATE TABLE memberships (
    user_id     INTEGER NOT NULL,
    group_name  TEXT NOT NULL,
    PRIMARY KEY (user_id, group_name)
) WITHOUT ROWID;

CREATE TABLE folders (
    rid         INTEGER PRIMARY KEY,
    account_id  INTEGER NOT NULL,
    id          TEXT NOT NULL,
    name        TEXT NOT NULL,
    deleted     INTEGER NOT NULL,
    score       REAL,
    fingerprint INTEGER NOT NULL,
    first_seen  TEXT NOT NULL,
    UNIQUE (account_id, id)
);

CREATE TABLE folder_members (
    account_id      INTEGER NOT NULL,
    folder_id       TEXT NOT NULL,
    email           TEXT NOT NULL,
    readonly        INTEGER NOT NULL,
    give            INTEGER NOT NULL,
    can_administer  INTEGER NOT NULL,
    superadmin      INTEGER NOT NULL,
    PRIMARY KEY (account_id, folder_id, email)
) WITHOUT ROWID;

CREATE TABLE events (
    id          INTEGER PRIMARY KEY,
    account_id  INTEGER NOT NULL,
    time_local  TEXT NOT NULL,
    time_at     TEXT NOT NULL,
    username    TEXT NOT NULL,
    ip_address  TEXT NOT NULL,
    action      TEXT NOT NULL,
    data        TEXT NOT NULL,
    -- Fingerprint of (time, username, action, data, ip): the same event read twice (the
    -- watermark is inclusive) is stored once.
    fp          INTEGER NOT NULL,
    UNIQUE (account_id, fp)
);
CREATE INDEX events_by_time ON events(account_id, time_at);

CREATE TABLE changes (
    id          INTEGER PRIMARY KEY,
    account_id  INTEGER NOT NULL,
    run_id      INTEGER NOT NULL,
    at          TEXT NOT NULL,
    kind        TEXT NOT NULL,
    subject     TEXT NOT NULL,
    related     TEXT,
    before      TEXT,
    after       TEXT
);
CREATE INDEX changes_by_time ON changes(account_id, at);
CREATE INDEX changes_by_kind ON changes(kind, at);
"#,
    r#"
-- The free-text index over users (full name, the words of the address before the @), groups
-- and shared folders. Row ids encode the source row: users.id*4+1, groups.rid*4+2,
-- folders.rid*4+3. The domain is left out on purpose: it is in every address of a company
-- and would match everyone.
CREATE VIRTUAL TABLE search USING fts5(
    title, words, account_id UNINDEXED, kind UNINDEXED, key UNINDEXED,
    prefix = '2 3'
);
-- 1 once the account's search rows are complete (a first snapshot builds them just after it
-- commits; a sync that finds 0 rebuilds them).
ALTER TABLE accounts ADD COLUMN search_ready INTEGER NOT NULL DEFAULT 0;

-- Findings: a rule's row, open while the rule keeps matching it. A finding that resolves and
-- matches again later is a new row.
CREATE TABLE findings (
    id            INTEGER PRIMARY KEY,
    account_id    INTEGER NOT NULL,
    rule          TEXT NOT NULL,
    severity      TEXT NOT NULL,
    key           TEXT NOT NULL,
    row_json      TEXT NOT NULL,
    opened_at     TEXT NOT NULL,
    last_seen_at  TEXT NOT NULL,
    resolved_at   TEXT
);
CREATE UNIQUE INDEX findings_open ON findings(account_id, rule, key) WHERE resolved_at IS NULL;
CREATE INDEX findings_by_time ON findings(opened_at);

-- Notifications waiting for, or done with, delivery (the outbox): written in the transaction
-- that records what they announce, so nothing is lost between the two.
CREATE TABLE outbox (
    id               INTEGER PRIMARY KEY,
    delivery_id      TEXT NOT NULL UNIQUE,
    channel          TEXT NOT NULL,
    event            TEXT NOT NULL,
    account_id       INTEGER,
    payload          TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    state            TEXT NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TEXT NOT NULL,
    last_error       TEXT,
    delivered_at     TEXT
);
CREATE INDEX outbox_due ON outbox(state, next_attempt_at);

-- The HR list, when one is loaded (`lpgate hr load`): one row per person.
CREATE TABLE hr_people (
    email       TEXT PRIMARY KEY,
    name        TEXT,
    status      TEXT NOT NULL,
    department  TEXT,
    loaded_at   TEXT NOT NULL
) WITHOUT ROWID;
"#,
    r#"
-- Plans: what will be done to whom, decided before anything is sent.
CREATE TABLE plans (
    id           INTEGER PRIMARY KEY,
    account_id   INTEGER NOT NULL,
    created_at   TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    source       TEXT NOT NULL,
    state        TEXT NOT NULL,
    held_reason  TEXT,
    approved_by  TEXT,
    approved_at  TEXT,
    finished_at  TEXT
);
CREATE INDEX plans_by_account ON plans(account_id, id);

-- A plan's items, in the order they apply; `state` records each one's progress so applying
-- again resumes.
CREATE TABLE plan_items (
    plan_id  INTEGER NOT NULL,
    seq      INTEGER NOT NULL,
    action   TEXT NOT NULL,
    email    TEXT NOT NULL,
    params   TEXT NOT NULL,
    state    TEXT NOT NULL,
    note     TEXT,
    done_at  TEXT,
    PRIMARY KEY (plan_id, seq)
) WITHOUT ROWID;

-- The audit log: append-only and hash-chained (see lpgate_domain::audit). The account is
-- kept by name so an entry outlives its account; the triggers refuse edits and deletions.
CREATE TABLE audit (
    seq        INTEGER PRIMARY KEY,
    at         TEXT NOT NULL,
    actor      TEXT NOT NULL,
    account    TEXT,
    action     TEXT NOT NULL,
    target     TEXT NOT NULL,
    plan_id    INTEGER,
    summary    TEXT NOT NULL,
    outcome    TEXT NOT NULL,
    prev_hash  TEXT NOT NULL,
    hash       TEXT NOT NULL
);
CREATE INDEX audit_by_time ON audit(at);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only: entries cannot be changed'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only: entries cannot be removed'); END;
"#,
    r#"
-- API tokens: only a keyed hash (HMAC-SHA256 under a key derived from the master key) of
-- each token is kept. A name is unique among live tokens; revoked ones stay for the record.
-- `account_id` limits a token to one account; when that account is removed the token sees
-- nothing (it is not re-pointed at a later account of the same name).
CREATE TABLE api_tokens (
    id            INTEGER PRIMARY KEY,
    name          TEXT NOT NULL,
    scope         TEXT NOT NULL,
    account_id    INTEGER,
    hash          TEXT NOT NULL UNIQUE,
    created_at    TEXT NOT NULL,
    expires_at    TEXT,
    last_used_at  TEXT,
    revoked_at    TEXT
);
CREATE UNIQUE INDEX api_tokens_live_name ON api_tokens(name) WHERE revoked_at IS NULL;
"#,
    r#"
-- Master passwords LastPass reports expired (expiredmasterpwlist), replaced whole at each
-- sync that reads the list; `expired_password_reads` says when each account's list was read
-- (an empty list read today differs from a list never read).
CREATE TABLE expired_passwords (
    account_id            INTEGER NOT NULL,
    email                 TEXT NOT NULL,
    lastpass_id           TEXT NOT NULL,
    last_pw_change_local  INTEGER,
    last_pw_change_at     INTEGER,
    PRIMARY KEY (account_id, email)
);
CREATE TABLE expired_password_reads (
    account_id  INTEGER PRIMARY KEY,
    read_at     TEXT NOT NULL
);
"#,
    r#"
-- SCIM (issue 7): what lpgate keeps about users and groups beyond LastPass's state. A user's
-- row exists once it was created or linked through SCIM: the identity provider's externalId,
-- the attributes it last wrote (JSON; LastPass has no place for title, phone numbers…), and
-- when. A group's row exists once it was created through SCIM; a group without members lives
-- only here (LastPass has no group without members) until it gets one.
CREATE TABLE scim_users (
    user_id        INTEGER PRIMARY KEY,
    account_id     INTEGER NOT NULL,
    external_id    TEXT,
    document       TEXT NOT NULL,
    created        TEXT NOT NULL,
    last_modified  TEXT NOT NULL
);
CREATE INDEX scim_users_external ON scim_users(account_id, external_id);
CREATE TABLE scim_groups (
    account_id     INTEGER NOT NULL,
    id             TEXT NOT NULL,
    name           TEXT NOT NULL,
    external_id    TEXT,
    created        TEXT NOT NULL,
    last_modified  TEXT NOT NULL,
    PRIMARY KEY (account_id, id)
) WITHOUT ROWID;
-- A retried SCIM request finds the plan it made (held, then approved) by its source.
CREATE INDEX plans_by_source ON plans(account_id, source);
"#,
    r#"
-- Dashboard speed (issue 8). Each group's member count is kept by the sync that changes its
-- memberships, so listing 2,000 groups reads 2,000 numbers instead of counting every
-- membership; the newest events of all accounts are read along `events_by_recent`; one
-- user's page reads their shared folders, changes and events along their own indexes.
ALTER TABLE groups ADD COLUMN members INTEGER NOT NULL DEFAULT 0;
UPDATE groups SET members = c.n
FROM (SELECT u.account_id, m.group_name, COUNT(*) AS n
      FROM memberships m JOIN users u ON u.id = m.user_id
      GROUP BY u.account_id, m.group_name) AS c
WHERE c.account_id = groups.account_id AND c.group_name = groups.name;
CREATE INDEX events_by_recent ON events(time_at);
CREATE INDEX events_by_user ON events(account_id, username);
CREATE INDEX folder_members_by_email ON folder_members(account_id, email);
CREATE INDEX changes_by_subject ON changes(account_id, subject);
"#,
    r#"
-- Each shared folder's member and administrator counts, written with the folder by the sync
-- (its record lists every member), so the Folders page reads them instead of grouping every
-- folder membership.
ALTER TABLE folders ADD COLUMN members INTEGER NOT NULL DEFAULT 0;
ALTER TABLE folders ADD COLUMN administrators INTEGER NOT NULL DEFAULT 0;
UPDATE folders SET members = c.n, administrators = c.admins
FROM (SELECT account_id, folder_id, COUNT(*) AS n, SUM(can_administer <> 0) AS admins
      FROM folder_members GROUP BY account_id, folder_id) AS c
WHERE c.account_id = folders.account_id AND c.folder_id = folders.id;
"#,
    r#"
-- The dashboard's sortable user columns: a sorted page reads along these instead of sorting
-- every user (100-150 ms at 100,000 users; 0.1-4 ms with them).
CREATE INDEX users_by_name ON users(fullname COLLATE NOCASE);
CREATE INDEX users_by_last_login ON users(last_login_at);
"#,
    r#"
-- The scheduler's shared due times (issue 9): a worker claims an account by moving its next
-- due time past a lease, so workers sharing a store take turns.
CREATE TABLE account_schedule (
    account_id   INTEGER PRIMARY KEY,
    next_due_at  TEXT NOT NULL
);
"#,
    r#"
-- A digest of each account's expired-password list as last read (`lpgate_store::expired_digest`):
-- a sync that reads the same list again records only the read time.
ALTER TABLE expired_password_reads ADD COLUMN digest INTEGER;
"#,
    r#"
-- The sort indexes hold only users marked `sorted`. A first sync inserts its users with
-- `sorted = 0`, so its 100,000 inserts skip two random-order index inserts each (about a
-- third of its writer time); the step that builds the account's search index just after the
-- snapshot commits marks them, entering them into both indexes off the sync's path. Sorted
-- pages read along the indexes only while every account's step is done (`search_ready`).
ALTER TABLE users ADD COLUMN sorted INTEGER NOT NULL DEFAULT 1;
DROP INDEX users_by_name;
DROP INDEX users_by_last_login;
CREATE INDEX users_by_name ON users(fullname COLLATE NOCASE) WHERE sorted = 1;
CREATE INDEX users_by_last_login ON users(last_login_at) WHERE sorted = 1;
"#,
];

/// Brings the file up to the newest schema.
pub fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    let current: usize =
        conn.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))? as usize;
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
        tracing::info!(version = i + 1, "store migrated");
    }
    Ok(())
}
