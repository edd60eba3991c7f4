//! The three-way compare for one path: base (what the sync last wrote or confirmed), remote
//! (the branch now) and desired (the rendered CR) give one verdict.

use crate::model::{Action, ConflictKind};

/// One version of a file: its blob SHA and, when known, its text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileVersion {
    pub sha: String,
    pub content: Option<String>,
}

/// Which contents `classify` needs before it can decide.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct ContentNeeded {
    pub base: bool,
    pub remote: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Unchanged,
    Apply(Action),
    Conflict(ConflictKind),
    NeedContent(ContentNeeded),
    Untracked,
}

/// See WIT `logic.classify`. `rendered_at_base` is the SHA of the rendering recorded with the
/// base when it differed from the base (after an adopt of a differently formatted file).
pub fn classify(
    base: Option<&FileVersion>,
    rendered_at_base: Option<&str>,
    remote: Option<&FileVersion>,
    desired: Option<&FileVersion>,
) -> Verdict {
    let _ = (base, rendered_at_base, remote, desired);
    todo!("helper B")
}
