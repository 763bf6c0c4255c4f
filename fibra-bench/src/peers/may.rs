//! `may`: stackful coroutines (each with its own mmap'ed stack, 32 KiB by
//! default, plus a guard page). Coroutines are spawned with
//! `may::coroutine::spawn` and joined through their `JoinHandle`s, which
//! suspend a joining coroutine (or block a joining OS thread). Channels are
//! `may::sync::mpsc::channel()`, unbounded (may has no bounded one).
//!
//! may's worker count is process-wide and fixed when its scheduler first
//! starts: the first [`MayPeer::new`] in a process decides it (the harness
//! runs every measurement in a fresh process). Every coroutine stack is a
//! separate memory mapping and its guard page splits it in two, so a
//! process can hold only about `vm.max_map_count / 2` live coroutines
//! (about 32,000 with Linux's default of 65,530); spawning more fails, and
//! the workload is reported as failed with that reason. No workload here
//! raises the limit.

use super::{block_on_channels, Gate, Tally};
use crate::workloads::{fib_recursive, Peer, FIB_CUTOFF, SKYNET_FAN_OUT, YIELD_TASKS};
use ::may::coroutine::JoinHandle;
use std::panic::AssertUnwindSafe;
use std::sync::{mpsc, Arc, OnceLock};

/// The worker count may's scheduler was configured with in this process.
static WORKERS: OnceLock<usize> = OnceLock::new();

/// may's scheduler, configured for `workers` threads.
pub struct MayPeer {
    workers: usize,
}

impl MayPeer {
    /// Sets may's worker count; the first call in a process decides it, and
    /// later peers use that count whatever they ask for.
    pub fn new(workers: usize) -> MayPeer {
        let workers = *WORKERS.get_or_init(|| {
            ::may::config().set_workers(workers);
            workers
        });
        MayPeer { workers }
    }
}

/// Spawns a coroutine running `f`.
fn go<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> JoinHandle<T> {
    let builder = ::may::coroutine::Builder::new();
    let spawn = AssertUnwindSafe(|| {
        // SAFETY: may's spawn is unsafe because a coroutine that reads a
        // thread-local across a suspension point may read another thread's
        // copy after moving, and because a coroutine that overflows its
        // stack crashes. The closures of this file suspend only in may's own
        // `JoinHandle::join` and channel receives, hold no thread-local
        // across them, and recurse at most `FIB_CUTOFF` levels deep (a few
        // KiB of the 32 KiB stack).
        unsafe { builder.spawn(f) }
    });
    // may (its `generator` crate) panics instead of returning an error when
    // it cannot map a stack: name the limit that is usually the cause.
    let failure = match std::panic::catch_unwind(spawn) {
        Ok(Ok(handle)) => return handle,
        Ok(Err(e)) => format!("may: cannot spawn a coroutine: {e} ({})", map_limit()),
        Err(_) => format!(
            "may: cannot map a coroutine stack ({}, see docs/BENCHMARKS.md)",
            map_limit()
        ),
    };
    FIRST_FAILURE.get_or_init(|| failure.clone());
    panic!("{failure}")
}

/// The first spawn failure in this process, for the coroutines that see
/// only its consequence (a channel whose other end went away).
static FIRST_FAILURE: OnceLock<String> = OnceLock::new();

/// Panics with the first spawn failure: called where a channel broke
/// because a coroutine died of it.
fn fail_as_spawn_did() -> ! {
    match FIRST_FAILURE.get() {
        Some(failure) => panic!("{failure}"),
        None => panic!("may: a coroutine died"),
    }
}

/// The kernel's memory-mapping limit, which bounds live coroutines.
fn map_limit() -> String {
    let limit = std::fs::read_to_string("/proc/sys/vm/max_map_count").unwrap_or_default();
    format!("vm.max_map_count = {}", limit.trim())
}

fn join_all(handles: Vec<JoinHandle<u64>>) -> u64 {
    handles.into_iter().map(joined).sum()
}

/// The coroutine's result; if it panicked, panics with its message (so a
/// failed spawn deep in a tree reaches the report with its reason).
fn joined<T>(handle: JoinHandle<T>) -> T {
    handle.join().unwrap_or_else(|payload| {
        let text = payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "a coroutine panicked".to_string());
        match text.contains("stack") && !text.contains("max_map_count") {
            true => panic!("{text} ({})", map_limit()),
            false => panic!("{text}"),
        }
    })
}

impl Peer for MayPeer {
    fn spawn_burst_inside(&self, n: u64) -> u64 {
        joined(go(move || join_all((0..n).map(|i| go(move || i)).collect())))
    }

    fn spawn_burst_outside(&self, n: u64) -> Option<u64> {
        Some(join_all((0..n).map(|i| go(move || i)).collect()))
    }

