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

/// Entries the resource table may hold at once (fields, requests, bodies, streams,
/// pollables): a guest holds a handful per request; wasmtime's default is a million, each
/// one host memory outside the memory limit.
const MAX_RESOURCES: usize = 1024;

/// Bytes of one `fields` the guest builds (the headers of a request; it sends five).
const MAX_FIELDS_BYTES: usize = 16 * 1024;

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
        let mut http = WasiHttpCtx::new();
        http.set_field_size_limit(MAX_FIELDS_BYTES);
        HostState {
            wasi: wasi.build(),
            table: resource_table(),
            http,
            hooks: match &config.imports {
                Some(imports) => imports.http(context.hooks),
                None => Box::new(context.hooks),
            },
            source: context.source,
            limiter: MemoryLimiter::new(config.memory_limit_bytes),
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

fn resource_table() -> ResourceTable {
    let mut table = ResourceTable::new();
    table.set_max_capacity(MAX_RESOURCES);
    table
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
/// say "memory limit" instead of a bare trap. The limit is for all memories of the store
/// together (a component may hold several, each of which could otherwise grow to it), and
/// so is the one on table elements. wasmtime asks for a memory's or table's initial size too,
/// as growth from 0. A growth granted here that wasmtime then fails to make stays counted:
/// the sum errs on the side of refusing.
struct MemoryLimiter {
    limit: usize,
    hit: bool,
    /// Bytes of all memories together.
    memory: usize,
    /// Elements of all tables together.
    elements: usize,
}

/// Table elements (function references) of all tables of a store together.
const MAX_TABLE_ELEMENTS: usize = 100_000;

impl MemoryLimiter {
    fn new(limit: usize) -> MemoryLimiter {
        MemoryLimiter { limit, hit: false, memory: 0, elements: 0 }
    }
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(&mut self, current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        let total = self.memory.saturating_sub(current).saturating_add(desired);
        if total > self.limit {
            self.hit = true;
            wasmtime::bail!("memory limit of {} bytes reached", self.limit);
        }
        self.memory = total;
        Ok(true)
    }

    fn table_growing(&mut self, current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        let total = self.elements.saturating_sub(current).saturating_add(desired);
        if total > MAX_TABLE_ELEMENTS {
            return Ok(false);
        }
        self.elements = total;
        Ok(true)
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 12, item 9: two memories each under the limit, together over it, are refused
    /// (the limit used to apply to each memory alone).
    #[test]
    fn the_memory_limit_counts_all_memories_together() {
        const MIB: usize = 1024 * 1024;
        let mut limiter = MemoryLimiter::new(512 * MIB);
        assert!(limiter.memory_growing(0, 300 * MIB, None).unwrap(), "the first memory");
        assert!(limiter.memory_growing(0, 300 * MIB, None).is_err(), "a second one of the same size");
        assert!(limiter.hit);
        assert!(limiter.memory_growing(0, 200 * MIB, None).unwrap(), "one that fits beside the first");
        // Growth counts what is added, not the new size again.
        assert!(limiter.memory_growing(200 * MIB, 212 * MIB, None).unwrap());
        assert!(limiter.memory_growing(212 * MIB, 213 * MIB, None).is_err());
        assert!(limiter.table_growing(0, 60_000, None).unwrap());
        assert!(!limiter.table_growing(0, 60_000, None).unwrap(), "table elements are summed too");
    }

    /// Issue 12, item 9: the resource table holds at most `MAX_RESOURCES` entries.
    #[test]
    fn the_resource_table_has_a_capacity() {
        let mut table = resource_table();
        let held: Vec<_> = (0..MAX_RESOURCES).map(|_| table.push(Ready).unwrap()).collect();
        assert!(table.push(Ready).is_err(), "one past the capacity");
        table.delete(held.into_iter().next().unwrap()).unwrap();
        assert!(table.push(Ready).is_ok(), "room again once the guest drops one");
    }
}
