//! A worker's inbox: woken fibers waiting to be resumed on the worker that
//! owns them (a started fiber never moves to another thread).
//!
//! Multi-producer, single-consumer, intrusive (linked through
//! [`FiberParker::next`], so a push never allocates), unbounded: a Treiber
//! stack that any thread pushes onto and the owner empties all at once with
//! one swap, then reverses into arrival order ([`Woken`]). Taking everything
//! at once is what makes the stack ABA-free: the consumer never pops a single
//! node while producers push.
//!
//! A parker is in at most one inbox at a time, at most once: only the unparker
//! that took it out of `PARKED` pushes it (see `fiber::parker`), and the fiber
//! is not parked again before its worker took it out and resumed it.

use super::parker::FiberParker;
use crate::loom::atomic::{AtomicPtr, Ordering};
use std::ptr;

pub(crate) struct Inbox {
    head: AtomicPtr<FiberParker>,
}

impl Inbox {
    pub(crate) fn new() -> Inbox {
        Inbox {
            head: AtomicPtr::new(ptr::null_mut()),
        }
    }

    /// Queues a woken fiber. Any thread.
    pub(crate) fn push(&self, parker: &'static FiberParker) {
        let node = parker as *const FiberParker as *mut FiberParker;
        let mut head = self.head.load(Ordering::Relaxed);
        loop {
            parker.next.store(head, Ordering::Relaxed);
            // Release: pairs with the Acquire swap in `take_all`, publishing
            // `next` and everything the waker wrote before waking the fiber.
            match self
                .head
                .compare_exchange_weak(head, node, Ordering::Release, Ordering::Relaxed)
            {
                Ok(_) => return,
                Err(found) => head = found,
            }
        }
    }

    /// Whether nothing is queued. A hint for the owner (a push may land just
    /// after); the worker's sleep protocol orders it (see `worker`).
    pub(crate) fn is_empty(&self) -> bool {
        self.head.load(Ordering::Acquire).is_null() // Acquire: as in `take_all`.
    }

    /// Takes every queued fiber, oldest first. Called only by the owner.
    pub(crate) fn take_all(&self) -> Woken {
        if self.head.load(Ordering::Relaxed).is_null() {
            return Woken {
                head: ptr::null_mut(),
            };
        }
        // Acquire: pairs with the Release CAS in `push`.
        let mut newest_first = self.head.swap(ptr::null_mut(), Ordering::Acquire);
        let mut oldest_first = ptr::null_mut();
        while !newest_first.is_null() {
            // SAFETY: nodes are never-freed parkers, and the swap made the
            // whole list ours: no producer touches these links any more.
            let node = unsafe { &*newest_first };
            newest_first = node.next.load(Ordering::Relaxed);
            node.next.store(oldest_first, Ordering::Relaxed);
            oldest_first = node as *const FiberParker as *mut FiberParker;
        }
        Woken { head: oldest_first }
    }
}

/// Fibers taken out of an inbox, oldest first; owned by the worker.
pub(crate) struct Woken {
    head: *mut FiberParker,
}

impl Woken {
    pub(crate) const fn empty() -> Woken {
        Woken {
            head: ptr::null_mut(),
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.head.is_null()
    }

    pub(crate) fn pop_front(&mut self) -> Option<&'static FiberParker> {
        if self.head.is_null() {
            return None;
        }
        // SAFETY: taken out of the inbox by `take_all`: ours alone, never freed.
        let node: &'static FiberParker = unsafe { &*self.head };
        self.head = node.next.load(Ordering::Relaxed);
        Some(node)
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn takes_in_arrival_order() {
        let inbox = Inbox::new();
        assert!(inbox.is_empty());
        let take = FiberParker::take_unused;
        let (a, b, c) = (take(), take(), take());
        inbox.push(a);
        inbox.push(b);
        let mut woken = inbox.take_all();
        inbox.push(c);
        for expected in [a, b] {
            assert!(ptr::eq(woken.pop_front().unwrap(), expected));
        }
        assert!(woken.pop_front().is_none() && woken.is_empty());
        assert!(ptr::eq(inbox.take_all().pop_front().unwrap(), c));
        assert!(inbox.is_empty() && Woken::empty().is_empty());
        [a, b, c].into_iter().for_each(FiberParker::give_back);
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use crate::loom::{thread, Arc};

    /// Two producers push while the owner takes: each parker comes out
    /// exactly once, and each producer's pushes in order.
    #[test]
    fn every_push_taken_once_in_order() {
        let explored = crate::loom::model_counting(|| {
            let inbox = Arc::new(Inbox::new());
            let nodes: Vec<&'static FiberParker> = (0..3)
                .map(|_| &*Box::leak(Box::new(FiberParker::new())))
                .collect();
            let (first, second) = (nodes[0], nodes[1]);
            let producer_a = {
                let inbox = inbox.clone();
                thread::spawn(move || {
                    inbox.push(first);
                    inbox.push(second);
                })
            };
            let third = nodes[2];
            let producer_b = {
                let inbox = inbox.clone();
                thread::spawn(move || inbox.push(third))
            };
            let mut seen = Vec::new();
            let mut woken = inbox.take_all();
            while let Some(node) = woken.pop_front() {
                seen.push(node as *const FiberParker);
            }
            producer_a.join().unwrap();
            producer_b.join().unwrap();
            let mut rest = inbox.take_all();
            while let Some(node) = rest.pop_front() {
                seen.push(node as *const FiberParker);
            }
            assert_eq!(seen.len(), 3);
            let pos = |n: &'static FiberParker| seen.iter().position(|&p| ptr::eq(p, n)).unwrap();
            assert!(pos(first) < pos(second), "one producer's pushes keep their order");
            assert!(seen.contains(&(third as *const FiberParker)));
        });
        assert!(explored > 1, "loom explored {explored} interleavings");
    }
}
