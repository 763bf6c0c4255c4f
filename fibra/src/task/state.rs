//! The task state word: completion flags, join-handle flags and a refcount,
//! packed in one `AtomicU32` so that every transition is one atomic RMW.
//!
//! References: a task cell starts with two, one owned by "the scheduler" (the
//! queue entry that holds it) and one by the `JoinHandle`; a scoped task has a
//! third, held by its scope. The last one to go frees the cell.
//!
//! Who runs the closure: whoever sets `CLAIMED` first. Normally that is the
//! worker that pops the queue entry; but a joiner (or a scope) that finds the
//! task not yet started claims it and runs it on its own stack, so that
//! waiting never needs to run unrelated work. The queue entry then stays
//! where it is, and whoever pops it later finds `CLAIMED` set and only
//! releases the entry's reference.
//!
//! Who owns the output once the task completes: the `JoinHandle` if
//! `JOIN_INTEREST` was still set when `COMPLETE` was set, else the runner.
//! Both flags change only by RMW, so exactly one side sees the other's
//! flag and drops (or takes) the output.

use crate::loom::atomic::{AtomicU32, Ordering};

/// The closure has finished: ran (output stored) or was cancelled.
pub(crate) const COMPLETE: u32 = 1 << 0;
/// Completed without running (shutdown, or spawned on a closed runtime).
/// Only ever set together with `COMPLETE`.
pub(crate) const CANCELLED: u32 = 1 << 1;
/// A `JoinHandle` still exists and will take or drop the output.
pub(crate) const JOIN_INTEREST: u32 = 1 << 2;
/// The handle's owner stored its parker in the header's `waiter` field and
/// may sleep; the completer must unpark it. Set only while `JOIN_INTEREST`.
pub(crate) const JOIN_WAITING: u32 = 1 << 3;
/// Somebody has taken the right to run (or cancel) the closure. Set once.
pub(crate) const CLAIMED: u32 = 1 << 4;
/// One reference; the count occupies the bits above the flags.
pub(crate) const REF_ONE: u32 = 1 << 5;
const FLAG_MASK: u32 = REF_ONE - 1;
const _: () = assert!((COMPLETE | CANCELLED | JOIN_INTEREST | JOIN_WAITING | CLAIMED) == FLAG_MASK);

/// The initial state of a task with `refs` references (the scheduler's, the
/// handle's, and for scoped tasks the scope's) and a handle's interest.
pub(crate) const fn initial(refs: u32) -> u32 {
    (refs * REF_ONE) | JOIN_INTEREST
}
/// The initial state of a detached task: the scheduler's reference only, and
/// no handle (so no interest: the runner drops the output).
pub(crate) const DETACHED: u32 = REF_ONE;
/// Scheduler reference + handle reference + the handle's interest.
#[cfg(loom)]
pub(crate) const INITIAL: u32 = initial(2);

/// A value of the state word.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Snapshot(pub(crate) u32);

impl Snapshot {
    pub(crate) fn is_complete(self) -> bool {
        self.0 & COMPLETE != 0
    }
    pub(crate) fn is_cancelled(self) -> bool {
        self.0 & CANCELLED != 0
    }
    pub(crate) fn has_join_interest(self) -> bool {
        self.0 & JOIN_INTEREST != 0
    }
    pub(crate) fn is_join_waiting(self) -> bool {
        self.0 & JOIN_WAITING != 0
    }
    pub(crate) fn ref_count(self) -> u32 {
        self.0 / REF_ONE
    }
}

pub(crate) struct State(AtomicU32);

/// What the completer must do after setting `COMPLETE`.
#[must_use]
pub(crate) enum AfterComplete {
    /// The handle is gone: the completer owns (and drops) the output.
    DropOutput,
    /// The handle's owner may be asleep: unpark the registered waiter.
    WakeWaiter,
    /// The handle will find the output when it looks.
    Nothing,
}

/// What `JoinHandle::drop` must do.
#[must_use]
pub(crate) enum AfterHandleDrop {
    /// The task completed first: the handle drops the output (unless it was
    /// cancelled), then releases its reference.
    DropOutputThenRelease,
    /// Interest and reference given up in one step; the runner drops the output.
    Done,
}

impl State {
    pub(crate) fn new(initial: u32) -> State {
        State(AtomicU32::new(initial))
    }

