//! The `fgd-sync` host: runs the sync component in a wasmtime sandbox and supplies its
//! imports (HTTP to GitHub under a policy, CR lookups from NetBox or files).
//!
//! - `wit`: the WIT types under short names, with the helpers they lack (the only bindings).
//! - `runtime`: engine, component cache, limits, one store per operation.
//! - `net`: the egress policy, the `wasi:http` hooks that enforce it, the HTTP log, a client.
//! - `source`: where CRs come from (NetBox's HNP API, manifest files).
//! - `remote`: GitHub, or a local git repository served in-process.
//! - `replay`: record a run's imports into a cassette and play it back offline.
//! - `serve`: the webhook receiver (`fgd-sync serve`): coalescing queues, workers, metrics.
//! - `cli`, `config`, `report`, `logging`: the command-line tool around them.

pub mod cli;
pub mod config;
pub mod logging;
pub mod net;
pub mod remote;
pub mod replay;
pub mod report;
pub mod runtime;
pub mod serve;
pub mod source;
pub mod wit;
