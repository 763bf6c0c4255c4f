//! loom models of the sync primitives' cores: the real `RawMutex`,
//! `RawCondvar` and `RawSemaphore`, on loom atomics and a loom `Mutex`, with
//! loom-modelled thread parkers (`park::LoomThreads`) standing in for tasks.
//! A lost wake-up shows as a loom deadlock (every thread parked); mutual
//! exclusion is checked by a loom `UnsafeCell`, which reports any two
//! accesses that are not ordered by happens-before; permits are counted.

use super::raw_condvar::RawCondvar;
use super::raw_mutex::RawMutex;
use super::raw_semaphore::RawSemaphore;
use crate::loom::atomic::{AtomicBool, AtomicUsize, Ordering};
use crate::loom::{thread, Arc};
use crate::park::LoomThreads;
use loom::cell::UnsafeCell;
use std::time::Duration;

/// A mutex and the counter it guards.
struct Counter {
    mutex: RawMutex<usize>,
    value: UnsafeCell<usize>,
}

// SAFETY: `value` is touched only under `mutex`, which the models check.
unsafe impl Sync for Counter {}

impl Counter {
    fn increment(&self, parking: &LoomThreads, hand_off: Duration) {
        self.mutex.lock(parking);
        // SAFETY: we hold the lock; loom checks that no other access races.
        self.value.with_mut(|value| unsafe { *value += 1 });
        self.mutex.unlock(parking, hand_off);
    }
}

/// `threads` threads (the model's main thread included) each lock once and
/// increment; every one of them must get through (no lost wake-up) and the
/// count must be exact (mutual exclusion).
fn mutex_model(threads: usize, hand_off: Duration) {
    let explored = crate::loom::model_counting(move || {
        let parking = LoomThreads::new(threads);
        let counter = Arc::new(Counter {
            mutex: RawMutex::new(),
            value: UnsafeCell::new(0),
        });
        let others: Vec<_> = (1..threads)
            .map(|me| {
                let (counter, parking) = (counter.clone(), parking.thread(me));
                thread::spawn(move || counter.increment(&parking, hand_off))
            })
            .collect();
        counter.increment(&parking, hand_off);
        others.into_iter().for_each(|t| t.join().unwrap());
        assert!(!counter.mutex.is_locked());
        // SAFETY: every other thread has been joined.
        assert_eq!(counter.value.with(|value| unsafe { *value }), threads);
    });
    assert!(explored > 1, "loom explored {explored} interleavings");
}

#[test]
fn mutex_two_threads_competing() {
    mutex_model(2, Duration::MAX);
}

#[test]
fn mutex_two_threads_hand_off() {
    mutex_model(2, Duration::ZERO);
}

#[test]
fn mutex_three_threads_competing() {
    mutex_model(3, Duration::MAX);
}

#[test]
fn mutex_three_threads_hand_off() {
    mutex_model(3, Duration::ZERO);
}

/// A flag guarded by a mutex, and a condvar to wait for it.
struct Flag {
    mutex: RawMutex<usize>,
    set: AtomicBool,
    condvar: RawCondvar<usize>,
}

impl Flag {
    /// Waits under the mutex until the flag is set.
    fn wait_until_set(&self, parking: &LoomThreads) {
        self.mutex.lock(parking);
        // Relaxed: the mutex orders every access to the flag.
        while !self.set.load(Ordering::Relaxed) {
            self.condvar.wait(&self.mutex, parking, Duration::MAX);
        }
        self.mutex.unlock(parking, Duration::MAX);
    }
}

/// `waiters` threads wait for a flag; the main thread sets it under the
/// mutex and notifies (one by one, or all at once) after unlocking, which
/// is the order in which the fast path of notify (one load of `queued`)
/// could miss a waiter if the argument in `raw_condvar.rs` were wrong.
fn condvar_model(waiters: usize, notify_all: bool) {
    let explored = crate::loom::model_counting(move || {
        let parking = LoomThreads::new(waiters + 1);
        let flag = Arc::new(Flag {
            mutex: RawMutex::new(),
            set: AtomicBool::new(false),
            condvar: RawCondvar::new(),
        });
        let threads: Vec<_> = (1..=waiters)
            .map(|me| {
                let (flag, parking) = (flag.clone(), parking.thread(me));
                thread::spawn(move || flag.wait_until_set(&parking))
            })
            .collect();
        flag.mutex.lock(&parking);
        flag.set.store(true, Ordering::Relaxed);
        flag.mutex.unlock(&parking, Duration::MAX);
        if notify_all {
            flag.condvar.notify_all(&parking);
        } else {
            (0..waiters).for_each(|_| flag.condvar.notify_one(&parking));
        }
        threads.into_iter().for_each(|t| t.join().unwrap());
    });
    assert!(explored > 1, "loom explored {explored} interleavings");
}

#[test]
fn condvar_notify_one_is_not_lost() {
    condvar_model(1, false);
}

#[test]
fn condvar_notify_one_each_for_two_waiters() {
    condvar_model(2, false);
}

#[test]
fn condvar_notify_all_wakes_two_waiters() {
    condvar_model(2, true);
}

/// Permits 2; one thread takes both at once, two others one each; each
/// holder adds what it holds to `in_use`, which must never exceed 2, and
/// in the end all permits are back.
#[test]
fn semaphore_conserves_permits() {
    let explored = crate::loom::model_counting(|| {
        let parking = LoomThreads::new(3);
        let semaphore = Arc::new(RawSemaphore::new(2));
        let in_use = Arc::new(AtomicUsize::new(0));
        let hold =
            |n: usize, parking: &LoomThreads, semaphore: &RawSemaphore<usize>, in_use: &AtomicUsize| {
                semaphore.acquire(n, parking);
                // Relaxed: the semaphore's lock orders the holders.
                let now = in_use.fetch_add(n, Ordering::Relaxed) + n;
                assert!(now <= 2, "{now} permits in use");
                in_use.fetch_sub(n, Ordering::Relaxed);
                semaphore.release(n, parking);
            };
        let threads: Vec<_> = [(1, 2), (2, 1)]
            .into_iter()
            .map(|(me, n)| {
                let (semaphore, in_use, parking) = (semaphore.clone(), in_use.clone(), parking.thread(me));
                thread::spawn(move || hold(n, &parking, &semaphore, &in_use))
            })
            .collect();
        hold(1, &parking, &semaphore, &in_use);
        threads.into_iter().for_each(|t| t.join().unwrap());
        assert_eq!(semaphore.available(), 2);
    });
    assert!(explored > 1, "loom explored {explored} interleavings");
}
