//! Fork-join and scopes: `fibra::join` computes fib(20) and deep/parallel
//! recursions correctly, on a runtime and from a thread that is not a worker;
//! `join` and `JoinHandle::join` inside tasks on every worker at once (all
//! workers waiting at the same time) complete; `scope` inside tasks on every
//! worker at once; `scope` borrowing stack data mutably (like
//! `std::thread::scope`); nested `s.spawn` inside scoped tasks;
//! `ScopedJoinHandle::join` returns values; a stolen `join` job never blocks
//! on the task suspended below it on the same stack.

mod common;

use common::{runtime, scaled, with_hang_guard};
use fibra::Runtime;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};

fn fib(n: u64) -> u64 {
    if n < 2 {
        return n;
    }
    let (a, b) = fibra::join(|| fib(n - 1), || fib(n - 2));
    a + b
}

/// Sums a slice by splitting it in halves with `join`.
fn parallel_sum(data: &[u64]) -> u64 {
    if data.len() <= 64 {
        return data.iter().sum();
    }
    let (left, right) = data.split_at(data.len() / 2);
    let (a, b) = fibra::join(|| parallel_sum(left), || parallel_sum(right));
    a + b
}

/// A linear recursion `depth` joins deep (each level joins a trivial task).
fn deep(depth: u32) -> u32 {
    if depth == 0 {
        return 0;
    }
    let (below, one) = fibra::join(|| deep(depth - 1), || 1);
    below + one
}

#[test]
fn fib_on_a_runtime() {
    with_hang_guard("fib", || {
        for workers in [1, 2, 4] {
            let rt = Runtime::builder().workers(workers).build().unwrap();
            assert_eq!(rt.block_on(|| fib(20)), 6765);
            assert_eq!(rt.spawn(|| fib(15)).join().unwrap(), 610);
        }
    });
}

#[test]
fn join_from_a_non_worker_thread_uses_the_global_runtime() {
    with_hang_guard("global join", || {
        assert_eq!(fib(20), 6765);
        let (name_a, name_b) = fibra::join(common::thread_name, common::thread_name);
        assert!(name_a.starts_with("fibra-worker-"), "{name_a:?}");
        assert!(name_b.starts_with("fibra-worker-"), "{name_b:?}");
        // Borrowing the caller's stack from a plain thread.
        let mut left = vec![1, 2, 3];
        let mut right = vec![4, 5];
        fibra::join(|| left.push(10), || right.clear());
        assert_eq!((left, right), (vec![1, 2, 3, 10], vec![]));
    });
}

#[test]
fn deep_and_parallel_recursion() {
    with_hang_guard("deep join", || {
        // A linear recursion of joins needs a stack to match (about 250 bytes
        // a level in a release build, several times that in a debug build);
        // the default 1 MiB fiber stack is for ordinary tasks.
        let rt = Runtime::builder().workers(4).stack_size(8 << 20).build().unwrap();
        let depth = scaled(500, 1000) as u32;
        assert_eq!(rt.block_on(|| deep(depth)), depth);
        let data: Vec<u64> = (0..scaled(200_000, 2_000_000) as u64).collect();
        let expected: u64 = data.iter().sum();
        for _ in 0..5 {
            assert_eq!(rt.block_on(|| parallel_sum(&data)), expected);
        }
        // fib(25) has 242,785 joins.
        assert_eq!(
            rt.block_on(|| fib(scaled(22, 25) as u64)),
            if cfg!(debug_assertions) { 17_711 } else { 75_025 }
        );
    });
}

/// Three levels of tasks, each spawning `fan` children with `fibra::spawn`
/// and joining their handles, plus a `fibra::join` at each level.
fn spawn_and_join(level: u32, fan: u64) -> u64 {
    if level == 0 {
        let (a, b) = fibra::join(|| 1u64, || 1u64);
        return a + b;
    }
    let children: Vec<_> = (0..fan)
        .map(|_| fibra::spawn(move || spawn_and_join(level - 1, fan)))
        .collect();
    let (joined, extra) = fibra::join(
        || children.into_iter().map(|h| h.join().unwrap()).sum::<u64>(),
        || fib(10),
    );
    assert_eq!(extra, 55);
    joined
}

#[test]
fn join_inside_tasks_on_every_worker_at_once() {
    with_hang_guard("every worker joins", || {
        const WORKERS: usize = 4;
        let rt = Runtime::builder().workers(WORKERS).build().unwrap();
        for _ in 0..scaled(5, 20) {
            // The barrier holds each task on its own worker until all four
            // run, so that every worker starts waiting at the same moment.
            let barrier = Barrier::new(WORKERS);
            let results: Vec<u64> = rt.scope(|s| {
                let hs: Vec<_> = (0..WORKERS)
                    .map(|_| {
                        let barrier = &barrier;
                        s.spawn(move || {
                            barrier.wait();
                            let spawned = spawn_and_join(3, 4);
                            let (a, b) = fibra::join(|| fib(12), || fib(11));
                            spawned + a + b
                        })
                    })
                    .collect();
                hs.into_iter().map(|h| h.join().unwrap()).collect()
            });
            // 4^3 leaves, each returning 2; plus fib(12) + fib(11).
            assert_eq!(results, vec![128 + 144 + 89; WORKERS]);
        }
    });
}

