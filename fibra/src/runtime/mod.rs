//! `Runtime` and `Handle`: starting workers, spawning, waiting, shutting down.

mod builder;
pub(crate) mod global;
mod metrics;
mod scope;
pub(crate) mod shared;

pub use builder::{
    Builder, DEFAULT_STACK_SIZE, DEFAULT_WORKER_STACK_SIZE, MAX_STACK_SIZE, MIN_STACK_SIZE, WORKERS_ENV,
};
pub use metrics::{Metrics, WorkerMetrics};
pub use scope::{Scope, ScopedJoinHandle};

use crate::task::{cell, Header, JoinHandle};
use shared::Shared;
use std::io;
use std::ptr::NonNull;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A pool of worker threads running fibra tasks.
///
/// Dropping the runtime shuts it down (see [`shutdown`](Runtime::shutdown)).
///
/// ```
/// let rt = fibra::Runtime::builder().workers(2).build()?;
/// let sum = rt.block_on(|| {
///     let handles: Vec<_> = (1..=10u64).map(|i| fibra::spawn(move || i * i)).collect();
///     handles.into_iter().map(|h| h.join().unwrap()).sum::<u64>()
/// });
/// assert_eq!(sum, 385);
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Runtime {
    handle: Handle,
    threads: Vec<std::thread::JoinHandle<()>>,
}

/// A cloneable reference to a [`Runtime`], for spawning from anywhere.
/// It does not keep the workers alive: once the runtime shuts down, spawns
/// through a handle are cancelled.
///
/// ```
/// let rt = fibra::Runtime::builder().workers(2).build()?;
/// let handle = rt.handle().clone();
/// let from_thread = std::thread::spawn(move || handle.spawn(|| 21 * 2).join().unwrap());
/// assert_eq!(from_thread.join().unwrap(), 42);
///
/// let late = rt.handle().clone();
/// rt.shutdown();
/// assert!(late.spawn(|| ()).join().unwrap_err().is_cancelled());
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone)]
pub struct Handle {
    shared: Arc<Shared>,
}

impl Runtime {
    /// A runtime with the default configuration: one worker per CPU this
    /// process may use, or `FIBRA_WORKERS` when set.
    ///
    /// # Errors
    /// A malformed or zero `FIBRA_WORKERS`, or a failure to start a thread.
    pub fn new() -> io::Result<Runtime> {
        Builder::new().build()
    }

    /// A [`Builder`] to configure a runtime.
    pub fn builder() -> Builder {
        Builder::new()
    }

    pub(crate) fn start(
        num_workers: usize,
        thread_name: &str,
        worker_stack_size: usize,
        fiber_stack_size: usize,
    ) -> io::Result<Runtime> {
        let shared = Arc::new(Shared::new(num_workers, fiber_stack_size));
        let mut runtime = Runtime {
            handle: Handle {
                shared: shared.clone(),
            },
            threads: Vec::new(),
        };
        for index in 0..num_workers {
            let shared = shared.clone();
            let thread = std::thread::Builder::new()
                .name(format!("{thread_name}-{index}"))
                .stack_size(worker_stack_size)
                .spawn(move || crate::worker::run_worker(shared, index));
            match thread {
                Ok(thread) => runtime.threads.push(thread),
                Err(error) => {
                    // Workers that did start must not wait for the missing one.
                    runtime.handle.shared.close();
                    for _ in index..num_workers {
                        runtime.handle.shared.worker_exited();
                    }
                    return Err(io::Error::new(
                        error.kind(),
                        format!("fibra: could not start worker thread {index}: {error}"),
                    ));
                }
            }
        }
        Ok(runtime)
    }

    /// A handle for spawning onto this runtime from anywhere.
    pub fn handle(&self) -> &Handle {
        &self.handle
    }

    /// The number of worker threads.
    pub fn num_workers(&self) -> usize {
        self.handle.num_workers()
    }

