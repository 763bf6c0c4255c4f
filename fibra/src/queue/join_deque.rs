//! The per-worker deque of jobs offered by `fibra::join`: Chase-Lev.
//!
//! D. Chase and Y. Lev, "Dynamic Circular Work-Stealing Deque" (SPAA 2005),
//! with the C11 memory orderings proved correct by N. M. Lê, A. Pop, A. Cohen
//! and F. Zappa Nardelli, "Correct and Efficient Work-Stealing for Weak Memory
//! Models" (PPoPP 2013), figure 1. The owner pushes and takes at `bottom`
//! (LIFO); thieves steal one job at `top` (the oldest, so the biggest in a
//! fork-join tree).
//!
//! Capacity is fixed (no buffer growth, so no reclamation): a job is offered
//! only while there is room, and `join` runs both halves itself otherwise.
//! A slot at index `i` is rewritten only for index `i + CAPACITY`, which needs
//! `top > i`, so a thief that read slot `i` and then wins `top: i -> i+1`
//! read the job pushed at `i`.

use crate::loom::atomic::{fence, AtomicIsize, AtomicPtr, Ordering};
use std::ptr;

#[cfg(not(loom))]
pub(crate) const CAPACITY: usize = 256;
#[cfg(loom)]
pub(crate) const CAPACITY: usize = 2;
const _: () = assert!(CAPACITY.is_power_of_two());

pub(crate) struct JoinDeque<T> {
    top: AtomicIsize,
    bottom: AtomicIsize,
    slots: Box<[AtomicPtr<T>]>,
}

/// Result of one steal attempt.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Steal<T> {
    Empty,
    /// Lost a race with another thief or the owner; the deque may be non-empty.
    Retry,
    Success(T),
}

// SAFETY: pointers only; ownership of the pointees moves with them.
unsafe impl<T: Send> Send for JoinDeque<T> {}
// SAFETY: shared access is through atomics only.
unsafe impl<T: Send> Sync for JoinDeque<T> {}

impl<T> JoinDeque<T> {
    pub(crate) fn new() -> JoinDeque<T> {
        JoinDeque {
            top: AtomicIsize::new(0),
            bottom: AtomicIsize::new(0),
            slots: (0..CAPACITY).map(|_| AtomicPtr::new(ptr::null_mut())).collect(),
        }
    }

    fn slot(&self, index: isize) -> &AtomicPtr<T> {
        &self.slots[(index as usize) & (CAPACITY - 1)]
    }

    /// Possibly stale emptiness check. Any thread.
    pub(crate) fn is_empty(&self) -> bool {
        let top = self.top.load(Ordering::Acquire); // pairs with steal/take CAS
        let bottom = self.bottom.load(Ordering::Acquire); // pairs with push's fence
        bottom <= top
    }

    /// Offers `job`; gives it back if the deque is full. Owner only.
    pub(crate) fn push(&self, job: *mut T) -> Result<(), *mut T> {
        // Relaxed: only the owner writes `bottom`.
        let bottom = self.bottom.load(Ordering::Relaxed);
        // Acquire: pairs with the SeqCst CAS on `top` in `steal`, so a thief's
        // read of the slot we may reuse happened before our write.
        let top = self.top.load(Ordering::Acquire);
        if bottom - top >= CAPACITY as isize {
            return Err(job);
        }
        self.slot(bottom).store(job, Ordering::Relaxed);
        // Release fence: pairs with the Acquire load of `bottom` in `steal`, so
        // a thief that sees the new bottom also sees the slot write.
        fence(Ordering::Release);
        self.bottom.store(bottom + 1, Ordering::Relaxed);
        Ok(())
    }

    /// Takes back the newest job. Owner only.
    pub(crate) fn take(&self) -> Option<*mut T> {
        let bottom = self.bottom.load(Ordering::Relaxed) - 1;
        self.bottom.store(bottom, Ordering::Relaxed);
        // SeqCst fence: orders our store of `bottom` before our load of `top`,
        // against the thief's SeqCst fence between its load of `top` and load
        // of `bottom`: either the thief sees the lowered bottom, or we see its
        // raised top (the store->load pair of Lê et al.).
        fence(Ordering::SeqCst);
        let top = self.top.load(Ordering::Relaxed);
        if top > bottom {
            // Empty: restore.
            self.bottom.store(bottom + 1, Ordering::Relaxed);
            return None;
        }
        let job = self.slot(bottom).load(Ordering::Relaxed);
        if top < bottom {
            return Some(job); // more than one left: no thief can reach this one
        }
        // The last job: race thieves for it on `top`.
        // SeqCst: the single total order of CASes on `top` with the thieves'.
        let won = self
            .top
            .compare_exchange(top, top + 1, Ordering::SeqCst, Ordering::Relaxed)
            .is_ok();
        self.bottom.store(bottom + 1, Ordering::Relaxed);
        won.then_some(job)
    }

    /// The index the next `push` will use. Owner only.
    pub(crate) fn bottom_index(&self) -> isize {
        self.bottom.load(Ordering::Relaxed)
    }

