//! The service's counters and gauges, what one sync adds to them, and their Prometheus text
//! exposition (format 0.0.4). Everything here is pure apart from one mutex.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

use crate::wit::{Conflict, HnpOutcome, InvalidResource, RefKey, SyncError, SyncReport};

/// `Content-Type` of the exposition.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// How a sync ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Outcome {
    /// Everything planned landed (or there was nothing to do).
    Ok,
    /// The rest landed; conflicting files were left alone.
    Conflicts,
    /// Nothing was written.
    Error,
}

impl Outcome {
    pub const ALL: [Outcome; 3] = [Outcome::Ok, Outcome::Conflicts, Outcome::Error];

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Conflicts => "conflicts",
            Outcome::Error => "error",
        }
    }
}

/// What became of one webhook request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum WebhookResult {
    /// Queued for a sync (202).
    Accepted,
    /// Not a Hedgehog CR, or not an object change (200).
    Ignored,
    /// An update of bookkeeping fields only, such as fgd-sync's own write-back (200).
    Bookkeeping,
    /// A CR of a fabric this service does not sync (200).
    UnknownFabric,
    /// Missing or wrong signature (401).
    Unauthorized,
    /// Not JSON, or not the shape NetBox sends (400).
    Malformed,
    /// Body over the limit (413).
    TooLarge,
    /// The fabric could not be looked up in NetBox, or the body did not arrive (503, 408).
    Unavailable,
}

impl WebhookResult {
    pub const ALL: [WebhookResult; 8] = [
        WebhookResult::Accepted,
        WebhookResult::Ignored,
        WebhookResult::Bookkeeping,
        WebhookResult::UnknownFabric,
        WebhookResult::Unauthorized,
        WebhookResult::Malformed,
        WebhookResult::TooLarge,
        WebhookResult::Unavailable,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            WebhookResult::Accepted => "accepted",
            WebhookResult::Ignored => "ignored",
            WebhookResult::Bookkeeping => "bookkeeping",
            WebhookResult::UnknownFabric => "unknown_fabric",
            WebhookResult::Unauthorized => "unauthorized",
            WebhookResult::Malformed => "malformed",
            WebhookResult::TooLarge => "too_large",
            WebhookResult::Unavailable => "unavailable",
        }
    }
}

/// What became of one GitHub webhook request (`/webhooks/github`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum GitHubWebhookResult {
    /// A push that asked for a whole-fabric sync of at least one fabric (202).
    Scheduled,
    /// A `ping` (200).
    Pong,
    /// Another event, or a push no served fabric is concerned with (202).
    Ignored,
    /// A push of fgd-sync's own commits only (202).
    OwnCommits,
    /// Missing or wrong signature (401).
    Unauthorized,
    /// Not the headers or body GitHub sends (400).
    Malformed,
    /// Body over the limit (413).
    TooLarge,
    /// The body did not arrive in time, or too many slow bodies at once (408, 503).
    Unavailable,
}

impl GitHubWebhookResult {
    pub const ALL: [GitHubWebhookResult; 8] = [
        GitHubWebhookResult::Scheduled,
        GitHubWebhookResult::Pong,
        GitHubWebhookResult::Ignored,
        GitHubWebhookResult::OwnCommits,
        GitHubWebhookResult::Unauthorized,
        GitHubWebhookResult::Malformed,
        GitHubWebhookResult::TooLarge,
        GitHubWebhookResult::Unavailable,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            GitHubWebhookResult::Scheduled => "scheduled",
            GitHubWebhookResult::Pong => "pong",
            GitHubWebhookResult::Ignored => "ignored",
            GitHubWebhookResult::OwnCommits => "own_commits",
            GitHubWebhookResult::Unauthorized => "unauthorized",
            GitHubWebhookResult::Malformed => "malformed",
            GitHubWebhookResult::TooLarge => "too_large",
            GitHubWebhookResult::Unavailable => "unavailable",
        }
    }
}

