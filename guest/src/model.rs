//! Domain types shared by every guest module: kinds, resources, targets, changes, conflicts,
//! reports and errors. Plain Rust, no WIT: `component::conv` maps these to the WIT types.
//!
//! The types that mirror a WIT type serialize exactly as a host's bindgen types do (field
//! names in snake_case, variants by their Rust names, externally tagged), so a host or a test
//! that runs this crate natively converts with a serde round trip instead of a copy of `conv`.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// The 12 Hedgehog kinds. Order is the order of kinds in commit messages and reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Kind {
    #[serde(rename = "VPC")]
    Vpc,
    #[serde(rename = "VPCAttachment")]
    VpcAttachment,
    #[serde(rename = "VPCPeering")]
    VpcPeering,
    #[serde(rename = "IPv4Namespace")]
    Ipv4Namespace,
    External,
    ExternalAttachment,
    ExternalPeering,
    Connection,
    Server,
    Switch,
    SwitchGroup,
    #[serde(rename = "VLANNamespace")]
    VlanNamespace,
}

/// Everything the product knows about one kind, from the CRDs and from HNP. `KINDS` is the
/// one table of kinds: the guest, the host's NetBox source and webhook receiver, and the
/// test stand-ins all read it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KindInfo {
    pub kind: Kind,
    /// The Kubernetes spelling: `VPC`, `VPCAttachment`, `Switch`, ...
    pub name: &'static str,
    /// `group/version`; both groups are `v1beta1` only (`v1alpha2` ended 2024-10-17).
    pub api_version: &'static str,
    /// The CRD's plural, the directory under `managed/`. It is the lowercase kind plus `s`
    /// except for `switches` (the CRDs, not the rule of thumb, are the truth).
    pub plural: &'static str,
    /// HNP's list endpoint under `<netbox>/api/plugins/hedgehog/`, with its trailing `/`.
    pub netbox_endpoint: &'static str,
    /// HNP's Django model name (a webhook's `object_type` is `netbox_hedgehog.<model>`).
    pub netbox_model: &'static str,
    /// Longest name the fabric accepts for this kind.
    pub max_name_len: usize,
}

const VPC_GROUP: &str = "vpc.githedgehog.com/v1beta1";
const WIRING_GROUP: &str = "wiring.githedgehog.com/v1beta1";

const fn kind(
    kind: Kind,
    name: &'static str,
    api_version: &'static str,
    plural: &'static str,
    netbox_endpoint: &'static str,
    netbox_model: &'static str,
    max_name_len: usize,
) -> KindInfo {
    KindInfo { kind, name, api_version, plural, netbox_endpoint, netbox_model, max_name_len }
}

/// The 12 kinds, in `Kind` order (checked when this crate compiles).
#[rustfmt::skip]
pub const KINDS: [KindInfo; 12] = [
    kind(Kind::Vpc, "VPC", VPC_GROUP, "vpcs", "vpcs/", "vpc", 11),
    kind(Kind::VpcAttachment, "VPCAttachment", VPC_GROUP, "vpcattachments", "vpc-attachments/", "vpcattachment", 253),
    kind(Kind::VpcPeering, "VPCPeering", VPC_GROUP, "vpcpeerings", "vpc-peerings/", "vpcpeering", 253),
    kind(Kind::Ipv4Namespace, "IPv4Namespace", VPC_GROUP, "ipv4namespaces", "ipv4-namespaces/", "ipv4namespace", 11),
    kind(Kind::External, "External", VPC_GROUP, "externals", "externals/", "external", 11),
    kind(Kind::ExternalAttachment, "ExternalAttachment", VPC_GROUP, "externalattachments", "external-attachments/", "externalattachment", 253),
    kind(Kind::ExternalPeering, "ExternalPeering", VPC_GROUP, "externalpeerings", "external-peerings/", "externalpeering", 253),
    kind(Kind::Connection, "Connection", WIRING_GROUP, "connections", "connections/", "connection", 253),
    kind(Kind::Server, "Server", WIRING_GROUP, "servers", "servers/", "server", 253),
    kind(Kind::Switch, "Switch", WIRING_GROUP, "switches", "switches/", "switch", 253),
    kind(Kind::SwitchGroup, "SwitchGroup", WIRING_GROUP, "switchgroups", "switch-groups/", "switchgroup", 253),
    kind(Kind::VlanNamespace, "VLANNamespace", WIRING_GROUP, "vlannamespaces", "vlan-namespaces/", "vlannamespace", 253),
];

