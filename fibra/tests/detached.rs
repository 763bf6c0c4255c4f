//! `spawn_detached`: every detached task runs exactly once, from outside
//! and from inside tasks (deep chains of detached spawns included); a
//! panicking one leaves its worker alive; at shutdown each queued detached
//! closure is run or dropped exactly once, and one spawned after shutdown is
//! dropped unrun.

mod common;

use common::{runtime, silence_intentional_panics, wait_for, with_hang_guard, RunTracker, INTENTIONAL};
use fibra::sync::WaitGroup;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};

#[test]
fn detached_tasks_run_exactly_once_from_outside_and_inside() {
    with_hang_guard("detached", || {
        const N: usize = 50_000;
        let rt = runtime(2);
        let outside = RunTracker::leak(N);
        let inside = RunTracker::leak(N);
        let wg = WaitGroup::new();
        wg.add(2 * N);
        for i in 0..N {
            let wg = wg.clone();
            rt.spawn_detached(move || {
                outside.record(i);
                wg.done();
            });
        }
        let spawner_wg = wg.clone();
        rt.block_on(move || {
            for i in 0..N {
                let wg = spawner_wg.clone();
                fibra::spawn_detached(move || {
                    inside.record(i);
                    wg.done();
                });
            }
        });
        wg.wait();
        outside.assert_each_ran_once();
        inside.assert_each_ran_once();
        let metrics = rt.metrics();
        assert_eq!(metrics.spawned_outside, N as u64 + 1); // + block_on's task
        assert_eq!(metrics.total().completed, 2 * N as u64 + 1); // + block_on's task
    });
}

/// Each hop spawns the next, detached (the chained-spawn benchmark's shape).
fn hop(i: usize, n: usize, done: mpsc::Sender<usize>) {
    if i == n {
        done.send(i).unwrap();
    } else {
        fibra::spawn_detached(move || hop(i + 1, n, done));
    }
}

#[test]
fn a_chain_of_detached_spawns_completes() {
    with_hang_guard("detached chain", || {
        let rt = runtime(2);
        let (done, finished) = mpsc::channel();
        rt.spawn_detached(move || hop(0, 100_000, done));
        assert_eq!(finished.recv().unwrap(), 100_000);
    });
}

#[test]
fn a_panicking_detached_task_leaves_its_worker_running() {
    silence_intentional_panics();
    with_hang_guard("detached panic", || {
        let rt = runtime(1);
        for _ in 0..10 {
            rt.spawn_detached(|| panic!("{INTENTIONAL}"));
        }
        assert_eq!(rt.spawn(|| 7).join().unwrap(), 7);
        // The ten panicking tasks ran too (a panicked task counts as completed).
        wait_for("the panicking tasks ran", || rt.metrics().total().completed >= 11);
    });
}

/// Counts its drops.
struct Guard(Arc<AtomicUsize>);

impl Drop for Guard {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn shutdown_runs_or_drops_each_queued_detached_task_exactly_once() {
    with_hang_guard("detached shutdown", || {
        const QUEUED: usize = 20_000;
        let rt = runtime(1);
        let (runs, drops) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        // Hold the only worker so that the detached tasks stay queued.
        let (started_tx, started_rx) = mpsc::channel();
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let blocker = rt.spawn(move || {
            started_tx.send(()).unwrap();
            release_rx.recv().unwrap();
        });
        started_rx.recv().unwrap();
        for _ in 0..QUEUED {
            let (guard, runs) = (Guard(drops.clone()), runs.clone());
            rt.spawn_detached(move || {
                let _guard = guard;
                runs.fetch_add(1, Ordering::SeqCst);
            });
        }
        let handle = rt.handle().clone();
        release_tx.send(()).unwrap();
        rt.shutdown();
        blocker.join().unwrap();
        assert_eq!(drops.load(Ordering::SeqCst), QUEUED, "each closure dropped once");
        let cancelled = handle.metrics().cancelled as usize;
        assert_eq!(runs.load(Ordering::SeqCst) + cancelled, QUEUED);
        // After shutdown: dropped unrun.
        let late = Guard(drops.clone());
        handle.spawn_detached(move || {
            let _late = late;
            unreachable!("a task spawned after shutdown ran");
        });
        assert_eq!(drops.load(Ordering::SeqCst), QUEUED + 1);
    });
}
