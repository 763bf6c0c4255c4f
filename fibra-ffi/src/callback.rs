//! A C callback and its argument as a fibra task: [`CTask`] calls `func(arg)`
//! when it runs, or `on_cancel(arg)` when it is dropped without running (the
//! runtime shut down first). Exactly one of the two is called, once.

use std::ffi::c_void;
use std::mem::ManuallyDrop;

/// A task's function, or a cancel callback: called with the `arg` given at
/// spawn, on a worker thread (or, for a cancel callback, on the thread that
/// frees the runtime). It must return normally.
// `Option` so that a NULL from C is a value Rust can check: the null-pointer
// optimisation gives it the ABI of a plain function pointer.
pub type FibraCallback = Option<unsafe extern "C" fn(arg: *mut c_void)>;

/// The C function to run and what to do if it never runs.
pub(crate) struct CTask {
    func: unsafe extern "C" fn(*mut c_void),
    arg: *mut c_void,
    on_cancel: FibraCallback,
}

// SAFETY: the C caller of every spawn function promises that `func(arg)` and
// `on_cancel(arg)` may be called on any thread (documented in fibra.h).
unsafe impl Send for CTask {}

impl CTask {
    pub(crate) fn new(
        func: unsafe extern "C" fn(*mut c_void),
        arg: *mut c_void,
        on_cancel: FibraCallback,
    ) -> CTask {
        CTask { func, arg, on_cancel }
    }

    /// Calls `func(arg)`; `on_cancel` is then never called.
    pub(crate) fn run(self) {
        let task = ManuallyDrop::new(self);
        // SAFETY: the C caller gave a function that accepts `arg` on any
        // thread and does not unwind (an unwinding `extern "C"` call aborts).
        unsafe { (task.func)(task.arg) }
    }
}

impl Drop for CTask {
    /// Dropped without running: the task was cancelled.
    fn drop(&mut self) {
        if let Some(on_cancel) = self.on_cancel {
            // SAFETY: as for `func` in `run`.
            unsafe { on_cancel(self.arg) }
        }
    }
}
