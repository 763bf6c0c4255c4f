//! The free functions `fibra::spawn`, `fibra::scope`, `fibra::join`: they use
//! the runtime of the current worker thread, else a global runtime started on
//! first use (with `Runtime::new()`'s configuration).

use super::{spawn_detached_on, spawn_on, Handle, Runtime, Scope};
use crate::task::JoinHandle;
use std::sync::OnceLock;

static GLOBAL: OnceLock<Runtime> = OnceLock::new();

/// The global runtime, started on first use. It is never shut down.
///
/// # Panics
/// If it cannot start (a malformed `FIBRA_WORKERS`, or no threads).
pub(crate) fn global_runtime() -> &'static Runtime {
    GLOBAL.get_or_init(|| {
        Runtime::new().unwrap_or_else(|error| panic!("fibra: cannot start the global runtime: {error}"))
    })
}

/// Spawns a task on the current worker's runtime, or on the global runtime
/// when called from any other thread. See [`Handle::spawn`].
///
/// ```
/// let handle = fibra::spawn(|| "hello from a task");
/// assert_eq!(handle.join().unwrap(), "hello from a task");
/// ```
pub fn spawn<F, T>(f: F) -> JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let mut f = Some(f);
    let local =
        crate::worker::with_current(|cx| cx.map(|cx| spawn_on(&cx.shared, f.take().expect("unused"))));
    match local {
        Some(handle) => handle,
        None => global_runtime().spawn(f.take().expect("not spawned locally")),
    }
}

/// Spawns a task nobody will join (fire and forget, Go's `go`) on the
/// current worker's runtime, or on the global runtime when called from any
/// other thread. See [`Handle::spawn_detached`].
///
/// ```
/// let (tx, rx) = fibra::chan::bounded(1);
/// fibra::spawn_detached(move || tx.send("done").unwrap());
/// assert_eq!(rx.recv().unwrap(), "done");
/// ```
pub fn spawn_detached<F>(f: F)
where
    F: FnOnce() + Send + 'static,
{
    let mut f = Some(f);
    let local = crate::worker::with_current(|cx| {
        cx.map(|cx| spawn_detached_on(&cx.shared, f.take().expect("unused")))
    });
    if local.is_none() {
        global_runtime().spawn_detached(f.take().expect("not spawned locally"));
    }
}

/// A scope on the current worker's runtime, or on the global runtime. See
/// [`Handle::scope`].
///
/// ```
/// let words = ["a", "bb", "ccc"];
/// let lengths: Vec<usize> = fibra::scope(|s| {
///     let handles: Vec<_> = words.iter().map(|w| s.spawn(move || w.len())).collect();
///     handles.into_iter().map(|h| h.join().unwrap()).collect()
/// });
/// assert_eq!(lengths, [1, 2, 3]);
/// ```
pub fn scope<'env, F, T>(f: F) -> T
where
    F: for<'scope> FnOnce(&'scope Scope<'scope, 'env>) -> T,
{
    current_handle().scope(f)
}

fn current_handle() -> Handle {
    crate::worker::with_current(|cx| cx.map(|cx| Handle::from_shared(cx.shared.clone())))
        .unwrap_or_else(|| global_runtime().handle().clone())
}

/// Runs `a` and `b`, potentially in parallel, and returns both results
/// (fork-join, as `rayon::join`).
///
/// On a worker, `b` is offered to other workers while this thread runs `a`;
/// if nobody took it, this thread runs `b` too. Nothing is allocated: the
/// offered job lives on this stack frame. Called from any other thread, the
/// whole `join` runs on the global runtime.
///
/// If either closure panics, the panic is re-raised after both finished.
///
/// ```
/// fn fib(n: u64) -> u64 {
///     if n < 2 {
///         return n;
///     }
///     let (a, b) = fibra::join(|| fib(n - 1), || fib(n - 2));
///     a + b
/// }
/// assert_eq!(fib(20), 6765);
/// ```
pub fn join<A, B, RA, RB>(a: A, b: B) -> (RA, RB)
where
    A: FnOnce() -> RA + Send,
    B: FnOnce() -> RB + Send,
    RA: Send,
    RB: Send,
{
    let mut closures = Some((a, b));
    let joined = crate::worker::with_current(|cx| {
        cx.map(|cx| {
            let (a, b) = closures.take().expect("unused");
            cx.join(a, b)
        })
    });
    match joined {
        Some(results) => results,
        None => {
            let (a, b) = closures.take().expect("not joined on a worker");
            global_runtime().block_on(move || join(a, b))
        }
    }
}

/// Lets other tasks run: inside a task, the task goes to the back of its
/// worker's queue of woken tasks and resumes on the same worker thread after
/// the worker has run other work; on a thread that is not a worker, this is
/// [`std::thread::yield_now`].
///
/// ```
/// use std::sync::atomic::{AtomicBool, Ordering};
/// use std::sync::Arc;
///
/// let rt = fibra::Runtime::builder().workers(1).build()?;
/// let flag = Arc::new(AtomicBool::new(false));
/// let setter = {
///     let flag = flag.clone();
///     move || flag.store(true, Ordering::Release)
/// };
/// // On one worker, the spawned task can only run while this one yields.
/// rt.block_on(move || {
///     let handle = fibra::spawn(setter);
///     while !flag.load(Ordering::Acquire) {
///         fibra::yield_now();
///     }
///     handle.join().unwrap();
/// });
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn yield_now() {
    if crate::fiber::current().is_some() {
        crate::worker::reserve_loop_fiber();
        crate::fiber::suspend(crate::fiber::Request::Yield);
    } else {
        std::thread::yield_now();
    }
}
