//! [`Semaphore`] and [`SemaphorePermit`]: counted permits whose waits park
//! the task, not the worker. The permits, the FIFO and the conservation
//! invariant are [`RawSemaphore`]'s; this file adds the RAII permit.

use super::raw_semaphore::RawSemaphore;
use crate::park::{Tasks, Waiter};
use std::fmt;
use std::time::Duration;

/// A number of permits that tasks and threads take and give back, to limit
/// how many do something at once (connections, memory, in-flight requests).
///
/// [`acquire`](Self::acquire) waits until a permit is free: inside a fibra
/// task the task parks (its worker runs other tasks), elsewhere the thread
/// blocks. The returned [`SemaphorePermit`] gives the permit back when
/// dropped.
///
/// Waiters are served strictly in arrival order: an acquire that finds
/// others waiting queues behind them even if enough permits are free for
/// it, so a large [`acquire_many`](Self::acquire_many) is never starved by a
/// stream of small ones (the cost: a small request may wait behind a large
/// one while some permits sit free). [`try_acquire`](Self::try_acquire)
/// therefore fails while anyone is queued. Permits are plain counts, not
/// tied to a task: any task may release what another acquired, and
/// [`add_permits`](Self::add_permits) adds new ones.
///
/// Every operation takes a short internal lock (no fast path on an atomic
/// yet).
///
/// ```
/// use fibra::sync::Semaphore;
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use std::sync::Arc;
///
/// let rt = fibra::Runtime::builder().workers(2).build()?;
/// let limit = Arc::new(Semaphore::new(3));
/// let inside = Arc::new(AtomicUsize::new(0));
/// let tasks: Vec<_> = (0..20)
///     .map(|_| {
///         let (limit, inside) = (limit.clone(), inside.clone());
///         rt.spawn(move || {
///             let _permit = limit.acquire();
///             let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
///             assert!(now <= 3, "at most three at once");
///             fibra::yield_now();
///             inside.fetch_sub(1, Ordering::SeqCst);
///         })
///     })
///     .collect();
/// tasks.into_iter().for_each(|t| t.join().unwrap());
/// assert_eq!(limit.available_permits(), 3);
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Semaphore {
    raw: RawSemaphore<Waiter>,
}

impl Semaphore {
    /// A semaphore with `permits` permits. `const`, so it can be a `static`.
    ///
    /// ```
    /// static CONNECTIONS: fibra::sync::Semaphore = fibra::sync::Semaphore::new(8);
    /// let _permit = CONNECTIONS.acquire();
    /// assert_eq!(CONNECTIONS.available_permits(), 7);
    /// ```
    pub const fn new(permits: usize) -> Semaphore {
        Semaphore {
            raw: RawSemaphore::new(permits),
        }
    }

    /// Takes one permit, waiting (in FIFO order) until one is free.
    pub fn acquire(&self) -> SemaphorePermit<'_> {
        self.acquire_many(1)
    }

    /// Takes `n` permits at once, waiting (in FIFO order) until they are
    /// free. `n == 0` waits only for the waiters ahead of it.
    ///
    /// A request for more permits than will ever be available waits forever,
    /// and (FIFO) so does every request queued behind it; a timed
    /// [`acquire_many_timeout`](Self::acquire_many_timeout) lets those
    /// through when it gives up.
    ///
    /// ```
    /// let semaphore = fibra::sync::Semaphore::new(5);
    /// let permit = semaphore.acquire_many(4);
    /// assert_eq!(permit.num_permits(), 4);
    /// assert_eq!(semaphore.available_permits(), 1);
    /// drop(permit);
    /// assert_eq!(semaphore.available_permits(), 5);
    /// ```
    pub fn acquire_many(&self, n: usize) -> SemaphorePermit<'_> {
        let acquired = self.raw.acquire(n, &Tasks, None);
        debug_assert!(acquired, "no deadline");
        SemaphorePermit::new(self, n)
    }

    /// Takes one permit, waiting (in FIFO order) at most about `timeout`;
    /// `None` if none was free by then. Never gives up before `timeout` has
    /// passed; may give up a little after (see [`crate::time`]).
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let semaphore = fibra::sync::Semaphore::new(1);
    /// let held = semaphore.acquire();
    /// assert!(semaphore.acquire_timeout(Duration::from_millis(5)).is_none());
    /// drop(held);
    /// assert!(semaphore.acquire_timeout(Duration::from_millis(5)).is_some());
    /// ```
    pub fn acquire_timeout(&self, timeout: Duration) -> Option<SemaphorePermit<'_>> {
        self.acquire_many_timeout(1, timeout)
    }

    /// Takes `n` permits at once, waiting (in FIFO order) at most about
    /// `timeout`; `None` if they were not all free by then (none is taken).
    /// A waiter that gives up may let the smaller requests queued behind it
    /// through.
    pub fn acquire_many_timeout(&self, n: usize, timeout: Duration) -> Option<SemaphorePermit<'_>> {
        self.raw
            .acquire(n, &Tasks, super::deadline_after(timeout))
            .then(|| SemaphorePermit::new(self, n))
    }

    /// Takes one permit if one is free and nobody is queued; never waits.
    ///
    /// ```
    /// let semaphore = fibra::sync::Semaphore::new(1);
    /// let permit = semaphore.try_acquire().expect("one is free");
    /// assert!(semaphore.try_acquire().is_none());
    /// drop(permit);
    /// assert!(semaphore.try_acquire().is_some());
    /// ```
    pub fn try_acquire(&self) -> Option<SemaphorePermit<'_>> {
        self.try_acquire_many(1)
    }

    /// Takes `n` permits if they are free and nobody is queued; never waits.
    pub fn try_acquire_many(&self, n: usize) -> Option<SemaphorePermit<'_>> {
        self.raw.try_acquire(n).then(|| SemaphorePermit::new(self, n))
    }

    /// Adds `n` new permits, waking the waiters they let through.
    ///
    /// # Panics
    /// If the number of available permits would overflow `usize`.
    ///
    /// ```
    /// let semaphore = fibra::sync::Semaphore::new(0);
    /// assert!(semaphore.try_acquire().is_none());
    /// semaphore.add_permits(2);
    /// assert_eq!(semaphore.available_permits(), 2);
    /// ```
    pub fn add_permits(&self, n: usize) {
        self.raw.release(n, &Tasks);
    }

    /// Permits free right now (a snapshot).
    pub fn available_permits(&self) -> usize {
        self.raw.available()
    }
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Semaphore")
            .field("available_permits", &self.available_permits())
            .finish_non_exhaustive()
    }
}

