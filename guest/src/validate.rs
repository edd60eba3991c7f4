//! Turns a `RawResource` (strings and JSON text from a host) into a trusted `Resource`, or an
//! `InvalidResource` that names kind, name and the offending field.
//!
//! The rules are the fabric's and Kubernetes' own: exact kind spellings, the current
//! apiVersion, lowercase RFC 1123 names, Kubernetes label and annotation syntax, and a spec
//! that is a JSON object of bounded size and depth.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::model::{InvalidResource, Kind, RawResource, Resource, ResourceRef, DEFAULT_NAMESPACE};

/// Largest spec text accepted, checked before parsing.
pub const MAX_SPEC_BYTES: usize = 1024 * 1024;
/// Kubernetes' limit on the total size of a CR's annotations (keys plus values).
pub const MAX_ANNOTATIONS_BYTES: usize = 256 * 1024;
/// Kubernetes' namespace limit (a DNS label).
pub const MAX_NAMESPACE_LEN: usize = 63;
/// serde_json's nesting limit, reported as such.
pub const MAX_SPEC_DEPTH: usize = 128;

/// Longest file name ext4 and APFS accept, in bytes.
pub const MAX_FILE_NAME_BYTES: usize = 255;
/// A CR's managed file is `<name>` with this suffix (`path::managed_relative_path`).
const FILE_SUFFIX: &str = ".yaml";

const MAX_QUALIFIED_NAME_LEN: usize = 63;
const MAX_LABEL_VALUE_LEN: usize = 63;
const MAX_PREFIX_LEN: usize = 253;
const LABEL_RULE: &str =
    "it must be a lowercase RFC 1123 label: a-z, 0-9 and `-`, starting and ending with a letter or digit";

/// Validates everything the fabric would refuse: kind, api-version, name, namespace,
/// labels, annotations, spec.
pub fn resource(raw: &RawResource) -> Result<Resource, InvalidResource> {
    let at = At::new(&raw.kind, &raw.namespace, &raw.name);
    let kind = kind(&at, &raw.kind)?;
    if let Some(version) = &raw.api_version {
        api_version(&at, kind, version)?;
    }
    name(&at, kind, &raw.name)?;
    let namespace = namespace(&at, &raw.namespace)?;
    let labels = string_map(&at, "metadata.labels", &raw.labels)?;
    for (key, value) in &labels {
        let field = format!("metadata.labels.{key}");
        if let Some(problem) = qualified_name_problem(key) {
            return Err(at.err(&field, format!("label key {key:?} is invalid: {problem}")));
        }
        if let Some(problem) = label_value_problem(value) {
            return Err(at.err(&field, format!("label value {value:?} is invalid: {problem}")));
        }
    }
    let annotations = string_map(&at, "metadata.annotations", &raw.annotations)?;
    let mut total = 0;
    for (key, value) in &annotations {
        // Kubernetes checks annotation keys lower-cased.
        if let Some(problem) = qualified_name_problem(&key.to_ascii_lowercase()) {
            let field = format!("metadata.annotations.{key}");
            return Err(at.err(&field, format!("annotation key {key:?} is invalid: {problem}")));
        }
        total += key.len() + value.len();
    }
    if total > MAX_ANNOTATIONS_BYTES {
        return Err(at.err(
            "metadata.annotations",
            format!("annotations take {total} bytes; Kubernetes allows at most {MAX_ANNOTATIONS_BYTES} (256 KiB)"),
        ));
    }
    let spec = spec(&at, &raw.spec)?;
    Ok(Resource { kind, name: raw.name.clone(), namespace, labels, annotations, spec })
}

/// Validates a reference (kind, namespace, name) on its own.
pub fn resource_ref(kind_text: &str, namespace_text: &str, name_text: &str) -> Result<ResourceRef, InvalidResource> {
    let at = At::new(kind_text, namespace_text, name_text);
    let kind = kind(&at, kind_text)?;
    name(&at, kind, name_text)?;
    let namespace = namespace(&at, namespace_text)?;
    Ok(ResourceRef { kind, namespace, name: name_text.to_string() })
}

/// Who the errors are about.
struct At<'a> {
    kind: &'a str,
    namespace: &'a str,
    name: &'a str,
}

