//! The three-way compare for one path: base (what the sync last wrote or confirmed), remote
//! (the branch now) and desired (the rendered CR) give one verdict.
//!
//! The rule behind every row: an existing file is overwritten or removed only when Git still
//! holds what the sync last wrote or confirmed, or differs from it in formatting only. Whenever Git changed
//! the data since then, the path is left alone: adopted when Git already holds HNP's data,
//! reported as a conflict otherwise. SHAs decide first; contents are compared (with
//! `manifest::same_data`) only when SHAs cannot decide, and asked for when missing.

use crate::manifest;
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

use Verdict::{Apply, Conflict, NeedContent, Unchanged, Untracked};

const NEED_REMOTE: Verdict = NeedContent(ContentNeeded { base: false, remote: true });
const NEED_BASE: Verdict = NeedContent(ContentNeeded { base: true, remote: false });

/// See WIT `logic.classify`. `rendered_at_base` is the SHA of the rendering recorded with the
/// base when it differed from the base (after an adopt of a differently formatted file).
///
/// `desired` should carry its content (the plan always has the rendering); without it, data
/// comparisons with the desired side count as different, which errs towards a conflict.
pub fn classify(
    base: Option<&FileVersion>,
    rendered_at_base: Option<&str>,
    remote: Option<&FileVersion>,
    desired: Option<&FileVersion>,
) -> Verdict {
    match (desired, remote, base) {
        (None, None, None) => Unchanged,
        // Both sides are gone: only the state still mentions the file.
        (None, None, Some(_)) => Apply(Action::Forget),
        // The sync never wrote this file: it never deletes it.
        (None, Some(_), None) => Untracked,
        (None, Some(remote), Some(base)) => gone_from_hnp(base, remote),
        (Some(_), None, None) => Apply(Action::Create),
        (Some(_), None, Some(_)) => Conflict(ConflictKind::DeletedInGit),
        (Some(desired), Some(remote), None) => {
            if remote.sha == desired.sha {
                return Apply(Action::Adopt);
            }
            match same_data(remote, desired) {
                None => NEED_REMOTE,
                // Git already holds the data, in its own formatting: keep the file as it is.
                Some(true) => Apply(Action::Adopt),
                Some(false) => Conflict(ConflictKind::CreatedInGit),
            }
        }
        (Some(desired), Some(remote), Some(base)) => {
            let rendered_at_base = rendered_at_base.unwrap_or(&base.sha);
            three_way(base, rendered_at_base, remote, desired)
        }
    }
}

/// The CR is gone from HNP; the sync wrote or confirmed the file before.
fn gone_from_hnp(base: &FileVersion, remote: &FileVersion) -> Verdict {
    if remote.sha == base.sha {
        return Apply(Action::Delete);
    }
    // Both contents are needed and neither comparison can be skipped: ask for both at once.
    if base.content.is_none() || remote.content.is_none() {
        return NeedContent(ContentNeeded { base: base.content.is_none(), remote: remote.content.is_none() });
    }
    match same_data(remote, base) {
        // A formatting-only edit in Git does not keep a deleted CR alive.
        Some(true) => Apply(Action::Delete),
        _ => Conflict(ConflictKind::ModifiedInGit),
    }
}

