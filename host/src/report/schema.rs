//! The `--json` contract: the outcome types with every field name and enum spelling pinned
//! here (not derived from the WIT bindings), and the one conversion from the WIT types.
//! Documented field by field in `docs/json-schema.md`; change both together.

use serde::{Deserialize, Serialize};

use crate::wit;

/// Bumped when a field of the JSON output changes meaning or goes away.
pub const SCHEMA_VERSION: u32 = 1;

/// The outcome of `plan` / `sync` / `resolve` (and `replay`) for one fabric.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncOutcome {
    pub schema: u32,
    pub fabric: String,
    pub remote: String,
    pub branch: String,
    pub directory: String,
    pub dry_run: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report: Option<Report>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorReport>,
}

/// What a sync did (or, for a dry run, would do).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Report {
    pub base_commit: Option<String>,
    pub commit: Option<String>,
    pub message: Option<String>,
    pub changes: Vec<Change>,
    pub conflicts: Vec<Conflict>,
    /// CRs that fail validation: reported, their files left alone.
    pub invalid: Vec<InvalidCr>,
    /// CRs a pull wrote into HNP (a dry run: would write); refused ones say why.
    #[serde(default)]
    pub hnp_changes: Vec<HnpChange>,
    /// `raw/` files left in place because they cannot be ingested.
    #[serde(default)]
    pub raw_errors: Vec<RawError>,
    pub unchanged: u32,
    pub requests: u32,
    pub attempts: u32,
    pub warnings: Vec<String>,
}

/// One CR write of a pull (Git -> HNP).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HnpChange {
    pub op: HnpOp,
    pub resource: Resource,
    /// The Git file it comes from (a managed file or a `raw/` file).
    pub path: String,
    /// For `update`: the fields written, among `spec`, `labels`, `annotations`.
    pub fields: Vec<String>,
    /// HNP's refusal, in its words; `null` when done (or planned).
    pub refused: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HnpOp {
    Create,
    Update,
    Delete,
}

/// A `raw/` file (or one document of it) that cannot be ingested.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawError {
    pub path: String,
    pub document: u32,
    pub field: String,
    pub message: String,
}

