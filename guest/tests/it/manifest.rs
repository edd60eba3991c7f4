//! `parse_manifests` and `same_data` against real files: the samples read exactly as PyYAML
//! reads them, JSON manifests, dropped server fields, and errors that name the file and the
//! document.

use fgd_sync_guest::manifest::{parse_documents, parse_manifests, same_data, MAX_MANIFEST_BYTES};
use fgd_sync_guest::model::{InvalidManifest, RawResource, SyncError};
use pretty_assertions::assert_eq;
use serde_json::{json, Map, Value};

use crate::support;

/// What PyYAML should see for a parsed CR (see `yaml11_readback.py load-all`).
fn as_pyyaml_sees_it(raw: &RawResource) -> Value {
    let parse = |text: &str| -> Value { serde_json::from_str(text).expect("parser writes JSON") };
    let mut metadata = Map::new();
    metadata.insert("name".into(), json!(raw.name));
    if !raw.namespace.is_empty() {
        metadata.insert("namespace".into(), json!(raw.namespace));
    }
    for (key, text) in [("labels", &raw.labels), ("annotations", &raw.annotations)] {
        if !text.is_empty() && parse(text) != json!({}) {
            metadata.insert(key.into(), parse(text));
        }
    }
    json!({"apiVersion": raw.api_version, "kind": raw.kind, "metadata": metadata, "spec": parse(&raw.spec)})
}

