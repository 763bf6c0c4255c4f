//! `JoinHandle<T>`: waits for a task and takes its output.

use super::cell::{self, Header};
use super::state::AfterHandleDrop;
use crate::park::Waiter;
use std::any::Any;
use std::fmt;
use std::marker::PhantomData;
use std::ptr::NonNull;

/// An owned permission to wait for a spawned task and take its result.
///
/// Dropping the handle detaches the task: it still runs, and its output is
/// dropped when it finishes.
///
/// ```
/// let rt = fibra::Runtime::builder().workers(2).build()?;
/// let handle = rt.spawn(|| 6 * 7);
/// assert_eq!(handle.join().unwrap(), 42);
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct JoinHandle<T> {
    header: NonNull<Header>,
    _output: PhantomData<T>,
}

// SAFETY: the handle only moves the task's output (T: Send) to its owner.
unsafe impl<T: Send> Send for JoinHandle<T> {}
// SAFETY: `&JoinHandle` only allows `is_finished`, an atomic load.
unsafe impl<T: Send> Sync for JoinHandle<T> {}

impl<T> JoinHandle<T> {
    /// # Safety
    /// `header` is a task of output type `T` whose handle reference this
    /// handle now owns.
    pub(crate) unsafe fn from_raw(header: NonNull<Header>) -> JoinHandle<T> {
        JoinHandle {
            header,
            _output: PhantomData,
        }
    }

    fn header(&self) -> &Header {
        // SAFETY: the handle's reference keeps the cell alive.
        unsafe { self.header.as_ref() }
    }

    /// Whether the task has finished (ran to completion, panicked, or was
    /// cancelled). Never blocks.
    pub fn is_finished(&self) -> bool {
        self.header().state.load().is_complete()
    }

    /// Waits for the task to finish and returns its output.
    ///
    /// Returns [`JoinError`] if the task panicked (the payload is in the
    /// error) or if it was cancelled: dropped without running because the
    /// runtime shut down first, or because it was spawned on a runtime that
    /// was already shutting down.
    ///
    /// Called from inside a task of the same runtime, a task that has not
    /// started yet is run right here, on the caller's stack (while half of
    /// that stack is free); otherwise the calling task parks and its worker
    /// runs other tasks until the awaited one finishes. Joining never
    /// deadlocks the runtime, even when every worker joins at once. Called
    /// from any other thread, that thread spins briefly, yields its CPU a few
    /// times, then sleeps until the task finishes.
    pub fn join(self) -> Result<T, JoinError> {
        let header = self.header;
        std::mem::forget(self); // the reference is released below instead
                                // SAFETY: we own the handle reference.
        let head = unsafe { header.as_ref() };
        // On a worker of the task's runtime, a task nobody has started yet is
        // run right here, so that waiting never needs unrelated work.
        // Spin only for a task running elsewhere, which is about to finish.
        let done = head.state.load().is_complete()
            || crate::worker::run_inline_if_local(header)
            || spin_until_complete(head);
        if !done {
            // SAFETY: only the handle's owner sets the waiter, once, before
            // JOIN_WAITING.
            unsafe { cell::set_waiter(header, Waiter::current()) };
            if head.state.set_join_waiting() {
                crate::worker::wait_until(|| head.state.load().is_complete());
            }
        }
        let result = if head.state.load().is_cancelled() {
            Err(JoinError(Repr::Cancelled))
        } else {
            // SAFETY: complete with JOIN_INTEREST still set: the output is ours.
            match unsafe { cell::take_output::<T>(header) } {
                Ok(value) => Ok(value),
                Err(payload) => Err(JoinError(Repr::Panic(payload))),
            }
        };
        // SAFETY: we own the handle reference and do not use the cell again.
        unsafe { cell::release(header) };
        result
    }
}

