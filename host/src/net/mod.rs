//! Networking at the edge: the egress policy, the `wasi:http` hooks, and the plain HTTP
//! client the host itself uses for NetBox.

pub mod client;
