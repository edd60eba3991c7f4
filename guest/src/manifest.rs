//! Reads CR manifests (YAML single or multi-document, or JSON) and compares file data.
//!
//! YAML is read the way HNP (PyYAML `safe_load_all`) and Kubernetes tooling read it: YAML 1.1
//! plain scalars (`yes` is true, `0777` is 511; see `render::yaml11`), merge keys (`<<`),
//! anchors and aliases. Beyond that it is stricter than both, because a silently lost value
//! in a CR is worse than an error: duplicate keys, non-string keys, non-JSON values (`.inf`),
//! unsupported tags and unknown top-level fields are errors. Timestamps stay the text they
//! are. Aliases may add at most `MAX_ALIAS_NODES` nodes (no "billion laughs"). A file that
//! parses as JSON is read by JSON's rules instead (`1e3` is a number, surrogate pairs are one
//! character), again refusing duplicate keys.
//!
//! Metadata that the API server fills in (`uid`, `resourceVersion`, `generation`,
//! `creationTimestamp`, `deletionTimestamp`, `deletionGracePeriodSeconds`, `managedFields`,
//! `selfLink`) and what controllers attach to live objects (`ownerReferences`, which name
//! live UIDs, and `finalizers`) are dropped, as is `status`: a file exported with
//! `kubectl get -o yaml` reads as its CR. Any other metadata field is an error, so a typo
//! such as `lables` is not lost silently.

use std::collections::BTreeMap;

use saphyr_parser::{Event, Parser, ScalarStyle, ScanError, Tag};
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use crate::model::{InvalidManifest, RawResource, SyncError};
use crate::render::{self, yaml11};
use crate::validate::describe;

/// Largest manifest text read.
pub const MAX_MANIFEST_BYTES: usize = 8 * 1024 * 1024;
/// Deepest nesting of mappings and sequences in a document (serde_json's limit).
pub const MAX_DEPTH: usize = 128;
/// Most nodes that aliases may add to a file, all aliases together.
pub const MAX_ALIAS_NODES: usize = 100_000;
/// Most bytes of text that aliases may add to a file: a node count alone lets one long
/// string, aliased many times, take gigabytes (found by the `parse_manifests` fuzz target).
pub const MAX_ALIAS_BYTES: usize = 16 * 1024 * 1024;

const TOP_LEVEL: [&str; 4] = ["apiVersion", "kind", "metadata", "spec"];
const DROPPED_TOP_LEVEL: [&str; 1] = ["status"];
const METADATA: [&str; 4] = ["name", "namespace", "labels", "annotations"];
const DROPPED_METADATA: [&str; 10] = [
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "managedFields",
    "selfLink",
    "ownerReferences",
    "finalizers",
];

/// CRs from a manifest file's text. `source` names the file in errors.
pub fn parse_manifests(source: &str, text: &str) -> Result<Vec<RawResource>, SyncError> {
    Ok(parse_documents(source, text)?.into_iter().map(|parsed| parsed.resource).collect())
}

/// One CR of a manifest file, and where it is in it.
#[derive(Clone, Debug, PartialEq)]
pub struct Parsed {
    /// 0-based YAML document (empty documents count).
    pub document: u32,
    /// Its index in the document's `items` when the document is a `kind: List` (what
    /// `kubectl get -o yaml` prints).
    pub item: Option<u32>,
    pub resource: RawResource,
}

impl Parsed {
    /// `field` of this CR as a path from its document (`items[2].metadata.name` in a List).
    pub fn field(&self, field: &str) -> String {
        match (self.item, field) {
            (None, _) => field.to_string(),
            (Some(i), "") => format!("items[{i}]"),
            (Some(i), field) => format!("items[{i}].{field}"),
        }
    }
}

