//! The host side: a consistent NetBox listing, the mass-deletion guard on the command line, in the config and in `serve`, and `resolve --expect`.

use std::path::PathBuf;
use std::time::Instant;

use fgd_sync::report::Action;
use fgd_sync_tests::cli::{self, git, run, Run};
use fgd_sync_tests::github::{GitRepo, StandIn, StandInOptions};
use fgd_sync_tests::hnp::{Cr, DuringListing, Fault, Hnp, API};
use fgd_sync_tests::TempDir;
use pretty_assertions::assert_eq;
use serde_json::{json, Value};

use crate::kit::serve::Serve;
use crate::kit::wait_for;

const TOKEN: &str = "0123456789abcdef0123456789abcdef01234567";
const DIR: &str = "fabrics/dc1/gitops";

fn vpc_spec(i: u32) -> Value {
    json!({ "subnets": { "default": { "subnet": format!("10.{}.{}.0/24", i / 250, i % 250), "vlan": 1000 + i } } })
}

fn vpc_path(name: &str) -> String {
    format!("{DIR}/managed/vpcs/{name}.yaml")
}

/// Fabric `dc1` in the HNP stand-in, synced by the binary into a local repository.
struct World {
    tmp: TempDir,
    repo: PathBuf,
    hnp: Hnp,
    fabric: u64,
}

impl World {
    fn new(label: &str) -> World {
        let tmp = TempDir::new(label).expect("temp dir");
        let repo = tmp.path().join("fabric.git");
        let hnp = Hnp::start(TOKEN).expect("HNP stand-in");
        let fabric = hnp.add_fabric("dc1");
        World { tmp, repo, hnp, fabric }
    }

    /// `count` VPCs `v00001`...; their ids.
    fn vpcs(&self, count: u32) -> Vec<u64> {
        (1..=count).map(|i| self.hnp.add(Cr::new("VPC", self.fabric, &format!("v{i:05}"), vpc_spec(i)))).collect()
    }

    fn command(&self, args: &[&str]) -> std::process::Command {
        let mut cmd = cli::command();
        cmd.args(args)
            .args(["--fabric", "dc1", "--netbox-url", &self.hnp.base_url()])
            .arg("--local-repo")
            .arg(&self.repo)
            .env("NETBOX_TOKEN", TOKEN);
        cmd
    }

    fn sync(&self, extra: &[&str]) -> Run {
        run(&mut self.command(&[&["sync", "--json"], extra].concat()))
    }

    fn head(&self) -> String {
        git(&self.repo, &["rev-parse", "main"]).trim().to_owned()
    }

    fn files(&self) -> Vec<String> {
        let out = git(&self.repo, &["ls-tree", "-r", "--name-only", "main", &format!("{DIR}/managed/")]);
        out.lines().map(str::to_owned).collect()
    }
}

/// The changes of a report as `(action, name)`.
fn changes(run: &Run) -> Vec<(Action, String)> {
    run.report().changes.into_iter().map(|c| (c.action, c.resource.name)).collect()
}

// Item 1: a consistent NetBox listing.

