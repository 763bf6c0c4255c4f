//! The operations of the dynamic [`Select`](super::Select) on channels made
//! by `bounded` and `unbounded`: select arms (`select.rs`) that *reserve*
//! instead of completing (`state/reserve.rs`), or that only look
//! ([`Mode::Ready`]). Generic over the parking, like the rest of the
//! protocol, so that the loom models (`loom_dynamic.rs`) run this code.
//!
//! A receive tries to reserve a value; waiting, it leaves a select receive
//! entry, and a sender that chooses it hands it the value, which stays in
//! the channel as the reservation. A send tries to reserve a waiting
//! receiver or a slot; waiting, it has no value to leave, so it *watches*
//! the channel, and any change wakes its select to try again. In
//! `Mode::Ready` both only look, and wait by watching.

use super::blocking::{lock, unpark_any, Parking, Shared};
use super::select::Arm;
use super::selection::{SelectArmRef, Selection};
use super::state::{Reservation, Settled};
use crate::loom::Arc;
use std::ops::{Deref, DerefMut};

/// Whether a run selects (reserves) or only looks for a ready operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Mode {
    Select,
    Ready,
}

/// What both operations keep: the channel, the mode, this round's entry,
/// and the outcome.
pub(super) struct OperationState<'a, T, P: Parking> {
    shared: &'a Shared<T, P::Waiter>,
    mode: Mode,
    /// This round's entry: a select receive arm (a receive in
    /// `Mode::Select`) or a watcher.
    ticket: Option<u64>,
    held: Option<Reservation<P::Waiter>>,
    ready: bool,
}

impl<'a, T, P: Parking> OperationState<'a, T, P> {
    fn new(shared: &'a Shared<T, P::Waiter>, mode: Mode) -> OperationState<'a, T, P> {
        OperationState {
            shared,
            mode,
            ticket: None,
            held: None,
            ready: false,
        }
    }

    /// The reservation made, once the operation was selected.
    pub(super) fn take_reservation(&mut self) -> Option<Reservation<P::Waiter>> {
        self.held.take()
    }

    /// The channel.
    pub(super) fn shared(&self) -> &'a Shared<T, P::Waiter> {
        self.shared
    }

    /// Selects (reserves) or only looks from the next run on.
    pub(super) fn switch_to(&mut self, mode: Mode) {
        self.mode = mode;
        self.ready = false;
    }

    fn completed(&self) -> bool {
        self.ready || self.held.is_some()
    }
}

/// A receive from a channel (generic over the parking, for the loom models).
pub(super) struct ChannelRecv<'a, T, P: Parking>(OperationState<'a, T, P>);

impl<'a, T, P: Parking> ChannelRecv<'a, T, P> {
    pub(super) fn new(shared: &'a Shared<T, P::Waiter>, mode: Mode) -> ChannelRecv<'a, T, P> {
        ChannelRecv(OperationState::new(shared, mode))
    }
}

impl<'a, T, P: Parking> Deref for ChannelRecv<'a, T, P> {
    type Target = OperationState<'a, T, P>;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl<T, P: Parking> DerefMut for ChannelRecv<'_, T, P> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

impl<T, P: Parking> Arm<P> for ChannelRecv<'_, T, P> {
    fn try_complete(&mut self, parking: &P) -> bool {
        let mut state = lock(self.shared, parking);
        match self.mode {
            Mode::Ready => self.ready = state.ready_to_receive(),
            Mode::Select => {
                if let Some((reservation, sender)) = state.reserve_recv() {
                    drop(state);
                    unpark_any(parking, sender);
                    self.held = Some(reservation);
                }
            }
        }
        self.completed()
    }

    fn register(&mut self, selection: &Arc<Selection<P::Waiter>>, index: usize, parking: &P) -> bool {
        let mut state = lock(self.shared, parking);
        if state.can_receive(selection) {
            return false;
        }
        let arm = SelectArmRef {
            selection: selection.clone(),
            arm: index,
        };
        self.ticket = Some(match self.mode {
            Mode::Select => state.register_select_receiver(arm),
            Mode::Ready => state.watch(arm),
        });
        true
    }

    fn unregister(&mut self, parking: &P) {
        let Some(ticket) = self.ticket.take() else { return };
        let mut state = lock(self.shared, parking);
        if self.mode == Mode::Ready {
            state.unwatch(ticket);
            return;
        }
        match state.settle_select_receiver(ticket) {
            // The value stays handed under the entry's ticket: reserved.
            Settled::Handed => self.held = Some(Reservation::Received(ticket)),
            Settled::Promised => self.ticket = Some(ticket),
            Settled::Removed | Settled::Gone => {}
        }
    }

    fn completed(&self) -> bool {
        self.0.completed()
    }

    fn awaiting_hand_off(&self) -> bool {
        self.mode == Mode::Select && self.ticket.is_some()
    }
}

/// A send into a channel: it reserves (a waiting receiver or a slot) and,
/// while waiting, watches the channel (it has no value to leave in an
/// entry).
pub(super) struct ChannelSend<'a, T, P: Parking>(OperationState<'a, T, P>);

impl<'a, T, P: Parking> ChannelSend<'a, T, P> {
    pub(super) fn new(shared: &'a Shared<T, P::Waiter>, mode: Mode) -> ChannelSend<'a, T, P> {
        ChannelSend(OperationState::new(shared, mode))
    }
}

impl<'a, T, P: Parking> Deref for ChannelSend<'a, T, P> {
    type Target = OperationState<'a, T, P>;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl<T, P: Parking> DerefMut for ChannelSend<'_, T, P> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

impl<T, P: Parking> Arm<P> for ChannelSend<'_, T, P> {
    fn try_complete(&mut self, parking: &P) -> bool {
        let mut state = lock(self.shared, parking);
        match self.mode {
            Mode::Ready => self.ready = state.ready_to_send(),
            Mode::Select => self.held = state.reserve_send(),
        }
        self.completed()
    }

    fn register(&mut self, selection: &Arc<Selection<P::Waiter>>, index: usize, parking: &P) -> bool {
        let mut state = lock(self.shared, parking);
        if state.can_send(selection) {
            return false;
        }
        self.ticket = Some(state.watch(SelectArmRef {
            selection: selection.clone(),
            arm: index,
        }));
        true
    }

    fn unregister(&mut self, parking: &P) {
        if let Some(ticket) = self.ticket.take() {
            lock(self.shared, parking).unwatch(ticket);
        }
    }

    fn completed(&self) -> bool {
        self.0.completed()
    }
}
