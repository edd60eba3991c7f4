//! Per-operation store data: WASI with nothing granted, `wasi:http` behind the policy hooks,
//! a memory limiter, and the host side of the `hnp` import. With `RuntimeConfig::imports`,
//! clocks, random numbers and HTTP come from there instead (record and replay).

use std::time::Duration;

use wasmtime::component::{Linker, Resource, ResourceTable};
use wasmtime::{ResourceLimiter, StoreContextMut};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::p2::{DynPollable, Pollable};
use wasmtime_wasi::{HostMonotonicClock, HostWallClock, WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpHooks, WasiHttpView};

use super::hnp::CrSource;
use super::{CallContext, RuntimeConfig};

/// Guest stderr kept per call (panic messages), then sent to the host's log.
const STDERR_CAPACITY: usize = 64 * 1024;

pub struct HostState {
    wasi: WasiCtx,
    table: ResourceTable,
    http: WasiHttpCtx,
    /// The `PolicyHooks` of the call, or what `RuntimeConfig::imports` made of them.
    hooks: Box<dyn WasiHttpHooks>,
    pub(super) source: std::sync::Arc<dyn CrSource>,
    limiter: MemoryLimiter,
    stderr: MemoryOutputPipe,
}

impl HostState {
    pub(super) fn new(context: CallContext, config: &RuntimeConfig) -> HostState {
        let stderr = MemoryOutputPipe::new(STDERR_CAPACITY);
        let mut wasi = WasiCtx::builder();
        // Nothing is inherited: no environment, no args, no stdin, no directories, no sockets.
        wasi.stderr(stderr.clone()).allow_tcp(false).allow_udp(false).allow_ip_name_lookup(false);
        if let Some(imports) = &config.imports {
            let pool = imports.random_pool();
            let seed = pool.iter().take(16).fold(0u128, |seed, b| (seed << 8) | u128::from(*b));
            wasi.wall_clock(BoxedWallClock(imports.wall_clock()))
                .monotonic_clock(BoxedMonotonicClock(imports.monotonic_clock()))
                .secure_random(wasmtime_wasi::Deterministic::new(pool.clone()))
                .insecure_random(wasmtime_wasi::Deterministic::new(pool))
                .insecure_random_seed(seed);
        }
        HostState {
            wasi: wasi.build(),
            table: ResourceTable::new(),
            http: WasiHttpCtx::new(),
            hooks: match &config.imports {
                Some(imports) => imports.http(context.hooks),
                None => Box::new(context.hooks),
            },
            source: context.source,
            limiter: MemoryLimiter { limit: config.memory_limit_bytes, hit: false },
            stderr,
        }
    }

    pub(super) fn limits(&mut self) -> &mut dyn ResourceLimiter {
        &mut self.limiter
    }

    pub(super) fn memory_limit_hit(&self) -> bool {
        self.limiter.hit
    }

    pub(super) fn flush_guest_stderr(&self) {
        let text = self.stderr.contents();
        for line in String::from_utf8_lossy(&text).lines().filter(|l| !l.trim().is_empty()) {
            tracing::warn!(target: "fgd_sync::guest", "{line}");
        }
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

impl WasiHttpView for HostState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView { ctx: &mut self.http, table: &mut self.table, hooks: &mut *self.hooks }
    }
}

/// Refuses growth past the limit with a trap, and remembers that it did, so the error can
/// say "memory limit" instead of a bare trap.
struct MemoryLimiter {
    limit: usize,
    hit: bool,
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        if desired > self.limit {
            self.hit = true;
            wasmtime::bail!("memory limit of {} bytes reached", self.limit);
        }
        Ok(true)
    }

    fn table_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        Ok(desired <= 100_000)
    }
}

struct BoxedWallClock(Box<dyn HostWallClock + Send>);
impl HostWallClock for BoxedWallClock {
    fn resolution(&self) -> Duration {
        self.0.resolution()
    }
    fn now(&self) -> Duration {
        self.0.now()
    }
}

struct BoxedMonotonicClock(Box<dyn HostMonotonicClock + Send>);
impl HostMonotonicClock for BoxedMonotonicClock {
    fn resolution(&self) -> u64 {
        self.0.resolution()
    }
    fn now(&self) -> u64 {
        self.0.now()
    }
}

/// Replaces `monotonic-clock.subscribe-duration` and `subscribe-instant` with pollables that
/// are ready at once: a replayed or fuzzed run never waits out a back-off or a rate limit.
/// The guest only learns time from the clocks, which come from the same `GuestImports`.
pub(super) fn add_instant_sleeps(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);
    let mut clock = linker.instance("wasi:clocks/monotonic-clock@0.2.12")?;
    clock.func_wrap("subscribe-duration", |store: StoreContextMut<'_, HostState>, (_ns,): (u64,)| ready(store))?;
    clock.func_wrap("subscribe-instant", |store: StoreContextMut<'_, HostState>, (_at,): (u64,)| ready(store))?;
    linker.allow_shadowing(false);
    Ok(())
}

fn ready(mut store: StoreContextMut<'_, HostState>) -> wasmtime::Result<(Resource<DynPollable>,)> {
    let table = &mut store.data_mut().table;
    let ready = table.push(Ready)?;
    Ok((wasmtime_wasi::p2::subscribe(table, ready)?,))
}

struct Ready;

#[wasmtime_wasi::async_trait]
impl Pollable for Ready {
    async fn ready(&mut self) {}
}
