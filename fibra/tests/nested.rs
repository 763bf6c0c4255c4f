//! Tasks spawning tasks: a deep chain (10,000 tasks, each spawning the next,
//! detached or joined) and a wide tree (fan-out 10, depth 5: 111,111 tasks),
//! every task counted exactly once, both detached and with results joined
//! back up the tree (where waiting tasks must not nest unrelated tasks on one
//! stack); and a tree of nested scopes.

mod common;

use common::{runtime, scaled, with_hang_guard, RunTracker};
use fibra::{JoinHandle, Runtime};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

const CHAIN: usize = 10_000;
const FAN_OUT: usize = 10;
const DEPTH: u32 = 5;
/// 1 + 10 + 100 + 1,000 + 10,000 + 100,000.
const TREE: usize = 111_111;

/// Task `i` of the chain records itself, then spawns task `i + 1` (detached);
/// the last one reports.
fn chain_link(i: usize, tracker: &'static RunTracker, done: mpsc::Sender<usize>) {
    tracker.record(i);
    if i + 1 < tracker.len() {
        drop(fibra::spawn(move || chain_link(i + 1, tracker, done)));
    } else {
        done.send(i).unwrap();
    }
}

#[test]
fn deep_chain_each_task_spawning_the_next() {
    with_hang_guard("deep chain", || {
        let rt = runtime(4);
        // Started from outside, and from inside a task.
        for from_inside in [false, true] {
            let tracker = RunTracker::leak(CHAIN);
            let (done_tx, done_rx) = mpsc::channel();
            if from_inside {
                rt.block_on(|| drop(fibra::spawn(move || chain_link(0, tracker, done_tx))));
            } else {
                drop(rt.spawn(move || chain_link(0, tracker, done_tx)));
            }
            assert_eq!(done_rx.recv().unwrap(), CHAIN - 1);
            // Each link recorded itself before spawning the next, so all did.
            tracker.assert_each_ran_once();
        }
        rt.shutdown();
    });
}

/// As `chain_link`, but each task sends its child's handle to the test
/// thread, which joins all of them (handles joined on another thread than
/// the one that spawned them).
fn chain_link_with_handles(
    i: usize,
    tracker: &'static RunTracker,
    handles: mpsc::Sender<JoinHandle<usize>>,
) -> usize {
    tracker.record(i);
    if i + 1 < tracker.len() {
        let next = handles.clone();
        handles
            .send(fibra::spawn(move || {
                chain_link_with_handles(i + 1, tracker, next)
            }))
            .unwrap();
    }
    i
}

#[test]
fn deep_chain_joined_from_outside() {
    with_hang_guard("deep chain handles", || {
        let rt = runtime(3);
        let tracker = RunTracker::leak(CHAIN);
        let (tx, rx) = mpsc::channel();
        let first = {
            let tx = tx.clone();
            rt.spawn(move || chain_link_with_handles(0, tracker, tx))
        };
        drop(tx);
        assert_eq!(first.join().unwrap(), 0);
        // Task i sends task i+1's handle after spawning it, so task i+1 may
        // send its own child's handle first: the order is not fixed.
        let mut values: Vec<usize> = rx.iter().map(|handle| handle.join().unwrap()).collect();
        values.sort_unstable();
        assert_eq!(values, (1..CHAIN).collect::<Vec<_>>());
        tracker.assert_each_ran_once();
    });
}

/// A node of the tree at `depth`; `index` numbers the nodes level by level
/// (root 0, its children 1..=10, ...). Children are detached; the task whose
/// run completes the count reports.
fn tree_node(index: usize, depth: u32, tracker: &'static RunTracker, done: mpsc::Sender<()>) {
    if depth < DEPTH {
        for c in 0..FAN_OUT {
            let done = done.clone();
            drop(fibra::spawn(move || {
                tree_node(index * FAN_OUT + 1 + c, depth + 1, tracker, done)
            }));
        }
    }
    if tracker.record(index) == tracker.len() {
        done.send(()).unwrap();
    }
}

#[test]
fn wide_tree_detached() {
    with_hang_guard("wide tree", || {
        let rt = runtime(4);
        for _ in 0..scaled(1, 3) {
            let tracker = RunTracker::leak(TREE);
            let (done_tx, done_rx) = mpsc::channel();
            drop(rt.spawn(move || tree_node(0, 0, tracker, done_tx)));
            done_rx.recv().unwrap();
            tracker.assert_each_ran_once();
        }
        assert_eq!(rt.metrics().cancelled, 0);
    });
}

thread_local! {
    /// How many tree nodes are running on this thread's stack right now.
    static NESTING: Cell<usize> = const { Cell::new(0) };
}

