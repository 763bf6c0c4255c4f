//! What the dynamic [`Select`](crate::chan::Select) adds to a channel's
//! state: *reservations* and *watchers*. Rarely used, so they live behind
//! one pointer ([`Extras`]) that a channel allocates on first use, except
//! the count of reserved slots, which `has_room` reads on every send.
//!
//! A dynamic select first picks an operation and only then is handed the
//! value to send or asked for the value received
//! ([`SelectedOperation`](crate::chan::SelectedOperation)), as
//! crossbeam-channel's `Select` does; the operation must be sure to
//! complete without waiting, so the pick *reserves* it:
//!
//! - a receive takes the value at once and keeps it in `handed` under a
//!   fresh ticket of its own (disconnection is a reservation too);
//! - a send claims a waiting receiver's entry (the receiver is *promised*
//!   a value: its ticket is in `promised` until the value is handed), or
//!   else reserves a buffer slot (`reserved`, counted by `has_room`).
//!
//! A reservation is completed (the value goes to the promised receiver or
//! the buffer; the received value is taken out) or released: a promised
//! receiver is woken empty-handed and waits again, a slot is freed, a
//! received value is given back (to a waiting receiver, else to the front
//! of the buffer; even on capacity 0, whose buffer then holds it until a
//! receiver takes it).
//!
//! Invariants, beside those of the parent module:
//! 1. A promised receiver waits until its value is handed or its promise
//!    released, whatever its deadline or spurious wake-ups say: it neither
//!    takes another value nor leaves (`blocking::recv`, and a select's arm
//!    in `select::select`).
//! 2. `buffer.len() + reserved <= capacity`, except after a given-back value
//!    (one over, until a receive takes it).
//! 3. A watcher is an arm of a waiting select that wants to hear of *any*
//!    change of the channel (a send it can then reserve, or `ready`). Every
//!    change that can make an operation ready (a value arrives, a sender or
//!    receiver starts waiting, a value leaves, a slot is freed, an end
//!    disconnects) chooses every watcher's selection that is still
//!    undecided, except the selection of the party making the change, and
//!    drops them all; the chosen ones are woken as the lock is released
//!    (`blocking::Locked`, through `take_woken_watchers`). A woken select looks again, so no
//!    change goes unseen by a watcher registered before it.

use super::super::selection::SelectArmRef;
use super::super::selection::Selection;
use super::State;
use crate::loom::Arc;

/// A selected operation's hold on its channel until it completes.
#[must_use = "a reservation must be completed or released"]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(in crate::chan) enum Reservation<W> {
    /// A received value, kept in `handed` under this ticket.
    Received(u64),
    /// A receive that found the channel disconnected and empty.
    RecvDisconnected,
    /// A send promised to the receiver entry `ticket`, whose waiter waits.
    SendPromise { ticket: u64, receiver: W },
    /// A send with a buffer slot reserved for its value.
    SendSlot,
    /// A send into a channel without receivers.
    SendDisconnected,
}

/// The rarely used part of a channel's state.
pub(in crate::chan) struct Extras<W> {
    /// Receiver tickets claimed by a send reservation, not yet handed.
    promised: Vec<u64>,
    /// Arms of waiting selects to tell of any change, by ticket.
    watchers: Vec<(u64, SelectArmRef<W>)>,
    /// Waiters of the watchers that the last change chose.
    woken: Vec<W>,
}

/// How a select's receive entry ended (after its selection was decided).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(in crate::chan) enum Settled {
    /// It was still queued, and is removed: nobody chose it here.
    Removed,
    /// A sender chose it and handed it a value, in `handed` under its ticket.
    Handed,
    /// A send reservation chose it; its value is still to come (invariant 1).
    Promised,
    /// Chosen by a send reservation that was released: nothing came.
    Gone,
}

impl<W: Copy> Extras<W> {
    /// [`State::notify_watchers`], once anybody watched.
    #[cold]
    fn notify(&mut self, except: Option<&Arc<Selection<W>>>) {
        let Extras { watchers, woken, .. } = self;
        watchers.retain(|(_, arm)| {
            if except.is_some_and(|me| Arc::ptr_eq(me, &arm.selection)) {
                return true;
            }
            if arm.selection.choose(arm.arm) {
                woken.push(arm.selection.waiter());
            }
            false
        });
    }

    /// [`State::take_woken_watchers`], once anybody watched.
    #[cold]
    fn take_woken(&mut self) -> Option<Vec<W>> {
        (!self.woken.is_empty()).then(|| std::mem::take(&mut self.woken))
    }
}

impl<T, W: Copy> State<T, W> {
    fn extras(&mut self) -> &mut Extras<W> {
        self.extras.get_or_insert_with(|| {
            Box::new(Extras {
                promised: Vec::new(),
                watchers: Vec::new(),
                woken: Vec::new(),
            })
        })
    }

    /// Whether receiver entry `ticket` was promised a value not yet handed.
    pub(in crate::chan) fn is_promised(&self, ticket: u64) -> bool {
        self.extras
            .as_ref()
            .is_some_and(|extras| extras.promised.contains(&ticket))
    }

    fn end_promise(&mut self, ticket: u64) {
        let promised = &mut self.extras().promised;
        let index = promised
            .iter()
            .position(|&t| t == ticket)
            .expect("a promise is ended once");
        promised.swap_remove(index);
    }

    /// Chooses every undecided watcher but those of `except`'s selection,
    /// and drops them all (invariant 3). One branch when nobody watches.
    #[inline]
    pub(super) fn notify_watchers(&mut self, except: Option<&Arc<Selection<W>>>) {
        if let Some(extras) = self.extras.as_deref_mut() {
            extras.notify(except);
        }
    }

