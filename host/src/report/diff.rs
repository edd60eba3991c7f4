//! A small line diff (longest common subsequence) for showing both sides of a conflict and
//! planned updates. Files here are CR manifests: hundreds of lines at most.
//!
//! Git's side is written by anyone with push access and ends up on an operator's terminal:
//! control characters (escape sequences can rewrite the screen, hide lines, set the window
//! title) and bidirectional overrides are shown escaped, never sent as they are.

/// Lines past which the diff falls back to "everything changed" (quadratic table).
const MAX_LINES: usize = 4000;

/// Escapes what a terminal would act on instead of showing: C0 and C1 controls but the tab,
/// DEL, and the Unicode bidirectional controls ("Trojan Source").
pub fn escape_controls(line: &str) -> std::borrow::Cow<'_, str> {
    let bidi = |c: char| matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
    let unsafe_char = |c: char| (c.is_control() && c != '\t') || bidi(c);
    if !line.chars().any(unsafe_char) {
        return std::borrow::Cow::Borrowed(line);
    }
    let mut out = String::with_capacity(line.len() + 8);
    for c in line.chars() {
        match c {
            c if !unsafe_char(c) => out.push(c),
            c if (c as u32) < 0x100 => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
        }
    }
    std::borrow::Cow::Owned(out)
}

/// `--- a` / `+++ b` then ` `, `-`, `+` lines for the whole file, control characters escaped.
pub fn unified(a: &str, b: &str, a_name: &str, b_name: &str) -> String {
    let (x, y): (Vec<std::borrow::Cow<'_, str>>, Vec<std::borrow::Cow<'_, str>>) =
        (a.lines().map(escape_controls).collect(), b.lines().map(escape_controls).collect());
    let mut out = format!("--- {a_name}\n+++ {b_name}\n");
    if x.len() > MAX_LINES || y.len() > MAX_LINES {
        x.iter().for_each(|l| out.push_str(&format!("-{l}\n")));
        y.iter().for_each(|l| out.push_str(&format!("+{l}\n")));
        return out;
    }
    // lcs[i][j] = length of the LCS of x[i..] and y[j..].
    let mut lcs = vec![vec![0u32; y.len() + 1]; x.len() + 1];
    for i in (0..x.len()).rev() {
        for j in (0..y.len()).rev() {
            lcs[i][j] = if x[i] == y[j] { lcs[i + 1][j + 1] + 1 } else { lcs[i + 1][j].max(lcs[i][j + 1]) };
        }
    }
    let (mut i, mut j) = (0, 0);
    while i < x.len() || j < y.len() {
        if i < x.len() && j < y.len() && x[i] == y[j] {
            out.push_str(&format!(" {}\n", x[i]));
            i += 1;
            j += 1;
        } else if i < x.len() && (j == y.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
            // Removals before additions, as `diff -u` shows a changed line.
            out.push_str(&format!("-{}\n", x[i]));
            i += 1;
        } else {
            out.push_str(&format!("+{}\n", y[j]));
            j += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 12, item 11: an escape sequence committed to Git is shown, not executed.
    #[test]
    fn control_characters_from_git_are_escaped() {
        let git = "name: a\x1b]0;pwned\x07\x1b[2J\rspec: {}\u{202e}x\tb\n";
        let d = unified(git, "name: a\n", "git", "hnp");
        assert!(!d.chars().any(|c| c.is_control() && c != '\n' && c != '\t'), "{d:?}");
        assert!(d.contains("\\x1b]0;pwned\\x07\\x1b[2J\\x0dspec: {}\\u{202e}x\tb"), "{d}");
        assert_eq!(escape_controls("plain: text\twith tab"), "plain: text\twith tab");
    }

    #[test]
    fn shows_changed_lines() {
        let d = unified("a\nb\nc\n", "a\nB\nc\nd\n", "git", "hnp");
        assert_eq!(d, "--- git\n+++ hnp\n a\n-b\n+B\n c\n+d\n");
    }
}
