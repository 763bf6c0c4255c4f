//! The dispatcher: what a worker thread runs on its own stack when fibers
//! are enabled. It resumes one fiber at a time and acts on what that fiber
//! asks for when it suspends (see `fiber`'s module docs for the picture).
//!
//! Fibers of one worker, at any moment:
//! - exactly one *running* (or being resumed): it runs the worker loop, and
//!   perhaps a task inside it;
//! - *parked* ones: their task blocked; each is owned by its parker until an
//!   unpark delivers it to this worker's inbox (counted, with the yielded
//!   ones waiting in the inbox, in the worker's `parked_fibers` gauge, which
//!   `Runtime::metrics` reports and the loop reads before it exits);
//! - *spare* ones: suspended in the loop after switching to a woken fiber.
//!   The next fiber needed to carry on the loop is a spare if there is one,
//!   so a worker that blocks and wakes tasks in a steady rhythm creates no
//!   fibers. At most [`MAX_SPARE_FIBERS`] are kept; finished fibers' stacks
//!   are pooled.
//!
//! Stacks come from the worker's [`StackPool`] (see `stack`). A task about
//! to park first makes sure a fiber can carry on the loop
//! ([`FiberPool::reserve`]), so that running out of stacks (or of
//! `vm.max_map_count`) fails that one blocking call (a panic in its task,
//! naming the cause) instead of the dispatcher.
//!
//! A yield ([`Request::Yield`]) queues the yielder behind the woken fibers
//! and hands the worker straight to the next of them (the yielder itself if
//! it is alone), at most [`MAX_HAND_OFFS`] times before the loop gets a turn
//! to run queued tasks: two switches per yield instead of four.
//!
//! The running fiber is also recorded in `WorkerContext::running_fiber`
//! before each resume, so that `join` finds its waiter without a
//! thread-local lookup.
//!
//! The loop of a fiber returns when it is asked to retire (a spare beyond
//! the limit) or when the runtime is closed and no fiber of this worker is
//! parked any more; the dispatcher then retires the spares and returns.

use super::WorkerContext;
use crate::fiber::parker::{Commit, Delivery, FiberParker};
use crate::fiber::{FiberStack, OwnedFiber, Request};
use crate::park::Waiter;
use crate::stack::{StackPool, StackPoolConfig};
use std::io;

/// Spare fibers a worker keeps; more are finished and their stacks pooled.
const MAX_SPARE_FIBERS: usize = 16;
/// Yields handed straight to the next woken fiber before the loop runs.
const MAX_HAND_OFFS: u32 = 3;

/// A worker's fibers that are not running, parked or queued, and its stacks.
pub(crate) struct FiberPool {
    spares: Vec<OwnedFiber>,
    /// A stack set aside by `reserve` for the next new fiber.
    reserved: Option<FiberStack>,
    stacks: StackPool,
}

impl FiberPool {
    pub(crate) fn new(stack_size: usize) -> FiberPool {
        let config = StackPoolConfig {
            stack_size,
            ..StackPoolConfig::default()
        };
        FiberPool {
            spares: Vec::new(),
            reserved: None,
            stacks: StackPool::new(config).expect("Builder validated the stack size"),
        }
    }

    /// Makes sure a fiber (a spare, or a stack for a new one) is ready to
    /// carry on the loop when the running one parks.
    pub(crate) fn reserve(&mut self) -> io::Result<()> {
        if self.spares.is_empty() && self.reserved.is_none() {
            self.reserved = Some(self.stacks.get()?);
        }
        Ok(())
    }

    fn take_stack(&mut self) -> io::Result<FiberStack> {
        match self.reserved.take() {
            Some(stack) => Ok(stack),
            None => self.stacks.get(),
        }
    }
}

impl Drop for FiberPool {
    fn drop(&mut self) {
        debug_assert!(self.spares.is_empty(), "spares are retired before the pool goes");
        if let Some(stack) = self.reserved.take() {
            self.stacks.put(stack);
        }
    }
}

/// Runs the worker loop on fibers until the runtime shuts down.
pub(super) fn run_on_fibers(cx: &WorkerContext) {
    let mut running = cx.next_loop_fiber();
    loop {
        cx.running_fiber.set(Some(Waiter::fiber(running.parker())));
        running = match running.resume() {
            Some(Request::Park) => match park(cx, running) {
                Some(resume_now) => resume_now,
                None => cx.next_loop_fiber(),
            },
            Some(Request::Yield) => {
                queue_behind_inbox(cx, running);
                cx.hand_off_to_woken().unwrap_or_else(|| cx.next_loop_fiber())
            }
            Some(Request::SwitchTo(woken)) => {
                cx.hand_offs.set(0); // the loop had its turn
                cx.keep_spare(running);
                cx.me().metrics.parked_fibers.sub_owner(1);
                // SAFETY: taken out of our inbox by our loop: parked, ours.
                unsafe { OwnedFiber::from_parker(woken) }
            }
            None => {
                cx.recycle(running);
                break;
            }
        };
    }
    cx.retire_spares();
}

