//! `Builder`: configures and starts a [`Runtime`].

use super::Runtime;
use crate::idle::MAX_WORKERS;
use std::io;
use std::num::NonZeroUsize;

/// The environment variable that sets the default worker count (like Go's
/// `GOMAXPROCS`).
pub const WORKERS_ENV: &str = "FIBRA_WORKERS";

/// Configures a [`Runtime`].
///
/// ```
/// let rt = fibra::Runtime::builder()
///     .workers(4)
///     .thread_name("my-app-worker")
///     .build()?;
/// assert_eq!(rt.num_workers(), 4);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Builder {
    workers: Option<usize>,
    thread_name: String,
    worker_stack_size: usize,
    stack_size: usize,
}

/// Default stack size of a worker thread's own stack: 2 MiB. Tasks do not run
/// on it but on fiber stacks ([`Builder::stack_size`]); it holds the worker's
/// dispatcher (and, in builds that cannot switch stacks, such as under Miri,
/// the tasks themselves).
pub const DEFAULT_WORKER_STACK_SIZE: usize = 2 << 20;
const MIN_WORKER_STACK_SIZE: usize = 64 << 10;
const MAX_WORKER_STACK_SIZE: usize = 1 << 30;

pub use crate::stack::{DEFAULT_STACK_SIZE, MAX_STACK_SIZE, MIN_STACK_SIZE};

impl Default for Builder {
    fn default() -> Builder {
        Builder::new()
    }
}

impl Builder {
    /// A builder with the defaults: worker count from `FIBRA_WORKERS` or the
    /// CPUs this process may use, threads named `fibra-worker-N`.
    pub fn new() -> Builder {
        Builder {
            workers: None,
            thread_name: "fibra-worker".to_string(),
            worker_stack_size: DEFAULT_WORKER_STACK_SIZE,
            stack_size: DEFAULT_STACK_SIZE,
        }
    }

    /// Sets the number of worker threads. `0` makes [`build`](Self::build)
    /// fail with [`io::ErrorKind::InvalidInput`].
    pub fn workers(mut self, count: usize) -> Builder {
        self.workers = Some(count);
        self
    }

    /// Sets the prefix of the worker threads' names (`PREFIX-0`, `PREFIX-1`, ...).
    pub fn thread_name(mut self, prefix: impl Into<String>) -> Builder {
        self.thread_name = prefix.into();
        self
    }

    /// Sets the stack size of each worker thread, in bytes (default
    /// [`DEFAULT_WORKER_STACK_SIZE`]). Values below 64 KiB or above 1 GiB
    /// make [`build`](Self::build) fail with [`io::ErrorKind::InvalidInput`].
    pub fn worker_stack_size(mut self, bytes: usize) -> Builder {
        self.worker_stack_size = bytes;
        self
    }

