//! The public face of select: arms ([`RecvArm`], [`SendArm`]) owned by the
//! caller, and [`select`], [`try_select`], [`select_timeout`] and
//! [`select_deadline`] over a slice of them; the [`select!`](crate::select)
//! macro is a thin layer over these. The protocol is in `select.rs`.
//!
//! Each thread (so each worker, for the tasks it runs) keeps its own
//! xorshift state, from which every select draws its random order.

use super::select::{self, Arm, Order, RecvOp, SendOp, Wait, Xorshift};
use super::selection::Selection;
use super::timer::{NeverOp, TimerOp};
use super::{Flavor, Receiver, RecvError, SendError, Sender, Tasks};
use crate::loom::Arc;
use crate::park::Waiter;
use std::cell::Cell;
use std::fmt;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// One operation a select may complete: a [`RecvArm`] or a [`SendArm`].
/// Sealed: only those two implement it.
pub trait SelectArm: Arm<Tasks> {}

/// A receive for [`select`]: after the select, [`into_result`](Self::into_result)
/// gives what it received, if this arm was the one that completed.
///
/// ```
/// use fibra::chan::{select, RecvArm};
///
/// let (tx1, rx1) = fibra::chan::unbounded::<u8>();
/// let (_tx2, rx2) = fibra::chan::unbounded::<u8>();
/// tx1.send(1).unwrap();
/// let (mut a, mut b) = (RecvArm::new(&rx1), RecvArm::new(&rx2));
/// assert_eq!(select(&mut [&mut a, &mut b]), 0); // only rx1 has a value
/// assert_eq!((a.into_result(), b.into_result()), (Some(Ok(1)), None));
/// ```
pub struct RecvArm<'a, T> {
    op: RecvArmOp<'a, T>,
}

/// The protocol's operation behind a [`RecvArm`], by the receiver's flavor.
enum RecvArmOp<'a, T> {
    Channel(RecvOp<'a, T, Waiter>),
    Timer(TimerOp<'a, T>),
    Never(NeverOp),
}

impl<'a, T> RecvArm<'a, T> {
    /// A receive from `receiver`.
    pub fn new(receiver: &'a Receiver<T>) -> RecvArm<'a, T> {
        let op = match &receiver.flavor {
            Flavor::Channel(channel) => RecvArmOp::Channel(RecvOp::new(&channel.state)),
            Flavor::Timer { timer, deliver } => RecvArmOp::Timer(TimerOp::new(timer, *deliver)),
            Flavor::Never => RecvArmOp::Never(NeverOp),
        };
        RecvArm { op }
    }

    /// What this arm received (`Err` if the channel was disconnected and
    /// empty), or `None` if another arm completed.
    pub fn into_result(self) -> Option<Result<T, RecvError>> {
        match self.op {
            RecvArmOp::Channel(op) => op.into_result(),
            RecvArmOp::Timer(op) => op.into_result(),
            RecvArmOp::Never(_) => None,
        }
    }

    fn op(&self) -> &dyn Arm<Tasks> {
        match &self.op {
            RecvArmOp::Channel(op) => op,
            RecvArmOp::Timer(op) => op,
            RecvArmOp::Never(op) => op,
        }
    }

    fn op_mut(&mut self) -> &mut dyn Arm<Tasks> {
        match &mut self.op {
            RecvArmOp::Channel(op) => op,
            RecvArmOp::Timer(op) => op,
            RecvArmOp::Never(op) => op,
        }
    }
}

/// A send for [`select`], holding its value until the select completes this
/// arm or another (then the value is dropped with the arm); after the
/// select, [`into_result`](Self::into_result) says whether it was sent.
///
/// ```
/// use fibra::chan::{select, SendArm};
///
/// let (tx1, rx1) = fibra::chan::bounded(1);
/// let (tx2, _rx2) = fibra::chan::bounded(0); // nobody receives here
/// let (mut a, mut b) = (SendArm::new(&tx1, "one"), SendArm::new(&tx2, "two"));
/// assert_eq!(select(&mut [&mut a, &mut b]), 0);
/// assert_eq!(a.into_result(), Some(Ok(())));
/// assert_eq!(rx1.recv(), Ok("one"));
/// ```
pub struct SendArm<'a, T> {
    op: SendOp<'a, T, Waiter>,
}

impl<'a, T> SendArm<'a, T> {
    /// A send of `value` into `sender`'s channel.
    pub fn new(sender: &'a Sender<T>, value: T) -> SendArm<'a, T> {
        SendArm {
            op: SendOp::new(&sender.channel.state, value),
        }
    }

    /// `Ok` if this arm sent its value, `Err` giving it back if every
    /// receiver was gone, `None` if another arm completed.
    pub fn into_result(self) -> Option<Result<(), SendError<T>>> {
        self.op.into_result().map(|sent| sent.map_err(SendError))
    }
}

impl<T> SendArm<'_, T> {
    fn op(&self) -> &dyn Arm<Tasks> {
        &self.op
    }

    fn op_mut(&mut self) -> &mut dyn Arm<Tasks> {
        &mut self.op
    }
}

/// The public arms are thin wrappers of the protocol's operations.
macro_rules! delegate_to_op {
    ($($arm:ident)*) => {$(
        impl<T> Arm<Tasks> for $arm<'_, T> {
            fn try_complete(&mut self, parking: &Tasks) -> bool {
                self.op_mut().try_complete(parking)
            }

            fn register(&mut self, selection: &Arc<Selection<Waiter>>, index: usize, parking: &Tasks) -> bool {
                self.op_mut().register(selection, index, parking)
            }

            fn unregister(&mut self, parking: &Tasks) {
                self.op_mut().unregister(parking);
            }

            fn awaiting_hand_off(&self) -> bool {
                self.op().awaiting_hand_off()
            }

            fn completed(&self) -> bool {
                self.op().completed()
            }

            fn ready_at(&self) -> Option<Instant> {
                self.op().ready_at()
            }
        }

        impl<T> SelectArm for $arm<'_, T> {}

        impl<T> fmt::Debug for $arm<'_, T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($arm), " { .. }"))
            }
        }
    )*};
}

