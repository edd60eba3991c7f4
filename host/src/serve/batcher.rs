//! The per-fabric coalescing queue, as a pure state machine over explicit instants: which
//! CRs wait, and when they are due as one `sync` of their `selection`.
//!
//! A batch opens with its first event and is due once events have paused for the window
//! (a GUI bulk edit sends one webhook per object, in a burst), but never later than
//! [`MAX_DELAY_WINDOWS`] windows after it opened, so a steady trickle still lands. A CR
//! named twice is one entry. A failed batch comes back with a hold (its retry backoff):
//! events arriving meanwhile join it and wait with it.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::wit::{RefKey, ResourceRef};

/// A batch is due at most this many windows after its first event.
pub const MAX_DELAY_WINDOWS: u32 = 5;

/// CRs taken out of the queue to sync together.
#[derive(Clone, Debug, PartialEq)]
pub struct Batch {
    /// Deduplicated, in a stable order (kind, namespace, name).
    pub refs: Vec<ResourceRef>,
    /// 0 for fresh events; n after n failed syncs of (some of) these CRs.
    pub failures: u32,
}

#[derive(Debug)]
pub struct Batcher {
    window: Duration,
    pending: BTreeMap<RefKey, ResourceRef>,
    first: Option<Instant>,
    last: Option<Instant>,
    /// Not due before this (a retry backoff).
    hold: Option<Instant>,
    failures: u32,
}

impl Batcher {
    pub fn new(window: Duration) -> Batcher {
        Batcher { window, pending: BTreeMap::new(), first: None, last: None, hold: None, failures: 0 }
    }

    /// Adds a CR; false when it was already waiting (the batch is still extended).
    pub fn push(&mut self, reference: ResourceRef, now: Instant) -> bool {
        self.first.get_or_insert(now);
        self.last = Some(now);
        self.pending.insert(reference.key(), reference).is_none()
    }

    /// Distinct CRs waiting.
    pub fn len(&self) -> usize {
        self.pending.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    /// When the waiting CRs are due; `None` when nothing waits.
    pub fn due_at(&self) -> Option<Instant> {
        let (first, last) = (self.first?, self.last?);
        let quiet = last + self.window;
        let cap = first + self.window * MAX_DELAY_WINDOWS;
        let due = quiet.min(cap);
        Some(self.hold.map_or(due, |hold| due.max(hold)))
    }

    /// The batch, if it is due at `now`.
    pub fn take_due(&mut self, now: Instant) -> Option<Batch> {
        if self.due_at()? <= now {
            self.take_all()
        } else {
            None
        }
    }

    /// Everything waiting, due or not (shutdown).
    pub fn take_all(&mut self) -> Option<Batch> {
        if self.pending.is_empty() {
            return None;
        }
        let refs = std::mem::take(&mut self.pending).into_values().collect();
        let batch = Batch { refs, failures: self.failures };
        self.first = None;
        self.last = None;
        self.hold = None;
        self.failures = 0;
        Some(batch)
    }

    /// Puts a failed batch back, due no earlier than `now + backoff`. CRs that arrived while
    /// it ran join it; the count of failures is the batch's.
    pub fn retry(&mut self, batch: Batch, now: Instant, backoff: Duration) {
        if batch.refs.is_empty() {
            return;
        }
        for reference in batch.refs {
            self.pending.entry(reference.key()).or_insert(reference);
        }
        self.first = Some(self.first.map_or(now, |first| first.min(now)));
        self.last = Some(self.last.map_or(now, |last| last.max(now)));
        let hold = now + backoff;
        self.hold = Some(self.hold.map_or(hold, |h| h.max(hold)));
        self.failures = self.failures.max(batch.failures + 1);
    }
}

/// The wait before retry `failures` (1-based): 1 s, 2 s, 4 s, ... at most `max`.
pub fn backoff(failures: u32, max: Duration) -> Duration {
    let exponent = failures.saturating_sub(1).min(16);
    Duration::from_secs(1u64 << exponent).min(max)
}

#[cfg(test)]
mod tests {
    use super::*;

    const WINDOW: Duration = Duration::from_millis(100);

    fn vpc(name: &str) -> ResourceRef {
        ResourceRef { kind: "VPC".into(), namespace: "default".into(), name: name.into() }
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn a_single_event_is_due_one_window_later() {
        let t0 = Instant::now();
        let mut batcher = Batcher::new(WINDOW);
        assert_eq!(batcher.due_at(), None);
        assert!(batcher.push(vpc("a"), t0));
        assert_eq!(batcher.due_at(), Some(t0 + WINDOW));
        assert_eq!(batcher.take_due(t0 + ms(99)), None);
        let batch = batcher.take_due(t0 + WINDOW).expect("due");
        assert_eq!(batch, Batch { refs: vec![vpc("a")], failures: 0 });
        assert!(batcher.is_empty());
        assert_eq!(batcher.due_at(), None);
    }

    #[test]
    fn a_burst_is_one_deduplicated_batch() {
        let t0 = Instant::now();
        let mut batcher = Batcher::new(WINDOW);
        for i in 0..500u64 {
            // Duplicate deliveries and an empty namespace are the same CR.
            batcher.push(vpc(&format!("vpc-{:03}", i % 250)), t0 + ms(i / 10));
        }
        assert!(!batcher.push(ResourceRef { namespace: String::new(), ..vpc("vpc-000") }, t0 + ms(50)));
        assert_eq!(batcher.len(), 250);
        assert_eq!(batcher.due_at(), Some(t0 + ms(50) + WINDOW));
        let batch = batcher.take_all().expect("batch");
        assert_eq!(batch.refs.len(), 250);
        assert!(batch.refs.windows(2).all(|w| w[0].key() < w[1].key()));
    }

    #[test]
    fn a_steady_trickle_is_cut_after_the_cap() {
        let t0 = Instant::now();
        let mut batcher = Batcher::new(WINDOW);
        for i in 0..100u64 {
            batcher.push(vpc(&format!("v{i}")), t0 + ms(i * 50));
        }
        assert_eq!(batcher.due_at(), Some(t0 + WINDOW * MAX_DELAY_WINDOWS));
    }

    #[test]
    fn a_failed_batch_waits_out_its_backoff_with_newcomers() {
        let t0 = Instant::now();
        let mut batcher = Batcher::new(WINDOW);
        batcher.push(vpc("a"), t0);
        let batch = batcher.take_due(t0 + WINDOW).expect("due");
        // While it ran, another event arrived.
        batcher.push(vpc("b"), t0 + ms(150));
        batcher.retry(batch, t0 + ms(200), Duration::from_secs(1));
        assert_eq!(batcher.due_at(), Some(t0 + ms(1200)));
        assert_eq!(batcher.take_due(t0 + ms(1199)), None);
        let retried = batcher.take_due(t0 + ms(1200)).expect("due");
        assert_eq!(retried, Batch { refs: vec![vpc("a"), vpc("b")], failures: 1 });
        batcher.retry(retried, t0 + ms(1300), Duration::from_secs(2));
        assert_eq!(batcher.take_all().map(|b| b.failures), Some(2));
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let max = Duration::from_secs(60);
        let waits: Vec<u64> = (1..=8).map(|n| backoff(n, max).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 60, 60]);
        assert_eq!(backoff(u32::MAX, max), max);
    }
}
