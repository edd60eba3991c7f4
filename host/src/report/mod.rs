//! What a command reports: one `Serialize` type per outcome, rendered as text for people or
//! as JSON (`--json`, versioned by `SCHEMA_VERSION`) for scripts, from the same value.

mod diff;

use std::fmt::Write as _;

use serde::Serialize;

use crate::runtime::bindings::hedgehog::fgd_sync::types::{
    Action, Change, Conflict, ConflictKind, SyncError, SyncReport,
};

pub use diff::unified;

/// Changes listed one per line in text output; the rest are counted (JSON lists all).
const MAX_LISTED: usize = 25;

/// Bumped when a field of the JSON output changes meaning or goes away.
pub const SCHEMA_VERSION: u32 = 1;

/// Exit codes, documented in `--help` and the README.
pub mod exit {
    /// Done: everything planned was written (or there was nothing to do).
    pub const OK: u8 = 0;
    /// An error: nothing was written by the failing step.
    pub const ERROR: u8 = 1;
    /// Conflicts: the other changes landed, the conflicting paths were left alone.
    pub const CONFLICTS: u8 = 2;
}

/// The outcome of `plan` / `sync` / `resolve` for one fabric.
#[derive(Debug, Serialize)]
pub struct SyncOutcome {
    pub schema: u32,
    pub fabric: String,
    pub remote: String,
    pub branch: String,
    pub directory: String,
    pub dry_run: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report: Option<SyncReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorReport>,
}

#[derive(Debug, Serialize)]
pub struct ErrorReport {
    pub message: String,
    /// The guest's typed error, when the failure came from the sync itself.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<SyncError>,
}

impl SyncOutcome {
    pub fn exit_code(&self) -> u8 {
        match (&self.report, &self.error) {
            (_, Some(_)) => exit::ERROR,
            (Some(r), None) if !r.conflicts.is_empty() => exit::CONFLICTS,
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
            write_report(&mut out, report, self.dry_run);
        }
        out
    }
}

fn action_word(action: Action) -> &'static str {
    match action {
        Action::Create => "create",
        Action::Update => "update",
        Action::Delete => "delete",
        Action::Adopt => "adopt",
        Action::Forget => "forget",
    }
}

fn conflict_words(kind: ConflictKind) -> &'static str {
    match kind {
        ConflictKind::ModifiedInGit => "changed in Git since the last sync",
        ConflictKind::DeletedInGit => "deleted in Git since the last sync",
        ConflictKind::CreatedInGit => "created in Git with other content",
    }
}

fn write_report(out: &mut String, report: &SyncReport, dry_run: bool) {
    let width = report.changes.iter().map(|c| label(c).len()).max().unwrap_or(0);
    for change in report.changes.iter().take(MAX_LISTED) {
        let _ = writeln!(out, "  {:<7} {:<width$}  {}", action_word(change.action), label(change), change.path);
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
        write_conflict(out, conflict);
    }
    let _ = writeln!(out, "{}", summary(report));
    let requests = plural(report.requests, "request");
    let attempts = plural(report.attempts, "attempt");
    match (&report.commit, dry_run) {
        (Some(commit), _) => {
            let subject = report.message.as_deref().and_then(|m| m.lines().next()).unwrap_or("");
            let _ = writeln!(out, "committed {} \"{subject}\" ({requests}, {attempts})", short(commit));
        }
        (None, true) if !report.changes.is_empty() => {
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

fn write_conflict(out: &mut String, c: &Conflict) {
    let r = &c.resource;
    let _ = writeln!(out, "  CONFLICT {} {}  {}: {}", r.kind, r.name, c.path, conflict_words(c.kind));
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
    let _ = writeln!(out, "    settle it: fgd-sync resolve {} --take git|hnp", c.path);
}

fn label(c: &Change) -> String {
    format!("{} {}", c.resource.kind, c.resource.name)
}

/// `3 created, 1 updated; 1 conflict; 12 unchanged`
pub fn summary(report: &SyncReport) -> String {
    let count = |a: Action| report.changes.iter().filter(|c| c.action == a).count();
    let mut parts: Vec<String> = [
        (Action::Create, "created"),
        (Action::Update, "updated"),
        (Action::Delete, "deleted"),
        (Action::Adopt, "adopted"),
        (Action::Forget, "forgotten"),
    ]
    .into_iter()
    .filter(|(a, _)| count(*a) > 0)
    .map(|(a, word)| format!("{} {word}", count(a)))
    .collect();
    if parts.is_empty() {
        parts.push("no changes".into());
    }
    let mut text = parts.join(", ");
    if !report.conflicts.is_empty() {
        text.push_str(&format!("; {}", plural(report.conflicts.len() as u32, "conflict")));
    }
    text.push_str(&format!("; {} unchanged", report.unchanged));
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

/// One line per error, naming what a user must fix.
pub fn describe_error(e: &SyncError) -> String {
    match e {
        SyncError::InvalidResource(e) => {
            let ns = if e.namespace.is_empty() || e.namespace == "default" {
                String::new()
            } else {
                format!("{}/", e.namespace)
            };
            format!(
                "invalid {} {ns}{:?}: field {}: {}",
                if e.kind.is_empty() { "resource" } else { &e.kind },
                e.name,
                e.field,
                e.message
            )
        }
        SyncError::InvalidManifest(e) => {
            format!("invalid manifest {} (document {}): {}", e.source, e.document + 1, e.message)
        }
        SyncError::InvalidTarget(m) => format!("invalid target: {m}"),
        SyncError::BranchNotFound(b) => {
            format!("branch {b:?} does not exist in the repository (create it first, or pick another with --branch)")
        }
        SyncError::Remote(e) => format!("GitHub answered {} to {} {}: {}", e.status, e.method, e.url, e.message),
        SyncError::RateLimited(r) => format!(
            "rate limited by GitHub until {} (epoch {}): {}",
            crate::report::epoch_to_utc(r.reset_at),
            r.reset_at,
            r.message
        ),
        SyncError::Transport(m) => format!("no answer from GitHub: {m}"),
        SyncError::TooManyRaces(n) => {
            format!("another writer kept moving the branch; gave up after {n} attempts (run again)")
        }
        SyncError::Source(m) => format!("reading CRs failed: {m}"),
    }
}

/// `2026-11-25T23:22:51Z`: epoch seconds as RFC 3339 UTC.
pub fn epoch_to_utc(secs: u64) -> String {
    crate::source::netbox::rfc3339_utc(std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_formatting() {
        assert_eq!(epoch_to_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(epoch_to_utc(1_767_225_600), "2026-01-01T00:00:00Z");
        assert_eq!(epoch_to_utc(951_782_400), "2000-02-29T00:00:00Z");
    }
}
