//! Where CRs come from: the host side of the WIT `hnp` import. A `CrSource` is NetBox (the
//! HNP REST API) or a directory of manifests; the guest never knows which.

pub mod directory;
pub mod netbox;

use std::future::Future;
use std::pin::Pin;

use crate::runtime::bindings::hedgehog::fgd_sync::types::{CustomResource, ResourceRef};

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// CR lookups for one or more fabrics. Errors are plain messages that name what failed
/// (URL and status for NetBox, file for a directory): the guest reports them as `source`.
pub trait CrSource: Send + Sync {
    /// Every CR of the fabric.
    fn list<'a>(&'a self, fabric: &'a str) -> BoxFuture<'a, Result<Vec<CustomResource>, String>>;

    /// One CR, or `None` when the source no longer has it.
    fn get<'a>(
        &'a self,
        fabric: &'a str,
        reference: &'a ResourceRef,
    ) -> BoxFuture<'a, Result<Option<CustomResource>, String>>;

    /// Records where a CR now lives in Git (NetBox: `git_file_path`, `last_synced`).
    fn record<'a>(&'a self, fabric: &'a str, synced: &'a Synced) -> BoxFuture<'a, Result<(), String>>;
}

/// What `record` receives for one CR after its commit landed.
#[derive(Clone, Debug, PartialEq)]
pub struct Synced {
    pub reference: ResourceRef,
    pub path: String,
    pub blob_sha: String,
    pub commit: String,
}
