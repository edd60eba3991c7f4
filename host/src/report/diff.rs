//! A small line diff (longest common subsequence) for showing both sides of a conflict and
//! planned updates. Files here are CR manifests: hundreds of lines at most.

/// Lines past which the diff falls back to "everything changed" (quadratic table).
const MAX_LINES: usize = 4000;

/// `--- a` / `+++ b` then ` `, `-`, `+` lines for the whole file.
pub fn unified(a: &str, b: &str, a_name: &str, b_name: &str) -> String {
    let (x, y): (Vec<&str>, Vec<&str>) = (a.lines().collect(), b.lines().collect());
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

    #[test]
    fn shows_changed_lines() {
        let d = unified("a\nb\nc\n", "a\nB\nc\nd\n", "git", "hnp");
        assert_eq!(d, "--- git\n+++ hnp\n a\n-b\n+B\n c\n+d\n");
    }
}
