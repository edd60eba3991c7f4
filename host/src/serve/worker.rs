//! One task per fabric: runs its due batches as a `sync` of those CRs, an operator's
//! resolution from `/ui` (a `sync` of one CR with that resolution) between batches, its
//! reconcile (a `sync` of the whole fabric) when it is due or a GitHub push asked for it,
//! retries what failed for a reason that may pass, and drains its queue on shutdown. After
//! every sync the outcome is published on the CRs (`CrSource::publish`). Each fabric has its
//! own queue and task, so a slow fabric stalls only itself.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::sync::{oneshot, watch, Notify};

use super::batcher::{backoff, Batch, Batcher};
use super::metrics::{Metrics, Outcome, Scope, SyncRecord};
use super::reconcile::Schedule;
use super::source::BatchSource;
use super::FabricSpec;
use crate::report::summary;
use crate::runtime::{CallContext, Operation, Runtime, SyncCall};
use crate::source::CrSource;
use crate::wit::{GitVersion, RefKey, Resolution, ResourceRef, Selection, Side, SyncError, SyncOptions, SyncReport};

/// Syncs of a batch that may fail before its CRs are left to the next reconcile.
pub const MAX_FAILURES: u32 = 6;
/// Longest wait before retrying a batch.
pub const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// Resolutions a fabric's queue holds at once; more are refused (an operator clicks, not a
/// script: a full queue means the worker is stuck).
pub const MAX_RESOLUTIONS: usize = 16;

/// An operator's choice for one conflict, from `/ui`, waiting for the fabric's worker.
#[derive(Debug)]
pub struct ResolveRequest {
    /// The conflicting file, and the CR it belongs to.
    pub path: String,
    pub reference: ResourceRef,
    pub take: Side,
    /// The Git version the operator saw: the resolution applies only while Git holds it.
    pub expect: GitVersion,
    /// The operator's login name, for the log.
    pub who: String,
    /// Told what became of it (dropped unheard when the asker stopped waiting).
    pub done: Option<oneshot::Sender<Settled>>,
}

/// What became of a resolution.
#[derive(Clone, Debug, PartialEq)]
pub enum Settled {
    /// Landed: the file holds the chosen side (`commit`: the commit that recorded it).
    Done { commit: Option<String>, refused: Option<String> },
    /// Git no longer holds the version the operator saw: nothing written, the conflict is
    /// reported again with Git's new version (`now`: its blob SHA, `None` for no file).
    Stale { now: Option<String> },
    /// Still in conflict for another reason (the engine's words).
    Conflict(String),
    /// The sync failed; nothing written.
    Failed(String),
}

/// A fabric's queue: filled by the webhook handlers, emptied by the fabric's worker.
pub struct Queue {
    batcher: Mutex<Batcher>,
    /// A GitHub push asked for a reconcile that has not started yet.
    reconcile_asked: AtomicBool,
    wake: Notify,
    /// CRs of the final drain that could not be synced.
    unsynced: AtomicUsize,
    /// Operators' resolutions, oldest first.
    resolutions: Mutex<VecDeque<ResolveRequest>>,
}

impl Queue {
    pub fn new(window: Duration) -> Queue {
        Queue {
            batcher: Mutex::new(Batcher::new(window)),
            reconcile_asked: AtomicBool::new(false),
            wake: Notify::new(),
            unsynced: AtomicUsize::new(0),
            resolutions: Mutex::new(VecDeque::new()),
        }
    }

    /// Queues an operator's resolution and wakes the worker; false (and dropped, so its
    /// asker hears nothing) when `MAX_RESOLUTIONS` already wait.
    pub fn ask_resolve(&self, request: ResolveRequest) -> bool {
        let mut waiting = self.resolutions.lock().unwrap_or_else(|p| p.into_inner());
        if waiting.len() >= MAX_RESOLUTIONS {
            return false;
        }
        waiting.push_back(request);
        drop(waiting);
        self.wake.notify_one();
        true
    }

