//! Reads CR manifests (YAML single or multi-document, or JSON) and compares file data.

use crate::model::{RawResource, SyncError};

/// CRs from a manifest file's text. `source` names the file in errors.
pub fn parse_manifests(source: &str, text: &str) -> Result<Vec<RawResource>, SyncError> {
    let _ = (source, text);
    todo!("helper A")
}

/// True when two files hold the same data once parsed (formatting, comments, key order and
/// quoting style aside). Files that do not parse are equal only when byte-equal.
pub fn same_data(a: &str, b: &str) -> bool {
    let _ = (a, b);
    todo!("helper A")
}
