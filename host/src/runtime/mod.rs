//! Runs the guest component in wasmtime.
//!
//! 1. `Runtime::load` makes one `Engine` (epoch interruption and fuel on), compiles the
//!    embedded component or loads it precompiled from the cache (`cache`), and links WASI,
//!    `wasi:http` (outgoing only) and the `hnp` import into one `FgdSyncPre`.
//! 2. Each operation gets a fresh `Store` (`state::HostState`): no preopened directories, no
//!    environment, no sockets, no stdin; one memory cap over all memories, a wall-clock
//!    deadline, optional fuel, a bounded resource table and a few requests in flight.
//! 3. Exceeding a limit is a `RuntimeError` that says which limit, never a hang. A computing
//!    guest yields to the async executor every epoch tick, so it never stalls other tasks.
//!
//! `RuntimeConfig::imports` swaps the host's clocks, random numbers and outgoing HTTP for
//! something else in every store (`GuestImports`): `crate::replay` records a run through it
//! and plays the run back with no network and no real time.

mod cache;
mod hnp;
mod state;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use wasmtime::component::{HasSelf, Linker};
use wasmtime::{Config, Engine, Store};
use wasmtime_wasi::{HostMonotonicClock, HostWallClock};
use wasmtime_wasi_http::WasiHttpHooks;

pub use self::hnp::{BoxFuture, CrSource, Synced};
pub use self::state::HostState;
use crate::net::hooks::PolicyHooks;
use crate::wit::{
    CommitPlan, CustomResource, FgdSync, FgdSyncPre, InvalidResource, PlanInput, ResourceRef, Selection, SyncError,
    SyncOptions, SyncReport, Target,
};

/// The component `fgd-sync` ships, built from `guest/` by `build.rs`.
pub const COMPONENT: &[u8] = include_bytes!(env!("FGD_SYNC_COMPONENT"));

/// How often the epoch ticks; the deadline is counted in ticks.
const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Limits and modes of the sandbox.
#[derive(Clone, Debug)]
pub struct RuntimeConfig {
    /// Largest linear memory the guest may grow to.
    pub memory_limit_bytes: usize,
    /// Wall-clock limit for one operation, guest code and host calls together.
    pub deadline: Duration,
    /// Fuel for one operation (a deterministic instruction budget); `None`: unlimited.
    pub fuel: Option<u64>,
    /// Where precompiled components go; `None`: the user cache directory.
    pub cache_dir: Option<PathBuf>,
    /// Clocks, random numbers and HTTP from somewhere else (record, replay): what makes a
    /// run deterministic. `None`: the host's own.
    pub imports: Option<Arc<dyn GuestImports>>,
}

/// What a store's guest gets instead of the host's clocks, random numbers and network:
/// `crate::replay` records through it and plays back from it. Everything the guest could
/// learn from outside the sandbox besides `hnp` passes here (the `hnp` source is per call,
/// in `CallContext`).
pub trait GuestImports: Send + Sync + std::fmt::Debug {
    /// `wasi:clocks/wall-clock` of one new store.
    fn wall_clock(&self) -> Box<dyn HostWallClock + Send>;
    /// `wasi:clocks/monotonic-clock` of one new store.
    fn monotonic_clock(&self) -> Box<dyn HostMonotonicClock + Send>;
    /// The bytes `wasi:random` hands out, cycled; every store starts at the first byte, so
    /// the pool is the whole of the guest's randomness.
    fn random_pool(&self) -> Vec<u8>;
    /// The `wasi:http` hooks of one new store, given the policy hooks it would have had:
    /// a wrapper that records, or a stand-in that answers from a script.
    fn http(&self, policy: PolicyHooks) -> Box<dyn WasiHttpHooks>;
    /// True: the guest's sleeps (retry back-off, rate-limit waits) end at once. Read once,
    /// when the runtime links the component.
    fn instant_sleeps(&self) -> bool {
        false
    }
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        RuntimeConfig {
            memory_limit_bytes: 512 * 1024 * 1024,
            deadline: Duration::from_secs(15 * 60),
            fuel: None,
            cache_dir: None,
            imports: None,
        }
    }
}

