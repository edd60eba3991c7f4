//! The page itself: server-rendered HTML of the fabrics and their open conflicts, with no
//! external assets and no script. Everything from Git or NetBox is escaped (`html`), control
//! characters and bidirectional overrides shown escaped, long texts cut.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use base64::Engine as _;
use sha2::{Digest, Sha256};

use crate::report::{escape_controls, resolvable, unified};
use crate::serve::metrics::{Counters, FabricCounters};
use crate::wit::Conflict;

/// Lines and bytes of each side of a conflict shown; the rest is cut, with a note.
pub(super) const MAX_SHOWN_LINES: usize = 600;
pub(super) const MAX_SHOWN_BYTES: usize = 48 * 1024;
/// Conflicts shown with their diffs on one page; the others are counted.
pub(super) const MAX_CARDS: usize = 50;

/// The page's only style; allowed by its hash in the Content-Security-Policy.
const CSS: &str = "\
body{font-family:system-ui,sans-serif;margin:0 auto;max-width:1400px;padding:0 1rem 2rem;color:#1d2330;background:#fff}\
header{display:flex;justify-content:space-between;align-items:center;gap:1rem;border-bottom:1px solid #ccd}\
h1{font-size:1.3rem}h2{font-size:1.1rem;margin-top:2rem}h3{font-size:1rem;margin:0 0 .5rem;word-break:break-all}\
table{border-collapse:collapse;width:100%}th,td{text-align:left;vertical-align:top;padding:.3rem .5rem;border-bottom:1px solid #e3e6ee}\
code{font-family:ui-monospace,monospace;word-break:break-all}\
.flash{background:#eef5ff;border:1px solid #9bbcf0;padding:.6rem;border-radius:4px}\
.error,.conflicts{color:#a01818}.ok{color:#17692c}\
.conflict{border:1px solid #ccd;border-radius:6px;padding:.8rem;margin:1rem 0}\
dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem .8rem;margin:0 0 .8rem}dt{font-weight:600}dd{margin:0}\
table.diff{table-layout:fixed;font-family:ui-monospace,monospace;font-size:.85rem}\
table.diff td{white-space:pre-wrap;word-break:break-all;border:none;padding:0 .4rem;width:50%}\
td.del{background:#ffe4e4}td.add{background:#ddf6e1}td.gap{background:#f4f4f6}td.note{color:#666;font-style:italic}\
form.actions{display:flex;gap:.6rem;flex-wrap:wrap;margin-top:.8rem}\
button{font-size:1rem;padding:.5rem 1rem;border-radius:4px;border:1px solid #556;background:#f4f5f8;cursor:pointer}\
button.take{background:#1d4ed8;color:#fff;border-color:#1d4ed8}\
form.login{display:flex;flex-direction:column;gap:.8rem;max-width:22rem}input{font-size:1rem;padding:.4rem}\
@media (max-width:700px){table.grid thead,table.diff thead{display:none}\
table.grid tr,table.grid td,table.diff tr,table.diff td{display:block;width:auto}\
table.grid tr{border-bottom:1px solid #ccd;padding:.4rem 0}table.grid td{border:none}\
table.grid td[data-label]::before{content:attr(data-label) \": \";font-weight:600}\
td.side-git::before{content:\"Git \";color:#666}td.side-hnp::before{content:\"HNP \";color:#666}\
tr.same td.side-hnp{display:none}tr.same td::before{visibility:hidden}dl{grid-template-columns:1fr}}";

/// `sha256-<base64>` of `CSS`, as CSP names an inline style.
pub(super) fn css_hash() -> String {
    format!("sha256-{}", base64::engine::general_purpose::STANDARD.encode(Sha256::digest(CSS.as_bytes())))
}

/// Text for HTML (element content and quoted attributes), control characters escaped.
pub fn html(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    for c in escape_controls(text).chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// What the dashboard shows.
pub struct Page<'a> {
    /// The operator's login name.
    pub who: &'a str,
    pub csrf: &'a str,
    pub flash: Option<&'a str>,
    pub counters: &'a Counters,
    /// Resolutions waiting, per fabric.
    pub resolutions: &'a BTreeMap<String, usize>,
    /// Epoch seconds now, for "how long ago".
    pub now: f64,
}

fn head(title: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title><style>{CSS}</style></head><body>\n",
        html(title)
    )
}

