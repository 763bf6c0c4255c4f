//! `fibra_sleep_ns` from Rust, as a C program would call it: on a plain
//! thread it sleeps at least as long as asked; in a task on a one-worker
//! runtime it parks only the task, so a task spawned meanwhile runs.

mod common;

use common::*;
use fibra_ffi::*;
use std::ffi::c_void;
use std::ptr::null_mut;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

#[test]
fn sleeps_a_plain_thread_at_least_as_long_as_asked() {
    let start = Instant::now();
    expect(fibra_sleep_ns(2_000_000), FibraStatus::FIBRA_OK);
    assert!(start.elapsed() >= Duration::from_millis(2));
    expect(fibra_sleep_ns(0), FibraStatus::FIBRA_OK);
}

/// Shared by the sleeper task and the task it spawns.
struct Sleeper {
    rt: *const FibraRuntime,
    other_ran: AtomicBool,
    too_short: AtomicU64,
}

unsafe extern "C" fn mark_ran(arg: *mut c_void) {
    // SAFETY: the test passes a `Sleeper` that outlives both tasks.
    let sleeper = unsafe { &*(arg as *const Sleeper) };
    // Release: pairs with the Acquire load in the sleeper's loop.
    sleeper.other_ran.store(true, Ordering::Release);
}

/// Spawns `mark_ran`, then sleeps 1 ms at a time until it has run: on one
/// worker it can run only while this task sleeps.
unsafe extern "C" fn sleep_until_the_other_ran(arg: *mut c_void) {
    // SAFETY: as in `mark_ran`.
    let sleeper = unsafe { &*(arg as *const Sleeper) };
    // SAFETY: live runtime; `arg` outlives the task (the test waits).
    expect(
        unsafe { fibra_spawn(sleeper.rt, Some(mark_ran), arg) },
        FibraStatus::FIBRA_OK,
    );
    // Acquire: pairs with the Release store in `mark_ran`.
    while !sleeper.other_ran.load(Ordering::Acquire) {
        let start = Instant::now();
        expect(fibra_sleep_ns(1_000_000), FibraStatus::FIBRA_OK);
        if start.elapsed() < Duration::from_millis(1) {
            sleeper.too_short.fetch_add(1, Ordering::Relaxed);
        }
    }
}

#[test]
fn a_sleeping_task_parks_and_its_worker_runs_others() {
    // A sleep that held the worker would hang: the guard turns that into a
    // failure. What is asserted below is the lower bound of each sleep.
    with_hang_guard("sleep in a task", sleep_in_a_task);
}

fn sleep_in_a_task() {
    let rt = new_runtime(1);
    let sleeper = Sleeper {
        rt,
        other_ran: AtomicBool::new(false),
        too_short: AtomicU64::new(0),
    };
    let arg = &sleeper as *const Sleeper as *mut c_void;
    let mut task = null_mut();
    // SAFETY: live runtime; `sleeper` outlives the task (waited for below).
    unsafe {
        expect(
            fibra_task_spawn(rt, Some(sleep_until_the_other_ran), arg, None, &mut task),
            FibraStatus::FIBRA_OK,
        );
        expect(fibra_task_wait(task), FibraStatus::FIBRA_OK);
        expect(fibra_task_free(task), FibraStatus::FIBRA_OK);
        expect(fibra_runtime_free(rt), FibraStatus::FIBRA_OK);
    }
    assert_eq!(
        sleeper.too_short.load(Ordering::Relaxed),
        0,
        "sleeps shorter than asked"
    );
}
