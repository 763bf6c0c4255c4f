//! The C boundary: every `extern "C"` function runs its body through
//! [`status_call`] or [`pointer_call`], which catch a Rust panic before it can
//! unwind into C, record the error message, and turn the result into a
//! status code or a (possibly NULL) pointer.

use crate::status::{set_last_error, FibraStatus};
use std::any::Any;
use std::borrow::Cow;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// An error on its way to C: a status code and the message for
/// `fibra_last_error_message`.
#[derive(Debug)]
pub(crate) struct Error {
    pub(crate) status: FibraStatus,
    pub(crate) message: Cow<'static, str>,
}

impl Error {
    pub(crate) fn new(status: FibraStatus, message: impl Into<Cow<'static, str>>) -> Error {
        Error {
            status,
            message: message.into(),
        }
    }

    /// `FIBRA_ERR_NULL` naming the function and argument.
    pub(crate) fn null(what: &'static str) -> Error {
        Error::new(FibraStatus::FIBRA_ERR_NULL, format!("fibra: {what} is NULL"))
    }
}

/// Runs `body`; returns its status, or the error's status after recording
/// its message. A panic becomes `FIBRA_ERR_INTERNAL`.
pub(crate) fn status_call(body: impl FnOnce() -> Result<FibraStatus, Error>) -> FibraStatus {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(status)) => status,
        Ok(Err(error)) => record(error),
        Err(payload) => record(panic_error(payload)),
    }
}

/// Runs `body` for a function that returns a pointer: NULL on error, and the
/// status (`FIBRA_OK` on success) stored through `status_out` unless it is
/// NULL.
pub(crate) fn pointer_call<T>(
    status_out: *mut FibraStatus,
    body: impl FnOnce() -> Result<*mut T, Error>,
) -> *mut T {
    let (pointer, status) = match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(pointer)) => (pointer, FibraStatus::FIBRA_OK),
        Ok(Err(error)) => (std::ptr::null_mut(), record(error)),
        Err(payload) => (std::ptr::null_mut(), record(panic_error(payload))),
    };
    if !status_out.is_null() {
        // SAFETY: the C caller passes NULL or a pointer to a writable
        // `fibra_status` (documented on each function taking `status_out`).
        unsafe { status_out.write(status) };
    }
    pointer
}

fn record(error: Error) -> FibraStatus {
    set_last_error(&error.message);
    error.status
}

fn panic_error(payload: Box<dyn Any + Send>) -> Error {
    let text = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a non-string panic payload".to_string());
    drop_payload(payload);
    Error::new(
        FibraStatus::FIBRA_ERR_INTERNAL,
        format!("fibra: internal error (a Rust panic was caught at the C boundary): {text}"),
    )
}

/// Drops a panic payload without unwinding: a payload whose `drop` panics
/// has that second payload leaked (it cannot be dropped safely either).
fn drop_payload(payload: Box<dyn Any + Send>) {
    if let Err(second) = catch_unwind(AssertUnwindSafe(move || drop(payload))) {
        std::mem::forget(second);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    fn last_error() -> String {
        // SAFETY: fibra_last_error_message returns a valid C string.
        unsafe { CStr::from_ptr(crate::fibra_last_error_message()) }
            .to_string_lossy()
            .into_owned()
    }

    #[test]
    fn a_panic_becomes_an_internal_error_with_its_message() {
        let status = status_call(|| panic!("boom at the boundary"));
        assert_eq!(status, FibraStatus::FIBRA_ERR_INTERNAL);
        assert!(last_error().contains("boom at the boundary"), "{}", last_error());
    }

    #[test]
    fn pointer_call_reports_through_status_out() {
        let mut status = FibraStatus::FIBRA_OK;
        let pointer: *mut u8 = pointer_call(&mut status, || Err(Error::null("test: x")));
        assert!(pointer.is_null());
        assert_eq!(status, FibraStatus::FIBRA_ERR_NULL);
        assert_eq!(last_error(), "fibra: test: x is NULL");

        let pointer: *mut u8 = pointer_call(std::ptr::null_mut(), || panic!("no status_out"));
        assert!(pointer.is_null());
        assert!(last_error().contains("no status_out"));
    }
}
