//! Drives a whole sync: read the branch, read HNP, plan, write one commit, move the ref with
//! a fast-forward-only update; re-read and re-plan when another writer won; wait out rate
//! limits. Generic over `Transport`, `Source` and `Environment`, so it runs natively in tests
//! with scripted answers and in the component over `wasi:http`.
//!
//! One attempt, in the normal case seven requests whatever the number of files:
//! 1. `GET git/ref/heads/{branch}` -> head commit (409: empty repository, 404: no branch);
//!    then HNP is read (after the head, so an older HNP snapshot never lands over a newer
//!    one another process wrote meanwhile), and every CR checked before anything is written;
//! 2. `GET git/trees/{head}?recursive=1` -> every blob under the fabric directory;
//! 3. `GET git/blobs/{sha}` of the sync state file, when there is one;
//! 4. only when the plan creates, updates or deletes files: `GET commits?sha={head}&path=
//!    {state}&per_page=1`, whether fgd-sync wrote the state (`trust`; one more request, the
//!    parent's state, when it did not);
//! 5. `POST git/trees` with inline contents on top of the head's tree;
//! 6. `POST git/commits` with the head as the only parent and the `Fgd-Sync-State` trailer;
//! 7. `PATCH git/refs/heads/{branch}` with `force: false`. "Not a fast forward" (or a lost
//!    answer) is checked with `GET compare/{commit}...{branch}`: our commit in the branch
//!    means it landed; otherwise another writer won, and the next attempt starts again at 1.
//!    A refusal by branch protection or a ruleset ends the sync (`BranchProtected`).
//!
//! A no-op sync makes requests 1-3 only. A whole-fabric plan deletes a file only after
//! `get-resource` confirms its CR is gone, and never more than the deletion guard allows
//! (`deletion_limit`, `SyncOptions::max_deletions`).
//!
//! **The window that remains.** `PATCH git/refs` with `force: false` is a fast-forward check,
//! not a compare-and-swap: if the branch is force-pushed back to an ancestor of the head we
//! read, our commit still descends from the new head, the update succeeds, and the commits the
//! force-push removed come back. When the head read is `FRESH_HEAD_SECS` old or more at the
//! ref update (a rate-limit wait, a back-off, slow planning), the ref is read again first and
//! the attempt is lost if it moved; a force-push in the last seconds before the update (or
//! between that re-read and the update) is still not seen. A strict compare-and-swap needs
//! GraphQL `createCommitOnBranch` with `expectedHeadOid`.
//!
//! Planning may ask for the text of some blobs (formatting-only edits are not conflicts);
//! a blob that cannot be read (gone from history, not UTF-8) is named `unreadable` and the
//! planner reports its path as a conflict instead of failing the sync.

mod read;
mod trust;
mod write;

use std::collections::{BTreeMap, BTreeSet};

use crate::github::client::{backoff_ms, Client, MAX_RETRIES};
use crate::github::requests::Repo;
use crate::github::{Environment, Transport};
use crate::model::{
    Action, Change, DeletionGuard, GitVersion, HnpChange, HnpOp, HnpOutcome, Mode, RawResource, RemoteError,
    ResourceRef, Selection, SyncError, SyncOptions, SyncReport, Target,
};
use crate::plan::{self, message, CommitPlan, PlanInput};
use crate::{blob, path, state};

use read::{BlobText, Head};
/// The trailer key that ends every commit fgd-sync makes (`with_trailer`).
pub use trust::TRAILER;
use write::{Init, RefUpdate};

/// Rounds of blob reads that planning may ask for before its answer must be final.
pub const MAX_CONTENT_ROUNDS: u32 = 2;

/// Updated files whose before/after texts a dry run reads to show a diff.
pub const MAX_PREVIEWS: usize = 20;

/// A head read this many seconds before the ref update is read again first.
pub const FRESH_HEAD_SECS: u64 = 5;

