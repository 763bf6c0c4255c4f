//! The C functions called from Rust, as a C program would: spawns run once,
//! shutdown cancels queued tasks through their cancel callbacks, joinable
//! tasks report how they ended, wait groups, yield and metrics.

mod common;

use common::*;
use fibra_ffi::*;
use std::ffi::c_void;
use std::sync::atomic::{AtomicU64, Ordering};

#[test]
fn every_spawned_task_runs_exactly_once() {
    const TASKS: usize = 20_000;
    let rt = new_runtime(2);
    let wg = new_waitgroup_counting(TASKS);
    let slots: Vec<Slot> = (0..TASKS).map(|_| Slot::new(wg)).collect();
    for (i, slot) in slots.iter().enumerate() {
        let cancel = if i % 2 == 0 { Some(cancel_slot as _) } else { None };
        // SAFETY: live runtime; the slots outlive the tasks (we wait below).
        let status = unsafe { fibra_spawn_with_cancel(rt, Some(run_slot), slot.as_arg(), cancel) };
        expect(status, FibraStatus::FIBRA_OK);
    }
    // SAFETY: live wait group.
    expect(unsafe { fibra_waitgroup_wait(wg) }, FibraStatus::FIBRA_OK);
    for slot in &slots {
        assert_eq!(slot.calls(), (1, 0));
    }
    let mut metrics = FibraMetrics {
        struct_size: std::mem::size_of::<FibraMetrics>() as u32,
        ..FibraMetrics::default()
    };
    // SAFETY: live runtime, writable struct of the declared size.
    expect(
        unsafe { fibra_runtime_metrics(rt, &mut metrics) },
        FibraStatus::FIBRA_OK,
    );
    assert_eq!(metrics.num_workers, 2);
    assert_eq!(metrics.spawned_outside, TASKS as u64);
    assert_eq!(metrics.completed, TASKS as u64);
    // SAFETY: live objects, freed once; every task has finished.
    unsafe {
        expect(fibra_waitgroup_free(wg), FibraStatus::FIBRA_OK);
        expect(fibra_runtime_free(rt), FibraStatus::FIBRA_OK);
    }
}

/// What `wait_then_count` and `mark_done` share.
struct WaitInTask {
    /// Count 1 until `mark_done` runs.
    wg: *mut FibraWaitGroup,
    /// Count 1 until `wait_then_count` returned from its wait.
    finished: *mut FibraWaitGroup,
    rt: *const FibraRuntime,
}

/// Task: spawns `mark_done` (queued behind us on our only worker), waits on
/// the wait group it will mark done, then reports.
unsafe extern "C" fn wait_then_count(arg: *mut c_void) {
    // SAFETY: the test keeps the struct alive until `finished` is done.
    let shared = unsafe { &*(arg as *const WaitInTask) };
    // SAFETY: live runtime and wait groups (see the test).
    unsafe {
        expect(
            fibra_spawn(shared.rt, Some(mark_done), arg),
            FibraStatus::FIBRA_OK,
        );
        expect(fibra_waitgroup_wait(shared.wg), FibraStatus::FIBRA_OK);
        expect(fibra_waitgroup_done(shared.finished), FibraStatus::FIBRA_OK);
    }
}

unsafe extern "C" fn mark_done(arg: *mut c_void) {
    // SAFETY: as in `wait_then_count`.
    let shared = unsafe { &*(arg as *const WaitInTask) };
    // SAFETY: a live wait group.
    expect(unsafe { fibra_waitgroup_done(shared.wg) }, FibraStatus::FIBRA_OK);
}

/// On a one-worker runtime, a task that waits on a wait group parks: the
/// task that marks it done runs on the same worker meanwhile. (A wait that
/// held the worker thread would hang here.)
#[test]
fn waitgroup_wait_in_a_task_parks_only_the_task() {
    with_hang_guard("wait group wait in a task", waitgroup_wait_in_a_task);
}