/// A CR HNP has that fails validation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InvalidCr {
    pub kind: String,
    pub namespace: String,
    pub name: String,
    pub field: String,
    pub message: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Change {
    pub path: String,
    pub action: Action,
    pub resource: Resource,
    pub base_sha: Option<String>,
    pub remote_sha: Option<String>,
    pub new_sha: Option<String>,
    pub old_content: Option<String>,
    pub new_content: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    Create,
    Update,
    Delete,
    Adopt,
    Forget,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Resource {
    pub kind: String,
    pub namespace: String,
    pub name: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Conflict {
    pub path: String,
    pub kind: ConflictKind,
    pub reason: String,
    pub resource: Resource,
    pub expected_sha: Option<String>,
    pub actual_sha: Option<String>,
    pub git_content: Option<String>,
    pub hnp_content: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConflictKind {
    ModifiedInGit,
    DeletedInGit,
    CreatedInGit,
    Unreadable,
    UntrustedBase,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorReport {
    pub message: String,
    /// The guest's typed error, when the failure came from the sync itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<ErrorDetail>,
}

/// A guest error as a tagged object: `{"type": "branch-not-found", "branch": "main"}`.
/// The tag is `type` because `invalid-resource` has a `kind` of its own.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case", deny_unknown_fields)]
pub enum ErrorDetail {
    InvalidResource { kind: String, namespace: String, name: String, field: String, message: String },
    InvalidManifest { source: String, document: u32, message: String },
    InvalidTarget { message: String },
    BranchNotFound { branch: String },
    Remote { method: String, url: String, status: u16, message: String },
    RateLimited { reset_at: u64, message: String },
    Transport { message: String },
    TooManyRaces { attempts: u32 },
    Source { message: String },
    TooManyDeletions { deletions: u32, managed: u32, limit: u32 },
    BranchProtected { method: String, url: String, status: u16, message: String },
    ForeignState { path: String, fabric: String, directory: String },
}

impl SyncOutcome {
    /// The outcome of one fabric's sync against `target` (its branch and directory), as
    /// `remote` names the repository. The one place an outcome is built.
    pub fn new(
        fabric: String,
        remote: String,
        target: &wit::Target,
        dry_run: bool,
        result: Result<wit::SyncReport, ErrorReport>,
    ) -> SyncOutcome {
        let (report, error) = match result {
            Ok(report) => (Some(Report::from(report)), None),
            Err(error) => (None, Some(error)),
        };
        SyncOutcome {
            schema: SCHEMA_VERSION,
            fabric,
            remote,
            branch: target.branch.clone(),
            directory: target.directory.clone(),
            dry_run,
            report,
            error,
        }
    }
}

impl From<wit::SyncError> for ErrorReport {
    fn from(e: wit::SyncError) -> ErrorReport {
        ErrorReport { message: e.describe(), detail: Some(ErrorDetail::from(e)) }
    }
}

impl From<wit::SyncReport> for Report {
    fn from(r: wit::SyncReport) -> Report {
        Report {
            base_commit: r.base_commit,
            commit: r.commit,
            message: r.message,
            changes: r.changes.into_iter().map(Change::from).collect(),
            conflicts: r.conflicts.into_iter().map(Conflict::from).collect(),
            invalid: r
                .invalid
                .into_iter()
                .map(|e| InvalidCr {
                    kind: e.kind,
                    namespace: e.namespace,
                    name: e.name,
                    field: e.field,
                    message: e.message,
                })
                .collect(),
            hnp_changes: r.hnp_changes.into_iter().map(HnpChange::from).collect(),
            raw_errors: r
                .raw_errors
                .into_iter()
                .map(|e| RawError { path: e.path, document: e.document, field: e.field, message: e.message })
                .collect(),
            unchanged: r.unchanged,
            requests: r.requests,
            attempts: r.attempts,
            warnings: r.warnings,
        }
    }
}

impl From<wit::HnpOutcome> for HnpChange {
    fn from(o: wit::HnpOutcome) -> HnpChange {
        let c = o.change;
        HnpChange {
            op: match c.op {
                wit::HnpOp::Create => HnpOp::Create,
                wit::HnpOp::Update => HnpOp::Update,
                wit::HnpOp::Delete => HnpOp::Delete,
            },
            resource: Resource {
                namespace: wit::namespace_or_default(&c.resource.namespace).to_string(),
                kind: c.resource.kind,
                name: c.resource.name,
            },
            path: c.path,
            fields: c.fields,
            refused: o.refused,
        }
    }
}

impl HnpOp {
    pub fn as_str(self) -> &'static str {
        match self {
            HnpOp::Create => "create",
            HnpOp::Update => "update",
            HnpOp::Delete => "delete",
        }
    }
}

impl From<wit::Change> for Change {
    fn from(c: wit::Change) -> Change {
        Change {
            path: c.path,
            action: c.action.into(),
            resource: c.resource.into(),
            base_sha: c.base_sha,
            remote_sha: c.remote_sha,
            new_sha: c.new_sha,
            old_content: c.old_content,
            new_content: c.new_content,
        }
    }
}

impl From<wit::Action> for Action {
    fn from(a: wit::Action) -> Action {
        match a {
            wit::Action::Create => Action::Create,
            wit::Action::Update => Action::Update,
            wit::Action::Delete => Action::Delete,
            wit::Action::Adopt => Action::Adopt,
            wit::Action::Forget => Action::Forget,
        }
    }
}

impl From<wit::ResourceRef> for Resource {
    fn from(r: wit::ResourceRef) -> Resource {
        Resource { kind: r.kind, namespace: r.namespace, name: r.name }
    }
}

impl From<wit::Conflict> for Conflict {
    fn from(c: wit::Conflict) -> Conflict {
        Conflict {
            path: c.path,
            kind: c.kind.into(),
            reason: c.reason,
            resource: c.resource.into(),
            expected_sha: c.expected_sha,
            actual_sha: c.actual_sha,
            git_content: c.git_content,
            hnp_content: c.hnp_content,
        }
    }
}

impl From<wit::ConflictKind> for ConflictKind {
    fn from(k: wit::ConflictKind) -> ConflictKind {
        match k {
            wit::ConflictKind::ModifiedInGit => ConflictKind::ModifiedInGit,
            wit::ConflictKind::DeletedInGit => ConflictKind::DeletedInGit,
            wit::ConflictKind::CreatedInGit => ConflictKind::CreatedInGit,
            wit::ConflictKind::Unreadable => ConflictKind::Unreadable,
            wit::ConflictKind::UntrustedBase => ConflictKind::UntrustedBase,
        }
    }
}

impl From<wit::SyncError> for ErrorDetail {
    fn from(e: wit::SyncError) -> ErrorDetail {
        match e {
            wit::SyncError::InvalidResource(e) => ErrorDetail::InvalidResource {
                kind: e.kind,
                namespace: e.namespace,
                name: e.name,
                field: e.field,
                message: e.message,
            },
            wit::SyncError::InvalidManifest(e) => {
                ErrorDetail::InvalidManifest { source: e.source, document: e.document, message: e.message }
            }
            wit::SyncError::InvalidTarget(message) => ErrorDetail::InvalidTarget { message },
            wit::SyncError::BranchNotFound(branch) => ErrorDetail::BranchNotFound { branch },
            wit::SyncError::Remote(e) => {
                ErrorDetail::Remote { method: e.method, url: e.url, status: e.status, message: e.message }
            }
            wit::SyncError::RateLimited(r) => ErrorDetail::RateLimited { reset_at: r.reset_at, message: r.message },
            wit::SyncError::Transport(message) => ErrorDetail::Transport { message },
            wit::SyncError::TooManyRaces(attempts) => ErrorDetail::TooManyRaces { attempts },
            wit::SyncError::Source(message) => ErrorDetail::Source { message },
            wit::SyncError::TooManyDeletions(g) => {
                ErrorDetail::TooManyDeletions { deletions: g.deletions, managed: g.managed, limit: g.limit }
            }
            wit::SyncError::BranchProtected(e) => {
                ErrorDetail::BranchProtected { method: e.method, url: e.url, status: e.status, message: e.message }
            }
            wit::SyncError::ForeignState(s) => {
                ErrorDetail::ForeignState { path: s.path, fabric: s.fabric, directory: s.directory }
            }
        }
    }
}

impl Action {
    /// As JSON spells it: `create`, `update`, `delete`, `adopt`, `forget`.
    pub fn as_str(self) -> &'static str {
        wit::Action::from(self).as_str()
    }
}

impl From<Action> for wit::Action {
    fn from(a: Action) -> wit::Action {
        match a {
            Action::Create => wit::Action::Create,
            Action::Update => wit::Action::Update,
            Action::Delete => wit::Action::Delete,
            Action::Adopt => wit::Action::Adopt,
            Action::Forget => wit::Action::Forget,
        }
    }
}

impl ConflictKind {
    /// What happened, for people.
    pub fn describe(self) -> &'static str {
        match self {
            ConflictKind::ModifiedInGit => wit::ConflictKind::ModifiedInGit.describe(),
            ConflictKind::DeletedInGit => wit::ConflictKind::DeletedInGit.describe(),
            ConflictKind::CreatedInGit => wit::ConflictKind::CreatedInGit.describe(),
            ConflictKind::Unreadable => wit::ConflictKind::Unreadable.describe(),
            ConflictKind::UntrustedBase => wit::ConflictKind::UntrustedBase.describe(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference(name: &str) -> wit::ResourceRef {
        wit::ResourceRef { kind: "VPC".into(), namespace: "default".into(), name: name.into() }
    }

    fn change(action: wit::Action, name: &str) -> wit::Change {
        let sha = |c: char| Some(c.to_string().repeat(40));
        wit::Change {
            path: format!("fabrics/dc1/gitops/managed/vpcs/{name}.yaml"),
            action,
            resource: reference(name),
            base_sha: (action != wit::Action::Create).then(|| sha('b')).flatten(),
            remote_sha: (action != wit::Action::Create).then(|| sha('r')).flatten(),
            new_sha: (!matches!(action, wit::Action::Delete | wit::Action::Forget)).then(|| sha('n')).flatten(),
            old_content: (action == wit::Action::Update).then(|| "vlan: 1001\n".into()),
            new_content: (action == wit::Action::Update).then(|| "vlan: 1555\n".into()),
        }
    }

    fn target() -> wit::Target {
        wit::Target {
            api_base: "http://local.fgd-sync.invalid".into(),
            owner: "local".into(),
            repo: "fabric".into(),
            branch: "main".into(),
            directory: "fabrics/dc1/gitops".into(),
            committer: None,
            message_prefix: String::new(),
        }
    }

    /// The `--json` contract, byte for byte: a report with every action and every conflict
    /// kind, then the `error.detail` of every guest error, one per line. A change here is a
    /// change of the contract: update `docs/json-schema.md` (and `SCHEMA_VERSION` when a field
    /// changes meaning or goes away) with it.
    #[test]
    fn json_output_matches_the_snapshot() {
        use wit::{Action as A, ConflictKind as K};
        let conflict = |kind: K, name: &str| wit::Conflict {
            path: format!("fabrics/dc1/gitops/managed/vpcs/{name}.yaml"),
            kind,
            reason: format!("{} (why)", kind.describe()),
            resource: reference(name),
            expected_sha: Some("e".repeat(40)),
            actual_sha: (kind != K::DeletedInGit).then(|| "a".repeat(40)),
            git_content: (kind != K::DeletedInGit).then(|| "vlan: 1999\n".into()),
            hnp_content: Some("vlan: 1555\n".into()),
        };
        let hnp_change = |op: wit::HnpOp, name: &str, fields: &[&str]| wit::HnpChange {
            op,
            resource: wit::CustomResource {
                kind: "VPC".into(),
                api_version: None,
                name: name.into(),
                namespace: String::new(),
                labels: "{}".into(),
                annotations: "{}".into(),
                spec: "{}".into(),
            },
            expected: None,
            fields: fields.iter().map(|f| f.to_string()).collect(),
            path: format!("fabrics/dc1/gitops/managed/vpcs/{name}.yaml"),
            records_sync: true,
        };
        let report = wit::SyncReport {
            base_commit: Some("1".repeat(40)),
            commit: Some("2".repeat(40)),
            message: Some("Sync 5 resources".into()),
            changes: vec![
                change(A::Create, "vpc-1"),
                change(A::Update, "vpc-2"),
                change(A::Delete, "vpc-3"),
                change(A::Adopt, "vpc-4"),
                change(A::Forget, "vpc-5"),
            ],
            conflicts: vec![
                conflict(K::ModifiedInGit, "vpc-6"),
                conflict(K::DeletedInGit, "vpc-7"),
                conflict(K::CreatedInGit, "vpc-8"),
                conflict(K::Unreadable, "vpc-9"),
                conflict(K::UntrustedBase, "vpc-10"),
            ],
            invalid: vec![wit::InvalidResource {
                kind: "VPC".into(),
                namespace: "default".into(),
                name: "vpc-11".into(),
                field: "spec.subnets".into(),
                message: "must be an object".into(),
            }],
            hnp_changes: vec![
                wit::HnpOutcome { change: hnp_change(wit::HnpOp::Update, "vpc-12", &["spec"]), refused: None },
                wit::HnpOutcome {
                    change: hnp_change(wit::HnpOp::Create, "vpc-13", &[]),
                    refused: Some("400 Bad Request: {\"spec\": [\"This field is required.\"]}".into()),
                },
            ],
            raw_errors: vec![wit::RawError {
                path: "fabrics/dc1/gitops/raw/new.yaml".into(),
                document: 1,
                field: "metadata.name".into(),
                message: "must be a DNS-1123 subdomain".into(),
            }],
            unchanged: 12,
            requests: 6,
            attempts: 1,
            warnings: vec!["recording the sync in NetBox failed".into()],
        };
        let outcome =
            SyncOutcome::new("dc1".into(), "local repository fabric.git".into(), &target(), false, Ok(report));
        let errors = [
            wit::SyncError::InvalidResource(wit::InvalidResource {
                kind: "VPC".into(),
                namespace: "default".into(),
                name: "Vpc-1".into(),
                field: "metadata.name".into(),
                message: "upper case".into(),
            }),
            wit::SyncError::InvalidManifest(wit::InvalidManifest {
                source: "crs.yaml".into(),
                document: 2,
                message: "not YAML".into(),
            }),
            wit::SyncError::InvalidTarget("directory has ..".into()),
            wit::SyncError::BranchNotFound("main".into()),
            wit::SyncError::Remote(wit::RemoteError {
                method: "PATCH".into(),
                url: "https://api.github.com/repos/acme/fabric/git/refs/heads/main".into(),
                status: 422,
                message: "Update is not a fast forward".into(),
            }),
            wit::SyncError::RateLimited(wit::RateLimit { reset_at: 951_782_400, message: "slow down".into() }),
            wit::SyncError::Transport("connection refused".into()),
            wit::SyncError::TooManyRaces(5),
            wit::SyncError::Source("NetBox answered 500".into()),
            wit::SyncError::TooManyDeletions(wit::DeletionGuard { deletions: 30, managed: 30, limit: 29 }),
            wit::SyncError::BranchProtected(wit::RemoteError {
                method: "PATCH".into(),
                url: "https://api.github.com/repos/acme/fabric/git/refs/heads/main".into(),
                status: 422,
                message: "Repository rule violations found".into(),
            }),
            wit::SyncError::ForeignState(wit::ForeignState {
                path: "fabrics/dc2/gitops/.hnp/sync-state.json".into(),
                fabric: "dc1".into(),
                directory: "fabrics/dc1/gitops".into(),
            }),
        ];
        let mut actual = format!("{}\n", outcome.to_json());
        for error in errors {
            let outcome = SyncOutcome::new("dc1".into(), "r".into(), &target(), true, Err(error.into()));
            actual.push_str(&serde_json::to_string(&outcome.error.unwrap().detail).unwrap());
            actual.push('\n');
        }
        let expected = include_str!("json-output.snapshot");
        assert!(actual == expected, "the --json output changed (report/json-output.snapshot); now:\n{actual}");
        // And it reads back into the same types (what the tests and cassettes rely on).
        let first = actual.split("\n}\n").next().unwrap().to_owned() + "\n}";
        assert_eq!(serde_json::from_str::<SyncOutcome>(&first).unwrap(), outcome);
    }
}
