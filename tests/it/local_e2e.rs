//! The `fgd-sync` binary against a real git repository (the local remote: the same REST
//! subset as GitHub, served in-process): every kind created, updated and deleted as exactly
//! one file and one commit, no-op re-runs, conflicts, bad input, and the demo.

use std::path::{Path, PathBuf};

use fgd_sync::report::{Action, ConflictKind};
use fgd_sync_tests::cli::{self, git, run, Run};
use fgd_sync_tests::github::GitRepo;
use fgd_sync_tests::TempDir;
use pretty_assertions::assert_eq;

const DIRECTORY: &str = "fabrics/dc1/gitops";

/// One CR of each of the 12 kinds, as users write them.
const ALL_KINDS: &str = include_str!("../data/corpus/all-kinds.yaml");

struct Fixture {
    _tmp: TempDir,
    repo: PathBuf,
    crs: PathBuf,
}

impl Fixture {
    fn new(label: &str) -> Fixture {
        let tmp = TempDir::new(label).expect("temp dir");
        let repo = tmp.path().join("fabric.git");
        let crs = tmp.path().join("crs");
        std::fs::create_dir_all(&crs).unwrap();
        Fixture { repo, crs, _tmp: tmp }
    }

    fn write(&self, name: &str, text: &str) {
        std::fs::write(self.crs.join(name), text).unwrap();
    }

    /// `fgd-sync <args>` for this fixture's fabric, repository and manifests.
    fn run_with(&self, args: &[&str]) -> Run {
        let mut cmd = cli::command();
        cmd.args(args)
            .args(["--fabric", "dc1", "--directory", DIRECTORY])
            .arg("--local-repo")
            .arg(&self.repo)
            .arg("--source-dir")
            .arg(&self.crs);
        run(&mut cmd)
    }

    fn sync(&self, extra: &[&str]) -> Run {
        self.run_with(&[&["sync", "--json"], extra].concat())
    }

    /// The VPC synced, then edited in Git (VLAN 1999) and in HNP (VLAN 1555): a conflict.
    /// Returns the file's path and the Git head after the edit.
    fn conflicted_vpc(&self) -> (String, String) {
        let (_, _, vpc) = documents().into_iter().find(|(k, _, _)| k == "VPC").unwrap();
        self.write("vpc.yaml", &vpc);
        assert_eq!(self.sync(&[]).code, 0);
        let path = format!("{DIRECTORY}/managed/vpcs/vpc-1.yaml");
        // Someone edits the file in Git (a real commit on the branch, made with git plumbing).
        let edited = self.file(&path).replace("vlan: 1001", "vlan: 1999");
        let head = GitRepo::new(&self.repo).commit_files("main", &[(&path, Some(&edited))], "Edit in Git").unwrap();
        // HNP changes the same CR.
        self.write("vpc.yaml", &vpc.replace("vlan: 1001", "vlan: 1555"));
        (path, head)
    }

    fn commits(&self) -> usize {
        if !self.repo.join("refs/heads/main").exists() && !packed_ref(&self.repo) {
            return 0;
        }
        git(&self.repo, &["rev-list", "--count", "main"]).trim().parse().unwrap()
    }

    /// Paths the last commit touched.
    fn last_commit_files(&self) -> Vec<String> {
        let out = git(&self.repo, &["show", "--name-status", "--format=", "main"]);
        out.lines().map(str::to_string).collect()
    }

    fn file(&self, path: &str) -> String {
        git(&self.repo, &["show", &format!("main:{path}")])
    }

    fn fsck(&self) {
        git(&self.repo, &["fsck", "--strict", "--no-dangling"]);
    }
}

fn packed_ref(repo: &Path) -> bool {
    std::fs::read_to_string(repo.join("packed-refs")).is_ok_and(|t| t.contains("refs/heads/main"))
}

fn state_path() -> String {
    format!("{DIRECTORY}/.hnp/sync-state.json")
}

/// Splits the corpus into (kind, name, document) triples.
fn documents() -> Vec<(String, String, String)> {
    ALL_KINDS
        .split("\n---\n")
        .map(|doc| {
            let field = |key: &str| {
                doc.lines()
                    .find_map(|l| l.trim_start().strip_prefix(key).map(|v| v.trim().to_string()))
                    .unwrap_or_else(|| panic!("no {key} in {doc}"))
            };
            (field("kind:"), field("name:"), format!("{}\n", doc.trim_end()))
        })
        .collect()
}

