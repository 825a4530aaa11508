//! `lpgate notifications list|retry|deliver`: the delivery outbox.
//! (Being written: delivery lives in `lpgate_engine::deliver`.)

use crate::cli::{GlobalArgs, NotificationsCommand};

/// Runs a `notifications` subcommand.
pub async fn run(_global: &GlobalArgs, _cmd: NotificationsCommand) -> anyhow::Result<()> {
    anyhow::bail!("notifications commands are not available in this build yet")
}