/// The login form, with why the last attempt failed.
pub fn login_page(error: Option<&str>) -> String {
    let mut out = head("fgd-sync: log in");
    out.push_str("<header><h1>fgd-sync</h1></header>\n<h2>Log in</h2>\n");
    if let Some(error) = error {
        let _ = writeln!(out, "<p class=\"flash error\" role=\"alert\">{}</p>", html(error));
    }
    out.push_str(
        "<form class=\"login\" method=\"post\" action=\"/ui/login\">\
         <label>Your name <input name=\"name\" autocomplete=\"username\" required maxlength=\"64\"></label>\
         <label>Operator token <input name=\"token\" type=\"password\" autocomplete=\"current-password\" required></label>\
         <button type=\"submit\" class=\"take\">Log in</button></form>\n\
         <p>The operator token is the value of the variable given to <code>fgd-sync serve --ui-token-env</code>.</p>\n",
    );
    out.push_str("</body></html>\n");
    out
}

/// A short page for refusals and errors.
pub(super) fn message_page(title: &str, message: &str) -> String {
    format!(
        "{}<header><h1>fgd-sync</h1></header>\n<h2>{}</h2>\n<p class=\"flash error\">{}</p>\n<p><a href=\"/ui\">Back</a></p></body></html>\n",
        head(&format!("fgd-sync: {title}")),
        html(title),
        html(message)
    )
}

/// The dashboard.
pub fn render_page(page: &Page<'_>) -> String {
    let fabrics = &page.counters.fabrics;
    let mut out = head("fgd-sync");
    let _ = writeln!(
        out,
        "<header><h1>fgd-sync</h1><form method=\"post\" action=\"/ui/logout\">{}\
         <button type=\"submit\">Log out {}</button></form></header>",
        hidden("csrf", page.csrf),
        html(page.who)
    );
    if let Some(flash) = page.flash {
        let _ = writeln!(out, "<p class=\"flash\" role=\"status\">{}</p>", html(flash));
    }
    out.push_str(
        "<h2>Fabrics</h2>\n<table class=\"grid\"><thead><tr><th>Fabric</th><th>Last sync</th><th>Queue</th>\
                  <th>Open conflicts</th><th>Last error</th></tr></thead><tbody>\n",
    );
    for (name, c) in fabrics {
        let last = match c.last_sync {
            Some((at, outcome)) => format!("<span class=\"{0}\">{0}</span> {1}", outcome.as_str(), when(at, page.now)),
            None => "none yet".to_owned(),
        };
        let waiting = page.resolutions.get(name).copied().unwrap_or(0);
        let queue = match waiting {
            0 => format!("{} CRs", c.queue_depth),
            n => format!("{} CRs, {n} resolutions", c.queue_depth),
        };
        let error = match &c.last_error {
            Some((at, e)) => format!("<span class=\"error\">{}</span> ({})", html(e), when(*at, page.now)),
            None => "none".to_owned(),
        };
        let _ = writeln!(
            out,
            "<tr><td data-label=\"Fabric\">{}</td><td data-label=\"Last sync\">{last}</td>\
             <td data-label=\"Queue\">{queue}</td><td data-label=\"Open conflicts\">{}</td>\
             <td data-label=\"Last error\">{error}</td></tr>",
            html(name),
            c.conflicts.len()
        );
    }
    out.push_str("</tbody></table>\n");

    let open: usize = fabrics.values().map(|c| c.conflicts.len()).sum();
    let _ = writeln!(out, "<h2>Open conflicts ({open})</h2>");
    if open == 0 {
        out.push_str("<p class=\"ok\">No conflicts: Git and HNP agree wherever the last syncs looked.</p>\n");
    }
    let all = fabrics.iter().flat_map(|(fabric, c)| c.conflicts.values().map(move |conflict| (fabric, conflict)));
    for (fabric, conflict) in all.take(MAX_CARDS) {
        conflict_card(&mut out, fabric, conflict, page.csrf);
    }
    if open > MAX_CARDS {
        let _ = writeln!(
            out,
            "<p>… and {} more conflicts, shown once these are settled (or settle them with <code>fgd-sync resolve</code>).</p>",
            open - MAX_CARDS
        );
    }
    invalid_section(&mut out, fabrics);
    refused_section(&mut out, fabrics);
    out.push_str("</body></html>\n");
    out
}