/// CR lookups and writes (WIT `hnp`).
pub trait Source {
    fn list(&mut self, fabric: &str) -> Result<Vec<RawResource>, String>;
    fn get(&mut self, fabric: &str, reference: &ResourceRef) -> Result<Option<RawResource>, String>;
    /// One answer per change: `None` done, `Some(why)` refused.
    fn apply(&mut self, fabric: &str, changes: &[HnpChange]) -> Result<Vec<Option<String>>, String>;
    fn record(&mut self, fabric: &str, entries: &[Synced]) -> Result<(), String>;
}

/// Where a CR now lives in Git (WIT `hnp.synced`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Synced {
    pub resource: ResourceRef,
    pub path: String,
    pub blob_sha: String,
    pub commit: String,
}

/// One `plan` or `sync` call of the WIT `sync` interface: its arguments, and the three doors
/// to the outside (`Transport`, `Source`, `Environment`).
#[allow(clippy::too_many_arguments)]
pub fn run(
    fabric: &str,
    mode: Mode,
    selection: &Selection,
    target: &Target,
    options: &SyncOptions,
    transport: &mut dyn Transport,
    source: &mut dyn Source,
    env: &mut dyn Environment,
) -> Result<SyncReport, SyncError> {
    let directory = path::normalize_directory(&target.directory)?;
    let repo = Repo::from_target(target)?;
    let mut sync = Session {
        target,
        mode,
        fabric,
        selection,
        max_deletions: options.max_deletions,
        state_path: path::state_path(&directory),
        input: PlanInput {
            directory,
            resolutions: options.resolutions.clone(),
            fabric: fabric.to_string(),
            direction: options.direction,
            ..PlanInput::default()
        },
        pulled: Vec::new(),
        pinned: false,
        repo,
        blob_cache: BTreeMap::new(),
        trust_cache: BTreeMap::new(),
    };
    let mut client = Client::new(transport, env, options.max_rate_limit_wait_secs);
    let max_attempts = options.max_attempts.max(1);
    let mut attempts = 0u32;
    let mut init: Option<Init> = None;
    let mut empty_rechecks = 0u32;
    loop {
        let head = match read::head(&mut client, &sync.repo)? {
            Head::Commit(sha) => Some(sha),
            Head::Empty if mode == Mode::Plan => None,
            Head::Empty => match &init {
                None => {
                    // Bad input writes nothing, not even the first commit.
                    sync.read_hnp(source)?;
                    init = Some(sync.initialize(&mut client)?);
                    continue;
                }
                Some(Init::Refused(e)) => return Err(e.clone()),
                Some(Init::Created) => {
                    // The first commit may take a moment to show on every replica.
                    if empty_rechecks >= MAX_RETRIES {
                        return Err(sync.still_empty());
                    }
                    back_off(&mut client, empty_rechecks);
                    empty_rechecks += 1;
                    continue;
                }
            },
        };
        let read_at = client.env().now_epoch_secs();
        attempts += 1;
        // HNP after the head: what we write is never older than what another writer saw.
        sync.read_hnp(source)?;
        match sync.attempt(&mut client, source, head.as_deref(), read_at)? {
            Attempt::Done { plan, commit } => {
                let mut report = SyncReport {
                    base_commit: head,
                    message: (!plan.writes.is_empty() || !plan.changes.is_empty()).then(|| plan.message.clone()),
                    unchanged: plan.unchanged,
                    requests: client.requests(),
                    attempts,
                    ..SyncReport::default()
                };
                if let Some(commit) = &commit {
                    // CRs written into HNP from their own file were recorded with that write.
                    let recorded: BTreeSet<&str> = sync
                        .pulled
                        .iter()
                        .filter(|o| o.refused.is_none() && o.change.records_sync)
                        .map(|o| o.change.path.as_str())
                        .collect();
                    report.warnings = record(fabric, source, &plan, commit, &recorded);
                }
                report.commit = commit;
                report.changes = plan.changes;
                report.conflicts = plan.conflicts;
                report.invalid = plan.invalid;
                report.raw_errors = plan.raw_errors;
                report.hnp_changes = std::mem::take(&mut sync.pulled);
                return Ok(report);
            }
            Attempt::Lost if attempts >= max_attempts => return Err(SyncError::TooManyRaces(attempts)),
            Attempt::Lost => back_off(&mut client, attempts - 1),
        }
    }
}