fn plural(kind: &str) -> String {
    if kind == "Switch" {
        "switches".into()
    } else {
        format!("{}s", kind.to_ascii_lowercase())
    }
}

#[test]
fn every_kind_create_update_delete_is_one_file_and_one_commit() {
    let f = Fixture::new("kinds");
    let docs = documents();
    assert_eq!(docs.len(), 12, "the corpus holds one CR per kind");
    for (kind, name, doc) in &docs {
        f.write(&format!("{}-{name}.yaml", kind.to_lowercase()), doc);
    }
    let first = f.sync(&[]);
    assert_eq!(first.code, 0, "{first:?}");
    let report = first.report();
    assert_eq!(report.changes.len(), 12);
    assert!(report.changes.iter().all(|c| c.action == Action::Create), "{report:?}");
    // The empty repository gets an initial commit, then one commit for everything.
    assert_eq!(f.commits(), 2);
    for (kind, name, _) in &docs {
        let text = f.file(&format!("{DIRECTORY}/managed/{}/{name}.yaml", plural(kind)));
        assert!(text.starts_with("apiVersion: "), "{text}");
        assert!(text.contains(&format!("\nkind: {kind}\n")), "{text}");
        assert!(!text.contains("status:"), "status is never written: {text}");
    }
    f.fsck();

    let rerun = f.sync(&[]);
    assert_eq!(rerun.code, 0);
    assert_eq!(rerun.report().commit, None);
    assert_eq!(f.commits(), 2, "a re-run makes no commit");

    for (kind, name, doc) in &docs {
        let file = format!("{}-{name}.yaml", kind.to_lowercase());
        let path = format!("{DIRECTORY}/managed/{}/{name}.yaml", plural(kind));
        let before = f.commits();

        // Update: a label added in "HNP".
        let edited = doc.replacen("metadata:\n", "metadata:\n  labels:\n    owner: netops\n", 1);
        f.write(&file, &edited);
        let update = f.sync(&[]);
        assert_eq!(update.code, 0, "{kind} {name}: {update:?}");
        assert_eq!(f.commits(), before + 1, "{kind}: one commit for the update");
        assert_eq!(f.last_commit_files(), vec![format!("M\t{}", state_path()), format!("M\t{path}")]);
        assert!(f.file(&path).contains("owner: netops"));
        let message = git(&f.repo, &["log", "-1", "--format=%s", "main"]);
        assert_eq!(message.trim(), format!("Update {kind} {name}"));

        // Delete: the CR is gone from the source.
        std::fs::remove_file(f.crs.join(&file)).unwrap();
        let delete = f.sync(&[]);
        assert_eq!(delete.code, 0, "{kind} {name}: {delete:?}");
        assert_eq!(f.commits(), before + 2, "{kind}: one commit for the delete");
        assert_eq!(f.last_commit_files(), vec![format!("M\t{}", state_path()), format!("D\t{path}")]);
        let message = git(&f.repo, &["log", "-1", "--format=%s", "main"]);
        assert_eq!(message.trim(), format!("Delete {kind} {name}"));

        // And back again, so later kinds run against a full fabric.
        f.write(&file, doc);
        assert_eq!(f.sync(&[]).code, 0);
        assert_eq!(f.last_commit_files(), vec![format!("M\t{}", state_path()), format!("A\t{path}")]);
    }
    f.fsck();
}

