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

/// Who is running, how it sleeps, and how to wake it (see the module docs).
pub(crate) trait Parking {
    /// Names a parked party, to be woken later.
    type Waiter: Copy;
    /// The calling task or thread.
    fn current(&self) -> Self::Waiter;
    /// Sleeps until unparked (may return spuriously).
    fn park(&self);
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

    fn unpark(&self, waiter: usize) {
        self.parkers[waiter].unpark();
    }
}