/// The CRs a sync wants, read from HNP.
struct Wanted {
    desired: Vec<RawResource>,
    deleted: Vec<ResourceRef>,
    complete: bool,
}

fn wanted(fabric: &str, selection: &Selection, source: &mut dyn Source) -> Result<Wanted, SyncError> {
    match selection {
        Selection::Fabric => {
            let desired =
                source.list(fabric).map_err(|e| SyncError::Source(format!("list-resources {fabric:?}: {e}")))?;
            Ok(Wanted { desired, deleted: Vec::new(), complete: true })
        }
        Selection::Resources(refs) => {
            let mut wanted = Wanted { desired: Vec::new(), deleted: Vec::new(), complete: false };
            for r in refs {
                match source.get(fabric, r) {
                    Ok(Some(cr)) => wanted.desired.push(cr),
                    Ok(None) => wanted.deleted.push(r.clone()),
                    Err(e) => return Err(SyncError::Source(format!("get-resource {fabric:?} {r}: {e}"))),
                }
            }
            Ok(wanted)
        }
    }
}

/// Tells HNP where each written or adopted CR now lives, in one call; a failure is a warning
/// because the commit has landed already.
fn record(
    fabric: &str,
    source: &mut dyn Source,
    plan: &CommitPlan,
    commit: &str,
    recorded: &BTreeSet<&str>,
) -> Vec<String> {
    let mut warnings = Vec::new();
    let mut entries = Vec::new();
    for change in plan.changes.iter().filter(|c| !recorded.contains(c.path.as_str())) {
        let sha = match change.action {
            Action::Create | Action::Update => change.new_sha.as_ref().or(change.remote_sha.as_ref()),
            Action::Adopt => change.remote_sha.as_ref().or(change.new_sha.as_ref()),
            Action::Delete | Action::Forget => continue,
        };
        let Some(sha) = sha else {
            warnings.push(format!("record-synced {} ({}): the plan gave no blob SHA", change.resource, change.path));
            continue;
        };
        entries.push(Synced {
            resource: change.resource.clone(),
            path: change.path.clone(),
            blob_sha: sha.clone(),
            commit: commit.to_string(),
        });
    }
    if !entries.is_empty() {
        if let Err(e) = source.record(fabric, &entries) {
            let mut named: Vec<String> = entries.iter().take(5).map(|s| s.resource.to_string()).collect();
            if entries.len() > named.len() {
                named.push(format!("and {} more", entries.len() - named.len()));
            }
            warnings.push(format!("record-synced {} failed: {e}", named.join(", ")));
        }
    }
    warnings
}

fn back_off(client: &mut Client<'_>, retry: u32) {
    let env = client.env();
    let random = env.random_u64();
    env.sleep_ms(backoff_ms(retry, random));
}

enum Attempt {
    /// `commit` is None for a dry run or a plan with nothing to write.
    Done { plan: Box<CommitPlan>, commit: Option<String> },
    /// Another writer moved the branch first.
    Lost,
}

/// What stays the same across attempts of one sync.
struct Session<'a> {
    target: &'a Target,
    mode: Mode,
    fabric: &'a str,
    selection: &'a Selection,
    max_deletions: Option<u32>,
    repo: Repo,
    state_path: String,
    /// The wanted CRs as last read from HNP; each attempt fills in the branch as read.
    input: PlanInput,
    /// Resolutions without `expect` were pinned to what the first attempt read.
    pinned: bool,
    /// What this sync wrote into HNP (a pull), over all attempts.
    pulled: Vec<HnpOutcome>,
    /// Blob SHA -> text (`None`: unreadable). A SHA names its content forever, so reads
    /// carry across attempts.
    blob_cache: BTreeMap<String, Option<String>>,
    /// Head commit -> the paths whose state entries it does not vouch for.
    trust_cache: BTreeMap<String, BTreeSet<String>>,
}

