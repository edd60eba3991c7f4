//! `fgd-sync pull` (issue 11), end to end: the real binary, the GitHub stand-in over HTTP
//! (real git underneath, checked with `git log`, `git show` and `git fsck`) and the HNP
//! stand-in's NetBox writes. One test per row of the issue: Git's edits, creations and
//! deletions reaching HNP, conflicts, NetBox's refusals, `raw/` ingestion, `resolve --take
//! git`, a read-only source refused, and `plan` of both directions.

use fgd_sync::report::{Action, ConflictKind, ErrorDetail, HnpOp, Report};
use fgd_sync_tests::cli::{self, run};
use fgd_sync_tests::hnp::{Cr, Seen, API};
use pretty_assertions::assert_eq;
use serde_json::{json, Value};

use crate::kit::netbox::expect;
use crate::kit::{managed, vpc_spec, World, DIR, NETBOX_TOKEN};

fn state_path() -> String {
    format!("{DIR}/.hnp/sync-state.json")
}

/// A VPC manifest as users write it.
fn vpc_manifest(name: &str, vlan: u32) -> String {
    format!(
        "apiVersion: vpc.githedgehog.com/v1beta1\nkind: VPC\nmetadata:\n  name: {name}\nspec:\n  subnets:\n    \
         default:\n      subnet: 10.0.{}.0/24\n      vlan: {vlan}\n",
        vlan % 250
    )
}

// What these tests read back from the world.

/// The state file's entry for `path` (relative to the repository root), as JSON.
fn state_entry(w: &World, path: &str) -> Option<Value> {
    let state: Value = serde_json::from_str(&w.file(&state_path())?).expect("state is JSON");
    let relative = path.strip_prefix(&format!("{DIR}/")).expect("a path in the fabric directory");
    state["files"].get(relative).cloned()
}

/// The blob the state records as the base of `path` (none for a tombstone).
fn base(w: &World, path: &str) -> Option<String> {
    let entry = state_entry(w, path)?;
    (entry.get("deleted") != Some(&json!(true))).then(|| entry["sha"].as_str().expect("sha").to_owned())
}

/// `git show --name-status` of `main`: `M\tpath` lines of its last commit.
fn last_commit_files(w: &World) -> Vec<String> {
    w.changed(&w.head()).into_iter().map(|(status, path)| format!("{status}\t{path}")).collect()
}

/// The stand-in's row of a CR of `dc1`, found by kind and name, as the REST API shows it.
fn hnp_row(w: &World, kind: &str, name: &str) -> Option<Value> {
    // Ids are sequential per table and never reused; these tests make far fewer rows.
    (1..=200)
        .filter_map(|id| w.hnp.object(kind, id))
        .find(|row| row["name"] == json!(name) && row["fabric"] == json!(w.fabric))
}

fn hnp_vlan(w: &World, name: &str) -> Option<u64> {
    hnp_row(w, "VPC", name)?["spec"]["subnets"]["default"]["vlan"].as_u64()
}

/// Every request to NetBox that is not a read: `(method, endpoint, body)`.
fn hnp_writes(w: &World) -> Vec<(String, String, Value)> {
    writes(&w.hnp.requests())
}

/// The writes to HNP's CR endpoints that create, change or delete CR data (see
/// `is_data_write`), times replaced by `<time>`.
fn data_writes(w: &World) -> Vec<(String, String, Value)> {
    hnp_writes(w).into_iter().filter(is_data_write).map(|(m, e, body)| (m, e, redact_times(body))).collect()
}

/// A CR's data as HNP holds it, without what the sync's bookkeeping and status change.
fn hnp_data(w: &World, kind: &str, name: &str) -> Option<Value> {
    let row = hnp_row(w, kind, name)?;
    Some(json!({
        "fabric": row["fabric"], "namespace": row["namespace"], "name": row["name"],
        "spec": row["spec"], "labels": row["labels"], "annotations": row["annotations"],
    }))
}

/// `fsck --strict` passes, the branch only moved forward, no merges.
fn assert_sound(w: &World) {
    w.gh.repo().fsck().unwrap_or_else(|e| panic!("fsck: {e}"));
    assert!(w.gh.repo().non_fast_forwards("main").is_empty(), "the branch moved backwards or sideways");
    assert!(w.gh.repo().log("main").iter().all(|c| c.parents.len() <= 1), "a merge commit");
}

