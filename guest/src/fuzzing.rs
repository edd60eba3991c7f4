//! The fuzz targets' bodies, so cargo-fuzz (`guest/fuzz`, nightly) and the stable smoke test
//! (`tests/it/fuzz_smoke.rs`) run the same code. Each function takes arbitrary bytes and
//! panics only when an invariant breaks; inputs the code may refuse (invalid YAML, invalid
//! CRs, bad state files) simply end the run. Behind the `fuzzing` feature: test code, never
//! compiled into the component.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use crate::blob::blob_sha;
use crate::manifest;
use crate::model::{Kind, RawResource, Resolution, Resource, Side};
use crate::path;
use crate::plan::{self, CommitPlan, PlanInput};
use crate::render;
use crate::state::{StateEntry, SyncState};
use crate::validate;

/// Label keys `render` drops (see `render::FABRIC_LABEL_MARK`).
const FABRIC_LABEL_MARK: &str = "fabric.githedgehog.com/";

/// Manifest text: parsing never panics, and every CR that validates renders to canonical
/// bytes that parse back to the same CR.
pub fn parse_manifests(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let Ok(resources) = manifest::parse_manifests("fuzz.yaml", &text) else { return };
    for raw in &resources {
        if let Ok(resource) = validate::resource(raw) {
            check_rendering(&resource);
        }
    }
}

/// A `RawResource` decoded from the bytes (see `raw_resource`): validation and rendering
/// never panic, and a rendering is canonical and round-trips.
pub fn render(data: &[u8]) {
    let raw = raw_resource(data);
    // `render_raw` is the WIT export; it must agree with validate + render.
    let exported = render::render_raw(&raw);
    match validate::resource(&raw) {
        Ok(resource) => {
            let out = check_rendering(&resource);
            match (&exported, out) {
                (Ok(a), Some(b)) => assert_eq!(a, &b, "render_raw and render disagree"),
                (Err(_), None) => {}
                (a, b) => panic!("render_raw gave {a:?}, render gave {b:?}"),
            }
        }
        Err(e) => assert_eq!(exported, Err(e), "render_raw and validate disagree"),
    }
}

/// Checks one valid CR's rendering; `None` when it is refused as too large (the only
/// refusal `render` has).
fn check_rendering(resource: &Resource) -> Option<String> {
    let out = match render::render(resource) {
        Ok(out) => out,
        Err(e) if e.message.contains("larger than") => return None,
        Err(e) => panic!("a valid CR does not render: {e:?}\n{resource:#?}"),
    };
    let again = render::render(resource).expect("rendered once, not twice");
    assert_eq!(out, again, "rendering is not deterministic");
    assert!(!out.contains('\r'), "CR in rendering: {out:?}");
    assert!(out.ends_with('\n') && !out.ends_with("\n\n"), "rendering must end with one LF: {out:?}");
    assert!(manifest::same_data(&out, &out), "same_data(x, x) is false for {out:?}");

    let parsed = manifest::parse_manifests("rendered.yaml", &out)
        .unwrap_or_else(|e| panic!("the rendering does not parse: {e:?}\n{out}"));
    assert_eq!(parsed.len(), 1, "the rendering holds {} documents:\n{out}", parsed.len());
    let reread = validate::resource(&parsed[0])
        .unwrap_or_else(|e| panic!("the rendering does not validate: {e:?}\n{out}\n{:#?}", parsed[0]));
    let mut want = resource.clone();
    want.labels.retain(|k, _| !k.contains(FABRIC_LABEL_MARK));
    assert_eq!(reread, want, "the rendering reads back as other data:\n{out}");
    let rerendered = render::render(&reread).expect("a re-read rendering renders");
    assert_eq!(rerendered, out, "rendering is not a fixed point");
    Some(out)
}

