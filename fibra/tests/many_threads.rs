//! Many OS threads spawning onto one runtime at once: 8 threads released by a
//! barrier spawn 100,000 tasks each (release; fewer in debug) through the
//! global queue, while tasks inside also spawn; every task runs exactly once
//! and every handle returns its value. Also 8 threads calling `block_on` at
//! once, and 8 threads starting the global runtime at once.

mod common;

use common::{runtime, scaled, thread_name, with_hang_guard, RunTracker};
use std::collections::HashSet;
use std::sync::Barrier;

const THREADS: usize = 8;

#[test]
fn eight_threads_spawning_at_once() {
    with_hang_guard("eight threads", || {
        let per_thread = scaled(50_000, 100_000);
        let rt = runtime(4);
        let tracker = RunTracker::leak(THREADS * per_thread);
        let barrier = Barrier::new(THREADS);
        std::thread::scope(|s| {
            for t in 0..THREADS {
                let (rt, barrier) = (&rt, &barrier);
                s.spawn(move || {
                    // Half of the threads spawn through a cloned Handle.
                    let handle = rt.handle().clone();
                    barrier.wait();
                    let base = t * per_thread;
                    let handles: Vec<_> = (base..base + per_thread)
                        .map(|i| {
                            let task = move || {
                                tracker.record(i);
                                i
                            };
                            if t % 2 == 0 {
                                rt.spawn(task)
                            } else {
                                handle.spawn(task)
                            }
                        })
                        .collect();
                    for (i, h) in (base..).zip(handles) {
                        assert_eq!(h.join().unwrap(), i);
                    }
                });
            }
        });
        tracker.assert_each_ran_once();
        let m = rt.metrics();
        assert_eq!(m.spawned_outside, (THREADS * per_thread) as u64);
        assert_eq!(m.total().completed, (THREADS * per_thread) as u64);
        rt.shutdown();
    });
}

#[test]
fn outside_and_inside_spawns_mixed() {
    with_hang_guard("mixed", || {
        let per_thread = scaled(5_000, 25_000);
        let rt = runtime(3);
        // Each outside spawn spawns one child from inside.
        let tracker = RunTracker::leak(2 * THREADS * per_thread);
        let barrier = Barrier::new(THREADS);
        std::thread::scope(|s| {
            for t in 0..THREADS {
                let (rt, barrier) = (&rt, &barrier);
                s.spawn(move || {
                    barrier.wait();
                    let base = 2 * t * per_thread;
                    let handles: Vec<_> = (0..per_thread)
                        .map(|k| {
                            let i = base + 2 * k;
                            rt.spawn(move || {
                                tracker.record(i);
                                fibra::spawn(move || {
                                    tracker.record(i + 1);
                                    i + 1
                                })
                            })
                        })
                        .collect();
                    for (k, h) in handles.into_iter().enumerate() {
                        let child = h.join().unwrap();
                        // A child's handle, joined on a thread that is not a worker.
                        assert_eq!(child.join().unwrap(), base + 2 * k + 1);
                    }
                });
            }
        });
        tracker.assert_each_ran_once();
    });
}

#[test]
fn eight_threads_in_block_on_at_once() {
    with_hang_guard("block_on from many threads", || {
        let per_thread = scaled(2_000, 20_000);
        let rt = runtime(4);
        let barrier = Barrier::new(THREADS);
        let sums: Vec<u64> = std::thread::scope(|s| {
            let threads: Vec<_> = (0..THREADS as u64)
                .map(|t| {
                    let (rt, barrier) = (&rt, &barrier);
                    s.spawn(move || {
                        barrier.wait();
                        rt.block_on(|| {
                            let hs: Vec<_> = (0..per_thread as u64)
                                .map(|i| fibra::spawn(move || t + i))
                                .collect();
                            hs.into_iter().map(|h| h.join().unwrap()).sum::<u64>()
                        })
                    })
                })
                .collect();
            threads.into_iter().map(|t| t.join().unwrap()).collect()
        });
        let n = per_thread as u64;
        for (t, sum) in sums.into_iter().enumerate() {
            assert_eq!(sum, t as u64 * n + n * (n - 1) / 2);
        }
    });
}

#[test]
fn eight_threads_starting_the_global_runtime_at_once() {
    with_hang_guard("global runtime", || {
        let barrier = Barrier::new(THREADS);
        let names: Vec<Vec<String>> = std::thread::scope(|s| {
            let threads: Vec<_> = (0..THREADS)
                .map(|_| {
                    let barrier = &barrier;
                    s.spawn(move || {
                        barrier.wait();
                        let hs: Vec<_> = (0..1000).map(|_| fibra::spawn(thread_name)).collect();
                        hs.into_iter().map(|h| h.join().unwrap()).collect()
                    })
                })
                .collect();
            threads.into_iter().map(|t| t.join().unwrap()).collect()
        });
        let distinct: HashSet<String> = names.into_iter().flatten().collect();
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        // One global runtime: its workers are fibra-worker-0..cpus (unless
        // FIBRA_WORKERS is set for this run).
        if std::env::var_os(fibra::WORKERS_ENV).is_none() {
            assert!(
                distinct.len() <= cpus,
                "more worker threads than one runtime has: {distinct:?}"
            );
        }
        assert!(
            distinct.iter().all(|n| n.starts_with("fibra-worker-")),
            "{distinct:?}"
        );
    });
}
