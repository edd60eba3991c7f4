//! `validate` and `render` against real data: every sample CR renders byte-stably, reads back
//! identically under PyYAML (YAML 1.1) and satisfies its CRD; an edge-case corpus of
//! YAML-special strings survives; validation errors name the field; random specs round-trip.

use std::collections::BTreeSet;
use std::path::Path;

use fgd_sync_guest::manifest::parse_manifests;
use fgd_sync_guest::model::{Kind, RawResource, Resource};
use fgd_sync_guest::render::yaml11::{self, Tag};
use fgd_sync_guest::render::{render, render_raw, MAX_DOCUMENT_BYTES};
use fgd_sync_guest::validate;
use pretty_assertions::assert_eq;
use proptest::prelude::*;
use serde_json::{json, Map, Value};

use crate::support;

/// The two kinds that no sample holds, written from their CRDs.
const EXTRA_KINDS: &str = "\
apiVersion: vpc.githedgehog.com/v1beta1
kind: External
metadata:
  name: default
spec:
  inboundCommunity: 65102:5000
  ipv4Namespace: default
  outboundCommunity: 50000:50001
---
apiVersion: vpc.githedgehog.com/v1beta1
kind: ExternalAttachment
metadata:
  name: default--leaf-01
  annotations:
    fabric.githedgehog.com/p2p-link: leaf-01/E1/7
spec:
  connection: leaf-01--external--border
  external: default
  neighbor:
    asn: 64102
    ip: 100.100.0.6
  switch:
    ip: 100.100.0.1/24
    vlan: 100
";

/// Label keys the renderer drops (the fabric computes them).
fn fabric_label(key: &str) -> bool {
    key.contains("fabric.githedgehog.com/")
}

/// Every CR of the samples and `EXTRA_KINDS`, validated, named `file#document`.
fn sample_crs() -> Vec<(String, Resource)> {
    let mut out = Vec::new();
    let mut files: Vec<(String, Vec<RawResource>)> =
        support::SAMPLES.iter().map(|name| (name.to_string(), support::sample_resources(name))).collect();
    files.push(("extra".into(), parse_manifests("extra", EXTRA_KINDS).expect("extra kinds parse")));
    for (file, raws) in files {
        for (i, raw) in raws.iter().enumerate() {
            // `Gateway` is not one of the fabric kinds HNP holds (see `only_gateway_is_refused`).
            if raw.kind == "Gateway" {
                continue;
            }
            let resource = validate::resource(raw).unwrap_or_else(|e| panic!("{file}#{i}: {e}"));
            out.push((format!("{file}#{i}"), resource));
        }
    }
    out
}

/// What a rendered CR must mean to a YAML 1.1 reader.
fn meaning(r: &Resource) -> Value {
    let mut metadata = json!({"name": r.name, "namespace": r.namespace});
    let labels: Map<String, Value> =
        r.labels.iter().filter(|(k, _)| !fabric_label(k)).map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect();
    if !labels.is_empty() {
        metadata["labels"] = Value::Object(labels);
    }
    if !r.annotations.is_empty() {
        metadata["annotations"] = json!(r.annotations);
    }
    json!({"apiVersion": r.kind.api_version(), "kind": r.kind.as_str(), "metadata": metadata, "spec": r.spec})
}

/// Parses a rendered document back into its one CR.
fn reparse(id: &str, text: &str) -> Resource {
    let raws = parse_manifests(id, text).unwrap_or_else(|e| panic!("{id}: rendered text does not parse: {e}"));
    assert_eq!(raws.len(), 1, "{id}");
    validate::resource(&raws[0]).unwrap_or_else(|e| panic!("{id}: rendered text does not validate: {e}"))
}

#[test]
fn every_sample_renders_stably() {
    let crs = sample_crs();
    // 194 documents in the samples, less one Gateway, plus the two extra kinds.
    assert_eq!(crs.len(), 20 + 166 + 4 + 4 - 1 + 2);
    let kinds: BTreeSet<Kind> = crs.iter().map(|(_, r)| r.kind).collect();
    assert_eq!(kinds, Kind::ALL.into_iter().collect::<BTreeSet<_>>());
    for (id, resource) in &crs {
        let first = render(resource).unwrap_or_else(|e| panic!("{id}: {e}"));
        assert_eq!(render(resource).unwrap(), first, "{id}: render is not a function");
        assert!(first.ends_with('\n') && !first.contains('\r') && !first.contains("---"), "{id}");
        let back = reparse(id, &first);
        let mut want = resource.clone();
        want.labels.retain(|k, _| !fabric_label(k));
        assert_eq!(back, want, "{id}: data changed through render and parse");
        assert_eq!(render(&back).unwrap(), first, "{id}: not byte-stable");
    }
}

