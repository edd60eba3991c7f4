//! Seeded cassette mutations: status codes, bodies (cut, replaced, JSON values changed),
//! headers (rate limits, retry-after, none), truncation, reordering, duplication, transport
//! errors, failing or changed `hnp` answers, and the player's mode. Same seed, same mutations.

use fgd_sync::replay::cassette::{Body, Event, HnpExchange, HttpAnswer, HttpResponse, TransportError};
use fgd_sync::replay::Cassette;
use serde_json::Value;

use crate::player::Mode;

/// SplitMix64: tiny, fast, and the same on every platform.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// In `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    pub fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

const STATUSES: [u16; 16] = [200, 201, 204, 301, 304, 400, 401, 403, 404, 409, 410, 422, 429, 500, 502, 503];
const ERRORS: [TransportError; 3] =
    [TransportError::ConnectionRefused, TransportError::ConnectionTimeout, TransportError::HttpResponseTimeout];

/// A mutated copy of `seed`, the player mode to play it in, and what was done (for reports).
pub fn mutate(seed: &Cassette, rng: &mut Rng) -> (Cassette, Mode, Vec<String>) {
    let mut cassette = seed.clone();
    let mut mode = if rng.chance(50) { Mode::Matched } else { Mode::Ordered };
    let mut done = Vec::new();
    for _ in 0..1 + rng.below(4) {
        done.push(mutate_once(&mut cassette, &mut mode, rng));
    }
    (cassette, mode, done)
}

fn http_indices(c: &Cassette) -> Vec<usize> {
    (0..c.events.len()).filter(|&i| matches!(c.events[i], Event::Http(_))).collect()
}

fn response_mut(c: &mut Cassette, i: usize) -> Option<&mut HttpResponse> {
    match &mut c.events[i] {
        Event::Http(e) => match &mut e.answer {
            HttpAnswer::Response(r) => Some(r),
            HttpAnswer::Error(_) => None,
        },
        _ => None,
    }
}

