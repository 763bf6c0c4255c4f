//! [`Waiter`]: "whoever is running this code", as something to wake later.
//!
//! Every blocking primitive in fibra waits the same way: it records
//! [`Waiter::current`] where its waker will find it, re-checks its condition,
//! and calls [`park_current`] in a loop until the condition holds; the waker
//! makes the condition true, then calls [`Waiter::unpark`]. On a fiber this
//! suspends only the task (its worker moves on); on any other thread it puts
//! the thread to sleep. Both kinds of parker are never freed, so a `Waiter`
//! may be unparked at any time, even long after its owner stopped waiting
//! (a spurious wake-up at worst, which the loop absorbs).
//!
//! [`park_current_until`] parks with a deadline, for timed waits (`sleep`,
//! `recv_timeout`, ...). Off a fiber it is the thread parker's timed park.
//! On a fiber it registers a timer for the fiber's own `Waiter` in its own
//! worker's timer wheel (`time::timers`, touched only by that worker's
//! thread, which is the fiber's: fibers never migrate), suspends, and on
//! resume cancels the timer before the task continues. So a timer fires only
//! while its fiber is still suspended in the park that registered it: it can
//! never wake that fiber's next, unrelated park, nor a recycled fiber.

use super::{ParkOutcome, Parker};
use crate::fiber::{self, parker::FiberParker};
use std::fmt;
use std::num::NonZeroUsize;
use std::time::Instant;

/// A thread parker or a fiber parker, packed in one word: the low bit tags
/// a fiber (both types are at least 4-aligned).
// Nominally `pub` (the module is private) so that `chan`'s sealed
// `SelectArm` trait may name it; not reachable from outside the crate.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Waiter(NonZeroUsize);

const FIBER_TAG: usize = 1;
const _: () = assert!(std::mem::align_of::<Parker>() > FIBER_TAG);
const _: () = assert!(std::mem::align_of::<FiberParker>() > FIBER_TAG);

impl Waiter {
    /// The running fiber if there is one, else the calling thread.
    #[inline]
    pub(crate) fn current() -> Waiter {
        match fiber::current() {
            Some(info) => Waiter::fiber(info.parker),
            None => Waiter::thread(Parker::for_current_thread()),
        }
    }

    pub(crate) fn thread(parker: &'static Parker) -> Waiter {
        let address = parker as *const Parker as usize;
        Waiter(NonZeroUsize::new(address).expect("references are non-null"))
    }

    pub(crate) fn fiber(parker: &'static FiberParker) -> Waiter {
        let address = parker as *const FiberParker as usize | FIBER_TAG;
        Waiter(NonZeroUsize::new(address).expect("tagged"))
    }

    /// Makes the waiter's current or next park return.
    pub(crate) fn unpark(self) {
        let address = self.0.get();
        if address & FIBER_TAG != 0 {
            // SAFETY: made from a `&'static FiberParker` by `fiber`.
            unsafe { &*((address & !FIBER_TAG) as *const FiberParker) }.unpark();
        } else {
            // SAFETY: made from a `&'static Parker` by `thread`.
            unsafe { &*(address as *const Parker) }.unpark();
        }
    }
}

impl fmt::Debug for Waiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = if self.0.get() & FIBER_TAG != 0 {
            "fiber"
        } else {
            "thread"
        };
        write!(f, "Waiter({kind} {:#x})", self.0.get() & !FIBER_TAG)
    }
}

/// Parks the running fiber (its worker runs other tasks meanwhile) or, off a
/// fiber, the calling thread, until the [`Waiter::current`] taken here is
/// unparked. May return spuriously: call it in a loop that re-checks.
pub(crate) fn park_current() {
    match fiber::current() {
        Some(info) => {
            if !info.parker.try_consume_token() {
                crate::worker::reserve_loop_fiber();
                fiber::suspend(fiber::Request::Park);
                info.parker.after_resume();
            }
        }
        None => Parker::for_current_thread().park(),
    }
}

/// Like [`park_current`], but returns [`ParkOutcome::TimedOut`] once
/// `deadline` has passed (at once if it has already). May return
/// `Unparked` spuriously: call it in a loop that re-checks. On a fiber the
/// timer has the worker's resolution (1 ms) and fires only when its worker
/// looks (see `time`), so the wait may last a little longer; it never ends
/// early with `TimedOut`.
pub(crate) fn park_current_until(deadline: Instant) -> ParkOutcome {
    match fiber::current() {
        Some(info) => park_fiber_until(info.parker, deadline),
        None => park_thread_until(deadline),
    }
}

fn park_fiber_until(parker: &'static FiberParker, deadline: Instant) -> ParkOutcome {
    if parker.try_consume_token() {
        return ParkOutcome::Unparked;
    }
    if Instant::now() >= deadline {
        return ParkOutcome::TimedOut;
    }
    // First, as it may panic: a timer must not outlive this call.
    crate::worker::reserve_loop_fiber();
    let timer = crate::worker::register_timer(deadline, Waiter::fiber(parker));
    fiber::suspend(fiber::Request::Park);
    parker.after_resume();
    // Before the task continues (see the module docs). A timer fires only
    // once its deadline has passed (`time::timers` rounds so), which spares
    // a clock read here; woken in time, or by an unpark that came after the
    // deadline but before the timer fired, we report Unparked (the caller
    // re-checks, and its next park times out at once).
    if crate::worker::cancel_timer(timer) {
        ParkOutcome::Unparked
    } else {
        ParkOutcome::TimedOut
    }
}

fn park_thread_until(deadline: Instant) -> ParkOutcome {
    match deadline.checked_duration_since(Instant::now()) {
        Some(left) if !left.is_zero() => {
            Parker::for_current_thread().park_timeout(left);
            outcome_at(deadline)
        }
        _ => ParkOutcome::TimedOut,
    }
}

fn outcome_at(deadline: Instant) -> ParkOutcome {
    if Instant::now() >= deadline {
        ParkOutcome::TimedOut
    } else {
        ParkOutcome::Unparked
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thread_waiter_round_trip() {
        let waiter = Waiter::current();
        assert_eq!(waiter, Waiter::thread(Parker::for_current_thread()));
        waiter.unpark();
        park_current(); // consumes the token at once
        assert!(format!("{waiter:?}").starts_with("Waiter(thread"));
    }

    #[test]
    fn thread_park_until_times_out_after_the_deadline() {
        let deadline = Instant::now() + std::time::Duration::from_millis(2);
        while park_current_until(deadline) == ParkOutcome::Unparked {}
        assert!(Instant::now() >= deadline);
        let past = Instant::now();
        assert_eq!(park_current_until(past), ParkOutcome::TimedOut);
    }

    #[test]
    fn thread_park_until_returns_unparked_when_woken() {
        let waiter = Waiter::current();
        let far = Instant::now() + std::time::Duration::from_secs(3600);
        let waker = std::thread::spawn(move || waiter.unpark());
        // The token may arrive before or during the park: either way, one
        // park returns Unparked long before the deadline.
        assert_eq!(park_current_until(far), ParkOutcome::Unparked);
        waker.join().unwrap();
    }
}