#[test]
fn only_gateway_is_refused() {
    let mut refused = Vec::new();
    for name in support::SAMPLES {
        for raw in support::sample_resources(name) {
            if let Err(e) = validate::resource(&raw) {
                refused.push((name, e.kind, e.field));
            }
        }
    }
    assert_eq!(refused, vec![("docs-sample-wiring.yaml", "Gateway".to_string(), "kind".to_string())]);
}

fn sample(file: &str, name: &str) -> Resource {
    let raw = support::sample_resources(file).into_iter().find(|r| r.name == name).expect("sample CR");
    validate::resource(&raw).expect("sample validates")
}

#[test]
fn snapshot_vpc() {
    let got = render(&sample("vpc-demo.yaml", "demo-vpc-3")).unwrap();
    let want = "\
apiVersion: vpc.githedgehog.com/v1beta1
kind: VPC
metadata:
  name: demo-vpc-3
  namespace: default
spec:
  permit:
    - - subnet-1
      - subnet-2
  subnets:
    subnet-1:
      dhcp:
        enable: true
        range:
          end: 10.10.131.99
          start: 10.10.131.10
      gateway: 10.10.131.1
      subnet: 10.10.131.0/24
      vlan: 1131
    subnet-2:
      dhcp:
        enable: true
      isolated: true
      restricted: true
      subnet: 10.10.132.0/24
      vlan: 1132
";
    assert_eq!(got, want);
}

#[test]
fn snapshot_connection() {
    let got = render(&sample("docs-sample-wiring.yaml", "spine-01--fabric--leaf-02")).unwrap();
    let want = "\
apiVersion: wiring.githedgehog.com/v1beta1
kind: Connection
metadata:
  name: spine-01--fabric--leaf-02
  namespace: default
spec:
  fabric:
    links:
      - leaf:
          port: leaf-02/E1/9
        spine:
          port: spine-01/E1/1/2
      - leaf:
          port: leaf-02/E1/10
        spine:
          port: spine-01/E1/2/2
";
    assert_eq!(got, want);
}

/// Strings that YAML readers are apt to read as something else, or that need escapes.
fn edge_strings() -> Vec<String> {
    let fixed = [
        "on",
        "off",
        "yes",
        "no",
        "y",
        "n",
        "Y",
        "NO",
        "N",
        "True",
        "FALSE",
        "~",
        "null",
        "Null",
        "0777",
        "0x1F",
        "0X1F",
        "0o17",
        "0b101",
        "1_000",
        "09",
        "0",
        "-1",
        "+1",
        "1.5",
        "1.",
        ".5",
        "-.5",
        "190:20:30",
        "65102:5000",
        "65102:50",
        "12:34:56:12:34:56",
        "0c:20:12:ff:02:00",
        "10.0.0.1",
        "10.10.131.0/24",
        "2001-12-14",
        "2001-12-14 21:59:43.10 -5",
        "2001-12-14t21:59:43.10-05:00",
        "2001-1-2",
        ".inf",
        "-.Inf",
        "+.INF",
        ".NaN",
        "1e3",
        "1E3",
        "6.8523015e+5",
        "1_000.5",
        "190:20:30.15",
        "=",
        "<<",
        "- x",
        "-x",
        "-",
        "a: b",
        "a:b",
        "#x",
        "x #y",
        "x#y",
        "x:",
        "?",
        "? x",
        "\"",
        "'",
        "''",
        "",
        " ",
        " lead",
        "trail ",
        "multi\nline",
        "tab\t",
        "x\r\ny",
        "ä",
        "é ü 中文 😀",
        "\u{7}",
        "\u{0}",
        "\u{1b}[0m",
        "\u{85}",
        "x\u{2028}y",
        "\u{feff}x",
        "\\",
        "...",
        "---",
        "!tag",
        "&a",
        "*a",
        "|",
        "> x",
        "%x",
        "@x",
        "`x",
        "{a}",
        "[a]",
        ",x",
        "say \"hi\"",
        "it's",
    ];
    let mut out: Vec<String> = fixed.iter().map(|s| s.to_string()).collect();
    out.extend(["x".repeat(300), "1".repeat(300), "a: ".repeat(100), format!("{}é", "ü".repeat(299))]);
    out
}

