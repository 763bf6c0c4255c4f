//! Tasks that block: a waiting task parks its fiber and its worker runs
//! other tasks; a started task never changes OS thread; 100,000 tasks can be
//! blocked at once and each resumes exactly once; a fiber stack overflow is
//! reported by name; `FIBRA_FIBERS=0` turns fibers off.

mod common;

use common::{runtime, with_hang_guard};
use fibra::sync::WaitGroup;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

fn thread_id() -> std::thread::ThreadId {
    std::thread::current().id()
}

#[test]
fn one_worker_runs_other_tasks_while_one_waits() {
    with_hang_guard("one worker", || {
        // With a single worker, the waiting task must park for the task it
        // waits for to run at all.
        let rt = runtime(1);
        let gate = WaitGroup::new();
        gate.add(1);
        let opened = {
            let gate = gate.clone();
            rt.spawn(move || {
                gate.wait();
                "through"
            })
        };
        let opener = rt.spawn(move || gate.done());
        opener.join().unwrap();
        assert_eq!(opened.join().unwrap(), "through");
    });
}

#[test]
fn a_started_task_stays_on_its_thread_across_blocking_calls() {
    with_hang_guard("same thread", || {
        let rt = runtime(4);
        let moved = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..64)
            .map(|i| {
                let moved = moved.clone();
                rt.spawn(move || {
                    let check = |before| {
                        if thread_id() != before {
                            moved.fetch_add(1, Ordering::Relaxed);
                        }
                    };
                    for round in 0..20u64 {
                        let before = thread_id();
                        // JoinHandle::join of a task that is busy elsewhere.
                        let other = fibra::spawn(move || (0..(i * 100 + round)).sum::<u64>());
                        other.join().unwrap();
                        check(before);
                        let before = thread_id();
                        fibra::yield_now();
                        check(before);
                        let before = thread_id();
                        let wg = WaitGroup::new();
                        wg.add(1);
                        let done = wg.clone();
                        fibra::spawn(move || done.done());
                        wg.wait();
                        check(before);
                    }
                })
            })
            .collect();
        tasks.into_iter().for_each(|t| t.join().unwrap());
        assert_eq!(moved.load(Ordering::Relaxed), 0, "a started task changed thread");
    });
}

#[test]
fn a_hundred_thousand_blocked_tasks_each_resume_once() {
    with_hang_guard("100k blocked", || {
        const TASKS: usize = 100_000;
        let rt = runtime(2);
        let gate = WaitGroup::new();
        gate.add(1);
        let blocked = WaitGroup::new();
        let finished = WaitGroup::new();
        let resumed = Arc::new(AtomicUsize::new(0));
        for _ in 0..TASKS {
            blocked.add(1);
            finished.add(1);
            let (gate, blocked, finished, resumed) =
                (gate.clone(), blocked.clone(), finished.clone(), resumed.clone());
            rt.spawn(move || {
                blocked.done();
                gate.wait();
                resumed.fetch_add(1, Ordering::Relaxed);
                finished.done();
            });
        }
        blocked.wait(); // every task is inside gate.wait() or about to be
        assert_eq!(resumed.load(Ordering::Relaxed), 0, "nobody passes a closed gate");
        gate.done();
        finished.wait();
        assert_eq!(resumed.load(Ordering::Relaxed), TASKS);
    });
}

/// `Metrics::parked_fibers` is a gauge of the fibers blocked now, and
/// `fiber_parks` counts every park: two rounds of tasks, each task blocked
/// on a channel of its own until the test sends to it.
#[test]
fn metrics_count_parked_fibers() {
    with_hang_guard("parked gauge", || {
        const TASKS: u64 = 1_000;
        let rt = runtime(2);
        for round in 1..=2 {
            let (senders, tasks): (Vec<_>, Vec<_>) = (0..TASKS)
                .map(|i| {
                    let (tx, rx) = fibra::chan::bounded::<u64>(0);
                    (tx, rt.spawn(move || rx.recv().unwrap() + i))
                })
                .unzip();
            while rt.metrics().total().parked_fibers < TASKS {
                std::thread::yield_now();
            }
            let metrics = rt.metrics();
            assert_eq!(metrics.total().parked_fibers, TASKS, "no other fiber is parked");
            let per_worker: u64 = metrics.workers.iter().map(|w| w.parked_fibers).sum();
            assert_eq!(per_worker, TASKS);
            assert!(metrics.total().fiber_parks >= round * TASKS, "{metrics:?}");
            for tx in &senders {
                tx.send(1).unwrap();
            }
            let sum: u64 = tasks.into_iter().map(|t| t.join().unwrap()).sum();
            assert_eq!(sum, TASKS + TASKS * (TASKS - 1) / 2);
            // A fiber leaves the gauge before its task resumes, so before
            // its `join` returns.
            assert_eq!(rt.metrics().total().parked_fibers, 0);
        }
    });
}

