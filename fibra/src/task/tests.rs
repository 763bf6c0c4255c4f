//! Single-threaded tests of task cells: every path through the state word,
//! with inline and boxed closures and outputs. They run under Miri, which
//! checks the raw payload handling and that every value is dropped once.

use super::cell::{allocate, cancel_task, run_task, try_run_inline, PAYLOAD_SIZE};
use super::JoinHandle;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// Counts its drops.
struct DropCounter(Arc<AtomicUsize>);

impl Drop for DropCounter {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

fn spawn_unscheduled<F, T>(f: F) -> (std::ptr::NonNull<super::Header>, JoinHandle<T>)
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    // SAFETY: 'static closure and output.
    let task = unsafe { allocate(f, 2, 0) };
    // SAFETY: `allocate` created the handle reference.
    (task, unsafe { JoinHandle::from_raw(task) })
}

#[test]
fn run_then_join_inline_closure_and_output() {
    let (task, handle) = spawn_unscheduled(|| 40 + 2);
    assert!(!handle.is_finished());
    // SAFETY: we hold the scheduler reference.
    unsafe { run_task(task, || {}) };
    assert!(handle.is_finished());
    assert_eq!(handle.join().unwrap(), 42);
}

#[test]
fn boxed_closure_and_boxed_output() {
    let big = [7u64; PAYLOAD_SIZE / 8 + 4]; // larger than the inline payload
    let (task, handle) = spawn_unscheduled(move || {
        let mut out = [0u64; 64];
        out[0] = big.iter().sum();
        out
    });
    // SAFETY: we hold the scheduler reference.
    unsafe { run_task(task, || {}) };
    assert_eq!(handle.join().unwrap()[0], 7 * (PAYLOAD_SIZE as u64 / 8 + 4));
}

#[test]
fn output_dropped_once_whoever_is_last() {
    for handle_first in [true, false] {
        let drops = Arc::new(AtomicUsize::new(0));
        let counter = DropCounter(drops.clone());
        let (task, handle) = spawn_unscheduled(move || counter);
        if handle_first {
            drop(handle); // detached: the runner drops the output
                          // SAFETY: we hold the scheduler reference.
            unsafe { run_task(task, || {}) };
        } else {
            // SAFETY: as above.
            unsafe { run_task(task, || {}) };
            drop(handle); // completed: the handle drops the output
        }
        assert_eq!(drops.load(Ordering::Relaxed), 1, "handle_first={handle_first}");
    }
}

#[test]
fn cancel_drops_closure_once_and_join_reports_it() {
    let drops = Arc::new(AtomicUsize::new(0));
    let counter = DropCounter(drops.clone());
    let (task, handle) = spawn_unscheduled(move || drop(counter));
    // SAFETY: we hold the scheduler reference.
    unsafe { cancel_task(task) };
    assert_eq!(drops.load(Ordering::Relaxed), 1);
    let error = handle.join().unwrap_err();
    assert!(error.is_cancelled() && !error.is_panic());
    assert!(error.to_string().contains("cancelled"), "{error}");
}

#[test]
fn cancel_after_handle_dropped() {
    let drops = Arc::new(AtomicUsize::new(0));
    let counter = DropCounter(drops.clone());
    let (task, handle) = spawn_unscheduled(move || drop(counter));
    drop(handle);
    // SAFETY: we hold the scheduler reference.
    unsafe { cancel_task(task) };
    assert_eq!(drops.load(Ordering::Relaxed), 1);
}

#[test]
fn panic_is_caught_and_reaches_the_handle() {
    let (task, handle) = spawn_unscheduled(|| -> u32 { std::panic::panic_any("boom") });
    // SAFETY: we hold the scheduler reference.
    unsafe { run_task(task, || {}) };
    let error = handle.join().unwrap_err();
    assert!(error.is_panic());
    assert_eq!(error.to_string(), "task panicked: boom");
    assert_eq!(*error.into_panic().downcast::<&str>().unwrap(), "boom");
}

#[test]
fn non_send_internals_are_fine_inside_the_closure() {
    // Rc is created and dropped inside the task: the closure itself is Send.
    let (task, handle) = spawn_unscheduled(|| Rc::strong_count(&Rc::new(1)));
    // SAFETY: we hold the scheduler reference.
    unsafe { run_task(task, || {}) };
    assert_eq!(handle.join().unwrap(), 1);
}

#[test]
fn claimed_inline_then_popped_entry_only_releases() {
    let runs = Arc::new(AtomicUsize::new(0));
    let counter = runs.clone();
    let (task, handle) = spawn_unscheduled(move || counter.fetch_add(1, Ordering::Relaxed));
    // The joiner finds it unstarted and runs it on its own stack.
    // SAFETY: the handle's reference keeps the cell live.
    assert!(unsafe { try_run_inline(task, false) });
    // SAFETY: as above.
    assert!(!unsafe { try_run_inline(task, false) }, "claimed once only");
    assert_eq!(handle.join().unwrap(), 0);
    // The queue entry is popped later: it must only release its reference.
    // SAFETY: we hold the entry's (scheduler) reference.
    unsafe { run_task(task, || {}) };
    assert_eq!(runs.load(Ordering::Relaxed), 1);
}

#[test]
fn cancel_of_a_claimed_task_only_releases() {
    let (task, handle) = spawn_unscheduled(|| 5);
    // SAFETY: the handle's reference keeps the cell live.
    assert!(unsafe { try_run_inline(task, false) });
    // SAFETY: we hold the entry's reference.
    unsafe { cancel_task(task) };
    assert_eq!(handle.join().unwrap(), 5, "ran, not cancelled");
}
