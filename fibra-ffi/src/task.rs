//! `fibra_task`: a joinable spawn. The C side waits for it
//! (`fibra_task_wait`), polls it (`fibra_task_poll`) and frees it.
//!
//! The task's outcome is taken from fibra's `JoinHandle` once and cached, so
//! waiting again (or polling after a wait) returns the same status. The slot
//! is behind a mutex: two threads may wait at once (the second waits for the
//! first to finish waiting).

use crate::boundary::{status_call, Error};
use crate::callback::FibraCallback;
use crate::object::{self, CObject, Magic};
use crate::runtime::FibraRuntime;
use crate::spawn::prepare;
use crate::status::FibraStatus;
use std::ffi::c_void;
use std::sync::Mutex;

/// A spawned task that can be waited for. Opaque in C (`fibra_task`);
/// made by `fibra_task_spawn`, freed with `fibra_task_free`.
#[repr(C)] // the magic word first, at the same offset in every object type
pub struct FibraTask {
    magic: Magic,
    outcome: Mutex<Outcome>,
}

/// The handle until someone waited, then the cached status.
struct Outcome {
    /// `Some` until the task's result was taken.
    handle: Option<fibra::JoinHandle<()>>,
    /// `FIBRA_PENDING` until then.
    status: FibraStatus,
}

impl CObject for FibraTask {
    const MAGIC: u64 = 0xf1b2_0002_7461_736b;
    const C_NAME: &'static str = "fibra_task";
    fn magic(&self) -> &Magic {
        &self.magic
    }
}

impl Outcome {
    /// Waits for the task (or only looks, if `block` is false) and caches
    /// its status.
    fn settle(&mut self, block: bool) -> FibraStatus {
        if let Some(handle) = self.handle.take_if(|handle| block || handle.is_finished()) {
            self.status = match handle.join() {
                Ok(()) => FibraStatus::FIBRA_OK,
                Err(error) if error.is_cancelled() => FibraStatus::FIBRA_CANCELLED,
                Err(_) => FibraStatus::FIBRA_PANICKED,
            };
        }
        self.status
    }
}

/// Spawns `func(arg)` like `fibra_spawn_with_cancel` and stores a handle to
/// it in `*task_out` (set to NULL on error). Free the handle with
/// `fibra_task_free`, whether or not you waited. The handle is one small
/// allocation; `fibra_spawn`, which has none, allocates nothing in steady
/// state.
///
/// Errors: as `fibra_spawn`, and `FIBRA_ERR_NULL` for `task_out`.
///
/// # Safety
/// As for `fibra_spawn_with_cancel`; `task_out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fibra_task_spawn(
    rt: *const FibraRuntime,
    func: FibraCallback,
    arg: *mut c_void,
    on_cancel: FibraCallback,
    task_out: *mut *mut FibraTask,
) -> FibraStatus {
    status_call(|| {
        if task_out.is_null() {
            return Err(Error::null("fibra_task_spawn: task_out"));
        }
        // SAFETY: checked non-NULL; writable per the contract.
        unsafe { task_out.write(std::ptr::null_mut()) };
        // SAFETY: forwarded to the caller.
        let (handle, task) = unsafe { prepare(rt, func, arg, on_cancel, "fibra_task_spawn") }?;
        let join = handle.spawn(move || task.run());
        let object = object::into_c(FibraTask {
            magic: Magic::new(FibraTask::MAGIC),
            outcome: Mutex::new(Outcome {
                handle: Some(join),
                status: FibraStatus::FIBRA_PENDING,
            }),
        });
        // SAFETY: as above.
        unsafe { task_out.write(object) };
        Ok(FibraStatus::FIBRA_OK)
    })
}

/// Waits until the task has finished and returns how: `FIBRA_OK` (it ran),
/// `FIBRA_CANCELLED` (dropped without running by a shutdown) or
/// `FIBRA_PANICKED`. May be called again; it returns the same status.
///
/// From a thread that is not a worker, that thread sleeps. From one of the
/// runtime's tasks: a task nobody has started yet is run right here; one
/// already running elsewhere blocks this worker thread until it finishes
/// (until fibra has fibers, a waiting task holds its worker).
///
/// Errors: `FIBRA_ERR_NULL`, `FIBRA_ERR_INVALID_HANDLE`.
///
/// # Safety
/// `task` is NULL or came from `fibra_task_spawn` and is not freed meanwhile.
#[no_mangle]
pub unsafe extern "C" fn fibra_task_wait(task: *const FibraTask) -> FibraStatus {
    // SAFETY: forwarded to the caller.
    unsafe { settle(task, true, "fibra_task_wait") }
}

/// Like `fibra_task_wait` but never blocks: returns `FIBRA_PENDING` while the
/// task has not finished.
///
/// # Safety
/// As for `fibra_task_wait`.
#[no_mangle]
pub unsafe extern "C" fn fibra_task_poll(task: *const FibraTask) -> FibraStatus {
    // SAFETY: forwarded to the caller.
    unsafe { settle(task, false, "fibra_task_poll") }
}

/// # Safety
/// As for `fibra_task_wait`.
unsafe fn settle(task: *const FibraTask, block: bool, function: &'static str) -> FibraStatus {
    status_call(|| {
        // SAFETY: forwarded to the caller.
        let task = unsafe { object::borrow(task, function) }?;
        let mut outcome = task.outcome.lock().unwrap_or_else(|e| e.into_inner());
        Ok(outcome.settle(block))
    })
}

/// Frees a task handle. If the task has not finished it is detached: it
/// still runs (or is cancelled) as if spawned with `fibra_spawn_with_cancel`.
///
/// Errors: `FIBRA_ERR_NULL`, `FIBRA_ERR_INVALID_HANDLE` (already freed: best
/// effort).
///
/// # Safety
/// `task` is NULL or came from `fibra_task_spawn`; no thread uses it after
/// this call (undefined behaviour, detected only while its memory is not
/// reused).
#[no_mangle]
pub unsafe extern "C" fn fibra_task_free(task: *mut FibraTask) -> FibraStatus {
    status_call(|| {
        // SAFETY: forwarded to the caller.
        drop(unsafe { object::free(task, "fibra_task_free") }?);
        Ok(FibraStatus::FIBRA_OK)
    })
}
