//! Drives a whole sync: read the branch, plan, write one commit, move the ref with a
//! compare-and-swap; re-read and re-plan when another writer won; wait out rate limits.
//! Generic over `Transport`, `Source` and `Environment`, so it runs natively in tests with
//! scripted answers and in the component over `wasi:http`.
//!
//! One attempt, in the normal case six requests whatever the number of files:
//! 1. `GET git/ref/heads/{branch}` -> head commit (409: empty repository, 404: no branch);
//! 2. `GET git/trees/{head}?recursive=1` -> every blob under the fabric directory;
//! 3. `GET git/blobs/{sha}` of the sync state file, when there is one;
//! 4. `POST git/trees` with inline contents on top of the head's tree;
//! 5. `POST git/commits` with the head as the only parent;
//! 6. `PATCH git/refs/heads/{branch}` with `force: false`; a "not a fast forward" answer means
//!    another writer won, and the next attempt starts again at 1.
//!
//! Planning may ask for the text of some blobs (formatting-only edits are not conflicts);
//! those are the only extra reads.
//!
//! `Strategy::PerFile` shares the reads and the plan, then writes each file with its own
//! Contents-API commit instead of steps 4-6 (see `per_file`).

mod per_file;
mod read;
mod write;

use std::collections::BTreeMap;

use crate::github::client::{backoff_ms, Client, MAX_RETRIES};
use crate::github::requests::Repo;
use crate::github::{Environment, Transport};
use crate::model::{
    Action, RawResource, RemoteError, ResourceRef, Strategy, SyncError, SyncOptions, SyncReport, Target,
};
use crate::plan::{self, CommitPlan, PlanInput};
use crate::{path, state};

use read::Head;
use write::{Init, RefUpdate};

/// Rounds of blob reads that planning may ask for before its answer must be final.
pub const MAX_CONTENT_ROUNDS: u32 = 2;

/// Updated files whose before/after texts a dry run reads to show a diff.
pub const MAX_PREVIEWS: usize = 20;