/// All three sides exist. `rendered_at_base` is never absent here (it defaults to the base).
fn three_way(base: &FileVersion, rendered_at_base: &str, remote: &FileVersion, desired: &FileVersion) -> Verdict {
    let hnp_changed = desired.sha != rendered_at_base;
    if remote.sha == desired.sha {
        // Nothing to write; record the remote as the base unless the state says so already
        // (a stale `rendered` must go too, or a later revert in HNP would be missed).
        return if base.sha == remote.sha && !hnp_changed { Unchanged } else { Apply(Action::Adopt) };
    }
    if remote.sha == base.sha {
        if !hnp_changed {
            // HNP unchanged since the adopt, Git untouched: keep Git's formatting.
            return Unchanged;
        }
        if rendered_at_base == base.sha {
            // Git holds exactly what the sync wrote: HNP's change goes in.
            return Apply(Action::Update);
        }
        // Git holds a version the sync adopted in other formatting (or the user kept in a
        // conflict). If HNP merely caught up with its data, adopt instead of reformatting it.
        return match same_data(remote, desired) {
            None => NEED_REMOTE,
            Some(true) => Apply(Action::Adopt),
            Some(false) => Apply(Action::Update),
        };
    }
    // Git changed the file since the last sync. Asked one at a time: the remote alone often
    // decides, and a base blob is one more request.
    match same_data(remote, desired) {
        None => return NEED_REMOTE,
        Some(true) => return Apply(Action::Adopt),
        Some(false) => {}
    }
    // The remote's content is known here; the base's may not be.
    match same_data(base, remote) {
        None => NEED_BASE,
        // A formatting-only edit in Git: no data of Git's is lost by writing HNP's change,
        // and with no HNP change the new formatting is simply recorded.
        Some(true) => Apply(if hnp_changed { Action::Update } else { Action::Adopt }),
        // Git changed the data. With an HNP change too, that is a conflict. Without one,
        // HNP is merely behind Git; it is a conflict all the same, on purpose:
        // * writing would revert Git's change, so the file must stay;
        // * adopting would record Git's data as HNP's base although HNP never had it: a
        //   later HNP edit of its stale copy would then look like a plain update and
        //   silently overwrite Git's change (the very defect this project fixes);
        // * the conflict clears itself once HNP ingests the change (remote and desired then
        //   hold the same data: adopt), and `resolve --take git` settles it explicitly.
        Some(false) => Conflict(ConflictKind::ModifiedInGit),
    }
}

