//! The three-way compare for one path: base (what the sync last wrote or confirmed), remote
//! (the branch now) and desired (the rendered CR) give one verdict.
//!
//! The rule behind every row: an existing file is overwritten or removed only when Git still
//! holds what the sync last wrote or confirmed, or differs from it in formatting only. Whenever Git changed
//! the data since then, the path is left alone: adopted when Git already holds HNP's data,
//! reported as a conflict otherwise. SHAs decide first; contents are compared (with
//! `manifest::same_data`) only when SHAs cannot decide, and asked for when missing.
//!
//! Comments are work: a file whose text is not exactly what the sync wrote (its SHA is not the
//! base's, or the base was adopted from Git: `rendered_at_base` set) is overwritten or removed
//! only when it carries nothing beyond its data (`manifest::carries_more_than_data`);
//! otherwise that is a `modified-in-git` conflict with `COMMENTS_*` as its reason. Git's text
//! that is not YAML when its data must be compared is an `unreadable` conflict (`NOT_YAML`),
//! not a guess that the data differs.

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

/// Reason of a conflict over a file with comments that an update would drop.
pub const COMMENTS_UPDATE: &str = "Git's file carries comments (or other text) that HNP's version would drop";
/// Reason of a conflict over a file with comments that a deletion would lose.
pub const COMMENTS_DELETE: &str =
    "Git's file carries comments (or other text) that deleting it (the CR is gone from HNP) would lose";
/// Reason of an `unreadable` conflict over a file that does not parse.
pub const NOT_YAML: &str = "Git's file is not valid YAML, so its data cannot be compared with HNP's";

/// A verdict with, for a conflict that needs more words than its kind, its reason.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Explained {
    pub verdict: Verdict,
    pub reason: Option<&'static str>,
}

impl From<Verdict> for Explained {
    fn from(verdict: Verdict) -> Self {
        Explained { verdict, reason: None }
    }
}

fn conflict(kind: ConflictKind, reason: &'static str) -> Explained {
    Explained { verdict: Conflict(kind), reason: Some(reason) }
}

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
    explain(base, rendered_at_base, remote, desired).verdict
}

/// `classify`, with the reason of a conflict when its kind's default would say too little.
pub fn explain(
    base: Option<&FileVersion>,
    rendered_at_base: Option<&str>,
    remote: Option<&FileVersion>,
    desired: Option<&FileVersion>,
) -> Explained {
    match (desired, remote, base) {
        (None, None, None) => Unchanged.into(),
        // Both sides are gone: only the state still mentions the file.
        (None, None, Some(_)) => Apply(Action::Forget).into(),
        // The sync never wrote this file: it never deletes it.
        (None, Some(_), None) => Untracked.into(),
        (None, Some(remote), Some(base)) => gone_from_hnp(base, rendered_at_base, remote),
        (Some(_), None, None) => Apply(Action::Create).into(),
        (Some(_), None, Some(_)) => Conflict(ConflictKind::DeletedInGit).into(),
        (Some(desired), Some(remote), None) => {
            if remote.sha == desired.sha {
                return Apply(Action::Adopt).into();
            }
            match compare_remote(remote, desired) {
                Data::Missing => NEED_REMOTE.into(),
                Data::NotYaml => conflict(ConflictKind::Unreadable, NOT_YAML),
                // Git already holds the data, in its own formatting: keep the file as it is.
                Data::Same => Apply(Action::Adopt).into(),
                Data::Different => Conflict(ConflictKind::CreatedInGit).into(),
            }
        }
        (Some(desired), Some(remote), Some(base)) => {
            let rendered_at_base = rendered_at_base.unwrap_or(&base.sha);
            three_way(base, rendered_at_base, remote, desired)
        }
    }
}

/// The CR is gone from HNP; the sync wrote or confirmed the file before.
fn gone_from_hnp(base: &FileVersion, rendered_at_base: Option<&str>, remote: &FileVersion) -> Explained {
    if remote.sha == base.sha {
        // Exactly what the sync wrote goes; a file adopted from Git only without comments.
        return match rendered_at_base {
            Some(rendered) if rendered != base.sha => overwrite(remote, Action::Delete),
            _ => Apply(Action::Delete).into(),
        };
    }
    if remote.content.as_deref().is_some_and(|text| !manifest::is_yaml(text)) {
        return conflict(ConflictKind::Unreadable, NOT_YAML);
    }
    // Both contents are needed and neither comparison can be skipped: ask for both at once.
    if base.content.is_none() || remote.content.is_none() {
        return NeedContent(ContentNeeded { base: base.content.is_none(), remote: remote.content.is_none() }).into();
    }
    match same_data(remote, base) {
        // A formatting-only edit in Git does not keep a deleted CR alive; comments do.
        Some(true) => overwrite(remote, Action::Delete),
        _ => Conflict(ConflictKind::ModifiedInGit).into(),
    }
}

