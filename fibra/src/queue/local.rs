//! The per-worker run queue: a fixed ring with owner push/pop and steal-half.
//!
//! The algorithm is Go's `runq` (runtime/proc.go: `runqput`, `runqget`,
//! `runqgrab`), which Tokio's `queue.rs` also derives from:
//!
//! - `tail` is written only by the owner. `head` is advanced by a CAS, by the
//!   owner (pop one) and by thieves (steal half) alike, so every task leaves the
//!   ring through exactly one successful CAS: nothing runs twice.
//! - Slots are `AtomicPtr`s accessed with `Relaxed`; `head`/`tail` carry the
//!   ordering. A slot at index `i` is written only while `i - head < CAP`, so it
//!   is never overwritten while a reader might still claim it: a reader that
//!   copied slot `i` and then wins the CAS `head: h -> h + n` (`h <= i < h+n`)
//!   read the value the owner wrote for index `i`, because the owner could only
//!   reuse that slot for index `i + CAP >= h + CAP`, which needs `head > h`.
//! - The ring never grows: when full, the owner moves half of it, in one CAS,
//!   to the global queue (`push_back_or_overflow`).
//!
//! Indices are `u32` and wrap; `tail - head` (wrapping) is the length.

use crate::loom::atomic::{AtomicPtr, AtomicU32, Ordering};
use std::ptr;

/// Capacity of the ring: 256 as in Go and Tokio; 4 under loom so that the
/// full and wrap-around cases are reachable in a model.
#[cfg(not(loom))]
pub(crate) const CAPACITY: usize = 256;
#[cfg(loom)]
pub(crate) const CAPACITY: usize = 4;
const MASK: u32 = CAPACITY as u32 - 1;
const _: () = assert!(CAPACITY.is_power_of_two() && CAPACITY >= 4);

/// A fixed-capacity ring of pointers to `T` (see the module docs).
pub(crate) struct LocalQueue<T> {
    head: AtomicU32,
    tail: AtomicU32,
    slots: Box<[AtomicPtr<T>]>,
}

/// What `push_back` does when the ring is full: the batch of the oldest half
/// plus the task being pushed (last), in FIFO order, that the caller must
/// now put into the global queue. A fixed array, so that overflowing
/// allocates nothing.
#[must_use]
pub(crate) struct Overflow<T> {
    tasks: [*mut T; OVERFLOW_LEN],
}

const OVERFLOW_LEN: usize = CAPACITY / 2 + 1;

impl<T> IntoIterator for Overflow<T> {
    type Item = *mut T;
    type IntoIter = std::array::IntoIter<*mut T, OVERFLOW_LEN>;
    fn into_iter(self) -> Self::IntoIter {
        self.tasks.into_iter()
    }
}

// SAFETY: the queue only stores pointers; ownership of the pointees moves with
// the pointers between threads, which is what `T: Send` permits.
unsafe impl<T: Send> Send for LocalQueue<T> {}
// SAFETY: all shared access goes through atomics (module docs).
unsafe impl<T: Send> Sync for LocalQueue<T> {}

impl<T> LocalQueue<T> {
    pub(crate) fn new() -> LocalQueue<T> {
        LocalQueue {
            head: AtomicU32::new(0),
            tail: AtomicU32::new(0),
            slots: (0..CAPACITY).map(|_| AtomicPtr::new(ptr::null_mut())).collect(),
        }
    }

    fn slot(&self, index: u32) -> &AtomicPtr<T> {
        &self.slots[(index & MASK) as usize]
    }

