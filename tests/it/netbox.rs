//! `NetBoxSource` against the HNP stand-in: listing across pages and fabrics, lookups,
//! recording sync results (one bulk PATCH per kind), a pull's writes (bulk create, update and
//! delete, only while HNP still holds what the pull read), and the failures a real NetBox
//! throws (bad token, 400s per object, 403, 500s, broken JSON, slow answers, proxies that
//! rewrite `next`).

use std::io::{BufRead, BufReader, Read, Write};
use std::time::Duration;

use fgd_sync::net::client::{Client, Timeouts};
use fgd_sync::source::netbox::{NetBoxConfig, NetBoxSource};
use fgd_sync::source::{CrSource, Synced};
use fgd_sync::wit::{CustomResource, HnpChange, HnpOp, ResourceRef};
use fgd_sync_guest::model::KINDS;
use fgd_sync_local_github::{format_utc, unix_now};
use fgd_sync_tests::hnp::{signature, BulkErrors, Cr, DuringListing, Event, Fault, Hnp, Webhook, WebhookStyle, API};
use pretty_assertions::assert_eq;
use serde_json::{json, Value};

use crate::kit::NETBOX_TOKEN;

fn source_with(base_url: &str, token: &str, page_size: u32, response: Duration) -> NetBoxSource {
    let mut config = NetBoxConfig::new(base_url, token);
    config.page_size = page_size;
    let timeouts = Timeouts { connect: Duration::from_secs(5), response };
    NetBoxSource::new(config, Client::new(timeouts)).expect("valid config")
}

fn source(hnp: &Hnp, page_size: u32) -> NetBoxSource {
    source_with(&hnp.base_url(), NETBOX_TOKEN, page_size, Duration::from_secs(10))
}

fn reference(kind: &str, namespace: &str, name: &str) -> ResourceRef {
    ResourceRef { kind: kind.into(), namespace: namespace.into(), name: name.into() }
}

fn synced(resource: ResourceRef, path: &str) -> Synced {
    Synced { resource, path: path.into(), blob_sha: "a".repeat(40), commit: "b".repeat(40) }
}

fn sorted(mut crs: Vec<CustomResource>) -> Vec<CustomResource> {
    crs.sort_by(|a, b| (&a.kind, &a.namespace, &a.name).cmp(&(&b.kind, &b.namespace, &b.name)));
    crs
}

/// 120 CRs, 10 of each kind; every third in `dc2`, the rest in `dc1`. Returns the stand-in
/// and the CRs `dc1` should list.
fn populated() -> (Hnp, Vec<CustomResource>) {
    let hnp = Hnp::start(NETBOX_TOKEN).expect("stand-in starts");
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
    let hnp = Hnp::start(NETBOX_TOKEN).unwrap();
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
    let hnp = Hnp::start(NETBOX_TOKEN).unwrap();
    let dc1 = hnp.add_fabric("dc1");
    hnp.add(Cr::new("Switch", dc1, "leaf-0", json!({})));
    let id = hnp.add(Cr::new("Switch", dc1, "leaf-1", json!({ "role": "server-leaf" })));
    let source = source(&hnp, 50);
    source.list("dc1").await.expect("list");
    hnp.clear_requests();

    let path = "fabrics/dc1/gitops/managed/switches/leaf-1.yaml";
    let before = format_utc(unix_now());
    source.record("dc1", &[synced(reference("Switch", "", "leaf-1"), path)]).await.expect("record");

    // The listing left the id in the cache: one bulk PATCH and nothing else.
    let requests = hnp.requests();
    assert_eq!(requests.len(), 1, "{requests:?}");
    assert_eq!((requests[0].method.as_str(), requests[0].path.clone()), ("PATCH", format!("{API}switches/")));
    let body: Value = serde_json::from_str(&requests[0].body).unwrap();
    assert_eq!((&body[0]["id"], &body[0]["git_file_path"]), (&json!(id), &json!(path)));
    let last_synced = body[0]["last_synced"].as_str().expect("last_synced is a string");
    assert!(last_synced.len() == 20 && last_synced.ends_with('Z') && *last_synced >= *before, "{last_synced}");
    let object = hnp.object("Switch", id).unwrap();
    assert_eq!((&object["git_file_path"], &object["last_synced"]), (&json!(path), &json!(last_synced)));

    // Same path again: only the time is sent.
    source.record("dc1", &[synced(reference("Switch", "default", "leaf-1"), path)]).await.unwrap();
    let patch = hnp.requests().pop().unwrap();
    let body: Value = serde_json::from_str(&patch.body).unwrap();
    assert_eq!(body[0].as_object().unwrap().keys().collect::<Vec<_>>(), ["id", "last_synced"]);
    assert_eq!(hnp.count_method("PATCH"), 2);
    assert_eq!(hnp.count_method("GET"), 0);
}

