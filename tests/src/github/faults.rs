//! Fault injection for the GitHub stand-in: which requests misbehave and how. The server asks
//! [`FaultState::decide`] once per request; everything here is pure and deterministic (rates
//! use a seeded splitmix64, no `rand`).
//!
//! ```no_run
//! # use fgd_sync_tests::github::*;
//! # use std::time::Duration;
//! # let standin = StandIn::start(StandInOptions::default()).unwrap();
//! standin.faults().set(
//!     Faults::default()
//!         .latency(Duration::from_millis(30))
//!         .rule(Rule::new(Match::method("POST"), When::Next(2), Action::Status(502)))
//!         .rule(Rule::another_writer(1)),
//! );
//! ```

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::repo::GitRepo;

/// Which requests a rule looks at. Empty fields match anything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Match {
    /// `GET`, `PATCH`, ... (any case).
    pub method: Option<String>,
    /// A substring of the path and query, e.g. `/git/refs/` or `/contents/`.
    pub path_contains: Option<String>,
}

impl Match {
    pub fn any() -> Match {
        Match::default()
    }
    pub fn method(method: &str) -> Match {
        Match { method: Some(method.to_ascii_uppercase()), path_contains: None }
    }
    pub fn path(part: &str) -> Match {
        Match { method: None, path_contains: Some(part.into()) }
    }
    pub fn and_path(mut self, part: &str) -> Match {
        self.path_contains = Some(part.into());
        self
    }
    pub fn matches(&self, method: &str, path: &str) -> bool {
        self.method.as_deref().is_none_or(|m| m.eq_ignore_ascii_case(method))
            && self.path_contains.as_deref().is_none_or(|p| path.contains(p))
    }
}

/// When a rule fires, counted over the requests it matches.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum When {
    Always,
    /// The next N matching requests.
    Next(u32),
    /// Only the Nth matching request (1-based).
    Nth(u32),
    /// Each matching request with this probability (0.0..=1.0), from the seeded generator.
    Rate(f64),
}

/// Runs against the repository before the request is handled ("another writer").
pub type WriterFn = Arc<dyn Fn(&GitRepo, &str) + Send + Sync>;

/// Rewrites a request body before it is handled (whoever stands between the guest's
/// request and the repository: a proxy, a compromised server, a swapped temporary file).
pub type BodyFn = Arc<dyn Fn(&[u8]) -> Vec<u8> + Send + Sync>;

/// What a firing rule does.
#[derive(Clone)]
pub enum Action {
    /// Answer this status (5xx) with the body GitHub's front end sends for it.
    Status(u16),
    /// Close the connection without answering; the request is not handled.
    Drop,
    /// Handle the request (a ref may move, a commit land), then close without answering:
    /// the answer is lost on the way back.
    LoseAnswer,
    /// Accept, read the request, never answer; close after this long.
    Hang(Duration),
    /// Use up the token's primary limit until now + `reset_in`; this and every later request
    /// of the token is refused with `status` (403 or 429) until then.
    PrimaryLimit { status: u16, reset_in: Duration },
    /// Answer `status` (403 or 429) with GitHub's secondary-limit message and `retry-after`.
    SecondaryLimit { status: u16, retry_after: Option<u64> },
    /// Run this with the repository and the request path, then handle the request normally.
    Before(WriterFn),
    /// Run this with the repository and the request path, then do the other action (e.g. a
    /// force-push while the client is told to wait out a rate limit).
    BeforeThen(WriterFn, Box<Action>),
    /// Refuse as a ruleset or branch protection does: 422 "Repository rule violations
    /// found", not a lost race (GitHub's answer to a ref update a rule forbids).
    RuleViolation,
    /// Handle the request with this body instead of the one sent; the answer is honest
    /// about what was done (e.g. the SHA of a tree that holds other content).
    RewriteBody(BodyFn),
}

impl fmt::Debug for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::Status(s) => write!(f, "Status({s})"),
            Action::Drop => f.write_str("Drop"),
            Action::LoseAnswer => f.write_str("LoseAnswer"),
            Action::Hang(d) => write!(f, "Hang({d:?})"),
            Action::PrimaryLimit { status, reset_in } => write!(f, "PrimaryLimit({status}, {reset_in:?})"),
            Action::SecondaryLimit { status, retry_after } => write!(f, "SecondaryLimit({status}, {retry_after:?})"),
            Action::Before(_) => f.write_str("Before(..)"),
            Action::BeforeThen(_, then) => write!(f, "BeforeThen(.., {then:?})"),
            Action::RuleViolation => f.write_str("RuleViolation"),
            Action::RewriteBody(_) => f.write_str("RewriteBody(..)"),
        }
    }
}

