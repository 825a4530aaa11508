//! The command-line grammar. Field doc comments are the help text.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::output::Format;

/// lpgate: a self-hosted LastPass Enterprise connector and identity-governance hub.
#[derive(Debug, Parser)]
#[command(name = "lpgate", version, about, propagate_version = true)]
pub struct Cli {
    /// Options every command takes.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Directory holding lpgate.toml, the store and the key file
    /// [default: ~/.local/share/lpgate]
    #[arg(long, global = true, env = "LPGATE_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// The store: `sqlite:PATH` or `postgres://user:password@host:port/dbname`
    /// [default: sqlite:DIR/lpgate.sqlite in the data directory]
    #[arg(long, global = true, env = "LPGATE_STORE", value_name = "URL")]
    pub store: Option<String>,
    /// More log output on stderr (-v info, -vv debug); LPGATE_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create the data directory, its config, the store and the master key.
    Init,
    /// Copy a SQLite store into an empty PostgreSQL database (every table, row ids and audit
    /// hashes kept), to move an installation to the scale-out store.
    Migrate(MigrateArgs),
    /// Show the effective configuration (file plus LPGATE_* variables), secrets masked.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Link, list, check and manage LastPass business accounts.
    #[command(subcommand)]
    Account(AccountCommand),
    /// Poll LastPass accounts into the store and record what changed.
    Sync(SyncArgs),
    /// List users from the store (never live from LastPass).
    Users(UsersArgs),
    /// List groups with member counts.
    Groups(ListArgs),
    /// List shared folders with member counts.
    Folders(ListArgs),
    /// List recorded changes, newest first.
    Changes(ChangesArgs),
    /// List LastPass events (from reporting), newest first.
    Events(EventsArgs),
    /// Run read-only SQL over the documented views (docs/query.md).
    Query(QueryArgs),
    /// Find users, groups and shared folders by any word of their name or address.
    Search(SearchArgs),
    /// List, check and test rules (SQL whose rows are findings).
    #[command(subcommand)]
    Rules(RulesCommand),
    /// List findings: what the rules matched, open and resolved.
    Findings(FindingsArgs),
    /// List and retry notifications (the delivery outbox), or deliver what is due now.
    #[command(subcommand)]
    Notifications(NotificationsCommand),
    /// Load the HR list rules and reports compare LastPass with.
    #[command(subcommand)]
    Hr(HrCommand),
    /// Compliance reports (MFA, HR coverage, inactive, admin access review, licences, master
    /// passwords) as HTML, CSV or JSON, from the store.
    Report(ReportArgs),
    /// Export users for another system, fields chosen and renamed by a map file.
    #[command(subcommand)]
    Export(ExportCommand),
    /// Plan changes to LastPass (nothing is sent until `apply`): an action on users, a CSV of
    /// actions, group membership from an HR export (`groups`), or offboarding (`offboard`).
    Plan(PlanArgs),
    /// List plans, or show one with its items.
    #[command(subcommand)]
    Plans(PlansCommand),
    /// Apply a plan (resumes where an earlier apply stopped; retries failed items).
    Apply(ApplyArgs),
    /// Approve a plan held by a safety limit.
    Approve(ApproveArgs),
    /// The audit log (append-only, hash-chained); `audit verify` checks the chain.
    Audit(AuditArgs),
    /// Create, list and revoke API tokens (the token is printed once; only a hash is kept).
    #[command(subcommand)]
    Token(TokenCommand),
    /// The SCIM server's tokens (identity providers provision LastPass through /scim/v2).
    #[command(subcommand)]
    Scim(ScimCommand),
    /// Serve the REST API and run the scheduler (syncs, rules, notifications) until stopped.
    Serve(ServeArgs),
    /// Run a demo: an emulated LastPass company, listed through the real client.
    Demo(DemoArgs),
    /// Run the LastPass Enterprise API emulator on its own.
    Emulator(EmulatorArgs),
    /// Measure lpgate against a running LastPass (or emulator) endpoint.
    Bench(BenchArgs),
}

/// `lpgate token …`.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token and print it, alone, on stdout: it is shown this once.
    Create(TokenCreateArgs),
    /// List tokens (never the tokens themselves).
    List(FormatArg),
    /// Revoke a token by name; it stops working within about 30 seconds on a running server.
    Revoke(TokenRevokeArgs),
}

/// `lpgate scim …`.
#[derive(Debug, Subcommand)]
pub enum ScimCommand {
    /// The account's SCIM token (one per account, named scim-ACCOUNT).
    #[command(subcommand)]
    Token(ScimTokenCommand),
}

