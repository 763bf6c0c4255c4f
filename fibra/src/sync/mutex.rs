//! [`Mutex`] and [`MutexGuard`]: mutual exclusion that parks the task, not
//! the worker. The lock itself (state word, wait queue, fairness) is
//! [`RawMutex`]; this file adds the data and the guard.
//!
//! Invariant: a `MutexGuard` exists exactly while its holder holds the raw
//! lock; only the guard reaches the data, and only its `Drop` (or
//! `Condvar::wait`, which gives the lock back before returning the guard)
//! unlocks.

use super::raw_mutex::{RawMutex, HAND_OFF_AFTER};
use crate::park::{Tasks, Waiter};
use std::cell::UnsafeCell;
use std::fmt;
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};
use std::time::{Duration, Instant};

/// A mutual-exclusion lock whose [`lock`](Self::lock) parks the calling
/// *task* (its worker runs other tasks meanwhile) or, off a fibra worker,
/// blocks the calling thread. Tasks and plain threads may share one.
///
/// Holding a `std::sync::MutexGuard` across a blocking call (a channel
/// receive, a join, a `WaitGroup::wait`) is the classic hazard of M:N
/// runtimes: every task that then wants that mutex blocks its whole worker
/// thread, and if the holder waits for one of those tasks the program
/// deadlocks. `fibra::sync::Mutex` is the fix: a task waiting for it parks,
/// so its worker goes on running other tasks, the holder among them.
///
/// - **Cost**: lock and unlock are one compare-and-swap each while nobody
///   waits. A contended `lock` spins briefly, then queues and parks.
/// - **Fairness**: a running locker may take a free lock ahead of parked
///   ones (throughput), but once the oldest waiter has waited 1 ms the next
///   unlock hands the lock straight to it, as Go's `sync.Mutex` does; so no
///   waiter starves. Waiters are queued in arrival order.
/// - **No poisoning** (as `parking_lot` and Tokio): a panic while the guard is
///   held unlocks the mutex as the guard is dropped during unwinding, and the
///   next `lock` succeeds; the data may be in whatever state the panic left
///   it. [`lock`](Self::lock) therefore returns the guard itself, not a
///   `Result`.
/// - [`MutexGuard`] is not `Send`, like std's: a fibra task never changes
///   thread, and a guard stays with the task that locked.
/// - Not re-entrant: locking it again from the task that holds it deadlocks
///   that task.
///
/// ```
/// use fibra::sync::Mutex;
/// use std::sync::Arc;
///
/// let rt = fibra::Runtime::builder().workers(2).build()?;
/// let total = Arc::new(Mutex::new(0u64));
/// let tasks: Vec<_> = (0..100)
///     .map(|i| {
///         let total = total.clone();
///         rt.spawn(move || *total.lock() += i)
///     })
///     .collect();
/// tasks.into_iter().for_each(|t| t.join().unwrap());
/// assert_eq!(*total.lock(), 4950);
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Mutex<T: ?Sized> {
    raw: RawMutex<Waiter>,
    value: UnsafeCell<T>,
}

// SAFETY: the mutex hands the value to one holder at a time, on any thread,
// so moving or sharing the mutex needs only that T may move between threads.
unsafe impl<T: ?Sized + Send> Send for Mutex<T> {}
// SAFETY: as above: `&Mutex<T>` gives `&mut T` to one thread at a time.
unsafe impl<T: ?Sized + Send> Sync for Mutex<T> {}

impl<T> Mutex<T> {
    /// An unlocked mutex holding `value`. `const`, so it can be a `static`.
    ///
    /// ```
    /// static HITS: fibra::sync::Mutex<u32> = fibra::sync::Mutex::new(0);
    /// *HITS.lock() += 1;
    /// assert_eq!(*HITS.lock(), 1);
    /// ```
    pub const fn new(value: T) -> Mutex<T> {
        Mutex {
            raw: RawMutex::new(),
            value: UnsafeCell::new(value),
        }
    }

