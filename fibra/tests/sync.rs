//! `fibra::sync::{Mutex, Condvar, Semaphore}` on the runtime: exact counts
//! under contention (tasks, plain threads, both mixed), a lock holder that
//! waits keeps its worker usable, a parked waiter is not starved by a
//! thread that relocks in a loop, a panic while locked unlocks, a bounded
//! queue on a condvar, the semaphore's concurrency limit reached and never
//! passed, a task keeping its OS thread across every blocking call, and
//! the timed waits: each times out no earlier than its timeout when nobody
//! wakes it (lower bounds only), succeeds when woken in time, and loses no
//! permit or increment when timeouts race with wake-ups. Sizes do not depend
//! on time; nothing here has an upper wall-clock bound.

mod common;

use common::{runtime, scaled, with_hang_guard};
use fibra::sync::{Condvar, Mutex, Semaphore, WaitGroup};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

#[test]
fn tasks_increment_a_counter_under_the_mutex_on_two_workers() {
    with_hang_guard("mutex counter", || {
        let rt = runtime(2);
        let (tasks, rounds) = (200, scaled(200, 2_000));
        let counter = Arc::new(Mutex::new(0usize));
        let handles: Vec<_> = (0..tasks)
            .map(|_| {
                let counter = counter.clone();
                rt.spawn(move || {
                    for round in 0..rounds {
                        let mut guard = counter.lock();
                        *guard += 1;
                        if round % 64 == 0 {
                            // Hold the lock across a reschedule, so that
                            // other tasks queue and park behind it.
                            fibra::yield_now();
                        }
                    }
                })
            })
            .collect();
        handles.into_iter().for_each(|h| h.join().unwrap());
        assert_eq!(*counter.lock(), tasks * rounds);
    });
}

#[test]
fn a_task_holding_the_lock_while_it_waits_does_not_block_its_worker() {
    with_hang_guard("holder waits", || {
        // One worker: if a waiting locker blocked the worker thread (as a
        // std::sync::Mutex would), nothing below could run and this would
        // hang.
        const LOCKERS: usize = 10;
        let rt = runtime(1);
        let counter = Arc::new(Mutex::new(0usize));
        let count = rt.block_on({
            let counter = counter.clone();
            move || {
                let guard = counter.lock();
                let started = WaitGroup::new();
                let lockers: Vec<_> = (0..LOCKERS)
                    .map(|_| {
                        started.add(1);
                        let (counter, started) = (counter.clone(), started.clone());
                        fibra::spawn(move || {
                            started.done();
                            *counter.lock() += 1;
                        })
                    })
                    .collect();
                started.wait(); // parks the holder: the lockers run and park
                let other_work = fibra::spawn(|| "ran").join().unwrap();
                assert_eq!(other_work, "ran", "the holder's worker still runs tasks");
                assert_eq!(*guard, 0, "nobody got past the held lock");
                drop(guard);
                lockers.into_iter().for_each(|l| l.join().unwrap());
                *counter.lock()
            }
        });
        assert_eq!(count, LOCKERS);
    });
}

#[test]
fn plain_threads_and_tasks_share_one_mutex() {
    with_hang_guard("threads and tasks", || {
        let rt = runtime(2);
        let rounds = scaled(2_000, 20_000);
        let counter = Arc::new(Mutex::new(0usize));
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let counter = counter.clone();
                rt.spawn(move || (0..rounds).for_each(|_| *counter.lock() += 1))
            })
            .collect();
        let threads: Vec<_> = (0..2)
            .map(|_| {
                let counter = counter.clone();
                thread::spawn(move || (0..rounds).for_each(|_| *counter.lock() += 1))
            })
            .collect();
        tasks.into_iter().for_each(|t| t.join().unwrap());
        threads.into_iter().for_each(|t| t.join().unwrap());
        assert_eq!(*counter.lock(), 10 * rounds);
    });
}

#[test]
fn a_panic_while_holding_the_lock_unlocks_it() {
    with_hang_guard("panic unlocks", || {
        let rt = runtime(2);
        let mutex = Arc::new(Mutex::new(Vec::new()));
        let panicked = {
            let mutex = mutex.clone();
            rt.spawn(move || {
                let mut guard = mutex.lock();
                guard.push("before the panic");
                panic!("task panics while holding the guard");
            })
        };
        assert!(panicked.join().is_err());
        let after = {
            let mutex = mutex.clone();
            rt.spawn(move || mutex.lock().len())
        };
        assert_eq!(after.join().unwrap(), 1, "no poisoning: the next lock succeeds");
    });
}