    /// Resolutions waiting.
    pub fn resolutions(&self) -> usize {
        self.resolutions.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    fn take_resolution(&self) -> Option<ResolveRequest> {
        self.resolutions.lock().unwrap_or_else(|p| p.into_inner()).pop_front()
    }

    /// Asks for the fabric's reconcile as soon as the worker is free; false when one was
    /// asked for already and has not started (pushes in the meantime add no work). A push
    /// while a reconcile runs asks for another: the running one may have read the branch
    /// before it.
    pub fn ask_reconcile(&self) -> bool {
        let first = !self.reconcile_asked.swap(true, Ordering::AcqRel);
        self.wake.notify_one();
        first
    }

    /// Takes the request for a reconcile, if there is one.
    fn take_reconcile(&self) -> bool {
        self.reconcile_asked.swap(false, Ordering::AcqRel)
    }

    /// CRs that were queued at shutdown and could not be synced.
    pub fn unsynced(&self) -> usize {
        self.unsynced.load(Ordering::Relaxed)
    }

    /// Adds a CR and wakes the worker; false when the CR was already waiting.
    pub fn push(&self, reference: ResourceRef) -> bool {
        let added = self.lock().push(reference, Instant::now());
        self.wake.notify_one();
        added
    }

    /// Distinct CRs waiting.
    pub fn depth(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Batcher> {
        self.batcher.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// What started a sync, for the log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Trigger {
    /// A batch of NetBox webhooks.
    Webhook,
    /// The periodic reconcile (or the one at start).
    Reconcile,
    /// A GitHub push asked for the reconcile.
    Push,
    /// An operator settled a conflict on `/ui`.
    Resolution,
}

impl Trigger {
    fn as_str(self) -> &'static str {
        match self {
            Trigger::Webhook => "webhook",
            Trigger::Reconcile => "reconcile",
            Trigger::Push => "push",
            Trigger::Resolution => "resolution",
        }
    }
}

/// Why a sync produced no report.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Failure {
    /// The guest's typed error.
    Sync(SyncError),
    /// The sandbox stopped the guest (deadline, memory, fuel) or it trapped.
    Runtime(String),
    /// The CR source could not be opened (a manifest directory that does not parse, say).
    Source(String),
}

impl Failure {
    /// The guest's typed error, if it gave one.
    pub fn sync_error(&self) -> Option<&SyncError> {
        match self {
            Failure::Sync(e) => Some(e),
            Failure::Runtime(_) | Failure::Source(_) => None,
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Sync(e) => f.write_str(&e.describe()),
            Failure::Runtime(m) | Failure::Source(m) => f.write_str(m),
        }
    }
}

/// What to do after a batch's sync.
#[derive(Clone, Debug, PartialEq)]
pub enum Next {
    /// Landed (possibly with conflicts), or nothing to do.
    Done,
    /// One CR of the batch is invalid: sync the others without it.
    Without(RefKey),
    /// Try again later: GitHub or NetBox may recover.
    Retry,
    /// Retrying cannot help (a bad target, a refused token); the reconcile will report it too.
    GiveUp,
}

/// Resolves once `stop` is true (or its sender is gone).
pub async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

/// The decision after a sync of `refs` ended with `result` (pure).
pub fn next(result: &Result<SyncReport, Failure>, refs: &[ResourceRef]) -> Next {
    let error = match result {
        Ok(_) => return Next::Done,
        Err(Failure::Runtime(_) | Failure::Source(_)) => return Next::Retry,
        Err(Failure::Sync(error)) => error,
    };
    match error {
        SyncError::InvalidResource(bad) => {
            let bad = bad.reference().key();
            if refs.len() > 1 && refs.iter().any(|r| r.key() == bad) {
                Next::Without(bad)
            } else {
                Next::GiveUp
            }
        }
        SyncError::Transport(_) | SyncError::RateLimited(_) | SyncError::TooManyRaces(_) | SyncError::Source(_) => {
            Next::Retry
        }
        SyncError::Remote(e) if e.status >= 500 || e.status == 408 || e.status == 429 => Next::Retry,
        // The mass-deletion guard: retrying gives the same answer until HNP answers with its
        // CRs again (the next reconcile or webhook) or someone allows the deletions.
        SyncError::TooManyDeletions(_) => Next::GiveUp,
        _ => Next::GiveUp,
    }
}

pub struct Worker {
    spec: FabricSpec,
    runtime: Arc<Runtime>,
    queue: Arc<Queue>,
    metrics: Arc<Metrics>,
    options: SyncOptions,
    schedule: Schedule,
    /// Becomes true when the service shuts down: run what is queued, then stop.
    drain: watch::Receiver<bool>,
    /// The source, kept between syncs unless the spec asks for a fresh one each time.
    source: Option<Arc<dyn CrSource>>,
}

impl Worker {
    pub fn new(
        spec: FabricSpec,
        runtime: Arc<Runtime>,
        queue: Arc<Queue>,
        metrics: Arc<Metrics>,
        options: SyncOptions,
        schedule: Schedule,
        drain: watch::Receiver<bool>,
    ) -> Worker {
        Worker { spec, runtime, queue, metrics, options, schedule, drain, source: None }
    }

