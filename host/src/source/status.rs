//! What a finished sync means for each CR where operators look, in NetBox: the one-line
//! `sync_error` HNP shows on the CR, and the journal entries that tell a conflict's story
//! (what happened, both versions, how to settle it) and its end. Pure: the NetBox source
//! compares these with what NetBox holds and writes only what changed (`netbox.rs`).
//!
//! 1. `statuses` reads a sync's report: each CR in conflict, invalid, or whose pulled change
//!    HNP refused gets a line; every other CR the sync covered (the whole fabric, or the
//!    selected CRs) gets `""`, which clears an old line.
//! 2. `journal_for` says which journal entry a change of `sync_error` calls for: a new
//!    conflict line (`warning`), or a conflict line cleared (`success`). The same line twice
//!    calls for nothing, so a periodic reconcile adds no entry.
//! 3. `conflict_entry` and `resolved_entry` write those entries' Markdown.
//!
//! Everything here comes partly from Git (anyone with push access) and lands in NetBox's GUI:
//! lines lose their control characters, Markdown text is escaped, and Git's content only
//! appears inside code fences longer than any backtick run it holds.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::report::{self, resolve_command, unified};
use crate::wit::{Conflict, HnpOutcome, InvalidResource, RefKey, ResourceRef, Selection, SyncReport};

/// Longest `sync_error` line, in characters; longer ones end with `…`.
pub const MAX_LINE_CHARS: usize = 500;

/// Longest diff in a journal entry, in characters; past it the diff is cut at a line end.
pub const MAX_DIFF_CHARS: usize = 16_000;

/// How every conflict line starts; `journal_for` recognises conflict lines by it.
const CONFLICT_PREFIX: &str = "conflict: ";

/// Characters of a blob SHA in a `sync_error` line (the journal entry has the full SHA).
const SHORT_SHA: usize = 8;

/// What one CR's `sync_error` should say after the sync.
#[derive(Clone, Debug, PartialEq)]
pub struct Wanted<'a> {
    pub resource: ResourceRef,
    /// One line; empty when the CR is in sync.
    pub sync_error: String,
    /// The conflict behind a `conflict: ...` line, for its journal entry.
    pub conflict: Option<&'a Conflict>,
}

/// The statuses one sync decides.
#[derive(Clone, Debug, PartialEq)]
pub struct Statuses<'a> {
    /// CRs with a problem and, for a selection, the selected CRs without one.
    pub crs: BTreeMap<RefKey, Wanted<'a>>,
    /// A whole-fabric sync: every other CR of the fabric is in sync.
    pub rest_in_sync: bool,
    /// The commit the sync made, named in "resolved" entries.
    pub commit: Option<&'a str>,
}

impl Statuses<'_> {
    /// The `sync_error` a CR should have, or `None` when this sync did not cover it.
    pub fn wanted(&self, key: &RefKey) -> Option<&str> {
        match self.crs.get(key) {
            Some(wanted) => Some(&wanted.sync_error),
            None => self.rest_in_sync.then_some(""),
        }
    }

    /// The CRs of one kind this sync names (a whole-fabric sync also covers the others).
    pub fn named(&self, kind: &str) -> Vec<&Wanted<'_>> {
        self.crs.values().filter(|w| w.resource.kind == kind).collect()
    }

    /// The conflict behind a CR's line, if it is one.
    pub fn conflict(&self, key: &RefKey) -> Option<&Conflict> {
        self.crs.get(key).and_then(|w| w.conflict)
    }
}

