//! The shared corpus through the Rust host (`fgd_sync::runtime::Runtime`), in the plain form
//! `tests/data/corpus/README.md` describes, plus the checks of the corpus' expected errors.
//! `examples/python/corpus.py` and `examples/node/corpus.mjs` produce the same form.

use std::path::Path;
use std::sync::Arc;

use fgd_sync::net::hooks::{HttpLimits, PolicyHooks};
use fgd_sync::net::policy::EgressPolicy;
use fgd_sync::runtime::{CallContext, Runtime};
use fgd_sync::source::directory::DirectorySource;
use fgd_sync::wit::{CommitPlan, PlanInput};
use fgd_sync::wit::{CustomResource, Direction, InvalidResource, ResourceRef, SyncError};
use serde_json::{json, Value};

const MAX_CONTENT_ROUNDS: usize = 3;

fn context() -> CallContext {
    CallContext {
        hooks: PolicyHooks::new(EgressPolicy::default(), HttpLimits::default()),
        source: Arc::new(DirectorySource::new(Vec::new())),
    }
}

// ---- WIT values in the corpus' plain form: WIT field names, variants as {tag, val}.

fn cr(c: &CustomResource) -> Value {
    json!({"kind": c.kind, "api-version": c.api_version, "name": c.name, "namespace": c.namespace,
           "labels": c.labels, "annotations": c.annotations, "spec": c.spec})
}

fn cr_from(v: &Value) -> CustomResource {
    let s = |k: &str| v[k].as_str().unwrap_or_else(|| panic!("corpus CR field {k} in {v}")).to_string();
    CustomResource {
        kind: s("kind"),
        api_version: v["api-version"].as_str().map(str::to_string),
        name: s("name"),
        namespace: s("namespace"),
        labels: s("labels"),
        annotations: s("annotations"),
        spec: s("spec"),
    }
}

fn invalid(e: &InvalidResource) -> Value {
    json!({"kind": e.kind, "namespace": e.namespace, "name": e.name, "field": e.field, "message": e.message})
}

fn reference(r: &ResourceRef) -> Value {
    json!({"kind": r.kind, "namespace": r.namespace, "name": r.name})
}

fn sync_error(e: &SyncError) -> Value {
    let (tag, val) = match e {
        SyncError::InvalidResource(e) => ("invalid-resource", invalid(e)),
        SyncError::InvalidManifest(m) => {
            ("invalid-manifest", json!({"source": m.source, "document": m.document, "message": m.message}))
        }
        SyncError::InvalidTarget(m) => ("invalid-target", json!(m)),
        SyncError::BranchNotFound(b) => ("branch-not-found", json!(b)),
        SyncError::Remote(r) => {
            ("remote", json!({"method": r.method, "url": r.url, "status": r.status, "message": r.message}))
        }
        SyncError::RateLimited(r) => ("rate-limited", json!({"reset-at": r.reset_at, "message": r.message})),
        SyncError::Transport(m) => ("transport", json!(m)),
        SyncError::TooManyRaces(n) => ("too-many-races", json!(n)),
        SyncError::Source(m) => ("source", json!(m)),
        SyncError::TooManyDeletions(g) => {
            ("too-many-deletions", json!({"deletions": g.deletions, "managed": g.managed, "limit": g.limit}))
        }
        SyncError::BranchProtected(r) => {
            ("branch-protected", json!({"method": r.method, "url": r.url, "status": r.status, "message": r.message}))
        }
        SyncError::ForeignState(s) => {
            ("foreign-state", json!({"path": s.path, "fabric": s.fabric, "directory": s.directory}))
        }
    };
    json!({"tag": tag, "val": val})
}

