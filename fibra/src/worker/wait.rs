//! How a task waits: for a task or scope (`wait_until`, claiming unstarted
//! tasks with `run_inline_if_local`), and for the stolen half of a `join`
//! (`help_until`, leapfrogging). None of them runs unrelated work on the
//! waiting stack; see the module docs of `worker`.
//!
//! On a fiber, waiting parks the fiber and the worker runs other tasks
//! meanwhile. Off a fiber (a thread that is not a worker, or a worker under
//! Miri, which cannot switch stacks) the thread sleeps.

use super::{resume, with_current, JobHeader, StackJob, Work, WorkerContext, HELP_MAX_SLEEP};
use crate::fiber;
use crate::park::{park_current, Waiter};
use crate::queue::join_deque::Steal;
use crate::task::{cell, Header};
use std::ptr::NonNull;
use std::sync::Arc;
use std::time::Duration;

/// Waits until `done()` is true. On a fiber the task parks (the completer
/// unparks its `Waiter`) and the worker runs other tasks; off a fiber the
/// thread sleeps on its parker, and a worker without fibers first makes sure
/// that the tasks queued behind it can be taken by other workers.
pub(crate) fn wait_until(done: impl Fn() -> bool) {
    if fiber::current().is_some() {
        while !done() {
            park_current();
        }
        return;
    }
    with_current(|cx| match cx {
        Some(cx) => cx.wait_blocking(&done),
        None => {
            let parker = crate::park::Parker::for_current_thread();
            while !done() {
                parker.park();
            }
        }
    })
}

/// On a worker of the task's runtime, claims a task that nobody started and
/// runs it here (cancels it, if the runtime is shutting down). Returns
/// whether it did. The caller holds a reference to the task.
///
/// On a fiber, only while at least half of its stack is free: a chain of
/// tasks each joining the next would otherwise nest without bound on one
/// small stack; past that point the joiner parks instead.
pub(crate) fn run_inline_if_local(task: NonNull<Header>) -> bool {
    if let Some(info) = fiber::current() {
        if fiber::stack_headroom().unwrap_or(0) < info.stack_size() / 2 {
            return false;
        }
    }
    with_current(|cx| {
        let Some(cx) = cx else { return false };
        // SAFETY: the caller holds a reference.
        if unsafe { cell::runtime_of(task) } != Arc::as_ptr(&cx.shared) as usize {
            return false;
        }
        let closed = cx.shared.is_closed();
        if !closed && cx.take_from_next_slot(task) {
            let count = || cx.me().metrics.completed.add_owner(1);
            // SAFETY: we took the queue entry, so we hold its scheduler
            // reference, which this consumes (the caller's stays).
            return unsafe { cell::run_task(task, count) };
        }
        // SAFETY: as above.
        let claimed = unsafe { cell::try_run_inline(task, closed) };
        if claimed && closed {
            cx.shared.count_cancelled(1);
        } else if claimed {
            cx.me().metrics.completed.add_owner(1);
        }
        claimed
    })
}

/// Called on a fiber about to park: makes sure its worker has a fiber to
/// carry on its loop meanwhile.
///
/// # Panics
/// If no fiber stack can be allocated (the message names the cause); the
/// panic fails the blocking call and is caught with the task's panic.
pub(crate) fn reserve_loop_fiber() {
    #[cfg(not(miri))]
    with_current(|cx| {
        let cx = cx.expect("fibers run only on workers");
        let reserved = cx.fiber_pool.borrow_mut().reserve();
        if let Err(error) = reserved {
            panic!("{error}");
        }
    })
}

impl WorkerContext {
    /// Takes `task` out of our next slots if it is the newest there (the
    /// common case of a task joined right after it was spawned), so that it
    /// runs once and nobody pops a stale entry later. True if we now hold its
    /// queue entry.
    fn take_from_next_slot(&self, task: NonNull<Header>) -> bool {
        self.me().next_slots.take_newest_if(task.as_ptr())
    }

    /// Sleeps until `done()` (a task or scope this worker waits for is
    /// finished). Our own queued tasks must not wait for us meanwhile: wake
    /// another worker to take them if need be.
    fn wait_blocking(&self, done: &dyn Fn() -> bool) {
        self.offer_queued_work();
        while !done() {
            self.me().parker.park();
        }
    }

    /// Wakes a sleeping worker if this one has queued tasks, because this
    /// one is about to wait (see `Shared::notify_parked_from_worker`, which
    /// assumed this worker would run them).
    fn offer_queued_work(&self) {
        let me = self.me();
        if !me.run_queue.is_empty() || !me.next_slots.is_empty() {
            self.shared.notify_parked();
        }
    }

