//! `fibra_chan` from Rust, as a C program would call it: order and
//! capacity, close semantics, a task that receives until close (it parks,
//! its worker keeps running other tasks), rendezvous between tasks, and the
//! error paths.

mod common;

use common::*;
use fibra_ffi::*;
use std::ffi::c_void;
use std::ptr;

fn new_chan(capacity: usize) -> *mut FibraChan {
    let mut status = FibraStatus::FIBRA_ERR_INTERNAL;
    // SAFETY: a writable status.
    let ch = unsafe { fibra_chan_new(capacity, &mut status) };
    expect(status, FibraStatus::FIBRA_OK);
    assert!(!ch.is_null());
    ch
}

fn recv(ch: *const FibraChan) -> Result<usize, FibraStatus> {
    let mut value = ptr::null_mut();
    // SAFETY: live channel, writable out-pointer.
    match unsafe { fibra_chan_recv(ch, &mut value) } {
        FibraStatus::FIBRA_OK => Ok(value as usize),
        other => Err(other),
    }
}

fn send(ch: *const FibraChan, value: usize) -> FibraStatus {
    // SAFETY: live channel; the pointer is only carried.
    unsafe { fibra_chan_send(ch, value as *mut c_void) }
}

#[test]
fn values_come_out_in_order_then_closed() {
    let ch = new_chan(4);
    for v in 1..=4 {
        expect(send(ch, v), FibraStatus::FIBRA_OK);
    }
    // SAFETY: live channel.
    expect(unsafe { fibra_chan_close(ch) }, FibraStatus::FIBRA_OK);
    expect(unsafe { fibra_chan_close(ch) }, FibraStatus::FIBRA_OK); // twice is fine
    expect(send(ch, 9), FibraStatus::FIBRA_CLOSED);
    for v in 1..=4 {
        assert_eq!(recv(ch), Ok(v));
    }
    assert_eq!(recv(ch), Err(FibraStatus::FIBRA_CLOSED));
    // SAFETY: live, unused channel, freed once.
    expect(unsafe { fibra_chan_free(ch) }, FibraStatus::FIBRA_OK);
}

/// A task: receives from the channel in `arg` until it is closed; adds the
/// values and sends the total back on the same channel's pair (`Pair`).
struct Pair {
    values: *mut FibraChan,
    total: *mut FibraChan,
}

unsafe extern "C" fn sum_until_closed(arg: *mut c_void) {
    // SAFETY: the test passes a `Pair` that outlives this task.
    let pair = unsafe { &*(arg as *const Pair) };
    let mut sum = 0usize;
    while let Ok(v) = recv(pair.values) {
        sum += v;
    }
    expect(send(pair.total, sum), FibraStatus::FIBRA_OK);
}

#[test]
fn a_task_receives_until_close_on_a_rendezvous_channel() {
    let rt = new_runtime(1); // one worker: the receiving task must park
    let pair = Pair {
        values: new_chan(0),
        total: new_chan(1),
    };
    let mut task = ptr::null_mut();
    // SAFETY: live runtime; `pair` outlives the task (waited for below).
    let status = unsafe {
        fibra_task_spawn(
            rt,
            Some(sum_until_closed),
            &pair as *const Pair as *mut c_void,
            None,
            &mut task,
        )
    };
    expect(status, FibraStatus::FIBRA_OK);
    for v in 1..=1000 {
        expect(send(pair.values, v), FibraStatus::FIBRA_OK);
    }
    // SAFETY: live channel.
    expect(unsafe { fibra_chan_close(pair.values) }, FibraStatus::FIBRA_OK);
    assert_eq!(recv(pair.total), Ok(500_500));
    // SAFETY: live task and objects, each freed once after the task ended.
    unsafe {
        expect(fibra_task_wait(task), FibraStatus::FIBRA_OK);
        expect(fibra_task_free(task), FibraStatus::FIBRA_OK);
        expect(fibra_chan_free(pair.values), FibraStatus::FIBRA_OK);
        expect(fibra_chan_free(pair.total), FibraStatus::FIBRA_OK);
        expect(fibra_runtime_free(rt), FibraStatus::FIBRA_OK);
    }
}

#[test]
fn null_and_freed_channels_are_rejected() {
    let mut value = ptr::null_mut();
    // SAFETY: NULL is always accepted as an argument to reject.
    unsafe {
        expect(
            fibra_chan_send(ptr::null(), ptr::null_mut()),
            FibraStatus::FIBRA_ERR_NULL,
        );
        expect(
            fibra_chan_recv(ptr::null(), &mut value),
            FibraStatus::FIBRA_ERR_NULL,
        );
        expect(fibra_chan_close(ptr::null()), FibraStatus::FIBRA_ERR_NULL);
        expect(fibra_chan_free(ptr::null_mut()), FibraStatus::FIBRA_ERR_NULL);
    }
    let ch = new_chan(1);
    // SAFETY: live channel; a NULL out-pointer is rejected.
    expect(
        unsafe { fibra_chan_recv(ch, ptr::null_mut()) },
        FibraStatus::FIBRA_ERR_NULL,
    );
    // SAFETY: freed once; the second free is the documented best-effort check.
    unsafe {
        expect(fibra_chan_free(ch), FibraStatus::FIBRA_OK);
        expect(fibra_chan_free(ch), FibraStatus::FIBRA_ERR_INVALID_HANDLE);
    }
}
