//! Per-worker counters and gauges, and the public `Metrics` snapshot.
//!
//! Each worker's numbers are written only by that worker (a load and a store,
//! not an atomic read-modify-write, so counting costs no bus lock) and read by
//! anyone with `Relaxed` loads: a snapshot is consistent per number, not
//! across numbers. Counters only grow; a gauge (`parked_fibers`) is a value
//! now, and the owner also reads it back as the source of truth.

use std::sync::atomic::{AtomicU64, Ordering};

/// A counter (or gauge) with a single writer.
#[derive(Default)]
pub(crate) struct OwnerCounter(AtomicU64);

impl OwnerCounter {
    /// Adds `n`. Called only by the owning worker.
    pub(crate) fn add_owner(&self, n: u64) {
        self.0
            .store(self.0.load(Ordering::Relaxed) + n, Ordering::Relaxed);
    }

    /// Subtracts `n` from a gauge. Called only by the owning worker.
    pub(crate) fn sub_owner(&self, n: u64) {
        let now = self.0.load(Ordering::Relaxed);
        debug_assert!(now >= n, "a gauge went below zero");
        self.0.store(now - n, Ordering::Relaxed);
    }

    /// The value. Exact for the owning worker; possibly stale for others.
    pub(crate) fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

#[derive(Default)]
pub(crate) struct WorkerCounters {
    pub(crate) spawned: OwnerCounter,
    pub(crate) completed: OwnerCounter,
    pub(crate) stolen_tasks: OwnerCounter,
    pub(crate) steal_operations: OwnerCounter,
    pub(crate) from_global: OwnerCounter,
    pub(crate) local_overflows: OwnerCounter,
    pub(crate) parks: OwnerCounter,
    pub(crate) wakeups: OwnerCounter,
    /// A gauge; see [`WorkerMetrics::parked_fibers`].
    pub(crate) parked_fibers: OwnerCounter,
    pub(crate) fiber_parks: OwnerCounter,
}

impl WorkerCounters {
    pub(crate) fn snapshot(&self) -> WorkerMetrics {
        WorkerMetrics {
            spawned: self.spawned.get(),
            completed: self.completed.get(),
            stolen_tasks: self.stolen_tasks.get(),
            steal_operations: self.steal_operations.get(),
            from_global: self.from_global.get(),
            local_overflows: self.local_overflows.get(),
            parks: self.parks.get(),
            wakeups: self.wakeups.get(),
            parked_fibers: self.parked_fibers.get(),
            fiber_parks: self.fiber_parks.get(),
        }
    }
}

/// Counters of one worker (or, from [`Metrics::total`], of all of them),
/// and one gauge, [`parked_fibers`](Self::parked_fibers).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct WorkerMetrics {
    /// Tasks spawned by tasks running on this worker.
    pub spawned: u64,
    /// Tasks this worker ran, including those that panicked. Counted as the
    /// task starts, so a task whose `join` returned is always included.
    pub completed: u64,
    /// Tasks (and `join` jobs) this worker stole from others.
    pub stolen_tasks: u64,
    /// Successful steal operations (one may move up to half a queue).
    pub steal_operations: u64,
    /// Tasks this worker took from the global queue.
    pub from_global: u64,
    /// Times this worker's run queue was full and moved half of itself to the
    /// global queue.
    pub local_overflows: u64,
    /// Times this worker went to sleep for lack of work.
    pub parks: u64,
    /// Times this worker was woken to look for new work.
    pub wakeups: u64,
    /// A gauge, not a total: fibers of this worker whose task is blocked
    /// right now (parked in a channel, `join`, ... until woken), plus those
    /// woken or yielding and not yet resumed. Each holds its task's stack.
    /// Always 0 without fibers (`FIBRA_FIBERS=0`, Miri).
    ///
    /// ```
    /// let rt = fibra::Runtime::builder().workers(1).build()?;
    /// let (tx, rx) = fibra::chan::bounded::<u32>(0);
    /// let task = rt.spawn(move || rx.recv().unwrap());
    /// while rt.metrics().total().parked_fibers == 0 {
    ///     std::thread::yield_now(); // until the task blocks in `recv`
    /// }
    /// assert_eq!(rt.metrics().total().parked_fibers, 1);
    /// tx.send(7).unwrap();
    /// assert_eq!(task.join().unwrap(), 7);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub parked_fibers: u64,
    /// Times a task running on this worker blocked and its fiber parked (a
    /// blocking call whose wake-up came before the park took effect is not
    /// counted; yields are not counted).
    pub fiber_parks: u64,
}

impl std::ops::Add for WorkerMetrics {
    type Output = WorkerMetrics;
    fn add(self, o: WorkerMetrics) -> WorkerMetrics {
        WorkerMetrics {
            spawned: self.spawned + o.spawned,
            completed: self.completed + o.completed,
            stolen_tasks: self.stolen_tasks + o.stolen_tasks,
            steal_operations: self.steal_operations + o.steal_operations,
            from_global: self.from_global + o.from_global,
            local_overflows: self.local_overflows + o.local_overflows,
            parks: self.parks + o.parks,
            wakeups: self.wakeups + o.wakeups,
            parked_fibers: self.parked_fibers + o.parked_fibers,
            fiber_parks: self.fiber_parks + o.fiber_parks,
        }
    }
}

/// A snapshot of a runtime's counters, from [`Runtime::metrics`](crate::Runtime::metrics).
///
/// ```
/// let rt = fibra::Runtime::builder().workers(2).build()?;
/// let handles: Vec<_> = (0..100).map(|i| rt.spawn(move || i)).collect();
/// for h in handles {
///     h.join().unwrap();
/// }
/// let m = rt.metrics();
/// assert_eq!(m.workers.len(), 2);
/// assert_eq!(m.spawned_outside, 100);
/// assert_eq!(m.total().completed, 100);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Metrics {
    /// One entry per worker, in worker order.
    pub workers: Vec<WorkerMetrics>,
    /// Tasks spawned from threads that are not this runtime's workers (they
    /// enter through the global queue).
    pub spawned_outside: u64,
    /// Tasks dropped without running because the runtime shut down.
    pub cancelled: u64,
}

impl Metrics {
    /// The sum over all workers (for the gauge
    /// [`parked_fibers`](WorkerMetrics::parked_fibers): all fibers parked now).
    pub fn total(&self) -> WorkerMetrics {
        self.workers
            .iter()
            .copied()
            .fold(WorkerMetrics::default(), |a, b| a + b)
    }
}
