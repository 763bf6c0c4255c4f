//! The worker loop: where each worker thread finds its next piece of work.
//!
//! Order of search (Go's `findRunnable`, Tokio's `Core::next_task`):
//! 1. every [`GLOBAL_QUEUE_INTERVAL`] ticks, one task of the global queue
//!    first, so that a worker busy with local work cannot starve tasks
//!    spawned from outside (and its due timers fire then, see `timers`);
//! 2. a woken fiber of ours (its task blocked and was woken, see `fiber`),
//!    at most [`MAX_WOKEN_FIBER_RUNS`] times in a row;
//! 3. the next slots (the last 16 tasks spawned here, newest first: depth
//!    first through a tree of tasks that spawn and then wait for their
//!    children, see `queue::next_slots`), at most [`MAX_NEXT_SLOT_RUNS`]
//!    times in a row while the run queue holds older tasks, so that tasks
//!    spawning each other cannot starve it;
//! 4. the local run queue, FIFO;
//! 5. the global queue (a batch of it moves to the local queue);
//! 6. woken fibers beyond their turn, then the oldest `join` job offered by
//!    a fiber of ours that parked meanwhile (nobody else may take it);
//! 7. due timers of our sleeping fibers: fire them, and resume one;
//! 8. as a *searcher* (see `idle/README.md`): steal half of a random
//!    victim's run queue, else one of its `join` jobs, else one of its next
//!    slots;
//! 9. park until a producer, a woken fiber or shutdown wakes us, or our
//!    earliest timer expires.
//!
//! The loop runs on a fiber (`dispatch`), and tasks run as plain calls in it.
//! All of the loop's state lives in [`WorkerContext`], reachable from the
//! thread-local `CURRENT`, and the loop keeps nothing in stack locals that
//! would need dropping: when a task blocks, the loop simply carries on on
//! another fiber, and several fibers of one worker take turns running it.
//!
//! Waiting (`worker::wait`): a task that joins a task nobody started runs
//! it on its own stack (it *claims* it, see `task::state`), while its stack
//! has room; otherwise it parks its fiber. `join` whose second half was
//! stolen first runs that half's own sub-jobs (leapfrogging, see
//! [`WorkerContext::help_until`]), then parks.

#[cfg(not(miri))]
mod dispatch;
mod job;
mod timers;
mod wait;

pub(crate) use job::{resume, JobHeader, Latch as StackJobLatch, StackJob};
#[cfg(test)]
pub(crate) use timers::pending_timers;
pub(crate) use timers::{cancel_timer, register_timer};
pub(crate) use wait::{reserve_loop_fiber, run_inline_if_local, wait_until};

