//! `spawn_bench.c`'s workload through fibra's Rust API, for comparison: the
//! same tasks (an atomic increment, then `fibra_waitgroup_done` on the same
//! wait group), spawned with `Runtime::spawn_detached` /
//! `fibra::spawn_detached` (what `fibra_spawn` calls) instead of
//! `fibra_spawn`, so that the difference between the two is the cost of the
//! C ABI. Same arguments, same warm-up and pauses, same output lines (with
//! workloads `spawn_burst_outside_rust` and `spawn_burst_inside_rust`).
//!
//! ```text
//! cargo run --release -p fibra-ffi --example spawn_bench_rust -- [--reps R] [N...]
//! ```

use fibra_ffi::{
    fibra_waitgroup_add, fibra_waitgroup_done, fibra_waitgroup_new, fibra_waitgroup_wait, FibraStatus,
};
use fibra_ffi::{fibra_waitgroup_free, FibraWaitGroup};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The tasks' counter: a static, as the tasks must be `'static`; on cache
/// lines of its own, as `spawn_bench.c`'s counter is (a neighbour written
/// as often would double the cost of a task here).
static COUNT: Padded = Padded(AtomicU64::new(0));

#[repr(align(128))]
struct Padded(AtomicU64);

impl std::ops::Deref for Padded {
    type Target = AtomicU64;
    fn deref(&self) -> &AtomicU64 {
        &self.0
    }
}

/// The wait group, shareable with tasks.
#[derive(Clone, Copy)]
struct WaitGroup(*mut FibraWaitGroup);
// SAFETY: a fibra wait group may be used from any thread.
unsafe impl Send for WaitGroup {}
// SAFETY: as above.
unsafe impl Sync for WaitGroup {}

impl WaitGroup {
    fn call(self, status: FibraStatus) {
        assert_eq!(status, FibraStatus::FIBRA_OK);
    }
    fn add(self, delta: i64) {
        // SAFETY: live until the end of `main`, after every task finished.
        self.call(unsafe { fibra_waitgroup_add(self.0, delta) });
    }
    fn done(self) {
        // SAFETY: as in `add`.
        self.call(unsafe { fibra_waitgroup_done(self.0) });
    }
    fn wait(self) {
        // SAFETY: as in `add`.
        self.call(unsafe { fibra_waitgroup_wait(self.0) });
    }
}

fn task(wg: WaitGroup) -> impl FnOnce() + Send + 'static {
    move || {
        COUNT.fetch_add(1, Ordering::Relaxed);
        wg.done();
    }
}

/// One burst; prints its result line unless it is a warm-up.
fn run_burst(rt: &fibra::Runtime, wg: WaitGroup, n: u64, inside: bool, report: bool) {
    COUNT.store(0, Ordering::Relaxed);
    let start = Instant::now();
    if inside {
        wg.add(n as i64 + 1);
        rt.spawn_detached(move || {
            for _ in 0..n {
                fibra::spawn_detached(task(wg));
            }
            wg.done();
        });
    } else {
        wg.add(n as i64);
        for _ in 0..n {
            rt.spawn_detached(task(wg));
        }
    }
    wg.wait();
    let ns = start.elapsed().as_nanos();
    let check = COUNT.load(Ordering::Relaxed);
    assert_eq!(check, n, "every task ran once");
    if report {
        let workload = if inside {
            "spawn_burst_inside_rust"
        } else {
            "spawn_burst_outside_rust"
        };
        println!("result workload={workload} n={n} ns={ns} check={check}");
        println!(
            "  {workload:<24} n={n:<8} {:>10.3} ms {:>8.1} ns/task",
            ns as f64 / 1e6,
            ns as f64 / n as f64
        );
    }
}

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut reps = 1;
    if args.first().map(String::as_str) == Some("--reps") {
        reps = args
            .get(1)
            .and_then(|r| r.parse().ok())
            .expect("--reps needs a count");
        args.drain(..2);
    }
    let sizes: Vec<u64> = if args.is_empty() {
        vec![10_000, 100_000, 1_000_000]
    } else {
        args.iter().map(|a| a.parse().expect("a task count")).collect()
    };
    let rt = fibra::Runtime::new().expect("start the runtime");
    // SAFETY: NULL status_out is allowed.
    let wg = WaitGroup(unsafe { fibra_waitgroup_new(std::ptr::null_mut()) });
    println!("fibra Rust API spawn benchmark, {} workers", rt.num_workers());
    for n in sizes {
        run_burst(&rt, wg, n, false, false); // warm-up
        run_burst(&rt, wg, n, true, false);
        for _ in 0..reps {
            std::thread::sleep(Duration::from_millis(5));
            run_burst(&rt, wg, n, false, true);
            std::thread::sleep(Duration::from_millis(5));
            run_burst(&rt, wg, n, true, true);
        }
    }
    rt.shutdown();
    // SAFETY: every task has finished; freed once.
    assert_eq!(unsafe { fibra_waitgroup_free(wg.0) }, FibraStatus::FIBRA_OK);
}
