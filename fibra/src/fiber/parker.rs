//! The park/unpark handshake of a fiber: how a blocked fiber is handed to
//! whoever wakes it, and from there back to its own worker.
//!
//! State word (like the thread [`Parker`](crate::park::Parker)'s):
//! - `EMPTY`: no wake-up token; the fiber runs (or is about to park).
//! - `NOTIFIED`: a token waits; the fiber's next park returns at once.
//! - `PARKED`: the fiber is suspended and owned by nobody but this word:
//!   the `unpark` that moves it `PARKED -> NOTIFIED` owns the fiber and
//!   delivers it to its worker's inbox.
//!
//! Parking takes three steps, on two stacks: the fiber first tries to
//! consume a token (`try_consume_token`); if there is none it suspends
//! itself, and its worker, now on another stack, commits the park
//! (`commit_park`, `EMPTY -> PARKED`). Between the two an `unpark` may set
//! `NOTIFIED`: then the commit fails and the worker resumes the fiber at once.
//! Either way the fiber, running again, resets the word to `EMPTY` with an
//! Acquire swap (`after_resume`) before it re-checks what it waits for.
//! `unpark` is always a swap to `NOTIFIED`. Every transition is one RMW, so
//! of a commit and an unpark exactly one sees the other: either the unpark
//! sees `PARKED` and delivers, or the commit sees `NOTIFIED` and resumes. No
//! wake-up is lost and none is delivered twice (checked by the loom models
//! below).
//!
//! Lifetime: fiber parkers are never freed (a parker returns to a free list
//! when its fiber ends), so a waker may call `unpark` on a parker it read
//! long ago; the worst case is a spurious wake-up of a later fiber, which
//! every caller of park tolerates by re-checking its condition.
//!
//! `delivery` and `fiber` are written by the owning worker while the state
//! is not `PARKED` (when the parker is bound to a fiber) and read by the
//! unparker that finds `PARKED`; the Release of `commit_park` and the
//! Acquire of that unparker's swap order the two.

use crate::loom::atomic::{AtomicPtr, AtomicU32, Ordering};
use std::cell::UnsafeCell;
use std::ptr;

const EMPTY: u32 = 0;
const NOTIFIED: u32 = 1;
const PARKED: u32 = 2;

/// Where a woken fiber goes: `deliver(home, worker, parker)` queues it in
/// worker `worker`'s inbox and makes sure that worker looks.
#[derive(Clone, Copy)]
pub(crate) struct Delivery {
    pub(crate) deliver: unsafe fn(home: *const (), worker: usize, parker: &'static FiberParker),
    pub(crate) home: *const (),
    pub(crate) worker: usize,
}

/// The wake-up side of one fiber (see the module docs).
pub(crate) struct FiberParker {
    state: AtomicU32,
    /// The link of the inbox this parker is queued in (see `inbox`).
    pub(super) next: AtomicPtr<FiberParker>,
    delivery: UnsafeCell<Option<Delivery>>,
    /// The suspended fiber, opaque here: the worker that owns it knows its type.
    fiber: UnsafeCell<*mut ()>,
}

// SAFETY: the UnsafeCell fields are written only by the owning worker while
// no other thread may read them (state not PARKED), and read by other threads
// only after the Acquire take of PARKED, which orders the writes before.
unsafe impl Sync for FiberParker {}
// SAFETY: as above; the raw pointers are plain addresses owned elsewhere.
unsafe impl Send for FiberParker {}

/// What [`FiberParker::commit_park`] found.
#[must_use]
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Commit {
    /// The fiber is parked: its waker will deliver it. Do not touch it.
    Parked,
    /// A token arrived while it was suspending: resume it now.
    ResumeNow,
}

impl FiberParker {
    pub(crate) fn new() -> FiberParker {
        FiberParker {
            state: AtomicU32::new(EMPTY),
            next: AtomicPtr::new(ptr::null_mut()),
            delivery: UnsafeCell::new(None),
            fiber: UnsafeCell::new(ptr::null_mut()),
        }
    }

    /// Binds this parker to `fiber`, owned by the worker `delivery` names.
    ///
    /// # Safety
    /// Called by that worker while the parker is not `PARKED` and before the
    /// fiber can park: from a free list, or for a new fiber.
    pub(crate) unsafe fn bind(&self, fiber: *mut (), delivery: Delivery) {
        // SAFETY: per the contract, no other thread reads these now.
        unsafe { *self.delivery.get() = Some(delivery) };
        // SAFETY: as above.
        unsafe { *self.fiber.get() = fiber };
    }

    /// The fiber this parker is bound to.
    ///
    /// # Safety
    /// Called by the owning worker, or by the unparker that took `PARKED`.
    pub(crate) unsafe fn fiber(&self) -> *mut () {
        // SAFETY: per the contract, nobody writes it now.
        unsafe { *self.fiber.get() }
    }

