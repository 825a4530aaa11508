//! Entry points for fuzzing (`fuzz/` at the workspace root) and the corpus tests that run the
//! same code on stable. Not an API.

/// Every reply parser of the client (listings, folders, events, expired passwords, writes,
/// XML errors) on one arbitrary body: must return, never panic or hang.
pub fn reply(bytes: &[u8]) {
    const SECRET: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    crate::client::parse_every_reply(bytes, SECRET);
}
