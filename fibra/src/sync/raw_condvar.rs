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
use crate::park::Parking;
use std::time::Duration;

/// A condition variable's waiters (see the module docs).
pub(crate) struct RawCondvar<W> {
    /// The queue's length, written under the lock (see the module docs).
    queued: AtomicUsize,
    waiters: crate::loom::Mutex<WaitQueue<W, ()>>,
}

impl<W: Copy> RawCondvar<W> {
    /// A condvar nobody waits on.
    #[cfg(not(loom))]
    pub(crate) const fn new() -> RawCondvar<W> {
        RawCondvar {
            queued: AtomicUsize::new(0),
            waiters: crate::loom::Mutex::new(WaitQueue::new()),
        }
    }

    /// A condvar nobody waits on (loom's `Mutex::new` is not `const`).
    #[cfg(loom)]
    pub(crate) fn new() -> RawCondvar<W> {
        RawCondvar {
            queued: AtomicUsize::new(0),
            waiters: crate::loom::Mutex::new(WaitQueue::new()),
        }
    }

    /// Unlocks `mutex` (which the caller holds), waits for a notification
    /// (or a spurious wake-up, rarely), and locks `mutex` again.
    pub(crate) fn wait<P: Parking<Waiter = W>>(&self, mutex: &RawMutex<W>, parking: &P, hand_off: Duration) {
        let ticket = self.enqueue(parking.current());
        mutex.unlock(parking, hand_off);
        loop {
            parking.park();
            if !crate::loom::lock(&self.waiters).contains(ticket) {
                break;
            }
        }
        mutex.lock(parking);
    }

    fn enqueue(&self, waiter: W) -> u64 {
        let mut waiters = crate::loom::lock(&self.waiters);
        let ticket = waiters.push_back(waiter, ());
        self.queued.store(waiters.len(), Ordering::Relaxed);
        ticket
    }

    /// Wakes the oldest waiter, if any.
    pub(crate) fn notify_one<P: Parking<Waiter = W>>(&self, parking: &P) {
        if self.queued.load(Ordering::Relaxed) == 0 {
            return;
        }
        let oldest = {
            let mut waiters = crate::loom::lock(&self.waiters);
            let oldest = waiters.pop_front();
            self.queued.store(waiters.len(), Ordering::Relaxed);
            oldest
        };
        if let Some(entry) = oldest {
            parking.unpark(entry.waiter);
        }
    }

    /// Wakes every waiter.
    pub(crate) fn notify_all<P: Parking<Waiter = W>>(&self, parking: &P) {
        if self.queued.load(Ordering::Relaxed) == 0 {
            return;
        }
        let all = {
            let mut waiters = crate::loom::lock(&self.waiters);
            self.queued.store(0, Ordering::Relaxed);
            waiters.take_all()
        };
        all.for_each(|entry| parking.unpark(entry.waiter));
    }

    /// How many waiters are queued now (for tests).
    #[cfg(test)]
    pub(crate) fn queued(&self) -> usize {
        crate::loom::lock(&self.waiters).len()
    }
}
