//! Fibers: stacks that a blocked task keeps while its worker moves on.
//!
//! A worker runs its loop *on a fiber* (a corosensei coroutine on a pooled
//! stack), and tasks run as plain calls inside that loop. A task that never
//! blocks costs nothing here: no switch, no stack of its own. A task that
//! blocks suspends the whole fiber (its own frames and the loop's below
//! them) with [`Request::Park`]; the worker, back on its thread's own stack
//! (the *dispatcher*, `worker::dispatch`), commits the park and continues the
//! loop on another fiber. When the task is woken, its fiber is queued in its
//! worker's [`inbox::Inbox`], and the loop there switches to it
//! ([`Request::SwitchTo`]); the task returns from its blocking call and,
//! when it finishes, that fiber simply carries on running the loop. A task
//! that yields ([`Request::Yield`]) is queued behind the woken fibers.
//!
//! Invariants:
//! - A started fiber only ever runs on the thread that created it (Rust and
//!   LLVM cache thread-local addresses across calls, so moving a fiber would
//!   be undefined behaviour). Thieves steal only tasks that have not started;
//!   a woken fiber is delivered to its own worker.
//! - [`CURRENT`] points to the running fiber's [`Info`] exactly while the
//!   dispatcher has resumed it; it is null on the dispatcher's own stack and
//!   on threads that are not workers.
//! - A fiber is dropped only after it finished (its loop returned), so that
//!   corosensei never has to unwind a suspended stack.
//!
//! Park/unpark of a fiber: [`parker`]; woken fibers per worker: [`inbox`].

pub(crate) mod inbox;
pub(crate) mod parker;

#[cfg(not(loom))]
pub(crate) use running::*;

#[cfg(not(loom))]
mod running {
    use super::parker::{Delivery, FiberParker};
    use corosensei::{Coroutine, CoroutineResult, Yielder};
    use std::cell::Cell;
    use std::mem::{align_of, size_of};
    use std::ptr::{self, NonNull};

    /// The stack a fiber runs on (pooled per worker, see `stack`).
    pub(crate) use crate::stack::FiberStack;

    /// What a suspending fiber asks of its worker's dispatcher.
    pub(crate) enum Request {
        /// Its task blocks: commit the park, run the loop on another fiber.
        Park,
        /// Its task yields: queue it behind the inbox, run another fiber.
        Yield,
        /// Its loop found this woken fiber in the inbox: switch to it (the
        /// requester becomes a spare, to be resumed when another task blocks).
        SwitchTo(&'static FiberParker),
    }

    /// The parts of a fiber that code running on it reaches through [`CURRENT`].
    pub(crate) struct Info {
        yielder: Cell<*const Yielder<(), Request>>,
        pub(crate) parker: &'static FiberParker,
        /// Lowest usable address of the stack (above its guard page).
        stack_limit: usize,
        stack_size: usize,
    }

    thread_local! {
        /// The fiber running on this thread, or null (see the module docs).
        static CURRENT: Cell<*const Info> = const { Cell::new(ptr::null()) };
    }

    /// One fiber. It lives at the top of its own stack (in the page that the
    /// fiber's first frames touch anyway), so a blocked task costs no heap
    /// memory for its fiber; [`OwnedFiber`] owns it.
    pub(crate) struct Fiber {
        info: Info,
        coroutine: Coroutine<(), Request, (), FiberStack>,
    }

    /// Bytes at the top of each fiber stack that hold its [`Fiber`] (a whole
    /// number of 64-byte lines, which keeps the stack 16-aligned below it).
    const FIBER_RECORD: usize = size_of::<Fiber>().next_multiple_of(64);
    const _: () = assert!(align_of::<Fiber>() <= 64);

    /// The owner of a [`Fiber`]: the dispatcher of the worker that created
    /// it, or (while it is parked) its parker. Not dropped: a fiber ends
    /// with [`OwnedFiber::into_stack`] once it has finished; dropping an
    /// `OwnedFiber` instead leaks the fiber and its stack.
    ///
    /// Code running on the fiber reads its [`Info`] through [`CURRENT`]
    /// while the dispatcher resumes it, so the owner never makes a `&mut`
    /// to the whole `Fiber`: only to its coroutine, a disjoint field.
    pub(crate) struct OwnedFiber(NonNull<Fiber>);

