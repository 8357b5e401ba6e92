//! A writer on its own connection that runs numbered rounds until stopped, so that tests can
//! write while redtail follows, kill it, and know exactly what was written.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::follow::WITHIN;

pub struct BackgroundWriter {
    stop: Arc<AtomicBool>,
    done: Arc<AtomicU64>,
    thread: JoinHandle<u64>,
}

impl BackgroundWriter {
    /// Runs `round(client, i)` for i = 0, 1, ... on a new connection to `port`.
    pub fn start(port: u16, mut round: impl FnMut(&mut testkit::Client, u64) + Send + 'static) -> BackgroundWriter {
        let stop = Arc::new(AtomicBool::new(false));
        let done = Arc::new(AtomicU64::new(0));
        let (flag, count) = (stop.clone(), done.clone());
        let thread = std::thread::spawn(move || {
            let mut client = testkit::Client::connect(port).unwrap();
            for i in 0u64.. {
                round(&mut client, i);
                count.store(i + 1, Ordering::SeqCst);
                if flag.load(Ordering::SeqCst) {
                    return i;
                }
            }
            unreachable!()
        });
        BackgroundWriter { stop, done, thread }
    }

    /// Rounds completed so far.
    pub fn done(&self) -> u64 {
        self.done.load(Ordering::SeqCst)
    }

    /// Waits (bounded) until `rounds` rounds are done: writes made meanwhile, say while nobody
    /// follows or while a broker restarts.
    #[track_caller]
    pub fn wait_until_done(&self, rounds: u64) {
        let deadline = Instant::now() + WITHIN;
        while self.done() < rounds {
            assert!(Instant::now() < deadline, "the writer is stuck at round {} of {rounds}", self.done());
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Stops after the current round; returns the number of the last round.
    pub fn stop(self) -> u64 {
        self.stop.store(true, Ordering::SeqCst);
        self.thread.join().unwrap()
    }
}
