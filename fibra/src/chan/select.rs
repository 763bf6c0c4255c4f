//! Select: wait on several channel operations ("arms") at once and complete
//! exactly one. Generic over [`Parking`] like the rest of the blocking
//! protocol, so the loom models check this very code.
//!
//! # Protocol
//!
//! A select runs rounds until one arm completes:
//!
//! 1. **Try.** Visit the arms in a uniformly random order (Fisher–Yates
//!    from a per-thread xorshift; in their written order for a biased
//!    select, [`Order::Biased`]), attempting each without waiting
//!    (`try_recv` / `try_send`). The first that completes wins, so among
//!    arms ready at once each is equally likely. An arm on a disconnected
//!    channel is ready: it completes with its error. With a `default` arm
//!    (`Wait::Never`), or past the deadline, stop here with `None`.
//! 2. **Register.** Make a fresh [`Selection`] (its word `WAITING`) and,
//!    one arm at a time in a fresh random order (the written order if
//!    biased), under that arm's channel's lock: if the arm could complete
//!    now (`can_receive` / `can_send`), abort the selection and stop
//!    registering; otherwise leave an entry for it (a send arm moves its
//!    value into its entry, as a blocked sender does). The order matters
//!    when several arms are on one channel: its counterpart takes the
//!    entry queued first, so a fixed order would always complete the
//!    same arm.
//! 3. **Wait.** If the word is still `WAITING`, park (until the deadline, if
//!    any). Then abort the selection: the compare-and-swap tells whether an
//!    arm was chosen first.
//! 4. **Unregister.** Under each lock, remove the entries left in step 2;
//!    a send arm takes its value back, unless the entry is gone because the
//!    arm was chosen (its value was taken: the send has completed); a
//!    receive arm whose entry is gone because it was chosen takes the value
//!    handed to it.
//! 5. **Complete.** If arm `k` was chosen, it completed in step 4: return
//!    it. Aborted (spurious or disconnection wake-up, timeout, or an arm
//!    found ready in step 2): run another round.
//!
//! A party that finds a select's entry in a channel may complete that arm
//! only by choosing it (`Selection::choose`, under the channel's lock): a
//! sender choosing a receive arm hands its value to the arm's entry
//! (`state.rs`, invariant 6); a receiver choosing a send arm takes the
//! value out of the entry. A failed choice means the entry is stale.
//!
//! # Invariants
//!
//! - **Exactly one arm completes.** Before step 5 only a chooser can
//!   complete an arm, and the word is decided once (`selection.rs`); after
//!   an abort, every entry is stale, so nothing completes until the select
//!   itself does in its next round's step 1.
//! - **No value is lost or stranded.** A send arm's value is in the select
//!   or in its entry; it leaves the entry only with a successful choice
//!   (completed) or back to the select (step 4; unchosen values are dropped
//!   with the arm). A value is handed to a receive arm only by the party
//!   that chose it, and the select takes it in step 4, so a select that
//!   completes another arm leaves nothing behind, even on a rendezvous
//!   channel.
//! - **No lost wake-up.** An arm registers only if, under its channel's
//!   lock, it could not complete; from then on any change that makes it
//!   able to complete either chooses the selection (and wakes the select),
//!   finds it decided (the select is already awake or about to be), or is a
//!   disconnection, which wakes every waiter without choosing. Any wake-up
//!   makes the select abort and run a new round, which sees the change.
//! - **A select never completes with itself** (`Owner::is_live_for`), as in
//!   Go: a select sending and receiving on one rendezvous channel waits for
//!   another party.

use super::blocking::{lock, unpark_any, Parking, Shared};
use super::error::{RecvError, TryRecvError, TrySendError};
use super::selection::{Choice, SelectArmRef, Selection};
use super::state::{take, Received, Settled};
use crate::loom::Arc;
use std::time::Instant;

