//! The service's life: bind, serve while the component loads, start one worker per fabric,
//! and on the first SIGINT/SIGTERM stop accepting, let requests in flight finish, run every
//! queued batch, and return. A second signal abandons the queued batches.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::fabrics::FabricDirectory;
use super::github_webhook::Watched;
use super::http::{self, App, GitHubHooks, MetricsAccess, Readiness, Secret, Surface};
use super::metrics::Metrics;
use super::reconcile::Schedule;
use super::ui::{Ui, MIN_TOKEN_CHARS};
use super::worker::{Queue, Worker};
use super::FabricSpec;
use crate::runtime::Runtime;

/// How the service runs.
#[derive(Clone, Debug)]
pub struct Settings {
    pub listen: SocketAddr,
    /// Key of the NetBox webhooks' HMAC.
    pub secret: Secret,
    /// Key of the GitHub webhooks' HMAC; `None`: `/webhooks/github` is off.
    pub github_secret: Option<Secret>,
    /// Events of a fabric are batched until they pause this long.
    pub coalesce: Duration,
    /// Full reconcile of each fabric this often (and once at start); `None`: never.
    pub reconcile_interval: Option<Duration>,
    /// A listener of its own for `/metrics` (and the probes); `None`: `/metrics` is served on
    /// `listen` only when that is loopback or `metrics_token` is set.
    pub metrics_listen: Option<SocketAddr>,
    /// Bearer token `/metrics` requires (wherever it is served).
    pub metrics_token: Option<Secret>,
    /// The operators' token for `/ui`; `None`: `/ui` is off (404).
    pub ui_token: Option<Secret>,
}

impl Settings {
    /// What the webhook listener and the metrics listener (if any) serve. `/ui` goes where
    /// `/metrics` goes without a token: the metrics listener, else a loopback `listen`.
    fn surfaces(&self) -> (Surface, Surface) {
        let by_token = |token: &Option<Secret>| token.clone().map_or(MetricsAccess::Open, MetricsAccess::Token);
        let public = match (&self.metrics_listen, &self.metrics_token) {
            (Some(_), _) => MetricsAccess::Hidden,
            (None, Some(token)) => MetricsAccess::Token(token.clone()),
            (None, None) if self.listen.ip().is_loopback() => MetricsAccess::Open,
            (None, None) => {
                tracing::info!("/metrics is not served on the non-loopback {}: use --metrics-listen", self.listen);
                MetricsAccess::Hidden
            }
        };
        let ui = self.ui_served();
        let admin = Surface { webhooks: false, metrics: by_token(&self.metrics_token), ui: ui == Some(UiAt::Metrics) };
        (Surface { webhooks: true, metrics: public, ui: ui == Some(UiAt::Listen) }, admin)
    }

    /// Which listener serves `/ui`; `None`: no operator token, or only a public `listen`.
    pub fn ui_served(&self) -> Option<UiAt> {
        match (&self.ui_token, self.metrics_listen) {
            (None, _) => None,
            (Some(_), Some(_)) => Some(UiAt::Metrics),
            (Some(_), None) if self.listen.ip().is_loopback() => Some(UiAt::Listen),
            (Some(_), None) => None,
        }
    }
}

/// The listener `/ui` is served on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UiAt {
    /// The loopback `listen` address (beside the webhooks).
    Listen,
    /// `metrics_listen`.
    Metrics,
}

/// How the service ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stopped {
    /// The signal that stopped it.
    pub signal: &'static str,
    /// CRs that were queued at the stop (their batches ran before returning).
    pub queued: usize,
    /// Of those, CRs whose sync failed (logged); the next reconcile syncs them.
    pub unsynced: usize,
}

/// SIGINT and SIGTERM, installed before anything slow starts so neither kills the process
/// with a batch in its queue.
pub struct Signals {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl Signals {
    pub fn install() -> std::io::Result<Signals> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            Ok(Signals { interrupt: signal(SignalKind::interrupt())?, terminate: signal(SignalKind::terminate())? })
        }
        #[cfg(not(unix))]
        Ok(Signals {})
    }

    /// The next signal's name.
    pub async fn recv(&mut self) -> &'static str {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.interrupt.recv() => "SIGINT",
                _ = self.terminate.recv() => "SIGTERM",
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
            "Ctrl-C"
        }
    }
}

/// A bound, not yet running service.
pub struct Service {
    listener: TcpListener,
    metrics_listener: Option<TcpListener>,
    settings: Settings,
    fabrics: Vec<FabricSpec>,
    directory: FabricDirectory,
}

