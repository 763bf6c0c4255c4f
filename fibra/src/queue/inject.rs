//! The global (injection) queue: multi-producer, multi-consumer, FIFO.
//!
//! Producers are threads that are not workers (their spawns must never touch a
//! worker's ring, which has a single owner) and workers whose ring overflowed
//! (they move half of it here in one batch). Consumers are workers, which take
//! a batch at a time: when their ring is empty, and every
//! [`GLOBAL_QUEUE_INTERVAL`](crate::worker) ticks so that a busy worker
//! cannot starve the global queue.
//!
//! It is a `VecDeque` under a mutex, like Go's `sched.runq` and Tokio's
//! inject queue: producers outside the workers and batch moves are rare
//! enough that an uncontended futex mutex is cheap, and the lock makes
//! "closed" atomic with "pushed": once [`close`](InjectQueue::close) returns,
//! no push can succeed, so shutdown can drain the queue exactly once.
//! `len` is mirrored in an atomic so that the common "is it empty?" check
//! takes no lock.

use crate::loom::atomic::{AtomicUsize, Ordering};
use crate::loom::{lock, Mutex};
use crate::padded::CachePadded;
use std::collections::VecDeque;

pub(crate) struct InjectQueue<T> {
    inner: CachePadded<Mutex<Inner<T>>>,
    /// `inner.tasks.len()`, written under the lock, read without it (on its
    /// own line: workers poll it often, producers take the lock often).
    len: CachePadded<AtomicUsize>,
}

struct Inner<T> {
    tasks: VecDeque<*mut T>,
    closed: bool,
    /// Tasks accepted by [`InjectQueue::push`] (one at a time: the spawns
    /// from outside the workers), counted under the lock we hold anyway.
    single_pushes: u64,
}

// SAFETY: only pointers are stored; ownership of the pointees moves with them.
unsafe impl<T: Send> Send for InjectQueue<T> {}
// SAFETY: every access to `inner` holds the mutex; `len` is atomic.
unsafe impl<T: Send> Sync for InjectQueue<T> {}

impl<T> InjectQueue<T> {
    pub(crate) fn new() -> InjectQueue<T> {
        InjectQueue {
            inner: CachePadded(Mutex::new(Inner {
                tasks: VecDeque::new(),
                closed: false,
                single_pushes: 0,
            })),
            len: CachePadded(AtomicUsize::new(0)),
        }
    }

    /// Possibly stale; callers that must not miss a push use a SeqCst fence
    /// before it (see `idle`).
    pub(crate) fn len(&self) -> usize {
        self.len.load(Ordering::Relaxed)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends `tasks` in order; gives them back if the queue is closed.
    pub(crate) fn push_batch(&self, tasks: impl IntoIterator<Item = *mut T>) -> Result<(), Vec<*mut T>> {
        let mut inner = lock(&self.inner);
        if inner.closed {
            return Err(tasks.into_iter().collect());
        }
        inner.tasks.extend(tasks);
        self.len.store(inner.tasks.len(), Ordering::Relaxed);
        Ok(())
    }

    /// Appends one task; gives it back if the queue is closed.
    pub(crate) fn push(&self, task: *mut T) -> Result<(), *mut T> {
        let mut inner = lock(&self.inner);
        if inner.closed {
            return Err(task);
        }
        inner.tasks.push_back(task);
        inner.single_pushes += 1;
        self.len.store(inner.tasks.len(), Ordering::Relaxed);
        Ok(())
    }

    /// How many tasks `push` has accepted so far.
    pub(crate) fn single_pushes(&self) -> u64 {
        lock(&self.inner).single_pushes
    }

    /// Removes up to `max` tasks from the front, passing each to `sink` in
    /// FIFO order (under the lock: `sink` must be short). Returns the count.
    pub(crate) fn pop_batch(&self, max: usize, mut sink: impl FnMut(*mut T)) -> usize {
        if self.is_empty() || max == 0 {
            return 0;
        }
        let mut inner = lock(&self.inner);
        let count = max.min(inner.tasks.len());
        for task in inner.tasks.drain(..count) {
            sink(task);
        }
        self.len.store(inner.tasks.len(), Ordering::Relaxed);
        count
    }

    /// Refuses all later pushes. Returns whether this call closed it.
    pub(crate) fn close(&self) -> bool {
        let mut inner = lock(&self.inner);
        !std::mem::replace(&mut inner.closed, true)
    }

    /// Removes every task (used at shutdown, after `close`).
    pub(crate) fn drain_all(&self) -> Vec<*mut T> {
        let mut inner = lock(&self.inner);
        let tasks: Vec<_> = inner.tasks.drain(..).collect();
        self.len.store(0, Ordering::Relaxed);
        tasks
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn fifo_batches_and_close() {
        let q: InjectQueue<u8> = InjectQueue::new();
        let mut items: Vec<u8> = (0..10).collect();
        let ptrs: Vec<*mut u8> = items.iter_mut().map(|x| x as *mut u8).collect();
        q.push_batch(ptrs[..5].iter().copied()).unwrap();
        q.push(ptrs[5]).unwrap();
        let mut out = Vec::new();
        assert_eq!(q.pop_batch(4, |p| out.push(p)), 4);
        assert_eq!(out, ptrs[..4]);
        assert_eq!(q.len(), 2);
        assert!(q.close());
        assert!(!q.close());
        assert_eq!(q.push(ptrs[6]), Err(ptrs[6]));
        assert_eq!(q.single_pushes(), 1);
        assert_eq!(q.drain_all(), ptrs[4..6]);
        assert!(q.is_empty());
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use crate::loom::{thread, Arc};

    /// Two producers and a consumer race with `close`: every task is either
    /// refused, popped, or drained after close — exactly once.
    #[test]
    fn producers_consumer_and_close() {
        let explored = crate::loom::model_counting(|| {
            let q: Arc<InjectQueue<u8>> = Arc::new(InjectQueue::new());
            let producers: Vec<_> = (1..=2usize)
                .map(|id| {
                    let q = q.clone();
                    thread::spawn(move || {
                        // Fake, distinct, never-dereferenced pointers.
                        let refused = q.push_batch([id as *mut u8, (id + 10) as *mut u8]).err();
                        refused.unwrap_or_default()
                    })
                })
                .collect();
            let mut seen = Vec::new();
            q.pop_batch(3, |p| seen.push(p as usize));
            q.close();
            for p in producers {
                seen.extend(p.join().unwrap().into_iter().map(|p| p as usize));
            }
            seen.extend(q.drain_all().into_iter().map(|p| p as usize));
            seen.sort_unstable();
            assert_eq!(seen, vec![1, 2, 11, 12]);
        });
        assert!(explored > 1, "loom explored {explored} interleavings");
    }
}
