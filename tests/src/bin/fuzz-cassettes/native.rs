//! The guest's sync engine run natively (`fgd_sync_guest::engine::run`) against a player, with
//! the same answers the component gets through `wasi:http`, `hnp`, the clocks and
//! `wasi:random`. Its inputs and report cross to and from the host's WIT types with the
//! shared serde round trip (`fgd_sync_tests::convert`).

use std::sync::Arc;

use fgd_sync::replay::cassette::{HttpAnswer, HttpRequest as Recorded, TransportError};
use fgd_sync::replay::{Invocation, Script};
use fgd_sync::runtime::Operation;
use fgd_sync::source::Synced;
use fgd_sync::wit;
use fgd_sync_guest::engine::{self, Source};
use fgd_sync_guest::github::{Environment, HttpRequest, HttpResponse, Transport};
use fgd_sync_guest::model;
use fgd_sync_tests::convert::convert;

use crate::player::Player;

/// Runs `invocation` natively; `Err` carries a panic message.
pub fn run(invocation: &Invocation, player: Arc<Player>) -> Result<Result<wit::SyncReport, wit::SyncError>, String> {
    let invocation = invocation.clone();
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
        let options: model::SyncOptions = convert(&invocation.options);
        let mode = match invocation.operation {
            Operation::Plan => model::Mode::Plan,
            Operation::Sync => model::Mode::Sync,
        };
        // The component validates the refs of a selection (`conv`); so does this side.
        let selection = match &invocation.selection {
            wit::Selection::Fabric => model::Selection::Fabric,
            wit::Selection::Resources(refs) => {
                let refs = refs.iter().map(|r| fgd_sync_guest::validate::resource_ref(&r.kind, &r.namespace, &r.name));
                match refs.collect::<Result<Vec<_>, _>>() {
                    Ok(refs) => model::Selection::Resources(refs),
                    Err(e) => return Err(convert(&model::SyncError::InvalidResource(e))),
                }
            }
        };
        let pool = player.random_pool();
        let mut transport = NativeTransport(player.clone());
        let mut source = NativeSource(player.clone());
        let mut env = NativeEnv { player, pool, cursor: 0 };
        let target: model::Target = convert(&invocation.target);
        engine::run(&invocation.fabric, mode, &selection, &target, &options, &mut transport, &mut source, &mut env)
            .map(|report| convert(&report))
            .map_err(|e| convert(&e))
    }));
    outcome.map_err(|panic| {
        panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "a panic without a message".into())
    })
}

struct NativeTransport(Arc<Player>);

impl Transport for NativeTransport {
    fn send(&mut self, request: &HttpRequest) -> Result<HttpResponse, String> {
        let recorded = Recorded {
            method: request.method.clone(),
            url: request.url.clone(),
            headers: request.headers.clone(),
            body: fgd_sync::replay::cassette::Body::from_bytes(request.body.as_deref().unwrap_or_default()),
        };
        match self.0.http(&recorded) {
            HttpAnswer::Response(r) => {
                // Through an `http::HeaderMap` as in the component: invalid headers are dropped
                // and same-named ones come out together.
                let mut map = http::HeaderMap::new();
                for (name, value) in &r.headers {
                    if let (Ok(n), Ok(v)) =
                        (http::HeaderName::try_from(name.as_str()), http::HeaderValue::from_str(value))
                    {
                        map.append(n, v);
                    }
                }
                let headers = map
                    .iter()
                    .map(|(n, v)| (n.as_str().to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
                    .collect();
                Ok(HttpResponse { status: r.status, headers, body: r.body.to_bytes() })
            }
            // The texts the component's `wasi:http` adapter gives these error codes.
            HttpAnswer::Error(e) => Err(format!("{} {}: {}", request.method, request.url, describe(&e))),
        }
    }
}

/// As `guest/src/component/wasi.rs` words the error codes the player hands out.
fn describe(e: &TransportError) -> String {
    match e {
        TransportError::HttpRequestDenied => "refused by the host's network policy".into(),
        TransportError::ConnectionRefused => "connection refused".into(),
        TransportError::ConnectionTimeout => "connect timeout".into(),
        TransportError::ConnectionReadTimeout | TransportError::HttpResponseTimeout => "response timeout".into(),
        TransportError::TlsCertificateError => "TLS certificate error".into(),
        other => format!("unsupported in the fuzzer: {other:?}"),
    }
}

struct NativeSource(Arc<Player>);

impl Source for NativeSource {
    fn list(&mut self, fabric: &str) -> Result<Vec<model::RawResource>, String> {
        Ok(self.0.list(fabric)?.iter().map(convert).collect())
    }

    fn get(&mut self, fabric: &str, reference: &model::ResourceRef) -> Result<Option<model::RawResource>, String> {
        Ok(self.0.get(fabric, &convert(reference))?.as_ref().map(convert))
    }

    fn apply(&mut self, fabric: &str, changes: &[model::HnpChange]) -> Result<Vec<Option<String>>, String> {
        let changes: Vec<_> = changes.iter().map(convert).collect();
        self.0.apply(fabric, &changes)
    }

    fn record(&mut self, fabric: &str, entries: &[engine::Synced]) -> Result<(), String> {
        let entries: Vec<Synced> = entries
            .iter()
            .map(|s| Synced {
                resource: convert(&s.resource),
                path: s.path.clone(),
                blob_sha: s.blob_sha.clone(),
                commit: s.commit.clone(),
            })
            .collect();
        self.0.record(fabric, &entries)
    }
}

/// `wasi:random` as wasmtime's `Deterministic` hands out the pool: bytes in order, cycled,
/// a u64 as two big-endian u32s.
struct NativeEnv {
    player: Arc<Player>,
    pool: Vec<u8>,
    cursor: usize,
}

impl Environment for NativeEnv {
    fn now_epoch_secs(&mut self) -> u64 {
        self.player.now().as_secs()
    }

    fn sleep_ms(&mut self, _ms: u64) {}

    fn random_u64(&mut self) -> u64 {
        let mut value = 0u64;
        for _ in 0..8 {
            value = (value << 8) | u64::from(self.pool[self.cursor % self.pool.len()]);
            self.cursor += 1;
        }
        value
    }
}
