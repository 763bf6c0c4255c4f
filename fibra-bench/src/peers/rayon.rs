//! Rayon: a `ThreadPool`, `pool.scope(|s| s.spawn(..))` adding into an
//! atomic (spawn burst), `rayon::join` inside `pool.install` (fib).
//!
//! `pool.scope` called from the main thread runs its body on a pool thread,
//! so Rayon's spawns always come from inside; it has no separate "outside"
//! mode and reports only in the inside rows.

use crate::workloads::{skynet_fork_join_with, Half, Peer};
use std::sync::atomic::{AtomicU64, Ordering};

/// A Rayon thread pool, built once and reused for every run.
pub struct RayonPeer {
    pool: ::rayon::ThreadPool,
}

impl RayonPeer {
    /// Starts a Rayon pool with `workers` threads.
    pub fn new(workers: usize) -> RayonPeer {
        let pool = ::rayon::ThreadPoolBuilder::new()
            .num_threads(workers)
            .thread_name(|i| format!("rayon-worker-{i}"))
            .build()
            .expect("rayon: cannot build the pool");
        RayonPeer { pool }
    }
}

impl Peer for RayonPeer {
    fn name(&self) -> &str {
        "rayon"
    }

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

    fn spawn_burst_outside(&self, _n: u64) -> Option<u64> {
        None
    }

    fn fib(&self, n: u64) -> Option<u64> {
        Some(self.pool.install(|| fib(n)))
    }

    fn skynet_fork_join(&self, leaves: u64) -> Option<u64> {
        let join = |a: Half<'_>, b: Half<'_>| ::rayon::join(a, b);
        Some(self.pool.install(|| skynet_fork_join_with(0, leaves, &join)))
    }
}

fn fib(n: u64) -> u64 {
    if n < 2 {
        return n;
    }
    let (a, b) = ::rayon::join(|| fib(n - 1), || fib(n - 2));
    a + b
}