/// `parse_manifests`, with each CR's place in the file.
pub fn parse_documents(source: &str, text: &str) -> Result<Vec<Parsed>, SyncError> {
    let invalid = |document: usize, message: String| {
        SyncError::InvalidManifest(InvalidManifest {
            source: source.to_string(),
            document: u32::try_from(document).unwrap_or(u32::MAX),
            message,
        })
    };
    let documents = load(text).map_err(|e| invalid(e.document, e.message))?;
    let mut resources = Vec::new();
    for (index, document) in documents.into_iter().enumerate() {
        // Empty and comment-only documents (`---` twice, a trailing `---`) hold nothing.
        if document.is_null() {
            continue;
        }
        let position = u32::try_from(index).unwrap_or(u32::MAX);
        match list_items(document) {
            Ok(items) => {
                for (item, document) in items.into_iter().enumerate() {
                    let item = u32::try_from(item).unwrap_or(u32::MAX);
                    let raw = to_raw(document).map_err(|m| invalid(index, format!("items[{item}]: {m}")))?;
                    resources.push(Parsed { document: position, item: Some(item), resource: raw });
                }
            }
            Err(document) => {
                let raw = to_raw(document).map_err(|m| invalid(index, m))?;
                resources.push(Parsed { document: position, item: None, resource: raw });
            }
        }
    }
    Ok(resources)
}

/// True when two files hold the same data once parsed (formatting, comments, key order and
/// quoting style aside). Files that do not parse are equal only when byte-equal.
///
/// Two files that each hold one valid CR are compared by their canonical renderings, so
/// what rendering drops (`status`, server-set metadata, fabric-computed labels) and fills
/// in (namespace `default`) does not count as a difference.
pub fn same_data(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    let (Ok(a), Ok(b)) = (load(a), load(b)) else {
        return false;
    };
    if let (Some(a), Some(b)) = (canonical(&a), canonical(&b)) {
        return a == b;
    }
    let non_empty = |docs: Vec<Value>| docs.into_iter().filter(|d| !d.is_null()).collect::<Vec<_>>();
    non_empty(a) == non_empty(b)
}

/// True when the text parses as YAML (or JSON); `same_data` can compare only such texts.
pub fn is_yaml(text: &str) -> bool {
    load(text).is_ok()
}

/// True when the text carries more than its data: comments, which a file rewritten from
/// its data (an update) or removed (a delete) would lose. Formatting (quoting, key order,
/// indentation, flow or block style, `---`) is not more than data.
///
/// Conservative, because a wrong `false` loses work and a wrong `true` only stops for a
/// person: a `#` outside every scalar is a comment, and so is a `#` anywhere in a block
/// scalar (`|`, `>`), where comment-like lines are hard to tell from text; text that does
/// not parse carries more than data too. JSON has no comments.
pub fn carries_more_than_data(text: &str) -> bool {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if !text.contains('#') {
        return false;
    }
    if text.trim_start().starts_with(['{', '[']) && load_json(text).is_ok() {
        return false;
    }
    // A `#` is data only inside a quoted scalar, or inside a plain one after a non-blank
    // (a comment needs a blank before it). Quoted scalars are delimited here, from their
    // opening quote: saphyr's spans of quoted scalars run on to the end of the line.
    let chars: Vec<char> = text.chars().collect();
    let mut quoted = vec![false; chars.len()];
    let mut plain = vec![false; chars.len()];
    for event in Parser::new_from_str(text) {
        let Ok((Event::Scalar(_, style, ..), span)) = event else {
            if event.is_err() {
                return true;
            }
            continue;
        };
        let (start, end) = (span.start.index().min(chars.len()), span.end.index().min(chars.len()));
        match style {
            ScalarStyle::Plain => plain[start..end].iter_mut().for_each(|c| *c = true),
            ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted => {
                let quote = if style == ScalarStyle::SingleQuoted { '\'' } else { '"' };
                let Some(open) = chars[start..].iter().position(|&c| c == quote).map(|p| start + p) else {
                    return true;
                };
                let close = closing_quote(&chars, open, quote);
                quoted[open..=close.min(chars.len() - 1)].iter_mut().for_each(|c| *c = true);
            }
            // Block scalars are not marked: any `#` in one counts as a comment.
            _ => {}
        }
    }
    (0..chars.len()).any(|i| {
        let after_blank = i == 0 || chars[i - 1].is_whitespace();
        // Inside a plain scalar, `#` starts a comment only after a blank (`a#b` is data).
        chars[i] == '#' && !quoted[i] && (!plain[i] || after_blank)
    })
}