#[test]
fn a_file_changed_in_git_is_a_conflict_and_stays_untouched() {
    let f = Fixture::new("conflict");
    let (path, head) = f.conflicted_vpc();
    let out = f.sync(&[]);
    assert_eq!(out.code, 2, "conflicts exit with 2: {out:?}");
    let report = out.report();
    let conflict = &report.conflicts[0];
    assert_eq!(conflict.path, path);
    assert_eq!(conflict.kind, ConflictKind::ModifiedInGit);
    assert!(conflict.git_content.as_deref().unwrap().contains("vlan: 1999"));
    assert!(conflict.hnp_content.as_deref().unwrap().contains("vlan: 1555"));
    assert_eq!(git(&f.repo, &["rev-parse", "main"]).trim(), head, "the remote is untouched");

    // Text output names both versions and how to settle it.
    let text = f.run_with(&["plan"]);
    assert_eq!(text.code, 2);
    assert!(text.stdout.contains("-      vlan: 1999") && text.stdout.contains("+      vlan: 1555"), "{}", text.stdout);
    let seen = conflict.actual_sha.as_deref().unwrap();
    for take in ["git", "hnp"] {
        let command = format!("fgd-sync resolve {path} --fabric dc1 --take {take} --expect {seen}");
        assert!(text.stdout.contains(&command), "{}", text.stdout);
    }

    // Take HNP's version: one commit, on top of the Git edit.
    let resolved = f.run_with(&["resolve", &path, "--take", "hnp", "--json"]);
    assert_eq!(resolved.code, 0, "{resolved:?}");
    assert!(f.file(&path).contains("vlan: 1555"));
    assert_eq!(git(&f.repo, &["rev-parse", "main~1"]).trim(), head, "a fast-forward on top of the Git edit");
    assert_eq!(f.sync(&[]).report().commit, None);
    f.fsck();
}

#[test]
fn plan_shows_a_diff_of_updates_and_writes_nothing() {
    let f = Fixture::new("plan");
    let (_, _, vpc) = documents().into_iter().find(|(k, _, _)| k == "VPC").unwrap();
    f.write("vpc.yaml", &vpc);
    assert_eq!(f.sync(&[]).code, 0);
    let head = git(&f.repo, &["rev-parse", "main"]);
    f.write("vpc.yaml", &vpc.replace("vlan: 1001", "vlan: 1555"));
    let out = f.run_with(&["plan"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("update  VPC vpc-1"), "{}", out.stdout);
    assert!(out.stdout.contains("    -      vlan: 1001\n    +      vlan: 1555\n"), "{}", out.stdout);
    assert!(out.stdout.contains("dry run: nothing written"), "{}", out.stdout);
    assert_eq!(git(&f.repo, &["rev-parse", "main"]), head, "plan writes nothing");
}

#[test]
fn take_git_keeps_the_git_file_and_records_it() {
    let f = Fixture::new("take-git");
    let (path, _) = f.conflicted_vpc();
    assert_eq!(f.sync(&[]).code, 2);

    assert_eq!(f.run_with(&["resolve", &path, "--take", "git"]).code, 0);
    assert!(f.file(&path).contains("vlan: 1999"), "Git's version stays");
    let rerun = f.sync(&[]);
    assert_eq!(rerun.code, 0, "settled: no conflict until HNP changes again: {rerun:?}");
}

#[test]
fn bad_input_is_a_clear_error_and_writes_nothing() {
    let cases = [
        ("upper case name", "kind: VPC\nmetadata:\n  name: Vpc-1\nspec: {}\n", "metadata.name"),
        ("slash in name", "kind: VPC\nmetadata:\n  name: a/b\nspec: {}\n", "metadata.name"),
        ("dot dot", "kind: Switch\nmetadata:\n  name: ..\nspec: {}\n", "metadata.name"),
        ("too long", &format!("kind: Switch\nmetadata:\n  name: {}\nspec: {{}}\n", "a".repeat(300)), "metadata.name"),
        ("spec not an object", "kind: VPC\nmetadata:\n  name: vpc-1\nspec: [1, 2]\n", "spec"),
        (
            "obsolete version",
            "apiVersion: vpc.githedgehog.com/v1alpha2\nkind: VPC\nmetadata:\n  name: vpc-1\nspec: {}\n",
            "apiVersion",
        ),
        ("unknown kind", "kind: Vpc\nmetadata:\n  name: vpc-1\nspec: {}\n", "kind"),
    ];
    for (label, doc, field) in cases {
        let f = Fixture::new("bad");
        let group = if doc.contains("kind: Switch") { "wiring" } else { "vpc" };
        let doc = if doc.starts_with("apiVersion") {
            doc.to_string()
        } else {
            format!("apiVersion: {group}.githedgehog.com/v1beta1\n{doc}")
        };
        f.write("good.yaml", &documents()[0].2);
        f.write("bad.yaml", &doc);
        // One bad CR does not block the fabric (issue 10, item 12): it is listed, exit 2.
        let out = f.sync(&[]);
        assert_eq!(out.code, 2, "{label}: {out:?}");
        let report = out.report();
        assert_eq!(report.invalid.len(), 1, "{label}: {report:?}");
        assert!(report.invalid[0].field.starts_with(field), "{label}: {report:?}");
        // The good CR is written, unless the bad one is another version of it (left alone).
        let same = (report.invalid[0].kind.as_str(), report.invalid[0].name.as_str()) == ("VPC", "vpc-1");
        assert_eq!(report.changes.len(), usize::from(!same), "{label}: {report:?}");
    }

    // Malformed YAML names the file and document.
    let f = Fixture::new("bad-yaml");
    f.write("broken.yaml", "apiVersion: vpc.githedgehog.com/v1beta1\nkind: VPC\nmetadata: {name: [\n");
    let out = f.sync(&[]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("broken.yaml"), "{}", out.stderr);
    assert!(!f.repo.exists() || f.commits() == 0);
}

#[test]
fn render_prints_canonical_yaml_and_paths() {
    let f = Fixture::new("render");
    f.write("in.yaml", "kind: VPC\napiVersion: vpc.githedgehog.com/v1beta1\nmetadata: {name: vpc-1}\nspec: {subnets: {default: {vlan: 1001, subnet: 10.0.1.0/24, note: 'on'}}}\n");
    let mut cmd = cli::command();
    cmd.arg("render").arg(f.crs.join("in.yaml"));
    let out = run(&mut cmd);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        out.stdout,
        "apiVersion: vpc.githedgehog.com/v1beta1\nkind: VPC\nmetadata:\n  name: vpc-1\n  namespace: default\nspec:\n  subnets:\n    default:\n      note: \"on\"\n      subnet: 10.0.1.0/24\n      vlan: 1001\n"
    );
    let mut cmd = cli::command();
    cmd.args(["render", "--path", "--directory", DIRECTORY]).arg(f.crs.join("in.yaml"));
    assert_eq!(run(&mut cmd).stdout, format!("{DIRECTORY}/managed/vpcs/vpc-1.yaml\n"));
}