#[test]
fn scope_inside_tasks_on_every_worker_at_once() {
    with_hang_guard("every worker scopes", || {
        const WORKERS: usize = 4;
        let rt = Runtime::builder().workers(WORKERS).build().unwrap();
        let barrier = Arc::new(Barrier::new(WORKERS));
        let handles: Vec<_> = (0..WORKERS as u64)
            .map(|w| {
                let barrier = barrier.clone();
                rt.spawn(move || {
                    barrier.wait();
                    let mut data: Vec<u64> = (0..1000).map(|i| i + w).collect();
                    fibra::scope(|s| {
                        for chunk in data.chunks_mut(10) {
                            s.spawn(move || {
                                for x in chunk.iter_mut() {
                                    *x *= 2;
                                }
                            });
                        }
                    });
                    data.iter().sum::<u64>()
                })
            })
            .collect();
        for (w, h) in handles.into_iter().enumerate() {
            assert_eq!(h.join().unwrap(), 2 * (499_500 + 1000 * w as u64));
        }
    });
}

#[test]
fn scope_borrows_stack_data_mutably() {
    let rt = runtime(3);
    let mut numbers: Vec<u64> = (0..10_000).collect();
    let mut counts = [0usize; 8];
    let total = AtomicUsize::new(0);
    let label = String::from("shared read-only");
    rt.scope(|s| {
        for (k, (chunk, count)) in numbers.chunks_mut(1250).zip(counts.iter_mut()).enumerate() {
            let (total, label) = (&total, &label);
            s.spawn(move || {
                assert_eq!(label, "shared read-only");
                for x in chunk.iter_mut() {
                    *x = *x * 10 + k as u64;
                }
                *count = chunk.len();
                total.fetch_add(chunk.len(), Ordering::Relaxed);
            });
        }
    });
    assert_eq!(counts, [1250; 8]);
    assert_eq!(total.into_inner(), 10_000);
    for (i, x) in numbers.iter().enumerate() {
        assert_eq!(*x, i as u64 * 10 + (i / 1250) as u64);
    }
    // The scope's value is returned, and it can mutate a captured variable.
    let mut flag = false;
    let v = rt.scope(|s| {
        s.spawn(|| flag = true);
        17
    });
    assert!(flag);
    assert_eq!(v, 17);
}

#[test]
fn nested_scoped_spawns_and_scoped_join_values() {
    with_hang_guard("nested scoped", || {
        let rt = runtime(4);
        let leaves = AtomicUsize::new(0);
        let mut words = vec![String::from("a"), String::from("bb"), String::from("ccc")];
        let lengths: Vec<usize> = rt.scope(|s| {
            // Spawn from inside scoped tasks, three levels deep.
            for _ in 0..10 {
                let leaves = &leaves;
                s.spawn(move || {
                    for _ in 0..10 {
                        s.spawn(move || {
                            for _ in 0..10 {
                                s.spawn(move || leaves.fetch_add(1, Ordering::Relaxed));
                            }
                        });
                    }
                });
            }
            // A scoped task returning a handle of a nested scoped task.
            let outer = s.spawn(|| s.spawn(|| 40 + 2));
            assert_eq!(outer.join().unwrap().join().unwrap(), 42);
            // Values through ScopedJoinHandle::join, borrowing `words` mutably.
            let handles: Vec<_> = words
                .iter_mut()
                .map(|w| {
                    s.spawn(move || {
                        w.push('!');
                        w.len()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert_eq!(
            leaves.into_inner(),
            1000,
            "all nested tasks finished before scope returned"
        );
        assert_eq!(lengths, [2, 3, 4]);
        assert_eq!(words, ["a!", "bb!", "ccc!"]);
        // is_finished on a scoped handle.
        rt.scope(|s| {
            let h = s.spawn(|| 5);
            common::wait_for("scoped is_finished", || h.is_finished());
            assert_eq!(h.join().unwrap(), 5);
        });
        // fibra::scope from a plain thread (global runtime) also waits for all.
        let count = AtomicUsize::new(0);
        fibra::scope(|s| {
            for _ in 0..100 {
                s.spawn(|| count.fetch_add(1, Ordering::Relaxed));
            }
        });
        assert_eq!(count.into_inner(), 100);
    });
}

/// Regression test (a deadlock without any cycle in the program): a worker
/// waiting in `fibra::join` for its stolen second half must not run an
/// unrelated `join` job that waits (`JoinHandle::join`) for the very task
/// suspended below it on the same stack — neither could ever continue. Here,
/// with 3 workers: T runs `join(a, b)` on W1 and `b` is stolen by W2; S runs
/// `join(c, d)` on W3, where `c` blocks W3 for a moment so that `d` (which
/// joins T's handle) stays offered; then T's `a` returns and T waits for
/// `b`. T waits only for its own `b`, S only for T: both must finish. (The
/// sleeps only arrange the timing; the old deadlock persisted after them.)
#[test]
fn a_stolen_join_job_waiting_for_the_task_below_it_does_not_deadlock() {
    use std::sync::atomic::AtomicBool;
    use std::time::{Duration, Instant};
    let rt = runtime(3);
    let b_started = Arc::new(AtomicBool::new(false));
    let d_offered = Arc::new(AtomicBool::new(false));
    let t = {
        let (b_started, d_offered) = (b_started.clone(), d_offered.clone());
        let b_flag = b_started.clone();
        rt.spawn(move || {
            fibra::join(
                move || {
                    while !(b_started.load(Ordering::SeqCst) && d_offered.load(Ordering::SeqCst)) {
                        std::hint::spin_loop();
                    }
                },
                move || {
                    b_flag.store(true, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(1000));
                },
            );
            "T"
        })
    };
    while !b_started.load(Ordering::SeqCst) {
        std::hint::spin_loop();
    }
    let s = rt.spawn(move || {
        fibra::join(
            move || {
                d_offered.store(true, Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(1000));
            },
            move || t.join().unwrap(),
        )
        .1
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    while !s.is_finished() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    if !s.is_finished() {
        std::mem::forget(rt); // its workers are stuck: dropping it would hang
        panic!("deadlock: S (joining T) and T (waiting for its join half) never finished");
    }
    assert_eq!(s.join().unwrap(), "T");
}
