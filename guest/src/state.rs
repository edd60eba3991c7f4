//! The sync state file (`<directory>/.hnp/sync-state.json`): which fabric and directory it
//! belongs to and, for every file the sync wrote or confirmed, the blob SHA it had then. It is
//! the "base" of the three-way compare, lives in the repository so every host shares it, and
//! changes in the same commit as the files.
//!
//! Version 2 (written since issue 10):
//!
//! ```json
//! {
//!   "version": 2,
//!   "generator": "fgd-sync",
//!   "fabric": "dc1",
//!   "directory": "fabrics/dc1/gitops",
//!   "files": {
//!     "managed/vpcs/vpc-1.yaml": {
//!       "kind": "VPC",
//!       "namespace": "default",
//!       "name": "vpc-1",
//!       "sha": "<40 hex>"
//!     },
//!     "managed/vpcs/vpc-2.yaml": {
//!       "kind": "VPC",
//!       "namespace": "default",
//!       "name": "vpc-2",
//!       "sha": "<40 hex>",
//!       "deleted": true
//!     }
//!   }
//! }
//! ```
//!
//! - `fabric` and `directory` name the owner; a plan for another fabric or directory refuses
//!   the state (`SyncError::ForeignState`): a directory copied with its state must not let the
//!   new fabric delete the old one's files. Either is left out while unknown (a state written
//!   by the engine's first commit, or a `logic.plan` caller that does not name its fabric) and
//!   recorded by the next plan that writes the state.
//! - An entry's optional `rendered` is the blob SHA of fgd-sync's rendering when it differs
//!   from `sha` (a file adopted in other formatting, or Git's version kept in a conflict).
//! - `"untrusted": true` marks an entry that a commit fgd-sync did not make changed (a revert of
//!   a sync commit, a hand edit of this file): the engine found it once, and the mark keeps the
//!   path a conflict in later syncs too, until the user settles it (`resolve`), HNP comes to
//!   agree with Git, or the CR and the file are both gone.
//! - `"deleted": true` is a tombstone: the user kept Git's deletion of a file whose CR HNP
//!   still has (`resolve --take git`); `sha` is then HNP's rendering at that time, and there
//!   is no file. Tombstones are not managed files.
//!
//! Version 1 (no `fabric`, `directory` or `deleted`) is still read; the next plan that writes
//! the state writes version 2. Any other version, and any unknown field, is refused.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::blob;
use crate::model::{Kind, ResourceRef};
use crate::path;
use crate::validate;

/// The version this fgd-sync writes.
pub const STATE_VERSION: u32 = 2;

/// Versions this fgd-sync reads.
const READS: [u32; 2] = [1, 2];

/// Written into every state file; any value is accepted on reading.
pub const GENERATOR: &str = "fgd-sync";

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SyncState {
    /// The fabric the state belongs to; `None` while not recorded.
    pub fabric: Option<String>,
    /// The fabric directory (normalized) the state belongs to; `None` while not recorded.
    pub directory: Option<String>,
    /// Keyed by path relative to the fabric directory (`managed/vpcs/vpc-1.yaml`).
    pub files: BTreeMap<String, StateEntry>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateEntry {
    pub resource: ResourceRef,
    /// Blob SHA of the file in Git when the sync last wrote or confirmed it; for a tombstone,
    /// the blob SHA of HNP's rendering when Git's deletion was kept.
    pub sha: String,
    /// Blob SHA of fgd-sync's rendering at that time, when it differs from `sha` (the file
    /// was adopted with other formatting, or the user kept Git's version of a conflict).
    /// Always `None` for a tombstone.
    pub rendered: Option<String>,
    /// A tombstone: Git's deletion was kept while HNP still had the CR (see the module doc).
    pub deleted: bool,
    /// The entry was changed by a commit fgd-sync did not make (a revert, a hand edit) and
    /// the user has not settled the path since: it is no base to write from.
    pub untrusted: bool,
}

impl StateEntry {
    /// A tombstone for a file Git deleted on purpose while HNP has the CR rendered as `rendered`.
    pub fn tombstone(resource: ResourceRef, rendered: &str) -> StateEntry {
        StateEntry { resource, sha: rendered.to_string(), rendered: None, deleted: true, untrusted: false }
    }
}

impl SyncState {
    /// Files the sync manages (wrote or confirmed and may delete): every entry but tombstones.
    pub fn managed(&self) -> impl Iterator<Item = (&String, &StateEntry)> {
        self.files.iter().filter(|(_, e)| !e.deleted)
    }
}

/// The file as stored. Field order here is the order in the file.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StateFile {
    version: u32,
    generator: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    fabric: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    directory: Option<String>,
    files: BTreeMap<String, FileRecord>,
}

