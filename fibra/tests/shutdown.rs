//! Shutdown: with 100,000 tasks queued behind a blocked single worker, every
//! closure is either run or dropped unrun exactly once (nothing leaked, no
//! double drop) and the handles of the dropped ones report cancellation;
//! spawning after shutdown began gives a cancelled handle and drops the
//! closure unrun (from outside through a `Handle`, and from a task running
//! during shutdown); `block_on` and `scope` on a shut-down runtime panic as
//! documented; `shutdown_timeout` reports an idle runtime as finished and a
//! still-running task as not; dropping a runtime without calling `shutdown`
//! joins its worker threads.

mod common;

use common::{silence_intentional_panics, wait_for, with_hang_guard};
use fibra::{Handle, JoinHandle, Runtime};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Barrier};
use std::time::Duration;

const QUEUED: usize = 100_000;

/// Per-test counters: closures run, and captured guards dropped.
#[derive(Default)]
struct Counters {
    runs: AtomicUsize,
    drops: AtomicUsize,
}

/// Captured by every task; counts its drop (whether the task ran or not).
struct Guard(&'static Counters);

impl Drop for Guard {
    fn drop(&mut self) {
        self.0.drops.fetch_add(1, Ordering::SeqCst);
    }
}

fn counters() -> &'static Counters {
    Box::leak(Box::default())
}

