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
//! A value meets a waiting receiver by *hand-off* (Go's `send` to a parked
//! `sudog`): the sender claims the receiver's entry, puts the value in
//! `handed` under the entry's ticket, and wakes the receiver, which finds
//! it there. From the claim on the value is that receiver's alone, so a
//! send on a rendezvous channel returns only once a receiver has its value.
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
//! 4. Capacity 0 (rendezvous): the buffer stays empty (but for a value given
//!    back by a released reservation, `reserve.rs`). A send completes only
//!    by handing its value to a receiver entry it claimed, or by a receiver
//!    taking the value out of the sender's own entry.
//! 5. A live receiver entry is queued only while the buffer is empty and no
//!    live sender entry exists (the registrant saw that under the lock, and
//!    every send that finds a live receiver entry hands its value to it
//!    instead of buffering it). So a buffered value never waits while a
//!    receiver sleeps (no lost wake-up).
//! 6. `handed` holds a value under a ticket only if that ticket's receiver
//!    entry was claimed by the sender that put it there (for a select: the
//!    arm was chosen), and only that receiver or select takes it out, in
//!    the lock hold in which it next looks (a woken receiver looks before
//!    anything else; a select's arm looks when it unregisters).
//! 7. `senders == 0` or `receivers == 0` is final (disconnection); reaching it
//!    wakes every waiter of the other side (a select is woken without being
//!    chosen, and selects again).
//!
//! The dynamic `Select`'s reservations and watchers add their own
//! invariants (`reserve.rs`).

mod reserve;

pub(super) use reserve::{Reservation, Settled};

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

/// What a blocking send found when it first took the lock.
pub(super) enum SendStart<W> {
    /// The value is in the buffer or was handed to a receiver; wake the
    /// receiver, if any.
    Sent(Option<W>),
    /// No receiver is left; the value is still in the caller's slot.
    Disconnected,
    /// The sender is queued with its value under this ticket.
    Blocked(u64),
}

/// Takes the value out of a slot that must hold one.
pub(super) fn take<T>(slot: &mut Option<T>) -> T {
    slot.take().expect("the slot holds the value")
}

/// What a receive found: a value and the sender it let proceed, if any.
pub(super) type Received<T, W> = (T, Option<W>);

/// `State::capacity` of an unbounded channel (a bounded one this large could
/// never fill its buffer anyway).
const UNBOUNDED: usize = usize::MAX;

