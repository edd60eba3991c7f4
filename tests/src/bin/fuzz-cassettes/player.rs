//! A lenient cassette player: answers whatever the guest asks from a (mutated) cassette,
//! deterministically, and logs every request. The component (through `fgd_sync::replay`) and
//! the native engine (through `native`) each get a fresh player of the same cassette, so they
//! see exactly the same answers for the same requests.

use std::sync::Mutex;
use std::time::Duration;

use fgd_sync::replay::cassette::{Body, Event, HnpExchange, HttpAnswer, HttpRequest, HttpResponse, TransportError};
use fgd_sync::replay::{Cassette, Script};
use fgd_sync::source::Synced;
use fgd_sync::wit::{CustomResource, HnpChange, ResourceRef};

/// Requests after which every answer is "connection refused", so a run always ends.
pub const MAX_REQUESTS: usize = 400;
/// 2026-01-01T00:00:00Z, for cassettes that never read the clock.
const DEFAULT_NOW_SECS: u64 = 1_767_225_600;

/// How requests find their answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// The n-th request gets the n-th recorded answer, whatever it asked: reordering and
    /// truncating the cassette then hand the guest answers to other questions.
    Ordered,
    /// The first unused exchange with the same method and URL; then the last used one again;
    /// else a 404.
    Matched,
}

/// One request as the guest made it, for the invariant checks and the native/component diff.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Logged {
    pub method: String,
    pub url: String,
    pub body: Vec<u8>,
    /// The status it got; `None` for a transport error.
    pub status: Option<u16>,
}

pub struct Player {
    http: Vec<(HttpRequest, HttpAnswer)>,
    hnp: Vec<HnpExchange>,
    mode: Mode,
    now: Duration,
    pool: Vec<u8>,
    state: Mutex<PlayState>,
}

#[derive(Default)]
struct PlayState {
    next: usize,
    used: Vec<bool>,
    log: Vec<Logged>,
}

impl Player {
    pub fn new(cassette: &Cassette, mode: Mode) -> Player {
        let mut http = Vec::new();
        let mut hnp = Vec::new();
        let mut now = None;
        for event in &cassette.events {
            match event {
                Event::Http(e) => http.push((e.request.clone(), e.answer.clone())),
                Event::Hnp(e) => hnp.push(e.clone()),
                Event::WallClock { secs, nanos } => {
                    now.get_or_insert(Duration::new(*secs, *nanos));
                }
                Event::MonotonicClock(_) => {}
            }
        }
        let used = vec![false; http.len()];
        Player {
            http,
            hnp,
            mode,
            now: now.unwrap_or(Duration::from_secs(DEFAULT_NOW_SECS)),
            pool: cassette.random_pool().unwrap_or_else(|_| vec![0]),
            state: Mutex::new(PlayState { used, ..PlayState::default() }),
        }
    }

    pub fn log(&self) -> Vec<Logged> {
        self.lock().log.clone()
    }

    /// The clock the player hands out (constant: a replay never waits).
    pub fn now(&self) -> Duration {
        self.now
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, PlayState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn answer(&self, state: &mut PlayState, request: &HttpRequest) -> HttpAnswer {
        if state.log.len() > MAX_REQUESTS {
            return HttpAnswer::Error(TransportError::ConnectionRefused);
        }
        match self.mode {
            Mode::Ordered => {
                let answer = self.http.get(state.next).map(|(_, a)| a.clone());
                state.next += 1;
                answer.unwrap_or(HttpAnswer::Error(TransportError::ConnectionRefused))
            }
            Mode::Matched => {
                let same = |r: &HttpRequest| r.method == request.method && r.url == request.url;
                if let Some(i) = (0..self.http.len()).find(|&i| !state.used[i] && same(&self.http[i].0)) {
                    state.used[i] = true;
                    return self.http[i].1.clone();
                }
                if let Some(i) = (0..self.http.len()).rev().find(|&i| state.used[i] && same(&self.http[i].0)) {
                    return self.http[i].1.clone();
                }
                HttpAnswer::Response(HttpResponse {
                    status: 404,
                    headers: vec![("content-type".into(), "application/json; charset=utf-8".into())],
                    body: Body::Text(
                        r#"{"message":"Not Found","documentation_url":"https://docs.github.com/rest"}"#.into(),
                    ),
                })
            }
        }
    }
}

impl Script for Player {
    fn http(&self, request: &HttpRequest) -> HttpAnswer {
        let mut state = self.lock();
        let answer = self.answer(&mut state, request);
        let status = match &answer {
            HttpAnswer::Response(r) => Some(r.status),
            HttpAnswer::Error(_) => None,
        };
        state.log.push(Logged {
            method: request.method.clone(),
            url: request.url.clone(),
            body: request.body.to_bytes(),
            status,
        });
        answer
    }

    fn list(&self, _fabric: &str) -> Result<Vec<CustomResource>, String> {
        self.hnp
            .iter()
            .find_map(|e| match e {
                HnpExchange::List { answer, .. } => Some(answer.clone()),
                _ => None,
            })
            .unwrap_or(Ok(Vec::new()))
    }

    fn get(&self, _fabric: &str, reference: &ResourceRef) -> Result<Option<CustomResource>, String> {
        self.hnp
            .iter()
            .find_map(|e| match e {
                HnpExchange::Get { reference: r, answer, .. } if r == reference => Some(answer.clone()),
                _ => None,
            })
            .unwrap_or(Ok(None))
    }

    fn apply(&self, _fabric: &str, changes: &[HnpChange]) -> Result<Vec<Option<String>>, String> {
        self.hnp
            .iter()
            .find_map(|e| match e {
                HnpExchange::Apply { changes: c, answer, .. } if c == changes => Some(answer.clone()),
                _ => None,
            })
            .unwrap_or_else(|| Ok(vec![None; changes.len()]))
    }

    fn record(&self, _fabric: &str, synced: &[Synced]) -> Result<(), String> {
        self.hnp
            .iter()
            .find_map(|e| match e {
                HnpExchange::Record { entries, answer, .. } if entries == synced => Some(answer.clone()),
                _ => None,
            })
            .unwrap_or(Ok(()))
    }

    fn wall_clock(&self) -> Duration {
        self.now
    }

    fn monotonic_clock(&self) -> u64 {
        0
    }

    fn random_pool(&self) -> Vec<u8> {
        self.pool.clone()
    }
}
