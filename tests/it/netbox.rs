//! `NetBoxSource` against the HNP stand-in: listing across pages and fabrics, lookups,
//! recording sync results, and the failures a real NetBox throws (bad token, 500s, broken
//! JSON, slow answers, proxies that rewrite `next`).

use std::io::{BufRead, BufReader, Read, Write};
use std::time::Duration;

use fgd_sync::net::client::{Client, Timeouts};
use fgd_sync::source::netbox::{NetBoxConfig, NetBoxSource};
use fgd_sync::source::{CrSource, Synced};
use fgd_sync::wit::{CustomResource, ResourceRef};
use fgd_sync_guest::model::KINDS;
use fgd_sync_local_github::{format_utc, unix_now};
use fgd_sync_tests::hnp::{signature, Cr, Event, Fault, Hnp, Webhook, WebhookStyle, API};
use pretty_assertions::assert_eq;
use serde_json::{json, Value};

const TOKEN: &str = "0123456789abcdef0123456789abcdef01234567";

fn source_with(base_url: &str, token: &str, page_size: u32, response: Duration) -> NetBoxSource {
    let mut config = NetBoxConfig::new(base_url, token);
    config.page_size = page_size;
    let timeouts = Timeouts { connect: Duration::from_secs(5), response };
    NetBoxSource::new(config, Client::new(timeouts)).expect("valid config")
}

fn source(hnp: &Hnp, page_size: u32) -> NetBoxSource {
    source_with(&hnp.base_url(), TOKEN, page_size, Duration::from_secs(10))
}

fn reference(kind: &str, namespace: &str, name: &str) -> ResourceRef {
    ResourceRef { kind: kind.into(), namespace: namespace.into(), name: name.into() }
}

fn synced(reference: ResourceRef, path: &str) -> Synced {
    Synced { reference, path: path.into(), blob_sha: "a".repeat(40), commit: "b".repeat(40) }
}

fn sorted(mut crs: Vec<CustomResource>) -> Vec<CustomResource> {
    crs.sort_by(|a, b| (&a.kind, &a.namespace, &a.name).cmp(&(&b.kind, &b.namespace, &b.name)));
    crs
}

/// 120 CRs, 10 of each kind; every third in `dc2`, the rest in `dc1`. Returns the stand-in
/// and the CRs `dc1` should list.
fn populated() -> (Hnp, Vec<CustomResource>) {
    let hnp = Hnp::start(TOKEN).expect("stand-in starts");
    let dc1 = hnp.add_fabric("dc1");
    let dc2 = hnp.add_fabric("dc2");
    let mut expected = Vec::new();
    for i in 0..120 {
        let kind = KINDS[i % 12].name;
        let fabric = if i % 3 == 2 { dc2 } else { dc1 };
        let namespace = [Some("default"), Some("tenant-a"), None, Some("default")][i % 4];
        let name = format!("{}-{i}", kind.to_lowercase());
        let spec = json!({ "index": i, "nested": { "b": [1, 2.5, null], "a": "x \"q\" ü" } });
        let labels = if i % 5 == 0 { json!({ "team": "net" }) } else { json!({}) };
        let annotations = if i % 6 == 0 { Value::Null } else { json!({ "note": format!("cr {i}") }) };
        let cr = Cr::new(kind, fabric, &name, spec.clone())
            .namespace(namespace)
            .labels(labels.clone())
            .annotations(annotations.clone());
        hnp.add(cr);
        if fabric == dc1 {
            expected.push(CustomResource {
                kind: kind.into(),
                api_version: None,
                name,
                namespace: namespace.unwrap_or_default().into(),
                labels: labels.to_string(),
                annotations: if annotations.is_null() { "{}".into() } else { annotations.to_string() },
                spec: spec.to_string(),
            });
        }
    }
    (hnp, sorted(expected))
}

#[tokio::test]
async fn list_returns_exactly_the_fabrics_crs_across_pages() {
    let (hnp, expected) = populated();
    let source = source(&hnp, 4);

    let listed = sorted(source.list("dc1").await.expect("list dc1"));
    assert_eq!(listed.len(), 80);
    assert_eq!(listed, expected);

    // 10 objects per endpoint at 4 a page: three pages each, found by following `next`.
    for k in &KINDS {
        let path = format!("{API}{}", k.netbox_endpoint);
        let queries: Vec<String> = hnp.requests().into_iter().filter(|r| r.path == path).map(|r| r.query).collect();
        assert_eq!(queries, ["limit=4&offset=0", "limit=4&offset=4", "limit=4&offset=8"], "{path}");
    }
    assert_eq!(hnp.count_method("GET"), 1 + 12 * 3);
    assert_eq!(hnp.requests().iter().filter(|r| r.method != "GET").count(), 0);

    assert_eq!(source.list("dc2").await.expect("list dc2").len(), 40);
}