impl<'a> At<'a> {
    fn new(kind: &'a str, namespace: &'a str, name: &'a str) -> Self {
        let namespace = if namespace.is_empty() { DEFAULT_NAMESPACE } else { namespace };
        At { kind, namespace, name }
    }

    fn err(&self, field: &str, message: impl Into<String>) -> InvalidResource {
        InvalidResource {
            kind: self.kind.to_string(),
            namespace: self.namespace.to_string(),
            name: self.name.to_string(),
            field: field.to_string(),
            message: message.into(),
        }
    }
}

fn kind(at: &At, text: &str) -> Result<Kind, InvalidResource> {
    if let Some(kind) = Kind::parse(text) {
        return Ok(kind);
    }
    let lower = text.to_ascii_lowercase();
    let near = Kind::ALL.into_iter().find(|k| k.as_str().eq_ignore_ascii_case(text) || k.plural() == lower);
    let message = match near {
        Some(k) => format!("unknown kind {text:?}; kinds are case-sensitive: did you mean {:?}?", k.as_str()),
        None => {
            let all: Vec<&str> = Kind::ALL.iter().map(|k| k.as_str()).collect();
            format!("unknown kind {text:?}; expected one of {}", all.join(", "))
        }
    };
    Err(at.err("kind", message))
}

fn api_version(at: &At, kind: Kind, version: &str) -> Result<(), InvalidResource> {
    let want = kind.api_version();
    if version == want {
        return Ok(());
    }
    let message = if version == format!("{}/v1alpha2", kind.group()) {
        format!("apiVersion {version:?} is obsolete (v1alpha2 was replaced by v1beta1 on 2024-10-17); use {want:?}")
    } else {
        format!("apiVersion {version:?} does not serve kind {kind}; expected {want:?} (or leave it out)")
    };
    Err(at.err("apiVersion", message))
}

fn name(at: &At, kind: Kind, text: &str) -> Result<(), InvalidResource> {
    if let Some(problem) = label_problem(text, kind.max_name_len(), &format!("{kind} names")) {
        return Err(at.err("metadata.name", format!("name {text:?} {problem}")));
    }
    // The fabric accepts names up to 253 characters for most kinds, but the file that holds
    // the CR in Git must fit a file system's name limit, or no one could check it out.
    let file = text.len() + FILE_SUFFIX.len();
    if file > MAX_FILE_NAME_BYTES {
        let longest = MAX_FILE_NAME_BYTES - FILE_SUFFIX.len();
        return Err(at.err(
            "metadata.name",
            format!(
                "name {text:?} is {} characters long: its file `{text}{FILE_SUFFIX}` would have {file} bytes, and \
                 file systems (ext4, APFS) allow at most {MAX_FILE_NAME_BYTES} in a file name; use at most {longest} characters",
                text.len()
            ),
        ));
    }
    Ok(())
}

fn namespace(at: &At, text: &str) -> Result<String, InvalidResource> {
    if text.is_empty() {
        return Ok(DEFAULT_NAMESPACE.to_string());
    }
    match label_problem(text, MAX_NAMESPACE_LEN, "namespaces") {
        None => Ok(text.to_string()),
        Some(problem) => Err(at.err("metadata.namespace", format!("namespace {text:?} {problem}"))),
    }
}

/// Why `s` is not a lowercase RFC 1123 label of at most `max` characters, in words.
fn label_problem(s: &str, max: usize, what: &str) -> Option<String> {
    if s.is_empty() {
        return Some(format!("is empty; {LABEL_RULE}"));
    }
    let len = s.chars().count();
    if len > max {
        return Some(format!("is {len} characters long; {what} have at most {max}"));
    }
    // Name every kind of mistake at once, so one fix is enough.
    let mut found: Vec<String> = Vec::new();
    if s.chars().any(|c| c.is_ascii_uppercase()) {
        found.push("upper-case letters".into());
    }
    if s.contains('/') {
        found.push("`/`".into());
    }
    if s.contains("..") {
        found.push("`..`".into());
    } else if s.contains('.') {
        found.push("`.`".into());
    }
    let mut others: Vec<char> =
        s.chars().filter(|&c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '/' | '.'))).collect();
    others.sort_unstable();
    others.dedup();
    found.extend(others.iter().map(|c| format!("{c:?}")));
    let problem = if !found.is_empty() {
        let lower = s.to_ascii_lowercase();
        let hint = if found.len() == 1 && found[0] == "upper-case letters" && label_problem(&lower, max, what).is_none()
        {
            format!(" (did you mean {lower:?}?)")
        } else {
            String::new()
        };
        format!("contains {}{hint}", join_and(&found))
    } else if s.starts_with('-') || s.ends_with('-') {
        "starts or ends with `-`".to_string()
    } else {
        return None;
    };
    Some(format!("{problem}; {LABEL_RULE}"))
}