// `Kind::info` indexes the table by discriminant.
const _: () = {
    let mut i = 0;
    while i < KINDS.len() {
        assert!(KINDS[i].kind as usize == i, "KINDS is not in Kind order");
        i += 1;
    }
};

impl Kind {
    pub const ALL: [Kind; 12] = {
        let mut all = [Kind::Vpc; 12];
        let mut i = 0;
        while i < KINDS.len() {
            all[i] = KINDS[i].kind;
            i += 1;
        }
        all
    };

    /// This kind's row of `KINDS`.
    pub fn info(self) -> &'static KindInfo {
        &KINDS[self as usize]
    }

    /// The Kubernetes spelling: `VPC`, `VPCAttachment`, `Switch`, ...
    pub fn as_str(self) -> &'static str {
        self.info().name
    }

    /// Exact Kubernetes spelling only: `vpc` is not a kind.
    pub fn parse(s: &str) -> Option<Kind> {
        KINDS.iter().find(|k| k.name == s).map(|k| k.kind)
    }

    /// The API group, from the CRDs.
    pub fn group(self) -> &'static str {
        self.api_version().split_once('/').map_or("", |(group, _)| group)
    }

    /// `group/version`.
    pub fn api_version(self) -> &'static str {
        self.info().api_version
    }

    /// Directory name under `managed/`: the CRD's plural.
    pub fn plural(self) -> &'static str {
        self.info().plural
    }

    /// Longest name the fabric accepts for this kind.
    pub fn max_name_len(self) -> usize {
        self.info().max_name_len
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Names one CR. Namespace is never empty here (`default` is filled in).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ResourceRef {
    pub kind: Kind,
    pub namespace: String,
    pub name: String,
}

impl fmt::Display for ResourceRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.namespace == DEFAULT_NAMESPACE {
            write!(f, "{} {}", self.kind, self.name)
        } else {
            write!(f, "{} {}/{}", self.kind, self.namespace, self.name)
        }
    }
}

pub const DEFAULT_NAMESPACE: &str = "default";

/// A CR exactly as a host handed it over: strings and JSON text, not yet trusted.
/// Mirrors WIT `custom-resource`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RawResource {
    pub kind: String,
    pub api_version: Option<String>,
    pub name: String,
    pub namespace: String,
    /// JSON object text; empty means `{}`.
    pub labels: String,
    /// JSON object text; empty means `{}`.
    pub annotations: String,
    /// JSON object text.
    pub spec: String,
}

/// A validated CR (see `validate`): every field is what the fabric accepts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Resource {
    pub kind: Kind,
    pub name: String,
    pub namespace: String,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub spec: serde_json::Map<String, serde_json::Value>,
}

impl Resource {
    pub fn reference(&self) -> ResourceRef {
        ResourceRef { kind: self.kind, namespace: self.namespace.clone(), name: self.name.clone() }
    }
}

/// Mirrors WIT `identity`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    pub name: String,
    pub email: String,
}

/// Where the FGD lives. Mirrors WIT `target`; holds no secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    pub api_base: String,
    pub owner: String,
    pub repo: String,
    pub branch: String,
    pub directory: String,
    pub committer: Option<Identity>,
    pub message_prefix: String,
}

/// Which way a sync carries edits. Mirrors WIT `direction`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Direction {
    /// HNP -> Git.
    #[default]
    Push,
    /// Git -> HNP.
    Pull,
    /// Git -> HNP, then HNP -> Git, in one run.
    Both,
}

