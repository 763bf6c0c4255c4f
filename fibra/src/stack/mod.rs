//! Fiber stacks: pooled, lazily committed, guarded, with a clear overflow
//! message. Linux only.
//!
//! - [`StackPool`] (`pool.rs`): a per-worker, single-owner pool handing out
//!   [`FiberStack`]s, LIFO so a returned stack is reused hot; a stack that
//!   went deep has its cold part released on return.
//! - [`FiberStack`] (`fiber_stack.rs`): implements `corosensei::stack::Stack`.
//! - `slab.rs`: the `MAP_NORESERVE` mappings stacks are carved from.
//! - `guard.rs`: guard pages, `MADV_GUARD_INSTALL` with an `mprotect`
//!   fallback that names `vm.max_map_count` when it runs out.
//! - `registry.rs`: the slab address ranges, readable from a signal handler.
//! - `overflow.rs`: the SIGSEGV handler that reports a fiber stack overflow.
//! - `size.rs`: [`validate_stack_size`] and the default size.
//!
//! Ownership: a pool owns its slabs and unmaps them when dropped with no
//! stack out; with stacks still out it leaks them (see `pool.rs`). A
//! `FiberStack` goes back to the pool it came from, on that pool's thread.
//!
//! Costs measured on the 2-vCPU development machine (Linux 6.18), see the
//! report in `tests.rs` (`measure_costs`, run with `--ignored --nocapture`):
//! see the numbers recorded in the crate's fiber documentation.

mod fiber_stack;
mod guard;
mod overflow;
mod pool;
mod registry;
mod size;
mod slab;
#[cfg(all(test, not(miri)))]
mod tests;

pub(crate) use fiber_stack::FiberStack;
pub(crate) use overflow::install_overflow_handler_for_current_thread;
pub(crate) use pool::{StackPool, StackPoolConfig};
pub(crate) use size::{validate_stack_size, DEFAULT_STACK_SIZE, MAX_STACK_SIZE, MIN_STACK_SIZE};
