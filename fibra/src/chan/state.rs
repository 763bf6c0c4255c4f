//! The channel's state machine: everything a channel knows, behind one
//! mutex, with no parking in it. Operations return the waiters they made able
//! to proceed; the caller unparks them after releasing the lock. Generic over
//! the waiter type `W` so it can be tested without a runtime.
//!
//! Invariants (hold whenever the lock is free):
//! 1. `blocked_senders` and `blocked_receivers` are sorted by ticket (tickets
//!    grow, entries are pushed at the back, removal keeps the order), so an
//!    entry is found by binary search.
//! 2. A blocked sender's value is *in* its entry. Its send has completed
//!    exactly when the entry is gone and it was not removed by the sender
//!    itself (the value went to the buffer or to a receiver).
//! 3. Capacity > 0: a sender blocks only when the buffer is full, and every
//!    receive that takes a value from the buffer moves the oldest blocked
//!    sender's value in behind it, so values leave in the order they were
//!    sent, and `blocked_senders` is non-empty only while the buffer is full.
//! 4. Capacity 0 (rendezvous): a value enters the buffer only while fewer
//!    values are buffered than receivers are inside a blocking receive
//!    (`waiting_receivers`); each buffered value is thus promised to a
//!    receiver already waiting. Otherwise the sender blocks with its value,
//!    and a receiver takes it straight out of its entry.
//! 5. `waiting_receivers` counts receivers between their first registration
//!    and the end of their receive; `blocked_receivers` holds those of them
//!    not woken since they last registered. While `blocked_receivers` is
//!    non-empty, the buffer holds at most as many values as there are woken
//!    receivers that have not yet re-checked: a receiver registers only with
//!    the buffer empty, and every value put into the buffer wakes (pops) one
//!    registered receiver. So a buffered value never waits on only sleeping
//!    receivers: no lost wake-up.
//! 6. `senders == 0` or `receivers == 0` is final (disconnection); reaching it
//!    hands back every waiter of the other side.

use super::error::{TryRecvError, TrySendError};
use std::collections::VecDeque;

/// A sender parked with the value it is sending.
struct BlockedSender<T, W> {
    ticket: u64,
    value: T,
    waiter: W,
}

/// A receiver parked until a value or disconnection arrives.
struct BlockedReceiver<W> {
    ticket: u64,
    waiter: W,
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

pub(super) struct State<T, W> {
    buffer: VecDeque<T>,
    /// `None`: unbounded.
    capacity: Option<usize>,
    blocked_senders: VecDeque<BlockedSender<T, W>>,
    blocked_receivers: VecDeque<BlockedReceiver<W>>,
    waiting_receivers: usize,
    senders: usize,
    receivers: usize,
    next_ticket: u64,
}

impl<T, W: Copy> State<T, W> {
    /// A channel with one sender and one receiver.
    pub(super) fn new(capacity: Option<usize>) -> State<T, W> {
        State {
            buffer: VecDeque::new(),
            capacity,
            blocked_senders: VecDeque::new(),
            blocked_receivers: VecDeque::new(),
            waiting_receivers: 0,
            senders: 1,
            receivers: 1,
            next_ticket: 0,
        }
    }

    pub(super) fn capacity(&self) -> Option<usize> {
        self.capacity
    }

    /// Values buffered (not counting those of blocked senders).
    pub(super) fn len(&self) -> usize {
        self.buffer.len()
    }

    /// Receivers parked and not woken since (for tests).
    #[cfg(test)]
    pub(super) fn blocked_receivers(&self) -> usize {
        self.blocked_receivers.len()
    }

