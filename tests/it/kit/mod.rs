//! The set-up the end-to-end tests of one fabric share: `dc1` in the HNP stand-in and its
//! GitOps directory in the GitHub stand-in's `acme/fabric` (`World`), the names and paths
//! they use, and polling. Two ways to drive the real binary against it:
//!
//! 1. `netbox`: one `fgd-sync` command at a time (`sync`, `pull`, `plan`, `resolve`), as an
//!    operator runs them, with `--json` read back through the report's types;
//! 2. `serve`: `fgd-sync serve` as a long-running process that the stand-ins' webhooks reach,
//!    watched through its log and `/metrics`.

pub mod netbox;
pub mod serve;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use fgd_sync_tests::github::{StandIn, StandInOptions};
use fgd_sync_tests::hnp::{Cr, Hnp};
use fgd_sync_tests::TempDir;
use serde_json::{json, Value};

/// The API token the HNP stand-in accepts (40 hex digits, as NetBox's are).
pub const NETBOX_TOKEN: &str = "0123456789abcdef0123456789abcdef01234567";
/// Fabric `dc1`'s directory in the repository.
pub const DIR: &str = "fabrics/dc1/gitops";
/// How long anything a test waits for may take before the test fails.
pub const WAIT: Duration = Duration::from_secs(120);

/// A VPC's spec with one subnet on `vlan`.
pub fn vpc_spec(vlan: u32) -> Value {
    json!({ "subnets": { "default": { "subnet": format!("10.0.{}.0/24", vlan % 250), "vlan": vlan } } })
}

/// The file a sync writes for CR `name` of the kind whose plural is `plural`.
pub fn managed(plural: &str, name: &str) -> String {
    format!("{DIR}/managed/{plural}/{name}.yaml")
}

/// Polls `f` until it gives `Some`, or panics with `what` after `WAIT`.
pub fn wait_for<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(value) = f() {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Fabric `dc1` in the HNP stand-in, `acme/fabric` in the GitHub stand-in, a private temp
/// dir and in it a config file naming both (what `serve` reads; commands take flags).
pub struct World {
    pub gh: StandIn,
    pub hnp: Hnp,
    /// `dc1`'s id in NetBox.
    pub fabric: u64,
    pub tmp: TempDir,
    /// `fgd-sync.toml`: fabric `dc1` read from NetBox (`source = "netbox"`).
    pub config: PathBuf,
}

impl World {
    /// The repository has no commit yet: the first sync creates `main`.
    pub fn new() -> World {
        let gh = StandIn::start(StandInOptions::default()).expect("GitHub stand-in");
        let hnp = Hnp::start(NETBOX_TOKEN).expect("HNP stand-in");
        let fabric = hnp.add_fabric("dc1");
        let tmp = TempDir::new("fabric-dc1").expect("temp dir");
        let config = tmp.path().join("fgd-sync.toml");
        let text = format!(
            "[[fabric]]\nname = \"dc1\"\nrepository = \"acme/fabric\"\ngithub_api = \"{}\"\nnetbox_url = \"{}\"\nsource = \"netbox\"\n",
            gh.api_base(),
            hnp.base_url()
        );
        std::fs::write(&config, text).expect("config");
        World { gh, hnp, fabric, tmp, config }
    }

    /// `main` holds one commit (a README), as the repository a running `serve` is given.
    pub fn seeded() -> World {
        let world = World::new();
        world.gh.seed(&[("README.md", "fabric repository\n")], "initial").expect("seed");
        world
    }

    /// VPC `name` of `dc1` with one subnet on `vlan`.
    pub fn vpc(&self, name: &str, vlan: u32) -> Cr {
        Cr::new("VPC", self.fabric, name, vpc_spec(vlan))
    }

    pub fn commits(&self) -> usize {
        self.gh.repo().log("main").len()
    }

    pub fn head(&self) -> String {
        self.gh.repo().head("main").expect("main exists")
    }

    pub fn file(&self, path: &str) -> Option<String> {
        self.gh.repo().show("main", path)
    }

    /// Git's blob SHA of `path` on `main`.
    pub fn blob(&self, path: &str) -> Option<String> {
        self.gh.repo().files("main").remove(path)
    }

    /// `git show --name-status` of a commit: `(status, path)` of each file it changed.
    pub fn changed(&self, commit: &str) -> Vec<(String, String)> {
        let out =
            self.gh.repo().git(&["show", "--name-status", "--no-renames", "--format=", commit]).expect("git show");
        out.lines().filter_map(|l| l.split_once('\t')).map(|(s, p)| (s.to_owned(), p.to_owned())).collect()
    }

    /// Commits `changes` (`None`: deleted) on `main`, as a `git push` by somebody else.
    /// Returns the commit.
    pub fn commit(&self, changes: &[(&str, Option<&str>)], message: &str) -> String {
        self.gh.repo().commit_files("main", changes, message).expect("outside commit")
    }

    /// Commits the files of `paths` rewritten by `edit`, as a `git push` by somebody else.
    /// Returns the commit.
    pub fn edit<P: AsRef<str>>(&self, paths: &[P], edit: impl Fn(&str) -> String) -> String {
        let texts: Vec<(&str, String)> = paths
            .iter()
            .map(|p| (p.as_ref(), edit(&self.file(p.as_ref()).unwrap_or_else(|| panic!("{} is on main", p.as_ref())))))
            .collect();
        let changes: Vec<(&str, Option<&str>)> = texts.iter().map(|(p, t)| (*p, Some(t.as_str()))).collect();
        self.commit(&changes, "Edit in Git")
    }
}
