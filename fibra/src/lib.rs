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
//! Tasks may block like goroutines. Each worker runs its loop on a *fiber* (a
//! pooled stack, 1 MiB by default: [`Builder::stack_size`]) and tasks run as
//! plain calls in it; a task that waits ([`JoinHandle::join`], [`scope`],
//! [`join`], [`yield_now`], [`chan`] sends and receives, with or without a
//! timeout, [`select!`], [`time::sleep`], the [`sync`] primitives:
//! [`Mutex`](sync::Mutex), [`Condvar`](sync::Condvar),
//! [`Semaphore`](sync::Semaphore), [`WaitGroup`](sync::WaitGroup)) parks
//! its fiber, the worker carries on on another one, and the task resumes on
//! the same OS thread once woken. A task that never blocks never switches
//! stacks. A task that joins a task nobody has started runs it right away on
//! its own stack instead of parking. Waiting from a thread that is not a
//! worker puts that thread to sleep. Hazards: a `std::sync::MutexGuard` held
//! across a blocking call blocks every task that wants the mutex, and the
//! worker with it (use [`sync::Mutex`], which parks the waiting tasks
//! instead); thread-locals are shared by all tasks of a worker and keep
//! their values across another task's blocking call; blocking the thread
//! itself (blocking I/O, `std::thread::sleep`: use [`time::sleep`]) blocks
//! the whole worker.
//!
//! Tasks talk over channels ([`chan`]) and wait on several at once with
//! [`select!`], as goroutines do:
//!
//! ```
//! use std::time::Duration;
//!
//! let rt = fibra::Runtime::builder().workers(2).build()?;
//! let (jobs_tx, jobs) = fibra::chan::bounded::<u64>(0);
//! let (results_tx, results) = fibra::chan::unbounded::<u64>();
//! let worker = rt.spawn(move || {
//!     for job in &jobs {
//!         results_tx.send(job * job).unwrap();
//!     }
//! });
//! let mut squares = Vec::new();
//! let mut next = 1;
//! while squares.len() < 3 {
//!     fibra::select! {
//!         send(jobs_tx, next) -> sent => { sent.unwrap(); next += 1 }
//!         recv(results) -> square => squares.push(square.unwrap()),
//!         default(Duration::from_secs(60)) => panic!("stuck"),
//!     }
//! }
//! assert_eq!(squares, [1, 4, 9]);
//! drop(jobs_tx);
//! worker.join().unwrap();
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! Layers, bottom up: `queue` (run queues), `task` (cells, pool, state word),
//! `idle` (who searches, who sleeps), `park` (futex parker, `Waiter`),
//! `fiber` and `stack` (fibers and their pooled stacks), `worker` (the loop
//! and its dispatcher), `sync`, `chan` and `time` (blocking primitives; `time`
//! has a timing wheel per worker), `runtime`
//! (the public API). `docs/ARCHITECTURE.md` in the repository walks
//! through them.

#![deny(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks)]
#![warn(missing_docs)]
#![cfg_attr(loom, allow(dead_code))]
// Miri cannot switch stacks, so under it workers run without fibers and the
// fiber-only code is built but unused.
#![cfg_attr(miri, allow(dead_code, unused_imports))]

#[cfg(not(loom))]
pub mod chan;
// Under loom, only the channel's core (state machine and blocking protocol)
// is built, for its models.
#[cfg(loom)]
mod chan {
    mod blocking;
    mod error;
    #[cfg(test)]
    mod loom_dynamic;
    #[cfg(test)]
    mod loom_models;
    #[cfg(test)]
    mod loom_select;
    mod reserving;
    mod select;
    mod selection;
    mod state;
}
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
// Under loom, only the cores of the sync primitives (generic over parking)
// are built, for their models.
#[cfg(loom)]
mod sync {
    #[cfg(test)]
    mod loom_models;
    mod raw_condvar;
    mod raw_mutex;
    mod raw_semaphore;
    mod raw_wait_group;
    mod wait_queue;
}
#[cfg(not(loom))]
mod task;
#[cfg(not(loom))]
pub mod time;
#[cfg(loom)]
mod task {
    pub(crate) mod state;
}
#[cfg(not(loom))]
mod worker;

#[cfg(not(loom))]
pub use runtime::{
    global::{join, scope, spawn, spawn_detached, yield_now},
    Builder, Handle, Metrics, Runtime, Scope, ScopedJoinHandle, WorkerMetrics, DEFAULT_STACK_SIZE,
    DEFAULT_WORKER_STACK_SIZE, MAX_STACK_SIZE, MIN_STACK_SIZE, WORKERS_ENV,
};
#[cfg(not(loom))]
pub use task::join_handle::{JoinError, JoinHandle};
#[cfg(not(loom))]
pub use worker::FIBERS_ENV;

/// The README's example is compiled and run as a doctest, so it stays true.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;
