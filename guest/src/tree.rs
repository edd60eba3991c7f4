//! Git tree objects: the SHA of a tree, and the root tree that a set of file writes makes of
//! a completely listed tree. The engine uses it to check, without another request, that the
//! tree GitHub built holds exactly the blobs the guest computed.
//!
//! A tree object is `tree <len>\0` followed by its entries in Git's order (byte order of the
//! names, a directory compared as `name/`), each `<mode> <name>\0<20 raw SHA bytes>`, the
//! mode in octal without leading zeros (`40000` for a directory).

use std::collections::{BTreeMap, BTreeSet};

/// One entry of a recursive tree listing (`GET git/trees/{sha}?recursive=1`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listed {
    /// From the listed tree's root, `/`-separated.
    pub path: String,
    /// As GitHub lists it: `100644`, `100755`, `120000`, `160000`, `040000`.
    pub mode: String,
    pub sha: String,
}

/// A directory's mode.
const TREE: u32 = 0o40000;
/// The mode of every file a sync writes.
const FILE: u32 = 0o100644;
const MODES: [u32; 5] = [FILE, 0o100755, 0o120000, 0o160000, TREE];

/// The SHA of the tree object holding `entries`, given as `(name, mode, sha)` in any order.
pub fn tree_sha(entries: &[(&str, &str, &str)]) -> Result<String, String> {
    let mut parsed = BTreeMap::new();
    for (name, mode, sha) in entries {
        check_name(name)?;
        if parsed.insert(name.to_string(), (parse_mode(mode)?, sha.to_string())).is_some() {
            return Err(format!("the name {name:?} appears twice"));
        }
    }
    hash_tree(&parsed)
}

/// The SHA of the root tree that `changes` make of the tree `listing` lists completely (every
/// entry, directories included, as a non-truncated recursive listing has them). A change is a
/// path and `Some(blob SHA)` to write a regular file (`100644`) or `None` to delete it; a
/// directory left empty disappears, as in Git. Only the directories on a changed path are
/// hashed again; every other directory keeps the SHA the listing gives.
pub fn expected_root(listing: &[Listed], changes: &[(&str, Option<&str>)]) -> Result<String, String> {
    // Directory path ("" for the root) -> its entries: name -> (mode, SHA).
    let mut dirs: BTreeMap<String, Entries> = BTreeMap::new();
    dirs.insert(String::new(), Entries::new());
    for e in listing {
        let mode = parse_mode(&e.mode)?;
        check_path(&e.path)?;
        let (parent, name) = split(&e.path);
        dirs.entry(parent.to_string()).or_default().insert(name.to_string(), (mode, e.sha.clone()));
        if mode == TREE {
            dirs.entry(e.path.clone()).or_default();
        }
    }
    let mut dirty = BTreeSet::new();
    for (path, blob) in changes {
        check_path(path)?;
        let (parent, name) = split(path);
        let mut ancestor = parent;
        loop {
            dirty.insert(ancestor.to_string());
            if ancestor.is_empty() {
                break;
            }
            ancestor = split(ancestor).0;
        }
        let entries = dirs.entry(parent.to_string()).or_default();
        match blob {
            Some(sha) => entries.insert(name.to_string(), (FILE, sha.to_string())),
            None => entries.remove(name),
        };
    }
    // Deepest first, so a directory is hashed after everything below it.
    let mut order: Vec<String> = dirty.into_iter().filter(|d| !d.is_empty()).collect();
    order.sort_by_key(|d| std::cmp::Reverse(d.matches('/').count()));
    for dir in order {
        let entries = dirs.remove(&dir).unwrap_or_default();
        let (parent, name) = split(&dir);
        let parent = dirs.entry(parent.to_string()).or_default();
        if entries.is_empty() {
            parent.remove(name);
        } else {
            parent.insert(name.to_string(), (TREE, hash_tree(&entries)?));
        }
    }
    hash_tree(&dirs.remove("").unwrap_or_default())
}

/// Name -> (mode, SHA) of one directory.
type Entries = BTreeMap<String, (u32, String)>;

fn hash_tree(entries: &Entries) -> Result<String, String> {
    // Git's order: names as bytes, a directory as if it ended in `/`.
    let mut sorted: Vec<(Vec<u8>, &str, u32, &str)> = entries
        .iter()
        .map(|(name, (mode, sha))| {
            let mut key = name.as_bytes().to_vec();
            if *mode == TREE {
                key.push(b'/');
            }
            (key, name.as_str(), *mode, sha.as_str())
        })
        .collect();
    sorted.sort();
    let mut body = Vec::with_capacity(entries.len() * 64);
    for (_, name, mode, sha) in sorted {
        body.extend_from_slice(format!("{mode:o} {name}\0").as_bytes());
        body.extend_from_slice(&raw_sha(sha)?);
    }
    let mut hasher = sha1_smol::Sha1::new();
    hasher.update(format!("tree {}\0", body.len()).as_bytes());
    hasher.update(&body);
    Ok(hasher.digest().to_string())
}

/// `040000` and `40000` alike; only the modes Git writes.
fn parse_mode(mode: &str) -> Result<u32, String> {
    u32::from_str_radix(mode, 8).ok().filter(|m| MODES.contains(m)).ok_or_else(|| format!("unknown mode {mode:?}"))
}

fn raw_sha(sha: &str) -> Result<[u8; 20], String> {
    let bad = || format!("{sha:?} is not a SHA-1");
    if sha.len() != 40 || !sha.is_ascii() {
        return Err(bad());
    }
    let mut raw = [0u8; 20];
    for (i, byte) in raw.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&sha[2 * i..2 * i + 2], 16).map_err(|_| bad())?;
    }
    Ok(raw)
}

fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name == "." || name == ".." || name.contains(['/', '\0']) {
        return Err(format!("{name:?} is not a tree entry name"));
    }
    Ok(())
}

fn check_path(path: &str) -> Result<(), String> {
    path.split('/').try_for_each(check_name).map_err(|_| format!("{path:?} is not a path in a tree"))
}

/// `a/b/c` -> (`a/b`, `c`); `c` -> (``, `c`).
fn split(path: &str) -> (&str, &str) {
    path.rsplit_once('/').unwrap_or(("", path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_empty_tree() {
        assert_eq!(tree_sha(&[]).unwrap(), "4b825dc642cb6eb9a060e54bf8d69288fbee4904");
        assert_eq!(expected_root(&[], &[]).unwrap(), "4b825dc642cb6eb9a060e54bf8d69288fbee4904");
    }

    #[test]
    fn refuses_what_git_would_not_write() {
        let blob = "ce013625030ba8dba906f756967f9e9ca394464a";
        assert!(tree_sha(&[("a", "100664", blob)]).is_err());
        assert!(tree_sha(&[("a/b", "100644", blob)]).is_err());
        assert!(tree_sha(&[("a", "100644", "xyz")]).is_err());
        assert!(tree_sha(&[("a", "100644", blob), ("a", "100755", blob)]).is_err());
        assert!(expected_root(&[], &[("a//b", Some(blob))]).is_err());
        assert!(expected_root(&[], &[("../b", Some(blob))]).is_err());
    }
}
