//! Entry points for fuzzing (`fuzz/` at the workspace root) and the corpus tests that run the
//! same code on stable: each takes arbitrary input and must return, never panic, hang or
//! grow without bound. Not an API.

/// The SCIM `filter=` parser (and the query string around it).
pub fn scim_filter(text: &str) {
    crate::scim::fuzz::filter_text(text);
}

/// The SCIM PATCH body and path parser, applied to a user.
pub fn scim_patch(bytes: &[u8]) {
    crate::scim::fuzz::patch_body(bytes);
}

/// SCIM resource bodies (users, groups) and search requests.
pub fn scim_body(bytes: &[u8]) {
    crate::scim::fuzz::resource_body(bytes);
}

/// The REST API's JSON bodies.
pub fn rest_body(bytes: &[u8]) {
    crate::v1::fuzz::bodies(bytes);
}
