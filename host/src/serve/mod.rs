//! `fgd-sync serve`: receives NetBox and GitHub webhooks and turns edits on either side into
//! syncs by itself.
//!
//! 1. A NetBox event rule POSTs a signed webhook to `/webhooks/netbox` (`http`). The
//!    signature and the body are checked and read without I/O (`webhook`), the CR's fabric is
//!    looked up (`fabrics`), and the CR joins its fabric's queue (`worker::Queue`).
//! 2. The queue coalesces (`batcher`): once a fabric's events pause for the window, its
//!    worker (`worker`) runs one `sync` of every distinct CR, in a fresh store of
//!    the one compiled component; a large batch reads NetBox once (`source`).
//! 3. NetBox delivers at most once, so each worker also syncs the whole fabric at start and every
//!    reconcile interval (`reconcile`). That sync runs with the fabric's direction: it is also
//!    the pull (Git -> HNP).
//! 4. A GitHub push webhook to `/webhooks/github` (on when a GitHub webhook secret is set) is
//!    checked and read without I/O (`github_webhook`); a push that changes a fabric's directory
//!    on its branch asks that fabric's worker for its reconcile now (coalesced: one asked for
//!    and not yet started takes no second).
//! 5. `/metrics` shows counters and gauges (`metrics`); `/healthz` and `/readyz` report life
//!    and readiness.
//! 6. `/ui` (with `--ui-token-env`, where `/metrics` is served) shows operators every fabric,
//!    every open conflict with both versions, and settles one with a button (`ui`): the
//!    resolution is queued to the fabric's worker, which syncs that CR with it.
//! 7. After every sync the worker publishes its outcome on the CRs (`CrSource::publish`:
//!    NetBox's `sync_error` and journal).
//! 8. On SIGINT or SIGTERM (`service`): stop accepting, finish requests in flight, run every
//!    queued batch, resolution and asked-for reconcile, return.
//!
//! Loops are cut three times: an update that changed only bookkeeping fields (the
//! `git_file_path` and `last_synced` that `record-synced` writes) is ignored, a sync that
//! changes nothing records nothing, and a push of fgd-sync's own commits (their
//! `Fgd-Sync-State` trailer) asks for nothing.

pub mod batcher;
mod fabrics;
pub mod github_webhook;
mod hmac_hex;
mod http;
pub mod metrics;
mod reconcile;
mod service;
mod source;
mod ui;
pub mod webhook;
mod worker;

use std::sync::Arc;

pub use self::http::{Secret, GITHUB_WEBHOOK_PATH, WEBHOOK_PATH};
pub use self::service::{Service, Settings, Signals, Stopped, UiAt};
use crate::net::hooks::PolicyHooks;
use crate::runtime::Runtime;
use crate::source::netbox::NetBoxConfig;
use crate::source::{BoxFuture, CrSource};
use crate::wit::{SyncOptions, Target};

/// Opens a fabric's CR source (a directory source is parsed by the component).
pub type OpenSource = Arc<dyn Fn(Arc<Runtime>) -> BoxFuture<'static, anyhow::Result<Arc<dyn CrSource>>> + Send + Sync>;

/// One fabric, as the service needs it.
#[derive(Clone)]
pub struct FabricSpec {
    pub name: String,
    pub target: Target,
    /// The guest's network for this fabric, kept for the whole run (it counts requests).
    pub hooks: PolicyHooks,
    pub open_source: OpenSource,
    /// Open the source anew for every sync (a directory of files that may change); else
    /// once, keeping its caches.
    pub fresh_source: bool,
    /// The NetBox the fabric's CRs come from, for looking up fabric ids of webhooks.
    pub netbox: Option<NetBoxConfig>,
    /// Options of this fabric's syncs (its deletion limit is its own).
    pub options: SyncOptions,
}