/// Spins briefly before a joiner goes to sleep: a task that is about to
/// finish saves both the joiner's futex sleep and the runner's futex wake.
///
/// A thread that is not a worker then also yields its CPU a few times
/// (parking_lot's `SpinWait` does the same). That matters when there are
/// more threads than CPUs: a worker waiting for the joiner's CPU runs at
/// once, and the joiner is not left asleep (a wake-up that costs tens of
/// microseconds in a VM) while the tasks it waits for finish one after
/// another. A worker does not yield: it has other tasks to run instead.
fn spin_until_complete(head: &Header) -> bool {
    const SPINS: u32 = 100;
    const YIELDS: u32 = 10;
    for _ in 0..SPINS {
        if head.state.load().is_complete() {
            return true;
        }
        std::hint::spin_loop();
    }
    if crate::worker::with_current(|cx| cx.is_some()) {
        return head.state.load().is_complete();
    }
    for _ in 0..YIELDS {
        if head.state.load().is_complete() {
            return true;
        }
        std::thread::yield_now();
    }
    head.state.load().is_complete()
}

impl<T> Drop for JoinHandle<T> {
    fn drop(&mut self) {
        match self.header().state.drop_join_handle() {
            AfterHandleDrop::Done => {}
            AfterHandleDrop::DropOutputThenRelease => {
                if !self.header().state.load().is_cancelled() {
                    // SAFETY: completed while we held interest: the output is ours.
                    unsafe { cell::drop_stored_output(self.header) };
                }
                // SAFETY: we own the handle reference.
                unsafe { cell::release(self.header) };
            }
        }
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle")
            .field("finished", &self.is_finished())
            .finish()
    }
}

/// Why [`JoinHandle::join`] returned no value: the task panicked, or it was
/// cancelled by a shutdown before it ran.
///
/// ```
/// let rt = fibra::Runtime::builder().workers(1).build()?;
/// # std::panic::set_hook(Box::new(|_| {}));
/// let error = rt.spawn(|| -> u32 { panic!("boom") }).join().unwrap_err();
/// assert!(error.is_panic());
/// assert_eq!(error.to_string(), "task panicked: boom");
/// let payload = error.into_panic(); // for std::panic::resume_unwind
/// assert_eq!(*payload.downcast::<&str>().unwrap(), "boom");
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct JoinError(Repr);

enum Repr {
    Cancelled,
    Panic(Box<dyn Any + Send + 'static>),
}

impl JoinError {
    /// True if the task was dropped without running because the runtime shut
    /// down.
    pub fn is_cancelled(&self) -> bool {
        matches!(self.0, Repr::Cancelled)
    }

    /// True if the task panicked.
    pub fn is_panic(&self) -> bool {
        matches!(self.0, Repr::Panic(_))
    }

    /// The panic payload, for `std::panic::resume_unwind`.
    ///
    /// # Panics
    /// If the error is a cancellation; use [`try_into_panic`](Self::try_into_panic)
    /// to check first.
    pub fn into_panic(self) -> Box<dyn Any + Send + 'static> {
        self.try_into_panic()
            .expect("JoinError::into_panic called on a cancellation")
    }

    /// The panic payload, or the error itself if it is a cancellation.
    pub fn try_into_panic(self) -> Result<Box<dyn Any + Send + 'static>, JoinError> {
        match self.0 {
            Repr::Panic(payload) => Ok(payload),
            Repr::Cancelled => Err(self),
        }
    }
}

fn panic_message(payload: &(dyn Any + Send)) -> Option<&str> {
    payload
        .downcast_ref::<&'static str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Repr::Cancelled => f.write_str("task was cancelled: the runtime shut down before it ran"),
            Repr::Panic(payload) => match panic_message(payload.as_ref()) {
                Some(message) => write!(f, "task panicked: {message}"),
                None => f.write_str("task panicked"),
            },
        }
    }
}

impl fmt::Debug for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Repr::Cancelled => f.write_str("JoinError::Cancelled"),
            Repr::Panic(payload) => write!(f, "JoinError::Panic({:?})", panic_message(payload.as_ref())),
        }
    }
}

impl std::error::Error for JoinError {}

impl From<JoinError> for std::io::Error {
    fn from(error: JoinError) -> std::io::Error {
        std::io::Error::other(error.to_string())
    }
}