/// A following `sync --direction both` has nothing to do: no commit, no NetBox write.
fn assert_settled(w: &World) {
    let head = w.head();
    w.hnp.clear_requests();
    let again = w.run(&["sync", "--direction", "both"]);
    expect(&again, 0);
    let report = again.report();
    assert_eq!((report.commit, report.changes.len(), report.hnp_changes.len()), (None, 0, 0), "{}", again.stdout);
    assert_eq!(w.head(), head, "no commit");
    assert_eq!(hnp_writes(w), [], "no NetBox write");
}

fn writes(seen: &[Seen]) -> Vec<(String, String, Value)> {
    seen.iter()
        .filter(|r| r.method != "GET")
        .map(|r| {
            let endpoint = r.path.strip_prefix(API).unwrap_or(&r.path).to_owned();
            (r.method.clone(), endpoint, serde_json::from_str(&r.body).unwrap_or(Value::Null))
        })
        .collect()
}

/// Fields of a CR row that say how syncing it went, not what the CR is: the bookkeeping
/// (`last_synced`, `git_file_path`) and the outcome shown in NetBox (`sync_error`).
const STATUS_FIELDS: [&str; 3] = ["last_synced", "git_file_path", "sync_error"];

/// A write under HNP's API (NetBox's journal is elsewhere) that is not status alone: every
/// POST and DELETE, and a PATCH with any field beyond `id` and the status fields.
fn is_data_write((method, endpoint, body): &(String, String, Value)) -> bool {
    let status_only = |item: &Value| {
        item.as_object().is_some_and(|o| o.keys().all(|k| k == "id" || STATUS_FIELDS.contains(&k.as_str())))
    };
    let under_hnp = !endpoint.starts_with('/');
    under_hnp && (method != "PATCH" || !body.as_array().is_some_and(|items| items.iter().all(status_only)))
}

/// `body` with every `last_synced` time (checked to be one) replaced by `<time>`.
fn redact_times(mut body: Value) -> Value {
    for item in body.as_array_mut().into_iter().flatten() {
        if let Some(time) = item.get_mut("last_synced") {
            let text = time.as_str().unwrap_or_default();
            assert!(text.len() == 20 && text.ends_with('Z'), "last_synced {time}");
            *time = json!("<time>");
        }
    }
    body
}