/// Bytes as a CR: fields separated by `0xFF` (never in UTF-8), each read lossily.
///
/// Field 0 is a header of mode bytes: the kind (one of the 12, or field 1's text), the
/// apiVersion (none, the right one, or field 2's text), and whether labels, annotations and
/// spec are fields taken as JSON text or fields wrapped as a string value. Wrapping makes
/// every byte string reach the scalar writer instead of stopping at JSON syntax.
/// Then: 1 kind, 2 apiVersion, 3 name, 4 namespace, 5 labels, 6 annotations, 7 spec key,
/// 8 spec value.
pub fn raw_resource(data: &[u8]) -> RawResource {
    let mut fields = data.split(|&b| b == 0xFF);
    let header = fields.next().unwrap_or_default();
    let mut text = || fields.next().map(|f| String::from_utf8_lossy(f).into_owned()).unwrap_or_default();
    let [kind_text, api_text, name, namespace, labels, annotations, key, value] = std::array::from_fn(|_| text());
    let mode = |i: usize| header.get(i).copied().unwrap_or(0);

    let kind = match Kind::ALL.get(usize::from(mode(0) % 16)) {
        Some(k) => k.as_str().to_string(),
        None => kind_text,
    };
    let api_version = match mode(1) % 3 {
        0 => None,
        1 => Kind::parse(&kind).map(|k| k.api_version().to_string()),
        _ => Some(api_text),
    };
    let flags = mode(2);
    let wrap = |raw_json: bool, key: &str, field: String| {
        if raw_json || field.is_empty() && flags & 0x40 != 0 {
            field
        } else {
            Value::Object(Map::from_iter([(key.to_string(), Value::String(field))])).to_string()
        }
    };
    RawResource {
        kind,
        api_version,
        // An empty name is refused; a fixed one lets the other fields reach the renderer.
        name: if name.is_empty() && flags & 0x80 == 0 { "fuzz".into() } else { name },
        namespace,
        labels: wrap(flags & 1 != 0, "fuzz", labels),
        annotations: wrap(flags & 2 != 0, "fuzz.example.com/a", annotations),
        spec: match flags & 0x0C {
            0 => wrap(false, &key, value),
            4 => value,
            // The value as a key, and as a string inside a list and a nested map.
            8 => serde_json::json!({ value.clone(): [value.clone(), { key: value }] }).to_string(),
            _ => serde_json::json!({ key: [value.clone(), value.len(), -(value.len() as f64) / 3.0] }).to_string(),
        },
    }
}

// ---------------------------------------------------------------------------------------
// plan

/// The CRs a fuzzed fabric is made of: one of several kinds, from the Hedgehog samples.
const POOL: &str = r#"
apiVersion: vpc.githedgehog.com/v1beta1
kind: VPC
metadata:
  name: vpc-1
spec:
  subnets:
    default:
      subnet: 10.0.1.0/24
      vlan: 1001
      dhcp: {enable: true, range: {start: 10.0.1.10}}
---
apiVersion: vpc.githedgehog.com/v1beta1
kind: VPCAttachment
metadata:
  name: vpc-1--server-1
spec:
  connection: server-1--mclag--leaf-01--leaf-02
  subnet: vpc-1/default
---
apiVersion: wiring.githedgehog.com/v1beta1
kind: Switch
metadata:
  name: leaf-01
  labels: {fabric.githedgehog.com/rack: rack-1}
spec:
  role: server-leaf
  asn: 65101
  vlanNamespaces: [default]
---
apiVersion: wiring.githedgehog.com/v1beta1
kind: Connection
metadata:
  name: spine-01--fabric--leaf-01
  namespace: team-a
spec:
  fabric:
    links:
      - spine: {port: spine-01/E1/1, ip: 172.30.30.0/31}
        leaf: {port: leaf-01/E1/1, ip: 172.30.30.1/31}
---
apiVersion: vpc.githedgehog.com/v1beta1
kind: IPv4Namespace
metadata:
  name: default
spec:
  subnets: [10.0.0.0/16]
"#;

const MESSAGE_PREFIX: &str = "[fuzz] ";

/// Reads the fuzzer's bytes as small numbers; zeros once they run out.
struct Bytes<'a>(&'a [u8]);

impl<'a> Bytes<'a> {
    fn byte(&mut self) -> u8 {
        let (&first, rest) = self.0.split_first().unwrap_or((&0, &[]));
        self.0 = rest;
        first
    }

    /// Up to `max` bytes, as text.
    fn text(&mut self, max: usize) -> String {
        let n = usize::from(self.byte()).min(max).min(self.0.len());
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        String::from_utf8_lossy(head).into_owned()
    }
}

/// A branch: files by path, and every text it ever held by blob SHA (Git keeps old blobs).
#[derive(Clone, Default)]
struct Repo {
    files: BTreeMap<String, String>,
    blobs: BTreeMap<String, String>,
}

