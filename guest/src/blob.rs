//! Git's blob SHA-1: the `sha` GitHub reports for every file.

/// `sha1("blob " + len + "\0" + bytes)` as lowercase hex.
pub fn blob_sha(content: &[u8]) -> String {
    let mut hasher = sha1_smol::Sha1::new();
    hasher.update(format!("blob {}\0", content.len()).as_bytes());
    hasher.update(content);
    hasher.digest().to_string()
}

/// A full lowercase hex SHA-1, the only form GitHub uses in its answers.
pub fn is_sha(s: &str) -> bool {
    s.len() == 40 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_github_and_git() {
        // Values from GitHub's docs and `git hash-object`.
        assert_eq!(blob_sha(b"Test content"), "3f3f005b29247e51a4f4d6b8ce07b67646cd6074");
        assert_eq!(blob_sha(b""), "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391");
        assert_eq!(blob_sha(b"hello\n"), "ce013625030ba8dba906f756967f9e9ca394464a");
    }

    #[test]
    fn recognises_shas() {
        assert!(is_sha("3f3f005b29247e51a4f4d6b8ce07b67646cd6074"));
        assert!(!is_sha("3F3F005B29247E51A4F4D6B8CE07B67646CD6074"));
        assert!(!is_sha("3f3f005b"));
    }
}
