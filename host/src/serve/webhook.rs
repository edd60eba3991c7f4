//! NetBox webhooks, checked and read without I/O: the `X-Hook-Signature` HMAC, and the body
//! of a NetBox 3.x or 4.x event rule turned into the CRs to sync.
//!
//! A body names one object. For a Hedgehog CR it becomes one or two [`Target`]s: the CR as
//! it is now and, when an update renamed it or moved it to another fabric or namespace, the
//! CR as it was (syncing a ref whose CR is gone deletes its file). An update that touched only
//! fields written by fgd-sync itself or by the Hedgehog operator is [`Payload::Bookkeeping`]:
//! ignoring it is what keeps `record-synced`'s own write-back from looping.

use std::fmt;

use hmac::Hmac;
use serde_json::{Map, Value};
use sha2::Sha512;

use fgd_sync_guest::model::KINDS;

use super::hmac_hex;
use crate::wit::{ResourceRef, DEFAULT_NAMESPACE};

/// Largest body accepted; NetBox's bodies for a CR are a few KiB.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// The header NetBox signs with.
pub const SIGNATURE_HEADER: &str = "x-hook-signature";

/// HNP's Django app label, the first half of a 4.x `object_type`.
pub const APP_LABEL: &str = "netbox_hedgehog";

/// Fields that only fgd-sync (`git_file_path`, `last_synced`), the Hedgehog operator
/// (`kubernetes_*`, `last_applied`, `sync_error`) or Django (`last_updated`) write. None of
/// them is part of a CR's YAML.
pub fn is_bookkeeping(field: &str) -> bool {
    matches!(field, "git_file_path" | "last_synced" | "last_updated" | "last_applied" | "sync_error")
        || field.starts_with("kubernetes_")
}

/// Why a signature was refused. Every variant answers 401.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignatureError {
    /// No `X-Hook-Signature` header.
    Missing,
    /// The header is not 128 hex digits (an HMAC-SHA512).
    Malformed,
    /// The header is a well-formed HMAC, but not of this body with this secret.
    Mismatch,
}

impl fmt::Display for SignatureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SignatureError::Missing => "no X-Hook-Signature header",
            SignatureError::Malformed => "X-Hook-Signature is not a hex HMAC-SHA512",
            SignatureError::Mismatch => "X-Hook-Signature does not match the body and the configured secret",
        })
    }
}

impl std::error::Error for SignatureError {}

/// Checks `X-Hook-Signature` (hex HMAC-SHA512 of the raw body, keyed with the secret) in
/// constant time. Upper-case hex is accepted too.
pub fn verify_signature(secret: &[u8], header: Option<&[u8]>, body: &[u8]) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    hmac_hex::verify::<Hmac<Sha512>>(secret, header.trim_ascii(), body).map_err(|refused| match refused {
        hmac_hex::Refused::Malformed => SignatureError::Malformed,
        hmac_hex::Refused::Mismatch => SignatureError::Mismatch,
    })
}

/// Lowercase hex HMAC-SHA512 of `body`: what NetBox sends (for tests and tools).
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    hmac_hex::sign::<Hmac<Sha512>>(secret, body)
}

/// Why a signed body cannot be used. Every variant answers 400.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PayloadError {
    /// Not JSON at all.
    Json(String),
    /// JSON, but not an object.
    NotAnObject,
    /// A field is missing or has the wrong type; `field` is a dotted path (`data.name`).
    Field { field: String, message: String },
}

impl fmt::Display for PayloadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PayloadError::Json(e) => write!(f, "the body is not JSON: {e}"),
            PayloadError::NotAnObject => write!(f, "the body is not a JSON object"),
            PayloadError::Field { field, message } => write!(f, "field {field}: {message}"),
        }
    }
}

impl std::error::Error for PayloadError {}

fn field_error(field: &str, message: impl Into<String>) -> PayloadError {
    PayloadError::Field { field: field.to_owned(), message: message.into() }
}

/// The event of an object change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    Created,
    Updated,
    Deleted,
}

