//! fgd-sync's sync logic: turns Hedgehog CRs held by HNP into one safe GitHub commit.
//!
//! Core modules are pure (no I/O, no clock, no randomness) and build natively, so they are
//! tested with plain `cargo test` and fuzzed; `engine` drives a sync through the `Transport`
//! and `Source` traits; `component` (wasm only) binds all of it to the WIT in `../wit`.

pub mod blob;
pub mod classify;
pub mod engine;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
pub mod github;
pub mod manifest;
pub mod model;
pub mod path;
pub mod plan;
pub mod render;
pub mod state;
pub mod tree;
pub mod validate;

#[cfg(target_family = "wasm")]
mod component;