    pub async fn run(mut self) {
        let mut stopping = *self.drain.borrow();
        loop {
            if stopping {
                let pending = self.queue.lock().take_all();
                if let Some(batch) = pending {
                    self.run_batch(batch, true).await;
                }
                // The operator was answered already: their choice is not dropped either.
                while let Some(request) = self.queue.take_resolution() {
                    self.resolve(request).await;
                }
                // GitHub does not deliver a push twice either.
                if self.queue.take_reconcile() {
                    self.reconcile(Trigger::Push).await;
                }
                return;
            }
            let now = Instant::now();
            let due = self.queue.lock().take_due(now);
            if let Some(batch) = due {
                self.run_batch(batch, false).await;
                continue;
            }
            // Between batches: one sync at a time per fabric, whatever asked for it.
            if let Some(request) = self.queue.take_resolution() {
                self.resolve(request).await;
                continue;
            }
            let trigger = if self.queue.take_reconcile() {
                Some(Trigger::Push)
            } else {
                self.schedule.is_due(now).then_some(Trigger::Reconcile)
            };
            if let Some(trigger) = trigger {
                // One code path: a push runs the reconcile, which pulls with the fabric's
                // direction, and the next periodic one counts from its end.
                self.reconcile(trigger).await;
                self.schedule.done(Instant::now());
                continue;
            }
            let wake = [self.queue.lock().due_at(), self.schedule.next()].into_iter().flatten().min();
            let sleep = async {
                match wake {
                    Some(at) => tokio::time::sleep_until(at.into()).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = self.queue.wake.notified() => {}
                _ = sleep => {}
                _ = stopped(&mut self.drain) => stopping = true,
            }
        }
    }

    /// Syncs a batch; takes invalid CRs out and goes on; puts it back after a failure that
    /// may pass, unless this is the final drain.
    async fn run_batch(&mut self, batch: Batch, last_chance: bool) {
        let mut refs = batch.refs;
        loop {
            let scope = Scope::Resources(refs.iter().map(ResourceRef::key).collect());
            let call = SyncCall::new(Operation::Sync, &self.spec.name, Selection::Resources(refs.clone()));
            let result = self.sync(call, scope, refs.len(), Trigger::Webhook, self.options.clone()).await;
            match next(&result, &refs) {
                Next::Done => return,
                Next::Without(bad) => {
                    tracing::warn!(fabric = %self.spec.name, kind = %bad.0, namespace = %bad.1, name = %bad.2,
                        "syncing the rest of the batch without the invalid CR");
                    refs.retain(|r| r.key() != bad);
                }
                Next::Retry if !last_chance && batch.failures + 1 < MAX_FAILURES => {
                    let failures = batch.failures + 1;
                    let wait = backoff(failures, MAX_BACKOFF);
                    tracing::warn!(fabric = %self.spec.name, crs = refs.len(), retry_in = ?wait, failures,
                        "batch failed; retrying");
                    self.queue.lock().retry(Batch { refs, failures: batch.failures }, Instant::now(), wait);
                    return;
                }
                Next::Retry | Next::GiveUp => {
                    if last_chance {
                        self.queue.unsynced.fetch_add(refs.len(), Ordering::Relaxed);
                    }
                    let names: Vec<String> = refs.iter().take(10).map(ToString::to_string).collect();
                    tracing::error!(fabric = %self.spec.name, crs = refs.len(), first = %names.join(", "),
                        "giving up on the batch; the next reconcile (or the next edit) syncs these CRs");
                    return;
                }
            }
        }
    }

    async fn reconcile(&mut self, trigger: Trigger) {
        let call = SyncCall::new(Operation::Sync, &self.spec.name, Selection::Fabric);
        // A batch failure was logged with its CRs; a reconcile's failure is logged below.
        let _ = self.sync(call, Scope::Fabric, 0, trigger, self.options.clone()).await;
    }

    /// An operator's resolution: a sync of the conflict's CR with the fabric's direction (so
    /// taking Git also writes Git's data into HNP), pinned to the Git version they saw.
    async fn resolve(&mut self, mut request: ResolveRequest) {
        let mut options = self.options.clone();
        options.resolutions =
            vec![Resolution { path: request.path.clone(), take: request.take, expect: Some(request.expect.clone()) }];
        let selection = Selection::Resources(vec![request.reference.clone()]);
        let call = SyncCall::new(Operation::Sync, &self.spec.name, selection);
        let scope = Scope::Resources(vec![request.reference.key()]);
        let result = self.sync(call, scope, 1, Trigger::Resolution, options).await;
        let settled = settled(&result, &request.path, &request.expect);
        let side = side_name(request.take);
        let expect = expect_name(&request.expect);
        match &settled {
            Settled::Done { commit, .. } => {
                tracing::info!(fabric = %self.spec.name, who = %request.who, path = %request.path,
                side, expect, commit = commit.as_deref().unwrap_or("none"), "ui: conflict settled")
            }
            other => tracing::warn!(fabric = %self.spec.name, who = %request.who, path = %request.path, side, expect,
                outcome = ?other, "ui: resolution not applied"),
        }
        if let Some(done) = request.done.take() {
            let _ = done.send(settled);
        }
    }

    /// One sync in a fresh store; counts and logs it.
    async fn sync(
        &mut self,
        call: SyncCall,
        scope: Scope,
        crs: usize,
        trigger: Trigger,
        options: SyncOptions,
    ) -> Result<SyncReport, Failure> {
        let fabric = self.spec.name.clone();
        let trigger = trigger.as_str();
        let hooks = self.spec.hooks.clone();
        let (requests, limited) = (hooks.requests(), hooks.rate_limit_answers());
        let started = Instant::now();
        let result = match self.source().await {
            Ok(source) => {
                let source: Arc<dyn CrSource> = match &call.selection {
                    Selection::Resources(refs) => Arc::new(BatchSource::new(source, refs.len())),
                    Selection::Fabric => source,
                };
                let context = CallContext { hooks: hooks.clone(), source: source.clone() };
                let selection = call.selection.clone();
                let result = match self.runtime.sync(context, call, self.spec.target.clone(), options).await {
                    Ok(result) => result.map_err(Failure::Sync),
                    Err(runtime) => Err(Failure::Runtime(runtime.to_string())),
                };
                // The outcome where operators look (NetBox's `sync_error` and journal); what
                // went wrong there is logged with the report's warnings.
                match result {
                    Ok(mut report) => {
                        let warnings = source.publish(&fabric, &selection, &report).await;
                        report.warnings.extend(warnings);
                        Ok(report)
                    }
                    Err(e) => Err(e),
                }
            }
            Err(e) => Err(Failure::Source(format!("opening the CR source: {e:#}"))),
        };
        let elapsed = started.elapsed();
        let mut record = SyncRecord::of(
            result.as_ref().map_err(Failure::sync_error),
            scope,
            u64::from(hooks.requests().wrapping_sub(requests)),
            u64::from(hooks.rate_limit_answers().wrapping_sub(limited)),
            epoch_seconds(SystemTime::now()),
        );
        record.error = result.as_ref().err().map(ToString::to_string);
        log(&fabric, trigger, crs, elapsed, &result, record.outcome);
        self.metrics.record_sync(&fabric, record);
        result
    }

    async fn source(&mut self) -> anyhow::Result<Arc<dyn CrSource>> {
        if let (Some(source), false) = (&self.source, self.spec.fresh_source) {
            return Ok(source.clone());
        }
        let source = (self.spec.open_source)(self.runtime.clone()).await?;
        self.source = Some(source.clone());
        Ok(source)
    }
}

fn log(
    fabric: &str,
    trigger: &str,
    crs: usize,
    elapsed: Duration,
    result: &Result<SyncReport, Failure>,
    outcome: Outcome,
) {
    let ms = elapsed.as_millis() as u64;
    let report = match result {
        Err(Failure::Sync(SyncError::TooManyDeletions(guard))) => {
            tracing::error!(
                fabric,
                trigger,
                crs,
                ms,
                deletions = guard.deletions,
                managed = guard.managed,
                limit = guard.limit,
                "sync refused, nothing written: {}; not retried before the next \
                reconcile or webhook",
                result.as_ref().err().map(ToString::to_string).unwrap_or_default()
            );
            return;
        }
        Err(e) => {
            tracing::error!(fabric, trigger, crs, ms, error = %e, "sync failed");
            return;
        }
        Ok(report) => report,
    };
    let commit = report.commit.as_deref().map(|c| &c[..c.len().min(10)]).unwrap_or("none");
    let outcome = outcome.as_str();
    tracing::info!(
        fabric,
        trigger,
        crs,
        ms,
        commit,
        outcome,
        requests = report.requests,
        "synced: {}",
        summary(report)
    );
    for conflict in &report.conflicts {
        let expect = conflict.actual_sha.as_deref().unwrap_or("absent");
        tracing::warn!(fabric, path = %conflict.path, resource = %conflict.resource, kind = ?conflict.kind,
            reason = %conflict.reason,
            "conflict: left alone; settle it with `fgd-sync resolve {} --fabric {fabric} --take git|hnp --expect {expect}`",
            conflict.path);
    }
    // Not a failure: the valid CRs landed; the invalid ones wait until they are fixed in HNP.
    for bad in &report.invalid {
        tracing::warn!(fabric, resource = %bad.reference(), field = %bad.field,
            "invalid CR: {}; its file was left as it is", bad.message);
    }
    for warning in &report.warnings {
        tracing::warn!(fabric, "{warning}");
    }
}

/// What a resolution's sync came to for `path`, pinned to `expect` (pure).
pub fn settled(result: &Result<SyncReport, Failure>, path: &str, expect: &GitVersion) -> Settled {
    let report = match result {
        Ok(report) => report,
        Err(failure) => return Settled::Failed(failure.to_string()),
    };
    if let Some(conflict) = report.conflicts.iter().find(|c| c.path == path) {
        let seen = match expect {
            GitVersion::Absent => None,
            GitVersion::Blob(sha) => Some(sha.as_str()),
        };
        return match conflict.actual_sha.as_deref() != seen {
            true => Settled::Stale { now: conflict.actual_sha.clone() },
            false => Settled::Conflict(conflict.reason.clone()),
        };
    }
    let refused = report.hnp_changes.iter().find_map(|o| o.refused.clone());
    Settled::Done { commit: report.commit.clone(), refused }
}

/// `git` or `hnp`, as the CLI's `--take` spells it.
pub fn side_name(side: Side) -> &'static str {
    match side {
        Side::Git => "git",
        Side::Hnp => "hnp",
    }
}

/// A blob SHA, or `absent`, as the CLI's `--expect` spells it.
pub fn expect_name(expect: &GitVersion) -> &str {
    match expect {
        GitVersion::Absent => "absent",
        GitVersion::Blob(sha) => sha,
    }
}

fn epoch_seconds(time: SystemTime) -> f64 {
    time.duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wit::{InvalidResource, RemoteError};

    fn vpc(name: &str) -> ResourceRef {
        ResourceRef { kind: "VPC".into(), namespace: "default".into(), name: name.into() }
    }

    fn invalid(name: &str, namespace: &str) -> SyncError {
        SyncError::InvalidResource(InvalidResource {
            kind: "VPC".into(),
            namespace: namespace.into(),
            name: name.into(),
            field: "spec".into(),
            message: "bad".into(),
        })
    }

    fn remote(status: u16) -> SyncError {
        SyncError::Remote(RemoteError { method: "GET".into(), url: "u".into(), status, message: "m".into() })
    }

    #[test]
    fn pushes_ask_for_one_reconcile_until_it_starts() {
        let queue = Queue::new(Duration::from_millis(100));
        assert!(!queue.take_reconcile());
        assert!(queue.ask_reconcile());
        assert!(!queue.ask_reconcile(), "a second push while one is asked for adds no work");
        assert!(queue.take_reconcile());
        assert!(!queue.take_reconcile());
        // Once it started, a push asks for the next one.
        assert!(queue.ask_reconcile());
        assert!(queue.take_reconcile());
        // A reconcile asked for is no CR in the queue.
        assert_eq!(queue.depth(), 0);
    }

    #[test]
    fn what_a_resolution_came_to() {
        use crate::wit::{Conflict, ConflictKind};
        let path = "d/managed/vpcs/a.yaml";
        let seen = GitVersion::Blob("b".repeat(40));
        let report = |conflict_at: Option<Option<&str>>| SyncReport {
            base_commit: None,
            commit: conflict_at.is_none().then(|| "c".repeat(40)),
            message: None,
            changes: Vec::new(),
            conflicts: conflict_at
                .map(|actual| Conflict {
                    path: path.into(),
                    kind: ConflictKind::ModifiedInGit,
                    reason: "changed in Git".into(),
                    resource: vpc("a"),
                    expected_sha: None,
                    actual_sha: actual.map(str::to_owned),
                    git_content: None,
                    hnp_content: None,
                })
                .into_iter()
                .collect(),
            invalid: Vec::new(),
            hnp_changes: Vec::new(),
            raw_errors: Vec::new(),
            unchanged: 0,
            requests: 6,
            attempts: 1,
            warnings: Vec::new(),
        };
        assert_eq!(
            settled(&Ok(report(None)), path, &seen),
            Settled::Done { commit: Some("c".repeat(40)), refused: None }
        );
        let newer = "d".repeat(40);
        assert_eq!(settled(&Ok(report(Some(Some(&newer)))), path, &seen), Settled::Stale { now: Some(newer) });
        assert_eq!(settled(&Ok(report(Some(None))), path, &seen), Settled::Stale { now: None }, "deleted meanwhile");
        let same = "b".repeat(40);
        assert_eq!(settled(&Ok(report(Some(Some(&same)))), path, &seen), Settled::Conflict("changed in Git".into()));
        let failed = Err(Failure::Runtime("deadline".into()));
        assert_eq!(settled(&failed, path, &seen), Settled::Failed("deadline".into()));
    }

    #[test]
    fn resolutions_wait_in_a_bounded_queue() {
        let queue = Queue::new(Duration::from_millis(100));
        let request = |name: &str| ResolveRequest {
            path: format!("d/managed/vpcs/{name}.yaml"),
            reference: vpc(name),
            take: Side::Hnp,
            expect: GitVersion::Absent,
            who: "alice".into(),
            done: None,
        };
        for i in 0..MAX_RESOLUTIONS {
            assert!(queue.ask_resolve(request(&format!("r{i}"))));
        }
        assert!(!queue.ask_resolve(request("one-too-many")), "the queue is full");
        assert_eq!((queue.resolutions(), queue.depth()), (MAX_RESOLUTIONS, 0), "resolutions are no CRs of a batch");
        assert_eq!(queue.take_resolution().map(|r| r.path), Some("d/managed/vpcs/r0.yaml".into()), "oldest first");
    }

    #[test]
    fn what_follows_a_sync() {
        let refs = [vpc("a"), vpc("b")];
        let cases: Vec<(SyncError, Next)> = vec![
            (invalid("b", ""), Next::Without(vpc("b").key())),
            (invalid("zzz", "default"), Next::GiveUp),
            (SyncError::Transport("reset".into()), Next::Retry),
            (SyncError::TooManyRaces(5), Next::Retry),
            (SyncError::Source("NetBox answered 502".into()), Next::Retry),
            (remote(502), Next::Retry),
            (remote(429), Next::Retry),
            (remote(401), Next::GiveUp),
            (remote(422), Next::GiveUp),
            (SyncError::InvalidTarget("..".into()), Next::GiveUp),
            (
                SyncError::TooManyDeletions(crate::wit::DeletionGuard { deletions: 30, managed: 30, limit: 29 }),
                Next::GiveUp,
            ),
            (SyncError::BranchNotFound("main".into()), Next::GiveUp),
        ];
        for (error, expected) in cases {
            assert_eq!(next(&Err(Failure::Sync(error.clone())), &refs), expected, "{error:?}");
        }
        // The only CR of a batch being invalid leaves nothing to sync.
        assert_eq!(next(&Err(Failure::Sync(invalid("a", "default"))), &[vpc("a")]), Next::GiveUp);
        assert_eq!(next(&Err(Failure::Runtime("deadline".into())), &refs), Next::Retry);
        assert_eq!(next(&Err(Failure::Source("bad manifest".into())), &refs), Next::Retry);
    }
}