/// `lpgate scim token …`.
#[derive(Debug, Subcommand)]
pub enum ScimTokenCommand {
    /// Create the account's SCIM token and print it, alone, on stdout: it is shown this once.
    Create(ScimTokenArgs),
    /// Replace the account's SCIM token: the old one stops working at once; the new one is
    /// printed, alone, on stdout.
    Reset(ScimTokenArgs),
}

/// `lpgate scim token create|reset`.
#[derive(Debug, Args)]
pub struct ScimTokenArgs {
    /// The account the identity provider provisions.
    #[arg(long, value_name = "ACCOUNT")]
    pub account: String,
}

/// `lpgate token create`.
#[derive(Debug, Args)]
pub struct TokenCreateArgs {
    /// A unique name for the token (who or what uses it).
    pub name: String,
    /// What it may do: read, write, admin (read < write < admin) or scim (SCIM only).
    #[arg(long)]
    pub scope: String,
    /// Limit the token to one account: it sees nothing of the others.
    #[arg(long, value_name = "ACCOUNT")]
    pub account: Option<String>,
    /// When it stops working: 90d, 12h, 2w, or a date; never when omitted.
    #[arg(long, value_name = "WHEN")]
    pub expires: Option<String>,
}

/// `lpgate token revoke`.
#[derive(Debug, Args)]
pub struct TokenRevokeArgs {
    /// The token's name.
    pub name: String,
}

/// `lpgate serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (port 0 picks a free port; the line printed says which); default
    /// `[serve] bind`, 127.0.0.1:8080.
    #[arg(long)]
    pub bind: Option<SocketAddr>,
    /// Do not run scheduled syncs (serve the API over what is stored).
    #[arg(long)]
    pub no_scheduler: bool,
}

/// `lpgate config …`.
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the effective configuration as TOML, secrets masked.
    Show,
}

/// `lpgate account …`.
#[derive(Debug, Subcommand)]
pub enum AccountCommand {
    /// Link a LastPass business account (the provisioning hash is encrypted at rest).
    Add(AccountAddArgs),
    /// List linked accounts with their last sync.
    List(FormatArg),
    /// Prove an account's credentials work with one cheap call.
    Check(AccountNameArg),
    /// Exclude an account from `sync --all` and scheduled syncs.
    Disable(AccountNameArg),
    /// Include an account again.
    Enable(AccountNameArg),
    /// Replace an account's provisioning hash (after it was reset in the Admin Console).
    SetHash(AccountSetHashArgs),
    /// Forget an account and everything stored about it.
    Remove(AccountRemoveArgs),
}

/// `lpgate account add`.
#[derive(Debug, Args)]
pub struct AccountAddArgs {
    /// A short unique name for the account (letters, digits, `-`, `_`).
    pub name: String,
    /// The account number (CID) shown on the Admin Console dashboard.
    #[arg(long)]
    pub cid: String,
    /// File holding the provisioning hash (`-` reads standard input).
    #[arg(long, value_name = "FILE")]
    pub provhash_file: PathBuf,
    /// LastPass data centre: us or eu.
    #[arg(long, conflicts_with = "url")]
    pub region: Option<String>,
    /// Any base URL instead of a region (an emulator or a proxy).
    #[arg(long)]
    pub url: Option<String>,
    /// IANA time zone LastPass's times are read in [default: America/New_York].
    #[arg(long)]
    pub time_zone: Option<String>,
    /// Seconds between scheduled syncs [default: from lpgate.toml].
    #[arg(long)]
    pub interval_secs: Option<i64>,
    /// Save without checking the credentials with LastPass first.
    #[arg(long)]
    pub no_check: bool,
}

/// An account name.
#[derive(Debug, Args)]
pub struct AccountNameArg {
    /// The account's name.
    pub name: String,
}

/// `lpgate account set-hash`.
#[derive(Debug, Args)]
pub struct AccountSetHashArgs {
    /// The account's name.
    pub name: String,
    /// File holding the new provisioning hash (`-` reads standard input).
    #[arg(long, value_name = "FILE")]
    pub provhash_file: PathBuf,
}

/// `lpgate account remove`.
#[derive(Debug, Args)]
pub struct AccountRemoveArgs {
    /// The account's name.
    pub name: String,
    /// Really remove it and its history (without this, nothing is removed).
    #[arg(long)]
    pub yes: bool,
}

