//! Stand-ins for the services fgd-sync talks to, as strict as the real ones, and helpers
//! for the end-to-end tests in `it/`: they run the real `fgd-sync` binary over loopback HTTP
//! against real git repositories.

pub mod cli;
pub mod convert;
pub mod github;
pub mod hnp;
