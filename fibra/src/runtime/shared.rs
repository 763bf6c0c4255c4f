//! State shared by a runtime's handles and workers.
//!
//! Ownership of queued tasks: each `*mut Header` in a run queue, next slots or
//! the global queue owns its task's scheduler reference. Whoever removes it
//! runs it or, once the runtime is closed, cancels it, unless a joiner claimed
//! it first (then it only releases the reference); so at shutdown every queued
//! task is run or dropped exactly once (see `Shared::close` and
//! `WorkerContext::drain_on_shutdown`).

use super::metrics::WorkerCounters;
use crate::fiber::{inbox::Inbox, parker::FiberParker};
use crate::idle::{Idle, WakeNear};
use crate::padded::CachePadded;
use crate::park::Parker;
use crate::queue::{inject::InjectQueue, join_deque::JoinDeque, local::LocalQueue, next_slots::NextSlots};
use crate::task::{cell, Header};
use crate::worker::{self, JobHeader};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Instant;

pub(crate) struct Shared {
    pub(crate) workers: Box<[CachePadded<WorkerShared>]>,
    pub(crate) inject: InjectQueue<Header>,
    pub(crate) idle: CachePadded<Idle>,
    /// Set once, by shutdown: spawns are refused (cancelled), queued tasks are
    /// cancelled instead of run, workers leave their loop.
    closed: AtomicBool,
    pub(crate) cancelled: CachePadded<AtomicU64>,
    /// Bytes reserved for each fiber stack (`Builder::stack_size`).
    pub(crate) fiber_stack_size: usize,
    exited_workers: Mutex<usize>,
    all_exited: Condvar,
}

/// The parts of one worker that other threads touch.
pub(crate) struct WorkerShared {
    pub(crate) run_queue: LocalQueue<Header>,
    /// The tasks to run next, newest first (see `worker`); thieves may
    /// take them.
    pub(crate) next_slots: NextSlots<Header>,
    pub(crate) join_jobs: JoinDeque<JobHeader>,
    /// Woken fibers of this worker (see `fiber::inbox`).
    pub(crate) inbox: Inbox,
    pub(crate) parker: &'static Parker,
    pub(crate) metrics: WorkerCounters,
}

impl Shared {
    pub(crate) fn new(num_workers: usize, fiber_stack_size: usize) -> Shared {
        let workers = (0..num_workers)
            .map(|_| {
                CachePadded(WorkerShared {
                    run_queue: LocalQueue::new(),
                    next_slots: NextSlots::new(),
                    join_jobs: JoinDeque::new(),
                    inbox: Inbox::new(),
                    parker: Parker::unused(),
                    metrics: WorkerCounters::default(),
                })
            })
            .collect();
        Shared {
            workers,
            inject: InjectQueue::new(),
            idle: CachePadded(Idle::new(num_workers)),
            closed: AtomicBool::new(false),
            cancelled: CachePadded(AtomicU64::new(0)),
            fiber_stack_size,
            exited_workers: Mutex::new(0),
            all_exited: Condvar::new(),
        }
    }

    pub(crate) fn is_closed(&self) -> bool {
        // Acquire: pairs with the Release store in `close`; a worker that sees
        // it also sees the closed global queue.
        self.closed.load(Ordering::Acquire)
    }

    /// Schedules a freshly allocated task (we hold its scheduler reference):
    /// locally when called on one of our workers, else via the global queue.
    pub(crate) fn schedule(self: &Arc<Self>, task: NonNull<Header>) {
        if self.is_closed() {
            self.cancel(task);
            return;
        }
        worker::with_current(|cx| match cx {
            Some(cx) if Arc::ptr_eq(&cx.shared, self) => cx.schedule_local(task),
            _ => self.schedule_remote(task, WakeNear::OtherCpu),
        })
    }

    /// Schedules a freshly allocated task through the global queue for a
    /// caller that is not one of our workers and blocks right after, waiting
    /// for it (`block_on`): a sleeper is woken on the caller's CPU if one
    /// parked there (see `idle/placement.rs`).
    pub(crate) fn schedule_then_block(&self, task: NonNull<Header>) {
        if self.is_closed() {
            self.cancel(task);
        } else {
            self.schedule_remote(task, WakeNear::SameCpu);
        }
    }

    fn schedule_remote(&self, task: NonNull<Header>, near: WakeNear) {
        match self.inject.push(task) {
            Ok(()) => self.notify_parked_after_fence(near),
            Err(refused) => refused.into_iter().for_each(|t| self.cancel(t)),
        }
    }

    /// Moves a local queue's overflow to the global queue (cancelling it if
    /// the runtime closed meanwhile).
    pub(crate) fn push_batch_to_global(&self, batch: impl IntoIterator<Item = *mut Header>) {
        match self.inject.push_batch(batch.into_iter().filter_map(NonNull::new)) {
            Ok(()) => self.notify_parked_after_fence(WakeNear::OtherCpu),
            Err(refused) => refused.into_iter().for_each(|t| self.cancel(t)),
        }
    }

    fn cancel(&self, task: NonNull<Header>) {
        // SAFETY: callers hold the task's scheduler reference and give it up.
        let cancelled = unsafe { cell::cancel_task(task) };
        self.count_cancelled(u64::from(cancelled));
    }

    pub(crate) fn count_cancelled(&self, count: u64) {
        if count > 0 {
            self.cancelled.fetch_add(count, Ordering::Relaxed);
        }
    }

