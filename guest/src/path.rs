//! Where things live in the repository: the fabric directory, managed files, the sync state.

use crate::model::{ResourceRef, SyncError, DEFAULT_NAMESPACE};

/// The directory, relative to the fabric directory, that holds one file per CR.
pub const MANAGED_DIR: &str = "managed";
/// Where users drop manifests for ingestion (a pull).
pub const RAW_DIR: &str = "raw";

/// The sync state file, relative to the fabric directory. It records the blob SHA of every
/// file the sync wrote or confirmed and is written in the same commit as those files.
pub const STATE_FILE: &str = ".hnp/sync-state.json";

/// Checks a fabric directory and returns it without surrounding `/`. Refuses `..`, `.`,
/// empty segments, backslashes and control characters: the directory ends up in GitHub
/// API paths, where any of them would address something else.
pub fn normalize_directory(directory: &str) -> Result<String, SyncError> {
    let trimmed = directory.trim_matches('/');
    if trimmed.is_empty() {
        return Ok(String::new());
    }
    for segment in trimmed.split('/') {
        let bad = segment.is_empty()
            || segment == "."
            || segment == ".."
            || segment.chars().any(|c| c.is_control() || c == '\\');
        if bad {
            return Err(SyncError::InvalidTarget(format!(
                "directory {directory:?}: segment {segment:?} is not allowed (no empty, `.`, `..`, backslash or control characters)"
            )));
        }
    }
    Ok(trimmed.to_string())
}

/// Joins a normalized fabric directory and a path inside it.
pub fn join(directory: &str, relative: &str) -> String {
    if directory.is_empty() {
        relative.to_string()
    } else {
        format!("{directory}/{relative}")
    }
}

/// A path relative to the fabric directory, or `None` when `path` is outside it.
pub fn strip_directory<'a>(directory: &str, path: &'a str) -> Option<&'a str> {
    if directory.is_empty() {
        return Some(path);
    }
    path.strip_prefix(directory)?.strip_prefix('/')
}

/// `managed/<plural>/<name>.yaml` for namespace `default`, else
/// `managed/<plural>/<namespace>/<name>.yaml`, relative to the fabric directory.
///
/// HNP wrote `<namespace>-<name>.yaml`, which is ambiguous (`a` + `b-c` and `a-b` + `c`);
/// names cannot contain `/`, so a directory per namespace maps every CR to its own file.
/// The ref must be validated (see `validate::resource_ref`).
pub fn managed_relative_path(r: &ResourceRef) -> String {
    let plural = r.kind.plural();
    if r.namespace == DEFAULT_NAMESPACE {
        format!("{MANAGED_DIR}/{plural}/{}.yaml", r.name)
    } else {
        format!("{MANAGED_DIR}/{plural}/{}/{}.yaml", r.namespace, r.name)
    }
}

/// The CR's file relative to the repository root.
pub fn manifest_path(directory: &str, r: &ResourceRef) -> String {
    join(directory, &managed_relative_path(r))
}

/// The inverse of `manifest_path`: the CR whose managed file `path` (from the repository
/// root) is, or `None` for any other path.
pub fn resource_at(directory: &str, path: &str) -> Option<ResourceRef> {
    let relative = strip_directory(directory, path)?.strip_prefix(MANAGED_DIR)?.strip_prefix('/')?;
    let (plural, rest) = relative.split_once('/')?;
    let kind = crate::model::Kind::ALL.into_iter().find(|k| k.plural() == plural)?;
    let rest = rest.strip_suffix(".yaml")?;
    let (namespace, name) = rest.split_once('/').unwrap_or((DEFAULT_NAMESPACE, rest));
    let reference = crate::validate::resource_ref(kind.as_str(), namespace, name).ok()?;
    // Only the canonical spelling maps back (`default/x.yaml` is not a managed path).
    (manifest_path(directory, &reference) == path).then_some(reference)
}