impl Event {
    pub fn as_str(self) -> &'static str {
        match self {
            Event::Created => "created",
            Event::Updated => "updated",
            Event::Deleted => "deleted",
        }
    }
}

/// How a payload names a CR's fabric.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum FabricRef {
    /// The primary key (HNP's serializer, and every `prechange` snapshot).
    Id(u64),
    /// The name (a nested `{id, name, display}` object).
    Name(String),
}

impl fmt::Display for FabricRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FabricRef::Id(id) => write!(f, "fabric id {id}"),
            FabricRef::Name(name) => write!(f, "fabric {name:?}"),
        }
    }
}

/// One CR to sync, and the fabric it belongs (or belonged) to.
#[derive(Clone, Debug, PartialEq)]
pub struct Target {
    pub fabric: FabricRef,
    /// Namespace normalized: never empty.
    pub resource: ResourceRef,
}

/// What a well-formed, signed body asks for.
#[derive(Clone, Debug, PartialEq)]
pub enum Payload {
    /// A CR changed: sync these.
    Resources { event: Event, targets: Vec<Target> },
    /// An update whose only changes are bookkeeping fields (see [`is_bookkeeping`]).
    Bookkeeping { resource: ResourceRef },
    /// Not a Hedgehog CR (another object type, or an event that is not an object change).
    Ignored { reason: String },
}

/// Reads a NetBox 4.x (`object_type: "netbox_hedgehog.vpc"`) or 3.x (`model: "vpc"`) body.
pub fn parse(body: &[u8]) -> Result<Payload, PayloadError> {
    let value: Value = serde_json::from_slice(body).map_err(|e| PayloadError::Json(e.to_string()))?;
    let body = value.as_object().ok_or(PayloadError::NotAnObject)?;

    let kind = match object_kind(body)? {
        Ok(kind) => kind,
        Err(other) => return Ok(Payload::Ignored { reason: format!("{other} is not a Hedgehog CR") }),
    };
    let event = match body.get("event") {
        Some(Value::String(event)) => match event.as_str() {
            "created" => Event::Created,
            "updated" => Event::Updated,
            "deleted" => Event::Deleted,
            other => return Ok(Payload::Ignored { reason: format!("event {other:?} is not an object change") }),
        },
        Some(other) => return Err(field_error("event", format!("expected a string, found {}", type_name(other)))),
        None => return Err(field_error("event", "missing")),
    };
    let snapshot = |name: &str| -> Result<Option<&Map<String, Value>>, PayloadError> {
        match body.get("snapshots").and_then(|s| s.get(name)) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Object(object)) => Ok(Some(object)),
            Some(other) => Err(field_error(
                &format!("snapshots.{name}"),
                format!("expected an object, found {}", type_name(other)),
            )),
        }
    };
    let prechange = snapshot("prechange")?;
    let postchange = snapshot("postchange")?;
    let data = match body.get("data") {
        Some(Value::Object(data)) => Some(data),
        None | Some(Value::Null) => None,
        Some(other) => return Err(field_error("data", format!("expected an object, found {}", type_name(other)))),
    };

    // A deleted object is in `data` (as it was); older NetBox versions left only the snapshot.
    let (current, at) = match (event, data, prechange) {
        (_, Some(data), _) => (data, "data"),
        (Event::Deleted, None, Some(prechange)) => (prechange, "snapshots.prechange"),
        _ => return Err(field_error("data", "missing")),
    };
    let target = target_of(kind, current, at)?;
    if event != Event::Updated {
        return Ok(Payload::Resources { event, targets: vec![target] });
    }
    if let (Some(before), Some(after)) = (prechange, postchange) {
        if only_bookkeeping_changed(before, after) {
            return Ok(Payload::Bookkeeping { resource: target.resource });
        }
    }
    let mut targets = vec![target];
    // A rename or a move: the old file must go. A snapshot too incomplete to name the CR
    // is not an error: the new one is still synced, and a reconcile removes the old file.
    if let Some(Ok(old)) = prechange.map(|before| target_of(kind, before, "snapshots.prechange")) {
        if !targets.contains(&old) {
            targets.push(old);
        }
    }
    Ok(Payload::Resources { event, targets })
}

