//! The `hnp` import: the `CrSource` trait a host implements to supply CRs, and its binding
//! to the store. Sources (`crate::source`, `serve`, `replay`) depend on this, not the reverse.

use std::future::Future;
use std::pin::Pin;

use super::HostState;
use crate::wit::{CustomResource, HnpHost, ResourceRef, TypesHost};

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

impl HnpHost for HostState {
    async fn list_resources(&mut self, fabric: String) -> Result<Vec<CustomResource>, String> {
        self.source.list(&fabric).await
    }

    async fn get_resource(&mut self, fabric: String, reference: ResourceRef) -> Result<Option<CustomResource>, String> {
        self.source.get(&fabric, &reference).await
    }

    async fn record_synced(
        &mut self,
        fabric: String,
        reference: ResourceRef,
        path: String,
        blob_sha: String,
        commit: String,
    ) -> Result<(), String> {
        self.source.record(&fabric, &Synced { reference, path, blob_sha, commit }).await
    }
}

impl TypesHost for HostState {}