    /// Steals the oldest job. Any thread.
    pub(crate) fn steal(&self) -> Steal<*mut T> {
        self.steal_at_or_above(isize::MIN)
    }

    /// Steals the oldest job if it sits at index `min` or above (it was pushed
    /// after the owner's bottom was `min`); `Empty` otherwise. Any thread.
    pub(crate) fn steal_at_or_above(&self, min: isize) -> Steal<*mut T> {
        // Acquire: pairs with the SeqCst CAS of earlier thieves.
        let top = self.top.load(Ordering::Acquire);
        // SeqCst fence: pairs with the fence in `take` (see there).
        fence(Ordering::SeqCst);
        // Acquire: pairs with the Release fence in `push`.
        let bottom = self.bottom.load(Ordering::Acquire);
        if top >= bottom || top < min {
            return Steal::Empty;
        }
        let job = self.slot(top).load(Ordering::Relaxed);
        // SeqCst: one total order with the owner's CAS in `take`.
        match self
            .top
            .compare_exchange(top, top + 1, Ordering::SeqCst, Ordering::Relaxed)
        {
            Ok(_) => Steal::Success(job),
            Err(_) => Steal::Retry,
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn lifo_for_owner_fifo_for_thief() {
        let d = JoinDeque::new();
        let mut v = [1u8, 2, 3];
        let p: Vec<*mut u8> = v.iter_mut().map(|x| x as *mut u8).collect();
        for &x in &p {
            d.push(x).unwrap();
        }
        assert_eq!(d.steal(), Steal::Success(p[0]));
        assert_eq!(d.take(), Some(p[2]));
        assert_eq!(d.take(), Some(p[1]));
        assert_eq!(d.take(), None);
        assert_eq!(d.steal(), Steal::Empty);
    }

    #[test]
    fn steal_at_or_above_skips_older_jobs() {
        let d = JoinDeque::new();
        let mut v = [1u8, 2];
        d.push(&mut v[0] as *mut u8).unwrap();
        let base = d.bottom_index();
        assert_eq!(
            d.steal_at_or_above(base),
            Steal::Empty,
            "the older job is not a sub-job"
        );
        d.push(&mut v[1] as *mut u8).unwrap();
        assert_eq!(
            d.steal_at_or_above(base),
            Steal::Empty,
            "the oldest job is still the older one"
        );
        assert_eq!(d.steal(), Steal::Success(&mut v[0] as *mut u8));
        assert_eq!(d.steal_at_or_above(base), Steal::Success(&mut v[1] as *mut u8));
    }

    #[test]
    fn full_deque_gives_job_back() {
        let d = JoinDeque::new();
        let mut x = 0u8;
        for _ in 0..CAPACITY {
            d.push(&mut x as *mut u8).unwrap();
        }
        assert!(d.push(&mut x as *mut u8).is_err());
        while d.take().is_some() {}
    }

    #[test]
    fn concurrent_take_and_steal_exactly_once() {
        use std::sync::Arc;
        const ROUNDS: usize = if cfg!(miri) { 50 } else { 20_000 };
        let d = Arc::new(JoinDeque::new());
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let thief = {
            let (d, stop) = (d.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut got = Vec::new();
                while !stop.load(Ordering::Acquire) {
                    if let Steal::Success(p) = d.steal() {
                        got.push(p as usize);
                    }
                }
                got
            })
        };
        let mut got = Vec::new();
        for i in 1..=ROUNDS {
            d.push((i * 2) as *mut u8).unwrap();
            d.push((i * 2 + 1) as *mut u8).unwrap();
            while let Some(p) = d.take() {
                got.push(p as usize);
            }
        }
        stop.store(true, Ordering::Release);
        got.extend(thief.join().unwrap());
        got.sort_unstable();
        let expected: Vec<usize> = (2..(ROUNDS + 1) * 2).collect();
        assert_eq!(got, expected);
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use crate::loom::{thread, Arc};

    /// Owner pushes 3 (wrapping a capacity-2 ring once space frees up) and
    /// takes; a thief steals concurrently: each job is obtained exactly once.
    #[test]
    fn take_and_steal_race_for_last_job() {
        let explored = crate::loom::model_counting(|| {
            let d = Arc::new(JoinDeque::new());
            let thief = {
                let d = d.clone();
                thread::spawn(move || match d.steal() {
                    Steal::Success(p) => vec![p as usize],
                    _ => vec![],
                })
            };
            let mut got = Vec::new();
            d.push(1 as *mut u8).unwrap();
            d.push(2 as *mut u8).unwrap();
            got.extend(d.take().map(|p| p as usize));
            if d.push(3 as *mut u8).is_err() {
                got.push(3);
            }
            while let Some(p) = d.take() {
                got.push(p as usize);
            }
            got.extend(thief.join().unwrap());
            got.sort_unstable();
            assert_eq!(got, vec![1, 2, 3]);
        });
        assert!(explored > 1, "loom explored {explored} interleavings");
    }
}