#[tokio::test]
async fn list_accepts_a_nested_fabric_object() {
    let (hnp, expected) = populated();
    hnp.set_nested_fabric(true);
    let listed = sorted(source(&hnp, 50).list("dc1").await.expect("list"));
    assert_eq!(listed, expected);
}

#[tokio::test]
async fn json_fields_pass_through_as_text() {
    let hnp = Hnp::start(TOKEN).unwrap();
    let dc1 = hnp.add_fabric("dc1");
    hnp.add(Cr::new("VPC", dc1, "list-spec", json!([1, 2])));
    hnp.add(Cr::new("VPC", dc1, "null-spec", Value::Null).labels(Value::Null));
    hnp.add(Cr::new("VPC", dc1, "string-labels", json!({})).labels(json!("a=b")));

    let listed = source(&hnp, 50).list("dc1").await.expect("list");
    let texts: Vec<(&str, &str, &str)> =
        listed.iter().map(|cr| (cr.name.as_str(), cr.spec.as_str(), cr.labels.as_str())).collect();
    // A non-object spec reaches the guest as-is, so its validation can name the field.
    assert_eq!(texts, [("list-spec", "[1,2]", "{}"), ("null-spec", "{}", "{}"), ("string-labels", "{}", "\"a=b\"")]);
}

#[tokio::test]
async fn get_finds_by_kind_namespace_and_name() {
    let (hnp, expected) = populated();
    let source = source(&hnp, 7);
    let by_name = |name: &str| expected.iter().find(|cr| cr.name == name).cloned();

    // `vpc-0` is in `default`; an empty namespace means `default`.
    let got = source.get("dc1", &reference("VPC", "", "vpc-0")).await.expect("get");
    assert_eq!(got, by_name("vpc-0"));
    let got = source.get("dc1", &reference("VPC", "default", "vpc-0")).await.expect("get");
    assert_eq!(got, by_name("vpc-0"));
    // `vpcattachment-1` is in `tenant-a`.
    let got = source.get("dc1", &reference("VPCAttachment", "tenant-a", "vpcattachment-1")).await.unwrap();
    assert_eq!(got, by_name("vpcattachment-1"));
    // Stored with a null namespace: found as `default`, listed as "".
    let got = source.get("dc1", &reference("ExternalPeering", "default", "externalpeering-6")).await.unwrap();
    assert_eq!(got, by_name("externalpeering-6"));
    assert_eq!(got.map(|cr| cr.namespace).as_deref(), Some(""));

    let absent = [
        reference("VPC", "", "vpc-999"),
        reference("VPCAttachment", "default", "vpcattachment-1"),
        reference("ExternalPeering", "tenant-a", "externalpeering-6"),
        reference("Switch", "", "vpc-0"),
    ];
    for missing in &absent {
        assert_eq!(source.get("dc1", missing).await.expect("get"), None, "{missing:?}");
    }
    // `externalattachment-5` lives in dc2.
    let other_fabric = reference("ExternalAttachment", "tenant-a", "externalattachment-5");
    assert_eq!(source.get("dc1", &other_fabric).await.unwrap(), None);
    assert!(source.get("dc2", &other_fabric).await.unwrap().is_some());

    let error = source.get("dc1", &reference("Vpc", "", "vpc-0")).await.unwrap_err();
    assert!(error.contains("unknown kind \"Vpc\""), "{error}");
}