impl Service {
    /// Binds the listen address; checks what can be checked before serving.
    pub async fn bind(settings: Settings, fabrics: Vec<FabricSpec>) -> anyhow::Result<Service> {
        anyhow::ensure!(!fabrics.is_empty(), "no fabric to serve");
        anyhow::ensure!(!settings.secret.0.is_empty(), "the webhook secret is empty");
        anyhow::ensure!(
            settings.github_secret.as_ref().is_none_or(|s| !s.0.is_empty()),
            "the GitHub webhook secret is empty"
        );
        anyhow::ensure!(
            settings.ui_token.as_ref().is_none_or(|t| t.0.len() >= MIN_TOKEN_CHARS),
            "the operator token for /ui is shorter than {MIN_TOKEN_CHARS} characters"
        );
        let directory = FabricDirectory::new(&fabrics)?;
        let listener =
            TcpListener::bind(settings.listen).await.with_context(|| format!("listening on {}", settings.listen))?;
        let metrics_listener = match settings.metrics_listen {
            Some(addr) => {
                Some(TcpListener::bind(addr).await.with_context(|| format!("listening on {addr} for /metrics"))?)
            }
            None => None,
        };
        Ok(Service { listener, metrics_listener, settings, fabrics, directory })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Where `/metrics` has a listener of its own.
    pub fn metrics_addr(&self) -> Option<std::io::Result<SocketAddr>> {
        self.metrics_listener.as_ref().map(TcpListener::local_addr)
    }

    /// Serves until a signal; `load` makes the component (run on a blocking thread: it may
    /// compile). Webhooks that arrive while it loads are queued.
    pub async fn run(
        self,
        load: impl FnOnce() -> anyhow::Result<Runtime> + Send + 'static,
        mut signals: Signals,
    ) -> anyhow::Result<Stopped> {
        let Service { listener, metrics_listener, settings, fabrics, directory } = self;
        let metrics = Arc::new(Metrics::new(fabrics.iter().map(|f| f.name.as_str())));
        let queues: BTreeMap<String, Arc<Queue>> =
            fabrics.iter().map(|f| (f.name.clone(), Arc::new(Queue::new(settings.coalesce)))).collect();
        let github = settings.github_secret.clone().map(|secret| GitHubHooks {
            secret,
            watched: fabrics
                .iter()
                .map(|f| Watched::new(&f.name, &f.target.owner, &f.target.repo, &f.target.branch, &f.target.directory))
                .collect(),
        });
        let app = Arc::new(App {
            secret: settings.secret.clone(),
            github,
            directory,
            queues: queues.clone(),
            metrics: metrics.clone(),
            readiness: Mutex::new(Readiness::Starting),
            ui: settings.ui_token.clone().map(Ui::new),
        });
        let (stop_http, http_stopped) = watch::channel(false);
        let (public, admin) = settings.surfaces();
        let server = tokio::spawn(http::serve(listener, app.clone(), public, http_stopped.clone()));
        let metrics_server = metrics_listener.map(|l| tokio::spawn(http::serve(l, app.clone(), admin, http_stopped)));

        let loaded = tokio::task::spawn_blocking(load).await.context("loading the sync component").and_then(|r| r);
        let runtime = match loaded {
            Ok(runtime) => Arc::new(runtime),
            Err(e) => {
                let _ = stop_http.send(true);
                let _ = server.await;
                if let Some(metrics_server) = metrics_server {
                    let _ = metrics_server.await;
                }
                return Err(e);
            }
        };

        let (drain, draining) = watch::channel(false);
        let mut workers = JoinSet::new();
        let start = Instant::now();
        for spec in fabrics {
            let queue = queues[&spec.name].clone();
            let schedule = Schedule::new(settings.reconcile_interval, start);
            let options = spec.options.clone();
            let worker =
                Worker::new(spec, runtime.clone(), queue, metrics.clone(), options, schedule, draining.clone());
            workers.spawn(worker.run());
        }
        app.set_readiness(Readiness::Ready);
        tracing::info!("ready");

        let signal = signals.recv().await;
        tracing::info!(signal, "stopping: no new webhooks; running the queued batches");
        app.set_readiness(Readiness::Stopping);
        let _ = stop_http.send(true);
        let _ = server.await;
        if let Some(metrics_server) = metrics_server {
            let _ = metrics_server.await;
        }
        let queued: usize = queues.values().map(|q| q.depth()).sum();
        let _ = drain.send(true);
        tokio::select! {
            _ = async { while workers.join_next().await.is_some() {} } => {
                Ok(Stopped { signal, queued, unsynced: queues.values().map(|q| q.unsynced()).sum() })
            }
            again = signals.recv() => {
                let left: usize = queues.values().map(|q| q.depth()).sum();
                workers.abort_all();
                anyhow::bail!("{again} during shutdown: stopped at once; {left} queued CRs were not synced (the next reconcile syncs them)")
            }
        }
    }
}