/// Commits the park of `fiber`. Returns it if a wake-up came first.
fn park(cx: &WorkerContext, fiber: OwnedFiber) -> Option<OwnedFiber> {
    match fiber.parker().commit_park() {
        Commit::ResumeNow => Some(fiber),
        Commit::Parked => {
            let metrics = &cx.me().metrics;
            metrics.parked_fibers.add_owner(1);
            metrics.fiber_parks.add_owner(1);
            // Owned by its parker now; `OwnedFiber::from_parker` takes it back.
            fiber.hand_to_parker();
            None
        }
    }
}

/// A yielding fiber waits in our own inbox, behind the fibers already woken,
/// and counts as parked until the loop switches back to it. The loop's next
/// look skips the inbox, so that a task from the queues runs first if any.
fn queue_behind_inbox(cx: &WorkerContext, fiber: OwnedFiber) {
    let parker: &'static FiberParker = fiber.parker();
    cx.me().metrics.parked_fibers.add_owner(1);
    cx.woken_runs.set(super::MAX_WOKEN_FIBER_RUNS);
    fiber.hand_to_parker();
    cx.me().inbox.push(parker);
}

impl WorkerContext {
    /// After a yield: the next woken fiber (possibly the yielder itself, if
    /// nothing else is woken), resumed without going through the loop. At
    /// most [`MAX_HAND_OFFS`] times in a row; then the loop gets a turn (and
    /// runs queued tasks before woken fibers), so yielding fibers cannot
    /// starve the queues.
    fn hand_off_to_woken(&self) -> Option<OwnedFiber> {
        if self.hand_offs.get() >= MAX_HAND_OFFS {
            self.hand_offs.set(0);
            return None;
        }
        let woken = self.take_woken_fiber()?;
        self.hand_offs.set(self.hand_offs.get() + 1);
        self.me().metrics.parked_fibers.sub_owner(1);
        // SAFETY: taken out of our inbox: parked (or yielded), ours.
        Some(unsafe { OwnedFiber::from_parker(woken) })
    }

    /// The fiber to carry on the loop: a spare, or a new one.
    fn next_loop_fiber(&self) -> OwnedFiber {
        let mut pool = self.fiber_pool.borrow_mut();
        if let Some(spare) = pool.spares.pop() {
            return spare;
        }
        // Fails only for the first fiber: later ones were reserved by the
        // task that parked (`FiberPool::reserve`).
        let stack = pool.take_stack().unwrap_or_else(|error| panic!("{error}"));
        drop(pool);
        let cx: *const WorkerContext = self;
        let delivery = Delivery {
            deliver: crate::runtime::shared::deliver_woken_fiber,
            home: std::sync::Arc::as_ptr(&self.shared).cast(),
            worker: self.index,
        };
        OwnedFiber::new(stack, delivery, move || {
            // SAFETY: the context outlives every fiber of its worker: the
            // dispatcher returns (and the context is dropped) only after all
            // of them finished.
            unsafe { (*cx).run_loop() }
        })
    }

    fn keep_spare(&self, fiber: OwnedFiber) {
        let mut pool = self.fiber_pool.borrow_mut();
        if pool.spares.len() < MAX_SPARE_FIBERS {
            pool.spares.push(fiber);
        } else {
            drop(pool);
            self.retire(fiber);
        }
    }

    /// Lets a spare's loop return, then pools its stack.
    fn retire(&self, mut fiber: OwnedFiber) {
        self.retiring.set(true);
        // The retiring fiber runs only to return; afterwards the record goes
        // back to what it was, so that it never names a recycled fiber.
        let previous = self.running_fiber.replace(Some(Waiter::fiber(fiber.parker())));
        let finished = fiber.resume().is_none();
        assert!(finished, "a retiring fiber's loop returns at once");
        self.running_fiber.set(previous);
        self.recycle(fiber);
    }

    fn retire_spares(&self) {
        loop {
            let spare = self.fiber_pool.borrow_mut().spares.pop();
            match spare {
                Some(fiber) => self.retire(fiber),
                None => return,
            }
        }
    }

    fn recycle(&self, fiber: OwnedFiber) {
        let stack = fiber.into_stack();
        self.fiber_pool.borrow_mut().stacks.put(stack);
    }
}
