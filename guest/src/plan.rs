//! Plans one commit: desired CRs + the branch as read + the sync state -> ordered changes,
//! conflicts, the files to write (with the new state file) and a commit message.

use std::collections::BTreeMap;

use crate::model::{Change, Conflict, RawResource, Resolution, ResourceRef, SyncError};

/// Everything `plan` needs; no I/O happens in planning. Mirrors WIT `plan-input`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PlanInput {
    /// The fabric directory, normalized (`path::normalize_directory`).
    pub directory: String,
    /// Repository path -> blob SHA of every file under the directory on the branch.
    pub remote_files: BTreeMap<String, String>,
    /// The state file's text on the branch, if any.
    pub state: Option<String>,
    /// Blob SHA -> text, for the files an earlier call listed in `need_contents`.
    pub contents: BTreeMap<String, String>,
    pub desired: Vec<RawResource>,
    pub deleted: Vec<ResourceRef>,
    pub complete: bool,
    pub resolutions: Vec<Resolution>,
}

/// One file of the commit; `content: None` deletes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileWrite {
    pub path: String,
    pub content: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct CommitPlan {
    pub changes: Vec<Change>,
    pub conflicts: Vec<Conflict>,
    pub unchanged: u32,
    /// Blob SHAs whose text is needed before the plan can decide (call again with them).
    pub need_contents: Vec<String>,
    /// Files of the commit, the state file included; empty means no commit.
    pub writes: Vec<FileWrite>,
    pub message: String,
}

pub fn plan(input: &PlanInput, message_prefix: &str) -> Result<CommitPlan, SyncError> {
    let _ = (input, message_prefix);
    todo!("helper B")
}