    /// The value, taking the mutex apart.
    ///
    /// ```
    /// let mutex = fibra::sync::Mutex::new(String::from("data"));
    /// assert_eq!(mutex.into_inner(), "data");
    /// ```
    pub fn into_inner(self) -> T {
        self.value.into_inner()
    }
}

impl<T: ?Sized> Mutex<T> {
    /// Locks the mutex, waiting while another holds it: inside a fibra task
    /// the task parks (its worker runs other tasks), elsewhere the thread
    /// blocks. The lock is released when the guard is dropped.
    ///
    /// ```
    /// let mutex = fibra::sync::Mutex::new(vec![1]);
    /// mutex.lock().push(2);
    /// assert_eq!(*mutex.lock(), [1, 2]);
    /// ```
    #[inline]
    pub fn lock(&self) -> MutexGuard<'_, T> {
        self.raw.lock(&Tasks);
        MutexGuard::new(self)
    }

    /// Locks the mutex if it is free now, without waiting (it may take the
    /// lock ahead of parked waiters).
    ///
    /// ```
    /// let mutex = fibra::sync::Mutex::new(0);
    /// let guard = mutex.try_lock().expect("free");
    /// assert!(mutex.try_lock().is_none(), "held by `guard`");
    /// drop(guard);
    /// assert!(mutex.try_lock().is_some());
    /// ```
    #[inline]
    pub fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
        self.raw.try_lock().then(|| MutexGuard::new(self))
    }

    /// Locks the mutex, waiting at most about `timeout` while another holds
    /// it; `None` if it was not free by then. Never gives up before
    /// `timeout` has passed; may give up a little after (see
    /// [`crate::time`]).
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let mutex = fibra::sync::Mutex::new(0);
    /// let guard = mutex.lock();
    /// assert!(mutex.try_lock_for(Duration::from_millis(5)).is_none());
    /// drop(guard);
    /// assert!(mutex.try_lock_for(Duration::from_millis(5)).is_some());
    /// ```
    pub fn try_lock_for(&self, timeout: Duration) -> Option<MutexGuard<'_, T>> {
        match super::deadline_after(timeout) {
            Some(deadline) => self.try_lock_until(deadline),
            None => Some(self.lock()),
        }
    }

    /// Locks the mutex, waiting while another holds it until `deadline` at
    /// most (see [`try_lock_for`](Self::try_lock_for)).
    pub fn try_lock_until(&self, deadline: Instant) -> Option<MutexGuard<'_, T>> {
        self.raw
            .lock_until(&Tasks, deadline)
            .then(|| MutexGuard::new(self))
    }

    /// The value, through a unique borrow: no locking needed.
    ///
    /// ```
    /// let mut mutex = fibra::sync::Mutex::new(1);
    /// *mutex.get_mut() += 1;
    /// assert_eq!(*mutex.lock(), 2);
    /// ```
    pub fn get_mut(&mut self) -> &mut T {
        self.value.get_mut()
    }

    /// Whether the mutex is held right now (a snapshot that may be stale at
    /// once; for diagnostics).
    ///
    /// ```
    /// let mutex = fibra::sync::Mutex::new(());
    /// let guard = mutex.lock();
    /// assert!(mutex.is_locked());
    /// drop(guard);
    /// assert!(!mutex.is_locked());
    /// ```
    pub fn is_locked(&self) -> bool {
        self.raw.is_locked()
    }

    /// The raw lock, for `Condvar`.
    pub(super) fn raw(&self) -> &RawMutex<Waiter> {
        &self.raw
    }
}

impl<T: Default> Default for Mutex<T> {
    fn default() -> Mutex<T> {
        Mutex::new(T::default())
    }
}

impl<T> From<T> for Mutex<T> {
    fn from(value: T) -> Mutex<T> {
        Mutex::new(value)
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Mutex");
        match self.try_lock() {
            Some(guard) => d.field("data", &&*guard),
            None => d.field("data", &format_args!("<locked>")),
        };
        d.finish_non_exhaustive()
    }
}

