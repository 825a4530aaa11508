//! Logs go to stderr so stdout stays clean for `--format json` and ready lines.

use tracing_subscriber::EnvFilter;

/// Installs the subscriber: `LPGATE_LOG` (an env-filter directive) wins over `-v`.
pub fn init(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = EnvFilter::try_from_env("LPGATE_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}
