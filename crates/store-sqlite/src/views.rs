//! The documented, stable views that `lpgate query` and rules read (see `docs/query.md`).
//!
//! They are TEMP views on each query connection, named like the internal tables they cover:
//! SQLite resolves an unqualified name in `temp` before `main`, so `SELECT * FROM users` reads
//! the view, and the authorizer (see `sandbox.rs`) refuses any read of `main` that does not
//! come from inside one of these views. The internal tables can change shape; these views
//! keep theirs. Every view honours the connection's account scope (`temp.lpgate_scope`).
//!
//! Times are UTC text `YYYY-MM-DD HH:MM:SS`, SQLite's own format, so `datetime('now', '-90
//! days')` compares with them directly; LastPass's wall-clock values are kept beside them
//! (`*_local`).

/// The views' names, for the authorizer.
pub const VIEW_NAMES: &[&str] = &[
    "accounts",
    "sync_runs",
    "users",
    "users_history",
    "groups",
    "memberships",
    "folders",
    "folder_members",
    "events",
    "changes",
    "findings",
    "hr_people",
    "expired_passwords",
];

/// `WHERE` fragment limiting rows to the scoped account (or all when none is set).
macro_rules! scoped {
    ($col:literal) => {
        concat!(
            "((SELECT account_id FROM temp.lpgate_scope) IS NULL OR ",
            $col,
            " = (SELECT account_id FROM temp.lpgate_scope))"
        )
    };
}

/// A UTC Unix-seconds column as view text.
macro_rules! secs {
    ($col:literal) => {
        concat!("datetime(", $col, ", 'unixepoch')")
    };
}

