//! Settings for one or more fabrics, from a TOML file, environment and flags (flags win,
//! then the environment, then the file). Secrets never live in the file: it names the
//! environment variables that hold them.
//!
//! ```toml
//! [defaults]
//! github_api = "https://api.github.com"     # or https://ghe.example.com/api/v3
//! netbox_url = "https://netbox.example.com"
//! message_prefix = "[hnp] "
//! committer = { name = "fgd-sync", email = "fgd-sync@example.com" }
//!
//! [[fabric]]
//! name = "dc1"
//! repository = "acme/fabric-gitops"         # or: local = "/srv/git/fabric.git"
//! branch = "main"                           # default main
//! directory = "fabrics/dc1/gitops"          # default fabrics/<name>/gitops
//! source = "netbox"                         # or: source_dir = "crs/dc1"
//! github_token_env = "DC1_GITHUB_TOKEN"     # default GITHUB_TOKEN
//! max_deletions = 40                        # lifts the mass-deletion guard (--allow-deletions)
//! ```
//!
//! `[defaults]` also takes `ca_file = "internal-ca.pem"` (`--ca-file`; relative to the file)
//! and `allow_insecure_http = true` (`--allow-insecure-http`).
//!
//! Two fabrics may share a repository and branch only in directories apart: equal or nested
//! directories (`a` and `a/b`, or the root `""` and anything) are refused when the file is
//! loaded, as each fabric's sync would take the other's files for its own.

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Deserialize;

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    #[serde(default)]
    pub defaults: Defaults,
    #[serde(default, rename = "fabric")]
    pub fabrics: Vec<FabricEntry>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Defaults {
    pub github_api: Option<String>,
    pub netbox_url: Option<String>,
    pub message_prefix: Option<String>,
    pub committer: Option<Committer>,
    /// Most managed files one sync of a fabric may delete (replaces the default guard).
    pub max_deletions: Option<u32>,
    /// A PEM bundle of CA certificates trusted besides the Mozilla roots (`--ca-file`).
    pub ca_file: Option<PathBuf>,
    /// Tokens may go over plain http:// beyond loopback (`--allow-insecure-http`).
    pub allow_insecure_http: Option<bool>,
}

#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Committer {
    pub name: String,
    pub email: String,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FabricEntry {
    pub name: String,
    pub repository: Option<String>,
    pub local: Option<PathBuf>,
    pub github_api: Option<String>,
    pub branch: Option<String>,
    pub directory: Option<String>,
    /// `"netbox"`, or absent when `source_dir` is set.
    pub source: Option<String>,
    pub source_dir: Option<PathBuf>,
    pub netbox_url: Option<String>,
    pub github_token_env: Option<String>,
    pub netbox_token_env: Option<String>,
    pub message_prefix: Option<String>,
    /// Most managed files one sync of this fabric may delete (replaces the default guard,
    /// which refuses to delete every managed file, or more than 10 and over 10 % of them).
    pub max_deletions: Option<u32>,
    /// Which way `sync` and `serve` carry edits: `push`, `pull` or `both` (`--direction`).
    pub direction: Option<DirectionName>,
}

/// A direction as the config file spells it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum DirectionName {
    /// NetBox (HNP) -> Git.
    Push,
    /// Git -> NetBox (HNP).
    Pull,
    /// Git -> NetBox first, then NetBox -> Git, in one run.
    Both,
}

impl From<DirectionName> for crate::wit::Direction {
    fn from(d: DirectionName) -> Self {
        match d {
            DirectionName::Push => crate::wit::Direction::Push,
            DirectionName::Pull => crate::wit::Direction::Pull,
            DirectionName::Both => crate::wit::Direction::Both,
        }
    }
}