#[test]
fn demo_runs_on_an_embedded_fabric() {
    let tmp = TempDir::new("demo").expect("temp dir");
    let mut cmd = cli::command();
    cmd.arg("demo").arg("--dir").arg(tmp.path().join("d"));
    let out = run(&mut cmd);
    assert_eq!(out.code, 0, "{out:?}");
    for expected in [
        "170 created",
        "no commit: nothing to write",
        "Update VPC demo-vpc-3",
        "CONFLICT VPC demo-vpc-3",
        "exits with code 2",
        "HNP update VPC demo-vpc-3 (spec)",
        "1 CR written into HNP",
        "HNP's demo-vpc-3 now has subnet-1 on VLAN 1531",
    ] {
        assert!(out.stdout.contains(expected), "missing {expected:?} in:\n{}", out.stdout);
    }
    let repo = tmp.path().join("d/fabric.git");
    // init, first sync, update, resolution, the colleague's two edits, the pull's state commit.
    assert_eq!(git(&repo, &["rev-list", "--count", "main"]).trim(), "7");
    git(&repo, &["fsck", "--strict", "--no-dangling"]);
}

#[test]
fn every_command_has_help_with_only_its_own_flags() {
    const SANDBOX: &[&str] = &["--memory-limit", "--timeout", "--fuel", "--cache-dir"];
    const FABRIC: &[&str] = &["--config", "--fabric", "--repo", "--local-repo", "--source-dir", "--netbox-url"];
    const WRITE: &[&str] = &["--max-attempts", "--max-rate-limit-wait", "--allow-deletions", "--direction"];
    const SYNC: &[&str] = &["--only", "--json", "--record", "--http-log"];
    let commands: [(&str, Vec<&[&str]>); 8] = [
        ("demo", vec![&["--dir", "--http-log"], SANDBOX]),
        ("render", vec![&["--path", "--directory"], SANDBOX]),
        ("plan", vec![FABRIC, &["--directory"], SYNC, WRITE, SANDBOX]),
        ("sync", vec![FABRIC, &["--directory"], SYNC, WRITE, SANDBOX]),
        ("pull", vec![FABRIC, &["--directory"], SYNC, WRITE, SANDBOX]),
        ("resolve", vec![FABRIC, &["--directory", "--take", "--expect"], SYNC, WRITE, SANDBOX]),
        ("replay", vec![&["--json"], SANDBOX]),
        (
            "serve",
            vec![
                FABRIC,
                &[
                    "--directory",
                    "--listen",
                    "--secret-env",
                    "--github-webhook-secret-env",
                    "--ui-token-env",
                    "--http-log",
                ],
                WRITE,
                SANDBOX,
            ],
        ),
    ];
    let every: std::collections::BTreeSet<&str> =
        commands.iter().flat_map(|(_, groups)| groups.iter().flat_map(|g| g.iter().copied())).collect();
    for (command, groups) in &commands {
        let out = run(cli::command().args([command, "--help"]));
        assert_eq!(out.code, 0, "{command}: {out:?}");
        assert!(out.stdout.contains(&format!("Usage: fgd-sync {command}")), "{command}: {}", out.stdout);
        let own: Vec<&str> = groups.iter().flat_map(|g| g.iter().copied()).collect();
        // An option line starts with its flag (a mention in another option's text does not count).
        let shown = |flag: &str| {
            out.stdout.lines().map(str::trim_start).any(|l| l == flag || l.starts_with(&format!("{flag} ")))
        };
        for flag in &every {
            assert_eq!(shown(flag), own.contains(flag), "{command} --help and {flag}:\n{}", out.stdout);
        }
        // One `[env: VAR]` per variable: clap's, not a second copy in the doc text.
        for var in out.stdout.split("[env: ").skip(1).filter_map(|rest| rest.split(['=', ';', ']']).next()) {
            assert_eq!(out.stdout.matches(var).count(), 1, "{command} --help names {var} twice:\n{}", out.stdout);
        }
    }
    let out = run(cli::command().arg("--help"));
    assert!(out.stdout.contains("Exit codes:"), "{}", out.stdout);
}

