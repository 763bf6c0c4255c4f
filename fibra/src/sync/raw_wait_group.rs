//! The core of [`WaitGroup`](super::WaitGroup), generic over how to park
//! (`park::Parking`), so that its loom model checks this very code.
//!
//! Invariants: `count` is the number of `add`s not yet matched by a `done`
//! (never negative: every change is a compare-and-swap that refuses to go
//! below zero or past `usize::MAX`); `waiters` holds the waiters of tasks or
//! threads that saw a non-zero count while holding the `waiters` lock and
//! have not been woken since.
//!
//! No lost wake-up: changes of `count` take no lock; the change that brings
//! it to zero then takes the lock, drains `waiters`, and unparks them after
//! releasing it. A waiter reads `count` while holding the lock, so its read
//! comes either after that drain (the lock orders them, and it sees zero)
//! or before it (and it is in the list when it is drained). A waiter woken
//! spuriously re-checks and registers again.

use crate::loom::atomic::{AtomicUsize, Ordering};
use crate::loom::{lock, Mutex};
use crate::park::Parking;

pub(crate) struct RawWaitGroup<W> {
    count: AtomicUsize,
    waiters: Mutex<Vec<W>>,
}

impl<W: Copy> RawWaitGroup<W> {
    pub(crate) fn new() -> RawWaitGroup<W> {
        RawWaitGroup {
            count: AtomicUsize::new(0),
            waiters: Mutex::new(Vec::new()),
        }
    }

    /// Adds `delta` and returns the new count, waking every waiter at zero;
    /// `Err(count)` (nothing changed) if the count would go below zero or
    /// overflow.
    pub(crate) fn try_add<P: Parking<Waiter = W>>(&self, delta: isize, parking: &P) -> Result<usize, usize> {
        // AcqRel on success: the Release half publishes the caller's writes
        // made before its `done`; the Acquire half makes the change that
        // reaches zero see every earlier one's, and so hands all of them to
        // the waiters it wakes (through the `waiters` lock) and to the
        // Acquire load in `count`. Relaxed on failure: only re-read to retry.
        let before = self
            .count
            .fetch_update(Ordering::AcqRel, Ordering::Relaxed, |count| {
                count.checked_add_signed(delta)
            })?;
        let after = before.wrapping_add_signed(delta);
        if after == 0 && before != 0 {
            let woken = std::mem::take(&mut *lock(&self.waiters));
            woken.into_iter().for_each(|waiter| parking.unpark(waiter));
        }
        Ok(after)
    }

    /// The current count.
    pub(crate) fn count(&self) -> usize {
        // Acquire: pairs with the AcqRel update in `try_add`.
        self.count.load(Ordering::Acquire)
    }

    /// Waits until the count is zero (returns at once if it is).
    pub(crate) fn wait<P: Parking<Waiter = W>>(&self, parking: &P) {
        while self.count() != 0 {
            {
                let mut waiters = lock(&self.waiters);
                // Under the lock: see the module docs (no lost wake-up).
                if self.count() == 0 {
                    return;
                }
                // After a spurious wake-up this may register a second time;
                // unparking a waiter twice is harmless.
                waiters.push(parking.current());
            }
            parking.park();
        }
    }
}
