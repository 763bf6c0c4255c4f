//! `fibra_yield`: until fibra has fibers, a yield of the OS thread.

use crate::boundary::status_call;
use crate::status::FibraStatus;

/// Offers the CPU to others. Returns `FIBRA_OK`.
///
/// **Today this yields the OS thread** (`sched_yield`), not the task: fibra
/// tasks cannot be suspended until fibers land, so the calling task keeps its
/// worker and the tasks queued behind it on that worker do not run in the
/// meantime (other workers may steal them). Threads of other processes, and
/// other workers sharing the CPU, do get to run. When fibers land it will
/// requeue the calling task behind the others, as Go's `runtime.Gosched`.
/// Callable from any thread.
#[no_mangle]
pub extern "C" fn fibra_yield() -> FibraStatus {
    status_call(|| {
        std::thread::yield_now();
        Ok(FibraStatus::FIBRA_OK)
    })
}