use crate::fiber::inbox::Woken;
use crate::fiber::parker::FiberParker;
use crate::queue::join_deque::Steal;
use crate::queue::local::CAPACITY as LOCAL_CAPACITY;
use crate::runtime::shared::{Shared, WorkerShared};
use crate::task::{cell, Header};
use crate::time::timers::Timers;
use std::cell::{Cell, RefCell};
use std::ptr::{self, NonNull};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Check the global queue first every this many ticks (Go uses 61, a prime,
/// so that the check does not fall into step with periodic workloads).
pub(crate) const GLOBAL_QUEUE_INTERVAL: u32 = 61;
/// Consecutive runs from the next slots before the run queue gets a turn.
/// Each turn of the run queue starts an older task (in a tree of tasks, a
/// pending subtree) before the newest ones are done: skynet over channels
/// (1,000,000 leaves, fibra::chan, 2-vCPU machine, medians of 5; runs for
/// commit bfb5520, 2026-11-27, `fibra-bench --only skynet_chan` with the
/// cap edited, not the table)
/// takes 320 ms on one worker and 155 ms on two with a cap of 3, 230 and
/// 112 ms with 16 (and 32), 215 and 109 ms with no cap.
pub(crate) const MAX_NEXT_SLOT_RUNS: u32 = 16;
/// Consecutive woken fibers resumed before the other queues get a turn.
const MAX_WOKEN_FIBER_RUNS: u32 = 3;
/// The most tasks a worker takes from the global queue at once.
const GLOBAL_BATCH: usize = LOCAL_CAPACITY / 2;
/// How long a thief leaves a victim's newest next-slot entry alone before
/// taking it. Go waits 3 µs for `runnext` (about 50 channel operations);
/// here that was too short, since the spawner's futex wake of this very
/// thief can take longer: with 3 µs the ping-pong benchmark still put its
/// two tasks on different workers in 5 of 10 runs, with 20 µs in none
/// (runs for commit 3b5e9c6, 2026-11-27, a one-off diagnostic counting
/// steals per worker; not the table).
const NEXT_SLOT_GRACE: Duration = Duration::from_micros(20);
/// How many more times an idle worker looks for work before it parks.
const LOOKS_BEFORE_PARKING: u32 = 32;
/// Longest sleep of a `join` waiting for its stolen half between looks for
/// sub-jobs to help with (the thief's latch wakes it sooner when done).
const HELP_MAX_SLEEP: Duration = Duration::from_millis(1);

/// A piece of work found by a worker.
enum Work {
    /// A pooled task; we hold its scheduler reference.
    Task(NonNull<Header>),
    /// A `join` job: stolen from another worker, or taken back from our own
    /// join deque.
    Job(*const JobHeader),
    /// A fiber of ours whose task was woken (from our inbox).
    Fiber(&'static FiberParker),
}

/// The state of one worker thread, used only by that thread.
pub(crate) struct WorkerContext {
    pub(crate) shared: Arc<Shared>,
    pub(crate) index: usize,
    tick: Cell<u32>,
    next_slot_runs: Cell<u32>,
    searching: Cell<bool>,
    rng: Cell<u32>,
    /// Woken fibers taken out of the inbox, not resumed yet.
    woken: Cell<Woken>,
    woken_runs: Cell<u32>,
    /// Set by the dispatcher to make the fiber it resumes leave the loop.
    retiring: Cell<bool>,
    /// Yields handed by the dispatcher straight to a woken fiber since the
    /// loop last ran.
    hand_offs: Cell<u32>,
    /// The fiber the dispatcher resumed last (so, the one running now), as
    /// a waiter; `None` without fibers. Saves `join` a thread-local lookup.
    running_fiber: Cell<Option<crate::park::Waiter>>,
    /// Timers of this worker's sleeping fibers (see `timers`).
    timers: RefCell<Timers>,
    #[cfg(not(miri))]
    fiber_pool: RefCell<dispatch::FiberPool>,
}

/// The environment variable that turns fibers off when set to `0`: workers
/// then run tasks on their own thread stacks and a task that waits blocks
/// its worker thread (joins still claim unstarted tasks, and `join` helps
/// with its stolen half's sub-jobs, so waiting makes progress). For tools
/// that cannot follow stack switches, such as valgrind; not for production.
pub const FIBERS_ENV: &str = "FIBRA_FIBERS";

/// Whether workers run their loop on fibers, so that tasks can block without
/// blocking their worker: yes, unless `FIBRA_FIBERS=0`. Miri cannot switch
/// stacks, so under it never.
fn fibers_enabled() -> bool {
    cfg!(not(miri)) && std::env::var_os(FIBERS_ENV).map_or(true, |value| value != "0")
}

/// Spins for [`NEXT_SLOT_GRACE`] (a thief has nothing better to do, and a
/// sleep would last far longer than asked).
fn wait_out_next_slot_grace() {
    let start = Instant::now();
    while start.elapsed() < NEXT_SLOT_GRACE {
        std::hint::spin_loop();
    }
}

thread_local! {
    /// The context of the worker running on this thread, or null.
    static CURRENT: Cell<*const WorkerContext> = const { Cell::new(ptr::null()) };
}

/// Calls `f` with the current thread's worker context, if it is a worker.
pub(crate) fn with_current<R>(f: impl FnOnce(Option<&WorkerContext>) -> R) -> R {
    let current = CURRENT.with(Cell::get);
    // SAFETY: CURRENT is non-null only while `run_worker` owns the context,
    // and `f` runs on this thread within that time.
    f(unsafe { current.as_ref() })
}

/// The body of a worker thread.
pub(crate) fn run_worker(shared: Arc<Shared>, index: usize) {
    shared.workers[index].parker.install_for_current_thread();
    let cx = Box::new(WorkerContext {
        shared: shared.clone(),
        index,
        tick: Cell::new(0),
        next_slot_runs: Cell::new(0),
        searching: Cell::new(false),
        rng: Cell::new(0x9E37_79B9 ^ (index as u32).wrapping_mul(0x85EB_CA6B) | 1),
        woken: Cell::new(Woken::empty()),
        woken_runs: Cell::new(0),
        retiring: Cell::new(false),
        hand_offs: Cell::new(0),
        running_fiber: Cell::new(None),
        timers: RefCell::new(Timers::new()),
        #[cfg(not(miri))]
        fiber_pool: RefCell::new(dispatch::FiberPool::new(shared.fiber_stack_size)),
    });
    CURRENT.with(|current| current.set(&*cx));
    if fibers_enabled() {
        // Without it a fiber stack overflow is a bare SIGSEGV instead of a
        // message; fibers still work, so a failure here is not fatal.
        #[cfg(not(miri))]
        let _ = crate::stack::install_overflow_handler_for_current_thread();
        #[cfg(not(miri))]
        dispatch::run_on_fibers(&cx);
    } else {
        cx.run_loop();
    }
    cx.drain_on_shutdown();
    CURRENT.with(|current| current.set(ptr::null()));
    drop(cx);
    shared.worker_exited();
}

impl WorkerContext {
    fn me(&self) -> &WorkerShared {
        &self.shared.workers[self.index]
    }

    fn run_loop(&self) {
        while self.keep_running() {
            let work = self.find_work().or_else(|| self.look_again_before_parking());
            match work {
                Some(work) => self.execute(work),
                None => self.park_idle(),
            }
        }
    }

    /// False once the runtime is closed and no fiber of ours is parked (a
    /// parked task is still running: it gets to finish), or when the
    /// dispatcher retires the fiber this loop runs on.
    fn keep_running(&self) -> bool {
        if self.retiring.replace(false) {
            return false;
        }
        !(self.shared.is_closed() && self.me().metrics.parked_fibers.get() == 0)
    }

    fn find_work(&self) -> Option<Work> {
        self.next_local_work()
            .or_else(|| self.fiber_woken_by_a_timer())
            .or_else(|| self.search())
    }

    /// Out of local work: fires our due timers and resumes a fiber they woke.
    fn fiber_woken_by_a_timer(&self) -> Option<Work> {
        if self.fire_due_timers() == 0 {
            return None;
        }
        self.take_woken_fiber().map(Work::Fiber)
    }

    /// A worker that just ran out of work looks again [`LOOKS_BEFORE_PARKING`]
    /// times, yielding its CPU in between, before it parks: in a burst of
    /// spawns or a fork-join, new work usually arrives within microseconds,
    /// and a futex sleep + wake costs both sides more than that (tens of
    /// microseconds on a VM). Rayon spins about as long (32 rounds) before
    /// its workers sleep. With 8 looks, fib(32) with `join` above a cutoff of
    /// 20 took 2.93–2.98 ms (medians of 200, three runs), with 32 looks
    /// 2.55–2.58 ms (2 vCPU, alternating binaries in a loop, runs for commit
    /// 87c0009, 2026-11-27; not the table). Bounded, so an idle runtime
    /// still goes to sleep within tens of microseconds and then uses almost
    /// no CPU.
    fn look_again_before_parking(&self) -> Option<Work> {
        for _ in 0..LOOKS_BEFORE_PARKING {
            std::thread::yield_now();
            if let Some(work) = self.find_work() {
                return Some(work);
            }
        }
        None
    }

    fn execute(&self, work: Work) {
        // Found work, wherever from: a woken worker stops counting as a
        // searcher, or producers would think someone is still looking.
        self.stop_searching();
        match work {
            Work::Task(task) => {
                if self.shared.is_closed() {
                    // SAFETY: we hold the scheduler reference, taken from a queue.
                    let cancelled = unsafe { cell::cancel_task(task) };
                    self.shared.count_cancelled(u64::from(cancelled));
                } else {
                    // Counted before it runs, so that a joiner who saw the
                    // task finish also sees it counted.
                    let count = || self.me().metrics.completed.add_owner(1);
                    // SAFETY: as above; the task's panic is caught inside.
                    unsafe { cell::run_task(task, count) };
                }
            }
            // SAFETY: the job came out of a join deque exactly once.
            Work::Job(job) => unsafe { JobHeader::execute(job) },
            Work::Fiber(woken) => crate::fiber::suspend(crate::fiber::Request::SwitchTo(woken)),
        }
    }

    // ----- spawning ---------------------------------------------------------

    /// Schedules a task spawned on this worker: into the next slots, whose
    /// oldest occupant, if they are full, moves to the back of the run queue.
    pub(crate) fn schedule_local(&self, task: NonNull<Header>) {
        let me = self.me();
        me.metrics.spawned.add_owner(1);
        if let Some(evicted) = me.next_slots.push(task.as_ptr()).and_then(NonNull::new) {
            self.push_back(evicted);
        }
        self.shared.notify_parked_from_worker();
    }

    fn push_back(&self, task: NonNull<Header>) {
        if let Err(batch) = self.me().run_queue.push_back(task.as_ptr()) {
            self.me().metrics.local_overflows.add_owner(1);
            self.shared.push_batch_to_global(batch);
        }
    }

    // ----- finding work -----------------------------------------------------

    fn next_local_work(&self) -> Option<Work> {
        let tick = self.tick.get().wrapping_add(1);
        self.tick.set(tick);
        if tick % GLOBAL_QUEUE_INTERVAL == 0 {
            // Their fibers land in our inbox and are resumed in their turn.
            self.fire_due_timers();
            if let Some(task) = self.take_one_from_global() {
                return Some(Work::Task(task));
            }
        }
        if let Some(woken) = self.take_woken_fiber_in_turn() {
            return Some(Work::Fiber(woken));
        }
        self.take_next_slot()
            .or_else(|| self.pop_run_queue())
            .or_else(|| self.take_from_global())
            .map(Work::Task)
            .or_else(|| self.take_woken_fiber().map(Work::Fiber))
            .or_else(|| self.take_own_join_job())
    }

    /// The oldest job in our own join deque. Its owner is a fiber of ours
    /// that parked while running the first half of its `join`; nobody else
    /// may be looking, so we run the job as a thief would.
    fn take_own_join_job(&self) -> Option<Work> {
        loop {
            match self.me().join_jobs.steal() {
                Steal::Success(job) => {
                    self.record_theft(job);
                    return Some(Work::Job(job));
                }
                Steal::Retry => continue,
                Steal::Empty => return None,
            }
        }
    }

    /// A woken fiber of ours, first in line (it holds a stack, and its task
    /// has waited already), but at most [`MAX_WOKEN_FIBER_RUNS`] in a row, so
    /// that fibers waking each other cannot starve the run queue.
    fn take_woken_fiber_in_turn(&self) -> Option<&'static FiberParker> {
        if self.woken_runs.get() >= MAX_WOKEN_FIBER_RUNS {
            self.woken_runs.set(0);
            return None;
        }
        let woken = self.take_woken_fiber();
        self.woken_runs.set(if woken.is_some() {
            self.woken_runs.get() + 1
        } else {
            0
        });
        woken
    }

    fn take_woken_fiber(&self) -> Option<&'static FiberParker> {
        let mut woken = self.woken.replace(Woken::empty());
        if woken.is_empty() {
            if self.me().inbox.is_empty() {
                return None;
            }
            woken = self.me().inbox.take_all();
        }
        let next = woken.pop_front();
        self.woken.set(woken);
        next
    }

    /// The newest task of the next slots, unless they had their turn: after
    /// [`MAX_NEXT_SLOT_RUNS`] in a row, the run queue's oldest task goes first
    /// (running it resets the count). If the run queue is empty, the next
    /// slots' oldest entry moves to it and goes first: a chain of tasks that
    /// each spawn one successor keeps the ring from filling up (nothing is
    /// evicted), and would otherwise keep an older entry waiting forever.
    fn take_next_slot(&self) -> Option<NonNull<Header>> {
        let me = self.me();
        if self.next_slot_runs.get() >= MAX_NEXT_SLOT_RUNS {
            if me.run_queue.is_empty() {
                // `steal` scans from `top`: the oldest entry comes first.
                let oldest = NonNull::new(me.next_slots.steal()?)?;
                self.push_back(oldest);
            }
            return None;
        }
        let task = NonNull::new(me.next_slots.pop()?)?;
        self.next_slot_runs
            .set(self.next_slot_runs.get().saturating_add(1));
        Some(task)
    }

    fn pop_run_queue(&self) -> Option<NonNull<Header>> {
        let task = NonNull::new(self.me().run_queue.pop()?)?;
        self.next_slot_runs.set(0);
        Some(task)
    }

    /// Takes a fair share of the global queue: one task to run now, the rest
    /// into the local run queue (never more than it has room for).
    fn take_from_global(&self) -> Option<NonNull<Header>> {
        let shared = &*self.shared;
        if shared.inject.is_empty() {
            return None;
        }
        let room = LOCAL_CAPACITY - self.me().run_queue.len();
        let want = (shared.inject.len() / shared.workers.len() + 1)
            .min(GLOBAL_BATCH)
            .min(room + 1);
        // Copied out under the consumer lock, queued locally after it is
        // released, so that other workers wait for that lock as little as can be.
        let mut batch = [std::ptr::null_mut(); GLOBAL_BATCH];
        let mut taken = 0;
        shared.inject.pop_batch(want, |task| {
            batch[taken] = task.as_ptr();
            taken += 1;
        });
        self.me().metrics.from_global.add_owner(taken as u64);
        let (&first, rest) = batch[..taken].split_first()?;
        // One publication for the whole batch. It all fits (thieves only
        // make room after `room` was read); the loop is a safety net.
        let queued = self.me().run_queue.push_back_many(rest);
        for &task in &rest[queued..] {
            self.push_back(NonNull::new(task).expect("popped tasks are non-null"));
        }
        NonNull::new(first)
    }

    /// One task from the global queue, for its turn every
    /// [`GLOBAL_QUEUE_INTERVAL`] ticks (Go's `globrunqget(pp, 1)` there): a
    /// batch would land behind the local work that the worker is busy with,
    /// and come back to the global queue when the run queue overflows.
    fn take_one_from_global(&self) -> Option<NonNull<Header>> {
        if self.shared.inject.is_empty() {
            return None;
        }
        let mut task = None;
        self.shared.inject.pop_batch(1, |t| task = Some(t));
        self.me().metrics.from_global.add_owner(u64::from(task.is_some()));
        task
    }

    /// Becomes a searcher (unless half the workers already are) and steals.
    fn search(&self) -> Option<Work> {
        if !self.searching.get() {
            if !self.shared.idle.transition_worker_to_searching() {
                return None;
            }
            self.searching.set(true);
        }
        self.steal_work()
            .or_else(|| self.take_from_global().map(Work::Task))
    }

    fn stop_searching(&self) {
        if self.searching.replace(false) && self.shared.idle.transition_worker_from_searching() {
            // We were the last searcher and found work: there may be more.
            self.shared.notify_parked();
        }
    }

    fn next_random(&self) -> u32 {
        // xorshift32: cheap, and good enough to spread victims.
        let mut x = self.rng.get();
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.rng.set(x);
        x
    }

    /// Tries every other worker once, starting at a random one. Our own run
    /// queue must be empty (it is where stolen tasks land).
    fn steal_work(&self) -> Option<Work> {
        let workers = &self.shared.workers;
        let me = self.me();
        debug_assert!(me.run_queue.is_empty());
        let start = self.next_random() as usize % workers.len();
        for offset in 0..workers.len() {
            let victim_index = (start + offset) % workers.len();
            if victim_index == self.index {
                continue;
            }
            if let Some(work) = self.steal_from(&workers[victim_index]) {
                me.metrics.steal_operations.add_owner(1);
                return Some(work);
            }
        }
        None
    }

    fn steal_from(&self, victim: &WorkerShared) -> Option<Work> {
        let me = self.me();
        let stolen = victim.run_queue.steal_half_into(&me.run_queue);
        if stolen > 0 {
            me.metrics.stolen_tasks.add_owner(stolen as u64);
            return self.pop_run_queue().map(Work::Task);
        }
        loop {
            match victim.join_jobs.steal() {
                Steal::Success(job) => {
                    me.metrics.stolen_tasks.add_owner(1);
                    self.record_theft(job);
                    return Some(Work::Job(job));
                }
                Steal::Retry => continue,
                Steal::Empty => break,
            }
        }
        let peeked = victim.next_slots.peek()?;
        if peeked.newest {
            // Go's grace for `runnext`: the victim spawned this task last
            // and is about to run it itself, typically once the spawner
            // blocks on a channel with it. Taken now, the task would run on
            // another worker than its partner for good, and every message
            // between them would cross workers (ping-pong: about 1 µs a
            // round trip instead of 0.2, in the table's runs before this). Take it only if it is still there
            // a moment later. Older entries wait for the newer ones anyway.
            wait_out_next_slot_grace();
        }
        let task = NonNull::new(victim.next_slots.steal_if_still(&peeked)?)?;
        me.metrics.stolen_tasks.add_owner(1);
        Some(Work::Task(task))
    }

    // ----- sleeping ---------------------------------------------------------

    fn park_idle(&self) {
        let shared = &*self.shared;
        let was_searching = self.searching.replace(false);
        if shared.idle.transition_worker_to_parked(self.index, was_searching) {
            shared.notify_if_work_pending();
        }
        self.me().metrics.parks.add_owner(1);
        loop {
            // After registering as a sleeper (its lock and fence): a fiber
            // delivered to our inbox before that is seen here, one delivered
            // after finds us among the sleepers (`Shared::wake_for_inbox`).
            if !self.me().inbox.is_empty() {
                return self.leave_sleepers();
            }
            if !self.sleep_until_woken_or_next_timer() {
                return self.leave_sleepers(); // a timer is due: go fire it
            }
            if shared.is_closed() {
                return self.leave_sleepers();
            }
            if !shared.idle.is_parked(self.index) {
                break; // a producer chose us
            }
        }
        self.me().metrics.wakeups.add_owner(1);
        self.searching.set(true); // the notifier counted us as a searcher
    }

    /// Stops sleeping on our own initiative. If a producer chose us in the
    /// meantime it counted us as a searcher, and so do we.
    fn leave_sleepers(&self) {
        if !self.shared.idle.unpark_worker_by_id(self.index) {
            self.searching.set(true);
        }
    }

    // ----- shutdown ---------------------------------------------------------

    /// Cancels every task left in this worker's queues and the global queue.
    fn drain_on_shutdown(&self) {
        let me = self.me();
        let mut cancelled = 0;
        let mut cancel = |task: *mut Header| {
            if let Some(task) = NonNull::new(task) {
                // SAFETY: removed from a queue: we hold its scheduler reference.
                cancelled += u64::from(unsafe { cell::cancel_task(task) });
            }
        };
        while let Some(task) = me.next_slots.steal() {
            cancel(task);
        }
        while let Some(task) = me.run_queue.pop() {
            cancel(task);
        }
        for task in self.shared.inject.drain_all() {
            cancel(task.as_ptr());
        }
        self.shared.count_cancelled(cancelled);
    }
}
