//! The channel's state machine: everything a channel knows, behind one
//! mutex, with no parking in it. Operations return the waiters they made able
//! to proceed; the caller unparks them after releasing the lock. Generic over
//! the waiter type `W` so it can be tested without a runtime.
//!
//! Entries in the two queues belong to plain blocking calls or to arms of
//! blocked selects ([`Owner`]); a select's entry may be completed only by
//! the party that *chooses* its selection for that arm (`selection.rs`), and
//! is *stale* once the selection is decided otherwise. Taking an entry means
//! claiming it: always possible for a plain one, for a select one only if
//! the choice succeeds. A *live* entry is a plain one or one whose selection
//! is still undecided.
//!
//! Invariants (hold whenever the lock is free):
//! 1. `blocked_senders` and `blocked_receivers` are sorted by ticket (tickets
//!    grow, entries are pushed at the back, removal keeps the order), so an
//!    entry is found by binary search.
//! 2. A blocked sender's value is *in* its entry. The entry is removed only
//!    by a party that claimed it (the value went to the buffer or to a
//!    receiver: the send has completed), or by its own sender taking the
//!    value back (disconnection, timeout, or a select leaving that arm).
//!    Stale select entries are skipped, never removed, by other parties.
//! 3. Capacity > 0: a live sender entry exists only while the buffer is
//!    full, and every receive that takes a value from the buffer moves the
//!    oldest claimable sender's value in behind it, so each sender's values
//!    leave in the order they were sent.
//! 4. Capacity 0 (rendezvous): every buffered value is *promised* to a
//!    receiver that will look for it: `buffer.len() <= waiting_receivers +
//!    chosen_receivers`. A value enters the buffer only while that is
//!    strictly less, or right after a send chose a select's receive arm
//!    (which counts it in `chosen_receivers`). Otherwise the sender blocks
//!    with its value, and a receiver takes it straight out of its entry. A
//!    select's receive entry counts in neither number until it is chosen, so
//!    a select that completes another arm can never strand a value here.
//! 5. `waiting_receivers` counts plain receivers between their first
//!    registration and the end of their receive; `chosen_receivers` counts
//!    selects chosen for a receive on this channel that have not yet tried
//!    it (each always tries the arm it was chosen for). Receiver entries are
//!    queued only while no value can be received (the buffer is empty and no
//!    live sender entry can be taken: the registrant saw that under the
//!    lock), and every value put in the buffer pops entries until it wakes
//!    one plain receiver or chooses one select (stale select entries are
//!    dropped). So while a live receiver entry is queued, the buffer holds at
//!    most as many values as there are woken plain receivers and chosen
//!    selects that have not re-checked: a buffered value never waits on only
//!    sleeping receivers (no lost wake-up). With invariant 4, on capacity 0
//!    with no room no plain receiver entry is queued, only select ones.
//! 6. `senders == 0` or `receivers == 0` is final (disconnection); reaching it
//!    wakes every waiter of the other side (a select is woken without being
//!    chosen, and selects again).

use super::error::{TryRecvError, TrySendError};
use super::selection::{Owner, SelectArmRef, Selection};
use crate::loom::Arc;
use std::collections::VecDeque;

/// A sender parked with the value it is sending.
struct BlockedSender<T, W> {
    ticket: u64,
    value: T,
    owner: Owner<W>,
}

/// A receiver parked until a value or disconnection arrives.
struct BlockedReceiver<W> {
    ticket: u64,
    owner: Owner<W>,
}

/// Up to two waiters to unpark after the lock is released.
#[derive(Debug)]
#[must_use = "the waiters must be unparked"]
pub(super) struct Wakes<W>(pub(super) Option<W>, pub(super) Option<W>);

impl<W> Wakes<W> {
    fn none() -> Wakes<W> {
        Wakes(None, None)
    }

    /// Calls `wake` on each waiter.
    pub(super) fn wake_all(self, mut wake: impl FnMut(W)) {
        self.0.into_iter().chain(self.1).for_each(&mut wake);
    }
}

/// What a blocking send found when it first took the lock.
pub(super) enum SendStart<T, W> {
    /// The value is in the buffer; wake the receiver, if any.
    Sent(Option<W>),
    /// No receiver is left; the value comes back.
    Disconnected(T),
    /// The sender is queued with its value under this ticket.
    Blocked(u64),
}