/// Whether two versions hold the same data: `None` when `asked`'s content is missing (the
/// caller asks for it). `other` without content (only ever the desired side) counts as
/// different.
fn same_data(asked: &FileVersion, other: &FileVersion) -> Option<bool> {
    if asked.sha == other.sha {
        return Some(true);
    }
    let asked = asked.content.as_deref()?;
    Some(other.content.as_deref().is_some_and(|other| manifest::same_data(asked, other)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(sha: &str, content: Option<&str>) -> FileVersion {
        FileVersion { sha: format!("{sha:0<40}"), content: content.map(str::to_string) }
    }

    /// `sha[:content]`, content `-` for none; the SHA is padded to 40 characters.
    fn side(spec: Option<&str>) -> Option<FileVersion> {
        let spec = spec?;
        Some(match spec.split_once(':') {
            Some((sha, content)) => v(sha, Some(content)),
            None => v(spec, None),
        })
    }

    fn check(base: Option<&str>, rendered: Option<&str>, remote: Option<&str>, desired: Option<&str>, want: Verdict) {
        let (b, r, d) = (side(base), side(remote), side(desired));
        let rendered = rendered.map(|s| format!("{s:0<40}"));
        let got = classify(b.as_ref(), rendered.as_deref(), r.as_ref(), d.as_ref());
        assert_eq!(got, want, "base={base:?} rendered={rendered:?} remote={remote:?} desired={desired:?}");
    }

    const ADOPT: Verdict = Apply(Action::Adopt);
    const CREATE: Verdict = Apply(Action::Create);
    const UPDATE: Verdict = Apply(Action::Update);
    const DELETE: Verdict = Apply(Action::Delete);
    const FORGET: Verdict = Apply(Action::Forget);
    const MODIFIED: Verdict = Conflict(ConflictKind::ModifiedInGit);
    const NEED_BOTH: Verdict = NeedContent(ContentNeeded { base: true, remote: true });

    // Contents are YAML that differs only in formatting (`a: 1` vs `a:   1  # note`) or in
    // data (`a: 2`), compared by the real `manifest::same_data`.
    /// base, rendered-at-base, remote, desired => verdict.
    type Row = (Option<&'static str>, Option<&'static str>, Option<&'static str>, Option<&'static str>, Verdict);

    #[test]
    fn truth_table() {
        #[rustfmt::skip]
        let rows: &[Row] = &[
            // base, rendered-at-base, remote, desired => verdict
            // -- nothing anywhere / gone everywhere
            (None, None, None, None, Unchanged),
            (Some("b"), None, None, None, FORGET),
            (Some("b"), Some("x"), None, None, FORGET),
            // -- file the sync never wrote, CR gone: never touched
            (None, None, Some("r"), None, Untracked),
            (None, None, Some("r:a: 1\n"), None, Untracked),
            // -- CR gone, file written before
            (Some("b"), None, Some("b"), None, DELETE),
            (Some("b"), None, Some("r"), None, NEED_BOTH),
            (Some("b:a: 1\n"), None, Some("r"), None, NEED_REMOTE),
            (Some("b"), None, Some("r:a: 1\n"), None, NEED_BASE),
            (Some("b:a: 1\n"), None, Some("r:a:   1  # note\n"), None, DELETE),
            (Some("b:a: 1\n"), None, Some("r:a: 2\n"), None, MODIFIED),
            // -- new CR
            (None, None, None, Some("d:a: 1\n"), CREATE),
            (Some("b"), None, None, Some("d:a: 1\n"), Conflict(ConflictKind::DeletedInGit)),
            (Some("b"), Some("d"), None, Some("d:a: 1\n"), Conflict(ConflictKind::DeletedInGit)),
            // -- file already in Git, never written by the sync
            (None, None, Some("d"), Some("d:a: 1\n"), ADOPT),
            (None, None, Some("r"), Some("d:a: 1\n"), NEED_REMOTE),
            (None, None, Some("r:a:   1  # note\n"), Some("d:a: 1\n"), ADOPT),
            (None, None, Some("r:a: 2\n"), Some("d:a: 1\n"), Conflict(ConflictKind::CreatedInGit)),
            // -- all three: remote is the rendering
            (Some("d"), None, Some("d"), Some("d:a: 1\n"), Unchanged),
            (Some("b"), None, Some("d"), Some("d:a: 1\n"), ADOPT),
            (Some("d"), Some("x"), Some("d"), Some("d:a: 1\n"), ADOPT), // stale `rendered` dropped
            (Some("d"), Some("d"), Some("d"), Some("d:a: 1\n"), Unchanged), // `rendered` == base
            // -- all three: Git untouched
            (Some("b"), None, Some("b"), Some("d:a: 1\n"), UPDATE),
            (Some("b"), Some("d"), Some("b"), Some("d:a: 1\n"), Unchanged), // adopted, nothing new
            (Some("b"), Some("x"), Some("b"), Some("d:a: 1\n"), NEED_REMOTE),
            (Some("b"), Some("x"), Some("b:a:   1  # note\n"), Some("d:a: 1\n"), ADOPT), // HNP caught up
            (Some("b"), Some("x"), Some("b:a: 2\n"), Some("d:a: 1\n"), UPDATE),
            // -- all three: Git changed since the last sync
            (Some("b"), None, Some("r"), Some("d:a: 1\n"), NEED_REMOTE),
            (Some("b:a: 1\n"), None, Some("r"), Some("d:a: 1\n"), NEED_REMOTE),
            (Some("b"), None, Some("r:a:   1  # note\n"), Some("d:a: 1\n"), ADOPT),
            (Some("b"), None, Some("r:a: 2\n"), Some("d:a: 1\n"), NEED_BASE),
            (Some("b"), Some("d"), Some("r:a: 2\n"), Some("d:a: 1\n"), NEED_BASE),
            // formatting-only edit in Git, HNP changed / unchanged
            (Some("b:a: 2\n"), None, Some("r:a:   2  # note\n"), Some("d:a: 1\n"), UPDATE),
            (Some("b:a: 2\n"), Some("d"), Some("r:a:   2  # note\n"), Some("d:a: 1\n"), ADOPT),
            // Git changed data, HNP changed / unchanged: both conflicts (see `three_way`)
            (Some("b:a: 2\n"), None, Some("r:a: 3\n"), Some("d:a: 1\n"), MODIFIED),
            (Some("b:a: 2\n"), Some("d"), Some("r:a: 3\n"), Some("d:a: 1\n"), MODIFIED),
            (Some("d:a: 1\n"), None, Some("r:a: 3\n"), Some("d:a: 1\n"), MODIFIED),
            // -- desired without content: comparisons err towards a conflict
            (None, None, Some("r:a: 1\n"), Some("d"), Conflict(ConflictKind::CreatedInGit)),
        ];
        for &(base, rendered, remote, desired, want) in rows {
            check(base, rendered, remote, desired, want);
        }
    }
}
