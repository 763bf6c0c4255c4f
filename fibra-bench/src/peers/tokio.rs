//! Tokio, multi-thread runtime: `tokio::spawn` + `.await` on every handle.
//!
//! "Inside" is the idiomatic `#[tokio::main]` shape: spawn and await inside
//! `rt.block_on(async { .. })`. Note that Tokio polls a `block_on` future on
//! the calling thread, not on a worker, so those spawns enter through Tokio's
//! shared injection queue (see `docs/BENCHMARKS.md`). Tokio has no fork-join
//! `join` for CPU work, so it has no `fib_join` and no skynet fork-join;
//! `fib_spawn` spawns `fib(n - 1)` and awaits it. Channels are
//! `tokio::sync::mpsc::channel(1)`, the smallest bounded one.

use super::{block_on_channels, Gate, Tally};
use crate::workloads::{fib_recursive, Peer, FIB_CUTOFF, SKYNET_FAN_OUT, YIELD_TASKS};
use std::future::Future;
use std::pin::Pin;
use std::sync::{mpsc, Arc};
use tokio::sync::mpsc::channel as mpsc_channel;

/// A boxed, sendable future: the shape of Tokio's recursive tasks.
type Task = Pin<Box<dyn Future<Output = u64> + Send>>;

/// A Tokio multi-thread runtime, built once and reused for every run.
pub struct TokioPeer {
    rt: ::tokio::runtime::Runtime,
    workers: usize,
}

impl TokioPeer {
    /// Starts a multi-thread Tokio runtime with `workers` worker threads.
    pub fn new(workers: usize) -> TokioPeer {
        let rt = ::tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .thread_name("tokio-worker")
            .build()
            .expect("tokio: cannot build the runtime");
        TokioPeer { rt, workers }
    }
}

impl Peer for TokioPeer {
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

    fn fib_spawn(&self, n: u64) -> Option<u64> {
        Some(self.rt.block_on(fib_spawn(n)))
    }

    fn skynet_spawn(&self, leaves: u64) -> Option<u64> {
        Some(self.rt.block_on(skynet(0, leaves)))
    }

    fn skynet_chan(&self, leaves: u64) -> Option<u64> {
        Some(self.rt.block_on(async move {
            let (tx, mut rx) = mpsc_channel(1);
            drop(tokio::spawn(skynet_chan(tx, 0, leaves)));
            rx.recv().await.expect("the root reports")
        }))
    }

    fn block_on_channels(&self, n: u64, probe: &mut dyn FnMut()) -> Option<u64> {
        let spawn_blocked = |started: Arc<Tally>, finished: Arc<Tally>| {
            let (tx, mut rx) = mpsc_channel::<u64>(1);
            drop(self.rt.spawn(async move {
                started.add(1);
                finished.add(rx.recv().await.expect("the caller sends"));
            }));
            tx
        };
        let send = |tx: &tokio::sync::mpsc::Sender<u64>, i| tx.blocking_send(i).expect("the task waits");
        Some(block_on_channels(n, probe, spawn_blocked, send))
    }

    fn yield_many(&self, n: u64) -> Option<u64> {
        let per_task = n / YIELD_TASKS;
        Some(self.rt.block_on(async move {
            let tasks: Vec<_> = (0..YIELD_TASKS)
                .map(|_| {
                    tokio::spawn(async move {
                        for _ in 0..per_task {
                            tokio::task::yield_now().await;
                        }
                        per_task
                    })
                })
                .collect();
            let mut total = 0;
            for task in tasks {
                total += task.await.expect("no panic");
            }
            total
        }))
    }

    fn ping_pong(&self, n: u64) -> Option<u64> {
        Some(self.rt.block_on(async move {
            let (ping_tx, mut ping_rx) = tokio::sync::mpsc::channel::<u64>(1);
            let (pong_tx, mut pong_rx) = tokio::sync::mpsc::channel::<u64>(1);
            let echo = tokio::spawn(async move {
                let mut seen = 0;
                while let Some(ball) = ping_rx.recv().await {
                    seen += 1;
                    pong_tx.send(ball).await.expect("the pinger waits");
                }
                seen
            });
            let pinger = tokio::spawn(async move {
                for ball in 0..n {
                    ping_tx.send(ball).await.expect("the echo task runs");
                    assert_eq!(pong_rx.recv().await, Some(ball));
                }
            });
            pinger.await.expect("no panic");
            echo.await.expect("no panic")
        }))
    }

    fn chained(&self, n: u64) -> Option<u64> {
        let (done, finished) = mpsc::channel();
        drop(self.rt.spawn(hop(1, n, done)));
        Some(finished.recv().expect("the chain broke"))
    }

    fn queue_unrun(&self, n: u64, probe: &mut dyn FnMut()) -> Option<u64> {
        let gate = Arc::new(Gate::default());
        gate.hold_every_worker(self.workers, |gate| {
            drop(self.rt.spawn(async move { gate.hold() }))
        });
        let tally = Arc::new(Tally::default());
        for i in 0..n {
            let tally = tally.clone();
            drop(self.rt.spawn(async move { tally.add(i) }));
        }
        probe();
        gate.release();
        Some(tally.wait(n))
    }
}

/// Chain link `i` of `n`: spawns link `i + 1` (detached), or reports.
fn hop(i: u64, n: u64, done: mpsc::Sender<u64>) -> Pin<Box<dyn Future<Output = ()> + Send>> {
    Box::pin(async move {
        if i >= n {
            done.send(i).unwrap();
        } else {
            drop(::tokio::spawn(hop(i + 1, n, done)));
        }
    })
}

/// A skynet node: spawns its ten children and awaits their sums.
fn skynet(num: u64, size: u64) -> Task {
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

/// A skynet node reporting its subtree's sum on `parent`; an inner node
/// receives its ten children's sums on a channel of its own.
fn skynet_chan(
    parent: tokio::sync::mpsc::Sender<u64>,
    num: u64,
    size: u64,
) -> Pin<Box<dyn Future<Output = ()> + Send>> {
    Box::pin(async move {
        if size == 1 {
            return parent.send(num).await.expect("the parent receives");
        }
        let (tx, mut rx) = mpsc_channel(1);
        let child = size / SKYNET_FAN_OUT;
        for i in 0..SKYNET_FAN_OUT {
            drop(::tokio::spawn(skynet_chan(tx.clone(), num + i * child, child)));
        }
        let mut sum = 0;
        for _ in 0..SKYNET_FAN_OUT {
            sum += rx.recv().await.expect("ten children report");
        }
        parent.send(sum).await.expect("the parent receives");
    })
}

/// fib(n): spawns fib(n - 1) above the cutoff, computes fib(n - 2), awaits.
fn fib_spawn(n: u64) -> Task {
    Box::pin(async move {
        if n <= FIB_CUTOFF {
            return fib_recursive(n);
        }
        let first = ::tokio::spawn(fib_spawn(n - 1));
        let second = fib_spawn(n - 2).await;
        first.await.unwrap() + second
    })
}
