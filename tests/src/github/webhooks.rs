//! Webhooks as GitHub sends them: a `ping` when one is set, then a `push` for every move of a
//! branch, whoever made it (the REST API, `seed`, a commit made with the repository helper,
//! another writer injected as a fault), each delivered on a thread of its own, one after the
//! other, as GitHub's Hookshot does.
//!
//! Moves are read from the branches' reflogs (the stand-in keeps them for every ref), so each
//! ref update is one push with its own `before` and `after`, even when several land between
//! two looks. A push lists the commits of `before..after` (a new branch: those on no other
//! branch; at most 2048) with `added`, `removed` and `modified` from `git diff-tree` against
//! the first parent. Deliveries carry `X-GitHub-Event`, `X-GitHub-Delivery` (a UUID),
//! `X-Hub-Signature-256` when a secret is set, `User-Agent: GitHub-Hookshot/...`, and a JSON
//! or form (`payload=`) body; each is recorded with the receiver's answer.

use std::collections::BTreeMap;
use std::hash::{BuildHasher, Hasher};
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

use super::client;
use super::repo::GitRepo;
use super::server::lock;

const ZERO: &str = "0000000000000000000000000000000000000000";
/// GitHub lists at most this many commits in a push.
pub const MAX_COMMITS: usize = 2048;
/// GitHub gives a receiver 10 s to answer.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);
/// How often the reflogs are read when nothing pokes the watcher (commits made with git
/// directly, outside the stand-in's requests).
const LOOK_EVERY: Duration = Duration::from_millis(25);
const USER_AGENT: &str = "GitHub-Hookshot/5fa3c2e";

/// The webhook's "Content type" setting.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ContentType {
    #[default]
    Json,
    /// `application/x-www-form-urlencoded`: the JSON in a `payload` field.
    Form,
}

/// A repository webhook, as set on GitHub.
#[derive(Clone, Debug)]
pub struct WebhookConfig {
    pub url: String,
    /// Signs with `X-Hub-Signature-256` when set.
    pub secret: Option<String>,
    pub content_type: ContentType,
}

/// One delivery and how the receiver answered.
#[derive(Clone, Debug)]
pub struct HookDelivery {
    /// `X-GitHub-Delivery`.
    pub id: String,
    /// `push` or `ping`.
    pub event: String,
    /// The payload as JSON (before any form encoding).
    pub payload: Value,
    /// The receiver's status, or why there was none.
    pub result: Result<u16, String>,
    /// The receiver's answer body.
    pub response: String,
}

impl HookDelivery {
    /// The answer as JSON (`Null` when it is not JSON).
    pub fn response_json(&self) -> Value {
        serde_json::from_str(&self.response).unwrap_or(Value::Null)
    }

    /// The pushed branch's new head (`after`), for a push.
    pub fn after(&self) -> Option<&str> {
        self.payload.get("after").and_then(Value::as_str)
    }
}

/// `sha256=<hex HMAC-SHA256 of body>`: GitHub's `X-Hub-Signature-256`.
pub fn signature(secret: &[u8], body: &[u8]) -> String {
    // HMAC takes keys of any length; `new_from_slice` cannot fail for it.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else { return String::new() };
    mac.update(body);
    let hex: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

/// A branch as last seen in its reflog.
#[derive(Clone, Debug)]
struct Seen {
    entries: usize,
    head: String,
}

/// One ref move: a push to deliver.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Move {
    branch: String,
    old: String,
    new: String,
}

#[derive(Default)]
struct State {
    config: Option<WebhookConfig>,
    /// The reflogs as they were when the webhook was set: nothing before is delivered.
    baseline: Option<BTreeMap<String, Seen>>,
    ping: bool,
    poked: bool,
    stop: bool,
    deliveries: Vec<HookDelivery>,
}

