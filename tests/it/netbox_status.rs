//! Conflicts shown where operators look, in NetBox itself (issue 13, first half), end to
//! end: the real binary, the GitHub stand-in over HTTP (real git underneath) and the HNP
//! stand-in, which keeps each CR's `sync_error` and NetBox's journal. A conflict sets the
//! CR's `sync_error` and adds one journal entry with the diff and the commands that settle
//! it; a reconcile adds nothing; settling it clears the line and adds a "resolved" entry;
//! invalid CRs get their line; many CRs cost one bulk PATCH per kind; a journal NetBox
//! refuses is a warning. Also the stand-in's journal endpoint on its own.

use std::time::Duration;

use fgd_sync::net::client::Client;
use fgd_sync_tests::hnp::{Cr, Event, Hnp, Seen, Webhook, WebhookStyle, API, JOURNAL, TOKEN_USER_ID};
use http::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use http::{HeaderMap, Method};
use pretty_assertions::assert_eq;
use serde_json::{json, Value};

use crate::kit::netbox::expect;
use crate::kit::{managed, vpc_spec, World, NETBOX_TOKEN};

fn switch_spec(asn: u32) -> Value {
    json!({ "role": "server-leaf", "asn": asn })
}

/// Every NetBox request that is not a read: method, path, body.
fn writes(w: &World) -> Vec<(String, String, String)> {
    let seen = w.hnp.requests().into_iter().filter(|r| r.method != "GET");
    seen.map(|Seen { method, path, body, .. }| (method, path, body)).collect()
}

/// `vpc-1` edited in Git (VLAN 1999) and in HNP (VLAN 1500) since the last sync.
fn both_changed(w: &World, id: u64) -> String {
    let path = managed("vpcs", "vpc-1");
    w.edit(std::slice::from_ref(&path), |t| t.replace("vlan: 1001", "vlan: 1999"));
    assert!(w.hnp.update(id, Cr::new("VPC", w.fabric, "vpc-1", vpc_spec(1500))));
    path
}

fn conflict_line(blob: &str) -> String {
    format!("conflict: changed in Git since the last sync (blob {}); see journal", &blob[..8])
}

/// `(kind, assigned_object_type, assigned_object_id, created_by)` of each journal entry.
fn journal(hnp: &Hnp) -> Vec<(String, String, u64, u64)> {
    hnp.journal_entries()
        .iter()
        .map(|e| {
            (
                e["kind"]["value"].as_str().unwrap_or_default().to_owned(),
                e["assigned_object_type"].as_str().unwrap_or_default().to_owned(),
                e["assigned_object_id"].as_u64().unwrap_or_default(),
                e["created_by"].as_u64().unwrap_or_default(),
            )
        })
        .collect()
}