/// The index of the quote that closes the scalar opened at `open` (or the last character).
fn closing_quote(chars: &[char], open: usize, quote: char) -> usize {
    let mut i = open + 1;
    while i < chars.len() {
        match chars[i] {
            '\\' if quote == '"' => i += 2,
            '\'' if quote == '\'' && chars.get(i + 1) == Some(&'\'') => i += 2,
            c if c == quote => return i,
            _ => i += 1,
        }
    }
    chars.len().saturating_sub(1)
}

/// The rendering of the one valid CR in `documents`, if that is what they are.
fn canonical(documents: &[Value]) -> Option<String> {
    let mut docs = documents.iter().filter(|d| !d.is_null());
    let doc = docs.next()?;
    if docs.next().is_some() {
        return None;
    }
    render::render_raw(&to_raw(doc.clone()).ok()?).ok()
}

/// The items of a `kind: List` document (`apiVersion: v1`, `items: [...]`, as Kubernetes
/// tools print several objects); any other document comes back as it is.
fn list_items(document: Value) -> Result<Vec<Value>, Value> {
    let is_list = |top: &Map<String, Value>| {
        top.get("kind").and_then(Value::as_str) == Some("List")
            && top.get("apiVersion").is_none_or(|v| v.as_str() == Some("v1"))
            && top.get("items").is_some_and(Value::is_array)
    };
    match document {
        Value::Object(mut top) if is_list(&top) => match top.remove("items") {
            Some(Value::Array(items)) => Ok(items),
            _ => Err(Value::Object(top)),
        },
        other => Err(other),
    }
}

/// One document as a `RawResource`: checks the shape, not the values (`validate` does).
fn to_raw(document: Value) -> Result<RawResource, String> {
    let Value::Object(mut top) = document else {
        return Err(format!(
            "the document is {}, not a mapping; a CR needs apiVersion, kind and metadata.name",
            describe(&document)
        ));
    };
    if let Some(key) = top.keys().find(|k| !TOP_LEVEL.contains(&k.as_str()) && !DROPPED_TOP_LEVEL.contains(&k.as_str()))
    {
        return Err(format!("unknown top-level field {key:?}; a CR has apiVersion, kind, metadata, spec (and status)"));
    }
    let api_version = required_string(&mut top, "apiVersion", "apiVersion")?;
    let kind = required_string(&mut top, "kind", "kind")?;
    let mut metadata = match top.remove("metadata") {
        None | Some(Value::Null) => return Err("`metadata` is missing; a CR needs metadata.name".into()),
        Some(Value::Object(m)) => m,
        Some(other) => return Err(format!("`metadata` must be a mapping, found {}", describe(&other))),
    };
    if let Some(key) =
        metadata.keys().find(|k| !METADATA.contains(&k.as_str()) && !DROPPED_METADATA.contains(&k.as_str()))
    {
        return Err(format!("unknown field `metadata.{key}`; fgd-sync keeps name, namespace, labels and annotations"));
    }
    let name = required_string(&mut metadata, "name", "metadata.name")?;
    let namespace = match metadata.remove("namespace") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s,
        Some(other) => return Err(format!("`metadata.namespace` must be a string, found {}", describe(&other))),
    };
    let json = |value: Option<Value>, empty: &str| match value {
        None | Some(Value::Null) => Ok(empty.to_string()),
        Some(v) => serde_json::to_string(&v).map_err(|e| e.to_string()),
    };
    Ok(RawResource {
        kind,
        api_version: Some(api_version),
        name,
        namespace,
        labels: json(metadata.remove("labels"), "")?,
        annotations: json(metadata.remove("annotations"), "")?,
        spec: json(top.remove("spec"), "{}")?,
    })
}

fn required_string(map: &mut Map<String, Value>, key: &str, field: &str) -> Result<String, String> {
    match map.remove(key) {
        None | Some(Value::Null) => Err(format!("`{field}` is missing")),
        Some(Value::String(s)) => Ok(s),
        Some(other) => Err(format!("`{field}` must be a string, found {} (quote it)", describe(&other))),
    }
}

// ---------------------------------------------------------------------------------------
// Loading: YAML events to JSON values.

/// A load failure in document `document` (0-based).
#[derive(Debug)]
struct LoadError {
    document: usize,
    message: String,
}

