//! Test stand-ins around the engine: a fake clock and random source, an in-memory HNP, a
//! scripted transport for exact error paths, and CR builders.

use std::collections::VecDeque;

use fgd_sync_guest::engine::{Source, Synced};
use fgd_sync_guest::github::{Environment, HttpRequest, HttpResponse, Transport};
use fgd_sync_guest::model::{HnpChange, HnpOp, Identity, RawResource, ResourceRef, SyncOptions, Target};

use super::fake::{Clock, BASE, OWNER, REPO};

pub const DIR: &str = "fabrics/dc1";
pub const START: u64 = 1_700_000_000;

/// Time advances only when the engine sleeps; randomness is a fixed xorshift.
pub struct FakeEnv {
    pub clock: Clock,
    pub sleeps: Vec<u64>,
    seed: u64,
}

impl FakeEnv {
    pub fn new(clock: Clock) -> FakeEnv {
        FakeEnv { clock, sleeps: Vec::new(), seed: 0x9E37_79B9_7F4A_7C15 }
    }
}

impl Environment for FakeEnv {
    fn now_epoch_secs(&mut self) -> u64 {
        self.clock.secs()
    }
    fn sleep_ms(&mut self, ms: u64) {
        self.sleeps.push(ms);
        self.clock.advance_ms(ms);
    }
    fn random_u64(&mut self) -> u64 {
        self.seed ^= self.seed << 13;
        self.seed ^= self.seed >> 7;
        self.seed ^= self.seed << 17;
        self.seed
    }
}

/// HNP in memory; remembers every `record-synced` call.
#[derive(Default)]
pub struct MemSource {
    pub resources: Vec<RawResource>,
    pub recorded: Vec<(ResourceRef, String, String, String)>,
    pub lookups: u32,
    pub fail_lookups: Option<String>,
    pub fail_record: Option<String>,
    /// Names that `list` misses (as offset paging does when a row is deleted meanwhile)
    /// while `get` still finds them.
    pub unlisted: Vec<String>,
    /// `get` calls, by name.
    pub gets: Vec<String>,
    /// `get` fails with this (`list` still answers).
    pub fail_get: Option<String>,
    /// Listings to answer one per `list` call before `resources` (HNP changing meanwhile).
    pub listings: VecDeque<Vec<RawResource>>,
    /// `record-synced` calls (each records a batch).
    pub record_calls: u32,
    /// Every `apply-changes` batch, as given.
    pub applied: Vec<Vec<HnpChange>>,
    /// Names whose changes HNP refuses, with this answer.
    pub refuse: Vec<(String, String)>,
    /// `apply-changes` fails as a whole with this (a lost answer).
    pub fail_apply: Option<String>,
    /// Put into HNP (replacing its namesake) just before the next `apply-changes`: an edit
    /// made in NetBox between the read and the write.
    pub edit_before_apply: Option<RawResource>,
}

/// Whether `cr` is the CR `other` names (kind, namespace with "" as "default", name).
fn same_cr(cr: &RawResource, other: &RawResource) -> bool {
    let ns = |r: &RawResource| if r.namespace.is_empty() { "default".to_string() } else { r.namespace.clone() };
    cr.kind == other.kind && cr.name == other.name && ns(cr) == ns(other)
}

impl MemSource {
    pub fn new(resources: Vec<RawResource>) -> MemSource {
        MemSource { resources, ..MemSource::default() }
    }
}

impl Source for MemSource {
    fn list(&mut self, _fabric: &str) -> Result<Vec<RawResource>, String> {
        self.lookups += 1;
        match &self.fail_lookups {
            Some(e) => Err(e.clone()),
            None if !self.listings.is_empty() => {
                self.resources = self.listings.pop_front().unwrap_or_default();
                Ok(self.resources.clone())
            }
            None => Ok(self.resources.iter().filter(|c| !self.unlisted.contains(&c.name)).cloned().collect()),
        }
    }
    fn get(&mut self, _fabric: &str, r: &ResourceRef) -> Result<Option<RawResource>, String> {
        self.lookups += 1;
        self.gets.push(r.name.clone());
        if let Some(e) = &self.fail_get {
            return Err(e.clone());
        }
        if let Some(e) = &self.fail_lookups {
            return Err(e.clone());
        }
        let found = self.resources.iter().find(|c| c.kind == r.kind.as_str() && c.name == r.name);
        Ok(found.filter(|c| c.namespace.is_empty() || c.namespace == r.namespace).cloned())
    }
    fn apply(&mut self, _fabric: &str, changes: &[HnpChange]) -> Result<Vec<Option<String>>, String> {
        self.applied.push(changes.to_vec());
        if let Some(edited) = self.edit_before_apply.take() {
            self.resources.retain(|r| !same_cr(r, &edited));
            self.resources.push(edited);
        }
        if let Some(e) = &self.fail_apply {
            return Err(e.clone());
        }
        let mut answers = Vec::new();
        for change in changes {
            if let Some((_, why)) = self.refuse.iter().find(|(name, _)| *name == change.resource.name) {
                answers.push(Some(why.clone()));
                continue;
            }
            let at = self.resources.iter().position(|r| same_cr(r, &change.resource));
            // As a host must: write only while HNP still holds what the plan saw.
            let holds_expected = match (&change.expected, at) {
                (None, None) => true,
                (Some(expected), Some(i)) => self.resources[i] == *expected,
                _ => false,
            };
            if !holds_expected {
                answers.push(Some("changed in HNP meanwhile".to_string()));
                continue;
            }
            match (change.op, at) {
                (HnpOp::Create, _) => self.resources.push(change.resource.clone()),
                (HnpOp::Update, Some(i)) => self.resources[i] = change.resource.clone(),
                (HnpOp::Delete, Some(i)) => {
                    self.resources.remove(i);
                }
                (_, None) => unreachable!("checked above"),
            }
            answers.push(None);
        }
        Ok(answers)
    }
    fn record(&mut self, _fabric: &str, entries: &[Synced]) -> Result<(), String> {
        self.record_calls += 1;
        if let Some(e) = &self.fail_record {
            return Err(e.clone());
        }
        for s in entries {
            self.recorded.push((s.resource.clone(), s.path.clone(), s.blob_sha.clone(), s.commit.clone()));
        }
        Ok(())
    }
}

