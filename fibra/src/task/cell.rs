//! One task's memory: a header and inline room for its closure, then its output.
//!
//! ```text
//! Cell (128 bytes, 64-aligned; from the pool)
//! +--------------------------------------------+
//! | Header: state | link | vtable | waiter |   |  40 bytes
//! |         runtime                            |
//! +--------------------------------------------+
//! | payload: the closure F until it runs,      |  80 bytes, 16-aligned
//! |          then Result<T, panic payload>      |  (boxed when larger)
//! +--------------------------------------------+
//! ```
//!
//! Invariants:
//! - The payload holds the closure from spawn until whoever *claims* the task
//!   (`state::CLAIMED`: the worker that pops it, or a joiner or scope that
//!   runs it inline) runs or cancels it; then the output (if it ran) until
//!   the handle takes it or whoever owns it (see `state`) drops it. Only the
//!   claimer touches the payload before `COMPLETE`; only the output's owner
//!   after.
//! - `waiter` is written only by the handle's owner, before it sets
//!   `JOIN_WAITING`; it is read only by the completer, after seeing that flag.

use super::state::{AfterComplete, State};
use crate::park::Waiter;
use crate::queue::inject::{Link, Linked};
use std::any::Any;
use std::cell::UnsafeCell;
use std::mem::{align_of, size_of, MaybeUninit};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr::NonNull;

/// Bytes of closure (or output) stored inline; larger values are boxed once.
pub(crate) const PAYLOAD_SIZE: usize = 80;
const PAYLOAD_ALIGN: usize = 16;
pub(crate) const CELL_SIZE: usize = size_of::<Cell>();
pub(crate) const CELL_ALIGN: usize = align_of::<Cell>();
#[cfg(not(loom))]
const _: () = assert!(CELL_SIZE == 128 && CELL_ALIGN == 64);
const _: () = assert!(PAYLOAD_SIZE >= 48, "the issue promises 48-byte closures inline");

/// What a task produced: its value, or the payload of its panic.
pub(crate) type Output<T> = Result<T, Box<dyn Any + Send + 'static>>;

#[repr(C)]
pub(crate) struct Header {
    pub(crate) state: State,
    /// The global queue's link (used only while the task is queued there).
    link: Link,
    vtable: &'static Vtable,
    waiter: UnsafeCell<Option<Waiter>>,
    /// The address of the runtime that spawned the task: an identity only.
    runtime: usize,
}

#[repr(C, align(16))]
struct Payload(UnsafeCell<MaybeUninit<[u8; PAYLOAD_SIZE]>>);

#[repr(C, align(64))]
struct Cell {
    header: Header,
    payload: Payload,
}

/// The type-specific operations of one `(F, T)` pair.
struct Vtable {
    /// Runs the closure and completes the task (the caller claimed it).
    run: unsafe fn(NonNull<Header>),
    /// Like `run`, and releases the caller's reference in the same RMW that
    /// completes the task (the worker's path: one atomic operation fewer).
    run_and_release: unsafe fn(NonNull<Header>),
    /// Drops the closure unrun and completes as cancelled (claimed, too).
    cancel: unsafe fn(NonNull<Header>),
    /// Drops a stored output.
    drop_output: unsafe fn(NonNull<Header>),
    /// Moves the stored output to `*mut Output<T>`.
    read_output: unsafe fn(NonNull<Header>, *mut ()),
}

fn fits_inline<X>() -> bool {
    size_of::<X>() <= PAYLOAD_SIZE && align_of::<X>() <= PAYLOAD_ALIGN
}

/// # Safety
/// `header` points to a live cell whose payload the caller may write.
unsafe fn payload_write<X>(header: NonNull<Header>, value: X) {
    let payload = payload_ptr(header);
    if fits_inline::<X>() {
        // SAFETY: the payload is PAYLOAD_SIZE bytes, 16-aligned, and X fits.
        unsafe { payload.cast::<X>().write(value) }
    } else {
        // SAFETY: a Box pointer always fits and is 8-aligned.
        unsafe { payload.cast::<Box<X>>().write(Box::new(value)) }
    }
}

