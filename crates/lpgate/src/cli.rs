//! The command-line grammar. Field doc comments are the help text.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

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
    /// More log output on stderr (-v info, -vv debug); LPGATE_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a demo: an emulated LastPass company, listed through the real client.
    Demo(DemoArgs),
    /// Run the LastPass Enterprise API emulator on its own.
    Emulator(EmulatorArgs),
    /// Measure lpgate against a running LastPass (or emulator) endpoint.
    Bench(BenchArgs),
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
    #[arg(long, default_value_t = 3)]
    pub concurrency: usize,
}
