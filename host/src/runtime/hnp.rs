//! The `hnp` import: the `CrSource` trait a host implements to supply CRs, and its binding
//! to the store. Sources (`crate::source`, `serve`, `replay`) depend on this, not the reverse.

use std::future::Future;
use std::pin::Pin;

use super::HostState;
pub use crate::wit::Synced;
use crate::wit::{CustomResource, HnpChange, HnpHost, ResourceRef, Selection, SyncReport, TypesHost};

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

    /// Writes CRs carried from Git (a pull), in order. One answer per change: `None` when
    /// done, `Some(reason)` when the source refused it (a bad field, a permission, or the CR
    /// no longer equal to `expected`). `Err`: the answers were lost (some may have happened).
    fn apply<'a>(
        &'a self,
        fabric: &'a str,
        changes: &'a [HnpChange],
    ) -> BoxFuture<'a, Result<Vec<Option<String>>, String>>;

    /// Records where CRs now live in Git (NetBox: `last_synced`), all of one commit at once.
    fn record<'a>(&'a self, fabric: &'a str, synced: &'a [Synced]) -> BoxFuture<'a, Result<(), String>>;

    /// Shows a finished sync's outcome on the CRs it covered (`covered`: the sync's selection)
    /// where operators look (NetBox: each CR's `sync_error` and its journal). Called by the
    /// host after the sync, never by the guest, and not for a plan. The commit has landed by
    /// then, so nothing here fails the sync: what went wrong comes back as warnings for the
    /// report. Default: nowhere to show it (a directory of manifests).
    fn publish<'a>(
        &'a self,
        fabric: &'a str,
        covered: &'a Selection,
        report: &'a SyncReport,
    ) -> BoxFuture<'a, Vec<String>> {
        let _ = (fabric, covered, report);
        Box::pin(async { Vec::new() })
    }
}

impl HnpHost for HostState {
    async fn list_resources(&mut self, fabric: String) -> Result<Vec<CustomResource>, String> {
        self.source.list(&fabric).await
    }

    async fn get_resource(&mut self, fabric: String, reference: ResourceRef) -> Result<Option<CustomResource>, String> {
        self.source.get(&fabric, &reference).await
    }

    async fn apply_changes(&mut self, fabric: String, changes: Vec<HnpChange>) -> Result<Vec<Option<String>>, String> {
        let answers = self.source.apply(&fabric, &changes).await?;
        if answers.len() != changes.len() {
            return Err(format!("the source answered {} of {} changes", answers.len(), changes.len()));
        }
        Ok(answers)
    }

    async fn record_synced(&mut self, fabric: String, entries: Vec<Synced>) -> Result<(), String> {
        self.source.record(&fabric, &entries).await
    }
}

impl TypesHost for HostState {}
