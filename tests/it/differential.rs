//! The same inputs through the native build of the guest logic and through the component in
//! wasmtime give identical renders, paths and plans: the sandbox changes nothing.

use std::collections::BTreeMap;
use std::sync::Arc;

use fgd_sync::net::hooks::{HttpLimits, PolicyHooks};
use fgd_sync::net::policy::EgressPolicy;
use fgd_sync::runtime::{CallContext, Runtime, RuntimeConfig};
use fgd_sync::source::directory::DirectorySource;
use fgd_sync::wit;
use fgd_sync_guest::model::RawResource;
use fgd_sync_guest::{blob, manifest, path, plan, render, validate};
use fgd_sync_tests::cli::cache_dir;
use fgd_sync_tests::convert::convert;
use pretty_assertions::assert_eq;

const DIRECTORY: &str = "fabrics/dc1/gitops";

fn samples() -> Vec<(String, String)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/data");
    let mut files = vec![format!("{dir}/corpus/all-kinds.yaml")];
    for name in ["docs-sample-wiring.yaml", "hydrated-fabric.yaml", "vpc-demo.yaml", "vpc-pre-demo.yaml"] {
        files.push(format!("{dir}/hedgehog/samples/{name}"));
    }
    files.into_iter().map(|f| (f.clone(), std::fs::read_to_string(&f).unwrap())).collect()
}

fn offline() -> CallContext {
    CallContext {
        hooks: PolicyHooks::new(EgressPolicy::default(), HttpLimits::default()),
        source: Arc::new(DirectorySource::new(Vec::new())),
    }
}

#[test]
fn native_and_component_agree_on_renders_paths_and_plans() {
    let rt = Runtime::load(RuntimeConfig { cache_dir: Some(cache_dir()), ..RuntimeConfig::default() }).unwrap();
    let tokio = tokio::runtime::Runtime::new().unwrap();
    let mut valid = Vec::new();
    for (file, text) in samples() {
        let native = manifest::parse_manifests(&file, &text).unwrap();
        let component = tokio.block_on(rt.parse_manifests(offline(), file.clone(), text)).unwrap().unwrap();
        let component: Vec<RawResource> = component.iter().map(convert).collect();
        assert_eq!(component, native, "{file}: parse-manifests");
        for raw in native {
            let native_render = validate::resource(&raw).and_then(|r| render::render(&r));
            let component_render = tokio.block_on(rt.render(offline(), convert(&raw))).unwrap();
            match (&native_render, &component_render) {
                (Ok(a), Ok(b)) => assert_eq!(a, b, "{file}: render {}", raw.name),
                (Err(a), Err(b)) => {
                    assert_eq!((&a.field, &a.message), (&b.field, &b.message), "{file}: error {}", raw.name)
                }
                _ => panic!("{file}: {}: native {native_render:?} vs component {component_render:?}", raw.name),
            }
            if native_render.is_ok() {
                let reference = validate::resource_ref(&raw.kind, &raw.namespace, &raw.name).unwrap();
                let wit_ref = wit::ResourceRef {
                    kind: raw.kind.clone(),
                    namespace: raw.namespace.clone(),
                    name: raw.name.clone(),
                };
                let component_path =
                    tokio.block_on(rt.manifest_path(offline(), DIRECTORY.into(), wit_ref)).unwrap().unwrap();
                assert_eq!(component_path, path::manifest_path(DIRECTORY, &reference));
                valid.push(raw);
            }
        }
    }
    // The samples share a few names (one fabric per file); keep the first of each.
    let mut seen = std::collections::BTreeSet::new();
    valid.retain(|r| seen.insert(validate::resource_ref(&r.kind, &r.namespace, &r.name).unwrap()));
    assert!(valid.len() > 180, "{} valid CRs", valid.len());

    // Plans: an empty branch, the branch after that plan landed with one file edited in Git
    // and one CR edited in HNP, and the contents round the planner asks for.
    let mut input =
        plan::PlanInput { directory: DIRECTORY.into(), desired: valid.clone(), complete: true, ..Default::default() };
    let first = compare_plans(&rt, &tokio, &input);
    let mut files = BTreeMap::new();
    for w in &first.writes {
        let content = w.content.clone().unwrap();
        if w.path.ends_with("sync-state.json") {
            input.state = Some(content.clone());
        }
        files.insert(w.path.clone(), blob::blob_sha(content.as_bytes()));
    }
    let edited_in_git = first.writes.iter().find(|w| w.path.contains("/vpcs/")).unwrap();
    let git_text = edited_in_git.content.clone().unwrap().replace("vlan: ", "vlan: 1");
    files.insert(edited_in_git.path.clone(), blob::blob_sha(git_text.as_bytes()));
    input.remote_files = files;
    input.desired[0].labels = r#"{"owner":"netops"}"#.into();
    let vpc_name = edited_in_git.path.rsplit('/').next().unwrap().trim_end_matches(".yaml").to_string();
    let vpc = input.desired.iter_mut().find(|r| r.kind == "VPC" && r.name == vpc_name).unwrap();
    vpc.labels = r#"{"team":"blue"}"#.into();
    let mut next = compare_plans(&rt, &tokio, &input);
    assert!(!next.need_contents.is_empty(), "the planner asks for the Git file's text");
    let base_text = edited_in_git.content.clone().unwrap();
    // Texts are asked for in rounds (remote first, then base); at most two.
    for _round in 0..2 {
        for sha in &next.need_contents {
            let text = if *sha == blob::blob_sha(git_text.as_bytes()) { &git_text } else { &base_text };
            input.contents.insert(sha.clone(), text.clone());
        }
        next = compare_plans(&rt, &tokio, &input);
    }
    assert!(next.need_contents.is_empty());
    let third = next;
    assert_eq!(third.conflicts.len(), 1, "the Git edit conflicts with the HNP edit");
    assert!(third.changes.iter().any(|c| c.action == fgd_sync_guest::model::Action::Update));
}

fn compare_plans(rt: &Runtime, tokio: &tokio::runtime::Runtime, input: &plan::PlanInput) -> plan::CommitPlan {
    let native = plan::plan(input, "[hnp] ").unwrap();
    let component = tokio.block_on(rt.plan(offline(), convert(input), "[hnp] ".into())).unwrap().unwrap();
    let component: plan::CommitPlan = convert(&component);
    assert_eq!(component, native);
    native
}
