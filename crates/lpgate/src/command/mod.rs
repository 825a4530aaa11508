//! One module per command; this one only dispatches and maps errors to exit codes.

mod account;
mod act;
mod bench;
mod demo;
mod emulator;
mod init;
mod list;
mod migrate;
mod notifications;
mod report;
mod schedule;
mod scim;
mod serve;
mod sync;
mod token;
mod watch;

use crate::cli::{BenchWhat, Cli, Command};

/// A mistake in how the command was called: exit status 2.
#[derive(Debug)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// Runs the parsed command on the store `--store` names (SQLite or PostgreSQL).
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    use crate::context::StoreUrl;
    // Without --store the store is the data directory's SQLite file; that directory is only
    // looked up by the commands that open it (`emulator` and `demo` need none).
    let url = match cli.global.store.as_deref().filter(|s| !s.is_empty()) {
        Some(s) => StoreUrl::parse(s)?,
        None => StoreUrl::Sqlite(std::path::PathBuf::new()),
    };
    match url {
        StoreUrl::Sqlite(_) => run_on::<lpgate_store_sqlite::SqliteStore>(cli).await,
        StoreUrl::Postgres(_) => run_on::<lpgate_store_postgres::PostgresStore>(cli).await,
    }
}

/// Runs the parsed command with store backend `S`.
async fn run_on<S: crate::context::OpenStore>(cli: Cli) -> anyhow::Result<()> {
    let g = &cli.global;
    match cli.command {
        Command::Init => init::run::<S>(g).await,
        Command::Migrate(a) => migrate::run(g, a).await,
        Command::Config(crate::cli::ConfigCommand::Show) => config_show(g),
        Command::Account(cmd) => account::run::<S>(g, cmd).await,
        Command::Sync(a) => sync::run::<S>(g, a).await,
        Command::Users(a) => list::users::<S>(g, a).await,
        Command::Groups(a) => list::groups::<S>(g, a).await,
        Command::Folders(a) => list::folders::<S>(g, a).await,
        Command::Changes(a) => list::changes::<S>(g, a).await,
        Command::Events(a) => list::events::<S>(g, a).await,
        Command::Query(a) => watch::query::<S>(g, a).await,
        Command::Search(a) => watch::search::<S>(g, a).await,
        Command::Rules(c) => watch::rules::<S>(g, c).await,
        Command::Findings(a) => watch::findings::<S>(g, a).await,
        Command::Notifications(c) => notifications::run::<S>(g, c).await,
        Command::Hr(c) => watch::hr::<S>(g, c).await,
        Command::Report(a) => report::report::<S>(g, a).await,
        Command::Export(c) => report::export::<S>(g, c).await,
        Command::Plan(a) => act::plan::<S>(g, a).await,
        Command::Plans(c) => act::plans::<S>(g, c).await,
        Command::Apply(a) => act::apply::<S>(g, a).await,
        Command::Approve(a) => act::approve::<S>(g, a).await,
        Command::Audit(a) => act::audit::<S>(g, a).await,
        Command::Token(c) => token::run::<S>(g, c).await,
        Command::Scim(c) => scim::run::<S>(g, c).await,
        Command::Serve(a) => serve::run::<S>(g, a).await,
        Command::Demo(args) => demo::run(args).await,
        Command::Emulator(args) => emulator::run(args).await,
        Command::Bench(args) => match args.what {
            BenchWhat::Fetch(a) => bench::fetch(a).await,
            BenchWhat::Sync(a) => bench::sync::<S>(g, a).await,
            BenchWhat::Watch(a) => bench::watch::<S>(g, a).await,
            BenchWhat::Act(a) => bench::act::<S>(g, a).await,
            BenchWhat::Search(a) => bench::search::<S>(g, a).await,
        },
    }
}

/// `lpgate config show`: the file plus the environment, validated, secrets masked.
fn config_show(g: &crate::cli::GlobalArgs) -> anyhow::Result<()> {
    let dir = crate::context::data_dir(g)?;
    let path = dir.join(crate::context::CONFIG_FILE);
    if !path.exists() {
        anyhow::bail!(
            "{} is not an lpgate data directory (no {}); run `lpgate init` first",
            dir.display(),
            crate::context::CONFIG_FILE
        );
    }
    let (_, value) = crate::config::Config::load_effective(&path)?;
    print!("{}", toml::to_string(&crate::config_env::masked(&value))?);
    Ok(())
}

/// A plan held for approval: exit status 3, so scripts can tell it from a failure.
#[derive(Debug)]
pub struct HeldError(pub String);

impl std::fmt::Display for HeldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for HeldError {}

/// The exit status for a failed command: 2 for usage mistakes, 3 for a held plan, 1 for
/// everything else.
pub fn exit_code(err: &anyhow::Error) -> u8 {
    if err.downcast_ref::<UsageError>().is_some() {
        2
    } else if err.downcast_ref::<HeldError>().is_some() {
        3
    } else {
        1
    }
}
