//! [`Parking`]: "who is running, how it sleeps, how to wake it", as a trait,
//! so that a blocking protocol can be written once and run both on fibra's
//! real [`Waiter`](super::Waiter) ([`Tasks`]) and, in loom models, on
//! loom-modelled thread parkers (`LoomThreads`), which thus check the very
//! code that runs in production.
//!
//! Contract: `park` returns after an `unpark` of the waiter that `current`
//! named on this thread or task, or spuriously; an `unpark` that comes before
//! the `park` makes that `park` return at once (one token, as
//! `std::thread::park`). Every caller re-checks its condition after `park`.

use std::time::Instant;

/// What [`park_current_until`](super::park_current_until) (or
/// [`Parking::park_until`]) returned for.
#[must_use]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ParkOutcome {
    /// Unparked, or woken spuriously, before the deadline: re-check the
    /// condition, then park again if need be.
    Unparked,
    /// The deadline has passed (the condition may hold by now all the same).
    TimedOut,
}

/// Who is running, how it sleeps, and how to wake it (see the module docs).
pub(crate) trait Parking {
    /// Names a parked party, to be woken later.
    type Waiter: Copy;
    /// The calling task or thread.
    fn current(&self) -> Self::Waiter;
    /// Sleeps until unparked (may return spuriously).
    fn park(&self);
    /// Like [`park`](Self::park), but returns [`ParkOutcome::TimedOut`] once
    /// `deadline` has passed; never before it.
    fn park_until(&self, deadline: Instant) -> ParkOutcome;
    /// [`park`](Self::park) without a deadline, [`park_until`](Self::park_until)
    /// with one.
    fn park_with(&self, deadline: Option<Instant>) -> ParkOutcome {
        match deadline {
            None => {
                self.park();
                ParkOutcome::Unparked
            }
            Some(deadline) => self.park_until(deadline),
        }
    }
    /// Makes the waiter's current or next park return.
    fn unpark(&self, waiter: Self::Waiter);
}

/// Parking through fibra's one mechanism: the running task's fiber if there
/// is one (its worker runs other tasks meanwhile), else the calling thread.
#[cfg(not(loom))]
#[derive(Clone, Copy, Debug)]
pub(crate) struct Tasks;

#[cfg(not(loom))]
impl Parking for Tasks {
    type Waiter = super::Waiter;

    #[inline]
    fn current(&self) -> super::Waiter {
        super::Waiter::current()
    }

    #[inline]
    fn park(&self) {
        super::park_current();
    }

    fn park_until(&self, deadline: Instant) -> ParkOutcome {
        super::park_current_until(deadline)
    }

    #[inline]
    fn unpark(&self, waiter: super::Waiter) {
        waiter.unpark();
    }
}

/// For loom models: the model's threads are numbered, each parks on its own
/// loom-modelled [`Parker`](super::Parker), and waiters are thread numbers.
#[cfg(all(loom, test))]
pub(crate) struct LoomThreads {
    me: usize,
    parkers: crate::loom::Arc<Vec<super::Parker>>,
}

#[cfg(all(loom, test))]
impl LoomThreads {
    /// Parkers for threads `0..threads`, and the parking of thread 0.
    pub(crate) fn new(threads: usize) -> LoomThreads {
        let parkers = (0..threads).map(|_| super::Parker::new()).collect();
        LoomThreads {
            me: 0,
            parkers: crate::loom::Arc::new(parkers),
        }
    }

    /// The parking of thread `me`, sharing these parkers.
    pub(crate) fn thread(&self, me: usize) -> LoomThreads {
        assert!(me < self.parkers.len());
        LoomThreads {
            me,
            parkers: self.parkers.clone(),
        }
    }
}

#[cfg(all(loom, test))]
impl Parking for LoomThreads {
    type Waiter = usize;

    fn current(&self) -> usize {
        self.me
    }

    fn park(&self) {
        self.parkers[self.me].park();
    }

    /// Models a timer that may fire at any point: returns at once (after
    /// consuming a token, if one is there) with `TimedOut`, so loom explores
    /// a timeout racing with every wake-up.
    fn park_until(&self, _deadline: Instant) -> ParkOutcome {
        self.parkers[self.me].park_timeout(std::time::Duration::ZERO);
        ParkOutcome::TimedOut
    }

    fn unpark(&self, waiter: usize) {
        self.parkers[waiter].unpark();
    }
}