    /// The waiters that changes chose since the last call, to wake (`None`,
    /// without allocating, when there are none; one branch when nobody
    /// ever watched).
    #[inline]
    pub(in crate::chan) fn take_woken_watchers(&mut self) -> Option<Vec<W>> {
        self.extras.as_deref_mut()?.take_woken()
    }

    /// Registers a select's arm to hear of any change; see [`Self::unwatch`].
    pub(in crate::chan) fn watch(&mut self, arm: SelectArmRef<W>) -> u64 {
        let ticket = self.ticket();
        self.extras().watchers.push((ticket, arm));
        ticket
    }

    /// Removes a watcher, if no change dropped it yet.
    pub(in crate::chan) fn unwatch(&mut self, ticket: u64) {
        if let Some(extras) = self.extras.as_deref_mut() {
            extras.watchers.retain(|(t, _)| *t != ticket);
        }
    }

    /// Whether a receive would complete now (with a value or disconnected).
    pub(in crate::chan) fn ready_to_receive(&self) -> bool {
        !self.buffer.is_empty() || self.senders == 0 || self.blocked_senders.iter().any(|s| s.owner.is_live())
    }

    /// Whether a send would complete now (or fail with disconnection).
    pub(in crate::chan) fn ready_to_send(&self) -> bool {
        self.receivers == 0 || self.has_room() || self.blocked_receivers.iter().any(|r| r.owner.is_live())
    }

    /// Reserves a receive if one can complete now: the value (kept under a
    /// fresh ticket) and the sender it let proceed, or disconnection.
    pub(in crate::chan) fn reserve_recv(&mut self) -> Option<(Reservation<W>, Option<W>)> {
        match self.try_recv() {
            Ok((value, sender)) => {
                let ticket = self.ticket();
                self.handed.push((ticket, value));
                Some((Reservation::Received(ticket), sender))
            }
            Err(error) if error.is_disconnected() => Some((Reservation::RecvDisconnected, None)),
            Err(_) => None,
        }
    }

    /// Reserves a send if one can complete now: a waiting receiver claimed
    /// (preferred: it is handed the value without a buffer), a slot, or
    /// disconnection.
    pub(in crate::chan) fn reserve_send(&mut self) -> Option<Reservation<W>> {
        if self.receivers == 0 {
            return Some(Reservation::SendDisconnected);
        }
        while let Some(entry) = self.blocked_receivers.pop_front() {
            if let Some(receiver) = entry.owner.claim() {
                self.extras().promised.push(entry.ticket);
                return Some(Reservation::SendPromise {
                    ticket: entry.ticket,
                    receiver,
                });
            }
        }
        if self.has_room() {
            self.reserved += 1;
            return Some(Reservation::SendSlot);
        }
        None
    }

    /// Completes a receive reservation: the value, or `None` if the
    /// channel was disconnected.
    pub(in crate::chan) fn complete_recv(&mut self, reservation: Reservation<W>) -> Option<T> {
        match reservation {
            Reservation::Received(ticket) => {
                Some(self.take_handed(ticket).expect("a reserved value stays handed"))
            }
            Reservation::RecvDisconnected => None,
            _ => unreachable!("not a receive reservation"),
        }
    }

    /// Completes a send reservation with `value`: the receiver to wake, or
    /// the value back if every receiver has left since.
    pub(in crate::chan) fn complete_send(
        &mut self,
        reservation: Reservation<W>,
        value: T,
    ) -> Result<Option<W>, T> {
        match reservation {
            Reservation::SendPromise { ticket, receiver } => {
                self.end_promise(ticket);
                self.handed.push((ticket, value));
                Ok(Some(receiver))
            }
            Reservation::SendSlot => {
                self.reserved -= 1;
                // Invariant 2: room for it, so only disconnection fails it.
                self.try_send(value).map_err(|error| error.into_inner())
            }
            Reservation::SendDisconnected => Err(value),
            _ => unreachable!("not a send reservation"),
        }
    }

    /// Releases a reservation that will not be completed: the waiter to
    /// wake (a promised receiver, the sender whose value fills a freed
    /// slot, or the receiver a given-back value went to), and a received
    /// value that nobody waits for goes back to the front of the buffer.
    pub(in crate::chan) fn release(&mut self, reservation: Reservation<W>) -> Option<W> {
        let woken = match reservation {
            Reservation::Received(ticket) => {
                let mut slot = self.take_handed(ticket);
                assert!(slot.is_some(), "a reserved value stays handed");
                let receiver = self.hand_to_receiver(&mut slot);
                if let Some(value) = slot {
                    self.buffer.push_front(value);
                }
                receiver
            }
            Reservation::SendPromise { ticket, receiver } => {
                self.end_promise(ticket);
                Some(receiver)
            }
            Reservation::SendSlot => {
                self.reserved -= 1;
                self.refill()
            }
            Reservation::RecvDisconnected | Reservation::SendDisconnected => None,
        };
        self.notify_watchers(None);
        woken
    }

    /// How a select's receive entry `ticket` ended (see [`Settled`]); a
    /// still-queued entry is removed.
    pub(in crate::chan) fn settle_select_receiver(&mut self, ticket: u64) -> Settled {
        if let Some(index) = self.blocked_receiver_index(ticket) {
            self.blocked_receivers.remove(index);
            Settled::Removed
        } else if self.handed.iter().any(|(handed_to, _)| *handed_to == ticket) {
            Settled::Handed
        } else if self.is_promised(ticket) {
            Settled::Promised
        } else {
            Settled::Gone
        }
    }
}