/// The reported bug: a VPC on the first page is deleted while the sync pages through the
/// listing; offset paging shifts and the first VPC of the next page is never listed. The
/// listing is taken again from the start, so only the really deleted VPC's file goes.
#[test]
fn a_vpc_deleted_while_listing_deletes_only_its_own_file() {
    let w = World::new("listing-delete");
    let ids = w.vpcs(30);
    // A NetBox with MAX_PAGE_SIZE 10: three pages of VPCs.
    w.hnp.set_max_page_size(10);
    let first = w.sync(&[]);
    assert_eq!((first.code, w.files().len()), (0, 30), "{first:?}");

    w.hnp.change_during_listing(DuringListing::Delete { kind: "VPC".into(), id: ids[2], after_pages: 1 });
    w.hnp.clear_requests();
    let out = w.sync(&[]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(changes(&out), [(Action::Delete, "v00003".to_owned())], "{}", out.stdout);
    assert!(w.files().contains(&vpc_path("v00011")), "the neighbour that moved to page 1 stays");
    assert_eq!(w.files().len(), 29);

    // The VPC listing was taken twice from the start before any other kind was listed.
    let vpcs = format!("{API}vpcs/");
    let next_kind = format!("{API}vpc-attachments/");
    let requests = w.hnp.requests();
    let end = requests.iter().position(|r| r.path == next_kind).expect("the next kind is listed");
    let starts = requests[..end].iter().filter(|r| r.path == vpcs && r.query.contains("offset=0")).count();
    assert_eq!(starts, 2, "{:?}", &requests[..end]);
    // The largest page NetBox allows is asked for.
    assert!(requests[0].query.contains("limit=1000"), "{:?}", requests[0]);
}

/// A listing that changes on every page is never used: the sync fails, naming the endpoint
/// and the counts, and writes nothing.
#[test]
fn a_listing_that_keeps_changing_fails_and_writes_nothing() {
    let w = World::new("listing-churn");
    w.vpcs(30);
    w.hnp.set_max_page_size(10);
    assert_eq!(w.sync(&[]).code, 0);
    let head = w.head();

    w.hnp.change_during_listing(DuringListing::CreateOnEveryPage { kind: "VPC".into(), fabric: w.fabric });
    let out = w.sync(&[]);
    assert_eq!(out.code, 1, "{out:?}");
    let message = out.error().message;
    assert!(message.contains(&format!("{API}vpcs/")), "{message}");
    assert!(message.contains("changed while it was paged, 3 times") && message.contains("count 30"), "{message}");
    assert_eq!(w.head(), head, "nothing written");
}

/// A row without a fabric is an error naming the row and the field, not a CR left out
/// (which the sync would take for deleted).
#[test]
fn a_row_without_a_fabric_is_an_error_not_a_deletion() {
    let w = World::new("listing-no-fabric");
    let ids = w.vpcs(3);
    assert_eq!(w.sync(&[]).code, 0);
    let head = w.head();

    assert!(w.hnp.set_field("VPC", ids[1], "fabric", Some(Value::Null)));
    let out = w.sync(&[]);
    assert_eq!(out.code, 1, "{out:?}");
    let message = out.error().message;
    let row = format!("id {} \"v00002\"", ids[1]);
    assert!(message.contains(&row) && message.contains("`fabric`") && message.contains("vpcs/"), "{message}");
    assert_eq!(w.head(), head, "nothing written");
    assert!(w.files().contains(&vpc_path("v00002")));

    // Without a name, likewise.
    assert!(w.hnp.set_field("VPC", ids[1], "fabric", Some(json!(w.fabric))));
    assert!(w.hnp.set_field("VPC", ids[1], "name", None));
    let out = w.sync(&[]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.error().message.contains("`name` is missing"), "{out:?}");
    assert_eq!(w.head(), head);
}

/// A `next` link back to a page already read is an error, not an endless listing.
#[tokio::test]
async fn a_next_loop_is_an_error() {
    use fgd_sync::net::client::{Client, Timeouts};
    use fgd_sync::source::netbox::{NetBoxConfig, NetBoxSource};
    let hnp = Hnp::start(TOKEN).unwrap();
    hnp.add_fabric("dc1");
    let source = NetBoxSource::new(NetBoxConfig::new(hnp.base_url(), TOKEN), Client::new(Timeouts::default())).unwrap();
    hnp.push_fault(Fault::NextLoop);
    let error = source.list_resources("dc1").await.unwrap_err().to_string();
    assert!(error.contains("links back to a page it already sent"), "{error}");
    assert_eq!(hnp.requests().len(), 1);
}

// Item 2: the mass-deletion guard.

/// HNP answers with no CRs (a permission change, a proxy): the sync refuses to delete every
/// managed file; `--allow-deletions` lets it through.
#[test]
fn no_crs_from_hnp_deletes_nothing_until_allowed() {
    let w = World::new("guard-flag");
    let ids = w.vpcs(30);
    assert_eq!(w.sync(&[]).code, 0);
    let head = w.head();
    for id in ids {
        w.hnp.delete("VPC", id);
    }

    let refused = w.sync(&[]);
    assert_eq!(refused.code, 1, "{refused:?}");
    let message = refused.error().message;
    assert!(message.contains("30") && message.contains("--allow-deletions 30"), "{message}");
    assert_eq!((w.head(), w.files().len()), (head.clone(), 30), "nothing written");
    // Text output says it too.
    let text = run(&mut w.command(&["plan"]));
    assert_eq!(text.code, 1);
    assert!(text.stdout.contains("--allow-deletions"), "{text:?}");

    let allowed = w.sync(&["--allow-deletions", "30"]);
    assert_eq!(allowed.code, 0, "{allowed:?}");
    assert_eq!(allowed.report().changes.len(), 30);
    assert!(w.files().is_empty());
}

/// `max_deletions` of a fabric in the config file lifts the guard for that fabric.
#[test]
fn max_deletions_in_the_config_file_lifts_the_guard() {
    let w = World::new("guard-config");
    let ids = w.vpcs(30);
    let config = w.tmp.path().join("fabrics.toml");
    let write = |max: &str| {
        let text =
            format!("[[fabric]]\nname = \"dc1\"\nlocal = \"fabric.git\"\nnetbox_url = \"{}\"\n{max}", w.hnp.base_url());
        std::fs::write(&config, text).unwrap();
    };
    let sync = || {
        let mut cmd = cli::command();
        cmd.args(["sync", "--json", "--config"]).arg(&config).env("NETBOX_TOKEN", TOKEN);
        run(&mut cmd)
    };
    write("");
    assert_eq!(sync().code, 0);
    for id in ids {
        w.hnp.delete("VPC", id);
    }
    let refused = sync();
    assert_eq!(refused.code, 1, "{refused:?}");
    assert_eq!(w.files().len(), 30);
    write("max_deletions = 30\n");
    let allowed = sync();
    assert_eq!(allowed.code, 0, "{allowed:?}");
    assert!(w.files().is_empty());
}

// Item 9: overlapping directories.

#[test]
fn overlapping_directories_in_the_config_file_are_refused() {
    let tmp = TempDir::new("overlap").unwrap();
    let config = tmp.path().join("fabrics.toml");
    std::fs::create_dir_all(tmp.path().join("crs")).unwrap();
    std::fs::write(
        &config,
        "[[fabric]]\nname = \"dc1\"\nlocal = \"fabric.git\"\nsource_dir = \"crs\"\ndirectory = \"fabrics/dc1\"\n\n\
         [[fabric]]\nname = \"dc1-copy\"\nlocal = \"fabric.git\"\nsource_dir = \"crs\"\ndirectory = \"fabrics/dc1/gitops\"\n",
    )
    .unwrap();
    let out = run(cli::command().args(["sync", "--config"]).arg(&config));
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("\"dc1\"") && out.stderr.contains("\"dc1-copy\""), "{}", out.stderr);
    assert!(out.stderr.contains("overlap"), "{}", out.stderr);
    assert!(!tmp.path().join("fabric.git").exists(), "nothing was even opened");
}

