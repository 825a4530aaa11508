//! The documented, stable views that `lpgate query` and rules read (see `docs/query.md`),
//! with the names, columns and value formats of the SQLite store's (`store-sqlite/src/views.rs`),
//! so one rule reads the same rows from either backend.
//!
//! They live in schema `lpgate_views`, owned by lpgate's role; the sandbox role may read them
//! and nothing else (see `sandbox.rs`). Every view keeps only the rows of the account the
//! sandbox session is limited to (`sandbox_scope`, keyed by the session's backend pid; no row
//! means no rows).
//!
//! Times are UTC text `YYYY-MM-DD HH:MM:SS` as in SQLite, and `datetime(text, modifier)` is
//! provided for the rules' `datetime(:now, '-90 days')`. Flags are booleans, with `=` and
//! `<>` against integers defined in the schema, so `WHERE admin`, `admin = 1` and `NOT mfa`
//! all read as in SQLite; the sandbox returns every boolean as 0/1, as SQLite would.

/// The views' names.
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

/// `WHERE` fragment limiting rows to the session's scope: the column is compared with the
/// array of the session's accounts, computed once per query (an uncorrelated subquery), so
/// an account-scoped query reads that account's rows through the `account_id` indexes. (A
/// correlated `EXISTS` per row made every rule read every account's rows: with hundreds of
/// accounts, the rules after each sync took seconds.)
macro_rules! scoped {
    ($col:literal) => {
        concat!(
            $col,
            " = ANY ((SELECT CASE WHEN s.all_accounts THEN ARRAY(SELECT id FROM accounts) ELSE ARRAY[s.account_id] END
                      FROM sandbox_scope s WHERE s.pid = pg_backend_pid())::bigint[])"
        )
    };
}

/// A stored instant (`UTC_FORMAT` text) as view text.
macro_rules! dt {
    ($col:literal) => {
        concat!("lpgate_views.dt(", $col, ")")
    };
}

/// Unix seconds as view text.
macro_rules! secs {
    ($col:literal) => {
        concat!("lpgate_views.secs(", $col, ")")
    };
}

