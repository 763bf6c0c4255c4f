//! A blocked select's *selection*: the one word that decides which of its
//! arms completes, shared by every entry the select left in a channel
//! (Go's `selectDone`, crossbeam's `Context::select`).
//!
//! States of the word: `WAITING` (nothing decided), `ABORTED` (the select
//! itself stopped waiting: woken, timed out, or it saw an arm become ready
//! while registering), or `CHOSEN + i` (arm `i` was chosen by the party that
//! completes it). The only transitions are `WAITING -> ABORTED` and
//! `WAITING -> CHOSEN + i`, each one compare-and-swap, so the word is decided
//! exactly once and never changes afterwards: of all the parties racing to
//! decide it, exactly one wins, and every entry of a decided selection is
//! *stale* for everyone else.
//!
//! A selection is used for one blocking round of one select; the next round
//! makes a fresh one, so a stale entry can never become live again (no ABA).
//!
//! [`Owner`] names who waits in a channel entry: a plain blocking call (which
//! can always be completed) or one arm of a selection (which can be
//! completed only by whoever chooses that arm).

use crate::loom::atomic::{AtomicUsize, Ordering};
use crate::loom::Arc;

const WAITING: usize = 0;
const ABORTED: usize = 1;
/// Arm `i` chosen: `CHOSEN + i`.
const CHOSEN: usize = 2;
const _: () = assert!(WAITING != ABORTED && CHOSEN > WAITING && CHOSEN > ABORTED);

/// What became of a selection.
#[must_use]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Choice {
    /// Not decided yet.
    Waiting,
    /// The select stopped waiting on its own; it selects again.
    Aborted,
    /// This arm was chosen; the select must complete it.
    Arm(usize),
}

impl Choice {
    fn decode(word: usize) -> Choice {
        match word {
            WAITING => Choice::Waiting,
            ABORTED => Choice::Aborted,
            chosen => Choice::Arm(chosen - CHOSEN),
        }
    }
}

/// The decision word of one blocking round of a select, and how to wake it.
pub struct Selection<W> {
    word: AtomicUsize,
    waiter: W,
}

impl<W: Copy> Selection<W> {
    /// An undecided selection for the select that `waiter` wakes.
    pub(super) fn new(waiter: W) -> Arc<Selection<W>> {
        Arc::new(Selection {
            word: AtomicUsize::new(WAITING),
            waiter,
        })
    }

    /// The select to wake once its selection is decided.
    pub(super) fn waiter(&self) -> W {
        self.waiter
    }

    /// Chooses `arm` if nothing is decided yet; true if this call chose it,
    /// and the caller must then complete that arm's operation for the select
    /// (under the same lock hold) and wake it.
    pub(super) fn choose(&self, arm: usize) -> bool {
        self.word
            // Release: pairs with the Acquire of the select's `abort` (or
            // `choice`), which then sees what the chooser did before this.
            // On failure the entry is stale and nothing is read: Relaxed.
            .compare_exchange(WAITING, CHOSEN + arm, Ordering::Release, Ordering::Relaxed)
            .is_ok()
    }

    /// The select stops waiting; returns what the selection ends as:
    /// `Aborted` if this call decided it, else the arm chosen first.
    pub(super) fn abort(&self) -> Choice {
        // Acquire (success and failure): pairs with the Release of `choose`.
        match self
            .word
            .compare_exchange(WAITING, ABORTED, Ordering::Acquire, Ordering::Acquire)
        {
            Ok(_) => Choice::Aborted,
            Err(word) => Choice::decode(word),
        }
    }

    /// What the selection is now (used by the select itself).
    pub(super) fn choice(&self) -> Choice {
        // Acquire: pairs with the Release of `choose`.
        Choice::decode(self.word.load(Ordering::Acquire))
    }

    /// Whether nothing is decided yet. Only a hint for another party (it
    /// may be decided a moment later), but never wrong in one direction:
    /// the word leaves `WAITING` once and for all, so "decided" is final.
    fn is_waiting(&self) -> bool {
        self.word.load(Ordering::Relaxed) == WAITING
    }
}

/// One arm of a selection, as registered in one channel.
pub(super) struct SelectArmRef<W> {
    pub(super) selection: Arc<Selection<W>>,
    pub(super) arm: usize,
}

/// Who waits in a channel entry.
pub(super) enum Owner<W> {
    /// A plain blocking send or receive: whoever takes the entry completes
    /// its operation.
    Plain(W),
    /// One arm of a blocked select: only the party that chooses that arm
    /// may complete it.
    Select(SelectArmRef<W>),
}

impl<W: Copy> Owner<W> {
    /// Claims the right to complete the entry's operation: always for a
    /// plain waiter; for a select, only if this call chooses the arm. Gives
    /// the waiter to wake, or `None` if the entry is stale.
    pub(super) fn claim(&self) -> Option<W> {
        match self {
            Owner::Plain(waiter) => Some(*waiter),
            Owner::Select(entry) => entry
                .selection
                .choose(entry.arm)
                .then(|| entry.selection.waiter()),
        }
    }

    /// The waiter to wake when the channel disconnects (a select is woken
    /// without choosing it, and selects again).
    pub(super) fn waiter(&self) -> W {
        match self {
            Owner::Plain(waiter) => *waiter,
            Owner::Select(entry) => entry.selection.waiter(),
        }
    }

    /// Whether a party could complete with this entry: a plain waiter, or
    /// an undecided arm of a select.
    pub(super) fn is_live(&self) -> bool {
        match self {
            Owner::Plain(_) => true,
            Owner::Select(entry) => entry.selection.is_waiting(),
        }
    }

    /// The selection of a select's entry (`None` for a plain one).
    pub(super) fn selection(&self) -> Option<&Arc<Selection<W>>> {
        match self {
            Owner::Plain(_) => None,
            Owner::Select(entry) => Some(&entry.selection),
        }
    }

    /// Whether `me` (a select registering its arms) could complete with this
    /// entry: it is a plain waiter or an undecided arm of another select.
    /// A select never completes with itself (as in Go).
    pub(super) fn is_live_for(&self, me: &Arc<Selection<W>>) -> bool {
        match self {
            Owner::Plain(_) => true,
            Owner::Select(entry) => !Arc::ptr_eq(&entry.selection, me) && entry.selection.is_waiting(),
        }
    }
}