/// One fabric's numbers.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FabricCounters {
    pub syncs: BTreeMap<Outcome, u64>,
    pub commits: u64,
    pub github_requests: u64,
    /// Paths in conflict now, as the sync reported them (both versions, for `/ui`): the last
    /// full sync's, updated by later syncs of some CRs. Shared, so a snapshot copies no text.
    pub conflicts: BTreeMap<String, Arc<Conflict>>,
    /// CRs that fail validation now (their files left alone), kept like `conflicts`.
    pub invalid: BTreeMap<RefKey, Arc<InvalidResource>>,
    /// Git's edits that HNP refused (pull), kept like `conflicts`.
    pub refused: Vec<Arc<HnpOutcome>>,
    /// Syncs refused by the mass-deletion guard.
    pub deletions_refused: u64,
    /// Deletions the guard refused in the last refused sync, until a full sync goes through.
    pub blocked_deletions: u64,
    /// Epoch seconds of the last sync that did not fail.
    pub last_success: Option<f64>,
    /// Epoch seconds and outcome of the last sync, whatever it was.
    pub last_sync: Option<(f64, Outcome)>,
    /// Epoch seconds and text of the last failed sync, until a full sync goes through.
    pub last_error: Option<(f64, String)>,
    /// Distinct CRs waiting; set when a snapshot is taken.
    pub queue_depth: u64,
}

/// Everything `/metrics` shows.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Counters {
    pub fabrics: BTreeMap<String, FabricCounters>,
    pub rate_limit_waits: u64,
    pub webhooks: BTreeMap<WebhookResult, u64>,
    pub github_webhooks: BTreeMap<GitHubWebhookResult, u64>,
}

/// Which CRs a sync covered, for the conflict gauge.
#[derive(Clone, Debug, PartialEq)]
pub enum Scope {
    /// The whole fabric: its conflicts replace the known ones.
    Fabric,
    /// These CRs: their old conflicts go, the new ones come.
    Resources(Vec<RefKey>),
}

/// What one sync adds to a fabric's numbers.
#[derive(Clone, Debug, PartialEq)]
pub struct SyncRecord {
    pub outcome: Outcome,
    pub commits: u64,
    pub github_requests: u64,
    pub rate_limit_waits: u64,
    /// `None` after an error: nothing is known about conflicts then.
    pub conflicts: Option<(Scope, BTreeMap<String, Arc<Conflict>>)>,
    /// The CRs reported invalid (`None` after an error), in the scope of `conflicts`.
    pub invalid: Option<BTreeMap<RefKey, Arc<InvalidResource>>>,
    /// Git's edits HNP refused (empty after an error), in the scope of `conflicts`.
    pub refused: Vec<Arc<HnpOutcome>>,
    /// Why the sync failed (set by the worker, which knows failures the guest does not).
    pub error: Option<String>,
    /// Deletions the mass-deletion guard refused (the sync wrote nothing).
    pub refused_deletions: Option<u32>,
    /// Epoch seconds when it ended.
    pub finished_at: f64,
}

impl SyncRecord {
    /// The record of a sync's result: its report, or the guest's error if the guest gave
    /// one (`None`: the sandbox or the source failed). `requests` and `rate_limit_answers`
    /// come from the hooks (they count failed syncs too); an answer that ended the sync was
    /// not waited out.
    pub fn of(
        result: Result<&SyncReport, Option<&SyncError>>,
        scope: Scope,
        requests: u64,
        rate_limit_answers: u64,
        finished_at: f64,
    ) -> SyncRecord {
        let gave_up = u64::from(matches!(result, Err(Some(SyncError::RateLimited(_)))));
        let mut record = SyncRecord {
            outcome: Outcome::Error,
            commits: 0,
            github_requests: requests,
            rate_limit_waits: rate_limit_answers.saturating_sub(gave_up),
            conflicts: None,
            invalid: None,
            refused: Vec::new(),
            error: None,
            refused_deletions: match result {
                Err(Some(SyncError::TooManyDeletions(guard))) => Some(guard.deletions),
                _ => None,
            },
            finished_at,
        };
        let Ok(report) = result else { return record };
        record.outcome = if report.conflicts.is_empty() { Outcome::Ok } else { Outcome::Conflicts };
        // Every sync lands as one commit at most.
        record.commits = u64::from(report.commit.is_some());
        let conflicts = report.conflicts.iter().map(|c| (c.path.clone(), Arc::new(c.clone()))).collect();
        record.conflicts = Some((scope, conflicts));
        record.invalid =
            Some(report.invalid.iter().map(|bad| (bad.reference().key(), Arc::new(bad.clone()))).collect());
        record.refused =
            report.hnp_changes.iter().filter(|o| o.refused.is_some()).map(|o| Arc::new(o.clone())).collect();
        record
    }
}

