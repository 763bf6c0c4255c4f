//! [`WaitGroup`]: wait for a counted set of things to finish (Go's
//! `sync.WaitGroup`).
//!
//! Invariants: `count` is the number of `add`s not yet matched by a `done`;
//! `waiters` holds the [`Waiter`]s of tasks or threads that saw a non-zero
//! count under the lock and have not been woken since. The `done` that takes
//! the count to zero drains the list under the same lock and unparks every
//! waiter after releasing it, so a waiter either sees zero under the lock or
//! is in the list when the count reaches zero: no wake-up is lost. A waiter
//! woken spuriously re-checks and registers again.

use crate::park::{park_current, Waiter};
use std::fmt;
use std::sync::{Arc, Mutex};

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
#[derive(Clone, Default)]
pub struct WaitGroup {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    count: usize,
    waiters: Vec<Waiter>,
}

impl WaitGroup {
    /// A wait group with a count of zero.
    pub fn new() -> WaitGroup {
        WaitGroup::default()
    }

    /// Adds `n` to the count.
    pub fn add(&self, n: usize) {
        let mut state = crate::loom::lock(&self.inner.state);
        state.count = state
            .count
            .checked_add(n)
            .expect("fibra: WaitGroup count overflow");
    }

    /// Subtracts one from the count; at zero, wakes every waiter.
    ///
    /// # Panics
    /// If the count is already zero (more `done`s than `add`s), as Go does.
    pub fn done(&self) {
        let woken = {
            let mut state = crate::loom::lock(&self.inner.state);
            assert!(
                state.count > 0,
                "fibra: WaitGroup::done called more often than add"
            );
            state.count -= 1;
            if state.count > 0 {
                return;
            }
            std::mem::take(&mut state.waiters)
        };
        woken.into_iter().for_each(Waiter::unpark);
    }

    /// The current count.
    pub fn count(&self) -> usize {
        crate::loom::lock(&self.inner.state).count
    }

    /// Waits until the count is zero (returns at once if it is).
    pub fn wait(&self) {
        loop {
            {
                let mut state = crate::loom::lock(&self.inner.state);
                if state.count == 0 {
                    return;
                }
                // After a spurious wake-up this may register a second time;
                // unparking a waiter twice is harmless.
                state.waiters.push(Waiter::current());
            }
            park_current();
        }
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
    #[should_panic(expected = "more often than add")]
    fn done_below_zero_panics() {
        WaitGroup::new().done();
    }
}