    /// Wakes a parked worker if work was just made available and nobody is
    /// searching (see `idle/README.md`).
    pub(crate) fn notify_parked(&self) {
        if let Some(index) = self.idle.worker_to_notify() {
            self.workers[index].parker.unpark();
        }
    }

    /// [`notify_parked`](Self::notify_parked) after a push to the global
    /// queue, whose SeqCst fence (after the push) serves as the producer's.
    fn notify_parked_after_fence(&self, near: WakeNear) {
        if let Some(index) = self.idle.worker_to_notify_after_fence(near) {
            self.workers[index].parker.unpark();
        }
    }

    /// Like [`notify_parked`](Self::notify_parked), for work a worker just
    /// put in its *own* queues (a spawn, a `join` offer). The calling worker is
    /// awake and will run that work itself if nobody else does, so a missed
    /// wake-up can only cost parallelism, never progress: the common case,
    /// where nobody sleeps or someone searches, is decided by a plain load
    /// without the SeqCst fence (Go's `wakep` after `runqput` does the same).
    #[inline]
    pub(crate) fn notify_parked_from_worker(&self) {
        if self.idle.may_need_wakeup() {
            self.notify_parked();
        }
    }

    /// Makes sure worker `index` looks at its inbox, into which a woken
    /// fiber was just pushed by another thread: wakes it if it sleeps. See
    /// `park_idle` for why no wake-up is lost.
    fn wake_for_inbox(&self, index: usize) {
        if self.idle.wake_worker(index) {
            self.workers[index].parker.unpark();
        }
    }

    /// Step S2 of `idle/README.md`: the last searcher checks every queue.
    pub(crate) fn notify_if_work_pending(&self) {
        let pending = !self.inject.is_empty()
            || self
                .workers
                .iter()
                .any(|w| !w.run_queue.is_empty() || !w.join_jobs.is_empty() || !w.next_slots.is_empty());
        if pending {
            self.notify_parked();
        }
    }

    /// Stops accepting work and tells every worker to finish.
    pub(crate) fn close(&self) {
        // The global queue closes first: a worker that sees `closed` (below)
        // and drains the queue must drain after the queue's own `closed`
        // store, or a producer racing with that drain could see the queue
        // open, and the drain miss its node (the handshake in `inject.rs`).
        self.inject.close();
        // Release: pairs with the Acquire load in `is_closed`, and so carries
        // the queue's `closed` store above to every worker that drains.
        self.closed.store(true, Ordering::Release);
        for (index, worker) in self.workers.iter().enumerate() {
            self.idle.unpark_worker_by_id(index);
            worker.parker.unpark();
        }
    }

    pub(crate) fn worker_exited(&self) {
        *crate::loom::lock(&self.exited_workers) += 1;
        self.all_exited.notify_all();
    }

    /// Waits until every worker left its loop, until `deadline` at most.
    pub(crate) fn wait_for_workers(&self, deadline: Option<Instant>) -> bool {
        let mut exited = crate::loom::lock(&self.exited_workers);
        while *exited < self.workers.len() {
            exited = match deadline {
                None => self.all_exited.wait(exited).unwrap_or_else(|e| e.into_inner()),
                Some(deadline) => {
                    let Some(left) = deadline.checked_duration_since(Instant::now()) else {
                        return false;
                    };
                    self.all_exited
                        .wait_timeout(exited, left)
                        .unwrap_or_else(|e| e.into_inner())
                        .0
                }
            };
        }
        true
    }

    /// After every worker exited: cancel whatever is still queued (a task
    /// pushed by a thread racing with `close`).
    pub(crate) fn drain_after_exit(&self) {
        let mut leftovers: Vec<*mut Header> =
            self.inject.drain_all().into_iter().map(NonNull::as_ptr).collect();
        for worker in self.workers.iter() {
            leftovers.extend(std::iter::from_fn(|| worker.next_slots.steal()));
            leftovers.extend(std::iter::from_fn(|| worker.run_queue.pop()));
        }
        leftovers
            .into_iter()
            .filter_map(NonNull::new)
            .for_each(|t| self.cancel(t));
    }
}

/// The [`Delivery`](crate::fiber::parker::Delivery) function of fibers run
/// by a worker of `home` (a `*const Shared`): queues the woken fiber in that
/// worker's inbox and wakes the worker.
///
/// # Safety
/// `home` is the `Shared` of the runtime whose worker `worker` owns the fiber
/// of `parker`, which is parked: that worker (which holds a reference to
/// `Shared`) does not exit before resuming it.
pub(crate) unsafe fn deliver_woken_fiber(home: *const (), worker: usize, parker: &'static FiberParker) {
    let home = home.cast::<Shared>();
    let on_that_worker = worker::with_current(|cx| {
        cx.is_some_and(|cx| cx.index == worker && std::ptr::eq(Arc::as_ptr(&cx.shared), home))
    });
    if on_that_worker {
        // The common case of a task waking a task of its own worker: that
        // worker is running (this code), so `Shared` is alive and nobody
        // needs waking; no reference count traffic either.
        // SAFETY: the worker running us holds a reference to `Shared`.
        unsafe { &*home }.workers[worker].inbox.push(parker);
        return;
    }
    // SAFETY: alive per the contract. Our own reference keeps it alive after
    // the push, when the fiber may run, finish, and its worker exit.
    let shared = unsafe {
        Arc::increment_strong_count(home);
        Arc::from_raw(home)
    };
    shared.workers[worker].inbox.push(parker);
    shared.wake_for_inbox(worker);
}
