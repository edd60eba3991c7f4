//! The commit message of a plan: a subject that says what changed, and for several changes a
//! body with one line per change, capped so a large first sync stays readable.

use std::fmt::Write;

use crate::model::{Action, Change, HnpChange, HnpOp};
use crate::{path, validate};

/// Longest body, in lines; past it the last line says how many were left out.
pub const MAX_BODY_LINES: usize = 200;

/// `<prefix><subject>`, plus a body for more than one change. Empty for no change.
pub fn message(prefix: &str, directory: &str, changes: &[Change]) -> String {
    match changes {
        [] => String::new(),
        [one] => format!("{prefix}{} {}", verb(one.action), one.resource),
        several => {
            let mut out = format!("{prefix}{}\n", subject(several));
            let shown = if several.len() > MAX_BODY_LINES { MAX_BODY_LINES - 1 } else { several.len() };
            for c in &several[..shown] {
                let relative = path::strip_directory(directory, &c.path).unwrap_or(&c.path);
                // Writing to a String cannot fail.
                let _ = write!(out, "\n- {} {} ({relative})", verb(c.action), c.resource);
            }
            if shown < several.len() {
                let _ = write!(out, "\n- ... and {} more", several.len() - shown);
            }
            out
        }
    }
}

/// `Sync 12 resources: 3 created, 8 updated, 1 deleted` (zero counts left out).
fn subject(changes: &[Change]) -> String {
    let count = |wanted: &[Action]| changes.iter().filter(|c| wanted.contains(&c.action)).count();
    let counts = [
        (count(&[Action::Create]), "created"),
        (count(&[Action::Update]), "updated"),
        (count(&[Action::Delete]), "deleted"),
        // Adopt and forget change only the sync state.
        (count(&[Action::Adopt, Action::Forget]), "recorded"),
    ];
    let parts: Vec<String> = counts.iter().filter(|(n, _)| *n > 0).map(|(n, what)| format!("{n} {what}")).collect();
    format!("Sync {} resources: {}", changes.len(), parts.join(", "))
}

fn verb(action: Action) -> &'static str {
    match action {
        Action::Create => "Create",
        Action::Update => "Update",
        Action::Delete => "Delete",
        Action::Adopt => "Adopt",
        Action::Forget => "Forget",
    }
}

/// The message of a commit that follows a pull: the CRs taken from Git into HNP are what
/// happened (the commit itself only records Git's files as the new bases), so they lead; the
/// plan's own changes (HNP's edits pushed in the same run) follow.
pub fn with_pulls(prefix: &str, directory: &str, changes: &[Change], pulled: &[&HnpChange]) -> String {
    let name = |c: &HnpChange| match validate::resource_ref(&c.resource.kind, &c.resource.namespace, &c.resource.name) {
        Ok(r) => r.to_string(),
        Err(_) => format!("{} {}", c.resource.kind, c.resource.name),
    };
    let subject = match pulled {
        [] => return message(prefix, directory, changes),
        [one] => format!("{prefix}Take {} from Git into HNP ({})", name(one), op(one.op)),
        several => format!("{prefix}Take {} resources from Git into HNP", several.len()),
    };
    // What else the commit does: HNP's own edits, the raw files' canonical files.
    let pushed: Vec<&Change> = changes.iter().filter(|c| !matches!(c.action, Action::Adopt | Action::Forget)).collect();
    if pulled.len() == 1 && pushed.is_empty() {
        return subject;
    }
    let mut out = format!("{subject}\n");
    for c in pulled.iter().take(MAX_BODY_LINES) {
        let relative = path::strip_directory(directory, &c.path).unwrap_or(&c.path);
        let _ = write!(out, "\n- HNP: {} {} ({relative})", op(c.op), name(c));
    }
    if pulled.len() > MAX_BODY_LINES {
        let _ = write!(out, "\n- ... and {} more", pulled.len() - MAX_BODY_LINES);
    }
    for c in pushed.iter().take(MAX_BODY_LINES) {
        let relative = path::strip_directory(directory, &c.path).unwrap_or(&c.path);
        let _ = write!(out, "\n- Git: {} {} ({relative})", verb(c.action).to_lowercase(), c.resource);
    }
    out
}

fn op(op: HnpOp) -> &'static str {
    match op {
        HnpOp::Create => "create",
        HnpOp::Update => "update",
        HnpOp::Delete => "delete",
    }
}
