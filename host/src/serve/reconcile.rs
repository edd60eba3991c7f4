//! When a fabric's periodic full reconcile (a `sync` of the whole fabric) runs. NetBox delivers webhooks at
//! most once, so a lost one is repaired here: once at start (events missed while the service
//! was down), then one interval after the previous reconcile ended.
//!
//! The reconcile is also the pull: it syncs with the fabric's direction, so a GitHub push that
//! touches the fabric's directory asks for one at once (`worker::Queue::ask_reconcile`). That
//! run is the same sync, and the next periodic one counts from its end ([`Schedule::done`]).

use std::time::{Duration, Instant};

#[derive(Clone, Debug)]
pub struct Schedule {
    interval: Option<Duration>,
    next: Option<Instant>,
}

impl Schedule {
    /// `interval` `None` (or zero): never. Otherwise the first run is at `first`.
    pub fn new(interval: Option<Duration>, first: Instant) -> Schedule {
        let interval = interval.filter(|i| !i.is_zero());
        Schedule { interval, next: interval.map(|_| first) }
    }

    /// When the next reconcile is due; `None` when reconciling is off.
    pub fn next(&self) -> Option<Instant> {
        self.next
    }

    pub fn is_due(&self, now: Instant) -> bool {
        self.next.is_some_and(|next| next <= now)
    }

    /// A reconcile ended at `now`.
    pub fn done(&mut self, now: Instant) {
        self.next = self.interval.map(|interval| now + interval);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn off() {
        let now = Instant::now();
        for interval in [None, Some(Duration::ZERO)] {
            let mut schedule = Schedule::new(interval, now);
            assert_eq!(schedule.next(), None);
            assert!(!schedule.is_due(now + Duration::from_secs(3600)));
            schedule.done(now);
            assert_eq!(schedule.next(), None);
        }
    }

    #[test]
    fn first_at_start_then_an_interval_after_each_run() {
        let t0 = Instant::now();
        let interval = Duration::from_secs(300);
        let mut schedule = Schedule::new(Some(interval), t0);
        assert!(schedule.is_due(t0));
        // A run that took 20 s: the next is 300 s after it ended.
        schedule.done(t0 + Duration::from_secs(20));
        assert_eq!(schedule.next(), Some(t0 + Duration::from_secs(320)));
        assert!(!schedule.is_due(t0 + Duration::from_secs(319)));
        assert!(schedule.is_due(t0 + Duration::from_secs(320)));
    }
}
