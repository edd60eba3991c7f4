//! Canonical YAML for a CR: same data, same bytes, and read back identically by YAML 1.1
//! parsers (PyYAML, go-yaml v2) as well as YAML 1.2 ones.
//!
//! Layout: `apiVersion`, `kind`, `metadata` (`name`, `namespace`, `labels`, `annotations`;
//! empty maps omitted), `spec`. Block style throughout, 2-space indentation, sequences
//! indented under their key, keys sorted bytewise at every depth, `{}`/`[]` for empty
//! collections. Strings are plain only when `scalar::is_plain_safe` proves it. No `---`, no
//! comments, no timestamps, never `status`.

pub mod scalar;
pub mod yaml11;

use serde_json::{Map, Value};

use crate::model::{InvalidResource, RawResource, Resource};
use crate::validate;

/// Largest rendered document the sync writes (a CR is stored in etcd, whose limit is 1.5 MiB).
pub const MAX_DOCUMENT_BYTES: usize = 1024 * 1024;

/// YAML readers refuse implicit (`key: value`) keys longer than 1024 characters; longer
/// keys are written in the explicit `? key` form.
const MAX_IMPLICIT_KEY_CHARS: usize = 1000;

/// Label keys the fabric computes from the spec. The controller rewrites them on every
/// reconcile, so keeping them in Git only makes Git and the cluster disagree. Annotations
/// with this prefix (`fabric.githedgehog.com/p2p-link`, ...) are user data and are kept.
const FABRIC_LABEL_MARK: &str = "fabric.githedgehog.com/";

/// apiVersion, kind, metadata (name, namespace, labels, annotations; empty maps omitted),
/// spec with keys sorted at every depth. One document, LF, trailing newline.
pub fn render(resource: &Resource) -> Result<String, InvalidResource> {
    let mut w = Writer { out: String::new() };
    let too_big = |_: TooBig| InvalidResource {
        kind: resource.kind.as_str().to_string(),
        namespace: resource.namespace.clone(),
        name: resource.name.clone(),
        field: "spec".into(),
        message: format!("the rendered document is larger than {MAX_DOCUMENT_BYTES} bytes"),
    };

    w.scalar_entry(0, "apiVersion", resource.kind.api_version());
    w.scalar_entry(0, "kind", resource.kind.as_str());
    w.out.push_str("metadata:\n");
    w.scalar_entry(2, "name", &resource.name);
    w.scalar_entry(2, "namespace", &resource.namespace);
    let labels: Vec<(&String, &String)> =
        resource.labels.iter().filter(|(k, _)| !k.contains(FABRIC_LABEL_MARK)).collect();
    w.string_map(2, "labels", labels).map_err(too_big)?;
    w.string_map(2, "annotations", resource.annotations.iter().collect()).map_err(too_big)?;
    w.entry(0, "spec", &resource.spec).map_err(too_big)?;
    w.check().map_err(too_big)?;
    Ok(w.out)
}

/// Validates a host's CR and renders it (the WIT `render` export).
pub fn render_raw(raw: &RawResource) -> Result<String, InvalidResource> {
    render(&validate::resource(raw)?)
}

/// The rendered document grew past `MAX_DOCUMENT_BYTES`.
struct TooBig;

struct Writer {
    out: String,
}

impl Writer {
    fn check(&self) -> Result<(), TooBig> {
        if self.out.len() > MAX_DOCUMENT_BYTES {
            Err(TooBig)
        } else {
            Ok(())
        }
    }

    fn indent(&mut self, indent: usize) {
        self.out.extend(std::iter::repeat_n(' ', indent));
    }

    fn scalar_entry(&mut self, indent: usize, key: &str, value: &str) {
        self.indent(indent);
        scalar::write_str(&mut self.out, key);
        self.out.push_str(": ");
        scalar::write_str(&mut self.out, value);
        self.out.push('\n');
    }

    /// `labels:`/`annotations:` with their entries; nothing when empty.
    fn string_map(&mut self, indent: usize, key: &str, entries: Vec<(&String, &String)>) -> Result<(), TooBig> {
        if entries.is_empty() {
            return Ok(());
        }
        self.indent(indent);
        self.out.push_str(key);
        self.out.push_str(":\n");
        for (k, v) in entries {
            self.key(indent + 2, k, false);
            self.out.push(' ');
            scalar::write_str(&mut self.out, v);
            self.out.push('\n');
            self.check()?;
        }
        Ok(())
    }