#[test]
fn a_deep_chain_of_joins_parks_instead_of_overflowing() {
    with_hang_guard("deep chain", || {
        fn chain(depth: u32) -> u32 {
            if depth == 0 {
                return 0;
            }
            fibra::spawn(move || chain(depth - 1)).join().unwrap() + 1
        }
        let rt = runtime(2);
        assert_eq!(rt.block_on(|| chain(20_000)), 20_000);
    });
}

/// Child process: a task recurses without bound on its fiber stack (of the
/// default size).
#[test]
fn overflow_child() {
    if std::env::var_os("FIBRA_OVERFLOW_CHILD").is_none() {
        return;
    }
    #[allow(unconditional_recursion)] // it is meant to overflow
    fn recurse(depth: u64) -> u64 {
        let frame = [depth; 64];
        std::hint::black_box(&frame);
        recurse(depth + 1) + frame[3]
    }
    let rt = runtime(1);
    let _ = rt.spawn(|| recurse(0)).join();
    unreachable!("the overflow aborts the process");
}

#[test]
fn a_fiber_stack_overflow_is_reported_by_name() {
    let output = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "overflow_child", "--nocapture", "--test-threads=1"])
        .env("FIBRA_OVERFLOW_CHILD", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "the child must die: {stderr}");
    assert!(stderr.contains("fiber stack overflow"), "stderr: {stderr}");
}

/// Child process: the same kinds of waits with fibers turned off.
#[test]
fn fibers_off_child() {
    if std::env::var_os(fibra::FIBERS_ENV).is_none() {
        return;
    }
    fn fib(n: u64) -> u64 {
        if n < 2 {
            return n;
        }
        let (a, b) = fibra::join(|| fib(n - 1), || fib(n - 2));
        a + b
    }
    let rt = runtime(2);
    assert_eq!(rt.block_on(|| fib(20)), 6765);
    let total: u64 = rt.block_on(|| {
        let handles: Vec<_> = (0..1000u64).map(|i| fibra::spawn(move || i)).collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    });
    assert_eq!(total, 499_500);
    println!("fibers-off child ok");
}

#[test]
fn fibra_fibers_0_runs_tasks_without_fibers() {
    let output = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "fibers_off_child", "--nocapture", "--test-threads=1"])
        .env(fibra::FIBERS_ENV, "0")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("fibers-off child ok"), "{stdout}");
}

#[test]
fn shutdown_lets_a_blocked_task_finish() {
    with_hang_guard("blocked at shutdown", || {
        let rt = runtime(2);
        let gate = WaitGroup::new();
        gate.add(1);
        let (started, finished) = (WaitGroup::new(), Arc::new(AtomicUsize::new(0)));
        started.add(1);
        {
            let (gate, started, finished) = (gate.clone(), started.clone(), finished.clone());
            rt.spawn(move || {
                started.done();
                gate.wait();
                finished.fetch_add(1, Ordering::SeqCst);
            });
        }
        started.wait();
        // Blocked: the shutdown cannot finish in time, and does not cancel it.
        assert!(!rt.shutdown_timeout(std::time::Duration::from_millis(50)));
        assert_eq!(finished.load(Ordering::SeqCst), 0);
        gate.done();
        common::wait_for("the blocked task to finish", || {
            finished.load(Ordering::SeqCst) == 1
        });
    });
}

#[test]
fn yielding_tasks_do_not_starve_tasks_spawned_from_outside() {
    with_hang_guard("yield fairness", || {
        // One worker, busy with tasks that only yield until a flag is set by
        // a task that can only arrive through the global queue.
        let rt = runtime(1);
        let flag = Arc::new(AtomicUsize::new(0));
        let started = WaitGroup::new();
        started.add(4);
        let yielders: Vec<_> = (0..4)
            .map(|_| {
                let (flag, started) = (flag.clone(), started.clone());
                rt.spawn(move || {
                    started.done();
                    while flag.load(Ordering::Acquire) == 0 {
                        fibra::yield_now();
                    }
                })
            })
            .collect();
        started.wait(); // every yielder is in its loop
        let setter = {
            let flag = flag.clone();
            rt.spawn(move || flag.store(1, Ordering::Release))
        };
        setter.join().unwrap();
        // The check is that this returns at all (the hang guard): the
        // yielders loop until the setter, queued behind them, has run.
        yielders.into_iter().for_each(|h| {
            h.join().unwrap();
        });
    });
}