/// Unknown fields are refused rather than dropped: a state rewritten by an older fgd-sync
/// must not silently lose what a newer one recorded.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileRecord {
    kind: Kind,
    namespace: String,
    name: String,
    sha: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    rendered: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    deleted: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    untrusted: bool,
}

impl SyncState {
    /// Parses the state file. An unknown `version` is an error, not a guess. Every path must
    /// be the managed path of its entry's (valid) CR: the state decides which files the sync
    /// may delete, so it may name nothing else.
    pub fn parse(text: &str) -> Result<SyncState, String> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| format!("sync state is not valid JSON: {e}"))?;
        // The version is checked before the shape: another version may have another shape.
        let version = match value.get("version") {
            Some(serde_json::Value::Number(n))
                if n.as_u64().is_some_and(|v| READS.iter().any(|r| u64::from(*r) == v)) =>
            {
                n.as_u64().unwrap_or_default()
            }
            Some(other) => {
                return Err(format!(
                    "sync state version {other} is not supported (this fgd-sync reads versions 1 and {STATE_VERSION})"
                ))
            }
            None => return Err("sync state has no `version`".to_string()),
        };
        let file: StateFile = serde_json::from_value(value).map_err(|e| format!("sync state: {e}"))?;
        if version == 1 {
            // Version 1 had none of these: a file that has them is not what it says it is.
            let newer = file.fabric.is_some()
                || file.directory.is_some()
                || file.files.values().any(|r| r.deleted || r.untrusted);
            if newer {
                return Err("sync state version 1 has no `fabric`, `directory` or `deleted` (version 2 has)".into());
            }
        }
        if let Some(fabric) = &file.fabric {
            if fabric.is_empty() || fabric.chars().any(char::is_control) {
                return Err(format!("sync state `fabric` {fabric:?} is not a fabric name"));
            }
        }
        if let Some(directory) = &file.directory {
            if path::normalize_directory(directory).ok().as_ref() != Some(directory) {
                return Err(format!(
                    "sync state `directory` {directory:?} is not a normalized directory (no leading or trailing `/`, `.`, `..` or empty segments)"
                ));
            }
        }
        let mut files = BTreeMap::new();
        for (key, record) in file.files {
            let entry = entry(&key, record)?;
            files.insert(key, entry);
        }
        Ok(SyncState { fabric: file.fabric, directory: file.directory, files })
    }

    /// Canonical text: pretty JSON (2-space indent), fields in a fixed order, files sorted by
    /// path, trailing newline. Same state, same bytes. Always the current version.
    pub fn to_text(&self) -> String {
        let file = StateFile {
            version: STATE_VERSION,
            generator: GENERATOR.to_string(),
            fabric: self.fabric.clone(),
            directory: self.directory.clone(),
            files: self
                .files
                .iter()
                .map(|(key, e)| {
                    let record = FileRecord {
                        kind: e.resource.kind,
                        namespace: e.resource.namespace.clone(),
                        name: e.resource.name.clone(),
                        sha: e.sha.clone(),
                        rendered: e.rendered.clone(),
                        deleted: e.deleted,
                        untrusted: e.untrusted,
                    };
                    (key.clone(), record)
                })
                .collect(),
        };
        let mut text = serde_json::to_string_pretty(&file).expect("structs of strings and string-keyed maps serialize");
        text.push('\n');
        text
    }
}

