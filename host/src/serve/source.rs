//! The CR source of one batch. The guest asks `get-resource` once per ref; NetBox answers a
//! lookup by paging through the kind's whole endpoint (HNP has no filters), so a batch of
//! many refs reads the fabric once with `list-resources` and answers from that instead.
//! Everything else (writes, bookkeeping, publishing a sync's outcome) goes to the source as
//! it is.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::source::{BoxFuture, CrSource, Synced};
use crate::wit::{CustomResource, HnpChange, RefKey, ResourceRef, Selection, SyncReport};

/// Above this many refs a listing is cheaper than lookups: a listing reads 12 endpoints, a
/// lookup at least one.
pub const LISTING_THRESHOLD: usize = 12;

pub struct BatchSource {
    inner: Arc<dyn CrSource>,
    use_listing: bool,
    listing: tokio::sync::OnceCell<Result<HashMap<RefKey, CustomResource>, String>>,
    /// A pull wrote into the source: the listing is stale, lookups go through.
    wrote: AtomicBool,
}

impl BatchSource {
    /// A source for a batch of `refs` CRs.
    pub fn new(inner: Arc<dyn CrSource>, refs: usize) -> BatchSource {
        BatchSource {
            inner,
            use_listing: refs > LISTING_THRESHOLD,
            listing: tokio::sync::OnceCell::new(),
            wrote: AtomicBool::new(false),
        }
    }
}

impl CrSource for BatchSource {
    fn list<'a>(&'a self, fabric: &'a str) -> BoxFuture<'a, Result<Vec<CustomResource>, String>> {
        self.inner.list(fabric)
    }

    fn get<'a>(
        &'a self,
        fabric: &'a str,
        reference: &'a ResourceRef,
    ) -> BoxFuture<'a, Result<Option<CustomResource>, String>> {
        if !self.use_listing || self.wrote.load(Ordering::Acquire) {
            return self.inner.get(fabric, reference);
        }
        Box::pin(async move {
            let listing = self
                .listing
                .get_or_init(|| async {
                    let all = self.inner.list(fabric).await?;
                    Ok(all.into_iter().map(|cr| (cr.reference().key(), cr)).collect())
                })
                .await;
            match listing {
                Ok(all) => Ok(all.get(&reference.key()).cloned()),
                Err(e) => Err(e.clone()),
            }
        })
    }

    fn apply<'a>(
        &'a self,
        fabric: &'a str,
        changes: &'a [HnpChange],
    ) -> BoxFuture<'a, Result<Vec<Option<String>>, String>> {
        self.wrote.store(true, Ordering::Release);
        self.inner.apply(fabric, changes)
    }

    fn record<'a>(&'a self, fabric: &'a str, synced: &'a [Synced]) -> BoxFuture<'a, Result<(), String>> {
        self.inner.record(fabric, synced)
    }

    fn publish<'a>(
        &'a self,
        fabric: &'a str,
        covered: &'a Selection,
        report: &'a SyncReport,
    ) -> BoxFuture<'a, Vec<String>> {
        self.inner.publish(fabric, covered, report)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// Counts calls; holds VPCs `a` and `b`.
    #[derive(Default)]
    struct Counting {
        lists: AtomicUsize,
        gets: AtomicUsize,
        publishes: AtomicUsize,
    }

    fn vpc(name: &str, namespace: &str) -> CustomResource {
        CustomResource {
            kind: "VPC".into(),
            api_version: None,
            name: name.into(),
            namespace: namespace.into(),
            labels: "{}".into(),
            annotations: "{}".into(),
            spec: "{}".into(),
        }
    }

    impl CrSource for Counting {
        fn list<'a>(&'a self, _: &'a str) -> BoxFuture<'a, Result<Vec<CustomResource>, String>> {
            self.lists.fetch_add(1, Ordering::Relaxed);
            Box::pin(async { Ok(vec![vpc("a", ""), vpc("b", "default")]) })
        }
        fn get<'a>(&'a self, _: &'a str, r: &'a ResourceRef) -> BoxFuture<'a, Result<Option<CustomResource>, String>> {
            self.gets.fetch_add(1, Ordering::Relaxed);
            let found = ["a", "b"].contains(&r.name.as_str()).then(|| vpc(&r.name, "default"));
            Box::pin(async move { Ok(found) })
        }
        fn apply<'a>(&'a self, _: &'a str, c: &'a [HnpChange]) -> BoxFuture<'a, Result<Vec<Option<String>>, String>> {
            Box::pin(async move { Ok(vec![None; c.len()]) })
        }
        fn record<'a>(&'a self, _: &'a str, _: &'a [Synced]) -> BoxFuture<'a, Result<(), String>> {
            Box::pin(async { Ok(()) })
        }
        fn publish<'a>(&'a self, _: &'a str, _: &'a Selection, _: &'a SyncReport) -> BoxFuture<'a, Vec<String>> {
            self.publishes.fetch_add(1, Ordering::Relaxed);
            Box::pin(async { vec!["journal refused".to_owned()] })
        }
    }

    fn reference(name: &str) -> ResourceRef {
        ResourceRef { kind: "VPC".into(), namespace: "default".into(), name: name.into() }
    }

    #[tokio::test]
    async fn small_batches_look_up_large_batches_list_once() {
        let inner = Arc::new(Counting::default());
        let small = BatchSource::new(inner.clone(), 2);
        assert!(small.get("dc1", &reference("a")).await.unwrap().is_some());
        assert_eq!((inner.lists.load(Ordering::Relaxed), inner.gets.load(Ordering::Relaxed)), (0, 1));

        let large = BatchSource::new(inner.clone(), 100);
        for name in ["a", "b", "gone", "a"] {
            let found = large.get("dc1", &reference(name)).await.unwrap();
            assert_eq!(found.is_some(), name != "gone", "{name}");
        }
        assert_eq!((inner.lists.load(Ordering::Relaxed), inner.gets.load(Ordering::Relaxed)), (1, 1));
    }

    #[tokio::test]
    async fn publishing_reaches_the_source_with_its_warnings() {
        let inner = Arc::new(Counting::default());
        let batch = BatchSource::new(inner.clone(), 1);
        let report = SyncReport {
            base_commit: None,
            commit: None,
            message: None,
            changes: Vec::new(),
            conflicts: Vec::new(),
            invalid: Vec::new(),
            hnp_changes: Vec::new(),
            raw_errors: Vec::new(),
            unchanged: 1,
            requests: 3,
            attempts: 1,
            warnings: Vec::new(),
        };
        let warnings = batch.publish("dc1", &Selection::Resources(vec![reference("a")]), &report).await;
        assert_eq!((warnings, inner.publishes.load(Ordering::Relaxed)), (vec!["journal refused".to_owned()], 1));
    }
}