/// All three sides exist. `rendered_at_base` is never absent here (it defaults to the base).
fn three_way(base: &FileVersion, rendered_at_base: &str, remote: &FileVersion, desired: &FileVersion) -> Explained {
    let hnp_changed = desired.sha != rendered_at_base;
    if remote.sha == desired.sha {
        // Nothing to write; record the remote as the base unless the state says so already
        // (a stale `rendered` must go too, or a later revert in HNP would be missed).
        return if base.sha == remote.sha && !hnp_changed { Unchanged } else { Apply(Action::Adopt) }.into();
    }
    if remote.sha == base.sha {
        if !hnp_changed {
            // HNP unchanged since the adopt, Git untouched: keep Git's formatting.
            return Unchanged.into();
        }
        if rendered_at_base == base.sha {
            // Git holds exactly what the sync wrote: HNP's change goes in.
            return Apply(Action::Update).into();
        }
        // Git holds a version the sync adopted in other formatting (or the user kept in a
        // conflict). If HNP merely caught up with its data, adopt instead of reformatting it;
        // write over it only if that loses no comments.
        return match compare_remote(remote, desired) {
            Data::Missing => NEED_REMOTE.into(),
            Data::NotYaml => conflict(ConflictKind::Unreadable, NOT_YAML),
            Data::Same => Apply(Action::Adopt).into(),
            Data::Different => overwrite(remote, Action::Update),
        };
    }
    // Git changed the file since the last sync. Asked one at a time: the remote alone often
    // decides, and a base blob is one more request.
    match compare_remote(remote, desired) {
        Data::Missing => return NEED_REMOTE.into(),
        Data::NotYaml => return conflict(ConflictKind::Unreadable, NOT_YAML),
        Data::Same => return Apply(Action::Adopt).into(),
        Data::Different => {}
    }
    // Git's data differs from HNP's. A base that is HNP's rendering itself (the file the
    // sync wrote, HNP unchanged since) has HNP's data, so Git changed the data: no need to
    // read the base (a pull of N edits reads N blobs, not 2N).
    if base.sha == desired.sha {
        return Conflict(ConflictKind::ModifiedInGit).into();
    }
    // The remote's content is known here; the base's may not be.
    match same_data(base, remote) {
        None => NEED_BASE.into(),
        // A formatting-only edit in Git: no data of Git's is lost by writing HNP's change
        // (unless Git added comments), and with no HNP change the new formatting is simply
        // recorded.
        Some(true) if hnp_changed => overwrite(remote, Action::Update),
        Some(true) => Apply(Action::Adopt).into(),
        // Git changed the data. With an HNP change too, that is a conflict. Without one,
        // HNP is merely behind Git; it is a conflict all the same, on purpose:
        // * writing would revert Git's change, so the file must stay;
        // * adopting would record Git's data as HNP's base although HNP never had it: a
        //   later HNP edit of its stale copy would then look like a plain update and
        //   silently overwrite Git's change (the very defect this project fixes);
        // * the conflict clears itself once HNP ingests the change (remote and desired then
        //   hold the same data: adopt), and `resolve --take git` settles it explicitly.
        Some(false) => Conflict(ConflictKind::ModifiedInGit).into(),
    }
}

/// `action` (update or delete) over Git's file, whose text is not exactly what the sync
/// wrote: done only when the text carries nothing beyond its data.
fn overwrite(remote: &FileVersion, action: Action) -> Explained {
    let Some(text) = remote.content.as_deref() else { return NEED_REMOTE.into() };
    if manifest::carries_more_than_data(text) {
        let reason = if action == Action::Delete { COMMENTS_DELETE } else { COMMENTS_UPDATE };
        return conflict(ConflictKind::ModifiedInGit, reason);
    }
    Apply(action).into()
}

/// How Git's file compares with another version's data.
enum Data {
    /// Its content is needed (the caller asks for it).
    Missing,
    /// It is not YAML: its data cannot be compared.
    NotYaml,
    Same,
    Different,
}