fn waitgroup_wait_in_a_task() {
    let rt = new_runtime(1);
    let shared = WaitInTask {
        wg: new_waitgroup(),
        finished: new_waitgroup(),
        rt,
    };
    // SAFETY: live wait groups and runtime; `shared` outlives both tasks
    // (we wait on `finished`, which the last of them marks done).
    unsafe {
        expect(fibra_waitgroup_add(shared.wg, 1), FibraStatus::FIBRA_OK);
        expect(fibra_waitgroup_add(shared.finished, 1), FibraStatus::FIBRA_OK);
        let arg = &shared as *const WaitInTask as *mut c_void;
        expect(fibra_spawn(rt, Some(wait_then_count), arg), FibraStatus::FIBRA_OK);
        expect(fibra_waitgroup_wait(shared.finished), FibraStatus::FIBRA_OK);
        expect(fibra_runtime_free(rt), FibraStatus::FIBRA_OK);
        expect(fibra_waitgroup_free(shared.wg), FibraStatus::FIBRA_OK);
        expect(fibra_waitgroup_free(shared.finished), FibraStatus::FIBRA_OK);
    }
}

/// A task that spawns `SPAWNED_INSIDE` tasks through the C ABI from its
/// worker (the local path) and waits for them with joinable handles.
unsafe extern "C" fn spawn_and_wait_inside(arg: *mut c_void) {
    // SAFETY: the test passes a `Nested` that outlives this task.
    let nested = unsafe { &*(arg as *const Nested) };
    let mut tasks = Vec::new();
    for _ in 0..SPAWNED_INSIDE {
        let mut task = std::ptr::null_mut();
        let counter = &nested.counter as *const AtomicU64 as *mut c_void;
        // SAFETY: live runtime (it is running this task); writable task_out.
        let status = unsafe { fibra_task_spawn(nested.rt, Some(increment), counter, None, &mut task) };
        expect(status, FibraStatus::FIBRA_OK);
        tasks.push(task);
    }
    for task in tasks {
        // SAFETY: live task handles, freed once.
        unsafe {
            expect(fibra_task_wait(task), FibraStatus::FIBRA_OK);
            expect(fibra_task_free(task), FibraStatus::FIBRA_OK);
        }
    }
}

const SPAWNED_INSIDE: u64 = 1000;

struct Nested {
    rt: *const FibraRuntime,
    counter: AtomicU64,
}

#[test]
fn tasks_spawn_and_wait_from_inside_a_task() {
    let rt = new_runtime(2);
    let nested = Nested {
        rt,
        counter: AtomicU64::new(0),
    };
    let mut root = std::ptr::null_mut();
    let arg = &nested as *const Nested as *mut c_void;
    // SAFETY: live runtime; `nested` outlives the task (we wait for it).
    expect(
        unsafe { fibra_task_spawn(rt, Some(spawn_and_wait_inside), arg, None, &mut root) },
        FibraStatus::FIBRA_OK,
    );
    // SAFETY: live task handle; waiting twice returns the cached status.
    unsafe {
        expect(fibra_task_wait(root), FibraStatus::FIBRA_OK);
        expect(fibra_task_wait(root), FibraStatus::FIBRA_OK);
        expect(fibra_task_poll(root), FibraStatus::FIBRA_OK);
        expect(fibra_task_free(root), FibraStatus::FIBRA_OK);
    }
    assert_eq!(nested.counter.load(Ordering::Relaxed), SPAWNED_INSIDE);
    let mut metrics = FibraMetrics {
        struct_size: std::mem::size_of::<FibraMetrics>() as u32,
        ..FibraMetrics::default()
    };
    // SAFETY: live runtime, writable struct.
    expect(
        unsafe { fibra_runtime_metrics(rt, &mut metrics) },
        FibraStatus::FIBRA_OK,
    );
    assert_eq!(
        metrics.spawned, SPAWNED_INSIDE,
        "spawns from a task take the worker's local path"
    );
    assert_eq!(metrics.spawned_outside, 1);
    // SAFETY: live runtime, freed once.
    expect(unsafe { fibra_runtime_free(rt) }, FibraStatus::FIBRA_OK);
}

/// What the task that frees its own runtime needs.
struct SelfFree {
    rt: *mut FibraRuntime,
    free_status: std::sync::Mutex<Option<FibraStatus>>,
    spawn_after_free: std::sync::Mutex<Option<FibraStatus>>,
}