fn conflict_card(out: &mut String, fabric: &str, conflict: &Conflict, csrf: &str) {
    let expect = conflict.actual_sha.as_deref().unwrap_or("absent");
    let sha = |s: Option<&str>, none: &str| s.map_or(none.to_owned(), |s| format!("<code>{}</code>", html(s)));
    let _ = writeln!(
        out,
        "<article class=\"conflict\"><h3><code>{}</code></h3><dl>\
         <dt>Fabric</dt><dd>{}</dd><dt>CR</dt><dd>{}</dd><dt>Kind</dt><dd>{}: {}</dd><dt>Reason</dt><dd>{}</dd>\
         <dt>Base blob</dt><dd>{} (what the last sync wrote or confirmed)</dd><dt>Git blob</dt><dd>{}</dd></dl>",
        html(&conflict.path),
        html(fabric),
        html(&conflict.resource.to_string()),
        conflict.kind.as_str(),
        conflict.kind.describe(),
        html(&conflict.reason),
        sha(conflict.expected_sha.as_deref(), "none"),
        sha(conflict.actual_sha.as_deref(), "absent (no file in Git)"),
    );
    out.push_str("<table class=\"diff\"><thead><tr><th>Git</th><th>HNP</th></tr></thead><tbody>\n");
    for row in diff_rows(conflict.git_content.as_deref(), conflict.hnp_content.as_deref()) {
        // On a phone an unchanged line is shown once (CSS hides its HNP copy).
        let class = if matches!(row, (Line::Same(_), Line::Same(_))) { " class=\"same\"" } else { "" };
        let _ = writeln!(out, "<tr{class}>{}{}</tr>", cell(&row.0, "git"), cell(&row.1, "hnp"));
    }
    out.push_str("</tbody></table>\n");
    let r = &conflict.resource;
    if !resolvable(&conflict.path, &r.kind, &r.namespace, &r.name) {
        // A `raw/` file is settled in Git or HNP (the reason above says how), not here.
        out.push_str("<p>Settle this one in Git or in HNP; the buttons take managed files only.</p></article>\n");
        return;
    }
    let _ = writeln!(
        out,
        "<form class=\"actions\" method=\"post\" action=\"/ui/resolve\">{}{}{}{}\
         <button type=\"submit\" name=\"take\" value=\"git\" class=\"take\">Take Git</button>\
         <button type=\"submit\" name=\"take\" value=\"hnp\" class=\"take\">Take HNP</button></form>\
         <p>Take Git keeps Git's file and writes its data into HNP; Take HNP writes HNP's version over Git's \
         file. Either applies only while Git still holds {}.</p></article>",
        hidden("csrf", csrf),
        hidden("fabric", fabric),
        hidden("path", &conflict.path),
        hidden("expect", expect),
        sha(conflict.actual_sha.as_deref(), "no file").replace("<code>", "blob <code>"),
    );
}

fn hidden(name: &str, value: &str) -> String {
    format!("<input type=\"hidden\" name=\"{name}\" value=\"{}\">", html(value))
}

/// One side of a diff row.
#[derive(Clone, Debug, PartialEq)]
pub enum Line {
    Same(String),
    /// Only on this side.
    Changed(String),
    /// Nothing on this side of the row.
    Gap,
    /// A remark (a cut text, a missing file).
    Note(String),
}

fn cell(line: &Line, side: &str) -> String {
    let (class, text) = match line {
        Line::Same(t) => ("same", html(t)),
        Line::Changed(t) if side == "git" => ("del", html(t)),
        Line::Changed(t) => ("add", html(t)),
        Line::Gap => ("gap", String::new()),
        Line::Note(t) => ("note", html(t)),
    };
    format!("<td class=\"{class} side-{side}\">{text}</td>")
}

/// The rows of a side-by-side diff of Git's and HNP's texts: equal lines side by side, a
/// changed run of lines beside the other side's run. Texts past `MAX_SHOWN_LINES` or
/// `MAX_SHOWN_BYTES` are cut, with a note.
pub fn diff_rows(git: Option<&str>, hnp: Option<&str>) -> Vec<(Line, Line)> {
    let (git_text, git_cut) = cap(git.unwrap_or_default());
    let (hnp_text, hnp_cut) = cap(hnp.unwrap_or_default());
    let mut rows = Vec::new();
    let (mut left, mut right) = (Vec::new(), Vec::new());
    let flush = |rows: &mut Vec<(Line, Line)>, left: &mut Vec<Line>, right: &mut Vec<Line>| {
        let n = left.len().max(right.len());
        let (mut l, mut r) = (left.drain(..), right.drain(..));
        for _ in 0..n {
            rows.push((l.next().unwrap_or(Line::Gap), r.next().unwrap_or(Line::Gap)));
        }
    };
    // `unified` escapes control characters already; its first two lines are the names.
    for line in unified(git_text, hnp_text, "git", "hnp").lines().skip(2) {
        let (mark, text) = line.split_at(1.min(line.len()));
        match mark {
            "-" => left.push(Line::Changed(text.to_owned())),
            "+" => right.push(Line::Changed(text.to_owned())),
            _ => {
                flush(&mut rows, &mut left, &mut right);
                rows.push((Line::Same(text.to_owned()), Line::Same(text.to_owned())));
            }
        }
    }
    flush(&mut rows, &mut left, &mut right);
    let missing = |text: Option<&str>, what: &str| text.is_none().then(|| Line::Note(what.to_owned()));
    let notes = [
        (missing(git, "(no file in Git, or not read)"), missing(hnp, "(HNP has no such CR)")),
        (git_cut.map(Line::Note), hnp_cut.map(Line::Note)),
    ];
    for (l, r) in notes {
        if l.is_some() || r.is_some() {
            rows.push((l.unwrap_or(Line::Gap), r.unwrap_or(Line::Gap)));
        }
    }
    rows
}

