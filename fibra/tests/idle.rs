//! Idle workers sleep: after a runtime has been idle for 1 s, the whole
//! process uses less than 5 ms of CPU time (user + system, `getrusage`) over
//! the next second — for a fresh runtime, for a runtime after a burst of work,
//! for the global runtime after use, for a runtime one of whose workers
//! is blocked inside a task while the others have nothing to do, and for a
//! runtime whose tasks all sleep (`fibra::time::sleep`).
//!
//! This is its own test binary so that no other test burns CPU meanwhile; the
//! tests in it take turns (a lock), since the measure covers the process.

mod common;

use common::runtime;

use std::sync::{mpsc, Mutex, MutexGuard};
use std::time::Duration;

const SETTLE: Duration = Duration::from_secs(1);
const MEASURE: Duration = Duration::from_secs(1);
const MAX_IDLE_CPU: Duration = Duration::from_millis(5);

/// One measurement at a time in this process.
fn exclusive() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// User + system CPU time of the whole process so far.
fn process_cpu_time() -> Duration {
    // SAFETY: an all-zero rusage is a valid value to be overwritten.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `usage` is a valid, writable rusage.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    assert_eq!(rc, 0, "getrusage failed");
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// Waits `SETTLE`, then returns the CPU time the process used over `MEASURE`.
fn idle_cpu() -> Duration {
    std::thread::sleep(SETTLE);
    let before = process_cpu_time();
    std::thread::sleep(MEASURE);
    process_cpu_time() - before
}

fn assert_idle(what: &str, metrics: impl Fn() -> fibra::Metrics) {
    let before = metrics();
    let used = idle_cpu();
    let after = metrics();
    println!("{what}: {used:?} of CPU over {MEASURE:?}");
    assert!(
        used < MAX_IDLE_CPU,
        "{what}: the idle process used {used:?} of CPU in {MEASURE:?}\nbefore: {before:?}\nafter: {after:?}"
    );
}

#[test]
fn fresh_runtime_is_idle() {
    let _turn = exclusive();
    let rt = runtime(4);
    assert_idle("fresh 4-worker runtime", || rt.metrics());
    rt.shutdown();
}

#[test]
fn runtime_is_idle_again_after_a_burst_of_work() {
    let _turn = exclusive();
    let rt = runtime(4);
    // A burst: spawns from outside and inside, joins, scopes, fork-join.
    let handles: Vec<_> = (0..50_000u64).map(|i| rt.spawn(move || i)).collect();
    let sum: u64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    assert_eq!(sum, 50_000 * 49_999 / 2);
    let sum: u64 = rt.block_on(|| {
        let hs: Vec<_> = (0..50_000u64).map(|i| fibra::spawn(move || i)).collect();
        hs.into_iter().map(|h| h.join().unwrap()).sum()
    });
    assert_eq!(sum, 50_000 * 49_999 / 2);
    fn fib(n: u64) -> u64 {
        if n < 2 {
            return n;
        }
        let (a, b) = fibra::join(|| fib(n - 1), || fib(n - 2));
        a + b
    }
    assert_eq!(rt.block_on(|| fib(20)), 6765);
    let mut data = vec![1u64; 10_000];
    rt.scope(|s| {
        for chunk in data.chunks_mut(100) {
            s.spawn(move || chunk.iter_mut().for_each(|x| *x += 1));
        }
    });
    assert!(data.iter().all(|&x| x == 2));
    // Detached tasks that finish while nobody waits.
    for _ in 0..1000 {
        drop(rt.spawn(|| common::busy_work(10)));
    }
    assert_idle("4-worker runtime after a burst", || rt.metrics());
    assert!(rt.metrics().total().parks > 0, "the workers parked");
    rt.shutdown();
}

#[test]
fn global_runtime_is_idle_after_use() {
    let _turn = exclusive();
    let hs: Vec<_> = (0..10_000u64).map(|i| fibra::spawn(move || i)).collect();
    assert_eq!(
        hs.into_iter().map(|h| h.join().unwrap()).sum::<u64>(),
        10_000 * 9_999 / 2
    );
    assert_eq!(fibra::join(|| 1, || 2), (1, 2));
    assert_idle("global runtime after use", fibra::Metrics::default);
}

#[test]
fn idle_workers_sleep_while_another_worker_is_blocked() {
    let _turn = exclusive();
    let rt = runtime(4);
    let (started_tx, started_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let blocked = rt.spawn(move || {
        started_tx.send(()).unwrap();
        release_rx.recv().unwrap();
    });
    started_rx.recv().unwrap();
    assert_idle("4-worker runtime with one worker blocked in a task", || {
        rt.metrics()
    });
    release_tx.send(()).unwrap();
    blocked.join().unwrap();
    rt.shutdown();
}

/// Workers whose tasks sleep wake only when a timer is due (a few times per
/// sleep, as the timer moves down the wheel's levels), so a runtime whose
/// tasks all sleep is idle too; and one whose timers all fired does not
/// keep waking up.
#[test]
fn a_runtime_whose_tasks_sleep_is_idle() {
    let _turn = exclusive();
    let rt = runtime(4);
    let short: Vec<_> = (0..1000)
        .map(|i| rt.spawn(move || fibra::time::sleep(Duration::from_micros(100 * (i % 20)))))
        .collect();
    short.into_iter().for_each(|h| h.join().unwrap());
    // Longer than SETTLE + MEASURE: asleep throughout the measurement.
    let long_sleep = SETTLE + MEASURE + Duration::from_millis(500);
    let sleepers: Vec<_> = (0..100)
        .map(|_| rt.spawn(move || fibra::time::sleep(long_sleep)))
        .collect();
    assert_idle("4-worker runtime with 100 sleeping tasks", || rt.metrics());
    sleepers.into_iter().for_each(|h| h.join().unwrap());
    rt.shutdown();
}
