//! Drives a whole sync: read the branch, plan, write one commit, move the ref with a
//! compare-and-swap; re-read and re-plan when another writer won; wait out rate limits.
//! Generic over `Transport`, `Source` and `Environment`, so it runs natively in tests with
//! scripted answers and in the component over `wasi:http`.

use crate::github::Transport;
use crate::model::{RawResource, ResourceRef, SyncError, SyncOptions, SyncReport, Target};

/// CR lookups (WIT `hnp`).
pub trait Source {
    fn list(&mut self, fabric: &str) -> Result<Vec<RawResource>, String>;
    fn get(&mut self, fabric: &str, reference: &ResourceRef) -> Result<Option<RawResource>, String>;
    fn record(&mut self, fabric: &str, reference: &ResourceRef, path: &str, blob_sha: &str, commit: &str)
        -> Result<(), String>;
}

/// Time and randomness, from the host (WASI in the component): a host that fixes them makes
/// a sync deterministic.
pub trait Environment {
    fn now_epoch_secs(&mut self) -> u64;
    fn sleep_ms(&mut self, ms: u64);
    fn random_u64(&mut self) -> u64;
}

/// Which CRs a sync covers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Selection {
    /// The whole fabric: files in the sync state whose CR is gone are deleted.
    Fabric,
    /// Just these; a ref whose CR is gone deletes its file.
    Resources(Vec<ResourceRef>),
}

pub fn run(
    fabric: &str,
    selection: &Selection,
    target: &Target,
    options: &SyncOptions,
    transport: &mut dyn Transport,
    source: &mut dyn Source,
    env: &mut dyn Environment,
) -> Result<SyncReport, SyncError> {
    let _ = (fabric, selection, target, options, transport, source, env);
    todo!("helper C")
}