fn compare_remote(remote: &FileVersion, other: &FileVersion) -> Data {
    if remote.sha == other.sha {
        return Data::Same;
    }
    match remote.content.as_deref() {
        None => Data::Missing,
        Some(text) if !manifest::is_yaml(text) => Data::NotYaml,
        Some(_) if same_data(remote, other) == Some(true) => Data::Same,
        Some(_) => Data::Different,
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

    fn check(base: Option<&str>, rendered: Option<&str>, remote: Option<&str>, desired: Option<&str>, want: Explained) {
        let (b, r, d) = (side(base), side(remote), side(desired));
        let rendered = rendered.map(|s| format!("{s:0<40}"));
        let got = explain(b.as_ref(), rendered.as_deref(), r.as_ref(), d.as_ref());
        assert_eq!(got, want, "base={base:?} rendered={rendered:?} remote={remote:?} desired={desired:?}");
        assert_eq!(classify(b.as_ref(), rendered.as_deref(), r.as_ref(), d.as_ref()), want.verdict);
    }

    const fn e(verdict: Verdict) -> Explained {
        Explained { verdict, reason: None }
    }

    const UNCHANGED: Explained = e(Unchanged);
    const UNTRACKED: Explained = e(Untracked);
    const ADOPT: Explained = e(Apply(Action::Adopt));
    const CREATE: Explained = e(Apply(Action::Create));
    const UPDATE: Explained = e(Apply(Action::Update));
    const DELETE: Explained = e(Apply(Action::Delete));
    const FORGET: Explained = e(Apply(Action::Forget));
    const MODIFIED: Explained = e(Conflict(ConflictKind::ModifiedInGit));
    const ASK_REMOTE: Explained = e(NEED_REMOTE);
    const ASK_BASE: Explained = e(NEED_BASE);
    const NEED_BOTH: Explained = e(NeedContent(ContentNeeded { base: true, remote: true }));
    const COMMENTS_UPDATED: Explained =
        Explained { verdict: Conflict(ConflictKind::ModifiedInGit), reason: Some(COMMENTS_UPDATE) };
    const COMMENTS_DELETED: Explained =
        Explained { verdict: Conflict(ConflictKind::ModifiedInGit), reason: Some(COMMENTS_DELETE) };
    const UNREADABLE: Explained = Explained { verdict: Conflict(ConflictKind::Unreadable), reason: Some(NOT_YAML) };

    // Contents are YAML that differs only in formatting (`a: 1` vs `{a: 1}`), carries a
    // comment (`a: 1  # note`), differs in data (`a: 2`) or does not parse (`a: [1`),
    // compared by the real `manifest` functions.
    /// base, rendered-at-base, remote, desired => verdict.
    type Row = (Option<&'static str>, Option<&'static str>, Option<&'static str>, Option<&'static str>, Explained);

    #[test]
    fn truth_table() {
        #[rustfmt::skip]
        let rows: &[Row] = &[
            // base, rendered-at-base, remote, desired => verdict
            // -- nothing anywhere / gone everywhere
            (None, None, None, None, UNCHANGED),
            (Some("b"), None, None, None, FORGET),
            (Some("b"), Some("x"), None, None, FORGET),
            // -- file the sync never wrote, CR gone: never touched
            (None, None, Some("r"), None, UNTRACKED),
            (None, None, Some("r:a: 1\n"), None, UNTRACKED),
            // -- CR gone, file written before
            (Some("b"), None, Some("b"), None, DELETE),
            (Some("b"), Some("b"), Some("b"), None, DELETE), // `rendered` == base: as written
            (Some("b"), None, Some("r"), None, NEED_BOTH),
            (Some("b:a: 1\n"), None, Some("r"), None, ASK_REMOTE),
            (Some("b"), None, Some("r:a: 1\n"), None, ASK_BASE),
            (Some("b:a: 1\n"), None, Some("r:{a: 1}"), None, DELETE), // formatting only
            (Some("b:a: 1\n"), None, Some("r:a:   1  # note\n"), None, COMMENTS_DELETED),
            (Some("b:a: 1\n"), None, Some("r:a: 2\n"), None, MODIFIED),
            (Some("b"), None, Some("r:a: [1\n"), None, UNREADABLE), // decided without the base
            // CR gone, Git untouched since the sync adopted Git's file: its text decides
            (Some("b"), Some("x"), Some("b"), None, ASK_REMOTE),
            (Some("b"), Some("x"), Some("b:{a: 1}"), None, DELETE),
            (Some("b"), Some("x"), Some("b:a: 1  # note\n"), None, COMMENTS_DELETED),
            // -- new CR
            (None, None, None, Some("d:a: 1\n"), CREATE),
            (Some("b"), None, None, Some("d:a: 1\n"), e(Conflict(ConflictKind::DeletedInGit))),
            (Some("b"), Some("d"), None, Some("d:a: 1\n"), e(Conflict(ConflictKind::DeletedInGit))),
            // -- file already in Git, never written by the sync
            (None, None, Some("d"), Some("d:a: 1\n"), ADOPT),
            (None, None, Some("r"), Some("d:a: 1\n"), ASK_REMOTE),
            (None, None, Some("r:a:   1  # note\n"), Some("d:a: 1\n"), ADOPT), // nothing written
            (None, None, Some("r:a: 2\n"), Some("d:a: 1\n"), e(Conflict(ConflictKind::CreatedInGit))),
            (None, None, Some("r:a: [1\n"), Some("d:a: 1\n"), UNREADABLE),
            // -- all three: remote is the rendering
            (Some("d"), None, Some("d"), Some("d:a: 1\n"), UNCHANGED),
            (Some("b"), None, Some("d"), Some("d:a: 1\n"), ADOPT),
            (Some("d"), Some("x"), Some("d"), Some("d:a: 1\n"), ADOPT), // stale `rendered` dropped
            (Some("d"), Some("d"), Some("d"), Some("d:a: 1\n"), UNCHANGED), // `rendered` == base
            // -- all three: Git untouched
            (Some("b"), None, Some("b"), Some("d:a: 1\n"), UPDATE),
            (Some("b"), Some("d"), Some("b"), Some("d:a: 1\n"), UNCHANGED), // adopted, nothing new
            (Some("b"), Some("x"), Some("b"), Some("d:a: 1\n"), ASK_REMOTE),
            (Some("b"), Some("x"), Some("b:a:   1  # note\n"), Some("d:a: 1\n"), ADOPT), // HNP caught up
            (Some("b"), Some("x"), Some("b:a: 2\n"), Some("d:a: 1\n"), UPDATE),
            (Some("b"), Some("x"), Some("b:a: 2  # note\n"), Some("d:a: 1\n"), COMMENTS_UPDATED),
            (Some("b"), Some("x"), Some("b:a: [2\n"), Some("d:a: 1\n"), UNREADABLE),
            // -- all three: Git changed since the last sync
            (Some("b"), None, Some("r"), Some("d:a: 1\n"), ASK_REMOTE),
            (Some("b:a: 1\n"), None, Some("r"), Some("d:a: 1\n"), ASK_REMOTE),
            (Some("b"), None, Some("r:a:   1  # note\n"), Some("d:a: 1\n"), ADOPT),
            (Some("b"), None, Some("r:a: 2\n"), Some("d:a: 1\n"), ASK_BASE),
            (Some("b"), Some("d"), Some("r:a: 2\n"), Some("d:a: 1\n"), ASK_BASE),
            (Some("b"), None, Some("r:a: [1\n"), Some("d:a: 1\n"), UNREADABLE), // base not asked
            // formatting-only edit in Git, HNP changed / unchanged
            (Some("b:a: 2\n"), None, Some("r:{a: 2}"), Some("d:a: 1\n"), UPDATE),
            (Some("b:a: 2\n"), Some("d"), Some("r:{a: 2}"), Some("d:a: 1\n"), ADOPT),
            // a comment added in Git, HNP changed: the comment is work / unchanged: recorded
            (Some("b:a: 2\n"), None, Some("r:a:   2  # note\n"), Some("d:a: 1\n"), COMMENTS_UPDATED),
            (Some("b:a: 2\n"), Some("d"), Some("r:a:   2  # note\n"), Some("d:a: 1\n"), ADOPT),
            // Git changed data, HNP changed / unchanged: both conflicts (see `three_way`)
            (Some("b:a: 2\n"), None, Some("r:a: 3\n"), Some("d:a: 1\n"), MODIFIED),
            (Some("b:a: 2\n"), Some("d"), Some("r:a: 3\n"), Some("d:a: 1\n"), MODIFIED),
            (Some("d:a: 1\n"), None, Some("r:a: 3\n"), Some("d:a: 1\n"), MODIFIED),
            // -- desired without content: comparisons err towards a conflict
            (None, None, Some("r:a: 1\n"), Some("d"), e(Conflict(ConflictKind::CreatedInGit))),
        ];
        for &(base, rendered, remote, desired, want) in rows {
            check(base, rendered, remote, desired, want);
        }
    }
}
