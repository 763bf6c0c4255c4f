//! What fibra's blocking primitives cost: lock + unlock of an uncontended
//! `fibra::sync::Mutex` next to `std::sync::Mutex` and `parking_lot::Mutex`;
//! the same under contention, between OS threads and between fibra tasks;
//! how evenly two threads that relock in a loop share the lock (fairness);
//! an uncontended `Semaphore` acquire + release; a `Condvar::notify_one`
//! with nobody waiting. Medians of `RUNS` runs, in ns per operation.
//!
//! ```sh
//! cargo run --release -p fibra-bench --example locks
//! ```
//!
//! A benchmark, not a test: the numbers depend on the machine and on what
//! else runs on it.

use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

const RUNS: usize = 7;
const UNCONTENDED_OPS: u64 = 10_000_000;
const CONTENDED_OPS: u64 = 1_000_000;

/// The lock operations one row needs, for each mutex type compared.
trait Lock: Send + Sync + 'static {
    const NAME: &'static str;
    fn new() -> Self;
    /// Locks, adds one to the guarded counter, unlocks.
    fn increment(&self) {
        self.increment_holding(|| ());
    }
    /// Locks, adds one, runs `work` while still holding the lock, unlocks.
    fn increment_holding(&self, work: impl FnOnce());
    fn value(&self) -> u64;
}

impl Lock for fibra::sync::Mutex<u64> {
    const NAME: &'static str = "fibra::sync::Mutex";
    fn new() -> Self {
        fibra::sync::Mutex::new(0)
    }
    fn increment_holding(&self, work: impl FnOnce()) {
        let mut guard = self.lock();
        *guard += 1;
        work();
    }
    fn value(&self) -> u64 {
        *self.lock()
    }
}

impl Lock for std::sync::Mutex<u64> {
    const NAME: &'static str = "std::sync::Mutex";
    fn new() -> Self {
        std::sync::Mutex::new(0)
    }
    fn increment_holding(&self, work: impl FnOnce()) {
        let mut guard = self.lock().unwrap();
        *guard += 1;
        work();
    }
    fn value(&self) -> u64 {
        *self.lock().unwrap()
    }
}

impl Lock for parking_lot::Mutex<u64> {
    const NAME: &'static str = "parking_lot::Mutex";
    fn new() -> Self {
        parking_lot::Mutex::new(0)
    }
    fn increment_holding(&self, work: impl FnOnce()) {
        let mut guard = self.lock();
        *guard += 1;
        work();
    }
    fn value(&self) -> u64 {
        *self.lock()
    }
}

/// Median of `RUNS` runs of `run`, which returns ns per operation.
fn median(mut run: impl FnMut() -> f64) -> f64 {
    let mut samples: Vec<f64> = (0..RUNS).map(|_| run()).collect();
    samples.sort_by(|a, b| a.partial_cmp(b).unwrap());
    samples[RUNS / 2]
}

fn ns_per_op(start: Instant, ops: u64) -> f64 {
    start.elapsed().as_nanos() as f64 / ops as f64
}

fn uncontended<L: Lock>() -> f64 {
    median(|| {
        let lock = L::new();
        let start = Instant::now();
        for _ in 0..UNCONTENDED_OPS {
            black_box(&lock).increment();
        }
        let ns = ns_per_op(start, UNCONTENDED_OPS);
        assert_eq!(lock.value(), UNCONTENDED_OPS);
        ns
    })
}

/// What one locker runs, on a thread or in a task.
type Body = Box<dyn FnOnce() + Send>;

/// `lockers` bodies, each started by `start` (on a thread or in a task, which
/// returns a function that waits for it), increment one counter,
/// `CONTENDED_OPS` in all; each waits (spinning) for the go signal, given
/// once all are started (threads) or queued (tasks: with more tasks than
/// workers, the later ones start as the first ones finish).
fn contended<L: Lock, J: FnOnce()>(lockers: u64, start: impl Fn(Body) -> J) -> f64 {
    median(|| {
        let lock = Arc::new(L::new());
        let go = Arc::new(AtomicBool::new(false));
        let joins: Vec<J> = (0..lockers)
            .map(|_| {
                let (lock, go) = (lock.clone(), go.clone());
                start(Box::new(move || {
                    // Acquire: pairs with the Release store of `go` below.
                    while !go.load(Ordering::Acquire) {
                        std::hint::spin_loop();
                    }
                    (0..CONTENDED_OPS / lockers).for_each(|_| lock.increment())
                }))
            })
            .collect();
        let begin = Instant::now();
        // Release: pairs with the lockers' Acquire loads of `go`.
        go.store(true, Ordering::Release);
        joins.into_iter().for_each(|join| join());
        let ns = ns_per_op(begin, CONTENDED_OPS);
        assert_eq!(lock.value(), CONTENDED_OPS / lockers * lockers);
        ns
    })
}