    /// Spawns a task. See [`Handle::spawn`].
    pub fn spawn<F, T>(&self, f: F) -> JoinHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.handle.spawn(f)
    }

    /// Spawns a task nobody will join. See [`Handle::spawn_detached`].
    pub fn spawn_detached<F>(&self, f: F)
    where
        F: FnOnce() + Send + 'static,
    {
        self.handle.spawn_detached(f)
    }

    /// Runs `f` as a task and waits for it. See [`Handle::block_on`].
    pub fn block_on<F, T>(&self, f: F) -> T
    where
        F: FnOnce() -> T + Send,
        T: Send,
    {
        self.handle.block_on(f)
    }

    /// Spawns tasks that may borrow from the caller. See [`Handle::scope`].
    pub fn scope<'env, F, T>(&self, f: F) -> T
    where
        F: for<'scope> FnOnce(&'scope Scope<'scope, 'env>) -> T,
    {
        self.handle.scope(f)
    }

    /// A snapshot of the runtime's counters.
    pub fn metrics(&self) -> Metrics {
        self.handle.metrics()
    }

    /// Shuts the runtime down and waits for it.
    ///
    /// New spawns are refused from now on: they return a handle whose
    /// [`join`](JoinHandle::join) gives a cancellation error. Tasks already
    /// running finish; every task still queued is dropped exactly once
    /// without running, and its handle gets the cancellation error. Then the
    /// worker threads are joined.
    ///
    /// A task that is blocked (parked on its fiber, sleeping included)
    /// counts as running: its worker keeps going until it finishes (a task
    /// it joins that was still queued is cancelled, so that join returns;
    /// a sleep ends at its deadline). A task blocked forever
    /// makes `shutdown` wait forever, as joining a thread blocked forever
    /// would. Use
    /// [`shutdown_timeout`](Self::shutdown_timeout) when that can happen.
    ///
    /// Called from inside one of this runtime's own tasks it cannot wait for
    /// its own worker: it closes the runtime and returns.
    pub fn shutdown(mut self) {
        self.shutdown_until(None);
    }

    /// Like [`shutdown`](Self::shutdown) but waits at most `timeout` for the
    /// running tasks to finish. Returns whether every worker finished in
    /// time; if not, the remaining workers finish in the background.
    pub fn shutdown_timeout(mut self, timeout: Duration) -> bool {
        self.shutdown_until(Some(Instant::now() + timeout))
    }

    fn shutdown_until(&mut self, deadline: Option<Instant>) -> bool {
        let shared = &self.handle.shared;
        shared.close();
        let on_own_worker =
            crate::worker::with_current(|cx| cx.is_some_and(|cx| Arc::ptr_eq(&cx.shared, shared)));
        if on_own_worker || !shared.wait_for_workers(deadline) {
            self.threads.clear(); // detach: they finish on their own
            return false;
        }
        for thread in self.threads.drain(..) {
            // A worker never unwinds (task panics are caught), so this is Ok.
            let _ = thread.join();
        }
        shared.drain_after_exit();
        true
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        if !self.threads.is_empty() {
            self.shutdown_until(None);
        }
    }
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("workers", &self.num_workers())
            .finish()
    }
}

impl std::fmt::Debug for Handle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handle")
            .field("workers", &self.num_workers())
            .finish()
    }
}

impl Handle {
    pub(crate) fn from_shared(shared: Arc<Shared>) -> Handle {
        Handle { shared }
    }

    /// The number of worker threads.
    pub fn num_workers(&self) -> usize {
        self.shared.workers.len()
    }

