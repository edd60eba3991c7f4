//! What a command reports: one outcome type (`schema`), rendered as text for people or as
//! JSON (`--json`, versioned by `SCHEMA_VERSION`) for scripts, from the same value.

mod diff;
mod schema;

use std::fmt::Write as _;

pub use diff::{escape_controls, unified};
pub use schema::{
    Action, Change, Conflict, ConflictKind, ErrorDetail, ErrorReport, HnpChange, HnpOp, RawError, Report, Resource,
    SyncOutcome, SCHEMA_VERSION,
};

use crate::wit;

/// Changes listed one per line in text output; the rest are counted (JSON lists all).
const MAX_LISTED: usize = 25;

/// Exit codes, documented in `--help` and the README.
pub mod exit {
    /// Done: everything planned was written (or there was nothing to do).
    pub const OK: u8 = 0;
    /// An error: nothing was written by the failing step.
    pub const ERROR: u8 = 1;
    /// Conflicts, invalid CRs, CRs HNP refused, or `raw/` files that cannot be ingested:
    /// the other changes landed; those paths were left alone.
    pub const CONFLICTS: u8 = 2;
}

impl SyncOutcome {
    pub fn exit_code(&self) -> u8 {
        match (&self.report, &self.error) {
            (_, Some(_)) => exit::ERROR,
            // An invalid CR's file was left alone, as a conflict's is: the fabric is not in sync.
            (Some(r), None) if !r.in_sync() => exit::CONFLICTS,
            _ => exit::OK,
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\": \"cannot serialize: {e}\"}}"))
    }

    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "fabric {}: {}, branch {}, directory {}",
            self.fabric,
            self.remote,
            self.branch,
            if self.directory.is_empty() { "/" } else { &self.directory }
        );
        if let Some(error) = &self.error {
            let _ = writeln!(out, "error: {}", error.message);
        }
        if let Some(report) = &self.report {
            write_report(&mut out, report, self.dry_run, &self.fabric);
        }
        out
    }
}

impl Report {
    /// Whether nothing was left out: no conflict, no invalid CR, no refusal by HNP, no raw
    /// file left behind.
    pub fn in_sync(&self) -> bool {
        self.conflicts.is_empty()
            && self.invalid.is_empty()
            && self.raw_errors.is_empty()
            && self.hnp_changes.iter().all(|c| c.refused.is_none())
    }
}

