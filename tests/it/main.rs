//! The one end-to-end test binary: each module covers one capability.

mod github_e2e;
mod local_e2e;
mod netbox;
mod standin;