fn commit_plan(p: &CommitPlan) -> Value {
    let changes: Vec<Value> = p
        .changes
        .iter()
        .map(|c| {
            json!({"path": c.path, "action": c.action.as_str(), "resource": reference(&c.resource),
                   "base-sha": c.base_sha, "remote-sha": c.remote_sha, "new-sha": c.new_sha,
                   "old-content": c.old_content, "new-content": c.new_content})
        })
        .collect();
    let conflicts: Vec<Value> = p
        .conflicts
        .iter()
        .map(|c| {
            json!({"path": c.path, "kind": c.kind.as_str(), "reason": c.reason, "resource": reference(&c.resource),
                   "expected-sha": c.expected_sha, "actual-sha": c.actual_sha,
                   "git-content": c.git_content, "hnp-content": c.hnp_content})
        })
        .collect();
    let writes: Vec<Value> = p.writes.iter().map(|w| json!({"path": w.path, "content": w.content})).collect();
    let invalid: Vec<Value> = p.invalid.iter().map(invalid).collect();
    let hnp_changes: Vec<Value> = p
        .hnp_changes
        .iter()
        .map(|c| {
            let op = match c.op {
                fgd_sync::wit::HnpOp::Create => "create",
                fgd_sync::wit::HnpOp::Update => "update",
                fgd_sync::wit::HnpOp::Delete => "delete",
            };
            json!({"op": op, "resource": cr(&c.resource), "expected": c.expected.as_ref().map(cr),
                   "fields": c.fields, "path": c.path, "records-sync": c.records_sync})
        })
        .collect();
    let raw_errors: Vec<Value> = p
        .raw_errors
        .iter()
        .map(|e| json!({"path": e.path, "document": e.document, "field": e.field, "message": e.message}))
        .collect();
    json!({"changes": changes, "conflicts": conflicts, "invalid": invalid, "unchanged": p.unchanged,
           "need-contents": p.need_contents, "writes": writes, "hnp-changes": hnp_changes,
           "raw-errors": raw_errors, "message": p.message})
}

fn blob_sha(text: &str) -> String {
    fgd_sync_guest::blob::blob_sha(text.as_bytes())
}

/// The corpus run through one `Runtime`; every call is a fresh store, as in production.
pub struct Runner<'a> {
    runtime: &'a Runtime,
    rt: tokio::runtime::Runtime,
    directory: String,
    state_path: String,
    prefix: String,
}

