//! [`Timers`]: one worker's timing wheel of parked waiters, in real time.
//!
//! A tick is one millisecond ([`TICK`]) since the worker's `origin`. A
//! deadline is rounded *up* to a tick and the clock *down*, so a timer fires
//! only once its deadline has passed: firing at clock tick `t` means
//! `now >= origin + t ms >= deadline`.
//!
//! Owned by one worker (in its `WorkerContext`) and touched only by that
//! worker's thread: fibers register and cancel their timers there (a fiber
//! never migrates), and the worker loop fires them. Firing unparks the
//! timer's [`Waiter`]; the fiber parker's token protocol makes an unpark of
//! a fiber that was woken meanwhile harmless (see `fiber::parker`).

use super::wheel::{TimerKey, Wheel};
use crate::park::Waiter;
use std::time::{Duration, Instant};

/// The wheel's resolution.
pub(crate) const TICK: Duration = Duration::from_millis(1);
const NANOS_PER_TICK: u128 = TICK.as_nanos();

/// Timers of one worker (see the module docs).
pub(crate) struct Timers {
    origin: Instant,
    wheel: Wheel<Waiter>,
}

impl Timers {
    pub(crate) fn new() -> Timers {
        Timers {
            origin: Instant::now(),
            wheel: Wheel::new(),
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.wheel.is_empty()
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.wheel.len()
    }

    /// Unparks `waiter` once `deadline` has passed (unless cancelled first).
    pub(crate) fn insert(&mut self, deadline: Instant, waiter: Waiter) -> TimerKey {
        self.wheel.insert(self.tick_at_or_after(deadline), waiter)
    }

    /// Cancels a timer; returns whether it was still pending (had not fired).
    pub(crate) fn cancel(&mut self, key: TimerKey) -> bool {
        self.wheel.cancel(key).is_some()
    }

    /// Unparks the waiters of every timer due at `now`; returns how many.
    pub(crate) fn fire_due(&mut self, now: Instant) -> usize {
        let tick = self.tick_at_or_before(now);
        self.wheel.advance_to(tick, Waiter::unpark)
    }

    /// When the worker must look at its timers next: at or before the
    /// earliest deadline; `None` without timers.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        let tick = self.wheel.next_expiration()?;
        let nanos = u128::from(tick) * NANOS_PER_TICK;
        let after_origin = Duration::new((nanos / 1_000_000_000) as u64, (nanos % 1_000_000_000) as u32);
        // Unrepresentable only centuries ahead: no need to wake for it.
        self.origin.checked_add(after_origin)
    }

    fn tick_at_or_after(&self, deadline: Instant) -> u64 {
        let nanos = deadline.saturating_duration_since(self.origin).as_nanos();
        u64::try_from(nanos.div_ceil(NANOS_PER_TICK)).unwrap_or(u64::MAX)
    }

    fn tick_at_or_before(&self, now: Instant) -> u64 {
        let nanos = now.saturating_duration_since(self.origin).as_nanos();
        u64::try_from(nanos / NANOS_PER_TICK).unwrap_or(u64::MAX)
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::park::{park_current, Parker};

    #[test]
    fn rounds_so_that_nothing_fires_early() {
        let timers = Timers::new();
        let origin = timers.origin;
        let half = Duration::from_micros(500);
        assert_eq!(timers.tick_at_or_after(origin + half), 1);
        assert_eq!(timers.tick_at_or_before(origin + half), 0);
        assert_eq!(timers.tick_at_or_after(origin + TICK), 1);
        assert_eq!(timers.tick_at_or_before(origin + TICK), 1);
        if let Some(before) = origin.checked_sub(TICK) {
            assert_eq!(timers.tick_at_or_after(before), 0, "before the origin");
        }
    }

    #[test]
    fn fires_a_thread_waiter_once_due() {
        let mut timers = Timers::new();
        let origin = timers.origin;
        let waiter = Waiter::thread(Parker::for_current_thread());
        let deadline = origin + Duration::from_micros(2_500);
        let key = timers.insert(deadline, waiter);
        assert_eq!(timers.next_deadline(), Some(origin + 3 * TICK));
        assert_eq!(timers.fire_due(origin + 2 * TICK), 0);
        assert_eq!(timers.fire_due(origin + 3 * TICK), 1);
        assert!(!timers.cancel(key), "fired already");
        assert!(timers.is_empty() && timers.next_deadline().is_none());
        park_current(); // consumes the token the timer left
    }
}