/// The stand-in's webhook: its settings, its watcher thread and what it delivered.
pub(crate) struct Hooks {
    repo: GitRepo,
    owner: String,
    name: String,
    default_branch: String,
    state: Mutex<State>,
    wake: Condvar,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl Hooks {
    pub fn new(repo: GitRepo, owner: &str, name: &str, default_branch: &str) -> Hooks {
        Hooks {
            repo,
            owner: owner.into(),
            name: name.into(),
            default_branch: default_branch.into(),
            state: Mutex::new(State::default()),
            wake: Condvar::new(),
            thread: Mutex::new(None),
        }
    }

    /// Sets (or with `None` removes) the webhook. Setting one sends a `ping`, and every
    /// later branch move a `push`.
    pub fn set(self: &Arc<Self>, config: Option<WebhookConfig>) {
        let baseline = config.as_ref().map(|_| read_reflogs(self.repo.git_dir()).0);
        {
            let mut state = lock(&self.state);
            state.ping = config.is_some();
            state.config = config;
            state.baseline = baseline;
        }
        self.wake.notify_all();
        let mut thread = lock(&self.thread);
        if thread.is_none() {
            let hooks = self.clone();
            *thread = Some(std::thread::spawn(move || hooks.watch()));
        }
    }

    /// A request was handled, a branch may have moved: look now.
    pub fn poke(&self) {
        let mut state = lock(&self.state);
        if state.config.is_some() {
            state.poked = true;
            self.wake.notify_all();
        }
    }

    pub fn deliveries(&self) -> Vec<HookDelivery> {
        lock(&self.state).deliveries.clone()
    }

    /// Waits until at least `count` deliveries were answered (or failed), or `timeout` passed.
    pub fn wait_for(&self, count: usize, timeout: Duration) -> Vec<HookDelivery> {
        let deadline = Instant::now() + timeout;
        let mut state = lock(&self.state);
        while state.deliveries.len() < count {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            state = self.wake.wait_timeout(state, left).map(|(s, _)| s).unwrap_or_else(|p| p.into_inner().0);
        }
        state.deliveries.clone()
    }

    /// Stops the watcher (a delivery under way finishes first).
    pub fn stop(&self) {
        lock(&self.state).stop = true;
        self.wake.notify_all();
        if let Some(thread) = lock(&self.thread).take() {
            let _ = thread.join();
        }
    }

    /// The watcher: waits for a poke (or `LOOK_EVERY`), reads the reflogs, delivers each move.
    fn watch(&self) {
        let mut seen = BTreeMap::new();
        loop {
            let (config, ping) = {
                let mut state = lock(&self.state);
                loop {
                    if state.stop {
                        return;
                    }
                    if let Some(baseline) = state.baseline.take() {
                        seen = baseline;
                    }
                    if state.config.is_some() && (state.poked || state.ping) {
                        break;
                    }
                    let wait = if state.config.is_some() { LOOK_EVERY } else { Duration::from_secs(3600) };
                    let (next, timeout) = self.wake.wait_timeout(state, wait).unwrap_or_else(|p| p.into_inner());
                    state = next;
                    if timeout.timed_out() && state.config.is_some() {
                        break;
                    }
                }
                if let Some(baseline) = state.baseline.take() {
                    seen = baseline;
                }
                state.poked = false;
                let ping = std::mem::take(&mut state.ping);
                (state.config.clone(), ping)
            };
            let Some(config) = config else { continue };
            if ping {
                self.deliver(&config, "ping", self.ping_payload(&config));
            }
            let (_, logs) = read_reflogs(self.repo.git_dir());
            for change in moves(&mut seen, logs) {
                // Stopped, or the webhook removed or changed meanwhile: what is left goes to
                // the new one, or nowhere.
                let config = {
                    let state = lock(&self.state);
                    if state.stop {
                        return;
                    }
                    state.config.clone()
                };
                let Some(config) = config else { break };
                let payload = self.push_payload(&change);
                self.deliver(&config, "push", payload);
            }
        }
    }

    /// POSTs one delivery and records it.
    fn deliver(&self, config: &WebhookConfig, event: &str, payload: Value) {
        let id = uuid();
        let json = payload.to_string();
        let (body, content_type) = match config.content_type {
            ContentType::Json => (json.into_bytes(), "application/json"),
            ContentType::Form => {
                (format!("payload={}", form_encode(&json)).into_bytes(), "application/x-www-form-urlencoded")
            }
        };
        let signed = config.secret.as_ref().map(|s| signature(s.as_bytes(), &body));
        let mut headers = vec![
            ("Accept", "*/*"),
            ("User-Agent", USER_AGENT),
            ("X-GitHub-Event", event),
            ("X-GitHub-Delivery", id.as_str()),
            ("X-GitHub-Hook-ID", "1"),
            ("X-GitHub-Hook-Installation-Target-ID", "1"),
            ("X-GitHub-Hook-Installation-Target-Type", "repository"),
            ("Content-Type", content_type),
        ];
        if let Some(signed) = &signed {
            headers.push(("X-Hub-Signature-256", signed.as_str()));
        }
        let answer = client::send("POST", &config.url, &headers, Some(&body), DELIVERY_TIMEOUT);
        let (result, response) = match answer {
            Ok(r) => (Ok(r.status), r.text()),
            Err(e) => (Err(e.to_string()), String::new()),
        };
        let delivery = HookDelivery { id, event: event.into(), payload, result, response };
        lock(&self.state).deliveries.push(delivery);
        self.wake.notify_all();
    }

    fn repository(&self) -> Value {
        let full_name = format!("{}/{}", self.owner, self.name);
        json!({
            "id": 1, "node_id": "R_kgDOStandIn", "name": self.name, "full_name": full_name, "private": true,
            "owner": { "login": self.owner, "id": 2, "type": "Organization" },
            "html_url": format!("https://github.com/{full_name}"),
            "url": format!("https://github.com/{full_name}"),
            "default_branch": self.default_branch, "master_branch": self.default_branch,
        })
    }

    fn ping_payload(&self, config: &WebhookConfig) -> Value {
        let content_type = match config.content_type {
            ContentType::Json => "json",
            ContentType::Form => "form",
        };
        json!({
            "zen": "Design for failure.",
            "hook_id": 1,
            "hook": {
                "type": "Repository", "id": 1, "name": "web", "active": true, "events": ["push"],
                "config": { "content_type": content_type, "insecure_ssl": "0", "url": config.url },
            },
            "repository": self.repository(),
            "sender": { "login": "stand-in", "id": 3, "type": "User" },
        })
    }

    /// The `push` payload of one ref move.
    fn push_payload(&self, change: &Move) -> Value {
        let (created, deleted) = (change.old == ZERO, change.new == ZERO);
        let forced = !created && !deleted && !self.repo.is_ancestor(&change.old, &change.new);
        let mut commits: Vec<Value> = Vec::new();
        if !deleted {
            for sha in self.pushed_commits(change) {
                if let Some(commit) = self.commit(&sha) {
                    commits.push(commit);
                }
            }
        }
        let head_commit = match deleted {
            true => Value::Null,
            false => commits.last().cloned().or_else(|| self.commit(&change.new)).unwrap_or(Value::Null),
        };
        let pusher = head_commit.get("committer").cloned().unwrap_or(json!({ "name": "stand-in", "email": null }));
        let full_name = format!("{}/{}", self.owner, self.name);
        json!({
            "ref": format!("refs/heads/{}", change.branch),
            "before": change.old,
            "after": change.new,
            "repository": self.repository(),
            "pusher": { "name": pusher["name"], "email": pusher["email"] },
            "sender": { "login": "stand-in", "id": 3, "type": "User" },
            "created": created,
            "deleted": deleted,
            "forced": forced,
            "base_ref": null,
            "compare": format!("https://github.com/{full_name}/compare/{}...{}", &change.old[..12], &change.new[..12]),
            "commits": commits,
            "head_commit": head_commit,
        })
    }

    /// The commits a move brought, oldest first: `old..new`, or for a new branch those on
    /// no other branch. At most `MAX_COMMITS`.
    fn pushed_commits(&self, change: &Move) -> Vec<String> {
        let range = format!("{}..{}", change.old, change.new);
        let exclude = format!("--exclude={}", change.branch);
        let args: Vec<&str> = match change.old == ZERO {
            true => vec!["rev-list", "--reverse", &change.new, "--not", &exclude, "--branches"],
            false => vec!["rev-list", "--reverse", &range],
        };
        let out = self.repo.git(&args).unwrap_or_default();
        out.split_whitespace().take(MAX_COMMITS).map(str::to_owned).collect()
    }

    /// One commit of a push payload, with the paths it added, removed and modified.
    fn commit(&self, sha: &str) -> Option<Value> {
        let format = "--format=%T%x00%an%x00%ae%x00%cn%x00%ce%x00%cI%x00%P%x00%B";
        let out = self.repo.git(&["show", "-s", format, sha]).ok()?;
        let mut fields = out.splitn(8, '\0');
        let mut next = || fields.next().unwrap_or_default().to_owned();
        let (tree, author, author_email, committer, committer_email, time, parents, message) =
            (next(), next(), next(), next(), next(), next(), next(), next());
        let message = message.trim_end_matches('\n').to_owned();
        let diff = match parents.split_whitespace().next() {
            Some(parent) => self.repo.git(&["diff-tree", "-r", "-z", "--no-renames", "--name-status", parent, sha]),
            None => self.repo.git(&[
                "diff-tree",
                "-r",
                "-z",
                "--no-renames",
                "--name-status",
                "--no-commit-id",
                "--root",
                sha,
            ]),
        }
        .ok()?;
        let (mut added, mut removed, mut modified) = (Vec::new(), Vec::new(), Vec::new());
        // `<status>\0<path>\0`, again and again.
        let mut parts = diff.split('\0').filter(|p| !p.is_empty());
        while let Some(status) = parts.next() {
            let Some(path) = parts.next() else { break };
            match status {
                "A" => added.push(path.to_owned()),
                "D" => removed.push(path.to_owned()),
                _ => modified.push(path.to_owned()),
            }
        }
        let full_name = format!("{}/{}", self.owner, self.name);
        Some(json!({
            "id": sha, "tree_id": tree, "distinct": true, "message": message, "timestamp": time,
            "url": format!("https://github.com/{full_name}/commit/{sha}"),
            "author": { "name": author, "email": author_email },
            "committer": { "name": committer, "email": committer_email },
            "added": added, "removed": removed, "modified": modified,
        }))
    }
}

/// Each branch's reflog entries `(old, new)`, oldest first, by branch name.
type Reflogs = BTreeMap<String, Vec<(String, String)>>;

/// Every branch's reflog, and how far each has got.
fn read_reflogs(git_dir: &Path) -> (BTreeMap<String, Seen>, Reflogs) {
    let root = git_dir.join("logs/refs/heads");
    let mut logs = BTreeMap::new();
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let Ok(text) = std::fs::read_to_string(&path) else { continue };
            let Ok(name) = path.strip_prefix(&root) else { continue };
            let branch = name.iter().map(|p| p.to_string_lossy()).collect::<Vec<_>>().join("/");
            // Only whole lines: git may be appending the next one.
            let complete = text.rfind('\n').map_or("", |end| &text[..end]);
            let moves: Vec<(String, String)> = complete
                .lines()
                .filter_map(|line| {
                    let mut parts = line.split(' ');
                    Some((parts.next()?.to_owned(), parts.next()?.to_owned()))
                })
                .collect();
            logs.insert(branch, moves);
        }
    }
    let seen = logs
        .iter()
        .filter_map(|(branch, moves)| {
            let head = moves.last()?.1.clone();
            Some((branch.clone(), Seen { entries: moves.len(), head }))
        })
        .collect();
    (seen, logs)
}

