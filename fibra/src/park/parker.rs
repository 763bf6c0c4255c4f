//! A one-token parker (like `std::thread::park`), futex-backed.
//!
//! State word: `EMPTY` (no token), `NOTIFIED` (a token is waiting to be
//! consumed), `PARKED` (the owner sleeps or is about to). Only the owning
//! thread calls `park`; any thread calls `unpark`.
//!
//! No lost wake-up: `park` moves `EMPTY -> PARKED` with an RMW before it
//! sleeps, and `unpark` swaps in `NOTIFIED`. Whichever RMW is second sees the
//! other's value: if `unpark` is second it sees `PARKED` and issues the futex
//! wake; if `park` is second it sees `NOTIFIED` and returns at once. The futex
//! wait itself re-checks `PARKED` in the kernel, so a wake between the RMW and
//! the sleep is not lost either.

use crate::loom::atomic::{AtomicU32, Ordering};
use std::time::Duration;

const EMPTY: u32 = 0;
const NOTIFIED: u32 = 1;
const PARKED: u32 = u32::MAX;

/// Puts its owning thread to sleep until `unpark` (see the module docs).
pub(crate) struct Parker {
    state: AtomicU32,
    #[cfg(loom)]
    lock: crate::loom::Mutex<()>,
    #[cfg(loom)]
    condvar: crate::loom::Condvar,
}

impl Parker {
    pub(crate) fn new() -> Parker {
        Parker {
            state: AtomicU32::new(EMPTY),
            #[cfg(loom)]
            lock: crate::loom::Mutex::new(()),
            #[cfg(loom)]
            condvar: crate::loom::Condvar::new(),
        }
    }

    /// Sleeps until a token is available, then consumes it. Called only by
    /// the owning thread. May return spuriously.
    pub(crate) fn park(&self) {
        self.park_inner(None);
    }

    /// Like [`park`](Self::park) but returns after `timeout` at the latest.
    pub(crate) fn park_timeout(&self, timeout: Duration) {
        self.park_inner(Some(timeout));
    }

    fn park_inner(&self, timeout: Option<Duration>) {
        // Acquire: pairs with the Release swap in `unpark`, so whatever the
        // waker wrote before unparking is visible once we return.
        if self.state.fetch_sub(1, Ordering::Acquire) == NOTIFIED {
            return; // NOTIFIED -> EMPTY: consumed the token without sleeping.
        }
        // Now PARKED (EMPTY - 1 wraps to u32::MAX).
        self.sleep_while_parked(timeout);
        // Acquire: pairs with `unpark`'s Release swap, as above. Whether we were
        // woken, timed out or woke spuriously, leave the word EMPTY.
        self.state.swap(EMPTY, Ordering::Acquire);
    }

    /// Makes the owner's current or next `park` return.
    pub(crate) fn unpark(&self) {
        // Release: pairs with the Acquire RMWs in `park_inner`.
        if self.state.swap(NOTIFIED, Ordering::Release) == PARKED {
            self.wake_sleeper();
        }
    }

    #[cfg(not(loom))]
    fn sleep_while_parked(&self, timeout: Option<Duration>) {
        super::futex::wait(&self.state, PARKED, timeout);
    }

    #[cfg(not(loom))]
    fn wake_sleeper(&self) {
        super::futex::wake(&self.state, 1);
    }

    #[cfg(loom)]
    fn sleep_while_parked(&self, timeout: Option<Duration>) {
        // Under loom a timeout is modelled as "may return spuriously".
        if timeout.is_some() {
            return;
        }
        let mut guard = crate::loom::lock(&self.lock);
        // Acquire: pairs with `unpark`'s Release swap (as in `park_inner`).
        while self.state.load(Ordering::Acquire) == PARKED {
            guard = self.condvar.wait(guard).unwrap();
        }
    }

    #[cfg(loom)]
    fn wake_sleeper(&self) {
        let _guard = crate::loom::lock(&self.lock);
        self.condvar.notify_one();
    }
}

#[cfg(not(loom))]
mod per_thread {
    use super::Parker;
    use std::cell::Cell;
    use std::sync::Mutex;

    /// Parkers of threads that exited, ready for reuse. Parkers are leaked on
    /// purpose (see the module docs of `park`): at most one per thread that
    /// ever existed at the same time.
    static FREE: Mutex<Vec<&'static Parker>> = Mutex::new(Vec::new());

    struct ThreadParker(Cell<Option<&'static Parker>>);

    impl Drop for ThreadParker {
        fn drop(&mut self) {
            if let Some(parker) = self.0.get() {
                crate::loom::lock(&FREE).push(parker);
            }
        }
    }

    thread_local! {
        static CURRENT: ThreadParker = const { ThreadParker(Cell::new(None)) };
    }

    impl Parker {
        /// The calling thread's parker. Lives forever (see the module docs).
        pub(crate) fn for_current_thread() -> &'static Parker {
            CURRENT
                .try_with(|slot| match slot.0.get() {
                    Some(parker) => parker,
                    None => {
                        let parker = take_free_parker();
                        slot.0.set(Some(parker));
                        parker
                    }
                })
                // During thread teardown: a fresh parker that is never reused.
                .unwrap_or_else(|_| Box::leak(Box::new(Parker::new())))
        }
    }

    impl Parker {
        /// A parker no thread uses yet, for a thread about to start (see
        /// [`install_for_current_thread`](Self::install_for_current_thread)).
        pub(crate) fn unused() -> &'static Parker {
            take_free_parker()
        }

        /// Makes `self` the calling thread's parker. The thread must not have
        /// used [`for_current_thread`](Self::for_current_thread) yet.
        pub(crate) fn install_for_current_thread(&'static self) {
            CURRENT.with(|slot| {
                assert!(slot.0.get().is_none(), "thread already has a parker");
                slot.0.set(Some(self));
            });
        }
    }

    fn take_free_parker() -> &'static Parker {
        let reused = crate::loom::lock(&FREE).pop();
        match reused {
            Some(parker) => {
                // A leftover token from the previous owner is harmless (every
                // park re-checks its condition) but drop it anyway.
                parker.park_timeout(std::time::Duration::ZERO);
                parker
            }
            None => Box::leak(Box::new(Parker::new())),
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn token_before_park_is_consumed() {
        let parker = Parker::new();
        parker.unpark();
        parker.park(); // returns at once
        parker.park_timeout(Duration::from_millis(1)); // no token: times out
    }

    #[test]
    fn unpark_from_another_thread_wakes() {
        let parker = Arc::new(Parker::new());
        let other = parker.clone();
        let t = std::thread::spawn(move || other.unpark());
        parker.park();
        t.join().unwrap();
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use crate::loom::{atomic::AtomicBool, thread, Arc};

    #[test]
    fn unpark_is_never_lost() {
        let explored = crate::loom::model_counting(|| {
            let parker = Arc::new(Parker::new());
            let flag = Arc::new(AtomicBool::new(false));
            let (p2, f2) = (parker.clone(), flag.clone());
            let waker = thread::spawn(move || {
                f2.store(true, Ordering::Release);
                p2.unpark();
            });
            while !flag.load(Ordering::Acquire) {
                parker.park();
            }
            waker.join().unwrap();
        });
        assert!(explored > 1, "loom explored {explored} interleavings");
    }
}
