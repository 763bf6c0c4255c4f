//! # fibra-ffi — fibra behind a C ABI
//!
//! The functions a language runtime's code generator calls to run its
//! `spawn(fn, arg)` on fibra: runtimes, fire-and-forget and joinable spawns,
//! wait groups, channels, `fibra_yield`, `fibra_sleep_ns` and metrics. The C header is
//! `include/fibra.h`, generated from this crate by `cbindgen` and checked in
//! (the `header` test fails when it is stale). How to link it, which thread
//! runs what and what a callback may do: `docs/EMBEDDING.md`.
//!
//! Invariants every `extern "C"` function here keeps:
//! - It never unwinds into C: its body runs under the `boundary` module, which turns a
//!   Rust panic into [`FibraStatus::FIBRA_ERR_INTERNAL`].
//! - It returns a [`FibraStatus`] or a pointer that is NULL on error; the
//!   error's text is then available from [`fibra_last_error_message`].
//! - NULL pointers are rejected; objects carry a magic word checked on every
//!   use and poisoned on free (the `object` module), so a use after free is detected
//!   while the freed memory has not been reused (best effort, see the header).
//!
//! Rust code should use `fibra` directly; the `rlib` exists so that tests can
//! call the C functions.

#![deny(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks)]
#![warn(missing_docs)]

mod boundary;
mod callback;
mod chan;
mod metrics;
mod object;
mod runtime;
mod sleep;
mod spawn;
mod status;
mod task;
mod waitgroup;
mod yield_now;

pub use callback::FibraCallback;
pub use chan::{
    fibra_chan_close, fibra_chan_free, fibra_chan_new, fibra_chan_recv, fibra_chan_send, FibraChan,
};
pub use metrics::{
    fibra_runtime_metrics, fibra_runtime_worker_metrics, FibraMetrics, FIBRA_METRICS_MIN_SIZE,
};
pub use runtime::{fibra_runtime_free, fibra_runtime_new, FibraRuntime};
pub use sleep::fibra_sleep_ns;
pub use spawn::{fibra_spawn, fibra_spawn_with_cancel};
pub use status::{fibra_last_error_message, fibra_status_name, FibraStatus};
pub use task::{fibra_task_free, fibra_task_poll, fibra_task_spawn, fibra_task_wait, FibraTask};
pub use waitgroup::{
    fibra_waitgroup_add, fibra_waitgroup_done, fibra_waitgroup_free, fibra_waitgroup_new,
    fibra_waitgroup_wait, FibraWaitGroup,
};
pub use yield_now::fibra_yield;