/// How long a select may wait when no arm is ready.
#[derive(Clone, Copy, Debug)]
pub(super) enum Wait {
    /// Not at all (a `default` arm).
    Never,
    /// Until an arm completes.
    Forever,
    /// Until an arm completes or the deadline passes.
    Until(Instant),
}

/// One operation of a select, on one channel; `P` is how the select parks.
pub trait Arm<P: Parking> {
    /// Completes the operation if that needs no waiting (on a disconnected
    /// channel it completes with its error); true if it did.
    fn try_complete(&mut self, parking: &P) -> bool;
    /// Under the channel's lock: false if the operation could complete now
    /// (nothing registered); else leaves an entry for arm `index` of
    /// `selection` and returns true.
    fn register(&mut self, selection: &Arc<Selection<P::Waiter>>, index: usize, parking: &P) -> bool;
    /// Removes the entry that [`Arm::register`] left, if any: a send takes
    /// its value back, or finds it taken (then the send has completed); a
    /// receive takes the value handed to it, if its arm was chosen.
    fn unregister(&mut self, parking: &P);
    /// Whether the operation completed (after [`Arm::unregister`]: whether
    /// its arm was chosen and completed by the chooser).
    fn completed(&self) -> bool;
    /// When the operation becomes ready by itself, if it does (a timer
    /// channel's next delivery): a waiting select parks until then at the
    /// latest, and tries again.
    fn ready_at(&self) -> Option<Instant> {
        None
    }
    /// After [`Arm::unregister`]: whether the arm was chosen by a selected
    /// send (`state/reserve.rs`) whose value is still to come. The select
    /// then waits and unregisters again, whatever its deadline.
    fn awaiting_hand_off(&self) -> bool {
        false
    }
}

/// In which order a select tries and registers its arms.
#[derive(Clone, Copy, Debug)]
pub(super) enum Order {
    /// A fresh uniformly random order for each pass (`select!`).
    Fair(Xorshift),
    /// The arms' own order (`select_biased!`): the first ready arm wins.
    Biased,
}

impl Order {
    /// The order of one pass over `len` arms.
    fn pass(&mut self, len: usize) -> Pass<'_> {
        Pass {
            shuffle: Shuffle::new(len),
            rng: match self {
                Order::Fair(rng) => Some(rng),
                Order::Biased => None,
            },
        }
    }
}

/// One pass over the arms, in the order its [`Order`] gives.
struct Pass<'a> {
    shuffle: Shuffle,
    rng: Option<&'a mut Xorshift>,
}

impl Iterator for Pass<'_> {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        self.shuffle.next(self.rng.as_deref_mut())
    }
}

/// A small, fast generator (xorshift32); enough to spread choices.
#[derive(Clone, Copy, Debug)]
pub(super) struct Xorshift(u32);

impl Xorshift {
    pub(super) fn new(seed: u32) -> Xorshift {
        Xorshift(seed | 1) // never zero, xorshift's fixed point
    }

    pub(super) fn next(&mut self) -> u32 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.0 = x;
        x
    }

    /// Uniform enough in `0..n` (multiply-shift, bias below 2^-32 * n).
    fn below(&mut self, n: usize) -> usize {
        ((u64::from(self.next()) * n as u64) >> 32) as usize
    }
}

/// Selects one of `arms` and completes it, waiting as `wait` allows; the
/// index of the arm that completed, or `None` if none could without
/// waiting (`Wait::Never`) or before the deadline. See the module docs.
pub(super) fn select<P: Parking, A: Arm<P> + ?Sized>(
    arms: &mut [&mut A],
    parking: &P,
    wait: Wait,
    mut order: Order,
) -> Option<usize> {
    loop {
        if let Some(index) = try_each(arms, parking, &mut order) {
            return Some(index);
        }
        let deadline = match wait {
            Wait::Never => return None,
            Wait::Forever => None,
            Wait::Until(deadline) if parking.expired(deadline) => return None,
            Wait::Until(deadline) => Some(deadline),
        };
        let selection = Selection::new(parking.current());
        register_until_ready(arms, &selection, &mut order, parking);
        if selection.choice() == Choice::Waiting {
            let wake_at = arms.iter().map(|arm| arm.ready_at()).fold(deadline, earliest);
            parking.park_until(wake_at);
        }
        let choice = selection.abort();
        // Arms that did not register have nothing to remove (no lock taken).
        arms.iter_mut().for_each(|arm| arm.unregister(parking));
        if let Choice::Arm(index) = choice {
            while arms[index].awaiting_hand_off() {
                parking.park_until(None);
                arms[index].unregister(parking);
            }
            if arms[index].completed() {
                return Some(index);
            }
        }
    }
}