/// # Safety
/// The payload holds an `X` written by `payload_write::<X>` that the caller
/// owns; it is moved out (the payload is logically uninitialised after).
unsafe fn payload_take<X>(header: NonNull<Header>) -> X {
    let payload = payload_ptr(header);
    if fits_inline::<X>() {
        // SAFETY: per the contract, an X is stored inline.
        unsafe { payload.cast::<X>().read() }
    } else {
        // SAFETY: per the contract, a Box<X> is stored.
        *unsafe { payload.cast::<Box<X>>().read() }
    }
}

fn payload_ptr(header: NonNull<Header>) -> *mut u8 {
    let cell = header.cast::<Cell>().as_ptr();
    // SAFETY: `header` is the first field of a `Cell` (repr(C)); taking a
    // field address creates no reference.
    unsafe { std::ptr::addr_of_mut!((*cell).payload) }.cast::<u8>()
}

struct VtableFor<F, T>(std::marker::PhantomData<(F, T)>);

impl<F: FnOnce() -> T, T> VtableFor<F, T> {
    const VTABLE: Vtable = Vtable {
        run: run::<F, T>,
        run_and_release: run_and_release::<F, T>,
        cancel: cancel::<F>,
        drop_output: drop_output::<T>,
        read_output: read_output::<T>,
    };
}

/// # Safety
/// The caller claimed a task of this type and holds a reference to it.
unsafe fn run<F: FnOnce() -> T, T>(header: NonNull<Header>) {
    // SAFETY: claimed, so the payload holds F and it is ours.
    let closure = unsafe { payload_take::<F>(header) };
    let output: Output<T> = catch_unwind(AssertUnwindSafe(closure));
    // SAFETY: the closure was moved out; the payload is ours until COMPLETE.
    unsafe { payload_write(header, output) };
    // SAFETY: we hold a reference, so the cell is live.
    unsafe { complete(header, false) };
}

/// Where a finished task's output is while `run_and_release` completes it.
enum Finished<T> {
    /// Not stored yet.
    InHand(Output<T>),
    /// In the payload, for the handle to take.
    Stored,
    /// Dropped: the handle is gone.
    Dropped,
}

/// Runs the closure, then sets `COMPLETE` and releases the caller's
/// reference in one RMW. Who owns the output is decided from the value that
/// RMW replaces: while the handle holds interest, the output is stored for
/// it (and its `waiter`, if registered, is read before the RMW and woken
/// after: it is a `'static` parker, so the cell may be gone by then); once
/// interest is gone it never comes back, so the output is ours to drop.
///
/// # Safety
/// The caller claimed a task of this type and holds a reference to it, which
/// this consumes: the caller must not use `header` afterwards.
unsafe fn run_and_release<F: FnOnce() -> T, T>(header: NonNull<Header>) {
    // SAFETY: claimed, so the payload holds F and it is ours.
    let closure = unsafe { payload_take::<F>(header) };
    let mut output = Finished::InHand(catch_unwind(AssertUnwindSafe(closure)));
    // SAFETY: our reference keeps the cell live until the RMW below.
    let head = unsafe { header.as_ref() };
    let mut current = head.state.load();
    loop {
        let mut waiter = None;
        output = if current.has_join_interest() {
            if current.is_join_waiting() {
                // SAFETY: JOIN_WAITING is set (we saw it with Acquire), so
                // `waiter` was written before it and is never written again.
                waiter = unsafe { *head.waiter.get() };
            }
            match output {
                Finished::InHand(value) => {
                    // SAFETY: the closure was moved out; the payload is ours
                    // until COMPLETE.
                    unsafe { payload_write(header, value) };
                    Finished::Stored
                }
                kept => kept,
            }
        } else {
            match output {
                Finished::InHand(value) => drop_without_unwinding(value),
                Finished::Stored => {
                    // The handle went away after we stored it: ours now.
                    // SAFETY: stored by us, not complete: nobody else owns it.
                    let drop_output = || unsafe { (head.vtable.drop_output)(header) };
                    let _ = catch_unwind(AssertUnwindSafe(drop_output));
                }
                Finished::Dropped => {}
            }
            Finished::Dropped
        };
        match head.state.try_complete_and_release(current) {
            Ok(last) => {
                if last {
                    // SAFETY: the last reference: nobody else can reach the
                    // cell, and its payload is empty (the output dropped).
                    unsafe { super::pool::free(header.cast()) };
                }
                if let Some(waiter) = waiter {
                    waiter.unpark();
                }
                return;
            }
            Err(actual) => current = actual,
        }
    }
}

