//! The sync state file (`<directory>/.hnp/sync-state.json`): for every file the sync wrote or
//! confirmed, the blob SHA it had then. It is the "base" of the three-way compare, lives in
//! the repository so every host shares it, and changes in the same commit as the files.
//!
//! ```json
//! {
//!   "version": 1,
//!   "generator": "fgd-sync",
//!   "files": {
//!     "managed/vpcs/vpc-1.yaml": {
//!       "kind": "VPC",
//!       "namespace": "default",
//!       "name": "vpc-1",
//!       "sha": "<40 hex>"
//!     }
//!   }
//! }
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::blob;
use crate::model::{Kind, ResourceRef};
use crate::path;
use crate::validate;

pub const STATE_VERSION: u32 = 1;

/// Written into every state file; any value is accepted on reading.
pub const GENERATOR: &str = "fgd-sync";

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SyncState {
    /// Keyed by path relative to the fabric directory (`managed/vpcs/vpc-1.yaml`).
    pub files: BTreeMap<String, StateEntry>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateEntry {
    pub resource: ResourceRef,
    /// Blob SHA of the file in Git when the sync last wrote or confirmed it.
    pub sha: String,
    /// Blob SHA of fgd-sync's rendering at that time, when it differs from `sha` (the file
    /// was adopted with other formatting, or the user kept Git's version of a conflict).
    pub rendered: Option<String>,
}

/// The file as stored. Field order here is the order in the file.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StateFile {
    version: u32,
    generator: String,
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
}

impl SyncState {
    /// Parses the state file. An unknown `version` is an error, not a guess. Every path must
    /// be the managed path of its entry's (valid) CR: the state decides which files the sync
    /// may delete, so it may name nothing else.
    pub fn parse(text: &str) -> Result<SyncState, String> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| format!("sync state is not valid JSON: {e}"))?;
        // The version is checked before the shape: another version may have another shape.
        match value.get("version") {
            Some(serde_json::Value::Number(n)) if n.as_u64() == Some(u64::from(STATE_VERSION)) => {}
            Some(other) => {
                return Err(format!(
                    "sync state version {other} is not supported (this fgd-sync reads version {STATE_VERSION})"
                ))
            }
            None => return Err("sync state has no `version`".to_string()),
        }
        let file: StateFile = serde_json::from_value(value).map_err(|e| format!("sync state: {e}"))?;
        let mut files = BTreeMap::new();
        for (key, record) in file.files {
            let entry = entry(&key, record)?;
            files.insert(key, entry);
        }
        Ok(SyncState { files })
    }

    /// Canonical text: pretty JSON (2-space indent), fields in a fixed order, files sorted by
    /// path, trailing newline. Same state, same bytes.
    pub fn to_text(&self) -> String {
        let file = StateFile {
            version: STATE_VERSION,
            generator: GENERATOR.to_string(),
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
    Ok(StateEntry { resource, sha: record.sha, rendered })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA1: &str = "3f3f005b29247e51a4f4d6b8ce07b67646cd6074";
    const SHA2: &str = "ce013625030ba8dba906f756967f9e9ca394464a";

    fn sample() -> SyncState {
        let mut files = BTreeMap::new();
        files.insert(
            "managed/vpcs/vpc-1.yaml".to_string(),
            StateEntry {
                resource: ResourceRef { kind: Kind::Vpc, namespace: "default".into(), name: "vpc-1".into() },
                sha: SHA1.into(),
                rendered: None,
            },
        );
        files.insert(
            "managed/switches/team-a/leaf-01.yaml".to_string(),
            StateEntry {
                resource: ResourceRef { kind: Kind::Switch, namespace: "team-a".into(), name: "leaf-01".into() },
                sha: SHA1.into(),
                rendered: Some(SHA2.into()),
            },
        );
        SyncState { files }
    }

    #[test]
    fn canonical_text() {
        let want = format!(
            r#"{{
  "version": 1,
  "generator": "fgd-sync",
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
    }}
  }}
}}
"#
        );
        assert_eq!(sample().to_text(), want);
        assert_eq!(SyncState::parse(&want).unwrap(), sample());
    }

    #[test]
    fn round_trips() {
        for state in [SyncState::default(), sample()] {
            let text = state.to_text();
            let back = SyncState::parse(&text).unwrap();
            assert_eq!(back, state);
            assert_eq!(back.to_text(), text);
        }
        assert_eq!(
            SyncState::default().to_text(),
            "{\n  \"version\": 1,\n  \"generator\": \"fgd-sync\",\n  \"files\": {}\n}\n"
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

    fn error(text: &str) -> String {
        SyncState::parse(text).expect_err(text)
    }

    fn with_file(key: &str, record: &str) -> String {
        format!(r#"{{"version": 1, "generator": "fgd-sync", "files": {{"{key}": {record}}}}}"#)
    }

    fn record(kind: &str, namespace: &str, name: &str, sha: &str) -> String {
        format!(r#"{{"kind": "{kind}", "namespace": "{namespace}", "name": "{name}", "sha": "{sha}"}}"#)
    }

    #[test]
    fn refuses_what_it_does_not_understand() {
        let vpc = record("VPC", "default", "vpc-1", SHA1);
        let cases: Vec<(String, &str)> = vec![
            ("not json".into(), "not valid JSON"),
            ("[]".into(), "no `version`"),
            (r#"{"version": 2, "generator": "fgd-sync", "files": {}}"#.into(), "version 2 is not supported"),
            (r#"{"version": "1", "files": {}}"#.into(), "version \"1\" is not supported"),
            (r#"{"version": 1, "files": {}}"#.into(), "generator"),
            (r#"{"version": 1, "generator": "g", "files": {}, "extra": 1}"#.into(), "extra"),
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