    /// The futex word (the join waiter may sleep on it only under loom-free
    /// builds; fibra sleeps on parkers, so this is for inspection).
    pub(crate) fn load(&self) -> Snapshot {
        // Acquire: pairs with the AcqRel RMW in `complete`, so that a reader
        // that sees COMPLETE also sees the stored output.
        Snapshot(self.0.load(Ordering::Acquire))
    }

    /// Sets `COMPLETE` (and `CANCELLED` when `cancelled`).
    pub(crate) fn complete(&self, cancelled: bool) -> AfterComplete {
        let flags = if cancelled { COMPLETE | CANCELLED } else { COMPLETE };
        // AcqRel: Release publishes the output written before this to the
        // handle's Acquire `load`; Acquire pairs with the handle's Release
        // RMWs, so the `waiter` it stored before JOIN_WAITING is visible.
        let prev = Snapshot(self.0.fetch_or(flags, Ordering::AcqRel));
        debug_assert!(!prev.is_complete());
        if !prev.has_join_interest() {
            AfterComplete::DropOutput
        } else if prev.is_join_waiting() {
            AfterComplete::WakeWaiter
        } else {
            AfterComplete::Nothing
        }
    }

    /// Sets `COMPLETE` and drops one reference in one RMW, if the word still
    /// holds `expected`; else returns what it holds. `Ok(true)`: that was the
    /// last reference (free the cell). The runner's path (`cell::run_and_release`)
    /// decides from `expected` who owns the output before calling this, and
    /// retries with the new value when a handle changed the word meanwhile.
    pub(crate) fn try_complete_and_release(&self, expected: Snapshot) -> Result<bool, Snapshot> {
        debug_assert!(!expected.is_complete() && expected.ref_count() >= 1);
        let next = (expected.0 | COMPLETE) - REF_ONE;
        // AcqRel on success: Release publishes the stored output to the
        // handle's Acquire `load` (as in `complete`) and orders our last use
        // of the cell before whoever frees it; Acquire pairs with the other
        // holders' Release RMWs when we free it, and with the handle's
        // `set_join_waiting` so that its `waiter` is visible to us. Acquire on
        // failure: the caller re-reads flags (and `waiter`) from the value.
        self.0
            .compare_exchange(expected.0, next, Ordering::AcqRel, Ordering::Acquire)
            .map(|_| expected.ref_count() == 1)
            .map_err(Snapshot)
    }

    /// Takes the right to run or cancel the closure. True for exactly one
    /// caller over the task's life.
    #[must_use]
    pub(crate) fn try_claim(&self) -> bool {
        if self.0.load(Ordering::Relaxed) & CLAIMED != 0 {
            return false; // cheap early out; the RMW below decides
        }
        // Acquire: pairs with the Release of the spawner's publication (the
        // queue push or the scope list) so the closure is visible; the RMW's
        // total order per location makes exactly one claimer win.
        self.0.fetch_or(CLAIMED, Ordering::Acquire) & CLAIMED == 0
    }

    /// Drops one reference; true when it was the last (free the cell).
    #[must_use]
    pub(crate) fn release_ref(&self) -> bool {
        // References are never added, only dropped: a count of one is ours
        // alone, and nobody else will touch the word or the cell again, so
        // the last holder needs no RMW (`Arc::get_mut`'s argument). Acquire:
        // pairs with the Release half of the other holders' last RMWs, so
        // their uses of the cell happen before ours and before the free.
        if Snapshot(self.0.load(Ordering::Acquire)).ref_count() == 1 {
            return true;
        }
        // AcqRel: every access to the cell by this reference's holder (Release)
        // happens before the last holder frees it (Acquire).
        let prev = Snapshot(self.0.fetch_sub(REF_ONE, Ordering::AcqRel));
        debug_assert!(prev.ref_count() >= 1);
        prev.ref_count() == 1
    }

    /// Announces that the handle's owner stored its parker and may sleep.
    /// Returns false if the task completed meanwhile (nothing to wait for).
    pub(crate) fn set_join_waiting(&self) -> bool {
        // Release: pairs with the Acquire half of `complete`'s RMW so that the
        // `waiter` written before this is visible to the completer.
        // Acquire (on failure): pairs with `complete`'s Release.
        let prev = Snapshot(self.0.fetch_or(JOIN_WAITING, Ordering::AcqRel));
        !prev.is_complete()
    }