/// Access to a [`Mutex`]'s value while it is locked; dropping it unlocks
/// (waking the oldest waiter, if any).
///
/// Not `Send` (like `std::sync::MutexGuard`): it stays with the task or
/// thread that locked. `Sync` when `T` is.
#[must_use = "the mutex unlocks at once if the guard is dropped"]
pub struct MutexGuard<'a, T: ?Sized> {
    mutex: &'a Mutex<T>,
    /// Not `Send` (see the type docs).
    _not_send: PhantomData<*const ()>,
}

// SAFETY: a `&MutexGuard` gives only `&T`, so sharing it is sharing `&T`.
unsafe impl<T: ?Sized + Sync> Sync for MutexGuard<'_, T> {}

impl<'a, T: ?Sized> MutexGuard<'a, T> {
    /// Made only right after the raw lock was taken.
    fn new(mutex: &'a Mutex<T>) -> MutexGuard<'a, T> {
        MutexGuard {
            mutex,
            _not_send: PhantomData,
        }
    }

    /// The mutex this guard holds, for `Condvar`.
    pub(super) fn mutex(&self) -> &'a Mutex<T> {
        self.mutex
    }
}

impl<T: ?Sized> Deref for MutexGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: the guard's existence means we hold the lock, so nobody
        // else reaches the value; the borrow is tied to the guard.
        unsafe { &*self.mutex.value.get() }
    }
}

impl<T: ?Sized> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`, and `&mut self` makes this borrow unique.
        unsafe { &mut *self.mutex.value.get() }
    }
}

impl<T: ?Sized> Drop for MutexGuard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        self.mutex.raw.unlock(&Tasks, HAND_OFF_AFTER);
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized + fmt::Display> fmt::Display for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    #[test]
    fn threads_increment_under_the_lock() {
        let threads = 4;
        let rounds = if cfg!(miri) { 50 } else { 10_000 };
        let counter = Arc::new(Mutex::new(0usize));
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let counter = counter.clone();
                std::thread::spawn(move || (0..rounds).for_each(|_| *counter.lock() += 1))
            })
            .collect();
        handles.into_iter().for_each(|h| h.join().unwrap());
        assert_eq!(*counter.lock(), threads * rounds);
    }

    #[test]
    fn a_panic_while_locked_unlocks_and_does_not_poison() {
        let mutex = Arc::new(Mutex::new(1));
        let other = mutex.clone();
        let result = std::thread::spawn(move || {
            let mut guard = other.lock();
            *guard = 2;
            panic!("while holding the guard");
        })
        .join();
        assert!(result.is_err());
        assert!(!mutex.is_locked(), "unwinding dropped the guard");
        assert_eq!(*mutex.lock(), 2, "the value as the panic left it");
    }

    #[test]
    fn unsized_values_debug_and_conversions() {
        let mutex: &Mutex<[u8]> = &Mutex::new([1, 2, 3]);
        assert_eq!(mutex.lock().len(), 3);
        let mutex = Mutex::from(5);
        assert_eq!(format!("{mutex:?}"), "Mutex { data: 5, .. }");
        let guard = mutex.lock();
        assert_eq!(format!("{mutex:?}"), "Mutex { data: <locked>, .. }");
        assert_eq!(format!("{guard:?} {guard}"), "5 5");
        drop(guard);
        assert_eq!(Mutex::<Vec<u8>>::default().into_inner(), Vec::<u8>::new());
    }

    #[test]
    fn drop_of_the_value_happens_once() {
        static DROPS: AtomicUsize = AtomicUsize::new(0);
        struct Counted;
        impl Drop for Counted {
            fn drop(&mut self) {
                DROPS.fetch_add(1, Ordering::Relaxed);
            }
        }
        drop(Mutex::new(Counted));
        let _value = Mutex::new(Counted).into_inner();
        assert_eq!(DROPS.load(Ordering::Relaxed), 1);
    }
}
