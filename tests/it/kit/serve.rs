//! `fgd-sync serve` as a real process against the world: started on a free loopback port
//! with the NetBox token and webhook secret, its listen addresses read from its log, the log
//! drained for the whole run (and kept for messages), watched through `/metrics`, and
//! killed on drop.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{mpsc, Arc, Mutex, MutexGuard};
use std::time::Duration;

use fgd_sync_tests::cli;
use fgd_sync_tests::github::client::{self, Response};
use fgd_sync_tests::hnp::{Webhook, WebhookStyle};

use super::{wait_for, World, NETBOX_TOKEN, WAIT};

/// The secret NetBox signs its webhooks with (`FGD_SYNC_WEBHOOK_SECRET`).
pub const NETBOX_SECRET: &str = "netbox-webhook-secret-for-tests";

impl World {
    /// `serve <args>` of the config's fabric.
    pub fn serve(&self, args: &[&str]) -> Serve {
        Serve::start(&self.config, &[], args)
    }

    /// Points the HNP stand-in's event rule at `serve`, signed with `NETBOX_SECRET`.
    pub fn hook(&self, serve: &Serve, style: WebhookStyle) {
        let url = format!("{}/webhooks/netbox", serve.url);
        self.hnp.set_webhook(Some(Webhook { url, secret: Some(NETBOX_SECRET.into()), style }));
    }
}

/// A running `fgd-sync serve`; killed on drop if still running.
pub struct Serve {
    child: Child,
    /// `http://<addr>` of the webhook listener.
    pub url: String,
    /// The `--metrics-listen` address, when there is one.
    pub metrics_url: Option<String>,
    log: Arc<Mutex<String>>,
}

impl Serve {
    /// `fgd-sync serve --config <config> --listen 127.0.0.1:0 <args>` (no `--listen` when
    /// `args` has one) with the NetBox token and webhook secret and the GitHub stand-in's
    /// token, then `env` (`None`: removed).
    pub fn command(config: &Path, env: &[(&str, Option<&str>)], args: &[&str]) -> Command {
        let mut cmd = cli::command();
        cmd.env("NETBOX_TOKEN", NETBOX_TOKEN)
            .env("FGD_SYNC_WEBHOOK_SECRET", NETBOX_SECRET)
            .env("GITHUB_TOKEN", fgd_sync_tests::github::TOKEN);
        for (var, value) in env {
            match value {
                Some(value) => cmd.env(var, value),
                None => cmd.env_remove(var),
            };
        }
        cmd.arg("serve")
            .arg("--config")
            .arg(config)
            .args(if args.contains(&"--listen") { &[][..] } else { &["--listen", "127.0.0.1:0"][..] })
            .args(args);
        cmd
    }

    /// Starts `Serve::command` and waits until it is ready.
    pub fn start(config: &Path, env: &[(&str, Option<&str>)], args: &[&str]) -> Serve {
        let mut cmd = Serve::command(config, env, args);
        let mut child = cmd
            .env("RUST_LOG", "fgd_sync=info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting fgd-sync serve");
        let stderr = child.stderr.take().expect("stderr");
        let log = Arc::new(Mutex::new(String::new()));
        let (found, address) = mpsc::channel();
        let sink = log.clone();
        // Drained for the whole run, so the server never blocks on a full pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                for (marker, which) in [("listening on http://", "listen"), ("/metrics on http://", "metrics")] {
                    if let Some(rest) = line.split(marker).nth(1) {
                        let _ = found.send((which, rest.split_whitespace().next().unwrap_or_default().to_owned()));
                    }
                }
                let mut log = lock(&sink);
                log.push_str(&line);
                log.push('\n');
            }
        });
        let mut metrics_url = None;
        let addr = loop {
            match address.recv_timeout(WAIT) {
                Ok(("listen", addr)) => break addr,
                Ok((_, addr)) => metrics_url = Some(format!("http://{addr}")),
                Err(_) => panic!("serve did not start:\n{}", lock(&log)),
            }
        };
        let serve = Serve { child, url: format!("http://{addr}"), metrics_url, log };
        wait_for("readiness", || (serve.get("/readyz").status == 200).then_some(()));
        serve
    }

    /// One request to the webhook listener.
    pub fn send(&self, method: &str, path: &str, headers: &[(&str, &str)], body: Option<&[u8]>) -> Response {
        let url = format!("{}{path}", self.url);
        client::send(method, &url, headers, body, Duration::from_secs(60))
            .unwrap_or_else(|e| panic!("{method} {url}: {e}"))
    }

    pub fn get(&self, path: &str) -> Response {
        self.send("GET", path, &[], None)
    }

    /// Every sample of `/metrics`: `name{labels}` -> value.
    pub fn metrics(&self) -> BTreeMap<String, f64> {
        let text = self.get("/metrics").text();
        text.lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .filter_map(|l| l.rsplit_once(' '))
            .filter_map(|(series, value)| Some((series.to_owned(), value.parse().ok()?)))
            .collect()
    }

    /// One sample of `/metrics`; panics when there is none.
    pub fn metric(&self, series: &str) -> f64 {
        self.metrics().get(series).copied().unwrap_or_else(|| panic!("no series {series}"))
    }

    /// Syncs of fabric dc1 so far, whatever their outcome.
    pub fn syncs(&self) -> u64 {
        let m = self.metrics();
        ["ok", "conflicts", "error"]
            .iter()
            .map(|o| m.get(&format!("fgd_sync_syncs_total{{fabric=\"dc1\",outcome=\"{o}\"}}")).copied().unwrap_or(0.0))
            .sum::<f64>() as u64
    }

    pub fn wait_syncs(&self, n: u64) {
        wait_for(&format!("{n} syncs"), || (self.syncs() >= n).then_some(()));
    }

    /// NetBox webhooks answered with `result`.
    pub fn netbox_webhooks(&self, result: &str) -> u64 {
        self.metric(&format!("fgd_sync_webhooks_total{{result=\"{result}\"}}")) as u64
    }

    /// Sends signal `name` (`TERM`, ...) to the process.
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill").args(["-s", name, &self.child.id().to_string()]).status();
        assert!(status.expect("kill").success());
    }

    pub fn wait_exit(&mut self) -> ExitStatus {
        wait_for("serve to exit", || self.child.try_wait().expect("try_wait"))
    }

    /// Its stderr so far.
    pub fn log(&self) -> String {
        lock(&self.log).clone()
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The log, also after a panic while it was held (the drain thread must go on).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
