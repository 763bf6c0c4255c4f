//! Run queues: where runnable work waits.
//!
//! - [`local`]: each worker's fixed-capacity ring. The owner pushes and pops;
//!   other workers steal half of it at once.
//! - [`inject`]: the global queue (lock-free for producers). Threads that are
//!   not workers spawn into it, and a full local ring spills half of itself
//!   into it in one batch.
//! - [`join_deque`]: each worker's Chase-Lev deque of jobs offered by
//!   `fibra::join`; the owner takes back LIFO, thieves steal the oldest.
//! - [`next_slots`]: each worker's small ring of the tasks it spawned last,
//!   run newest first (in front of the run queue); thieves take one at a time.
//!
//! Why three per-worker queues instead of one: the run queue is scheduled FIFO
//! (fair among long-lived tasks, as Go and Tokio do) and stolen half at a time,
//! while a fork-join job must be taken back LIFO by its owner. Taking from the
//! tail of a ring that thieves steal half of at a time is not safe without a
//! second protocol, so the join jobs get a textbook Chase-Lev deque whose
//! thieves take one job at a time — the oldest, and so the biggest. The
//! next slots are Go's `runnext` grown to a few tasks: the newest spawns run
//! first (LIFO, for the locality of spawn-then-wait trees), each slot taken
//! by a single swap, so thieves need no protocol beyond that; the run queue
//! behind them keeps its FIFO order and its turn.

pub(crate) mod inject;
pub(crate) mod join_deque;
pub(crate) mod local;
pub(crate) mod next_slots;

/// Values for the queue tests: boxed numbers whose pointers the queues
/// carry, each unboxed (freed) when it comes out, so that a value taken
/// twice is a double free that the test (or Miri, or loom) catches.
#[cfg(test)]
pub(crate) mod test_values {
    pub(crate) fn boxed(n: usize) -> *mut usize {
        Box::into_raw(Box::new(n))
    }

    pub(crate) fn unbox(p: *mut usize) -> usize {
        // SAFETY: every pointer in the tests came from `boxed` and leaves its
        // queue exactly once (which is what the tests check).
        *unsafe { Box::from_raw(p) }
    }
}