/// `text` cut to `MAX_SHOWN_LINES` lines and `MAX_SHOWN_BYTES` bytes (at a line end when
/// there is one), and a note saying what was left out.
pub(super) fn cap(text: &str) -> (&str, Option<String>) {
    let mut end = text.len().min(MAX_SHOWN_BYTES);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    if let Some((i, _)) = text[..end].match_indices('\n').nth(MAX_SHOWN_LINES - 1) {
        end = i + 1;
    } else if end < text.len() {
        end = text[..end].rfind('\n').map_or(end, |i| i + 1);
    }
    if end == text.len() {
        return (text, None);
    }
    let left = text[end..].lines().count();
    (&text[..end], Some(format!("… {left} more lines not shown ({} bytes in all)", text.len())))
}

fn invalid_section(out: &mut String, fabrics: &BTreeMap<String, FabricCounters>) {
    let count: usize = fabrics.values().map(|c| c.invalid.len()).sum();
    let _ = writeln!(out, "<h2>Invalid CRs ({count})</h2>");
    if count == 0 {
        return;
    }
    out.push_str(
        "<p>Their files are left as they are until the CR is fixed in HNP.</p>\n<table class=\"grid\">\
                  <thead><tr><th>Fabric</th><th>CR</th><th>Field</th><th>Problem</th></tr></thead><tbody>\n",
    );
    for (fabric, c) in fabrics {
        for bad in c.invalid.values() {
            let _ = writeln!(
                out,
                "<tr><td data-label=\"Fabric\">{}</td><td data-label=\"CR\">{}</td><td data-label=\"Field\"><code>{}</code></td>\
                 <td data-label=\"Problem\">{}</td></tr>",
                html(fabric),
                html(&bad.reference().to_string()),
                html(&bad.field),
                html(&bad.message)
            );
        }
    }
    out.push_str("</tbody></table>\n");
}

fn refused_section(out: &mut String, fabrics: &BTreeMap<String, FabricCounters>) {
    let count: usize = fabrics.values().map(|c| c.refused.len()).sum();
    let _ = writeln!(out, "<h2>Pull changes HNP refused ({count})</h2>");
    if count == 0 {
        return;
    }
    out.push_str(
        "<p>Git's edits that HNP did not take; no base is recorded for them.</p>\n<table class=\"grid\">\
                  <thead><tr><th>Fabric</th><th>File</th><th>CR</th><th>Why</th></tr></thead><tbody>\n",
    );
    for (fabric, c) in fabrics {
        for outcome in &c.refused {
            let _ = writeln!(
                out,
                "<tr><td data-label=\"Fabric\">{}</td><td data-label=\"File\"><code>{}</code></td>\
                 <td data-label=\"CR\">{}</td><td data-label=\"Why\">{}</td></tr>",
                html(fabric),
                html(&outcome.change.path),
                html(&outcome.change.resource.reference().to_string()),
                html(outcome.refused.as_deref().unwrap_or_default())
            );
        }
    }
    out.push_str("</tbody></table>\n");
}

/// `2026-12-01T10:00:00Z (5 min ago)`.
fn when(at: f64, now: f64) -> String {
    let ago = (now - at).max(0.0) as u64;
    let ago = match ago {
        0..=59 => format!("{ago} s ago"),
        60..=3599 => format!("{} min ago", ago / 60),
        _ => format!("{} h ago", ago / 3600),
    };
    format!("{} ({ago})", fgd_sync_local_github::format_utc(at as i64))
}