/// A bounded queue on one mutex and two condvars.
struct BoundedQueue {
    items: Mutex<VecDeque<u64>>,
    not_empty: Condvar,
    not_full: Condvar,
    capacity: usize,
}

impl BoundedQueue {
    fn push(&self, item: u64) {
        let mut items = self
            .not_full
            .wait_while(self.items.lock(), |items| items.len() == self.capacity);
        items.push_back(item);
        drop(items);
        self.not_empty.notify_one();
    }

    /// `None` once `done` is set and the queue is empty.
    fn pop(&self, done: &AtomicBool) -> Option<u64> {
        let mut items = self.not_empty.wait_while(self.items.lock(), |items| {
            items.is_empty() && !done.load(Ordering::Relaxed)
        });
        let item = items.pop_front();
        drop(items);
        self.not_full.notify_one();
        item
    }
}

#[test]
fn condvar_producer_consumer_between_tasks_and_a_thread() {
    with_hang_guard("producer/consumer", || {
        let rt = runtime(2);
        let per_producer = scaled(1_000, 10_000) as u64;
        let producers = 4u64;
        let queue = Arc::new(BoundedQueue {
            items: Mutex::new(VecDeque::new()),
            not_empty: Condvar::new(),
            not_full: Condvar::new(),
            capacity: 4,
        });
        let done = Arc::new(AtomicBool::new(false));
        let consume = |queue: Arc<BoundedQueue>, done: Arc<AtomicBool>| {
            move || {
                let (mut count, mut sum) = (0u64, 0u64);
                while let Some(item) = queue.pop(&done) {
                    count += 1;
                    sum += item;
                }
                (count, sum)
            }
        };
        let task_consumers: Vec<_> = (0..2)
            .map(|_| rt.spawn(consume(queue.clone(), done.clone())))
            .collect();
        let thread_consumer = thread::spawn(consume(queue.clone(), done.clone()));
        let producer_tasks: Vec<_> = (0..producers)
            .map(|p| {
                let queue = queue.clone();
                rt.spawn(move || (0..per_producer).for_each(|i| queue.push(p * per_producer + i)))
            })
            .collect();
        producer_tasks.into_iter().for_each(|p| p.join().unwrap());
        // Under the lock, so that no consumer checks `done` between our
        // store and the notify and then sleeps through it.
        let items = queue.items.lock();
        done.store(true, Ordering::Relaxed);
        drop(items);
        queue.not_empty.notify_all();
        let mut results: Vec<_> = task_consumers.into_iter().map(|c| c.join().unwrap()).collect();
        results.push(thread_consumer.join().unwrap());
        let total = producers * per_producer;
        let count: u64 = results.iter().map(|r| r.0).sum();
        let sum: u64 = results.iter().map(|r| r.1).sum();
        assert_eq!(count, total, "every item consumed exactly once");
        assert_eq!(sum, total * (total - 1) / 2);
    });
}

/// Takes `n` permits, records them in `in_use` (checking the limit and the
/// highest count), lets others run, gives them back.
fn hold_permits(semaphore: &Semaphore, n: usize, in_use: &AtomicUsize, max_seen: &AtomicUsize) {
    let permit = semaphore.acquire_many(n);
    let now = in_use.fetch_add(n, Ordering::SeqCst) + n;
    assert!(now <= 3, "{now} permits in use, limit 3");
    max_seen.fetch_max(now, Ordering::SeqCst);
    fibra::yield_now();
    in_use.fetch_sub(n, Ordering::SeqCst);
    drop(permit);
}

