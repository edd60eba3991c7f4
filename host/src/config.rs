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
//! ```

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
}

impl ConfigFile {
    pub fn load(path: &Path) -> anyhow::Result<ConfigFile> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading config {}", path.display()))?;
        let mut config: ConfigFile =
            toml::from_str(&text).with_context(|| format!("parsing config {}", path.display()))?;
        // Relative paths in the file are relative to the file, not to the working directory.
        let base = path.parent().unwrap_or(Path::new("."));
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
        Ok(config)
    }

    pub fn fabric(&self, name: &str) -> Option<&FabricEntry> {
        self.fabrics.iter().find(|f| f.name == name)
    }
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
    fn unknown_keys_are_errors() {
        assert!(toml::from_str::<ConfigFile>("[[fabric]]\nname = \"x\"\ntoken = \"s3cret\"\n").is_err());
    }
}