fn write_report(out: &mut String, report: &Report, dry_run: bool, fabric: &str) {
    for change in report.hnp_changes.iter().take(MAX_LISTED) {
        let r = &change.resource;
        let fields = match change.fields.as_slice() {
            [] => String::new(),
            fields => format!(" ({})", fields.join(", ")),
        };
        let from = format!("from {}", change.path);
        match &change.refused {
            None => {
                let _ = writeln!(out, "  HNP {:<6} {} {}{fields}  {from}", change.op.as_str(), r.kind, r.name);
            }
            Some(why) => {
                let _ = writeln!(
                    out,
                    "  REFUSED by HNP: {} {} {}  {from}: {}; left as it is",
                    change.op.as_str(),
                    r.kind,
                    r.name,
                    diff::escape_controls(why)
                );
            }
        }
    }
    if report.hnp_changes.len() > MAX_LISTED {
        let more = report.hnp_changes.len() - MAX_LISTED;
        let _ = writeln!(out, "  ... and {more} more HNP changes (--json lists every one)");
    }
    for bad in &report.raw_errors {
        let field = if bad.field.is_empty() { String::new() } else { format!("field {}: ", bad.field) };
        let _ = writeln!(
            out,
            "  RAW {} document {}: {field}{}; the file stays in raw/ (fix it in Git)",
            bad.path,
            bad.document,
            diff::escape_controls(&bad.message)
        );
    }
    let width = report.changes.iter().map(|c| label(c).len()).max().unwrap_or(0);
    for change in report.changes.iter().take(MAX_LISTED) {
        let _ = writeln!(out, "  {:<7} {:<width$}  {}", change.action.as_str(), label(change), change.path);
    }
    for change in report.changes.iter().filter(|c| c.old_content.is_some()) {
        if let (Some(old), Some(new)) = (&change.old_content, &change.new_content) {
            let _ = writeln!(out, "  diff {}", change.path);
            for line in unified(old, new, "git", "hnp").lines() {
                let _ = writeln!(out, "    {line}");
            }
        }
    }
    if report.changes.len() > MAX_LISTED {
        let _ = writeln!(out, "  ... and {} more (--json lists every change)", report.changes.len() - MAX_LISTED);
    }
    for conflict in &report.conflicts {
        write_conflict(out, conflict, fabric);
    }
    for bad in &report.invalid {
        let namespace = if bad.namespace.is_empty() || bad.namespace == "default" {
            String::new()
        } else {
            format!("{}/", bad.namespace)
        };
        let _ = writeln!(
            out,
            "  INVALID {} {namespace}{}: field {}: {}; its file was left as it is (fix the CR in HNP)",
            bad.kind, bad.name, bad.field, bad.message
        );
    }
    let actions = report.changes.iter().map(|c| wit::Action::from(c.action));
    let mut summary = summarize(actions, report.conflicts.len(), report.invalid.len(), report.unchanged);
    let pulled = report.hnp_changes.iter().filter(|c| c.refused.is_none()).count() as u32;
    let refused = report.hnp_changes.len() as u32 - pulled;
    if pulled > 0 {
        let verb = if dry_run { "to write" } else { "written" };
        summary.push_str(&format!("; {} {verb} into HNP", plural(pulled, "CR")));
    }
    if refused > 0 {
        summary.push_str(&format!("; {} refused by HNP", plural(refused, "CR")));
    }
    if !report.raw_errors.is_empty() {
        summary.push_str(&format!("; {} in raw/", plural(report.raw_errors.len() as u32, "error")));
    }
    let _ = writeln!(out, "{summary}");
    let requests = plural(report.requests, "request");
    let attempts = plural(report.attempts, "attempt");
    match (&report.commit, dry_run) {
        (Some(commit), _) => {
            let subject = report.message.as_deref().and_then(|m| m.lines().next()).unwrap_or("");
            let _ = writeln!(out, "committed {} \"{subject}\" ({requests}, {attempts})", short(commit));
        }
        (None, true) if !report.changes.is_empty() || !report.hnp_changes.is_empty() => {
            let _ = writeln!(out, "dry run: nothing written ({requests})");
        }
        (None, _) => {
            let _ = writeln!(out, "no commit: nothing to write ({requests})");
        }
    }
    for warning in &report.warnings {
        let _ = writeln!(out, "warning: {warning}");
    }
}

fn write_conflict(out: &mut String, c: &Conflict, fabric: &str) {
    let r = &c.resource;
    let _ = writeln!(out, "  CONFLICT {} {}  {}: {}", r.kind, r.name, c.path, c.kind.describe());
    if !c.reason.is_empty() && c.reason != c.kind.describe() {
        let _ = writeln!(out, "    {}", c.reason);
    }
    let sha = |s: &Option<String>| s.as_deref().map(short).unwrap_or("(none)").to_string();
    let _ = writeln!(out, "    last synced blob {}, blob in Git now {}", sha(&c.expected_sha), sha(&c.actual_sha));
    match (&c.git_content, &c.hnp_content) {
        (Some(git), Some(hnp)) => {
            for line in unified(git, hnp, "git", "hnp").lines() {
                let _ = writeln!(out, "    {line}");
            }
        }
        (None, Some(_)) => {
            let _ = writeln!(out, "    (Git has no file; HNP still has the CR)");
        }
        _ => {}
    }
    // A raw file is settled in Git or HNP (its reason says how); `resolve` takes managed files.
    if !resolvable(&c.path, &c.resource.kind, &c.resource.namespace, &c.resource.name) {
        return;
    }
    // Pinned to the Git version shown above: if Git changes again before the command runs,
    // the conflict comes back with the new version instead of overwriting it.
    let _ = writeln!(out, "    settle it with one of (add the repository and source flags of this sync):");
    for take in ["hnp", "git"] {
        let _ = writeln!(out, "      {}", resolve_command(c, fabric, take));
    }
}