/// Why a guest call did not produce an answer.
#[derive(Debug)]
#[non_exhaustive]
pub enum RuntimeError {
    /// The operation ran past `RuntimeConfig::deadline`.
    Deadline(Duration),
    /// The guest tried to grow its memory past `RuntimeConfig::memory_limit_bytes`.
    Memory(usize),
    /// The guest used up its fuel.
    Fuel(u64),
    /// Anything else: a trap (guest panic), a link or instantiation failure.
    Trap(wasmtime::Error),
}

impl std::fmt::Display for RuntimeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RuntimeError::Deadline(d) => {
                write!(f, "the sync component ran past its time limit of {d:?} and was stopped")
            }
            RuntimeError::Memory(m) => write!(
                f,
                "the sync component tried to use more than {} MiB of memory and was stopped",
                m / (1024 * 1024)
            ),
            RuntimeError::Fuel(n) => write!(f, "the sync component used up its fuel budget of {n} and was stopped"),
            RuntimeError::Trap(e) => write!(f, "the sync component failed: {e:#}"),
        }
    }
}

impl std::error::Error for RuntimeError {}

/// What one store needs from the caller: network policy and CR source.
#[derive(Clone)]
pub struct CallContext {
    pub hooks: PolicyHooks,
    pub source: Arc<dyn CrSource>,
}

/// One call of the `sync` interface: plan or sync the selected CRs of a fabric.
#[derive(Clone, Debug)]
pub struct SyncCall {
    pub operation: Operation,
    pub fabric: String,
    pub selection: Selection,
}

/// The two functions of the `sync` interface.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Operation {
    /// Read and plan; write nothing (WIT `plan`).
    Plan,
    /// Write the plan as one commit (WIT `sync`).
    Sync,
}

impl SyncCall {
    pub fn new(operation: Operation, fabric: impl Into<String>, selection: Selection) -> SyncCall {
        SyncCall { operation, fabric: fabric.into(), selection }
    }
}

pub struct Runtime {
    engine: Engine,
    pre: FgdSyncPre<HostState>,
    config: RuntimeConfig,
    ticker_stop: Arc<AtomicBool>,
    /// How the component was obtained, for `--verbose` and benchmarks.
    pub origin: cache::Origin,
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.ticker_stop.store(true, Ordering::Relaxed);
    }
}

impl Runtime {
    /// The shipped component.
    pub fn load(config: RuntimeConfig) -> anyhow::Result<Runtime> {
        Runtime::with_component(COMPONENT, config)
    }

    /// Any component of the `fgd-sync` world (tests use misbehaving ones).
    pub fn with_component(wasm: &[u8], config: RuntimeConfig) -> anyhow::Result<Runtime> {
        let mut wasm_config = Config::new();
        wasm_config.epoch_interruption(true).consume_fuel(true);
        let engine = Engine::new(&wasm_config)?;
        let (component, origin) = cache::load(&engine, wasm, config.cache_dir.as_deref())?;

        let mut linker = Linker::<HostState>::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
        FgdSync::add_to_linker::<HostState, HasSelf<HostState>>(&mut linker, |s| s)?;
        if config.imports.as_ref().is_some_and(|i| i.instant_sleeps()) {
            state::add_instant_sleeps(&mut linker)?;
        }
        let pre = FgdSyncPre::new(linker.instantiate_pre(&component)?)?;

        let ticker_stop = Arc::new(AtomicBool::new(false));
        spawn_epoch_ticker(engine.clone(), ticker_stop.clone());
        Ok(Runtime { engine, pre, config, ticker_stop, origin })
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    pub fn config(&self) -> &RuntimeConfig {
        &self.config
    }

    fn store(&self, context: CallContext) -> anyhow::Result<Store<HostState>> {
        // Each store gets its own budget of requests in flight: one call cannot take another's.
        let context = CallContext { hooks: context.hooks.for_store(), ..context };
        let state = HostState::new(context, &self.config);
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| s.limits());
        store.set_fuel(self.config.fuel.unwrap_or(u64::MAX))?;
        // Every tick a computing guest hands its thread back to the executor: a guest in a
        // loop cannot stall the other tasks of the process (serve's `/healthz`, other
        // fabrics). The wall-clock deadline is the `timeout` around the call (`call`).
        store.set_epoch_deadline(1);
        store.epoch_deadline_async_yield_and_update(1);
        Ok(store)
    }