    /// Step 1 of parking, on the fiber: consumes a waiting token. Returns
    /// true if there was one (then the fiber does not suspend).
    pub(crate) fn try_consume_token(&self) -> bool {
        // Acquire: pairs with the Release half of the swap in `unpark`, so
        // what the waker wrote before waking is visible.
        self.state
            .compare_exchange(NOTIFIED, EMPTY, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
    }

    /// Step 2 of parking, by the worker once the fiber is suspended. On
    /// `ResumeNow` the token is left in place for [`Self::after_resume`].
    pub(crate) fn commit_park(&self) -> Commit {
        // Release: pairs with the Acquire half of the swap in `unpark` that
        // finds PARKED, publishing `delivery` and `fiber`.
        match self
            .state
            .compare_exchange(EMPTY, PARKED, Ordering::Release, Ordering::Relaxed)
        {
            Ok(_) => Commit::Parked,
            Err(found) => {
                debug_assert_eq!(found, NOTIFIED);
                Commit::ResumeNow
            }
        }
    }

    /// Step 3 of parking, on the fiber once it runs again (delivered, or
    /// resumed at once): consumes whatever token arrived meanwhile.
    pub(crate) fn after_resume(&self) {
        // Acquire: pairs with the Release half of every `unpark` swap before
        // this one, so the caller's re-check of its condition sees what all
        // those wakers wrote. Wakers after it find EMPTY and leave a token.
        self.state.swap(EMPTY, Ordering::Acquire);
    }

    /// Wakes the fiber: its current or next park returns. May be called from
    /// any thread, any number of times.
    ///
    /// Always one RMW, even when a token is already there: a waker that
    /// merely *read* `NOTIFIED` and returned would not synchronise with the
    /// fiber's consumption of that older token, and the fiber could re-check
    /// its condition without seeing this waker's write (a lost wake-up that
    /// was observed on x86 before this was a swap).
    pub(crate) fn unpark(&'static self) {
        // AcqRel: Release pairs with the Acquire of `try_consume_token` and
        // `after_resume`; Acquire pairs with `commit_park`'s Release when we
        // find PARKED (we then read `delivery` and `fiber`).
        if self.state.swap(NOTIFIED, Ordering::AcqRel) == PARKED {
            // The one waker that found PARKED owns the fiber until its
            // worker resumes it; the token it left is consumed by `after_resume`.
            self.deliver();
        }
    }

    fn deliver(&'static self) {
        // SAFETY: we took PARKED: the owner wrote `delivery` before it.
        let delivery = unsafe { *self.delivery.get() };
        let delivery = delivery.expect("a parked fiber parker is bound");
        // SAFETY: the function and its home come from the owning worker,
        // which stays alive while one of its fibers is parked.
        unsafe { (delivery.deliver)(delivery.home, delivery.worker, self) };
    }
}

#[cfg(not(loom))]
mod free_list {
    use super::FiberParker;
    use std::sync::Mutex;

    /// Parkers of fibers that ended, ready for reuse (never freed: see the
    /// module docs). A fiber is created only when a task blocks and its
    /// worker has no spare fiber, and a parker is taken from here only then:
    /// rare in steady state, but once per blocked task while blocked tasks
    /// pile up (skynet with channels, a million blocked tasks), when every
    /// worker takes this lock. A per-worker cache would avoid that; not
    /// measured as a cost yet.
    static FREE: Mutex<Vec<&'static FiberParker>> = Mutex::new(Vec::new());

    /// New parkers are made this many at a time, in one allocation: a
    /// million blocked fibers then cost 48 bytes of parker each, not 64.
    const BATCH: usize = 64;

    impl FiberParker {
        /// A parker bound to no fiber.
        pub(crate) fn take_unused() -> &'static FiberParker {
            if let Some(parker) = crate::loom::lock(&FREE).pop() {
                return parker;
            }
            // Made outside the lock: other workers only wait for the push.
            let batch: &'static [FiberParker; BATCH] =
                Box::leak(Box::new(std::array::from_fn(|_| FiberParker::new())));
            crate::loom::lock(&FREE).extend(&batch[1..]);
            &batch[0]
        }