/// `(op, name, fields, refused)` of a report's HNP changes.
fn hnp_changes(report: &Report) -> Vec<(HnpOp, String, Vec<String>, Option<String>)> {
    report.hnp_changes.iter().map(|c| (c.op, c.resource.name.clone(), c.fields.clone(), c.refused.clone())).collect()
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

// Row 1: Git changed a managed file's data, HNP did not.

/// Each edit reaches HNP as a bulk PATCH of the fields that changed, of those CRs only; the
/// commit only records Git's blobs as the new bases; after that, neither direction has work.
#[test]
fn a_git_edit_patches_only_the_changed_fields_and_commits_only_the_state() {
    let w = World::new();
    let vpc = w.hnp.add(w.vpc("vpc-1", 1001));
    w.hnp.add(w.vpc("vpc-2", 1002));
    let switch =
        Cr::new("Switch", w.fabric, "leaf-01", json!({ "role": "server-leaf" })).labels(json!({ "rack": "r1" }));
    let leaf = w.hnp.add(switch);
    let server = w.hnp.add(Cr::new("Server", w.fabric, "server-1", json!({ "description": "compute" })));
    expect(&w.run(&["sync"]), 0);
    let untouched = [hnp_data(&w, "VPC", "vpc-2"), w.hnp.object("Server", server)];
    // The VPC's spec and the switch's labels change in one outside commit.
    let (vpc_path, leaf_path) = (managed("vpcs", "vpc-1"), managed("switches", "leaf-01"));
    let vpc_text =
        format!("# moved by the network team\n{}", w.file(&vpc_path).unwrap().replace("vlan: 1001", "vlan: 1999"));
    let leaf_text = w.file(&leaf_path).unwrap().replace("rack: r1", "rack: r2");
    // A comment alone is no data for HNP.
    let commented_path = managed("vpcs", "vpc-2");
    let commented = format!("# owned by the network team\n{}", w.file(&commented_path).unwrap());
    let edits = [(&vpc_path, &vpc_text), (&leaf_path, &leaf_text), (&commented_path, &commented)];
    let edits: Vec<(&str, Option<&str>)> = edits.iter().map(|(p, t)| (p.as_str(), Some(t.as_str()))).collect();
    w.commit(&edits, "Edit in Git");
    let commits = w.commits();
    w.hnp.clear_requests();

    let out = w.run(&["pull"]);
    expect(&out, 0);
    let report = out.report();
    assert_eq!(
        hnp_changes(&report),
        [
            (HnpOp::Update, "leaf-01".to_owned(), strings(&["labels"]), None),
            (HnpOp::Update, "vpc-1".to_owned(), strings(&["spec"]), None),
        ]
    );
    let froms: Vec<&str> = report.hnp_changes.iter().map(|c| c.path.as_str()).collect();
    assert_eq!(froms, [leaf_path.as_str(), vpc_path.as_str()]);
    assert_eq!(hnp_vlan(&w, "vpc-1"), Some(1999), "HNP has Git's data");
    assert_eq!(w.hnp.object("Switch", leaf).unwrap()["labels"], json!({ "rack": "r2" }));

    // Per kind one bulk PATCH of the changed field, with the bookkeeping of the CR (the time;
    // its path is the same): one write per CR.
    let spec = json!({ "subnets": { "default": { "subnet": "10.0.1.0/24", "vlan": 1999 } } });
    let patch = |endpoint: &str, body: Value| ("PATCH".to_owned(), endpoint.to_owned(), body);
    let expected = [
        patch("vpcs/", json!([{ "id": vpc, "spec": spec, "last_synced": "<time>" }])),
        patch("switches/", json!([{ "id": leaf, "labels": { "rack": "r2" }, "last_synced": "<time>" }])),
    ];
    assert_eq!(data_writes(&w), expected, "{:#?}", hnp_writes(&w));
    assert_eq!(hnp_data(&w, "VPC", "vpc-2"), untouched[0], "another CR's data is not written");
    assert_eq!(w.hnp.object("Server", server), untouched[1], "another kind is not written at all");

    // A state-only commit: Git's files (the comment too) stay and are the new bases.
    assert_eq!(w.commits(), commits + 1);
    assert_eq!(report.commit.as_deref(), Some(w.head().as_str()));
    assert_eq!(last_commit_files(&w), [format!("M\t{}", state_path())]);
    assert_eq!(w.file(&vpc_path).as_deref(), Some(vpc_text.as_str()));
    for path in [&vpc_path, &leaf_path, &commented_path] {
        assert_eq!(base(&w, path), w.blob(path), "{path}");
    }
    let message = w.gh.repo().git(&["log", "-1", "--format=%B", "refs/heads/main"]).unwrap();
    let trailer = format!("Fgd-Sync-State: {}", w.blob(&state_path()).unwrap());
    assert!(message.contains(&trailer), "{message}");
    let actions: Vec<(String, Action)> = report.changes.iter().map(|c| (c.path.clone(), c.action)).collect();
    assert_eq!(actions, [(leaf_path, Action::Adopt), (vpc_path, Action::Adopt), (commented_path, Action::Adopt)]);

    assert_settled(&w);
    assert_sound(&w);
}

// Row 2: a managed file the sync never wrote, holding a CR HNP lacks.

/// Files for CRs HNP lacks, one in a namespace of its own: each is POSTed with the fabric's
/// id (another fabric's CR of the same name is no obstacle and is left alone), recorded, and
/// its blob becomes the base.
#[test]
fn a_new_managed_file_creates_its_cr_in_the_fabric() {
    let (w, _) = World::synced(&[("vpc-1", 1001)]);
    let other = w.hnp.add_fabric("dc2");
    let elsewhere = w.hnp.add(Cr::new("VPC", other, "vpc-9", vpc_spec(9)));
    let before = w.hnp.object("VPC", elsewhere).unwrap();
    let vpc_path = managed("vpcs", "vpc-9");
    let attachment_path = format!("{DIR}/managed/vpcattachments/tenant-a/att-1.yaml");
    let attachment = "apiVersion: vpc.githedgehog.com/v1beta1\nkind: VPCAttachment\nmetadata:\n  name: att-1\n  \
                      namespace: tenant-a\nspec:\n  connection: server-1--unbundled--leaf-01\n  subnet: vpc-9/default\n";
    let files =
        [(vpc_path.as_str(), Some(vpc_manifest("vpc-9", 1009))), (attachment_path.as_str(), Some(attachment.into()))];
    let files: Vec<(&str, Option<&str>)> = files.iter().map(|(p, t)| (*p, t.as_deref())).collect();
    w.commit(&files, "Add vpc-9 and its attachment");
    w.hnp.clear_requests();

    let out = w.run(&["pull"]);
    expect(&out, 0);
    let report = out.report();
    let created =
        [(HnpOp::Create, "att-1".to_owned(), vec![], None), (HnpOp::Create, "vpc-9".to_owned(), vec![], None)];
    assert_eq!(hnp_changes(&report), created);
    // One bulk POST per kind, in the fabric, with the bookkeeping: nothing else is written.
    let post = |endpoint: &str, namespace: &str, name: &str, spec: Value, path: &str| {
        let body = json!([{ "fabric": w.fabric, "namespace": namespace, "name": name, "spec": spec,
                            "labels": {}, "annotations": {}, "git_file_path": path, "last_synced": "<time>" }]);
        ("POST".to_owned(), endpoint.to_owned(), body)
    };
    let attachment_spec = json!({ "connection": "server-1--unbundled--leaf-01", "subnet": "vpc-9/default" });
    let expected = [
        post("vpcs/", "default", "vpc-9", vpc_spec(1009), &vpc_path),
        post("vpc-attachments/", "tenant-a", "att-1", attachment_spec, &attachment_path),
    ];
    assert_eq!(hnp_writes(&w).into_iter().map(|(m, e, b)| (m, e, redact_times(b))).collect::<Vec<_>>(), expected);
    for (kind, name, path) in [("VPC", "vpc-9", &vpc_path), ("VPCAttachment", "att-1", &attachment_path)] {
        let row = hnp_row(&w, kind, name).expect("created in dc1");
        assert_eq!(row["git_file_path"], json!(path), "{row}");
        assert!(row["last_synced"].is_string(), "{row}");
        assert_eq!(base(&w, path), w.blob(path), "{path}");
    }
    assert_eq!(hnp_row(&w, "VPCAttachment", "att-1").unwrap()["namespace"], json!("tenant-a"));
    assert_eq!(w.hnp.object("VPC", elsewhere).unwrap(), before, "dc2's vpc-9 is left alone");

    assert_eq!(last_commit_files(&w), [format!("M\t{}", state_path())]);
    assert_settled(&w);
    assert_sound(&w);
}

// Row 3: Git deleted a file the sync wrote; HNP did not change the CR.

#[test]
fn a_git_deletion_deletes_the_cr_and_many_need_allowing() {
    let names: Vec<String> = (1..=20).map(|i| format!("vpc-{i:02}")).collect();
    let vpcs: Vec<(&str, u32)> = names.iter().enumerate().map(|(i, n)| (n.as_str(), 1001 + i as u32)).collect();
    let (w, _) = World::synced(&vpcs);
    let gone = managed("vpcs", "vpc-01");
    let id = hnp_row(&w, "VPC", "vpc-01").unwrap()["id"].clone();
    w.commit(&[(&gone, None)], "Remove vpc-01");
    w.hnp.clear_requests();

    let out = w.run(&["pull"]);
    expect(&out, 0);
    assert_eq!(hnp_changes(&out.report()), [(HnpOp::Delete, "vpc-01".to_owned(), vec![], None)]);
    assert_eq!(data_writes(&w), [("DELETE".to_owned(), "vpcs/".to_owned(), json!([{ "id": id }]))]);
    assert_eq!(hnp_row(&w, "VPC", "vpc-01"), None, "deleted in HNP");
    assert_eq!(state_entry(&w, &gone), None, "the state forgets it");
    assert_eq!(last_commit_files(&w), [format!("M\t{}", state_path())]);
    assert_settled(&w);

    // Git deletes every other file: the guard refuses, nothing is deleted or committed.
    let paths: Vec<String> = names[1..].iter().map(|n| managed("vpcs", n)).collect();
    let removals: Vec<(&str, Option<&str>)> = paths.iter().map(|p| (p.as_str(), None)).collect();
    w.commit(&removals, "Remove every VPC");
    let head = w.head();
    w.hnp.clear_requests();
    let refused = w.run(&["pull"]);
    expect(&refused, 1);
    match refused.error().detail {
        Some(ErrorDetail::TooManyDeletions { deletions, managed, limit }) => {
            assert_eq!((deletions, managed), (19, 19), "limit {limit}")
        }
        other => panic!("{other:?}\n{}", refused.stdout),
    }
    assert!(refused.error().message.contains("--allow-deletions 19"), "{}", refused.error().message);
    assert_eq!(hnp_writes(&w), [], "nothing deleted in HNP");
    assert!(names[1..].iter().all(|n| hnp_row(&w, "VPC", n).is_some()));
    assert_eq!(w.head(), head, "nothing committed");

    let allowed = w.run(&["pull", "--allow-deletions", "19"]);
    expect(&allowed, 0);
    assert_eq!(allowed.report().hnp_changes.len(), 19);
    let deletes: Vec<(String, String, usize)> = hnp_writes(&w)
        .into_iter()
        .filter(|(m, _, _)| m == "DELETE")
        .map(|(m, e, body)| (m, e, body.as_array().map_or(0, Vec::len)))
        .collect();
    assert_eq!(deletes, [("DELETE".to_owned(), "vpcs/".to_owned(), 19)], "one bulk request");
    assert!(names.iter().all(|n| hnp_row(&w, "VPC", n).is_none()));
    assert_settled(&w);
    assert_sound(&w);
}

// Row 4: both sides changed.

/// `vpc-1` synced, then edited in Git (VLAN 1999) and in HNP (VLAN 1500). Returns its path.
fn both_changed(w: &World) -> String {
    let path = managed("vpcs", "vpc-1");
    w.edit(&[&path], |t| t.replace("vlan: 1001", "vlan: 1999"));
    let id = hnp_row(w, "VPC", "vpc-1").unwrap()["id"].as_u64().unwrap();
    assert!(w.hnp.update(id, Cr::new("VPC", w.fabric, "vpc-1", vpc_spec(1500))));
    path
}

#[test]
fn both_sides_changed_is_a_conflict_and_nothing_is_written() {
    let (w, _) = World::synced(&[("vpc-1", 1001), ("vpc-2", 1002)]);
    let path = both_changed(&w);
    let head = w.head();
    let base = state_entry(&w, &path);
    let data = hnp_data(&w, "VPC", "vpc-1");
    for args in [&["sync", "--direction", "both"][..], &["pull"]] {
        w.hnp.clear_requests();
        let out = w.run(args);
        expect(&out, 2);
        let report = out.report();
        assert_eq!(report.conflicts.len(), 1, "{args:?}: {}", out.stdout);
        let conflict = &report.conflicts[0];
        assert_eq!((conflict.path.as_str(), conflict.kind), (path.as_str(), ConflictKind::ModifiedInGit));
        assert!(conflict.git_content.as_deref().is_some_and(|t| t.contains("vlan: 1999")), "{conflict:?}");
        assert!(conflict.hnp_content.as_deref().is_some_and(|t| t.contains("vlan: 1500")), "{conflict:?}");
        assert_eq!((report.commit, report.hnp_changes.len()), (None, 0), "{args:?}");
        // NetBox may show the conflict on the CR (its status, issue 13); its data stays.
        assert_eq!(data_writes(&w), [], "{args:?}: no CR data written to NetBox");
        assert_eq!(hnp_data(&w, "VPC", "vpc-1"), data, "{args:?}");
        assert_eq!(w.head(), head, "{args:?}: nothing committed");
    }
    assert_eq!(hnp_vlan(&w, "vpc-1"), Some(1500));
    assert_eq!(state_entry(&w, &path), base);
    assert_sound(&w);
}

// Row 5: NetBox refuses a write.

#[test]
fn a_cr_netbox_refuses_keeps_its_base_and_the_others_land() {
    let (w, _) = World::synced(&[("vpc-1", 1001), ("vpc-2", 1002), ("vpc-3", 1003)]);
    let paths: Vec<String> = ["vpc-1", "vpc-2", "vpc-3"].iter().map(|n| managed("vpcs", n)).collect();
    let bases: Vec<Option<Value>> = paths.iter().map(|p| state_entry(&w, p)).collect();
    let edited: Vec<(String, String)> =
        paths.iter().map(|p| (p.clone(), w.file(p).unwrap().replace("vlan: 100", "vlan: 190"))).collect();
    let changes: Vec<(&str, Option<&str>)> = edited.iter().map(|(p, t)| (p.as_str(), Some(t.as_str()))).collect();
    w.commit(&changes, "Move three VLANs");
    w.hnp.refuse_writes("VPC", "vpc-2", "spec", "VLAN 1902 is reserved.");
    let synced_before = hnp_row(&w, "VPC", "vpc-2").unwrap()["last_synced"].clone();
    w.hnp.clear_requests();

    let out = w.run(&["pull"]);
    expect(&out, 2);
    // NetBox's 400 names vpc-2 and writes nothing; the other two go again, each with its
    // bookkeeping (vpc-2 gets none).
    let ids = |body: &Value| -> Vec<u64> { body.as_array().unwrap().iter().filter_map(|o| o["id"].as_u64()).collect() };
    let sent: Vec<(String, Vec<u64>)> = data_writes(&w).iter().map(|(m, _, body)| (m.clone(), ids(body))).collect();
    let id = |name: &str| hnp_row(&w, "VPC", name).unwrap()["id"].as_u64().unwrap();
    let all = vec![id("vpc-1"), id("vpc-2"), id("vpc-3")];
    assert_eq!(sent, [("PATCH".to_owned(), all), ("PATCH".to_owned(), vec![id("vpc-1"), id("vpc-3")])]);
    assert_eq!(hnp_row(&w, "VPC", "vpc-2").unwrap()["last_synced"], synced_before, "no bookkeeping for vpc-2");
    let report = out.report();
    let refused = Some("spec: VLAN 1902 is reserved.".to_owned());
    let spec = strings(&["spec"]);
    assert_eq!(
        hnp_changes(&report),
        [
            (HnpOp::Update, "vpc-1".to_owned(), spec.clone(), None),
            (HnpOp::Update, "vpc-2".to_owned(), spec.clone(), refused),
            (HnpOp::Update, "vpc-3".to_owned(), spec.clone(), None),
        ]
    );
    assert_eq!(
        (hnp_vlan(&w, "vpc-1"), hnp_vlan(&w, "vpc-2"), hnp_vlan(&w, "vpc-3")),
        (Some(1901), Some(1002), Some(1903))
    );
    assert_eq!(state_entry(&w, &paths[1]), bases[1], "no base claimed for the refused CR");
    assert_eq!((base(&w, &paths[0]), base(&w, &paths[2])), (w.blob(&paths[0]), w.blob(&paths[2])));
    assert!(w.file(&paths[1]).unwrap().contains("vlan: 1902"), "Git's edit stays");
    assert!(report.conflicts.is_empty(), "{:?}", report.conflicts);

    // Once NetBox accepts it, the next pull carries it.
    w.hnp.clear_refusals();
    let again = w.run(&["pull"]);
    expect(&again, 0);
    assert_eq!(hnp_changes(&again.report()), [(HnpOp::Update, "vpc-2".to_owned(), spec, None)]);
    assert_eq!(base(&w, &paths[1]), w.blob(&paths[1]));
    assert_settled(&w);
    assert_sound(&w);
}

#[test]
fn a_403_refuses_every_write_and_claims_no_base() {
    let (w, _) = World::synced(&[("vpc-1", 1001), ("vpc-2", 1002)]);
    let path = managed("vpcs", "vpc-1");
    let base = state_entry(&w, &path);
    w.edit(&[&path], |t| t.replace("vlan: 1001", "vlan: 1999"));
    w.commit(&[(&managed("vpcs", "vpc-7"), Some(&vpc_manifest("vpc-7", 1007)))], "Add vpc-7");
    let head = w.head();
    w.hnp.set_writes_forbidden(true);

    let out = w.run(&["pull"]);
    expect(&out, 2);
    let report = out.report();
    let outcomes: Vec<(HnpOp, String, bool)> = report
        .hnp_changes
        .iter()
        .map(|c| (c.op, c.resource.name.clone(), c.refused.as_deref().is_some_and(|why| why.contains("403 Forbidden"))))
        .collect();
    assert_eq!(
        outcomes,
        [(HnpOp::Update, "vpc-1".to_owned(), true), (HnpOp::Create, "vpc-7".to_owned(), true)],
        "{}",
        out.stdout
    );
    assert_eq!((hnp_vlan(&w, "vpc-1"), hnp_row(&w, "VPC", "vpc-7")), (Some(1001), None));
    assert_eq!(state_entry(&w, &path), base, "no base claimed");
    assert_eq!(state_entry(&w, &managed("vpcs", "vpc-7")), None);
    assert_eq!((report.commit, w.head()), (None, head), "nothing to commit");

    w.hnp.set_writes_forbidden(false);
    expect(&w.run(&["pull"]), 0);
    assert_eq!((hnp_vlan(&w, "vpc-1"), hnp_vlan(&w, "vpc-7")), (Some(1999), Some(1007)));
    assert_settled(&w);
    assert_sound(&w);
}

// Row 6: `raw/` files.

#[test]
fn a_good_raw_file_is_ingested_in_one_commit() {
    let (w, _) = World::synced(&[("vpc-1", 1001)]);
    let yaml = format!("{DIR}/raw/new-vpcs.yaml");
    let json_file = format!("{DIR}/raw/leaf.json");
    let text = format!("# from the design doc\n{}---\n{}", vpc_manifest("vpc-1", 1777), vpc_manifest("vpc-5", 1005));
    let switch = json!({
        "apiVersion": "wiring.githedgehog.com/v1beta1",
        "kind": "Switch",
        "metadata": { "name": "leaf-01", "labels": { "rack": "r1" } },
        "spec": { "role": "server-leaf", "asn": 65101 }
    });
    w.commit(&[(&yaml, Some(&text)), (&json_file, Some(&serde_json::to_string_pretty(&switch).unwrap()))], "Drop CRs");
    let commits = w.commits();

    let out = w.run(&["pull"]);
    expect(&out, 0);
    let report = out.report();
    assert!(report.raw_errors.is_empty() && report.conflicts.is_empty(), "{}", out.stdout);
    let mut ops: Vec<(HnpOp, String, String)> =
        report.hnp_changes.iter().map(|c| (c.op, c.resource.name.clone(), c.path.clone())).collect();
    ops.sort_by(|a, b| a.1.cmp(&b.1));
    assert_eq!(
        ops,
        [
            (HnpOp::Create, "leaf-01".to_owned(), json_file.clone()),
            (HnpOp::Update, "vpc-1".to_owned(), yaml.clone()),
            (HnpOp::Create, "vpc-5".to_owned(), yaml.clone()),
        ]
    );
    assert_eq!((hnp_vlan(&w, "vpc-1"), hnp_vlan(&w, "vpc-5")), (Some(1777), Some(1005)));
    let leaf = hnp_row(&w, "Switch", "leaf-01").expect("the switch is in HNP");
    assert_eq!(
        (&leaf["fabric"], &leaf["labels"], &leaf["spec"]),
        (&json!(w.fabric), &json!({ "rack": "r1" }), &switch["spec"])
    );

    // One commit: the raw files go, the canonical files come, with the state.
    assert_eq!(w.commits(), commits + 1);
    let stat = w.gh.repo().git(&["show", "--stat=200", "--format=", "refs/heads/main"]).unwrap();
    let mut touched = last_commit_files(&w);
    touched.sort();
    let mut expected = vec![
        format!("A\t{}", managed("switches", "leaf-01")),
        format!("A\t{}", managed("vpcs", "vpc-5")),
        format!("D\t{json_file}"),
        format!("D\t{yaml}"),
        format!("M\t{}", managed("vpcs", "vpc-1")),
        format!("M\t{}", state_path()),
    ];
    expected.sort();
    assert_eq!(touched, expected, "{stat}");
    assert_eq!((w.file(&yaml), w.file(&json_file)), (None, None), "raw files removed");
    for (path, needle) in [
        (managed("vpcs", "vpc-1"), "vlan: 1777"),
        (managed("vpcs", "vpc-5"), "vlan: 1005"),
        (managed("switches", "leaf-01"), "asn: 65101"),
    ] {
        let file = w.file(&path).expect("canonical file");
        assert!(file.contains(needle) && !file.contains("design doc"), "{path}:\n{file}");
        assert_eq!(base(&w, &path), w.blob(&path), "{path}");
    }
    assert_settled(&w);
    assert_sound(&w);
}

#[test]
fn a_bad_raw_file_is_reported_and_left_in_place() {
    let (w, _) = World::synced(&[("vpc-1", 1001)]);
    let broken = format!("{DIR}/raw/broken.yaml");
    let bad = format!("{DIR}/raw/bad.yaml");
    let bad_second = "apiVersion: vpc.githedgehog.com/v1beta1\nkind: VPC\nmetadata:\n  name: Bad_Name\nspec: {}\n";
    let bad_text = format!("{}---\n{bad_second}", vpc_manifest("vpc-5", 1005));
    w.commit(&[(&broken, Some("kind: VPC\nspec: [\n")), (&bad, Some(&bad_text))], "Drop two bad files");
    let head = w.head();
    w.hnp.clear_requests();

    let out = w.run(&["pull"]);
    expect(&out, 2);
    let report = out.report();
    let errors: Vec<(String, u32, String)> =
        report.raw_errors.iter().map(|e| (e.path.clone(), e.document, e.field.clone())).collect();
    assert_eq!(
        errors,
        [(bad.clone(), 1, "metadata.name".to_owned()), (broken.clone(), 0, String::new())],
        "{}",
        out.stdout
    );
    assert!(report.raw_errors.iter().all(|e| !e.message.is_empty()));
    assert_eq!(report.hnp_changes.len(), 0, "vpc-5 of the bad file waits too");
    assert_eq!(data_writes(&w), [], "nothing ingested");
    assert_eq!(hnp_row(&w, "VPC", "vpc-5"), None);
    assert_eq!(w.head(), head, "nothing committed");
    assert_eq!(w.file(&bad).as_deref(), Some(bad_text.as_str()));
    assert!(w.file(&broken).is_some());
    assert_sound(&w);
}

// Row 7: `resolve --take git` after a both-changed conflict.

#[test]
fn resolving_for_git_writes_gits_data_into_hnp() {
    let (w, _) = World::synced(&[("vpc-1", 1001)]);
    let path = both_changed(&w);
    expect(&w.run(&["sync", "--direction", "both"]), 2);
    let git_blob = w.blob(&path);
    w.hnp.clear_requests();

    let out = w.run(&["resolve", &path, "--take", "git"]);
    expect(&out, 0);
    let report = out.report();
    assert!(report.conflicts.is_empty(), "{}", out.stdout);
    assert_eq!(hnp_changes(&report), [(HnpOp::Update, "vpc-1".to_owned(), strings(&["spec"]), None)]);
    assert_eq!(hnp_vlan(&w, "vpc-1"), Some(1999), "HNP has Git's data");
    assert_eq!(w.blob(&path), git_blob, "Git keeps its file");
    assert_eq!(base(&w, &path), git_blob);
    assert_settled(&w);
    assert_sound(&w);
}

// Row 8: a manifest directory cannot take Git's edits.

#[test]
fn a_pull_from_a_source_directory_is_refused() {
    let w = World::new();
    let source = w.tmp.path().join("crs");
    std::fs::create_dir_all(&source).unwrap();
    std::fs::write(source.join("vpc.yaml"), vpc_manifest("vpc-1", 1001)).unwrap();
    let command = |args: &[&str]| {
        let mut cmd = cli::command();
        cmd.env("GITHUB_TOKEN", w.gh.token())
            .args(args)
            .args(["--json", "--fabric", "dc1", "--github-api", &w.gh.api_base(), "--repo", "acme/fabric"])
            .arg("--source-dir")
            .arg(&source);
        run(&mut cmd)
    };
    for args in [&["sync", "--direction", "pull"][..], &["sync", "--direction", "both"], &["pull"]] {
        let out = command(args);
        expect(&out, 1);
        assert!(
            out.stderr.contains("directory (read-only)") && out.stderr.contains("--direction push"),
            "{args:?}: {}",
            out.stderr
        );
        assert!(out.stdout.is_empty(), "{args:?}: {}", out.stdout);
    }
    assert!(w.gh.exchanges().is_empty(), "GitHub was never asked");
    assert_eq!(w.gh.repo().head("main"), None, "nothing written");
}

// Row 9: `plan --direction both`.

#[test]
fn a_plan_of_both_directions_shows_the_hnp_changes_and_writes_nothing() {
    let (w, _) = World::synced(&[("vpc-1", 1001), ("vpc-2", 1002)]);
    let pulled = managed("vpcs", "vpc-1");
    w.edit(&[&pulled], |t| t.replace("vlan: 1001", "vlan: 1999"));
    let id = hnp_row(&w, "VPC", "vpc-2").unwrap()["id"].as_u64().unwrap();
    assert!(w.hnp.update(id, Cr::new("VPC", w.fabric, "vpc-2", vpc_spec(1500))));
    let head = w.head();
    let state = w.file(&state_path());
    w.hnp.clear_requests();

    let out = w.run(&["plan", "--direction", "both"]);
    expect(&out, 0);
    let outcome = out.outcome();
    assert!(outcome.dry_run);
    let report = out.report();
    assert_eq!(hnp_changes(&report), [(HnpOp::Update, "vpc-1".to_owned(), strings(&["spec"]), None)]);
    // Git's file becomes the base of vpc-1 once HNP holds it; HNP's edit of vpc-2 is pushed.
    assert_eq!(
        report.changes.iter().map(|c| (c.path.clone(), c.action)).collect::<Vec<_>>(),
        [(pulled, Action::Adopt), (managed("vpcs", "vpc-2"), Action::Update)]
    );
    assert_eq!(report.commit, None);
    assert_eq!(hnp_writes(&w), [], "NetBox untouched");
    assert_eq!((hnp_vlan(&w, "vpc-1"), hnp_vlan(&w, "vpc-2")), (Some(1001), Some(1500)));
    assert_eq!((w.head(), w.file(&state_path())), (head.clone(), state), "Git untouched");

    // The text output names the HNP change too.
    let mut text = cli::command();
    text.env("GITHUB_TOKEN", w.gh.token()).env("NETBOX_TOKEN", NETBOX_TOKEN).args(["plan", "--direction", "both"]);
    text.args([
        "--fabric",
        "dc1",
        "--github-api",
        &w.gh.api_base(),
        "--repo",
        "acme/fabric",
        "--netbox-url",
        &w.hnp.base_url(),
    ]);
    let text = run(&mut text);
    expect(&text, 0);
    assert!(
        text.stdout.contains("vpc-1") && text.stdout.contains(&format!("from {}", managed("vpcs", "vpc-1"))),
        "{}",
        text.stdout
    );
    assert_eq!(hnp_writes(&w), []);
    assert_eq!(w.head(), head);
}
