//! `fgd-sync serve` as a real process: the HNP stand-in sends signed webhooks the way NetBox
//! does, the GitHub stand-in holds the repository. Covers create/update/delete, a 500-event
//! burst, bad signatures, duplicate deliveries, the write-back loop, lost webhooks and the
//! reconcile, conflicts (and their `sync_error` and journal entry in NetBox), independent fabrics, SIGTERM with a pending batch, metrics and
//! probes; and prints the latency figures the README quotes (no timed assertions).

use std::time::{Duration, Instant};

use fgd_sync_tests::cli;
use fgd_sync_tests::github::client::Response;
use fgd_sync_tests::github::{Faults, StandIn, StandInOptions};
use fgd_sync_tests::hnp::{signature, webhook_body, Cr, Event, WebhookStyle};
use serde_json::json;

use crate::kit::serve::{Serve, NETBOX_SECRET};
use crate::kit::{managed, vpc_spec, wait_for, World, DIR, WAIT};

/// What a commit changed, without the sync's bookkeeping under `.hnp/`.
fn changed_crs(world: &World, commit: &str) -> Vec<(String, String)> {
    world.changed(commit).into_iter().filter(|(_, path)| !path.contains("/.hnp/")).collect()
}

/// POSTs a NetBox webhook body with this signature header (none: no header).
fn post(serve: &Serve, body: &[u8], signature: Option<&str>) -> Response {
    let mut headers = vec![("Content-Type", "application/json")];
    if let Some(signature) = signature {
        headers.push(("X-Hook-Signature", signature));
    }
    serve.send("POST", "/webhooks/netbox", &headers, Some(body))
}

/// POSTs a body signed as NetBox signs it.
fn deliver(serve: &Serve, body: &[u8]) -> Response {
    post(serve, body, Some(&signature(NETBOX_SECRET.as_bytes(), body)))
}

/// Announces a body over 1 MiB and sends none of it: the answer must not wait for it.
fn announce_too_large(serve: &Serve) -> u16 {
    use std::io::{Read, Write};
    let authority = serve.url.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(authority).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(30))).expect("timeout");
    let head = format!(
        "POST /webhooks/netbox HTTP/1.1\r\nHost: {authority}\r\nContent-Length: 2000000\r\nX-Hook-Signature: {}\r\n\r\n",
        "0".repeat(128)
    );
    stream.write_all(head.as_bytes()).expect("write");
    let mut answer = [0u8; 12];
    stream.read_exact(&mut answer).expect("status line");
    String::from_utf8_lossy(&answer[9..12]).parse().expect("status")
}

/// Create, update and delete, each as its own webhook: each becomes the right commit.
fn create_update_delete(style: WebhookStyle, nested_fabric: bool) {
    let world = World::seeded();
    world.hnp.set_nested_fabric(nested_fabric);
    let serve = world.serve(&["--coalesce-ms", "200", "--reconcile-interval", "0"]);
    world.hook(&serve, style);
    let base = world.commits();

    let id = world.hnp.add(world.vpc("vpc-1", 1001));
    serve.wait_syncs(1);
    assert_eq!(world.commits(), base + 1, "{}", serve.log());
    assert_eq!(changed_crs(&world, &world.head()), [("A".to_owned(), managed("vpcs", "vpc-1"))]);
    assert!(world.file(&managed("vpcs", "vpc-1")).expect("file").contains("vlan: 1001"));

    world.hnp.update(id, world.vpc("vpc-1", 1002));
    serve.wait_syncs(2);
    assert_eq!(world.commits(), base + 2, "{}", serve.log());
    assert_eq!(changed_crs(&world, &world.head()), [("M".to_owned(), managed("vpcs", "vpc-1"))]);
    assert!(world.file(&managed("vpcs", "vpc-1")).expect("file").contains("vlan: 1002"));

    world.hnp.delete("VPC", id);
    serve.wait_syncs(3);
    assert_eq!(world.commits(), base + 3, "{}", serve.log());
    assert_eq!(changed_crs(&world, &world.head()), [("D".to_owned(), managed("vpcs", "vpc-1"))]);
    assert_eq!(world.file(&managed("vpcs", "vpc-1")), None);
    assert_eq!(serve.metric("fgd_sync_commits_total{fabric=\"dc1\"}"), 3.0);
    assert!(world.hnp.deliveries().iter().all(|d| matches!(d.result, Ok(200 | 202))), "{:?}", world.hnp.deliveries());
}

