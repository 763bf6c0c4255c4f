//! `FibraStatus`, the result code of every C function, and the thread-local
//! text of the last error (`fibra_last_error_message`).
//!
//! Invariant: non-negative codes are outcomes (`FIBRA_OK` and the states of a
//! task), negative codes are errors; each error also leaves a message in this
//! thread's last-error slot, which only the next error on this thread replaces.

use std::cell::RefCell;
use std::ffi::{c_char, CStr, CString};

/// The result of a fibra C function. `int32_t` in C.
///
/// Zero and positive values are outcomes, negative values are errors. After
/// an error, `fibra_last_error_message()` says what went wrong.
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(non_camel_case_types)]
pub enum FibraStatus {
    /// Success; for `fibra_task_wait`: the task ran to completion.
    FIBRA_OK = 0,
    /// The task was dropped without running because its runtime shut down
    /// (its cancel callback, if any, was called instead).
    FIBRA_CANCELLED = 1,
    /// The task panicked. A C callback cannot panic; this is reported only if
    /// the Rust code around it did.
    FIBRA_PANICKED = 2,
    /// `fibra_task_poll`: the task has not finished yet.
    FIBRA_PENDING = 3,
    /// A channel is closed: `fibra_chan_send` after `fibra_chan_close`, or
    /// `fibra_chan_recv` once it is closed and every value was received.
    FIBRA_CLOSED = 4,
    /// A required pointer argument was NULL.
    FIBRA_ERR_NULL = -1,
    /// The object is not a live fibra object of the expected type: already
    /// freed, or not a fibra object at all (detected on a best-effort basis).
    FIBRA_ERR_INVALID_HANDLE = -2,
    /// An argument is out of range (too many workers, a malformed
    /// `FIBRA_WORKERS`, a wait group counter going negative, a metrics struct
    /// too small).
    FIBRA_ERR_INVALID_ARGUMENT = -3,
    /// The runtime is shutting down (`fibra_runtime_free` was called). From a
    /// spawn: nothing was spawned and no callback will be called.
    FIBRA_ERR_SHUTDOWN = -4,
    /// The operating system refused a resource (a worker thread could not be
    /// started).
    FIBRA_ERR_OS = -5,
    /// A bug in fibra: a Rust panic was caught before it reached C. The
    /// message has the panic's text.
    FIBRA_ERR_INTERNAL = -6,
}

impl FibraStatus {
    /// The enumerator's name, as written in `fibra.h`.
    pub fn name(self) -> &'static CStr {
        match self {
            FibraStatus::FIBRA_OK => c"FIBRA_OK",
            FibraStatus::FIBRA_CANCELLED => c"FIBRA_CANCELLED",
            FibraStatus::FIBRA_PANICKED => c"FIBRA_PANICKED",
            FibraStatus::FIBRA_PENDING => c"FIBRA_PENDING",
            FibraStatus::FIBRA_ERR_NULL => c"FIBRA_ERR_NULL",
            FibraStatus::FIBRA_ERR_INVALID_HANDLE => c"FIBRA_ERR_INVALID_HANDLE",
            FibraStatus::FIBRA_ERR_INVALID_ARGUMENT => c"FIBRA_ERR_INVALID_ARGUMENT",
            FibraStatus::FIBRA_ERR_SHUTDOWN => c"FIBRA_ERR_SHUTDOWN",
            FibraStatus::FIBRA_ERR_OS => c"FIBRA_ERR_OS",
            FibraStatus::FIBRA_ERR_INTERNAL => c"FIBRA_ERR_INTERNAL",
            FibraStatus::FIBRA_CLOSED => c"FIBRA_CLOSED",
        }
    }

    const ALL: [FibraStatus; 11] = [
        FibraStatus::FIBRA_OK,
        FibraStatus::FIBRA_CANCELLED,
        FibraStatus::FIBRA_PANICKED,
        FibraStatus::FIBRA_PENDING,
        FibraStatus::FIBRA_CLOSED,
        FibraStatus::FIBRA_ERR_NULL,
        FibraStatus::FIBRA_ERR_INVALID_HANDLE,
        FibraStatus::FIBRA_ERR_INVALID_ARGUMENT,
        FibraStatus::FIBRA_ERR_SHUTDOWN,
        FibraStatus::FIBRA_ERR_OS,
        FibraStatus::FIBRA_ERR_INTERNAL,
    ];

    fn from_code(code: i32) -> Option<FibraStatus> {
        Self::ALL.into_iter().find(|status| *status as i32 == code)
    }
}

thread_local! {
    static LAST_ERROR: RefCell<Option<CString>> = const { RefCell::new(None) };
}

/// Stores `message` as this thread's last error. Interior NUL bytes (which
/// C cannot see past) are replaced.
pub(crate) fn set_last_error(message: &str) {
    let message = CString::new(message.replace('\0', "\\0")).unwrap_or_default();
    // `try_with` fails only while this thread's locals are being destroyed;
    // the message is then lost, the status code still says what happened.
    let _ = LAST_ERROR.try_with(|slot| *slot.borrow_mut() = Some(message));
}

/// The name of a status code, e.g. `"FIBRA_ERR_NULL"`, or
/// `"FIBRA_UNKNOWN_STATUS"` for a value that is not one. The string is static:
/// never free it.
#[no_mangle]
pub extern "C" fn fibra_status_name(status: i32) -> *const c_char {
    // Nothing here can panic; the match is total.
    match FibraStatus::from_code(status) {
        Some(status) => status.name().as_ptr(),
        None => c"FIBRA_UNKNOWN_STATUS".as_ptr(),
    }
}

/// The message of the last error a fibra function returned on this thread
/// (`""` if there was none). Successful calls do not clear it, as with
/// `errno`. The string is owned by fibra and valid until the next fibra call
/// on this thread that fails; copy it to keep it. Never NULL.
#[no_mangle]
pub extern "C" fn fibra_last_error_message() -> *const c_char {
    // `try_with` fails only while this thread's locals are being destroyed.
    LAST_ERROR
        .try_with(|slot| {
            slot.borrow()
                .as_ref()
                .map_or(c"".as_ptr(), |message| message.as_ptr())
        })
        .unwrap_or(c"fibra: the last error is unavailable while this thread exits".as_ptr())
}