/// The earlier of two optional instants (`None` is "never").
pub(super) fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, None) => a,
        (None, b) => b,
    }
}

/// Step 1: tries every arm once, in the select's order.
fn try_each<P: Parking, A: Arm<P> + ?Sized>(
    arms: &mut [&mut A],
    parking: &P,
    order: &mut Order,
) -> Option<usize> {
    order
        .pass(arms.len())
        .find(|&index| arms[index].try_complete(parking))
}

/// Step 2: registers the arms, in the select's order, until one could
/// complete now (then aborts the selection).
fn register_until_ready<P: Parking, A: Arm<P> + ?Sized>(
    arms: &mut [&mut A],
    selection: &Arc<Selection<P::Waiter>>,
    order: &mut Order,
    parking: &P,
) {
    for index in order.pass(arms.len()) {
        if !arms[index].register(selection, index, parking) {
            // Ready now: run another round (unless an arm registered
            // earlier was chosen meanwhile; then the abort fails and the
            // caller completes that one).
            let _ = selection.abort();
            return;
        }
    }
}

/// A lazy Fisher–Yates shuffle of `0..n`: each call to `next` draws one
/// more position, so a select that completes its first try draws once.
/// Up to `INLINE` arms need no allocation.
struct Shuffle {
    inline: [u16; Shuffle::INLINE],
    heap: Vec<usize>,
    len: usize,
    drawn: usize,
}

impl Shuffle {
    const INLINE: usize = 16;

    fn new(len: usize) -> Shuffle {
        let mut inline = [0; Shuffle::INLINE];
        let mut heap = Vec::new();
        if len <= Shuffle::INLINE {
            for (slot, index) in inline.iter_mut().zip(0..) {
                *slot = index;
            }
        } else {
            heap = (0..len).collect();
        }
        Shuffle {
            inline,
            heap,
            len,
            drawn: 0,
        }
    }

    /// The next index: drawn at random with `rng`, else in order.
    fn next(&mut self, rng: Option<&mut Xorshift>) -> Option<usize> {
        if self.drawn == self.len {
            return None;
        }
        let pick = self.drawn + rng.map_or(0, |rng| rng.below(self.len - self.drawn));
        let index = if self.len <= Shuffle::INLINE {
            self.inline.swap(self.drawn, pick);
            usize::from(self.inline[self.drawn])
        } else {
            self.heap.swap(self.drawn, pick);
            self.heap[self.drawn]
        };
        self.drawn += 1;
        Some(index)
    }
}

/// A receive arm: the channel, this round's entry, and the outcome.
pub(super) struct RecvOp<'a, T, W> {
    shared: &'a Shared<T, W>,
    ticket: Option<u64>,
    result: Option<Result<T, RecvError>>,
}

impl<'a, T, W: Copy> RecvOp<'a, T, W> {
    pub(super) fn new(shared: &'a Shared<T, W>) -> RecvOp<'a, T, W> {
        RecvOp {
            shared,
            ticket: None,
            result: None,
        }
    }

    /// The outcome if this arm completed.
    pub(super) fn into_result(self) -> Option<Result<T, RecvError>> {
        self.result
    }
}

impl<T, P: Parking> Arm<P> for RecvOp<'_, T, P::Waiter> {
    fn try_complete(&mut self, parking: &P) -> bool {
        let outcome = lock(self.shared, parking).try_recv();
        self.finish(outcome, parking)
    }