#[test]
fn a_conflict_is_shown_once_on_the_cr_and_settling_it_says_so() {
    let (w, ids) = World::synced(&[("vpc-1", 1001), ("vpc-2", 1002)]);
    let path = both_changed(&w, ids[0]);
    let git = w.blob(&path).expect("on main");

    // A plan is a dry run: nothing shown in NetBox either.
    w.hnp.clear_requests();
    expect(&w.run(&["plan"]), 2);
    assert_eq!(writes(&w), [], "a plan writes nothing to NetBox");

    // NetBox fires a webhook for the sync_error PATCH like for any change (a receiver that
    // is not listening: the delivery is recorded as failed).
    w.hnp.set_webhook(Some(Webhook {
        url: "http://127.0.0.1:1/hook".into(),
        secret: None,
        style: WebhookStyle::NetBox4,
    }));
    w.hnp.clear_requests();
    let out = w.run(&["sync"]);
    expect(&out, 2);
    let report = out.report();
    assert_eq!(report.conflicts.len(), 1, "{}", out.stdout);
    assert_eq!(report.warnings, Vec::<String>::new());
    assert_eq!(w.hnp.sync_error("VPC", ids[0]).as_deref(), Some(conflict_line(&git).as_str()));
    assert_eq!(w.hnp.sync_error("VPC", ids[1]).as_deref(), Some(""), "the other CR stays clear");
    let entries = w.hnp.journal_entries();
    assert_eq!(
        journal(&w.hnp),
        [("warning".to_owned(), "netbox_hedgehog.vpc".to_owned(), ids[0], TOKEN_USER_ID)],
        "exactly one entry"
    );
    let comments = entries[0]["comments"].as_str().unwrap();
    let settle = |take: &str| format!("fgd-sync resolve {path} --fabric dc1 --take {take} --expect {git}");
    for expected in [
        format!("`{path}`"),
        format!("Blob in Git now: `{git}`"),
        "```diff\n--- git\n+++ hnp\n".to_owned(),
        "-      vlan: 1999\n".to_owned(),
        "+      vlan: 1500\n".to_owned(),
        settle("hnp"),
        settle("git"),
        "or edit the CR to match Git".to_owned(),
    ] {
        assert!(comments.contains(&expected), "missing {expected:?} in the entry:\n{comments}");
    }
    println!("journal entry Markdown:\n{comments}");
    let sent: Vec<(String, String)> = writes(&w).into_iter().map(|(method, path, _)| (method, path)).collect();
    assert_eq!(
        sent,
        [("PATCH".to_owned(), format!("{API}vpcs/")), ("POST".to_owned(), JOURNAL.to_owned())],
        "one bulk PATCH, one journal POST"
    );
    let deliveries = w.hnp.wait_for_deliveries(1, Duration::from_secs(10));
    let hooks: Vec<(Event, String, u64)> = deliveries.iter().map(|d| (d.event, d.kind.clone(), d.id)).collect();
    assert_eq!(hooks, [(Event::Updated, "VPC".to_owned(), ids[0])], "the sync_error change fires one webhook");
    w.hnp.set_webhook(None);

    // A reconcile of the same state: no PATCH, no entry, nothing written.
    w.hnp.clear_requests();
    let again = w.run(&["sync"]);
    expect(&again, 2);
    assert_eq!(writes(&w), [], "nothing written to NetBox again");
    println!("NetBox requests of a sync that meets the same conflict again: {}", w.hnp.requests().len());
    assert_eq!(w.hnp.journal_entries().len(), 1);

    // Settled for HNP: the line is cleared and a "resolved" entry says so.
    let resolved = w.run(&["resolve", &path, "--take", "hnp", "--expect", &git]);
    expect(&resolved, 0);
    let commit = resolved.report().commit.expect("resolve commits HNP's version");
    assert_eq!(w.hnp.sync_error("VPC", ids[0]).as_deref(), Some(""));
    assert_eq!(
        journal(&w.hnp),
        [
            ("warning".to_owned(), "netbox_hedgehog.vpc".to_owned(), ids[0], TOKEN_USER_ID),
            ("success".to_owned(), "netbox_hedgehog.vpc".to_owned(), ids[0], TOKEN_USER_ID),
        ]
    );
    let entries = w.hnp.journal_entries();
    let done = entries[1]["comments"].as_str().unwrap();
    assert!(done.contains("resolved") && done.contains(&commit[..12]) && done.contains(&conflict_line(&git)), "{done}");
    assert!(w.file(&path).expect("on main").contains("vlan: 1500"));

    // And in sync now: nothing more to show.
    w.hnp.clear_requests();
    expect(&w.run(&["sync"]), 0);
    assert_eq!(writes(&w), []);
}

#[test]
fn git_changing_again_is_a_new_conflict_entry() {
    let (w, ids) = World::synced(&[("vpc-1", 1001)]);
    let path = both_changed(&w, ids[0]);
    expect(&w.run(&["sync"]), 2);
    w.edit(std::slice::from_ref(&path), |t| t.replace("vlan: 1999", "vlan: 1998"));
    let newer = w.blob(&path).expect("on main");
    expect(&w.run(&["sync"]), 2);
    assert_eq!(w.hnp.sync_error("VPC", ids[0]), Some(conflict_line(&newer)));
    let kinds: Vec<String> = journal(&w.hnp).into_iter().map(|(kind, ..)| kind).collect();
    assert_eq!(kinds, ["warning", "warning"], "one entry per Git version in conflict");
    let entries = w.hnp.journal_entries();
    assert!(entries[1]["comments"].as_str().unwrap().contains(&format!("--expect {newer}")));
}

#[test]
fn an_invalid_cr_gets_its_line_until_it_is_fixed() {
    let (w, _) = World::synced(&[("vpc-1", 1001)]);
    let bad = w.hnp.add(Cr::new("VPC", w.fabric, "vpc-bad", json!([1, 2])));
    let out = w.run(&["sync"]);
    expect(&out, 2);
    let report = out.report();
    assert_eq!(report.invalid.len(), 1, "{}", out.stdout);
    let invalid = &report.invalid[0];
    let line = format!("invalid: field {}: {}", invalid.field, invalid.message);
    assert!(line.starts_with("invalid: field spec: "), "{line}");
    assert_eq!(w.hnp.sync_error("VPC", bad), Some(line));
    assert_eq!(w.hnp.journal_entries(), Vec::<Value>::new(), "no journal entry for an invalid CR");

    assert!(w.hnp.update(bad, Cr::new("VPC", w.fabric, "vpc-bad", vpc_spec(1003))));
    expect(&w.run(&["sync"]), 0);
    assert_eq!(w.hnp.sync_error("VPC", bad).as_deref(), Some(""));
    assert_eq!(w.hnp.journal_entries(), Vec::<Value>::new());
}