#[tokio::test]
async fn record_patches_path_and_time_then_only_time() {
    let hnp = Hnp::start(TOKEN).unwrap();
    let dc1 = hnp.add_fabric("dc1");
    hnp.add(Cr::new("Switch", dc1, "leaf-0", json!({})));
    let id = hnp.add(Cr::new("Switch", dc1, "leaf-1", json!({ "role": "server-leaf" })));
    let source = source(&hnp, 50);
    source.list("dc1").await.expect("list");
    hnp.clear_requests();

    let path = "fabrics/dc1/gitops/managed/switches/leaf-1.yaml";
    let before = format_utc(unix_now());
    source.record("dc1", &synced(reference("Switch", "", "leaf-1"), path)).await.expect("record");

    // The listing left the id in the cache: one PATCH and nothing else.
    let requests = hnp.requests();
    assert_eq!(requests.len(), 1, "{requests:?}");
    assert_eq!((requests[0].method.as_str(), requests[0].path.clone()), ("PATCH", format!("{API}switches/{id}/")));
    let body: Value = serde_json::from_str(&requests[0].body).unwrap();
    assert_eq!(body["git_file_path"], json!(path));
    let last_synced = body["last_synced"].as_str().expect("last_synced is a string");
    assert!(last_synced.len() == 20 && last_synced.ends_with('Z') && *last_synced >= *before, "{last_synced}");
    let object = hnp.object("Switch", id).unwrap();
    assert_eq!((&object["git_file_path"], &object["last_synced"]), (&json!(path), &json!(last_synced)));

    // Same path again: only the time is sent.
    source.record("dc1", &synced(reference("Switch", "default", "leaf-1"), path)).await.unwrap();
    let patch = hnp.requests().pop().unwrap();
    let body: Value = serde_json::from_str(&patch.body).unwrap();
    assert_eq!(body.as_object().unwrap().keys().collect::<Vec<_>>(), ["last_synced"]);
    assert_eq!(hnp.count_method("PATCH"), 2);
    assert_eq!(hnp.count_method("GET"), 0);
}

#[tokio::test]
async fn record_with_a_cold_cache_reads_the_path_from_netbox() {
    let hnp = Hnp::start(TOKEN).unwrap();
    let dc1 = hnp.add_fabric("dc1");
    let id = hnp.add(Cr::new("VLANNamespace", dc1, "default", json!({ "ranges": [] })));
    let path = "fabrics/dc1/gitops/managed/vlannamespaces/default.yaml";
    source(&hnp, 50).record("dc1", &synced(reference("VLANNamespace", "", "default"), path)).await.unwrap();

    // A new source (a new run) has no cache: it reads the row, sees the same path, sends the time.
    hnp.clear_requests();
    source(&hnp, 50).record("dc1", &synced(reference("VLANNamespace", "", "default"), path)).await.unwrap();
    let seen: Vec<(String, String)> = hnp.requests().into_iter().map(|r| (r.method, r.path)).collect();
    let expected = [
        ("GET", "fabrics/".to_owned()),
        ("GET", "vlan-namespaces/".into()),
        ("PATCH", format!("vlan-namespaces/{id}/")),
    ]
    .map(|(method, path)| (method.to_owned(), format!("{API}{path}")));
    assert_eq!(seen, expected);
    let body: Value = serde_json::from_str(&hnp.requests().pop().unwrap().body).unwrap();
    assert!(body.get("git_file_path").is_none(), "{body}");
}

#[tokio::test]
async fn record_finds_a_row_recreated_under_a_new_id() {
    let hnp = Hnp::start(TOKEN).unwrap();
    let dc1 = hnp.add_fabric("dc1");
    let old = hnp.add(Cr::new("Server", dc1, "server-1", json!({})));
    let source = source(&hnp, 50);
    source.list("dc1").await.unwrap();
    assert!(hnp.delete("Server", old));
    let new = hnp.add(Cr::new("Server", dc1, "server-1", json!({})));

    source.record("dc1", &synced(reference("Server", "", "server-1"), "p/server-1.yaml")).await.unwrap();
    assert_eq!(hnp.count("PATCH", &format!("{API}servers/{old}/")), 1);
    assert_eq!(hnp.count("PATCH", &format!("{API}servers/{new}/")), 1);
    assert_eq!(hnp.object("Server", new).unwrap()["git_file_path"], json!("p/server-1.yaml"));
}

#[tokio::test]
async fn record_of_a_missing_cr_says_so() {
    let hnp = Hnp::start(TOKEN).unwrap();
    hnp.add_fabric("dc1");
    let error = source(&hnp, 50).record("dc1", &synced(reference("VPC", "", "gone"), "p")).await.unwrap_err();
    assert_eq!(error, format!("VPC default/gone not found in fabric \"dc1\" at {}vpcs/", hnp.api_url()));
    assert_eq!(hnp.count_method("PATCH"), 0);
}

#[tokio::test]
async fn a_refused_token_names_status_and_url() {
    let (hnp, _) = populated();
    let source = source_with(&hnp.base_url(), "not-the-token", 50, Duration::from_secs(10));
    let error = source.list("dc1").await.unwrap_err();
    let url = format!("{}fabrics/?limit=50&offset=0", hnp.api_url());
    assert_eq!(error, format!("NetBox refused the API token (403 Forbidden) for GET {url}: Invalid token."));
    // Not retried: a token does not get better.
    assert_eq!(hnp.count_method("GET"), 1);
}