impl ConfigFile {
    pub fn load(path: &Path) -> anyhow::Result<ConfigFile> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading config {}", path.display()))?;
        let mut config: ConfigFile =
            toml::from_str(&text).with_context(|| format!("parsing config {}", path.display()))?;
        // Relative paths in the file are relative to the file, not to the working directory.
        let base = path.parent().unwrap_or(Path::new("."));
        if let Some(p) = config.defaults.ca_file.as_mut().filter(|p| p.is_relative()) {
            *p = base.join(&*p);
        }
        for fabric in &mut config.fabrics {
            for p in [&mut fabric.local, &mut fabric.source_dir].into_iter().flatten() {
                if p.is_relative() {
                    *p = base.join(&*p);
                }
            }
        }
        let mut seen = std::collections::BTreeSet::new();
        for fabric in &config.fabrics {
            anyhow::ensure!(!fabric.name.is_empty(), "config {}: a [[fabric]] has no name", path.display());
            anyhow::ensure!(
                seen.insert(&fabric.name),
                "config {}: fabric {:?} is listed twice",
                path.display(),
                fabric.name
            );
        }
        config.refuse_overlapping_directories().with_context(|| format!("config {}", path.display()))?;
        Ok(config)
    }

    /// Two fabrics on one repository and branch need directories apart (neither equal nor
    /// one inside the other): each fabric's sync owns its directory's `managed/` files and
    /// state, and would delete or overwrite the other's.
    fn refuse_overlapping_directories(&self) -> anyhow::Result<()> {
        let place = |f: &FabricEntry| {
            let repository = match (&f.local, &f.repository) {
                (Some(local), _) => format!("local {}", normalize_path(local)),
                (None, Some(repository)) => {
                    let api = f.github_api.as_ref().or(self.defaults.github_api.as_ref());
                    let api = api.map(|a| a.trim_end_matches('/').to_ascii_lowercase()).unwrap_or_default();
                    format!("github {api} {}", repository.to_ascii_lowercase())
                }
                // Given on the command line: not known here.
                (None, None) => return None,
            };
            let branch = f.branch.clone().unwrap_or_else(|| "main".into());
            let directory = f.directory.clone().unwrap_or_else(|| default_directory(&f.name));
            Some((repository, branch, normalize_directory(&directory)))
        };
        let places: Vec<_> = self.fabrics.iter().map(|f| (f, place(f))).collect();
        for (i, (a, pa)) in places.iter().enumerate() {
            for (b, pb) in &places[i + 1..] {
                let (Some((ra, ba, da)), Some((rb, bb, db))) = (pa, pb) else { continue };
                if ra == rb && ba == bb && nested(da, db) {
                    anyhow::bail!(
                        "fabrics {:?} (directory {:?}) and {:?} (directory {:?}) overlap on branch {ba}: \
                         one directory is the other or inside it, so each fabric's sync would take the \
                         other's files; give each fabric a directory of its own",
                        a.name,
                        if da.is_empty() { "/" } else { da.as_str() },
                        b.name,
                        if db.is_empty() { "/" } else { db.as_str() },
                    );
                }
            }
        }
        Ok(())
    }

    pub fn fabric(&self, name: &str) -> Option<&FabricEntry> {
        self.fabrics.iter().find(|f| f.name == name)
    }
}

/// `a//b/./c/` -> `a/b/c`; the root is `""`.
fn normalize_directory(directory: &str) -> String {
    directory.split('/').filter(|s| !s.is_empty() && *s != ".").collect::<Vec<_>>().join("/")
}

/// A path without `.` and trailing separators (not resolved on disk: it may not exist yet).
fn normalize_path(path: &Path) -> String {
    path.components().collect::<PathBuf>().display().to_string()
}

/// Equal, or one inside the other at a `/` boundary (the root holds everything).
fn nested(a: &str, b: &str) -> bool {
    let inside = |outer: &str, inner: &str| {
        outer.is_empty() || inner == outer || inner.strip_prefix(outer).is_some_and(|rest| rest.starts_with('/'))
    };
    inside(a, b) || inside(b, a)
}

