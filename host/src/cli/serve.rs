//! `fgd-sync serve`: the webhook receiver. Resolves the fabrics of the config file, reads
//! the webhook secrets from the environment, and runs `crate::serve` until SIGINT/SIGTERM.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Args;

use super::args::{FabricArgs, HttpLogArgs, RuntimeArgs, SourceSpec, WriteArgs};
use crate::config::DirectionName;
use crate::report::exit;
use crate::serve::{
    FabricSpec, OpenSource, Secret, Service, Settings, Signals, UiAt, GITHUB_WEBHOOK_PATH, WEBHOOK_PATH,
};
use crate::source::netbox::NetBoxConfig;

#[derive(Args, Clone, Debug)]
pub struct ServeCommand {
    #[command(flatten)]
    pub fabric: FabricArgs,
    /// Address to listen on (port 0: any free port; the address is printed on stderr).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8787")]
    pub listen: SocketAddr,
    /// Serve /metrics on this address of its own (e.g. 127.0.0.1:9787) instead of --listen; without it,
    /// /metrics is served on --listen only if that is loopback or --metrics-token-env is set.
    #[arg(long, value_name = "ADDR")]
    pub metrics_listen: Option<SocketAddr>,
    /// Environment variable holding a bearer token that /metrics then requires.
    #[arg(long, value_name = "VAR")]
    pub metrics_token_env: Option<String>,
    /// Environment variable holding the operator token (16 characters or more) that turns on
    /// /ui, a page to see and settle conflicts; served where /metrics is without a token (on
    /// --metrics-listen, else on a loopback --listen). Without it /ui answers 404.
    #[arg(long, value_name = "VAR")]
    pub ui_token_env: Option<String>,
    /// Environment variable holding the webhook secret (NetBox's "Secret" of the webhook).
    #[arg(long, value_name = "VAR", default_value = "FGD_SYNC_WEBHOOK_SECRET")]
    pub secret_env: String,
    /// Environment variable holding the secret of the GitHub push webhook (POST
    /// /webhooks/github); a push that changes a fabric's directory syncs that fabric at once.
    /// Default FGD_SYNC_GITHUB_WEBHOOK_SECRET; without a secret the endpoint is off (404).
    #[arg(long, value_name = "VAR")]
    pub github_webhook_secret_env: Option<String>,
    /// Batch a fabric's events until they pause this long, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 2000)]
    pub coalesce_ms: u64,
    /// Full reconcile of every fabric at start and then this often, in seconds (0: never).
    #[arg(long, value_name = "SECS", default_value_t = 300)]
    pub reconcile_interval: u64,
    #[command(flatten)]
    pub write: WriteArgs,
    #[command(flatten)]
    pub log: HttpLogArgs,
    #[command(flatten)]
    pub runtime: RuntimeArgs,
}

