//! Bad input gets a status code and a message, never a crash or an unwind:
//! NULL pointers, out-of-range arguments, wait group misuse, metrics structs
//! of other versions.

mod common;

use common::*;
use fibra_ffi::*;
use std::ffi::CStr;
use std::ptr::{null, null_mut};

const NULL: FibraStatus = FibraStatus::FIBRA_ERR_NULL;

#[test]
fn null_pointers_are_rejected_by_every_function() {
    let rt = new_runtime(1);
    let mut task = null_mut();
    let mut metrics = FibraMetrics {
        struct_size: std::mem::size_of::<FibraMetrics>() as u32,
        ..FibraMetrics::default()
    };
    // SAFETY: NULL is allowed everywhere and must be reported.
    unsafe {
        expect(fibra_spawn(null(), Some(increment), null_mut()), NULL);
        assert!(last_error().contains("fibra_spawn"), "{}", last_error());
        expect(fibra_spawn(rt, None, null_mut()), NULL);
        assert!(last_error().contains("func is NULL"), "{}", last_error());
        expect(
            fibra_spawn_with_cancel(rt, None, null_mut(), Some(increment)),
            NULL,
        );
        expect(
            fibra_task_spawn(rt, Some(increment), null_mut(), None, null_mut()),
            NULL,
        );
        expect(
            fibra_task_spawn(null(), Some(increment), null_mut(), None, &mut task),
            NULL,
        );
        assert!(task.is_null(), "task_out is set to NULL on error");
        expect(fibra_task_wait(null()), NULL);
        expect(fibra_task_poll(null()), NULL);
        expect(fibra_task_free(null_mut()), NULL);
        expect(fibra_waitgroup_add(null(), 1), NULL);
        expect(fibra_waitgroup_done(null()), NULL);
        expect(fibra_waitgroup_wait(null()), NULL);
        expect(fibra_waitgroup_free(null_mut()), NULL);
        expect(fibra_runtime_metrics(null(), &mut metrics), NULL);
        expect(fibra_runtime_metrics(rt, null_mut()), NULL);
        expect(fibra_runtime_worker_metrics(rt, 0, null_mut()), NULL);
        expect(fibra_runtime_free(null_mut()), NULL);
        expect(fibra_runtime_free(rt), FibraStatus::FIBRA_OK);
    }
}

#[test]
fn too_many_workers_is_an_invalid_argument_with_a_message() {
    let mut status = FibraStatus::FIBRA_OK;
    // SAFETY: writable status_out.
    let rt = unsafe { fibra_runtime_new(1 << 20, &mut status) };
    assert!(rt.is_null());
    expect(status, FibraStatus::FIBRA_ERR_INVALID_ARGUMENT);
    assert!(last_error().contains("workers"), "{}", last_error());
    // SAFETY: NULL status_out is allowed.
    assert!(unsafe { fibra_runtime_new(1 << 20, null_mut()) }.is_null());
}

#[test]
fn a_waitgroup_counter_never_goes_negative() {
    let wg = new_waitgroup();
    // SAFETY: live wait group.
    unsafe {
        expect(fibra_waitgroup_done(wg), FibraStatus::FIBRA_ERR_INVALID_ARGUMENT);
        assert!(last_error().contains("negative"), "{}", last_error());
        expect(fibra_waitgroup_add(wg, 2), FibraStatus::FIBRA_OK);
        expect(
            fibra_waitgroup_add(wg, -3),
            FibraStatus::FIBRA_ERR_INVALID_ARGUMENT,
        );
        // The count is 64 bits unsigned: 2 + 2 * i64::MAX overflows it.
        expect(fibra_waitgroup_add(wg, i64::MAX), FibraStatus::FIBRA_OK);
        expect(
            fibra_waitgroup_add(wg, i64::MAX),
            FibraStatus::FIBRA_ERR_INVALID_ARGUMENT,
        );
        assert!(last_error().contains("overflow"), "{}", last_error());
        expect(fibra_waitgroup_add(wg, -i64::MAX), FibraStatus::FIBRA_OK);
        // The bad calls changed nothing: two dones bring it to zero.
        expect(fibra_waitgroup_done(wg), FibraStatus::FIBRA_OK);
        expect(fibra_waitgroup_done(wg), FibraStatus::FIBRA_OK);
        expect(fibra_waitgroup_wait(wg), FibraStatus::FIBRA_OK);
        expect(fibra_waitgroup_done(wg), FibraStatus::FIBRA_ERR_INVALID_ARGUMENT);
        expect(fibra_waitgroup_free(wg), FibraStatus::FIBRA_OK);
    }
}