impl Repo {
    fn put(&mut self, path: &str, text: String) {
        self.blobs.insert(blob_sha(text.as_bytes()), text.clone());
        self.files.insert(path.to_string(), text);
    }

    /// `input` with the branch as it is now.
    fn reread(&self, input: &PlanInput, state_path: &str) -> PlanInput {
        PlanInput {
            remote_files: self.files.iter().map(|(p, t)| (p.clone(), blob_sha(t.as_bytes()))).collect(),
            state: self.files.get(state_path).cloned(),
            contents: BTreeMap::new(),
            ..input.clone()
        }
    }

    /// Plans, handing over the contents asked for (at most two rounds: remote, then base).
    /// `None` when the plan refuses its input, or asks for a text no one has.
    fn plan(&self, mut input: PlanInput) -> Option<CommitPlan> {
        for _ in 0..3 {
            let plan = plan::plan(&input, MESSAGE_PREFIX).ok()?;
            if plan.need_contents.is_empty() {
                return Some(plan);
            }
            assert!(plan.writes.is_empty() && plan.changes.is_empty(), "a plan that needs contents decided");
            for sha in &plan.need_contents {
                assert!(!input.contents.contains_key(sha), "asked twice for {sha}");
                input.contents.insert(sha.clone(), self.blobs.get(sha)?.clone());
            }
        }
        panic!("the plan keeps asking for contents");
    }

    fn apply(&mut self, plan: &CommitPlan) {
        for w in &plan.writes {
            match &w.content {
                Some(text) => self.put(&w.path, text.clone()),
                None => {
                    self.files.remove(&w.path);
                }
            }
        }
    }
}

/// One pool CR edited: `how` 0 leaves it, 1 adds a label, 2 changes the spec.
fn edited(raw: &RawResource, how: u8, n: u8) -> RawResource {
    let object = |text: &str| -> Map<String, Value> {
        if text.trim().is_empty() {
            Map::new()
        } else {
            serde_json::from_str(text).expect("pool JSON")
        }
    };
    let mut raw = raw.clone();
    match how % 3 {
        0 => {}
        1 => {
            let mut labels = object(&raw.labels);
            labels.insert("edited".into(), format!("v{n}").into());
            raw.labels = Value::Object(labels).to_string();
        }
        _ => {
            let mut spec = object(&raw.spec);
            spec.insert("fuzz".into(), Value::from(n));
            raw.spec = Value::Object(spec).to_string();
        }
    }
    raw
}

fn rendered(raw: &RawResource) -> String {
    render::render_raw(raw).expect("pool CRs render")
}