impl FabricCounters {
    fn apply(&mut self, record: SyncRecord) {
        *self.syncs.entry(record.outcome).or_default() += 1;
        self.commits += record.commits;
        self.github_requests += record.github_requests;
        if record.outcome != Outcome::Error {
            self.last_success = Some(record.finished_at);
        }
        self.last_sync = Some((record.finished_at, record.outcome));
        if let Some(error) = record.error {
            self.last_error = Some((record.finished_at, error));
        }
        if let Some(deletions) = record.refused_deletions {
            self.deletions_refused += 1;
            self.blocked_deletions = u64::from(deletions);
        }
        let invalid = record.invalid.unwrap_or_default();
        match record.conflicts {
            None => {}
            Some((Scope::Fabric, now)) => {
                self.conflicts = now;
                self.invalid = invalid;
                self.refused = record.refused;
                // A full sync went through: nothing is held back any more.
                self.blocked_deletions = 0;
                self.last_error = None;
            }
            Some((Scope::Resources(keys), now)) => {
                self.conflicts.retain(|_, conflict| !keys.contains(&conflict.resource.key()));
                self.conflicts.extend(now);
                self.invalid.retain(|bad, _| !keys.contains(bad));
                self.invalid.extend(invalid);
                self.refused.retain(|o| !keys.contains(&o.change.resource.reference().key()));
                self.refused.extend(record.refused);
            }
        }
    }
}

/// The live counters, shared by the HTTP handlers and the fabric workers.
#[derive(Debug, Default)]
pub struct Metrics {
    inner: Mutex<Counters>,
}

