//! Networking at the edge: the egress policy (pure), the `wasi:http` hooks that enforce it,
//! the HTTP log, and the plain HTTP client the host itself uses for NetBox.

pub mod client;
pub mod hooks;
pub mod http_log;
pub mod policy;