/// The moves since `seen` (which is brought up to date): new reflog entries, and a deletion
/// for each branch whose reflog is gone.
fn moves(seen: &mut BTreeMap<String, Seen>, logs: Reflogs) -> Vec<Move> {
    let mut found = Vec::new();
    for (branch, entries) in &logs {
        let Some((_, head)) = entries.last() else { continue };
        // A shorter log is a new one (the branch was deleted and made again).
        let known = match seen.get(branch) {
            Some(s) if s.entries <= entries.len() => s.entries,
            _ => 0,
        };
        for (old, new) in &entries[known..] {
            found.push(Move { branch: branch.clone(), old: old.clone(), new: new.clone() });
        }
        seen.insert(branch.clone(), Seen { entries: entries.len(), head: head.clone() });
    }
    let gone: Vec<String> = seen.keys().filter(|b| !logs.contains_key(*b)).cloned().collect();
    for branch in gone {
        if let Some(last) = seen.remove(&branch) {
            found.push(Move { branch, old: last.head, new: ZERO.into() });
        }
    }
    found
}

/// `application/x-www-form-urlencoded`: unreserved bytes as they are, space as `+`.
fn form_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' => (b as char).to_string(),
            b' ' => "+".into(),
            b => format!("%{b:02X}"),
        })
        .collect()
}

