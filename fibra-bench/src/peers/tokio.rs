//! Tokio, multi-thread runtime: `tokio::spawn` + `.await` on every handle.
//!
//! "Inside" is the idiomatic `#[tokio::main]` shape: spawn and await inside
//! `rt.block_on(async { .. })`. Note that Tokio polls a `block_on` future on
//! the calling thread, not on a worker, so those spawns enter through Tokio's
//! shared injection queue. (Running the burst in a task spawned onto a worker
//! instead, whose spawns use the worker's local queue, was not faster on the
//! 2-CPU machine of `docs/PERFORMANCE.md`; see `docs/BENCHMARKS.md`.)
//! Tokio has no fork-join `join` for CPU work, so it has no fib.

use crate::workloads::{Peer, SKYNET_FAN_OUT};
use std::future::Future;
use std::pin::Pin;

/// A Tokio multi-thread runtime, built once and reused for every run.
pub struct TokioPeer {
    rt: ::tokio::runtime::Runtime,
}

impl TokioPeer {
    /// Starts a multi-thread Tokio runtime with `workers` worker threads.
    pub fn new(workers: usize) -> TokioPeer {
        let rt = ::tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .thread_name("tokio-worker")
            .build()
            .expect("tokio: cannot build the runtime");
        TokioPeer { rt }
    }
}

impl Peer for TokioPeer {
    fn name(&self) -> &str {
        "tokio"
    }

    fn spawn_burst_inside(&self, n: u64) -> u64 {
        self.rt.block_on(async move {
            let handles: Vec<_> = (0..n).map(|i| ::tokio::spawn(async move { i })).collect();
            let mut sum = 0;
            for handle in handles {
                sum += handle.await.unwrap();
            }
            sum
        })
    }

    fn spawn_burst_outside(&self, n: u64) -> Option<u64> {
        let handles: Vec<_> = (0..n).map(|i| self.rt.spawn(async move { i })).collect();
        Some(self.rt.block_on(async move {
            let mut sum = 0;
            for handle in handles {
                sum += handle.await.unwrap();
            }
            sum
        }))
    }

    fn fib(&self, _n: u64) -> Option<u64> {
        None
    }

    fn skynet_spawn(&self, leaves: u64) -> Option<u64> {
        Some(self.rt.block_on(skynet(0, leaves)))
    }
}

/// A skynet node: spawns its ten children and awaits their sums.
fn skynet(num: u64, size: u64) -> Pin<Box<dyn Future<Output = u64> + Send>> {
    Box::pin(async move {
        if size == 1 {
            return num;
        }
        let child = size / SKYNET_FAN_OUT;
        let handles: Vec<_> = (0..SKYNET_FAN_OUT)
            .map(|i| ::tokio::spawn(skynet(num + i * child, child)))
            .collect();
        let mut sum = 0;
        for handle in handles {
            sum += handle.await.unwrap();
        }
        sum
    })
}
