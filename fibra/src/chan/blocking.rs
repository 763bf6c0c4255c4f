//! The channel's blocking protocol, over any way of parking ([`Parking`]):
//! fibra's `Waiter` in the real channel, a loom-modelled parker in the loom
//! models, which thus check this very code.
//!
//! Every operation locks the state, asks the state machine (`state.rs`)
//! what to do, unlocks, then unparks the waiters it was handed. A call that
//! must wait has recorded its waiter under the same lock hold in which it
//! saw that it could not proceed; it then parks, and re-checks under the lock
//! after every wake-up (wake-ups may be spurious). Whoever makes it able to
//! proceed does so under the lock and takes its waiter out there, so the
//! wake-up cannot be lost. Values are dropped only after unlocking.
//!
//! A woken receiver first takes the value a sender handed it, if one did
//! (`state.rs`, invariant 6). A timed call parks until its deadline at the
//! latest and, once [`Parking::expired`] says it has passed, leaves under
//! the lock in the same hold as its last check: a receiver only after
//! `recv_as` found nothing (so no value handed to it stays behind), a
//! sender by taking its value out of its entry, unless a receiver took it
//! first: then the send completed and reports success. Select
//! (`select.rs`) parks through the same trait.

use super::error::{RecvTimeoutError, SendTimeoutError, TryRecvError, TrySendError};
use super::state::{SendStart, State};
use crate::loom::{Mutex, MutexGuard};
use std::collections::VecDeque;
use std::mem::ManuallyDrop;
use std::ops::{Deref, DerefMut};
use std::time::Instant;

/// Who is running, how it sleeps, and how to wake it.
pub trait Parking {
    /// Names a parked party, to be woken later.
    type Waiter: Copy;
    /// The calling task or thread.
    fn current(&self) -> Self::Waiter;
    /// Sleeps until unparked or, given a deadline, until it has passed. May
    /// return spuriously: callers re-check, and ask [`Parking::expired`].
    fn park_until(&self, deadline: Option<Instant>);
    /// Whether `deadline` has passed.
    fn expired(&self, deadline: Instant) -> bool;
    /// Makes the waiter's current or next park return.
    fn unpark(&self, waiter: Self::Waiter);
}

/// A channel's state under its lock.
pub(super) type Shared<T, W> = Mutex<State<T, W>>;

/// A channel's locked state. Dropping it wakes the watchers that changes
/// made under the lock chose (`state/reserve.rs`), and then unlocks: every
/// operation that may change the state locks through [`lock`]. (Watchers,
/// the dynamic `Select`'s, are rare; waking them just before the unlock
/// rather than after keeps the common path one branch long.)
pub(super) struct Locked<'a, T, P: Parking> {
    guard: MutexGuard<'a, State<T, P::Waiter>>,
    parking: &'a P,
}

/// Locks `shared` for a party that parks and wakes through `parking`.
#[inline]
pub(super) fn lock<'a, T, P: Parking>(shared: &'a Shared<T, P::Waiter>, parking: &'a P) -> Locked<'a, T, P> {
    Locked {
        guard: crate::loom::lock(shared),
        parking,
    }
}

impl<T, P: Parking> Deref for Locked<'_, T, P> {
    type Target = State<T, P::Waiter>;

    #[inline]
    fn deref(&self) -> &Self::Target {
        &self.guard
    }
}

impl<T, P: Parking> DerefMut for Locked<'_, T, P> {
    #[inline]
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.guard
    }
}

impl<T, P: Parking> Drop for Locked<'_, T, P> {
    #[inline]
    fn drop(&mut self) {
        if let Some(woken) = self.guard.take_woken_watchers() {
            woken.into_iter().for_each(|waiter| self.parking.unpark(waiter));
        }
    }
}

/// Sends the value in `slot` if that needs no waiting; refused, the value
/// stays in the slot.
pub(super) fn try_send<T, P: Parking>(
    shared: &Shared<T, P::Waiter>,
    parking: &P,
    slot: &mut Option<T>,
) -> Result<(), TrySendError<()>> {
    let receiver = lock(shared, parking).try_send_from(slot)?;
    unpark_any(parking, receiver);
    Ok(())
}