    /// Sets the size of each task's stack, in bytes (default
    /// [`DEFAULT_STACK_SIZE`], 1 MiB; rounded up to whole pages).
    ///
    /// Tasks run on pooled *fiber* stacks of this size: a task that blocks
    /// keeps its stack while its worker moves on. Memory is committed only as
    /// a stack is touched, so a large size costs address space, not RAM
    /// (and page tables: about 2 KiB per blocked task at 1 MiB, 137 bytes at
    /// 64 KiB). The default lets a task keep about 1,000 KiB of locals across
    /// a blocking call, and pass messages by value through
    /// [`chan`](crate::chan) of up to about 120 KiB in release builds but
    /// only about 50 KiB in debug builds (a message takes about 8 and 20
    /// times its size of stack there; see [`DEFAULT_STACK_SIZE`] for the
    /// measurements). A
    /// task that overflows its stack stops the process with the message
    /// "fiber stack overflow". Values below [`MIN_STACK_SIZE`] (16 KiB) or
    /// above [`MAX_STACK_SIZE`] (1 GiB) make [`build`](Self::build) fail with
    /// [`io::ErrorKind::InvalidInput`].
    ///
    /// ```
    /// // Deeply recursive tasks: give each one 8 MiB.
    /// let rt = fibra::Runtime::builder().stack_size(8 << 20).build()?;
    /// assert_eq!(rt.block_on(|| (0..100u64).sum::<u64>()), 4950);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn stack_size(mut self, bytes: usize) -> Builder {
        self.stack_size = bytes;
        self
    }

    /// Starts the worker threads.
    ///
    /// # Errors
    /// [`io::ErrorKind::InvalidInput`] for a worker count of zero or above
    /// 65,535, a malformed `FIBRA_WORKERS`, or a stack size out of range; the
    /// OS error if a thread could not be started.
    pub fn build(self) -> io::Result<Runtime> {
        let workers = match self.workers {
            Some(count) => validate_worker_count(count, "Builder::workers")?,
            None => default_worker_count()?,
        };
        if !(MIN_WORKER_STACK_SIZE..=MAX_WORKER_STACK_SIZE).contains(&self.worker_stack_size) {
            return Err(invalid(format!(
                "fibra: Builder::worker_stack_size: {} bytes is outside the supported {} KiB to {} MiB",
                self.worker_stack_size,
                MIN_WORKER_STACK_SIZE >> 10,
                MAX_WORKER_STACK_SIZE >> 20
            )));
        }
        let stack_size = crate::stack::validate_stack_size(self.stack_size)?;
        Runtime::start(workers, &self.thread_name, self.worker_stack_size, stack_size)
    }
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, message)
}

fn validate_worker_count(count: usize, source: &str) -> io::Result<usize> {
    if count == 0 {
        return Err(invalid(format!(
            "fibra: {source}: the worker count must be at least 1, got 0"
        )));
    }
    if count > MAX_WORKERS {
        return Err(invalid(format!(
            "fibra: {source}: {count} workers is more than the supported {MAX_WORKERS}"
        )));
    }
    Ok(count)
}

/// `FIBRA_WORKERS` if set, else the CPUs this process may run on (the
/// affinity mask and cgroup CPU quota are respected by
/// `std::thread::available_parallelism`).
pub(crate) fn default_worker_count() -> io::Result<usize> {
    match std::env::var(WORKERS_ENV) {
        Ok(value) => parse_workers_env(&value),
        Err(std::env::VarError::NotPresent) => Ok(std::thread::available_parallelism()
            .map(NonZeroUsize::get)
            .unwrap_or(1)
            .min(MAX_WORKERS)),
        Err(std::env::VarError::NotUnicode(raw)) => Err(invalid(format!(
            "fibra: {WORKERS_ENV}={raw:?} is not a positive integer"
        ))),
    }
}

pub(crate) fn parse_workers_env(value: &str) -> io::Result<usize> {
    let count: usize = value.trim().parse().map_err(|_| {
        invalid(format!(
            "fibra: {WORKERS_ENV}={value:?} is not a positive integer"
        ))
    })?;
    validate_worker_count(count, WORKERS_ENV)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_values() {
        assert_eq!(parse_workers_env("3").unwrap(), 3);
        assert_eq!(parse_workers_env(" 8\n").unwrap(), 8);
        for bad in ["", "0", "-1", "two", "1.5", "99999999"] {
            let err = parse_workers_env(bad).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{bad:?}");
            assert!(err.to_string().contains("FIBRA_WORKERS"), "{err}");
        }
    }

    #[test]
    fn absurd_stack_sizes_are_errors() {
        for bytes in [0, 1024, 2 << 30] {
            let err = Builder::new()
                .workers(1)
                .worker_stack_size(bytes)
                .build()
                .unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
            assert!(err.to_string().contains("worker_stack_size"), "{err}");
        }
    }

    #[test]
    fn fiber_stack_sizes_are_checked() {
        for bytes in [0, 1024, MIN_STACK_SIZE - 1, MAX_STACK_SIZE + 1] {
            let err = Builder::new().workers(1).stack_size(bytes).build().unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
            assert!(err.to_string().contains("Builder::stack_size"), "{err}");
        }
    }

    #[test]
    fn zero_workers_is_an_error_not_a_panic() {
        let err = Builder::new().workers(0).build().unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert!(err.to_string().contains("at least 1"), "{err}");
    }
}