    /// Senders parked with their values (for tests).
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
            None => true,
            Some(0) => self.buffer.len() < self.waiting_receivers,
            Some(capacity) => self.buffer.len() < capacity,
        }
    }

    /// Buffers a value and pops the receiver it wakes (invariant 5).
    fn push(&mut self, value: T) -> Option<W> {
        self.buffer.push_back(value);
        self.blocked_receivers.pop_front().map(|r| r.waiter)
    }

    pub(super) fn try_send(&mut self, value: T) -> Result<Option<W>, TrySendError<T>> {
        if self.receivers == 0 {
            Err(TrySendError::Disconnected(value))
        } else if self.has_room() {
            Ok(self.push(value))
        } else {
            Err(TrySendError::Full(value))
        }
    }

    /// Sends at once if possible, else queues the sender with its value.
    pub(super) fn start_send(&mut self, value: T, waiter: W) -> SendStart<T, W> {
        match self.try_send(value) {
            Ok(woken) => SendStart::Sent(woken),
            Err(TrySendError::Disconnected(value)) => SendStart::Disconnected(value),
            Err(TrySendError::Full(value)) => {
                let ticket = self.ticket();
                self.blocked_senders.push_back(BlockedSender {
                    ticket,
                    value,
                    waiter,
                });
                SendStart::Blocked(ticket)
            }
        }
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
        let index = match self.blocked_sender_index(ticket) {
            None => return Some(Ok(())),
            Some(index) => index,
        };
        if self.receivers > 0 {
            return None;
        }
        let entry = self.blocked_senders.remove(index).expect("index was found");
        Some(Err(entry.value))
    }

    /// Takes the next value, with the waiters that it lets proceed.
    pub(super) fn try_recv(&mut self) -> Result<(T, Wakes<W>), TryRecvError> {
        if let Some(value) = self.buffer.pop_front() {
            return Ok((value, self.refill()));
        }
        if let Some(sender) = self.blocked_senders.pop_front() {
            // Capacity 0 (a bounded buffer is never empty while senders are
            // blocked, invariant 3): the handoff straight from the entry.
            return Ok((sender.value, Wakes(Some(sender.waiter), None)));
        }
        if self.senders == 0 {
            Err(TryRecvError::Disconnected)
        } else {
            Err(TryRecvError::Empty)
        }
    }

    /// After a value left the buffer of a bounded channel with capacity:
    /// moves the oldest blocked sender's value in (invariant 3). Capacity 0
    /// never refills: its receivers take from the senders' entries.
    fn refill(&mut self) -> Wakes<W> {
        if self.capacity == Some(0) || !self.has_room() {
            return Wakes::none();
        }
        match self.blocked_senders.pop_front() {
            None => Wakes::none(),
            Some(sender) => {
                let receiver = self.push(sender.value);
                Wakes(Some(sender.waiter), receiver)
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
        let queued = self
            .blocked_receivers
            .binary_search_by_key(&ticket, |r| r.ticket)
            .is_ok();
        if !queued {
            // Woken and still nothing: queue again (at the back).
            self.blocked_receivers
                .push_back(BlockedReceiver { ticket, waiter });
        }
        ticket
    }

    /// A receiver ends its receive (with a value or an error); `ticket` is
    /// what its registrations returned, `None` if it never registered.
    pub(super) fn leave(&mut self, ticket: Option<u64>) {
        let Some(ticket) = ticket else { return };
        self.waiting_receivers -= 1;
        if let Ok(index) = self.blocked_receivers.binary_search_by_key(&ticket, |r| r.ticket) {
            self.blocked_receivers.remove(index);
        }
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
        self.blocked_receivers.drain(..).map(|r| r.waiter).collect()
    }

    /// Drops one receiver; the last one wakes every blocked sender (their
    /// values stay in their entries for them to take back) and hands out
    /// the buffered values, to be dropped by the caller outside the lock.
    pub(super) fn remove_receiver(&mut self) -> (Vec<W>, VecDeque<T>) {
        self.receivers -= 1;
        if self.receivers > 0 {
            return (Vec::new(), VecDeque::new());
        }
        let waiters = self.blocked_senders.iter().map(|s| s.waiter).collect();
        (waiters, std::mem::take(&mut self.buffer))
    }
}