/// Every document of the stream as JSON; empty documents are `null`.
fn load(text: &str) -> Result<Vec<Value>, LoadError> {
    if text.len() > MAX_MANIFEST_BYTES {
        return Err(LoadError {
            document: 0,
            message: format!("the file is {} bytes; at most {MAX_MANIFEST_BYTES} (8 MiB) are read", text.len()),
        });
    }
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim_start().starts_with(['{', '[']) {
        match load_json(text) {
            Ok(value) => return Ok(vec![value]),
            // A duplicate key or a number beyond f64 is JSON gone wrong; any other syntax
            // error may be YAML flow style (`{a: b}`), read below.
            Err(e) if e.is_data() || e.to_string().starts_with("number out of range") => {
                return Err(LoadError { document: 0, message: format!("invalid JSON: {e}") })
            }
            Err(_) => {}
        }
    }
    let mut builder = Builder::default();
    for event in Parser::new_from_str(text) {
        let document = builder.documents.len();
        let (event, _span) = event.map_err(|e| LoadError { document, message: scan_message(&e) })?;
        builder.event(event).map_err(|message| LoadError { document, message })?;
    }
    Ok(builder.documents)
}

/// JSON by JSON's rules (`1e3` is a number there, a string in YAML 1.1; `\ud83d\ude00` is
/// one character), with duplicate keys refused as in YAML.
fn load_json(text: &str) -> Result<Value, serde_json::Error> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let StrictJson(value) = StrictJson::deserialize(&mut deserializer)?;
    deserializer.end()?;
    Ok(value)
}

/// A JSON value whose objects may not repeat a key (serde_json keeps the last silently).
struct StrictJson(Value);

impl<'de> Deserialize<'de> for StrictJson {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StrictVisitor).map(StrictJson)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        yaml11::float_number(&v.to_string(), v).map(Value::Number).map_err(E::custom)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(StrictJson(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut map = Map::new();
        while let Some(key) = access.next_key::<String>()? {
            if map.contains_key(&key) {
                return Err(de::Error::custom(format!("duplicate key {key:?}")));
            }
            let StrictJson(value) = access.next_value()?;
            map.insert(key, value);
        }
        Ok(Value::Object(map))
    }
}

fn scan_message(e: &ScanError) -> String {
    let mark = e.marker();
    format!("invalid YAML at line {}, column {}: {}", mark.line(), mark.col() + 1, e.info())
}

/// Where a collection sits in its parent, for messages.
#[derive(Clone, Debug)]
enum Segment {
    Root,
    Key(String),
    Index(usize),
}

#[derive(Debug)]
enum PendingKey {
    Key(String),
    Merge,
}

#[derive(Debug)]
enum Frame {
    Seq { items: Vec<Value> },
    Map { map: Map<String, Value>, merges: Vec<Map<String, Value>>, merged: bool, key: Option<PendingKey> },
}

#[derive(Debug)]
struct Open {
    frame: Frame,
    anchor: usize,
    nodes: usize,
    at: Segment,
}

#[derive(Default)]
struct Builder {
    documents: Vec<Value>,
    root: Option<Value>,
    stack: Vec<Open>,
    /// Anchored values of the current document with their node counts.
    anchors: BTreeMap<usize, (Value, usize)>,
    alias_nodes: usize,
    alias_bytes: usize,
}

/// Roughly how much memory a value takes: its text, plus a little per node.
fn text_size(value: &Value) -> usize {
    match value {
        Value::String(s) => s.len(),
        Value::Array(items) => items.iter().map(|v| text_size(v) + 8).sum(),
        Value::Object(map) => map.iter().map(|(k, v)| k.len() + text_size(v) + 8).sum(),
        _ => 8,
    }
}