    /// `fibra::join`'s wait for its stolen second half `job`: meanwhile run
    /// `job`'s own sub-jobs, stolen back from its thief ("leapfrogging",
    /// D. B. Wagner and B. G. Calder, "Leapfrogging: a portable technique for
    /// implementing efficient futures", PPoPP 1993). Only those: an unrelated
    /// job run on this stack could wait for the very task suspended below it,
    /// and neither could ever continue. Sub-jobs are exactly the jobs at or
    /// above the thief's deque bottom at the moment it started `job` (with
    /// fibers, other fibers of the thief's worker may have offered jobs
    /// there too; running one here is harmless, since a waiting fiber parks
    /// rather than blocking its worker). With nothing to help with, a fiber
    /// parks until the thief sets the latch; a thread sleeps in short steps,
    /// looking again for sub-jobs in between.
    fn help_until(&self, job: &JobHeader, done: &dyn Fn() -> bool) {
        let mut offered = false;
        let mut sleep = Duration::from_micros(20);
        let on_fiber = fiber::current().is_some();
        while !done() {
            // On a fiber, our own deque may hold other fibers' jobs: leave
            // them to the loop (see `take_back_or_wait`).
            let own = if on_fiber { None } else { self.take_back_join_job() };
            match own.or_else(|| self.steal_sub_job(job)) {
                Some(work) => {
                    self.execute(work);
                    sleep = Duration::from_micros(20);
                }
                // Nothing to help with: park until the thief sets the latch;
                // the worker runs other work meanwhile.
                None if on_fiber => park_current(),
                None => {
                    if !offered {
                        self.offer_queued_work();
                        offered = true;
                    }
                    self.me().parker.park_timeout(sleep);
                    sleep = (sleep * 2).min(HELP_MAX_SLEEP);
                }
            }
        }
    }

    /// A job an enclosing `join` on this worker offered and nobody stole.
    fn take_back_join_job(&self) -> Option<Work> {
        self.me().join_jobs.take().map(|job| Work::Job(job))
    }

    /// The oldest sub-job of the stolen `job`, from its thief's deque.
    fn steal_sub_job(&self, job: &JobHeader) -> Option<Work> {
        let (thief, base) = job.thief()?;
        loop {
            match self.shared.workers[thief].join_jobs.steal_at_or_above(base) {
                Steal::Success(sub_job) => {
                    self.me().metrics.stolen_tasks.add_owner(1);
                    self.me().metrics.steal_operations.add_owner(1);
                    self.record_theft(sub_job);
                    return Some(Work::Job(sub_job));
                }
                Steal::Retry => continue,
                Steal::Empty => return None,
            }
        }
    }

    /// Notes in a job this worker just stole that it runs it, and where its
    /// sub-jobs will go (see `help_until`).
    pub(super) fn record_theft(&self, job: *const JobHeader) {
        // SAFETY: just stolen, not run yet.
        unsafe { JobHeader::record_thief(job, self.index, self.me().join_jobs.bottom_index()) };
    }

    /// `fibra::join` on this worker: offer `b`, run `a`, then run `b` here
    /// unless a thief took it, in which case help until it is done.
    pub(crate) fn join<A, B, RA, RB>(&self, a: A, b: B) -> (RA, RB)
    where
        A: FnOnce() -> RA + Send,
        B: FnOnce() -> RB + Send,
        RA: Send,
        RB: Send,
    {
        let waiter = self
            .running_fiber
            .get()
            .unwrap_or_else(|| Waiter::thread(self.me().parker));
        let job_b = StackJob::new(b, waiter);
        let job_ptr = job_b.as_job_ptr();
        let offered = self.me().join_jobs.push(job_ptr).is_ok();
        if offered {
            self.shared.notify_parked_from_worker();
        }
        let result_a = std::panic::catch_unwind(std::panic::AssertUnwindSafe(a));
        let result_b = if offered {
            self.take_back_or_wait(&job_b, job_ptr)
        } else {
            job_b.run_inline()
        };
        match (result_a, result_b) {
            (Ok(ra), Ok(rb)) => (ra, rb),
            (Err(payload), _) | (_, Err(payload)) => resume(payload),
        }
    }

    fn take_back_or_wait<F, R>(
        &self,
        job_b: &StackJob<F, R>,
        job_ptr: *mut JobHeader,
    ) -> std::thread::Result<R>
    where
        F: FnOnce() -> R + Send,
        R: Send,
    {
        loop {
            match self.me().join_jobs.take() {
                Some(job) if job == job_ptr => return job_b.run_inline(),
                // On a fiber: a job offered by another fiber of this worker
                // (which parked after offering it). Not ours to run nested
                // here: put it back, and let the loop run both (it takes our
                // own jobs, oldest first, once this fiber parks).
                Some(other) if fiber::current().is_some() => {
                    if let Err(other) = self.me().join_jobs.push(other) {
                        // Cannot happen (`take` just freed a slot); if it
                        // did, running the job here is still correct.
                        // SAFETY: taken from our deque exactly once.
                        unsafe { JobHeader::execute(other) };
                        continue;
                    }
                    wait_until(|| job_b.latch.is_set());
                    return job_b.take_result();
                }
                // Without fibers: a job above ours (not expected, as nested
                // joins take back their own); run it and keep looking.
                // SAFETY: taken from our deque exactly once.
                Some(other) => unsafe { JobHeader::execute(other) },
                None => {
                    self.help_until(job_b.header(), &|| job_b.latch.is_set());
                    return job_b.take_result();
                }
            }
        }
    }
}