/// Checks one record of the file.
fn entry(key: &str, record: FileRecord) -> Result<StateEntry, String> {
    let bad_path = key.is_empty()
        || key.starts_with('/')
        || key.split('/').any(|s| s.is_empty() || s == "." || s == "..")
        || key.chars().any(|c| c.is_control() || c == '\\');
    if bad_path {
        return Err(format!(
            "sync state path {key:?} is not a relative path (no leading `/`, `.`, `..` or empty segments)"
        ));
    }
    if !blob::is_sha(&record.sha) {
        return Err(format!("sync state path {key:?}: `sha` {:?} is not a 40-digit lowercase hex SHA", record.sha));
    }
    if let Some(rendered) = &record.rendered {
        if !blob::is_sha(rendered) {
            return Err(format!(
                "sync state path {key:?}: `rendered` {rendered:?} is not a 40-digit lowercase hex SHA"
            ));
        }
        if record.deleted {
            return Err(format!(
                "sync state path {key:?}: a `deleted` entry has no `rendered` (its `sha` is HNP's rendering)"
            ));
        }
    }
    let resource = validate::resource_ref(record.kind.as_str(), &record.namespace, &record.name)
        .map_err(|e| format!("sync state path {key:?}: {e}"))?;
    if resource.namespace != record.namespace {
        return Err(format!("sync state path {key:?}: namespace must be spelled out (`default`)"));
    }
    let expected = path::managed_relative_path(&resource);
    if key != expected {
        return Err(format!("sync state path {key:?} is not the file of {resource} (that is {expected:?})"));
    }
    // `rendered` equal to `sha` says nothing more: keep one spelling of each state.
    let rendered = record.rendered.filter(|r| *r != record.sha);
    Ok(StateEntry { resource, sha: record.sha, rendered, deleted: record.deleted, untrusted: record.untrusted })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA1: &str = "3f3f005b29247e51a4f4d6b8ce07b67646cd6074";
    const SHA2: &str = "ce013625030ba8dba906f756967f9e9ca394464a";

    fn vpc(name: &str) -> ResourceRef {
        ResourceRef { kind: Kind::Vpc, namespace: "default".into(), name: name.into() }
    }

    fn sample() -> SyncState {
        let mut files = BTreeMap::new();
        files.insert(
            "managed/vpcs/vpc-1.yaml".to_string(),
            StateEntry { resource: vpc("vpc-1"), sha: SHA1.into(), rendered: None, deleted: false, untrusted: false },
        );
        files.insert("managed/vpcs/vpc-2.yaml".to_string(), StateEntry::tombstone(vpc("vpc-2"), SHA2));
        files.insert(
            "managed/switches/team-a/leaf-01.yaml".to_string(),
            StateEntry {
                resource: ResourceRef { kind: Kind::Switch, namespace: "team-a".into(), name: "leaf-01".into() },
                sha: SHA1.into(),
                rendered: Some(SHA2.into()),
                deleted: false,
                untrusted: false,
            },
        );
        SyncState { fabric: Some("dc1".into()), directory: Some("fabrics/dc1/gitops".into()), files }
    }

    #[test]
    fn canonical_text() {
        let want = format!(
            r#"{{
  "version": 2,
  "generator": "fgd-sync",
  "fabric": "dc1",
  "directory": "fabrics/dc1/gitops",
  "files": {{
    "managed/switches/team-a/leaf-01.yaml": {{
      "kind": "Switch",
      "namespace": "team-a",
      "name": "leaf-01",
      "sha": "{SHA1}",
      "rendered": "{SHA2}"
    }},
    "managed/vpcs/vpc-1.yaml": {{
      "kind": "VPC",
      "namespace": "default",
      "name": "vpc-1",
      "sha": "{SHA1}"
    }},
    "managed/vpcs/vpc-2.yaml": {{
      "kind": "VPC",
      "namespace": "default",
      "name": "vpc-2",
      "sha": "{SHA2}",
      "deleted": true
    }}
  }}
}}
"#
        );
        assert_eq!(sample().to_text(), want);
        assert_eq!(SyncState::parse(&want).unwrap(), sample());
        let state = sample();
        let managed: Vec<&str> = state.managed().map(|(k, _)| k.as_str()).collect();
        assert_eq!(managed, ["managed/switches/team-a/leaf-01.yaml", "managed/vpcs/vpc-1.yaml"], "no tombstone");
    }

    #[test]
    fn round_trips() {
        let root = SyncState { fabric: Some("dc1".into()), directory: Some(String::new()), ..sample() };
        for state in [SyncState::default(), sample(), root] {
            let text = state.to_text();
            let back = SyncState::parse(&text).unwrap();
            assert_eq!(back, state);
            assert_eq!(back.to_text(), text);
        }
        assert_eq!(
            SyncState::default().to_text(),
            "{\n  \"version\": 2,\n  \"generator\": \"fgd-sync\",\n  \"files\": {}\n}\n",
            "an owner not yet known is left out"
        );
    }

    #[test]
    fn reads_any_formatting_and_generator() {
        let text = format!(
            r#"{{"files": {{"managed/vpcs/vpc-1.yaml": {{"sha": "{SHA1}", "name": "vpc-1", "namespace": "default", "kind": "VPC", "rendered": "{SHA1}"}}}}, "generator": "other", "version": 1}}"#
        );
        let state = SyncState::parse(&text).unwrap();
        let entry = &state.files["managed/vpcs/vpc-1.yaml"];
        assert_eq!(entry.sha, SHA1);
        assert_eq!(entry.rendered, None, "`rendered` equal to `sha` is dropped");
    }

    #[test]
    fn reads_version_1_without_an_owner_and_writes_version_2() {
        let text = format!(
            r#"{{"version": 1, "generator": "fgd-sync", "files": {{"managed/vpcs/vpc-1.yaml": {}}}}}"#,
            record("VPC", "default", "vpc-1", SHA1)
        );
        let state = SyncState::parse(&text).unwrap();
        assert_eq!((state.fabric.as_deref(), state.directory.as_deref()), (None, None));
        assert!(!state.files["managed/vpcs/vpc-1.yaml"].deleted);
        assert!(state.to_text().starts_with("{\n  \"version\": 2,\n"));
    }

    fn error(text: &str) -> String {
        SyncState::parse(text).expect_err(text)
    }

    fn with_file(key: &str, record: &str) -> String {
        format!(r#"{{"version": 2, "generator": "fgd-sync", "files": {{"{key}": {record}}}}}"#)
    }

    fn record(kind: &str, namespace: &str, name: &str, sha: &str) -> String {
        format!(r#"{{"kind": "{kind}", "namespace": "{namespace}", "name": "{name}", "sha": "{sha}"}}"#)
    }

    #[test]
    fn refuses_what_it_does_not_understand() {
        let vpc = record("VPC", "default", "vpc-1", SHA1);
        let tombstone =
            format!(r#"{{"kind": "VPC", "namespace": "default", "name": "vpc-1", "sha": "{SHA1}", "deleted": true}}"#);
        let cases: Vec<(String, &str)> = vec![
            ("not json".into(), "not valid JSON"),
            ("[]".into(), "no `version`"),
            (r#"{"version": 3, "generator": "fgd-sync", "files": {}}"#.into(), "version 3 is not supported"),
            (r#"{"version": 0, "generator": "fgd-sync", "files": {}}"#.into(), "version 0 is not supported"),
            (r#"{"version": "1", "files": {}}"#.into(), "version \"1\" is not supported"),
            (r#"{"version": 2, "files": {}}"#.into(), "generator"),
            (r#"{"version": 2, "generator": "g", "files": {}, "extra": 1}"#.into(), "extra"),
            (r#"{"version": 1, "generator": "g", "fabric": "dc1", "files": {}}"#.into(), "version 1 has no"),
            (r#"{"version": 1, "generator": "g", "directory": "a", "files": {}}"#.into(), "version 1 has no"),
            (
                format!(r#"{{"version": 1, "generator": "g", "files": {{"managed/vpcs/vpc-1.yaml": {tombstone}}}}}"#),
                "version 1 has no",
            ),
            (r#"{"version": 2, "generator": "g", "fabric": "", "files": {}}"#.into(), "not a fabric name"),
            (r#"{"version": 2, "generator": "g", "directory": "/a/", "files": {}}"#.into(), "not a normalized"),
            (r#"{"version": 2, "generator": "g", "directory": "a/../b", "files": {}}"#.into(), "not a normalized"),
            (
                with_file("managed/vpcs/vpc-1.yaml", &record("VPC", "default", "vpc-1", "abc")),
                "\"managed/vpcs/vpc-1.yaml\": `sha`",
            ),
            (
                with_file("managed/vpcs/vpc-1.yaml", &record("VPC", "default", "vpc-1", &SHA1.to_uppercase())),
                "not a 40-digit",
            ),
            (
                with_file(
                    "managed/vpcs/vpc-1.yaml",
                    &format!(
                        r#"{{"kind": "VPC", "namespace": "default", "name": "vpc-1", "sha": "{SHA1}", "rendered": "x"}}"#
                    ),
                ),
                "`rendered` \"x\"",
            ),
            (
                with_file(
                    "managed/vpcs/vpc-1.yaml",
                    &format!(
                        r#"{{"kind": "VPC", "namespace": "default", "name": "vpc-1", "sha": "{SHA1}", "rendered": "{SHA2}", "deleted": true}}"#
                    ),
                ),
                "a `deleted` entry has no `rendered`",
            ),
            (
                with_file(
                    "managed/vpcs/vpc-1.yaml",
                    &format!(
                        r#"{{"kind": "VPC", "namespace": "default", "name": "vpc-1", "sha": "{SHA1}", "deleted": 1}}"#
                    ),
                ),
                "expected a boolean",
            ),
            (
                with_file(
                    "managed/vpcs/vpc-1.yaml",
                    &format!(
                        r#"{{"kind": "VPC", "namespace": "default", "name": "vpc-1", "sha": "{SHA1}", "note": 1}}"#
                    ),
                ),
                "note",
            ),
            (with_file("managed/vpcs/vpc-1.yaml", &record("Vpc", "default", "vpc-1", SHA1)), "Vpc"),
            (with_file("/managed/vpcs/vpc-1.yaml", &vpc), "not a relative path"),
            (with_file("managed/../../etc/passwd", &vpc), "not a relative path"),
            (with_file("managed//vpcs/vpc-1.yaml", &vpc), "not a relative path"),
            (with_file("managed/vpcs/vpc-2.yaml", &vpc), "is not the file of VPC vpc-1"),
            (with_file("raw/vpc-1.yaml", &vpc), "is not the file of"),
            (with_file("managed/vpcs/vpc-1.yaml", &record("VPC", "", "vpc-1", SHA1)), "spelled out"),
            (with_file("managed/vpcs/Vpc-1.yaml", &record("VPC", "default", "Vpc-1", SHA1)), "Vpc-1"),
        ];
        for (text, want) in cases {
            let got = error(&text);
            assert!(got.contains(want), "{text}\n  gave {got:?}\n  want it to contain {want:?}");
        }
    }
}