impl Metrics {
    /// Every fabric's series exists from the start, at zero.
    pub fn new<'a>(fabrics: impl IntoIterator<Item = &'a str>) -> Metrics {
        let counters = Counters {
            fabrics: fabrics.into_iter().map(|f| (f.to_owned(), FabricCounters::default())).collect(),
            ..Counters::default()
        };
        Metrics { inner: Mutex::new(counters) }
    }

    pub fn webhook(&self, result: WebhookResult) {
        *self.lock().webhooks.entry(result).or_default() += 1;
    }

    pub fn github_webhook(&self, result: GitHubWebhookResult) {
        *self.lock().github_webhooks.entry(result).or_default() += 1;
    }

    pub fn record_sync(&self, fabric: &str, record: SyncRecord) {
        let mut counters = self.lock();
        counters.rate_limit_waits += record.rate_limit_waits;
        counters.fabrics.entry(fabric.to_owned()).or_default().apply(record);
    }

    /// A copy, with the queue depths given.
    pub fn snapshot(&self, queue_depths: &BTreeMap<String, u64>) -> Counters {
        let mut counters = self.lock().clone();
        for (fabric, depth) in queue_depths {
            counters.fabrics.entry(fabric.clone()).or_default().queue_depth = *depth;
        }
        counters
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Counters> {
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The Prometheus text exposition of `counters`.
pub fn render(counters: &Counters) -> String {
    let mut out = String::new();
    let fabrics = &counters.fabrics;
    let mut family = |name: &str, kind: &str, help: &str, samples: Vec<(String, String)>| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for (labels, value) in samples {
            let _ = writeln!(out, "{name}{labels} {value}");
        }
    };
    let per_fabric = |value: &dyn Fn(&FabricCounters) -> String| -> Vec<(String, String)> {
        fabrics.iter().map(|(fabric, c)| (labels(&[("fabric", fabric)]), value(c))).collect()
    };
    let syncs = fabrics
        .iter()
        .flat_map(|(fabric, c)| {
            Outcome::ALL.map(|o| {
                (
                    labels(&[("fabric", fabric), ("outcome", o.as_str())]),
                    c.syncs.get(&o).copied().unwrap_or(0).to_string(),
                )
            })
        })
        .collect();
    family("fgd_sync_syncs_total", "counter", "Syncs run, by fabric and outcome (ok, conflicts, error).", syncs);
    family(
        "fgd_sync_commits_total",
        "counter",
        "Commits written to the fabric's branch.",
        per_fabric(&|c| c.commits.to_string()),
    );
    family(
        "fgd_sync_conflicts",
        "gauge",
        "Files left alone because Git changed them since the last sync (settle with `fgd-sync resolve`).",
        per_fabric(&|c| c.conflicts.len().to_string()),
    );
    family(
        "fgd_sync_invalid_crs",
        "gauge",
        "CRs that fail validation; their files are left alone until the CR is fixed in HNP.",
        per_fabric(&|c| c.invalid.len().to_string()),
    );
    family(
        "fgd_sync_deletions_refused_total",
        "counter",
        "Syncs refused by the mass-deletion guard (nothing written; see the log, and --allow-deletions).",
        per_fabric(&|c| c.deletions_refused.to_string()),
    );
    family(
        "fgd_sync_blocked_deletions",
        "gauge",
        "Deletions the mass-deletion guard is holding back (0: none; a full sync that goes through clears it).",
        per_fabric(&|c| c.blocked_deletions.to_string()),
    );
    family(
        "fgd_sync_github_requests_total",
        "counter",
        "HTTP requests the sync component made to GitHub.",
        per_fabric(&|c| c.github_requests.to_string()),
    );
    family(
        "fgd_sync_rate_limit_waits_total",
        "counter",
        "Times a sync waited for a GitHub rate limit to reset.",
        vec![(String::new(), counters.rate_limit_waits.to_string())],
    );
    family("fgd_sync_queue_depth", "gauge", "CRs waiting for their batch.", per_fabric(&|c| c.queue_depth.to_string()));
    family(
        "fgd_sync_last_success_timestamp_seconds",
        "gauge",
        "When the fabric's last sync without an error ended (0: none yet).",
        per_fabric(&|c| c.last_success.map_or("0".into(), |t| format!("{t:.3}"))),
    );
    let webhooks = WebhookResult::ALL
        .iter()
        .map(|r| (labels(&[("result", r.as_str())]), counters.webhooks.get(r).copied().unwrap_or(0).to_string()))
        .collect();
    family("fgd_sync_webhooks_total", "counter", "Webhook requests, by result.", webhooks);
    let github_webhooks = GitHubWebhookResult::ALL
        .iter()
        .map(|r| (labels(&[("result", r.as_str())]), counters.github_webhooks.get(r).copied().unwrap_or(0).to_string()))
        .collect();
    family("fgd_sync_github_webhooks_total", "counter", "GitHub webhook requests, by result.", github_webhooks);
    out
}

/// `{a="x",b="y"}` with values escaped as the format requires.
fn labels(pairs: &[(&str, &str)]) -> String {
    let escape = |v: &str| v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n");
    let inner: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}=\"{}\"", escape(v))).collect();
    format!("{{{}}}", inner.join(","))
}

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;

    use super::*;
    use crate::wit::{Action, Change, Conflict, ConflictKind, RateLimit, ResourceRef};

    fn vpc(name: &str) -> ResourceRef {
        ResourceRef { kind: "VPC".into(), namespace: "default".into(), name: name.into() }
    }

    fn report(commit: bool, changes: &[&str], conflicts: &[&str]) -> SyncReport {
        let change = |name: &&str| Change {
            path: format!("d/managed/vpcs/{name}.yaml"),
            action: Action::Create,
            resource: vpc(name),
            base_sha: None,
            remote_sha: None,
            new_sha: Some("a".repeat(40)),
            old_content: None,
            new_content: None,
        };
        let conflict = |name: &&str| Conflict {
            path: format!("d/managed/vpcs/{name}.yaml"),
            kind: ConflictKind::ModifiedInGit,
            reason: String::new(),
            resource: vpc(name),
            expected_sha: None,
            actual_sha: None,
            git_content: None,
            hnp_content: None,
        };
        SyncReport {
            base_commit: None,
            commit: commit.then(|| "c".repeat(40)),
            message: None,
            changes: changes.iter().map(change).collect(),
            conflicts: conflicts.iter().map(conflict).collect(),
            invalid: Vec::new(),
            hnp_changes: Vec::new(),
            raw_errors: Vec::new(),
            unchanged: 0,
            requests: 6,
            attempts: 1,
            warnings: Vec::new(),
        }
    }

    fn path(name: &str) -> String {
        format!("d/managed/vpcs/{name}.yaml")
    }

    /// The paths in conflict, with their CRs.
    fn in_conflict(conflicts: &BTreeMap<String, Arc<Conflict>>) -> Vec<(String, RefKey)> {
        conflicts.iter().map(|(path, c)| (path.clone(), c.resource.key())).collect()
    }

    #[test]
    fn records_of_results() {
        let ok = SyncRecord::of(Ok(&report(true, &["a", "b"], &[])), Scope::Fabric, 6, 0, 1.5);
        assert_eq!((ok.outcome, ok.commits), (Outcome::Ok, 1));
        let noop = SyncRecord::of(Ok(&report(false, &[], &[])), Scope::Fabric, 3, 0, 1.5);
        assert_eq!((noop.outcome, noop.commits), (Outcome::Ok, 0));
        let conflicts = SyncRecord::of(Ok(&report(true, &["a"], &["b"])), Scope::Fabric, 6, 1, 1.5);
        assert_eq!((conflicts.outcome, conflicts.rate_limit_waits), (Outcome::Conflicts, 1));
        let (scope, found) = conflicts.conflicts.as_ref().expect("conflicts of a report");
        assert_eq!((scope, in_conflict(found)), (&Scope::Fabric, vec![(path("b"), vpc("b").key())]));
        let limited = SyncError::RateLimited(RateLimit { reset_at: 1, message: "slow down".into() });
        let error = SyncRecord::of(Err(Some(&limited)), Scope::Fabric, 4, 3, 1.5);
        assert_eq!((error.outcome, error.rate_limit_waits, error.conflicts), (Outcome::Error, 2, None));
    }

    #[test]
    fn the_conflict_gauge_follows_full_and_partial_syncs() {
        let metrics = Metrics::new(["dc1"]);
        let full = SyncRecord::of(Ok(&report(false, &[], &["a", "b"])), Scope::Fabric, 0, 0, 1.0);
        metrics.record_sync("dc1", full);
        // A batch with `a` resolves it and finds `c`; `b` was not in it and stays.
        let scope = Scope::Resources(vec![vpc("a").key(), vpc("c").key()]);
        metrics.record_sync("dc1", SyncRecord::of(Ok(&report(true, &["a"], &["c"])), scope, 0, 0, 2.0));
        let conflicts = &metrics.snapshot(&BTreeMap::new()).fabrics["dc1"].conflicts;
        assert_eq!(in_conflict(conflicts), [(path("b"), vpc("b").key()), (path("c"), vpc("c").key())]);
        // An error changes nothing known, and is kept with its time; a clean full sync clears
        // everything.
        let mut failed = SyncRecord::of(Err(None), Scope::Fabric, 0, 0, 3.0);
        failed.error = Some("deadline".into());
        metrics.record_sync("dc1", failed);
        let dc1 = &metrics.snapshot(&BTreeMap::new()).fabrics["dc1"];
        assert_eq!(dc1.conflicts.len(), 2);
        assert_eq!(
            (dc1.last_sync, dc1.last_error.clone()),
            (Some((3.0, Outcome::Error)), Some((3.0, "deadline".into())))
        );
        metrics.record_sync("dc1", SyncRecord::of(Ok(&report(false, &[], &[])), Scope::Fabric, 0, 0, 4.0));
        let dc1 = &metrics.snapshot(&BTreeMap::new()).fabrics["dc1"];
        assert!(dc1.conflicts.is_empty());
        assert_eq!(
            (dc1.last_success, dc1.last_sync, dc1.last_error.clone()),
            (Some(4.0), Some((4.0, Outcome::Ok)), None)
        );
        assert_eq!(dc1.syncs, BTreeMap::from([(Outcome::Ok, 1), (Outcome::Conflicts, 2), (Outcome::Error, 1)]));
    }

    #[test]
    fn invalid_crs_and_refused_deletions() {
        use crate::wit::{DeletionGuard, InvalidResource};
        let metrics = Metrics::new(["dc1"]);
        let mut with_invalid = report(true, &["a"], &[]);
        with_invalid.invalid.push(InvalidResource {
            kind: "VPC".into(),
            namespace: "".into(),
            name: "bad".into(),
            field: "spec".into(),
            message: "not an object".into(),
        });
        metrics.record_sync("dc1", SyncRecord::of(Ok(&with_invalid), Scope::Fabric, 6, 0, 1.0));
        let dc1 = &metrics.snapshot(&BTreeMap::new()).fabrics["dc1"];
        assert_eq!(dc1.invalid.keys().collect::<Vec<_>>(), [&vpc("bad").key()]);
        assert_eq!(dc1.invalid[&vpc("bad").key()].message, "not an object", "the whole report, for /ui");
        assert_eq!(dc1.syncs, BTreeMap::from([(Outcome::Ok, 1)]), "an invalid CR is not a failed sync");

        let guard = SyncError::TooManyDeletions(DeletionGuard { deletions: 30, managed: 30, limit: 29 });
        for at in [2.0, 3.0] {
            metrics.record_sync("dc1", SyncRecord::of(Err(Some(&guard)), Scope::Fabric, 3, 0, at));
        }
        let dc1 = &metrics.snapshot(&BTreeMap::new()).fabrics["dc1"];
        assert_eq!((dc1.deletions_refused, dc1.blocked_deletions), (2, 30));
        assert_eq!(dc1.invalid.len(), 1, "an error changes nothing known");
        // A batch fixing `bad` clears it; only a full sync that goes through unblocks.
        let batch = Scope::Resources(vec![vpc("bad").key()]);
        metrics.record_sync("dc1", SyncRecord::of(Ok(&report(true, &["bad"], &[])), batch, 6, 0, 4.0));
        let dc1 = &metrics.snapshot(&BTreeMap::new()).fabrics["dc1"];
        assert_eq!((dc1.invalid.len(), dc1.blocked_deletions), (0, 30));
        metrics.record_sync("dc1", SyncRecord::of(Ok(&report(true, &[], &[])), Scope::Fabric, 6, 0, 5.0));
        assert_eq!(metrics.snapshot(&BTreeMap::new()).fabrics["dc1"].blocked_deletions, 0);
    }

    #[test]
    fn refused_pull_changes_follow_full_and_partial_syncs() {
        use crate::wit::{CustomResource, HnpChange, HnpOp, HnpOutcome};
        let refused = |name: &str| HnpOutcome {
            change: HnpChange {
                op: HnpOp::Update,
                resource: CustomResource {
                    kind: "VPC".into(),
                    api_version: None,
                    name: name.into(),
                    namespace: "".into(),
                    labels: "{}".into(),
                    annotations: "{}".into(),
                    spec: "{}".into(),
                },
                expected: None,
                fields: vec!["spec".into()],
                path: path(name),
                records_sync: true,
            },
            refused: Some("VLAN 1902 is reserved".into()),
        };
        let metrics = Metrics::new(["dc1"]);
        let mut full = report(false, &[], &[]);
        full.hnp_changes = vec![refused("a"), refused("b")];
        metrics.record_sync("dc1", SyncRecord::of(Ok(&full), Scope::Fabric, 0, 0, 1.0));
        // A sync of `a` alone that HNP took clears `a`, keeps `b`.
        let scope = Scope::Resources(vec![vpc("a").key()]);
        metrics.record_sync("dc1", SyncRecord::of(Ok(&report(true, &[], &[])), scope, 0, 0, 2.0));
        let dc1 = &metrics.snapshot(&BTreeMap::new()).fabrics["dc1"];
        let left: Vec<&str> = dc1.refused.iter().map(|o| o.change.path.as_str()).collect();
        assert_eq!(left, [path("b")]);
        metrics.record_sync("dc1", SyncRecord::of(Ok(&report(false, &[], &[])), Scope::Fabric, 0, 0, 3.0));
        assert!(metrics.snapshot(&BTreeMap::new()).fabrics["dc1"].refused.is_empty());
    }

    #[test]
    fn exposition() {
        let metrics = Metrics::new(["dc1", "lab \"x\""]);
        metrics.webhook(WebhookResult::Accepted);
        metrics.webhook(WebhookResult::Accepted);
        metrics.webhook(WebhookResult::Unauthorized);
        metrics.github_webhook(GitHubWebhookResult::Scheduled);
        metrics.github_webhook(GitHubWebhookResult::OwnCommits);
        metrics.github_webhook(GitHubWebhookResult::OwnCommits);
        let record = SyncRecord::of(Ok(&report(true, &["a"], &["b"])), Scope::Fabric, 6, 1, 1700000000.25);
        metrics.record_sync("dc1", record);
        let text = render(&metrics.snapshot(&BTreeMap::from([("dc1".to_owned(), 3)])));
        let expected = r#"# HELP fgd_sync_syncs_total Syncs run, by fabric and outcome (ok, conflicts, error).
# TYPE fgd_sync_syncs_total counter
fgd_sync_syncs_total{fabric="dc1",outcome="ok"} 0
fgd_sync_syncs_total{fabric="dc1",outcome="conflicts"} 1
fgd_sync_syncs_total{fabric="dc1",outcome="error"} 0
fgd_sync_syncs_total{fabric="lab \"x\"",outcome="ok"} 0
fgd_sync_syncs_total{fabric="lab \"x\"",outcome="conflicts"} 0
fgd_sync_syncs_total{fabric="lab \"x\"",outcome="error"} 0
# HELP fgd_sync_commits_total Commits written to the fabric's branch.
# TYPE fgd_sync_commits_total counter
fgd_sync_commits_total{fabric="dc1"} 1
fgd_sync_commits_total{fabric="lab \"x\""} 0
# HELP fgd_sync_conflicts Files left alone because Git changed them since the last sync (settle with `fgd-sync resolve`).
# TYPE fgd_sync_conflicts gauge
fgd_sync_conflicts{fabric="dc1"} 1
fgd_sync_conflicts{fabric="lab \"x\""} 0
# HELP fgd_sync_invalid_crs CRs that fail validation; their files are left alone until the CR is fixed in HNP.
# TYPE fgd_sync_invalid_crs gauge
fgd_sync_invalid_crs{fabric="dc1"} 0
fgd_sync_invalid_crs{fabric="lab \"x\""} 0
# HELP fgd_sync_deletions_refused_total Syncs refused by the mass-deletion guard (nothing written; see the log, and --allow-deletions).
# TYPE fgd_sync_deletions_refused_total counter
fgd_sync_deletions_refused_total{fabric="dc1"} 0
fgd_sync_deletions_refused_total{fabric="lab \"x\""} 0
# HELP fgd_sync_blocked_deletions Deletions the mass-deletion guard is holding back (0: none; a full sync that goes through clears it).
# TYPE fgd_sync_blocked_deletions gauge
fgd_sync_blocked_deletions{fabric="dc1"} 0
fgd_sync_blocked_deletions{fabric="lab \"x\""} 0
# HELP fgd_sync_github_requests_total HTTP requests the sync component made to GitHub.
# TYPE fgd_sync_github_requests_total counter
fgd_sync_github_requests_total{fabric="dc1"} 6
fgd_sync_github_requests_total{fabric="lab \"x\""} 0
# HELP fgd_sync_rate_limit_waits_total Times a sync waited for a GitHub rate limit to reset.
# TYPE fgd_sync_rate_limit_waits_total counter
fgd_sync_rate_limit_waits_total 1
# HELP fgd_sync_queue_depth CRs waiting for their batch.
# TYPE fgd_sync_queue_depth gauge
fgd_sync_queue_depth{fabric="dc1"} 3
fgd_sync_queue_depth{fabric="lab \"x\""} 0
# HELP fgd_sync_last_success_timestamp_seconds When the fabric's last sync without an error ended (0: none yet).
# TYPE fgd_sync_last_success_timestamp_seconds gauge
fgd_sync_last_success_timestamp_seconds{fabric="dc1"} 1700000000.250
fgd_sync_last_success_timestamp_seconds{fabric="lab \"x\""} 0
# HELP fgd_sync_webhooks_total Webhook requests, by result.
# TYPE fgd_sync_webhooks_total counter
fgd_sync_webhooks_total{result="accepted"} 2
fgd_sync_webhooks_total{result="ignored"} 0
fgd_sync_webhooks_total{result="bookkeeping"} 0
fgd_sync_webhooks_total{result="unknown_fabric"} 0
fgd_sync_webhooks_total{result="unauthorized"} 1
fgd_sync_webhooks_total{result="malformed"} 0
fgd_sync_webhooks_total{result="too_large"} 0
fgd_sync_webhooks_total{result="unavailable"} 0
# HELP fgd_sync_github_webhooks_total GitHub webhook requests, by result.
# TYPE fgd_sync_github_webhooks_total counter
fgd_sync_github_webhooks_total{result="scheduled"} 1
fgd_sync_github_webhooks_total{result="pong"} 0
fgd_sync_github_webhooks_total{result="ignored"} 0
fgd_sync_github_webhooks_total{result="own_commits"} 2
fgd_sync_github_webhooks_total{result="unauthorized"} 0
fgd_sync_github_webhooks_total{result="malformed"} 0
fgd_sync_github_webhooks_total{result="too_large"} 0
fgd_sync_github_webhooks_total{result="unavailable"} 0
"#;
        assert_eq!(text, expected);
    }
}