/// `fgd-sync render big.yaml | head -1`: the reader goes away early; fgd-sync ends quietly
/// (exit 0, no panic, no "Broken pipe" message).
#[test]
fn a_closed_stdout_ends_quietly() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    let tmp = TempDir::new("pipe").expect("temp dir");
    let (_, _, vpc) = documents().into_iter().find(|(k, _, _)| k == "VPC").unwrap();
    // Far more than a pipe buffer (64 KiB), so the writer is still writing when the reader leaves.
    let many: Vec<String> = (0..2000).map(|i| vpc.replace("name: vpc-1", &format!("name: vpc-{i}"))).collect();
    let file = tmp.path().join("many.yaml");
    std::fs::write(&file, many.join("---\n")).unwrap();
    let mut child = cli::command()
        .arg("render")
        .arg(&file)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running fgd-sync");
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap();
    assert!(first.starts_with("apiVersion: "), "{first}");
    // The reader is dropped here: the pipe is closed.
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("panicked") && !stderr.to_lowercase().contains("broken pipe"), "{stderr}");
}

#[test]
fn http_log_has_one_json_line_per_exchange() {
    let f = Fixture::new("http-log");
    f.write("all.yaml", ALL_KINDS);
    let log = f.crs.parent().unwrap().join("http.jsonl");
    let out = f.sync(&["--http-log", log.to_str().unwrap()]);
    assert_eq!(out.code, 0, "{out:?}");
    let lines: Vec<serde_json::Value> =
        std::fs::read_to_string(&log).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let requests = out.report().requests as usize;
    assert_eq!(lines.len(), requests, "one line per request the report counts");
    let calls: Vec<String> =
        lines.iter().map(|l| format!("{} {}", l["method"].as_str().unwrap(), l["status"])).collect();
    // Ref, tree, state; `GET commits` (who wrote the state) before a sync that writes.
    let reads = ["GET 200"; 4];
    assert_eq!(calls, [&["GET 409", "PUT 201"][..], &reads, &["POST 201", "POST 201", "PATCH 200"]].concat());
    for line in &lines {
        assert!(line["url"].as_str().unwrap().starts_with("http://local.fgd-sync.invalid/repos/local/fabric/"));
        let headers: Vec<(String, String)> = serde_json::from_value(line["request_headers"].clone()).unwrap();
        assert!(headers.iter().any(|(n, v)| n == "user-agent" && v.starts_with("fgd-sync/")), "{headers:?}");
        assert!(line["millis"].as_f64().unwrap() >= 0.0);
    }
}