/// One fault: a match, a trigger and an action, with its counters.
#[derive(Clone, Debug)]
pub struct Rule {
    pub matcher: Match,
    pub when: When,
    pub action: Action,
    /// Matching requests seen so far.
    pub seen: u32,
    /// Times this rule fired.
    pub fired: u32,
}

impl Rule {
    pub fn new(matcher: Match, when: When, action: Action) -> Rule {
        Rule { matcher, when, action, seen: 0, fired: 0 }
    }

    /// Before the Nth ref update (`PATCH .../git/refs/...`), another writer commits a new
    /// file to that branch directly in the repository, so the compare-and-swap really fails.
    pub fn another_writer(nth: u32) -> Rule {
        Rule::new(Match::method("PATCH").and_path("/git/refs/heads/"), When::Nth(nth), Action::Before(outside_commit()))
    }

    /// Like [`Rule::another_writer`], on every ref update with probability `rate`.
    pub fn another_writer_at_rate(rate: f64) -> Rule {
        Rule::new(
            Match::method("PATCH").and_path("/git/refs/heads/"),
            When::Rate(rate),
            Action::Before(outside_commit()),
        )
    }
}

impl Rule {
    /// Every ref update is refused by a ruleset ("Changes must be made through a pull request").
    pub fn protected_branch() -> Rule {
        Rule::new(Match::method("PATCH").and_path("/git/refs/heads/"), When::Always, Action::RuleViolation)
    }

    /// At the Nth commit creation, `branch` is force-pushed back to its head's first parent
    /// (somebody removes a bad commit) and the client is told to wait `retry_after` seconds
    /// (a secondary rate limit): the window in which a fast-forward-only ref update of a
    /// commit built on the removed one would bring it back.
    pub fn force_push_back_during_a_wait(branch: &str, nth: u32, retry_after: u64) -> Rule {
        let wait = Action::SecondaryLimit { status: 403, retry_after: Some(retry_after) };
        Rule::new(
            Match::method("POST").and_path("/git/commits"),
            When::Nth(nth),
            Action::BeforeThen(force_push_back(branch), Box::new(wait)),
        )
    }
}

impl Rule {
    /// Every `POST git/trees` stores other text than it was sent for its first inline file:
    /// the tree the client gets back does not hold the blob it computed.
    pub fn tampered_tree() -> Rule {
        Rule::new(
            Match::method("POST").and_path("/git/trees"),
            When::Always,
            Action::RewriteBody(tamper_first_content()),
        )
    }
}

/// Appends a line to the `content` of the first `tree[]` entry that has one.
pub fn tamper_first_content() -> BodyFn {
    Arc::new(|body: &[u8]| {
        let Ok(mut json) = serde_json::from_slice::<serde_json::Value>(body) else { return body.to_vec() };
        let entries = json.get_mut("tree").and_then(|t| t.as_array_mut());
        if let Some(entry) = entries.and_then(|t| t.iter_mut().find(|e| e["content"].is_string())) {
            let text = format!("{}# injected: vlan: 666\n", entry["content"].as_str().unwrap_or_default());
            entry["content"] = serde_json::Value::String(text);
        }
        serde_json::to_vec(&json).unwrap_or_else(|_| body.to_vec())
    })
}

/// Moves `branch` back to its head's first parent with a forced update, as
/// `git push --force origin <branch>~1:<branch>` would.
pub fn force_push_back(branch: &str) -> WriterFn {
    let branch = branch.to_string();
    Arc::new(move |repo: &GitRepo, _path: &str| {
        let full = format!("refs/heads/{branch}");
        if let Ok(parent) = repo.git(&["rev-parse", "--verify", &format!("{full}~1")]) {
            let _ = repo.git(&["update-ref", "-m", "force-push back", &full, parent.trim()]);
        }
    })
}

/// Commits `outside/writer-<n>.txt` to the branch the request path names.
pub fn outside_commit() -> WriterFn {
    let counter = Arc::new(std::sync::atomic::AtomicU64::new(0));
    Arc::new(move |repo: &GitRepo, path: &str| {
        let Some(branch) = branch_of(path) else { return };
        let n = counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
        let file = format!("outside/writer-{n}.txt");
        let text = format!("written by another writer, #{n}\n");
        // Lost races are pushed again, as a person would; a lasting failure (e.g. the branch
        // is gone) leaves the request to go on unraced.
        for _ in 0..5 {
            if repo.commit_files(&branch, &[(&file, Some(&text))], &format!("Outside edit #{n}")).is_ok() {
                break;
            }
        }
    })
}

