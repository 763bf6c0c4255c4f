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

use super::error::{RecvError, TryRecvError, TrySendError};
use super::state::{SendStart, State};
use crate::loom::Mutex;

/// Who is running, how it sleeps, and how to wake it.
pub(super) trait Parking {
    /// Names a parked party, to be woken later.
    type Waiter: Copy;
    /// The calling task or thread.
    fn current(&self) -> Self::Waiter;
    /// Sleeps until unparked (may return spuriously).
    fn park(&self);
    /// Makes the waiter's current or next park return.
    fn unpark(&self, waiter: Self::Waiter);
}

/// A channel's state under its lock.
pub(super) type Shared<T, W> = Mutex<State<T, W>>;

pub(super) fn try_send<T, P: Parking>(
    shared: &Shared<T, P::Waiter>,
    parking: &P,
    value: T,
) -> Result<(), TrySendError<T>> {
    if let Some(receiver) = crate::loom::lock(shared).try_send(value)? {
        parking.unpark(receiver);
    }
    Ok(())
}

/// Sends, waiting while there is no room; `Err` gives the value back when
/// every receiver is gone.
pub(super) fn send<T, P: Parking>(shared: &Shared<T, P::Waiter>, parking: &P, value: T) -> Result<(), T> {
    let start = crate::loom::lock(shared).start_send(value, parking.current());
    let ticket = match start {
        SendStart::Sent(woken) => {
            if let Some(receiver) = woken {
                parking.unpark(receiver);
            }
            return Ok(());
        }
        SendStart::Disconnected(value) => return Err(value),
        SendStart::Blocked(ticket) => ticket,
    };
    loop {
        parking.park();
        if let Some(outcome) = crate::loom::lock(shared).poll_send(ticket) {
            return outcome;
        }
    }
}

pub(super) fn try_recv<T, P: Parking>(shared: &Shared<T, P::Waiter>, parking: &P) -> Result<T, TryRecvError> {
    let (value, wakes) = crate::loom::lock(shared).try_recv()?;
    wakes.wake_all(|waiter| parking.unpark(waiter));
    Ok(value)
}

/// Receives, waiting while the channel is empty and senders remain.
pub(super) fn recv<T, P: Parking>(shared: &Shared<T, P::Waiter>, parking: &P) -> Result<T, RecvError> {
    let mut ticket = None;
    loop {
        let mut state = crate::loom::lock(shared);
        let outcome = state.try_recv();
        if let Err(TryRecvError::Empty) = outcome {
            ticket = Some(state.register_receiver(ticket, parking.current()));
            drop(state);
            parking.park();
            continue;
        }
        state.leave(ticket);
        drop(state);
        return match outcome {
            Ok((value, wakes)) => {
                wakes.wake_all(|waiter| parking.unpark(waiter));
                Ok(value)
            }
            Err(_) => Err(RecvError),
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
    let woken = crate::loom::lock(shared).remove_sender();
    woken.into_iter().for_each(|waiter| parking.unpark(waiter));
}

/// One receiver fewer; the last one wakes every waiting sender and drops
/// the values nobody will receive (after unlocking: their `Drop` may use the
/// channel).
pub(super) fn drop_receiver<T, P: Parking>(shared: &Shared<T, P::Waiter>, parking: &P) {
    let (woken, undelivered) = crate::loom::lock(shared).remove_receiver();
    woken.into_iter().for_each(|waiter| parking.unpark(waiter));
    drop(undelivered);
}