/// The Kubernetes kind of the body's object: `Ok(Ok(kind))` for a Hedgehog CR,
/// `Ok(Err(description))` for anything else.
fn object_kind(body: &Map<String, Value>) -> Result<Result<&'static str, String>, PayloadError> {
    let string = |field: &str| match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        Some(other) => Err(field_error(field, format!("expected a string, found {}", type_name(other)))),
    };
    let kind_of = |model: &str| KINDS.iter().find(|k| model.eq_ignore_ascii_case(k.netbox_model)).map(|k| k.name);
    if let Some(object_type) = string("object_type")? {
        let kind = object_type
            .split_once('.')
            .filter(|(app, _)| app.eq_ignore_ascii_case(APP_LABEL))
            .and_then(|(_, model)| kind_of(model));
        return Ok(kind.ok_or_else(|| format!("object type {object_type:?}")));
    }
    // NetBox 3.x: the model name alone, without its app.
    if let Some(model) = string("model")? {
        return Ok(kind_of(model).ok_or_else(|| format!("model {model:?}")));
    }
    Err(field_error("object_type", "missing (and no NetBox 3.x `model` either)"))
}

/// The fabric and ref of a CR object (`at` names it in errors).
fn target_of(kind: &str, object: &Map<String, Value>, at: &str) -> Result<Target, PayloadError> {
    let name = match object.get("name") {
        Some(Value::String(name)) if is_label(name) => name.clone(),
        Some(Value::String(name)) => {
            return Err(field_error(&format!("{at}.name"), format!("{name:?} is not a lowercase RFC 1123 label")))
        }
        Some(other) => {
            return Err(field_error(&format!("{at}.name"), format!("expected a string, found {}", type_name(other))))
        }
        None => return Err(field_error(&format!("{at}.name"), "missing")),
    };
    let namespace = match object.get("namespace") {
        None | Some(Value::Null) => DEFAULT_NAMESPACE.to_owned(),
        Some(Value::String(ns)) if ns.is_empty() => DEFAULT_NAMESPACE.to_owned(),
        Some(Value::String(ns)) if is_label(ns) && ns.len() <= 63 => ns.clone(),
        Some(Value::String(ns)) => {
            return Err(field_error(&format!("{at}.namespace"), format!("{ns:?} is not a lowercase RFC 1123 label")))
        }
        Some(other) => {
            let message = format!("expected a string, found {}", type_name(other));
            return Err(field_error(&format!("{at}.namespace"), message));
        }
    };
    let fabric = fabric_ref(object.get("fabric")).map_err(|message| field_error(&format!("{at}.fabric"), message))?;
    Ok(Target { fabric, resource: ResourceRef { kind: kind.to_owned(), namespace, name } })
}

/// `fabric` as a primary key, a nested `{id, name, display}` object, or a name.
fn fabric_ref(value: Option<&Value>) -> Result<FabricRef, String> {
    let id = |v: &Value| v.as_u64().map(FabricRef::Id);
    let name =
        |v: Option<&Value>| v.and_then(Value::as_str).filter(|s| !s.is_empty()).map(|s| FabricRef::Name(s.into()));
    match value {
        None | Some(Value::Null) => Err("missing".into()),
        Some(Value::Object(nested)) => name(nested.get("name"))
            .or_else(|| name(nested.get("display")))
            .or_else(|| nested.get("id").and_then(id))
            .ok_or_else(|| "an object with neither `name` nor an integer `id`".into()),
        Some(Value::String(s)) if !s.is_empty() => {
            Ok(s.parse().map(FabricRef::Id).unwrap_or(FabricRef::Name(s.clone())))
        }
        Some(other) => id(other).ok_or_else(|| format!("expected a fabric id, found {other}")),
    }
}

/// True when every field that differs between the snapshots is bookkeeping.
fn only_bookkeeping_changed(before: &Map<String, Value>, after: &Map<String, Value>) -> bool {
    let changed = |key: &String| before.get(key) != after.get(key);
    before.keys().chain(after.keys()).filter(|key| changed(key)).all(|key| is_bookkeeping(key))
}

