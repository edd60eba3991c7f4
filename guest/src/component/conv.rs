//! Conversions between the generated WIT types and the `model` types, in one place.

use super::bindings::exports::hedgehog::fgd_sync::logic as wl;
use super::bindings::hedgehog::fgd_sync::types as wit;
use crate::classify::{ContentNeeded, FileVersion, Verdict};
use crate::model;
use crate::path;
use crate::plan::{CommitPlan, FileWrite, PlanInput};

impl From<wit::CustomResource> for model::RawResource {
    fn from(c: wit::CustomResource) -> Self {
        model::RawResource {
            kind: c.kind,
            api_version: c.api_version,
            name: c.name,
            namespace: c.namespace,
            labels: c.labels,
            annotations: c.annotations,
            spec: c.spec,
        }
    }
}

impl From<model::RawResource> for wit::CustomResource {
    fn from(c: model::RawResource) -> Self {
        wit::CustomResource {
            kind: c.kind,
            api_version: c.api_version,
            name: c.name,
            namespace: c.namespace,
            labels: c.labels,
            annotations: c.annotations,
            spec: c.spec,
        }
    }
}

impl From<&model::ResourceRef> for wit::ResourceRef {
    fn from(r: &model::ResourceRef) -> Self {
        wit::ResourceRef { kind: r.kind.as_str().into(), namespace: r.namespace.clone(), name: r.name.clone() }
    }
}

/// WIT refs are untrusted strings; validation names the bad field.
pub fn resource_ref(r: &wit::ResourceRef) -> Result<model::ResourceRef, model::InvalidResource> {
    crate::validate::resource_ref(&r.kind, &r.namespace, &r.name)
}

/// `manifest-path` can only fail with `invalid-resource`: a bad directory is reported
/// against the ref it was asked for.
pub fn invalid_directory(r: &wit::ResourceRef, e: impl std::fmt::Display) -> model::InvalidResource {
    model::InvalidResource {
        kind: r.kind.clone(),
        namespace: r.namespace.clone(),
        name: r.name.clone(),
        field: "directory".into(),
        message: e.to_string(),
    }
}

impl From<wit::Target> for model::Target {
    fn from(t: wit::Target) -> Self {
        model::Target {
            api_base: t.api_base,
            owner: t.owner,
            repo: t.repo,
            branch: t.branch,
            directory: t.directory,
            committer: t.committer.map(|i| model::Identity { name: i.name, email: i.email }),
            message_prefix: t.message_prefix,
        }
    }
}

impl From<wit::Side> for model::Side {
    fn from(s: wit::Side) -> Self {
        match s {
            wit::Side::Git => model::Side::Git,
            wit::Side::Hnp => model::Side::Hnp,
        }
    }
}

impl From<wit::Resolution> for model::Resolution {
    fn from(r: wit::Resolution) -> Self {
        let expect = r.expect.map(|v| match v {
            wit::GitVersion::Absent => model::GitVersion::Absent,
            wit::GitVersion::Blob(sha) => model::GitVersion::Blob(sha),
        });
        model::Resolution { path: r.path, take: r.take.into(), expect }
    }
}

/// Refs of a selection are validated like every other ref from the host.
impl TryFrom<wit::Selection> for model::Selection {
    type Error = model::InvalidResource;

    fn try_from(s: wit::Selection) -> Result<Self, Self::Error> {
        Ok(match s {
            wit::Selection::Fabric => model::Selection::Fabric,
            wit::Selection::Resources(refs) => {
                model::Selection::Resources(refs.iter().map(resource_ref).collect::<Result<_, _>>()?)
            }
        })
    }
}

impl From<wit::SyncOptions> for model::SyncOptions {
    fn from(o: wit::SyncOptions) -> Self {
        model::SyncOptions {
            // `engine::run` makes at least one attempt whatever this says.
            max_attempts: o.max_attempts,
            max_rate_limit_wait_secs: o.max_rate_limit_wait_secs,
            resolutions: o.resolutions.into_iter().map(Into::into).collect(),
            max_deletions: o.max_deletions,
            direction: o.direction.into(),
        }
    }
}