    /// Gives up the handle's interest and reference (see [`AfterHandleDrop`]).
    pub(crate) fn drop_join_handle(&self) -> AfterHandleDrop {
        let mut current = self.0.load(Ordering::Acquire); // pairs with `complete`
        loop {
            if Snapshot(current).is_complete() {
                return AfterHandleDrop::DropOutputThenRelease;
            }
            let next = (current - REF_ONE) & !(JOIN_INTEREST | JOIN_WAITING);
            // AcqRel: Release orders our last use of the cell before the
            // runner's free; Acquire pairs with `complete` on failure.
            match self
                .0
                .compare_exchange_weak(current, next, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return AfterHandleDrop::Done,
                Err(actual) => current = actual,
            }
        }
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use crate::loom::{atomic::AtomicUsize, thread, Arc};

    /// A worker popping the queue entry and a joiner race to claim the task:
    /// exactly one runs it, and the cell is freed once.
    #[test]
    fn exactly_one_claimer_runs_the_task() {
        let explored = crate::loom::model_counting(|| {
            let state = Arc::new(State::new(INITIAL));
            let runs = Arc::new(AtomicUsize::new(0));
            let frees = Arc::new(AtomicUsize::new(0));
            let popper = {
                let (state, runs, frees) = (state.clone(), runs.clone(), frees.clone());
                thread::spawn(move || {
                    if state.try_claim() {
                        runs.fetch_add(1, Ordering::Relaxed);
                        let _ = state.complete(false);
                    }
                    if state.release_ref() {
                        frees.fetch_add(1, Ordering::Relaxed);
                    }
                })
            };
            // The joiner: claim and run inline, or wait for the popper.
            if state.try_claim() {
                runs.fetch_add(1, Ordering::Relaxed);
                let _ = state.complete(false);
            }
            popper.join().unwrap();
            assert!(state.load().is_complete());
            assert_eq!(runs.load(Ordering::Relaxed), 1);
            if state.release_ref() {
                frees.fetch_add(1, Ordering::Relaxed);
            }
            assert_eq!(frees.load(Ordering::Relaxed), 1);
        });
        assert!(explored > 1, "loom explored {explored} interleavings");
    }

    /// A runner completes while the handle is dropped: the output is dropped
    /// exactly once and exactly one side frees the cell.
    #[test]
    fn complete_races_handle_drop() {
        let explored = crate::loom::model_counting(|| {
            let state = Arc::new(State::new(INITIAL));
            let output_drops = Arc::new(AtomicUsize::new(0));
            let frees = Arc::new(AtomicUsize::new(0));
            let runner = {
                let (state, output_drops, frees) = (state.clone(), output_drops.clone(), frees.clone());
                thread::spawn(move || {
                    if let AfterComplete::DropOutput = state.complete(false) {
                        output_drops.fetch_add(1, Ordering::Relaxed);
                    }
                    if state.release_ref() {
                        frees.fetch_add(1, Ordering::Relaxed);
                    }
                })
            };
            match state.drop_join_handle() {
                AfterHandleDrop::DropOutputThenRelease => {
                    output_drops.fetch_add(1, Ordering::Relaxed);
                    if state.release_ref() {
                        frees.fetch_add(1, Ordering::Relaxed);
                    }
                }
                AfterHandleDrop::Done => {}
            }
            runner.join().unwrap();
            assert_eq!(output_drops.load(Ordering::Relaxed), 1);
            assert_eq!(frees.load(Ordering::Relaxed), 1);
        });
        assert!(explored > 1, "loom explored {explored} interleavings");
    }

    /// The runner's one-RMW completion (`try_complete_and_release`, driven
    /// as `cell::run_and_release` drives it) races a handle that either
    /// drops or registers as waiting then takes the output: the output is
    /// dropped or taken exactly once, the cell freed exactly once, and a
    /// registered waiter is always woken.
    #[test]
    fn fused_completion_races_handle_drop_or_wait() {
        for handle_waits in [false, true] {
            let explored = crate::loom::model_counting(move || {
                let state = Arc::new(State::new(INITIAL));
                let (outputs, frees, woken) = (
                    Arc::new(AtomicUsize::new(0)),
                    Arc::new(AtomicUsize::new(0)),
                    Arc::new(AtomicUsize::new(0)),
                );
                let runner = {
                    let (state, outputs, frees, woken) =
                        (state.clone(), outputs.clone(), frees.clone(), woken.clone());
                    thread::spawn(move || {
                        let mut current = state.load();
                        loop {
                            let ours = !current.has_join_interest();
                            let wake = current.is_join_waiting();
                            match state.try_complete_and_release(current) {
                                Ok(last) => {
                                    if ours {
                                        outputs.fetch_add(1, Ordering::Relaxed);
                                    }
                                    if last {
                                        frees.fetch_add(1, Ordering::Relaxed);
                                    }
                                    if wake {
                                        woken.store(1, Ordering::Release);
                                    }
                                    break;
                                }
                                Err(actual) => current = actual,
                            }
                        }
                    })
                };
                let must_sleep = if handle_waits {
                    state.set_join_waiting()
                } else {
                    if let AfterHandleDrop::DropOutputThenRelease = state.drop_join_handle() {
                        outputs.fetch_add(1, Ordering::Relaxed);
                        if state.release_ref() {
                            frees.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    false
                };
                runner.join().unwrap();
                if handle_waits {
                    if must_sleep {
                        assert_eq!(woken.load(Ordering::Acquire), 1, "waiter never woken");
                    }
                    assert!(state.load().is_complete());
                    outputs.fetch_add(1, Ordering::Relaxed); // the handle takes it
                    if state.release_ref() {
                        frees.fetch_add(1, Ordering::Relaxed);
                    }
                }
                assert_eq!(outputs.load(Ordering::Relaxed), 1);
                assert_eq!(frees.load(Ordering::Relaxed), 1);
            });
            assert!(explored > 1, "loom explored {explored} interleavings");
        }
    }

    /// Two holders use the cell, then release their references; the last
    /// one frees it (here: writes it, as the pool's next user would).
    /// loom checks that every use happens before the free, also when the
    /// last holder skips the RMW because it saw a count of one (fails
    /// with a Relaxed load there: checked).
    #[test]
    fn last_holder_frees_after_every_use() {
        let explored = crate::loom::model_counting(|| {
            let state = Arc::new(State::new(INITIAL));
            let cell = Arc::new(loom::cell::UnsafeCell::new(0u32));
            let frees = Arc::new(AtomicUsize::new(0));
            let holder =
                |state: Arc<State>, cell: Arc<loom::cell::UnsafeCell<u32>>, frees: Arc<AtomicUsize>| {
                    // SAFETY: a use by a reference holder: the cell is live; loom
                    // reports a race with the free if the protocol allows one.
                    cell.with(|value| unsafe { std::ptr::read(value) });
                    if state.release_ref() {
                        // SAFETY: the last holder owns the cell; loom checks that.
                        cell.with_mut(|value| unsafe { *value = u32::MAX });
                        frees.fetch_add(1, Ordering::Relaxed);
                    }
                };
            let other = {
                let (state, cell, frees) = (state.clone(), cell.clone(), frees.clone());
                thread::spawn(move || holder(state, cell, frees))
            };
            holder(state, cell, frees.clone());
            other.join().unwrap();
            assert_eq!(frees.load(Ordering::Relaxed), 1);
        });
        assert!(explored > 1, "loom explored {explored} interleavings");
    }

    /// A joiner registers as waiting while the runner completes: the joiner
    /// is either told the task is complete or is woken (never left asleep).
    #[test]
    fn join_waiting_is_never_missed() {
        let explored = crate::loom::model_counting(|| {
            let state = Arc::new(State::new(INITIAL));
            let woken = Arc::new(AtomicUsize::new(0));
            let runner = {
                let (state, woken) = (state.clone(), woken.clone());
                thread::spawn(move || {
                    if let AfterComplete::WakeWaiter = state.complete(false) {
                        woken.store(1, Ordering::Release);
                    }
                    let _ = state.release_ref();
                })
            };
            let must_sleep = state.set_join_waiting();
            runner.join().unwrap();
            if must_sleep {
                assert_eq!(
                    woken.load(Ordering::Acquire),
                    1,
                    "waiter registered but never woken"
                );
            }
            assert!(state.load().is_complete());
        });
        assert!(explored > 1, "loom explored {explored} interleavings");
    }
}