impl Builder {
    fn event(&mut self, event: Event) -> Result<(), String> {
        match event {
            Event::Nothing | Event::StreamStart | Event::StreamEnd => Ok(()),
            Event::DocumentStart(_) => {
                self.anchors.clear();
                self.root = None;
                Ok(())
            }
            Event::DocumentEnd => {
                self.documents.push(self.root.take().unwrap_or(Value::Null));
                Ok(())
            }
            Event::Scalar(text, style, anchor, tag) => self.scalar(&text, style, anchor, tag.as_deref()),
            Event::Alias(id) => self.alias(id),
            Event::SequenceStart(anchor, tag) => {
                self.collection_tag(tag.as_deref(), "seq", "a sequence")?;
                self.open(Frame::Seq { items: Vec::new() }, anchor, "a sequence")
            }
            Event::MappingStart(anchor, tag) => {
                self.collection_tag(tag.as_deref(), "map", "a mapping")?;
                let frame = Frame::Map { map: Map::new(), merges: Vec::new(), merged: false, key: None };
                self.open(frame, anchor, "a mapping")
            }
            Event::SequenceEnd | Event::MappingEnd => self.close(),
        }
    }

    /// True when the next node is a mapping key.
    fn expecting_key(&self) -> bool {
        matches!(self.stack.last(), Some(Open { frame: Frame::Map { key: None, .. }, .. }))
    }

    fn scalar(&mut self, text: &str, style: ScalarStyle, anchor: usize, tag: Option<&Tag>) -> Result<(), String> {
        let is_key = self.expecting_key();
        let resolved = self.resolve(text, style, tag, is_key).map_err(|m| self.at(&m))?;
        let value = match resolved {
            yaml11::Plain::Merge => {
                return self.set_key(PendingKey::Merge);
            }
            yaml11::Plain::Value(v) => v,
        };
        if anchor != 0 {
            self.anchors.insert(anchor, (value.clone(), 1));
        }
        if is_key {
            match value {
                Value::String(s) => self.set_key(PendingKey::Key(s)),
                other => Err(self.at(&format!("the key {text:?} is {}, not a string (quote it)", describe(&other)))),
            }
        } else {
            self.complete(value, 1)
        }
    }

    /// What a scalar holds: tags first, then quoting, then the schema's plain resolution.
    fn resolve(
        &self,
        text: &str,
        style: ScalarStyle,
        tag: Option<&Tag>,
        is_key: bool,
    ) -> Result<yaml11::Plain, String> {
        use yaml11::Plain;
        if let Some(tag) = tag {
            if !tag.is_yaml_core_schema() {
                return Err(unsupported_tag(tag, "a scalar"));
            }
            let value = match tag.suffix.as_str() {
                "str" => Value::String(text.to_string()),
                "int" => Value::Number(yaml11::construct_int(text)?),
                "float" => Value::Number(yaml11::float_number(text, yaml11::construct_float(text)?)?),
                "bool" => {
                    Value::Bool(yaml11::construct_bool(text).ok_or_else(|| format!("{text:?} is not a boolean"))?)
                }
                "null" => Value::Null,
                _ => return Err(unsupported_tag(tag, "a scalar")),
            };
            return Ok(Plain::Value(value));
        }
        if style != ScalarStyle::Plain {
            return Ok(Plain::Value(Value::String(text.to_string())));
        }
        yaml11::plain_value(text, is_key)
    }

    /// Collections take no tag but their own (`!!map`, `!!seq`).
    fn collection_tag(&self, tag: Option<&Tag>, own: &str, what: &str) -> Result<(), String> {
        match tag {
            None => Ok(()),
            Some(t) if t.is_yaml_core_schema() && t.suffix == own => Ok(()),
            Some(t) => Err(self.at(&unsupported_tag(t, what))),
        }
    }

    fn alias(&mut self, id: usize) -> Result<(), String> {
        let Some((value, nodes)) = self.anchors.get(&id) else {
            return Err(self.at("an alias refers to an anchor that is not complete yet (a recursive alias)"));
        };
        let nodes = *nodes;
        self.alias_nodes = self.alias_nodes.saturating_add(nodes);
        if self.alias_nodes > MAX_ALIAS_NODES {
            return Err(self.at(&format!(
                "aliases expand to more than {MAX_ALIAS_NODES} nodes; refusing what looks like an alias bomb"
            )));
        }
        self.alias_bytes = self.alias_bytes.saturating_add(text_size(value));
        if self.alias_bytes > MAX_ALIAS_BYTES {
            return Err(self.at(&format!(
                "aliases expand to more than {} MiB of text; refusing what looks like an alias bomb",
                MAX_ALIAS_BYTES / (1024 * 1024)
            )));
        }
        let value = value.clone();
        if self.expecting_key() {
            match value {
                Value::String(s) => self.set_key(PendingKey::Key(s)),
                other => Err(self.at(&format!("an alias used as a key is {}, not a string", describe(&other)))),
            }
        } else {
            self.complete(value, nodes)
        }
    }

