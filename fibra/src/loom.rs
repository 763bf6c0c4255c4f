//! The one place that chooses between `std` and `loom` primitives.
//!
//! Every lock-free structure in fibra imports its atomics, `Mutex` and
//! `thread` from here, never from `std` directly, so that building with
//! `RUSTFLAGS="--cfg loom"` swaps them all for loom's model-checked versions.
//! Code that only makes sense outside loom (thread-local caches, futexes,
//! OS threads with names) is gated with `#[cfg(not(loom))]` where it lives.

#[cfg(loom)]
pub(crate) use loom::{
    sync::{atomic, Arc, Condvar, Mutex, MutexGuard},
    thread,
};

#[cfg(not(loom))]
pub(crate) use std::sync::{atomic, Arc, Mutex, MutexGuard};
#[cfg(not(loom))]
pub(crate) use std::thread;

/// Locks a mutex, ignoring poisoning: fibra never panics while holding one of
/// its own locks, and a poisoned lock would only hide the first error.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    match mutex.lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    }
}

/// Locks a mutex if nobody holds it (ignoring poisoning, as [`lock`]).
pub(crate) fn try_lock<T>(mutex: &Mutex<T>) -> Option<MutexGuard<'_, T>> {
    match mutex.try_lock() {
        Ok(guard) => Some(guard),
        Err(std::sync::TryLockError::Poisoned(poisoned)) => Some(poisoned.into_inner()),
        Err(std::sync::TryLockError::WouldBlock) => None,
    }
}

/// Runs a loom model with a bounded preemption count and returns how many
/// interleavings loom explored, so each test can assert it explored more than
/// one (a model that silently ran on plain atomics would explore exactly one).
#[cfg(all(loom, test))]
pub(crate) fn model_counting<F>(f: F) -> usize
where
    F: Fn() + Sync + Send + 'static,
{
    use std::sync::atomic::{AtomicUsize, Ordering};
    let explored = std::sync::Arc::new(AtomicUsize::new(0));
    let counter = explored.clone();
    let mut builder = loom::model::Builder::new();
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(3);
    }
    builder.check(move || {
        counter.fetch_add(1, Ordering::Relaxed);
        f();
    });
    explored.load(Ordering::Relaxed)
}

/// Defines a constructor that is a `const fn` outside loom (std's
/// `Mutex::new` is `const`, so a primitive built on it can be a `static`)
/// and a plain `fn` under loom, whose `Mutex::new` is not `const`.
macro_rules! const_fn_unless_loom {
    ($(#[$attr:meta])* $vis:vis fn $name:ident($($arg:ident: $ty:ty),*) -> $ret:ty $body:block) => {
        #[cfg(not(loom))]
        $(#[$attr])*
        $vis const fn $name($($arg: $ty),*) -> $ret $body

        #[cfg(loom)]
        $(#[$attr])*
        $vis fn $name($($arg: $ty),*) -> $ret $body
    };
}
pub(crate) use const_fn_unless_loom;
