//! `fgd-sync serve` receiving GitHub push webhooks, as a real process: the GitHub stand-in
//! sends `ping` and signed `push` deliveries for every branch move (whoever made it), the
//! HNP stand-in sends NetBox's webhooks for every write. A colleague's Git edit reaches HNP
//! with one write of its data and a state-only commit, and nothing loops: not fgd-sync's own
//! push, not the NetBox webhooks of its own writes. Bad signatures do nothing; pushes to
//! other branches, repositories or outside the fabric directory are ignored.

use std::time::{Duration, Instant};

use base64::Engine as _;
use fgd_sync_tests::cli;
use fgd_sync_tests::github::client::Response;
use fgd_sync_tests::github::webhooks::{signature, ContentType};
use fgd_sync_tests::github::{HookDelivery, StandIn, StandInOptions, WebhookConfig};
use fgd_sync_tests::hnp::{WebhookStyle, API};
use serde_json::{json, Value};

use crate::kit::serve::Serve;
use crate::kit::{managed, wait_for, World, DIR, WAIT};

const GITHUB_SECRET: &str = "github-webhook-secret-for-tests";
/// How long "nothing more happens" is watched after the last expected event.
const SETTLE: Duration = Duration::from_millis(1500);

/// `serve` with both webhook secrets.
fn serve_both(world: &World, args: &[&str]) -> Serve {
    Serve::start(&world.config, &[("FGD_SYNC_GITHUB_WEBHOOK_SECRET", Some(GITHUB_SECRET))], args)
}

/// Points both stand-ins' webhooks at `serve`; waits for GitHub's `ping` to be answered.
fn hook_both(world: &World, serve: &Serve) {
    world.hook(serve, WebhookStyle::NetBox4);
    let before = world.gh.webhook_deliveries().len();
    world.gh.set_webhook(&github_url(serve), Some(GITHUB_SECRET));
    let ping = delivery(world, before);
    assert_eq!((ping.event.as_str(), ping.result.clone()), ("ping", Ok(200)), "{ping:?}");
    assert_eq!(ping.response_json(), json!({ "status": "pong" }));
}

/// The GitHub delivery at `index` (0-based), once it was answered.
fn delivery(world: &World, index: usize) -> HookDelivery {
    let all = world.gh.wait_for_webhook_deliveries(index + 1, WAIT);
    all.get(index).cloned().unwrap_or_else(|| panic!("no GitHub delivery #{index}: {all:#?}"))
}

/// A colleague edits a file through the contents API, as the GitHub web editor does;
/// returns the new commit.
fn edit_through_api(world: &World, branch: &str, path: &str, text: &str, message: &str) -> String {
    let sha = world.gh.repo().files(branch).get(path).cloned();
    let mut body = json!({
        "message": message,
        "content": base64::engine::general_purpose::STANDARD.encode(text),
        "branch": branch,
        "committer": { "name": "A Colleague", "email": "colleague@example.com" },
    });
    if let Some(sha) = sha {
        body["sha"] = json!(sha);
    }
    let answer = world.gh.call("PUT", &format!("contents/{path}"), Some(&body)).expect("PUT contents");
    assert!(matches!(answer.status, 200 | 201), "{}: {}", answer.status, answer.text());
    answer.json()["commit"]["sha"].as_str().expect("commit sha").to_owned()
}

/// `(method, body)` of the HNP stand-in's writes since request `from`.
fn hnp_writes(world: &World, from: usize) -> Vec<(String, Value)> {
    world
        .hnp
        .requests()
        .into_iter()
        .skip(from)
        .filter(|r| r.method != "GET")
        .map(|r| {
            assert!(r.path.starts_with(API), "{}", r.path);
            (r.method, serde_json::from_str(&r.body).unwrap_or(Value::Null))
        })
        .collect()
}

fn github_url(serve: &Serve) -> String {
    format!("{}/webhooks/github", serve.url)
}

/// POSTs a GitHub delivery with these headers (beside `Content-Type: application/json`
/// and GitHub's `User-Agent`).
fn post_github(serve: &Serve, event: &str, body: &[u8], signature: Option<&str>) -> Response {
    let mut headers = vec![
        ("Content-Type", "application/json"),
        ("User-Agent", "GitHub-Hookshot/test"),
        ("X-GitHub-Event", event),
        ("X-GitHub-Delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958"),
    ];
    if let Some(signature) = signature {
        headers.push(("X-Hub-Signature-256", signature));
    }
    serve.send("POST", "/webhooks/github", &headers, Some(body))
}

