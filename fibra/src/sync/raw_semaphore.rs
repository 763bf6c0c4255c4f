//! [`RawSemaphore`]: a counted set of permits with a FIFO of waiters, generic
//! over how to park ([`Parking`]) so that the loom models check this code
//! itself.
//!
//! # State and invariants
//!
//! One internal lock guards `permits` (available now) and a [`WaitQueue`] of
//! parked acquirers, each with the number of permits it asks for. Whenever
//! the lock is free:
//! 1. The queue's front asks for more than `permits` (else it would have
//!    been granted). So an acquirer that finds the queue non-empty queues
//!    behind it, even if there are enough permits for itself: strict FIFO,
//!    and a large request is never overtaken by small ones forever.
//! 2. A waiter is granted exactly when its entry leaves the queue by someone
//!    else's hand; the permits it asked for were subtracted from `permits`
//!    at that moment, under the lock. So permits are conserved: `permits` +
//!    permits held (granted, not yet released) = permits ever added.
//!
//! # Protocol
//!
//! - Acquire `n`: under the lock, take `n` if the queue is empty and `n`
//!   permits are there; else queue. Parked, re-check after each wake-up
//!   whether the entry is gone (granted) or still there (spurious).
//! - Release / add `n`: under the lock, add `n`, then grant from the front
//!   while the front's request fits (invariant 1); unpark those after
//!   unlocking. No wake-up is lost: granting and the waiter's check both
//!   happen under the lock.
//! - Acquire with a deadline: when the park times out, the waiter looks
//!   under the lock: entry gone means the permits were granted (they are
//!   its, and it succeeds); else it takes its entry out, and since it may
//!   have been the front that blocked smaller requests (invariant 1), grants
//!   from the front again before it gives up.

use super::wait_queue::WaitQueue;
use crate::park::{ParkOutcome, Parking};
use std::time::Instant;

/// A semaphore's permits and waiters (see the module docs).
pub(crate) struct RawSemaphore<W> {
    state: crate::loom::Mutex<State<W>>,
}

struct State<W> {
    permits: usize,
    /// Parked acquirers; `data` is how many permits each asks for.
    waiters: WaitQueue<W, usize>,
}

/// Waiters granted by one release, to unpark after unlocking; allocates
/// only when a release grants more than one.
#[must_use = "the granted waiters must be unparked"]
pub(crate) struct Granted<W> {
    first: Option<W>,
    rest: Vec<W>,
}

impl<W: Copy> RawSemaphore<W> {
    crate::loom::const_fn_unless_loom! {
        /// A semaphore with `permits` permits.
        pub(crate) fn new(permits: usize) -> RawSemaphore<W> {
            RawSemaphore {
                state: crate::loom::Mutex::new(State {
                    permits,
                    waiters: WaitQueue::new(),
                }),
            }
        }
    }

    /// Takes `n` permits if that needs no waiting: they are there and nobody
    /// is queued (invariant 1).
    pub(crate) fn try_acquire(&self, n: usize) -> bool {
        crate::loom::lock(&self.state).try_take(n)
    }

    /// Takes `n` permits, parking until they are granted (true) or
    /// `deadline` passes (false). A grant that raced with the deadline
    /// counts: the permits were already ours.
    pub(crate) fn acquire<P: Parking<Waiter = W>>(
        &self,
        n: usize,
        parking: &P,
        deadline: Option<Instant>,
    ) -> bool {
        let ticket = {
            let mut state = crate::loom::lock(&self.state);
            if state.try_take(n) {
                return true;
            }
            state.waiters.push_back(parking.current(), n)
        };
        loop {
            let outcome = parking.park_with(deadline);
            let mut state = crate::loom::lock(&self.state);
            if !state.waiters.contains(ticket) {
                return true; // granted (invariant 2)
            }
            if outcome == ParkOutcome::TimedOut {
                state.waiters.remove(ticket);
                // If it was the front, those behind it may fit now.
                let granted = state.grant();
                drop(state);
                granted.unpark_all(parking);
                return false;
            }
        }
    }

    /// Adds `n` permits (a release, or new ones) and wakes the waiters they
    /// let through.
    ///
    /// # Panics
    /// If the number of available permits would overflow `usize`.
    pub(crate) fn release<P: Parking<Waiter = W>>(&self, n: usize, parking: &P) {
        let granted = {
            let mut state = crate::loom::lock(&self.state);
            state.permits = state
                .permits
                .checked_add(n)
                .expect("fibra: Semaphore permit count overflow");
            state.grant()
        };
        granted.unpark_all(parking);
    }

    /// Permits available now.
    pub(crate) fn available(&self) -> usize {
        crate::loom::lock(&self.state).permits
    }

    /// How many acquirers are queued now (for tests).
    #[cfg(test)]
    pub(crate) fn queued(&self) -> usize {
        crate::loom::lock(&self.state).waiters.len()
    }
}

impl<W: Copy> State<W> {
    fn try_take(&mut self, n: usize) -> bool {
        let free = self.waiters.is_empty() && self.permits >= n;
        if free {
            self.permits -= n;
        }
        free
    }

    /// Grants from the front while the front's request fits (invariant 1).
    fn grant(&mut self) -> Granted<W> {
        let mut granted = Granted {
            first: None,
            rest: Vec::new(),
        };
        while let Some(front) = self.waiters.front() {
            if front.data > self.permits {
                break;
            }
            self.permits -= front.data;
            let waiter = self.waiters.pop_front().expect("front exists").waiter;
            match granted.first {
                None => granted.first = Some(waiter),
                Some(_) => granted.rest.push(waiter),
            }
        }
        granted
    }
}

impl<W: Copy> Granted<W> {
    fn unpark_all<P: Parking<Waiter = W>>(self, parking: &P) {
        self.first
            .into_iter()
            .chain(self.rest)
            .for_each(|waiter| parking.unpark(waiter));
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn fifo_grants_keep_a_large_request_ahead_of_small_ones() {
        let mut state = State::<char> {
            permits: 1,
            waiters: WaitQueue::new(),
        };
        assert!(state.try_take(1));
        state.waiters.push_back('L', 3); // a large request waits
        state.permits = 2;
        assert!(!state.try_take(1), "a small request queues behind it");
        state.waiters.push_back('s', 1);
        let granted = state.grant();
        assert_eq!((granted.first, state.permits), (None, 2), "3 do not fit yet");
        state.permits += 2;
        let granted = state.grant();
        assert_eq!((granted.first, granted.rest), (Some('L'), vec!['s']));
        assert_eq!(state.permits, 0);
        assert!(state.waiters.is_empty());
    }
}
