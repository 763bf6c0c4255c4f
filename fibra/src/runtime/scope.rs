//! `scope`: tasks that may borrow from the caller's stack.
//!
//! Soundness rests on one counter, `pending`: one for the scope body, plus one
//! per spawned task until that task's *output* is gone (or its closure was
//! dropped unrun). A task's output is a [`ScopedOutput`]; whoever drops it —
//! the runner when the handle is gone, the handle when dropped or joined —
//! decrements `pending`, after dropping the `T` inside. So when `pending`
//! reaches zero, no closure or output that borrows `'env` is still alive.
//! (A `ScopedJoinHandle` that is leaked with `mem::forget` keeps its count
//! forever: the scope then never returns, which is safe.)
//!
//! Waiting: the scope keeps a reference to each task it spawned (`tasks`).
//! When the body returns on a worker of the runtime, the scope runs every
//! task that nobody has started yet itself (it *claims* it, see
//! `task::state`) and sleeps only for tasks already running elsewhere.

use super::Handle;
use crate::task::{cell, Header, JoinHandle};
use crate::worker::{resume, StackJobLatch as Latch};
use std::any::Any;
use std::marker::PhantomData;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// A scope to spawn borrowing tasks in; see [`Handle::scope`](crate::Handle::scope).
pub struct Scope<'scope, 'env: 'scope> {
    handle: Handle,
    state: ScopeState,
    /// Invariant in 'scope and 'env, as in `std::thread::Scope`.
    _scope: PhantomData<&'scope mut &'scope ()>,
    _env: PhantomData<&'env mut &'env ()>,
}

struct ScopeState {
    /// Tasks spawned in this scope, each with a reference owned by the scope.
    tasks: Mutex<Vec<TaskRef>>,
    pending: AtomicUsize,
    latch: Latch,
    unhandled_panic: Mutex<Option<Box<dyn Any + Send>>>,
    cancelled: AtomicUsize,
}

/// A task reference owned by the scope.
struct TaskRef(NonNull<Header>);

// SAFETY: a reference to a task cell may be used and released from any thread.
unsafe impl Send for TaskRef {}

/// A handle to a scoped task: join it to get its result (and its panic, which
/// then no longer propagates from the scope).
///
/// ```
/// let rt = fibra::Runtime::builder().workers(2).build()?;
/// let text = String::from("borrowed, not moved");
/// let words = rt.scope(|s| {
///     let handle = s.spawn(|| text.split(' ').count());
///     handle.join().unwrap()
/// });
/// assert_eq!(words, 3);
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct ScopedJoinHandle<'scope, T> {
    inner: JoinHandle<ScopedOutput<'scope, T>>,
    _scope: PhantomData<&'scope ()>,
}

impl<'scope, 'env> Scope<'scope, 'env> {
    /// Spawns a task that may borrow anything that outlives the scope.
    pub fn spawn<F, T>(&'scope self, f: F) -> ScopedJoinHandle<'scope, T>
    where
        F: FnOnce() -> T + Send + 'scope,
        T: Send + 'scope,
    {
        // Relaxed: the spawner is itself counted (the body or a pending
        // task), so `pending` cannot reach zero before this increment.
        self.state.pending.fetch_add(1, Ordering::Relaxed);
        let guard = PendingGuard {
            state: &self.state,
            ran: false,
        };
        let task = move || {
            let mut guard = guard;
            guard.ran = true;
            ScopedOutput {
                result: Some(catch_unwind(AssertUnwindSafe(f))),
                guard,
            }
        };
        // SAFETY: the closure and its output (ScopedOutput) borrow at most
        // 'scope; `run_scope` does not return before `pending` is zero, i.e.
        // before both are dropped (module docs). Three references: the
        // scheduler's, the handle's and the scope's.
        let header = unsafe { super::spawn_raw(&self.handle.shared, task, 3) };
        crate::loom::lock(&self.state.tasks).push(TaskRef(header));
        // SAFETY: one of the three references is the handle's.
        let inner = unsafe { JoinHandle::from_raw(header) };
        ScopedJoinHandle {
            inner,
            _scope: PhantomData,
        }
    }
}

impl<T> ScopedJoinHandle<'_, T> {
    /// Waits for the task; its panic comes back as `Err` (and is then not
    /// re-raised by the scope). A task cancelled by a shutdown also gives
    /// `Err`, with a message payload.
    pub fn join(self) -> std::thread::Result<T> {
        match self.inner.join() {
            Ok(mut output) => output.result.take().expect("a scoped output is taken once"),
            Err(error) => Err(Box::new(error.to_string())),
        }
    }

