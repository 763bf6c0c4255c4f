//! [`WaitQueue`]: the FIFO of parked waiters that `Mutex`, `Condvar` and
//! `Semaphore` keep under their internal lock.
//!
//! Each entry has a ticket (from a counter that only grows), the waiter to
//! unpark, and what the primitive needs to know about it (`data`: when it
//! started waiting, how many permits it wants). A waiter keeps its ticket
//! while it waits and finds out what happened by asking, under the lock,
//! whether its ticket is still queued: the one who lets it proceed removes
//! its entry under the same lock (and unparks it after unlocking), so "my
//! entry is gone and I did not remove it" means "I was let through".
//!
//! Invariant: entries are sorted by ticket. [`push_back`](WaitQueue::push_back)
//! takes a new, larger ticket; [`reinsert`](WaitQueue::reinsert) puts an
//! entry back at the place its ticket gives it (a woken mutex waiter that
//! lost the race keeps its seniority); removal keeps the order. So lookups
//! are binary searches and the front is always the longest waiting entry.

use std::collections::{vec_deque, VecDeque};

/// One parked waiter (see the module docs).
#[derive(Debug)]
pub(super) struct Entry<W, D> {
    pub(super) ticket: u64,
    pub(super) waiter: W,
    pub(super) data: D,
}

/// Parked waiters in ticket order (see the module docs).
#[derive(Debug)]
pub(super) struct WaitQueue<W, D> {
    entries: VecDeque<Entry<W, D>>,
    next_ticket: u64,
}

impl<W, D> WaitQueue<W, D> {
    pub(super) const fn new() -> WaitQueue<W, D> {
        WaitQueue {
            entries: VecDeque::new(),
            next_ticket: 0,
        }
    }

    pub(super) fn len(&self) -> usize {
        self.entries.len()
    }

    pub(super) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Queues a waiter behind every other; returns its ticket.
    pub(super) fn push_back(&mut self, waiter: W, data: D) -> u64 {
        self.next_ticket += 1;
        let ticket = self.next_ticket;
        self.entries.push_back(Entry { ticket, waiter, data });
        ticket
    }

    /// Puts an entry that was taken out back in its ticket's place.
    pub(super) fn reinsert(&mut self, entry: Entry<W, D>) {
        let index = self.entries.partition_point(|e| e.ticket < entry.ticket);
        debug_assert!(self.entries.get(index).map_or(true, |e| e.ticket != entry.ticket));
        self.entries.insert(index, entry);
    }

    /// The longest waiting entry.
    pub(super) fn front(&self) -> Option<&Entry<W, D>> {
        self.entries.front()
    }

    /// Takes out the longest waiting entry.
    pub(super) fn pop_front(&mut self) -> Option<Entry<W, D>> {
        self.entries.pop_front()
    }

    fn index_of(&self, ticket: u64) -> Result<usize, usize> {
        self.entries.binary_search_by_key(&ticket, |e| e.ticket)
    }

    /// Whether the waiter with this ticket is still queued.
    pub(super) fn contains(&self, ticket: u64) -> bool {
        self.index_of(ticket).is_ok()
    }

    /// Takes out the entry with this ticket, if it is still queued (a waiter
    /// that gives up, e.g. on a timeout).
    pub(super) fn remove(&mut self, ticket: u64) -> Option<Entry<W, D>> {
        let index = self.index_of(ticket).ok()?;
        self.entries.remove(index)
    }

    /// Takes out every entry, oldest first.
    pub(super) fn take_all(&mut self) -> vec_deque::IntoIter<Entry<W, D>> {
        std::mem::take(&mut self.entries).into_iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fifo_with_reinsert_by_seniority_and_removal() {
        let mut queue = WaitQueue::<char, ()>::new();
        let a = queue.push_back('a', ());
        let b = queue.push_back('b', ());
        let c = queue.push_back('c', ());
        assert!(a < b && b < c);
        let first = queue.pop_front().unwrap();
        let second = queue.pop_front().unwrap();
        assert_eq!((first.waiter, second.waiter), ('a', 'b'));
        assert!(!queue.contains(a) && queue.contains(c));
        // Put back in the other order: the older ticket still goes first.
        queue.reinsert(second);
        queue.reinsert(first);
        assert_eq!(queue.front().map(|e| e.waiter), Some('a'));
        assert_eq!(queue.remove(b).map(|e| e.waiter), Some('b'));
        assert!(queue.remove(b).is_none(), "removed once");
        let d = queue.push_back('d', ());
        assert!(d > c);
        assert_eq!(queue.len(), 3);
        let order: String = queue.take_all().map(|e| e.waiter).collect();
        assert_eq!(order, "acd");
        assert!(queue.is_empty());
    }
}