#[tokio::test]
async fn a_500_is_retried_then_succeeds() {
    let (hnp, expected) = populated();
    hnp.push_fault(Fault::Status(500));
    let listed = sorted(source(&hnp, 50).list("dc1").await.expect("list after a retry"));
    assert_eq!(listed, expected);
    assert_eq!(hnp.count("GET", &format!("{API}fabrics/")), 2);
}

#[tokio::test]
async fn repeated_500s_give_up_after_two_retries() {
    let (hnp, _) = populated();
    for _ in 0..3 {
        hnp.push_fault(Fault::Status(502));
    }
    let error = source(&hnp, 50).list("dc1").await.unwrap_err();
    let url = format!("{}fabrics/?limit=50&offset=0", hnp.api_url());
    // The text of Django's HTML error page, without the markup.
    assert_eq!(error, format!("NetBox answered 502 Bad Gateway to GET {url}: Server Error (500)"));
    assert_eq!(hnp.count("GET", &format!("{API}fabrics/")), 3);
}

#[tokio::test]
async fn a_failed_patch_is_not_retried() {
    let hnp = Hnp::start(TOKEN).unwrap();
    let dc1 = hnp.add_fabric("dc1");
    let id = hnp.add(Cr::new("VPC", dc1, "vpc-1", json!({})));
    let source = source(&hnp, 50);
    source.list("dc1").await.unwrap();
    hnp.push_fault(Fault::Status(500));
    let error = source.record("dc1", &synced(reference("VPC", "", "vpc-1"), "p")).await.unwrap_err();
    let url = format!("{}vpcs/{id}/", hnp.api_url());
    assert!(error.starts_with(&format!("NetBox answered 500 Internal Server Error to PATCH {url}")), "{error}");
    assert_eq!(hnp.count_method("PATCH"), 1);
}

#[tokio::test]
async fn malformed_json_is_a_clear_error() {
    let (hnp, _) = populated();
    hnp.push_fault(Fault::MalformedJson);
    let error = source(&hnp, 50).list("dc1").await.unwrap_err();
    let url = format!("{}fabrics/?limit=50&offset=0", hnp.api_url());
    assert!(error.starts_with(&format!("NetBox sent malformed JSON for {url}: EOF while parsing")), "{error}");
}

#[tokio::test]
async fn an_unknown_fabric_is_a_clear_error() {
    let (hnp, _) = populated();
    let error = source(&hnp, 1).list("dc3").await.unwrap_err();
    let url = format!("{}fabrics/", hnp.api_url());
    assert_eq!(error, format!("fabric \"dc3\" not found in NetBox at {url} (fabrics there: dc1, dc2)"));
}

#[tokio::test]
async fn a_next_link_to_another_origin_is_not_followed() {
    let (hnp, _) = populated();
    hnp.push_fault(Fault::ForeignNext);
    let error = source(&hnp, 1).list("dc1").await.unwrap_err();
    assert!(error.contains("links its next page to another origin (http://foreign.invalid/"), "{error}");
    assert_eq!(hnp.requests().len(), 1);
}

#[tokio::test]
async fn a_slow_answer_times_out_and_is_retried() {
    let (hnp, expected) = populated();
    hnp.push_fault(Fault::Slow(Duration::from_secs(3)));
    let source = source_with(&hnp.base_url(), TOKEN, 50, Duration::from_millis(300));
    assert_eq!(sorted(source.list("dc1").await.expect("list after a timeout")), expected);
    assert_eq!(hnp.count("GET", &format!("{API}fabrics/")), 2);
}

#[tokio::test]
async fn an_unreachable_netbox_names_the_url() {
    // A port that was just free: connections are refused.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let base = format!("http://127.0.0.1:{port}");
    let error = source_with(&base, TOKEN, 50, Duration::from_secs(5)).list("dc1").await.unwrap_err();
    let url = format!("{base}{API}fabrics/?limit=50&offset=0");
    assert!(error.starts_with(&format!("NetBox unreachable: GET {url}: cannot connect: ")), "{error}");
}

#[test]
fn bad_configs_are_refused() {
    let check = |base: &str, token: &str, expected: &str| {
        let error = NetBoxSource::new(NetBoxConfig::new(base, token), Client::default()).err();
        assert_eq!(error.map(|e| e.to_string()).as_deref(), Some(expected), "{base}");
    };
    check(
        "netbox.example.com",
        "t",
        "NetBox configuration: base URL \"netbox.example.com\" is not an absolute http(s) URL",
    );
    check("ftp://netbox", "t", "NetBox configuration: base URL \"ftp://netbox\" is not an absolute http(s) URL");
    check("http://netbox?x=1", "t", "NetBox configuration: base URL \"http://netbox?x=1\" has a query");
    check("http://netbox", "t\nx", "NetBox configuration: the token contains characters not allowed in a header");

    let api =
        |base: &str| NetBoxSource::new(NetBoxConfig::new(base, "t"), Client::default()).unwrap().api_root().to_owned();
    assert_eq!(api("https://nb.example.com/"), "https://nb.example.com/api/plugins/hedgehog/");
    assert_eq!(api("https://nb.example.com/netbox"), "https://nb.example.com/netbox/api/plugins/hedgehog/");
    assert_eq!(api("https://nb.example.com/api/plugins/hedgehog/"), "https://nb.example.com/api/plugins/hedgehog/");
}

