//! `fibra_yield`: `fibra::yield_now` for C (Go's `runtime.Gosched`).

use crate::boundary::status_call;
use crate::status::FibraStatus;

/// Offers the CPU to others. Returns `FIBRA_OK`.
///
/// Inside a task, the task is requeued behind the work its worker has ready
/// and resumes later on the same OS thread (as Go's `runtime.Gosched`); its
/// C frames stay on its fiber stack meanwhile. On any other thread this
/// yields the OS thread (`sched_yield`). Callable from any thread.
#[no_mangle]
pub extern "C" fn fibra_yield() -> FibraStatus {
    status_call(|| {
        fibra::yield_now();
        Ok(FibraStatus::FIBRA_OK)
    })
}