impl Session<'_> {
    /// Reads HNP afresh and checks every CR before anything is written.
    fn read_hnp(&mut self, source: &mut dyn Source) -> Result<(), SyncError> {
        let wanted = wanted(self.fabric, self.selection, source)?;
        plan::check(&self.input.directory, &wanted.desired, &wanted.deleted)?;
        self.input.desired = wanted.desired;
        self.input.deleted = wanted.deleted;
        self.input.complete = wanted.complete;
        Ok(())
    }

    fn attempt(
        &mut self,
        client: &mut Client<'_>,
        source: &mut dyn Source,
        head: Option<&str>,
        read_at: u64,
    ) -> Result<Attempt, SyncError> {
        let files = match head {
            Some(head) => read::files(client, &self.repo, head, &self.input.directory)?,
            None => read::Files::default(),
        };
        let state = match files.blobs.get(&self.state_path) {
            Some(sha) => Some(self.state_text(client, sha)?),
            None => None,
        };
        self.pin_resolutions(&files.blobs);
        // A file whose CR an earlier attempt of this sync deleted from HNP (Git had deleted
        // the file) is back in Git: someone restored it meanwhile. Its base is no ground for
        // deleting it again: like a base a foreign commit changed, it is a conflict.
        let restored: BTreeSet<String> = self
            .pulled
            .iter()
            .filter(|o| o.refused.is_none() && o.change.op == HnpOp::Delete)
            .filter(|o| files.blobs.contains_key(&o.change.path))
            .map(|o| o.change.path.clone())
            .collect();
        let mut input =
            PlanInput { remote_files: files.blobs.clone(), state, untrusted: restored.clone(), ..self.input.clone() };
        let mut plan = self.plan(client, &mut input)?;
        plan = self.confirm_deletions(client, source, &mut input, plan)?;
        if let (Some(head), true) = (head, writes_files(&plan) || !plan.hnp_changes.is_empty()) {
            let untrusted = self.untrusted(client, head, &files.blobs, input.state.as_deref())?;
            if !untrusted.is_empty() {
                input.untrusted = untrusted.union(&restored).cloned().collect();
                plan = self.plan(client, &mut input)?;
            }
        }
        if !plan.hnp_changes.is_empty() {
            plan = self.pull(client, source, &mut input, plan)?;
        }
        let pulled: Vec<&HnpChange> = self.pulled.iter().filter(|o| o.refused.is_none()).map(|o| &o.change).collect();
        if !pulled.is_empty() && !plan.writes.is_empty() {
            plan.message = message::with_pulls(&self.target.message_prefix, &input.directory, &plan.changes, &pulled);
        }
        if self.mode == Mode::Plan {
            self.preview(client, &mut plan)?;
            return Ok(Attempt::Done { plan: Box::new(plan), commit: None });
        }
        if plan.writes.is_empty() {
            return Ok(Attempt::Done { plan: Box::new(plan), commit: None });
        }
        // Only a dry run plans against an empty repository; a sync created the first commit.
        let Some(head) = head else {
            return Ok(Attempt::Done { plan: Box::new(plan), commit: None });
        };
        let identity = self.target.committer.as_ref();
        let state_sha = plan
            .writes
            .iter()
            .find(|w| w.path == self.state_path)
            .and_then(|w| w.content.as_deref())
            .map(|text| blob::blob_sha(text.as_bytes()))
            .or_else(|| files.blobs.get(&self.state_path).cloned());
        let message = with_trailer(&plan.message, state_sha.as_deref());
        let tree = write::create_tree(client, &self.repo, &files, &self.input.directory, &plan.writes)?;
        let commit = write::create_commit(client, &self.repo, &message, &tree, head, identity)?;
        // `force: false` is a fast-forward check, not a compare-and-swap: after a slow
        // stretch (rate-limit wait, back-off, slow planning) make sure the head is still ours.
        if client.env().now_epoch_secs().saturating_sub(read_at) >= FRESH_HEAD_SECS {
            match read::head(client, &self.repo)? {
                Head::Commit(now) if now == head => {}
                _ => return Ok(Attempt::Lost),
            }
        }
        Ok(match write::update_ref(client, &self.repo, &commit)? {
            RefUpdate::Moved => Attempt::Done { plan: Box::new(plan), commit: Some(commit) },
            RefUpdate::Lost => match write::landed(client, &self.repo, &commit)? {
                true => Attempt::Done { plan: Box::new(plan), commit: Some(commit) },
                false => Attempt::Lost,
            },
        })
    }

    /// On the first attempt, a resolution that names no Git version is pinned to the one
    /// read now: a later attempt that finds another version reports the conflict again.
    fn pin_resolutions(&mut self, remote: &BTreeMap<String, String>) {
        if self.pinned {
            return;
        }
        self.pinned = true;
        for r in &mut self.input.resolutions {
            if r.expect.is_none() {
                r.expect = Some(match remote.get(&r.path) {
                    Some(sha) => GitVersion::Blob(sha.clone()),
                    None => GitVersion::Absent,
                });
            }
        }
    }

    /// Writes Git's edits into HNP (or, for a dry run, assumes HNP accepts them all), puts
    /// HNP's new CRs into the input, and plans again: that plan records Git's blobs as the
    /// new bases and pushes what HNP changed itself. Refused changes leave their paths alone.
    fn pull(
        &mut self,
        client: &mut Client<'_>,
        source: &mut dyn Source,
        input: &mut PlanInput,
        plan: CommitPlan,
    ) -> Result<CommitPlan, SyncError> {
        self.guard(input, &plan)?;
        let changes = plan.hnp_changes;
        let answers = match self.mode {
            Mode::Plan => vec![None; changes.len()],
            Mode::Sync => {
                let answers = source
                    .apply(self.fabric, &changes)
                    .map_err(|e| SyncError::Source(format!("apply-changes {:?}: {e}", self.fabric)))?;
                if answers.len() != changes.len() {
                    return Err(SyncError::Source(format!(
                        "apply-changes {:?}: {} answers for {} changes",
                        self.fabric,
                        answers.len(),
                        changes.len()
                    )));
                }
                answers
            }
        };
        for (change, refused) in changes.into_iter().zip(answers) {
            match &refused {
                Some(_) => {
                    input.refused.insert(change.path.clone());
                }
                None => input.accept(&change),
            }
            self.pulled.push(HnpOutcome { change, refused });
        }
        // HNP now holds what it accepted; later attempts read it afresh from HNP.
        self.input.refused = input.refused.clone();
        let replanned = self.plan(client, input)?;
        if !replanned.hnp_changes.is_empty() {
            // Applied changes settle their paths; another round would be a planning bug.
            return Err(SyncError::Source(format!(
                "planning still asks for {} HNP change(s) after applying them",
                replanned.hnp_changes.len()
            )));
        }
        self.guard(input, &replanned)?;
        Ok(replanned)
    }

    /// A whole-fabric sync infers deletions from one listing; each is confirmed with
    /// `get-resource` before it is planned (one lookup per deletion, after the guard has
    /// bounded their number). A CR found after all is wanted, and the plan is made again.
    fn confirm_deletions(
        &mut self,
        client: &mut Client<'_>,
        source: &mut dyn Source,
        input: &mut PlanInput,
        plan: CommitPlan,
    ) -> Result<CommitPlan, SyncError> {
        // Only a whole-fabric plan infers deletions from absence; a selection's deletions
        // are each a `get-resource` that found nothing (a webhook's delete, `--only`).
        self.guard(input, &plan)?;
        if !input.complete {
            return Ok(plan);
        }
        // A pull also confirms a CR that looks gone from HNP while Git deleted its file: were
        // it only missing from the listing, forgetting its entry would turn Git's deletion
        // into the file's re-creation by the next push, instead of the CR's deletion.
        let absent = |c: &&Change| match c.action {
            Action::Delete => true,
            Action::Forget => input.direction.pulls() && c.base_sha.is_some(),
            _ => false,
        };
        let mut found = Vec::new();
        for change in plan.changes.iter().filter(absent) {
            let r = &change.resource;
            match source.get(self.fabric, r) {
                Ok(None) => {}
                Ok(Some(cr)) => found.push(cr),
                Err(e) => return Err(SyncError::Source(format!("get-resource {:?} {r}: {e}", self.fabric))),
            }
        }
        if found.is_empty() {
            return Ok(plan);
        }
        input.desired.extend(found);
        plan::check(&input.directory, &input.desired, &input.deleted)?;
        self.input.desired = input.desired.clone();
        let plan = self.plan(client, input)?;
        self.guard(input, &plan)?;
        Ok(plan)
    }

    /// Refuses a whole-fabric plan that deletes more managed files than allowed (see
    /// `deletion_limit`): HNP answering with too few CRs (a permission change, a proxy, a
    /// plugin upgrade) must not empty the fabric.
    fn guard(&self, input: &PlanInput, plan: &CommitPlan) -> Result<(), SyncError> {
        // CRs a pull deletes from HNP count always (Git's deletions are never confirmed by
        // a lookup); deleted files only for a whole fabric (a selection's are each confirmed).
        let pulled = plan.hnp_changes.iter().filter(|c| c.op == HnpOp::Delete).count() as u32;
        let pushed = match input.complete {
            true => plan.changes.iter().filter(|c| c.action == Action::Delete).count() as u32,
            false => 0,
        };
        let deletions = pulled + pushed;
        if deletions == 0 {
            return Ok(());
        }
        let managed = match &input.state {
            Some(text) => state::SyncState::parse(text).map(|s| s.managed().count() as u32).unwrap_or(0),
            None => 0,
        };
        let limit = self.max_deletions.unwrap_or_else(|| deletion_limit(managed));
        if deletions > limit {
            return Err(SyncError::TooManyDeletions(DeletionGuard { deletions, managed, limit }));
        }
        Ok(())
    }

    /// Plans, reading the blobs the plan asks for, at most `MAX_CONTENT_ROUNDS` times. A
    /// blob that cannot be read (gone from history, not UTF-8) is named in `unreadable`.
    fn plan(&mut self, client: &mut Client<'_>, input: &mut PlanInput) -> Result<CommitPlan, SyncError> {
        let prefix = &self.target.message_prefix;
        let mut plan = plan::plan(input, prefix)?;
        let mut rounds = 0;
        while !plan.need_contents.is_empty() {
            let missing: Vec<String> = plan
                .need_contents
                .iter()
                .filter(|sha| !input.contents.contains_key(*sha) && !input.unreadable.contains(*sha))
                .cloned()
                .collect();
            if rounds >= MAX_CONTENT_ROUNDS || missing.is_empty() {
                return Err(self.contents_loop(&plan.need_contents));
            }
            rounds += 1;
            for sha in missing {
                match self.blob(client, &sha)? {
                    Some(text) => {
                        input.contents.insert(sha, text);
                    }
                    None => {
                        input.unreadable.insert(sha);
                    }
                }
            }
            plan = plan::plan(input, prefix)?;
        }
        Ok(plan)
    }

    /// A dry run shows what updates would change: both texts of the first
    /// `MAX_PREVIEWS` updated files (one blob read each; creates and deletes need none).
    fn preview(&mut self, client: &mut Client<'_>, plan: &mut CommitPlan) -> Result<(), SyncError> {
        let new: BTreeMap<&str, &str> =
            plan.writes.iter().filter_map(|w| Some((w.path.as_str(), w.content.as_deref()?))).collect();
        let mut previews = Vec::new();
        for (i, change) in
            plan.changes.iter().enumerate().filter(|(_, c)| c.action == Action::Update).take(MAX_PREVIEWS)
        {
            let (Some(sha), Some(text)) = (&change.remote_sha, new.get(change.path.as_str())) else { continue };
            if let Some(old) = self.blob(client, sha)? {
                previews.push((i, old, text.to_string()));
            }
        }
        for (i, old, new) in previews {
            plan.changes[i].old_content = Some(old);
            plan.changes[i].new_content = Some(new);
        }
        Ok(())
    }

    /// A blob's text; `None` when it cannot be had (gone from history, not UTF-8).
    fn blob(&mut self, client: &mut Client<'_>, sha: &str) -> Result<Option<String>, SyncError> {
        if let Some(text) = self.blob_cache.get(sha) {
            return Ok(text.clone());
        }
        let text = match read::blob_text(client, &self.repo, sha)? {
            BlobText::Text(text) => Some(text),
            BlobText::Gone(_) | BlobText::NotUtf8 => None,
        };
        self.blob_cache.insert(sha.to_string(), text.clone());
        Ok(text)
    }

    /// The state file's text; one that cannot be read stops the sync (it is every base).
    fn state_text(&mut self, client: &mut Client<'_>, sha: &str) -> Result<String, SyncError> {
        if let Some(Some(text)) = self.blob_cache.get(sha) {
            return Ok(text.clone());
        }
        match read::blob_text(client, &self.repo, sha)? {
            BlobText::Text(text) => {
                self.blob_cache.insert(sha.to_string(), Some(text.clone()));
                Ok(text)
            }
            BlobText::Gone(e) => Err(e),
            BlobText::NotUtf8 => {
                let request = self.repo.get_blob(sha);
                Err(SyncError::Remote(RemoteError {
                    method: request.method,
                    url: request.url,
                    status: 200,
                    message: format!("the sync state {} (blob {sha}) is not UTF-8 text", self.state_path),
                }))
            }
        }
    }

    /// The repository paths whose state entries the commit that last changed the state
    /// does not vouch for (see `trust`); cached per head, so a re-plan asks nothing again.
    fn untrusted(
        &mut self,
        client: &mut Client<'_>,
        head: &str,
        remote: &BTreeMap<String, String>,
        state: Option<&str>,
    ) -> Result<BTreeSet<String>, SyncError> {
        if let Some(cached) = self.trust_cache.get(head) {
            return Ok(cached.clone());
        }
        let (Some(state_sha), Some(state)) = (remote.get(&self.state_path), state) else {
            return Ok(BTreeSet::new());
        };
        let relative = trust::untrusted(client, &self.repo, head, &self.state_path, state_sha, state)?;
        let paths: BTreeSet<String> = relative.into_iter().map(|p| path::join(&self.input.directory, &p)).collect();
        self.trust_cache.insert(head.to_string(), paths.clone());
        Ok(paths)
    }

    fn initialize(&self, client: &mut Client<'_>) -> Result<Init, SyncError> {
        let text = state::SyncState::default().to_text();
        let sha = blob::blob_sha(text.as_bytes());
        let message = with_trailer(&format!("{}Initialize fgd-sync state", self.target.message_prefix), Some(&sha));
        write::initialize(client, &self.repo, &self.state_path, &text, &message, self.target.committer.as_ref())
    }

    fn still_empty(&self) -> SyncError {
        let request = self.repo.get_ref();
        SyncError::Remote(RemoteError {
            method: request.method,
            url: request.url,
            status: 409,
            message: "the repository is still empty after fgd-sync created its first commit".into(),
        })
    }

    /// The plan kept asking for blobs it was given: a planning bug, reported rather than looped on.
    fn contents_loop(&self, shas: &[String]) -> SyncError {
        let request = self.repo.get_blob(shas.first().map(String::as_str).unwrap_or_default());
        SyncError::Remote(RemoteError {
            method: request.method,
            url: request.url,
            status: 200,
            message: format!("planning still needs {} blob(s) after {MAX_CONTENT_ROUNDS} rounds of reads", shas.len()),
        })
    }
}

/// Whether the plan creates, updates or deletes a file (not only the state).
fn writes_files(plan: &CommitPlan) -> bool {
    plan.changes.iter().any(|c| matches!(c.action, Action::Create | Action::Update | Action::Delete))
}

/// The default mass-deletion limit for a fabric with `managed` files: never all of them,
/// and more than 10 only when that is at most 10 % of them.
pub fn deletion_limit(managed: u32) -> u32 {
    managed.saturating_sub(1).min((managed / 10).max(10))
}

/// `message`, a blank line, and `Fgd-Sync-State: <sha>`: the mark by which a later sync
/// knows that fgd-sync wrote this state (a revert or a hand edit does not carry it).
pub fn with_trailer(message: &str, state_sha: Option<&str>) -> String {
    match state_sha {
        Some(sha) => format!("{}\n\n{}: {sha}\n", message.trim_end(), trust::TRAILER),
        None => message.to_string(),
    }
}
