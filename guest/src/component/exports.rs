//! The exported interfaces: `logic` calls the pure modules, `sync` runs the engine over
//! `wasi:http` and the host's `hnp` lookups.

use super::bindings::exports::hedgehog::fgd_sync::{logic, sync};
use super::bindings::hedgehog::fgd_sync::hnp;
use super::bindings::hedgehog::fgd_sync::types as wit;
use super::conv;
use super::wasi::{WasiEnvironment, WasiHttp};
use crate::engine::{self, Source, Synced};
use crate::model::{HnpChange, Mode, RawResource, ResourceRef, Selection};
use crate::plan::PlanInput;
use crate::{blob, classify, manifest, path, plan, render};

pub struct Component;

impl logic::Guest for Component {
    fn render(cr: wit::CustomResource) -> Result<String, wit::InvalidResource> {
        render::render_raw(&cr.into()).map_err(Into::into)
    }

    fn manifest_path(directory: String, r: wit::ResourceRef) -> Result<String, wit::InvalidResource> {
        let reference = conv::resource_ref(&r)?;
        let directory = path::normalize_directory(&directory).map_err(|e| conv::invalid_directory(&r, e))?;
        Ok(path::manifest_path(&directory, &reference))
    }

    fn resource_at(directory: String, path: String) -> Option<wit::ResourceRef> {
        let directory = path::normalize_directory(&directory).ok()?;
        path::resource_at(&directory, &path).map(|r| (&r).into())
    }

    fn blob_sha(content: Vec<u8>) -> String {
        blob::blob_sha(&content)
    }

    fn classify(
        base: Option<logic::FileVersion>,
        rendered_at_base: Option<String>,
        remote: Option<logic::FileVersion>,
        desired: Option<logic::FileVersion>,
    ) -> logic::Verdict {
        let (base, remote, desired) = (base.map(Into::into), remote.map(Into::into), desired.map(Into::into));
        classify::classify(base.as_ref(), rendered_at_base.as_deref(), remote.as_ref(), desired.as_ref()).into()
    }

    fn parse_manifests(source: String, text: String) -> Result<Vec<wit::CustomResource>, wit::SyncError> {
        let resources = manifest::parse_manifests(&source, &text)?;
        Ok(resources.into_iter().map(Into::into).collect())
    }

    fn plan(input: logic::PlanInput, message_prefix: String) -> Result<logic::CommitPlan, wit::SyncError> {
        let input: PlanInput = input.try_into()?;
        Ok(plan::plan(&input, &message_prefix)?.into())
    }
}

impl sync::Guest for Component {
    fn plan(
        fabric: String,
        selection: wit::Selection,
        target: wit::Target,
        options: wit::SyncOptions,
    ) -> Result<wit::SyncReport, wit::SyncError> {
        run(&fabric, Mode::Plan, selection, target, options)
    }

    fn sync(
        fabric: String,
        selection: wit::Selection,
        target: wit::Target,
        options: wit::SyncOptions,
    ) -> Result<wit::SyncReport, wit::SyncError> {
        run(&fabric, Mode::Sync, selection, target, options)
    }
}

fn run(
    fabric: &str,
    mode: Mode,
    selection: wit::Selection,
    target: wit::Target,
    options: wit::SyncOptions,
) -> Result<wit::SyncReport, wit::SyncError> {
    let selection: Selection = selection.try_into()?;
    let (target, options) = (target.into(), options.into());
    let report =
        engine::run(fabric, mode, &selection, &target, &options, &mut WasiHttp, &mut HnpImport, &mut WasiEnvironment)?;
    Ok(report.into())
}

/// The host's `hnp` import as the engine's `Source`.
struct HnpImport;

impl Source for HnpImport {
    fn list(&mut self, fabric: &str) -> Result<Vec<RawResource>, String> {
        Ok(hnp::list_resources(fabric)?.into_iter().map(Into::into).collect())
    }

    fn get(&mut self, fabric: &str, reference: &ResourceRef) -> Result<Option<RawResource>, String> {
        Ok(hnp::get_resource(fabric, &reference.into())?.map(Into::into))
    }

    fn apply(&mut self, fabric: &str, changes: &[HnpChange]) -> Result<Vec<Option<String>>, String> {
        let changes: Vec<_> = changes.iter().cloned().map(Into::into).collect();
        hnp::apply_changes(fabric, &changes)
    }

    fn record(&mut self, fabric: &str, entries: &[Synced]) -> Result<(), String> {
        let entries: Vec<hnp::Synced> = entries
            .iter()
            .map(|s| hnp::Synced {
                resource: (&s.resource).into(),
                path: s.path.clone(),
                blob_sha: s.blob_sha.clone(),
                commit: s.commit.clone(),
            })
            .collect();
        hnp::record_synced(fabric, &entries)
    }
}