#[test]
fn waiters_on_other_threads_wake_when_the_count_reaches_zero() {
    const WAITERS: usize = 4;
    let wg = new_waitgroup();
    // SAFETY: live wait group.
    expect(unsafe { fibra_waitgroup_add(wg, 1) }, FibraStatus::FIBRA_OK);
    let address = wg as usize;
    let waiters: Vec<_> = (0..WAITERS)
        .map(|_| {
            std::thread::spawn(move || {
                // SAFETY: freed only after every waiter is joined.
                unsafe { fibra_waitgroup_wait(address as *const FibraWaitGroup) }
            })
        })
        .collect();
    // SAFETY: live wait group.
    expect(unsafe { fibra_waitgroup_done(wg) }, FibraStatus::FIBRA_OK);
    for waiter in waiters {
        expect(waiter.join().unwrap(), FibraStatus::FIBRA_OK);
    }
    // SAFETY: live, nobody waits any more; freed once.
    expect(unsafe { fibra_waitgroup_free(wg) }, FibraStatus::FIBRA_OK);
}

#[test]
fn metrics_structs_of_older_and_newer_versions() {
    let rt = new_runtime(2);
    let full = std::mem::size_of::<FibraMetrics>() as u32;
    // Too small: nothing is written.
    let mut tiny = FibraMetrics {
        struct_size: FIBRA_METRICS_MIN_SIZE - 1,
        num_workers: 99,
        ..FibraMetrics::default()
    };
    // SAFETY: live runtime, writable struct.
    expect(
        unsafe { fibra_runtime_metrics(rt, &mut tiny) },
        FibraStatus::FIBRA_ERR_INVALID_ARGUMENT,
    );
    assert_eq!(tiny.num_workers, 99);

    // An older caller that knows only the first three fields.
    let old_size = std::mem::offset_of!(FibraMetrics, completed) as u32;
    let mut old = FibraMetrics {
        struct_size: old_size,
        completed: 12345,
        ..FibraMetrics::default()
    };
    // SAFETY: live runtime, writable struct (larger than declared).
    expect(
        unsafe { fibra_runtime_metrics(rt, &mut old) },
        FibraStatus::FIBRA_OK,
    );
    assert_eq!(
        (old.struct_size, old.num_workers, old.completed),
        (old_size, 2, 12345)
    );

    // A newer caller with a larger struct gets ours and our size.
    #[repr(C)]
    struct Newer {
        metrics: FibraMetrics,
        future_field: u64,
    }
    let mut newer = Newer {
        metrics: FibraMetrics {
            struct_size: std::mem::size_of::<Newer>() as u32,
            ..FibraMetrics::default()
        },
        future_field: 777,
    };
    // SAFETY: live runtime, `struct_size` writable bytes.
    expect(
        unsafe { fibra_runtime_metrics(rt, &mut newer.metrics) },
        FibraStatus::FIBRA_OK,
    );
    assert_eq!(newer.metrics.struct_size, full);
    assert_eq!(newer.future_field, 777);

    let mut worker = FibraMetrics {
        struct_size: full,
        ..FibraMetrics::default()
    };
    // SAFETY: live runtime, writable struct.
    unsafe {
        expect(
            fibra_runtime_worker_metrics(rt, 1, &mut worker),
            FibraStatus::FIBRA_OK,
        );
        assert_eq!(worker.num_workers, 2);
        expect(
            fibra_runtime_worker_metrics(rt, 2, &mut worker),
            FibraStatus::FIBRA_ERR_INVALID_ARGUMENT,
        );
        assert!(
            last_error().contains("worker 2 does not exist"),
            "{}",
            last_error()
        );
        expect(fibra_runtime_free(rt), FibraStatus::FIBRA_OK);
    }
}

#[test]
fn status_names_and_yield() {
    let name = |code| {
        // SAFETY: static C strings.
        unsafe { CStr::from_ptr(fibra_status_name(code)) }
            .to_str()
            .unwrap()
    };
    assert_eq!(name(0), "FIBRA_OK");
    assert_eq!(name(FibraStatus::FIBRA_ERR_SHUTDOWN as i32), "FIBRA_ERR_SHUTDOWN");
    assert_eq!(name(-100), "FIBRA_UNKNOWN_STATUS");
    expect(fibra_yield(), FibraStatus::FIBRA_OK);
}
