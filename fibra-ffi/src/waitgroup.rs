//! `fibra_waitgroup`: Go's `sync.WaitGroup` for C: a counter of outstanding
//! work; `wait` returns once it is zero.
//!
//! fibra has no wait group yet (it comes with fibers as
//! `fibra::sync::WaitGroup`); this one blocks the waiting OS thread, so a
//! task that waits holds its worker until the count reaches zero.
//!
//! Protocol (no lost wake-up): the counter is an atomic, so `done` costs one
//! compare-and-swap (retried under contention) and takes the lock only when
//! it brings the count to zero. A waiter checks the count under `lock` before sleeping on `zero`;
//! the `done` that reaches zero takes `lock` after its decrement and before
//! notifying. So either the waiter's check (under the lock) comes after that
//! `done` released the lock and sees zero, or the waiter is already asleep
//! on `zero` when `done` notifies.

use crate::boundary::{pointer_call, status_call, Error};
use crate::object::{self, CObject, Magic};
use crate::status::FibraStatus;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Condvar, Mutex};

/// A counter of outstanding work that threads can wait on. Opaque in C
/// (`fibra_waitgroup`).
#[repr(C)] // the magic word first, at the same offset in every object type
pub struct FibraWaitGroup {
    magic: Magic,
    count: AtomicI64,
    lock: Mutex<()>,
    zero: Condvar,
}

impl CObject for FibraWaitGroup {
    const MAGIC: u64 = 0xf1b2_0003_7767_7270;
    const C_NAME: &'static str = "fibra_waitgroup";
    fn magic(&self) -> &Magic {
        &self.magic
    }
}

impl FibraWaitGroup {
    fn add(&self, delta: i64, function: &'static str) -> Result<(), Error> {
        // A CAS loop rather than `fetch_add`, so that a bad call never makes
        // the count transiently negative (a waiter could return early).
        // AcqRel on success: Release publishes the caller's writes before a
        // `done` to the waiter whose Acquire load in `wait` sees the count it
        // leaves; Acquire makes the `done` that reaches zero see every earlier
        // one's. Relaxed on failure: the value is only re-read for the retry.
        let update = self
            .count
            .fetch_update(Ordering::AcqRel, Ordering::Relaxed, |count| {
                count.checked_add(delta).filter(|after| *after >= 0)
            });
        match update {
            Ok(before) if before + delta == 0 => {
                self.wake_waiters();
                Ok(())
            }
            Ok(_) => Ok(()),
            Err(before) => Err(Error::new(
                FibraStatus::FIBRA_ERR_INVALID_ARGUMENT,
                format!("fibra: {function}: the counter would go negative or overflow ({before} {delta:+}); nothing changed"),
            )),
        }
    }

    fn wake_waiters(&self) {
        // Taking the lock orders this wake after any waiter's check (protocol above).
        drop(self.lock.lock().unwrap_or_else(|e| e.into_inner()));
        self.zero.notify_all();
    }

    fn wait(&self) {
        // Acquire: pairs with the AcqRel decrement of the `done` that reached
        // zero, so the waiter sees everything the tasks wrote before `done`.
        if self.count.load(Ordering::Acquire) == 0 {
            return;
        }
        let mut guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        // Acquire: as above.
        while self.count.load(Ordering::Acquire) > 0 {
            guard = self.zero.wait(guard).unwrap_or_else(|e| e.into_inner());
        }
    }
}

/// # Safety
/// `wg` is NULL or a live wait group.
unsafe fn borrow_waitgroup<'a>(
    wg: *const FibraWaitGroup,
    function: &'static str,
) -> Result<&'a FibraWaitGroup, Error> {
    // SAFETY: forwarded to the caller.
    unsafe { object::borrow(wg, function) }
}

/// Creates a wait group with a count of zero. Returns NULL only if a Rust
/// panic was caught (`FIBRA_ERR_INTERNAL` in `*status_out` if not NULL).
///
/// # Safety
/// `status_out` is NULL or points to a writable `fibra_status`.
#[no_mangle]
pub unsafe extern "C" fn fibra_waitgroup_new(status_out: *mut FibraStatus) -> *mut FibraWaitGroup {
    pointer_call(status_out, || {
        Ok(object::into_c(FibraWaitGroup {
            magic: Magic::new(FibraWaitGroup::MAGIC),
            count: AtomicI64::new(0),
            lock: Mutex::new(()),
            zero: Condvar::new(),
        }))
    })
}

/// Adds `delta` (which may be negative) to the counter. Reaching zero wakes
/// every waiter. Call it before spawning the work it counts, as in Go.
///
/// Errors: `FIBRA_ERR_NULL`, `FIBRA_ERR_INVALID_HANDLE`,
/// `FIBRA_ERR_INVALID_ARGUMENT` if the counter would go negative or overflow
/// (the counter is left unchanged; Go panics here).
///
/// # Safety
/// `wg` is NULL or a live wait group.
#[no_mangle]
pub unsafe extern "C" fn fibra_waitgroup_add(wg: *const FibraWaitGroup, delta: i64) -> FibraStatus {
    status_call(|| {
        // SAFETY: forwarded to the caller.
        unsafe { borrow_waitgroup(wg, "fibra_waitgroup_add") }?.add(delta, "fibra_waitgroup_add")?;
        Ok(FibraStatus::FIBRA_OK)
    })
}

/// `fibra_waitgroup_add(wg, -1)`: one unit of work is finished.
///
/// # Safety
/// `wg` is NULL or a live wait group.
#[no_mangle]
pub unsafe extern "C" fn fibra_waitgroup_done(wg: *const FibraWaitGroup) -> FibraStatus {
    status_call(|| {
        // SAFETY: forwarded to the caller.
        unsafe { borrow_waitgroup(wg, "fibra_waitgroup_done") }?.add(-1, "fibra_waitgroup_done")?;
        Ok(FibraStatus::FIBRA_OK)
    })
}

/// Blocks the calling OS thread until the counter is zero; returns at once if
/// it is. Memory writes made before each `done` are visible after `wait`.
///
/// This wait group does not park tasks yet (fibra's own `sync::WaitGroup`
/// does; switching to it is a next step): calling this from a task blocks
/// that task's whole worker thread, and if every worker waits for tasks still
/// queued, the runtime deadlocks. Wait from outside the runtime (the main
/// thread), or use `fibra_task_wait`, which parks the calling task.
///
/// # Safety
/// `wg` is NULL or a live wait group, not freed while anyone waits.
#[no_mangle]
pub unsafe extern "C" fn fibra_waitgroup_wait(wg: *const FibraWaitGroup) -> FibraStatus {
    status_call(|| {
        // SAFETY: forwarded to the caller.
        unsafe { borrow_waitgroup(wg, "fibra_waitgroup_wait") }?.wait();
        Ok(FibraStatus::FIBRA_OK)
    })
}

/// Frees a wait group.
///
/// Errors: `FIBRA_ERR_NULL`, `FIBRA_ERR_INVALID_HANDLE` (already freed: best
/// effort).
///
/// # Safety
/// `wg` is NULL or a live wait group that nobody waits on or uses after this
/// call (a task still calling `done` on it is undefined behaviour).
#[no_mangle]
pub unsafe extern "C" fn fibra_waitgroup_free(wg: *mut FibraWaitGroup) -> FibraStatus {
    status_call(|| {
        // SAFETY: forwarded to the caller.
        drop(unsafe { object::free(wg, "fibra_waitgroup_free") }?);
        Ok(FibraStatus::FIBRA_OK)
    })
}
