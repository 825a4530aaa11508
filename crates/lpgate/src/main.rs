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
/// It is built with `no_thp` (the workspace's `Cargo.toml`): with transparent huge pages
/// the kernel zeroed a whole 2 MB page whenever mimalloc first touched part of one, a tenth
/// of a first sync's CPU, and `lpgate serve` held 93–113 MB where it holds about 70 MB now.
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
