//! `fibra_metrics`: a runtime's counters copied into a caller-provided,
//! versioned struct.
//!
//! Versioning: the caller sets `struct_size` to `sizeof(fibra_metrics)` as
//! its header declares it. fibra writes only the fields that fit in both its
//! own and the caller's version, then sets `struct_size` to the number of
//! bytes it wrote. New fields are only ever appended, so an old program
//! linked to a new library gets the fields it knows, and a new program
//! linked to an old library sees from `struct_size` which fields were filled.

use crate::boundary::{status_call, Error};
use crate::runtime::{borrow_runtime, FibraRuntime};
use crate::status::FibraStatus;
use std::mem::{offset_of, size_of};

/// Counters of a runtime (`fibra_runtime_metrics`) or of one of its workers
/// (`fibra_runtime_worker_metrics`). Every counter only grows; a snapshot is
/// consistent per counter, not across counters.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FibraMetrics {
    /// In: `sizeof(fibra_metrics)` as the caller's header declares it (at
    /// least `FIBRA_METRICS_MIN_SIZE`). Out: the number of bytes fibra wrote.
    pub struct_size: u32,
    /// The number of worker threads.
    pub num_workers: u32,
    /// Tasks spawned by tasks running on the worker(s).
    pub spawned: u64,
    /// Tasks the worker(s) ran (counted as each starts).
    pub completed: u64,
    /// Tasks stolen from other workers.
    pub stolen_tasks: u64,
    /// Successful steal operations (one may move up to half a queue).
    pub steal_operations: u64,
    /// Tasks taken from the global queue.
    pub from_global: u64,
    /// Times a worker's full run queue moved half of itself to the global queue.
    pub local_overflows: u64,
    /// Times a worker went to sleep for lack of work.
    pub parks: u64,
    /// Times a worker was woken to look for work.
    pub wakeups: u64,
    /// Tasks spawned from threads that are not workers (0 per worker).
    pub spawned_outside: u64,
    /// Tasks dropped without running because of a shutdown (0 per worker).
    pub cancelled: u64,
}

/// The smallest `struct_size` accepted: `struct_size` and `num_workers`.
pub const FIBRA_METRICS_MIN_SIZE: u32 = 8;
const _: () = assert!(FIBRA_METRICS_MIN_SIZE as usize == offset_of!(FibraMetrics, spawned));

impl FibraMetrics {
    fn from_worker(num_workers: usize, worker: &fibra::WorkerMetrics) -> FibraMetrics {
        FibraMetrics {
            struct_size: 0,
            num_workers: num_workers as u32,
            spawned: worker.spawned,
            completed: worker.completed,
            stolen_tasks: worker.stolen_tasks,
            steal_operations: worker.steal_operations,
            from_global: worker.from_global,
            local_overflows: worker.local_overflows,
            parks: worker.parks,
            wakeups: worker.wakeups,
            spawned_outside: 0,
            cancelled: 0,
        }
    }
}

/// Fills `*out` with the runtime's totals over all workers, as far as
/// `out->struct_size` allows (see `fibra_metrics`).
///
/// Errors: `FIBRA_ERR_NULL`, `FIBRA_ERR_INVALID_HANDLE`,
/// `FIBRA_ERR_INVALID_ARGUMENT` if `out->struct_size` is below
/// `FIBRA_METRICS_MIN_SIZE` (nothing is written).
///
/// # Safety
/// `rt` is NULL or a live runtime; `out` is NULL or points to
/// `out->struct_size` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn fibra_runtime_metrics(
    rt: *const FibraRuntime,
    out: *mut FibraMetrics,
) -> FibraStatus {
    status_call(|| {
        // SAFETY: forwarded to the caller.
        let runtime = unsafe { borrow_runtime(rt, "fibra_runtime_metrics") }?;
        let metrics = runtime.handle().metrics();
        let mut totals = FibraMetrics::from_worker(metrics.workers.len(), &metrics.total());
        totals.spawned_outside = metrics.spawned_outside;
        totals.cancelled = metrics.cancelled;
        // SAFETY: forwarded to the caller.
        unsafe { write_versioned(out, totals, "fibra_runtime_metrics") }
    })
}

/// Fills `*out` with the counters of worker `index` (`0 <= index <
/// num_workers`); `spawned_outside` and `cancelled` are 0.
///
/// Errors: as `fibra_runtime_metrics`, and `FIBRA_ERR_INVALID_ARGUMENT` for
/// an index out of range.
///
/// # Safety
/// As for `fibra_runtime_metrics`.
#[no_mangle]
pub unsafe extern "C" fn fibra_runtime_worker_metrics(
    rt: *const FibraRuntime,
    index: usize,
    out: *mut FibraMetrics,
) -> FibraStatus {
    status_call(|| {
        // SAFETY: forwarded to the caller.
        let runtime = unsafe { borrow_runtime(rt, "fibra_runtime_worker_metrics") }?;
        let metrics = runtime.handle().metrics();
        let worker = metrics.workers.get(index).ok_or_else(|| {
            Error::new(
                FibraStatus::FIBRA_ERR_INVALID_ARGUMENT,
                format!(
                    "fibra: fibra_runtime_worker_metrics: worker {index} does not exist (the runtime has {})",
                    metrics.workers.len()
                ),
            )
        })?;
        let filled = FibraMetrics::from_worker(metrics.workers.len(), worker);
        // SAFETY: forwarded to the caller.
        unsafe { write_versioned(out, filled, "fibra_runtime_worker_metrics") }
    })
}

/// Copies the prefix of `metrics` that fits `out->struct_size` into `*out`.
///
/// # Safety
/// `out` is NULL or points to `out->struct_size` writable bytes.
unsafe fn write_versioned(
    out: *mut FibraMetrics,
    mut metrics: FibraMetrics,
    function: &'static str,
) -> Result<FibraStatus, Error> {
    if out.is_null() {
        return Err(Error::new(
            FibraStatus::FIBRA_ERR_NULL,
            format!("fibra: {function}: out is NULL"),
        ));
    }
    // SAFETY: `out` points to at least the `struct_size` field (contract);
    // read it alone, as the caller's struct may be shorter than ours.
    let caller_size = unsafe { std::ptr::addr_of!((*out).struct_size).read_unaligned() };
    if caller_size < FIBRA_METRICS_MIN_SIZE {
        return Err(Error::new(
            FibraStatus::FIBRA_ERR_INVALID_ARGUMENT,
            format!(
                "fibra: {function}: out->struct_size is {caller_size}, below FIBRA_METRICS_MIN_SIZE \
                 ({FIBRA_METRICS_MIN_SIZE}); set it to sizeof(fibra_metrics)"
            ),
        ));
    }
    let written = (caller_size as usize).min(size_of::<FibraMetrics>());
    metrics.struct_size = written as u32;
    // SAFETY: `written` bytes fit in both `metrics` and the caller's struct
    // (contract); the regions do not overlap (one is our local).
    unsafe {
        std::ptr::copy_nonoverlapping(
            (&metrics as *const FibraMetrics).cast::<u8>(),
            out.cast::<u8>(),
            written,
        )
    };
    Ok(FibraStatus::FIBRA_OK)
}