/// Creates (or replaces) the schema, its helper functions and the views. Run at open whenever
/// this text differs from the one last applied (`schema::create_views`), so a newer lpgate's
/// view definitions apply without a migration.
pub const CREATE: &str = concat!(
    "CREATE SCHEMA IF NOT EXISTS lpgate_views;

     CREATE OR REPLACE FUNCTION lpgate_views.dt(t text) RETURNS text
       LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT replace(left(t, 19), 'T', ' ') $$;
     -- STABLE, as `to_char` is: declared IMMUTABLE, PostgreSQL would not inline it and
     -- called it as a function per row (a rule over one account's 2,000 users spent half its
     -- time there). `datetime` below stays IMMUTABLE: rules call it on constants, which the
     -- planner then folds once.
     CREATE OR REPLACE FUNCTION lpgate_views.secs(s bigint) RETURNS text
       LANGUAGE sql STABLE PARALLEL SAFE AS
       $$ SELECT to_char(to_timestamp(s) AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') $$;
     -- SQLite's datetime(time, modifier) for the modifiers rules use ('-90 days', '+1 hour').
     CREATE OR REPLACE FUNCTION lpgate_views.datetime(t text, modifier text) RETURNS text
       LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
       $$ SELECT to_char(replace(left(t, 19), 'T', ' ')::timestamp + modifier::interval,
                         'YYYY-MM-DD HH24:MI:SS') $$;
     CREATE OR REPLACE FUNCTION lpgate_views.datetime(t text) RETURNS text
       LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
       $$ SELECT to_char(replace(left(t, 19), 'T', ' ')::timestamp, 'YYYY-MM-DD HH24:MI:SS') $$;

     -- Flags are booleans; these operators let SQLite-style comparisons with 0 and 1
     -- (`admin = 1`, `deleted = 0`) read as in SQLite, beside `WHERE admin` and `NOT mfa`.
     CREATE OR REPLACE FUNCTION lpgate_views.bool_eq_int(b boolean, i integer) RETURNS boolean
       LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT b::int = i $$;
     CREATE OR REPLACE FUNCTION lpgate_views.int_eq_bool(i integer, b boolean) RETURNS boolean
       LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT b::int = i $$;
     CREATE OR REPLACE FUNCTION lpgate_views.bool_ne_int(b boolean, i integer) RETURNS boolean
       LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT b::int <> i $$;
     CREATE OR REPLACE FUNCTION lpgate_views.int_ne_bool(i integer, b boolean) RETURNS boolean
       LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT b::int <> i $$;
     DO $$ BEGIN
       IF NOT EXISTS (SELECT 1 FROM pg_operator o JOIN pg_namespace n ON n.oid = o.oprnamespace
                      WHERE n.nspname = 'lpgate_views' AND o.oprname = '=') THEN
         CREATE OPERATOR lpgate_views.= (LEFTARG = boolean, RIGHTARG = integer,
                                         FUNCTION = lpgate_views.bool_eq_int);
         CREATE OPERATOR lpgate_views.= (LEFTARG = integer, RIGHTARG = boolean,
                                         FUNCTION = lpgate_views.int_eq_bool);
         CREATE OPERATOR lpgate_views.<> (LEFTARG = boolean, RIGHTARG = integer,
                                          FUNCTION = lpgate_views.bool_ne_int);
         CREATE OPERATOR lpgate_views.<> (LEFTARG = integer, RIGHTARG = boolean,
                                          FUNCTION = lpgate_views.int_ne_bool);
       END IF;
     END $$;

     CREATE OR REPLACE VIEW lpgate_views.accounts AS
     SELECT id AS account_id, name AS account, cid, region, url, enabled, time_zone,
            sync_interval_secs, ",
    dt!("created_at"),
    " AS created_at, ",
    dt!("last_synced_at"),
    " AS last_synced_at,
            (SELECT ",
    dt!("r.read_at"),
    " FROM expired_password_reads r WHERE r.account_id = accounts.id)
                AS expired_passwords_read_at
     FROM accounts WHERE ",
    scoped!("accounts.id"),
    ";

     CREATE OR REPLACE VIEW lpgate_views.sync_runs AS
     SELECT r.id, r.account_id, a.name AS account, ",
    dt!("r.started_at"),
    " AS started_at, ",
    dt!("r.finished_at"),
    " AS finished_at, r.outcome, r.error, r.users,
            r.groups_count AS groups, r.folders, r.events, r.changes
     FROM sync_runs r JOIN accounts a ON a.id = r.account_id WHERE ",
    scoped!("r.account_id"),
    ";

     CREATE OR REPLACE VIEW lpgate_views.users AS
     SELECT u.account_id, a.name AS account, u.email, u.lastpass_id, u.fullname, u.status,
            CASE WHEN u.admin THEN 'admin' ELSE 'user' END AS role, u.admin AS admin,
            u.disabled AS disabled, u.never_logged_in AS never_logged_in,
            u.invited_only AS invited_only,
            (u.multifactor IS NOT NULL AND u.multifactor <> '') AS mfa, u.multifactor,
            u.mp_strength, u.total_score, u.password_reset_required AS password_reset_required, ",
    secs!("u.created_local"),
    " AS created_local, ",
    secs!("u.created_at"),
    " AS created_at, ",
    secs!("u.last_pw_change_local"),
    " AS last_pw_change_local, ",
    secs!("u.last_pw_change_at"),
    " AS last_pw_change_at, ",
    secs!("u.last_login_local"),
    " AS last_login_local, ",
    secs!("u.last_login_at"),
    " AS last_login_at,
            u.duo_username, u.linked, u.sites, u.notes, u.formfills, u.applications,
            u.attachments,
            (SELECT '[' || COALESCE(string_agg(to_json(m.group_name)::text, ',' ORDER BY m.group_name), '') || ']'
               FROM memberships m WHERE m.user_id = u.id) AS groups, ",
    dt!("u.first_seen"),
    " AS first_seen, ",
    dt!("u.last_seen"),
    " AS last_seen, ",
    dt!("u.valid_from"),
    " AS valid_from
     FROM users u JOIN accounts a ON a.id = u.account_id WHERE ",
    scoped!("u.account_id"),
    ";

     CREATE OR REPLACE VIEW lpgate_views.users_history AS
     SELECT h.account_id, a.name AS account, h.email, h.lastpass_id, h.fullname, h.status,
            CASE WHEN h.admin THEN 'admin' ELSE 'user' END AS role, h.admin AS admin,
            h.disabled AS disabled, h.never_logged_in AS never_logged_in,
            h.invited_only AS invited_only,
            (h.multifactor IS NOT NULL AND h.multifactor <> '') AS mfa, h.multifactor,
            h.mp_strength, h.total_score, h.password_reset_required AS password_reset_required, ",
    secs!("h.created_at"),
    " AS created_at, ",
    secs!("h.last_pw_change_at"),
    " AS last_pw_change_at, ",
    secs!("h.last_login_at"),
    " AS last_login_at,
            h.groups_json AS groups, ",
    dt!("h.valid_from"),
    " AS valid_from, ",
    dt!("h.valid_to"),
    " AS valid_to
     FROM users_history h JOIN accounts a ON a.id = h.account_id WHERE ",
    scoped!("h.account_id"),
    ";

     CREATE OR REPLACE VIEW lpgate_views.memberships AS
     SELECT u.account_id, a.name AS account, u.email, m.group_name
     FROM users u JOIN accounts a ON a.id = u.account_id
          CROSS JOIN LATERAL (SELECT mm.group_name FROM memberships mm
                              WHERE mm.user_id = u.id OFFSET 0) m
     WHERE ",
    // Each user's memberships are read along the primary key (`OFFSET 0` keeps PostgreSQL
    // from turning this into a join it plans blind: the scope is an array it cannot see
    // into, so it hashed all 2,000,000 memberships of 500 accounts to answer one account's
    // rule — 155-170 ms against 27-40 ms; an unscoped query over every account is ~30 %
    // slower this way, 4.3-5.8 s against 3.7-4.3 s).
    scoped!("u.account_id"),
    ";

     CREATE OR REPLACE VIEW lpgate_views.groups AS
     SELECT g.account_id, a.name AS account, g.name,
            (SELECT COUNT(*) FROM memberships m JOIN users u ON u.id = m.user_id
              WHERE u.account_id = g.account_id AND m.group_name = g.name) AS members, ",
    dt!("g.first_seen"),
    " AS first_seen
     FROM groups g JOIN accounts a ON a.id = g.account_id WHERE ",
    scoped!("g.account_id"),
    ";

     CREATE OR REPLACE VIEW lpgate_views.folders AS
     SELECT f.account_id, a.name AS account, f.id, f.name, f.deleted AS deleted, f.score,
            (SELECT COUNT(*) FROM folder_members m
              WHERE m.account_id = f.account_id AND m.folder_id = f.id) AS members,
            (SELECT COUNT(*) FROM folder_members m
              WHERE m.account_id = f.account_id AND m.folder_id = f.id AND m.can_administer)
                AS administrators, ",
    dt!("f.first_seen"),
    " AS first_seen
     FROM folders f JOIN accounts a ON a.id = f.account_id WHERE ",
    scoped!("f.account_id"),
    ";

     CREATE OR REPLACE VIEW lpgate_views.folder_members AS
     SELECT m.account_id, a.name AS account, m.folder_id, f.name AS folder_name, m.email,
            m.readonly AS readonly, m.give AS give,
            m.can_administer AS can_administer, m.superadmin AS superadmin
     FROM folder_members m JOIN accounts a ON a.id = m.account_id
          LEFT JOIN folders f ON f.account_id = m.account_id AND f.id = m.folder_id WHERE ",
    scoped!("m.account_id"),
    ";

     CREATE OR REPLACE VIEW lpgate_views.events AS
     SELECT e.id, e.account_id, a.name AS account, ",
    dt!("e.time_at"),
    " AS time,
            e.time_local, e.username, e.ip_address, e.action, e.data
     FROM events e JOIN accounts a ON a.id = e.account_id WHERE ",
    scoped!("e.account_id"),
    ";

     CREATE OR REPLACE VIEW lpgate_views.changes AS
     SELECT c.id, c.account_id, a.name AS account, c.run_id, ",
    dt!("c.at"),
    " AS at, c.kind,
            c.subject, c.related, c.before, c.after
     FROM changes c JOIN accounts a ON a.id = c.account_id WHERE ",
    scoped!("c.account_id"),
    ";

     CREATE OR REPLACE VIEW lpgate_views.findings AS
     SELECT f.id, f.account_id, a.name AS account, f.rule, f.severity, f.key,
            CASE WHEN f.resolved_at IS NULL THEN 'open' ELSE 'resolved' END AS state,
            f.row_json AS row, ",
    dt!("f.opened_at"),
    " AS opened_at, ",
    dt!("f.last_seen_at"),
    " AS last_seen_at, ",
    dt!("f.resolved_at"),
    " AS resolved_at
     FROM findings f JOIN accounts a ON a.id = f.account_id WHERE ",
    scoped!("f.account_id"),
    ";

     CREATE OR REPLACE VIEW lpgate_views.expired_passwords AS
     SELECT x.account_id, a.name AS account, x.email, x.lastpass_id, ",
    secs!("x.last_pw_change_local"),
    " AS last_pw_change_local, ",
    secs!("x.last_pw_change_at"),
    " AS last_pw_change_at
     FROM expired_passwords x JOIN accounts a ON a.id = x.account_id WHERE ",
    scoped!("x.account_id"),
    ";

     CREATE OR REPLACE VIEW lpgate_views.hr_people AS
     SELECT email, name, status, department, ",
    dt!("loaded_at"),
    " AS loaded_at
     FROM hr_people h
     WHERE EXISTS (SELECT 1 FROM sandbox_scope s WHERE s.pid = pg_backend_pid() AND s.all_accounts)
        OR split_part(h.email, '@', 2) IN
           (SELECT DISTINCT split_part(u.email, '@', 2) FROM users u
            JOIN sandbox_scope s ON s.pid = pg_backend_pid() AND u.account_id = s.account_id);"
);