/// `^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`, at most 253 characters (HNP's own rule).
fn is_label(s: &str) -> bool {
    let ok = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    s.len() <= 253 && s.starts_with(ok) && s.ends_with(ok) && s.chars().all(|c| ok(c) || c == '-')
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const SECRET: &[u8] = b"s3cret";

    fn reference(kind: &str, namespace: &str, name: &str) -> ResourceRef {
        ResourceRef { kind: kind.into(), namespace: namespace.into(), name: name.into() }
    }

    fn target(fabric: FabricRef, kind: &str, namespace: &str, name: &str) -> Target {
        Target { fabric, resource: reference(kind, namespace, name) }
    }

    fn vpc(fabric: Value, name: &str) -> Value {
        json!({
            "id": 7, "url": "http://netbox/api/plugins/hedgehog/vpcs/7/", "display": name, "fabric": fabric,
            "name": name, "namespace": "default", "spec": {"subnets": {}}, "labels": {}, "annotations": {},
            "git_file_path": "", "last_synced": null, "last_updated": "2025-01-01T00:00:00Z",
        })
    }

    fn netbox4(event: &str, object_type: &str, data: Value, pre: Value, post: Value) -> Vec<u8> {
        json!({
            "event": event, "timestamp": "2025-01-01T00:00:00Z", "object_type": object_type,
            "request": {"id": "x", "user": "admin"}, "data": data,
            "snapshots": {"prechange": pre, "postchange": post},
        })
        .to_string()
        .into_bytes()
    }

    fn check(body: &[u8], expected: Result<Payload, PayloadError>) {
        pretty_assertions::assert_eq!(parse(body), expected, "{}", String::from_utf8_lossy(body));
    }

    fn resources(event: Event, targets: Vec<Target>) -> Result<Payload, PayloadError> {
        Ok(Payload::Resources { event, targets })
    }

    #[test]
    fn signatures() {
        let body = br#"{"event": "created"}"#;
        let good = sign(SECRET, body);
        assert_eq!(good.len(), 128);
        assert_eq!(verify_signature(SECRET, Some(good.as_bytes()), body), Ok(()));
        assert_eq!(verify_signature(SECRET, Some(good.to_uppercase().as_bytes()), body), Ok(()));
        assert_eq!(verify_signature(SECRET, None, body), Err(SignatureError::Missing));
        assert_eq!(verify_signature(b"other", Some(good.as_bytes()), body), Err(SignatureError::Mismatch));
        assert_eq!(verify_signature(SECRET, Some(good.as_bytes()), b"{}"), Err(SignatureError::Mismatch));
        for bad in ["", "zz", &good[..127], &good[..126], &format!("{good}00"), &format!("sha512={good}")] {
            assert_eq!(verify_signature(SECRET, Some(bad.as_bytes()), body), Err(SignatureError::Malformed), "{bad}");
        }
    }

    #[test]
    fn created_updated_deleted_in_netbox_4() {
        let created = vpc(json!(1), "vpc-1");
        let expected = vec![target(FabricRef::Id(1), "VPC", "default", "vpc-1")];
        check(
            &netbox4("created", "netbox_hedgehog.vpc", created.clone(), Value::Null, created.clone()),
            resources(Event::Created, expected.clone()),
        );
        let mut updated = created.clone();
        updated["spec"] = json!({"subnets": {"a": {}}});
        check(
            &netbox4("updated", "netbox_hedgehog.vpc", updated.clone(), created.clone(), updated),
            resources(Event::Updated, expected.clone()),
        );
        check(
            &netbox4("deleted", "netbox_hedgehog.vpc", created.clone(), created.clone(), Value::Null),
            resources(Event::Deleted, expected.clone()),
        );
        // Without `data`, a delete is read from the prechange snapshot.
        check(
            &netbox4("deleted", "netbox_hedgehog.vpc", Value::Null, created, Value::Null),
            resources(Event::Deleted, expected),
        );
    }

    #[test]
    fn netbox_3_names_the_model_only() {
        let data = vpc(json!(2), "vpc-2");
        let body = json!({
            "event": "created", "timestamp": "2025-01-01T00:00:00Z", "model": "vpc", "username": "admin",
            "request_id": "x", "data": data, "snapshots": {"prechange": null, "postchange": data},
        });
        check(
            body.to_string().as_bytes(),
            resources(Event::Created, vec![target(FabricRef::Id(2), "VPC", "default", "vpc-2")]),
        );
        let other = json!({"event": "created", "model": "site", "data": {"id": 1, "name": "x"}});
        check(
            other.to_string().as_bytes(),
            Ok(Payload::Ignored { reason: "model \"site\" is not a Hedgehog CR".into() }),
        );
    }

    #[test]
    fn every_kind_maps_from_its_model() {
        for k in &KINDS {
            let (model, kind) = (k.netbox_model, k.name);
            let object_type = format!("netbox_hedgehog.{model}");
            let data = json!({"fabric": 3, "name": "x-1", "namespace": "tenant-a"});
            check(
                &netbox4("created", &object_type, data, Value::Null, Value::Null),
                resources(Event::Created, vec![target(FabricRef::Id(3), kind, "tenant-a", "x-1")]),
            );
        }
    }

    #[test]
    fn other_objects_and_events_are_ignored() {
        let data = json!({"id": 1, "name": "rack-1"});
        let ignored = |reason: &str| Ok(Payload::Ignored { reason: reason.into() });
        check(
            &netbox4("created", "dcim.site", data.clone(), Value::Null, Value::Null),
            ignored("object type \"dcim.site\" is not a Hedgehog CR"),
        );
        check(
            &netbox4("created", "netbox_hedgehog.fabric", data.clone(), Value::Null, Value::Null),
            ignored("object type \"netbox_hedgehog.fabric\" is not a Hedgehog CR"),
        );
        check(
            &netbox4("created", "other_plugin.vpc", data.clone(), Value::Null, Value::Null),
            ignored("object type \"other_plugin.vpc\" is not a Hedgehog CR"),
        );
        check(
            &netbox4("job_started", "netbox_hedgehog.vpc", data, Value::Null, Value::Null),
            ignored("event \"job_started\" is not an object change"),
        );
    }

    #[test]
    fn fabric_forms() {
        let cases = [
            (json!(4), FabricRef::Id(4)),
            (json!({"id": 4, "url": "u", "display": "DC 1", "name": "dc1"}), FabricRef::Name("dc1".into())),
            (json!({"id": 4, "display": "dc1"}), FabricRef::Name("dc1".into())),
            (json!({"id": 4}), FabricRef::Id(4)),
            (json!("4"), FabricRef::Id(4)),
            (json!("dc1"), FabricRef::Name("dc1".into())),
        ];
        for (fabric, expected) in cases {
            let body = netbox4("created", "netbox_hedgehog.switch", vpc(fabric, "leaf-1"), Value::Null, Value::Null);
            check(&body, resources(Event::Created, vec![target(expected, "Switch", "default", "leaf-1")]));
        }
    }

    #[test]
    fn write_back_updates_are_bookkeeping() {
        let before = vpc(json!(1), "vpc-1");
        let mut after = before.clone();
        after["git_file_path"] = json!("fabrics/dc1/gitops/managed/vpcs/vpc-1.yaml");
        after["last_synced"] = json!("2025-01-01T00:00:01Z");
        after["last_updated"] = json!("2025-01-01T00:00:01Z");
        after["kubernetes_status"] = json!("synced");
        after["sync_error"] = json!("");
        let body = netbox4("updated", "netbox_hedgehog.vpc", after.clone(), before.clone(), after.clone());
        check(&body, Ok(Payload::Bookkeeping { resource: reference("VPC", "default", "vpc-1") }));

        // One real change among them and it is a change.
        after["labels"] = json!({"team": "net"});
        let body = netbox4("updated", "netbox_hedgehog.vpc", after.clone(), before, after);
        check(&body, resources(Event::Updated, vec![target(FabricRef::Id(1), "VPC", "default", "vpc-1")]));
    }

    #[test]
    fn without_snapshots_an_update_is_a_change() {
        let data = vpc(json!(1), "vpc-1");
        let body = netbox4("updated", "netbox_hedgehog.vpc", data, Value::Null, Value::Null);
        check(&body, resources(Event::Updated, vec![target(FabricRef::Id(1), "VPC", "default", "vpc-1")]));
    }

    #[test]
    fn renames_and_moves_also_sync_the_old_ref() {
        let before = vpc(json!(1), "vpc-1");
        let mut after = vpc(json!(1), "vpc-2");
        check(
            &netbox4("updated", "netbox_hedgehog.vpc", after.clone(), before.clone(), after.clone()),
            resources(
                Event::Updated,
                vec![
                    target(FabricRef::Id(1), "VPC", "default", "vpc-2"),
                    target(FabricRef::Id(1), "VPC", "default", "vpc-1"),
                ],
            ),
        );
        after = vpc(json!(2), "vpc-1");
        check(
            &netbox4("updated", "netbox_hedgehog.vpc", after.clone(), before.clone(), after),
            resources(
                Event::Updated,
                vec![
                    target(FabricRef::Id(2), "VPC", "default", "vpc-1"),
                    target(FabricRef::Id(1), "VPC", "default", "vpc-1"),
                ],
            ),
        );
    }

    #[test]
    fn namespaces_are_normalized() {
        for namespace in [json!(null), json!(""), json!("default")] {
            let mut data = vpc(json!(1), "vpc-1");
            data["namespace"] = namespace;
            check(
                &netbox4("created", "netbox_hedgehog.vpc", data, Value::Null, Value::Null),
                resources(Event::Created, vec![target(FabricRef::Id(1), "VPC", "default", "vpc-1")]),
            );
        }
    }

    #[test]
    fn malformed_bodies() {
        let field = |f: &str, m: &str| Err(field_error(f, m));
        let created = |data: Value| netbox4("created", "netbox_hedgehog.vpc", data, Value::Null, Value::Null);
        let cases: Vec<(Vec<u8>, Result<Payload, PayloadError>)> = vec![
            (b"{not json".to_vec(), Err(PayloadError::Json("key must be a string at line 1 column 2".into()))),
            (b"[]".to_vec(), Err(PayloadError::NotAnObject)),
            (br#"{"event": "created"}"#.to_vec(), field("object_type", "missing (and no NetBox 3.x `model` either)")),
            (br#"{"object_type": 7}"#.to_vec(), field("object_type", "expected a string, found a number")),
            (br#"{"object_type": "netbox_hedgehog.vpc", "data": {}}"#.to_vec(), field("event", "missing")),
            (created(Value::Null), field("data", "missing")),
            (created(json!([])), field("data", "expected an object, found an array")),
            (created(json!({"fabric": 1})), field("data.name", "missing")),
            (
                created(json!({"fabric": 1, "name": "A b"})),
                field("data.name", "\"A b\" is not a lowercase RFC 1123 label"),
            ),
            (created(json!({"name": "vpc-1"})), field("data.fabric", "missing")),
            (created(json!({"name": "vpc-1", "fabric": -1})), field("data.fabric", "expected a fabric id, found -1")),
            (
                json!({"event": "updated", "object_type": "netbox_hedgehog.vpc", "snapshots": {"prechange": 5}})
                    .to_string()
                    .into_bytes(),
                field("snapshots.prechange", "expected an object, found a number"),
            ),
        ];
        for (body, expected) in cases {
            check(&body, expected);
        }
    }

    #[test]
    fn bookkeeping_fields() {
        for field in ["git_file_path", "last_synced", "last_updated", "last_applied", "sync_error", "kubernetes_uid"] {
            assert!(is_bookkeeping(field), "{field}");
        }
        for field in ["spec", "name", "namespace", "labels", "annotations", "fabric", "tags", "custom_fields"] {
            assert!(!is_bookkeeping(field), "{field}");
        }
    }
}
