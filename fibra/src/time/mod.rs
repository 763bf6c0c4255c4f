//! Time: [`sleep`] and [`sleep_until`], which park the *task*, not its worker.
//!
//! Inside a fibra task, a sleep parks the task's fiber with a timer in its
//! worker's timing wheel (`wheel`, after Varghese & Lauck 1987; one wheel per
//! worker, `timers`), and the worker runs other tasks meanwhile; on any other
//! thread it is [`std::thread::sleep`].
//!
//! Precision: timers have a resolution of 1 ms and a sleep never ends before
//! its deadline. It may end later: a deadline is rounded up to the next
//! millisecond; an idle worker wakes for it with the precision of a futex
//! timeout; a busy worker looks at its timers whenever it runs out of work
//! and otherwise every 61 tasks, so a sleep may be late by the run time of
//! the tasks in between, and a worker running one long task that never
//! blocks fires none of its timers until that task ends (as Go's scheduler
//! without its monitor thread).
//!
//! A sleeping task counts as running: [`Runtime::shutdown`] waits for it to
//! wake up and finish.
//!
//! [`Runtime::shutdown`]: crate::Runtime::shutdown

pub(crate) mod timers;
pub(crate) mod wheel;

use crate::park::{park_current_until, ParkOutcome};
use std::time::{Duration, Instant};

/// Puts the current task to sleep for at least `duration`.
///
/// Inside a fibra task only the task sleeps: its worker runs other tasks
/// meanwhile, and the task resumes on the same OS thread. On a thread that is
/// not a worker (or on a worker running without fibers, `FIBRA_FIBERS=0`)
/// this is [`std::thread::sleep`]. `sleep(Duration::ZERO)` returns at once;
/// to let other tasks run, use [`yield_now`](crate::yield_now).
///
/// Never returns early; see the [module docs](self) for how late it may be.
///
/// ```
/// use std::time::{Duration, Instant};
///
/// let rt = fibra::Runtime::builder().workers(1).build()?;
/// let start = Instant::now();
/// // Ten tasks sleep 20 ms each on one worker, at the same time.
/// let handles: Vec<_> = (0..10)
///     .map(|_| rt.spawn(|| fibra::time::sleep(Duration::from_millis(20))))
///     .collect();
/// for handle in handles {
///     handle.join().unwrap();
/// }
/// assert!(start.elapsed() >= Duration::from_millis(20));
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn sleep(duration: Duration) {
    if crate::fiber::current().is_none() {
        std::thread::sleep(duration);
        return;
    }
    match Instant::now().checked_add(duration) {
        Some(deadline) => sleep_until(deadline),
        // Beyond what `Instant` can represent: for ever, in practice.
        None => loop {
            sleep_until(far_future());
        },
    }
}

/// Puts the current task to sleep until `deadline`; returns at once if it
/// has passed. Like [`sleep`] otherwise.
///
/// ```
/// use std::time::{Duration, Instant};
///
/// let rt = fibra::Runtime::builder().workers(2).build()?;
/// let deadline = Instant::now() + Duration::from_millis(10);
/// rt.spawn(move || fibra::time::sleep_until(deadline)).join().unwrap();
/// assert!(Instant::now() >= deadline);
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn sleep_until(deadline: Instant) {
    if crate::fiber::current().is_none() {
        if let Some(left) = deadline.checked_duration_since(Instant::now()) {
            std::thread::sleep(left);
        }
        return;
    }
    // Unparked means woken before the deadline (a stale token): sleep on.
    while park_current_until(deadline) == ParkOutcome::Unparked {}
}

#[cfg(test)]
mod tests;

/// About thirty years from now (what Tokio uses for "never").
fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(86_400 * 365 * 30)
}