/// `heads/<branch>` of `/repos/o/r/git/refs/heads/<branch>` or `.../contents/...?ref=`.
pub fn branch_of(path: &str) -> Option<String> {
    let path = path.split('?').next().unwrap_or(path);
    let branch = path.split_once("/git/refs/heads/")?.1;
    super::client::percent_decode(branch)
}

/// Everything injected into a stand-in; replace it at any time with `standin.faults().set(..)`.
#[derive(Clone, Debug, Default)]
pub struct Faults {
    /// Added before every answer (and before dropping or hanging).
    pub latency: Duration,
    /// Checked in order; the first rule that fires decides.
    pub rules: Vec<Rule>,
    /// Seed of the generator behind `When::Rate`.
    pub seed: u64,
}

impl Faults {
    pub fn latency(mut self, latency: Duration) -> Faults {
        self.latency = latency;
        self
    }
    pub fn rule(mut self, rule: Rule) -> Faults {
        self.rules.push(rule);
        self
    }
    pub fn seed(mut self, seed: u64) -> Faults {
        self.seed = seed;
        self
    }
}

/// The configuration in force and the generator.
#[derive(Debug, Default)]
pub struct FaultState {
    pub faults: Faults,
    rng: SplitMix64,
}

impl FaultState {
    pub fn set(&mut self, faults: Faults) {
        self.rng = SplitMix64(faults.seed);
        self.faults = faults;
    }

    /// The action for one request, if a rule fires; every matching rule counts the request.
    pub fn decide(&mut self, method: &str, path: &str) -> Option<Action> {
        let mut decided = None;
        for rule in &mut self.faults.rules {
            if !rule.matcher.matches(method, path) {
                continue;
            }
            rule.seen += 1;
            let fires = match rule.when {
                When::Always => true,
                When::Next(n) => rule.fired < n,
                When::Nth(n) => rule.seen == n,
                When::Rate(p) => self.rng.next_f64() < p,
            };
            if fires && decided.is_none() {
                rule.fired += 1;
                decided = Some(rule.action.clone());
            }
        }
        decided
    }
}

/// splitmix64 (Steele, Lea, Flood 2014): tiny, fast, good enough for fault rates.
#[derive(Clone, Debug, Default)]
pub struct SplitMix64(pub u64);

impl SplitMix64 {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix_matches_the_reference_values() {
        // Vigna's splitmix64.c from state 0.
        let mut r = SplitMix64(0);
        assert_eq!(r.next_u64(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(r.next_u64(), 0x6E78_9E6A_A1B9_65F4);
    }

    #[test]
    fn triggers_count_matching_requests_only() {
        let mut s = FaultState::default();
        s.set(Faults::default().rule(Rule::new(Match::method("PATCH"), When::Nth(2), Action::Drop)).rule(Rule::new(
            Match::path("/git/trees"),
            When::Next(1),
            Action::Status(502),
        )));
        assert!(s.decide("GET", "/repos/o/r/git/ref/heads/main").is_none());
        assert!(matches!(s.decide("POST", "/repos/o/r/git/trees"), Some(Action::Status(502))));
        assert!(s.decide("POST", "/repos/o/r/git/trees").is_none());
        assert!(s.decide("PATCH", "/repos/o/r/git/refs/heads/main").is_none());
        assert!(matches!(s.decide("PATCH", "/repos/o/r/git/refs/heads/main"), Some(Action::Drop)));
        assert!(s.decide("PATCH", "/repos/o/r/git/refs/heads/main").is_none());
    }

    #[test]
    fn rates_are_seeded_and_roughly_right() {
        let run = |seed| {
            let mut s = FaultState::default();
            s.set(Faults::default().seed(seed).rule(Rule::new(Match::any(), When::Rate(0.1), Action::Drop)));
            (0..10_000).filter(|_| s.decide("GET", "/x").is_some()).count()
        };
        assert_eq!(run(7), run(7));
        assert!((800..1200).contains(&run(7)), "{}", run(7));
    }

    #[test]
    fn branch_names_come_from_ref_paths() {
        assert_eq!(branch_of("/repos/o/r/git/refs/heads/main").as_deref(), Some("main"));
        assert_eq!(branch_of("/repos/o/r/git/refs/heads/release/v1%2Ex").as_deref(), Some("release/v1.x"));
        assert_eq!(branch_of("/repos/o/r/git/trees"), None);
    }
}