/// The FGD's default location in the repository, as HNP lays it out.
pub fn default_directory(fabric: &str) -> String {
    format!("fabrics/{}/gitops", fabric.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_example() {
        let text = r#"
            [defaults]
            github_api = "https://api.github.com"
            committer = { name = "fgd-sync", email = "fgd-sync@example.com" }

            [[fabric]]
            name = "dc1"
            repository = "acme/fabric-gitops"
            source = "netbox"

            [[fabric]]
            name = "lab"
            local = "lab.git"
            source_dir = "crs"
        "#;
        let config: ConfigFile = toml::from_str(text).unwrap();
        assert_eq!(config.fabrics.len(), 2);
        assert_eq!(config.fabric("lab").unwrap().source_dir.as_deref(), Some(Path::new("crs")));
        assert_eq!(default_directory("DC1"), "fabrics/dc1/gitops");
    }

    #[test]
    fn nested_directories() {
        let cases = [
            ("a", "a", true),
            ("a", "a/b", true),
            ("a/b", "a", true),
            ("", "x/y", true),
            ("a", "ab", false),
            ("a/b", "a/c", false),
            ("fabrics/dc1/gitops", "fabrics/dc1/gitops-2", false),
        ];
        for (a, b, expected) in cases {
            assert_eq!(nested(a, b), expected, "{a:?} {b:?}");
        }
        assert_eq!(normalize_directory("/a//b/./c/"), "a/b/c");
        assert_eq!(normalize_directory("/"), "");
    }

    fn load(text: &str) -> anyhow::Result<ConfigFile> {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let tmp = std::env::temp_dir().join(format!("fgd-sync-config-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&tmp)?;
        let path = tmp.join("fabrics.toml");
        std::fs::write(&path, text)?;
        let result = ConfigFile::load(&path);
        let _ = std::fs::remove_dir_all(&tmp);
        result
    }

    #[test]
    fn overlapping_directories_of_one_repository_and_branch_are_refused() {
        let refused = [
            // The same default directory (names differ only in case).
            "[[fabric]]\nname = \"dc1\"\nlocal = \"f.git\"\n[[fabric]]\nname = \"DC1\"\nlocal = \"./f.git\"\n",
            // Nested, on GitHub.
            "[[fabric]]\nname = \"a\"\nrepository = \"acme/f\"\ndirectory = \"sites\"\n\
             [[fabric]]\nname = \"b\"\nrepository = \"Acme/F\"\ndirectory = \"sites/b/\"\n",
            // The root holds everything.
            "[[fabric]]\nname = \"a\"\nlocal = \"f.git\"\ndirectory = \"\"\n\
             [[fabric]]\nname = \"b\"\nlocal = \"f.git\"\n",
        ];
        for text in refused {
            let error = format!("{:#}", load(text).unwrap_err());
            assert!(error.contains("overlap") && error.contains("fabrics \""), "{error}");
        }
        let allowed = [
            // Other branch.
            "[[fabric]]\nname = \"a\"\nlocal = \"f.git\"\ndirectory = \"x\"\n\
             [[fabric]]\nname = \"b\"\nlocal = \"f.git\"\ndirectory = \"x\"\nbranch = \"b\"\n",
            // Other repository (another GitHub API).
            "[[fabric]]\nname = \"a\"\nrepository = \"acme/f\"\ndirectory = \"x\"\n\
             [[fabric]]\nname = \"b\"\nrepository = \"acme/f\"\ndirectory = \"x\"\ngithub_api = \"http://h\"\n",
            // Siblings that share a prefix but not a directory.
            "[[fabric]]\nname = \"a\"\nlocal = \"f.git\"\ndirectory = \"x\"\n\
             [[fabric]]\nname = \"b\"\nlocal = \"f.git\"\ndirectory = \"x-2\"\nmax_deletions = 3\n",
        ];
        for text in allowed {
            load(text).unwrap_or_else(|e| panic!("{e:#}\n{text}"));
        }
    }

    #[test]
    fn unknown_keys_are_errors() {
        assert!(toml::from_str::<ConfigFile>("[[fabric]]\nname = \"x\"\ntoken = \"s3cret\"\n").is_err());
    }
}
