//! [`Condvar`]: a condition variable for fibra's [`Mutex`] that parks the
//! task, not the worker. The queue and its protocol are [`RawCondvar`].

use super::mutex::MutexGuard;
use super::raw_condvar::RawCondvar;
use super::raw_mutex::HAND_OFF_AFTER;
#[cfg(doc)]
use super::Mutex;
use crate::park::{Tasks, Waiter};
use std::fmt;
use std::time::{Duration, Instant};

/// Waits until another task or thread says that a condition may have
/// changed, with fibra's [`Mutex`] guarding the condition (std's
/// `Condvar` API, without poisoning).
///
/// [`wait`](Self::wait) gives the mutex up while it waits and takes it back
/// before it returns; inside a fibra task the task parks (its worker runs
/// other tasks), elsewhere the thread blocks. Waiters are woken in the order
/// they started waiting. `wait` returns only after a notify (no spurious
/// wake-ups), but the condition may have changed again before the mutex is
/// re-taken (another locker may get there first), so check it in a loop, or
/// use [`wait_while`](Self::wait_while). One condvar may be used with
/// several mutexes, one per waiter.
///
/// ```
/// use fibra::sync::{Condvar, Mutex};
/// use std::sync::Arc;
///
/// let rt = fibra::Runtime::builder().workers(1).build()?;
/// let ready = Arc::new((Mutex::new(false), Condvar::new()));
/// let waiter = {
///     let ready = ready.clone();
///     rt.spawn(move || {
///         let (flag, condvar) = &*ready;
///         let guard = condvar.wait_while(flag.lock(), |ready| !*ready);
///         *guard
///     })
/// };
/// let (flag, condvar) = &*ready;
/// *flag.lock() = true;
/// condvar.notify_one();
/// assert!(waiter.join().unwrap());
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Condvar {
    raw: RawCondvar<Waiter>,
}

impl Condvar {
    /// A condition variable nobody waits on. `const`, so it can be a `static`.
    pub const fn new() -> Condvar {
        Condvar {
            raw: RawCondvar::new(),
        }
    }

    /// Unlocks the guard's mutex, waits until notified, and locks the mutex
    /// again before returning its guard (see the type docs: re-check the
    /// condition).
    ///
    /// ```
    /// use fibra::sync::{Condvar, Mutex};
    /// use std::sync::Arc;
    ///
    /// let queue = Arc::new((Mutex::new(Vec::new()), Condvar::new()));
    /// let producer = {
    ///     let queue = queue.clone();
    ///     std::thread::spawn(move || {
    ///         queue.0.lock().push("job");
    ///         queue.1.notify_one();
    ///     })
    /// };
    /// let (jobs, condvar) = &*queue;
    /// let mut guard = jobs.lock();
    /// while guard.is_empty() {
    ///     guard = condvar.wait(guard);
    /// }
    /// assert_eq!(guard.pop(), Some("job"));
    /// # drop(guard);
    /// # producer.join().unwrap();
    /// ```
    pub fn wait<'a, T: ?Sized>(&self, guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
        let notified = self.wait_until(&guard, None);
        debug_assert!(notified, "no deadline");
        guard
    }

    /// Waits as [`wait`](Self::wait) does, but at most about `timeout`;
    /// the result says whether it timed out (a notify that raced with the
    /// timeout counts as a notify). Never times out before `timeout` has
    /// passed; may a little after (see [`crate::time`]). Either way the
    /// mutex is locked again when it returns.
    ///
    /// ```
    /// use fibra::sync::{Condvar, Mutex};
    /// use std::time::Duration;
    ///
    /// let (mutex, condvar) = (Mutex::new(()), Condvar::new());
    /// let (_guard, result) = condvar.wait_timeout(mutex.lock(), Duration::from_millis(5));
    /// assert!(result.timed_out(), "nobody notified");
    /// ```
    pub fn wait_timeout<'a, T: ?Sized>(
        &self,
        guard: MutexGuard<'a, T>,
        timeout: Duration,
    ) -> (MutexGuard<'a, T>, WaitTimeoutResult) {
        let notified = self.wait_until(&guard, super::deadline_after(timeout));
        (guard, WaitTimeoutResult(!notified))
    }

    /// Waits while `condition` holds, as [`wait_while`](Self::wait_while)
    /// does, but at most about `timeout` in all; the result has timed out
    /// if `condition` still held when time ran out.
    ///
    /// ```
    /// use fibra::sync::{Condvar, Mutex};
    /// use std::sync::Arc;
    /// use std::time::Duration;
    ///
    /// let rt = fibra::Runtime::builder().workers(1).build()?;
    /// let state = Arc::new((Mutex::new(0), Condvar::new()));
    /// let waiter = {
    ///     let state = state.clone();
    ///     rt.spawn(move || {
    ///         let (count, condvar) = &*state;
    ///         let hour = Duration::from_secs(3600);
    ///         let (guard, result) = condvar.wait_timeout_while(count.lock(), hour, |n| *n < 2);
    ///         (*guard, result.timed_out())
    ///     })
    /// };
    /// for _ in 0..2 {
    ///     *state.0.lock() += 1;
    ///     state.1.notify_all();
    /// }
    /// assert_eq!(waiter.join().unwrap(), (2, false));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn wait_timeout_while<'a, T: ?Sized, F>(
        &self,
        mut guard: MutexGuard<'a, T>,
        timeout: Duration,
        mut condition: F,
    ) -> (MutexGuard<'a, T>, WaitTimeoutResult)
    where
        F: FnMut(&mut T) -> bool,
    {
        let deadline = super::deadline_after(timeout);
        while condition(&mut *guard) {
            if !self.wait_until(&guard, deadline) {
                let timed_out = condition(&mut *guard);
                return (guard, WaitTimeoutResult(timed_out));
            }
        }
        (guard, WaitTimeoutResult(false))
    }

    /// Gives up the guard's lock, waits (until `deadline` at most), takes
    /// the lock back; true if notified.
    fn wait_until<T: ?Sized>(&self, guard: &MutexGuard<'_, T>, deadline: Option<Instant>) -> bool {
        self.raw
            .wait(guard.mutex().raw(), &Tasks, HAND_OFF_AFTER, deadline)
    }

    /// Waits while `condition` holds: checks it under the lock and, while it
    /// returns true, [`wait`](Self::wait)s and checks again. Returns the
    /// guard with `condition` false.
    ///
    /// ```
    /// use fibra::sync::{Condvar, Mutex};
    /// use std::sync::Arc;
    ///
    /// let rt = fibra::Runtime::builder().workers(2).build()?;
    /// let left = Arc::new((Mutex::new(3), Condvar::new()));
    /// for _ in 0..3 {
    ///     let left = left.clone();
    ///     rt.spawn(move || {
    ///         *left.0.lock() -= 1;
    ///         left.1.notify_all();
    ///     });
    /// }
    /// let guard = left.1.wait_while(left.0.lock(), |left| *left > 0);
    /// assert_eq!(*guard, 0);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn wait_while<'a, T: ?Sized, F>(
        &self,
        mut guard: MutexGuard<'a, T>,
        mut condition: F,
    ) -> MutexGuard<'a, T>
    where
        F: FnMut(&mut T) -> bool,
    {
        while condition(&mut *guard) {
            guard = self.wait(guard);
        }
        guard
    }

    /// Wakes the task or thread that has waited longest, if any. Costs one
    /// atomic load when nobody waits.
    ///
    /// ```
    /// let condvar = fibra::sync::Condvar::new();
    /// condvar.notify_one(); // nobody waits: nothing happens, nothing is kept
    /// ```
    pub fn notify_one(&self) {
        let _woke = self.raw.notify_one(&Tasks);
    }

    /// Wakes every task and thread waiting now.
    ///
    /// ```
    /// use fibra::sync::{Condvar, Mutex};
    /// use std::sync::Arc;
    ///
    /// let rt = fibra::Runtime::builder().workers(2).build()?;
    /// let gate = Arc::new((Mutex::new(false), Condvar::new()));
    /// let waiters: Vec<_> = (0..10)
    ///     .map(|_| {
    ///         let gate = gate.clone();
    ///         rt.spawn(move || drop(gate.1.wait_while(gate.0.lock(), |open| !*open)))
    ///     })
    ///     .collect();
    /// *gate.0.lock() = true;
    /// gate.1.notify_all();
    /// waiters.into_iter().for_each(|w| w.join().unwrap());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn notify_all(&self) {
        let _woken = self.raw.notify_all(&Tasks);
    }
}