/// GitHub webhooks answered with `result`.
fn github_webhooks(serve: &Serve, result: &str) -> u64 {
    serve.metric(&format!("fgd_sync_github_webhooks_total{{result=\"{result}\"}}")) as u64
}

/// `(status, body)` of a delivery's answer, for messages.
fn answered(delivery: &HookDelivery) -> (Result<u16, String>, Value) {
    (delivery.result.clone(), delivery.response_json())
}

fn ignored_because(delivery: &HookDelivery, reason: &str) {
    let (result, body) = answered(delivery);
    assert_eq!(result, Ok(202), "{delivery:#?}");
    assert_eq!(body["status"], json!("ignored"), "{delivery:#?}");
    let given = body["reason"].as_str().unwrap_or_default();
    assert!(given.contains(reason), "reason {given:?} lacks {reason:?}");
}

/// A push payload as GitHub sends it, of one commit that modifies `path` on `branch`.
fn push_body(branch: &str, path: &str) -> Vec<u8> {
    let commit = json!({
        "id": "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c", "tree_id": "f9d2a07e9488b91af2641b26b9407fe22a451433",
        "distinct": true, "message": "Edit by hand", "timestamp": "2026-12-01T10:00:00+00:00",
        "author": { "name": "A Colleague", "email": "colleague@example.com" },
        "committer": { "name": "A Colleague", "email": "colleague@example.com" },
        "added": [], "removed": [], "modified": [path],
    });
    json!({
        "ref": format!("refs/heads/{branch}"), "before": "6113728f27ae82c7b1a177c8d03f9e96e0adf246",
        "after": "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c", "created": false, "deleted": false, "forced": false,
        "base_ref": null, "commits": [commit.clone()], "head_commit": commit,
        "repository": { "id": 1, "name": "fabric", "full_name": "acme/fabric", "owner": { "login": "acme" } },
        "pusher": { "name": "colleague" }, "sender": { "login": "colleague" },
    })
    .to_string()
    .into_bytes()
}