impl From<wit::Direction> for model::Direction {
    fn from(d: wit::Direction) -> Self {
        match d {
            wit::Direction::Push => model::Direction::Push,
            wit::Direction::Pull => model::Direction::Pull,
            wit::Direction::Both => model::Direction::Both,
        }
    }
}

impl From<model::HnpOp> for wit::HnpOp {
    fn from(op: model::HnpOp) -> Self {
        match op {
            model::HnpOp::Create => wit::HnpOp::Create,
            model::HnpOp::Update => wit::HnpOp::Update,
            model::HnpOp::Delete => wit::HnpOp::Delete,
        }
    }
}

impl From<model::HnpChange> for wit::HnpChange {
    fn from(c: model::HnpChange) -> Self {
        wit::HnpChange {
            op: c.op.into(),
            resource: c.resource.into(),
            expected: c.expected.map(Into::into),
            fields: c.fields,
            path: c.path,
            records_sync: c.records_sync,
        }
    }
}

impl From<model::HnpOutcome> for wit::HnpOutcome {
    fn from(o: model::HnpOutcome) -> Self {
        wit::HnpOutcome { change: o.change.into(), refused: o.refused }
    }
}

impl From<model::RawError> for wit::RawError {
    fn from(e: model::RawError) -> Self {
        wit::RawError { path: e.path, document: e.document, field: e.field, message: e.message }
    }
}

impl From<model::Action> for wit::Action {
    fn from(a: model::Action) -> Self {
        match a {
            model::Action::Create => wit::Action::Create,
            model::Action::Update => wit::Action::Update,
            model::Action::Delete => wit::Action::Delete,
            model::Action::Adopt => wit::Action::Adopt,
            model::Action::Forget => wit::Action::Forget,
        }
    }
}

impl From<model::ConflictKind> for wit::ConflictKind {
    fn from(k: model::ConflictKind) -> Self {
        match k {
            model::ConflictKind::ModifiedInGit => wit::ConflictKind::ModifiedInGit,
            model::ConflictKind::DeletedInGit => wit::ConflictKind::DeletedInGit,
            model::ConflictKind::CreatedInGit => wit::ConflictKind::CreatedInGit,
            model::ConflictKind::Unreadable => wit::ConflictKind::Unreadable,
            model::ConflictKind::UntrustedBase => wit::ConflictKind::UntrustedBase,
        }
    }
}

impl From<model::Change> for wit::Change {
    fn from(c: model::Change) -> Self {
        wit::Change {
            path: c.path,
            action: c.action.into(),
            resource: (&c.resource).into(),
            base_sha: c.base_sha,
            remote_sha: c.remote_sha,
            new_sha: c.new_sha,
            old_content: c.old_content,
            new_content: c.new_content,
        }
    }
}

impl From<model::Conflict> for wit::Conflict {
    fn from(c: model::Conflict) -> Self {
        wit::Conflict {
            path: c.path,
            kind: c.kind.into(),
            reason: c.reason,
            resource: (&c.resource).into(),
            expected_sha: c.expected_sha,
            actual_sha: c.actual_sha,
            git_content: c.git_content,
            hnp_content: c.hnp_content,
        }
    }
}

impl From<model::SyncReport> for wit::SyncReport {
    fn from(r: model::SyncReport) -> Self {
        wit::SyncReport {
            base_commit: r.base_commit,
            commit: r.commit,
            message: r.message,
            changes: r.changes.into_iter().map(Into::into).collect(),
            conflicts: r.conflicts.into_iter().map(Into::into).collect(),
            invalid: r.invalid.into_iter().map(Into::into).collect(),
            hnp_changes: r.hnp_changes.into_iter().map(Into::into).collect(),
            raw_errors: r.raw_errors.into_iter().map(Into::into).collect(),
            unchanged: r.unchanged,
            requests: r.requests,
            attempts: r.attempts,
            warnings: r.warnings,
        }
    }
}

impl From<model::InvalidResource> for wit::InvalidResource {
    fn from(e: model::InvalidResource) -> Self {
        wit::InvalidResource { kind: e.kind, namespace: e.namespace, name: e.name, field: e.field, message: e.message }
    }
}