/// A node that joins its children and returns the size of its subtree; it
/// also records the deepest nesting of tree nodes on one thread's stack.
fn joined_tree_node(
    index: usize,
    depth: u32,
    max_depth: u32,
    tracker: &'static RunTracker,
    max_nesting: &'static AtomicUsize,
) -> usize {
    let nesting = NESTING.with(|n| {
        n.set(n.get() + 1);
        n.get()
    });
    max_nesting.fetch_max(nesting, Ordering::Relaxed);
    tracker.record(index);
    let size = if depth == max_depth {
        1
    } else {
        let children: Vec<_> = (0..FAN_OUT)
            .map(|c| {
                let child = index * FAN_OUT + 1 + c;
                fibra::spawn(move || joined_tree_node(child, depth + 1, max_depth, tracker, max_nesting))
            })
            .collect();
        1 + children.into_iter().map(|h| h.join().unwrap()).sum::<usize>()
    };
    NESTING.with(|n| n.set(n.get() - 1));
    size
}

/// Runs the joined tree of the given depth twice (root by `block_on` and by
/// `spawn`); checks the count, and that waiting tasks nest no more than a
/// small multiple of the tree's depth on one stack (a waiting task runs the
/// children it waits for, not unrelated tasks that would wait in turn).
fn joined_tree(workers: usize, depth: u32) {
    let size = (0..=depth).map(|d| FAN_OUT.pow(d)).sum::<usize>();
    let rt = Runtime::builder().workers(workers).build().unwrap();
    for from_block_on in [true, false] {
        let tracker = RunTracker::leak(size);
        let max_nesting: &'static AtomicUsize = Box::leak(Box::new(AtomicUsize::new(0)));
        let root = move || joined_tree_node(0, 0, depth, tracker, max_nesting);
        let total = if from_block_on {
            rt.block_on(root)
        } else {
            rt.spawn(root).join().unwrap()
        };
        assert_eq!(total, size);
        tracker.assert_each_ran_once();
        let nesting = max_nesting.load(Ordering::Relaxed);
        let levels = depth as usize + 1;
        assert!(
            nesting <= 2 * levels,
            "{nesting} tree nodes were nested on one worker stack, for a tree of {levels} levels ({workers} workers)"
        );
    }
}

#[test]
fn small_tree_joined() {
    // Fan-out 10, depth 3: 1,111 tasks, each joining its children.
    with_hang_guard("small tree joined", || {
        joined_tree(4, 3);
        joined_tree(1, 3);
    });
}

/// The full-size tree (fan-out 10, depth 5, 111,111 tasks), every node
/// joining its 10 children. Regression test: when a waiting task ran
/// unrelated queued tasks on its own stack, siblings and cousins nested on
/// top of each other (about 10,900 tree nodes on one stack with 1 worker)
/// and the worker's stack overflowed, aborting the process.
#[test]
fn wide_tree_joined() {
    with_hang_guard("wide tree joined", || {
        joined_tree(4, DEPTH);
        joined_tree(1, DEPTH);
    });
}

/// A chain where each task spawns the next and *joins* it: 10,000 nested
/// waits, each running the next link on the same worker stack (tasks run to
/// completion; there are no fibers yet). The default worker stack must be
/// large enough for this (it overflowed with 2 MiB stacks).
#[test]
fn deep_chain_each_task_joining_the_next() {
    fn link(i: usize) -> usize {
        if i + 1 == CHAIN {
            return 1;
        }
        1 + fibra::spawn(move || link(i + 1)).join().unwrap()
    }
    with_hang_guard("deep joined chain", || {
        for workers in [1, 4] {
            let rt = Runtime::builder().workers(workers).build().unwrap();
            assert_eq!(rt.block_on(|| link(0)), CHAIN);
        }
    });
}

/// A tree of nested scopes: each node counts its subtree into a counter on
/// its parent's stack.
fn scoped_tree_node(depth: u32, parent_total: &AtomicUsize, visits: &AtomicUsize) {
    visits.fetch_add(1, Ordering::Relaxed);
    let mine = AtomicUsize::new(1);
    if depth < 4 {
        fibra::scope(|s| {
            for _ in 0..FAN_OUT {
                let mine = &mine;
                s.spawn(move || scoped_tree_node(depth + 1, mine, visits));
            }
        });
    }
    parent_total.fetch_add(mine.into_inner(), Ordering::Relaxed);
}

#[test]
fn tree_of_nested_scopes() {
    with_hang_guard("scoped tree", || {
        let rt = runtime(4);
        let total = AtomicUsize::new(0);
        let visits = AtomicUsize::new(0);
        rt.block_on(|| scoped_tree_node(0, &total, &visits));
        assert_eq!(total.into_inner(), 11_111);
        assert_eq!(visits.into_inner(), 11_111);
    });
}