        /// Returns the parker of a fiber that ended.
        pub(crate) fn give_back(parker: &'static FiberParker) {
            // A leftover token from a stale waker is harmless; drop it anyway.
            let _ = parker.try_consume_token();
            crate::loom::lock(&FREE).push(parker);
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    static DELIVERED: AtomicUsize = AtomicUsize::new(0);

    unsafe fn count_delivery(_: *const (), worker: usize, _: &'static FiberParker) {
        assert_eq!(worker, 7);
        DELIVERED.fetch_add(1, Ordering::Relaxed);
    }

    #[test]
    fn token_first_then_park_resumes_at_once() {
        let parker = FiberParker::take_unused();
        parker.unpark();
        parker.unpark(); // a second token is not stored
        assert!(parker.try_consume_token());
        assert!(!parker.try_consume_token());
        parker.unpark();
        assert_eq!(parker.commit_park(), Commit::ResumeNow);
        parker.after_resume();
        assert!(!parker.try_consume_token(), "after_resume consumed the token");
        FiberParker::give_back(parker);
    }

    #[test]
    fn unpark_of_a_parked_fiber_delivers_once() {
        let parker = FiberParker::take_unused();
        let delivery = Delivery {
            deliver: count_delivery,
            home: ptr::null(),
            worker: 7,
        };
        // SAFETY: fresh parker, not parked.
        unsafe { parker.bind(0x10 as *mut (), delivery) };
        let before = DELIVERED.load(Ordering::Relaxed);
        assert_eq!(parker.commit_park(), Commit::Parked);
        parker.unpark();
        parker.unpark(); // the fiber is delivered already: only a token
        assert_eq!(DELIVERED.load(Ordering::Relaxed), before + 1);
        // SAFETY: we are the owner.
        assert_eq!(unsafe { parker.fiber() }, 0x10 as *mut ());
        parker.after_resume();
        assert!(!parker.try_consume_token());
        parker.unpark(); // a token for the next park
        assert!(parker.try_consume_token());
        FiberParker::give_back(parker);
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use crate::fiber::inbox::Inbox;
    use crate::loom::atomic::AtomicUsize;
    use crate::loom::{thread, Arc};
    use crate::park::Parker;

    /// A worker: an inbox and the thread parker it sleeps on.
    struct Home {
        inbox: Inbox,
        parker: Parker,
        delivered: AtomicUsize,
    }

    unsafe fn deliver(home: *const (), _worker: usize, parker: &'static FiberParker) {
        // SAFETY: the model keeps the home alive until every thread joined.
        let home = unsafe { &*home.cast::<Home>() };
        home.delivered.fetch_add(1, Ordering::Relaxed);
        home.inbox.push(parker);
        home.parker.unpark();
    }

    /// A fiber parks until a flag is set; `wakers` threads set it and unpark.
    /// The fiber must resume exactly once per park, see the flag, and never
    /// be delivered twice. With `stale_token`, a token from an earlier,
    /// unrelated wake is waiting when the fiber starts: the waker's own
    /// wake-up must not be lost behind it.
    fn park_until_flag(wakers: usize, stale_token: bool) {
        let explored = crate::loom::model_counting(move || {
            let home = Arc::new(Home {
                inbox: Inbox::new(),
                parker: Parker::new(),
                delivered: AtomicUsize::new(0),
            });
            let parker: &'static FiberParker = Box::leak(Box::new(FiberParker::new()));
            let delivery = Delivery {
                deliver,
                home: Arc::as_ptr(&home).cast(),
                worker: 0,
            };
            // SAFETY: fresh parker.
            unsafe { parker.bind(ptr::null_mut(), delivery) };
            if stale_token {
                parker.unpark();
            }
            let flag = Arc::new(AtomicUsize::new(0));
            let threads: Vec<_> = (0..wakers)
                .map(|_| {
                    let flag = flag.clone();
                    thread::spawn(move || {
                        // A plain store: only the parker's orderings publish it.
                        flag.store(1, Ordering::Relaxed);
                        parker.unpark();
                    })
                })
                .collect();
            // The fiber's loop: `while flag == 0 { park }`.
            let mut resumes = 0;
            while flag.load(Ordering::Relaxed) == 0 {
                if parker.try_consume_token() {
                    continue;
                }
                if parker.commit_park() == Commit::ResumeNow {
                    parker.after_resume();
                    continue;
                }
                // Parked: the worker sleeps until the fiber shows up in its inbox.
                loop {
                    let mut woken = home.inbox.take_all();
                    if let Some(p) = woken.pop_front() {
                        assert!(ptr::eq(p, parker));
                        assert!(woken.pop_front().is_none(), "delivered twice");
                        break;
                    }
                    home.parker.park();
                }
                parker.after_resume();
                resumes += 1;
            }
            for t in threads {
                t.join().unwrap();
            }
            assert!(resumes <= 1);
            assert_eq!(home.delivered.load(Ordering::Relaxed), resumes);
            let _ = stale_token;
            assert!(home.inbox.take_all().pop_front().is_none());
        });
        assert!(explored > 1, "loom explored {explored} interleavings");
    }

    #[test]
    fn park_then_one_waker() {
        park_until_flag(1, false);
    }

    #[test]
    fn park_then_two_wakers() {
        park_until_flag(2, false);
    }

    #[test]
    fn a_stale_token_does_not_hide_a_wake_up() {
        park_until_flag(1, true);
    }
}