#[tokio::test]
async fn record_with_a_cold_cache_reads_the_path_from_netbox() {
    let hnp = Hnp::start(NETBOX_TOKEN).unwrap();
    let dc1 = hnp.add_fabric("dc1");
    let id = hnp.add(Cr::new("VLANNamespace", dc1, "default", json!({ "ranges": [] })));
    let path = "fabrics/dc1/gitops/managed/vlannamespaces/default.yaml";
    source(&hnp, 50).record("dc1", &[synced(reference("VLANNamespace", "", "default"), path)]).await.unwrap();

    // A new source (a new run) has no cache: it reads the rows, sees the same path, sends the time.
    hnp.clear_requests();
    source(&hnp, 50).record("dc1", &[synced(reference("VLANNamespace", "", "default"), path)]).await.unwrap();
    let seen: Vec<(String, String)> = hnp.requests().into_iter().map(|r| (r.method, r.path)).collect();
    let expected = [("GET", "fabrics/"), ("GET", "vlan-namespaces/"), ("PATCH", "vlan-namespaces/")]
        .map(|(method, path)| (method.to_owned(), format!("{API}{path}")));
    assert_eq!(seen, expected);
    let body: Value = serde_json::from_str(&hnp.requests().pop().unwrap().body).unwrap();
    assert_eq!(body[0]["id"], json!(id));
    assert!(body[0].get("git_file_path").is_none(), "{body}");
}

#[tokio::test]
async fn record_finds_a_row_recreated_under_a_new_id() {
    let hnp = Hnp::start(NETBOX_TOKEN).unwrap();
    let dc1 = hnp.add_fabric("dc1");
    let old = hnp.add(Cr::new("Server", dc1, "server-1", json!({})));
    let source = source(&hnp, 50);
    source.list("dc1").await.unwrap();
    assert!(hnp.delete("Server", old));
    let new = hnp.add(Cr::new("Server", dc1, "server-1", json!({})));

    hnp.clear_requests();
    source.record("dc1", &[synced(reference("Server", "", "server-1"), "p/server-1.yaml")]).await.unwrap();
    // NetBox skips the old id without a word; the answer lacks it, so the kind is listed again.
    let seen: Vec<(String, String, Value)> = hnp
        .requests()
        .into_iter()
        .map(|r| (r.method, r.path, serde_json::from_str(&r.body).map_or(Value::Null, |b: Value| b[0]["id"].clone())))
        .collect();
    let servers = format!("{API}servers/");
    let expected = [("PATCH", json!(old)), ("GET", Value::Null), ("PATCH", json!(new))]
        .map(|(method, id)| (method.to_owned(), servers.clone(), id));
    assert_eq!(seen, expected);
    assert_eq!(hnp.object("Server", new).unwrap()["git_file_path"], json!("p/server-1.yaml"));
}

#[tokio::test]
async fn record_of_a_missing_cr_says_so() {
    let hnp = Hnp::start(NETBOX_TOKEN).unwrap();
    hnp.add_fabric("dc1");
    let error = source(&hnp, 50).record("dc1", &[synced(reference("VPC", "", "gone"), "p")]).await.unwrap_err();
    let url = format!("{}vpcs/", hnp.api_url());
    assert_eq!(
        error,
        format!("1 of 1 CRs not recorded in NetBox: VPC default/gone not found in fabric \"dc1\" at {url}")
    );
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
    let hnp = Hnp::start(NETBOX_TOKEN).unwrap();
    let dc1 = hnp.add_fabric("dc1");
    let id = hnp.add(Cr::new("VPC", dc1, "vpc-1", json!({})));
    let source = source(&hnp, 50);
    source.list("dc1").await.unwrap();
    hnp.push_fault(Fault::Status(500));
    let error = source.record("dc1", &[synced(reference("VPC", "", "vpc-1"), "p")]).await.unwrap_err();
    let url = format!("{}vpcs/", hnp.api_url());
    let expected = format!("1 of 1 CRs not recorded in NetBox: VPC default/vpc-1: NetBox answered 500 Internal Server Error to PATCH {url}: Server Error (500)");
    assert_eq!(error, expected);
    assert_eq!(hnp.count_method("PATCH"), 1);
    assert_eq!(hnp.object("VPC", id).unwrap()["last_synced"], Value::Null);
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
    let source = source_with(&hnp.base_url(), NETBOX_TOKEN, 50, Duration::from_millis(300));
    assert_eq!(sorted(source.list("dc1").await.expect("list after a timeout")), expected);
    assert_eq!(hnp.count("GET", &format!("{API}fabrics/")), 2);
}