delegate_to_op!(RecvArm SendArm);

/// Waits until one of `arms` can complete, completes it, and returns its
/// index. If several are ready, each is equally likely to be chosen.
/// Exactly one arm completes; the others do nothing (a [`SendArm`] that did
/// not complete still holds its value, dropped with it). A receive from a
/// disconnected channel and a send into one are ready: they complete with
/// their error. With no arms, waits for ever (as Go's `select {}`).
///
/// Inside a fibra task only the task waits; on other threads the thread
/// sleeps. The [`select!`](crate::select) macro is usually more convenient.
///
/// ```
/// use fibra::chan::{select, RecvArm};
///
/// let rt = fibra::Runtime::builder().workers(2).build()?;
/// let receivers: Vec<_> = (0..4)
///     .map(|i| {
///         let (tx, rx) = fibra::chan::bounded(0);
///         if i == 2 {
///             rt.spawn(move || tx.send("from 2").unwrap());
///         } else {
///             std::mem::forget(tx); // never sends, never disconnects
///         }
///         rx
///     })
///     .collect();
/// let mut arms: Vec<RecvArm<&str>> = receivers.iter().map(RecvArm::new).collect();
/// let mut refs: Vec<&mut dyn fibra::chan::SelectArm> =
///     arms.iter_mut().map(|arm| arm as &mut dyn fibra::chan::SelectArm).collect();
/// let chosen = select(&mut refs);
/// assert_eq!(chosen, 2);
/// assert_eq!(arms.swap_remove(chosen).into_result(), Some(Ok("from 2")));
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn select(arms: &mut [&mut dyn SelectArm]) -> usize {
    run(arms, Wait::Forever).expect("a select without a deadline completes an arm")
}

/// Completes one of `arms` if one is ready now (chosen at random among the
/// ready ones), returning its index; `None` if none is.
///
/// ```
/// use fibra::chan::{try_select, RecvArm};
///
/// let (_tx, rx) = fibra::chan::unbounded::<u8>();
/// let mut arm = RecvArm::new(&rx);
/// assert_eq!(try_select(&mut [&mut arm]), None);
/// ```
pub fn try_select(arms: &mut [&mut dyn SelectArm]) -> Option<usize> {
    run(arms, Wait::Never)
}