#[test]
fn samples_read_as_pyyaml_reads_them() {
    let dir = support::scratch_dir("load-all");
    for name in support::SAMPLES {
        let docs: Vec<Value> = support::sample_resources(name).iter().map(as_pyyaml_sees_it).collect();
        assert!(!docs.is_empty());
        let want = dir.join(format!("{name}.json"));
        support::write(&want, &Value::Array(docs.clone()).to_string());
        let sample = support::sample_path(name);
        let out = support::run_python("yaml11_readback.py", &[std::path::Path::new("load-all"), &sample, &want]);
        assert!(out.contains(&format!("{} passed, 0 failed", docs.len())), "{name}: {out}");
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn sample_document_counts() {
    let counts: Vec<usize> = support::SAMPLES.iter().map(|n| support::sample_resources(n).len()).collect();
    assert_eq!(counts, vec![20, 166, 4, 4]);
}

/// YAML 1.1 scalars where PyYAML and a YAML 1.2 reader disagree, read as PyYAML does.
#[test]
fn plain_scalars_are_yaml_1_1() {
    let text = "\
apiVersion: vpc.githedgehog.com/v1beta1
kind: VPC
metadata:
  name: v
spec:
  a: yes
  b: 'yes'
  c: 0777
  d: On
  e: 1e3
  f: 2001-12-14
  g: 65102:50
  h: 65102:5000
  i: 0o17
  j: y
  k: 1_000
  l: \"0777\"
  m: ~
  n: 0x1F
";
    let raws = parse_manifests("s.yaml", text).unwrap();
    let spec: Value = serde_json::from_str(&raws[0].spec).unwrap();
    assert_eq!(
        spec,
        json!({
            "a": true, "b": "yes", "c": 511, "d": true, "e": "1e3", "f": "2001-12-14", "g": 3906170,
            "h": "65102:5000", "i": "0o17", "j": "y", "k": 1000, "l": "0777", "m": null, "n": 31
        })
    );
}

#[test]
fn fields_kept_defaulted_and_dropped() {
    let text = "\
# exported with kubectl get -o yaml
apiVersion: wiring.githedgehog.com/v1beta1
kind: Switch
metadata:
  name: leaf-01
  uid: 0b4a3c7e-8f00-4e4e-9a4e-000000000000
  resourceVersion: \"12345\"
  generation: 3
  creationTimestamp: 2024-10-17T10:00:00Z
  managedFields: [{manager: kubectl}]
  ownerReferences: []
  finalizers: [x]
  labels: {fabric.githedgehog.com/rack: r1, app: x}
spec: {role: spine}
status: {applied: {gen: 3}}
---
---
apiVersion: vpc.githedgehog.com/v1beta1
kind: VPC
metadata: {name: v, namespace: other}
";
    let raws = parse_manifests("k.yaml", text).unwrap();
    assert_eq!(
        raws,
        vec![
            RawResource {
                kind: "Switch".into(),
                api_version: Some("wiring.githedgehog.com/v1beta1".into()),
                name: "leaf-01".into(),
                namespace: String::new(),
                labels: r#"{"app":"x","fabric.githedgehog.com/rack":"r1"}"#.into(),
                annotations: String::new(),
                spec: r#"{"role":"spine"}"#.into(),
            },
            RawResource {
                kind: "VPC".into(),
                api_version: Some("vpc.githedgehog.com/v1beta1".into()),
                name: "v".into(),
                namespace: "other".into(),
                labels: String::new(),
                annotations: String::new(),
                spec: "{}".into(),
            },
        ]
    );
}

#[test]
fn json_manifests() {
    let text = r#"{"apiVersion": "vpc.githedgehog.com/v1beta1", "kind": "VPC",
        "metadata": {"name": "v", "labels": {"a": "on"}}, "spec": {"x": 1e3, "y": "yes", "z": [1, 2.5]}}"#;
    let raws = parse_manifests("v.json", text).unwrap();
    assert_eq!(raws.len(), 1);
    assert_eq!(raws[0].labels, r#"{"a":"on"}"#);
    assert_eq!(serde_json::from_str::<Value>(&raws[0].spec).unwrap(), json!({"x": 1000.0, "y": "yes", "z": [1, 2.5]}));
    // Python's json.dumps writes non-BMP characters as surrogate pairs.
    let emoji = text.replace("\"yes\"", "\"\\ud83d\\ude00\"");
    assert!(parse_manifests("v.json", &emoji).unwrap()[0].spec.contains('\u{1f600}'));
    let err = parse_manifests("v.json", &text.replace("\"y\"", "\"x\"")).unwrap_err();
    assert!(err.to_string().contains("v.json (document 0): invalid JSON: duplicate key \"x\""), "{err}");
}

/// `kubectl get -o yaml` (or `-o json`) prints several objects as one `kind: List`: each item
/// is a CR, placed by its document and item; other documents read as before.
#[test]
fn kubernetes_lists_hold_one_cr_per_item() {
    let yaml = "apiVersion: v1\nkind: List\nmetadata:\n  resourceVersion: \"\"\nitems:\n\
                - apiVersion: vpc.githedgehog.com/v1beta1\n  kind: VPC\n  metadata:\n    name: a\n\
                - apiVersion: vpc.githedgehog.com/v1beta1\n  kind: VPC\n  metadata:\n    name: b\n\
                ---\napiVersion: vpc.githedgehog.com/v1beta1\nkind: VPC\nmetadata:\n  name: c\n";
    let parsed = parse_documents("list.yaml", yaml).unwrap();
    let places: Vec<(u32, Option<u32>, &str)> =
        parsed.iter().map(|p| (p.document, p.item, p.resource.name.as_str())).collect();
    assert_eq!(places, [(0, Some(0), "a"), (0, Some(1), "b"), (1, None, "c")]);
    assert_eq!(parsed[1].field("metadata.name"), "items[1].metadata.name");
    assert_eq!(parsed[2].field("metadata.name"), "metadata.name");
    let json = r#"{"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "vpc.githedgehog.com/v1beta1", "kind": "VPC", "metadata": {"name": "a"}}]}"#;
    assert_eq!(parse_manifests("list.json", json).unwrap()[0].name, "a");
    // An item that is no CR names its place.
    let bad = r#"{"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "vpc.githedgehog.com/v1beta1", "kind": "VPC", "metadata": {"name": "a"}}, 7]}"#;
    let err = parse_manifests("list.json", bad).unwrap_err();
    assert!(err.to_string().contains("list.json (document 0): items[1]: the document is"), "{err}");
    // A List with something else than `items` (or of another API) is no List: refused as a CR.
    let odd = "apiVersion: v1\nkind: List\nitems: {}\n";
    assert!(parse_manifests("odd.yaml", odd).is_err());
}

/// A file whose document `index` is `bad`, after `index` good ones.
fn file_with_bad_document(index: usize, bad: &str) -> String {
    let good = "apiVersion: vpc.githedgehog.com/v1beta1\nkind: VPC\nmetadata:\n  name: ok\n";
    let mut text = String::new();
    for _ in 0..index {
        text.push_str(good);
        text.push_str("---\n");
    }
    text.push_str(bad);
    text
}

fn check_error(index: usize, bad: &str, words: &str) {
    let text = file_with_bad_document(index, bad);
    let err = parse_manifests("fabric/raw/x.yaml", &text).expect_err(bad);
    let SyncError::InvalidManifest(InvalidManifest { source, document, message }) = err else {
        panic!("{bad:?}: not an invalid-manifest error: {err:?}");
    };
    assert_eq!((source.as_str(), document), ("fabric/raw/x.yaml", u32::try_from(index).unwrap()), "{bad:?}: {message}");
    assert!(message.contains(words), "{bad:?}: {message:?} lacks {words:?}");
}

#[test]
fn errors_name_source_and_document() {
    let head = "apiVersion: vpc.githedgehog.com/v1beta1\nkind: VPC\nmetadata:\n  name: v\n";
    let mut bomb =
        String::from("apiVersion: v\nkind: VPC\nmetadata: {name: v}\nspec:\n  a: &a [x, x, x, x, x, x, x, x, x, x]\n");
    for (i, c) in ('b'..='j').enumerate() {
        let p = char::from(b'a' + u8::try_from(i).unwrap());
        bomb.push_str(&format!("  {c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"));
    }
    let cases: Vec<(usize, String, &str)> = vec![
        (0, "- a\n- b\n".into(), "an array, not a mapping"),
        (1, "just text\n".into(), "the string \"just text\", not a mapping"),
        (2, "apiVersion: vpc.githedgehog.com/v1beta1\nmetadata:\n  name: v\n".into(), "`kind` is missing"),
        (
            1,
            "apiVersion: vpc.githedgehog.com/v1beta1\nkind: VPC\nmetadata:\n  namespace: x\n".into(),
            "`metadata.name` is missing",
        ),
        (1, "apiVersion: vpc.githedgehog.com/v1beta1\nkind: VPC\n".into(), "`metadata` is missing"),
        (0, "kind: VPC\nmetadata: {name: v}\n".into(), "`apiVersion` is missing"),
        (1, "apiVersion: 1\nkind: VPC\nmetadata: {name: v}\n".into(), "`apiVersion` must be a string"),
        (1, format!("{head}  name: w\n"), "duplicate key \"name\" (at metadata)"),
        (1, format!("{head}spec:\n  a: 1\n  a: 2\n"), "duplicate key \"a\" (at spec)"),
        (2, bomb.clone(), "alias bomb"),
        (1, format!("{head}spec:\n  1: x\n"), "the key \"1\" is the number 1"),
        (
            1,
            format!("{head}spec:\n  nested:\n    on: x\n"),
            "the key \"on\" is the boolean true, not a string (quote it) (at spec.nested)",
        ),
        (1, format!("{head}items: []\n"), "unknown top-level field \"items\""),
        (1, format!("{head}  lables: {{}}\n"), "unknown field `metadata.lables`"),
        (1, format!("{head}spec: {{a: .nan}}\n"), "JSON cannot represent"),
        (1, format!("{head}spec: {{a: [1}}\n"), "invalid YAML at line"),
        (1, format!("{head}spec: !!binary aGVsbG8=\n"), "`!!binary` is not supported"),
    ];
    for (index, bad, words) in cases {
        check_error(index, &bad, words);
    }
}

#[test]
fn huge_files_are_refused() {
    let text = format!("# {}\n", "x".repeat(MAX_MANIFEST_BYTES));
    let err = parse_manifests("big.yaml", &text).unwrap_err();
    assert!(err.to_string().contains("at most 8388608"), "{err}");
}

#[test]
fn comment_only_and_empty_files_hold_nothing() {
    for text in ["", "# nothing here\n", "---\n---\n", "\u{feff}# bom\n"] {
        assert_eq!(parse_manifests("e.yaml", text).unwrap(), vec![], "{text:?}");
    }
}

#[test]
fn same_data_cases() {
    let canonical = "\
apiVersion: vpc.githedgehog.com/v1beta1
kind: VPC
metadata:
  name: v
  namespace: default
spec:
  subnets:
    default:
      subnet: 10.0.0.0/24
      vlan: 1000
";
    let reformatted = "\
# edited in Git: comments, order, flow style, quotes
kind: VPC
apiVersion: vpc.githedgehog.com/v1beta1
metadata: {name: v}
spec:
  subnets: {default: {vlan: 1000, subnet: '10.0.0.0/24'}}
status: {}
";
    // (a, b, same?)
    let cases = [
        (canonical, reformatted, true),
        (canonical, &*canonical.replace("1000", "1001"), false),
        (canonical, &*canonical.replace("vlan: 1000", "vlan: '1000'"), false),
        (canonical, &*canonical.replace("name: v", "name: w"), false),
        ("a: 1\nb: [x]\n", "{b: ['x'], a: 1}", true),
        ("a: yes\n", "a: true\n", true),
        ("a: yes\n", "a: 'yes'\n", false),
        ("a: [1", "a: [1", true),
        ("a: [1", "a: [2", false),
        ("a: [1", "a: 1\n", false),
        ("---\na: 1\n---\n", "a: 1\n", true),
        ("a: 1\n---\nb: 2\n", "b: 2\n---\na: 1\n", false),
    ];
    for (a, b, want) in cases {
        assert_eq!(same_data(a, b), want, "{a:?} vs {b:?}");
        assert_eq!(same_data(b, a), want, "{b:?} vs {a:?}");
    }
}
