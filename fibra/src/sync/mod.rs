//! Blocking primitives that park the *task*, not the worker: inside a fibra
//! task a wait suspends only that task (its worker runs other tasks
//! meanwhile); on any other thread it blocks the thread. All of them wait
//! through the one park/unpark mechanism of `park::Waiter`, so tasks and
//! plain threads can share them.
//!
//! - [`Mutex`] (with [`MutexGuard`]): one CAS to lock and one to unlock when
//!   uncontended; waiters queue in order and the oldest is handed the lock
//!   once it has waited 1 ms, so nobody starves; no poisoning.
//! - [`Condvar`]: waits on a condition guarded by a fibra [`Mutex`].
//! - [`Semaphore`] (with [`SemaphorePermit`]): counted permits, strictly
//!   first come, first served.
//! - [`WaitGroup`]: waits for a counted set of things to finish.
//!
//! Channels are [`crate::chan`].
//!
//! Why not `std::sync::Mutex`? It blocks the *thread*: a task that holds a
//! std guard across a blocking call (a channel receive, a join) blocks every
//! task that then wants the mutex, each stalling a whole worker, and with
//! few workers the holder may never run again to unlock it. fibra's
//! [`Mutex`] parks the waiting tasks instead.
//!
//! # Design
//!
//! Each primitive's protocol is written once, generic over how to park
//! (`park::Parking`): `raw_mutex.rs`, `raw_condvar.rs`, `raw_semaphore.rs`
//! and `raw_wait_group.rs` hold the state, the invariants and the
//! no-lost-wake-up arguments, and the
//! loom models (`loom_models.rs`) run that same code on loom-modelled
//! threads. Waiters wait in a `WaitQueue` (`wait_queue.rs`: FIFO, a ticket
//! per waiter) under a short internal lock that is never held across a park;
//! the public types add the data and the RAII guards.
//!
//! Timed waits ([`Mutex::try_lock_for`], [`Condvar::wait_timeout`],
//! [`Semaphore::acquire_timeout`], ...) park with a deadline
//! (`park::park_current_until`: the worker's timer wheel on a fiber, a
//! futex timeout on a thread). They never give up before the deadline and
//! may give up a little after it (timers have a 1 ms resolution, see
//! [`crate::time`]). A waiter that times out leaves its queue under the
//! lock; if it was let through at the same moment (notified, handed the
//! lock, granted permits) that counts as success, so nothing is lost.

mod condvar;
mod mutex;
mod raw_condvar;
mod raw_mutex;
mod raw_semaphore;
mod raw_wait_group;
mod semaphore;
mod wait_group;
mod wait_queue;

pub use condvar::{Condvar, WaitTimeoutResult};
pub use mutex::{Mutex, MutexGuard};
pub use semaphore::{Semaphore, SemaphorePermit};
pub use wait_group::{CountError, WaitGroup};

use std::time::{Duration, Instant};

/// The deadline `timeout` from now, or `None` (wait for ever) if that is
/// beyond what an `Instant` can hold.
fn deadline_after(timeout: Duration) -> Option<Instant> {
    Instant::now().checked_add(timeout)
}