/// `State::capacity` of an unbounded channel (a bounded one this large could
/// never fill its buffer anyway).
const UNBOUNDED: usize = usize::MAX;

pub(super) struct State<T, W> {
    buffer: VecDeque<T>,
    /// `None`: unbounded.
    /// [`UNBOUNDED`] or the capacity (a plain `usize`, not an
    /// `Option<usize>`: 8 bytes less per channel, see `queue_receiver`).
    capacity: usize,
    blocked_senders: VecDeque<BlockedSender<T, W>>,
    blocked_receivers: VecDeque<BlockedReceiver<W>>,
    waiting_receivers: usize,
    chosen_receivers: usize,
    senders: usize,
    receivers: usize,
    next_ticket: u64,
}

impl<T, W: Copy> State<T, W> {
    /// A channel with one sender and one receiver.
    pub(super) fn new(capacity: Option<usize>) -> State<T, W> {
        State {
            buffer: VecDeque::new(),
            capacity: capacity.unwrap_or(UNBOUNDED),
            blocked_senders: VecDeque::new(),
            blocked_receivers: VecDeque::new(),
            waiting_receivers: 0,
            chosen_receivers: 0,
            senders: 1,
            receivers: 1,
            next_ticket: 0,
        }
    }

    pub(super) fn capacity(&self) -> Option<usize> {
        (self.capacity != UNBOUNDED).then_some(self.capacity)
    }

    /// Values buffered (not counting those of blocked senders).
    pub(super) fn len(&self) -> usize {
        self.buffer.len()
    }

    /// Receiver entries queued, plain or select, stale or not (for tests).
    #[cfg(test)]
    pub(super) fn blocked_receivers(&self) -> usize {
        self.blocked_receivers.len()
    }

    /// Room allocated for receiver entries (for tests).
    #[cfg(test)]
    pub(super) fn blocked_receivers_capacity(&self) -> usize {
        self.blocked_receivers.capacity()
    }

    /// Sender entries queued with their values (for tests).
    #[cfg(test)]
    pub(super) fn blocked_senders(&self) -> usize {
        self.blocked_senders.len()
    }

    fn ticket(&mut self) -> u64 {
        self.next_ticket += 1;
        self.next_ticket
    }

    fn has_room(&self) -> bool {
        match self.capacity {
            UNBOUNDED => true,
            0 => self.buffer.len() < self.waiting_receivers + self.chosen_receivers,
            capacity => self.buffer.len() < capacity,
        }
    }

    /// Buffers a value and wakes the receiver it is owed to (invariant 5).
    fn push(&mut self, value: T) -> Option<W> {
        self.buffer.push_back(value);
        self.wake_one_receiver()
    }

    /// Pops receiver entries until one is claimed: a plain receiver to wake,
    /// or a select chosen here (it now counts in `chosen_receivers`). Stale
    /// select entries are dropped on the way.
    fn wake_one_receiver(&mut self) -> Option<W> {
        while let Some(entry) = self.blocked_receivers.pop_front() {
            if let Some(waiter) = entry.owner.claim() {
                if entry.owner.is_select() {
                    self.chosen_receivers += 1;
                }
                return Some(waiter);
            }
        }
        None
    }

    pub(super) fn try_send(&mut self, value: T) -> Result<Option<W>, TrySendError<T>> {
        if self.receivers == 0 {
            return Err(TrySendError::Disconnected(value));
        }
        if self.has_room() {
            return Ok(self.push(value));
        }
        if self.capacity == 0 {
            // No room: only select entries can be queued (invariant 5).
            // Choosing one promises it this value (invariant 4).
            if let Some(select) = self.wake_one_receiver() {
                debug_assert!(self.has_room(), "only a chosen select makes room here");
                self.buffer.push_back(value);
                return Ok(Some(select));
            }
        }
        Err(TrySendError::Full(value))
    }

