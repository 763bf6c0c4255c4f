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
//! Use, for the fiber scheduler:
//!
//! ```ignore
//! // Once per worker thread, before it runs any fiber:
//! install_overflow_handler_for_current_thread()?;
//! let mut pool = StackPool::new(StackPoolConfig { stack_size, ..StackPoolConfig::default() })?;
//! // When a task blocks and the worker needs a fresh stack:
//! let stack = pool.get()?; // io::Error names vm.max_map_count if that ran out
//! let fiber = corosensei::Coroutine::with_stack(stack, body);
//! // When the fiber has finished (on the same worker):
//! pool.put(fiber.into_stack());
//! ```
//!
//! Ownership rules:
//! - a pool belongs to one worker: every change goes through `&mut self`, and
//!   `get`/`put` never lock. It is plain data (`Send`), so it may be built on
//!   another thread and moved in;
//! - a `FiberStack` goes back to the pool it came from (`put` asserts it), on
//!   that pool's worker; a started fiber never migrates anyway;
//! - a pool dropped with no stack out unmaps its slabs; one dropped with
//!   stacks still out leaks all its slabs (address space, plus pages the
//!   fibers touched), so a stack never outlives its memory. At shutdown,
//!   finish or `force_unwind` every fiber and `put` its stack back before the
//!   worker drops its pool;
//! - every thread that runs fibers calls
//!   `install_overflow_handler_for_current_thread` first. The handler is
//!   process-wide (installed once); the per-thread part is the alternate
//!   signal stack it runs on. Without the handler an overflow is a bare
//!   SIGSEGV: std's handler only reports faults in a thread's own guard page.
//!
//! Costs measured on the 2-vCPU development machine (Linux 6.18, shared with
//! other jobs, so ranges over runs), with
//! `cargo test --release -p fibra --lib stack::tests::measure_costs -- --ignored --nocapture`
//! (default 1 MiB stacks; the rows that depend on the size say so):
//!
//! | what                                                       | cost       |
//! |------------------------------------------------------------|------------|
//! | `get` + `put` of a pooled stack, hot, with the depth probe | 50–125 ns  |
//! | same, depth probe disabled (`hot_bytes >= stack_size`)     | 10–20 ns   |
//! | first `get` from a new pool: `mmap` a 4 MiB slab + guard   | 4–10 µs    |
//! | each new stack (its `MADV_GUARD_INSTALL` syscall)          | 0.7–2 µs   |
//! | first `put` of a fresh stack (probe page read fault)       | 0.9–1.5 µs |
//! | `put` of a stack that went deep (`MADV_DONTNEED` 1008 KiB) | 2.5–3.0 µs |
//! | same with 64 KiB stacks (`MADV_DONTNEED` 48 KiB)           | 3.2–3.5 µs |
//! | `mincore` of one page (the rejected exact depth check)     | 0.9–1.6 µs |
//! | RSS of an allocated, untouched stack                       | 0 B        |
//! | page tables per stack (one 4 KiB table per 2 MiB)          | 2,060 B    |
//! | same with 64 KiB stacks                                    | 136 B      |
//! | RSS of a stack whose fiber touched one page                | 4,096 B    |
//! | RSS per suspended `Coroutine` on a pooled stack (+ handle) | 4,152 B    |
//!
//! 200,000 stacks at once add at most one mapping per slab (about 60 slabs
//! of 64 KiB stacks, 790 of 1 MiB ones; adjacent slabs merge), where
//! `mprotect` guards stop at 32,746 stacks under `vm.max_map_count = 65530`.

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
pub(crate) use size::validate_stack_size;
pub use size::{DEFAULT_STACK_SIZE, MAX_STACK_SIZE, MIN_STACK_SIZE};