#[test]
fn format_utc_formats_civil_time() {
    let check = |secs: i64, expected: &str| {
        assert_eq!(format_utc(secs), expected, "{secs}");
    };
    check(0, "1970-01-01T00:00:00Z");
    check(951_782_400, "2000-02-29T00:00:00Z");
    check(1_700_000_000, "2023-11-14T22:13:20Z");
    check(4_107_542_399, "2100-02-28T23:59:59Z");
    check(4_107_542_400, "2100-03-01T00:00:00Z");
}

#[test]
fn webhook_signature_is_hmac_sha512_hex() {
    // RFC 4231, test case 2.
    assert_eq!(
        signature(b"Jefe", b"what do ya want for nothing?"),
        "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554\
         9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737"
    );
}

/// Lowercased request head and body of each POST a receiver got.
type Received = Vec<(String, Vec<u8>)>;

/// Accepts `count` POSTs on a loopback port, answers 204, and returns what it got.
fn receiver(count: usize) -> (String, std::thread::JoinHandle<Received>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hooks/netbox", listener.local_addr().unwrap());
    let thread = std::thread::spawn(move || {
        let mut received = Vec::new();
        for stream in listener.incoming().take(count) {
            let mut stream = stream.unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let (mut head, mut line) = (String::new(), String::new());
            while reader.read_line(&mut line).unwrap() > 2 {
                head.push_str(&line.to_ascii_lowercase());
                line.clear();
            }
            let length = head.lines().find_map(|l| l.strip_prefix("content-length: ")).unwrap();
            let mut body = vec![0; length.trim().parse().unwrap()];
            reader.read_exact(&mut body).unwrap();
            stream.write_all(b"HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n").unwrap();
            received.push((head, body));
        }
        received
    });
    (url, thread)
}

#[test]
fn webhooks_fire_on_every_change_signed() {
    let hnp = Hnp::start(TOKEN).unwrap();
    let dc1 = hnp.add_fabric("dc1");
    let (url, thread) = receiver(3);
    hnp.set_webhook(Some(Webhook { url, secret: Some("s3cret".into()), style: WebhookStyle::NetBox4 }));

    let id = hnp.add(Cr::new("VPC", dc1, "vpc-1", json!({ "a": 1 })));
    assert!(hnp.update(id, Cr::new("VPC", dc1, "vpc-1", json!({ "a": 2 }))));
    assert!(hnp.delete("VPC", id));

    let deliveries = hnp.wait_for_deliveries(3, Duration::from_secs(10));
    let events: Vec<(Event, Result<u16, String>)> = deliveries.into_iter().map(|d| (d.event, d.result)).collect();
    assert_eq!(events, [(Event::Created, Ok(204)), (Event::Updated, Ok(204)), (Event::Deleted, Ok(204))]);

    let received = thread.join().unwrap();
    let bodies: Vec<Value> = received.iter().map(|(_, body)| serde_json::from_slice(body).unwrap()).collect();
    for (head, body) in &received {
        let expected = format!("x-hook-signature: {}\r\n", signature(b"s3cret", body));
        assert!(head.contains(&expected), "{head}");
    }
    let summary: Vec<(&str, &str, Value, Value, Value)> = bodies
        .iter()
        .map(|b| {
            let spec = |v: &Value| v.get("spec").cloned().unwrap_or(Value::Null);
            let event = b["event"].as_str().unwrap();
            (
                event,
                b["object_type"].as_str().unwrap(),
                spec(&b["data"]),
                spec(&b["snapshots"]["prechange"]),
                spec(&b["snapshots"]["postchange"]),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("created", "netbox_hedgehog.vpc", json!({ "a": 1 }), Value::Null, json!({ "a": 1 })),
            ("updated", "netbox_hedgehog.vpc", json!({ "a": 2 }), json!({ "a": 1 }), json!({ "a": 2 })),
            ("deleted", "netbox_hedgehog.vpc", json!({ "a": 2 }), json!({ "a": 2 }), Value::Null),
        ]
    );
}