    /// Sends at once if possible, else queues the sender with its value.
    pub(super) fn start_send(&mut self, value: T, waiter: W) -> SendStart<T, W> {
        match self.try_send(value) {
            Ok(woken) => SendStart::Sent(woken),
            Err(TrySendError::Disconnected(value)) => SendStart::Disconnected(value),
            Err(TrySendError::Full(value)) => {
                SendStart::Blocked(self.queue_sender(value, Owner::Plain(waiter)))
            }
        }
    }

    fn queue_sender(&mut self, value: T, owner: Owner<W>) -> u64 {
        let ticket = self.ticket();
        self.blocked_senders
            .push_back(BlockedSender { ticket, value, owner });
        ticket
    }

    fn blocked_sender_index(&self, ticket: u64) -> Option<usize> {
        self.blocked_senders
            .binary_search_by_key(&ticket, |s| s.ticket)
            .ok()
    }

    /// For a sender queued under `ticket`: `Some(Ok)` once its value was
    /// taken, `Some(Err(value))` if every receiver left first (the entry is
    /// removed), `None` while it must keep waiting.
    pub(super) fn poll_send(&mut self, ticket: u64) -> Option<Result<(), T>> {
        if self.blocked_sender_index(ticket).is_none() {
            return Some(Ok(()));
        }
        if self.receivers > 0 {
            return None;
        }
        self.withdraw_sender(ticket).map(Err)
    }

    /// A sender queued under `ticket` takes its value back (timeout, or a
    /// select leaving that arm): `None` if it was taken meanwhile, i.e. the
    /// send completed.
    pub(super) fn withdraw_sender(&mut self, ticket: u64) -> Option<T> {
        let index = self.blocked_sender_index(ticket)?;
        let entry = self.blocked_senders.remove(index).expect("index was found");
        Some(entry.value)
    }

    /// Takes the value of the oldest sender entry that can be claimed,
    /// with the sender to wake; stale select entries stay (invariant 2).
    fn take_from_sender(&mut self) -> Option<(T, W)> {
        let (index, waiter) = self
            .blocked_senders
            .iter()
            .enumerate()
            .find_map(|(index, entry)| entry.owner.claim().map(|waiter| (index, waiter)))?;
        let entry = self.blocked_senders.remove(index).expect("index was found");
        Some((entry.value, waiter))
    }

    /// Takes the next value, with the waiters that it lets proceed.
    pub(super) fn try_recv(&mut self) -> Result<(T, Wakes<W>), TryRecvError> {
        if let Some(value) = self.buffer.pop_front() {
            return Ok((value, self.refill()));
        }
        // Capacity 0 (a bounded buffer is never empty while live senders
        // are blocked, invariant 3): the handoff straight from the entry.
        if let Some((value, sender)) = self.take_from_sender() {
            return Ok((value, Wakes(Some(sender), None)));
        }
        if self.senders == 0 {
            Err(TryRecvError::Disconnected)
        } else {
            Err(TryRecvError::Empty)
        }
    }

    /// After a value left the buffer of a bounded channel with capacity:
    /// moves the oldest claimable sender's value in (invariant 3). Capacity 0
    /// never refills: its receivers take from the senders' entries.
    fn refill(&mut self) -> Wakes<W> {
        if self.capacity == 0 || !self.has_room() {
            return Wakes::none();
        }
        match self.take_from_sender() {
            None => Wakes::none(),
            Some((value, sender)) => {
                let receiver = self.push(value);
                Wakes(Some(sender), receiver)
            }
        }
    }

    /// Registers a receiver about to park (after `try_recv` found it empty).
    /// `ticket` is `None` on its first registration in this receive; the
    /// returned ticket is passed back on later ones and to [`Self::leave`].
    pub(super) fn register_receiver(&mut self, ticket: Option<u64>, waiter: W) -> u64 {
        let ticket = match ticket {
            Some(ticket) => ticket,
            None => {
                self.waiting_receivers += 1;
                self.ticket()
            }
        };
        if self.blocked_receiver_index(ticket).is_none() {
            // Woken and still nothing: queue again (at the back).
            self.queue_receiver(BlockedReceiver {
                ticket,
                owner: Owner::Plain(waiter),
            });
        }
        ticket
    }