    /// Whether the task finished.
    pub fn is_finished(&self) -> bool {
        self.inner.is_finished()
    }
}

/// Decrements `pending` when dropped: by the output's drop, or by the
/// closure's drop if it never ran.
struct PendingGuard<'a> {
    state: &'a ScopeState,
    ran: bool,
}

impl Drop for PendingGuard<'_> {
    fn drop(&mut self) {
        if !self.ran {
            self.state.cancelled.fetch_add(1, Ordering::Relaxed);
        }
        self.state.done();
    }
}

/// A scoped task's output. Dropping it drops the value, records a panic
/// nobody joined, then (field order) drops the guard.
struct ScopedOutput<'a, T> {
    result: Option<std::thread::Result<T>>,
    guard: PendingGuard<'a>,
}

impl<T> Drop for ScopedOutput<'_, T> {
    fn drop(&mut self) {
        if let Some(Err(payload)) = self.result.take() {
            let mut slot = crate::loom::lock(&self.guard.state.unhandled_panic);
            slot.get_or_insert(payload);
        }
    }
}

impl ScopeState {
    /// Runs, on this thread, every scoped task nobody has started yet (only
    /// on a worker of the scope's runtime), including those they spawn.
    fn run_unstarted_tasks_here(&self) {
        loop {
            let batch = std::mem::take(&mut *crate::loom::lock(&self.tasks));
            if batch.is_empty() {
                return;
            }
            for TaskRef(task) in batch {
                crate::worker::run_inline_if_local(task);
                // SAFETY: the scope's reference, given up once.
                unsafe { cell::release(task) };
            }
        }
    }

    /// Gives up the scope's references to tasks spawned while it waited.
    fn release_task_refs(&self) {
        for TaskRef(task) in std::mem::take(&mut *crate::loom::lock(&self.tasks)) {
            // SAFETY: the scope's reference, given up once.
            unsafe { cell::release(task) };
        }
    }

    fn done(&self) {
        // AcqRel: Release orders this task's work (and its output's drop)
        // before the scope's return; Acquire lets the last decrementer's
        // latch store carry every earlier task's work.
        if self.pending.fetch_sub(1, Ordering::AcqRel) == 1 {
            // SAFETY: the latch is live until `run_scope` sees it set.
            unsafe { Latch::set(&self.latch) };
        }
    }
}

pub(super) fn run_scope<'env, F, T>(handle: Handle, f: F) -> T
where
    F: for<'scope> FnOnce(&'scope Scope<'scope, 'env>) -> T,
{
    let scope = Scope {
        handle,
        state: ScopeState {
            tasks: Mutex::new(Vec::new()),
            pending: AtomicUsize::new(1),
            latch: Latch::new(),
            unhandled_panic: Mutex::new(None),
            cancelled: AtomicUsize::new(0),
        },
        _scope: PhantomData,
        _env: PhantomData,
    };
    let body = catch_unwind(AssertUnwindSafe(|| f(&scope)));
    scope.state.done();
    scope.state.run_unstarted_tasks_here();
    crate::worker::wait_until(|| scope.state.latch.is_set());
    scope.state.release_task_refs();
    let task_panic = crate::loom::lock(&scope.state.unhandled_panic).take();
    match (body, task_panic) {
        (Err(payload), _) => resume(payload),
        (Ok(_), Some(payload)) => resume(payload),
        (Ok(value), None) => {
            let cancelled = scope.state.cancelled.load(Ordering::Relaxed);
            if cancelled > 0 {
                panic!("fibra::scope: {cancelled} scoped task(s) never ran: the runtime shut down");
            }
            value
        }
    }
}
