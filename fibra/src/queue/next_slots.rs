//! A worker's next slots: the tasks it spawned last, run newest first.
//!
//! A ring of [`SLOTS`] `AtomicPtr`s. The owner pushes a task at `top`,
//! pops the newest one below `top` (LIFO) and, when the ring is full, the
//! push evicts the oldest task, which the caller moves to the back of the
//! run queue. Any thread may steal one task at a time from any slot (it
//! starts its scan at `top`, where the oldest entry is when the ring is full).
//!
//! Why LIFO here: a task that spawns children and then blocks until they
//! report (skynet over channels, any fork-join written with channels) waits
//! for exactly the tasks it spawned last. Running those first walks the task
//! tree depth first, so only about one blocked parent per level is alive at
//! a time, and the children's cells and the parents' stacks are still in
//! cache. Scheduled FIFO, the same tree is walked breadth first: every inner
//! node is started, spawns and blocks before the first leaf runs, which costs
//! a fiber stack per inner node and a cache miss per resume (4x slower for a
//! million leaves on one worker). Fairness among older tasks is kept by the
//! run queue (FIFO) and by the worker's cap on consecutive next-slot runs.
//!
//! Protocol: every non-null slot value is a task owned by the ring, and it
//! leaves through exactly one successful RMW that puts null in its place:
//! the owner's pop or evicting push (`swap`), or a thief's steal (`swap`, or
//! a compare-exchange after a look with `peek`: a thief gives the owner a
//! moment before it takes the newest entry, see `worker::steal_from`). Only
//! the owner stores non-null values (with `swap`, so an occupant is never
//! overwritten unseen); thieves and pops only put in null. So no task is
//! lost or taken twice, whatever the interleaving (checked by the loom
//! models below). `top` and `len` are written by the owner only; thieves
//! read `top` as a hint. Owner-side invariant: the live entries lie at
//! positions `top - len .. top` (some may have been stolen, i.e. null) and
//! every other slot is null.

use crate::loom::atomic::{AtomicPtr, AtomicU32, Ordering};
use std::ptr;

/// Slots per worker; 2 under loom so that eviction is reachable in a model.
#[cfg(not(loom))]
pub(crate) const SLOTS: usize = 16;
#[cfg(loom)]
pub(crate) const SLOTS: usize = 2;

/// What [`NextSlots::peek`] saw.
pub(crate) struct Peeked<T> {
    position: u32,
    task: *mut T,
    /// The entry sat just below `top`: the owner pops it next.
    pub(crate) newest: bool,
}

/// The ring (see the module docs).
pub(crate) struct NextSlots<T> {
    slots: [AtomicPtr<T>; SLOTS],
    /// Where the owner pushes next (wrapping; taken modulo `SLOTS`).
    top: AtomicU32,
    /// Entries the owner may still find below `top`, at most `SLOTS`.
    len: AtomicU32,
}

// SAFETY: the ring only stores pointers; ownership of the pointees moves with
// the pointers between threads, which is what `T: Send` permits.
unsafe impl<T: Send> Send for NextSlots<T> {}
// SAFETY: all shared access goes through atomics (module docs).
unsafe impl<T: Send> Sync for NextSlots<T> {}

impl<T> NextSlots<T> {
    pub(crate) fn new() -> NextSlots<T> {
        NextSlots {
            slots: std::array::from_fn(|_| AtomicPtr::new(ptr::null_mut())),
            top: AtomicU32::new(0),
            len: AtomicU32::new(0),
        }
    }

    fn slot(&self, position: u32) -> &AtomicPtr<T> {
        &self.slots[position as usize % SLOTS]
    }

    /// Adds `task` as the newest entry. When the ring is full, the oldest
    /// entry is evicted and returned (unless a thief took it meanwhile).
    /// Owner only.
    pub(crate) fn push(&self, task: *mut T) -> Option<*mut T> {
        debug_assert!(!task.is_null());
        // Relaxed: only we write `top`.
        let top = self.top.load(Ordering::Relaxed);
        // Release: publishes the task's initialisation to the thief whose
        // Acquire swap in `steal` takes it. The value we get back was stored
        // by us, so no Acquire is needed for it.
        let evicted = self.slot(top).swap(task, Ordering::Release);
        self.top.store(top.wrapping_add(1), Ordering::Relaxed);
        let len = self.len.load(Ordering::Relaxed);
        self.len.store((len + 1).min(SLOTS as u32), Ordering::Relaxed);
        (!evicted.is_null()).then_some(evicted)
    }

