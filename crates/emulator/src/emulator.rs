//! The [`Emulator`] handle: shared state behind an `Arc`, the locks around it, credentials,
//! clock, fault dice and request counters. Wire handling lives in `server`, commands in
//! `commands`, test-facing actions in `control`.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use chrono::NaiveDateTime;

use crate::clock::Clock;
use crate::commands;
use crate::credentials::{Credentials, hex64};
use crate::faults::{Decision, FaultSpec, FaultState};
use crate::generate::{self, CompanySpec};
use crate::rng::SplitMix64;
use crate::state::Company;
use crate::state::view::CompanyView;
use crate::wire::{self, Envelope};

/// An emulated LastPass business account. Cheap to clone: clones share one account.
#[derive(Clone)]
pub struct Emulator {
    inner: Arc<Inner>,
}

struct Inner {
    creds: RwLock<Credentials>,
    company: RwLock<Company>,
    clock: RwLock<Clock>,
    faults: Mutex<FaultState>,
    requests: Mutex<HashMap<String, u64>>,
}

/// What the API front door decided about a request body.
pub(crate) enum Admission {
    /// Not JSON nor a form: answer the "Invalid Request" XML.
    Unparseable,
    /// Wrong or missing cid/provhash: answer the auth-error XML.
    Unauthorized,
    /// Good to run: the command name and the parsed envelope.
    Accepted(String, Envelope),
}

impl fmt::Debug for Emulator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Emulator")
            .field("credentials", &self.credentials())
            .finish_non_exhaustive()
    }
}

fn read<T>(l: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(PoisonError::into_inner)
}

fn write<T>(l: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(PoisonError::into_inner)
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Emulator {
    /// An account with no users, groups, folders or events (domain `example.com`).
    pub fn empty(creds: Credentials) -> Self {
        Self::from_company(Company::new("example.com", 0), creds, 0)
    }

    /// A generated account. The same spec always gives the same company, byte for byte on the
    /// wire (see [`CompanySpec`] for the distributions).
    pub fn generate(spec: &CompanySpec, creds: Credentials) -> Self {
        Self::from_company(generate::company(spec), creds, spec.seed)
    }

    fn from_company(company: Company, creds: Credentials, seed: u64) -> Self {
        Self {
            inner: Arc::new(Inner {
                creds: RwLock::new(creds),
                company: RwLock::new(company),
                clock: RwLock::new(Clock::System),
                faults: Mutex::new(FaultState::new(seed)),
                requests: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// The credentials the API currently accepts (they change with [`Emulator::rotate_provhash`]).
    pub fn credentials(&self) -> Credentials {
        read(&self.inner.creds).clone()
    }

    /// Replaces the provisioning hash with a fresh random 64-hex one and returns it. The old
    /// hash is rejected from the next request on, as LastPass does.
    pub fn rotate_provhash(&self) -> String {
        let seed = {
            use std::hash::{BuildHasher, Hasher};
            let mut h = std::collections::hash_map::RandomState::new().build_hasher();
            h.write_u64(self.requests_total());
            h.finish()
        };
        let hash = hex64(&mut SplitMix64::new(seed));
        write(&self.inner.creds).provhash = hash.clone();
        hash
    }

    /// Installs faults for one command (`Some`) or for all commands (`None`). A per-command
    /// spec overrides the all-commands one, so `FaultSpec::default()` for a command exempts it.
    pub fn set_faults(&self, command: Option<&str>, faults: FaultSpec) {
        lock(&self.inner.faults).set(command, faults);
    }

    /// Removes every installed fault.
    pub fn clear_faults(&self) {
        lock(&self.inner.faults).clear();
    }

    /// Faults injected since the emulator started, by kind (`http_500`, `http_429`, `stall`,
    /// `drop`, `truncate`): a soak reports how much adversity the client met, not just how much
    /// was asked for.
    pub fn faults_injected(&self) -> BTreeMap<String, u64> {
        lock(&self.inner.faults).injected()
    }

    /// How many requests naming `command` arrived with a parseable body, whether they were
    /// authorized, faulted or answered; lets tests count a client's retries. Commands the
    /// emulator does not know are all counted under `(unknown)`.
    pub fn requests(&self, command: &str) -> u64 {
        lock(&self.inner.requests)
            .get(command)
            .copied()
            .unwrap_or(0)
    }

    /// Every command's request count (as [`Emulator::requests`]).
    pub fn request_counts(&self) -> BTreeMap<String, u64> {
        lock(&self.inner.requests)
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect()
    }

    fn requests_total(&self) -> u64 {
        lock(&self.inner.requests).values().sum()
    }

    /// A typed copy of the whole state, for assertions.
    pub fn view(&self) -> CompanyView {
        CompanyView::from(&*self.company())
    }

    /// Sets where "now" comes from for writes and events.
    pub fn set_clock(&self, clock: Clock) {
        *write(&self.inner.clock) = clock;
    }

    /// The current time by the emulator's clock (US/Eastern wall time, whole seconds).
    pub fn now(&self) -> NaiveDateTime {
        read(&self.inner.clock).now_secs()
    }

    /// Answers one `enterpriseapi.php` request body in-process, exactly as over HTTP but
    /// without faults or latency (for benchmarks and quick checks). Returns the reply body.
    pub fn call(&self, body: &[u8]) -> Vec<u8> {
        match self.admit(body) {
            Admission::Unparseable => wire::INVALID_REQUEST_XML.to_vec(),
            Admission::Unauthorized => wire::AUTH_ERROR_XML.to_vec(),
            Admission::Accepted(cmd, env) => self.execute(&cmd, &env),
        }
    }

    /// Parses, counts and authorizes a request body.
    pub(crate) fn admit(&self, body: &[u8]) -> Admission {
        let Some(env) = wire::parse_envelope(body) else {
            return Admission::Unparseable;
        };
        let cmd = env.cmd.clone().unwrap_or_default();
        // Counted per command name; unknown names share one counter so a client sending
        // random names cannot grow the map without bound.
        let key = if crate::commands::is_known(&cmd) {
            cmd.clone()
        } else {
            "(unknown)".to_string()
        };
        *lock(&self.inner.requests).entry(key).or_insert(0) += 1;
        let authorized = {
            let creds = read(&self.inner.creds);
            env.cid == Some(creds.cid) && env.provhash.as_deref() == Some(creds.provhash.as_str())
        };
        if authorized {
            Admission::Accepted(cmd, env)
        } else {
            Admission::Unauthorized
        }
    }

    /// Rolls the fault dice for one request.
    pub(crate) fn decide(&self, cmd: &str) -> Decision {
        lock(&self.inner.faults).decide(cmd)
    }

    /// Runs an authorized command and returns the reply body.
    pub(crate) fn execute(&self, cmd: &str, env: &Envelope) -> Vec<u8> {
        let now = self.now();
        commands::execute(&self.inner.company, now, cmd, env)
    }

    /// The company, for reading.
    pub(crate) fn company(&self) -> RwLockReadGuard<'_, Company> {
        read(&self.inner.company)
    }

    /// The company, for changing.
    pub(crate) fn company_mut(&self) -> RwLockWriteGuard<'_, Company> {
        write(&self.inner.company)
    }
}

/// Read access for the command layer, poison-tolerant.
pub(crate) fn read_company(l: &RwLock<Company>) -> RwLockReadGuard<'_, Company> {
    read(l)
}

/// Write access for the command layer, poison-tolerant.
pub(crate) fn write_company(l: &RwLock<Company>) -> RwLockWriteGuard<'_, Company> {
    write(l)
}
