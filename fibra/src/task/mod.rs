//! Tasks: pooled cells holding a closure, its output, and a state word.
//!
//! - [`state`]: the state word (completion, join-handle flags, refcount) and
//!   its transitions.
//! - [`cell`]: the cell layout, inline/boxed payload, per-type vtable.
//! - [`pool`]: thread-local free lists of cells, refilled in batches.
//! - [`join_handle`]: the public `JoinHandle` and `JoinError`.
//!
//! Queues carry `*mut Header`: a pointer that owns the task's *scheduler
//! reference*. Whoever removes it from a queue passes it to `cell::run_task`
//! or `cell::cancel_task`, which run or cancel the task unless someone already
//! claimed it (a joiner running it inline), and consume that reference.

pub(crate) mod cell;
pub(crate) mod join_handle;
pub(crate) mod pool;
pub(crate) mod state;

pub(crate) use cell::Header;
pub(crate) use join_handle::JoinHandle;

#[cfg(test)]
mod tests;