/// `--format`.
#[derive(Debug, Args)]
pub struct FormatArg {
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

/// `lpgate sync`.
#[derive(Debug, Args)]
pub struct SyncArgs {
    /// Accounts to sync.
    #[arg(required_unless_present = "all")]
    pub names: Vec<String>,
    /// Sync every enabled account (on PostgreSQL up to `[serve] sync_concurrency` at once).
    #[arg(long, conflicts_with = "names")]
    pub all: bool,
    /// Accept a poll that would deprovision more users than the shrink limit allows.
    #[arg(long)]
    pub allow_shrink: bool,
    /// Output format of the summary.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

/// `lpgate users`.
#[derive(Debug, Args)]
pub struct UsersArgs {
    /// Only this account.
    #[arg(long)]
    pub account: Option<String>,
    /// Only this status: active, suspended, staged, deprovisioned.
    #[arg(long)]
    pub status: Option<String>,
    /// Only admins.
    #[arg(long)]
    pub admin: bool,
    /// Only members of this group.
    #[arg(long)]
    pub group: Option<String>,
    /// The directory as it was then (YYYY-MM-DD, or an RFC 3339 instant) instead of now.
    #[arg(long, value_name = "DATE")]
    pub as_of: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

/// `lpgate groups` / `lpgate folders`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only this account.
    #[arg(long)]
    pub account: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

/// `lpgate changes`.
#[derive(Debug, Args)]
pub struct ChangesArgs {
    /// Only this account.
    #[arg(long)]
    pub account: Option<String>,
    /// Only changes this recent: `7d`, `12h`, `30m`, or a date.
    #[arg(long)]
    pub since: Option<String>,
    /// Only this kind, e.g. user.admin_granted (see `lpgate changes --kind help`).
    #[arg(long)]
    pub kind: Option<String>,
    /// At most this many rows.
    #[arg(long, default_value_t = 1000)]
    pub limit: usize,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

/// `lpgate events`.
#[derive(Debug, Args)]
pub struct EventsArgs {
    /// Only this account.
    #[arg(long)]
    pub account: Option<String>,
    /// Only events this recent: `7d`, `12h`, `30m`, or a date.
    #[arg(long)]
    pub since: Option<String>,
    /// At most this many rows.
    #[arg(long, default_value_t = 1000)]
    pub limit: usize,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

/// `lpgate query`.
#[derive(Debug, Args)]
pub struct QueryArgs {
    /// One SELECT over the views, e.g. "SELECT email FROM users WHERE admin AND NOT mfa".
    pub sql: String,
    /// Only this account's rows in every view.
    #[arg(long)]
    pub account: Option<String>,
    /// Cancel the query after this many seconds [default: query.timeout_secs].
    #[arg(long)]
    pub timeout_secs: Option<f64>,
    /// Return at most this many rows [default: query.max_rows].
    #[arg(long)]
    pub max_rows: Option<usize>,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

/// `lpgate search`.
#[derive(Debug, Args)]
pub struct SearchArgs {
    /// Words to find (each matches as a prefix: `jo smi` finds John Smith).
    #[arg(required = true)]
    pub text: Vec<String>,
    /// Only this account.
    #[arg(long)]
    pub account: Option<String>,
    /// At most this many hits.
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

/// `lpgate rules …`.
#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// The rules that run after every sync (built-in and your own).
    List(FormatArg),
    /// Run the rules now over the store and show what they match (records nothing).
    Check(RulesCheckArgs),
    /// Check a rules file (TOML `[[rule]]` tables): parse, validate and run it over the store.
    Test(RulesTestArgs),
}

/// `lpgate rules check`.
#[derive(Debug, Args)]
pub struct RulesCheckArgs {
    /// Only this account.
    #[arg(long)]
    pub account: Option<String>,
    /// Only this rule.
    #[arg(long)]
    pub rule: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

/// `lpgate rules test`.
#[derive(Debug, Args)]
pub struct RulesTestArgs {
    /// The rules file.
    pub file: PathBuf,
    /// Only this account.
    #[arg(long)]
    pub account: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

/// `lpgate findings`.
#[derive(Debug, Args)]
pub struct FindingsArgs {
    /// Only open findings.
    #[arg(long)]
    pub open: bool,
    /// Only this rule.
    #[arg(long)]
    pub rule: Option<String>,
    /// Only this account.
    #[arg(long)]
    pub account: Option<String>,
    /// At most this many, newest first.
    #[arg(long, default_value_t = 1000)]
    pub limit: usize,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

/// `lpgate notifications …`.
#[derive(Debug, Subcommand)]
pub enum NotificationsCommand {
    /// Notifications in the outbox, newest first.
    List(NotificationsListArgs),
    /// Make a dead (or waiting) notification due now, or every dead one with --all-dead.
    Retry(NotificationsRetryArgs),
    /// Deliver every notification that is due now, then exit.
    Deliver(FormatArg),
}

/// `lpgate notifications list`.
#[derive(Debug, Args)]
pub struct NotificationsListArgs {
    /// Only this state: pending, delivered, dead.
    #[arg(long)]
    pub state: Option<String>,
    /// At most this many.
    #[arg(long, default_value_t = 100)]
    pub limit: usize,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

/// `lpgate notifications retry`.
#[derive(Debug, Args)]
pub struct NotificationsRetryArgs {
    /// The notification's id (from `notifications list`).
    #[arg(required_unless_present = "all_dead")]
    pub id: Option<i64>,
    /// Retry every dead notification.
    #[arg(long, conflicts_with = "id")]
    pub all_dead: bool,
}

/// `lpgate hr …`.
#[derive(Debug, Subcommand)]
pub enum HrCommand {
    /// Replace the HR list with a CSV export (one row per person).
    Load(HrLoadArgs),
}

/// `lpgate hr load`.
#[derive(Debug, Args)]
pub struct HrLoadArgs {
    /// The CSV file (with a header row).
    pub file: PathBuf,
    /// Column holding the work email.
    #[arg(long, default_value = "email")]
    pub email_column: String,
    /// Column holding the name (optional in the file).
    #[arg(long, default_value = "name")]
    pub name_column: String,
    /// Column holding the employment status (active / terminated; optional in the file,
    /// everyone is active without it).
    #[arg(long, default_value = "status")]
    pub status_column: String,
    /// Column holding the department (optional in the file).
    #[arg(long, default_value = "department")]
    pub department_column: String,
}

/// `lpgate plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// provision, update, suspend, remove, deprovision, uninvite, enable, reinvite,
    /// reset-password, require-password-change, reset-mfa, add-to-group, remove-from-group;
    /// or `groups` / `offboard` with --from HR.csv. Omit it with --from ACTIONS.csv.
    pub action: Option<String>,
    /// The users' emails.
    pub users: Vec<String>,
    /// A CSV of actions (columns action, email, …), or the HR export for groups / offboard.
    #[arg(long, value_name = "FILE")]
    pub from: Option<PathBuf>,
    /// The account [default: the only account].
    #[arg(long)]
    pub account: Option<String>,
    /// add-to-group / remove-from-group: the group; provision: a group to join (repeatable).
    #[arg(long)]
    pub group: Vec<String>,
    /// provision / update: full name.
    #[arg(long)]
    pub fullname: Option<String>,
    /// provision / update: Duo username.
    #[arg(long)]
    pub duo_username: Option<String>,
    /// provision / update: RSA SecurID username.
    #[arg(long)]
    pub securid_username: Option<String>,
    /// provision: do not require a new master password at first login.
    #[arg(long)]
    pub no_password_reset: bool,
    /// Allow remove / deprovision of admins.
    #[arg(long)]
    pub allow_admins: bool,
    /// offboard: also users with no HR row at all.
    #[arg(long)]
    pub orphans: bool,
    /// offboard: what to do to leavers (suspend, remove, deprovision).
    #[arg(long, default_value = "suspend")]
    pub offboard_action: String,
    /// HR export: the email column.
    #[arg(long, default_value = "email")]
    pub email_column: String,
    /// HR export: the status column (active / terminated).
    #[arg(long, default_value = "status")]
    pub status_column: String,
    /// HR export: the desired-groups column (`;` between names).
    #[arg(long, default_value = "groups")]
    pub groups_column: String,
    /// Who is planning [default: the local user name].
    #[arg(long)]
    pub by: Option<String>,
    /// Accepted for scripts: a plan is always a dry run; only `lpgate apply` sends.
    #[arg(long)]
    pub dry_run: bool,
    /// Output format of the plan's items.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

/// `lpgate plans …`.
#[derive(Debug, Subcommand)]
pub enum PlansCommand {
    /// Plans, newest first.
    List(ListArgs),
    /// One plan and its items.
    Show(PlanIdArgs),
}

/// A plan id.
#[derive(Debug, Args)]
pub struct PlanIdArgs {
    /// The plan's id.
    pub plan: i64,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

/// `lpgate apply`.
#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// The plan's id.
    pub plan: i64,
    /// Who is applying [default: the local user name].
    #[arg(long)]
    pub by: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

/// `lpgate approve`.
#[derive(Debug, Args)]
pub struct ApproveArgs {
    /// The plan's id.
    pub plan: i64,
    /// Who approves (recorded in the audit log).
    #[arg(long)]
    pub by: String,
}

/// `lpgate audit`.
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// `verify` checks the hash chain instead of listing.
    #[command(subcommand)]
    pub command: Option<AuditCommand>,
    /// Only entries this recent: `7d`, `12h`, or a date.
    #[arg(long)]
    pub since: Option<String>,
    /// Only this actor.
    #[arg(long)]
    pub user: Option<String>,
    /// Only this account.
    #[arg(long)]
    pub account: Option<String>,
    /// At most this many, newest first.
    #[arg(long, default_value_t = 1000)]
    pub limit: usize,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

/// `lpgate audit …`.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check every entry's hash and link; exit 1 naming the first broken entry.
    Verify,
}

/// `lpgate demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Users in the demo company.
    #[arg(long, default_value_t = 250)]
    pub users: usize,
    /// Seed of the demo company (the same seed gives the same company).
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
}

/// `lpgate emulator`.
#[derive(Debug, Args)]
pub struct EmulatorArgs {
    /// Address to listen on (loopback by default; port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub bind: SocketAddr,
    /// Users in the generated company.
    #[arg(long, default_value_t = 1000)]
    pub users: usize,
    /// Groups in the generated company [default: scaled from --users].
    #[arg(long)]
    pub groups: Option<usize>,
    /// Shared folders in the generated company [default: scaled from --users].
    #[arg(long)]
    pub folders: Option<usize>,
    /// Historical events to generate [default: scaled from --users].
    #[arg(long)]
    pub events: Option<usize>,
    /// Seed of the generator: the same seed gives the same company.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Company ID (account number) the emulator answers to.
    #[arg(long, default_value_t = 8771312)]
    pub cid: u64,
    /// Provisioning hash the emulator accepts [default: a fresh random one].
    #[arg(long, env = "LPGATE_EMULATOR_PROVHASH", hide_env_values = true)]
    pub provhash: Option<String>,
    /// Serve this many distinct companies on the one address, as LastPass serves every
    /// company from one URL: company i (from 0) has cid `--cid + i`, seed `--seed + i`, the
    /// same size and the same provisioning hash; requests reach the company their cid names.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub companies: u64,
    /// Delay every reply by this many milliseconds (LastPass's own latency, for benchmarks).
    #[arg(long)]
    pub latency_ms: Option<u64>,
}

/// `lpgate bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// What to measure.
    #[command(subcommand)]
    pub what: BenchWhat,
}

/// The benchmarks.
#[derive(Debug, Subcommand)]
pub enum BenchWhat {
    /// Fetch and parse the whole directory (getuserdata, all pages) through the client.
    Fetch(FetchBenchArgs),
    /// First sync, resync with no change and resync with 1 % of users changed, into a
    /// temporary store.
    Sync(SyncBenchArgs),
    /// Free-text search latency and rule evaluation time over a synced company.
    Watch(SyncBenchArgs),
    /// Plan and apply adding 10,000 users to a group (rate limit lifted).
    Act(SyncBenchArgs),
    /// Free-text search latency over every account of the installation's store, as it is
    /// (no sync first): for a store filled by many workers.
    Search(SearchBenchArgs),
}

/// `lpgate bench search`.
#[derive(Debug, Args)]
pub struct SearchBenchArgs {
    /// Users to take queries from (each gives one query; every query runs three times).
    #[arg(long, default_value_t = 400)]
    pub samples: usize,
}

/// `lpgate bench sync`.
#[derive(Debug, Args)]
pub struct SyncBenchArgs {
    /// Base URL of the Enterprise API (an emulator: http://127.0.0.1:PORT).
    #[arg(long)]
    pub url: String,
    /// Company ID.
    #[arg(long)]
    pub cid: String,
    /// File holding the provisioning hash.
    #[arg(long, value_name = "FILE")]
    pub provhash_file: PathBuf,
    /// Share of users to change between the second and third sync.
    #[arg(long, default_value_t = 0.01)]
    pub churn: f64,
}

/// `lpgate bench fetch`.
#[derive(Debug, Args)]
pub struct FetchBenchArgs {
    /// Base URL of the Enterprise API (an emulator: http://127.0.0.1:PORT).
    #[arg(long)]
    pub url: String,
    /// Company ID.
    #[arg(long)]
    pub cid: String,
    /// File holding the provisioning hash.
    #[arg(long, value_name = "FILE")]
    pub provhash_file: PathBuf,
    /// How many times to fetch; the best and median times are reported.
    #[arg(long, default_value_t = 3)]
    pub repeat: usize,
    /// Users per page.
    #[arg(long, default_value_t = 2000)]
    pub page_size: u32,
    /// Pages in flight at once.
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
}

/// `lpgate report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Which report.
    #[command(subcommand)]
    pub report: ReportCommand,
}

/// The reports.
#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// MFA coverage per account; active users without MFA, admins first.
    Mfa(ReportCommon),
    /// HR headcount against LastPass: employees with no vault, orphaned vaults, terminated
    /// employees still active, invitations never accepted, unreadable HR rows.
    Coverage(CoverageArgs),
    /// Active users with no login for N days, and invitations never accepted for as long.
    Inactive(InactiveArgs),
    /// Admin access review: every admin with last login and MFA, with sign-off columns.
    Admins(ReportCommon),
    /// Seats used (active + staged) against seats purchased ([reports.seats] in lpgate.toml).
    #[command(alias = "licenses")]
    Licences(ReportCommon),
    /// Weak master passwords, pending master-password changes, expired master passwords.
    Passwords(ReportCommon),
}

/// What every report takes.
#[derive(Debug, Args)]
pub struct ReportCommon {
    /// Only this account [default: every account].
    #[arg(long)]
    pub account: Option<String>,
    /// Output format [default: from --out's extension, else json].
    #[arg(long, value_enum)]
    pub format: Option<ReportFormat>,
    /// Write the report to this file instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// `--format` of reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    /// A standalone, printable HTML page.
    Html,
    /// CSV: every section's rows in one table with a `section` column.
    Csv,
    /// One JSON object.
    Json,
}

/// `lpgate report coverage`.
#[derive(Debug, Args)]
pub struct CoverageArgs {
    /// Account, format and output file.
    #[command(flatten)]
    pub common: ReportCommon,
    /// The HR export (CSV with a header row) [default: the list loaded with `lpgate hr load`].
    #[arg(long, value_name = "FILE.csv")]
    pub hr: Option<PathBuf>,
    /// Column holding the work email [default: reports.hr_columns.email, else "email"].
    #[arg(long, requires = "hr")]
    pub email_column: Option<String>,
    /// Column holding the name [default: reports.hr_columns.name, else "name"].
    #[arg(long, requires = "hr")]
    pub name_column: Option<String>,
    /// Column holding the employment status, active / terminated [default:
    /// reports.hr_columns.status, else "status"].
    #[arg(long, requires = "hr")]
    pub status_column: Option<String>,
    /// Column holding the department [default: reports.hr_columns.department, else
    /// "department"].
    #[arg(long, requires = "hr")]
    pub department_column: Option<String>,
}

/// `lpgate report inactive`.
#[derive(Debug, Args)]
pub struct InactiveArgs {
    /// Account, format and output file.
    #[command(flatten)]
    pub common: ReportCommon,
    /// Days without a login (1 to 3650) [default: rules.inactive_days].
    #[arg(long)]
    pub days: Option<u32>,
}

/// `lpgate export …`.
#[derive(Debug, Subcommand)]
pub enum ExportCommand {
    /// Users, through a field map (docs/reports.md).
    Users(ExportUsersArgs),
}

/// `lpgate export users`.
#[derive(Debug, Args)]
pub struct ExportUsersArgs {
    /// The map file (TOML): key, fields with from/to/values, date_format, time_zone, statuses.
    #[arg(long, value_name = "FILE.toml")]
    pub map: PathBuf,
    /// Only this account [default: every account].
    #[arg(long)]
    pub account: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "csv")]
    pub format: ExportFormat,
    /// Write to this file instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// `--format` of exports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    /// CSV with a header row.
    Csv,
    /// One JSON array of objects.
    Json,
}

/// `lpgate migrate`.
#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// The store to copy: sqlite:PATH.
    #[arg(long, value_name = "URL")]
    pub from: String,
    /// The empty PostgreSQL database to copy into: postgres://user:password@host/dbname.
    #[arg(long, value_name = "URL")]
    pub to: String,
}