/// The status of every CR a finished sync covered. A CR with several problems shows the
/// first of: conflict, invalid, refused by HNP.
pub fn statuses<'a>(covered: &Selection, report: &'a SyncReport) -> Statuses<'a> {
    let mut crs = BTreeMap::new();
    let mut want = |resource: &ResourceRef, sync_error: String, conflict: Option<&'a Conflict>| {
        crs.entry(resource.key()).or_insert_with(|| Wanted { resource: resource.clone(), sync_error, conflict });
    };
    for conflict in &report.conflicts {
        want(&conflict.resource, conflict_line(conflict), Some(conflict));
    }
    for bad in &report.invalid {
        want(&bad.reference(), invalid_line(bad), None);
    }
    for outcome in report.hnp_changes.iter().filter(|o| o.refused.is_some()) {
        want(&outcome.change.resource.reference(), refused_line(outcome), None);
    }
    let rest_in_sync = match covered {
        Selection::Fabric => true,
        Selection::Resources(refs) => {
            for reference in refs {
                want(reference, String::new(), None);
            }
            false
        }
    };
    Statuses { crs, rest_in_sync, commit: report.commit.as_deref() }
}

/// `conflict: changed in Git since the last sync (blob 20121ea2); see journal`.
pub fn conflict_line(conflict: &Conflict) -> String {
    let git = match &conflict.actual_sha {
        Some(sha) => format!("blob {}", &sha[..sha.len().min(SHORT_SHA)]),
        None => "no file".to_owned(),
    };
    one_line(&format!("{CONFLICT_PREFIX}{} ({git}); see journal", conflict.kind.describe()))
}

/// `invalid: field spec.subnets: must be an object`.
pub fn invalid_line(bad: &InvalidResource) -> String {
    one_line(&format!("invalid: field {}: {}", bad.field, bad.message))
}

/// `Git's edit was refused: spec: VLAN 1902 is reserved.`
pub fn refused_line(outcome: &HnpOutcome) -> String {
    one_line(&format!("Git's edit was refused: {}", outcome.refused.as_deref().unwrap_or_default()))
}

/// `text` on one line: line breaks and tabs become spaces (one per run), other control
/// characters and bidirectional overrides are dropped, and at most `MAX_LINE_CHARS` remain.
pub fn one_line(text: &str) -> String {
    let mut line = String::with_capacity(text.len().min(MAX_LINE_CHARS * 4));
    let mut pending_space = false;
    for c in text.chars() {
        if c.is_whitespace() {
            pending_space = !line.is_empty();
        } else if !c.is_control() && !is_bidi_control(c) {
            if pending_space {
                line.push(' ');
                pending_space = false;
            }
            line.push(c);
        }
    }
    match line.char_indices().nth(MAX_LINE_CHARS - 1) {
        Some((cut, _)) if line[cut..].chars().nth(1).is_some() => format!("{}…", &line[..cut]),
        _ => line,
    }
}

/// Unicode's bidirectional controls ("Trojan Source"): they reorder what a reader sees.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// A NetBox journal entry's `kind`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JournalKind {
    /// A new conflict.
    Warning,
    /// A conflict settled.
    Success,
}

impl JournalKind {
    /// As NetBox spells the choice.
    pub fn as_str(self) -> &'static str {
        match self {
            JournalKind::Warning => "warning",
            JournalKind::Success => "success",
        }
    }
}

/// Whether a `sync_error` line is a conflict's.
pub fn is_conflict(line: &str) -> bool {
    line.starts_with(CONFLICT_PREFIX)
}

/// The journal entry a change of a CR's `sync_error` from `before` to `after` calls for: a
/// conflict line that was not there before (a new conflict, or the same file changed in Git
/// again: its blob is in the line), or a conflict line cleared. Nothing for the same line.
pub fn journal_for(before: &str, after: &str) -> Option<JournalKind> {
    if before == after {
        None
    } else if is_conflict(after) {
        Some(JournalKind::Warning)
    } else if is_conflict(before) && after.is_empty() {
        Some(JournalKind::Success)
    } else {
        None
    }
}