impl From<model::SyncError> for wit::SyncError {
    fn from(e: model::SyncError) -> Self {
        use model::SyncError as E;
        match e {
            E::InvalidResource(e) => wit::SyncError::InvalidResource(e.into()),
            E::InvalidManifest(e) => wit::SyncError::InvalidManifest(wit::InvalidManifest {
                source: e.source,
                document: e.document,
                message: e.message,
            }),
            E::InvalidTarget(m) => wit::SyncError::InvalidTarget(m),
            E::BranchNotFound(b) => wit::SyncError::BranchNotFound(b),
            E::Remote(e) => wit::SyncError::Remote(wit::RemoteError {
                method: e.method,
                url: e.url,
                status: e.status,
                message: e.message,
            }),
            E::RateLimited(r) => {
                wit::SyncError::RateLimited(wit::RateLimit { reset_at: r.reset_at, message: r.message })
            }
            E::Transport(m) => wit::SyncError::Transport(m),
            E::TooManyRaces(n) => wit::SyncError::TooManyRaces(n),
            E::Source(m) => wit::SyncError::Source(m),
            E::TooManyDeletions(g) => wit::SyncError::TooManyDeletions(wit::DeletionGuard {
                deletions: g.deletions,
                managed: g.managed,
                limit: g.limit,
            }),
            E::BranchProtected(e) => wit::SyncError::BranchProtected(wit::RemoteError {
                method: e.method,
                url: e.url,
                status: e.status,
                message: e.message,
            }),
            E::ForeignState(s) => wit::SyncError::ForeignState(wit::ForeignState {
                path: s.path,
                fabric: s.fabric,
                directory: s.directory,
            }),
        }
    }
}

impl From<model::InvalidResource> for wit::SyncError {
    fn from(e: model::InvalidResource) -> Self {
        model::SyncError::InvalidResource(e).into()
    }
}

/// Untrusted like every WIT input: the directory is normalized and the deleted refs validated.
impl TryFrom<wl::PlanInput> for PlanInput {
    type Error = model::SyncError;

    fn try_from(input: wl::PlanInput) -> Result<Self, Self::Error> {
        Ok(PlanInput {
            directory: path::normalize_directory(&input.directory)?,
            remote_files: input.remote_files.into_iter().collect(),
            state: input.state,
            contents: input.contents.into_iter().collect(),
            desired: input.desired.into_iter().map(Into::into).collect(),
            deleted: input.deleted.iter().map(resource_ref).collect::<Result<Vec<_>, _>>()?,
            complete: input.complete,
            resolutions: input.resolutions.into_iter().map(Into::into).collect(),
            fabric: input.fabric,
            untrusted: input.untrusted.into_iter().collect(),
            unreadable: input.unreadable.into_iter().collect(),
            direction: input.direction.into(),
            refused: input.refused.into_iter().collect(),
        })
    }
}

impl From<wl::FileVersion> for FileVersion {
    fn from(f: wl::FileVersion) -> Self {
        FileVersion { sha: f.sha, content: f.content }
    }
}

impl From<Verdict> for wl::Verdict {
    fn from(v: Verdict) -> Self {
        match v {
            Verdict::Unchanged => wl::Verdict::Unchanged,
            Verdict::Apply(a) => wl::Verdict::Apply(a.into()),
            Verdict::Conflict(k) => wl::Verdict::Conflict(k.into()),
            Verdict::NeedContent(ContentNeeded { base, remote }) => {
                wl::Verdict::NeedContent(wl::ContentNeeded { base, remote })
            }
            Verdict::Untracked => wl::Verdict::Untracked,
        }
    }
}

impl From<FileWrite> for wl::FileWrite {
    fn from(w: FileWrite) -> Self {
        wl::FileWrite { path: w.path, content: w.content }
    }
}

impl From<CommitPlan> for wl::CommitPlan {
    fn from(p: CommitPlan) -> Self {
        wl::CommitPlan {
            changes: p.changes.into_iter().map(Into::into).collect(),
            conflicts: p.conflicts.into_iter().map(Into::into).collect(),
            invalid: p.invalid.into_iter().map(Into::into).collect(),
            unchanged: p.unchanged,
            need_contents: p.need_contents,
            writes: p.writes.into_iter().map(Into::into).collect(),
            hnp_changes: p.hnp_changes.into_iter().map(Into::into).collect(),
            raw_errors: p.raw_errors.into_iter().map(Into::into).collect(),
            message: p.message,
        }
    }
}