impl Direction {
    pub fn pulls(self) -> bool {
        matches!(self, Direction::Pull | Direction::Both)
    }

    pub fn pushes(self) -> bool {
        matches!(self, Direction::Push | Direction::Both)
    }
}

/// Mirrors WIT `hnp-op`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum HnpOp {
    Create,
    Update,
    Delete,
}

/// One CR write a pull asks of HNP. Mirrors WIT `hnp-change`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HnpChange {
    pub op: HnpOp,
    /// Git's CR (for a delete: HNP's CR as read).
    pub resource: RawResource,
    /// HNP's CR the decision was made on; `None` for a create.
    pub expected: Option<RawResource>,
    /// For an update: which of `spec`, `labels`, `annotations` differ.
    pub fields: Vec<String>,
    /// The Git file the change comes from.
    pub path: String,
    /// `path` is the CR's managed file: the host records the sync with the write itself.
    pub records_sync: bool,
}

/// Mirrors WIT `hnp-outcome`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HnpOutcome {
    pub change: HnpChange,
    pub refused: Option<String>,
}

/// A `raw/` file, or one document of it, that cannot be ingested. Mirrors WIT `raw-error`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RawError {
    pub path: String,
    pub document: u32,
    pub field: String,
    pub message: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Action {
    Create,
    Update,
    Delete,
    Adopt,
    Forget,
}