/// Spawns a task that occupies the runtime's only worker until `release`
/// receives; returns once it is running.
fn block_the_worker(handle: &Handle) -> (JoinHandle<()>, mpsc::Sender<()>) {
    let (started_tx, started_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let blocker = handle.spawn(move || {
        started_tx.send(()).unwrap();
        release_rx.recv().unwrap();
    });
    started_rx.recv().unwrap();
    (blocker, release_tx)
}

/// Queues `QUEUED` counted tasks from outside; half of them carry a closure
/// larger than the inline payload (the boxed path).
fn queue_counted_tasks(handle: &Handle, c: &'static Counters) -> Vec<JoinHandle<usize>> {
    (0..QUEUED)
        .map(|i| {
            let guard = Guard(c);
            if i % 2 == 0 {
                handle.spawn(move || {
                    let _guard = &guard;
                    c.runs.fetch_add(1, Ordering::SeqCst);
                    i
                })
            } else {
                let padding = [i as u8; 128];
                handle.spawn(move || {
                    let _guard = &guard;
                    assert_eq!(padding[127], i as u8);
                    c.runs.fetch_add(1, Ordering::SeqCst);
                    i
                })
            }
        })
        .collect()
}

/// Joins every handle; checks values; returns how many were cancelled.
fn join_all(handles: Vec<JoinHandle<usize>>) -> usize {
    let mut cancelled = 0;
    for (i, h) in handles.into_iter().enumerate() {
        match h.join() {
            Ok(value) => assert_eq!(value, i),
            Err(error) => {
                assert!(error.is_cancelled() && !error.is_panic(), "{error:?}");
                assert!(error.to_string().contains("cancelled"), "{error}");
                cancelled += 1;
            }
        }
    }
    cancelled
}

#[test]
fn shutdown_with_100k_queued_runs_or_drops_each_exactly_once() {
    with_hang_guard("100k queued", || {
        for round in 0..3 {
            let c = counters();
            let rt = Runtime::builder().workers(1).build().unwrap();
            let handle = rt.handle().clone();
            let (blocker, release) = block_the_worker(&handle);
            let handles = queue_counted_tasks(&handle, c);
            assert_eq!(c.runs.load(Ordering::SeqCst), 0);
            assert_eq!(c.drops.load(Ordering::SeqCst), 0);
            // Release the blocker and shut down at once (or drop the runtime).
            release.send(()).unwrap();
            if round == 2 {
                drop(rt);
            } else {
                rt.shutdown();
            }
            blocker.join().unwrap();
            let runs = c.runs.load(Ordering::SeqCst);
            assert_eq!(
                c.drops.load(Ordering::SeqCst),
                QUEUED,
                "every closure dropped exactly once (ran: {runs})"
            );
            let cancelled = join_all(handles);
            assert_eq!(runs + cancelled, QUEUED);
            assert_eq!(handle.metrics().cancelled, cancelled as u64);
            assert_eq!(c.drops.load(Ordering::SeqCst), QUEUED, "no further drops");
        }
    });
}

#[test]
fn shutdown_begun_before_the_worker_is_free_cancels_every_queued_task() {
    with_hang_guard("shutdown first", || {
        let c = counters();
        let rt = Runtime::builder().workers(1).build().unwrap();
        let handle = rt.handle().clone();
        let (blocker, release) = block_the_worker(&handle);
        let handles = queue_counted_tasks(&handle, c);
        // Shut down on another thread while the worker is still blocked.
        let shutting_down = std::thread::spawn(move || rt.shutdown());
        // Once the runtime is closed, a new spawn is cancelled at once.
        let probes = counters();
        loop {
            let probe = handle.spawn(move || {
                let _guard = Guard(probes);
                probes.runs.fetch_add(1, Ordering::SeqCst);
            });
            if probe.is_finished() {
                assert!(probe.join().unwrap_err().is_cancelled());
                break;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        release.send(()).unwrap();
        shutting_down.join().unwrap();
        blocker.join().unwrap();
        assert_eq!(
            c.runs.load(Ordering::SeqCst),
            0,
            "nothing runs after shutdown began"
        );
        assert_eq!(c.drops.load(Ordering::SeqCst), QUEUED);
        assert_eq!(join_all(handles), QUEUED);
        assert_eq!(probes.runs.load(Ordering::SeqCst), 0);
    });
}

#[test]
fn shutdown_of_a_busy_multi_worker_runtime_accounts_for_every_task() {
    with_hang_guard("busy shutdown", || {
        for _ in 0..5 {
            let c = counters();
            let rt = Runtime::builder().workers(4).build().unwrap();
            let handle = rt.handle().clone();
            // Tasks that keep spawning from inside while we shut down.
            let spawners: Vec<JoinHandle<()>> = (0..4)
                .map(|_| {
                    rt.spawn(move || {
                        for _ in 0..2_000 {
                            let guard = Guard(c);
                            drop(fibra::spawn(move || {
                                let _guard = guard;
                                c.runs.fetch_add(1, Ordering::SeqCst);
                            }));
                        }
                    })
                })
                .collect();
            let outside = queue_counted_tasks(&handle, c);
            rt.shutdown();
            let mut spawner_runs = 0;
            for s in spawners {
                if s.join().is_ok() {
                    spawner_runs += 1;
                }
            }
            let cancelled_outside = join_all(outside);
            let total = QUEUED + spawner_runs * 2_000;
            assert_eq!(
                c.drops.load(Ordering::SeqCst),
                total,
                "every closure dropped exactly once"
            );
            let runs = c.runs.load(Ordering::SeqCst);
            assert!(runs + cancelled_outside <= total);
            assert_eq!(
                handle.metrics().cancelled as usize,
                total - runs + (4 - spawner_runs)
            );
        }
    });
}

#[test]
fn spawn_after_shutdown_is_cancelled_and_the_closure_dropped() {
    let c = counters();
    let rt = Runtime::builder().workers(2).build().unwrap();
    let handle = rt.handle().clone();
    rt.shutdown();
    let guard = Guard(c);
    let h = handle.spawn(move || {
        let _guard = guard;
        c.runs.fetch_add(1, Ordering::SeqCst);
        1
    });
    assert!(h.is_finished());
    let error = h.join().unwrap_err();
    assert!(error.is_cancelled());
    assert!(!error.is_panic());
    assert!(error.try_into_panic().is_err());
    assert_eq!(c.runs.load(Ordering::SeqCst), 0);
    assert_eq!(c.drops.load(Ordering::SeqCst), 1);
    // A big (boxed) closure too.
    let padding = [1u8; 500];
    let guard = Guard(c);
    let h = handle.spawn(move || {
        let _guard = guard;
        padding[0]
    });
    assert!(h.join().unwrap_err().is_cancelled());
    assert_eq!(c.drops.load(Ordering::SeqCst), 2);
    assert_eq!(handle.metrics().cancelled, 2);
}

#[test]
fn block_on_and_scope_after_shutdown_panic() {
    silence_intentional_panics();
    let rt = Runtime::builder().workers(2).build().unwrap();
    let handle = rt.handle().clone();
    rt.shutdown();
    let c = counters();
    let guard = Guard(c);
    let caught = catch_unwind(AssertUnwindSafe(|| {
        handle.block_on(move || {
            let _guard = guard;
            c.runs.fetch_add(1, Ordering::SeqCst);
        })
    }));
    let payload = caught.expect_err("block_on on a shut-down runtime panics");
    let message = common::panic_message(&*payload).unwrap_or("");
    assert!(message.contains("shut down"), "{message}");
    assert_eq!(
        (c.runs.load(Ordering::SeqCst), c.drops.load(Ordering::SeqCst)),
        (0, 1)
    );

    let caught = catch_unwind(AssertUnwindSafe(|| {
        handle.scope(|s| {
            for _ in 0..3 {
                let guard = Guard(c);
                s.spawn(move || {
                    let _guard = guard;
                    c.runs.fetch_add(1, Ordering::SeqCst);
                });
            }
        })
    }));
    let payload = caught.expect_err("scoped tasks that never ran make scope panic");
    let message = common::panic_message(&*payload).unwrap_or("");
    assert!(message.contains("3 scoped task(s) never ran"), "{message}");
    assert_eq!(
        (c.runs.load(Ordering::SeqCst), c.drops.load(Ordering::SeqCst)),
        (0, 4)
    );

    // A joined scoped handle of a cancelled task reports an error (and the
    // scope still panics: it documents that for any cancelled task).
    let mut joined = None;
    let caught = catch_unwind(AssertUnwindSafe(|| {
        handle.scope(|s| joined = Some(s.spawn(|| 1).join()))
    }));
    let error = joined
        .expect("the scope body ran")
        .expect_err("a cancelled scoped task");
    assert!(common::panic_message(&*error).is_some_and(|m| m.contains("cancelled")));
    assert!(caught.is_err());
}

#[test]
fn a_task_spawning_during_shutdown_gets_cancelled_handles() {
    with_hang_guard("spawn during shutdown", || {
        let rt = Runtime::builder().workers(2).build().unwrap();
        let c = counters();
        let (started_tx, started_rx) = mpsc::channel();
        let task = rt.spawn(move || {
            started_tx.send(()).unwrap();
            // Spawn and join until the runtime is closed: then a spawn is
            // refused, and joining its handle returns at once.
            loop {
                let guard = Guard(c);
                let child = fibra::spawn(move || {
                    let _guard = guard;
                    c.runs.fetch_add(1, Ordering::SeqCst);
                });
                if let Err(error) = child.join() {
                    assert!(error.is_cancelled());
                    break;
                }
                std::thread::sleep(Duration::from_millis(1));
            }
            // Still closed: more spawns are cancelled, not queued.
            let hs: Vec<_> = (0..100).map(|_| fibra::spawn(|| 1)).collect();
            let mut cancelled = 0;
            for h in hs {
                if h.is_finished() && h.join().unwrap_err().is_cancelled() {
                    cancelled += 1;
                }
            }
            cancelled
        });
        started_rx.recv().unwrap();
        rt.shutdown();
        assert_eq!(task.join().unwrap(), 100);
        let runs = c.runs.load(Ordering::SeqCst);
        assert_eq!(
            c.drops.load(Ordering::SeqCst),
            runs + 1,
            "one child was cancelled"
        );
    });
}

#[test]
fn shutdown_timeout_reports_whether_workers_finished() {
    with_hang_guard("shutdown_timeout", || {
        // Idle: finishes in time.
        let rt = Runtime::builder().workers(3).build().unwrap();
        assert_eq!(rt.block_on(|| 7), 7);
        assert!(rt.shutdown_timeout(Duration::from_secs(60)));

        // A task still running past the timeout: not finished.
        let rt = Runtime::builder().workers(2).build().unwrap();
        let handle = rt.handle().clone();
        let (blocker, release) = block_the_worker(&handle);
        let c = counters();
        let guard = Guard(c);
        let queued = handle.spawn(move || {
            let _guard = guard;
            c.runs.fetch_add(1, Ordering::SeqCst);
        });
        assert!(!rt.shutdown_timeout(Duration::from_millis(50)));
        assert!(!blocker.is_finished());
        // The blocked worker finishes in the background once released.
        release.send(()).unwrap();
        blocker.join().unwrap();
        // The queued task was run before the close or cancelled; either way
        // its closure is dropped exactly once.
        let _ = queued.join();
        wait_for("the queued closure's drop", || {
            c.drops.load(Ordering::SeqCst) == 1
        });
        // Spawns are refused from the moment shutdown_timeout was called.
        assert!(handle.spawn(|| 1).join().unwrap_err().is_cancelled());
    });
}

thread_local! {
    static EXIT_NOTICE: std::cell::RefCell<Option<ExitNotice>> = const { std::cell::RefCell::new(None) };
}

/// Stored in a worker's thread-local: counts the worker thread's exit.
struct ExitNotice(Arc<AtomicUsize>);

impl Drop for ExitNotice {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn dropping_the_runtime_joins_its_workers() {
    with_hang_guard("drop joins", || {
        for workers in [1, 2, 4] {
            let rt = Runtime::builder().workers(workers).build().unwrap();
            let exited = Arc::new(AtomicUsize::new(0));
            // One task per worker, held at a barrier so that each runs on a
            // different worker, registers that worker's exit notice.
            let barrier = Arc::new(Barrier::new(workers));
            let hs: Vec<_> = (0..workers)
                .map(|_| {
                    let (barrier, exited) = (barrier.clone(), exited.clone());
                    rt.spawn(move || {
                        EXIT_NOTICE.with(|n| *n.borrow_mut() = Some(ExitNotice(exited)));
                        barrier.wait();
                    })
                })
                .collect();
            hs.into_iter().for_each(|h| h.join().unwrap());
            // Some work left in flight, then drop without shutdown.
            let detached: Vec<_> = (0..1000).map(|i| rt.spawn(move || i)).collect();
            assert_eq!(exited.load(Ordering::SeqCst), 0);
            drop(rt);
            assert_eq!(
                exited.load(Ordering::SeqCst),
                workers,
                "every worker thread has exited"
            );
            for (i, h) in detached.into_iter().enumerate() {
                match h.join() {
                    Ok(v) => assert_eq!(v, i),
                    Err(e) => assert!(e.is_cancelled()),
                }
            }
        }
    });
}

/// Captured by a task; panics when dropped unrun.
struct PanicsOnDrop;

impl Drop for PanicsOnDrop {
    fn drop(&mut self) {
        panic!("intentional test panic: closure drop at shutdown");
    }
}

/// Regression test: a queued closure whose captured value panics in `Drop`
/// when shutdown cancels it must not stop the drain. (It used to unwind out
/// of the worker: the tasks queued after it were never cancelled, their
/// handles' `join` waited forever, and `shutdown` never returned.)
#[test]
fn a_panicking_closure_drop_at_shutdown_does_not_stop_the_drain() {
    silence_intentional_panics();
    let c = counters();
    let rt = Runtime::builder().workers(1).build().unwrap();
    let handle = rt.handle().clone();
    let (blocker, release) = block_the_worker(&handle);
    let bomb = PanicsOnDrop;
    let first = handle.spawn(move || {
        std::mem::forget(bomb);
    });
    let after: Vec<_> = (0..100)
        .map(|_| {
            let guard = Guard(c);
            handle.spawn(move || {
                let _guard = guard;
                c.runs.fetch_add(1, Ordering::SeqCst);
            })
        })
        .collect();
    let releaser = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        release.send(()).unwrap();
    });
    let finished = rt.shutdown_timeout(Duration::from_secs(30));
    releaser.join().unwrap();
    blocker.join().unwrap();
    assert!(finished, "the worker never finished shutting down");
    assert!(first.is_finished());
    assert!(
        after.iter().all(JoinHandle::is_finished),
        "tasks queued after the panicking one were never cancelled"
    );
    assert_eq!(c.drops.load(Ordering::SeqCst), 100);
}