/// Whether a repository path is a manifest under the fabric's `raw/` (any depth; `.yaml`,
/// `.yml` or `.json`), which a pull ingests.
pub fn is_raw_file(directory: &str, path: &str) -> bool {
    let Some(relative) = strip_directory(directory, path).and_then(|r| r.strip_prefix(RAW_DIR)?.strip_prefix('/'))
    else {
        return false;
    };
    let lower = relative.to_ascii_lowercase();
    [".yaml", ".yml", ".json"].iter().any(|ext| lower.ends_with(ext))
}

/// The sync state file relative to the repository root.
pub fn state_path(directory: &str) -> String {
    join(directory, STATE_FILE)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Kind;

    fn r(kind: Kind, namespace: &str, name: &str) -> ResourceRef {
        ResourceRef { kind, namespace: namespace.into(), name: name.into() }
    }

    #[test]
    fn managed_paths_per_kind() {
        let cases = [
            (Kind::Vpc, "managed/vpcs/x.yaml"),
            (Kind::VpcAttachment, "managed/vpcattachments/x.yaml"),
            (Kind::VpcPeering, "managed/vpcpeerings/x.yaml"),
            (Kind::Ipv4Namespace, "managed/ipv4namespaces/x.yaml"),
            (Kind::External, "managed/externals/x.yaml"),
            (Kind::ExternalAttachment, "managed/externalattachments/x.yaml"),
            (Kind::ExternalPeering, "managed/externalpeerings/x.yaml"),
            (Kind::Connection, "managed/connections/x.yaml"),
            (Kind::Server, "managed/servers/x.yaml"),
            (Kind::Switch, "managed/switches/x.yaml"),
            (Kind::SwitchGroup, "managed/switchgroups/x.yaml"),
            (Kind::VlanNamespace, "managed/vlannamespaces/x.yaml"),
        ];
        for (kind, want) in cases {
            assert_eq!(managed_relative_path(&r(kind, "default", "x")), want);
        }
    }

    #[test]
    fn other_namespaces_do_not_collide() {
        let a = manifest_path("f", &r(Kind::Vpc, "a", "b-c"));
        let b = manifest_path("f", &r(Kind::Vpc, "a-b", "c"));
        assert_eq!(a, "f/managed/vpcs/a/b-c.yaml");
        assert_eq!(b, "f/managed/vpcs/a-b/c.yaml");
        assert_ne!(a, b);
    }

    #[test]
    fn resource_at_inverts_manifest_path() {
        for (kind, ns, name) in [
            (Kind::Vpc, "default", "vpc-1"),
            (Kind::Switch, "lab", "leaf-01"),
            (Kind::Connection, "default", "a--mclag--b"),
        ] {
            let reference = r(kind, ns, name);
            assert_eq!(resource_at("f/g", &manifest_path("f/g", &reference)), Some(reference));
        }
        for other in [
            "f/g/managed/vpcs/vpc-1.yml",
            "f/g/managed/vpcs/default/vpc-1.yaml",
            "f/g/raw/x.yaml",
            "f/g/managed/nope/x.yaml",
            "f/g/managed/vpcs/Vpc.yaml",
            "x/managed/vpcs/v.yaml",
        ] {
            assert_eq!(resource_at("f/g", other), None, "{other}");
        }
    }

    #[test]
    fn directories() {
        assert_eq!(normalize_directory("/fabrics/dc1/gitops/").unwrap(), "fabrics/dc1/gitops");
        assert_eq!(normalize_directory("").unwrap(), "");
        for bad in ["a/../b", "..", "a//b", "./a", "a\\b", "a/\n"] {
            assert!(normalize_directory(bad).is_err(), "{bad:?} accepted");
        }
        assert_eq!(state_path(""), ".hnp/sync-state.json");
        assert_eq!(strip_directory("f/g", "f/g/managed/x"), Some("managed/x"));
        assert_eq!(strip_directory("f/g", "f/gh/managed/x"), None);
    }
}
