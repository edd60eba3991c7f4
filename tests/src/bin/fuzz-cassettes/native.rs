//! The guest's sync engine run natively (`fgd_sync_guest::engine::run`) against a player, with
//! the same answers the component gets through `wasi:http`, `hnp`, the clocks and
//! `wasi:random`; and the conversions that let its report be compared with the component's.

use std::sync::Arc;

use fgd_sync::replay::cassette::{HttpAnswer, HttpRequest as Recorded, Operation, TransportError};
use fgd_sync::replay::{Invocation, Script};
use fgd_sync::runtime::bindings::hedgehog::fgd_sync::types as wit;
use fgd_sync::source::Synced;
use fgd_sync_guest::engine::{self, Environment, Selection, Source};
use fgd_sync_guest::github::{HttpRequest, HttpResponse, Transport};
use fgd_sync_guest::model;

use crate::player::Player;

/// Runs `invocation` natively; `Err` carries a panic message.
pub fn run(invocation: &Invocation, player: Arc<Player>) -> Result<Result<wit::SyncReport, wit::SyncError>, String> {
    let invocation = invocation.clone();
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
        let mut options = options(&invocation.options);
        let selection = match invocation.operation {
            Operation::PlanFabric => {
                options.dry_run = true;
                Selection::Fabric
            }
            Operation::SyncFabric => Selection::Fabric,
            Operation::SyncResources => {
                let refs = invocation
                    .refs
                    .iter()
                    .map(|r| fgd_sync_guest::validate::resource_ref(&r.kind, &r.namespace, &r.name));
                match refs.collect::<Result<Vec<_>, _>>() {
                    Ok(refs) => Selection::Resources(refs),
                    Err(e) => return Err(error(model::SyncError::InvalidResource(e))),
                }
            }
        };
        let pool = player.random_pool();
        let mut transport = NativeTransport(player.clone());
        let mut source = NativeSource(player.clone());
        let mut env = NativeEnv { player, pool, cursor: 0 };
        let target = target(&invocation.target);
        engine::run(&invocation.fabric, &selection, &target, &options, &mut transport, &mut source, &mut env)
            .map(report)
            .map_err(error)
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
        Ok(self.0.list(fabric)?.into_iter().map(raw).collect())
    }

    fn get(&mut self, fabric: &str, reference: &model::ResourceRef) -> Result<Option<model::RawResource>, String> {
        Ok(self.0.get(fabric, &wit_ref(reference))?.map(raw))
    }

    fn record(
        &mut self,
        fabric: &str,
        r: &model::ResourceRef,
        path: &str,
        blob_sha: &str,
        commit: &str,
    ) -> Result<(), String> {
        let synced =
            Synced { reference: wit_ref(r), path: path.into(), blob_sha: blob_sha.into(), commit: commit.into() };
        self.0.record(fabric, &synced)
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

// ---- WIT <-> model, as guest/src/component/conv.rs does it.

fn raw(c: wit::CustomResource) -> model::RawResource {
    model::RawResource {
        kind: c.kind,
        api_version: c.api_version,
        name: c.name,
        namespace: c.namespace,
        labels: c.labels,
        annotations: c.annotations,
        spec: c.spec,
    }
}

fn wit_ref(r: &model::ResourceRef) -> wit::ResourceRef {
    wit::ResourceRef { kind: r.kind.as_str().into(), namespace: r.namespace.clone(), name: r.name.clone() }
}

fn target(t: &wit::Target) -> model::Target {
    model::Target {
        api_base: t.api_base.clone(),
        owner: t.owner.clone(),
        repo: t.repo.clone(),
        branch: t.branch.clone(),
        directory: t.directory.clone(),
        committer: t.committer.as_ref().map(|i| model::Identity { name: i.name.clone(), email: i.email.clone() }),
        message_prefix: t.message_prefix.clone(),
    }
}

fn options(o: &wit::SyncOptions) -> model::SyncOptions {
    model::SyncOptions {
        dry_run: o.dry_run,
        strategy: match o.strategy {
            wit::WriteStrategy::Batched => model::Strategy::Batched,
            wit::WriteStrategy::PerFile => model::Strategy::PerFile,
        },
        max_attempts: o.max_attempts,
        max_rate_limit_wait_secs: o.max_rate_limit_wait_secs,
        resolutions: o
            .resolutions
            .iter()
            .map(|r| model::Resolution {
                path: r.path.clone(),
                take: match r.take {
                    wit::Side::Git => model::Side::Git,
                    wit::Side::Hnp => model::Side::Hnp,
                },
            })
            .collect(),
    }
}

fn report(r: model::SyncReport) -> wit::SyncReport {
    wit::SyncReport {
        base_commit: r.base_commit,
        commit: r.commit,
        message: r.message,
        changes: r
            .changes
            .into_iter()
            .map(|c| wit::Change {
                path: c.path,
                action: match c.action {
                    model::Action::Create => wit::Action::Create,
                    model::Action::Update => wit::Action::Update,
                    model::Action::Delete => wit::Action::Delete,
                    model::Action::Adopt => wit::Action::Adopt,
                    model::Action::Forget => wit::Action::Forget,
                },
                resource: wit_ref(&c.resource),
                base_sha: c.base_sha,
                remote_sha: c.remote_sha,
                new_sha: c.new_sha,
                old_content: c.old_content,
                new_content: c.new_content,
            })
            .collect(),
        conflicts: r
            .conflicts
            .into_iter()
            .map(|c| wit::Conflict {
                path: c.path,
                kind: match c.kind {
                    model::ConflictKind::ModifiedInGit => wit::ConflictKind::ModifiedInGit,
                    model::ConflictKind::DeletedInGit => wit::ConflictKind::DeletedInGit,
                    model::ConflictKind::CreatedInGit => wit::ConflictKind::CreatedInGit,
                },
                resource: wit_ref(&c.resource),
                expected_sha: c.expected_sha,
                actual_sha: c.actual_sha,
                git_content: c.git_content,
                hnp_content: c.hnp_content,
            })
            .collect(),
        unchanged: r.unchanged,
        requests: r.requests,
        attempts: r.attempts,
        warnings: r.warnings,
    }
}

fn error(e: model::SyncError) -> wit::SyncError {
    let invalid = |e: model::InvalidResource| wit::InvalidResource {
        kind: e.kind,
        namespace: e.namespace,
        name: e.name,
        field: e.field,
        message: e.message,
    };
    match e {
        model::SyncError::InvalidResource(e) => wit::SyncError::InvalidResource(invalid(e)),
        model::SyncError::InvalidManifest(m) => wit::SyncError::InvalidManifest(wit::InvalidManifest {
            source: m.source,
            document: m.document,
            message: m.message,
        }),
        model::SyncError::InvalidTarget(m) => wit::SyncError::InvalidTarget(m),
        model::SyncError::BranchNotFound(b) => wit::SyncError::BranchNotFound(b),
        model::SyncError::Remote(r) => wit::SyncError::Remote(wit::RemoteError {
            method: r.method,
            url: r.url,
            status: r.status,
            message: r.message,
        }),
        model::SyncError::RateLimited(r) => {
            wit::SyncError::RateLimited(wit::RateLimit { reset_at: r.reset_at, message: r.message })
        }
        model::SyncError::Transport(m) => wit::SyncError::Transport(m),
        model::SyncError::TooManyRaces(n) => wit::SyncError::TooManyRaces(n),
        model::SyncError::Source(m) => wit::SyncError::Source(m),
    }
}