/// The journal entry of a new conflict: what happened, where, both blob SHAs, Git's file
/// against HNP's version, and the commands that settle it.
pub fn conflict_entry(conflict: &Conflict, fabric: &str) -> String {
    let mut md = String::new();
    let what = conflict.kind.describe();
    let _ = writeln!(
        md,
        "**fgd-sync: conflict**: {what}. Neither Git's file nor this CR was overwritten; settle it as below.\n"
    );
    let reason = one_line(&conflict.reason);
    if !reason.is_empty() && reason != what {
        let _ = writeln!(md, "{}\n", markdown_text(&reason));
    }
    let sha = |sha: &Option<String>, none: &str| sha.as_deref().map_or_else(|| none.to_owned(), code);
    let _ = writeln!(md, "- Fabric: {}", code(fabric));
    let _ = writeln!(md, "- File: {}", code(&conflict.path));
    let _ = writeln!(md, "- Last synced blob: {}", sha(&conflict.expected_sha, "none"));
    let _ = writeln!(md, "- Blob in Git now: {}\n", sha(&conflict.actual_sha, "none (no file in Git)"));
    match (&conflict.git_content, &conflict.hnp_content) {
        (Some(git), Some(hnp)) => {
            let _ = writeln!(md, "Git's file (`-`) against this CR as fgd-sync would write it (`+`):\n");
            md.push_str(&fenced("diff", &capped_diff(&unified(git, hnp, "git", "hnp"))));
        }
        (None, Some(hnp)) => {
            let _ = writeln!(md, "Git has no readable file here; this CR as fgd-sync would write it:\n");
            md.push_str(&fenced("diff", &capped_diff(&unified("", hnp, "git", "hnp"))));
        }
        (Some(git), None) => {
            let _ = writeln!(md, "Git's file:\n");
            md.push_str(&fenced("diff", &capped_diff(&unified(git, "", "git", "hnp"))));
        }
        (None, None) => {
            let _ = writeln!(md, "Neither version can be shown here.");
        }
    }
    let r = &conflict.resource;
    if !report::resolvable(&conflict.path, &r.kind, &r.namespace, &r.name) {
        // A `raw/` file: its reason says how it is settled.
        let _ = writeln!(md, "\nSettle it in Git or in this CR: {}.", markdown_text(&reason));
        return md;
    }
    let shown = report::Conflict::from(conflict.clone());
    let _ = writeln!(md, "\nSettle it with one of these (add the repository and NetBox flags of your sync):\n");
    let commands = format!(
        "# write this CR's version over Git's file\n{}\n# keep Git's file and write its data into this CR\n{}\n",
        resolve_command(&shown, fabric, "hnp"),
        resolve_command(&shown, fabric, "git")
    );
    md.push_str(&fenced("sh", &commands));
    let _ = writeln!(
        md,
        "\nor edit the CR to match Git. Each command applies only while Git still holds the blob shown above."
    );
    md
}

/// The journal entry of a conflict settled: the CR is in sync again.
pub fn resolved_entry(before: &str, commit: Option<&str>) -> String {
    let mut md = String::from("**fgd-sync: resolved.** This CR and its file in Git agree again");
    match commit {
        Some(commit) => {
            let _ = write!(md, " (commit {})", code(&commit[..commit.len().min(12)]));
        }
        None => md.push_str(" (no commit was needed)"),
    }
    let _ = write!(md, ".\n\nIt was: {}\n", markdown_text(&one_line(before)));
    md
}

/// At most `MAX_DIFF_CHARS` of a diff, cut at a line end, saying how many lines were left out.
fn capped_diff(diff: &str) -> String {
    if diff.len() <= MAX_DIFF_CHARS {
        return diff.to_owned();
    }
    let mut kept = String::new();
    let mut lines = diff.lines();
    for line in lines.by_ref() {
        if kept.len() + line.len() + 1 > MAX_DIFF_CHARS {
            let left = 1 + lines.count();
            let _ = writeln!(kept, "... {left} more lines not shown (fgd-sync plan shows the whole diff)");
            return kept;
        }
        kept.push_str(line);
        kept.push('\n');
    }
    kept
}