/// Whether `fgd-sync resolve` settles a conflict over `path`: the path is its CR's own managed
/// file. A conflict over a `raw/` file is settled in Git or HNP instead (its reason says so).
pub fn resolvable(path: &str, kind: &str, namespace: &str, name: &str) -> bool {
    let Ok(reference) = fgd_sync_guest::validate::resource_ref(kind, namespace, name) else { return false };
    let managed = fgd_sync_guest::path::managed_relative_path(&reference);
    path == managed || path.ends_with(&format!("/{managed}"))
}

/// `fgd-sync resolve PATH --fabric NAME --take SIDE --expect SHA|absent`.
pub fn resolve_command(c: &Conflict, fabric: &str, take: &str) -> String {
    let expect = c.actual_sha.as_deref().unwrap_or("absent");
    format!("fgd-sync resolve {} --fabric {} --take {take} --expect {expect}", quote(&c.path), quote(fabric))
}

/// A word for a POSIX shell: as it is when it is plain, else in single quotes.
fn quote(word: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_./:@=+,".contains(c);
    if !word.is_empty() && word.chars().all(plain) {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

fn label(c: &Change) -> String {
    format!("{} {}", c.resource.kind, c.resource.name)
}

/// `3 created, 1 updated; 1 conflict; 1 invalid; 12 unchanged`
pub fn summary(report: &wit::SyncReport) -> String {
    summarize(report.changes.iter().map(|c| c.action), report.conflicts.len(), report.invalid.len(), report.unchanged)
}

fn summarize(
    actions: impl Iterator<Item = wit::Action> + Clone,
    conflicts: usize,
    invalid: usize,
    unchanged: u32,
) -> String {
    let count = |a: wit::Action| actions.clone().filter(|b| *b == a).count();
    let mut parts: Vec<String> = [
        (wit::Action::Create, "created"),
        (wit::Action::Update, "updated"),
        (wit::Action::Delete, "deleted"),
        (wit::Action::Adopt, "adopted"),
        (wit::Action::Forget, "forgotten"),
    ]
    .into_iter()
    .filter(|(a, _)| count(*a) > 0)
    .map(|(a, word)| format!("{} {word}", count(a)))
    .collect();
    if parts.is_empty() {
        parts.push("no changes".into());
    }
    let mut text = parts.join(", ");
    if conflicts > 0 {
        text.push_str(&format!("; {}", plural(conflicts as u32, "conflict")));
    }
    if invalid > 0 {
        text.push_str(&format!("; {} invalid", invalid));
    }
    text.push_str(&format!("; {unchanged} unchanged"));
    text
}

fn plural(n: u32, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

fn short(sha: &str) -> &str {
    &sha[..sha.len().min(10)]
}

#[cfg(test)]
mod tests {
    use super::resolvable;

    #[test]
    fn resolve_takes_a_cr_s_own_managed_file_only() {
        assert!(resolvable("fabrics/dc1/gitops/managed/vpcs/vpc-1.yaml", "VPC", "default", "vpc-1"));
        assert!(resolvable("managed/vpcs/vpc-1.yaml", "VPC", "", "vpc-1"), "a fabric at the repository root");
        assert!(resolvable("d/managed/vpcattachments/tenant-a/att-1.yaml", "VPCAttachment", "tenant-a", "att-1"));
        assert!(!resolvable("fabrics/dc1/gitops/raw/new.yaml", "VPC", "default", "vpc-1"));
        assert!(!resolvable("fabrics/dc1/gitops/managed/vpcs/vpc-2.yaml", "VPC", "default", "vpc-1"));
        assert!(!resolvable("fabrics/dc1/gitops/xmanaged/vpcs/vpc-1.yaml", "VPC", "default", "vpc-1"));
    }
}
