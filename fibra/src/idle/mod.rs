//! Idle bookkeeping: how many workers search, who sleeps, whom to wake.
//!
//! The protocol and its no-lost-wake-up argument are in `idle/README.md`,
//! next to this file. Only the counters and the sleeper list live here; the
//! caller unparks the worker index that [`Idle::worker_to_notify`] returns.

use crate::loom::atomic::{fence, AtomicUsize, Ordering};
use crate::loom::{lock, Mutex};
use placement::Cpu;
pub(crate) use placement::WakeNear;

mod placement;

/// Low bits of `state`: searching workers. High bits: unparked workers.
const SEARCHING_BITS: u32 = 16;
const SEARCHING_MASK: usize = (1 << SEARCHING_BITS) - 1;
const SEARCHING_ONE: usize = 1;
const UNPARKED_ONE: usize = 1 << SEARCHING_BITS;
/// The most workers the packing allows.
pub(crate) const MAX_WORKERS: usize = SEARCHING_MASK;

pub(crate) struct Idle {
    state: AtomicUsize,
    num_workers: usize,
    /// Parked workers, oldest first, with the CPU each parked on (a hint
    /// for [`placement::choose`]).
    sleepers: Mutex<Vec<(usize, Cpu)>>,
}

#[derive(Clone, Copy)]
struct Counts(usize);

impl Counts {
    fn searching(self) -> usize {
        self.0 & SEARCHING_MASK
    }
    fn unparked(self) -> usize {
        self.0 >> SEARCHING_BITS
    }
}

impl Idle {
    pub(crate) fn new(num_workers: usize) -> Idle {
        assert!((1..=MAX_WORKERS).contains(&num_workers));
        Idle {
            state: AtomicUsize::new(num_workers * UNPARKED_ONE),
            num_workers,
            sleepers: Mutex::new(Vec::with_capacity(num_workers)),
        }
    }

    fn counts(&self) -> Counts {
        // SeqCst: part of the store-buffering pairs in README.md.
        Counts(self.state.load(Ordering::SeqCst))
    }

    /// Asks to become a searcher; refused when half the workers already search.
    pub(crate) fn transition_worker_to_searching(&self) -> bool {
        if 2 * self.counts().searching() >= self.num_workers {
            return false;
        }
        // SeqCst: the increment is ordered before this worker's steal attempts
        // and against producers' fence + load (README.md, "No lost wake-up").
        self.state.fetch_add(SEARCHING_ONE, Ordering::SeqCst);
        true
    }

    /// Stops searching (work was found). Returns true if this was the last
    /// searcher: the caller must then `notify_parked`.
    #[must_use]
    pub(crate) fn transition_worker_from_searching(&self) -> bool {
        // SeqCst: pairs with the producer's fence + load (README.md).
        let prev = Counts(self.state.fetch_sub(SEARCHING_ONE, Ordering::SeqCst));
        debug_assert!(prev.searching() >= 1);
        prev.searching() == 1
    }

    /// Registers `worker` as parked. Returns true if it was the last searcher:
    /// the caller must then check every queue for work (README.md, S2).
    #[must_use]
    pub(crate) fn transition_worker_to_parked(&self, worker: usize, was_searching: bool) -> bool {
        let cpu = placement::current_cpu();
        let mut sleepers = lock(&self.sleepers);
        let dec = UNPARKED_ONE + if was_searching { SEARCHING_ONE } else { 0 };
        // SeqCst: S1 in README.md; pairs with the producer's fence + load.
        let prev = Counts(self.state.fetch_sub(dec, Ordering::SeqCst));
        sleepers.push((worker, cpu));
        drop(sleepers);
        // SeqCst fence: S1 -> fence -> S2 (the caller's queue checks).
        fence(Ordering::SeqCst);
        was_searching && prev.searching() == 1
    }

    /// Whether a producer should wake someone: nobody searches and somebody
    /// sleeps. Starts with the producer's SeqCst fence (P2 in README.md).
    fn should_wake(&self) -> bool {
        // SeqCst fence: P1 -> fence -> load of `state` (README.md).
        fence(Ordering::SeqCst);
        let counts = self.counts();
        counts.searching() == 0 && counts.unparked() < self.num_workers
    }