/// Whether a timed [`Condvar`] wait ended because time ran out (std's
/// `WaitTimeoutResult`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WaitTimeoutResult(bool);

impl WaitTimeoutResult {
    /// True if the wait ended because its timeout passed (for
    /// [`Condvar::wait_timeout_while`]: with the condition still holding).
    pub fn timed_out(&self) -> bool {
        self.0
    }
}

impl Default for Condvar {
    fn default() -> Condvar {
        Condvar::new()
    }
}

impl fmt::Debug for Condvar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Condvar { .. }")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::Mutex;
    use std::sync::Arc;

    #[test]
    fn notify_one_wakes_waiters_in_order_one_at_a_time() {
        let shared = Arc::new((Mutex::new(Vec::new()), Condvar::new()));
        let waiters: Vec<_> = (0..2)
            .map(|id| {
                let ours = shared.clone();
                let handle = std::thread::spawn(move || {
                    let (woken, condvar) = &*ours;
                    let mut guard = woken.lock();
                    guard.push(id); // registered (the lock is held until wait)
                    let mut guard = condvar.wait(guard);
                    guard.push(10 + id);
                });
                // Start the next waiter only once this one is queued.
                while shared.1.raw.queued() != id + 1 {
                    std::thread::yield_now();
                }
                handle
            })
            .collect();
        let (woken, condvar) = &*shared;
        condvar.notify_one();
        while woken.lock().len() < 3 {
            std::thread::yield_now();
        }
        assert_eq!(*woken.lock(), [0, 1, 10], "the oldest waiter first, only it");
        condvar.notify_one();
        waiters.into_iter().for_each(|w| w.join().unwrap());
        assert_eq!(*woken.lock(), [0, 1, 10, 11]);
        assert_eq!(shared.1.raw.queued(), 0);
        assert_eq!(format!("{:?}", shared.1), "Condvar { .. }");
    }

    #[test]
    fn notify_all_wakes_everyone_waiting() {
        let shared = Arc::new((Mutex::new(0), Condvar::default()));
        let waiters: Vec<_> = (0..3)
            .map(|_| {
                let shared = shared.clone();
                std::thread::spawn(move || {
                    let (count, condvar) = &*shared;
                    let mut guard = count.lock();
                    *guard += 1;
                    let guard = condvar.wait_while(guard, |count| *count < 100);
                    assert_eq!(*guard, 100);
                })
            })
            .collect();
        let (count, condvar) = &*shared;
        while shared.1.raw.queued() < 3 {
            std::thread::yield_now();
        }
        *count.lock() = 100;
        condvar.notify_all();
        waiters.into_iter().for_each(|w| w.join().unwrap());
    }
}