/// A colleague's edit of a managed file, pushed to GitHub, reaches HNP through the push
/// webhook: one NetBox write of the CR (its data and bookkeeping), one state-only commit, and
/// the webhooks those fire (fgd-sync's push, NetBox's `updated`) end there.
#[test]
fn a_git_edit_reaches_hnp_through_the_push_webhook_and_nothing_loops() {
    let world = World::seeded();
    let serve = serve_both(&world, &["--coalesce-ms", "200", "--reconcile-interval", "0"]);
    hook_both(&world, &serve);

    // HNP has the VPC; serve writes its file in fgd-sync's own commit, whose push is skipped.
    let id = world.hnp.add(world.vpc("vpc-1", 1001));
    serve.wait_syncs(1);
    let written = world.head();
    let own = delivery(&world, 1);
    assert_eq!((own.event.as_str(), own.after()), ("push", Some(written.as_str())));
    ignored_because(&own, "fgd-sync's own commits");
    // NetBox's `created`, then the bookkeeping `updated` of record-synced.
    world.hnp.wait_for_deliveries(2, WAIT);
    wait_for("the bookkeeping webhook", || (serve.netbox_webhooks("bookkeeping") == 1).then_some(()));

    let (commits, syncs, requests) = (world.commits(), serve.syncs(), world.hnp.requests().len());
    let path = managed("vpcs", "vpc-1");
    let text = world.file(&path).expect("the managed file");
    let edited = text.replace("vlan: 1001", "vlan: 1999");
    assert_ne!(edited, text);
    let started = Instant::now();
    let colleague = edit_through_api(&world, "main", &path, &edited, "Move vpc-1 to VLAN 1999");
    let git_spec = json!({ "subnets": { "default": { "subnet": "10.0.1.0/24", "vlan": 1999 } } });

    // The colleague's push: a whole-fabric sync of dc1 is scheduled.
    let push = delivery(&world, 2);
    assert_eq!(push.after(), Some(colleague.as_str()), "{push:#?}");
    assert_eq!(push.payload["commits"][0]["modified"], json!([path]));
    assert_eq!(answered(&push), (Ok(202), json!({ "status": "scheduled", "fabrics": ["dc1"] })));
    // The sync's state-only commit, and its push: fgd-sync's own, skipped.
    let state_only = delivery(&world, 3);
    let reached = started.elapsed();
    ignored_because(&state_only, "fgd-sync's own commits");
    let head = world.head();
    assert_eq!(state_only.after(), Some(head.as_str()));
    assert_eq!(world.changed(&head), [("M".to_owned(), format!("{DIR}/.hnp/sync-state.json"))]);
    assert_eq!(world.file(&path).as_deref(), Some(edited.as_str()), "Git's file stays as the colleague wrote it");
    assert_eq!(world.hnp.object("VPC", id).expect("the CR")["spec"], git_spec, "HNP has Git's data");

    // NetBox's webhook of the one write: its `updated` queues the CR, whose sync then finds
    // nothing to do.
    world.hnp.wait_for_deliveries(3, WAIT);
    serve.wait_syncs(syncs + 2);
    std::thread::sleep(SETTLE);

    // ONE write: the field Git changed, with the bookkeeping (`last_synced`) in the same
    // request; record-synced adds nothing for a CR taken from its own file.
    let writes = hnp_writes(&world, requests);
    let time = writes.first().and_then(|(_, body)| body[0]["last_synced"].as_str().map(str::to_owned));
    assert!(time.is_some(), "{writes:#?}");
    assert_eq!(writes.len(), 1, "{writes:#?}");
    assert_eq!(writes[0].1, json!([{ "id": id, "spec": git_spec, "last_synced": time }]), "{writes:#?}");
    assert_eq!(serve.netbox_webhooks("bookkeeping"), 1, "no bookkeeping-only write after the pull");
    assert!(writes.iter().all(|(method, _)| method == "PATCH"), "{writes:#?}");
    assert_eq!(world.commits(), commits + 2, "the colleague's commit and the state-only one");
    assert_eq!(serve.syncs(), syncs + 2, "the push's reconcile and the no-op batch of NetBox's webhook");
    assert_eq!(world.gh.webhook_deliveries().len(), 4, "no more pushes");
    assert_eq!(world.hnp.deliveries().len(), 3, "no more NetBox webhooks");
    assert_eq!(github_webhooks(&serve, "scheduled"), 1);
    assert_eq!(github_webhooks(&serve, "own_commits"), 2);
    assert_eq!(serve.metrics()["fgd_sync_queue_depth{fabric=\"dc1\"}"], 0.0);
    assert!(serve.log().contains("push: reconcile asked for"), "{}", serve.log());
    println!(
        "figure: a Git edit pushed to the GitHub stand-in reached HNP and the state-only commit's push was \
         delivered {:.2} s after the edit",
        reached.as_secs_f64()
    );
}

/// fgd-sync's own pushes (the commits NetBox edits become) schedule nothing.
#[test]
fn fgd_sync_s_own_pushes_make_no_github_triggered_work() {
    let world = World::seeded();
    let serve = serve_both(&world, &["--coalesce-ms", "200", "--reconcile-interval", "0"]);
    hook_both(&world, &serve);
    let base = world.commits();

    let id = world.hnp.add(world.vpc("vpc-1", 1001));
    serve.wait_syncs(1);
    world.hnp.update(id, world.vpc("vpc-1", 1002));
    serve.wait_syncs(2);
    let (first, second) = (delivery(&world, 1), delivery(&world, 2));
    for own in [&first, &second] {
        assert_eq!(own.event, "push");
        ignored_because(own, "fgd-sync's own commits");
        let message = own.payload["commits"][0]["message"].as_str().unwrap_or_default();
        assert!(message.lines().last().unwrap_or_default().starts_with("Fgd-Sync-State: "), "{message}");
    }
    assert_eq!(second.after(), Some(world.head().as_str()));
    // Both webhooks' record-synced write-backs are bookkeeping too.
    world.hnp.wait_for_deliveries(4, WAIT);
    wait_for("two bookkeeping webhooks", || (serve.netbox_webhooks("bookkeeping") == 2).then_some(()));
    std::thread::sleep(SETTLE);

    assert_eq!(world.commits(), base + 2);
    assert_eq!(serve.syncs(), 2, "{}", serve.log());
    assert_eq!((github_webhooks(&serve, "own_commits"), github_webhooks(&serve, "scheduled")), (2, 0));
    assert_eq!(world.gh.webhook_deliveries().len(), 3, "a ping and two pushes");
    assert!(!serve.log().contains("trigger=\"push\"") && !serve.log().contains("trigger=push"), "{}", serve.log());
}

