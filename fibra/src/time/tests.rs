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

/// A measurement, not a test (prints nanoseconds per round trip): two tasks
/// on one worker wake each other in turn, parking with `park_current` or
/// with `park_current_until` (a far deadline: the timer is registered and
/// cancelled at every park, never fired), so the difference is what a timed
/// wait costs over an untimed one when it is woken in time.
/// `cargo test --release -p fibra --lib -- --ignored --nocapture timed_park_cost`.
#[test]
#[ignore = "a measurement, not a test"]
fn timed_park_cost() {
    use crate::park::park_current;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    const ROUNDS: usize = 1_000_000;

    fn ping_pong(timed: bool) -> Duration {
        let rt = one_worker();
        let far = Instant::now() + Duration::from_secs(3600);
        rt.block_on(move || {
            let park = move || {
                if timed {
                    let _ = park_current_until(far);
                } else {
                    park_current();
                }
            };
            // `turn` counts moves; the main task moves on even turns.
            let turn = Arc::new(AtomicUsize::new(0));
            let main = Waiter::current();
            let peer_waiter = Arc::new(std::sync::OnceLock::new());
            let peer = {
                let (turn, peer_waiter) = (turn.clone(), peer_waiter.clone());
                crate::spawn(move || {
                    peer_waiter.set(Waiter::current()).unwrap();
                    main.unpark();
                    // Acquire/Release on `turn`: each side's load pairs with
                    // the other side's store of the value it waits for.
                    for round in 0..ROUNDS {
                        while turn.load(Ordering::Acquire) != 2 * round + 1 {
                            park();
                        }
                        turn.store(2 * round + 2, Ordering::Release);
                        main.unpark();
                    }
                })
            };
            let peer_waiter = loop {
                match peer_waiter.get() {
                    Some(&waiter) => break waiter,
                    None => park_current(),
                }
            };
            let start = Instant::now();
            // Release/Acquire on `turn`: as in the peer's loop.
            for round in 0..ROUNDS {
                turn.store(2 * round + 1, Ordering::Release);
                peer_waiter.unpark();
                while turn.load(Ordering::Acquire) != 2 * round + 2 {
                    park();
                }
            }
            let elapsed = start.elapsed();
            peer.join().unwrap();
            elapsed
        })
    }
    for timed in [false, true, false, true] {
        let per_round = ping_pong(timed).as_nanos() as f64 / ROUNDS as f64;
        let what = if timed {
            "park_current_until"
        } else {
            "park_current"
        };
        println!("{what}: {per_round:.0} ns per round trip (two parks, two unparks)");
    }
}