    /// A cheap, unfenced hint: true if a producer might have to wake
    /// someone (nobody searching and somebody asleep). Only for producers that
    /// run the work themselves if nobody is woken (see `Shared`).
    #[inline]
    pub(crate) fn may_need_wakeup(&self) -> bool {
        let counts = Counts(self.state.load(Ordering::Relaxed));
        counts.searching() == 0 && counts.unparked() < self.num_workers
    }

    /// The sleeper to unpark after making work available, if any. The chosen
    /// worker is counted as unparked and searching from now on.
    pub(crate) fn worker_to_notify(&self) -> Option<usize> {
        if !self.should_wake() {
            return None;
        }
        self.choose_sleeper(WakeNear::OtherCpu)
    }

    /// Like [`worker_to_notify`](Self::worker_to_notify), for a producer
    /// that has already issued a SeqCst fence after making its work visible
    /// (the global queue's push does, for its own closing handshake): that
    /// fence is the producer fence of README.md, so none is repeated here.
    pub(crate) fn worker_to_notify_after_fence(&self, near: WakeNear) -> Option<usize> {
        let counts = self.counts();
        if counts.searching() != 0 || counts.unparked() >= self.num_workers {
            return None;
        }
        self.choose_sleeper(near)
    }

    fn choose_sleeper(&self, near: WakeNear) -> Option<usize> {
        let waker_cpu = placement::current_cpu();
        let mut sleepers = lock(&self.sleepers);
        if !self.should_wake() {
            return None;
        }
        // SeqCst: a producer racing with us sees the new searcher.
        self.state
            .fetch_add(UNPARKED_ONE + SEARCHING_ONE, Ordering::SeqCst);
        // Not necessarily the newest sleeper: see `placement`.
        let chosen = placement::choose(&sleepers, waker_cpu, near);
        debug_assert!(chosen.is_some(), "unparked < num_workers implies a sleeper");
        chosen.map(|position| sleepers.remove(position).0)
    }

    /// Whether `worker` is still registered as a sleeper (not yet notified).
    pub(crate) fn is_parked(&self, worker: usize) -> bool {
        lock(&self.sleepers).iter().any(|&(w, _)| w == worker)
    }

    /// Wakes `worker` for work only it can run (its own woken fibers): if it
    /// is registered as a sleeper, removes it and counts it as unparked and
    /// searching, as `worker_to_notify` does; returns whether the caller must
    /// unpark it. The caller made the work visible before calling; the
    /// worker checks for it after registering (see `worker::park_idle`).
    pub(crate) fn wake_worker(&self, worker: usize) -> bool {
        // SeqCst fence and load: nobody asleep means nobody to wake. Pairs
        // with the sleeper's SeqCst decrement + fence in
        // `transition_worker_to_parked`: either we see it asleep, or it sees
        // the work we published before this fence.
        fence(Ordering::SeqCst);
        if self.counts().unparked() == self.num_workers {
            return false;
        }
        let mut sleepers = lock(&self.sleepers);
        match sleepers.iter().position(|&(w, _)| w == worker) {
            Some(i) => {
                // Not swap_remove: the list stays oldest first.
                sleepers.remove(i);
                // SeqCst: as in `worker_to_notify`.
                self.state
                    .fetch_add(UNPARKED_ONE + SEARCHING_ONE, Ordering::SeqCst);
                true
            }
            None => false,
        }
    }

    /// Removes `worker` from the sleepers (shutdown). Returns whether it was
    /// there; it then counts as unparked, not searching.
    pub(crate) fn unpark_worker_by_id(&self, worker: usize) -> bool {
        let mut sleepers = lock(&self.sleepers);
        match sleepers.iter().position(|&(w, _)| w == worker) {
            Some(i) => {
                sleepers.remove(i); // not swap_remove: see above
                self.state.fetch_add(UNPARKED_ONE, Ordering::SeqCst); // as in worker_to_notify
                true
            }
            None => false,
        }
    }