/// Deliveries with a missing, malformed or wrong signature are refused and do nothing; a
/// `ping` is answered; pushes to another branch or repository, or outside the fabric
/// directory, and other events are ignored; a form-encoded push is read like a JSON one.
#[test]
fn bad_signatures_are_refused_and_other_pushes_ignored() {
    let world = World::seeded();
    let serve = serve_both(&world, &["--coalesce-ms", "100", "--reconcile-interval", "0"]);
    let body = push_body("main", &managed("vpcs", "vpc-1"));

    // Signed with another secret (the webhook's secret mistyped on GitHub): its ping is refused.
    world.gh.set_webhook(&github_url(&serve), Some("not the secret"));
    let ping = delivery(&world, 0);
    assert_eq!(ping.result, Ok(401), "{ping:?}");
    assert!(ping.response.contains("X-Hub-Signature-256 does not match"), "{}", ping.response);
    let good = signature(GITHUB_SECRET.as_bytes(), &body);
    let wrong_key = signature(b"not the secret", &body);
    let mut tampered = body.clone();
    tampered.push(b' ');
    let sha1_style = format!("sha1={}", &good["sha256=".len()..][..40]);
    for (body, signature, says) in [
        (&body, None, "no X-Hub-Signature-256 header"),
        (&body, Some(wrong_key.as_str()), "does not match"),
        (&body, Some(sha1_style.as_str()), "is not sha256=<hex HMAC-SHA256>"),
        (&body, Some("sha256=zz"), "is not sha256=<hex HMAC-SHA256>"),
        (&tampered, Some(good.as_str()), "does not match"),
    ] {
        let answer = post_github(&serve, "push", body, signature);
        assert_eq!(answer.status, 401, "{signature:?}: {}", answer.text());
        assert!(answer.text().contains(says), "{signature:?}: {}", answer.text());
    }
    assert_eq!((github_webhooks(&serve, "unauthorized"), github_webhooks(&serve, "scheduled")), (6, 0));

    // Correctly signed: a ping, another event, a malformed push.
    let ping = br#"{"zen": "Keep it logically awesome.", "hook_id": 1}"#;
    let answer = post_github(&serve, "ping", ping, Some(&signature(GITHUB_SECRET.as_bytes(), ping)));
    assert_eq!((answer.status, answer.json()), (200, json!({ "status": "pong" })));
    let issue = br#"{"action": "opened"}"#;
    let answer = post_github(&serve, "issues", issue, Some(&signature(GITHUB_SECRET.as_bytes(), issue)));
    assert_eq!((answer.status, answer.json()["reason"].as_str()), (202, Some("event \"issues\" is not a push")));
    let broken = br#"{"ref": "refs/heads/main"}"#;
    let answer = post_github(&serve, "push", broken, Some(&signature(GITHUB_SECRET.as_bytes(), broken)));
    assert_eq!((answer.status, answer.json()), (400, json!({ "error": "field repository: missing" })));

    // The stand-in with the right secret: pushes that concern no served fabric.
    world.gh.set_webhook(&github_url(&serve), Some(GITHUB_SECRET));
    assert_eq!(delivery(&world, 1).result, Ok(200), "the ping");
    edit_through_api(&world, "main", "README.md", "the fabric's repository\n", "Reword the README");
    ignored_because(&delivery(&world, 2), "the push changes no file under fabrics/dc1/gitops/");
    let head = world.head();
    let branch = world.gh.call("POST", "git/refs", Some(&json!({ "ref": "refs/heads/feature", "sha": head })));
    assert_eq!(branch.expect("POST git/refs").status, 201);
    ignored_because(&delivery(&world, 3), "no served fabric follows branch \"feature\" of acme/fabric");
    edit_through_api(&world, "feature", &managed("vpcs", "vpc-9"), "kind: VPC\n", "Try a VPC on a branch");
    let feature = delivery(&world, 4);
    assert_eq!(feature.payload["commits"][0]["added"], json!([managed("vpcs", "vpc-9")]));
    ignored_because(&feature, "no served fabric follows branch \"feature\" of acme/fabric");
    let other = StandIn::start(StandInOptions { repo: "other".into(), ..StandInOptions::default() })
        .expect("a second repository");
    other.set_webhook(&github_url(&serve), Some(GITHUB_SECRET));
    other.seed(&[(&managed("vpcs", "vpc-1"), "kind: VPC\n")], "another repository's fabric").expect("seed");
    let pushed = other.wait_for_webhook_deliveries(2, WAIT);
    assert_eq!(pushed.len(), 2, "{pushed:#?}");
    ignored_because(&pushed[1], "no served fabric follows branch \"main\" of acme/other");

    std::thread::sleep(SETTLE);
    assert_eq!(serve.syncs(), 0, "nothing was scheduled:\n{}", serve.log());
    assert_eq!(github_webhooks(&serve, "scheduled"), 0);
    assert_eq!(github_webhooks(&serve, "ignored"), 5);
    assert_eq!(github_webhooks(&serve, "pong"), 3);
    assert_eq!(github_webhooks(&serve, "malformed"), 1);

    // A push into the fabric directory, form-encoded (GitHub's other content type), syncs.
    let form =
        WebhookConfig { url: github_url(&serve), secret: Some(GITHUB_SECRET.into()), content_type: ContentType::Form };
    world.gh.set_webhook_config(Some(form));
    assert_eq!(delivery(&world, 5).result, Ok(200), "the ping");
    edit_through_api(&world, "main", &format!("{DIR}/README.md"), "dc1's GitOps directory\n", "Describe dc1");
    let scheduled = delivery(&world, 6);
    assert_eq!(answered(&scheduled), (Ok(202), json!({ "status": "scheduled", "fabrics": ["dc1"] })));
    serve.wait_syncs(1);
    std::thread::sleep(SETTLE);
    assert_eq!(serve.syncs(), 1);
    assert_eq!(github_webhooks(&serve, "scheduled"), 1);
}