    /// Appends to `blocked_receivers`. The first entry gets an allocation of
    /// exactly one (a `VecDeque` would allocate room for four): most channels
    /// never have more than one receiver waiting, and a task blocked on its
    /// own channel should cost as little memory as can be (the issue's
    /// target is 4.5 KB per blocked task, stack page included).
    fn queue_receiver(&mut self, entry: BlockedReceiver<W>) {
        if self.blocked_receivers.capacity() == 0 {
            self.blocked_receivers.reserve_exact(1);
        }
        self.blocked_receivers.push_back(entry);
    }

    fn blocked_receiver_index(&self, ticket: u64) -> Option<usize> {
        self.blocked_receivers
            .binary_search_by_key(&ticket, |r| r.ticket)
            .ok()
    }

    /// A receiver ends its receive (with a value, an error or a timeout,
    /// each seen by a `try_recv` under this lock hold); `ticket` is what its
    /// registrations returned, `None` if it never registered.
    pub(super) fn leave(&mut self, ticket: Option<u64>) {
        let Some(ticket) = ticket else { return };
        self.waiting_receivers -= 1;
        if let Some(index) = self.blocked_receiver_index(ticket) {
            self.blocked_receivers.remove(index);
        }
    }

    /// Whether a receive would complete now, with a value or with
    /// disconnection, for the select `me` deciding whether to register
    /// (its own sender entries do not count).
    pub(super) fn can_receive(&self, me: &Arc<Selection<W>>) -> bool {
        !self.buffer.is_empty()
            || self.senders == 0
            || self.blocked_senders.iter().any(|s| s.owner.is_live_for(me))
    }

    /// Whether a send would complete now, or fail with disconnection, for
    /// the select `me` deciding whether to register.
    pub(super) fn can_send(&self, me: &Arc<Selection<W>>) -> bool {
        self.receivers == 0
            || self.has_room()
            || (self.capacity == 0 && self.blocked_receivers.iter().any(|r| r.owner.is_live_for(me)))
    }

    /// Queues a select's receive arm (after `can_receive` said no).
    pub(super) fn register_select_receiver(&mut self, arm: SelectArmRef<W>) -> u64 {
        let ticket = self.ticket();
        self.queue_receiver(BlockedReceiver {
            ticket,
            owner: Owner::Select(arm),
        });
        ticket
    }

    /// Removes a select's receive entry, if no sender popped it.
    pub(super) fn unregister_select_receiver(&mut self, ticket: u64) {
        if let Some(index) = self.blocked_receiver_index(ticket) {
            self.blocked_receivers.remove(index);
        }
    }

    /// Queues a select's send arm with its value (after `can_send` said
    /// no); [`Self::withdraw_sender`] takes it back.
    pub(super) fn register_select_sender(&mut self, value: T, arm: SelectArmRef<W>) -> u64 {
        self.queue_sender(value, Owner::Select(arm))
    }

    /// A select chosen for a receive on this channel tries it (its promise
    /// ends, invariant 4). `Empty` if another receiver took the value first.
    pub(super) fn finish_chosen_receive(&mut self) -> Result<(T, Wakes<W>), TryRecvError> {
        self.chosen_receivers -= 1;
        self.try_recv()
    }

    pub(super) fn add_sender(&mut self) {
        self.senders += 1;
    }

    pub(super) fn add_receiver(&mut self) {
        self.receivers += 1;
    }

    /// Drops one sender; the last one wakes every blocked receiver.
    pub(super) fn remove_sender(&mut self) -> Vec<W> {
        self.senders -= 1;
        if self.senders > 0 {
            return Vec::new();
        }
        self.blocked_receivers
            .drain(..)
            .map(|r| r.owner.waiter())
            .collect()
    }

    /// Drops one receiver; the last one wakes every blocked sender (their
    /// values stay in their entries for them to take back) and hands out
    /// the buffered values, to be dropped by the caller outside the lock.
    pub(super) fn remove_receiver(&mut self) -> (Vec<W>, VecDeque<T>) {
        self.receivers -= 1;
        if self.receivers > 0 {
            return (Vec::new(), VecDeque::new());
        }
        let waiters = self.blocked_senders.iter().map(|s| s.owner.waiter()).collect();
        (waiters, std::mem::take(&mut self.buffer))
    }
}
