//! Helpers shared by the integration tests: C-style callbacks and checked
//! wrappers that fail the test with fibra's error message.

#![allow(dead_code)] // each test file uses a subset

use fibra_ffi::*;
use std::ffi::{c_void, CStr};

/// fibra's own test helpers, for `with_hang_guard` (a test that would
/// otherwise only fail by hanging fails after the guard's time instead).
#[path = "../../../fibra/tests/common/mod.rs"]
mod fibra_common;
#[allow(unused_imports)] // each test file uses a subset
pub use fibra_common::with_hang_guard;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Condvar, Mutex};

/// The last error message on this thread.
pub fn last_error() -> String {
    // SAFETY: never NULL, a valid C string until the next failing call.
    unsafe { CStr::from_ptr(fibra_last_error_message()) }
        .to_string_lossy()
        .into_owned()
}

/// Asserts that `status` is `expected`, printing fibra's message if not.
#[track_caller]
pub fn expect(status: FibraStatus, expected: FibraStatus) {
    assert_eq!(status, expected, "last error: {}", last_error());
}

pub fn new_runtime(workers: usize) -> *mut FibraRuntime {
    let mut status = FibraStatus::FIBRA_ERR_INTERNAL;
    // SAFETY: status_out is writable.
    let rt = unsafe { fibra_runtime_new(workers, &mut status) };
    expect(status, FibraStatus::FIBRA_OK);
    assert!(!rt.is_null());
    rt
}

pub fn new_waitgroup() -> *mut FibraWaitGroup {
    // SAFETY: NULL status_out is allowed.
    let wg = unsafe { fibra_waitgroup_new(std::ptr::null_mut()) };
    assert!(!wg.is_null());
    wg
}

/// A new wait group whose count is `count`.
pub fn new_waitgroup_counting(count: usize) -> *mut FibraWaitGroup {
    let wg = new_waitgroup();
    // SAFETY: a live wait group.
    expect(
        unsafe { fibra_waitgroup_add(wg, count as i64) },
        FibraStatus::FIBRA_OK,
    );
    wg
}

/// One task's record: how many times its function and its cancel callback
/// ran, and the wait group both of them mark done.
pub struct Slot {
    pub ran: AtomicU32,
    pub cancelled: AtomicU32,
    pub wg: *const FibraWaitGroup,
}

impl Slot {
    pub fn new(wg: *const FibraWaitGroup) -> Slot {
        Slot {
            ran: AtomicU32::new(0),
            cancelled: AtomicU32::new(0),
            wg,
        }
    }

    pub fn as_arg(&self) -> *mut c_void {
        self as *const Slot as *mut c_void
    }

    /// (ran, cancelled)
    pub fn calls(&self) -> (u32, u32) {
        (
            self.ran.load(Ordering::Relaxed),
            self.cancelled.load(Ordering::Relaxed),
        )
    }
}

/// Task function: counts a run of the `Slot` in `arg`.
pub unsafe extern "C" fn run_slot(arg: *mut c_void) {
    // SAFETY: every test passes a `Slot` that outlives the task.
    let slot = unsafe { &*(arg as *const Slot) };
    slot.ran.fetch_add(1, Ordering::Relaxed);
    // SAFETY: the slot's wait group outlives the task.
    expect(unsafe { fibra_waitgroup_done(slot.wg) }, FibraStatus::FIBRA_OK);
}

/// Cancel callback: counts a cancellation of the `Slot` in `arg`.
pub unsafe extern "C" fn cancel_slot(arg: *mut c_void) {
    // SAFETY: as in `run_slot`.
    let slot = unsafe { &*(arg as *const Slot) };
    slot.cancelled.fetch_add(1, Ordering::Relaxed);
    // SAFETY: as in `run_slot`.
    expect(unsafe { fibra_waitgroup_done(slot.wg) }, FibraStatus::FIBRA_OK);
}

/// Task function: increments the `AtomicU64` in `arg`.
pub unsafe extern "C" fn increment(arg: *mut c_void) {
    // SAFETY: every test passes an `AtomicU64` that outlives the task.
    unsafe { &*(arg as *const AtomicU64) }.fetch_add(1, Ordering::Relaxed);
}

/// A task that holds its worker until the test opens the gate: it blocks
/// its worker *thread* on purpose (a std `Mutex`/`Condvar`, as a C callback
/// stuck in a `pthread` lock would), so tasks queued behind it stay queued.
/// (`fibra_waitgroup_wait` would only park the task.)
pub struct Gate {
    /// Count 1 until the task runs.
    pub started: *mut FibraWaitGroup,
    /// True once the test opens the gate.
    open: Mutex<bool>,
    opened: Condvar,
}

impl Gate {
    pub fn new() -> Gate {
        let gate = Gate {
            started: new_waitgroup(),
            open: Mutex::new(false),
            opened: Condvar::new(),
        };
        // SAFETY: live wait group.
        unsafe { expect(fibra_waitgroup_add(gate.started, 1), FibraStatus::FIBRA_OK) };
        gate
    }

    /// Spawns the task that holds a worker, and waits until it runs.
    pub fn hold_a_worker(&self, rt: *const FibraRuntime) {
        let arg = self as *const Gate as *mut c_void;
        // SAFETY: live runtime; the gate outlives the task (see `free`).
        expect(
            unsafe { fibra_spawn(rt, Some(wait_on_gate), arg) },
            FibraStatus::FIBRA_OK,
        );
        // SAFETY: live wait group.
        expect(
            unsafe { fibra_waitgroup_wait(self.started) },
            FibraStatus::FIBRA_OK,
        );
    }

    pub fn open(&self) {
        *self.open.lock().unwrap() = true;
        self.opened.notify_all();
    }

    /// Blocks the calling thread until `open`.
    fn block_until_open(&self) {
        let mut open = self.open.lock().unwrap();
        while !*open {
            open = self.opened.wait(open).unwrap();
        }
    }

    /// Frees the wait group; the task must have finished.
    pub fn free(self) {
        // SAFETY: a live wait group nobody uses any more, freed once.
        unsafe { expect(fibra_waitgroup_free(self.started), FibraStatus::FIBRA_OK) };
    }
}

/// Task function: marks the `Gate` in `arg` started and blocks its worker
/// thread until the gate opens.
unsafe extern "C" fn wait_on_gate(arg: *mut c_void) {
    // SAFETY: the test keeps the gate alive until the task is done.
    let gate = unsafe { &*(arg as *const Gate) };
    // SAFETY: a live wait group.
    unsafe { expect(fibra_waitgroup_done(gate.started), FibraStatus::FIBRA_OK) };
    gate.block_until_open();
}