/// CR lookups (WIT `hnp`).
pub trait Source {
    fn list(&mut self, fabric: &str) -> Result<Vec<RawResource>, String>;
    fn get(&mut self, fabric: &str, reference: &ResourceRef) -> Result<Option<RawResource>, String>;
    fn record(
        &mut self,
        fabric: &str,
        reference: &ResourceRef,
        path: &str,
        blob_sha: &str,
        commit: &str,
    ) -> Result<(), String>;
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
    let directory = path::normalize_directory(&target.directory)?;
    let repo = Repo::from_target(target)?;
    // HNP is read once: every attempt plans the same wanted state against a fresh branch.
    let wanted = wanted(fabric, selection, source)?;
    // Refuse bad CRs before the first request, with the planner's own checks.
    plan::check(&directory, &wanted.desired, &wanted.deleted)?;
    let mut sync = Session {
        target,
        options,
        state_path: path::state_path(&directory),
        input: PlanInput {
            directory,
            desired: wanted.desired,
            deleted: wanted.deleted,
            complete: wanted.complete,
            resolutions: options.resolutions.clone(),
            ..PlanInput::default()
        },
        repo,
        blob_cache: BTreeMap::new(),
    };
    let mut client = Client::new(transport, env, options.max_rate_limit_wait_secs);
    let max_attempts = options.max_attempts.max(1);
    let mut attempts = 0u32;
    let mut init: Option<Init> = None;
    let mut empty_rechecks = 0u32;
    loop {
        let head = match read::head(&mut client, &sync.repo)? {
            Head::Commit(sha) => Some(sha),
            Head::Empty if options.dry_run => None,
            Head::Empty => match &init {
                None => {
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
        attempts += 1;
        match sync.attempt(&mut client, head.as_deref())? {
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
                    report.warnings = record(fabric, source, &plan, commit);
                }
                report.commit = commit;
                report.changes = plan.changes;
                report.conflicts = plan.conflicts;
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

/// Tells HNP where each written or adopted CR now lives; failures are warnings because the
/// commit has landed already.
fn record(fabric: &str, source: &mut dyn Source, plan: &CommitPlan, commit: &str) -> Vec<String> {
    let mut warnings = Vec::new();
    for change in &plan.changes {
        let sha = match change.action {
            Action::Create | Action::Update => change.new_sha.as_ref().or(change.remote_sha.as_ref()),
            Action::Adopt => change.remote_sha.as_ref().or(change.new_sha.as_ref()),
            Action::Delete | Action::Forget => continue,
        };
        let Some(sha) = sha else {
            warnings.push(format!("record-synced {} ({}): the plan gave no blob SHA", change.resource, change.path));
            continue;
        };
        if let Err(e) = source.record(fabric, &change.resource, &change.path, sha, commit) {
            warnings.push(format!("record-synced {} ({}) failed: {e}", change.resource, change.path));
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
    Done { plan: CommitPlan, commit: Option<String> },
    /// Another writer moved the branch first.
    Lost,
}

/// What stays the same across attempts of one sync.
struct Session<'a> {
    target: &'a Target,
    options: &'a SyncOptions,
    repo: Repo,
    state_path: String,
    /// The wanted CRs; each attempt fills in the branch as read.
    input: PlanInput,
    /// Blob SHA -> text. A SHA names its content forever, so reads carry across attempts.
    blob_cache: BTreeMap<String, String>,
}

impl Session<'_> {
    fn attempt(&mut self, client: &mut Client<'_>, head: Option<&str>) -> Result<Attempt, SyncError> {
        let files = match head {
            Some(head) => read::files(client, &self.repo, head, &self.input.directory)?,
            None => read::Files::default(),
        };
        let state = match files.blobs.get(&self.state_path) {
            Some(sha) => Some(self.blob(client, sha)?),
            None => None,
        };
        let mut input = PlanInput { remote_files: files.blobs, state, ..self.input.clone() };
        let mut plan = self.plan(client, &mut input)?;
        if self.options.dry_run {
            self.preview(client, &mut plan)?;
            return Ok(Attempt::Done { plan, commit: None });
        }
        if plan.writes.is_empty() {
            return Ok(Attempt::Done { plan, commit: None });
        }
        // Only a dry run plans against an empty repository; a sync created the first commit.
        let Some(head) = head else {
            return Ok(Attempt::Done { plan, commit: None });
        };
        if self.options.strategy == Strategy::PerFile {
            let state_sha = input.remote_files.get(&self.state_path).map(String::as_str);
            let state = input.state.as_deref();
            let written = per_file::write(client, &self.repo, self.target, &input.directory, plan, state, state_sha)?;
            return Ok(Attempt::Done { plan: written.plan, commit: written.commit });
        }
        let identity = self.target.committer.as_ref();
        let tree = write::create_tree(client, &self.repo, &files.root_tree, &plan.writes)?;
        let commit = write::create_commit(client, &self.repo, &plan.message, &tree, head, identity)?;
        Ok(match write::update_ref(client, &self.repo, &commit)? {
            RefUpdate::Moved => Attempt::Done { plan, commit: Some(commit) },
            RefUpdate::Lost => Attempt::Lost,
        })
    }

    /// Plans, reading the blobs the plan asks for, at most `MAX_CONTENT_ROUNDS` times.
    fn plan(&mut self, client: &mut Client<'_>, input: &mut PlanInput) -> Result<CommitPlan, SyncError> {
        let prefix = &self.target.message_prefix;
        let mut plan = plan::plan(input, prefix)?;
        let mut rounds = 0;
        while !plan.need_contents.is_empty() {
            let missing: Vec<String> =
                plan.need_contents.iter().filter(|sha| !input.contents.contains_key(*sha)).cloned().collect();
            if rounds >= MAX_CONTENT_ROUNDS || missing.is_empty() {
                return Err(self.contents_loop(&plan.need_contents));
            }
            rounds += 1;
            for sha in missing {
                let text = self.blob(client, &sha)?;
                input.contents.insert(sha, text);
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
            previews.push((i, self.blob(client, sha)?, text.to_string()));
        }
        for (i, old, new) in previews {
            plan.changes[i].old_content = Some(old);
            plan.changes[i].new_content = Some(new);
        }
        Ok(())
    }

    fn blob(&mut self, client: &mut Client<'_>, sha: &str) -> Result<String, SyncError> {
        if let Some(text) = self.blob_cache.get(sha) {
            return Ok(text.clone());
        }
        let text = read::blob_text(client, &self.repo, sha)?;
        self.blob_cache.insert(sha.to_string(), text.clone());
        Ok(text)
    }

    fn initialize(&self, client: &mut Client<'_>) -> Result<Init, SyncError> {
        let message = format!("{}Initialize fgd-sync state", self.target.message_prefix);
        let text = state::SyncState::default().to_text();
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