    fn fib_spawn(&self, n: u64) -> Option<u64> {
        Some(joined(go(move || fib_spawn(n))))
    }

    fn skynet_spawn(&self, leaves: u64) -> Option<u64> {
        Some(joined(go(move || skynet(0, leaves))))
    }

    fn skynet_chan(&self, leaves: u64) -> Option<u64> {
        let (tx, rx) = ::may::sync::mpsc::channel();
        drop(go(move || skynet_chan(&tx, 0, leaves)));
        Some(rx.recv().unwrap_or_else(|_| fail_as_spawn_did()))
    }

    fn block_on_channels(&self, n: u64, probe: &mut dyn FnMut()) -> Option<u64> {
        let spawn_blocked = |started: Arc<Tally>, finished: Arc<Tally>| {
            let (tx, rx) = ::may::sync::mpsc::channel::<u64>();
            drop(go(move || {
                started.add(1);
                // A closed channel: the caller failed (and says why).
                if let Ok(value) = rx.recv() {
                    finished.add(value);
                }
            }));
            tx
        };
        let send = |tx: &::may::sync::mpsc::Sender<u64>, i| tx.send(i).expect("the task waits");
        Some(block_on_channels(n, probe, spawn_blocked, send))
    }

    fn yield_many(&self, n: u64) -> Option<u64> {
        let per_task = n / YIELD_TASKS;
        let tasks: Vec<_> = (0..YIELD_TASKS)
            .map(|_| {
                go(move || {
                    for _ in 0..per_task {
                        ::may::coroutine::yield_now();
                    }
                    per_task
                })
            })
            .collect();
        Some(tasks.into_iter().map(|t| t.join().expect("no panic")).sum())
    }

    fn ping_pong(&self, n: u64) -> Option<u64> {
        let (ping_tx, ping_rx) = ::may::sync::mpsc::channel::<u64>();
        let (pong_tx, pong_rx) = ::may::sync::mpsc::channel::<u64>();
        let echo = go(move || {
            let mut seen = 0;
            while let Ok(ball) = ping_rx.recv() {
                seen += 1;
                pong_tx.send(ball).expect("the pinger waits");
            }
            seen
        });
        let pinger = go(move || {
            for ball in 0..n {
                ping_tx.send(ball).expect("the echo task runs");
                assert_eq!(pong_rx.recv().expect("the echo task answers"), ball);
            }
        });
        pinger.join().expect("no panic");
        Some(echo.join().expect("no panic"))
    }

    fn chained(&self, n: u64) -> Option<u64> {
        let (done, finished) = mpsc::channel();
        drop(go(move || hop(1, n, done)));
        Some(finished.recv().expect("the chain broke"))
    }

    fn queue_unrun(&self, n: u64, probe: &mut dyn FnMut()) -> Option<u64> {
        let gate = Arc::new(Gate::default());
        gate.hold_every_worker(self.workers, |gate| drop(go(move || gate.hold())));
        let tally = Arc::new(Tally::default());
        for i in 0..n {
            let tally = tally.clone();
            drop(go(move || tally.add(i)));
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
        drop(go(move || hop(i + 1, n, done)));
    }
}

fn skynet(num: u64, size: u64) -> u64 {
    if size == 1 {
        return num;
    }
    let child = size / SKYNET_FAN_OUT;
    join_all(
        (0..SKYNET_FAN_OUT)
            .map(|i| go(move || skynet(num + i * child, child)))
            .collect(),
    )
}

/// A skynet node reporting its subtree's sum on `parent`; an inner node
/// receives its ten children's sums on a channel of its own.
///
/// When a spawn fails (too many coroutines for `vm.max_map_count`), the
/// failure travels up instead of hanging the tree: the spawner panics, its
/// children find their parent gone and quietly stop, and every ancestor
/// finds its channel closed (it holds no sender itself) and panics with the
/// same message, up to the caller.
fn skynet_chan(parent: &::may::sync::mpsc::Sender<u64>, num: u64, size: u64) {
    let sum = if size == 1 {
        num
    } else {
        let (tx, rx) = ::may::sync::mpsc::channel();
        let child = size / SKYNET_FAN_OUT;
        for i in 0..SKYNET_FAN_OUT {
            let tx = tx.clone();
            drop(go(move || skynet_chan(&tx, num + i * child, child)));
        }
        drop(tx);
        (0..SKYNET_FAN_OUT)
            .map(|_| rx.recv().unwrap_or_else(|_| fail_as_spawn_did()))
            .sum()
    };
    let _parent_gone_after_a_failure = parent.send(sum);
}

fn fib_spawn(n: u64) -> u64 {
    if n <= FIB_CUTOFF {
        return fib_recursive(n);
    }
    let first = go(move || fib_spawn(n - 1));
    let second = fib_spawn(n - 2);
    joined(first) + second
}
