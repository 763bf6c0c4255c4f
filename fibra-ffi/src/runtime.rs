//! `fibra_runtime`: a fibra `Runtime` owned by C.
//!
//! States: live (magic valid, `closing` false) → closing (`closing` set by the
//! one `fibra_runtime_free` that wins the swap; spawns are refused with
//! `FIBRA_ERR_SHUTDOWN`; running tasks may still use the pointer) → freed
//! (magic poisoned, memory returned) once every worker has exited. Freed from
//! one of its own tasks, the object stays in the closing state forever (a
//! small leak) because the runtime's other tasks may still use the pointer.

use crate::boundary::{pointer_call, status_call, Error};
use crate::object::{self, CObject, Magic};
use crate::status::FibraStatus;
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// A fibra runtime: worker threads running tasks. Opaque in C
/// (`fibra_runtime`); create with `fibra_runtime_new`, free with
/// `fibra_runtime_free`.
#[repr(C)] // the magic word first, at the same offset in every object type
pub struct FibraRuntime {
    magic: Magic,
    /// Set once, by the `fibra_runtime_free` call that owns the shutdown.
    closing: AtomicBool,
    handle: fibra::Handle,
    /// Taken by `fibra_runtime_free`.
    runtime: Mutex<Option<fibra::Runtime>>,
}

impl CObject for FibraRuntime {
    const MAGIC: u64 = 0xf1b2_0001_7275_6e74;
    const C_NAME: &'static str = "fibra_runtime";
    fn magic(&self) -> &Magic {
        &self.magic
    }
}

impl FibraRuntime {
    /// The handle to spawn on, unless the runtime is being freed.
    pub(crate) fn spawn_handle(&self, function: &'static str) -> Result<&fibra::Handle, Error> {
        // Relaxed: a spawn that misses the flag still meets the closed
        // runtime inside fibra, which cancels the task (calling its cancel
        // callback); the flag only makes the common case a clear error.
        if self.closing.load(Ordering::Relaxed) {
            return Err(Error::new(
                FibraStatus::FIBRA_ERR_SHUTDOWN,
                format!("fibra: {function}: the runtime is shutting down (fibra_runtime_free was called)"),
            ));
        }
        Ok(&self.handle)
    }

    pub(crate) fn handle(&self) -> &fibra::Handle {
        &self.handle
    }
}

/// Borrows a runtime pointer received from C.
///
/// # Safety
/// `rt` is NULL or a pointer returned by `fibra_runtime_new` that is not
/// being freed concurrently by a thread other than one of its own tasks.
pub(crate) unsafe fn borrow_runtime<'a>(
    rt: *const FibraRuntime,
    function: &'static str,
) -> Result<&'a FibraRuntime, Error> {
    // SAFETY: forwarded to the caller.
    unsafe { object::borrow(rt, function) }
}

/// Creates a runtime with `workers` worker threads; `0` means the default:
/// `FIBRA_WORKERS` from the environment if set, else one per CPU this process
/// may use (as `fibra::Runtime::new`).
///
/// Returns NULL on error. If `status_out` is not NULL, the status is stored
/// there: `FIBRA_OK`, `FIBRA_ERR_INVALID_ARGUMENT` (more than 65,535
/// workers, a malformed `FIBRA_WORKERS`) or `FIBRA_ERR_OS` (a thread could
/// not be started); `fibra_last_error_message()` has the details.
///
/// # Safety
/// `status_out` is NULL or points to a writable `fibra_status`.
#[no_mangle]
pub unsafe extern "C" fn fibra_runtime_new(
    workers: usize,
    status_out: *mut FibraStatus,
) -> *mut FibraRuntime {
    pointer_call(status_out, || {
        let built = match workers {
            0 => fibra::Runtime::new(),
            n => fibra::Runtime::builder().workers(n).build(),
        };
        let runtime = built.map_err(|error| {
            let status = match error.kind() {
                io::ErrorKind::InvalidInput => FibraStatus::FIBRA_ERR_INVALID_ARGUMENT,
                _ => FibraStatus::FIBRA_ERR_OS,
            };
            Error::new(status, error.to_string())
        })?;
        Ok(object::into_c(FibraRuntime {
            magic: Magic::new(FibraRuntime::MAGIC),
            closing: AtomicBool::new(false),
            handle: runtime.handle().clone(),
            runtime: Mutex::new(Some(runtime)),
        }))
    })
}

/// Longer than any process lives: a shutdown that does not finish within it
/// was called from one of the runtime's own tasks.
const SHUTDOWN_WAIT: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// Shuts the runtime down and frees it.
///
/// From now on spawns on `rt` fail with `FIBRA_ERR_SHUTDOWN`. Tasks already
/// running finish (this call waits for them). Tasks still queued are
/// **dropped without running**: the cancel callback given to
/// `fibra_spawn_with_cancel` / `fibra_task_spawn` is called with their `arg`
/// (on the calling thread or a worker), so that `arg` can be released;
/// tasks spawned without one are forgotten, and their `arg` leaks unless the
/// caller tracks it. Joinable tasks report `FIBRA_CANCELLED`. Then the
/// worker threads are joined and `rt` is freed.
///
/// Called from one of `rt`'s own tasks, it cannot wait for its own worker:
/// it closes the runtime, returns `FIBRA_OK` at once, and the workers finish
/// in the background; `rt` then stays allocated (spawns on it fail with
/// `FIBRA_ERR_SHUTDOWN`) so that other running tasks may still use it.
///
/// Returns `FIBRA_ERR_NULL`, `FIBRA_ERR_INVALID_HANDLE` (already freed:
/// best effort), or `FIBRA_ERR_SHUTDOWN` if another `fibra_runtime_free` of
/// `rt` is in progress.
///
/// A running task that waits for a queued task (a wait group whose `done`
/// only that task calls) would wait forever once that task is cancelled:
/// call `fibra_waitgroup_done` in the cancel callback too.
///
/// # Safety
/// `rt` is NULL or came from `fibra_runtime_new`. After this returns, no
/// thread uses `rt` again (undefined behaviour); only the runtime's own
/// tasks may use it while this call runs.
#[no_mangle]
pub unsafe extern "C" fn fibra_runtime_free(rt: *mut FibraRuntime) -> FibraStatus {
    status_call(|| {
        // SAFETY: per this function's contract.
        let object = unsafe { borrow_runtime(rt, "fibra_runtime_free") }?;
        // Relaxed: the swap elects the one caller that shuts down; the
        // runtime's own close (inside `shutdown_timeout`) orders the rest.
        if object.closing.swap(true, Ordering::Relaxed) {
            return Err(Error::new(
                FibraStatus::FIBRA_ERR_SHUTDOWN,
                "fibra: fibra_runtime_free: this runtime is already being freed",
            ));
        }
        let runtime = object.runtime.lock().unwrap_or_else(|e| e.into_inner()).take();
        let finished = match runtime {
            Some(runtime) => runtime.shutdown_timeout(SHUTDOWN_WAIT),
            None => true,
        };
        if finished {
            // SAFETY: every worker has exited, so no task uses `rt` any more,
            // and the C caller uses it no more (contract above).
            drop(unsafe { object::free(rt, "fibra_runtime_free") }?);
        }
        Ok(FibraStatus::FIBRA_OK)
    })
}
