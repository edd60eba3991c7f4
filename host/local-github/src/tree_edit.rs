//! Pure edits of a flattened tree (path -> mode, id), with GitHub's `POST /git/trees`
//! semantics: a later entry wins, a file replaces a directory of the same name and the other
//! way round, and deleting something that is not there is an error.

use crate::store::FlatTree;

/// One change to a flattened tree.
#[derive(Clone, Debug)]
pub(crate) enum Edit {
    /// A file or submodule at `path`.
    Put { path: String, mode: String, sha: String },
    /// A whole directory at `path`, given as its flattened files (relative paths).
    PutDir { path: String, files: FlatTree },
    /// Remove the file, or the whole directory, at `path`.
    Delete { path: String },
}

/// `Edit::Delete` named a path that holds nothing.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Absent(pub String);

/// Applies `edits` in order.
pub(crate) fn apply(tree: &mut FlatTree, edits: Vec<Edit>) -> Result<(), Absent> {
    for edit in edits {
        match edit {
            Edit::Put { path, mode, sha } => {
                clear(tree, &path);
                tree.insert(path, (mode, sha));
            }
            Edit::PutDir { path, files } => {
                clear(tree, &path);
                for (rel, v) in files {
                    tree.insert(format!("{path}/{rel}"), v);
                }
            }
            Edit::Delete { path } => {
                if tree.remove(&path).is_none() && remove_under(tree, &path) == 0 {
                    return Err(Absent(path));
                }
            }
        }
    }
    Ok(())
}

/// Makes room for something new at `path`: drops what is there, what is below it, and any
/// file standing where one of its parent directories must go.
fn clear(tree: &mut FlatTree, path: &str) {
    tree.remove(path);
    remove_under(tree, path);
    for (i, _) in path.match_indices('/') {
        tree.remove(&path[..i]);
    }
}

fn remove_under(tree: &mut FlatTree, dir: &str) -> usize {
    let prefix = format!("{dir}/");
    let doomed: Vec<String> =
        tree.range(prefix.clone()..).take_while(|(k, _)| k.starts_with(&prefix)).map(|(k, _)| k.clone()).collect();
    for k in &doomed {
        tree.remove(k);
    }
    doomed.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flat(paths: &[&str]) -> FlatTree {
        paths.iter().map(|p| (p.to_string(), ("100644".to_string(), "s".to_string()))).collect()
    }

    fn put(p: &str) -> Edit {
        Edit::Put { path: p.into(), mode: "100644".into(), sha: "s".into() }
    }

    fn del(p: &str) -> Edit {
        Edit::Delete { path: p.into() }
    }

    fn check(start: &[&str], edits: Vec<Edit>, expected: Result<&[&str], &str>) {
        let mut t = flat(start);
        let got = apply(&mut t, edits).map(|()| t.keys().cloned().collect::<Vec<_>>());
        let expected = expected.map(|e| e.iter().map(|s| s.to_string()).collect()).map_err(|p| Absent(p.into()));
        assert_eq!(got, expected);
    }

    #[test]
    fn edits() {
        check(&["a"], vec![put("b/c/d")], Ok(&["a", "b/c/d"]));
        check(&["a/x", "a/y", "ab"], vec![del("a")], Ok(&["ab"]));
        check(&["a/x"], vec![del("a/x")], Ok(&[]));
        check(&["a/x"], vec![del("a/z")], Err("a/z"));
        check(&["a/x", "a-b"], vec![put("a")], Ok(&["a", "a-b"]));
        check(&["a"], vec![put("a/b")], Ok(&["a/b"]));
        check(&["a"], vec![del("a"), put("a")], Ok(&["a"]));
        check(&["a"], vec![put("a"), del("a"), del("a")], Err("a"));
        let dir = Edit::PutDir { path: "d".into(), files: flat(&["x", "y/z"]) };
        check(&["d/old", "e"], vec![dir], Ok(&["d/x", "d/y/z", "e"]));
    }
}