#[test]
fn an_old_line_on_a_cr_in_sync_is_cleared_by_the_next_sync() {
    let (w, ids) = World::synced(&[("vpc-1", 1001), ("vpc-2", 1002)]);
    let stale = "conflict: changed in Git since the last sync (blob 0badc0de); see journal";
    assert!(w.hnp.set_sync_error("VPC", ids[1], stale));
    // A selection covers only its CRs.
    w.hnp.clear_requests();
    expect(&w.run(&["sync", "--only", "VPC/vpc-1"]), 0);
    assert_eq!(writes(&w), [], "vpc-2 was not covered");
    assert_eq!(w.hnp.sync_error("VPC", ids[1]).as_deref(), Some(stale));
    // The whole fabric covers it: cleared, and the conflict it named is reported settled.
    expect(&w.run(&["sync"]), 0);
    assert_eq!(w.hnp.sync_error("VPC", ids[1]).as_deref(), Some(""));
    let kinds: Vec<String> = journal(&w.hnp).into_iter().map(|(kind, ..)| kind).collect();
    assert_eq!(kinds, ["success"]);
}

#[test]
fn many_conflicts_cost_one_bulk_patch_per_kind_and_one_journal_post() {
    let w = World::new();
    let vpcs: Vec<(String, u64)> = (0..30)
        .map(|i| {
            let name = format!("vpc-{i}");
            let id = w.hnp.add(Cr::new("VPC", w.fabric, &name, vpc_spec(1000 + i)));
            (name, id)
        })
        .collect();
    let switches: Vec<(String, u64)> = (0..6)
        .map(|i| {
            let name = format!("leaf-{i:02}");
            (name.clone(), w.hnp.add(Cr::new("Switch", w.fabric, &name, switch_spec(65100 + i))))
        })
        .collect();
    expect(&w.run(&["sync"]), 0);

    let mut paths: Vec<String> = vpcs.iter().map(|(n, _)| managed("vpcs", n)).collect();
    paths.extend(switches.iter().map(|(n, _)| managed("switches", n)));
    w.edit(&paths, |t| t.replace("vlan: 1", "vlan: 2").replace("asn: 651", "asn: 652"));
    for (i, (name, id)) in vpcs.iter().enumerate() {
        assert!(w.hnp.update(*id, Cr::new("VPC", w.fabric, name, vpc_spec(3000 + i as u32))));
    }
    for (i, (name, id)) in switches.iter().enumerate() {
        assert!(w.hnp.update(*id, Cr::new("Switch", w.fabric, name, switch_spec(65300 + i as u32))));
    }

    w.hnp.clear_requests();
    let out = w.run(&["sync"]);
    expect(&out, 2);
    assert_eq!(out.report().conflicts.len(), 36, "{}", out.stdout);
    let writes = writes(&w);
    let summary: Vec<(String, String, usize)> = writes
        .iter()
        .map(|(method, path, body)| {
            let items = serde_json::from_str::<Value>(body).ok().and_then(|b| b.as_array().map(Vec::len));
            (method.clone(), path.clone(), items.unwrap_or(0))
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("PATCH".to_owned(), format!("{API}vpcs/"), 30),
            ("PATCH".to_owned(), format!("{API}switches/"), 6),
            ("POST".to_owned(), JOURNAL.to_owned(), 36),
        ]
    );
    println!(
        "36 conflicts: {} NetBox requests in all, {} writes (bulk PATCH per kind + one journal POST)",
        w.hnp.requests().len(),
        writes.len()
    );
    for (_, id) in &vpcs {
        assert!(w.hnp.sync_error("VPC", *id).is_some_and(|l| l.starts_with("conflict: ")));
    }
    for (_, id) in &switches {
        assert!(w.hnp.sync_error("Switch", *id).is_some_and(|l| l.starts_with("conflict: ")));
    }
    let types: Vec<String> = journal(&w.hnp).into_iter().map(|(_, t, ..)| t).collect();
    assert_eq!(types.iter().filter(|t| *t == "netbox_hedgehog.switch").count(), 6);
    assert_eq!(types.len(), 36);
}

