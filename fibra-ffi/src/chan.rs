//! `fibra_chan`: a channel of `void *` for C, on `fibra::chan`.
//!
//! Sends and receives that must wait park the calling task (its worker runs
//! other tasks meanwhile) or, outside the runtime, block the calling thread.
//! A capacity of 0 makes a rendezvous channel: a send completes when a
//! receiver takes the value.
//!
//! Invariants: the object owns one receiver and, until `fibra_chan_close`,
//! one sender. A send clones the sender under `sender`'s lock and sends
//! outside it, so a send blocked on a full channel never holds the lock;
//! after close, new sends get `FIBRA_CLOSED`, sends already blocked finish
//! normally, and receivers drain what was sent, then get `FIBRA_CLOSED`.
//! Pointers are carried as `usize`: fibra never dereferences them.

use crate::boundary::{pointer_call, status_call, Error};
use crate::object::{self, CObject, Magic};
use crate::status::FibraStatus;
use fibra::chan::{self as chan, Receiver, Sender};
use std::ffi::c_void;
use std::sync::Mutex;

/// A multi-producer, multi-consumer channel of `void *`. Opaque in C
/// (`fibra_chan`).
#[repr(C)] // the magic word first, at the same offset in every object type
pub struct FibraChan {
    magic: Magic,
    sender: Mutex<Option<Sender<usize>>>,
    receiver: Receiver<usize>,
}

impl CObject for FibraChan {
    const MAGIC: u64 = 0xf1b2_0004_6368_616e;
    const C_NAME: &'static str = "fibra_chan";
    fn magic(&self) -> &Magic {
        &self.magic
    }
}

impl FibraChan {
    fn sender(&self) -> Option<Sender<usize>> {
        self.sender.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// # Safety
/// `ch` is NULL or a live channel.
unsafe fn borrow_chan<'a>(ch: *const FibraChan, function: &'static str) -> Result<&'a FibraChan, Error> {
    // SAFETY: forwarded to the caller.
    unsafe { object::borrow(ch, function) }
}

/// Creates a channel holding up to `capacity` values (0: rendezvous).
/// Returns NULL only if a Rust panic was caught (`FIBRA_ERR_INTERNAL` in
/// `*status_out` if not NULL).
///
/// # Safety
/// `status_out` is NULL or points to a writable `fibra_status`.
#[no_mangle]
pub unsafe extern "C" fn fibra_chan_new(capacity: usize, status_out: *mut FibraStatus) -> *mut FibraChan {
    pointer_call(status_out, || {
        let (sender, receiver) = chan::bounded(capacity);
        Ok(object::into_c(FibraChan {
            magic: Magic::new(FibraChan::MAGIC),
            sender: Mutex::new(Some(sender)),
            receiver,
        }))
    })
}

/// Sends `value` (any pointer, NULL included; fibra never reads it). Waits
/// while the channel is full (for capacity 0: until a receiver takes it);
/// inside a task that parks only the task. Returns `FIBRA_OK`, or
/// `FIBRA_CLOSED` (nothing sent; `value` still belongs to the caller) after
/// `fibra_chan_close`.
///
/// # Safety
/// `ch` is NULL or a live channel, not freed while this call runs.
#[no_mangle]
pub unsafe extern "C" fn fibra_chan_send(ch: *const FibraChan, value: *mut c_void) -> FibraStatus {
    status_call(|| {
        // SAFETY: forwarded to the caller.
        let ch = unsafe { borrow_chan(ch, "fibra_chan_send") }?;
        let Some(sender) = ch.sender() else {
            return Ok(FibraStatus::FIBRA_CLOSED);
        };
        match sender.send(value as usize) {
            Ok(()) => Ok(FibraStatus::FIBRA_OK),
            // The object's own receiver is alive until free: unreachable,
            // but reported rather than assumed.
            Err(_) => Ok(FibraStatus::FIBRA_CLOSED),
        }
    })
}

/// Receives the oldest value into `*value_out`, waiting while the channel is
/// empty (inside a task that parks only the task). Returns `FIBRA_OK`, or
/// `FIBRA_CLOSED` (`*value_out` untouched) once the channel is closed and
/// every value sent before has been received.
///
/// # Safety
/// `ch` is NULL or a live channel, not freed while this call runs;
/// `value_out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fibra_chan_recv(ch: *const FibraChan, value_out: *mut *mut c_void) -> FibraStatus {
    status_call(|| {
        // SAFETY: forwarded to the caller.
        let ch = unsafe { borrow_chan(ch, "fibra_chan_recv") }?;
        if value_out.is_null() {
            return Err(Error::null("value_out"));
        }
        match ch.receiver.recv() {
            Ok(value) => {
                // SAFETY: checked non-null; writable per the contract.
                unsafe { *value_out = value as *mut c_void };
                Ok(FibraStatus::FIBRA_OK)
            }
            Err(_) => Ok(FibraStatus::FIBRA_CLOSED),
        }
    })
}

/// Closes the channel for sending: later sends return `FIBRA_CLOSED`;
/// receivers get every value sent before, then `FIBRA_CLOSED`. Closing twice
/// is allowed and does nothing the second time.
///
/// # Safety
/// `ch` is NULL or a live channel.
#[no_mangle]
pub unsafe extern "C" fn fibra_chan_close(ch: *const FibraChan) -> FibraStatus {
    status_call(|| {
        // SAFETY: forwarded to the caller.
        let ch = unsafe { borrow_chan(ch, "fibra_chan_close") }?;
        drop(ch.sender.lock().unwrap_or_else(|e| e.into_inner()).take());
        Ok(FibraStatus::FIBRA_OK)
    })
}

/// Frees the channel. Values still in it are forgotten (the pointers are
/// the caller's: receive them first if they own memory).
///
/// # Safety
/// `ch` is NULL or a live channel that no call is using or will use.
#[no_mangle]
pub unsafe extern "C" fn fibra_chan_free(ch: *mut FibraChan) -> FibraStatus {
    status_call(|| {
        // SAFETY: forwarded to the caller.
        drop(unsafe { object::free(ch, "fibra_chan_free") }?);
        Ok(FibraStatus::FIBRA_OK)
    })
}
