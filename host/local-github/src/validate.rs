//! Pure checks on request values (object ids, file paths, branch names, modes) made before
//! any of them reaches a git command line.

/// True for a full object id: exactly 40 hex digits. Callers lowercase first.
pub(crate) fn is_sha(s: &str) -> bool {
    s.len() == 40 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A request's object id, normalised to lowercase; `None` when it is not 40 hex digits.
pub(crate) fn sha(s: &str) -> Option<String> {
    is_sha(s).then(|| s.to_ascii_lowercase())
}

/// Why a repository path was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PathProblem {
    /// Starts with `/` (GitHub has its own message for this).
    LeadingSlash,
    /// Empty, an empty segment, `.`/`..`, a `.git` segment, or a NUL byte.
    Malformed,
}

/// Checks a file path inside the repository: `a/b/c.yaml`.
///
/// `.git` segments are refused as well: `git fsck` rejects trees that contain them.
pub(crate) fn path(p: &str) -> Result<(), PathProblem> {
    if p.starts_with('/') {
        return Err(PathProblem::LeadingSlash);
    }
    if p.is_empty() || p.contains('\0') {
        return Err(PathProblem::Malformed);
    }
    for seg in p.split('/') {
        if seg.is_empty() || seg == "." || seg == ".." || seg.eq_ignore_ascii_case(".git") {
            return Err(PathProblem::Malformed);
        }
    }
    Ok(())
}

/// Checks a ref name below `refs/` (`heads/main`, `tags/v1`) against a conservative subset
/// of `git check-ref-format`; also keeps names from looking like options.
pub(crate) fn ref_suffix(name: &str) -> bool {
    if name.is_empty() || name.len() > 255 || name.starts_with('-') || name.ends_with('.') {
        return false;
    }
    if name.contains("..") || name.contains("@{") || name == "@" {
        return false;
    }
    if name.bytes().any(|b| b < 0x20 || b == 0x7f || b" ~^:?*[\\".contains(&b)) {
        return false;
    }
    name.split('/').all(|seg| !seg.is_empty() && !seg.starts_with('.') && !seg.ends_with(".lock"))
}

/// Checks a branch name (what follows `refs/heads/`).
pub(crate) fn branch(name: &str) -> bool {
    ref_suffix(name)
}

/// A tree entry mode accepted by `POST /git/trees`, with the object type it requires.
pub(crate) fn mode_kind(mode: &str) -> Option<&'static str> {
    match mode {
        "100644" | "100755" | "120000" => Some("blob"),
        "040000" => Some("tree"),
        "160000" => Some("commit"),
        _ => None,
    }
}

/// Checks a commit identity field: git would silently rewrite `<`, `>` and newlines.
pub(crate) fn ident_part(s: &str) -> bool {
    !s.trim().is_empty() && !s.bytes().any(|b| b == b'<' || b == b'>' || b == b'\n' || b == b'\0')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        for ok in ["a", "a/b/c.yaml", "x y", ".github/workflows/ci.yml", "a..b"] {
            assert_eq!(path(ok), Ok(()), "{ok}");
        }
        assert_eq!(path("/a"), Err(PathProblem::LeadingSlash));
        for bad in ["", "a//b", "a/", "./a", "a/../b", "..", ".git/config", "a/.GIT/b", "a\0b"] {
            assert_eq!(path(bad), Err(PathProblem::Malformed), "{bad:?}");
        }
    }

    #[test]
    fn refs() {
        for ok in ["main", "feature/x", "fgd-sync/2024-01-01", "v1.0"] {
            assert!(branch(ok), "{ok}");
        }
        for bad in
            ["", "-x", "a..b", "a b", "a~1", "a^", "a:b", "x.lock", "a/.b", "a//b", "a/", "x.", "@", "a@{1}", "a\\b"]
        {
            assert!(!branch(bad), "{bad:?}");
        }
    }

    #[test]
    fn shas() {
        assert_eq!(
            sha("3F3F005B29247E51A4F4D6B8CE07B67646CD6074").as_deref(),
            Some("3f3f005b29247e51a4f4d6b8ce07b67646cd6074")
        );
        assert_eq!(sha("3f3f005b"), None);
        assert_eq!(sha("--output=/tmp/x-------------------------"), None);
    }
}