#[test]
fn a_journal_netbox_refuses_is_a_warning_not_a_failure() {
    let (w, ids) = World::synced(&[("vpc-1", 1001)]);
    let path = both_changed(&w, ids[0]);
    w.hnp.refuse_journal_writes(Some(403));
    let out = w.run(&["sync"]);
    expect(&out, 2);
    let report = out.report();
    assert_eq!(report.conflicts.len(), 1);
    assert_eq!(report.warnings.len(), 1, "{:?}", report.warnings);
    let warning = &report.warnings[0];
    assert!(
        warning.contains("journal entry") && warning.contains("VPC default/vpc-1") && warning.contains("403"),
        "{warning}"
    );
    assert_eq!(
        w.hnp.sync_error("VPC", ids[0]),
        Some(conflict_line(&w.blob(&path).expect("on main"))),
        "the line is set"
    );
    assert_eq!(w.hnp.journal_entries(), Vec::<Value>::new());

    // Same conflict, same line: not tried again (the entry follows the line), as the
    // warning says. A conflict that changes gets its entry.
    w.hnp.refuse_journal_writes(None);
    w.hnp.clear_requests();
    let again = w.run(&["sync"]);
    expect(&again, 2);
    assert_eq!((writes(&w), again.report().warnings), (vec![], vec![]), "no retry for the same conflict");
    w.edit(std::slice::from_ref(&path), |t| t.replace("vlan: 1999", "vlan: 1998"));
    expect(&w.run(&["sync"]), 2);
    assert_eq!(journal(&w.hnp).len(), 1);
}

#[test]
fn a_netbox_refusing_sync_error_writes_is_a_warning_and_no_entry() {
    let (w, ids) = World::synced(&[("vpc-1", 1001)]);
    both_changed(&w, ids[0]);
    w.hnp.set_writes_forbidden(true);
    let out = w.run(&["sync"]);
    expect(&out, 2);
    let warnings = out.report().warnings;
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].contains("`sync_error` not set on VPC default/vpc-1") && warnings[0].contains("403"),
        "{warnings:?}"
    );
    assert_eq!(w.hnp.journal_entries(), Vec::<Value>::new(), "no entry for a line not set");
    // Once NetBox takes writes again, the next sync shows it.
    w.hnp.set_writes_forbidden(false);
    expect(&w.run(&["sync"]), 2);
    assert_eq!(journal(&w.hnp).len(), 1);
}

// The stand-in's journal endpoint, as NetBox documents it.

/// One request to the stand-in (a path from the root): status and JSON body.
async fn call(hnp: &Hnp, method: &str, path: &str, body: Value) -> (u16, Value) {
    let mut headers = HeaderMap::new();
    headers.insert(AUTHORIZATION, HeaderValue::from_str(&format!("Token {NETBOX_TOKEN}")).unwrap());
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    let method: Method = method.parse().unwrap();
    let body = (!body.is_null()).then(|| body.to_string().into_bytes());
    let url = format!("{}{path}", hnp.base_url());
    let response = Client::default().request(method, &url, headers, body).await.expect("the stand-in answers");
    (response.status.as_u16(), serde_json::from_slice(&response.body).unwrap_or(Value::Null))
}

/// A page of the journal listing: `count`, whether there is a `next` page, the comments.
async fn listed(hnp: &Hnp, query: &str) -> (u64, bool, Vec<String>) {
    let (status, page) = call(hnp, "GET", &format!("{JOURNAL}?{query}"), Value::Null).await;
    assert_eq!(status, 200, "{page}");
    let results = page["results"].as_array().expect("a page");
    let comments = results.iter().map(|e| e["comments"].as_str().unwrap_or_default().to_owned()).collect();
    (page["count"].as_u64().unwrap_or_default(), page["next"].is_string(), comments)
}