/// # Safety
/// As for `run`.
unsafe fn cancel<F>(header: NonNull<Header>) {
    // SAFETY: claimed, so the payload holds F and it is ours.
    let closure = unsafe { payload_take::<F>(header) };
    drop_without_unwinding(closure);
    // SAFETY: we hold a reference.
    unsafe { complete(header, true) };
}

/// # Safety
/// The caller owns a stored `Output<T>` (see `state`).
unsafe fn drop_output<T>(header: NonNull<Header>) {
    // SAFETY: per the contract.
    drop(unsafe { payload_take::<Output<T>>(header) });
}

/// # Safety
/// The caller owns a stored `Output<T>`; `dst` is valid for a write of one.
unsafe fn read_output<T>(header: NonNull<Header>, dst: *mut ()) {
    // SAFETY: per the contract.
    unsafe { dst.cast::<Output<T>>().write(payload_take::<Output<T>>(header)) };
}

/// Drops a value whose `Drop` is user code, on a thread that must not unwind
/// (a worker): a panic is reported by the panic hook, then swallowed.
fn drop_without_unwinding<X>(value: X) {
    let _ = catch_unwind(AssertUnwindSafe(move || drop(value)));
}

/// Marks the task complete, then drops the output if the handle is gone or
/// wakes the handle's owner if it sleeps.
///
/// # Safety
/// The caller claimed the task and holds a reference; for a task that ran,
/// the output is stored.
unsafe fn complete(header: NonNull<Header>, cancelled: bool) {
    // SAFETY: the caller's reference keeps the cell live through this function.
    let head = unsafe { header.as_ref() };
    match head.state.complete(cancelled) {
        AfterComplete::DropOutput if !cancelled => {
            // The output's `Drop` is user code running on a worker: its
            // panic is reported by the panic hook and must not unwind here.
            // SAFETY: the handle is gone, so the output is ours (state docs).
            let drop_output = || unsafe { (head.vtable.drop_output)(header) };
            let _ = catch_unwind(AssertUnwindSafe(drop_output));
        }
        AfterComplete::DropOutput => {}
        AfterComplete::WakeWaiter => {
            // SAFETY: JOIN_WAITING was set, so `waiter` was written before it
            // (Release) and our AcqRel RMW saw it; nobody writes it again.
            if let Some(waiter) = unsafe { *head.waiter.get() } {
                waiter.unpark();
            }
        }
        AfterComplete::Nothing => {}
    }
}

/// Drops one reference, freeing the cell if it was the last.
///
/// # Safety
/// The caller holds a reference and does not use `header` afterwards.
pub(crate) unsafe fn release(header: NonNull<Header>) {
    // SAFETY: the caller's reference keeps the cell live for this call.
    if unsafe { header.as_ref() }.state.release_ref() {
        // SAFETY: last reference: nobody else can reach the cell; the payload
        // was emptied (closure taken, output taken or dropped).
        unsafe { super::pool::free(header.cast()) };
    }
}

/// A task's closure in a pooled cell.
///
/// # Safety
/// The closure and its output may borrow data that must outlive the task's
/// completion; the caller guarantees that (the safe wrappers require
/// `'static`, `scope`/`block_on` wait for completion or cancellation).
pub(crate) unsafe fn allocate<F, T>(closure: F, refs: u32, runtime: usize) -> NonNull<Header>
where
    F: FnOnce() -> T + Send,
    T: Send,
{
    // SAFETY: forwarded to the caller.
    unsafe { allocate_with_state(closure, super::state::initial(refs), runtime) }
}

/// A detached task's cell: one reference (the scheduler's), no handle.
pub(crate) fn allocate_detached<F>(closure: F, runtime: usize) -> NonNull<Header>
where
    F: FnOnce() + Send + 'static,
{
    // SAFETY: the closure borrows nothing ('static).
    unsafe { allocate_with_state(closure, super::state::DETACHED, runtime) }
}

/// # Safety
/// As for [`allocate`].
unsafe fn allocate_with_state<F, T>(closure: F, state: u32, runtime: usize) -> NonNull<Header>
where
    F: FnOnce() -> T + Send,
    T: Send,
{
    let header = super::pool::alloc().cast::<Header>();
    let head = Header {
        state: State::new(state),
        link: Link::new(),
        vtable: &VtableFor::<F, T>::VTABLE,
        waiter: UnsafeCell::new(None),
        runtime,
    };
    // SAFETY: the pool gives an unused cell-sized, cell-aligned block.
    unsafe {
        header.as_ptr().write(head);
        payload_write(header, closure);
    }
    header
}

