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
    use std::ptr;

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

    /// One fiber, owned by the dispatcher of the worker that created it.
    pub(crate) struct Fiber {
        info: Box<Info>,
        coroutine: Coroutine<(), Request, (), FiberStack>,
    }

    impl Fiber {
        /// A fiber that will run `body` on `stack`, with a fresh parker
        /// delivered through `delivery` when woken.
        pub(crate) fn new(
            stack: FiberStack,
            delivery: Delivery,
            body: impl FnOnce() + 'static,
        ) -> Box<Fiber> {
            use corosensei::stack::Stack;
            let stack_size = stack.size();
            let stack_limit = stack.base().get() - stack_size;
            let info = Box::new(Info {
                yielder: Cell::new(ptr::null()),
                parker: FiberParker::take_unused(),
                stack_limit,
                stack_size,
            });
            let info_ptr: *const Info = &*info;
            let coroutine = Coroutine::with_stack(stack, move |yielder: &Yielder<(), Request>, ()| {
                // SAFETY: the Info box is owned by the Fiber that owns this
                // coroutine, so it outlives every run of it.
                unsafe { (*info_ptr).yielder.set(yielder) };
                body();
            });
            let mut fiber = Box::new(Fiber { info, coroutine });
            let fiber_ptr: *mut Fiber = &mut *fiber;
            // SAFETY: a fresh parker: not parked, nobody else has it.
            unsafe { fiber.info.parker.bind(fiber_ptr.cast(), delivery) };
            fiber
        }

        pub(crate) fn parker(&self) -> &'static FiberParker {
            self.info.parker
        }

        /// Runs the fiber until it suspends (`Some(request)`) or finishes
        /// (`None`). Called only by its dispatcher, on the thread's own stack.
        pub(crate) fn resume(&mut self) -> Option<Request> {
            let previous = CURRENT.with(|current| current.replace(&*self.info));
            debug_assert!(previous.is_null(), "fibers are resumed only by the dispatcher");
            let result = self.coroutine.resume(());
            CURRENT.with(|current| current.set(ptr::null()));
            match result {
                CoroutineResult::Yield(request) => Some(request),
                CoroutineResult::Return(()) => None,
            }
        }

        /// The stack of a finished fiber, for reuse; its parker goes back to
        /// the free list.
        // Fibers live in boxes from birth: their address is bound into their parker.
        #[allow(clippy::boxed_local)]
        pub(crate) fn into_stack(self: Box<Fiber>) -> FiberStack {
            let Fiber { info, coroutine } = *self;
            FiberParker::give_back(info.parker);
            coroutine.into_stack()
        }

        /// The fiber a parker is bound to.
        ///
        /// # Safety
        /// `parker` was bound by [`Fiber::new`] to a fiber that is suspended
        /// and not owned by anyone else (taken out of an inbox, or parked and
        /// just resumed by its own dispatcher).
        pub(crate) unsafe fn from_parker(parker: &'static FiberParker) -> Box<Fiber> {
            // SAFETY: per the contract, `fiber()` is a leaked Box<Fiber> whose
            // ownership passes to the caller.
            unsafe { Box::from_raw(parker.fiber().cast::<Fiber>()) }
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