// Item 7: `resolve --expect`.

const VPC: &str = "apiVersion: vpc.githedgehog.com/v1beta1\nkind: VPC\nmetadata:\n  name: vpc-1\nspec:\n  \
                   subnets:\n    default:\n      subnet: 10.0.1.0/24\n      vlan: 1001\n";

/// The conflict prints the commands that settle it, pinned to the Git version shown. A
/// colleague edits the file again before the command runs: the command reports the conflict
/// again, with the new version, and writes nothing; the new command then settles it.
#[test]
fn the_printed_resolve_command_is_pinned_to_the_version_shown() {
    let tmp = TempDir::new("expect").unwrap();
    let (repo, crs) = (tmp.path().join("fabric.git"), tmp.path().join("crs"));
    std::fs::create_dir_all(&crs).unwrap();
    let fgd = |args: &[&str]| {
        let mut cmd = cli::command();
        cmd.args(args).arg("--local-repo").arg(&repo).arg("--source-dir").arg(&crs);
        run(&mut cmd)
    };
    std::fs::write(crs.join("vpc.yaml"), VPC).unwrap();
    assert_eq!(fgd(&["sync", "--fabric", "dc1"]).code, 0);
    let path = vpc_path("vpc-1");
    let git_repo = GitRepo::new(&repo);
    let edit = |vlan: &str| {
        let text = git_repo.show("main", &path).unwrap();
        let edited =
            text.lines().map(|l| if l.contains("vlan:") { format!("      vlan: {vlan}") } else { l.to_owned() });
        let edited: Vec<String> = edited.collect();
        git_repo.commit_files("main", &[(&path, Some(&(edited.join("\n") + "\n")))], "edit in Git").unwrap()
    };
    edit("1999");
    std::fs::write(crs.join("vpc.yaml"), VPC.replace("1001", "1555")).unwrap();

    // The conflict, as text, with the commands to settle it.
    let shown = fgd(&["sync", "--fabric", "dc1"]);
    assert_eq!(shown.code, 2, "{shown:?}");
    let command = |out: &Run, take: &str| -> Vec<String> {
        let line = out
            .stdout
            .lines()
            .map(str::trim)
            .find(|l| l.starts_with("fgd-sync resolve ") && l.contains(&format!("--take {take}")))
            .unwrap_or_else(|| panic!("no resolve command for --take {take}:\n{}", out.stdout));
        line.split_whitespace().skip(1).map(str::to_owned).collect()
    };
    let printed = command(&shown, "hnp");
    let seen_sha = git(&repo, &["rev-parse", &format!("main:{path}")]).trim().to_owned();
    assert_eq!(
        printed.join(" "),
        format!("resolve {path} --fabric dc1 --take hnp --expect {seen_sha}"),
        "{}",
        shown.stdout
    );
    assert!(command(&shown, "git").join(" ").ends_with(&format!("--take git --expect {seen_sha}")));

    // A colleague edits the file again; then the printed command runs.
    let head = edit("1777");
    let args: Vec<&str> = printed.iter().map(String::as_str).collect();
    let again = fgd(&[&args[..], &["--json"]].concat());
    assert_eq!(again.code, 2, "reported again: {again:?}");
    let report = again.report();
    assert_eq!(report.commit, None);
    let conflict = &report.conflicts[0];
    let new_sha = git(&repo, &["rev-parse", &format!("main:{path}")]).trim().to_owned();
    assert_eq!(conflict.actual_sha.as_deref(), Some(new_sha.as_str()), "with the new version");
    assert!(conflict.git_content.as_deref().unwrap_or_default().contains("vlan: 1777"));
    assert_eq!(git(&repo, &["rev-parse", "main"]).trim(), head, "nothing written");

    // The command printed for the new version settles it.
    let text = fgd(&["sync", "--fabric", "dc1"]);
    let settle = command(&text, "hnp");
    assert!(settle.join(" ").ends_with(&new_sha), "{}", text.stdout);
    let args: Vec<&str> = settle.iter().map(String::as_str).collect();
    let done = fgd(&args);
    assert_eq!(done.code, 0, "{done:?}");
    assert!(git_repo.show("main", &path).unwrap().contains("vlan: 1555"));

    // `--expect` takes a full blob SHA or `absent`, nothing else.
    let bad = fgd(&["resolve", &path, "--fabric", "dc1", "--take", "hnp", "--expect", "abc"]);
    assert!(bad.code != 0 && bad.stderr.contains("absent"), "{bad:?}");
}