    fn open(&mut self, frame: Frame, anchor: usize, what: &str) -> Result<(), String> {
        if self.expecting_key() {
            return Err(self.at(&format!("{what} as a mapping key is not supported; keys must be strings")));
        }
        if self.stack.len() >= MAX_DEPTH {
            return Err(self.at(&format!("the document nests deeper than {MAX_DEPTH} levels")));
        }
        let at = self.next_segment();
        self.stack.push(Open { frame, anchor, nodes: 1, at });
        Ok(())
    }

    fn close(&mut self) -> Result<(), String> {
        let Some(open) = self.stack.pop() else {
            return Err("unbalanced end of a collection".into());
        };
        let value = match open.frame {
            Frame::Seq { items } => Value::Array(items),
            Frame::Map { mut map, merges, key, .. } => {
                if key.is_some() {
                    return Err(self.at("a mapping key has no value"));
                }
                // Explicit keys win over merged ones; earlier merge sources over later ones.
                for source in merges {
                    for (k, v) in source {
                        map.entry(k).or_insert(v);
                    }
                }
                Value::Object(map)
            }
        };
        if open.anchor != 0 {
            self.anchors.insert(open.anchor, (value.clone(), open.nodes));
        }
        self.complete(value, open.nodes)
    }

    fn set_key(&mut self, key: PendingKey) -> Result<(), String> {
        let duplicate = match (&key, self.stack.last()) {
            (PendingKey::Key(k), Some(Open { frame: Frame::Map { map, .. }, .. })) => map.contains_key(k),
            (PendingKey::Merge, Some(Open { frame: Frame::Map { merged, .. }, .. })) => *merged,
            _ => false,
        };
        if duplicate {
            let name = match &key {
                PendingKey::Key(k) => k.as_str(),
                PendingKey::Merge => "<<",
            };
            return Err(self.at(&format!("duplicate key {name:?}")));
        }
        if let Some(Open { frame: Frame::Map { key: slot, merged, .. }, .. }) = self.stack.last_mut() {
            *merged |= matches!(key, PendingKey::Merge);
            *slot = Some(key);
        }
        Ok(())
    }

    /// Puts a finished node into its parent (or makes it the document).
    fn complete(&mut self, value: Value, nodes: usize) -> Result<(), String> {
        let Some(parent) = self.stack.last_mut() else {
            self.root = Some(value);
            return Ok(());
        };
        parent.nodes = parent.nodes.saturating_add(nodes);
        match &mut parent.frame {
            Frame::Seq { items } => items.push(value),
            Frame::Map { map, merges, key, .. } => match key.take() {
                Some(PendingKey::Key(k)) => {
                    map.insert(k, value);
                }
                Some(PendingKey::Merge) => match value {
                    Value::Object(m) => merges.push(m),
                    Value::Array(items) if items.iter().all(Value::is_object) => {
                        merges.extend(items.into_iter().filter_map(|v| match v {
                            Value::Object(m) => Some(m),
                            _ => None,
                        }));
                    }
                    other => {
                        return Err(
                            self.at(&format!("`<<` merges a mapping or a list of mappings, not {}", describe(&other)))
                        )
                    }
                },
                None => return Err(self.at("a value without a key")),
            },
        }
        Ok(())
    }

    /// The segment the next node takes in the innermost collection.
    fn next_segment(&self) -> Segment {
        match self.stack.last() {
            None => Segment::Root,
            Some(Open { frame: Frame::Seq { items }, .. }) => Segment::Index(items.len()),
            Some(Open { frame: Frame::Map { key: Some(PendingKey::Key(k)), .. }, .. }) => Segment::Key(k.clone()),
            Some(Open { frame: Frame::Map { .. }, .. }) => Segment::Key("<<".into()),
        }
    }

