//! [`RawCondvar`]: the wait queue of a condition variable, over a
//! [`RawMutex`], generic over how to park ([`Parking`]) so that the loom
//! models check this code itself.
//!
//! # Protocol
//!
//! - Wait (the caller holds the mutex): queue the caller's waiter under the
//!   condvar's own lock, *then* unlock the mutex, park until the entry is
//!   gone (re-checking under the lock after each wake-up: wake-ups may be
//!   spurious), and lock the mutex again.
//! - Notify one / all: take the oldest entry / every entry out under the
//!   lock, then unpark them after unlocking. A notified waiter is one whose
//!   entry is gone.
//! - Wait with a deadline: when the park times out, the waiter looks under
//!   the lock: entry gone means a notify took it, and the wait counts as
//!   notified (that notify woke nobody else, so reporting a timeout would
//!   lose it); entry still there: it takes it out and reports the timeout.
//! - `queued` mirrors the queue's length (written under the lock) so that a
//!   notify with nobody waiting costs one load, not a lock.
//!
//! # Why no notification is lost
//!
//! The waiter is in the queue before it lets go of the mutex. A notifier
//! that changed the condition under the mutex (as it must) did so after the
//! waiter's unlock, so its notify comes after the waiter's enqueue in
//! happens-before order (mutex unlock, then lock), and the notify finds the
//! entry; in particular its `queued` load, Relaxed, reads the waiter's store
//! of a non-zero length or a later value (coherence), and a later zero means
//! another notify already took the entry. Taking the entry out and checking
//! for it happen under one lock, so a waiter either is still queued (and a
//! notify will find it) or was notified, never both or neither.

use super::raw_mutex::RawMutex;
use super::wait_queue::WaitQueue;
use crate::loom::atomic::{AtomicUsize, Ordering};
use crate::park::{ParkOutcome, Parking};
use std::time::{Duration, Instant};

/// A condition variable's waiters (see the module docs).
pub(crate) struct RawCondvar<W> {
    /// The queue's length, written under the lock (see the module docs).
    queued: AtomicUsize,
    waiters: crate::loom::Mutex<WaitQueue<W, ()>>,
}

impl<W: Copy> RawCondvar<W> {
    crate::loom::const_fn_unless_loom! {
        /// A condvar nobody waits on.
        pub(crate) fn new() -> RawCondvar<W> {
            RawCondvar {
                queued: AtomicUsize::new(0),
                waiters: crate::loom::Mutex::new(WaitQueue::new()),
            }
        }
    }

    /// Unlocks `mutex` (which the caller holds), waits for a notification
    /// or until `deadline` passes, and locks `mutex` again. True if it was
    /// notified: a notify that raced with the deadline counts, as it took
    /// this waiter's entry (and so did not wake another).
    pub(crate) fn wait<P: Parking<Waiter = W>>(
        &self,
        mutex: &RawMutex<W>,
        parking: &P,
        hand_off: Duration,
        deadline: Option<Instant>,
    ) -> bool {
        let ticket = self.enqueue(parking.current());
        mutex.unlock(parking, hand_off);
        let notified = loop {
            let outcome = parking.park_with(deadline);
            let mut waiters = crate::loom::lock(&self.waiters);
            if !waiters.contains(ticket) {
                break true;
            }
            if outcome == ParkOutcome::TimedOut {
                waiters.remove(ticket);
                self.queued.store(waiters.len(), Ordering::Relaxed);
                break false;
            }
        };
        mutex.lock(parking);
        notified
    }

    fn enqueue(&self, waiter: W) -> u64 {
        let mut waiters = crate::loom::lock(&self.waiters);
        let ticket = waiters.push_back(waiter, ());
        self.queued.store(waiters.len(), Ordering::Relaxed);
        ticket
    }

    /// Wakes the oldest waiter, if any; true if there was one.
    pub(crate) fn notify_one<P: Parking<Waiter = W>>(&self, parking: &P) -> bool {
        if self.queued.load(Ordering::Relaxed) == 0 {
            return false;
        }
        let oldest = {
            let mut waiters = crate::loom::lock(&self.waiters);
            let oldest = waiters.pop_front();
            self.queued.store(waiters.len(), Ordering::Relaxed);
            oldest
        };
        oldest.map(|entry| parking.unpark(entry.waiter)).is_some()
    }

    /// Wakes every waiter; returns how many there were.
    pub(crate) fn notify_all<P: Parking<Waiter = W>>(&self, parking: &P) -> usize {
        if self.queued.load(Ordering::Relaxed) == 0 {
            return 0;
        }
        let all = {
            let mut waiters = crate::loom::lock(&self.waiters);
            self.queued.store(0, Ordering::Relaxed);
            waiters.take_all()
        };
        let woken = all.len();
        all.for_each(|entry| parking.unpark(entry.waiter));
        woken
    }

    /// How many waiters are queued now (for tests).
    #[cfg(test)]
    pub(crate) fn queued(&self) -> usize {
        crate::loom::lock(&self.waiters).len()
    }
}