/// CRs that exercise every scalar rule: the edge strings as values, keys, label values,
/// annotations and names, plus numbers, floats, booleans, nulls and nested collections.
fn edge_crs() -> Vec<Resource> {
    let strings = edge_strings();
    let keys: Map<String, Value> = strings.iter().enumerate().map(|(i, s)| (s.clone(), json!(i))).collect();
    let spec = json!({
        "values": strings,
        "keys": keys,
        "nested-keys": [keys.clone(), {"inner": [keys]}],
        "ints": [0, 1, -1, 511, i64::MIN, i64::MAX, u64::MAX],
        "floats": [1.0, -0.0, 0.5, 1e300, 1.5e-7, 6.8523015e+5, 1000.5, -2.5e-300, 1e16, 123456789.125],
        "bools": [true, false],
        "nothing": null,
        "nested": [[[]], [[1, "on"], {}], [{"a": [{"b": {}}]}], [[["deep"]]]],
        "empty-map": {},
        "empty-list": [],
        "long-key": {"k".repeat(1100): "v", format!("on{}", "x".repeat(1100)): {"a": [1]}},
    });
    let mut labels: std::collections::BTreeMap<String, String> =
        ["on", "yes", "y", "n", "0777", "1e3", "true", "null", "", "65102", "1.5", "0x1F", "No"]
            .iter()
            .enumerate()
            .map(|(i, v)| (format!("l{i}"), v.to_string()))
            .collect();
    labels.insert("fabric.githedgehog.com/vpc".into(), "dropped".into());
    let mut annotations: std::collections::BTreeMap<String, String> =
        edge_strings().into_iter().enumerate().map(|(i, v)| (format!("a{i}"), v)).collect();
    annotations.insert("fabric.githedgehog.com/p2p-link".into(), "kept".into());
    let base = Resource {
        kind: Kind::Vpc,
        name: "edge".into(),
        namespace: "default".into(),
        labels,
        annotations,
        spec: match spec {
            Value::Object(m) => m,
            _ => unreachable!(),
        },
    };
    let mut out = vec![base];
    for name in ["no", "on", "y", "n", "0777", "1e3", "123", "null", "true", "0x1f", "1-2", "190-20"] {
        out.push(Resource {
            kind: Kind::Vpc,
            name: name.into(),
            namespace: "yes".into(),
            labels: Default::default(),
            annotations: Default::default(),
            spec: Map::new(),
        });
    }
    out
}