/// A scripted answer: given, or computed from the request.
enum Answer {
    Given(Result<HttpResponse, String>),
    Computed(fn(&HttpRequest) -> Result<HttpResponse, String>),
}

/// A queue of expected `METHOD url` -> answer; anything else fails the test.
pub struct Scripted {
    steps: VecDeque<(String, Answer)>,
    pub log: Vec<HttpRequest>,
}

impl Scripted {
    pub fn new() -> Scripted {
        Scripted { steps: VecDeque::new(), log: Vec::new() }
    }

    /// Expects `METHOD /path` (relative to the repository URL).
    pub fn expect(self, call: &str, answer: Result<HttpResponse, String>) -> Scripted {
        self.expect_answer(call, Answer::Given(answer))
    }

    /// Like `expect`, answered by `answer(request)` (an answer that depends on what was sent,
    /// such as the SHA of a created tree).
    pub fn expect_computed(self, call: &str, answer: fn(&HttpRequest) -> Result<HttpResponse, String>) -> Scripted {
        self.expect_answer(call, Answer::Computed(answer))
    }

    fn expect_answer(mut self, call: &str, answer: Answer) -> Scripted {
        let (method, rest) = call.split_once(' ').expect("`METHOD path`");
        self.steps.push_back((format!("{method} {BASE}/repos/{OWNER}/{REPO}{rest}"), answer));
        self
    }

    pub fn assert_done(&self) {
        let left: Vec<&String> = self.steps.iter().map(|(c, _)| c).collect();
        assert!(left.is_empty(), "expected requests never sent: {left:?}");
    }
}

impl Transport for Scripted {
    fn send(&mut self, request: &HttpRequest) -> Result<HttpResponse, String> {
        self.log.push(request.clone());
        let call = format!("{} {}", request.method, request.url);
        let (expected, answer) = self.steps.pop_front().unwrap_or_else(|| panic!("unexpected request {call}"));
        assert_eq!(call, expected, "request out of script");
        match answer {
            Answer::Given(answer) => answer,
            Answer::Computed(answer) => answer(request),
        }
    }
}

pub fn json(status: u16, body: &str) -> Result<HttpResponse, String> {
    Ok(HttpResponse { status, headers: vec![], body: body.as_bytes().to_vec() })
}

pub fn with_headers(status: u16, headers: &[(&str, &str)], body: &str) -> HttpResponse {
    HttpResponse {
        status,
        headers: headers.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect(),
        body: body.as_bytes().to_vec(),
    }
}

pub fn target() -> Target {
    Target {
        api_base: format!("{BASE}/"),
        owner: OWNER.into(),
        repo: REPO.into(),
        branch: "main".into(),
        directory: DIR.into(),
        committer: Some(Identity { name: "HNP Sync".into(), email: "hnp@example.com".into() }),
        message_prefix: "[hnp] ".into(),
    }
}

pub fn options() -> SyncOptions {
    SyncOptions { max_attempts: 3, max_rate_limit_wait_secs: 60, ..SyncOptions::default() }
}

pub fn vpc(name: &str, vlan: u32) -> RawResource {
    RawResource {
        kind: "VPC".into(),
        api_version: None,
        name: name.into(),
        namespace: String::new(),
        labels: String::new(),
        annotations: String::new(),
        spec: format!(r#"{{"subnets":{{"default":{{"subnet":"10.0.{}.0/24","vlan":{vlan}}}}}}}"#, vlan % 250),
    }
}

pub fn attachment(i: usize) -> RawResource {
    RawResource {
        kind: "VPCAttachment".into(),
        api_version: Some("vpc.githedgehog.com/v1beta1".into()),
        name: format!("att-{i:04}"),
        namespace: String::new(),
        labels: r#"{"fabric":"dc1"}"#.into(),
        annotations: String::new(),
        spec: format!(r#"{{"connection":"server-{i}--unbundled--leaf-01","subnet":"vpc-1/default"}}"#),
    }
}

pub fn managed(kind_plural: &str, name: &str) -> String {
    format!("{DIR}/managed/{kind_plural}/{name}.yaml")
}

pub fn state_path() -> String {
    format!("{DIR}/.hnp/sync-state.json")
}
