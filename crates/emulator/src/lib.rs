//! An in-memory LastPass business account behind the real Enterprise API wire protocol.
//!
//! The emulator stands where `https://lastpass.com/enterpriseapi.php` stands: it answers
//! `POST /enterpriseapi.php` for every documented command with the same shapes, quirks and status
//! words as the real service (see `docs/emulator.md` and the spec in
//! `lastpass-enterprise-api.md`). It shares no types with the client or domain crates on
//! purpose, so tests of the client against it check real parsing.
//!
//! Beyond the wire protocol it offers:
//! - a deterministic generator of companies of any size ([`Emulator::generate`]),
//! - a control surface through which tests act as LastPass users and admins would
//!   ([`Emulator::login`], [`Emulator::set_admin`], ...), also reachable over HTTP under
//!   `/_emulator/`,
//! - latency and fault injection ([`FaultSpec`]),
//! - a settable clock ([`Clock`]) so tests are deterministic.
//!
//! ```no_run
//! # async fn demo() -> Result<(), lpgate_emulator::EmulatorError> {
//! use lpgate_emulator::{CompanySpec, Credentials, Emulator, FaultSpec, Rate};
//!
//! let emu = Emulator::generate(&CompanySpec::new(500, 7), Credentials::from_seed(7));
//! let running = emu.start(([127, 0, 0, 1], 0).into()).await?;
//! // A client under test posts to format!("{}/enterpriseapi.php", running.base_url()).
//! running.emulator().set_faults(
//!     Some("getuserdata"),
//!     FaultSpec { http_429: Rate::next(1), ..FaultSpec::default() },
//! );
//! let someone = running.emulator().view().users[0].username.clone();
//! running.emulator().login(&someone)?;
//! running.shutdown().await;
//! # Ok(())
//! # }
//! ```

mod clock;
mod commands;
mod control;
mod credentials;
mod emulator;
mod error;
mod faults;
mod generate;
mod rng;
mod server;
mod state;
mod wire;

pub use clock::Clock;
pub use credentials::Credentials;
pub use emulator::Emulator;
pub use error::EmulatorError;
pub use faults::{FaultSpec, Latency, Rate};
pub use generate::CompanySpec;
pub use server::{Fleet, RunningEmulator, RunningFleet};
pub use state::FolderPerms;
pub use state::view::{CompanyView, FolderMemberView, FolderView, PushedSiteView, UserView};
