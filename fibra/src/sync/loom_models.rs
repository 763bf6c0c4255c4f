//! loom models of the sync primitives' cores: the real `RawMutex`,
//! `RawCondvar`, `RawSemaphore` and `RawWaitGroup`, on loom atomics and a loom `Mutex`, with
//! loom-modelled thread parkers (`park::LoomThreads`) standing in for tasks.
//! A lost wake-up shows as a loom deadlock (every thread parked); mutual
//! exclusion is checked by a loom `UnsafeCell`, which reports any two
//! accesses that are not ordered by happens-before; permits are counted.

use super::raw_condvar::RawCondvar;
use super::raw_mutex::RawMutex;
use super::raw_semaphore::RawSemaphore;
use super::raw_wait_group::RawWaitGroup;
use crate::loom::atomic::{AtomicBool, AtomicUsize, Ordering};
use crate::loom::{thread, Arc};
use crate::park::LoomThreads;
use loom::cell::UnsafeCell;
use std::time::{Duration, Instant};

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
    /// Waits under the mutex until the flag is set; returns how many of its
    /// waits ended notified.
    fn wait_until_set(&self, parking: &LoomThreads) -> usize {
        self.mutex.lock(parking);
        let mut notified = 0;
        // Relaxed: the mutex orders every access to the flag.
        while !self.set.load(Ordering::Relaxed) {
            notified += usize::from(self.condvar.wait(&self.mutex, parking, Duration::MAX, None));
        }
        self.mutex.unlock(parking, Duration::MAX);
        notified
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
        let woke = if notify_all {
            flag.condvar.notify_all(&parking)
        } else {
            (0..waiters).filter(|_| flag.condvar.notify_one(&parking)).count()
        };
        let notified: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
        assert_eq!(notified, woke, "each notification reaches exactly one waiter");
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
                assert!(semaphore.acquire(n, parking, None));
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

/// A deadline for the timed waits; `LoomThreads::park_until` ignores its
/// value and times out at once, at whatever point loom schedules that.
fn some_deadline() -> Option<Instant> {
    Some(Instant::now())
}

/// The main thread holds the lock; thread 1 waits for it with a deadline
/// (its timeout races with the unlock and, with `hand_off` zero, with the
/// hand-off to it), thread 2 without. Whoever gets the lock increments;
/// nobody may be stranded (a loom deadlock) and the count must match.
fn mutex_timeout_model(hand_off: Duration) {
    let explored = crate::loom::model_counting(move || {
        let parking = LoomThreads::new(3);
        let counter = Arc::new(Counter {
            mutex: RawMutex::new(),
            value: UnsafeCell::new(0),
        });
        counter.mutex.lock(&parking);
        let timed = {
            let (counter, parking) = (counter.clone(), parking.thread(1));
            thread::spawn(move || {
                let Some(deadline) = some_deadline() else {
                    unreachable!()
                };
                let locked = counter.mutex.lock_until(&parking, deadline);
                if locked {
                    // SAFETY: we hold the lock.
                    counter.value.with_mut(|value| unsafe { *value += 1 });
                    counter.mutex.unlock(&parking, hand_off);
                }
                usize::from(locked)
            })
        };
        let plain = {
            let (counter, parking) = (counter.clone(), parking.thread(2));
            thread::spawn(move || counter.increment(&parking, hand_off))
        };
        counter.mutex.unlock(&parking, hand_off);
        let timed_locked = timed.join().unwrap();
        plain.join().unwrap();
        assert!(!counter.mutex.is_locked());
        // SAFETY: every other thread has been joined.
        assert_eq!(counter.value.with(|value| unsafe { *value }), 1 + timed_locked);
    });
    assert!(explored > 1, "loom explored {explored} interleavings");
}

#[test]
fn mutex_timeout_racing_an_unlock() {
    mutex_timeout_model(Duration::MAX);
}

#[test]
fn mutex_timeout_racing_a_hand_off() {
    mutex_timeout_model(Duration::ZERO);
}

/// Thread 1 waits for the flag with a deadline, thread 2 without; the main
/// thread sets the flag and notifies one at a time, twice. Thread 2 must
/// never be left waiting, no entry may stay queued, and every notify that
/// took a waiter's entry must be reported as a notification by that waiter,
/// even when it raced with the waiter's timeout.
#[test]
fn condvar_timeout_racing_a_notify() {
    let explored = crate::loom::model_counting(|| {
        let parking = LoomThreads::new(3);
        let flag = Arc::new(Flag {
            mutex: RawMutex::new(),
            set: AtomicBool::new(false),
            condvar: RawCondvar::new(),
        });
        let timed = {
            let (flag, parking) = (flag.clone(), parking.thread(1));
            thread::spawn(move || {
                flag.mutex.lock(&parking);
                // Relaxed: the mutex orders every access to the flag.
                let notified = !flag.set.load(Ordering::Relaxed)
                    && flag
                        .condvar
                        .wait(&flag.mutex, &parking, Duration::MAX, some_deadline());
                flag.mutex.unlock(&parking, Duration::MAX);
                usize::from(notified)
            })
        };
        let plain = {
            let (flag, parking) = (flag.clone(), parking.thread(2));
            thread::spawn(move || flag.wait_until_set(&parking))
        };
        flag.mutex.lock(&parking);
        flag.set.store(true, Ordering::Relaxed);
        flag.mutex.unlock(&parking, Duration::MAX);
        let woke = (0..2).filter(|_| flag.condvar.notify_one(&parking)).count();
        let notified = timed.join().unwrap() + plain.join().unwrap();
        assert_eq!(notified, woke, "every notify that took an entry is reported");
        assert_eq!(flag.condvar.queued(), 0);
    });
    assert!(explored > 1, "loom explored {explored} interleavings");
}

/// Permits 2, the main thread holds 1 until the end. Thread 1 asks for 2
/// with a deadline (it can only time out); thread 2 asks for 1 and, if it
/// comes second, queues behind thread 1 (FIFO) though 1 is free. When
/// thread 1 gives up at the front, thread 2 must be let through.
#[test]
fn semaphore_timeout_at_the_front_lets_the_next_through() {
    let explored = crate::loom::model_counting(|| {
        let parking = LoomThreads::new(3);
        let semaphore = Arc::new(RawSemaphore::new(2));
        assert!(semaphore.acquire(1, &parking, None));
        let timed = {
            let (semaphore, parking) = (semaphore.clone(), parking.thread(1));
            thread::spawn(move || semaphore.acquire(2, &parking, some_deadline()))
        };
        let plain = {
            let (semaphore, parking) = (semaphore.clone(), parking.thread(2));
            thread::spawn(move || {
                assert!(semaphore.acquire(1, &parking, None));
                semaphore.release(1, &parking);
            })
        };
        assert!(!timed.join().unwrap(), "2 permits were never free");
        plain.join().unwrap();
        semaphore.release(1, &parking);
        assert_eq!(semaphore.available(), 2);
        assert_eq!(semaphore.queued(), 0);
    });
    assert!(explored > 1, "loom explored {explored} interleavings");
}

/// Permits 1, held by the main thread. Thread 1 asks with a deadline,
/// thread 2 without; the main thread releases, and the grant may race with
/// thread 1's timeout. A grant that thread 1 sees counts (it then releases);
/// either way thread 2 gets through and the permit comes back.
#[test]
fn semaphore_grant_racing_a_timeout_is_not_lost() {
    let explored = crate::loom::model_counting(|| {
        let parking = LoomThreads::new(3);
        let semaphore = Arc::new(RawSemaphore::new(1));
        assert!(semaphore.acquire(1, &parking, None));
        let threads: Vec<_> = [(1, some_deadline()), (2, None)]
            .into_iter()
            .map(|(me, deadline)| {
                let (semaphore, parking) = (semaphore.clone(), parking.thread(me));
                thread::spawn(move || {
                    if semaphore.acquire(1, &parking, deadline) {
                        semaphore.release(1, &parking);
                    } else {
                        assert!(deadline.is_some(), "only a timed acquire fails");
                    }
                })
            })
            .collect();
        semaphore.release(1, &parking);
        threads.into_iter().for_each(|t| t.join().unwrap());
        assert_eq!(semaphore.available(), 1);
        assert_eq!(semaphore.queued(), 0);
    });
    assert!(explored > 1, "loom explored {explored} interleavings");
}

/// Two threads each write a value and call `done` while the main thread
/// waits (and a third party adds and finishes more work meanwhile): the
/// waiter always wakes (no lost wake-up: a loom deadlock otherwise) and sees
/// both writes (loom checks the cells' happens-before).
#[test]
fn wait_group_wakes_its_waiter_and_publishes_writes() {
    let explored = crate::loom::model_counting(|| {
        let parking = LoomThreads::new(3);
        let group = Arc::new(RawWaitGroup::new());
        let cells = Arc::new([UnsafeCell::new(0usize), UnsafeCell::new(0usize)]);
        assert_eq!(group.try_add(2, &parking), Ok(2));
        let workers: Vec<_> = (1..3)
            .map(|me| {
                let (group, cells, parking) = (group.clone(), cells.clone(), parking.thread(me));
                thread::spawn(move || {
                    // SAFETY: each worker writes only its own cell, before
                    // its `done`; the waiter reads after `wait`.
                    cells[me - 1].with_mut(|cell| unsafe { *cell = me });
                    if me == 2 {
                        // More work, added while the count is non-zero.
                        assert!(group.try_add(1, &parking).is_ok());
                        assert!(group.try_add(-1, &parking).is_ok());
                    }
                    assert!(group.try_add(-1, &parking).is_ok());
                })
            })
            .collect();
        group.wait(&parking);
        assert_eq!(group.count(), 0);
        // SAFETY: `wait` returned: both writes happened before (AcqRel).
        let sum: usize = cells
            .iter()
            .map(|cell| cell.with(|value| unsafe { *value }))
            .sum();
        assert_eq!(sum, 3);
        assert_eq!(group.try_add(-1, &parking), Err(0), "never below zero");
        workers.into_iter().for_each(|t| t.join().unwrap());
    });
    assert!(explored > 1, "loom explored {explored} interleavings");
}