    impl OwnedFiber {
        /// A fiber that will run `body` on `stack`, with a fresh parker
        /// delivered through `delivery` when woken. Its record takes the top
        /// [`FIBER_RECORD`] bytes of the stack.
        pub(crate) fn new(
            stack: FiberStack,
            delivery: Delivery,
            body: impl FnOnce() + 'static,
        ) -> OwnedFiber {
            use corosensei::stack::Stack;
            let record = (stack.top() - FIBER_RECORD) as *mut Fiber;
            let stack = stack.lower_top(FIBER_RECORD);
            let stack_size = stack.size();
            let stack_limit = stack.base().get() - stack_size;
            // SAFETY: in bounds of the record (nothing is read through it).
            let info_ptr: *const Info = unsafe { ptr::addr_of!((*record).info) };
            let coroutine = Coroutine::with_stack(stack, move |yielder: &Yielder<(), Request>, ()| {
                // SAFETY: the Info lives in the fiber's record, which lives as
                // long as the coroutine (it is dropped only after finishing).
                unsafe { (*info_ptr).yielder.set(yielder) };
                body();
            });
            let info = Info {
                yielder: Cell::new(ptr::null()),
                parker: FiberParker::take_unused(),
                stack_limit,
                stack_size,
            };
            // SAFETY: the record is the stack's top `FIBER_RECORD` bytes,
            // mapped, writable, aligned (the top is page aligned and the size
            // a multiple of 64), and no longer part of the coroutine's stack.
            unsafe { record.write(Fiber { info, coroutine }) };
            // SAFETY: a fresh parker: not parked, nobody else has it.
            unsafe { (*record).info.parker.bind(record.cast(), delivery) };
            // SAFETY: `record` is not null (it is in a mapped stack).
            OwnedFiber(unsafe { NonNull::new_unchecked(record) })
        }

        /// The fiber a parker is bound to.
        ///
        /// # Safety
        /// `parker` was bound by [`OwnedFiber::new`] to a fiber that is suspended
        /// and not owned by anyone else (taken out of an inbox, or parked and
        /// just resumed by its own dispatcher).
        pub(crate) unsafe fn from_parker(parker: &'static FiberParker) -> OwnedFiber {
            // SAFETY: per the contract, `fiber()` is the record of a fiber
            // whose ownership passes to the caller.
            OwnedFiber(unsafe { NonNull::new_unchecked(parker.fiber().cast::<Fiber>()) })
        }

        fn info(&self) -> &Info {
            // SAFETY: the record is live while we own it; shared access to
            // its Info is what the fiber's own code does too.
            unsafe { &*ptr::addr_of!((*self.0.as_ptr()).info) }
        }

        pub(crate) fn parker(&self) -> &'static FiberParker {
            self.info().parker
        }

        /// Runs the fiber until it suspends (`Some(request)`) or finishes
        /// (`None`). Called only by its dispatcher, on the thread's own stack.
        pub(crate) fn resume(&mut self) -> Option<Request> {
            let info: *const Info = self.info();
            let previous = CURRENT.with(|current| current.replace(info));
            debug_assert!(previous.is_null(), "fibers are resumed only by the dispatcher");
            // SAFETY: we own the record; the `&mut` covers only the coroutine
            // field, which nothing else touches (see the type's docs).
            let coroutine = unsafe { &mut *ptr::addr_of_mut!((*self.0.as_ptr()).coroutine) };
            let result = coroutine.resume(());
            CURRENT.with(|current| current.set(ptr::null()));
            match result {
                CoroutineResult::Yield(request) => Some(request),
                CoroutineResult::Return(()) => None,
            }
        }

        /// Gives up ownership: the fiber's parker owns it until
        /// [`OwnedFiber::from_parker`] takes it back. (An `OwnedFiber` has no
        /// `Drop`: consuming it leaves the fiber as it is.)
        pub(crate) fn hand_to_parker(self) {}

        /// The stack of a finished fiber, whole again, for reuse; its parker
        /// goes back to the free list.
        pub(crate) fn into_stack(self) -> FiberStack {
            // SAFETY: we own the record; reading it moves the fiber out, and
            // nothing reads the record's memory again (it is stack now).
            let Fiber { info, coroutine } = unsafe { self.0.as_ptr().read() };
            FiberParker::give_back(info.parker);
            coroutine.into_stack().raise_top(FIBER_RECORD)
        }
    }

    /// The running fiber's info, if this code runs on a fiber.
    #[inline]
    pub(crate) fn current() -> Option<&'static Info> {
        let info = CURRENT.with(Cell::get);
        // SAFETY: non-null only while the fiber runs (see the module docs);
        // the reference is used only on this fiber, which keeps its Info alive.
        unsafe { info.as_ref() }
    }

    /// Suspends the running fiber with `request`; returns when its
    /// dispatcher resumes it.
    ///
    /// # Panics
    /// If called off a fiber.
    pub(crate) fn suspend(request: Request) {
        let info = current().expect("suspend is called only on a fiber");
        let yielder = info.yielder.get();
        // SAFETY: set when the coroutine started; valid while it exists, and
        // we are running on it.
        unsafe { (*yielder).suspend(request) };
    }

    /// Bytes left on the running fiber's stack below the caller's frame, or
    /// `None` off a fiber.
    pub(crate) fn stack_headroom() -> Option<usize> {
        let info = current()?;
        let marker = 0u8;
        let here = &marker as *const u8 as usize;
        Some(here.saturating_sub(info.stack_limit))
    }

    impl Info {
        pub(crate) fn stack_size(&self) -> usize {
            self.stack_size
        }
    }
}