#[test]
fn the_semaphore_limits_concurrency_to_its_permits() {
    with_hang_guard("semaphore limit", || {
        let rt = runtime(2);
        let semaphore = Arc::new(Semaphore::new(3));
        let (in_use, max_seen) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let spawn_holders = |n_for: fn(usize) -> usize, wait_for_full: bool| -> Vec<_> {
            (0..60)
                .map(|i| {
                    let (semaphore, in_use, max_seen) = (semaphore.clone(), in_use.clone(), max_seen.clone());
                    rt.spawn(move || {
                        if wait_for_full {
                            // Phase one: single permits; the first holders
                            // stay until three are inside at once.
                            let _permit = semaphore.acquire();
                            let now = in_use.fetch_add(1, Ordering::SeqCst) + 1;
                            assert!(now <= 3, "{now} permits in use, limit 3");
                            max_seen.fetch_max(now, Ordering::SeqCst);
                            while max_seen.load(Ordering::SeqCst) < 3 {
                                fibra::yield_now();
                            }
                            in_use.fetch_sub(1, Ordering::SeqCst);
                        } else {
                            hold_permits(&semaphore, n_for(i), &in_use, &max_seen);
                        }
                    })
                })
                .collect()
        };
        spawn_holders(|_| 1, true)
            .into_iter()
            .for_each(|t| t.join().unwrap());
        assert_eq!(max_seen.load(Ordering::SeqCst), 3, "the limit is reached");
        // Phase two: a mix of single and double permits, with a plain
        // thread taking permits too.
        let holders = spawn_holders(|i| 1 + i % 2, false);
        let thread = {
            let (semaphore, in_use, max_seen) = (semaphore.clone(), in_use.clone(), max_seen.clone());
            thread::spawn(move || (0..100).for_each(|_| hold_permits(&semaphore, 2, &in_use, &max_seen)))
        };
        holders.into_iter().for_each(|t| t.join().unwrap());
        thread.join().unwrap();
        assert_eq!(max_seen.load(Ordering::SeqCst), 3, "never more than the limit");
        assert_eq!(semaphore.available_permits(), 3, "every permit came back");
    });
}

#[test]
fn a_task_keeps_its_os_thread_across_every_blocking_call() {
    with_hang_guard("same thread", || {
        const TASKS: usize = 16;
        let rt = runtime(4);
        let mutex = Arc::new(Mutex::new(()));
        let semaphore = Arc::new(Semaphore::new(2));
        let turn = Arc::new((Mutex::new(0usize), Condvar::new()));
        let moved = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..TASKS)
            .map(|me| {
                let (mutex, semaphore, turn, moved) =
                    (mutex.clone(), semaphore.clone(), turn.clone(), moved.clone());
                rt.spawn(move || {
                    let check = |before: thread::ThreadId| {
                        if thread::current().id() != before {
                            moved.fetch_add(1, Ordering::Relaxed);
                        }
                    };
                    for round in 0..20 {
                        let before = thread::current().id();
                        let guard = mutex.lock();
                        check(before);
                        fibra::yield_now(); // others queue on the mutex meanwhile
                        drop(guard);
                        let before = thread::current().id();
                        let permit = semaphore.acquire();
                        check(before);
                        fibra::yield_now();
                        drop(permit);
                        // A token ring: wait for our turn on the condvar.
                        let before = thread::current().id();
                        let (next, condvar) = &*turn;
                        let mut guard = condvar.wait_while(next.lock(), |next| *next != round * TASKS + me);
                        check(before);
                        *guard += 1;
                        drop(guard);
                        condvar.notify_all();
                    }
                })
            })
            .collect();
        tasks.into_iter().for_each(|t| t.join().unwrap());
        assert_eq!(*turn.0.lock(), 20 * TASKS, "every turn was taken");
        assert_eq!(moved.load(Ordering::Relaxed), 0, "a started task changed thread");
    });
}

const SHORT: Duration = Duration::from_millis(20);
const HOUR: Duration = Duration::from_secs(3600);

/// Runs every timed wait that nobody ends, checking that each times out no
/// earlier than its timeout, leaves nothing queued behind, and (on a fiber)
/// resumes on the same OS thread. Returns how many waits it checked.
fn every_timed_wait_times_out_alone(holder_of: &Arc<Mutex<()>>) -> usize {
    let checked = std::cell::Cell::new(0);
    let timed = |what: &str, wait: &mut dyn FnMut() -> bool| {
        checked.set(checked.get() + 1);
        let (before, start) = (thread::current().id(), Instant::now());
        assert!(wait(), "{what}: should have timed out");
        assert!(start.elapsed() >= SHORT, "{what}: gave up early");
        assert_eq!(thread::current().id(), before, "{what}: changed thread");
    };
    let (mutex, condvar) = (Mutex::new(0), Condvar::new());
    timed("wait_timeout", &mut || {
        let (guard, result) = condvar.wait_timeout(mutex.lock(), SHORT);
        assert!(mutex.is_locked(), "the guard is locked again");
        drop(guard);
        result.timed_out()
    });
    timed("wait_timeout_while", &mut || {
        let (_guard, result) = condvar.wait_timeout_while(mutex.lock(), SHORT, |n| *n == 0);
        result.timed_out()
    });
    let semaphore = Semaphore::new(0);
    timed("acquire_timeout", &mut || {
        semaphore.acquire_timeout(SHORT).is_none()
    });
    timed("acquire_many_timeout", &mut || {
        semaphore.add_permits(1);
        semaphore.acquire_many_timeout(2, SHORT).is_none()
    });
    assert!(
        semaphore.try_acquire().is_some(),
        "the timed-out waiter left the queue"
    );
    timed("try_lock_for", &mut || holder_of.try_lock_for(SHORT).is_none());
    condvar.notify_all(); // nobody is left to notify
    checked.get()
}

