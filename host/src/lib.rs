//! The `fgd-sync` host: runs the sync component in a wasmtime sandbox and supplies its
//! imports (HTTP to GitHub under a policy, CR lookups from NetBox or files).

pub mod net;
pub mod runtime;
pub mod source;