fn mutate_once(c: &mut Cassette, mode: &mut Mode, rng: &mut Rng) -> String {
    let http = http_indices(c);
    if http.is_empty() {
        return "nothing to mutate".into();
    }
    let i = *rng.pick(&http);
    let now = now_secs(c);
    match rng.below(11) {
        0 => {
            let status = *rng.pick(&STATUSES);
            if let Some(r) = response_mut(c, i) {
                r.status = status;
            }
            format!("event {i}: status {status}")
        }
        1 => {
            let what = mutate_body(response_mut(c, i), rng);
            format!("event {i}: body {what}")
        }
        2 => {
            let (name, value) = match rng.below(4) {
                0 => ("x-ratelimit-remaining", "0".to_string()),
                1 => ("x-ratelimit-reset", (now + rng.below(900) as u64).to_string()),
                2 => ("retry-after", rng.below(120).to_string()),
                _ => ("content-type", "text/html".to_string()),
            };
            if let Some(r) = response_mut(c, i) {
                r.headers.retain(|(n, _)| n != name);
                r.headers.push((name.to_string(), value.clone()));
                if name == "x-ratelimit-remaining" && rng.chance(70) {
                    r.headers.push(("x-ratelimit-reset".into(), (now + rng.below(900) as u64).to_string()));
                }
            }
            format!("event {i}: header {name}: {value}")
        }
        3 => {
            if let Some(r) = response_mut(c, i) {
                r.headers.clear();
            }
            format!("event {i}: no headers")
        }
        4 => {
            c.events.truncate(i);
            format!("truncated at event {i}")
        }
        5 => {
            let j = *rng.pick(&http);
            c.events.swap(i, j);
            format!("swapped events {i} and {j}")
        }
        6 => {
            let copy = c.events[i].clone();
            let at = *rng.pick(&http);
            c.events.insert(at, copy);
            format!("event {i} duplicated at {at}")
        }
        7 => {
            let error = rng.pick(&ERRORS).clone();
            if let Event::Http(e) = &mut c.events[i] {
                e.answer = HttpAnswer::Error(error.clone());
            }
            format!("event {i}: transport error {error:?}")
        }
        8 => mutate_hnp(c, rng),
        9 => {
            *mode = if *mode == Mode::Ordered { Mode::Matched } else { Mode::Ordered };
            format!("mode {mode:?}")
        }
        _ => {
            let status = *rng.pick(&[409u16, 422]);
            let message = rng.pick(&[
                "Update is not a fast forward",
                "is at 0000000 but expected 1111111",
                "sha wasn't supplied",
            ]);
            if let Some(r) = response_mut(c, i) {
                r.status = status;
                r.body = Body::Text(format!(r#"{{"message":"{message}"}}"#));
            }
            format!("event {i}: refused {status} {message}")
        }
    }
}

fn now_secs(c: &Cassette) -> u64 {
    c.events
        .iter()
        .find_map(|e| match e {
            Event::WallClock { secs, .. } => Some(*secs),
            _ => None,
        })
        .unwrap_or(1_767_225_600)
}

fn mutate_body(response: Option<&mut HttpResponse>, rng: &mut Rng) -> String {
    let Some(response) = response else { return "(a transport error: unchanged)".into() };
    let bytes = response.body.to_bytes();
    match rng.below(6) {
        0 => {
            let at = if bytes.is_empty() { 0 } else { rng.below(bytes.len()) };
            response.body = Body::from_bytes(&bytes[..at]);
            format!("cut at {at}")
        }
        1 => {
            let text = *rng.pick(&["", "{}", "[]", "null", "\"text\"", "42", "{\"message\":\"Server Error\"}"]);
            response.body = Body::from_bytes(text.as_bytes());
            format!("replaced by {text:?}")
        }
        2 => {
            let garbage: Vec<u8> = (0..rng.below(64)).map(|_| rng.next() as u8).collect();
            response.body = Body::from_bytes(&garbage);
            format!("{} random bytes", garbage.len())
        }
        _ => match serde_json::from_slice::<Value>(&bytes) {
            Ok(mut json) => {
                let what = mutate_json(&mut json, rng);
                response.body = Body::Text(json.to_string());
                what
            }
            Err(_) => "not JSON: unchanged".into(),
        },
    }
}

/// Changes one value somewhere in the document: another type, a flipped SHA character, a
/// removed key, or `truncated: true`.
fn mutate_json(json: &mut Value, rng: &mut Rng) -> String {
    let mut paths = Vec::new();
    collect_paths(json, String::new(), &mut paths);
    if paths.is_empty() || rng.chance(10) {
        if let Value::Object(map) = json {
            map.insert("truncated".into(), Value::Bool(true));
            return "truncated: true".into();
        }
        return "scalar JSON: unchanged".into();
    }
    let path = rng.pick(&paths).clone();
    let Some(value) = json.pointer_mut(&path) else { return "unchanged".into() };
    let replacement = match (value.clone(), rng.below(5)) {
        (Value::String(s), 0) if !s.is_empty() => {
            let mut chars: Vec<char> = s.chars().collect();
            let k = rng.below(chars.len());
            chars[k] = if chars[k] == '0' { '1' } else { '0' };
            Value::String(chars.into_iter().collect())
        }
        (_, 1) => Value::Null,
        (_, 2) => Value::from(rng.below(1000)),
        (_, 3) => Value::String(String::new()),
        _ => Value::Array(Vec::new()),
    };
    *value = replacement.clone();
    format!("{path} = {replacement}")
}

fn collect_paths(value: &Value, at: String, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let p = format!("{at}/{}", k.replace('~', "~0").replace('/', "~1"));
                out.push(p.clone());
                collect_paths(v, p, out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate().take(32) {
                let p = format!("{at}/{i}");
                out.push(p.clone());
                collect_paths(v, p, out);
            }
        }
        _ => {}
    }
}

fn mutate_hnp(c: &mut Cassette, rng: &mut Rng) -> String {
    let hnp: Vec<usize> = (0..c.events.len()).filter(|&i| matches!(c.events[i], Event::Hnp(_))).collect();
    if hnp.is_empty() {
        return "no hnp calls".into();
    }
    let i = *rng.pick(&hnp);
    let Event::Hnp(exchange) = &mut c.events[i] else { unreachable!("filtered") };
    match (exchange, rng.below(3)) {
        (HnpExchange::List { answer, .. }, 0) | (HnpExchange::List { answer, .. }, 1) => match answer {
            Ok(list) if !list.is_empty() && rng.chance(50) => {
                let k = rng.below(list.len());
                list.remove(k);
                format!("hnp event {i}: CR {k} gone")
            }
            Ok(list) if !list.is_empty() => {
                let k = rng.below(list.len());
                list[k].spec = rng.pick(&["{", "[]", "{\"changed\": true}", ""]).to_string();
                format!("hnp event {i}: CR {k} spec changed")
            }
            _ => {
                *answer = Err("HNP is unavailable".into());
                format!("hnp event {i}: list fails")
            }
        },
        (HnpExchange::List { answer, .. }, _) => {
            *answer = Err("HNP is unavailable".into());
            format!("hnp event {i}: list fails")
        }
        (HnpExchange::Get { answer, .. }, _) => {
            *answer = if rng.chance(50) { Ok(None) } else { Err("HNP is unavailable".into()) };
            format!("hnp event {i}: get answers {answer:?}")
        }
        (HnpExchange::Apply { answer, .. }, _) => {
            *answer = match answer {
                Ok(answers) if !answers.is_empty() && rng.chance(50) => {
                    let mut refused = answers.clone();
                    let k = rng.below(refused.len());
                    refused[k] = Some("400 {\"spec\": [\"refused\"]}".into());
                    Ok(refused)
                }
                _ => Err("NetBox answered 502".into()),
            };
            format!("hnp event {i}: apply answers {answer:?}")
        }
        (HnpExchange::Record { answer, .. }, _) => {
            *answer = Err("HNP refused the update".into());
            format!("hnp event {i}: record fails")
        }
    }
}