/// Without a GitHub webhook secret the endpoint is off; a variable named on the command line
/// must hold one; `--help` shows the flag.
#[test]
fn the_github_endpoint_is_off_without_a_secret() {
    let world = World::seeded();
    let serve =
        Serve::start(&world.config, &[("FGD_SYNC_GITHUB_WEBHOOK_SECRET", None)], &["--reconcile-interval", "0"]);
    let body = push_body("main", &managed("vpcs", "vpc-1"));
    let answer = post_github(&serve, "push", &body, Some(&signature(GITHUB_SECRET.as_bytes(), &body)));
    assert_eq!(answer.status, 404, "{}", answer.text());
    assert!(!serve.log().contains("/webhooks/github"), "{}", serve.log());
    drop(serve);

    let args = ["--github-webhook-secret-env", "MY_GITHUB_SECRET"];
    let run = cli::run(&mut Serve::command(&world.config, &[("MY_GITHUB_SECRET", None)], &args));
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains("--github-webhook-secret-env MY_GITHUB_SECRET: no secret in $MY_GITHUB_SECRET"),
        "{}",
        run.stderr
    );

    let help = cli::run(cli::command().args(["serve", "--help"]));
    assert!(help.stdout.contains("--github-webhook-secret-env <VAR>"), "{}", help.stdout);

    // With a secret in a variable of one's choice, it is on.
    let serve = Serve::start(
        &world.config,
        &[("MY_GITHUB_SECRET", Some(GITHUB_SECRET))],
        &["--reconcile-interval", "0", "--github-webhook-secret-env", "MY_GITHUB_SECRET"],
    );
    let answer = post_github(&serve, "ping", b"{}", Some(&signature(GITHUB_SECRET.as_bytes(), b"{}")));
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert!(serve.log().contains("POST /webhooks/github"), "{}", serve.log());
}