    /// Spawns a task that runs `f` on one of the workers.
    ///
    /// From inside a task of this runtime this is the local fast path: no
    /// lock and, in steady state, no allocation for closures up to 80 bytes.
    /// From any other thread the task enters through the global queue.
    ///
    /// On a runtime that is shutting down, the task is dropped at once and
    /// the handle's [`join`](JoinHandle::join) returns a cancellation error.
    pub fn spawn<F, T>(&self, f: F) -> JoinHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        spawn_on(&self.shared, f)
    }

    /// Spawns a task that runs `f`, without a handle: fire and forget, like
    /// Go's `go` statement (and C's `fibra_spawn`). Cheaper than
    /// `drop(spawn(f))`: the task never has a handle to track. A panic in
    /// `f` is reported by the panic hook, like any task's, and goes no
    /// further. On a runtime that is shutting down, `f` is dropped unrun.
    /// To wait for detached tasks, count them with a
    /// [`WaitGroup`](crate::sync::WaitGroup) or a channel.
    ///
    /// ```
    /// let rt = fibra::Runtime::builder().workers(2).build()?;
    /// let wg = fibra::sync::WaitGroup::new();
    /// for _ in 0..100 {
    ///     wg.add(1);
    ///     let wg = wg.clone();
    ///     rt.handle().spawn_detached(move || wg.done());
    /// }
    /// wg.wait();
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn spawn_detached<F>(&self, f: F)
    where
        F: FnOnce() + Send + 'static,
    {
        spawn_detached_on(&self.shared, f)
    }

    /// Runs `f` as a task on this runtime and waits for its result, like Go's
    /// main goroutine. `f` may borrow from the caller.
    ///
    /// Called from one of this runtime's tasks, `f` simply runs in place.
    ///
    /// # Panics
    /// Re-raises `f`'s panic; panics if the runtime shut down before `f`
    /// could run.
    pub fn block_on<F, T>(&self, f: F) -> T
    where
        F: FnOnce() -> T + Send,
        T: Send,
    {
        let on_own_worker =
            crate::worker::with_current(|cx| cx.is_some_and(|cx| Arc::ptr_eq(&cx.shared, &self.shared)));
        if on_own_worker {
            return f();
        }
        // SAFETY: `join` below returns only once the task has run or been
        // dropped, so `f`'s borrows outlive the task; `join` does not unwind.
        let task = unsafe { cell::allocate(f, 2, Arc::as_ptr(&self.shared) as usize) };
        self.shared.schedule_then_block(task);
        // SAFETY: `allocate` created the handle reference; it is ours.
        let handle = unsafe { JoinHandle::<T>::from_raw(task) };
        match handle.join() {
            Ok(value) => value,
            Err(error) if error.is_panic() => crate::worker::resume(error.into_panic()),
            Err(_) => panic!("fibra: block_on: the runtime shut down before the task could run"),
        }
    }

    /// Creates a scope for tasks that borrow from the caller, like
    /// [`std::thread::scope`]. `f` runs on the calling thread; every task
    /// spawned through the [`Scope`] (including nested spawns) has finished
    /// when `scope` returns.
    ///
    /// # Panics
    /// After all tasks finished: re-raises the panic of `f`, or else of the
    /// first task that panicked and whose handle was not joined; panics if
    /// tasks were cancelled because the runtime shut down.
    ///
    /// ```
    /// let rt = fibra::Runtime::builder().workers(2).build()?;
    /// let mut data = vec![1, 2, 3, 4];
    /// let total = std::sync::atomic::AtomicU32::new(0);
    /// rt.scope(|s| {
    ///     for x in data.iter_mut() {
    ///         let total = &total;
    ///         s.spawn(move || {
    ///             *x *= 10;
    ///             total.fetch_add(*x, std::sync::atomic::Ordering::Relaxed);
    ///         });
    ///     }
    /// });
    /// assert_eq!(data, [10, 20, 30, 40]);
    /// assert_eq!(total.into_inner(), 100);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn scope<'env, F, T>(&self, f: F) -> T
    where
        F: for<'scope> FnOnce(&'scope Scope<'scope, 'env>) -> T,
    {
        scope::run_scope(self.clone(), f)
    }

    /// A snapshot of the runtime's counters.
    pub fn metrics(&self) -> Metrics {
        Metrics {
            workers: self.shared.workers.iter().map(|w| w.metrics.snapshot()).collect(),
            spawned_outside: self.shared.inject.single_pushes(),
            cancelled: self.shared.cancelled.load(std::sync::atomic::Ordering::Relaxed),
        }
    }
}

/// Spawns onto `shared` without cloning it (the hot path of `fibra::spawn`).
pub(crate) fn spawn_on<F, T>(shared: &Arc<Shared>, f: F) -> JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    // SAFETY: `F` and `T` are 'static: they borrow nothing that could end.
    unsafe { spawn_unchecked_on(shared, f) }
}

/// Spawns a detached task onto `shared` (see [`Handle::spawn_detached`]).
pub(crate) fn spawn_detached_on<F>(shared: &Arc<Shared>, f: F)
where
    F: FnOnce() + Send + 'static,
{
    let task = cell::allocate_detached(f, Arc::as_ptr(shared) as usize);
    shared.schedule(task);
}

/// # Safety
/// Whatever `f` and its output borrow must outlive the task: the caller
/// waits for it (through the returned handle or otherwise) before those
/// borrows end.
unsafe fn spawn_unchecked_on<F, T>(shared: &Arc<Shared>, f: F) -> JoinHandle<T>
where
    F: FnOnce() -> T + Send,
    T: Send,
{
    // SAFETY: forwarded to the caller.
    let task = unsafe { spawn_raw(shared, f, 2) };
    // SAFETY: `allocate` created the handle reference; it is ours.
    unsafe { JoinHandle::from_raw(task) }
}

/// Allocates and schedules a task with `refs` references: the scheduler's,
/// the handle's, and any extra the caller keeps (a scope's).
///
/// # Safety
/// As for [`spawn_unchecked_on`].
pub(crate) unsafe fn spawn_raw<F, T>(shared: &Arc<Shared>, f: F, refs: u32) -> NonNull<Header>
where
    F: FnOnce() -> T + Send,
    T: Send,
{
    // SAFETY: the caller guarantees the borrows outlive the task.
    let task = unsafe { cell::allocate(f, refs, Arc::as_ptr(shared) as usize) };
    shared.schedule(task);
    task
}

#[cfg(test)]
mod tests;