/// Permits taken from a [`Semaphore`]; dropping it gives them back (waking
/// the waiters they let through).
#[must_use = "the permits are released at once if the permit is dropped"]
pub struct SemaphorePermit<'a> {
    semaphore: &'a Semaphore,
    permits: usize,
}

impl<'a> SemaphorePermit<'a> {
    fn new(semaphore: &'a Semaphore, permits: usize) -> SemaphorePermit<'a> {
        SemaphorePermit { semaphore, permits }
    }

    /// How many permits this holds.
    pub fn num_permits(&self) -> usize {
        self.permits
    }

    /// Keeps the permits out of the semaphore for good (they are not given
    /// back), e.g. to shrink it.
    ///
    /// ```
    /// let semaphore = fibra::sync::Semaphore::new(3);
    /// semaphore.acquire().forget();
    /// assert_eq!(semaphore.available_permits(), 2);
    /// ```
    pub fn forget(mut self) {
        self.permits = 0;
    }
}

impl Drop for SemaphorePermit<'_> {
    fn drop(&mut self) {
        if self.permits > 0 {
            self.semaphore.raw.release(self.permits, &Tasks);
        }
    }
}

impl fmt::Debug for SemaphorePermit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SemaphorePermit")
            .field("permits", &self.permits)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn a_large_request_is_served_before_later_small_ones() {
        let semaphore = Arc::new(Semaphore::new(2));
        let held = semaphore.acquire_many(2);
        let order = Arc::new(crate::sync::Mutex::new(Vec::new()));
        let spawn_waiter = |name: &'static str, n: usize, queued_before: usize| {
            let (shared, order) = (semaphore.clone(), order.clone());
            let handle = std::thread::spawn(move || {
                let permit = shared.acquire_many(n);
                order.lock().push(name);
                drop(permit);
            });
            while semaphore.raw.queued() != queued_before + 1 {
                std::thread::yield_now();
            }
            handle
        };
        let large = spawn_waiter("large", 2, 0);
        let small = spawn_waiter("small", 1, 1);
        assert!(semaphore.try_acquire().is_none(), "others are queued");
        drop(held);
        large.join().unwrap();
        small.join().unwrap();
        assert_eq!(*order.lock(), ["large", "small"]);
        assert_eq!(semaphore.available_permits(), 2);
        assert!(format!("{semaphore:?}").contains("available_permits: 2"));
    }

    #[test]
    fn zero_permits_and_debug() {
        let semaphore = Semaphore::new(0);
        let none = semaphore.acquire_many(0);
        assert_eq!(none.num_permits(), 0);
        assert_eq!(format!("{none:?}"), "SemaphorePermit { permits: 0, .. }");
        drop(none);
        assert_eq!(semaphore.available_permits(), 0);
        assert!(semaphore.try_acquire_many(1).is_none());
    }

    #[test]
    #[should_panic(expected = "permit count overflow")]
    fn adding_past_usize_max_panics() {
        Semaphore::new(usize::MAX).add_permits(1);
    }
}
