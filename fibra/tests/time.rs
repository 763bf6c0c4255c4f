//! `fibra::time`: a sleep never ends before its deadline, on a fiber or on a
//! plain thread; 100,000 sleeping tasks each wake exactly once; sleeps on
//! one worker end in deadline order; a worker runs other tasks while one
//! sleeps; a task sleeping at shutdown finishes. No test bounds how *late* a
//! sleep may end (machines are shared and slow).

mod common;

use common::{runtime, with_hang_guard, RunTracker};
use fibra::time::{sleep, sleep_until};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

/// Sleeps of 0 to 25 ms, and `sleep_until` an instant, in tasks on two
/// workers: none returns before its deadline.
#[test]
fn a_sleep_never_ends_before_its_deadline() {
    with_hang_guard("sleep lower bound", || {
        let rt = runtime(2);
        let lengths_us = [0, 1, 100, 999, 1_000, 1_001, 2_500, 10_000, 25_000];
        let tasks: Vec<_> = (0..lengths_us.len() * 20)
            .map(|i| {
                let length = Duration::from_micros(lengths_us[i % lengths_us.len()]);
                rt.spawn(move || {
                    let start = Instant::now();
                    if i % 2 == 0 {
                        sleep(length);
                    } else {
                        sleep_until(start + length);
                    }
                    (length, start.elapsed())
                })
            })
            .collect();
        for task in tasks {
            let (length, elapsed) = task.join().unwrap();
            assert!(elapsed >= length, "slept {elapsed:?} of {length:?}");
        }
    });
}

#[test]
fn a_sleep_off_the_workers_sleeps_the_thread() {
    let start = Instant::now();
    sleep(Duration::from_millis(3));
    assert!(start.elapsed() >= Duration::from_millis(3));
    let deadline = Instant::now() + Duration::from_millis(2);
    sleep_until(deadline);
    assert!(Instant::now() >= deadline);
    sleep_until(start); // in the past: returns at once
    sleep(Duration::ZERO);
}

#[test]
fn a_hundred_thousand_sleeping_tasks_each_wake_once() {
    with_hang_guard("100k sleepers", || {
        const TASKS: usize = 100_000;
        let rt = runtime(2);
        let woken = RunTracker::leak(TASKS);
        let early = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..TASKS)
            .map(|i| {
                let early = early.clone();
                rt.spawn(move || {
                    let length = Duration::from_millis(1 + (i % 5) as u64);
                    let start = Instant::now();
                    sleep(length);
                    if start.elapsed() < length {
                        early.fetch_add(1, Ordering::Relaxed);
                    }
                    woken.record(i);
                })
            })
            .collect();
        for task in tasks {
            task.join().unwrap();
        }
        woken.assert_each_ran_once();
        assert_eq!(early.load(Ordering::Relaxed), 0, "sleeps that ended early");
    });
}

/// On one worker, tasks sleeping until distinct instants (given in shuffled
/// order, 3 ms apart, so in distinct timer ticks) wake in deadline order.
/// A run in which some task started sleeping only after the first deadline
/// (a stall of the whole machine) proves nothing and is run again.
#[test]
fn sleeps_on_one_worker_end_in_deadline_order() {
    with_hang_guard("deadline order", || {
        let rt = runtime(1);
        const ORDER: [u64; 8] = [5, 2, 7, 0, 3, 6, 1, 4];
        for _attempt in 0..10 {
            let (woke, started_in_time) = rt.block_on(|| {
                let first_deadline = Instant::now() + Duration::from_millis(30);
                let woke = Arc::new(Mutex::new(Vec::new()));
                let late_starts = Arc::new(AtomicUsize::new(0));
                let tasks: Vec<_> = ORDER
                    .iter()
                    .map(|&rank| {
                        let (woke, late_starts) = (woke.clone(), late_starts.clone());
                        fibra::spawn(move || {
                            let deadline = first_deadline + Duration::from_millis(3 * rank);
                            if Instant::now() + Duration::from_millis(1) >= first_deadline {
                                late_starts.fetch_add(1, Ordering::Relaxed);
                            }
                            sleep_until(deadline);
                            woke.lock().unwrap().push(rank);
                        })
                    })
                    .collect();
                for task in tasks {
                    task.join().unwrap();
                }
                let woke = woke.lock().unwrap().clone();
                (woke, late_starts.load(Ordering::Relaxed) == 0)
            });
            if started_in_time {
                assert_eq!(woke, [0, 1, 2, 3, 4, 5, 6, 7]);
                return;
            }
        }
        panic!("every attempt was stalled: the machine is too busy for this test");
    });
}

/// With a single worker, a task that sleeps must not hold the worker: the
/// task it spawned runs while it sleeps (if sleeping blocked the thread,
/// the sleeper would wait for ever).
#[test]
fn one_worker_runs_other_tasks_while_one_sleeps() {
    with_hang_guard("one worker", || {
        let rt = runtime(1);
        // The check is the hang guard: on one worker, the loop below ends
        // only if the other task runs while this one sleeps.
        rt.block_on(|| {
            // Release/Acquire: pairs the other task's store with our loop's load.
            let other_ran = Arc::new(AtomicBool::new(false));
            let other = {
                let other_ran = other_ran.clone();
                fibra::spawn(move || other_ran.store(true, Ordering::Release))
            };
            while !other_ran.load(Ordering::Acquire) {
                sleep(Duration::from_millis(1));
            }
            other.join().unwrap();
        });
    });
}

/// A sleeping task counts as running: shutdown waits for it to wake and
/// finish instead of cancelling it.
#[test]
fn a_task_sleeping_at_shutdown_finishes() {
    with_hang_guard("sleep at shutdown", || {
        let rt = runtime(2);
        let (started_tx, started_rx) = mpsc::channel();
        let finished = Arc::new(AtomicBool::new(false));
        let sleeper = {
            let finished = finished.clone();
            rt.spawn(move || {
                started_tx.send(()).unwrap();
                sleep(Duration::from_millis(30));
                finished.store(true, Ordering::Release);
                "slept"
            })
        };
        started_rx.recv().unwrap();
        rt.shutdown();
        assert!(
            finished.load(Ordering::Acquire),
            "shutdown returned before the sleeper woke"
        );
        assert_eq!(sleeper.join().unwrap(), "slept");
    });
}