    /// Removes the newest entry nobody stole. Owner only.
    pub(crate) fn pop(&self) -> Option<*mut T> {
        let mut top = self.top.load(Ordering::Relaxed); // only we write it
        let mut len = self.len.load(Ordering::Relaxed);
        let mut found = None;
        while len > 0 && found.is_none() {
            top = top.wrapping_sub(1);
            len -= 1;
            // Relaxed: a non-null value here was stored by us.
            found = Some(self.slot(top).swap(ptr::null_mut(), Ordering::Relaxed)).filter(|t| !t.is_null());
        }
        self.top.store(top, Ordering::Relaxed);
        self.len.store(len, Ordering::Relaxed);
        found
    }

    /// Removes `task` if it is the newest entry (a task joined right after
    /// it was spawned); false if it is not there or a thief just took it.
    /// Owner only.
    pub(crate) fn take_newest_if(&self, task: *mut T) -> bool {
        let top = self.top.load(Ordering::Relaxed); // only we write it
        let len = self.len.load(Ordering::Relaxed);
        let newest = self.slot(top.wrapping_sub(1));
        if len == 0 || newest.load(Ordering::Relaxed) != task {
            return false;
        }
        // Only we store non-null values, so the swap returns `task` or, if a
        // thief took it meanwhile, null. Relaxed: `task` was stored by us.
        if newest.swap(ptr::null_mut(), Ordering::Relaxed).is_null() {
            return false; // stolen: `pop` skips the empty slot later
        }
        self.top.store(top.wrapping_sub(1), Ordering::Relaxed);
        self.len.store(len - 1, Ordering::Relaxed);
        true
    }

    /// Takes one entry, the oldest if the ring is full. Any thread.
    pub(crate) fn steal(&self) -> Option<*mut T> {
        let start = self.top.load(Ordering::Relaxed); // a hint only
        (0..SLOTS as u32).find_map(|i| {
            let slot = self.slot(start.wrapping_add(i));
            if slot.load(Ordering::Relaxed).is_null() {
                return None;
            }
            // Acquire: pairs with the Release swap in `push`, so the task's
            // initialisation is visible before we run it.
            let task = slot.swap(ptr::null_mut(), Ordering::Acquire);
            (!task.is_null()).then_some(task)
        })
    }

    /// The entry [`steal`](Self::steal) would try first, left in place: its
    /// position, its task, and whether it is the newest entry (the one the
    /// owner runs next). A hint (it may leave at any moment). Any thread.
    pub(crate) fn peek(&self) -> Option<Peeked<T>> {
        let top = self.top.load(Ordering::Relaxed); // a hint only
        (0..SLOTS as u32).find_map(|i| {
            let position = top.wrapping_add(i);
            let task = self.slot(position).load(Ordering::Relaxed);
            (!task.is_null()).then_some(Peeked {
                position,
                task,
                // The scan ends at `top - 1` (modulo the ring).
                newest: i == SLOTS as u32 - 1,
            })
        })
    }

    /// Takes `task` if it is still at `position`, where [`peek`](Self::peek)
    /// saw it. Any thread. (If the owner ran it and pushed the same cell
    /// again, that is still a queued task, ours to take.)
    pub(crate) fn steal_if_still(&self, peeked: &Peeked<T>) -> Option<*mut T> {
        // Acquire: pairs with the Release swap in `push`, as in `steal`.
        self.slot(peeked.position)
            .compare_exchange(peeked.task, ptr::null_mut(), Ordering::Acquire, Ordering::Relaxed)
            .ok()
    }

