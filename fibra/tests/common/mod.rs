//! Helpers shared by the integration tests (compiled into each test binary
//! that declares `mod common;`; not a test binary of its own).

#![allow(dead_code)]

use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::{mpsc, Once};
use std::thread;
use std::time::{Duration, Instant};

/// How long a test body may take before it is reported as hung. Only a guard
/// against hangs (machines are shared and slow), never a performance bound.
pub const HANG_GUARD: Duration = Duration::from_secs(300);

/// A runtime with `workers` workers (panics if it cannot start).
pub fn runtime(workers: usize) -> fibra::Runtime {
    fibra::Runtime::builder().workers(workers).build().unwrap()
}

/// Runs `f` on a plain thread and in a task of a 1- and a 2-worker
/// runtime (`block_on`), each under the hang guard.
pub fn everywhere(name: &str, f: fn()) {
    with_hang_guard(name, f);
    for workers in [1, 2] {
        with_hang_guard(name, move || runtime(workers).block_on(f));
    }
}

/// `small` in debug builds, `big` in release builds (stress sizes).
pub fn scaled(small: usize, big: usize) -> usize {
    if cfg!(debug_assertions) {
        small
    } else {
        big
    }
}

/// Runs `f` on a fresh (non-worker) thread and returns its result, re-raising
/// its panic; fails the test if `f` has not finished after [`HANG_GUARD`]
/// (the hung thread is left behind; the test binary still exits).
pub fn with_hang_guard<T: Send + 'static>(name: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    let body = thread::Builder::new()
        .name(format!("test-body-{name}"))
        .spawn(move || {
            let _ = tx.send(panic::catch_unwind(AssertUnwindSafe(f)));
        })
        .expect("spawn test body thread");
    match rx.recv_timeout(HANG_GUARD) {
        Ok(Ok(value)) => {
            body.join().expect("test body thread");
            value
        }
        Ok(Err(payload)) => panic::resume_unwind(payload),
        Err(_) => panic!("{name}: hung: not finished after {HANG_GUARD:?}"),
    }
}

/// Polls `done` until it is true; panics after [`HANG_GUARD`].
pub fn wait_for(what: &str, done: impl Fn() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < HANG_GUARD, "hung waiting for {what}");
        thread::sleep(Duration::from_millis(1));
    }
}

/// Counts runs in total and per task index, to catch lost and doubled runs.
pub struct RunTracker {
    runs: AtomicUsize,
    seen: Box<[AtomicU8]>,
}

impl RunTracker {
    /// A tracker for task indices `0..n`, leaked so that tasks can capture a
    /// plain `&'static` (no reference count traffic in stress tests).
    pub fn leak(n: usize) -> &'static RunTracker {
        Box::leak(Box::new(RunTracker {
            runs: AtomicUsize::new(0),
            seen: (0..n).map(|_| AtomicU8::new(0)).collect(),
        }))
    }

    /// Records a run of task `i`; returns the total number of runs so far,
    /// this one included.
    pub fn record(&self, i: usize) -> usize {
        self.seen[i].fetch_add(1, Ordering::Relaxed);
        self.runs.fetch_add(1, Ordering::AcqRel) + 1
    }

    pub fn runs(&self) -> usize {
        self.runs.load(Ordering::Acquire)
    }

    pub fn len(&self) -> usize {
        self.seen.len()
    }

    /// Asserts that every index ran exactly once.
    pub fn assert_each_ran_once(&self) {
        let n = self.seen.len();
        let mut never = Vec::new();
        let mut twice = Vec::new();
        for (i, count) in self.seen.iter().enumerate() {
            match count.load(Ordering::Relaxed) {
                1 => {}
                0 => never.push(i),
                _ => twice.push(i),
            }
        }
        assert!(
            never.is_empty() && twice.is_empty(),
            "of {n} tasks, {} never ran (first: {:?}) and {} ran more than once (first: {:?})",
            never.len(),
            &never[..never.len().min(10)],
            twice.len(),
            &twice[..twice.len().min(10)],
        );
        assert_eq!(self.runs(), n, "total runs");
    }
}

/// The marker that intentional test panics carry in their message.
pub const INTENTIONAL: &str = "intentional test panic";

/// Installs (once per test binary) a panic hook that keeps quiet about panics
/// whose message contains [`INTENTIONAL`] and reports every other panic with
/// the default hook, so that real test failures still show their message.
pub fn silence_intentional_panics() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let default = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            let payload = info.payload();
            let message = payload
                .downcast_ref::<&str>()
                .copied()
                .or_else(|| payload.downcast_ref::<String>().map(String::as_str));
            if !message.is_some_and(|m| m.contains(INTENTIONAL)) {
                default(info);
            }
        }));
    });
}

/// The message of a panic payload, if it is a string.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> Option<&str> {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
}

/// Spins for about `micros` microseconds doing arithmetic (busy, not sleeping).
pub fn busy_work(micros: u64) -> u64 {
    let until = Instant::now() + Duration::from_micros(micros);
    let mut x = 0x9E37_79B9_7F4A_7C15_u64;
    while Instant::now() < until {
        for _ in 0..64 {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
        }
    }
    std::hint::black_box(x)
}

/// The name of the current thread (empty if unnamed).
pub fn thread_name() -> String {
    thread::current().name().unwrap_or("").to_string()
}