// Item 12: invalid CRs and the exit code.

/// An invalid CR is reported (kind, name, field), its file left as it is, the rest of the
/// fabric syncs, and the sync exits 2.
#[test]
fn an_invalid_cr_is_reported_and_the_rest_syncs() {
    let w = World::new("invalid");
    let ids = w.vpcs(3);
    assert_eq!(w.sync(&[]).code, 0);
    let before = git(&w.repo, &["show", &format!("main:{}", vpc_path("v00002"))]);

    w.hnp.update(ids[0], Cr::new("VPC", w.fabric, "v00001", vpc_spec(77)));
    w.hnp.update(ids[1], Cr::new("VPC", w.fabric, "v00002", json!([1, 2])));
    let out = w.sync(&[]);
    assert_eq!(out.code, 2, "{out:?}");
    let report = out.report();
    let invalid: Vec<(String, String, String)> =
        report.invalid.iter().map(|i| (i.kind.clone(), i.name.clone(), i.field.clone())).collect();
    assert_eq!(invalid, [("VPC".to_owned(), "v00002".to_owned(), "spec".to_owned())], "{}", out.stdout);
    assert_eq!(changes(&out), [(Action::Update, "v00001".to_owned())]);
    assert!(report.commit.is_some());
    assert_eq!(git(&w.repo, &["show", &format!("main:{}", vpc_path("v00002"))]), before, "left as it is");

    let text = run(&mut w.command(&["plan"]));
    assert_eq!(text.code, 2, "{text:?}");
    assert!(text.stdout.contains("INVALID VPC v00002: field spec:"), "{}", text.stdout);
    assert!(text.stdout.contains("its file was left as it is"), "{}", text.stdout);
}