#[test]
fn create_update_delete_become_commits_netbox_4() {
    create_update_delete(WebhookStyle::NetBox4, false);
}

#[test]
fn create_update_delete_become_commits_netbox_3_nested_fabric() {
    create_update_delete(WebhookStyle::NetBox3, true);
}

#[test]
fn a_rename_moves_the_file() {
    let world = World::seeded();
    let serve = world.serve(&["--coalesce-ms", "200", "--reconcile-interval", "0"]);
    world.hook(&serve, WebhookStyle::NetBox4);
    let id = world.hnp.add(world.vpc("vpc-old", 1001));
    serve.wait_syncs(1);
    world.hnp.update(id, world.vpc("vpc-new", 1001));
    serve.wait_syncs(2);
    let mut changed = changed_crs(&world, &world.head());
    changed.sort();
    assert_eq!(changed, [("A".to_owned(), managed("vpcs", "vpc-new")), ("D".to_owned(), managed("vpcs", "vpc-old"))]);
}

#[test]
fn serve_refuses_to_start_without_a_secret() {
    let world = World::seeded();
    let run = cli::run(&mut Serve::command(&world.config, &[("FGD_SYNC_WEBHOOK_SECRET", None)], &[]));
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("no webhook secret in $FGD_SYNC_WEBHOOK_SECRET"), "{}", run.stderr);
}

#[test]
fn a_burst_of_500_webhooks_is_at_most_3_commits() {
    let world = World::seeded();
    let serve = world.serve(&["--coalesce-ms", "1000", "--reconcile-interval", "0"]);
    world.hook(&serve, WebhookStyle::NetBox4);
    let base = world.head();

    let started = Instant::now();
    for i in 0..500 {
        world.hnp.add(world.vpc(&format!("b-{i:03}"), 1000 + i));
    }
    let deliveries = world.hnp.wait_for_deliveries(500, WAIT);
    let delivered = started.elapsed();
    assert!(deliveries.iter().take(500).all(|d| d.result == Ok(202)), "{:?}", &deliveries[..5]);
    // When fgd-sync sent the commit's tree: the stand-in then writes 500 blobs with git.
    let mut tree_sent = None;
    let files = wait_for("all 500 files", || {
        if tree_sent.is_none() && world.gh.count("POST", "/git/trees") > 0 {
            tree_sent = Some(started.elapsed());
        }
        let files = world.gh.repo().files("main");
        (files.keys().filter(|p| p.starts_with(&format!("{DIR}/managed/vpcs/"))).count() == 500).then_some(files)
    });
    let landed = started.elapsed();
    assert!((0..500).all(|i| files.contains_key(&managed("vpcs", &format!("b-{i:03}")))));
    let since = |base: &str| -> usize {
        let count = world.gh.repo().git(&["rev-list", "--count", &format!("{base}..main")]).expect("rev-list");
        count.trim().parse().expect("count")
    };
    let commits = since(&base);
    assert!((1..=3).contains(&commits), "{commits} commits for a burst of 500");

    // The 500 write-backs fire 500 more webhooks: all bookkeeping, no further commit.
    world.hnp.wait_for_deliveries(1000, WAIT);
    wait_for("500 bookkeeping webhooks", || (serve.netbox_webhooks("bookkeeping") >= 500).then_some(()));
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(since(&base), commits);
    println!(
        "figure: burst of 500 webhooks: delivered in {:.2} s; tree POSTed to GitHub {:.2} s and all 500 files \
         committed {:.2} s after the first event, in {commits} commit(s)",
        delivered.as_secs_f64(),
        tree_sent.unwrap_or_default().as_secs_f64(),
        landed.as_secs_f64()
    );
}