    fn register(&mut self, selection: &Arc<Selection<P::Waiter>>, index: usize, parking: &P) -> bool {
        let mut state = lock(self.shared, parking);
        if state.can_receive(selection) {
            return false;
        }
        let selection = selection.clone();
        self.ticket = Some(state.register_select_receiver(SelectArmRef {
            selection,
            arm: index,
        }));
        true
    }

    fn unregister(&mut self, parking: &P) {
        let Some(ticket) = self.ticket.take() else { return };
        let mut state = lock(self.shared, parking);
        match state.settle_select_receiver(ticket) {
            Settled::Handed => {
                let value = state.take_handed(ticket).expect("settled as handed");
                self.result = Some(Ok(value));
            }
            // Chosen by a selected send whose value is still to come: keep
            // the ticket and look again (`awaiting_hand_off`).
            Settled::Promised => self.ticket = Some(ticket),
            Settled::Removed | Settled::Gone => {}
        }
    }

    fn completed(&self) -> bool {
        self.result.is_some()
    }

    fn awaiting_hand_off(&self) -> bool {
        self.ticket.is_some()
    }
}

impl<T, W: Copy> RecvOp<'_, T, W> {
    /// Records a receive's outcome (after unlocking); false if it was empty.
    fn finish<P: Parking<Waiter = W>>(
        &mut self,
        outcome: Result<Received<T, W>, TryRecvError>,
        parking: &P,
    ) -> bool {
        self.result = match outcome {
            Ok((value, sender)) => {
                unpark_any(parking, sender);
                Some(Ok(value))
            }
            Err(TryRecvError::Disconnected) => Some(Err(RecvError)),
            Err(TryRecvError::Empty) => None,
        };
        self.result.is_some()
    }
}

/// A send arm: the channel, the value while it is the arm's, this round's
/// entry, and the outcome (`Err` gives the value back: disconnected).
pub(super) struct SendOp<'a, T, W> {
    shared: &'a Shared<T, W>,
    value: Option<T>,
    ticket: Option<u64>,
    result: Option<Result<(), T>>,
}

impl<'a, T, W: Copy> SendOp<'a, T, W> {
    pub(super) fn new(shared: &'a Shared<T, W>, value: T) -> SendOp<'a, T, W> {
        SendOp {
            shared,
            value: Some(value),
            ticket: None,
            result: None,
        }
    }

    /// The outcome if this arm completed (else its value is dropped).
    pub(super) fn into_result(self) -> Option<Result<(), T>> {
        self.result
    }
}

impl<T, P: Parking> Arm<P> for SendOp<'_, T, P::Waiter> {
    fn try_complete(&mut self, parking: &P) -> bool {
        let outcome = lock(self.shared, parking).try_send_from(&mut self.value);
        match outcome {
            Ok(receiver) => {
                unpark_any(parking, receiver);
                self.result = Some(Ok(()));
            }
            Err(TrySendError::Disconnected(())) => self.result = Some(Err(take(&mut self.value))),
            Err(TrySendError::Full(())) => {}
        }
        self.result.is_some()
    }

    fn register(&mut self, selection: &Arc<Selection<P::Waiter>>, index: usize, parking: &P) -> bool {
        let mut state = lock(self.shared, parking);
        if state.can_send(selection) {
            return false;
        }
        let value = self
            .value
            .take()
            .expect("a send arm holds its value between rounds");
        let selection = selection.clone();
        self.ticket = Some(state.register_select_sender(
            value,
            SelectArmRef {
                selection,
                arm: index,
            },
        ));
        true
    }

    fn unregister(&mut self, parking: &P) {
        let Some(ticket) = self.ticket.take() else { return };
        match lock(self.shared, parking).withdraw_sender(ticket) {
            Some(value) => self.value = Some(value),
            // Taken by a receiver that chose this arm: the send completed.
            None => self.result = Some(Ok(())),
        }
    }

    fn completed(&self) -> bool {
        self.result.is_some()
    }
}
