//! The `lpgate` command: parses arguments, sets up logging, runs one command, and turns its
//! outcome into the exit status scripts rely on (0 done, 1 failed, 2 bad usage, 3 held).

mod cli;
mod command;
mod config;
mod config_env;
mod context;
mod logging;
mod output;

use std::process::ExitCode;

use clap::Parser;

/// mimalloc instead of the system allocator: a sync allocates and frees millions of small
/// strings (parsed users, SQL values), and glibc's malloc took a sixth of a first sync's CPU.
/// Built without transparent huge pages (`no_thp`): mimalloc returns freed memory to the
/// system and takes it back many times in a sync, and each time a huge page came back the
/// kernel zeroed 2 MB — a sixth of a first sync's CPU. Without it the bench's three syncs
/// used 12–15 % less CPU and 30 MB less peak memory.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    logging::init(cli.global.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: could not start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(command::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(command::exit_code(&e))
        }
    }
}