/// Sends the value in `slot`, waiting while there is no room, until
/// `deadline` if one is given. On an error the value is back in the slot:
/// every receiver is gone, or the deadline passed with the value still in
/// the sender's entry (if it was taken by then, the send completed and
/// reports success). The value moves only from the slot to where it waits
/// (`State::try_send_from`).
pub(super) fn send<T, P: Parking>(
    shared: &Shared<T, P::Waiter>,
    parking: &P,
    slot: &mut Option<T>,
    deadline: Option<Instant>,
) -> Result<(), SendTimeoutError<()>> {
    let start = lock(shared, parking).start_send(slot, parking.current());
    let ticket = match start {
        SendStart::Sent(receiver) => {
            unpark_any(parking, receiver);
            return Ok(());
        }
        SendStart::Disconnected => return Err(SendTimeoutError::Disconnected(())),
        SendStart::Blocked(ticket) => ticket,
    };
    loop {
        parking.park_until(deadline);
        let mut state = lock(shared, parking);
        if let Some(outcome) = state.poll_send(ticket) {
            return outcome.map_err(|value| {
                *slot = Some(value);
                SendTimeoutError::Disconnected(())
            });
        }
        if expired(parking, deadline) {
            *slot = state.withdraw_sender(ticket);
            assert!(slot.is_some(), "poll_send found the entry");
            return Err(SendTimeoutError::Timeout(()));
        }
    }
}

fn expired<P: Parking>(parking: &P, deadline: Option<Instant>) -> bool {
    deadline.is_some_and(|deadline| parking.expired(deadline))
}

/// Receives into `out` if a value is there (see `State::try_recv_into`).
pub(super) fn try_recv<T, P: Parking>(
    shared: &Shared<T, P::Waiter>,
    parking: &P,
    out: &mut Option<T>,
) -> Result<(), TryRecvError> {
    let sender = lock(shared, parking).try_recv_into(out)?;
    unpark_any(parking, sender);
    Ok(())
}

/// Unparks `waiter`, if there is one.
pub(super) fn unpark_any<P: Parking>(parking: &P, waiter: Option<P::Waiter>) {
    if let Some(waiter) = waiter {
        parking.unpark(waiter);
    }
}

/// Receives into `out`, waiting while the channel is empty and senders
/// remain, until `deadline` if one is given.
pub(super) fn recv<T, P: Parking>(
    shared: &Shared<T, P::Waiter>,
    parking: &P,
    deadline: Option<Instant>,
    out: &mut Option<T>,
) -> Result<(), RecvTimeoutError> {
    let mut ticket = None;
    loop {
        let mut state = lock(shared, parking);
        let outcome = state.recv_into(ticket, out);
        if let Err(TryRecvError::Empty) = outcome {
            if ticket.is_some_and(|ticket| state.is_promised(ticket)) {
                // A selected send claimed this receiver: its value comes
                // soon, and it may neither leave nor take another
                // (`state/reserve.rs`, invariant 1).
                drop(state);
                parking.park_until(None);
                continue;
            }
            if !expired(parking, deadline) {
                ticket = Some(state.register_receiver(ticket, parking.current()));
                drop(state);
                parking.park_until(deadline);
                continue;
            }
        }
        // With a value, disconnected, or timed out on an empty channel: the
        // receiver leaves, and nothing was handed to it (`recv_into` looked).
        state.leave(ticket);
        drop(state);
        return match outcome {
            Ok(sender) => {
                unpark_any(parking, sender);
                Ok(())
            }
            Err(TryRecvError::Disconnected) => Err(RecvTimeoutError::Disconnected),
            Err(TryRecvError::Empty) => Err(RecvTimeoutError::Timeout),
        };
    }
}

/// One more sender.
pub(super) fn add_sender<T, W: Copy>(shared: &Shared<T, W>) {
    crate::loom::lock(shared).add_sender();
}

/// One more receiver.
pub(super) fn add_receiver<T, W: Copy>(shared: &Shared<T, W>) {
    crate::loom::lock(shared).add_receiver();
}

/// One sender fewer; the last one wakes every waiting receiver.
pub(super) fn drop_sender<T, P: Parking>(shared: &Shared<T, P::Waiter>, parking: &P) {
    let woken = lock(shared, parking).remove_sender();
    woken.into_iter().for_each(|waiter| parking.unpark(waiter));
}

/// One receiver fewer; the last one wakes every waiting sender and drops
/// the values nobody will receive (after unlocking: their `Drop` may use the
/// channel).
pub(super) fn drop_receiver<T, P: Parking>(shared: &Shared<T, P::Waiter>, parking: &P) {
    let (woken, undelivered) = lock(shared, parking).remove_receiver();
    woken.into_iter().for_each(|waiter| parking.unpark(waiter));
    drop_in_order(undelivered);
}

/// Drops `values` front to back. If one's `Drop` panics, the panic goes on
/// unwinding and the values behind it are leaked, as crossbeam-channel
/// does: dropping them during the unwind would abort the process at the
/// next panic ("panic in a destructor during cleanup").
pub(super) fn drop_in_order<T>(values: VecDeque<T>) {
    // Leaked, with what is left in it, if a drop below unwinds.
    let mut values = ManuallyDrop::new(values);
    while let Some(value) = values.pop_front() {
        drop(value);
    }
    drop(ManuallyDrop::into_inner(values)); // empty now: frees the buffer
}
