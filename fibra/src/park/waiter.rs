//! [`Waiter`]: "whoever is running this code", as something to wake later.
//!
//! Every blocking primitive in fibra waits the same way: it records
//! [`Waiter::current`] where its waker will find it, re-checks its condition,
//! and calls [`park_current`] in a loop until the condition holds; the waker
//! makes the condition true, then calls [`Waiter::unpark`]. On a fiber this
//! suspends only the task (its worker moves on); on any other thread it puts
//! the thread to sleep. Both kinds of parker are never freed, so a `Waiter`
//! may be unparked at any time, even long after its owner stopped waiting
//! (a spurious wake-up at worst, which the loop absorbs).

use super::Parker;
use crate::fiber::{self, parker::FiberParker};
use std::fmt;
use std::num::NonZeroUsize;

/// A thread parker or a fiber parker, packed in one word: the low bit tags
/// a fiber (both types are at least 4-aligned).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Waiter(NonZeroUsize);

const FIBER_TAG: usize = 1;
const _: () = assert!(std::mem::align_of::<Parker>() > FIBER_TAG);
const _: () = assert!(std::mem::align_of::<FiberParker>() > FIBER_TAG);

impl Waiter {
    /// The running fiber if there is one, else the calling thread.
    #[inline]
    pub(crate) fn current() -> Waiter {
        match fiber::current() {
            Some(info) => Waiter::fiber(info.parker),
            None => Waiter::thread(Parker::for_current_thread()),
        }
    }

    pub(crate) fn thread(parker: &'static Parker) -> Waiter {
        let address = parker as *const Parker as usize;
        Waiter(NonZeroUsize::new(address).expect("references are non-null"))
    }

    pub(crate) fn fiber(parker: &'static FiberParker) -> Waiter {
        let address = parker as *const FiberParker as usize | FIBER_TAG;
        Waiter(NonZeroUsize::new(address).expect("tagged"))
    }

    /// Makes the waiter's current or next park return.
    pub(crate) fn unpark(self) {
        let address = self.0.get();
        if address & FIBER_TAG != 0 {
            // SAFETY: made from a `&'static FiberParker` by `fiber`.
            unsafe { &*((address & !FIBER_TAG) as *const FiberParker) }.unpark();
        } else {
            // SAFETY: made from a `&'static Parker` by `thread`.
            unsafe { &*(address as *const Parker) }.unpark();
        }
    }
}

impl fmt::Debug for Waiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = if self.0.get() & FIBER_TAG != 0 {
            "fiber"
        } else {
            "thread"
        };
        write!(f, "Waiter({kind} {:#x})", self.0.get() & !FIBER_TAG)
    }
}

/// Parks the running fiber (its worker runs other tasks meanwhile) or, off a
/// fiber, the calling thread, until the [`Waiter::current`] taken here is
/// unparked. May return spuriously: call it in a loop that re-checks.
pub(crate) fn park_current() {
    match fiber::current() {
        Some(info) => {
            if !info.parker.try_consume_token() {
                crate::worker::reserve_loop_fiber();
                fiber::suspend(fiber::Request::Park);
                info.parker.after_resume();
            }
        }
        None => Parker::for_current_thread().park(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thread_waiter_round_trip() {
        let waiter = Waiter::current();
        assert_eq!(waiter, Waiter::thread(Parker::for_current_thread()));
        waiter.unpark();
        park_current(); // consumes the token at once
        assert!(format!("{waiter:?}").starts_with("Waiter(thread"));
    }
}