    /// `message` with the path of the node being read, e.g. `at spec.subnets[0]`.
    fn at(&self, message: &str) -> String {
        let mut path = String::new();
        let segments = self.stack.iter().map(|o| o.at.clone()).skip(1).chain(
            // The node being read: its key or index in the innermost collection.
            Some(self.next_segment()).filter(|_| !self.expecting_key() && !self.stack.is_empty()),
        );
        for segment in segments {
            match segment {
                Segment::Root => {}
                Segment::Key(k) => {
                    if !path.is_empty() {
                        path.push('.');
                    }
                    path.push_str(&k);
                }
                Segment::Index(i) => path.push_str(&format!("[{i}]")),
            }
        }
        if path.is_empty() {
            message.to_string()
        } else {
            format!("{message} (at {path})")
        }
    }
}

/// Why a tag is refused on `what` (`a scalar`, `a mapping`, ...), naming it as written.
fn unsupported_tag(tag: &Tag, what: &str) -> String {
    if tag.handle.is_empty() && tag.suffix == "!" {
        // The spec makes `! 12` a string; PyYAML makes it the number 12.
        return "the non-specific tag `!` is read differently by different YAML readers; remove it (quote the value for a string)".into();
    }
    let written = if tag.is_yaml_core_schema() {
        format!("!!{}", tag.suffix)
    } else if tag.handle == "!" {
        format!("!{}", tag.suffix)
    } else {
        format!("!<{}{}>", tag.handle, tag.suffix)
    };
    format!("the tag `{written}` is not supported on {what} (a CR holds plain data: strings, numbers, booleans, null, mappings, sequences)")
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    fn check(yaml: &str, want: Value) {
        let docs = load(yaml).unwrap_or_else(|e| panic!("{yaml:?}: {e:?}"));
        assert_eq!(docs, vec![want], "{yaml:?}");
    }

    fn check_err(yaml: &str, want: &str) {
        let err = load(yaml).expect_err(yaml);
        assert!(err.message.contains(want), "{yaml:?}: {:?} lacks {want:?}", err.message);
    }

    #[test]
    fn yaml11_scalars() {
        check(
            "a: yes\nb: 'yes'\nc: 0777\nd: on\ne: 1e3\nf: 2001-12-14\ng: ~\nh:\n",
            json!({
                "a": true, "b": "yes", "c": 511, "d": true, "e": "1e3", "f": "2001-12-14", "g": null, "h": null
            }),
        );
        check(
            "a: !!str 12\nb: !!int '0x1F'\nc: !!float '1'\nd: \"x\\ty\"\ne: |\n  l\n",
            json!({
                "a": "12", "b": 31, "c": 1.0, "d": "x\ty", "e": "l\n"
            }),
        );
        check("=: 1\n", json!({"=": 1}));
    }

    #[test]
    fn json_numbers() {
        check("{\"a\": 1e3, \"b\": [1, -2, 0.5], \"c\": \"on\"}", json!({"a": 1000.0, "b": [1, -2, 0.5], "c": "on"}));
        check("{\"a\": \"\\ud83d\\ude00\"}", json!({"a": "\u{1f600}"}));
        check("{a: b}", json!({"a": "b"}));
        check_err("{\"a\": 1, \"a\": 2}", "duplicate key \"a\" at line 1");
        check_err("{\"a\": 1e400}", "number out of range");
    }

    #[test]
    fn anchors_and_merges() {
        check("a: &x {p: 1, q: 2}\nb:\n  <<: *x\n  q: 3\n", json!({"a": {"p": 1, "q": 2}, "b": {"p": 1, "q": 3}}));
        check(
            "a: &x {p: 1}\nc: &y {p: 2, r: 1}\nb:\n  <<: [*x, *y]\n",
            json!({"a": {"p": 1}, "c": {"p": 2, "r": 1}, "b": {"p": 1, "r": 1}}),
        );
        check("k: &k name\n*k : v\n", json!({"k": "name", "name": "v"}));
    }

    #[test]
    fn refusals() {
        check_err("a: 1\na: 2\n", "duplicate key \"a\"");
        check_err("s:\n  x: 1\n  x: 2\n", "duplicate key \"x\" (at s)");
        check_err("1: x\n", "the key \"1\" is the number 1");
        check_err("on: x\n", "the key \"on\" is the boolean true");
        check_err("? [1]\n: x\n", "a sequence as a mapping key");
        check_err("a: .inf\n", "JSON cannot represent");
        check_err("a: =\n", "value key");
        check_err("a: !foo x\n", "tag `!foo` is not supported on a scalar");
        check_err("a: ! 12\n", "non-specific tag `!`");
        check_err("a: !!set {x}\n", "tag `!!set` is not supported on a mapping");
        check_err("a: &a [*a]\n", "recursive");
        check_err(&format!("{}1{}", "[".repeat(200), "]".repeat(200)), "deeper than 128");
        check_err("a: [1\n", "invalid YAML at line");
        check_err("a: 99999999999999999999\n", "out of range");
        let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for (i, c) in ('b'..='j').enumerate() {
            let prev = char::from(b'a' + u8::try_from(i).unwrap());
            bomb.push_str(&format!("{c}: &{c} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"));
        }
        check_err(&bomb, "alias bomb");
        // Few nodes, much text: a 20 KB string aliased 1,000 times is 20 MB.
        let long = format!("a: &s {}\nb: [{}]\n", "x".repeat(20_000), vec!["*s"; 1_000].join(", "));
        check_err(&long, "MiB of text");
    }

    #[test]
    fn documents_and_indexes() {
        let docs = load("# only a comment\n").unwrap();
        assert!(docs.iter().all(Value::is_null), "{docs:?}");
        let docs = load("---\na: 1\n---\n# nothing\n---\nb: 2\n").unwrap();
        assert_eq!(docs, vec![json!({"a": 1}), Value::Null, json!({"b": 2})]);
        let err = load("a: 1\n---\nb: [\n").unwrap_err();
        assert_eq!(err.document, 1);
    }

    #[test]
    fn comments_are_more_than_data() {
        let more = |t: &str| carries_more_than_data(t);
        // Formatting alone.
        for text in [
            "a: 1\n",
            "{\"a\": \"x # y\", \"b#\": 1}",
            "a: 'x # y'\nb: \"#\"\nc: a#b\nd: [x#, '#']\n\"e#\": 1\n",
            "a: \"one\n  #two\"\n",
            "---\nkind: VPC\nspec: {a: 1}\n",
            "a: |\n  no hash here\n",
            "ü: 'é#'\n",
            "a: 'it''s # x'\nb: \"q\\\" # y\"\n",
            "a: &x 'v#'\nb: *x\n",
        ] {
            assert!(!more(text), "{text:?}");
        }
        // Comments, and what cannot be told from them.
        for text in [
            "# note\na: 1\n",
            "a: 1 # note\n",
            "a:\n  - x  # note\n",
            "a: [x, # note\n  y]\n",
            "a: 'x'# not valid YAML\n",
            "a: |\n  # in a block scalar\n",
            "a: |\n  x#y\n",
            "a: >\n  text\n# after a block scalar\n",
            "ü: 'é'  # ä\n",
            "a: 'x'  # y\n",
            "a: \"x\\\\\"  # y\n",
            "a: 'it''s'  # y\n",
            "a: b\n  c # d\n",
            "a: [1\n# unparseable\n",
            "a: 1\n---\n# a document of comments only\n",
        ] {
            assert!(more(text), "{text:?}");
        }
    }

    #[test]
    fn same_data_ignores_form() {
        let a = "apiVersion: vpc.githedgehog.com/v1beta1\nkind: VPC\nmetadata:\n  name: v\nspec:\n  b: 1\n  a: [x]\n";
        let b = "# comment\nkind: VPC\napiVersion: vpc.githedgehog.com/v1beta1\nmetadata: {name: v, namespace: default}\nspec: {a: ['x'], b: 1}\nstatus: {x: 1}\n";
        assert!(same_data(a, b));
        assert!(!same_data(a, &a.replace("b: 1", "b: 2")));
        assert!(same_data("x: [1", "x: [1"));
        assert!(!same_data("x: [1", "x: [1 "));
        assert!(same_data("a: 1\nb: yes\n", "{b: true, a: 1}"));
        assert!(!same_data("a: 1\n", "a: '1'\n"));
    }
}