/// A fenced code block whose fence is longer than any backtick run in `body`, so no line of
/// it can close the block early.
fn fenced(info: &str, body: &str) -> String {
    let fence = "`".repeat(longest_backtick_run(body).max(2) + 1);
    let newline = if body.ends_with('\n') || body.is_empty() { "" } else { "\n" };
    format!("{fence}{info}\n{body}{newline}{fence}\n")
}

/// An inline code span for `text` (one line), delimited so that backticks inside stay text.
fn code(text: &str) -> String {
    let text = one_line(text);
    let ticks = "`".repeat(longest_backtick_run(&text) + 1);
    let pad = if text.starts_with('`') || text.ends_with('`') { " " } else { "" };
    format!("{ticks}{pad}{text}{pad}{ticks}")
}

fn longest_backtick_run(text: &str) -> usize {
    text.split(|c| c != '`').map(str::len).max().unwrap_or(0)
}

/// Text shown as it is: the characters Markdown (and the HTML it allows) acts on are escaped.
fn markdown_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '~' | '#' | '&') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wit::{ConflictKind, CustomResource, HnpChange, HnpOp};

    fn vpc(name: &str) -> ResourceRef {
        ResourceRef { kind: "VPC".into(), namespace: "default".into(), name: name.into() }
    }

    fn key(name: &str) -> RefKey {
        vpc(name).key()
    }

    fn conflict(name: &str, kind: ConflictKind, git: Option<&str>) -> Conflict {
        Conflict {
            path: format!("fabrics/dc1/gitops/managed/vpcs/{name}.yaml"),
            kind,
            reason: kind.describe().into(),
            resource: vpc(name),
            expected_sha: Some("1".repeat(40)),
            actual_sha: git.map(|_| "20121ea2".to_owned() + &"f".repeat(32)),
            git_content: git.map(str::to_owned),
            hnp_content: Some("kind: VPC\nspec:\n  vlan: 1500\n".into()),
        }
    }

    fn invalid(name: &str) -> InvalidResource {
        InvalidResource {
            kind: "VPC".into(),
            namespace: "".into(),
            name: name.into(),
            field: "spec.subnets".into(),
            message: "must be an object".into(),
        }
    }

    fn refused(name: &str, why: &str) -> HnpOutcome {
        let resource = CustomResource {
            kind: "VPC".into(),
            api_version: None,
            name: name.into(),
            namespace: "default".into(),
            labels: "{}".into(),
            annotations: "{}".into(),
            spec: "{}".into(),
        };
        HnpOutcome {
            change: HnpChange {
                op: HnpOp::Update,
                resource,
                expected: None,
                fields: vec![],
                path: String::new(),
                records_sync: false,
            },
            refused: Some(why.into()),
        }
    }

    fn report() -> SyncReport {
        SyncReport {
            base_commit: None,
            commit: Some("c".repeat(40)),
            message: None,
            changes: vec![],
            conflicts: vec![],
            invalid: vec![],
            hnp_changes: vec![],
            raw_errors: vec![],
            unchanged: 0,
            requests: 0,
            attempts: 1,
            warnings: vec![],
        }
    }

    fn lines(statuses: &Statuses<'_>) -> Vec<(String, String)> {
        statuses.crs.values().map(|w| (w.resource.name.clone(), w.sync_error.clone())).collect()
    }

    #[test]
    fn each_problem_becomes_one_line_and_the_rest_of_the_fabric_is_cleared() {
        let mut r = report();
        r.conflicts.push(conflict("a", ConflictKind::ModifiedInGit, Some("kind: VPC\n")));
        r.conflicts.push(conflict("b", ConflictKind::DeletedInGit, None));
        r.invalid.push(invalid("c"));
        r.hnp_changes.push(refused("d", "spec: VLAN 1902 is reserved."));
        // A CR with a conflict and a refused change shows the conflict.
        r.hnp_changes.push(refused("a", "changed in HNP since it was read"));
        let statuses = statuses(&Selection::Fabric, &r);
        assert_eq!(
            lines(&statuses),
            [
                ("a".into(), "conflict: changed in Git since the last sync (blob 20121ea2); see journal".into()),
                ("b".into(), "conflict: deleted in Git since the last sync (no file); see journal".into()),
                ("c".into(), "invalid: field spec.subnets: must be an object".into()),
                ("d".into(), "Git's edit was refused: spec: VLAN 1902 is reserved.".into()),
            ]
        );
        assert_eq!(statuses.wanted(&key("zz")), Some(""), "every other CR of the fabric is in sync");
        assert!(statuses.conflict(&key("a")).is_some() && statuses.conflict(&key("c")).is_none());
        assert_eq!(statuses.commit, r.commit.as_deref());
    }

    #[test]
    fn a_selection_covers_only_its_crs() {
        let mut r = report();
        r.invalid.push(invalid("a"));
        let statuses = statuses(&Selection::Resources(vec![vpc("a"), vpc("b")]), &r);
        assert_eq!(
            lines(&statuses),
            [("a".into(), "invalid: field spec.subnets: must be an object".into()), ("b".into(), String::new())]
        );
        assert_eq!(statuses.wanted(&key("c")), None, "not covered: left as it is");
        // An empty namespace is `default`.
        let other = ResourceRef { namespace: String::new(), ..vpc("b") };
        assert_eq!(statuses.wanted(&other.key()), Some(""));
        assert_eq!(statuses.named("VPC").len(), 2);
        assert_eq!(statuses.named("Switch").len(), 0);
    }

    #[test]
    fn lines_are_single_lines_without_controls_and_capped() {
        let check = |input: &str, expected: &str| assert_eq!(one_line(input), expected, "{input:?}");
        check("a\nb\r\n\tc  d", "a b c d");
        check("  leading and trailing \n", "leading and trailing");
        check("esc\x1b[2Jape\u{7}\u{202e}d", "esc[2Japed");
        check("", "");
        let long = "x".repeat(MAX_LINE_CHARS + 10);
        let capped = one_line(&long);
        assert_eq!(capped.chars().count(), MAX_LINE_CHARS);
        assert!(capped.ends_with('…'));
        let exact = "é".repeat(MAX_LINE_CHARS);
        assert_eq!(one_line(&exact), exact, "a line of exactly the limit stays whole");
        let refused = one_line(&refused_line(&refused("a", &format!("bad\n{}", "y".repeat(900)))));
        assert!(refused.starts_with("Git's edit was refused: bad yyy") && refused.chars().count() == MAX_LINE_CHARS);
    }

    #[test]
    fn journal_entries_only_for_new_and_settled_conflicts() {
        let conflict = "conflict: changed in Git since the last sync (blob 20121ea2); see journal";
        let newer = "conflict: changed in Git since the last sync (blob 99999999); see journal";
        let check = |before: &str, after: &str, expected: Option<JournalKind>| {
            assert_eq!(journal_for(before, after), expected, "{before:?} -> {after:?}");
        };
        check("", conflict, Some(JournalKind::Warning));
        check(conflict, conflict, None);
        check(conflict, newer, Some(JournalKind::Warning));
        check("invalid: field spec: x", conflict, Some(JournalKind::Warning));
        check(conflict, "", Some(JournalKind::Success));
        check(conflict, "invalid: field spec: x", None);
        check("invalid: field spec: x", "", None);
        check("", "", None);
        check("Git's edit was refused: x", "", None);
    }

    #[test]
    fn a_conflict_entry_holds_the_diff_the_shas_and_the_resolve_commands() {
        let c = conflict("vpc-1", ConflictKind::ModifiedInGit, Some("kind: VPC\nspec:\n  vlan: 1999\n"));
        let md = conflict_entry(&c, "dc1");
        let git = c.actual_sha.clone().unwrap();
        for expected in [
            "changed in Git since the last sync",
            "`fabrics/dc1/gitops/managed/vpcs/vpc-1.yaml`",
            &format!("Last synced blob: `{}`", "1".repeat(40)),
            &format!("Blob in Git now: `{git}`"),
            "```diff\n--- git\n+++ hnp\n kind: VPC\n spec:\n-  vlan: 1999\n+  vlan: 1500\n```\n",
            &format!(
                "fgd-sync resolve fabrics/dc1/gitops/managed/vpcs/vpc-1.yaml --fabric dc1 --take hnp --expect {git}"
            ),
            &format!(
                "fgd-sync resolve fabrics/dc1/gitops/managed/vpcs/vpc-1.yaml --fabric dc1 --take git --expect {git}"
            ),
            "or edit the CR to match Git",
        ] {
            assert!(md.contains(expected), "missing {expected:?} in:\n{md}");
        }
        let deleted = conflict_entry(&conflict("vpc-2", ConflictKind::DeletedInGit, None), "dc1");
        assert!(deleted.contains("none (no file in Git)") && deleted.contains("--expect absent"), "{deleted}");
        assert!(deleted.contains("+  vlan: 1500"), "{deleted}");
    }

    #[test]
    fn a_raw_file_conflict_names_no_resolve_command() {
        let mut c = conflict("vpc-1", ConflictKind::CreatedInGit, Some("kind: VPC\n"));
        c.path = "fabrics/dc1/gitops/raw/new.yaml".into();
        c.reason = "HNP changed the CR since the last sync; edit or remove the raw file in Git".into();
        let md = conflict_entry(&c, "dc1");
        assert!(!md.contains("fgd-sync resolve"), "{md}");
        assert!(md.contains("Settle it in Git or in this CR: HNP changed the CR"), "{md}");
    }

    #[test]
    fn git_content_cannot_break_out_of_its_fence_or_flood_the_entry() {
        let hostile = "kind: VPC\n```\n# Injected heading\n<script>x</script>\n````` five\n";
        let mut c = conflict("vpc-1", ConflictKind::ModifiedInGit, Some(hostile));
        c.reason = "a *reason* with <b>html</b>\nand a second line".into();
        let md = conflict_entry(&c, "dc1");
        let fence = "``````";
        assert!(md.contains(&format!("{fence}diff\n")), "{md}");
        // Every line of the diff is inside the one block: the block ends only at our fence.
        let block = md.split(&format!("{fence}diff\n")).nth(1).unwrap();
        let (inside, _) = block.split_once(&format!("\n{fence}\n")).unwrap();
        assert!(inside.contains("+```") || inside.contains("-```"), "{inside}");
        assert!(inside.contains("-# Injected heading"), "{inside}");
        assert!(md.contains("a \\*reason\\* with \\<b\\>html\\</b\\> and a second line"), "{md}");

        let big: String = (0..5000).map(|i| format!("line: {i}\n")).collect();
        let md = conflict_entry(&conflict("vpc-1", ConflictKind::ModifiedInGit, Some(&big)), "dc1");
        assert!(md.len() < MAX_DIFF_CHARS + 2_000, "{} bytes", md.len());
        assert!(md.contains("more lines not shown"), "the cut is said");
    }

    #[test]
    fn a_resolved_entry_names_the_commit_and_what_it_was() {
        let md = resolved_entry(
            "conflict: deleted in Git since the last sync (no file); see journal",
            Some(&"ab".repeat(20)),
        );
        assert_eq!(
            md,
            "**fgd-sync: resolved.** This CR and its file in Git agree again (commit `abababababab`).\n\n\
             It was: conflict: deleted in Git since the last sync (no file); see journal\n"
        );
        assert!(resolved_entry("conflict: x", None).contains("no commit was needed"));
    }

    #[test]
    fn code_spans_hold_backticks() {
        assert_eq!(code("a/b.yaml"), "`a/b.yaml`");
        assert_eq!(code("a`b"), "``a`b``");
        assert_eq!(code("`a"), "`` `a ``");
        assert_eq!(fenced("sh", "x"), "```sh\nx\n```\n");
    }
}