unsafe extern "C" fn free_own_runtime(arg: *mut c_void) {
    // SAFETY: the test passes a `SelfFree` that outlives the task.
    let this = unsafe { &*(arg as *const SelfFree) };
    // SAFETY: our own runtime: it stays allocated after a free from its own task.
    let status = unsafe { fibra_runtime_free(this.rt) };
    *this.free_status.lock().unwrap() = Some(status);
    // SAFETY: as above; the documented result is FIBRA_ERR_SHUTDOWN.
    let status = unsafe { fibra_spawn(this.rt, Some(increment), std::ptr::null_mut()) };
    *this.spawn_after_free.lock().unwrap() = Some(status);
}

/// Deterministic cancellation: one worker runs a task that frees its own
/// runtime, so every task queued behind it is dropped without running, and
/// each gets exactly one call of its cancel callback.
#[test]
fn freeing_from_a_task_cancels_queued_tasks_through_their_cancel_callback() {
    const QUEUED: usize = 500;
    let rt = new_runtime(1);
    let wg = new_waitgroup_counting(QUEUED);
    // The only worker waits on the gate, so the tasks below stay queued.
    let gate = Gate::new();
    gate.hold_a_worker(rt);
    let self_free = SelfFree {
        rt,
        free_status: Default::default(),
        spawn_after_free: Default::default(),
    };
    let mut freer = std::ptr::null_mut();
    let arg = &self_free as *const SelfFree as *mut c_void;
    // SAFETY: live runtime; `self_free` outlives the task (waited below).
    expect(
        unsafe { fibra_task_spawn(rt, Some(free_own_runtime), arg, None, &mut freer) },
        FibraStatus::FIBRA_OK,
    );
    let slots: Vec<Slot> = (0..QUEUED).map(|_| Slot::new(wg)).collect();
    let mut joinable = std::ptr::null_mut();
    for (i, slot) in slots.iter().enumerate() {
        let status = if i == 0 {
            // SAFETY: live runtime; slots outlive the tasks (waited below).
            unsafe {
                fibra_task_spawn(
                    rt,
                    Some(run_slot),
                    slot.as_arg(),
                    Some(cancel_slot),
                    &mut joinable,
                )
            }
        } else {
            // SAFETY: as above.
            unsafe { fibra_spawn_with_cancel(rt, Some(run_slot), slot.as_arg(), Some(cancel_slot)) }
        };
        expect(status, FibraStatus::FIBRA_OK);
    }
    // SAFETY: live task handles.
    unsafe {
        expect(fibra_task_poll(freer), FibraStatus::FIBRA_PENDING);
        expect(fibra_task_poll(joinable), FibraStatus::FIBRA_PENDING);
    }
    gate.open();
    // SAFETY: live task handles and wait group.
    unsafe {
        expect(fibra_task_wait(freer), FibraStatus::FIBRA_OK);
        expect(fibra_waitgroup_wait(wg), FibraStatus::FIBRA_OK);
        expect(fibra_task_wait(joinable), FibraStatus::FIBRA_CANCELLED);
    }
    assert_eq!(
        *self_free.free_status.lock().unwrap(),
        Some(FibraStatus::FIBRA_OK)
    );
    assert_eq!(
        *self_free.spawn_after_free.lock().unwrap(),
        Some(FibraStatus::FIBRA_ERR_SHUTDOWN)
    );
    for slot in &slots {
        assert_eq!(
            slot.calls(),
            (0, 1),
            "queued behind the freeing task: cancelled once"
        );
    }
    // SAFETY: live objects, freed once. The runtime itself stays allocated
    // (freed from its own task), as documented.
    unsafe {
        expect(fibra_task_free(freer), FibraStatus::FIBRA_OK);
        expect(fibra_task_free(joinable), FibraStatus::FIBRA_OK);
        expect(fibra_waitgroup_free(wg), FibraStatus::FIBRA_OK);
    }
    gate.free();
}

struct SendPtr<T>(*mut T);
// SAFETY: the pointee is a fibra object, usable from any thread.
unsafe impl<T> Send for SendPtr<T> {}

