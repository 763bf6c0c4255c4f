//! fibra: `rt.block_on` + `fibra::spawn` (inside), `rt.spawn` from the main
//! thread (outside, memory), `spawn_detached` where the peers fire and forget
//! (chained, skynet with channels, blocked tasks), `fibra::join` inside
//! `rt.block_on` (fib, skynet fork-join), `fibra::spawn` +
//! `JoinHandle::join` per node (skynet spawn); `fibra::chan::bounded(0)`
//! (rendezvous, like Go's unbuffered channels) for ping-pong, skynet with
//! channels and the blocked tasks.

use super::{block_on_channels, Gate, Tally};
use crate::workloads::{
    fib_recursive, skynet_fork_join_with, Half, Peer, FIB_CUTOFF, SKYNET_FAN_OUT, YIELD_TASKS,
};
use std::sync::{mpsc, Arc};

/// A fibra runtime, built once and reused for every run.
pub struct FibraPeer {
    rt: ::fibra::Runtime,
    workers: usize,
}

impl FibraPeer {
    /// Starts a fibra runtime with `workers` workers.
    pub fn new(workers: usize) -> FibraPeer {
        let rt = ::fibra::Runtime::builder()
            .workers(workers)
            .build()
            .expect("fibra: cannot build the runtime");
        FibraPeer { rt, workers }
    }
}

impl Peer for FibraPeer {
    fn spawn_burst_inside(&self, n: u64) -> u64 {
        self.rt.block_on(|| {
            let handles: Vec<_> = (0..n).map(|i| ::fibra::spawn(move || i)).collect();
            handles.into_iter().map(|h| h.join().unwrap()).sum()
        })
    }

    fn spawn_burst_outside(&self, n: u64) -> Option<u64> {
        let handles: Vec<_> = (0..n).map(|i| self.rt.spawn(move || i)).collect();
        Some(handles.into_iter().map(|h| h.join().unwrap()).sum())
    }

    fn fib_join(&self, n: u64) -> Option<u64> {
        Some(self.rt.block_on(|| fib_join(n)))
    }

    fn fib_spawn(&self, n: u64) -> Option<u64> {
        Some(self.rt.block_on(|| fib_spawn(n)))
    }

    fn skynet_spawn(&self, leaves: u64) -> Option<u64> {
        Some(self.rt.block_on(|| skynet_spawn(0, leaves)))
    }

    fn skynet_fork_join(&self, leaves: u64) -> Option<u64> {
        let join = |a: Half<'_>, b: Half<'_>| ::fibra::join(a, b);
        Some(self.rt.block_on(|| skynet_fork_join_with(0, leaves, &join)))
    }

    fn skynet_chan(&self, leaves: u64) -> Option<u64> {
        Some(self.rt.block_on(move || {
            let (tx, rx) = ::fibra::chan::bounded(0);
            ::fibra::spawn_detached(move || skynet_chan(&tx, 0, leaves));
            rx.recv().expect("the root reports")
        }))
    }

    fn block_on_channels(&self, n: u64, probe: &mut dyn FnMut()) -> Option<u64> {
        let spawn_blocked = |started: Arc<Tally>, finished: Arc<Tally>| {
            let (tx, rx) = ::fibra::chan::bounded::<u64>(0);
            self.rt.spawn_detached(move || {
                started.add(1);
                finished.add(rx.recv().expect("the caller sends"));
            });
            tx
        };
        let send = |tx: &::fibra::chan::Sender<u64>, i| tx.send(i).expect("the task waits");
        Some(block_on_channels(n, probe, spawn_blocked, send))
    }

    fn yield_many(&self, n: u64) -> Option<u64> {
        let per_task = n / YIELD_TASKS;
        let yield_task = move || {
            for _ in 0..per_task {
                ::fibra::yield_now();
            }
            per_task
        };
        Some(self.rt.block_on(move || {
            let tasks: Vec<_> = (0..YIELD_TASKS).map(|_| ::fibra::spawn(yield_task)).collect();
            tasks.into_iter().map(|t| t.join().expect("no panic")).sum()
        }))
    }

    fn ping_pong(&self, n: u64) -> Option<u64> {
        Some(self.rt.block_on(move || {
            let (ping_tx, ping_rx) = ::fibra::chan::bounded::<u64>(0);
            let (pong_tx, pong_rx) = ::fibra::chan::bounded::<u64>(0);
            let echo = ::fibra::spawn(move || {
                let mut seen = 0;
                for ball in ping_rx.iter() {
                    seen += 1;
                    pong_tx.send(ball).expect("the pinger waits");
                }
                seen
            });
            for ball in 0..n {
                ping_tx.send(ball).expect("the echo task runs");
                assert_eq!(pong_rx.recv().expect("the echo task answers"), ball);
            }
            drop(ping_tx);
            echo.join().expect("no panic")
        }))
    }

    fn chained(&self, n: u64) -> Option<u64> {
        let (done, finished) = mpsc::channel();
        self.rt.spawn_detached(move || hop(1, n, done));
        Some(finished.recv().expect("the chain broke"))
    }

    fn queue_unrun(&self, n: u64, probe: &mut dyn FnMut()) -> Option<u64> {
        let gate = Arc::new(Gate::default());
        gate.hold_every_worker(self.workers, |gate| drop(self.rt.spawn(move || gate.hold())));
        let tally = Arc::new(Tally::default());
        for i in 0..n {
            let tally = tally.clone();
            drop(self.rt.spawn(move || tally.add(i)));
        }
        probe();
        gate.release();
        Some(tally.wait(n))
    }
}

/// Chain link `i` of `n`: spawns link `i + 1` (detached), or reports.
fn hop(i: u64, n: u64, done: mpsc::Sender<u64>) {
    if i >= n {
        done.send(i).unwrap();
    } else {
        ::fibra::spawn_detached(move || hop(i + 1, n, done));
    }
}

fn skynet_spawn(num: u64, size: u64) -> u64 {
    if size == 1 {
        return num;
    }
    let child = size / SKYNET_FAN_OUT;
    let handles: Vec<_> = (0..SKYNET_FAN_OUT)
        .map(|i| ::fibra::spawn(move || skynet_spawn(num + i * child, child)))
        .collect();
    handles.into_iter().map(|h| h.join().unwrap()).sum()
}

/// A skynet node reporting its subtree's sum on `parent`; an inner node
/// receives its ten children's sums on a channel of its own.
fn skynet_chan(parent: &::fibra::chan::Sender<u64>, num: u64, size: u64) {
    if size == 1 {
        return parent.send(num).expect("the parent receives");
    }
    let (tx, rx) = ::fibra::chan::bounded(0);
    let child = size / SKYNET_FAN_OUT;
    for i in 0..SKYNET_FAN_OUT {
        let tx = tx.clone();
        ::fibra::spawn_detached(move || skynet_chan(&tx, num + i * child, child));
    }
    let sum = (0..SKYNET_FAN_OUT)
        .map(|_| rx.recv().expect("ten children report"))
        .sum();
    parent.send(sum).expect("the parent receives");
}

fn fib_join(n: u64) -> u64 {
    if n < 2 {
        return n;
    }
    let (a, b) = ::fibra::join(|| fib_join(n - 1), || fib_join(n - 2));
    a + b
}

fn fib_spawn(n: u64) -> u64 {
    if n <= FIB_CUTOFF {
        return fib_recursive(n);
    }
    let (a, b) = ::fibra::join(|| fib_spawn(n - 1), || fib_spawn(n - 2));
    a + b
}