#[test]
fn timed_waits_time_out_when_nobody_wakes_them_on_fibers_and_threads() {
    with_hang_guard("timeouts", || {
        let rt = runtime(1);
        let held = Arc::new(Mutex::new(()));
        let (locked_tx, locked_rx) = std::sync::mpsc::channel();
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        let holder = {
            let held = held.clone();
            thread::spawn(move || {
                let _guard = held.lock();
                locked_tx.send(()).unwrap();
                release_rx.recv().unwrap();
            })
        };
        locked_rx.recv().unwrap();
        let on_fiber = {
            let held = held.clone();
            rt.spawn(move || every_timed_wait_times_out_alone(&held))
        };
        assert_eq!(on_fiber.join().unwrap(), 5);
        assert_eq!(every_timed_wait_times_out_alone(&held), 5, "on a plain thread");
        release_tx.send(()).unwrap();
        holder.join().unwrap();
        assert!(held.try_lock().is_some(), "nothing stale left in the mutex");
    });
}

#[test]
fn timed_waits_succeed_when_woken_before_the_timeout() {
    with_hang_guard("woken in time", || {
        let rt = runtime(2);
        let shared = Arc::new((
            Mutex::new(false),
            Condvar::new(),
            Semaphore::new(0),
            Mutex::new(()),
        ));
        let waiter = {
            let shared = shared.clone();
            rt.spawn(move || {
                let (flag, condvar, semaphore, held) = &*shared;
                let (guard, result) = condvar.wait_timeout_while(flag.lock(), HOUR, |set| !*set);
                assert!(*guard && !result.timed_out());
                drop(guard);
                semaphore.acquire_timeout(HOUR).expect("a permit comes").forget();
                // `held` is locked by the main thread until after this.
                held.try_lock_for(HOUR).is_some()
            })
        };
        let (flag, condvar, semaphore, held) = &*shared;
        let guard = held.lock();
        *flag.lock() = true;
        condvar.notify_all();
        semaphore.add_permits(1);
        while semaphore.available_permits() > 0 {
            thread::yield_now(); // until the waiter took it
        }
        thread::sleep(Duration::from_millis(10)); // likely parked on `held` by now
        drop(guard);
        assert!(waiter.join().unwrap());
    });
}

#[test]
fn timeouts_under_contention_lose_no_permit_and_no_increment() {
    with_hang_guard("timeouts under contention", || {
        let rt = runtime(2);
        let rounds = scaled(50, 300);
        let semaphore = Arc::new(Semaphore::new(2));
        let counter = Arc::new(Mutex::new(0usize));
        let successes = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..32)
            .map(|i| {
                let (semaphore, counter, successes) = (semaphore.clone(), counter.clone(), successes.clone());
                rt.spawn(move || {
                    let timeout = Duration::from_micros(50 * (i as u64 % 4));
                    for _ in 0..rounds {
                        if let Some(permit) = semaphore.acquire_many_timeout(1 + i % 2, timeout) {
                            fibra::yield_now();
                            drop(permit);
                        }
                        if let Some(mut guard) = counter.try_lock_for(timeout) {
                            *guard += 1;
                            successes.fetch_add(1, Ordering::Relaxed);
                            fibra::yield_now();
                        }
                    }
                })
            })
            .collect();
        tasks.into_iter().for_each(|t| t.join().unwrap());
        assert_eq!(semaphore.available_permits(), 2, "every permit came back");
        assert!(semaphore.try_acquire_many(2).is_some(), "nobody left queued");
        assert_eq!(*counter.lock(), successes.load(Ordering::Relaxed));
        assert!(counter.try_lock().is_some());
    });
}