/// `a`, `a and b`, `a, b and c`.
fn join_and(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// Kubernetes' `IsQualifiedName`: `[prefix/]name`, prefix a DNS subdomain of at most 253
/// characters, name at most 63 of `[A-Za-z0-9]` with `-_.` inside.
pub fn qualified_name_problem(key: &str) -> Option<String> {
    let parts: Vec<&str> = key.split('/').collect();
    let name = match parts.as_slice() {
        [name] => *name,
        [prefix, name] => {
            if prefix.is_empty() {
                return Some("the prefix before `/` is empty".into());
            }
            if prefix.len() > MAX_PREFIX_LEN {
                return Some(format!("the prefix is {} characters long; at most {MAX_PREFIX_LEN}", prefix.len()));
            }
            if !is_dns_subdomain(prefix) {
                return Some(format!(
                    "the prefix {prefix:?} is not a DNS subdomain (lowercase a-z, 0-9, `-` and `.`, dot-separated parts starting and ending with a letter or digit)"
                ));
            }
            *name
        }
        _ => return Some("it has more than one `/`; a key is an optional DNS-subdomain prefix, `/` and a name".into()),
    };
    if name.is_empty() {
        return Some("the name part is empty".into());
    }
    if name.len() > MAX_QUALIFIED_NAME_LEN {
        return Some(format!("the name part is {} characters long; at most {MAX_QUALIFIED_NAME_LEN}", name.len()));
    }
    if !is_label_value_text(name) {
        return Some(format!(
            "the name part {name:?} must be A-Z, a-z, 0-9, `-`, `_` and `.`, starting and ending with a letter or digit"
        ));
    }
    None
}

/// Kubernetes' label value rule: empty, or at most 63 of `[A-Za-z0-9]` with `-_.` inside.
pub fn label_value_problem(value: &str) -> Option<String> {
    if value.len() > MAX_LABEL_VALUE_LEN {
        return Some(format!("it is {} characters long; at most {MAX_LABEL_VALUE_LEN}", value.len()));
    }
    if !value.is_empty() && !is_label_value_text(value) {
        return Some(
            "it must be empty or A-Z, a-z, 0-9, `-`, `_` and `.`, starting and ending with a letter or digit".into(),
        );
    }
    None
}

/// `([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]`
fn is_label_value_text(s: &str) -> bool {
    let b = s.as_bytes();
    match (b.first(), b.last()) {
        (Some(f), Some(l)) => {
            f.is_ascii_alphanumeric()
                && l.is_ascii_alphanumeric()
                && b.iter().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
        }
        _ => false,
    }
}

/// `[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*`
fn is_dns_subdomain(s: &str) -> bool {
    s.split('.').all(|part| {
        let b = part.as_bytes();
        let edge = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit();
        b.first().is_some_and(edge)
            && b.last().is_some_and(edge)
            && b.iter().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
    })
}

/// Labels or annotations: a JSON object of string to string; empty text means `{}`.
fn string_map(at: &At, field: &str, text: &str) -> Result<BTreeMap<String, String>, InvalidResource> {
    if text.trim().is_empty() {
        return Ok(BTreeMap::new());
    }
    let value: Value = serde_json::from_str(text).map_err(|e| at.err(field, format!("is not valid JSON: {e}")))?;
    let Value::Object(object) = value else {
        return Err(at.err(field, format!("must be a JSON object of string to string, found {}", describe(&value))));
    };
    let mut map = BTreeMap::new();
    for (key, value) in object {
        match value {
            Value::String(s) => {
                map.insert(key, s);
            }
            other => {
                return Err(at.err(
                    &format!("{field}.{key}"),
                    format!("value must be a string, found {} (quote it)", describe(&other)),
                ))
            }
        }
    }
    Ok(map)
}

fn spec(at: &At, text: &str) -> Result<Map<String, Value>, InvalidResource> {
    if text.len() > MAX_SPEC_BYTES {
        return Err(at.err("spec", format!("spec is {} bytes of JSON; at most {MAX_SPEC_BYTES} (1 MiB)", text.len())));
    }
    if text.trim().is_empty() {
        return Ok(Map::new());
    }
    let value: Value = serde_json::from_str(text).map_err(|e| {
        if e.to_string().contains("recursion limit exceeded") {
            at.err(
                "spec",
                format!(
                    "spec nests deeper than {MAX_SPEC_DEPTH} levels of objects and arrays (line {}, column {})",
                    e.line(),
                    e.column()
                ),
            )
        } else {
            at.err("spec", format!("spec is not valid JSON: {e}"))
        }
    })?;
    match value {
        Value::Object(map) => Ok(map),
        other => Err(at.err("spec", format!("spec must be a JSON object, found {}", describe(&other)))),
    }
}

/// `an array`, `the string "x"`, ... for messages.
pub fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("the boolean {b}"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) if s.chars().count() <= 40 => format!("the string {s:?}"),
        Value::String(_) => "a string".into(),
        Value::Array(_) => "an array".into(),
        Value::Object(_) => "an object".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn label_keys_and_values() {
        for ok in ["app", "a.b_c-d", "fabric.githedgehog.com/vpc", "A1", "k8s.io/Name.x"] {
            assert_eq!(qualified_name_problem(ok), None, "{ok}");
        }
        for bad in ["", "/a", "a/", "a/b/c", "-a", "a-", "Example.com/a", "a b", &"x".repeat(64)] {
            assert!(qualified_name_problem(bad).is_some(), "{bad:?} accepted");
        }
        for ok in ["", "v1", "a.b-c_D"] {
            assert_eq!(label_value_problem(ok), None, "{ok}");
        }
        for bad in ["a b", "-a", "a/b", &"x".repeat(64)] {
            assert!(label_value_problem(bad).is_some(), "{bad:?} accepted");
        }
    }

    #[test]
    fn file_names_fit_a_file_system() {
        // 250 characters + `.yaml` is 255 bytes, the most ext4 and APFS take.
        assert!(resource_ref("Switch", "", &"x".repeat(250)).is_ok());
        for kind in Kind::ALL.into_iter().filter(|k| k.max_name_len() + FILE_SUFFIX.len() > MAX_FILE_NAME_BYTES) {
            let name = "x".repeat(251);
            let e = resource_ref(kind.as_str(), "", &name).unwrap_err();
            assert_eq!(
                (e.kind.as_str(), e.name.as_str(), e.field.as_str()),
                (kind.as_str(), name.as_str(), "metadata.name")
            );
            assert!(e.message.contains("would have 256 bytes"), "{}", e.message);
            assert!(e.message.contains("(ext4, APFS) allow at most 255"), "{}", e.message);
        }
        // Kinds whose names are short anyway are not concerned.
        assert!(Kind::ALL.iter().any(|k| k.max_name_len() < 250));
    }

    #[test]
    fn refs() {
        let r = resource_ref("Switch", "", "leaf-01").unwrap();
        assert_eq!(r, ResourceRef { kind: Kind::Switch, namespace: "default".into(), name: "leaf-01".into() });
        let e = resource_ref("Switch", "Bad", "leaf-01").unwrap_err();
        assert_eq!(e.field, "metadata.namespace");
        let e = resource_ref("switch", "", "leaf-01").unwrap_err();
        assert_eq!((e.field.as_str(), e.message.contains("\"Switch\"")), ("kind", true));
        let e = resource_ref("switches", "", "x").unwrap_err();
        assert!(e.message.contains("did you mean \"Switch\""), "{}", e.message);
    }
}