fn contended_threads<L: Lock>(threads: u64) -> f64 {
    contended::<L, _>(threads, |body| {
        let thread = std::thread::spawn(body);
        move || thread.join().unwrap()
    })
}

fn contended_tasks<L: Lock>(rt: &fibra::Runtime, tasks: u64) -> f64 {
    contended::<L, _>(tasks, |body| {
        let task = rt.spawn(body);
        move || task.join().unwrap()
    })
}

/// Two OS threads each lock `FAIRNESS_OPS` times, holding the lock for a
/// little work and relocking at once. Returns how far (in %) the other
/// thread had got when the first one finished (median over runs): about 100
/// when they alternate fairly, near 0 when one keeps the lock to itself.
fn other_progress<L: Lock>() -> f64 {
    const FAIRNESS_OPS: u64 = 20_000;
    median(|| {
        let lock = Arc::new(L::new());
        let progress: Arc<[AtomicU64; 2]> = Arc::new([AtomicU64::new(0), AtomicU64::new(0)]);
        let go = Arc::new(AtomicBool::new(false));
        let handles: Vec<_> = (0..2)
            .map(|me| {
                let (lock, progress, go) = (lock.clone(), progress.clone(), go.clone());
                std::thread::spawn(move || {
                    // Acquire: pairs with the Release store of `go` below.
                    while !go.load(Ordering::Acquire) {
                        std::hint::spin_loop();
                    }
                    for done in 1..=FAIRNESS_OPS {
                        lock.increment_holding(|| (0..100).for_each(|_| std::hint::spin_loop()));
                        progress[me].store(done, Ordering::Relaxed);
                    }
                    progress[1 - me].load(Ordering::Relaxed)
                })
            })
            .collect();
        // Release: pairs with the threads' Acquire loads of `go`.
        go.store(true, Ordering::Release);
        let seen: Vec<u64> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        assert_eq!(lock.value(), 2 * FAIRNESS_OPS);
        *seen.iter().min().unwrap() as f64 * 100.0 / FAIRNESS_OPS as f64
    })
}

fn row<L: Lock>(rt: &fibra::Runtime) {
    println!(
        "| {:<20} | {:>12.1} | {:>14.1} | {:>14.1} | {:>14.1} | {:>16.0} |",
        L::NAME,
        uncontended::<L>(),
        contended_threads::<L>(2),
        contended_tasks::<L>(rt, 2),
        contended_tasks::<L>(rt, 16),
        other_progress::<L>(),
    );
}

fn main() -> std::io::Result<()> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let rt = fibra::Runtime::builder().workers(2).build()?;
    println!("{cores} CPUs; ns per lock + increment + unlock, median of {RUNS} runs");
    println!("(contended: {CONTENDED_OPS} increments of one counter in all; tasks on 2 workers;");
    println!(" fairness: how far one of two threads that relock at once had got when the other finished)\n");
    println!(
        "| {:<20} | {:>12} | {:>14} | {:>14} | {:>14} | {:>16} |",
        "mutex", "uncontended", "2 threads", "2 tasks", "16 tasks", "fairness %"
    );
    println!(
        "|{:-<22}|{:->14}|{:->16}|{:->16}|{:->16}|{:->18}|",
        "", "", "", "", "", ""
    );
    row::<fibra::sync::Mutex<u64>>(&rt);
    row::<std::sync::Mutex<u64>>(&rt);
    row::<parking_lot::Mutex<u64>>(&rt);

    let semaphore = fibra::sync::Semaphore::new(1);
    let acquire = median(|| {
        let start = Instant::now();
        for _ in 0..UNCONTENDED_OPS {
            drop(black_box(&semaphore).acquire());
        }
        ns_per_op(start, UNCONTENDED_OPS)
    });
    let condvar = fibra::sync::Condvar::new();
    let notify = median(|| {
        let start = Instant::now();
        for _ in 0..UNCONTENDED_OPS {
            black_box(&condvar).notify_one();
        }
        ns_per_op(start, UNCONTENDED_OPS)
    });
    let std_condvar = std::sync::Condvar::new();
    let std_notify = median(|| {
        let start = Instant::now();
        for _ in 0..UNCONTENDED_OPS {
            black_box(&std_condvar).notify_one();
        }
        ns_per_op(start, UNCONTENDED_OPS)
    });
    println!("\nfibra Semaphore acquire + release, uncontended: {acquire:.1} ns");
    println!("Condvar::notify_one, nobody waiting: fibra {notify:.1} ns, std {std_notify:.1} ns");
    Ok(())
}
