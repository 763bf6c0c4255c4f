//! `fibra_sleep_ns`: `fibra::time::sleep` for C (Go's `time.Sleep`).

use crate::boundary::status_call;
use crate::status::FibraStatus;
use std::time::Duration;

/// Sleeps for at least `ns` nanoseconds. Returns `FIBRA_OK`.
///
/// Inside a task, only the task sleeps: its worker runs other tasks
/// meanwhile, and the task resumes on the same OS thread (its C frames stay
/// on its fiber stack). Timers have a resolution of 1 ms, and a busy worker
/// looks at them between tasks, so the sleep may last longer than asked,
/// never shorter. On any other thread this sleeps the OS thread
/// (`nanosleep`). `ns == 0` returns at once. Callable from any thread.
#[no_mangle]
pub extern "C" fn fibra_sleep_ns(ns: u64) -> FibraStatus {
    status_call(|| {
        fibra::time::sleep(Duration::from_nanos(ns));
        Ok(FibraStatus::FIBRA_OK)
    })
}