#[test]
fn pyyaml_reads_back_what_was_meant() {
    let dir = support::scratch_dir("readback");
    let mut crs: Vec<Resource> = sample_crs().into_iter().map(|(_, r)| r).collect();
    crs.extend(edge_crs());
    for (i, r) in crs.iter().enumerate() {
        let text = render(r).unwrap_or_else(|e| panic!("{}: {e}", r.reference()));
        support::write(&dir.join(format!("{i:04}.yaml")), &text);
        support::write(&dir.join(format!("{i:04}.json")), &meaning(r).to_string());
    }
    let out = support::run_python("yaml11_readback.py", &[Path::new("readback"), &dir]);
    assert!(out.contains(&format!("{} passed, 0 failed", crs.len())), "{out}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn edge_corpus_round_trips_through_our_parser() {
    for r in edge_crs() {
        let text = render(&r).unwrap();
        let back = reparse(&r.name, &text);
        let mut want = r.clone();
        want.labels.retain(|k, _| !fabric_label(k));
        assert_eq!(back, want);
        assert_eq!(render(&back).unwrap(), text);
    }
}

#[test]
fn rendered_samples_satisfy_their_crds() {
    let dir = support::scratch_dir("crd");
    let crs = sample_crs();
    for (i, (_, r)) in crs.iter().enumerate() {
        support::write(&dir.join(format!("{i:04}.yaml")), &render(r).unwrap());
    }
    let out = support::run_python("crd_validate.py", &[&support::crd_dir(), &dir]);
    assert!(out.contains(&format!("{} passed, 0 failed", crs.len())), "{out}");
    let _ = std::fs::remove_dir_all(dir);
}

/// Strings near PyYAML's resolver regexes: every string of up to 4 characters over an
/// alphabet of digits and number punctuation, and pseudo-random longer ones shaped like
/// numbers, times and booleans.
fn resolver_corpus() -> Vec<String> {
    let short: Vec<char> = "0159-+.:_eExbT ".chars().collect();
    let mut out = vec![String::new()];
    let mut layer = vec![String::new()];
    for _ in 0..4 {
        layer = layer.iter().flat_map(|p| short.iter().map(move |c| format!("{p}{c}"))).collect();
        out.extend(layer.iter().cloned());
    }
    let long: Vec<char> = "0123456789012345-+.:_:-.eEZTt \tonfyYNOxbIia".chars().collect();
    let templates = ["2001-12-14", "2001-12-14T21:59:43.10-05:00", "190:20:30.15", "1_000.5e+3", "0b1010", ".inf"];
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = |n: usize| {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        usize::try_from(seed >> 33).unwrap_or(0) % n
    };
    for i in 0..60_000 {
        let mut s: String = if i % 2 == 0 {
            templates[next(templates.len())].to_string()
        } else {
            (0..5 + next(20)).map(|_| long[next(long.len())]).collect()
        };
        // Mutate a few positions of the template: replace, insert or delete one character.
        for _ in 0..next(3) {
            let mut chars: Vec<char> = s.chars().collect();
            let at = next(chars.len() + 1);
            match next(3) {
                0 if at < chars.len() => chars[at] = long[next(long.len())],
                1 => chars.insert(at, long[next(long.len())]),
                _ if at < chars.len() => {
                    chars.remove(at);
                }
                _ => {}
            }
            s = chars.into_iter().collect();
        }
        out.push(s);
    }
    for word in ["yes", "no", "true", "false", "on", "off", "null", "y", "n", ".nan", ".inf", "<<", "=", "~"] {
        for variant in [word.to_string(), word.to_uppercase(), format!("{}{}", word[..1].to_uppercase(), &word[1..])] {
            out.push(variant.clone());
            out.push(format!("-{variant}"));
            out.push(format!("{variant}x"));
        }
        out.push(word.chars().enumerate().map(|(i, c)| if i % 2 == 1 { c.to_ascii_uppercase() } else { c }).collect());
    }
    out
}

/// `yaml11::pyyaml_tag` is PyYAML's `Resolver`, checked string by string against PyYAML.
#[test]
fn resolver_agrees_with_pyyaml() {
    let corpus = resolver_corpus();
    assert!(corpus.len() > 100_000);
    let dir = support::scratch_dir("resolve");
    let (strings, tags) = (dir.join("strings.json"), dir.join("tags.json"));
    support::write(&strings, &serde_json::to_string(&corpus).unwrap());
    support::run_python("yaml11_readback.py", &[Path::new("resolve"), &strings, &tags]);
    let python: Vec<String> = serde_json::from_str(&std::fs::read_to_string(&tags).unwrap()).unwrap();
    assert_eq!(python.len(), corpus.len());
    // The corpus reaches every resolver, not just `str`.
    let seen: BTreeSet<&str> = python.iter().map(String::as_str).collect();
    let all = ["bool", "float", "int", "merge", "null", "str", "timestamp", "value"];
    assert_eq!(seen, all.into_iter().collect::<BTreeSet<_>>());
    for tag in ["int", "float", "timestamp"] {
        assert!(python.iter().filter(|t| *t == tag).count() > 1000, "few {tag} strings in the corpus");
    }
    let name = |t: Tag| match t {
        Tag::Null => "null",
        Tag::Bool => "bool",
        Tag::Int => "int",
        Tag::Float => "float",
        Tag::Timestamp => "timestamp",
        Tag::Merge => "merge",
        Tag::Value => "value",
        Tag::Str => "str",
    };
    let wrong: Vec<String> = corpus
        .iter()
        .zip(&python)
        .filter(|(s, want)| name(yaml11::pyyaml_tag(s)) != want.as_str())
        .take(20)
        .map(|(s, want)| format!("{s:?}: ours {}, PyYAML {want}", name(yaml11::pyyaml_tag(s))))
        .collect();
    assert!(wrong.is_empty(), "{wrong:#?}");
    let _ = std::fs::remove_dir_all(dir);
}

fn raw(kind: &str, name: &str) -> RawResource {
    RawResource { kind: kind.into(), name: name.into(), spec: "{}".into(), ..RawResource::default() }
}

/// One bad input: what it is, the field the error must name, and words the message must hold.
fn check_invalid(input: RawResource, field: &str, words: &str) {
    let e = validate::resource(&input).expect_err(&format!("{input:?} was accepted"));
    assert_eq!(e.field, field, "{input:?}: {e}");
    assert!(e.message.contains(words), "{input:?}: {:?} lacks {words:?}", e.message);
    assert_eq!((e.kind.as_str(), e.name.as_str()), (input.kind.as_str(), input.name.as_str()));
    let namespace = if input.namespace.is_empty() { "default" } else { input.namespace.as_str() };
    assert_eq!(e.namespace, namespace);
    // The WIT `render` refuses the same input with the same error.
    assert_eq!(render_raw(&input), Err(e));
}

#[test]
fn validation_errors_name_the_field() {
    let with = |f: &dyn Fn(&mut RawResource)| {
        let mut r = raw("Switch", "leaf-01");
        f(&mut r);
        r
    };
    let cases: Vec<(RawResource, &str, &str)> = vec![
        (raw("Switch", "leaf/01"), "metadata.name", "contains `/`"),
        (raw("Switch", "a..b"), "metadata.name", "contains `..`"),
        (raw("Switch", "Leaf-01"), "metadata.name", "upper-case letters (did you mean \"leaf-01\"?)"),
        (raw("Switch", &"x".repeat(300)), "metadata.name", "is 300 characters long; Switch names have at most 253"),
        (raw("VPC", "abcdefghijkl"), "metadata.name", "is 12 characters long; VPC names have at most 11"),
        (raw("Switch", ""), "metadata.name", "is empty"),
        (raw("Switch", "-leaf"), "metadata.name", "starts or ends with `-`"),
        (raw("Switch", "leaf_01"), "metadata.name", "contains '_'"),
        (raw("vpc", "v"), "kind", "did you mean \"VPC\""),
        (raw("Gateway", "g"), "kind", "expected one of VPC, VPCAttachment"),
        (
            RawResource { api_version: Some("vpc.githedgehog.com/v1alpha2".into()), ..raw("VPC", "v") },
            "apiVersion",
            "is obsolete",
        ),
        (
            RawResource { api_version: Some("wiring.githedgehog.com/v1beta1".into()), ..raw("VPC", "v") },
            "apiVersion",
            "expected \"vpc.githedgehog.com/v1beta1\"",
        ),
        (with(&|r| r.namespace = "Default".into()), "metadata.namespace", "upper-case"),
        (with(&|r| r.namespace = "x".repeat(64)), "metadata.namespace", "is 64 characters long"),
        (with(&|r| r.spec = "[]".into()), "spec", "must be a JSON object, found an array"),
        (with(&|r| r.spec = "\"x\"".into()), "spec", "found the string \"x\""),
        (with(&|r| r.spec = "{\"a\": ".into()), "spec", "at line 1 column 6"),
        (with(&|r| r.spec = format!("{{\"a\": {}1{}}}", "[".repeat(200), "]".repeat(200))), "spec", "deeper than 128"),
        (with(&|r| r.spec = format!("{{\"a\": \"{}\"}}", "x".repeat(2 * 1024 * 1024))), "spec", "at most 1048576"),
        (with(&|r| r.labels = "{\"a\": 1}".into()), "metadata.labels.a", "must be a string, found the number 1"),
        (with(&|r| r.labels = "[]".into()), "metadata.labels", "must be a JSON object"),
        (with(&|r| r.labels = "{".into()), "metadata.labels", "not valid JSON"),
        (with(&|r| r.labels = "{\"a\": \"b c\"}".into()), "metadata.labels.a", "label value \"b c\" is invalid"),
        (with(&|r| r.labels = "{\"a\": \"x\"}".replace('x', &"x".repeat(64))), "metadata.labels.a", "64 characters"),
        (with(&|r| r.labels = "{\"a/b/c\": \"x\"}".into()), "metadata.labels.a/b/c", "more than one `/`"),
        (with(&|r| r.labels = "{\"Ex.com/a\": \"x\"}".into()), "metadata.labels.Ex.com/a", "not a DNS subdomain"),
        (with(&|r| r.annotations = "{\"x\": 2}".into()), "metadata.annotations.x", "must be a string"),
        (with(&|r| r.annotations = "{\"-x\": \"v\"}".into()), "metadata.annotations.-x", "annotation key"),
        (
            with(&|r| r.annotations = format!("{{\"big\": \"{}\"}}", "x".repeat(300 * 1024))),
            "metadata.annotations",
            "at most 262144",
        ),
    ];
    for (input, field, words) in cases {
        check_invalid(input, field, words);
    }
}

#[test]
fn empty_texts_mean_empty_maps() {
    let r = validate::resource(&RawResource { labels: String::new(), annotations: String::new(), ..raw("VPC", "v") })
        .unwrap();
    assert!(r.labels.is_empty() && r.annotations.is_empty() && r.namespace == "default");
    assert_eq!(
        render(&r).unwrap(),
        "apiVersion: vpc.githedgehog.com/v1beta1\nkind: VPC\nmetadata:\n  name: v\n  namespace: default\nspec: {}\n"
    );
}

#[test]
fn oversized_documents_are_refused() {
    let mut r = validate::resource(&raw("VPC", "v")).unwrap();
    // Escapes make the document larger than the spec's JSON.
    r.spec.insert("s".into(), Value::String("\u{1}".repeat(MAX_DOCUMENT_BYTES / 5)));
    let e = render(&r).unwrap_err();
    assert_eq!((e.field.as_str(), e.name.as_str()), ("spec", "v"));
}

// ---------------------------------------------------------------------------------------
// Properties.

/// Words and fragments that YAML treats specially.
fn word() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "on",
            "off",
            "yes",
            "No",
            "y",
            "N",
            "~",
            "null",
            "true",
            "0777",
            "0x1F",
            "0b1",
            "1_0",
            "1e3",
            "1.5",
            ".5",
            "=",
            "<<",
            "65102:50",
            "65102:5000",
            "2001-12-14",
            ".inf",
            "",
            " ",
            "-",
            "#",
            ":",
            "- x",
            "a: b",
            "x #y",
            "'",
            "\"",
            "\\",
            "...",
            "10.0.0.1",
        ])
        .prop_map(String::from),
        "[a-zA-Z0-9:# '\"\\\\._/{}\\[\\],&*!|>%@`?=<~ä\\n\\t-]{0,10}",
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        word().prop_map(Value::String),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<bool>().prop_map(Value::Bool),
        Just(Value::Null),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 40, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map(word(), inner, 0..5).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn spec_entries() -> impl Strategy<Value = Vec<(String, Value)>> {
    prop::collection::btree_map(word(), json_value(), 0..6).prop_map(|m| m.into_iter().collect())
}

