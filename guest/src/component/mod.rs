//! The WebAssembly component: binds the pure logic and the engine to the WIT in `../wit`.
//!
//! Only this module knows about WIT and WASI. `bindings` holds the generated code,
//! `conv` maps WIT types to `model` types, `wasi` adapts `wasi:http`, clocks and random
//! to the engine's `Transport` and `Environment`, and `exports` implements the interfaces.

mod bindings;
mod conv;
mod exports;
mod wasi;