    /// Number of queued tasks, possibly stale. Any thread.
    pub(crate) fn len(&self) -> usize {
        let head = self.head.load(Ordering::Acquire); // pairs with head CASes
        let tail = self.tail.load(Ordering::Acquire); // pairs with `push_back`'s Release store
        (tail.wrapping_sub(head) as usize).min(CAPACITY)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends `task`. If the ring is full, removes the oldest half and
    /// returns it with `task` appended, for the global queue. Owner only.
    // The large `Err` is the point: the overflow batch travels by value so
    // that overflowing allocates nothing; the common `Ok` path moves no data.
    #[allow(clippy::result_large_err)]
    pub(crate) fn push_back(&self, task: *mut T) -> Result<(), Overflow<T>> {
        loop {
            // Acquire: pairs with the Release half of the head CAS in `pop` and
            // `steal_half_into`, so those readers' slot reads happen before we
            // overwrite the slots they freed.
            let head = self.head.load(Ordering::Acquire);
            let tail = self.tail.load(Ordering::Relaxed); // only we write it
            if tail.wrapping_sub(head) < CAPACITY as u32 {
                self.slot(tail).store(task, Ordering::Relaxed);
                // Release: pairs with the Acquire loads of `tail` in `pop`,
                // `steal_half_into` and `len`: the slot write is visible to
                // whoever sees the new tail.
                self.tail.store(tail.wrapping_add(1), Ordering::Release);
                return Ok(());
            }
            if let Some(overflow) = self.take_half_for_overflow(head, task) {
                return Err(overflow);
            }
            // A thief took some tasks meanwhile: there is room now.
        }
    }

    /// Appends as many of `tasks` as fit, in order, publishing them with one
    /// store of `tail`; returns how many were appended. Owner only.
    pub(crate) fn push_back_many(&self, tasks: &[*mut T]) -> usize {
        // Acquire: as in `push_back`.
        let head = self.head.load(Ordering::Acquire);
        let tail = self.tail.load(Ordering::Relaxed); // only we write it
        let room = CAPACITY - tail.wrapping_sub(head) as usize;
        let count = room.min(tasks.len());
        for (i, &task) in tasks[..count].iter().enumerate() {
            self.slot(tail.wrapping_add(i as u32))
                .store(task, Ordering::Relaxed);
        }
        // Release: as in `push_back`, for every slot written above.
        self.tail
            .store(tail.wrapping_add(count as u32), Ordering::Release);
        count
    }

    /// Claims the oldest `CAPACITY / 2` tasks (from `head`) in one CAS and
    /// returns them with `task` appended.
    fn take_half_for_overflow(&self, head: u32, task: *mut T) -> Option<Overflow<T>> {
        let mut tasks = [task; OVERFLOW_LEN];
        for (i, slot) in tasks[..CAPACITY / 2].iter_mut().enumerate() {
            *slot = self.slot(head.wrapping_add(i as u32)).load(Ordering::Relaxed);
        }
        let half = CAPACITY as u32 / 2;
        // Release: our slot reads above happen before a later `push_back`
        // (ours) reuses the slots; a thief's Acquire load of head pairs with it.
        self.head
            .compare_exchange(
                head,
                head.wrapping_add(half),
                Ordering::Release,
                Ordering::Relaxed,
            )
            .ok()
            .map(|_| Overflow { tasks })
    }

    /// Removes the oldest task (FIFO). Owner only.
    pub(crate) fn pop(&self) -> Option<*mut T> {
        let mut head = self.head.load(Ordering::Acquire); // pairs with thieves' Release CAS
        loop {
            let tail = self.tail.load(Ordering::Relaxed); // only we write it
            if head == tail {
                return None;
            }
            let task = self.slot(head).load(Ordering::Relaxed);
            // Release: pairs with our own later `push_back` (trivially) and with
            // thieves' Acquire loads of head, ordering our slot read first.
            match self.head.compare_exchange_weak(
                head,
                head.wrapping_add(1),
                Ordering::Release,
                Ordering::Acquire, // pairs with the thief's Release CAS we lost to
            ) {
                Ok(_) => return Some(task),
                Err(actual) => head = actual,
            }
        }
    }

    /// Steals half of `self`'s tasks (rounded up) into `dest`, which must be
    /// empty and owned by the caller. Returns how many were moved.
    /// Any thread that owns `dest`.
    pub(crate) fn steal_half_into(&self, dest: &LocalQueue<T>) -> usize {
        let dest_tail = dest.tail.load(Ordering::Relaxed); // the caller owns `dest`
        loop {
            // Acquire on head: pairs with the Release CAS of other readers, so
            // the slots we copy are not ones they already consumed and reused.
            let head = self.head.load(Ordering::Acquire);
            // Acquire on tail: pairs with the owner's Release store in
            // `push_back`, making the slot writes below `tail` visible.
            let tail = self.tail.load(Ordering::Acquire);
            let available = tail.wrapping_sub(head);
            if available == 0 {
                return 0;
            }
            if available > CAPACITY as u32 {
                continue; // read head and tail from different moments; retry
            }
            let count = available - available / 2;
            for i in 0..count {
                let task = self.slot(head.wrapping_add(i)).load(Ordering::Relaxed);
                dest.slot(dest_tail.wrapping_add(i))
                    .store(task, Ordering::Relaxed);
            }
            // AcqRel: Release pairs with the owner's Acquire head load in
            // `push_back` (our slot reads come before the slots are reused);
            // Acquire orders us after the previous claimant's Release CAS.
            if self
                .head
                .compare_exchange(
                    head,
                    head.wrapping_add(count),
                    Ordering::AcqRel,
                    Ordering::Relaxed,
                )
                .is_ok()
            {
                // Release: pairs with Acquire loads of `dest.tail` by its thieves.
                dest.tail.store(dest_tail.wrapping_add(count), Ordering::Release);
                return count as usize;
            }
        }
    }
}

impl<T> Drop for LocalQueue<T> {
    fn drop(&mut self) {
        // The runtime drains every queue before dropping it; a task left here
        // would be leaked, which the shutdown tests would notice.
        debug_assert!(
            std::thread::panicking() || self.is_empty(),
            "run queue dropped with tasks in it"
        );
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    fn boxed(n: usize) -> *mut usize {
        Box::into_raw(Box::new(n))
    }

    fn unbox(p: *mut usize) -> usize {
        // SAFETY: every pointer in these tests came from `boxed` and leaves the
        // queue exactly once.
        *unsafe { Box::from_raw(p) }
    }

    #[test]
    fn fifo_order_and_wrap_around() {
        let q = LocalQueue::new();
        for round in 0..3 {
            for i in 0..CAPACITY {
                assert!(q.push_back(boxed(round * 1000 + i)).is_ok());
            }
            for i in 0..CAPACITY {
                assert_eq!(unbox(q.pop().unwrap()), round * 1000 + i);
            }
            assert!(q.pop().is_none());
        }
    }

    #[test]
    fn overflow_returns_oldest_half_plus_new() {
        let q = LocalQueue::new();
        for i in 0..CAPACITY {
            assert!(q.push_back(boxed(i)).is_ok());
        }
        let Err(batch) = q.push_back(boxed(9999)) else {
            panic!("a full ring must overflow");
        };
        let values: Vec<usize> = batch.into_iter().map(unbox).collect();
        let mut expected: Vec<usize> = (0..CAPACITY / 2).collect();
        expected.push(9999);
        assert_eq!(values, expected);
        assert_eq!(q.len(), CAPACITY / 2);
        while let Some(p) = q.pop() {
            unbox(p);
        }
    }

    #[test]
    fn steal_takes_half_rounded_up() {
        let victim = LocalQueue::new();
        let thief = LocalQueue::new();
        for i in 0..5 {
            assert!(victim.push_back(boxed(i)).is_ok());
        }
        assert_eq!(victim.steal_half_into(&thief), 3);
        let stolen: Vec<usize> = std::iter::from_fn(|| thief.pop()).map(unbox).collect();
        let kept: Vec<usize> = std::iter::from_fn(|| victim.pop()).map(unbox).collect();
        assert_eq!(stolen, vec![0, 1, 2]);
        assert_eq!(kept, vec![3, 4]);
        assert_eq!(victim.steal_half_into(&thief), 0);
    }

    #[test]
    fn concurrent_steals_lose_and_duplicate_nothing() {
        use std::sync::atomic::AtomicBool;
        use std::sync::Arc;
        const N: usize = if cfg!(miri) { 200 } else { 100_000 };
        let victim = Arc::new(LocalQueue::new());
        let done = Arc::new(AtomicBool::new(false));
        let thieves: Vec<_> = (0..2)
            .map(|_| {
                let (victim, done) = (victim.clone(), done.clone());
                std::thread::spawn(move || {
                    let mine = LocalQueue::new();
                    let mut seen = Vec::new();
                    while !done.load(Ordering::Acquire) || !victim.is_empty() {
                        victim.steal_half_into(&mine);
                        while let Some(p) = mine.pop() {
                            seen.push(unbox(p));
                        }
                    }
                    seen
                })
            })
            .collect();
        let mut seen = Vec::new();
        for i in 0..N {
            if let Err(batch) = victim.push_back(boxed(i)) {
                seen.extend(batch.into_iter().map(unbox));
            }
            if i % 3 == 0 {
                if let Some(p) = victim.pop() {
                    seen.push(unbox(p));
                }
            }
        }
        done.store(true, Ordering::Release);
        for t in thieves {
            seen.extend(t.join().unwrap());
        }
        while let Some(p) = victim.pop() {
            seen.push(unbox(p));
        }
        seen.sort_unstable();
        assert_eq!(seen, (0..N).collect::<Vec<_>>());
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use crate::loom::{thread, Arc};

    fn boxed(n: usize) -> *mut usize {
        Box::into_raw(Box::new(n))
    }
    fn unbox(p: *mut usize) -> usize {
        // SAFETY: each pointer leaves the queue exactly once (what we check).
        *unsafe { Box::from_raw(p) }
    }

    /// A thread that steals half of `victim` into a queue of its own and
    /// returns what it stole.
    fn spawn_thief(victim: &Arc<LocalQueue<usize>>) -> thread::JoinHandle<Vec<usize>> {
        let victim = victim.clone();
        thread::spawn(move || {
            let mine = LocalQueue::new();
            victim.steal_half_into(&mine);
            std::iter::from_fn(|| mine.pop()).map(unbox).collect()
        })
    }

    /// The owner pushes past capacity (overflowing) and pops while a thief
    /// steals half: every value comes out exactly once.
    #[test]
    fn push_pop_steal_overflow() {
        let explored = crate::loom::model_counting(|| {
            let victim = Arc::new(LocalQueue::new());
            let thief = spawn_thief(&victim);
            let mut seen = Vec::new();
            for i in 0..(CAPACITY + 2) {
                if let Err(batch) = victim.push_back(boxed(i)) {
                    seen.extend(batch.into_iter().map(unbox));
                }
            }
            if let Some(p) = victim.pop() {
                seen.push(unbox(p));
            }
            seen.extend(thief.join().unwrap());
            seen.extend(std::iter::from_fn(|| victim.pop()).map(unbox));
            seen.sort_unstable();
            assert_eq!(seen, (0..CAPACITY + 2).collect::<Vec<_>>());
        });
        assert!(explored > 1, "loom explored {explored} interleavings");
    }

    /// The owner appends a batch (as many as fit, the rest one by one,
    /// overflowing) and pops while a thief steals half: every value comes
    /// out exactly once. (Fails with a Relaxed store of `tail`, and with room
    /// for one slot too many: checked.)
    #[test]
    fn push_many_races_a_thief() {
        let explored = crate::loom::model_counting(|| {
            let victim = Arc::new(LocalQueue::new());
            let thief = spawn_thief(&victim);
            let batch: Vec<_> = (0..CAPACITY + 1).map(boxed).collect();
            let queued = victim.push_back_many(&batch);
            let mut seen = Vec::new();
            for &task in &batch[queued..] {
                if let Err(overflow) = victim.push_back(task) {
                    seen.extend(overflow.into_iter().map(unbox));
                }
            }
            if let Some(p) = victim.pop() {
                seen.push(unbox(p));
            }
            seen.extend(thief.join().unwrap());
            seen.extend(std::iter::from_fn(|| victim.pop()).map(unbox));
            seen.sort_unstable();
            assert_eq!(seen, (0..CAPACITY + 1).collect::<Vec<_>>());
        });
        assert!(explored > 1, "loom explored {explored} interleavings");
    }

    /// Two thieves race each other and the owner's pop.
    #[test]
    fn two_thieves_and_owner_pop() {
        let explored = crate::loom::model_counting(|| {
            let victim = Arc::new(LocalQueue::new());
            for i in 0..3 {
                assert!(victim.push_back(boxed(i)).is_ok());
            }
            let thieves: Vec<_> = (0..2).map(|_| spawn_thief(&victim)).collect();
            let mut seen: Vec<usize> = victim.pop().into_iter().map(unbox).collect();
            for t in thieves {
                seen.extend(t.join().unwrap());
            }
            seen.extend(std::iter::from_fn(|| victim.pop()).map(unbox));
            seen.sort_unstable();
            assert_eq!(seen, vec![0, 1, 2]);
        });
        assert!(explored > 1, "loom explored {explored} interleavings");
    }
}
