//! A one-line progress indicator on stderr for long operations: only on a terminal, only
//! after 250 ms (short runs stay quiet), cleared when done.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const DELAY: Duration = Duration::from_millis(250);
const FRAME: Duration = Duration::from_millis(100);

pub struct Progress {
    done: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Progress {
    /// `requests` is polled for the count of GitHub requests so far.
    pub fn start(label: String, requests: impl Fn() -> u32 + Send + 'static) -> Progress {
        let done = Arc::new(AtomicBool::new(false));
        if !std::io::stderr().is_terminal() {
            return Progress { done, thread: None };
        }
        let flag = done.clone();
        let thread = std::thread::spawn(move || {
            let started = Instant::now();
            let mut shown = false;
            while !flag.load(Ordering::Relaxed) {
                std::thread::sleep(FRAME);
                if started.elapsed() < DELAY {
                    continue;
                }
                shown = true;
                let n = requests();
                let _ = write!(
                    std::io::stderr(),
                    "\r{label}: {:.1}s, {n} GitHub requests\x1b[K",
                    started.elapsed().as_secs_f32()
                );
            }
            if shown {
                let _ = write!(std::io::stderr(), "\r\x1b[K");
            }
        });
        Progress { done, thread: Some(thread) }
    }

    pub fn finish(mut self) {
        self.done.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