#[test]
fn bad_or_missing_signatures_are_refused_and_do_nothing() {
    let world = World::seeded();
    let serve = world.serve(&["--coalesce-ms", "100", "--reconcile-interval", "0"]);
    // A CR NetBox has, announced by hand (no event rule on the stand-in).
    let id = world.hnp.add(world.vpc("vpc-1", 1001));
    let data = world.hnp.object("VPC", id).expect("object");
    let body = webhook_body(WebhookStyle::NetBox4, Event::Created, "VPC", &data, None, Some(&data));
    let base = world.commits();

    let wrong_key = signature(b"not the secret", &body);
    let mut tampered = body.clone();
    tampered.push(b' ');
    let good_for_other_body = signature(NETBOX_SECRET.as_bytes(), &body);
    for (body, signature) in [
        (&body, None),
        (&body, Some(wrong_key.as_str())),
        (&body, Some("zz")),
        (&body, Some("")),
        (&tampered, Some(good_for_other_body.as_str())),
    ] {
        let response = post(&serve, body, signature);
        assert_eq!(response.status, 401, "{signature:?}: {}", response.text());
    }
    assert_eq!(announce_too_large(&serve), 413);
    assert_eq!(deliver(&serve, b"{not json").status, 400);
    assert_eq!(deliver(&serve, br#"{"event": "created", "object_type": "dcim.site", "data": {"id": 1}}"#).status, 200);
    let other_fabric = world.hnp.add_fabric("dc2");
    let elsewhere = json!({"event": "created", "object_type": "netbox_hedgehog.vpc", "data": {"fabric": other_fabric, "name": "x"}});
    let response = deliver(&serve, elsewhere.to_string().as_bytes());
    assert_eq!((response.status, response.json()["status"].as_str()), (200, Some("ignored")), "{}", response.text());

    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(world.commits(), base);
    assert_eq!(serve.syncs(), 0);
    assert_eq!(serve.netbox_webhooks("unauthorized"), 5);
    assert_eq!(serve.netbox_webhooks("too_large"), 1);
    assert_eq!(serve.netbox_webhooks("malformed"), 1);
    assert_eq!(serve.netbox_webhooks("ignored"), 1);
    assert_eq!(serve.netbox_webhooks("unknown_fabric"), 1);
    assert_eq!(serve.netbox_webhooks("accepted"), 0);

    // The same body, correctly signed, does sync.
    assert_eq!(deliver(&serve, &body).status, 202);
    serve.wait_syncs(1);
    assert_eq!(world.commits(), base + 1);
}

#[test]
fn a_duplicate_delivery_makes_no_second_commit() {
    let world = World::seeded();
    let serve = world.serve(&["--coalesce-ms", "200", "--reconcile-interval", "0"]);
    let id = world.hnp.add(world.vpc("vpc-1", 1001));
    let data = world.hnp.object("VPC", id).expect("object");
    let body = webhook_body(WebhookStyle::NetBox4, Event::Created, "VPC", &data, None, Some(&data));
    let base = world.commits();

    // Twice in one window: one CR in the batch, one commit.
    assert_eq!(deliver(&serve, &body).status, 202);
    assert_eq!(deliver(&serve, &body).status, 202);
    serve.wait_syncs(1);
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(world.commits(), base + 1);
    // Again after the sync: an empty plan, no commit, no write-back.
    let (syncs, patches) = (serve.syncs(), world.hnp.count_method("PATCH"));
    assert_eq!(deliver(&serve, &body).status, 202);
    serve.wait_syncs(syncs + 1);
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!((world.commits(), serve.syncs()), (base + 1, syncs + 1));
    assert_eq!(world.hnp.count_method("PATCH"), patches);
}

#[test]
fn the_write_back_does_not_loop() {
    let world = World::seeded();
    let serve = world.serve(&["--coalesce-ms", "200", "--reconcile-interval", "0"]);
    world.hook(&serve, WebhookStyle::NetBox4);
    let base = world.commits();

    let id = world.hnp.add(world.vpc("vpc-1", 1001));
    serve.wait_syncs(1);
    // record-synced PATCHed git_file_path and last_synced (one bulk PATCH of the kind's
    // endpoint), which fired an `updated` webhook.
    let patch = "/api/plugins/hedgehog/vpcs/";
    assert_eq!(world.hnp.count("PATCH", patch), 1);
    let deliveries = world.hnp.wait_for_deliveries(2, WAIT);
    assert_eq!(deliveries[1].event, Event::Updated);
    wait_for("the bookkeeping webhook", || (serve.netbox_webhooks("bookkeeping") == 1).then_some(()));
    let object = world.hnp.object("VPC", id).expect("object");
    assert_eq!(object["git_file_path"], json!(managed("vpcs", "vpc-1")));

    std::thread::sleep(Duration::from_millis(1000));
    assert_eq!(serve.syncs(), 1, "{}", serve.log());
    assert_eq!(world.hnp.count("PATCH", patch), 1);
    assert_eq!(world.hnp.deliveries().len(), 2);
    assert_eq!(world.commits(), base + 1);
}

#[test]
fn a_lost_webhook_is_repaired_by_the_periodic_reconcile() {
    let world = World::seeded();
    let serve = world.serve(&["--coalesce-ms", "200", "--reconcile-interval", "1"]);
    // The reconcile at start: nothing to do yet.
    serve.wait_syncs(1);
    let base = world.commits();

    // Changed in NetBox, but the webhook never arrives.
    world.hnp.set_webhook(None);
    world.hnp.add(world.vpc("vpc-lost", 1001));
    let found = wait_for("the reconcile to write the file", || world.file(&managed("vpcs", "vpc-lost")));
    assert!(found.contains("vlan: 1001"));
    assert_eq!(world.commits(), base + 1);
    assert_eq!(serve.netbox_webhooks("accepted"), 0);
}

#[test]
fn sigterm_with_a_pending_batch_loses_nothing() {
    let world = World::seeded();
    let mut serve = world.serve(&["--coalesce-ms", "60000", "--reconcile-interval", "0"]);
    world.hook(&serve, WebhookStyle::NetBox4);
    let base = world.commits();
    for i in 0..3 {
        world.hnp.add(world.vpc(&format!("vpc-{i}"), 1001 + i));
    }
    world.hnp.wait_for_deliveries(3, WAIT);
    assert_eq!(serve.metric("fgd_sync_queue_depth{fabric=\"dc1\"}"), 3.0);
    assert_eq!(world.commits(), base, "the window is a minute: nothing synced yet");

    serve.signal("TERM");
    let status = serve.wait_exit();
    assert!(status.success(), "exit {status:?}:\n{}", serve.log());
    assert_eq!(world.commits(), base + 1);
    let mut changed = changed_crs(&world, &world.head());
    changed.sort();
    let expected: Vec<(String, String)> =
        (0..3).map(|i| ("A".to_owned(), managed("vpcs", &format!("vpc-{i}")))).collect();
    assert_eq!(changed, expected);
    assert!(serve.log().contains("stopped on SIGTERM; 3 queued CRs"), "{}", serve.log());
}

#[test]
fn conflicts_are_counted_and_block_nothing_else() {
    let world = World::seeded();
    let serve = world.serve(&["--coalesce-ms", "300", "--reconcile-interval", "0"]);
    world.hook(&serve, WebhookStyle::NetBox4);
    let a = world.hnp.add(world.vpc("vpc-a", 1001));
    let b = world.hnp.add(world.vpc("vpc-b", 1002));
    serve.wait_syncs(1);

    // Someone edits vpc-a in Git; then both CRs change in NetBox.
    world.edit(&[managed("vpcs", "vpc-a")], |text| text.replace("1001", "1999"));
    world.hnp.update(a, world.vpc("vpc-a", 2001));
    world.hnp.update(b, world.vpc("vpc-b", 2002));
    serve.wait_syncs(2);

    assert!(world.file(&managed("vpcs", "vpc-b")).expect("b").contains("vlan: 2002"), "{}", serve.log());
    assert!(world.file(&managed("vpcs", "vpc-a")).expect("a").contains("vlan: 1999"), "Git's edit is kept");
    assert_eq!(serve.metric("fgd_sync_conflicts{fabric=\"dc1\"}"), 1.0);
    assert_eq!(serve.metric("fgd_sync_syncs_total{fabric=\"dc1\",outcome=\"conflicts\"}"), 1.0);
    assert!(serve.log().contains("conflict: left alone"), "{}", serve.log());
}

#[test]
fn a_slow_fabric_does_not_stall_another() {
    let world = World::seeded();
    let slow_gh = StandIn::start(StandInOptions::default()).expect("second GitHub stand-in");
    slow_gh.seed(&[("README.md", "slow\n")], "initial").expect("seed");
    slow_gh.faults().set(Faults::default().latency(Duration::from_secs(2)));
    let slow_fabric = world.hnp.add_fabric("slow");
    let config = world.tmp.path().join("two.toml");
    let text = format!(
        "[defaults]\nnetbox_url = \"{}\"\n\n[[fabric]]\nname = \"dc1\"\nrepository = \"acme/fabric\"\ngithub_api = \"{}\"\n\n\
         [[fabric]]\nname = \"slow\"\nrepository = \"acme/fabric\"\ngithub_api = \"{}\"\n",
        world.hnp.base_url(),
        world.gh.api_base(),
        slow_gh.api_base()
    );
    std::fs::write(&config, text).expect("config");
    let serve = Serve::start(&config, &[], &["--coalesce-ms", "100", "--reconcile-interval", "0"]);
    world.hook(&serve, WebhookStyle::NetBox4);

    world.hnp.add(Cr::new("VPC", slow_fabric, "vpc-slow", vpc_spec(1)));
    world.hnp.add(world.vpc("vpc-fast", 2));
    let started = Instant::now();
    wait_for("the fast fabric's commit", || world.file(&managed("vpcs", "vpc-fast")));
    let fast = started.elapsed();
    // Each request to the slow GitHub takes 2 s and a sync makes at least 4.
    assert!(slow_gh.repo().show("main", "fabrics/slow/gitops/managed/vpcs/vpc-slow.yaml").is_none());
    wait_for("the slow fabric's commit", || {
        slow_gh.repo().show("main", "fabrics/slow/gitops/managed/vpcs/vpc-slow.yaml")
    });
    println!("fast fabric committed after {:.2} s while the slow one was still syncing", fast.as_secs_f64());
}

#[test]
fn metrics_and_probes() {
    let world = World::seeded();
    let serve = world.serve(&["--coalesce-ms", "100", "--reconcile-interval", "0"]);
    world.hook(&serve, WebhookStyle::NetBox4);
    assert_eq!((serve.get("/healthz").status, serve.get("/healthz").text()), (200, "ok\n".into()));
    assert_eq!((serve.get("/readyz").status, serve.get("/readyz").text()), (200, "ready\n".into()));
    assert_eq!(serve.get("/nope").status, 404);
    let wrong_method = serve.get("/webhooks/netbox");
    assert_eq!((wrong_method.status, wrong_method.header("allow")), (405, Some("POST")));

    world.hnp.add(world.vpc("vpc-1", 1001));
    serve.wait_syncs(1);
    let metrics = serve.get("/metrics");
    assert_eq!(metrics.header("content-type"), Some("text/plain; version=0.0.4; charset=utf-8"));
    for family in [
        "fgd_sync_syncs_total",
        "fgd_sync_commits_total",
        "fgd_sync_conflicts",
        "fgd_sync_github_requests_total",
        "fgd_sync_rate_limit_waits_total",
        "fgd_sync_queue_depth",
        "fgd_sync_last_success_timestamp_seconds",
        "fgd_sync_webhooks_total",
    ] {
        assert!(metrics.text().contains(&format!("# TYPE {family} ")), "{family} missing:\n{}", metrics.text());
    }
    let m = serve.metrics();
    assert_eq!(m["fgd_sync_syncs_total{fabric=\"dc1\",outcome=\"ok\"}"], 1.0);
    assert_eq!(m["fgd_sync_commits_total{fabric=\"dc1\"}"], 1.0);
    assert_eq!(m["fgd_sync_conflicts{fabric=\"dc1\"}"], 0.0);
    assert_eq!(m["fgd_sync_queue_depth{fabric=\"dc1\"}"], 0.0);
    assert_eq!(m["fgd_sync_rate_limit_waits_total"], 0.0);
    assert!(m["fgd_sync_github_requests_total{fabric=\"dc1\"}"] >= 4.0);
    assert!(m["fgd_sync_last_success_timestamp_seconds{fabric=\"dc1\"}"] > 1.7e9);
    assert_eq!(m["fgd_sync_webhooks_total{result=\"accepted\"}"], 1.0);
}

/// Prints the webhook-to-commit latency (p50 of 20 single events, coalescing 200 ms).
#[test]
fn webhook_to_commit_latency_figures() {
    let world = World::seeded();
    let serve = world.serve(&["--coalesce-ms", "200", "--reconcile-interval", "0"]);
    world.hook(&serve, WebhookStyle::NetBox4);
    let mut latencies = Vec::new();
    for i in 0..20 {
        let before = world.head();
        let started = Instant::now();
        world.hnp.add(world.vpc(&format!("lat-{i}"), 1000 + i));
        wait_for("the commit", || (world.head() != before).then_some(()));
        latencies.push(started.elapsed());
        // Let the sync finish its write-back before the next event.
        serve.wait_syncs(u64::from(i) + 1);
    }
    latencies.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "figure: webhook-to-commit latency over 20 single events (coalesce 200 ms): p50 {:.0} ms, p90 {:.0} ms, max {:.0} ms",
        ms(latencies[9]),
        ms(latencies[17]),
        ms(latencies[19])
    );
}

/// Issue 13: a conflict shows on the CR in NetBox (`sync_error` and one journal entry) within
/// one sync, and the reconciles that meet it again write nothing more; the webhook the
/// `sync_error` write fires is bookkeeping, so nothing loops.
#[test]
fn a_conflict_shows_in_netbox_once_and_reconciles_add_nothing() {
    let world = World::seeded();
    let serve = world.serve(&["--coalesce-ms", "200", "--reconcile-interval", "1"]);
    world.hook(&serve, WebhookStyle::NetBox4);
    let a = world.hnp.add(world.vpc("vpc-a", 1001));
    wait_for("vpc-a's file", || world.file(&managed("vpcs", "vpc-a")));

    world.edit(&[managed("vpcs", "vpc-a")], |text| text.replace("1001", "1999"));
    world.hnp.update(a, world.vpc("vpc-a", 2001));
    let line = wait_for("vpc-a's sync_error", || world.hnp.sync_error("VPC", a).filter(|l| !l.is_empty()));
    assert!(line.starts_with("conflict: changed in Git since the last sync (blob "), "{line}");
    let entries = |world: &World| {
        let all = world.hnp.journal_entries();
        all.into_iter().filter(|e| e["assigned_object_id"] == json!(a)).collect::<Vec<_>>()
    };
    wait_for("the journal entry", || (entries(&world).len() == 1).then_some(()));
    assert_eq!(entries(&world)[0]["kind"]["value"], json!("warning"));

    // Several reconciles meet the same conflict: no write to NetBox, no commit, no new entry.
    let (patches, posts, commits, syncs) =
        (world.hnp.count_method("PATCH"), world.hnp.count_method("POST"), world.commits(), serve.syncs());
    serve.wait_syncs(syncs + 3);
    assert_eq!(world.hnp.count_method("PATCH"), patches, "{}", serve.log());
    assert_eq!(world.hnp.count_method("POST"), posts);
    assert_eq!(world.commits(), commits);
    assert_eq!(entries(&world).len(), 1);
    assert_eq!(world.hnp.sync_error("VPC", a).as_deref(), Some(line.as_str()));
    assert!(serve.netbox_webhooks("bookkeeping") >= 1, "the sync_error write's webhook is bookkeeping");
}