    /// A top-level `key:` followed by a mapping.
    fn entry(&mut self, indent: usize, key: &str, map: &Map<String, Value>) -> Result<(), TooBig> {
        self.indent(indent);
        self.out.push_str(key);
        self.out.push(':');
        if map.is_empty() {
            self.out.push_str(" {}\n");
            Ok(())
        } else {
            self.out.push('\n');
            self.mapping(indent + 2, map, false)
        }
    }

    /// Writes `key:` (or `? key`, newline, `:` for overlong keys). With `inline`, the
    /// indentation of the first line is already written (after a sequence's `- `).
    fn key(&mut self, indent: usize, key: &str, inline: bool) {
        if !inline {
            self.indent(indent);
        }
        let start = self.out.len();
        scalar::write_str(&mut self.out, key);
        let written = &self.out[start..];
        if written.len() > MAX_IMPLICIT_KEY_CHARS && written.chars().count() > MAX_IMPLICIT_KEY_CHARS {
            self.out.insert_str(start, "? ");
            self.out.push('\n');
            self.indent(indent);
        }
        self.out.push(':');
    }

    /// Block mapping at `indent`, keys sorted. `inline`: see `key`.
    fn mapping(&mut self, indent: usize, map: &Map<String, Value>, inline: bool) -> Result<(), TooBig> {
        // Sorted here rather than trusting `Map`'s order: a `preserve_order` serde_json
        // elsewhere in the build would otherwise change the output.
        let mut entries: Vec<(&String, &Value)> = map.iter().collect();
        entries.sort_by(|a, b| a.0.cmp(b.0));
        for (i, (key, value)) in entries.into_iter().enumerate() {
            self.key(indent, key, inline && i == 0);
            self.value_after_key(indent, value)?;
            self.check()?;
        }
        Ok(())
    }

    /// The value of a mapping entry, after `key:`.
    fn value_after_key(&mut self, indent: usize, value: &Value) -> Result<(), TooBig> {
        match value {
            Value::Object(m) if !m.is_empty() => {
                self.out.push('\n');
                self.mapping(indent + 2, m, false)
            }
            Value::Array(a) if !a.is_empty() => {
                self.out.push('\n');
                self.sequence(indent + 2, a, false)
            }
            other => {
                self.out.push(' ');
                self.leaf(other);
                self.out.push('\n');
                Ok(())
            }
        }
    }

    /// Block sequence at `indent`: `- item` per element.
    fn sequence(&mut self, indent: usize, items: &[Value], inline: bool) -> Result<(), TooBig> {
        let mut inline = inline;
        for item in items {
            if !inline {
                self.indent(indent);
            }
            inline = false;
            self.out.push_str("- ");
            match item {
                Value::Object(m) if !m.is_empty() => self.mapping(indent + 2, m, true)?,
                Value::Array(a) if !a.is_empty() => self.sequence(indent + 2, a, true)?,
                other => {
                    self.leaf(other);
                    self.out.push('\n');
                }
            }
            self.check()?;
        }
        Ok(())
    }

    /// A scalar or an empty collection.
    fn leaf(&mut self, value: &Value) {
        match value {
            Value::Null => self.out.push_str("null"),
            Value::Bool(b) => self.out.push_str(if *b { "true" } else { "false" }),
            Value::Number(n) => match (n.as_u64(), n.as_i64(), n.as_f64()) {
                (Some(u), _, _) => self.out.push_str(&u.to_string()),
                (None, Some(i), _) => self.out.push_str(&i.to_string()),
                (None, None, Some(f)) => self.out.push_str(&float_text(f)),
                (None, None, None) => self.out.push_str(&n.to_string()),
            },
            Value::String(s) => scalar::write_str(&mut self.out, s),
            Value::Object(_) => self.out.push_str("{}"),
            Value::Array(_) => self.out.push_str("[]"),
        }
    }
}