impl<'a> Runner<'a> {
    pub fn new(runtime: &'a Runtime, corpus: &Value) -> Runner<'a> {
        let field = |k: &str| corpus[k].as_str().unwrap_or_else(|| panic!("corpus.json: {k}")).to_string();
        Runner {
            runtime,
            rt: tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime"),
            directory: field("directory"),
            state_path: field("state-path"),
            prefix: field("message-prefix"),
        }
    }

    fn resource(&self, c: &CustomResource) -> Value {
        let rendered = self.rt.block_on(self.runtime.render(context(), c.clone())).expect("render: runtime");
        let r = c.reference();
        let path = self
            .rt
            .block_on(self.runtime.manifest_path(context(), self.directory.clone(), r))
            .expect("manifest-path: runtime");
        let sha = rendered.as_ref().ok().map(|text| blob_sha(text));
        json!({
            "render": match &rendered { Ok(t) => json!({"ok": t}), Err(e) => json!({"err": invalid(e)}) },
            "path": match &path { Ok(p) => json!({"ok": p}), Err(e) => json!({"err": invalid(e)}) },
            "blob-sha": sha,
        })
    }

    fn plan(
        &self,
        desired: &[CustomResource],
        remote: Vec<(String, String)>,
        state: Option<String>,
        blobs: &[(String, String)],
    ) -> Value {
        self.plan_towards(desired, remote, state, blobs, Direction::Push)
    }

    fn plan_towards(
        &self,
        desired: &[CustomResource],
        remote: Vec<(String, String)>,
        state: Option<String>,
        blobs: &[(String, String)],
        direction: Direction,
    ) -> Value {
        let mut input = PlanInput {
            directory: self.directory.clone(),
            remote_files: remote,
            state,
            contents: Vec::new(),
            desired: desired.to_vec(),
            deleted: Vec::new(),
            complete: true,
            resolutions: Vec::new(),
            fabric: String::new(),
            untrusted: Vec::new(),
            unreadable: Vec::new(),
            direction,
            refused: Vec::new(),
        };
        let mut result = Value::Null;
        for _ in 0..MAX_CONTENT_ROUNDS {
            let answer = self
                .rt
                .block_on(self.runtime.plan(context(), input.clone(), self.prefix.clone()))
                .expect("plan: runtime");
            let wanted: Vec<(String, String)> = match &answer {
                Ok(p) => p
                    .need_contents
                    .iter()
                    .filter(|sha| !input.contents.iter().any(|(s, _)| s == *sha))
                    .filter_map(|sha| blobs.iter().find(|(s, _)| s == sha).cloned())
                    .collect(),
                Err(_) => Vec::new(),
            };
            result = match &answer {
                Ok(p) => json!({"ok": commit_plan(p)}),
                Err(e) => json!({"err": sync_error(e)}),
            };
            if wanted.is_empty() {
                break;
            }
            input.contents.extend(wanted);
        }
        result
    }

    fn plans(&self, crs: &[CustomResource]) -> Value {
        let fresh = self.plan(crs, Vec::new(), None, &[]);
        let mut plans = vec![json!({"name": "fresh", "result": fresh})];
        let Some(writes) = fresh["ok"]["writes"].as_array() else {
            return Value::Array(plans);
        };
        // path -> text of every written file, sorted by path.
        let mut files: Vec<(String, String)> = writes
            .iter()
            .filter_map(|w| Some((w["path"].as_str()?.to_string(), w["content"].as_str()?.to_string())))
            .collect();
        files.sort();
        let blobs: Vec<(String, String)> = files.iter().map(|(_, t)| (blob_sha(t), t.clone())).collect();
        let remote: Vec<(String, String)> = files.iter().map(|(p, t)| (p.clone(), blob_sha(t))).collect();
        let state = files.iter().find(|(p, _)| *p == self.state_path).map(|(_, t)| t.clone());
        plans.push(json!({"name": "resync", "result": self.plan(crs, remote.clone(), state.clone(), &blobs)}));
        if let Some((first, text)) = files.iter().find(|(p, _)| *p != self.state_path) {
            let edited = format!("{text}gitEdited: true\n");
            let edited_sha = blob_sha(&edited);
            let edited_remote: Vec<(String, String)> = remote
                .iter()
                .map(|(p, s)| (p.clone(), if p == first { edited_sha.clone() } else { s.clone() }))
                .collect();
            let mut edit_blobs = blobs.clone();
            edit_blobs.push((edited_sha, edited));
            plans.push(json!({"name": "git-edit", "result": self.plan(crs, edited_remote.clone(), state.clone(), &edit_blobs)}));
            // The same edit pulled (Git's file is no CR: a conflict that says why), and Git's
            // deletion of the file pulled (the CR is deleted in HNP: an `hnp-change`).
            let pulled = self.plan_towards(crs, edited_remote, state.clone(), &edit_blobs, Direction::Pull);
            plans.push(json!({"name": "git-edit-pull", "result": pulled}));
            let deleted: Vec<(String, String)> = remote.iter().filter(|(p, _)| p != first).cloned().collect();
            let pulled = self.plan_towards(crs, deleted, state.clone(), &blobs, Direction::Pull);
            plans.push(json!({"name": "git-delete-pull", "result": pulled}));
        }
        if !crs.is_empty() {
            plans.push(json!({"name": "hnp-delete", "result": self.plan(&crs[1..], remote, state, &blobs)}));
        }
        Value::Array(plans)
    }

    pub fn manifest(&self, name: &str, text: &str) -> Value {
        let parsed = self
            .rt
            .block_on(self.runtime.parse_manifests(context(), name.to_string(), text.to_string()))
            .expect("parse-manifests: runtime");
        match parsed {
            Err(e) => json!({"file": name, "parse": {"err": sync_error(&e)}}),
            Ok(crs) => json!({
                "file": name,
                "parse": {"ok": crs.iter().map(cr).collect::<Vec<_>>()},
                "resources": crs.iter().map(|c| self.resource(c)).collect::<Vec<_>>(),
                "plans": self.plans(&crs),
            }),
        }
    }

    pub fn resources(&self, name: &str, cases: &Value) -> Value {
        let crs: Vec<CustomResource> =
            cases.as_array().expect("a resources file is a list").iter().map(|c| cr_from(&c["cr"])).collect();
        json!({"file": name, "entries": crs.iter().map(|c| self.resource(c)).collect::<Vec<_>>(), "plans": self.plans(&crs)})
    }

    /// The whole corpus, as the other hosts print it.
    pub fn run(&self, corpus_file: &Path, corpus: &Value) -> Value {
        let base = corpus_file.parent().expect("corpus.json is in a directory");
        let read = |file: &str| {
            std::fs::read_to_string(base.join(file)).unwrap_or_else(|e| panic!("reading corpus file {file}: {e}"))
        };
        let manifests: Vec<Value> = entries(corpus, "manifests")
            .iter()
            .map(|m| {
                let file = m["file"].as_str().expect("manifest entry names a file");
                self.manifest(file, &read(file))
            })
            .collect();
        let resources: Vec<Value> = entries(corpus, "resources")
            .iter()
            .map(|r| {
                let file = r["file"].as_str().expect("resources entry names a file");
                let cases: Value = serde_json::from_str(&read(file)).expect("resources file is JSON");
                self.resources(file, &cases)
            })
            .collect();
        json!({"host": "rust", "manifests": manifests, "resources": resources})
    }
}

pub fn entries<'v>(corpus: &'v Value, key: &str) -> &'v Vec<Value> {
    corpus[key].as_array().unwrap_or_else(|| panic!("corpus.json: {key} is a list"))
}