    #[cfg(test)]
    pub(crate) fn searching(&self) -> usize {
        self.counts().searching()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn at_most_half_search() {
        let idle = Idle::new(4);
        assert!(idle.transition_worker_to_searching());
        assert!(idle.transition_worker_to_searching());
        assert!(!idle.transition_worker_to_searching());
        assert_eq!(idle.searching(), 2);
        assert!(!idle.transition_worker_from_searching());
        assert!(idle.transition_worker_from_searching());
    }

    #[test]
    fn notify_only_when_nobody_searches() {
        let idle = Idle::new(2);
        assert_eq!(idle.worker_to_notify(), None, "nobody sleeps");
        assert!(idle.transition_worker_to_searching());
        assert!(idle.transition_worker_to_parked(0, true), "last searcher");
        assert_eq!(idle.worker_to_notify(), Some(0));
        assert!(!idle.is_parked(0));
        // Worker 0 is now searching: a second notify wakes nobody.
        assert!(!idle.transition_worker_to_parked(1, false));
        assert_eq!(idle.worker_to_notify(), None);
        assert!(idle.unpark_worker_by_id(1));
        assert!(!idle.unpark_worker_by_id(1));
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use crate::loom::atomic::AtomicBool;
    use crate::loom::{thread, Arc};
    use crate::park::Parker;

    /// One worker searches, finds nothing and parks; one producer publishes
    /// work and notifies with `notify` (which issues the producer's fence or
    /// relies on one issued before it). The worker must end up seeing the
    /// work: loom reports a deadlock if it sleeps forever.
    fn no_lost_wakeup_with(notify: fn(&Idle) -> Option<usize>) {
        let explored = crate::loom::model_counting(move || {
            let idle = Arc::new(Idle::new(1));
            let parker = Arc::new(Parker::new());
            let work = Arc::new(AtomicBool::new(false));
            let producer = {
                let (idle, parker, work) = (idle.clone(), parker.clone(), work.clone());
                thread::spawn(move || {
                    work.store(true, Ordering::Release); // P1
                    if notify(&idle).is_some() {
                        parker.unpark();
                    }
                })
            };
            // The worker: its own queue is empty; search.
            let mut searching = idle.transition_worker_to_searching();
            loop {
                if work.load(Ordering::Acquire) {
                    break;
                }
                let last = idle.transition_worker_to_parked(0, searching);
                if last && work.load(Ordering::Acquire) {
                    // S2 found work: notify (possibly ourselves) as the
                    // runtime does in `notify_if_work_pending`.
                    if idle.worker_to_notify().is_some() {
                        parker.unpark();
                    }
                }
                while idle.is_parked(0) {
                    parker.park();
                }
                searching = true; // the notifier counted us as searching
            }
            producer.join().unwrap();
        });
        assert!(explored > 1, "loom explored {explored} interleavings");
    }

    #[test]
    fn no_lost_wakeup() {
        no_lost_wakeup_with(Idle::worker_to_notify);
    }

    /// As `no_lost_wakeup`, for a push to the global queue: its SeqCst fence
    /// (right after the swap, for the queue's closing handshake) is the
    /// producer's fence, and `worker_to_notify_after_fence` only loads the
    /// state. (Deadlocks without that fence: checked.)
    #[test]
    fn no_lost_wakeup_after_the_global_queues_fence() {
        no_lost_wakeup_with(|idle| {
            fence(Ordering::SeqCst); // the fence in `InjectQueue::refuse_if_closed`
            idle.worker_to_notify_after_fence(WakeNear::OtherCpu)
        });
    }

    /// A worker parks while a waker hands it work only it may run (a woken
    /// fiber in its inbox, here a flag set by an RMW as the inbox push is)
    /// and calls `wake_worker`, as `Shared::wake_for_inbox` does. The worker
    /// checks the inbox after registering, as `park_idle` does. It must end
    /// up seeing the work; loom reports a deadlock if it sleeps forever.
    #[test]
    fn no_lost_wakeup_for_work_only_one_worker_may_run() {
        let explored = crate::loom::model_counting(|| {
            let idle = Arc::new(Idle::new(2));
            let parker = Arc::new(Parker::new());
            let inbox = Arc::new(AtomicBool::new(false));
            let waker = {
                let (idle, parker, inbox) = (idle.clone(), parker.clone(), inbox.clone());
                thread::spawn(move || {
                    inbox.swap(true, Ordering::AcqRel); // D1: the push
                    if idle.wake_worker(0) {
                        parker.unpark();
                    }
                })
            };
            // Worker 1 stays busy (unparked); worker 0 runs out of work.
            let _ = idle.transition_worker_to_parked(0, false);
            loop {
                if inbox.load(Ordering::Acquire) {
                    break; // S3 saw it (park_idle then leaves the sleepers)
                }
                parker.park();
                if !idle.is_parked(0) {
                    assert!(inbox.load(Ordering::Acquire), "woken for the inbox");
                    break;
                }
            }
            waker.join().unwrap();
        });
        assert!(explored > 1, "loom explored {explored} interleavings");
    }
}
