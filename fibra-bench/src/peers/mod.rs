//! The in-process runtimes under comparison, one file each (Go is a separate
//! program, see `go.rs`). To add a runtime, add a file implementing
//! [`Peer`] and list it in [`NAMES`] and [`by_name`].
//!
//! Also here: [`Gate`] and [`Tally`], the two helpers every runtime's
//! memory, blocked-rss and chained workloads share, and the blocked-rss
//! workload's shape, [`block_on_channels`].

mod fibra;
pub mod go;
mod may;
mod rayon;
mod tokio;

use crate::workloads::Peer;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// The in-process runtimes, fibra first (the report's ratios are fibra's
/// median over each other runtime's).
pub const NAMES: [&str; 4] = ["fibra", "tokio", "rayon", "may"];

/// Builds the runtime `name` with `workers` worker threads.
pub fn by_name(name: &str, workers: usize) -> Option<Box<dyn Peer>> {
    Some(match name {
        "fibra" => Box::new(fibra::FibraPeer::new(workers)),
        "tokio" => Box::new(tokio::TokioPeer::new(workers)),
        "rayon" => Box::new(rayon::RayonPeer::new(workers)),
        "may" => Box::new(may::MayPeer::new(workers)),
        _ => return None,
    })
}

/// How long a waiter sleeps between looks at a counter or flag.
const POLL: Duration = Duration::from_micros(50);

/// Holds worker threads in tasks until released: the memory workload's way
/// of keeping every queued task from running. Every runtime runs one
/// [`Gate::hold`] task per worker; the caller waits for [`Gate::wait_held`]
/// before queueing, and calls [`Gate::release`] after measuring.
#[derive(Default)]
pub struct Gate {
    held: AtomicUsize,
    released: AtomicBool,
}

impl Gate {
    /// The body of a holding task: counts itself in, then blocks its thread
    /// (sleeping in short steps) until released.
    pub fn hold(&self) {
        self.held.fetch_add(1, Ordering::Relaxed);
        // Acquire: pairs with the Release store in `release`.
        while !self.released.load(Ordering::Acquire) {
            std::thread::sleep(POLL);
        }
    }

    /// Starts one holding task per worker with `spawn_holder`, one at a
    /// time: each is spawned only once the previous one holds its worker.
    /// Spawned all at once, two could land in one worker's queue while the
    /// other worker sleeps, and a worker blocked in `hold` never hands its
    /// queue on (seen with Tokio: the harness's own test hung so).
    pub fn hold_every_worker(self: &Arc<Gate>, workers: usize, mut spawn_holder: impl FnMut(Arc<Gate>)) {
        for held in 1..=workers {
            spawn_holder(self.clone());
            self.wait_held(held);
        }
    }

    /// Waits until `workers` holding tasks are running.
    pub fn wait_held(&self, workers: usize) {
        while self.held.load(Ordering::Relaxed) < workers {
            std::thread::sleep(POLL);
        }
    }

    /// Lets every holding task finish.
    pub fn release(&self) {
        // Release: pairs with the Acquire load in `hold`.
        self.released.store(true, Ordering::Release);
    }
}

/// The sum and count of finished tasks, waited for from outside.
#[derive(Default)]
pub struct Tally {
    sum: AtomicU64,
    done: AtomicU64,
}

impl Tally {
    /// Records one finished task that yielded `value`.
    pub fn add(&self, value: u64) {
        self.sum.fetch_add(value, Ordering::Relaxed);
        // Release: pairs with the Acquire load in `wait`, so the sum is
        // complete once the count is.
        self.done.fetch_add(1, Ordering::Release);
    }

    /// Waits until `n` tasks have finished and returns their sum.
    pub fn wait(&self, n: u64) -> u64 {
        // Acquire: pairs with the Release increment in `add`.
        while self.done.load(Ordering::Acquire) < n {
            std::thread::sleep(POLL);
        }
        self.sum.load(Ordering::Relaxed)
    }
}

/// The blocked-tasks workload ([`Peer::block_on_channels`]) around a
/// runtime's own spawn and channel: `spawn_blocked(started, finished)`
/// makes a channel, spawns a task that calls `started.add(1)`, receives one
/// value and adds it to `finished`, and returns the channel's sending end,
/// on which `send` sends.
pub fn block_on_channels<S>(
    n: u64,
    probe: &mut dyn FnMut(),
    mut spawn_blocked: impl FnMut(Arc<Tally>, Arc<Tally>) -> S,
    send: impl Fn(&S, u64),
) -> u64 {
    let (started, finished) = (Arc::new(Tally::default()), Arc::new(Tally::default()));
    let senders: Vec<S> = (0..n)
        .map(|_| spawn_blocked(started.clone(), finished.clone()))
        .collect();
    started.wait(n);
    probe();
    for (i, tx) in (0..n).zip(&senders) {
        send(tx, i);
    }
    finished.wait(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workloads::{Kind, Workload};

    /// Every workload on every in-process runtime, at tiny sizes.
    #[test]
    fn every_peer_gets_every_workload_right() {
        let tiny = [
            (Kind::SpawnInside, [0, 1, 1000]),
            (Kind::SpawnOutside, [0, 1, 1000]),
            (Kind::FibJoin, [0, 1, 15]),
            (Kind::FibSpawn, [1, 20, 24]),
            (Kind::SkynetSpawn, [1, 10, 1000]),
            (Kind::SkynetForkJoin, [1, 10, 1000]),
            (Kind::Chained, [1, 2, 1000]),
            (Kind::Memory, [0, 1, 1000]),
            (Kind::SkynetChan, [1, 10, 1000]),
            (Kind::BlockedRss, [0, 1, 1000]),
        ];
        for workers in [1, 2] {
            for name in NAMES {
                let peer = by_name(name, workers).unwrap();
                for (kind, sizes) in tiny {
                    for n in sizes {
                        let workload = Workload::new(kind, n);
                        if let Some(got) = workload.run(peer.as_ref()) {
                            assert_eq!(got, workload.expected(), "{} on {name}", workload.label());
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn which_peer_supports_what() {
        let supports = |kind: Kind, n: u64| {
            NAMES
                .map(|name| {
                    Workload::new(kind, n)
                        .run(by_name(name, 2).unwrap().as_ref())
                        .is_some()
                })
                .to_vec()
        };
        // fibra, tokio, rayon, may
        assert_eq!(supports(Kind::SpawnInside, 10), [true, true, true, true]);
        assert_eq!(supports(Kind::SpawnOutside, 10), [true, true, false, true]);
        assert_eq!(supports(Kind::FibJoin, 10), [true, false, true, false]);
        assert_eq!(supports(Kind::FibSpawn, 22), [true, true, true, true]);
        assert_eq!(supports(Kind::SkynetSpawn, 100), [true, true, false, true]);
        assert_eq!(supports(Kind::SkynetForkJoin, 100), [true, false, true, false]);
        assert_eq!(supports(Kind::Chained, 10), [true, true, true, true]);
        assert_eq!(supports(Kind::Memory, 10), [true, true, true, true]);
        assert_eq!(supports(Kind::SkynetChan, 100), [true, true, false, true]);
        assert_eq!(supports(Kind::BlockedRss, 10), [true, true, false, true]);
    }

    #[test]
    fn gate_and_tally() {
        let gate = std::sync::Arc::new(Gate::default());
        let tally = Tally::default();
        let holder = {
            let gate = gate.clone();
            std::thread::spawn(move || gate.hold())
        };
        gate.wait_held(1);
        tally.add(3);
        tally.add(4);
        gate.release();
        holder.join().unwrap();
        assert_eq!(tally.wait(2), 7);
    }
}
