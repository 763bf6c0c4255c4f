//! Putting one OS thread to sleep until another wakes it.
//!
//! [`Parker`] is the single sleep/wake primitive under everything in fibra
//! that waits: idle workers, `JoinHandle::join`, `scope` and `join`. Parkers
//! are handed out by [`Parker::for_current_thread`] and are never freed (a
//! thread's parker returns to a free list when the thread exits), so a waker
//! may always call [`Parker::unpark`] on a pointer it read earlier, even if
//! the sleeper has since returned: the worst case is a spurious wake-up,
//! which every caller of `park` tolerates by re-checking its condition.

mod futex;
mod parker;
mod parking;
#[cfg(not(loom))]
mod waiter;

pub(crate) use parker::Parker;
#[cfg(all(loom, test))]
pub(crate) use parking::LoomThreads;
#[cfg(not(loom))]
pub(crate) use parking::Tasks;
pub(crate) use parking::{ParkOutcome, Parking};
#[cfg(not(loom))]
pub(crate) use waiter::{park_current, park_current_until, Waiter};