/// Like [`select`], but gives up after `timeout`: `None` if no arm could
/// complete by then. Never gives up early; a timer inside a fibra task has
/// the resolution of its worker's timers (1 ms, see
/// [`fibra::time`](crate::time)).
///
/// ```
/// use fibra::chan::{select_timeout, RecvArm};
/// use std::time::Duration;
///
/// let (_tx, rx) = fibra::chan::bounded::<u8>(0);
/// let mut arm = RecvArm::new(&rx);
/// assert_eq!(select_timeout(&mut [&mut arm], Duration::from_millis(5)), None);
/// ```
pub fn select_timeout(arms: &mut [&mut dyn SelectArm], timeout: Duration) -> Option<usize> {
    match Instant::now().checked_add(timeout) {
        Some(deadline) => select_deadline(arms, deadline),
        None => Some(select(arms)),
    }
}

/// Like [`select_timeout`], with a point in time.
///
/// ```
/// use fibra::chan::{select_deadline, SendArm};
/// use std::time::{Duration, Instant};
///
/// let (tx, rx) = fibra::chan::bounded(1);
/// let mut arm = SendArm::new(&tx, 1);
/// let deadline = Instant::now() + Duration::from_secs(60);
/// assert_eq!(select_deadline(&mut [&mut arm], deadline), Some(0)); // room: at once
/// assert_eq!(rx.recv(), Ok(1));
/// ```
pub fn select_deadline(arms: &mut [&mut dyn SelectArm], deadline: Instant) -> Option<usize> {
    run(arms, Wait::Until(deadline))
}

fn run(arms: &mut [&mut dyn SelectArm], wait: Wait) -> Option<usize> {
    run_in(arms, wait, fair())
}

fn run_in(arms: &mut [&mut dyn SelectArm], wait: Wait, order: Order) -> Option<usize> {
    select::select(arms, &Tasks, wait, order)
}

/// A fresh random order for one select.
pub(super) fn fair() -> Order {
    Order::Fair(Xorshift::new(next_seed()))
}

/// What the [`select!`](crate::select) and
/// [`select_biased!`](crate::select_biased) macros call; not an API of its
/// own (use [`select`] and friends, or [`Select`](super::Select)).
#[doc(hidden)]
pub mod macro_support {
    use super::{fair, run_in, Order, SelectArm, Wait};
    use std::time::{Duration, Instant};

    fn order(biased: bool) -> Order {
        if biased {
            Order::Biased
        } else {
            fair()
        }
    }

    /// Waits for one arm; `biased`: the first ready arm in written order.
    pub fn select(arms: &mut [&mut dyn SelectArm], biased: bool) -> usize {
        run_in(arms, Wait::Forever, order(biased)).expect("a select without a deadline completes an arm")
    }

    /// Completes an arm that is ready now, if any.
    pub fn try_select(arms: &mut [&mut dyn SelectArm], biased: bool) -> Option<usize> {
        run_in(arms, Wait::Never, order(biased))
    }

    /// Waits at most `timeout` for one arm.
    pub fn select_timeout(arms: &mut [&mut dyn SelectArm], timeout: Duration, biased: bool) -> Option<usize> {
        match Instant::now().checked_add(timeout) {
            Some(deadline) => run_in(arms, Wait::Until(deadline), order(biased)),
            None => Some(select(arms, biased)),
        }
    }
}

/// Advances this thread's generator one step; the value seeds one select
/// (scrambled, so that its draws are not the thread's next seeds).
fn next_seed() -> u32 {
    RNG.with(|state| {
        let seed = Xorshift::new(state.get()).next();
        state.set(seed);
        seed.wrapping_mul(0x2C1B_3C6D)
    })
}

thread_local! {
    /// This thread's random state for select's order.
    static RNG: Cell<u32> = Cell::new(thread_seed());
}

/// A different seed for each thread (Weyl sequence of the golden ratio).
fn thread_seed() -> u32 {
    static NEXT: AtomicU32 = AtomicU32::new(0x9E37_79B9);
    NEXT.fetch_add(0x9E37_79B9, Ordering::Relaxed)
}