/// A random (version 4) UUID, as GitHub's `X-GitHub-Delivery`.
fn uuid() -> String {
    let random = || std::collections::hash_map::RandomState::new().build_hasher().finish();
    let (high, low) = (random(), random());
    let high = (high & !0xF000) | 0x4000; // version 4
    let low = (low & !(0b11 << 62)) | (0b10 << 62); // RFC 4122 variant
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        high >> 32,
        (high >> 16) & 0xFFFF,
        high & 0xFFFF,
        low >> 48,
        low & 0xFFFF_FFFF_FFFF
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_github_s() {
        // GitHub's documented example ("Validating webhook deliveries").
        assert_eq!(
            signature(b"It's a Secret to Everybody", b"Hello, World!"),
            "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
        );
    }

    #[test]
    fn uuids_are_version_4() {
        let (a, b) = (uuid(), uuid());
        assert_ne!(a, b);
        let parts: Vec<&str> = a.split('-').collect();
        assert_eq!(parts.iter().map(|p| p.len()).collect::<Vec<_>>(), [8, 4, 4, 4, 12], "{a}");
        assert!(parts[2].starts_with('4'), "{a}");
        assert!(matches!(parts[3].as_bytes()[0], b'8' | b'9' | b'a' | b'b'), "{a}");
    }

    #[test]
    fn moves_come_from_new_reflog_entries() {
        let entry = |old: &str, new: &str| (old.to_owned(), new.to_owned());
        let (a, b, c) = ("a".repeat(40), "b".repeat(40), "c".repeat(40));
        let mut seen = BTreeMap::new();
        let logs = BTreeMap::from([("main".to_owned(), vec![entry(ZERO, &a)])]);
        let first = moves(&mut seen, logs);
        assert_eq!(first, [Move { branch: "main".into(), old: ZERO.into(), new: a.clone() }]);
        // Two moves between two looks are two pushes; a new branch is a push from zero.
        let logs = BTreeMap::from([
            ("main".to_owned(), vec![entry(ZERO, &a), entry(&a, &b), entry(&b, &c)]),
            ("feature/x".to_owned(), vec![entry(ZERO, &b)]),
        ]);
        assert_eq!(
            moves(&mut seen, logs),
            [
                Move { branch: "feature/x".into(), old: ZERO.into(), new: b.clone() },
                Move { branch: "main".into(), old: a.clone(), new: b.clone() },
                Move { branch: "main".into(), old: b.clone(), new: c.clone() },
            ]
        );
        // A branch whose reflog is gone was deleted.
        let logs = BTreeMap::from([("main".to_owned(), vec![entry(ZERO, &a), entry(&a, &b), entry(&b, &c)])]);
        assert_eq!(moves(&mut seen, logs), [Move { branch: "feature/x".into(), old: b, new: ZERO.into() }]);
    }
}
