//! Fire-and-forget spawns: `fibra_spawn(rt, fn, arg)`, the shape a code
//! generator emits, and `fibra_spawn_with_cancel`, which also says how to
//! release `arg` if the task never runs.

use crate::boundary::{status_call, Error};
use crate::callback::{CTask, FibraCallback};
use crate::runtime::{borrow_runtime, FibraRuntime};
use crate::status::FibraStatus;
use std::ffi::c_void;

/// Spawns `func(arg)` as a task on `rt` and forgets it.
///
/// Returns `FIBRA_OK` once the task is queued: it will run exactly once on
/// one of the worker threads, unless the runtime shuts down first, in which
/// case it is dropped without running (see `fibra_spawn_with_cancel` to learn
/// about that). Called from one of `rt`'s tasks this is the fast path: no
/// lock and, in steady state, no allocation; from another thread the task
/// enters through the runtime's global queue.
///
/// Errors (nothing was spawned, `arg` is still the caller's):
/// `FIBRA_ERR_NULL` (`rt` or `func`), `FIBRA_ERR_INVALID_HANDLE`,
/// `FIBRA_ERR_SHUTDOWN`. After `FIBRA_ERR_INTERNAL` (a bug in fibra) the
/// task may or may not have been dropped.
///
/// # Safety
/// `rt` is NULL or a live runtime. `func` may be called with `arg` on any
/// worker thread, at any time until the runtime is freed, and must return
/// normally: unwinding (a C++ exception) or `longjmp` out of it is undefined
/// behaviour.
#[no_mangle]
pub unsafe extern "C" fn fibra_spawn(
    rt: *const FibraRuntime,
    func: FibraCallback,
    arg: *mut c_void,
) -> FibraStatus {
    // SAFETY: forwarded to the caller.
    unsafe { spawn_detached(rt, func, arg, None, "fibra_spawn") }
}

/// Like `fibra_spawn`, and if the task is dropped without running (the
/// runtime shut down before a worker took it) calls `on_cancel(arg)` instead,
/// so that a language runtime can release what `arg` holds (decrement a
/// reference count, mark a future as cancelled, call `fibra_waitgroup_done`).
///
/// When this returns `FIBRA_OK`, exactly one of `func(arg)` and
/// `on_cancel(arg)` is called, once. `on_cancel` may be NULL (then nothing
/// is called on cancellation). It runs on the thread that frees the runtime,
/// on a worker thread, or, if the runtime closed between the check and the
/// spawn, on the calling thread before this returns.
///
/// # Safety
/// As for `fibra_spawn`; `on_cancel` is NULL or meets the same rules as `func`.
#[no_mangle]
pub unsafe extern "C" fn fibra_spawn_with_cancel(
    rt: *const FibraRuntime,
    func: FibraCallback,
    arg: *mut c_void,
    on_cancel: FibraCallback,
) -> FibraStatus {
    // SAFETY: forwarded to the caller.
    unsafe { spawn_detached(rt, func, arg, on_cancel, "fibra_spawn_with_cancel") }
}

/// # Safety
/// As for `fibra_spawn_with_cancel`.
unsafe fn spawn_detached(
    rt: *const FibraRuntime,
    func: FibraCallback,
    arg: *mut c_void,
    on_cancel: FibraCallback,
    function: &'static str,
) -> FibraStatus {
    status_call(|| {
        // SAFETY: forwarded to the caller.
        let (handle, task) = unsafe { prepare(rt, func, arg, on_cancel, function) }?;
        handle.spawn_detached(move || task.run());
        Ok(FibraStatus::FIBRA_OK)
    })
}

/// Checks the arguments of a spawn and pairs the runtime's handle with the
/// task to run.
///
/// # Safety
/// `rt` is NULL or a live runtime, kept alive by the caller for `'a`.
pub(crate) unsafe fn prepare<'a>(
    rt: *const FibraRuntime,
    func: FibraCallback,
    arg: *mut c_void,
    on_cancel: FibraCallback,
    function: &'static str,
) -> Result<(&'a fibra::Handle, CTask), Error> {
    // SAFETY: forwarded to the caller.
    let runtime = unsafe { borrow_runtime(rt, function) }?;
    let func = func.ok_or_else(|| {
        Error::new(
            FibraStatus::FIBRA_ERR_NULL,
            format!("fibra: {function}: func is NULL"),
        )
    })?;
    let handle = runtime.spawn_handle(function)?;
    Ok((handle, CTask::new(func, arg, on_cancel)))
}