    /// Instantiates the component in a fresh store and runs `f` under the limits.
    async fn call<R, F>(&self, context: CallContext, f: F) -> Result<R, RuntimeError>
    where
        F: for<'a> FnOnce(
            &'a FgdSync,
            &'a mut Store<HostState>,
        )
            -> std::pin::Pin<Box<dyn std::future::Future<Output = wasmtime::Result<R>> + Send + 'a>>,
        R: Send,
    {
        let mut store = self.store(context).map_err(|e| RuntimeError::Trap(wasmtime::Error::from_anyhow(e)))?;
        let deadline = self.config.deadline;
        let outcome = tokio::time::timeout(deadline, async {
            let instance = self.pre.instantiate_async(&mut store).await?;
            f(&instance, &mut store).await
        })
        .await;
        store.data().flush_guest_stderr();
        match outcome {
            Err(_elapsed) => Err(RuntimeError::Deadline(deadline)),
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) => Err(self.classify_trap(&store, error)),
        }
    }

    fn classify_trap(&self, store: &Store<HostState>, error: wasmtime::Error) -> RuntimeError {
        if store.data().memory_limit_hit() {
            return RuntimeError::Memory(self.config.memory_limit_bytes);
        }
        match error.downcast_ref::<wasmtime::Trap>() {
            Some(wasmtime::Trap::Interrupt) => RuntimeError::Deadline(self.config.deadline),
            Some(wasmtime::Trap::OutOfFuel) => RuntimeError::Fuel(self.config.fuel.unwrap_or(u64::MAX)),
            _ => RuntimeError::Trap(error),
        }
    }

    pub async fn render(
        &self,
        context: CallContext,
        cr: CustomResource,
    ) -> Result<Result<String, InvalidResource>, RuntimeError> {
        self.call(context, move |i, s| Box::pin(async move { i.hedgehog_fgd_sync_logic().call_render(s, &cr).await }))
            .await
    }

    pub async fn manifest_path(
        &self,
        context: CallContext,
        directory: String,
        reference: ResourceRef,
    ) -> Result<Result<String, InvalidResource>, RuntimeError> {
        self.call(context, move |i, s| {
            Box::pin(async move { i.hedgehog_fgd_sync_logic().call_manifest_path(s, &directory, &reference).await })
        })
        .await
    }

    pub async fn resource_at(
        &self,
        context: CallContext,
        directory: String,
        path: String,
    ) -> Result<Option<ResourceRef>, RuntimeError> {
        self.call(context, move |i, s| {
            Box::pin(async move { i.hedgehog_fgd_sync_logic().call_resource_at(s, &directory, &path).await })
        })
        .await
    }

    pub async fn parse_manifests(
        &self,
        context: CallContext,
        source: String,
        text: String,
    ) -> Result<Result<Vec<CustomResource>, SyncError>, RuntimeError> {
        self.call(context, move |i, s| {
            Box::pin(async move { i.hedgehog_fgd_sync_logic().call_parse_manifests(s, &source, &text).await })
        })
        .await
    }

    pub async fn plan(
        &self,
        context: CallContext,
        input: PlanInput,
        message_prefix: String,
    ) -> Result<Result<CommitPlan, SyncError>, RuntimeError> {
        self.call(context, move |i, s| {
            Box::pin(async move { i.hedgehog_fgd_sync_logic().call_plan(s, &input, &message_prefix).await })
        })
        .await
    }

    pub async fn sync(
        &self,
        context: CallContext,
        call: SyncCall,
        target: Target,
        options: SyncOptions,
    ) -> Result<Result<SyncReport, SyncError>, RuntimeError> {
        self.call(context, move |i, s| {
            Box::pin(async move {
                let sync = i.hedgehog_fgd_sync_sync();
                let SyncCall { operation, fabric, selection } = &call;
                match operation {
                    Operation::Plan => sync.call_plan(s, fabric, selection, &target, &options).await,
                    Operation::Sync => sync.call_sync(s, fabric, selection, &target, &options).await,
                }
            })
        })
        .await
    }
}

/// Ticks the engine's epoch so a guest stuck in a loop hits its deadline. Stops with the
/// runtime; holds only an `Engine` clone.
fn spawn_epoch_ticker(engine: Engine, stop: Arc<AtomicBool>) {
    std::thread::Builder::new()
        .name("fgd-sync-epoch".into())
        .spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(EPOCH_TICK);
                engine.increment_epoch();
            }
        })
        .expect("spawning the epoch thread");
}