#[tokio::test]
async fn an_unreachable_netbox_names_the_url() {
    // A port that was just free: connections are refused.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let base = format!("http://127.0.0.1:{port}");
    let error = source_with(&base, NETBOX_TOKEN, 50, Duration::from_secs(5)).list("dc1").await.unwrap_err();
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
    let hnp = Hnp::start(NETBOX_TOKEN).unwrap();
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

fn cr(kind: &str, name: &str, spec: Value) -> CustomResource {
    CustomResource {
        kind: kind.into(),
        api_version: None,
        name: name.into(),
        namespace: String::new(),
        labels: "{}".into(),
        annotations: "{}".into(),
        spec: spec.to_string(),
    }
}

fn change(op: HnpOp, resource: CustomResource, expected: Option<&CustomResource>, fields: &[&str]) -> HnpChange {
    HnpChange {
        op,
        path: format!("fabrics/dc1/gitops/managed/x/{}.yaml", resource.name),
        resource,
        expected: expected.cloned(),
        fields: fields.iter().map(|f| f.to_string()).collect(),
        records_sync: false,
    }
}

/// The CR a listing gave for `name`.
fn listed(crs: &[CustomResource], name: &str) -> CustomResource {
    crs.iter().find(|cr| cr.name == name).cloned().unwrap_or_else(|| panic!("{name} is listed"))
}

/// The update of listed CR `name` to `spec`, expecting it as the listing gave it.
fn spec_update(crs: &[CustomResource], name: &str, spec: &Value) -> HnpChange {
    let mut cr = listed(crs, name);
    cr.spec = spec.to_string();
    change(HnpOp::Update, cr, Some(&listed(crs, name)), &["spec"])
}

/// `(method, path)` of every request so far, paths without the API prefix.
fn calls(hnp: &Hnp) -> Vec<(String, String)> {
    hnp.requests().into_iter().map(|r| (r.method, r.path.trim_start_matches(API).to_owned())).collect()
}

fn owned(calls: &[(&str, &str)]) -> Vec<(String, String)> {
    calls.iter().map(|(m, p)| (m.to_string(), p.to_string())).collect()
}

#[tokio::test]
async fn record_of_a_1000_cr_commit_is_one_bulk_patch_per_kind() {
    let hnp = Hnp::start(NETBOX_TOKEN).unwrap();
    let dc1 = hnp.add_fabric("dc1");
    let mut entries = Vec::new();
    let mut ids = Vec::new();
    for i in 0..1000 {
        let kind = KINDS[i % 12].name;
        let name = format!("cr-{i}");
        ids.push((kind, hnp.add(Cr::new(kind, dc1, &name, json!({ "i": i })))));
        let path = format!("fabrics/dc1/gitops/managed/{}/{name}.yaml", KINDS[i % 12].plural);
        entries.push(synced(reference(kind, "", &name), &path));
    }
    let source = source(&hnp, 1000);
    assert_eq!(source.list("dc1").await.expect("list").len(), 1000);
    hnp.clear_requests();

    let started = std::time::Instant::now();
    source.record("dc1", &entries).await.expect("record");
    let took = started.elapsed();
    // The listing cached every id: one PATCH per kind, nothing else.
    let expected: Vec<(&str, &str)> = KINDS.iter().map(|k| ("PATCH", k.netbox_endpoint)).collect();
    assert_eq!(calls(&hnp), owned(&expected));
    for (entry, (kind, id)) in entries.iter().zip(&ids) {
        let object = hnp.object(kind, *id).unwrap();
        assert_eq!(object["git_file_path"], json!(entry.path), "{kind} {id}");
        assert!(object["last_synced"].is_string(), "{object}");
    }
    eprintln!("record-synced of 1,000 CRs after the listing: {} requests, {took:?}", hnp.requests().len());

    // A new run has no cache: one listing per kind first, then still one PATCH per kind,
    // with only the time (the paths are NetBox's already).
    hnp.clear_requests();
    let started = std::time::Instant::now();
    source_with(&hnp.base_url(), NETBOX_TOKEN, 1000, Duration::from_secs(10)).record("dc1", &entries).await.unwrap();
    let took = started.elapsed();
    assert_eq!((hnp.count_method("GET"), hnp.count_method("PATCH"), hnp.requests().len()), (13, 12, 25));
    for patch in hnp.requests().iter().filter(|r| r.method == "PATCH") {
        let body: Vec<Value> = serde_json::from_str(&patch.body).unwrap();
        assert!(body.iter().all(|item| item.as_object().unwrap().len() == 2 && item["last_synced"].is_string()));
    }
    eprintln!("record-synced of 1,000 CRs with a cold cache: {} requests, {took:?}", hnp.requests().len());
}

#[tokio::test]
async fn record_names_a_cr_gone_meanwhile_and_records_the_others() {
    let hnp = Hnp::start(NETBOX_TOKEN).unwrap();
    let dc1 = hnp.add_fabric("dc1");
    let ids: Vec<u64> = ["a", "b", "c"].iter().map(|n| hnp.add(Cr::new("VPC", dc1, n, json!({})))).collect();
    let source = source(&hnp, 50);
    source.list("dc1").await.unwrap();
    assert!(hnp.delete("VPC", ids[1]));
    hnp.clear_requests();

    let entries: Vec<Synced> = ["a", "b", "c"].iter().map(|n| synced(reference("VPC", "", n), n)).collect();
    let error = source.record("dc1", &entries).await.unwrap_err();
    let url = format!("{}vpcs/", hnp.api_url());
    assert_eq!(error, format!("1 of 3 CRs not recorded in NetBox: VPC default/b not found in fabric \"dc1\" at {url}"));
    // NetBox skipped the deleted id; one listing showed it gone for good.
    assert_eq!(calls(&hnp), owned(&[("PATCH", "vpcs/"), ("GET", "vpcs/")]));
    for (id, path) in [(ids[0], "a"), (ids[2], "c")] {
        assert_eq!(hnp.object("VPC", id).unwrap()["git_file_path"], json!(path));
    }
}

#[tokio::test]
async fn record_names_a_cr_netbox_refuses_and_records_the_others() {
    let hnp = Hnp::start(NETBOX_TOKEN).unwrap();
    let dc1 = hnp.add_fabric("dc1");
    let ids: Vec<u64> = ["a", "b", "c"].iter().map(|n| hnp.add(Cr::new("VPC", dc1, n, json!({})))).collect();
    let source = source(&hnp, 50);
    source.list("dc1").await.unwrap();
    hnp.clear_requests();

    let long = "p/".repeat(251);
    let entries = [
        synced(reference("VPC", "", "a"), "a"),
        synced(reference("VPC", "", "b"), &long),
        synced(reference("VPC", "", "c"), "c"),
    ];
    let error = source.record("dc1", &entries).await.unwrap_err();
    assert_eq!(
        error,
        "1 of 3 CRs not recorded in NetBox: VPC default/b: git_file_path: Ensure this field has no more than 500 characters."
    );
    // The first bulk PATCH named the bad object; the second wrote the rest.
    assert_eq!(calls(&hnp), owned(&[("PATCH", "vpcs/"), ("PATCH", "vpcs/")]));
    assert_eq!(hnp.object("VPC", ids[0]).unwrap()["git_file_path"], json!("a"));
    assert_eq!(hnp.object("VPC", ids[1]).unwrap()["last_synced"], Value::Null);
    assert_eq!(hnp.object("VPC", ids[2]).unwrap()["git_file_path"], json!("c"));
}

#[tokio::test]
async fn a_pull_writes_in_one_request_per_kind_and_operation() {
    let hnp = Hnp::start(NETBOX_TOKEN).unwrap();
    let dc1 = hnp.add_fabric("dc1");
    let a = hnp.add(Cr::new("VPC", dc1, "vpc-a", json!({ "subnets": { "s1": "10.0.1.0/24" } })));
    let b = hnp.add(Cr::new("VPC", dc1, "vpc-b", json!({})));
    let c = hnp.add(Cr::new("VPC", dc1, "vpc-c", json!({})).labels(json!({ "keep": "me" })));
    let leaf =
        hnp.add(Cr::new("Switch", dc1, "leaf-1", json!({ "role": "server-leaf" })).labels(json!({ "rack": "1" })));
    let source = source(&hnp, 50);
    let crs = source.list("dc1").await.unwrap();
    hnp.clear_requests();

    let mut created = cr("VPC", "vpc-d", json!({ "subnets": {} }));
    created.labels = json!({ "team": "net" }).to_string();
    let mut vpc_a = listed(&crs, "vpc-a");
    vpc_a.spec = json!({ "subnets": { "s1": "10.0.2.0/24" } }).to_string();
    let mut leaf_1 = listed(&crs, "leaf-1");
    leaf_1.labels = json!({ "rack": "2" }).to_string();
    let changes = [
        change(HnpOp::Create, created, None, &[]),
        change(HnpOp::Update, vpc_a, Some(&listed(&crs, "vpc-a")), &["spec"]),
        change(HnpOp::Delete, listed(&crs, "vpc-b"), Some(&listed(&crs, "vpc-b")), &[]),
        change(HnpOp::Update, leaf_1, Some(&listed(&crs, "leaf-1")), &["labels"]),
    ];
    let answers = source.apply("dc1", &changes).await.expect("apply");
    assert_eq!(answers, [None, None, None, None]);

    // Per kind: one listing to check, then one bulk request per operation.
    let expected = [
        ("GET", "vpcs/"),
        ("POST", "vpcs/"),
        ("PATCH", "vpcs/"),
        ("DELETE", "vpcs/"),
        ("GET", "switches/"),
        ("PATCH", "switches/"),
    ];
    assert_eq!(calls(&hnp), owned(&expected));
    let bodies: Vec<Value> =
        hnp.requests().iter().skip(1).map(|r| serde_json::from_str(&r.body).unwrap_or(Value::Null)).collect();
    assert_eq!(
        bodies[0],
        json!([{ "fabric": dc1, "name": "vpc-d", "namespace": "default", "spec": { "subnets": {} }, "labels": { "team": "net" }, "annotations": {} }])
    );
    assert_eq!(bodies[1], json!([{ "id": a, "spec": { "subnets": { "s1": "10.0.2.0/24" } } }]));
    assert_eq!(bodies[2], json!([{ "id": b }]));
    assert_eq!(bodies[4], json!([{ "id": leaf, "labels": { "rack": "2" } }]));

    assert_eq!(hnp.object("VPC", a).unwrap()["spec"], json!({ "subnets": { "s1": "10.0.2.0/24" } }));
    assert_eq!(hnp.object("VPC", b), None);
    assert_eq!(hnp.object("VPC", c).unwrap()["labels"], json!({ "keep": "me" }));
    let leaf_now = hnp.object("Switch", leaf).unwrap();
    assert_eq!((&leaf_now["labels"], &leaf_now["spec"]), (&json!({ "rack": "2" }), &json!({ "role": "server-leaf" })));

    // The new row's id came with the POST's answer: recording it needs no listing.
    hnp.clear_requests();
    source.record("dc1", &[synced(reference("VPC", "", "vpc-d"), "managed/vpcs/vpc-d.yaml")]).await.unwrap();
    assert_eq!(calls(&hnp), owned(&[("PATCH", "vpcs/")]));
    let d = serde_json::from_str::<Value>(&hnp.requests()[0].body).unwrap()[0]["id"].as_u64().unwrap();
    let row = hnp.object("VPC", d).unwrap();
    assert_eq!(
        (&row["name"], &row["fabric"], &row["git_file_path"]),
        (&json!("vpc-d"), &json!(dc1), &json!("managed/vpcs/vpc-d.yaml"))
    );
    // And the deleted row is out of the cache: recording it lists the kind, sends no PATCH.
    hnp.clear_requests();
    let error = source.record("dc1", &[synced(reference("VPC", "", "vpc-b"), "b")]).await.unwrap_err();
    assert!(error.contains("VPC default/vpc-b not found in fabric"), "{error}");
    assert_eq!(calls(&hnp), owned(&[("GET", "vpcs/")]));
}

#[tokio::test]
async fn an_update_patches_only_the_fields_it_names() {
    let hnp = Hnp::start(NETBOX_TOKEN).unwrap();
    let dc1 = hnp.add_fabric("dc1");
    let id = hnp.add(
        Cr::new("VPC", dc1, "vpc-a", json!({ "v": 1 })).labels(json!({ "l": "1" })).annotations(json!({ "n": "x" })),
    );
    let source = source(&hnp, 50);
    let crs = source.list("dc1").await.unwrap();
    let before = hnp.object("VPC", id).unwrap();
    hnp.clear_requests();

    let mut git = listed(&crs, "vpc-a");
    git.spec = json!({ "v": 2 }).to_string();
    git.labels = json!({ "l": "2" }).to_string();
    let answers = source.apply("dc1", &[change(HnpOp::Update, git, Some(&listed(&crs, "vpc-a")), &["labels"])]).await;
    assert_eq!(answers.unwrap(), [None]);
    let patch = hnp.requests().into_iter().find(|r| r.method == "PATCH").expect("a PATCH");
    assert_eq!(serde_json::from_str::<Value>(&patch.body).unwrap(), json!([{ "id": id, "labels": { "l": "2" } }]));
    let after = hnp.object("VPC", id).unwrap();
    assert_eq!(
        (&after["spec"], &after["labels"], &after["annotations"]),
        (&json!({ "v": 1 }), &json!({ "l": "2" }), &json!({ "n": "x" }))
    );
    assert!(after["last_updated"].as_str() >= before["last_updated"].as_str());

    // An update that names no field writes nothing.
    hnp.clear_requests();
    let crs = source.list("dc1").await.unwrap();
    hnp.clear_requests();
    let same = listed(&crs, "vpc-a");
    let answers = source.apply("dc1", &[change(HnpOp::Update, same.clone(), Some(&same), &[])]).await.unwrap();
    assert_eq!(answers, [None]);
    assert_eq!(calls(&hnp), owned(&[("GET", "vpcs/")]));
}

#[tokio::test]
async fn changes_to_crs_hnp_changed_since_they_were_read_are_refused() {
    let hnp = Hnp::start(NETBOX_TOKEN).unwrap();
    let dc1 = hnp.add_fabric("dc1");
    let spec = json!({ "ipv4Namespace": "default", "vlanNamespace": "default", "subnets": { "a": 1 } });
    let ids: Vec<u64> = ["a", "b", "c", "e"].iter().map(|n| hnp.add(Cr::new("VPC", dc1, n, spec.clone()))).collect();
    let source = source(&hnp, 50);
    let crs = source.list("dc1").await.unwrap();

    // GUI edits after the pull read HNP.
    assert!(hnp.update(ids[0], Cr::new("VPC", dc1, "a", json!({ "edited": true }))));
    assert!(hnp.update(ids[1], Cr::new("VPC", dc1, "b", spec.clone()).labels(json!({ "new": "label" }))));
    assert!(hnp.delete("VPC", ids[3]));
    hnp.add(Cr::new("VPC", dc1, "d", json!({})));
    hnp.clear_requests();

    // `c` is unchanged; its text differs only in key order and spacing.
    let mut c = listed(&crs, "c");
    c.spec = r#"{ "subnets": {"a": 1}, "vlanNamespace": "default", "ipv4Namespace": "default" }"#.into();
    let from_git = json!({ "from": "git" });
    let changes = [
        spec_update(&crs, "a", &from_git),
        change(HnpOp::Delete, listed(&crs, "b"), Some(&listed(&crs, "b")), &[]),
        change(HnpOp::Create, cr("VPC", "d", json!({})), None, &[]),
        change(HnpOp::Delete, c.clone(), Some(&c), &[]),
        spec_update(&crs, "e", &from_git),
    ];
    let answers = source.apply("dc1", &changes).await.unwrap();
    let refused = |why: &str| Some(why.to_owned());
    assert_eq!(
        answers,
        [
            refused("changed in HNP since it was read"),
            refused("changed in HNP since it was read"),
            refused("already exists in HNP"),
            None,
            refused("deleted from HNP since it was read"),
        ]
    );
    assert_eq!(calls(&hnp), owned(&[("GET", "vpcs/"), ("DELETE", "vpcs/")]));
    assert_eq!(hnp.object("VPC", ids[0]).unwrap()["spec"], json!({ "edited": true }));
    assert!(hnp.object("VPC", ids[1]).is_some());
    assert_eq!(hnp.object("VPC", ids[2]), None);
}

#[tokio::test]
async fn a_create_that_lost_a_race_with_the_gui_is_refused_as_not_unique() {
    let hnp = Hnp::start(NETBOX_TOKEN).unwrap();
    let dc1 = hnp.add_fabric("dc1");
    hnp.add(Cr::new("VPC", dc1, "vpc-1", json!({})));
    let source = source(&hnp, 50);
    source.list("dc1").await.unwrap();
    // Created in the GUI right after the check's listing, before the POST.
    hnp.change_during_listing(DuringListing::Create { cr: Cr::new("VPC", dc1, "vpc-2", json!({})), after_pages: 1 });
    hnp.clear_requests();

    let changes = [
        change(HnpOp::Create, cr("VPC", "vpc-2", json!({ "from": "git" })), None, &[]),
        change(HnpOp::Create, cr("VPC", "vpc-3", json!({})), None, &[]),
        // The same CR twice in one batch: the second is not sent.
        change(HnpOp::Create, cr("VPC", "vpc-3", json!({ "again": true })), None, &[]),
    ];
    let answers = source.apply("dc1", &changes).await.unwrap();
    assert_eq!(
        answers,
        [
            Some("non_field_errors: The fields fabric, namespace, name must make a unique set.".to_owned()),
            None,
            Some("another change in this batch is for the same CR".to_owned()),
        ]
    );
    assert_eq!(calls(&hnp), owned(&[("GET", "vpcs/"), ("POST", "vpcs/"), ("POST", "vpcs/")]));
    let crs = source.list("dc1").await.unwrap();
    assert_eq!(listed(&crs, "vpc-2").spec, "{}");
    assert_eq!(listed(&crs, "vpc-3").spec, "{}");
}

#[tokio::test]
async fn crs_netbox_refuses_are_refused_and_the_rest_is_written() {
    let hnp = Hnp::start(NETBOX_TOKEN).unwrap();
    let dc1 = hnp.add_fabric("dc1");
    for name in ["u1", "u2", "u3", "d1", "d2", "d3"] {
        hnp.add(Cr::new("VPC", dc1, name, json!({})));
    }
    hnp.refuse_writes("VPC", "u2", "spec", "vlan 5000 is out of range.");
    hnp.refuse_writes("VPC", "d2", "__all__", "Unable to delete: 1 dependent object(s) prevent deletion.");
    let source = source(&hnp, 50);
    let crs = source.list("dc1").await.unwrap();
    hnp.clear_requests();

    let mut bad_labels = cr("VPC", "c2", json!({}));
    bad_labels.labels = json!({ "n": 1 }).to_string();
    let edit = |name: &str| spec_update(&crs, name, &json!({ "vlan": 5000 }));
    let delete = |name: &str| change(HnpOp::Delete, listed(&crs, name), Some(&listed(&crs, name)), &[]);
    let changes = [
        change(HnpOp::Create, cr("VPC", "c1", json!({})), None, &[]),
        change(HnpOp::Create, bad_labels, None, &[]),
        change(HnpOp::Create, cr("VPC", "c3", json!({})), None, &[]),
        edit("u1"),
        edit("u2"),
        edit("u3"),
        delete("d1"),
        delete("d2"),
        delete("d3"),
    ];
    let answers = source.apply("dc1", &changes).await.unwrap();
    let refused = |why: &str| Some(why.to_owned());
    assert_eq!(
        answers,
        [
            None,
            refused("labels: Values must be strings; \"n\" is 1."),
            None,
            None,
            refused("spec: vlan 5000 is out of range."),
            None,
            None,
            refused("__all__: Unable to delete: 1 dependent object(s) prevent deletion."),
            None,
        ]
    );
    // Each refused bulk request wrote nothing; the second one wrote the rest.
    let writes: Vec<(String, String)> = calls(&hnp).into_iter().filter(|(m, _)| m != "GET").collect();
    let expected = [
        ("POST", "vpcs/"),
        ("POST", "vpcs/"),
        ("PATCH", "vpcs/"),
        ("PATCH", "vpcs/"),
        ("DELETE", "vpcs/"),
        ("DELETE", "vpcs/"),
    ];
    assert_eq!(writes, owned(&expected));
    let names: Vec<String> = sorted(source.list("dc1").await.unwrap()).into_iter().map(|cr| cr.name).collect();
    assert_eq!(names, ["c1", "c3", "d2", "u1", "u2", "u3"]);
    let crs = source.list("dc1").await.unwrap();
    assert_eq!(listed(&crs, "u1").spec, r#"{"vlan":5000}"#);
    assert_eq!(listed(&crs, "u2").spec, "{}");
}

#[tokio::test]
async fn a_bulk_refusal_that_names_no_cr_is_split_until_it_does() {
    let hnp = Hnp::start(NETBOX_TOKEN).unwrap();
    // Older NetBox stops a bulk update at the first bad object and does not say which.
    hnp.set_bulk_errors(BulkErrors::FirstOnly);
    let dc1 = hnp.add_fabric("dc1");
    let names: Vec<String> = (0..16).map(|i| format!("vpc-{i:02}")).collect();
    for name in &names {
        hnp.add(Cr::new("VPC", dc1, name, json!({})));
    }
    hnp.refuse_writes("VPC", "vpc-11", "spec", "vlan 5000 is out of range.");
    let source = source(&hnp, 50);
    let crs = source.list("dc1").await.unwrap();
    hnp.clear_requests();

    let changes: Vec<HnpChange> = names.iter().map(|name| spec_update(&crs, name, &json!({ "vlan": 5000 }))).collect();
    let answers = source.apply("dc1", &changes).await.unwrap();
    let expected: Vec<Option<String>> =
        names.iter().map(|n| (n == "vpc-11").then(|| "spec: vlan 5000 is out of range.".to_owned())).collect();
    assert_eq!(answers, expected);
    // 16 -> 8 + 8 -> 4 + 4 -> 2 + 2 -> 1 + 1: two requests per halving after the first.
    assert_eq!(hnp.count("PATCH", &format!("{API}vpcs/")), 1 + 2 * 4);
    let crs = source.list("dc1").await.unwrap();
    for name in &names {
        let expected = if name == "vpc-11" { "{}" } else { r#"{"vlan":5000}"# };
        assert_eq!(listed(&crs, name).spec, expected, "{name}");
    }
}

#[tokio::test]
async fn a_403_refuses_every_change_of_the_batch() {
    let hnp = Hnp::start(NETBOX_TOKEN).unwrap();
    let dc1 = hnp.add_fabric("dc1");
    hnp.add(Cr::new("VPC", dc1, "vpc-1", json!({})));
    let source = source(&hnp, 50);
    let crs = source.list("dc1").await.unwrap();
    hnp.set_writes_forbidden(true);
    hnp.clear_requests();

    let changes = [
        change(HnpOp::Create, cr("VPC", "vpc-2", json!({})), None, &[]),
        change(HnpOp::Create, cr("VPC", "vpc-3", json!({})), None, &[]),
        spec_update(&crs, "vpc-1", &json!({ "x": 1 })),
    ];
    let answers = source.apply("dc1", &changes).await.unwrap();
    let url = format!("{}vpcs/", hnp.api_url());
    let forbidden = |method: &str| {
        Some(format!("NetBox refused the API token (403 Forbidden) for {method} {url}: You do not have permission to perform this action."))
    };
    assert_eq!(answers, [forbidden("POST"), forbidden("POST"), forbidden("PATCH")]);
    // One request per operation: a 403 is not split or retried.
    assert_eq!(calls(&hnp), owned(&[("GET", "vpcs/"), ("POST", "vpcs/"), ("PATCH", "vpcs/")]));

    let error = source.record("dc1", &[synced(reference("VPC", "", "vpc-1"), "p")]).await.unwrap_err();
    assert_eq!(error, format!("1 of 1 CRs not recorded in NetBox: VPC default/vpc-1: {}", forbidden("PATCH").unwrap()));
    hnp.set_writes_forbidden(false);
    assert_eq!(sorted(source.list("dc1").await.unwrap()), crs);
}

#[tokio::test]
async fn a_write_whose_answer_is_lost_is_an_error_and_not_retried() {
    let hnp = Hnp::start(NETBOX_TOKEN).unwrap();
    hnp.add_fabric("dc1");
    let source = source_with(&hnp.base_url(), NETBOX_TOKEN, 50, Duration::from_millis(300));
    source.list("dc1").await.unwrap();
    // The check's listing answers at once; the POST's answer comes too late.
    hnp.push_fault(Fault::Slow(Duration::ZERO));
    hnp.push_fault(Fault::Slow(Duration::from_secs(2)));
    hnp.clear_requests();

    let error =
        source.apply("dc1", &[change(HnpOp::Create, cr("VPC", "vpc-1", json!({})), None, &[])]).await.unwrap_err();
    let url = format!("{}vpcs/", hnp.api_url());
    assert!(error.starts_with(&format!("NetBox unreachable: POST {url}: no complete response within")), "{error}");
    assert_eq!(calls(&hnp), owned(&[("GET", "vpcs/"), ("POST", "vpcs/")]));
}

#[tokio::test]
async fn changes_of_unknown_kinds_are_refused_alone() {
    let hnp = Hnp::start(NETBOX_TOKEN).unwrap();
    hnp.add_fabric("dc1");
    let source = source(&hnp, 50);
    let changes = [
        change(HnpOp::Create, cr("Vpc", "vpc-1", json!({})), None, &[]),
        change(HnpOp::Create, cr("VPC", "vpc-1", json!({})), None, &[]),
    ];
    let answers = source.apply("dc1", &changes).await.unwrap();
    assert_eq!(answers.len(), 2);
    assert!(answers[0].as_deref().is_some_and(|why| why.starts_with("unknown kind \"Vpc\"")), "{answers:?}");
    assert_eq!(answers[1], None);
    assert_eq!(source.list("dc1").await.unwrap().len(), 1);
}

#[tokio::test]
async fn api_writes_fire_one_signed_webhook_per_object() {
    let hnp = Hnp::start(NETBOX_TOKEN).unwrap();
    let dc1 = hnp.add_fabric("dc1");
    hnp.add(Cr::new("VPC", dc1, "vpc-1", json!({ "a": 1 })));
    hnp.add(Cr::new("VPC", dc1, "vpc-2", json!({})));
    let source = source(&hnp, 50);
    let crs = source.list("dc1").await.unwrap();
    let (url, thread) = receiver(5);
    hnp.set_webhook(Some(Webhook { url, secret: Some("s3cret".into()), style: WebhookStyle::NetBox4 }));

    let changes = [
        change(HnpOp::Create, cr("VPC", "vpc-3", json!({ "n": 3 })), None, &[]),
        change(HnpOp::Create, cr("VPC", "vpc-4", json!({ "n": 4 })), None, &[]),
        spec_update(&crs, "vpc-1", &json!({ "a": 2 })),
        change(HnpOp::Delete, listed(&crs, "vpc-2"), Some(&listed(&crs, "vpc-2")), &[]),
    ];
    assert_eq!(source.apply("dc1", &changes).await.unwrap(), [None, None, None, None]);
    source.record("dc1", &[synced(reference("VPC", "", "vpc-3"), "p/vpc-3.yaml")]).await.unwrap();

    // Three bulk writes and a bulk record: one webhook per object, as NetBox sends them.
    let deliveries = hnp.wait_for_deliveries(5, Duration::from_secs(10));
    let events: Vec<(Event, Result<u16, String>)> = deliveries.into_iter().map(|d| (d.event, d.result)).collect();
    let ok = |event| (event, Ok(204));
    assert_eq!(
        events,
        [ok(Event::Created), ok(Event::Created), ok(Event::Updated), ok(Event::Deleted), ok(Event::Updated)]
    );
    let received = thread.join().unwrap();
    let mut summary = Vec::new();
    for (head, body) in &received {
        assert!(head.contains(&format!("x-hook-signature: {}\r\n", signature(b"s3cret", body))), "{head}");
        let body: Value = serde_json::from_slice(body).unwrap();
        let field = |v: &Value, f: &str| v.get(f).cloned().unwrap_or(Value::Null);
        let (pre, post) = (&body["snapshots"]["prechange"], &body["snapshots"]["postchange"]);
        summary.push((
            body["event"].as_str().unwrap().to_owned(),
            body["data"]["name"].as_str().unwrap().to_owned(),
            field(pre, "spec"),
            field(post, "spec"),
            field(post, "git_file_path"),
        ));
    }
    let row = |event: &str, name: &str, pre: Value, post: Value, path: Value| {
        (event.to_owned(), name.to_owned(), pre, post, path)
    };
    assert_eq!(
        summary,
        [
            row("created", "vpc-3", Value::Null, json!({ "n": 3 }), json!("")),
            row("created", "vpc-4", Value::Null, json!({ "n": 4 }), json!("")),
            row("updated", "vpc-1", json!({ "a": 1 }), json!({ "a": 2 }), json!("")),
            row("deleted", "vpc-2", json!({}), Value::Null, Value::Null),
            row("updated", "vpc-3", json!({ "n": 3 }), json!({ "n": 3 }), json!("p/vpc-3.yaml")),
        ]
    );
}

#[tokio::test]
async fn an_update_of_a_row_deleted_after_the_check_is_refused() {
    let hnp = Hnp::start(NETBOX_TOKEN).unwrap();
    let dc1 = hnp.add_fabric("dc1");
    let a = hnp.add(Cr::new("VPC", dc1, "vpc-a", json!({})));
    hnp.add(Cr::new("VPC", dc1, "vpc-b", json!({})));
    let source = source(&hnp, 50);
    let crs = source.list("dc1").await.unwrap();
    // Deleted in the GUI right after the check's listing, before the PATCH: NetBox skips the
    // id without a word, and its answer lacks the row.
    hnp.change_during_listing(DuringListing::Delete { kind: "VPC".into(), id: a, after_pages: 1 });
    hnp.clear_requests();

    let from_git = json!({ "from": "git" });
    let changes = [spec_update(&crs, "vpc-a", &from_git), spec_update(&crs, "vpc-b", &from_git)];
    let answers = source.apply("dc1", &changes).await.unwrap();
    assert_eq!(answers, [Some("deleted from HNP since it was read".to_owned()), None]);
    assert_eq!(calls(&hnp), owned(&[("GET", "vpcs/"), ("PATCH", "vpcs/")]));
    assert_eq!(listed(&source.list("dc1").await.unwrap(), "vpc-b").spec, r#"{"from":"git"}"#);
}

#[tokio::test]
async fn a_bulk_write_is_sent_in_batches_of_1000_and_gives_up_after_32_more_requests() {
    let hnp = Hnp::start(NETBOX_TOKEN).unwrap();
    let dc1 = hnp.add_fabric("dc1");
    let entries: Vec<Synced> = (0..2500)
        .map(|i| {
            let name = format!("attachment-{i}");
            hnp.add(Cr::new("VPCAttachment", dc1, &name, json!({})));
            synced(reference("VPCAttachment", "", &name), &format!("managed/vpcattachments/{name}.yaml"))
        })
        .collect();
    let source = source(&hnp, 1000);
    source.list("dc1").await.unwrap();
    hnp.clear_requests();
    source.record("dc1", &entries).await.expect("record");
    let sizes: Vec<usize> = hnp
        .requests()
        .iter()
        .map(|r| (r.method.as_str(), serde_json::from_str::<Vec<Value>>(&r.body).unwrap().len()))
        .map(|(method, size)| if method == "PATCH" { size } else { 0 })
        .collect();
    assert_eq!(sizes, [1000, 1000, 500]);

    // Older NetBox names no refused object: with every object refused, the halving would
    // take 2n - 1 requests; it stops after 32 more than the batches.
    hnp.set_bulk_errors(BulkErrors::FirstOnly);
    let names: Vec<String> = (0..40).map(|i| format!("vpc-{i:02}")).collect();
    for name in &names {
        hnp.add(Cr::new("VPC", dc1, name, json!({})));
        hnp.refuse_writes("VPC", name, "spec", "no.");
    }
    let crs = source.list("dc1").await.unwrap();
    hnp.clear_requests();
    let changes: Vec<HnpChange> = names.iter().map(|name| spec_update(&crs, name, &json!({ "x": 1 }))).collect();
    let answers = source.apply("dc1", &changes).await.unwrap();
    assert_eq!(hnp.count("PATCH", &format!("{API}vpcs/")), 1 + 32);
    let gave_up = format!(
        "not written: gave up after 32 more bulk requests to PATCH {}vpcs/ that NetBox refused in part",
        hnp.api_url()
    );
    let (alone, rest): (Vec<_>, Vec<_>) =
        answers.iter().map(|a| a.as_deref().expect("refused")).partition(|why| *why == "spec: no.");
    assert!(!alone.is_empty() && !rest.is_empty() && rest.iter().all(|why| *why == gave_up), "{answers:?}");
}
