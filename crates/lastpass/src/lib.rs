//! A typed client of the LastPass Enterprise API (`POST /enterpriseapi.php`).
//!
//! The API has quirks that make naive clients report success when nothing happened: HTTP 200
//! on errors, an XML body for a bad CID or hash, `text/xml` on JSON replies, four dialects of
//! status words, and numbers that arrive as strings. This crate turns all of that into typed
//! values and one error enum whose messages name the command and say what to do.
//!
//! Retries: every command is retried when the request never reached LastPass or was
//! throttled (HTTP 429, honouring `Retry-After`); reads and state-setting writes are also
//! retried after 5xx, timeouts and broken or truncated replies. See [`Replay`] for which
//! writes are never repeated once sent, and why.
//!
//! ```no_run
//! # async fn demo() -> Result<(), lpgate_lastpass::Error> {
//! use lpgate_lastpass::{BaseUrl, Cid, Client, ClientConfig, ProvisioningHash, Region, UserFilter};
//! let config = ClientConfig::new(
//!     BaseUrl::Region(Region::Us),
//!     Cid::parse("8771312")?,
//!     ProvisioningHash::new("0123456789abcdef")?,
//! );
//! let client = Client::new(config)?;
//! let directory = client.get_user_data(UserFilter::All).await?;
//! println!("{} users", directory.users.len());
//! # Ok(()) }
//! ```

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod client;
mod config;
mod credentials;
mod error;
#[doc(hidden)]
pub mod fuzzing;
pub mod lenient;
mod transport;
pub mod types;

pub use client::{Client, Connections, StreamedListing};
pub use config::{BaseUrl, ClientConfig, Region, RetryPolicy};
pub use credentials::{Cid, ProvisioningHash};
pub use error::Error;
pub use transport::Replay;
pub use types::events::{Event, EventQuery};
pub use types::folders::{FolderMember, SharedFolder};
pub use types::misc::{ExpiredPassword, PushSite, PushTarget, UsernameType};
pub use types::reply::{UserError, WriteOutcome};
pub use types::users::{Directory, User, UserFilter};
pub use types::writes::{DeleteAction, GroupChange, NewUser, ToggleOutcome, UserUpdate};
