//! `park_current_until` on fibers: it times out only once the deadline has
//! passed, returns `Unparked` when woken first, and leaves no timer behind.
//! (Its thread side is tested in `park::waiter`; sleeps in `tests/time.rs`.)

use crate::park::{park_current_until, ParkOutcome, Waiter};
use crate::worker::pending_timers;
use crate::Runtime;
use std::time::{Duration, Instant};

fn one_worker() -> Runtime {
    Runtime::builder().workers(1).build().unwrap()
}

#[test]
#[cfg_attr(miri, ignore = "timed waits of a whole runtime: slow under Miri")]
fn times_out_on_a_fiber_only_after_the_deadline() {
    let rt = one_worker();
    let (outcomes, timers_after) = rt.block_on(|| {
        let deadline = Instant::now() + Duration::from_millis(20);
        let mut outcomes = Vec::new();
        loop {
            let outcome = park_current_until(deadline);
            outcomes.push((outcome, Instant::now() >= deadline));
            if outcome == ParkOutcome::TimedOut {
                break;
            }
        }
        (outcomes, pending_timers())
    });
    let (last, past_deadline) = *outcomes.last().unwrap();
    assert_eq!(last, ParkOutcome::TimedOut);
    assert!(past_deadline, "TimedOut before the deadline");
    assert_eq!(timers_after, Some(0), "the fired timer is gone");
}

#[test]
#[cfg_attr(miri, ignore = "no fibers under Miri")]
fn returns_unparked_when_woken_and_cancels_its_timer() {
    let rt = one_worker();
    let result = rt.block_on(|| {
        // FIBRA_FIBERS=0: the park would block the only worker.
        crate::fiber::current()?;
        // On one worker, the waker runs only once this task has parked.
        let waiter = Waiter::current();
        let waker = crate::spawn(move || {
            let pending_while_parked = pending_timers();
            waiter.unpark();
            pending_while_parked
        });
        let outcome = park_current_until(Instant::now() + Duration::from_secs(3600));
        Some((outcome, pending_timers(), waker.join().unwrap()))
    });
    let Some((outcome, pending_after, pending_while_parked)) = result else {
        return;
    };
    assert_eq!(outcome, ParkOutcome::Unparked);
    assert_eq!(pending_while_parked, Some(1), "a timer while parked");
    assert_eq!(pending_after, Some(0), "cancelled on resume");
}

#[test]
#[cfg_attr(miri, ignore = "timed waits of a whole runtime: slow under Miri")]
fn a_past_deadline_times_out_at_once() {
    let rt = one_worker();
    let outcome = rt.block_on(|| park_current_until(Instant::now()));
    assert_eq!(outcome, ParkOutcome::TimedOut);
}

#[test]
#[cfg_attr(miri, ignore = "timed waits of a whole runtime: slow under Miri")]
fn a_stale_wake_up_does_not_end_a_sleep_early() {
    let rt = one_worker();
    let length = Duration::from_millis(5);
    let (elapsed, woken_first) = rt.block_on(|| {
        // A token left by a waker of an earlier wait makes the first park
        // return at once: the sleep must go on until its deadline.
        Waiter::current().unpark();
        let deadline = Instant::now() + length;
        let woken_first = park_current_until(deadline) == ParkOutcome::Unparked;
        Waiter::current().unpark();
        let start = Instant::now();
        super::sleep(length);
        (start.elapsed(), woken_first)
    });
    assert!(woken_first, "the stale token ended the first park");
    assert!(elapsed >= length, "slept {elapsed:?} of {length:?}");
}