/// The corpus' own expectations: valid files plan, invalid ones fail at the stated stage,
/// naming the stated field (or document).
/// The pull cases of a valid file's plans: Git's deletion of a managed file becomes the CR's
/// deletion in HNP, and a Git file that is no CR stays a conflict that says why.
fn check_pulls(file: &str, plans: &Value) -> bool {
    let case = |name: &str| plans.as_array().unwrap().iter().find(|p| p["name"] == name).map(|p| &p["result"]["ok"]);
    let Some(deleted) = case("git-delete-pull") else { return false };
    let changes = deleted["hnp-changes"].as_array().unwrap();
    assert_eq!(changes.len(), 1, "{file}: {deleted}");
    assert_eq!((&changes[0]["op"], &changes[0]["records-sync"]), (&json!("delete"), &json!(false)), "{file}");
    assert!(changes[0]["expected"].is_object(), "{file}: a delete names the CR it expects: {deleted}");
    let edited = case("git-edit-pull").expect("git-edit-pull beside git-delete-pull");
    assert_eq!(edited["hnp-changes"], json!([]), "{file}: {edited}");
    let reasons: Vec<&str> =
        edited["conflicts"].as_array().unwrap().iter().filter_map(|c| c["reason"].as_str()).collect();
    assert!(reasons.iter().any(|r| r.contains("cannot go into HNP")), "{file}: {reasons:?}");
    true
}

pub fn check_expectations(corpus: &Value, result: &Value, base: &Path) {
    let mut pulls_checked = 0;
    for (entry, got) in entries(corpus, "manifests").iter().zip(result["manifests"].as_array().unwrap()) {
        let file = entry["file"].as_str().unwrap();
        let fresh = &got["plans"][0]["result"];
        match entry.get("expect") {
            None => {
                assert!(got["parse"].get("ok").is_some(), "{file}: parse failed: {}", got["parse"]);
                assert!(fresh.get("ok").is_some(), "{file}: the fresh plan failed: {fresh}");
                pulls_checked += usize::from(check_pulls(file, &got["plans"]));
            }
            Some(expect) => {
                let stage = expect["stage"].as_str().unwrap();
                match stage {
                    "parse" => {
                        let err = &got["parse"]["err"];
                        assert_eq!(err["tag"], "invalid-manifest", "{file}: {}", got["parse"]);
                        assert_eq!(err["val"]["document"], expect["document"], "{file}: {err}");
                        assert_eq!(err["val"]["source"], file, "{file}: the error names the file");
                    }
                    "render" | "plan" => {
                        let field = &expect["field"];
                        let renders: Vec<&Value> =
                            got["resources"].as_array().unwrap().iter().map(|r| &r["render"]).collect();
                        if stage == "render" {
                            assert!(
                                renders.iter().any(|r| r["err"]["field"] == *field),
                                "{file}: no render error names {field}: {renders:?}"
                            );
                        } else {
                            assert!(renders.iter().all(|r| r.get("ok").is_some()), "{file}: renders: {renders:?}");
                        }
                        if stage == "render" {
                            // A CR that fails validation is listed; the rest of the plan goes on.
                            let invalid = fresh["ok"]["invalid"].as_array();
                            assert!(
                                invalid.is_some_and(|list| list.iter().any(|e| e["field"] == *field)),
                                "{file}: the plan lists no invalid CR naming {field}: {fresh}"
                            );
                        } else {
                            // Two different CRs on one path is bad input for the whole plan.
                            assert_eq!(fresh["err"]["tag"], "invalid-resource", "{file}: {fresh}");
                            assert_eq!(fresh["err"]["val"]["field"], *field, "{file}: {fresh}");
                        }
                    }
                    other => panic!("{file}: unknown stage {other}"),
                }
            }
        }
    }
    for (entry, got) in entries(corpus, "resources").iter().zip(result["resources"].as_array().unwrap()) {
        let file = entry["file"].as_str().unwrap();
        let cases: Value = serde_json::from_str(&std::fs::read_to_string(base.join(file)).unwrap()).unwrap();
        for (case, got) in cases.as_array().unwrap().iter().zip(got["entries"].as_array().unwrap()) {
            let note = case["note"].as_str().unwrap_or("");
            match case.get("expect-field") {
                Some(field) => assert_eq!(&got["render"]["err"]["field"], field, "{file}: {note}: {}", got["render"]),
                None => assert!(got["render"].get("ok").is_some(), "{file}: {note}: {}", got["render"]),
            }
        }
    }
    assert!(pulls_checked > 0, "no corpus file exercised the pull cases");
}
