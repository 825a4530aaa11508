//! Integration tests over real HTTP on 127.0.0.1: wire shapes against the recorded fixtures,
//! accepted request shapes, write semantics and their events, reporting paging, faults, the
//! control routes, and property tests of the generator and paging.

// Test helpers outside `#[test]` functions panic on purpose: a failed helper is a failed test.
#![allow(clippy::unwrap_used)]

mod common;
mod control;
mod faults;
mod perf;
mod props;
mod reporting;
mod requests;
mod shapes;
mod writes;