/// Runs the task unless someone already claimed it, then releases the
/// queue entry's reference. What a worker does with a popped task; `before_run`
/// is called just before the closure runs. Returns whether it ran here.
///
/// # Safety
/// The caller holds a queue entry's (scheduler) reference; it is consumed.
pub(crate) unsafe fn run_task(header: NonNull<Header>, before_run: impl FnOnce()) -> bool {
    // SAFETY: the reference keeps the cell live; claiming makes the run ours.
    unsafe {
        if header.as_ref().state.try_claim() {
            before_run();
            (header.as_ref().vtable.run_and_release)(header);
            true
        } else {
            release(header);
            false
        }
    }
}

/// Cancels the task unless someone already claimed it, then releases the
/// queue entry's reference. What shutdown does with a queued task. Returns
/// whether it was cancelled here.
///
/// # Safety
/// As for `run_task`.
pub(crate) unsafe fn cancel_task(header: NonNull<Header>) -> bool {
    // SAFETY: as in `run_task`.
    unsafe {
        let claimed = header.as_ref().state.try_claim();
        if claimed {
            (header.as_ref().vtable.cancel)(header);
        }
        release(header);
        claimed
    }
}

/// Runs (or, when `cancel`, drops) the task on the caller's stack if nobody
/// has started it yet, for a joiner or scope waiting on it. Its queue entry
/// stays and is released by whoever pops it. Returns whether it was claimed.
///
/// # Safety
/// The caller holds a reference (the handle's or the scope's), not consumed.
pub(crate) unsafe fn try_run_inline(header: NonNull<Header>, cancel: bool) -> bool {
    // SAFETY: the caller's reference keeps the cell live.
    unsafe {
        let head = header.as_ref();
        if !head.state.try_claim() {
            return false;
        }
        if cancel {
            (head.vtable.cancel)(header);
        } else {
            (head.vtable.run)(header);
        }
    }
    true
}

// SAFETY: `link` is a field of the header, which lives as long as the cell;
// `from_link` subtracts the same offset `link` added.
unsafe impl Linked for Header {
    fn link(node: NonNull<Header>) -> NonNull<Link> {
        // SAFETY: a field address of a live header; no reference is created.
        unsafe { NonNull::new_unchecked(std::ptr::addr_of_mut!((*node.as_ptr()).link)) }
    }

    unsafe fn from_link(link: NonNull<Link>) -> NonNull<Header> {
        let offset = std::mem::offset_of!(Header, link);
        // SAFETY: per the contract, `link` points `offset` bytes into a header.
        unsafe { NonNull::new_unchecked(link.as_ptr().byte_sub(offset).cast::<Header>()) }
    }
}

/// The identity of the runtime that spawned the task.
///
/// # Safety
/// The caller holds a reference.
pub(crate) unsafe fn runtime_of(header: NonNull<Header>) -> usize {
    // SAFETY: the caller's reference keeps the cell live; the field is immutable.
    unsafe { header.as_ref().runtime }
}

/// # Safety
/// The caller owns the stored `Output<T>` of a task of output type `T`.
pub(crate) unsafe fn take_output<T>(header: NonNull<Header>) -> Output<T> {
    let mut out = MaybeUninit::<Output<T>>::uninit();
    // SAFETY: per the contract; `out` is valid for one write.
    unsafe {
        (header.as_ref().vtable.read_output)(header, out.as_mut_ptr().cast());
        out.assume_init()
    }
}

/// # Safety
/// The caller owns the stored output.
pub(crate) unsafe fn drop_stored_output(header: NonNull<Header>) {
    // SAFETY: per the contract.
    unsafe { (header.as_ref().vtable.drop_output)(header) }
}

/// Stores the parker the handle's owner will sleep on.
///
/// # Safety
/// Called only by the handle's owner, before `set_join_waiting`, at most once.
pub(crate) unsafe fn set_waiter(header: NonNull<Header>, waiter: Waiter) {
    // SAFETY: nobody reads `waiter` before JOIN_WAITING is set (module docs).
    unsafe { *header.as_ref().waiter.get() = Some(waiter) };
}