#[tokio::test]
async fn the_standin_journal_validates_creates_and_lists_as_netbox_does() {
    let hnp = Hnp::start(NETBOX_TOKEN).unwrap();
    let dc1 = hnp.add_fabric("dc1");
    let vpc = hnp.add(Cr::new("VPC", dc1, "vpc-1", json!({})));
    let switch = hnp.add(Cr::new("Switch", dc1, "leaf-01", json!({})));
    let entry = |kind: &str, id: u64, comments: &str| json!({ "assigned_object_type": kind, "assigned_object_id": id, "kind": "warning", "comments": comments });

    let bad = [
        (
            json!({ "assigned_object_type": "netbox_hedgehog.vpc", "assigned_object_id": vpc, "kind": "loud", "comments": "x" }),
            json!({ "kind": ["\"loud\" is not a valid choice."] }),
        ),
        (
            json!({ "assigned_object_type": "netbox_hedgehog.vpc", "assigned_object_id": vpc }),
            json!({ "comments": ["This field is required."] }),
        ),
        (
            entry("netbox_hedgehog.nothing", vpc, "x"),
            json!({ "assigned_object_type": ["Invalid content type: netbox_hedgehog.nothing"] }),
        ),
        (
            entry("netbox_hedgehog.vpc", 999, "x"),
            json!({ "non_field_errors": ["Invalid assigned_object: netbox_hedgehog.vpc ID 999"] }),
        ),
    ];
    for (body, expected) in bad {
        assert_eq!(call(&hnp, "POST", JOURNAL, body.clone()).await, (400, expected), "{body}");
    }
    // A bulk create is one transaction: one bad entry, nothing saved, errors aligned.
    let (status, errors) = call(
        &hnp,
        "POST",
        JOURNAL,
        json!([entry("netbox_hedgehog.vpc", vpc, "a"), entry("netbox_hedgehog.vpc", 999, "b")]),
    )
    .await;
    assert_eq!((status, errors[0].clone()), (400, json!({})));
    assert!(hnp.journal_entries().is_empty());

    let (status, created) = call(&hnp, "POST", JOURNAL, entry("netbox_hedgehog.vpc", vpc, "**one**")).await;
    assert_eq!(status, 201);
    assert_eq!(
        (&created["kind"], &created["created_by"], &created["comments"], &created["assigned_object_id"]),
        (&json!({ "value": "warning", "label": "Warning" }), &json!(TOKEN_USER_ID), &json!("**one**"), &json!(vpc))
    );
    assert!(created["url"].as_str().unwrap().ends_with(&format!("{JOURNAL}1/")), "{created}");
    let (status, created) = call(
        &hnp,
        "POST",
        JOURNAL,
        json!([entry("netbox_hedgehog.vpc", vpc, "two"), entry("netbox_hedgehog.switch", switch, "three")]),
    )
    .await;
    assert_eq!((status, created.as_array().map(Vec::len)), (201, Some(2)));

    let vpc_query = format!("assigned_object_type=netbox_hedgehog.vpc&assigned_object_id={vpc}");
    assert_eq!(listed(&hnp, &vpc_query).await, (2, false, vec!["**one**".to_owned(), "two".to_owned()]));
    let switch_query = "assigned_object_type=netbox_hedgehog.switch";
    assert_eq!(listed(&hnp, switch_query).await, (1, false, vec!["three".to_owned()]));
    assert_eq!(listed(&hnp, "limit=1").await, (3, true, vec!["**one**".to_owned()]));

    hnp.refuse_journal_writes(Some(403));
    assert_eq!(call(&hnp, "POST", JOURNAL, entry("netbox_hedgehog.vpc", vpc, "x")).await.0, 403);
    assert_eq!(hnp.journal_entries().len(), 3);
}

#[tokio::test]
async fn the_standin_keeps_sync_error_like_any_field() {
    let hnp = Hnp::start(NETBOX_TOKEN).unwrap();
    let dc1 = hnp.add_fabric("dc1");
    let a = hnp.add(Cr::new("VPC", dc1, "vpc-a", json!({})));
    let b = hnp.add(Cr::new("VPC", dc1, "vpc-b", json!({})));
    assert_eq!(hnp.sync_error("VPC", a).as_deref(), Some(""));
    let (status, row) = call(&hnp, "PATCH", &format!("{API}vpcs/{a}/"), json!({ "sync_error": "one" })).await;
    assert_eq!((status, &row["sync_error"]), (200, &json!("one")));
    let (status, _) = call(
        &hnp,
        "PATCH",
        &format!("{API}vpcs/"),
        json!([{ "id": a, "sync_error": "" }, { "id": b, "sync_error": "two" }]),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!((hnp.sync_error("VPC", a), hnp.sync_error("VPC", b)), (Some(String::new()), Some("two".to_owned())));
    let (status, errors) = call(&hnp, "PATCH", &format!("{API}vpcs/{a}/"), json!({ "sync_error": 5 })).await;
    assert_eq!((status, errors), (400, json!({ "sync_error": ["Not a valid string."] })));
}