/// The statements creating the scope table and the views, run once per query connection.
pub const CREATE: &str = concat!(
    "CREATE TEMP TABLE lpgate_scope (account_id INTEGER);
     INSERT INTO temp.lpgate_scope VALUES (NULL);

     CREATE TEMP VIEW accounts AS
     SELECT id AS account_id, name AS account, cid, region, url, enabled, time_zone,
            sync_interval_secs, datetime(created_at) AS created_at,
            datetime(last_synced_at) AS last_synced_at,
            (SELECT datetime(r.read_at) FROM main.expired_password_reads r
              WHERE r.account_id = main.accounts.id) AS expired_passwords_read_at
     FROM main.accounts WHERE ",
    scoped!("id"),
    ";

     CREATE TEMP VIEW sync_runs AS
     SELECT r.id, r.account_id, a.name AS account, datetime(r.started_at) AS started_at,
            datetime(r.finished_at) AS finished_at, r.outcome, r.error, r.users,
            r.groups_count AS groups, r.folders, r.events, r.changes
     FROM main.sync_runs r JOIN main.accounts a ON a.id = r.account_id WHERE ",
    scoped!("r.account_id"),
    ";

     CREATE TEMP VIEW users AS
     SELECT u.account_id, a.name AS account, u.email, u.lastpass_id, u.fullname, u.status,
            CASE WHEN u.admin THEN 'admin' ELSE 'user' END AS role, u.admin, u.disabled,
            u.never_logged_in, u.invited_only,
            (u.multifactor IS NOT NULL AND u.multifactor <> '') AS mfa, u.multifactor,
            u.mp_strength, u.total_score, u.password_reset_required,
            datetime(u.created_local, 'unixepoch') AS created_local, ",
    secs!("u.created_at"),
    " AS created_at,
            datetime(u.last_pw_change_local, 'unixepoch') AS last_pw_change_local, ",
    secs!("u.last_pw_change_at"),
    " AS last_pw_change_at,
            datetime(u.last_login_local, 'unixepoch') AS last_login_local, ",
    secs!("u.last_login_at"),
    " AS last_login_at,
            u.duo_username, u.linked, u.sites, u.notes, u.formfills, u.applications,
            u.attachments,
            (SELECT json_group_array(m.group_name) FROM main.memberships m WHERE m.user_id = u.id)
                AS groups,
            datetime(u.first_seen) AS first_seen, datetime(u.last_seen) AS last_seen,
            datetime(u.valid_from) AS valid_from
     FROM main.users u JOIN main.accounts a ON a.id = u.account_id WHERE ",
    scoped!("u.account_id"),
    ";

     CREATE TEMP VIEW users_history AS
     SELECT h.account_id, a.name AS account, h.email, h.lastpass_id, h.fullname, h.status,
            CASE WHEN h.admin THEN 'admin' ELSE 'user' END AS role, h.admin, h.disabled,
            h.never_logged_in, h.invited_only,
            (h.multifactor IS NOT NULL AND h.multifactor <> '') AS mfa, h.multifactor,
            h.mp_strength, h.total_score, h.password_reset_required, ",
    secs!("h.created_at"),
    " AS created_at, ",
    secs!("h.last_pw_change_at"),
    " AS last_pw_change_at, ",
    secs!("h.last_login_at"),
    " AS last_login_at,
            h.groups_json AS groups, datetime(h.valid_from) AS valid_from,
            datetime(h.valid_to) AS valid_to
     FROM main.users_history h JOIN main.accounts a ON a.id = h.account_id WHERE ",
    scoped!("h.account_id"),
    ";

     CREATE TEMP VIEW memberships AS
     SELECT u.account_id, a.name AS account, u.email, m.group_name
     FROM main.memberships m JOIN main.users u ON u.id = m.user_id
          JOIN main.accounts a ON a.id = u.account_id WHERE ",
    scoped!("u.account_id"),
    ";

     CREATE TEMP VIEW groups AS
     SELECT g.account_id, a.name AS account, g.name, g.members,
            datetime(g.first_seen) AS first_seen
     FROM main.groups g JOIN main.accounts a ON a.id = g.account_id WHERE ",
    scoped!("g.account_id"),
    ";

     CREATE TEMP VIEW folders AS
     SELECT f.account_id, a.name AS account, f.id, f.name, f.deleted, f.score, f.members,
            f.administrators,
            datetime(f.first_seen) AS first_seen
     FROM main.folders f JOIN main.accounts a ON a.id = f.account_id WHERE ",
    scoped!("f.account_id"),
    ";

     CREATE TEMP VIEW folder_members AS
     SELECT m.account_id, a.name AS account, m.folder_id, f.name AS folder_name, m.email,
            m.readonly, m.give, m.can_administer, m.superadmin
     FROM main.folder_members m JOIN main.accounts a ON a.id = m.account_id
          LEFT JOIN main.folders f ON f.account_id = m.account_id AND f.id = m.folder_id WHERE ",
    scoped!("m.account_id"),
    ";

     CREATE TEMP VIEW events AS
     SELECT e.id, e.account_id, a.name AS account, datetime(e.time_at) AS time,
            e.time_local, e.username, e.ip_address, e.action, e.data
     FROM main.events e JOIN main.accounts a ON a.id = e.account_id WHERE ",
    scoped!("e.account_id"),
    ";

     CREATE TEMP VIEW changes AS
     SELECT c.id, c.account_id, a.name AS account, c.run_id, datetime(c.at) AS at, c.kind,
            c.subject, c.related, c.before, c.after
     FROM main.changes c JOIN main.accounts a ON a.id = c.account_id WHERE ",
    scoped!("c.account_id"),
    ";

     CREATE TEMP VIEW findings AS
     SELECT f.id, f.account_id, a.name AS account, f.rule, f.severity, f.key,
            CASE WHEN f.resolved_at IS NULL THEN 'open' ELSE 'resolved' END AS state,
            f.row_json AS row, datetime(f.opened_at) AS opened_at,
            datetime(f.last_seen_at) AS last_seen_at, datetime(f.resolved_at) AS resolved_at
     FROM main.findings f JOIN main.accounts a ON a.id = f.account_id WHERE ",
    scoped!("f.account_id"),
    ";

     CREATE TEMP VIEW expired_passwords AS
     SELECT x.account_id, a.name AS account, x.email, x.lastpass_id,
            datetime(x.last_pw_change_local, 'unixepoch') AS last_pw_change_local, ",
    secs!("x.last_pw_change_at"),
    " AS last_pw_change_at
     FROM main.expired_passwords x JOIN main.accounts a ON a.id = x.account_id WHERE ",
    scoped!("x.account_id"),
    ";

     CREATE TEMP VIEW hr_people AS
     SELECT email, name, status, department, datetime(loaded_at) AS loaded_at
     FROM main.hr_people h
     WHERE (SELECT account_id FROM temp.lpgate_scope) IS NULL
        OR substr(h.email, instr(h.email, '@') + 1) IN
           (SELECT DISTINCT substr(u.email, instr(u.email, '@') + 1) FROM main.users u
            WHERE u.account_id = (SELECT account_id FROM temp.lpgate_scope));"
);