/// A float that every reader takes for a float: shortest round-trip digits, always with a
/// `.`, and an exponent (if any) with an explicit sign, because PyYAML reads `1e3` and
/// `1.0e3` as strings. Plain decimals for ordinary magnitudes, exponent form otherwise.
pub fn float_text(f: f64) -> String {
    if !f.is_finite() {
        // serde_json never holds these; kept total for safety.
        return if f.is_nan() {
            ".nan".into()
        } else if f > 0.0 {
            ".inf".into()
        } else {
            "-.inf".into()
        };
    }
    let magnitude = f.abs();
    if magnitude == 0.0 || (1e-4..1e16).contains(&magnitude) {
        let s = f.to_string();
        return if s.contains('.') { s } else { format!("{s}.0") };
    }
    let s = format!("{f:e}");
    let (mantissa, exponent) = s.split_once('e').unwrap_or((&s, "0"));
    let mantissa = if mantissa.contains('.') { mantissa.to_string() } else { format!("{mantissa}.0") };
    let exponent = if exponent.starts_with('-') { exponent.to_string() } else { format!("+{exponent}") };
    format!("{mantissa}e{exponent}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Kind;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    fn resource(spec: Value) -> Resource {
        Resource {
            kind: Kind::Vpc,
            name: "v".into(),
            namespace: "default".into(),
            labels: Default::default(),
            annotations: Default::default(),
            spec: match spec {
                Value::Object(m) => m,
                _ => panic!("test spec must be an object"),
            },
        }
    }

    fn check(spec: Value, want_spec: &str) {
        let got = render(&resource(spec)).expect("renders");
        let want = format!(
            "apiVersion: vpc.githedgehog.com/v1beta1\nkind: VPC\nmetadata:\n  name: v\n  namespace: default\n{want_spec}"
        );
        assert_eq!(got, want);
    }

    #[test]
    fn layouts() {
        check(json!({}), "spec: {}\n");
        check(json!({"b": 1, "a": "x"}), "spec:\n  a: x\n  b: 1\n");
        check(json!({"l": [], "m": {}}), "spec:\n  l: []\n  m: {}\n");
        check(json!({"l": [1, "on", null, true]}), "spec:\n  l:\n    - 1\n    - \"on\"\n    - null\n    - true\n");
        check(json!({"l": [["a", "b"], []]}), "spec:\n  l:\n    - - a\n      - b\n    - []\n");
        check(
            json!({"l": [{"q": 1, "p": {"z": 2}}, {}]}),
            "spec:\n  l:\n    - p:\n        z: 2\n      q: 1\n    - {}\n",
        );
        check(json!({"l": [[{"a": 1, "b": [2]}]]}), "spec:\n  l:\n    - - a: 1\n        b:\n          - 2\n");
        check(json!({"yes": "no", "": ""}), "spec:\n  \"\": \"\"\n  \"yes\": \"no\"\n");
    }

    #[test]
    fn floats_stay_floats() {
        let cases = [
            (1.0, "1.0"),
            (-0.0, "-0.0"),
            (0.5, "0.5"),
            (1e300, "1.0e+300"),
            (1.5e-7, "1.5e-7"),
            (123456789.25, "123456789.25"),
            (1e16, "1.0e+16"),
            (f64::MAX, "1.7976931348623157e+308"),
        ];
        for (f, want) in cases {
            assert_eq!(float_text(f), want);
            assert_eq!(yaml11::pyyaml_tag(want), yaml11::Tag::Float, "{want}");
            assert_eq!(yaml11::construct_float(want), Ok(f));
        }
    }

    #[test]
    fn long_keys_are_explicit() {
        let key = "k".repeat(1200);
        let got = render(&resource(json!({ key.clone(): {"a": 1}, "l": [{ key.clone(): 2 }] }))).unwrap();
        assert!(got.contains(&format!("  ? {key}\n  :\n    a: 1\n")), "{got}");
        assert!(got.contains(&format!("    - ? {key}\n      : 2\n")), "{got}");
    }

    #[test]
    fn too_big_is_refused() {
        let spec = json!({"s": "x".repeat(MAX_DOCUMENT_BYTES)});
        let err = render(&resource(spec)).unwrap_err();
        assert_eq!(err.field, "spec");
    }
}
