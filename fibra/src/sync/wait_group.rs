//! [`WaitGroup`]: wait for a counted set of things to finish (Go's
//! `sync.WaitGroup`). The protocol (and why no wake-up is lost) is in
//! `raw_wait_group.rs`; this file adds sharing (`Arc`) and the public API.

use super::raw_wait_group::RawWaitGroup;
use crate::park::{Tasks, Waiter};
use std::fmt;
use std::sync::Arc;

/// Waits for a number of tasks (or anything else) to call [`done`](Self::done).
///
/// Inside a fibra task, [`wait`](Self::wait) parks only the task: its worker
/// runs other tasks meanwhile. On any other thread it blocks the thread.
/// Clones share one counter.
///
/// ```
/// use std::sync::atomic::{AtomicU64, Ordering};
/// use std::sync::Arc;
///
/// let rt = fibra::Runtime::builder().workers(2).build()?;
/// let sum = Arc::new(AtomicU64::new(0));
/// let wg = fibra::sync::WaitGroup::new();
/// for i in 1..=100 {
///     wg.add(1);
///     let (wg, sum) = (wg.clone(), sum.clone());
///     rt.spawn(move || {
///         sum.fetch_add(i, Ordering::Relaxed);
///         wg.done();
///     });
/// }
/// wg.wait(); // here on a plain thread; inside a task it parks the task
/// assert_eq!(sum.load(Ordering::Relaxed), 5050);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone)]
pub struct WaitGroup {
    inner: Arc<RawWaitGroup<Waiter>>,
}

impl Default for WaitGroup {
    fn default() -> WaitGroup {
        WaitGroup {
            inner: Arc::new(RawWaitGroup::new()),
        }
    }
}

/// The count of a [`WaitGroup`] would have gone below zero or overflowed;
/// [`WaitGroup::try_add`] changed nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CountError {
    /// The count when the change was refused.
    pub count: usize,
    /// The refused change.
    pub delta: isize,
}

impl fmt::Display for CountError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "WaitGroup count {} {:+} would go below zero or overflow",
            self.count, self.delta
        )
    }
}

impl std::error::Error for CountError {}

impl WaitGroup {
    /// A wait group with a count of zero.
    pub fn new() -> WaitGroup {
        WaitGroup::default()
    }

    /// Adds `n` to the count.
    ///
    /// # Panics
    /// If the count would overflow `usize`.
    pub fn add(&self, n: usize) {
        let delta = isize::try_from(n).expect("fibra: WaitGroup count overflow");
        if let Err(error) = self.try_add(delta) {
            panic!("fibra: {error}");
        }
    }

    /// Subtracts one from the count; at zero, wakes every waiter.
    ///
    /// # Panics
    /// If the count is already zero (more `done`s than `add`s), as Go does.
    pub fn done(&self) {
        if self.try_add(-1).is_err() {
            panic!("fibra: WaitGroup::done called more often than add");
        }
    }

    /// Go's `Add(delta)` without the panic: adds `delta` (which may be
    /// negative) and returns the new count; at zero, wakes every waiter. A
    /// change that would take the count below zero or past `usize::MAX` is
    /// refused, with nothing changed. (The C ABI's wait group uses this.)
    ///
    /// ```
    /// let wg = fibra::sync::WaitGroup::new();
    /// assert_eq!(wg.try_add(3), Ok(3));
    /// assert_eq!(wg.try_add(-2), Ok(1));
    /// assert!(wg.try_add(-2).is_err()); // would go below zero: unchanged
    /// assert_eq!(wg.count(), 1);
    /// ```
    pub fn try_add(&self, delta: isize) -> Result<usize, CountError> {
        self.inner
            .try_add(delta, &Tasks)
            .map_err(|count| CountError { count, delta })
    }

    /// The current count.
    pub fn count(&self) -> usize {
        self.inner.count()
    }

    /// Waits until the count is zero (returns at once if it is).
    pub fn wait(&self) {
        self.inner.wait(&Tasks);
    }
}

impl fmt::Debug for WaitGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitGroup").field("count", &self.count()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_count_does_not_wait_and_threads_are_woken() {
        let wg = WaitGroup::new();
        wg.wait();
        wg.add(2);
        let other = wg.clone();
        let t = std::thread::spawn(move || {
            other.done();
            other.done();
        });
        wg.wait();
        t.join().unwrap();
        assert_eq!(wg.count(), 0);
        assert!(format!("{wg:?}").contains("count: 0"));
    }

    #[test]
    fn try_add_refuses_below_zero_and_overflow_unchanged() {
        let wg = WaitGroup::new();
        assert_eq!(wg.try_add(2), Ok(2));
        let error = wg.try_add(-3).unwrap_err();
        assert_eq!(error, CountError { count: 2, delta: -3 });
        assert!(error.to_string().contains("2 -3"));
        assert_eq!(wg.try_add(-2), Ok(0));
        wg.add(usize::MAX / 2);
        wg.add(usize::MAX / 2);
        assert!(wg.try_add(isize::MAX).is_err());
        assert_eq!(wg.count(), usize::MAX - 1);
    }

    #[test]
    #[should_panic(expected = "more often than add")]
    fn done_below_zero_panics() {
        WaitGroup::new().done();
    }
}
