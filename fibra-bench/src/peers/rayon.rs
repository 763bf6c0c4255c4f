//! Rayon: a `ThreadPool`; `pool.scope(|s| s.spawn(..))` adding into an
//! atomic (spawn burst), `rayon::join` inside `pool.install` (both fibs,
//! skynet fork-join), `pool.spawn` / `rayon::spawn` (chained, memory).
//!
//! `pool.scope` called from the main thread runs its body on a pool thread,
//! so Rayon's spawns always come from inside; it has no separate "outside"
//! mode and reports only in the inside rows. Its spawned jobs return
//! nothing, so it has no skynet with a task per node.

use super::{Gate, Tally};
use crate::workloads::{fib_recursive, skynet_fork_join_with, Half, Peer, FIB_CUTOFF};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};

/// A Rayon thread pool, built once and reused for every run.
pub struct RayonPeer {
    pool: ::rayon::ThreadPool,
    workers: usize,
}

impl RayonPeer {
    /// Starts a Rayon pool with `workers` threads.
    pub fn new(workers: usize) -> RayonPeer {
        let pool = ::rayon::ThreadPoolBuilder::new()
            .num_threads(workers)
            .thread_name(|i| format!("rayon-worker-{i}"))
            .build()
            .expect("rayon: cannot build the pool");
        RayonPeer { pool, workers }
    }
}

impl Peer for RayonPeer {
    fn spawn_burst_inside(&self, n: u64) -> u64 {
        let sum = AtomicU64::new(0);
        self.pool.scope(|s| {
            for i in 0..n {
                let sum = &sum;
                s.spawn(move |_| {
                    sum.fetch_add(i, Ordering::Relaxed);
                });
            }
        });
        sum.into_inner()
    }

    fn fib_join(&self, n: u64) -> Option<u64> {
        Some(self.pool.install(|| fib_join(n)))
    }

    fn fib_spawn(&self, n: u64) -> Option<u64> {
        Some(self.pool.install(|| fib_spawn(n)))
    }

    fn skynet_fork_join(&self, leaves: u64) -> Option<u64> {
        let join = |a: Half<'_>, b: Half<'_>| ::rayon::join(a, b);
        Some(self.pool.install(|| skynet_fork_join_with(0, leaves, &join)))
    }

    fn chained(&self, n: u64) -> Option<u64> {
        let (done, finished) = mpsc::channel();
        self.pool.spawn(move || hop(1, n, done));
        Some(finished.recv().expect("the chain broke"))
    }

    fn queue_unrun(&self, n: u64, probe: &mut dyn FnMut()) -> Option<u64> {
        let gate = Arc::new(Gate::default());
        gate.hold_every_worker(self.workers, |gate| self.pool.spawn(move || gate.hold()));
        let tally = Arc::new(Tally::default());
        for i in 0..n {
            let tally = tally.clone();
            self.pool.spawn(move || tally.add(i));
        }
        probe();
        gate.release();
        Some(tally.wait(n))
    }
}

/// Chain link `i` of `n`: spawns link `i + 1` in the current pool, or reports.
fn hop(i: u64, n: u64, done: mpsc::Sender<u64>) {
    if i >= n {
        done.send(i).unwrap();
    } else {
        ::rayon::spawn(move || hop(i + 1, n, done));
    }
}

fn fib_join(n: u64) -> u64 {
    if n < 2 {
        return n;
    }
    let (a, b) = ::rayon::join(|| fib_join(n - 1), || fib_join(n - 2));
    a + b
}

fn fib_spawn(n: u64) -> u64 {
    if n <= FIB_CUTOFF {
        return fib_recursive(n);
    }
    let (a, b) = ::rayon::join(|| fib_spawn(n - 1), || fib_spawn(n - 2));
    a + b
}
