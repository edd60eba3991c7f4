//! `fgd-sync` commands against the world, as an operator runs them: fabric `dc1` read from
//! NetBox (the HNP stand-in, `--netbox-url`) and synced with `acme/fabric` on the GitHub
//! stand-in, `--json` on so that tests read the report through its own types.

use std::process::Command;

use fgd_sync_tests::cli::{self, Run};

use super::{World, DIR, NETBOX_TOKEN};

/// Fails with the run's output unless it exited with `code`.
pub fn expect(run: &Run, code: i32) {
    assert_eq!(run.code, code, "exit code\nstdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
}

impl World {
    /// HNP gets the VPCs (name, VLAN), then a first sync writes their files. Returns the
    /// world and the VPCs' NetBox ids.
    pub fn synced(vpcs: &[(&str, u32)]) -> (World, Vec<u64>) {
        let world = World::new();
        let ids = vpcs.iter().map(|(name, vlan)| world.hnp.add(world.vpc(name, *vlan))).collect();
        let first = world.run(&["sync"]);
        expect(&first, 0);
        assert_eq!(first.report().changes.len(), vpcs.len(), "{}", first.stdout);
        (world, ids)
    }

    /// `fgd-sync <args> --json` for fabric `dc1` against both stand-ins.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = cli::command();
        cmd.env("GITHUB_TOKEN", self.gh.token())
            .env("NETBOX_TOKEN", NETBOX_TOKEN)
            .args(args)
            .args(["--json", "--fabric", "dc1", "--directory", DIR, "--branch", "main"])
            .args(["--github-api", &self.gh.api_base(), "--repo", "acme/fabric"])
            .args(["--netbox-url", &self.hnp.base_url()]);
        cmd
    }

    pub fn run(&self, args: &[&str]) -> Run {
        cli::run(&mut self.command(args))
    }
}
