//! Runs the guest component in wasmtime: engine, component cache, limits, one `Store` per
//! operation, and the host side of the `hnp` import.

pub mod bindings;
