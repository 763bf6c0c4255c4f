//! The worker's side of `time`: its fibers' timers live in its own
//! [`Timers`] wheel, and the loop fires them.
//!
//! - Registering and cancelling (`park::park_current_until`) happen on a
//!   fiber of this worker, so on this thread, while the worker runs.
//! - Firing: the loop fires due timers every [`GLOBAL_QUEUE_INTERVAL`]
//!   ticks (with its look at the global queue) and whenever it runs out of
//!   local work. A fired timer unparks its fiber, which lands in this
//!   worker's inbox and is resumed by the loop like any woken fiber.
//! - Idle: before sleeping the worker has just fired its due timers (it ran
//!   out of work), and it sleeps no longer than until its earliest timer
//!   ([`WorkerContext::sleep_until_woken_or_next_timer`]); with no timer it
//!   sleeps until woken, using no CPU.
//!
//! Why no timer is lost: timers are added only by this worker's own
//! fibers, so never while it sleeps; every sleep of the worker ends at the
//! latest at its earliest timer's expiration, and then the loop fires it.
//! The wheel is touched by this thread only: no locks, no atomics.
//!
//! Limit: a worker busy with one long task that does not block fires none
//! of its timers meanwhile (their fibers cannot run there anyway: they never
//! migrate). Go has the same issue without its `sysmon` thread.
//!
//! [`GLOBAL_QUEUE_INTERVAL`]: super::GLOBAL_QUEUE_INTERVAL

use super::{with_current, WorkerContext};
use crate::park::Waiter;
use crate::time::wheel::TimerKey;
use std::time::Instant;

#[cfg(doc)]
use crate::time::timers::Timers;

/// Unparks `waiter` (a fiber of the calling worker) once `deadline` has
/// passed, unless [`cancel_timer`] comes first.
///
/// # Panics
/// Off a worker thread (fibers run only on workers).
pub(crate) fn register_timer(deadline: Instant, waiter: Waiter) -> TimerKey {
    with_current(|cx| {
        let cx = cx.expect("fibers run only on workers");
        cx.timers.borrow_mut().insert(deadline, waiter)
    })
}

/// Cancels a timer of the calling worker; does nothing if it fired.
pub(crate) fn cancel_timer(key: TimerKey) {
    with_current(|cx| {
        let cx = cx.expect("fibers run only on workers");
        cx.timers.borrow_mut().cancel(key);
    });
}

impl WorkerContext {
    /// Fires every due timer (its fiber goes to our inbox). Returns how
    /// many fired. Reads the clock only when a timer is pending.
    pub(super) fn fire_due_timers(&self) -> usize {
        let mut timers = self.timers.borrow_mut();
        if timers.is_empty() {
            return 0;
        }
        timers.fire_due(Instant::now())
    }

    /// The idle worker's sleep: until its parker is unparked, or at the
    /// latest until its earliest timer expires. Returns false, without
    /// sleeping, if that timer is due already (the caller goes and fires it).
    pub(super) fn sleep_until_woken_or_next_timer(&self) -> bool {
        let next_timer = self.timers.borrow().next_deadline();
        match next_timer {
            None => self.me().parker.park(),
            Some(deadline) => match deadline.checked_duration_since(Instant::now()) {
                Some(left) if !left.is_zero() => self.me().parker.park_timeout(left),
                _ => return false,
            },
        }
        true
    }
}

/// How many timers the calling worker has pending (`None` off a worker).
#[cfg(test)]
pub(crate) fn pending_timers() -> Option<usize> {
    with_current(|cx| cx.map(|cx| cx.timers.borrow().len()))
}
