//! `fibra_waitgroup`: Go's `sync.WaitGroup` for C: a counter of outstanding
//! work; `wait` returns once it is zero.
//!
//! A thin wrapper over `fibra::sync::WaitGroup` (its module docs hold the
//! no-lost-wake-up argument): a wait inside a fibra task parks only the
//! task, its worker runs other tasks meanwhile; on any other thread it
//! blocks the thread. `add` takes a signed delta, as Go's does, and a change
//! that would take the count below zero is refused with an error (nothing
//! changed) instead of Go's panic.

use crate::boundary::{pointer_call, status_call, Error};
use crate::object::{self, CObject, Magic};
use crate::status::FibraStatus;
use fibra::sync::WaitGroup;

/// A counter of outstanding work that threads can wait on. Opaque in C
/// (`fibra_waitgroup`).
#[repr(C)] // the magic word first, at the same offset in every object type
pub struct FibraWaitGroup {
    magic: Magic,
    group: WaitGroup,
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
        let refused = |count: String| {
            Error::new(
                FibraStatus::FIBRA_ERR_INVALID_ARGUMENT,
                format!("fibra: {function}: the counter would go negative or overflow ({count} {delta:+}); nothing changed"),
            )
        };
        let delta_isize = isize::try_from(delta).map_err(|_| refused(self.group.count().to_string()))?;
        match self.group.try_add(delta_isize) {
            Ok(_) => Ok(()),
            Err(error) => Err(refused(error.count.to_string())),
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
            group: WaitGroup::new(),
        }))
    })
}

/// Adds `delta` (which may be negative) to the counter. Reaching zero wakes
/// every waiter. Call it before spawning the work it counts, as in Go.
///
/// Errors: `FIBRA_ERR_NULL`, `FIBRA_ERR_INVALID_HANDLE`,
/// `FIBRA_ERR_INVALID_ARGUMENT` if the counter (a size_t, unsigned) would go
/// negative or overflow (the counter is left unchanged; Go panics here).
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

/// Waits until the counter is zero; returns at once if it is. Memory writes
/// made before each `done` are visible after `wait`.
///
/// Inside a fibra task this parks only the task (its worker runs other
/// tasks meanwhile, so every worker may wait at once without deadlock);
/// on any other thread it blocks the thread.
///
/// # Safety
/// `wg` is NULL or a live wait group, not freed while anyone waits.
#[no_mangle]
pub unsafe extern "C" fn fibra_waitgroup_wait(wg: *const FibraWaitGroup) -> FibraStatus {
    status_call(|| {
        // SAFETY: forwarded to the caller.
        unsafe { borrow_waitgroup(wg, "fibra_waitgroup_wait") }?
            .group
            .wait();
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