/// A fabric built from the bytes, then planned: the plan must not panic, must not depend on
/// the order of `desired`, must leave conflicting and foreign paths alone, and applying it
/// must leave nothing to do.
pub fn plan(data: &[u8]) {
    let pool: Vec<RawResource> = manifest::parse_manifests("pool.yaml", POOL).expect("the pool parses");
    let mut bytes = Bytes(data);
    let flags = bytes.byte();
    let directory = if flags & 1 == 0 { "fabrics/dc1/gitops" } else { "" };
    let directory = path::normalize_directory(directory).expect("fixed directory");
    let state_path = path::state_path(&directory);
    let mut input = PlanInput { directory: directory.clone(), complete: flags & 2 != 0, ..PlanInput::default() };
    let mut repo = Repo::default();
    let mut state = SyncState::default();
    let mut foreign: Vec<String> = Vec::new();

    // An earlier sync of some pool CRs gives a state the plan itself wrote.
    let history = flags & 4 != 0;
    if history {
        let mask = bytes.byte();
        let earlier: Vec<RawResource> =
            pool.iter().enumerate().filter(|(i, _)| mask & (1 << i) != 0).map(|(_, r)| r.clone()).collect();
        let first = PlanInput { desired: earlier, ..input.clone() };
        let Some(plan) = repo.plan(first) else { panic!("syncing pool CRs into an empty repo failed") };
        repo.apply(&plan);
        if let Some(text) = repo.files.get(&state_path) {
            state = SyncState::parse(text).expect("the plan's own state file parses");
        }
    }

    for raw in &pool {
        let reference = validate::resource(raw).expect("pool CRs validate").reference();
        let file = path::manifest_path(&directory, &reference);
        let relative = path::strip_directory(&directory, &file).expect("inside").to_string();
        let [what, how, remote, base] = std::array::from_fn(|_| bytes.byte());
        let desired = edited(raw, how, how >> 2);
        // Versions of this CR's file: renderings, reformatted ones, other data, garbage.
        let version = |v: u8, bytes: &mut Bytes| match v % 8 {
            1 => rendered(raw),
            2 => rendered(&desired),
            3 => format!("# kept by hand\n{}\n", rendered(raw)),
            4 => format!("# kept by hand\n{}", rendered(&desired)),
            5 => rendered(&edited(raw, v >> 3, v >> 4)),
            6 => "{ not yaml: [\n".to_string(),
            _ => bytes.text(64),
        };
        match what % 4 {
            1 | 2 => input.desired.push(desired.clone()),
            3 => input.deleted.push(reference.clone()),
            _ => {}
        }
        if what & 0x04 != 0 && !(history && what & 0x08 != 0) {
            // In a fabric with history, 0x08 keeps the file Git has.
            if remote % 8 == 0 {
                repo.files.remove(&file);
            } else {
                let text = version(remote, &mut bytes);
                repo.put(&file, text);
            }
        }
        if !history && base % 8 != 0 {
            let base_text = version(base, &mut bytes);
            let base_sha = blob_sha(base_text.as_bytes());
            repo.blobs.insert(base_sha.clone(), base_text);
            let rendered_sha = match (base >> 3) % 3 {
                0 => None,
                1 => Some(blob_sha(rendered(raw).as_bytes())),
                _ => Some(blob_sha(rendered(&desired).as_bytes())),
            };
            let rendered = rendered_sha.filter(|r| *r != base_sha);
            state.files.insert(
                relative.clone(),
                StateEntry { resource: reference.clone(), sha: base_sha, rendered, deleted: false, untrusted: false },
            );
        }
        if what & 0x30 != 0 {
            let take = if what & 0x10 != 0 { Side::Git } else { Side::Hnp };
            input.resolutions.push(Resolution { path: file.clone(), take, expect: None });
        }
        // Neither desired nor deleted nor in the state: the plan must not touch the file.
        if what % 4 == 0 && !state.files.contains_key(&relative) {
            foreign.push(file);
        }
    }
    if flags & 8 != 0 {
        let file = path::join(&directory, "managed/vpcs/foreign.yaml");
        let text = bytes.text(64);
        repo.put(&file, text);
        foreign.push(file);
    }
    if !history && flags & 0x10 == 0 {
        repo.put(&state_path, state.to_text());
    }
    if flags & 0x20 != 0 {
        // A state file edited by hand: mostly refused, which is fine.
        let text = bytes.text(255);
        repo.put(&state_path, text);
    }
    let input = repo.reread(&input, &state_path);
    let Some(plan) = repo.plan(input.clone()) else { return };

    // Order of desired.
    let mut shuffled = input.desired.clone();
    shuffled.reverse();
    if !shuffled.is_empty() {
        let by = usize::from(bytes.byte()) % shuffled.len();
        shuffled.rotate_left(by);
    }
    let permuted = repo.plan(PlanInput { desired: shuffled, ..input.clone() });
    assert_eq!(permuted.as_ref(), Some(&plan), "the order of desired changed the plan");

    // Safety: conflicts and foreign files are left alone; every write is a change's.
    let conflicts: BTreeSet<&str> = plan.conflicts.iter().map(|c| c.path.as_str()).collect();
    for w in &plan.writes {
        assert!(!conflicts.contains(w.path.as_str()), "wrote the conflicting {}", w.path);
        assert!(!foreign.contains(&w.path), "wrote the foreign {}", w.path);
        let expected = w.path == state_path || plan.changes.iter().any(|c| c.path == w.path && c.action.touches_file());
        assert!(expected, "write without a change: {}", w.path);
    }
    for c in &plan.changes {
        assert!(!conflicts.contains(c.path.as_str()), "changed the conflicting {}", c.path);
        assert!(!foreign.contains(&c.path), "changed the foreign {}", c.path);
    }

    // Idempotence: once applied, planning again writes nothing.
    repo.apply(&plan);
    let again = repo.plan(repo.reread(&input, &state_path)).expect("re-planning an applied plan");
    assert_eq!(again.conflicts, plan.conflicts, "re-planning changed the conflicts");
    // Kept deletions of CRs HNP still has included: their tombstones hold.
    assert_eq!(again.writes, vec![], "re-planning an applied plan writes again: {:#?}", again.changes);
}