pub(super) struct State<T, W> {
    buffer: VecDeque<T>,
    /// [`UNBOUNDED`] or the capacity (a plain `usize`, not an
    /// `Option<usize>`: 8 bytes less per channel, see `queue_receiver`).
    capacity: usize,
    blocked_senders: VecDeque<BlockedSender<T, W>>,
    blocked_receivers: VecDeque<BlockedReceiver<W>>,
    /// Values handed to claimed receiver entries, by ticket (invariant 6);
    /// empty except between a hand-off and the receiver's next look (and
    /// while a dynamic select's received value is reserved).
    handed: Vec<(u64, T)>,
    /// Buffer slots reserved by selected sends (`reserve.rs`).
    reserved: usize,
    /// Promises and watchers (`reserve.rs`), allocated on first use.
    extras: Option<Box<reserve::Extras<W>>>,
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
            handed: Vec::new(),
            reserved: 0,
            extras: None,
            senders: 1,
            receivers: 1,
            next_ticket: 0,
        }
    }

    pub(super) fn capacity(&self) -> Option<usize> {
        (self.capacity != UNBOUNDED).then_some(self.capacity)
    }

    /// Values buffered (not counting those of blocked senders, nor values
    /// handed to a receiver that has not picked them up yet).
    pub(super) fn len(&self) -> usize {
        self.buffer.len()
    }

    /// Whether the buffer is full (a rendezvous channel always is).
    pub(super) fn is_full(&self) -> bool {
        self.capacity != UNBOUNDED && self.buffer.len() >= self.capacity
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
        self.buffer.len() + self.reserved < self.capacity
    }

    /// Pops receiver entries until one is claimed (a plain receiver, or a
    /// select chosen here), hands it the value in `slot` and returns the
    /// waiter to wake; stale select entries are dropped on the way.
    /// Without a live entry the value stays in the slot.
    fn hand_to_receiver(&mut self, slot: &mut Option<T>) -> Option<W> {
        while let Some(entry) = self.blocked_receivers.pop_front() {
            if let Some(waiter) = entry.owner.claim() {
                self.handed.push((entry.ticket, take(slot)));
                return Some(waiter);
            }
        }
        None
    }

    /// Takes the value handed to the receiver entry `ticket`, if any.
    pub(super) fn take_handed(&mut self, ticket: u64) -> Option<T> {
        let index = self
            .handed
            .iter()
            .position(|(handed_to, _)| *handed_to == ticket)?;
        Some(self.handed.swap_remove(index).1)
    }

    /// Sends a value if that needs no waiting: hands it to a waiting
    /// receiver (returned, to be woken) or buffers it.
    pub(super) fn try_send(&mut self, value: T) -> Result<Option<W>, TrySendError<T>> {
        let mut slot = Some(value);
        self.try_send_from(&mut slot)
            .map_err(|refused| refused.with(take(&mut slot)))
    }

    /// [`Self::try_send`] of the value in `slot`, which stays there if the
    /// send is refused. Large values are moved only once, from the slot to
    /// where they wait (a debug build would otherwise keep a copy in every
    /// frame of the send path: fiber stacks are small).
    pub(super) fn try_send_from(&mut self, slot: &mut Option<T>) -> Result<Option<W>, TrySendError<()>> {
        if self.receivers == 0 {
            return Err(TrySendError::Disconnected(()));
        }
        // A live receiver entry means an empty buffer (invariant 5).
        if let Some(receiver) = self.hand_to_receiver(slot) {
            self.notify_watchers(None);
            return Ok(Some(receiver));
        }
        if self.has_room() {
            self.buffer.push_back(take(slot));
            self.notify_watchers(None);
            return Ok(None);
        }
        Err(TrySendError::Full(()))
    }

    /// Sends the value in `slot` at once if possible, else queues the
    /// sender with it; it stays in the slot only if every receiver is gone.
    pub(super) fn start_send(&mut self, slot: &mut Option<T>, waiter: W) -> SendStart<W> {
        match self.try_send_from(slot) {
            Ok(woken) => SendStart::Sent(woken),
            Err(TrySendError::Disconnected(())) => SendStart::Disconnected,
            Err(TrySendError::Full(())) => {
                SendStart::Blocked(self.queue_sender(take(slot), Owner::Plain(waiter)))
            }
        }
    }

    fn queue_sender(&mut self, value: T, owner: Owner<W>) -> u64 {
        let ticket = self.ticket();
        self.notify_watchers(owner.selection());
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
        let mut out = None;
        let waiter = self.take_from_sender_into(&mut out)?;
        Some((take(&mut out), waiter))
    }

    /// [`Self::take_from_sender`] into `out`.
    fn take_from_sender_into(&mut self, out: &mut Option<T>) -> Option<W> {
        let (index, waiter) = self
            .blocked_senders
            .iter()
            .enumerate()
            .find_map(|(index, entry)| entry.owner.claim().map(|waiter| (index, waiter)))?;
        *out = self.blocked_senders.remove(index).map(|entry| entry.value);
        Some(waiter)
    }

    /// Takes the next value, with the sender that it lets proceed.
    pub(super) fn try_recv(&mut self) -> Result<Received<T, W>, TryRecvError> {
        let mut out = None;
        let sender = self.try_recv_into(&mut out)?;
        Ok((take(&mut out), sender))
    }

    /// [`Self::try_recv`] into `out`, returning the sender to wake: a large
    /// value is moved once, from where it waited to the receiver's slot
    /// (as sends do, `Self::try_send_from`).
    pub(super) fn try_recv_into(&mut self, out: &mut Option<T>) -> Result<Option<W>, TryRecvError> {
        *out = self.buffer.pop_front();
        if out.is_some() {
            let sender = self.refill();
            self.notify_watchers(None);
            return Ok(sender);
        }
        // Capacity 0 (a bounded buffer is never empty while live senders
        // are blocked, invariant 3): straight from the sender's entry.
        if let Some(sender) = self.take_from_sender_into(out) {
            self.notify_watchers(None);
            return Ok(Some(sender));
        }
        if self.senders == 0 {
            Err(TryRecvError::Disconnected)
        } else {
            Err(TryRecvError::Empty)
        }
    }

    /// After a value left the buffer: moves the oldest claimable sender's
    /// value in (invariant 3) and returns that sender. No receiver entry is
    /// live while a sender is (invariant 5), so nobody else is woken.
    fn refill(&mut self) -> Option<W> {
        let (value, sender) = self.take_from_sender()?;
        self.buffer.push_back(value);
        Some(sender)
    }

    /// For a plain receiver: the value handed to it if it has a ticket and
    /// a sender handed it one; `Empty` while it is promised one
    /// (`reserve.rs`: it must wait for it, see [`Self::is_promised`]); else
    /// what [`Self::try_recv`] finds.
    #[cfg(test)]
    pub(super) fn recv_as(&mut self, ticket: Option<u64>) -> Result<Received<T, W>, TryRecvError> {
        let mut out = None;
        let sender = self.recv_into(ticket, &mut out)?;
        Ok((take(&mut out), sender))
    }

    /// [`Self::recv_as`] into `out`, returning the sender to wake.
    pub(super) fn recv_into(
        &mut self,
        ticket: Option<u64>,
        out: &mut Option<T>,
    ) -> Result<Option<W>, TryRecvError> {
        if let Some(ticket) = ticket {
            *out = self.take_handed(ticket);
            if out.is_some() {
                return Ok(None);
            }
            if self.is_promised(ticket) {
                return Err(TryRecvError::Empty);
            }
        }
        self.try_recv_into(out)
    }

    /// Registers a receiver about to park (after `recv_as` found it empty).
    /// `ticket` is `None` on its first registration in this receive; the
    /// returned ticket is passed back on later ones and to [`Self::leave`].
    pub(super) fn register_receiver(&mut self, ticket: Option<u64>, waiter: W) -> u64 {
        let ticket = ticket.unwrap_or_else(|| self.ticket());
        if self.blocked_receiver_index(ticket).is_none() {
            // First registration, or woken without a value: queue (again).
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
    /// own channel should cost as little memory as can be (the blocked-tasks
    /// row of the benchmark table counts every byte).
    fn queue_receiver(&mut self, entry: BlockedReceiver<W>) {
        self.notify_watchers(entry.owner.selection());
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
    /// each seen by a `recv_as` under this lock hold, so nothing was handed
    /// to it); `ticket` is what its registrations returned, `None` if it
    /// never registered.
    pub(super) fn leave(&mut self, ticket: Option<u64>) {
        let Some(ticket) = ticket else { return };
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
            || self.blocked_receivers.iter().any(|r| r.owner.is_live_for(me))
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

    /// Queues a select's send arm with its value (after `can_send` said
    /// no); [`Self::withdraw_sender`] takes it back.
    pub(super) fn register_select_sender(&mut self, value: T, arm: SelectArmRef<W>) -> u64 {
        self.queue_sender(value, Owner::Select(arm))
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
        self.notify_watchers(None);
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
        self.notify_watchers(None);
        let waiters = self.blocked_senders.iter().map(|s| s.owner.waiter()).collect();
        let mut undelivered = std::mem::take(&mut self.buffer);
        // Empty unless a selected receive was forgotten (`mem::forget` of a
        // `SelectedOperation`): a receiver handed a value is still in its
        // receive, so it was not the last to go.
        undelivered.extend(self.handed.drain(..).map(|(_, value)| value));
        (waiters, undelivered)
    }
}