impl Action {
    /// Writes or removes a file (as opposed to only updating the sync state).
    pub fn touches_file(self) -> bool {
        matches!(self, Action::Create | Action::Update | Action::Delete)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    pub path: String,
    pub action: Action,
    pub resource: ResourceRef,
    pub base_sha: Option<String>,
    pub remote_sha: Option<String>,
    pub new_sha: Option<String>,
    /// Dry runs only, for updates: the file in Git and as it would be written.
    pub old_content: Option<String>,
    pub new_content: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ConflictKind {
    ModifiedInGit,
    DeletedInGit,
    CreatedInGit,
    /// Git's file, or its base, cannot be read (not UTF-8, not YAML, gone from history).
    Unreadable,
    /// The state's entry was changed by a commit fgd-sync did not make.
    UntrustedBase,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conflict {
    pub path: String,
    pub kind: ConflictKind,
    /// One line for people: why writing would lose work.
    pub reason: String,
    pub resource: ResourceRef,
    pub expected_sha: Option<String>,
    pub actual_sha: Option<String>,
    pub git_content: Option<String>,
    pub hnp_content: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Side {
    Git,
    Hnp,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resolution {
    pub path: String,
    pub take: Side,
    /// What Git held when the user decided; `None`: pinned to what the sync reads first.
    pub expect: Option<GitVersion>,
}

/// The Git side of a conflict as the user saw it. Mirrors WIT `git-version`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum GitVersion {
    Absent,
    Blob(String),
}

/// Which CRs a sync covers. Mirrors WIT `selection`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Selection {
    /// The whole fabric: files in the sync state whose CR is gone are deleted.
    Fabric,
    /// Just these; a ref whose CR is gone deletes its file.
    Resources(Vec<ResourceRef>),
}

/// What a sync does with its plan. Mirrors the two functions of WIT `sync`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Read and plan; write nothing, record nothing.
    Plan,
    /// Write the plan as one commit.
    Sync,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncOptions {
    pub max_attempts: u32,
    pub max_rate_limit_wait_secs: u64,
    pub resolutions: Vec<Resolution>,
    /// Most managed files (pushed) plus CRs (pulled) one sync may delete; `None`: the
    /// default guard (`engine::deletion_limit`).
    pub max_deletions: Option<u32>,
    pub direction: Direction,
}

impl Default for SyncOptions {
    fn default() -> Self {
        SyncOptions {
            max_attempts: 5,
            max_rate_limit_wait_secs: 300,
            resolutions: Vec::new(),
            max_deletions: None,
            direction: Direction::Push,
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncReport {
    pub base_commit: Option<String>,
    pub commit: Option<String>,
    pub message: Option<String>,
    pub changes: Vec<Change>,
    pub conflicts: Vec<Conflict>,
    pub invalid: Vec<InvalidResource>,
    pub hnp_changes: Vec<HnpOutcome>,
    pub raw_errors: Vec<RawError>,
    pub unchanged: u32,
    pub requests: u32,
    pub attempts: u32,
    pub warnings: Vec<String>,
}

/// A CR that fails validation. `field` is a dotted path such as `metadata.labels.app`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvalidResource {
    pub kind: String,
    pub namespace: String,
    pub name: String,
    pub field: String,
    pub message: String,
}

impl fmt::Display for InvalidResource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = if self.kind.is_empty() { "resource" } else { &self.kind };
        let name = if self.name.is_empty() { "<unnamed>" } else { &self.name };
        if self.namespace.is_empty() || self.namespace == DEFAULT_NAMESPACE {
            write!(f, "{kind} {name:?}: field {}: {}", self.field, self.message)
        } else {
            write!(f, "{kind} {}/{name}: field {}: {}", self.namespace, self.field, self.message)
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvalidManifest {
    pub source: String,
    pub document: u32,
    pub message: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoteError {
    pub method: String,
    pub url: String,
    pub status: u16,
    pub message: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateLimit {
    pub reset_at: u64,
    pub message: String,
}

/// Mirrors WIT `sync-error`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SyncError {
    InvalidResource(InvalidResource),
    InvalidManifest(InvalidManifest),
    InvalidTarget(String),
    BranchNotFound(String),
    Remote(RemoteError),
    RateLimited(RateLimit),
    Transport(String),
    TooManyRaces(u32),
    Source(String),
    TooManyDeletions(DeletionGuard),
    BranchProtected(RemoteError),
    ForeignState(ForeignState),
}

/// Mirrors WIT `deletion-guard`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeletionGuard {
    pub deletions: u32,
    pub managed: u32,
    pub limit: u32,
}

/// Mirrors WIT `foreign-state`: what a state file of another fabric or directory names.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForeignState {
    pub path: String,
    pub fabric: String,
    pub directory: String,
}

impl From<InvalidResource> for SyncError {
    fn from(e: InvalidResource) -> Self {
        SyncError::InvalidResource(e)
    }
}

impl fmt::Display for SyncError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SyncError::InvalidResource(e) => write!(f, "invalid resource: {e}"),
            SyncError::InvalidManifest(e) => {
                write!(f, "invalid manifest {} (document {}): {}", e.source, e.document, e.message)
            }
            SyncError::InvalidTarget(m) => write!(f, "invalid target: {m}"),
            SyncError::BranchNotFound(b) => write!(f, "branch {b:?} not found in the repository"),
            SyncError::Remote(e) => write!(f, "GitHub {} {} answered {}: {}", e.method, e.url, e.status, e.message),
            SyncError::RateLimited(r) => write!(f, "rate limited until epoch {}: {}", r.reset_at, r.message),
            SyncError::Transport(m) => write!(f, "no answer from GitHub: {m}"),
            SyncError::TooManyRaces(n) => {
                write!(f, "another writer kept moving the branch; gave up after {n} attempts")
            }
            SyncError::Source(m) => write!(f, "HNP lookup failed: {m}"),
            SyncError::TooManyDeletions(g) => write!(
                f,
                "refusing to delete {} of {} managed files (the limit is {}); if HNP really lost \
                 these CRs, allow it with --allow-deletions {} (config: max_deletions)",
                g.deletions, g.managed, g.limit, g.deletions
            ),
            SyncError::BranchProtected(e) => write!(
                f,
                "the branch is protected: GitHub refused {} {} ({}): {}",
                e.method, e.url, e.status, e.message
            ),
            SyncError::ForeignState(s) => write!(
                f,
                "{} belongs to fabric {:?} in directory {:?}, not to this one; a copied directory \
                 or two fabrics configured on one directory",
                s.path, s.fabric, s.directory
            ),
        }
    }
}

impl std::error::Error for SyncError {}
