//! Stand-ins for the services fgd-sync talks to, as strict as the real ones, and helpers
//! for the end-to-end tests in `it/`: they run the real `fgd-sync` binary over loopback HTTP
//! against real git repositories.

pub mod cli;
pub mod convert;
pub mod github;
pub mod hnp;

/// The workspace's one temporary directory for tests: private (0700, unpredictable name,
/// never an existing directory), removed on drop.
pub use fgd_sync_local_github::testing::TempDir;