#[test]
fn a_config_file_syncs_several_fabrics() {
    let tmp = TempDir::new("config").expect("temp dir");
    for fabric in ["dc1", "dc2"] {
        std::fs::create_dir_all(tmp.path().join(fabric)).unwrap();
        std::fs::write(tmp.path().join(fabric).join("crs.yaml"), ALL_KINDS).unwrap();
    }
    let config = tmp.path().join("fabrics.toml");
    std::fs::write(
        &config,
        "[defaults]\nmessage_prefix = \"[hnp] \"\n\n\
         [[fabric]]\nname = \"dc1\"\nlocal = \"fabric.git\"\nsource_dir = \"dc1\"\n\n\
         [[fabric]]\nname = \"dc2\"\nlocal = \"fabric.git\"\nsource_dir = \"dc2\"\ndirectory = \"sites/dc2\"\n",
    )
    .unwrap();
    let mut cmd = cli::command();
    let out = run(cmd.args(["sync", "--json", "--config"]).arg(&config));
    assert_eq!(out.code, 0, "{out:?}");
    let outcomes: Vec<serde_json::Value> = out.stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(outcomes.len(), 2, "one JSON line per fabric");
    assert_eq!(outcomes[1]["directory"], "sites/dc2");
    let repo = tmp.path().join("fabric.git");
    let files = git(&repo, &["ls-tree", "-r", "--name-only", "main"]);
    assert_eq!(files.lines().filter(|l| l.starts_with("fabrics/dc1/gitops/managed/")).count(), 12);
    assert_eq!(files.lines().filter(|l| l.starts_with("sites/dc2/managed/")).count(), 12);
    let subjects = git(&repo, &["log", "--format=%s", "main"]);
    assert!(subjects.lines().all(|s| s.starts_with("[hnp] ")), "{subjects}");
}

#[test]
fn netbox_source_through_the_cli() {
    use fgd_sync_tests::hnp::{Cr, Hnp};
    let hnp = Hnp::start("nb-token").unwrap();
    let dc1 = hnp.add_fabric("dc1");
    let other = hnp.add_fabric("dc2");
    let spec = serde_json::json!({"subnets": {"default": {"subnet": "10.0.1.0/24", "vlan": 1001}}});
    let id = hnp.add(Cr::new("VPC", dc1, "vpc-1", spec.clone()));
    hnp.add(Cr::new("VPC", other, "vpc-9", spec.clone()));
    hnp.add(Cr::new("Switch", dc1, "leaf-01", serde_json::json!({"role": "server-leaf", "asn": 65101})));
    let f = Fixture::new("netbox");
    let sync = || {
        let mut cmd = cli::command();
        cmd.args(["sync", "--fabric", "dc1", "--json", "--netbox-url", &hnp.base_url()])
            .arg("--local-repo")
            .arg(&f.repo)
            .env("NETBOX_TOKEN", "nb-token");
        run(&mut cmd)
    };
    let out = sync();
    assert_eq!(out.code, 0, "{out:?}");
    let files = git(&f.repo, &["ls-tree", "-r", "--name-only", "main"]);
    assert!(files.contains("fabrics/dc1/gitops/managed/vpcs/vpc-1.yaml"), "{files}");
    assert!(files.contains("fabrics/dc1/gitops/managed/switches/leaf-01.yaml"), "{files}");
    assert!(!files.contains("vpc-9"), "another fabric's CR stays out: {files}");
    // HNP learned where each CR lives.
    let vpc = hnp.object("VPC", id).unwrap();
    assert_eq!(vpc["git_file_path"], "fabrics/dc1/gitops/managed/vpcs/vpc-1.yaml");
    assert!(vpc["last_synced"].is_string());
    // A no-op sync records nothing: no PATCH.
    hnp.clear_requests();
    assert_eq!(sync().code, 0);
    assert_eq!(hnp.count_method("PATCH"), 0);
    // A token NetBox refuses is a clear error.
    let mut cmd = cli::command();
    cmd.args(["sync", "--fabric", "dc1", "--netbox-url", &hnp.base_url()])
        .arg("--local-repo")
        .arg(&f.repo)
        .env("NETBOX_TOKEN", "wrong");
    let refused = run(&mut cmd);
    assert_eq!(refused.code, 1);
    assert!(refused.stdout.contains("403") || refused.stderr.contains("403"), "{refused:?}");
}