pub async fn run(args: &ServeCommand) -> anyhow::Result<u8> {
    // Before anything slow: from here on a signal means "stop cleanly", not "die".
    let signals = Signals::install().context("installing signal handlers")?;
    let fabrics = args.fabric.resolve()?;
    let secret = std::env::var(&args.secret_env).ok().filter(|s| !s.is_empty()).with_context(|| {
        format!(
            "no webhook secret in ${}: set it to the secret of NetBox's webhook (unsigned webhooks are refused)",
            args.secret_env
        )
    })?;
    let github_secret = github_secret(args.github_webhook_secret_env.as_deref())?;
    let log = args.log.open()?;
    let mut specs = Vec::new();
    for fabric in &fabrics {
        let hooks = fabric.hooks(log.clone()).with_context(|| format!("fabric {}", fabric.name))?;
        let netbox = match &fabric.source {
            SourceSpec::NetBox { url, token } => Some(NetBoxConfig::new(url.clone(), token.expose())),
            SourceSpec::Directory(_) => None,
        };
        let shared = fabric.clone();
        let open_source: OpenSource = Arc::new(move |runtime| {
            let fabric = shared.clone();
            Box::pin(async move { fabric.source(&runtime).await })
        });
        specs.push(FabricSpec {
            name: fabric.name.clone(),
            target: fabric.target(),
            hooks,
            open_source,
            fresh_source: matches!(fabric.source, SourceSpec::Directory(_)),
            netbox,
            options: args.write.options(fabric, DirectionName::Both)?,
        });
    }
    let settings = Settings {
        listen: args.listen,
        secret: Secret(secret.into_bytes()),
        github_secret: github_secret.map(|s| Secret(s.into_bytes())),
        coalesce: Duration::from_millis(args.coalesce_ms),
        reconcile_interval: (args.reconcile_interval > 0).then(|| Duration::from_secs(args.reconcile_interval)),
        metrics_listen: args.metrics_listen,
        metrics_token: match &args.metrics_token_env {
            Some(var) => Some(Secret(
                std::env::var(var)
                    .ok()
                    .map(|t| t.trim().to_string())
                    .filter(|t| !t.is_empty())
                    .with_context(|| format!("--metrics-token-env {var}: no token in ${var}"))?
                    .into_bytes(),
            )),
            None => None,
        },
        ui_token: match &args.ui_token_env {
            Some(var) => Some(Secret(
                std::env::var(var)
                    .ok()
                    .map(|t| t.trim().to_string())
                    .filter(|t| !t.is_empty())
                    .with_context(|| format!("--ui-token-env {var}: no operator token in ${var}"))?
                    .into_bytes(),
            )),
            None => None,
        },
    };
    let github_on = settings.github_secret.is_some();
    let ui = settings.ui_served();
    let service = Service::bind(settings, specs).await?;
    let addr = service.local_addr()?;
    let metrics_addr = service.metrics_addr().transpose()?;
    if let Some(metrics) = metrics_addr {
        eprintln!("fgd-sync serve: /metrics on http://{metrics}");
    }
    match (ui, metrics_addr) {
        (Some(UiAt::Metrics), Some(at)) => eprintln!("fgd-sync serve: operators' page on http://{at}/ui"),
        (Some(_), _) => eprintln!("fgd-sync serve: operators' page on http://{addr}/ui"),
        (None, _) if args.ui_token_env.is_some() => {
            eprintln!("fgd-sync serve: /ui is not served on the non-loopback {addr}: use --metrics-listen")
        }
        (None, _) => {}
    }
    let names: Vec<&str> = fabrics.iter().map(|f| f.name.as_str()).collect();
    let reconcile = match args.reconcile_interval {
        0 => "off".to_owned(),
        secs => format!("every {secs} s"),
    };
    let github = match github_on {
        true => format!(", POST {GITHUB_WEBHOOK_PATH}"),
        false => String::new(),
    };
    eprintln!(
        "fgd-sync serve: listening on http://{addr} (webhooks: POST {WEBHOOK_PATH}{github}; fabrics: {}; coalesce {} ms; reconcile {reconcile})",
        names.join(", "),
        args.coalesce_ms,
    );
    let loader = args.runtime.clone();
    let stopped = service.run(move || loader.load(), signals).await?;
    if stopped.unsynced > 0 {
        anyhow::bail!(
            "stopped on {}: {} of {} queued CRs could not be synced (see above); the next reconcile syncs them",
            stopped.signal,
            stopped.unsynced,
            stopped.queued
        );
    }
    eprintln!("fgd-sync serve: stopped on {}; {} queued CRs synced before exiting", stopped.signal, stopped.queued);
    Ok(exit::OK)
}

/// The GitHub webhook secret: from the variable named (which must hold one), else from
/// `FGD_SYNC_GITHUB_WEBHOOK_SECRET` if set; `None` turns `/webhooks/github` off.
fn github_secret(var: Option<&str>) -> anyhow::Result<Option<String>> {
    const DEFAULT: &str = "FGD_SYNC_GITHUB_WEBHOOK_SECRET";
    let read = |var: &str| std::env::var(var).ok().filter(|s| !s.is_empty());
    match var {
        Some(var) => read(var).map(Some).with_context(|| {
            format!("--github-webhook-secret-env {var}: no secret in ${var} (the secret of the GitHub webhook)")
        }),
        None => Ok(read(DEFAULT)),
    }
}
