//! Where the time of an outside spawn burst goes: the harness's
//! `spawn_outside` workload (spawn `N` trivial tasks from the main thread,
//! then join every handle) in a fresh runtime, one warm-up burst, a 5 ms
//! pause (so that the workers are asleep), then the measured burst, split
//! into its two phases:
//!
//! - the spawn phase (ns per task) and how many tasks had already finished
//!   when it ended (0: no worker ran during it);
//! - the join phase (ns per task), and how many joins found their task
//!   unfinished;
//!
//! with the runtime's counters over the measured burst (parks, wake-ups,
//! steals, tasks taken from the global queue) and the tasks each worker
//! completed. Run it several times: each run is one fresh process, like one
//! cell of the harness.
//!
//! ```sh
//! cargo run --release -p fibra --example burst_phases -- 100000
//! for i in $(seq 10); do target/release/examples/burst_phases 100000; done
//! ```
//!
//! A diagnostic, not a test: the numbers depend on the machine, on where the
//! kernel puts the threads, and on what else runs.

use std::time::{Duration, Instant};

const WORKERS: usize = 2;
const PAUSE: Duration = Duration::from_millis(5);

/// The counters of one burst (differences of two snapshots).
struct Counters {
    parks: u64,
    wakeups: u64,
    steals: u64,
    from_global: u64,
    completed_per_worker: Vec<u64>,
}

impl Counters {
    fn between(before: &fibra::Metrics, after: &fibra::Metrics) -> Counters {
        let (b, a) = (before.total(), after.total());
        Counters {
            parks: a.parks - b.parks,
            wakeups: a.wakeups - b.wakeups,
            steals: a.steal_operations - b.steal_operations,
            from_global: a.from_global - b.from_global,
            completed_per_worker: after
                .workers
                .iter()
                .zip(&before.workers)
                .map(|(a, b)| a.completed - b.completed)
                .collect(),
        }
    }
}

/// Spawns `n` tasks from this thread and joins them, printing the phases
/// when `report` is set.
fn burst(rt: &fibra::Runtime, n: u64, report: bool) {
    let before = rt.metrics();
    let start = Instant::now();
    let handles: Vec<_> = (0..n).map(|i| rt.spawn(move || i)).collect();
    let spawned = start.elapsed();
    // Counting is not part of either phase's time.
    let finished_by_then = handles.iter().filter(|h| h.is_finished()).count();
    let join_start = Instant::now();
    let mut found_unfinished = 0u64;
    let sum: u64 = handles
        .into_iter()
        .map(|handle| {
            found_unfinished += u64::from(!handle.is_finished());
            handle.join().expect("trivial tasks do not panic")
        })
        .sum();
    let joined = join_start.elapsed();
    assert_eq!(sum, n * (n - 1) / 2);
    if !report {
        return;
    }
    let counters = Counters::between(&before, &rt.metrics());
    let per_task = |d: Duration| d.as_nanos() as f64 / n as f64;
    println!(
        "spawn {:.1} ns/task ({finished_by_then} finished by its end), join {:.1} ns/task \
         ({found_unfinished} found unfinished), total {:.1} | parks {} wakeups {} steals {} \
         from global {} | completed per worker {:?}",
        per_task(spawned),
        per_task(joined),
        per_task(spawned + joined),
        counters.parks,
        counters.wakeups,
        counters.steals,
        counters.from_global,
        counters.completed_per_worker,
    );
}

fn main() {
    let n: u64 = std::env::args()
        .nth(1)
        .map(|arg| arg.parse().expect("usage: burst_phases [TASKS]"))
        .unwrap_or(10_000);
    let rt = fibra::Runtime::builder()
        .workers(WORKERS)
        .build()
        .expect("runtime");
    burst(&rt, n, false);
    std::thread::sleep(PAUSE);
    burst(&rt, n, true);
}