/// Freeing from the main thread while tasks are queued: each task either ran
/// or was cancelled, exactly once, and spawns during the shutdown are refused.
#[test]
fn freeing_from_outside_runs_or_cancels_each_task_exactly_once() {
    const QUEUED: usize = 2000;
    let rt = new_runtime(1);
    let wg = new_waitgroup_counting(QUEUED);
    // The only worker runs the gate's task, so the free below waits for it.
    let gate = Gate::new();
    gate.hold_a_worker(rt);
    let slots: Vec<Slot> = (0..QUEUED).map(|_| Slot::new(wg)).collect();
    for slot in &slots {
        // SAFETY: live runtime; slots outlive the tasks (waited below).
        let status = unsafe { fibra_spawn_with_cancel(rt, Some(run_slot), slot.as_arg(), Some(cancel_slot)) };
        expect(status, FibraStatus::FIBRA_OK);
    }
    // The opener waits until the free has begun (spawns are refused), then
    // opens the gate so that the running task, and so the free, can finish.
    // The runtime cannot be freed before that: its worker waits on the gate.
    let (rt_ptr, gate_ptr) = (SendPtr(rt), SendPtr(&gate as *const Gate as *mut Gate));
    let opener = std::thread::spawn(move || {
        let (rt, gate) = (rt_ptr, gate_ptr);
        static SPAWNED_DURING_FREE: AtomicU64 = AtomicU64::new(0);
        let counter_arg = &SPAWNED_DURING_FREE as *const AtomicU64 as *mut c_void;
        loop {
            // SAFETY: the runtime is alive until the gate opens (see above);
            // the counter is static.
            let status = unsafe { fibra_spawn(rt.0, Some(increment), counter_arg) };
            if status == FibraStatus::FIBRA_ERR_SHUTDOWN {
                break;
            }
            expect(status, FibraStatus::FIBRA_OK);
            std::thread::yield_now();
        }
        // SAFETY: the gate lives until the opener is joined.
        unsafe { &*gate.0 }.open();
    });
    // SAFETY: live runtime, freed once; only its tasks and the opener (until
    // it sees FIBRA_ERR_SHUTDOWN) use it meanwhile.
    expect(unsafe { fibra_runtime_free(rt) }, FibraStatus::FIBRA_OK);
    opener.join().unwrap();
    // SAFETY: live wait group.
    expect(unsafe { fibra_waitgroup_wait(wg) }, FibraStatus::FIBRA_OK);
    let mut ran = 0;
    for slot in &slots {
        match slot.calls() {
            (1, 0) => ran += 1,
            (0, 1) => {}
            other => panic!("a task ran {} times and was cancelled {} times", other.0, other.1),
        }
    }
    eprintln!("{ran} of {QUEUED} queued tasks ran before the shutdown, the rest were cancelled");
    // SAFETY: live wait group, freed once.
    expect(unsafe { fibra_waitgroup_free(wg) }, FibraStatus::FIBRA_OK);
    gate.free();
}

/// Task handles outlive their runtime: waiting after the free reports how
/// each task ended (ran, or cancelled by the shutdown).
#[test]
fn task_handles_outlive_their_runtime() {
    const TASKS: usize = 100;
    let rt = new_runtime(2);
    let wg = new_waitgroup_counting(TASKS);
    let slots: Vec<Slot> = (0..TASKS).map(|_| Slot::new(wg)).collect();
    let tasks: Vec<*mut FibraTask> = slots
        .iter()
        .map(|slot| {
            let mut task = std::ptr::null_mut();
            // SAFETY: live runtime; slots outlive the tasks (waited below).
            let status =
                unsafe { fibra_task_spawn(rt, Some(run_slot), slot.as_arg(), Some(cancel_slot), &mut task) };
            expect(status, FibraStatus::FIBRA_OK);
            task
        })
        .collect();
    // SAFETY: live runtime, freed once, used no more.
    expect(unsafe { fibra_runtime_free(rt) }, FibraStatus::FIBRA_OK);
    // SAFETY: live wait group.
    expect(unsafe { fibra_waitgroup_wait(wg) }, FibraStatus::FIBRA_OK);
    for (slot, task) in slots.iter().zip(tasks) {
        // SAFETY: live task handles, freed once.
        let status = unsafe { fibra_task_wait(task) };
        match slot.calls() {
            (1, 0) => expect(status, FibraStatus::FIBRA_OK),
            (0, 1) => expect(status, FibraStatus::FIBRA_CANCELLED),
            other => panic!("a task ran {} times and was cancelled {} times", other.0, other.1),
        }
        // SAFETY: as above.
        expect(unsafe { fibra_task_free(task) }, FibraStatus::FIBRA_OK);
    }
    // SAFETY: live wait group, freed once.
    expect(unsafe { fibra_waitgroup_free(wg) }, FibraStatus::FIBRA_OK);
}
