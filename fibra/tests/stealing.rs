//! Work stealing: tasks spawned on one worker are stolen and run by the
//! others (metrics show steals, and several workers complete tasks); tasks
//! left in the run queue or next slots of a worker that is blocked are stolen
//! and run; a `join` job offered by a blocked worker is stolen and run.

mod common;

use common::{busy_work, with_hang_guard};
use fibra::Runtime;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

/// Long enough that no correct runtime lets a blocked worker's task wait this
/// long; a hang guard only.
const PATIENCE: Duration = Duration::from_secs(60);

#[test]
fn work_fed_to_one_worker_is_stolen_by_the_others() {
    with_hang_guard("stealing metrics", || {
        let rt = Runtime::builder().workers(4).build().unwrap();
        let tasks = 2_000;
        let mut rounds = 0;
        loop {
            rounds += 1;
            // One task on one worker spawns everything (the local path).
            let sum: u64 = rt.block_on(|| {
                let handles: Vec<_> = (0..tasks).map(|_| fibra::spawn(|| busy_work(20) & 1)).collect();
                handles.into_iter().map(|h| h.join().unwrap()).sum()
            });
            assert!(sum <= tasks);
            let m = rt.metrics();
            let total = m.total();
            let busy_workers = m.workers.iter().filter(|w| w.completed > 0).count();
            assert_eq!(total.completed, rounds * (tasks + 1), "{m:?}");
            if total.steal_operations > 0 && total.stolen_tasks > 0 && busy_workers > 1 {
                assert!(total.stolen_tasks >= total.steal_operations, "{m:?}");
                break;
            }
            assert!(rounds < 5, "no stealing after {rounds} rounds: {m:?}");
        }
    });
}

#[test]
fn queued_tasks_of_a_blocked_worker_are_stolen() {
    with_hang_guard("blocked worker's queue", || {
        let rt = Runtime::builder().workers(2).build().unwrap();
        for count in [1, 2, 100, 300, 1000] {
            let ran = &*Box::leak(Box::new(AtomicUsize::new(0)));
            let (all_ran_tx, all_ran_rx) = mpsc::channel::<()>();
            let blocked = rt.spawn(move || {
                // Queue `count` tasks locally (the last 16 in the next slots, the
                // rest in the run queue and, beyond 256, the global queue),
                // then block this worker until the other one ran them all.
                let handles: Vec<_> = (0..count)
                    .map(|_| {
                        fibra::spawn(move || {
                            ran.fetch_add(1, Ordering::SeqCst);
                        })
                    })
                    .collect();
                all_ran_rx
                    .recv_timeout(PATIENCE)
                    .expect("the other worker never ran this worker's tasks");
                handles.into_iter().for_each(|h| assert!(h.is_finished()));
            });
            common::wait_for("the stolen tasks", || ran.load(Ordering::SeqCst) == count);
            all_ran_tx.send(()).unwrap();
            blocked.join().unwrap();
        }
        let total = rt.metrics().total();
        assert!(total.stolen_tasks > 0, "{total:?}");
    });
}

#[test]
fn a_join_job_of_a_blocked_worker_is_stolen() {
    with_hang_guard("join job", || {
        let rt = Runtime::builder().workers(2).build().unwrap();
        for _ in 0..20 {
            let (b_ran_tx, b_ran_rx) = mpsc::channel::<()>();
            let (a, b) = rt.block_on(|| {
                fibra::join(
                    // `a` blocks its worker until `b` ran: `b` must be stolen.
                    move || {
                        b_ran_rx.recv_timeout(PATIENCE).expect("b was never stolen");
                        std::thread::current().id()
                    },
                    move || {
                        b_ran_tx.send(()).unwrap();
                        std::thread::current().id()
                    },
                )
            });
            assert_ne!(a, b, "b ran on another worker");
        }
        assert!(rt.metrics().total().stolen_tasks >= 20);
    });
}
