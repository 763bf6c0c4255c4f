//! Jobs that live on a caller's stack (`fibra::join`), and the latch that a
//! waiting thread sleeps on until they finish.
//!
//! A [`StackJob`] is offered through the worker's join deque as a pointer to
//! its [`JobHeader`]. The frame that owns it never returns before the job has
//! run: either it takes the job back and runs it itself, or it waits on the
//! job's [`Latch`], which the thief sets last, after storing the result.

use crate::loom::atomic::{AtomicBool, AtomicIsize, AtomicUsize, Ordering};
use crate::park::Waiter;
use std::any::Any;
use std::cell::UnsafeCell;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// A one-shot flag plus the one fiber or thread that waits for it.
///
/// The waiter is fixed at creation (it is the creator), and parkers are
/// never freed, so `set` may unpark after the latch itself is gone: it
/// copies the waiter out before the releasing store.
pub(crate) struct Latch {
    set: AtomicBool,
    waiter: Waiter,
}

impl Latch {
    /// A latch the calling fiber or thread will wait on.
    pub(crate) fn new() -> Latch {
        Latch::with_waiter(Waiter::current())
    }

    /// A latch that `waiter` (the caller) will wait on.
    pub(crate) fn with_waiter(waiter: Waiter) -> Latch {
        Latch {
            set: AtomicBool::new(false),
            waiter,
        }
    }

    pub(crate) fn is_set(&self) -> bool {
        // Acquire: pairs with the Release store in `set`, so the job's result
        // is visible once this returns true.
        self.set.load(Ordering::Acquire)
    }

    /// Sets the latch and wakes its waiter.
    ///
    /// # Safety
    /// `this` points to a live latch; after the store it may be freed at any
    /// moment by the waiter, so it is not touched again.
    pub(crate) unsafe fn set(this: *const Latch) {
        // SAFETY: live until the store below (per the contract).
        let waiter = unsafe { (*this).waiter };
        // Release: pairs with the Acquire load in `is_set`.
        // SAFETY: as above.
        unsafe { (*this).set.store(true, Ordering::Release) };
        waiter.unpark();
    }
}

/// The first field of every job: how to run it.
#[repr(C)]
pub(crate) struct JobHeader {
    execute: unsafe fn(*const JobHeader),
    /// Who stole the job: the thief's worker index + 1, or 0. Lets the owner,
    /// while it waits, steal back only the job's own sub-jobs (leapfrogging).
    thief: AtomicUsize,
    /// The thief's join-deque bottom when it started the job: the sub-jobs
    /// the job offers sit at this index and above.
    thief_base: AtomicIsize,
}

impl JobHeader {
    fn new(execute: unsafe fn(*const JobHeader)) -> JobHeader {
        JobHeader {
            execute,
            thief: AtomicUsize::new(0),
            thief_base: AtomicIsize::new(0),
        }
    }

    /// Runs the job.
    ///
    /// # Safety
    /// `job` came out of a join deque (or was taken back by its owner) and is
    /// run exactly once.
    pub(crate) unsafe fn execute(job: *const JobHeader) {
        // SAFETY: per the contract the job and its header are live.
        unsafe { ((*job).execute)(job) }
    }

    /// Records that worker `thief`, whose join deque's bottom is `base`, is
    /// about to run the stolen `job`.
    ///
    /// # Safety
    /// `job` was just stolen by the caller and has not run yet.
    pub(crate) unsafe fn record_thief(job: *const JobHeader, thief: usize, base: isize) {
        // SAFETY: the job's frame waits for it, so it is live.
        let header = unsafe { &*job };
        header.thief_base.store(base, Ordering::Relaxed);
        // Release: pairs with the Acquire load in `thief`, publishing `base`.
        header.thief.store(thief + 1, Ordering::Release);
    }

    /// The worker running this stolen job and its deque base, once recorded.
    pub(crate) fn thief(&self) -> Option<(usize, isize)> {
        // Acquire: pairs with the Release store in `record_thief`.
        match self.thief.load(Ordering::Acquire) {
            0 => None,
            plus_one => Some((plus_one - 1, self.thief_base.load(Ordering::Relaxed))),
        }
    }
}

/// `fibra::join`'s second closure, its result, and its latch, on the caller's
/// stack.
///
/// Once its address has been offered to thieves, a `StackJob` must not move
/// until it has run: it is only ever used through `&StackJob` after that.
#[repr(C)]
pub(crate) struct StackJob<F, R> {
    header: JobHeader,
    func: UnsafeCell<Option<F>>,
    result: UnsafeCell<Option<std::thread::Result<R>>>,
    pub(crate) latch: Latch,
}

impl<F: FnOnce() -> R + Send, R: Send> StackJob<F, R> {
    /// A job whose owner (the caller, `owner`) parks while waiting.
    pub(crate) fn new(func: F, owner: Waiter) -> StackJob<F, R> {
        StackJob {
            header: JobHeader::new(Self::execute_stolen),
            func: UnsafeCell::new(Some(func)),
            result: UnsafeCell::new(None),
            latch: Latch::with_waiter(owner),
        }
    }

    /// The pointer offered to thieves. Derived from the whole job (not from
    /// `&self.header`), so that it may reach every field; the fields a thief
    /// writes are `UnsafeCell`s or atomics.
    pub(crate) fn header(&self) -> &JobHeader {
        &self.header
    }

    pub(crate) fn as_job_ptr(&self) -> *mut JobHeader {
        (self as *const Self).cast_mut().cast::<JobHeader>()
    }

    /// Run by a thief: store the result, then set the latch.
    unsafe fn execute_stolen(job: *const JobHeader) {
        let this = job.cast::<Self>();
        // SAFETY: the header is the first field (repr(C)); the owner does not
        // touch `func` or `result` until the latch is set.
        let func = unsafe { (*(*this).func.get()).take() }.expect("join job runs once");
        let result = catch_unwind(AssertUnwindSafe(func));
        // SAFETY: as above.
        unsafe {
            *(*this).result.get() = Some(result);
            Latch::set(std::ptr::addr_of!((*this).latch));
        }
    }

    /// Run by the owner after taking the job back: no latch needed.
    pub(crate) fn run_inline(&self) -> std::thread::Result<R> {
        // SAFETY: the owner took the job back, so no thief has it: `func` is
        // ours alone.
        let func = unsafe { (*self.func.get()).take() }.expect("join job runs once");
        catch_unwind(AssertUnwindSafe(func))
    }

    /// The result of a stolen job, once the latch is set.
    pub(crate) fn take_result(&self) -> std::thread::Result<R> {
        assert!(self.latch.is_set());
        // SAFETY: the latch is set, so the thief stored the result and will
        // not touch the job again (Acquire in `is_set` orders its store).
        unsafe { (*self.result.get()).take() }.expect("a set latch means a stored result")
    }
}

/// Re-raises a caught panic.
pub(crate) fn resume(payload: Box<dyn Any + Send>) -> ! {
    std::panic::resume_unwind(payload)
}
