//! # fibra — an M:N task runtime
//!
//! N worker threads run many lightweight tasks. Tasks are balanced by
//! lock-free work stealing, their memory is pooled, and idle workers sleep.
//!
//! ```
//! let rt = fibra::Runtime::builder().workers(2).build()?;
//!
//! // Spawn and join, from anywhere.
//! let handle = rt.spawn(|| 1 + 1);
//! assert_eq!(handle.join().unwrap(), 2);
//!
//! // Run a "main task" that spawns more tasks (the local, lock-free path).
//! let total: u64 = rt.block_on(|| {
//!     let handles: Vec<_> = (0..1000u64).map(|i| fibra::spawn(move || i)).collect();
//!     handles.into_iter().map(|h| h.join().unwrap()).sum()
//! });
//! assert_eq!(total, 499_500);
//!
//! // Fork-join parallelism without allocation.
//! let (a, b) = rt.block_on(|| fibra::join(|| 20 * 2, || 1 + 1));
//! assert_eq!(a + b, 42);
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! Tasks run to completion: they cannot block one another like goroutines
//! yet (fibers are a planned layer). Waiting works without them: a task that
//! joins a task nobody has started ([`JoinHandle::join`], [`scope`]) runs it
//! on its own stack, so waiting never deadlocks the runtime; one that joins a
//! task already running elsewhere puts its worker to sleep until it is done;
//! [`join`] runs other fork-join jobs while it waits, as Rayon does. Waiting
//! from a thread that is not a worker puts that thread to sleep. Blocking a
//! worker in other ways (a `std::sync::Mutex` held for long, blocking I/O,
//! `thread::sleep`) blocks one worker, as in Rayon.
//!
//! Layers, bottom up: `queue` (run queues), `task` (cells, pool, state word),
//! `idle` (who searches, who sleeps), `park` (futex parker), `worker` (the
//! loop), `runtime` (the public API). See `DESIGN.md` in the repository.

#![deny(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks)]
#![warn(missing_docs)]
#![cfg_attr(loom, allow(dead_code))]

mod fiber;
mod idle;
mod loom;
mod padded;
mod park;
mod queue;
#[cfg(not(loom))]
mod runtime;
#[cfg(not(loom))]
mod stack;
#[cfg(not(loom))]
pub mod sync;
#[cfg(not(loom))]
mod task;
#[cfg(loom)]
mod task {
    pub(crate) mod state;
}
#[cfg(not(loom))]
mod worker;

#[cfg(not(loom))]
pub use runtime::{
    global::{join, scope, spawn, yield_now},
    Builder, Handle, Metrics, Runtime, Scope, ScopedJoinHandle, WorkerMetrics, DEFAULT_STACK_SIZE,
    DEFAULT_WORKER_STACK_SIZE, MAX_STACK_SIZE, MIN_STACK_SIZE, WORKERS_ENV,
};
#[cfg(not(loom))]
pub use task::join_handle::{JoinError, JoinHandle};

/// The README's example is compiled and run as a doctest, so it stays true.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;