// `serve`: a refused fabric shows, the others go on; invalid CRs do not block a fabric.

/// Two fabrics; HNP stops answering with the CRs of one. That fabric's reconcile is refused
/// (metrics and log say so, no tight retry loop), the other fabric keeps syncing, and an
/// invalid CR there does not block its valid ones.
#[test]
fn serve_shows_a_refused_fabric_and_goes_on_with_the_others() {
    let gh = StandIn::start(StandInOptions::default()).expect("GitHub stand-in");
    gh.seed(&[("README.md", "fabric repository\n")], "initial").expect("seed");
    let hnp = Hnp::start(TOKEN).unwrap();
    let dc1 = hnp.add_fabric("dc1");
    let dc2 = hnp.add_fabric("dc2");
    let dc2_ids: Vec<u64> = (1..=12).map(|i| hnp.add(Cr::new("VPC", dc2, &format!("w{i:05}"), vpc_spec(i)))).collect();
    let a = hnp.add(Cr::new("VPC", dc1, "v00001", vpc_spec(1)));
    let tmp = TempDir::new("serve-guard").unwrap();
    let config = tmp.path().join("fabrics.toml");
    let fabric = |name: &str| {
        format!("[[fabric]]\nname = \"{name}\"\nrepository = \"acme/fabric\"\ngithub_api = \"{}\"\n", gh.api_base())
    };
    let text = format!("[defaults]\nnetbox_url = \"{}\"\n\n{}\n{}", hnp.base_url(), fabric("dc1"), fabric("dc2"));
    std::fs::write(&config, text).unwrap();
    let serve = Serve::start(&config, &[("GITHUB_TOKEN", Some(gh.token()))], &["--reconcile-interval", "1"]);
    let dc2_file = "fabrics/dc2/gitops/managed/vpcs/w00001.yaml";
    wait_for("both fabrics synced", || {
        (gh.repo().show("main", dc2_file).is_some() && gh.repo().show("main", &vpc_path("v00001")).is_some())
            .then_some(())
    });

    // dc2's CRs vanish from HNP (no webhooks: the reconcile finds it).
    for id in dc2_ids {
        hnp.delete("VPC", id);
    }
    wait_for("dc2 refused", || (serve.metric("fgd_sync_deletions_refused_total{fabric=\"dc2\"}") >= 1.0).then_some(()));
    assert_eq!(serve.metric("fgd_sync_blocked_deletions{fabric=\"dc2\"}"), 12.0);
    let refused_at = Instant::now();
    let refusals = serve.metric("fgd_sync_deletions_refused_total{fabric=\"dc2\"}");

    // dc1 goes on: an edit lands, and an invalid CR next to it does not block it.
    hnp.update(a, Cr::new("VPC", dc1, "v00001", vpc_spec(55)));
    hnp.add(Cr::new("VPC", dc1, "v00002", json!("not an object")));
    wait_for("dc1's edit", || {
        gh.repo()
            .show("main", &vpc_path("v00001"))
            .is_some_and(|t| t.contains(&format!("vlan: {}", 1055)))
            .then_some(())
    });
    wait_for("dc1's invalid CR counted", || {
        (serve.metric("fgd_sync_invalid_crs{fabric=\"dc1\"}") == 1.0).then_some(())
    });
    assert!(gh.repo().show("main", dc2_file).is_some(), "dc2's files stay");

    // Refused once per reconcile interval (1 s), not in a tight loop.
    let more = serve.metric("fgd_sync_deletions_refused_total{fabric=\"dc2\"}") - refusals;
    let seconds = refused_at.elapsed().as_secs_f64();
    assert!(more <= seconds + 2.0, "{more} refusals in {seconds:.1} s");
    let log = serve.log();
    assert!(log.contains("sync refused") && log.contains("--allow-deletions 12"), "{log}");
    assert!(log.contains("invalid CR") && log.contains("v00002"), "{log}");
}