fn resource_with(entries: &[(String, Value)]) -> Resource {
    let mut spec = Map::new();
    for (k, v) in entries {
        spec.insert(k.clone(), v.clone());
    }
    Resource {
        kind: Kind::Vpc,
        name: "p".into(),
        namespace: "default".into(),
        labels: Default::default(),
        annotations: Default::default(),
        spec,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn render_then_parse_is_identity(entries in spec_entries()) {
        let r = resource_with(&entries);
        let text = render(&r).unwrap();
        let raws = parse_manifests("prop", &text).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        prop_assert_eq!(raws.len(), 1);
        let back = validate::resource(&raws[0]).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(&back, &r, "{}", text);
        prop_assert_eq!(render(&back).unwrap(), text);
    }

    #[test]
    fn render_depends_on_data_only(entries in spec_entries().prop_shuffle()) {
        let mut sorted = entries.clone();
        sorted.sort_by(|a, b| a.0.cmp(&b.0));
        prop_assert_eq!(render(&resource_with(&entries)).unwrap(), render(&resource_with(&sorted)).unwrap());
    }
}

/// serde_json without `float_roundtrip` parsed this one ulp off on its way through the
/// spec's JSON text (found by `render_then_parse_is_identity`).
#[test]
fn regression_float_survives_json_text() {
    let r = resource_with(&[("f".into(), json!(7.692504197319455e130))]);
    let raw = &parse_manifests("f", &render(&r).unwrap()).unwrap()[0];
    assert_eq!(validate::resource(raw).unwrap(), r);
}