    /// Whether every slot is empty; a hint (entries may come and go).
    pub(crate) fn is_empty(&self) -> bool {
        self.slots
            .iter()
            .all(|slot| slot.load(Ordering::Relaxed).is_null())
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::queue::test_values::{boxed, unbox};

    #[test]
    fn take_newest_if_only_takes_the_newest() {
        let ring = NextSlots::new();
        let (a, b) = (boxed(1), boxed(2));
        assert!(!ring.take_newest_if(a));
        assert!(ring.push(a).is_none() && ring.push(b).is_none());
        assert!(!ring.take_newest_if(a), "a is not the newest");
        assert!(ring.take_newest_if(b));
        assert!(!ring.take_newest_if(b), "taken once");
        assert_eq!(ring.pop(), Some(a));
        assert!(ring.pop().is_none());
        unbox(a);
        unbox(b);
    }

    #[test]
    fn newest_first_and_the_oldest_is_evicted() {
        let ring = NextSlots::new();
        assert!(ring.is_empty() && ring.pop().is_none());
        let mut evicted = Vec::new();
        for i in 0..SLOTS + 3 {
            evicted.extend(ring.push(boxed(i)).map(unbox));
        }
        assert_eq!(evicted, [0, 1, 2]);
        let popped: Vec<usize> = std::iter::from_fn(|| ring.pop()).map(unbox).collect();
        assert_eq!(popped, (3..SLOTS + 3).rev().collect::<Vec<_>>());
        assert!(ring.is_empty());
        // Pops and pushes interleave like a stack.
        ring.push(boxed(1));
        ring.push(boxed(2));
        assert_eq!(ring.pop().map(unbox), Some(2));
        ring.push(boxed(3));
        assert_eq!(
            std::iter::from_fn(|| ring.pop()).map(unbox).collect::<Vec<_>>(),
            [3, 1]
        );
    }

    #[test]
    fn thieves_take_the_oldest_of_a_full_ring_and_pops_skip_stolen_slots() {
        let ring = NextSlots::new();
        for i in 0..SLOTS {
            assert!(ring.push(boxed(i)).is_none());
        }
        assert_eq!(ring.steal().map(unbox), Some(0));
        assert_eq!(ring.steal().map(unbox), Some(1));
        // The thieves emptied the two oldest slots: pops end before them.
        let popped: Vec<usize> = std::iter::from_fn(|| ring.pop()).map(unbox).collect();
        assert_eq!(popped, (2..SLOTS).rev().collect::<Vec<_>>());
        assert!(ring.steal().is_none());
        // A stolen entry is not evicted later: pushing past a hole returns
        // nothing for it.
        for i in 0..SLOTS {
            ring.push(boxed(100 + i));
        }
        let top_oldest = ring.steal().map(unbox);
        assert_eq!(top_oldest, Some(100));
        assert!(ring.push(boxed(999)).is_none(), "the oldest was stolen");
        assert_eq!(ring.push(boxed(1000)).map(unbox), Some(101));
        let rest = std::iter::from_fn(|| ring.pop()).map(unbox).count();
        assert_eq!(rest, SLOTS);
    }

    #[test]
    fn concurrent_steals_lose_and_duplicate_nothing() {
        use std::sync::atomic::AtomicBool;
        use std::sync::Arc;
        const N: usize = if cfg!(miri) { 200 } else { 100_000 };
        let ring = Arc::new(NextSlots::new());
        let done = Arc::new(AtomicBool::new(false));
        let thieves: Vec<_> = (0..2)
            .map(|_| {
                let (ring, done) = (ring.clone(), done.clone());
                std::thread::spawn(move || {
                    let mut seen = Vec::new();
                    // Acquire: pairs with the Release store of `done` below.
                    while !done.load(Ordering::Acquire) || !ring.is_empty() {
                        seen.extend(ring.steal().map(unbox));
                    }
                    seen
                })
            })
            .collect();
        let mut seen = Vec::new();
        for i in 0..N {
            seen.extend(ring.push(boxed(i)).map(unbox));
            if i % 3 == 0 {
                seen.extend(ring.pop().map(unbox));
            }
        }
        // Release: pairs with the thieves' Acquire loads of `done`.
        done.store(true, Ordering::Release);
        for thief in thieves {
            seen.extend(thief.join().unwrap());
        }
        seen.extend(std::iter::from_fn(|| ring.pop()).map(unbox));
        seen.sort_unstable();
        assert_eq!(seen, (0..N).collect::<Vec<_>>());
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use crate::loom::{thread, Arc};
    use crate::queue::test_values::{boxed, unbox};

    /// The owner pushes past capacity (evicting) and pops while a thief
    /// steals: every value comes out exactly once.
    #[test]
    fn push_evict_pop_and_steal() {
        let explored = crate::loom::model_counting(|| {
            let ring = Arc::new(NextSlots::new());
            let thief = {
                let ring = ring.clone();
                thread::spawn(move || ring.steal().map(unbox))
            };
            let mut seen = Vec::new();
            for i in 0..SLOTS + 1 {
                seen.extend(ring.push(boxed(i)).map(unbox));
            }
            seen.extend(ring.pop().map(unbox));
            seen.extend(thief.join().unwrap());
            seen.extend(std::iter::from_fn(|| ring.pop()).map(unbox));
            seen.sort_unstable();
            assert_eq!(seen, (0..SLOTS + 1).collect::<Vec<_>>());
        });
        assert!(explored > 1, "loom explored {explored} interleavings");
    }

    /// A joiner on the owner takes its task back (`take_newest_if`) while a
    /// thief steals it: it goes to exactly one of them. (The entry is the
    /// ring's only one, so that the thief's scan reaches it.)
    #[test]
    fn take_newest_if_races_a_thief() {
        let explored = crate::loom::model_counting(|| {
            let ring = Arc::new(NextSlots::new());
            let task = boxed(7);
            assert!(ring.push(task).is_none());
            let thief = {
                let ring = ring.clone();
                thread::spawn(move || ring.steal().map(|t| t as usize))
            };
            let taken_back = ring.take_newest_if(task);
            let stolen = thief.join().unwrap();
            let left = ring.pop();
            let owners =
                usize::from(taken_back) + usize::from(stolen.is_some()) + usize::from(left.is_some());
            assert_eq!(
                owners, 1,
                "taken back: {taken_back}, stolen: {stolen:?}, left: {left:?}"
            );
            assert_eq!(unbox(task), 7);
        });
        assert!(explored > 1, "loom explored {explored} interleavings");
    }

    /// A thief that looks first and takes later (`peek`, then
    /// `steal_if_still`) races the owner's pushes (evicting) and pops:
    /// every value comes out exactly once. (Fails with a load and a store in
    /// place of the compare-exchange: checked.)
    #[test]
    fn steal_after_a_look_races_the_owner() {
        let explored = crate::loom::model_counting(|| {
            let ring = Arc::new(NextSlots::new());
            assert!(ring.push(boxed(0)).is_none());
            let thief = {
                let ring = ring.clone();
                thread::spawn(move || {
                    let peeked = ring.peek()?;
                    ring.steal_if_still(&peeked).map(unbox)
                })
            };
            let mut seen: Vec<usize> = ring.pop().into_iter().map(unbox).collect();
            for i in 1..SLOTS + 1 {
                seen.extend(ring.push(boxed(i)).map(unbox));
            }
            seen.extend(thief.join().unwrap());
            seen.extend(std::iter::from_fn(|| ring.pop()).map(unbox));
            seen.sort_unstable();
            assert_eq!(seen, (0..SLOTS + 1).collect::<Vec<_>>());
        });
        assert!(explored > 1, "loom explored {explored} interleavings");
    }

    /// Two thieves race each other and the owner's pop and push.
    #[test]
    fn two_thieves_and_the_owner() {
        let explored = crate::loom::model_counting(|| {
            let ring = Arc::new(NextSlots::new());
            for i in 0..SLOTS {
                assert!(ring.push(boxed(i)).is_none());
            }
            let thieves: Vec<_> = (0..2)
                .map(|_| {
                    let ring = ring.clone();
                    thread::spawn(move || ring.steal().map(unbox))
                })
                .collect();
            let mut seen: Vec<usize> = ring.pop().into_iter().map(unbox).collect();
            seen.extend(ring.push(boxed(SLOTS)).map(unbox));
            for thief in thieves {
                seen.extend(thief.join().unwrap());
            }
            seen.extend(std::iter::from_fn(|| ring.pop()).map(unbox));
            seen.sort_unstable();
            assert_eq!(seen, (0..SLOTS + 1).collect::<Vec<_>>());
        });
        assert!(explored > 1, "loom explored {explored} interleavings");
    }
}
