//! Channels: multi-producer, multi-consumer queues whose blocking calls park
//! the *task*, not the worker (Go's channels, crossbeam-channel's API).
//!
//! [`bounded(n)`](bounded) holds at most `n` values and [`Sender::send`]
//! waits while it is full; [`bounded(0)`](bounded) is a rendezvous: a send
//! completes only once a receiver has its value; [`unbounded`] never makes
//! a sender wait. [`Receiver::recv`] waits while the channel is empty. Both
//! ends are `Clone`. When every [`Sender`] is gone, receivers still get what
//! was sent and then [`RecvError`]; when every [`Receiver`] is gone, sends
//! fail with [`SendError`], which gives the value back. Waiting works the
//! same inside a fibra task (the task parks, its worker runs others) and on
//! any other thread (the thread sleeps), so threads and tasks can mix.
//!
//! Timed waits ([`Sender::send_timeout`], [`Receiver::recv_timeout`] and
//! their `_deadline` forms) give up after a while: a timed-out send gives
//! its value back, and never loses or duplicates it. [`after`], [`at`] and
//! [`tick`] make receivers that get the time once or periodically, and
//! [`never`](fn@never) one that gets nothing. [`select!`](crate::select)
//! waits on several receives and sends at once: among ready arms it picks
//! one at random (waiting, it registers them in a random order too), and
//! exactly one arm completes; [`select_biased!`](crate::select_biased)
//! prefers arms in written order. For a list of operations built at run
//! time: [`Select`] (crossbeam-channel's), or [`select`] over
//! [`RecvArm`]s and [`SendArm`]s.
//!
//! ```
//! let rt = fibra::Runtime::builder().workers(2).build()?;
//! let (tx, rx) = fibra::chan::bounded(16);
//! for id in 0..4u64 {
//!     let tx = tx.clone();
//!     rt.spawn(move || (0..100).for_each(|i| tx.send(id * 1000 + i).unwrap()));
//! }
//! drop(tx); // the iteration below ends when the four producers are done
//! let total: u64 = rt.block_on(move || rx.iter().sum());
//! assert_eq!(total, (0..4u64).map(|id| id * 100_000 + 4950).sum());
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! # Design
//!
//! One mutex guards the whole state (`state::State`, whose header lists the
//! invariants): a `VecDeque` buffer, the queue of blocked senders (each
//! parked *with its value* in its entry), the queue of blocked receivers,
//! and the counts of each end. The blocking protocol (`blocking.rs`) is the
//! one pattern of `park::Waiter`: under the lock a call either completes or
//! records `Waiter::current()` in a queue; it unlocks and parks; woken, it
//! re-checks under the lock (wake-ups may be spurious). Whoever changes the
//! state so that a waiter can proceed takes that waiter out of its queue
//! under the lock and unparks it after unlocking, so no wake-up is lost: a
//! waiter is either seen proceeding under the lock or is in a queue when the
//! change happens. Each send wakes at most one receiver; each receive wakes
//! at most one sender; disconnection wakes every waiter of the other side. A send that finds a
//! receiver waiting hands the value to it (Go's direct send to a parked
//! receiver): the value is that receiver's from then on, and the woken
//! receiver finds it without a retry race; so a send on `bounded(0)`, which
//! never buffers, returns only once a receiver has the value, or else waits
//! with the value in its entry until a receiver takes it out. A receive
//! from a full bounded channel moves the oldest blocked sender's value into
//! the buffer, so values keep their order and a woken sender has already
//! completed. The protocol is generic over how to park, so the loom models
//! (`loom_models.rs`, `loom_select.rs`, `loom_dynamic.rs`) check this code
//! itself. A timed wait parks with a deadline (`park::park_current_until`:
//! the worker's timer wheel on a fiber, a futex timeout on a thread) and,
//! once it has passed, leaves under the lock: a receiver after one last
//! look, a sender taking its value back out of its entry unless it was
//! taken (then the send succeeded).
//!
//! A blocked select leaves one entry per arm in the channels' queues, all
//! naming one *selection* word (`selection.rs`) that is decided once; a
//! party completes a select's arm only by choosing it there, so a select
//! never completes two arms and no value is put aside for an arm it did not
//! pick (the protocol and its invariants: `select.rs`).
//!
//! The dynamic [`Select`] runs the same protocol over operations that
//! *reserve* instead of completing (`reserving.rs`, `state/reserve.rs`): a
//! receive keeps the value it took in the channel under a ticket, a send
//! claims a waiting receiver or a buffer slot, so the selected operation
//! completes without waiting; a waiting send, with no value to leave in an
//! entry, *watches* its channel, and any change wakes it to try again.
//! Timer receivers (`timer.rs`) have no state machine: a receive waits
//! until the next delivery is due.
//!
//! Values are never dropped under the lock (a value's `Drop` may use the
//! channel).

mod arms;
mod blocking;
mod dynamic;
mod error;
mod iter;
mod macros;
mod reserving;
mod select;
#[cfg(test)]
mod select_tests;
mod selection;
mod state;
mod tasks;
#[cfg(test)]
mod tests;
mod timer;

#[doc(hidden)]
pub use arms::macro_support;
pub use arms::{select, select_deadline, select_timeout, try_select, RecvArm, SelectArm, SendArm};
pub use dynamic::{
    ReadyTimeoutError, Select, SelectTimeoutError, SelectedOperation, TryReadyError, TrySelectError,
};
pub use error::{RecvError, RecvTimeoutError, SendError, SendTimeoutError, TryRecvError, TrySendError};
pub use iter::{IntoIter, Iter, TryIter};

use crate::park::Waiter;
use blocking::Shared;
use state::State;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tasks::Tasks;

/// The state shared by every end of one channel.
struct Channel<T> {
    state: Shared<T, Waiter>,
}

impl<T> Receiver<T> {
    /// The channel this receiver receives from (for tests; panics on a
    /// timer or `never` receiver).
    #[cfg(test)]
    fn channel(&self) -> &Channel<T> {
        match &self.flavor {
            Flavor::Channel(channel) => channel,
            _ => panic!("not a channel made by bounded or unbounded"),
        }
    }
}

impl<T> Channel<T> {
    #[cfg(test)]
    fn lock(&self) -> crate::loom::MutexGuard<'_, State<T, Waiter>> {
        crate::loom::lock(&self.state)
    }
}

/// A channel that holds at most `capacity` values; `bounded(0)` is a
/// rendezvous channel, whose sends complete only when a receiver takes the
/// value.
///
/// ```
/// let rt = fibra::Runtime::builder().workers(1).build()?;
/// let (tx, rx) = fibra::chan::bounded(0);
/// let consumer = rt.spawn(move || rx.recv().unwrap() * 2);
/// tx.send(21).unwrap(); // returns once the consumer has the value
/// assert_eq!(consumer.join().unwrap(), 42);
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn bounded<T>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    channel(Some(capacity))
}

/// A channel without a bound: [`Sender::send`] never waits.
///
/// ```
/// let (tx, rx) = fibra::chan::unbounded();
/// (0..1000).for_each(|i| tx.send(i).unwrap());
/// drop(tx);
/// assert_eq!(rx.iter().count(), 1000);
/// ```
pub fn unbounded<T>() -> (Sender<T>, Receiver<T>) {
    channel(None)
}

fn channel<T>(capacity: Option<usize>) -> (Sender<T>, Receiver<T>) {
    let channel = Arc::new(Channel {
        state: crate::loom::Mutex::new(State::new(capacity)),
    });
    (
        Sender {
            channel: channel.clone(),
        },
        Receiver {
            flavor: Flavor::Channel(channel),
        },
    )
}

/// A receiver that gets one message, the instant it was due, once
/// `duration` has passed (Go's `time.After`; crossbeam-channel's `after`).
/// Nothing is sent into it: a receive waits until the time has come, as a
/// [`fibra::time::sleep`](crate::time::sleep) does (inside a task only the
/// task waits, on its worker's timers, 1 ms resolution). After its one
/// message is taken it stays empty for ever and never disconnects; clones
/// share that one message. Most useful in [`select!`](crate::select), as a
/// timeout for one select among others:
///
/// ```
/// use fibra::chan::{after, unbounded};
/// use std::time::Duration;
///
/// let (_tx, rx) = unbounded::<u32>();
/// let timeout = after(Duration::from_millis(10));
/// let got = fibra::select! {
///     recv(rx) -> v => v.ok(),
///     recv(timeout) -> _ => None,
/// };
/// assert_eq!(got, None);
/// assert!(timeout.is_empty(), "its one message was taken");
/// ```
pub fn after(duration: Duration) -> Receiver<Instant> {
    timer_receiver(timer::Timer::once(Instant::now().checked_add(duration)))
}

/// A receiver that gets one message at `when` (the instant itself): like
/// [`after`], with a point in time.
///
/// ```
/// use std::time::{Duration, Instant};
///
/// let when = Instant::now() + Duration::from_millis(5);
/// assert_eq!(fibra::chan::at(when).recv(), Ok(when));
/// assert!(Instant::now() >= when);
/// ```
pub fn at(when: Instant) -> Receiver<Instant> {
    timer_receiver(timer::Timer::once(Some(when)))
}

/// A receiver that gets a message every `duration` (Go's `time.Tick`;
/// crossbeam-channel's `tick`): the instant each tick was due, the first
/// one `duration` from now. A tick that nobody takes before the next one
/// is due is dropped, not delivered late in a burst: the next tick is due
/// one `duration` after the last taken one, or one `duration` after it was
/// taken if that is later. Clones share the ticks (each goes to one of
/// them); it never disconnects.
///
/// ```
/// use std::time::Duration;
///
/// let ticks = fibra::chan::tick(Duration::from_millis(2));
/// let first = ticks.recv().unwrap();
/// let second = ticks.recv().unwrap();
/// assert!(second >= first + Duration::from_millis(2));
/// ```
pub fn tick(duration: Duration) -> Receiver<Instant> {
    timer_receiver(timer::Timer::every(
        Instant::now().checked_add(duration),
        duration,
    ))
}

fn timer_receiver(timer: timer::Timer) -> Receiver<Instant> {
    Receiver {
        flavor: Flavor::Timer {
            timer: Arc::new(timer),
            deliver: std::convert::identity,
        },
    }
}

/// A receiver that never gets a message and never disconnects (Go's nil
/// channel; crossbeam-channel's `never`): a receive waits for ever, or
/// until its timeout. In a [`select!`](crate::select), an arm on it is
/// never chosen, which switches an arm off:
///
/// ```
/// use fibra::chan::{never, unbounded, Receiver};
///
/// let (tx, rx) = unbounded();
/// tx.send(1).unwrap();
/// let enabled = false;
/// let maybe: Receiver<u32> = if enabled { rx.clone() } else { never() };
/// let got = fibra::select! {
///     recv(maybe) -> _ => "switched off",
///     recv(rx) -> _ => "rx",
/// };
/// assert_eq!(got, "rx");
/// assert!(never::<u32>().try_recv().unwrap_err().is_empty());
/// ```
pub fn never<T>() -> Receiver<T> {
    Receiver {
        flavor: Flavor::Never,
    }
}

/// The sending end of a channel; clones send into the same channel.
///
/// Dropping the last `Sender` disconnects the channel for receivers once
/// they have taken every value.
///
/// ```
/// let rt = fibra::Runtime::builder().workers(2).build()?;
/// let (tx, rx) = fibra::chan::unbounded();
/// let producers: Vec<_> = (0..3)
///     .map(|i| {
///         let tx = tx.clone();
///         rt.spawn(move || tx.send(i).unwrap())
///     })
///     .collect();
/// drop(tx);
/// producers.into_iter().for_each(|p| p.join().unwrap());
/// let mut got: Vec<i32> = rx.iter().collect();
/// got.sort();
/// assert_eq!(got, [0, 1, 2]);
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Sender<T> {
    channel: Arc<Channel<T>>,
}

impl<T> Sender<T> {
    /// Sends a value, waiting while the channel is full (on `bounded(0)`:
    /// until a receiver takes it). Fails, giving the value back, if every
    /// receiver is gone (also if they go while this send waits).
    ///
    /// ```
    /// let (tx, rx) = fibra::chan::bounded(1);
    /// tx.send("hello").unwrap();
    /// assert_eq!(rx.recv(), Ok("hello"));
    /// drop(rx);
    /// assert_eq!(tx.send("lost").unwrap_err().into_inner(), "lost");
    /// ```
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        let mut slot = Some(value);
        blocking::send(&self.channel.state, &Tasks, &mut slot, None)
            .map_err(|_| SendError(state::take(&mut slot)))
    }

    /// Sends a value, waiting at most `timeout` while the channel is full
    /// (on `bounded(0)`: for a receiver to take it). On timeout the value
    /// comes back in [`SendTimeoutError::Timeout`]; if a receiver took it
    /// just as the time ran out, the send succeeded and says so: a value is
    /// never lost or delivered twice.
    ///
    /// Inside a fibra task only the task waits, on its worker's timers
    /// (1 ms resolution; see [`fibra::time`](crate::time) for how late a
    /// timer may fire); on other threads the thread sleeps. It never times
    /// out early.
    ///
    /// ```
    /// use fibra::chan::SendTimeoutError;
    /// use std::time::Duration;
    ///
    /// let rt = fibra::Runtime::builder().workers(1).build()?;
    /// let (tx, rx) = fibra::chan::bounded(0);
    /// // Nobody receives: the value comes back after 10 ms.
    /// let err = rt.block_on(|| tx.send_timeout("late", Duration::from_millis(10)));
    /// assert_eq!(err, Err(SendTimeoutError::Timeout("late")));
    /// // A receiver shows up in time.
    /// rt.spawn(move || rx.recv().unwrap());
    /// assert_eq!(tx.send_timeout("on time", Duration::from_secs(60)), Ok(()));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn send_timeout(&self, value: T, timeout: Duration) -> Result<(), SendTimeoutError<T>> {
        match Instant::now().checked_add(timeout) {
            Some(deadline) => self.send_deadline(value, deadline),
            None => self.send(value).map_err(SendTimeoutError::from),
        }
    }

    /// Like [`send_timeout`](Self::send_timeout), with a point in time.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    ///
    /// let (tx, _rx) = fibra::chan::bounded(1);
    /// tx.send(1).unwrap();
    /// let deadline = Instant::now() + Duration::from_millis(5);
    /// assert!(tx.send_deadline(2, deadline).unwrap_err().is_timeout());
    /// assert!(Instant::now() >= deadline);
    /// ```
    pub fn send_deadline(&self, value: T, deadline: Instant) -> Result<(), SendTimeoutError<T>> {
        let mut slot = Some(value);
        blocking::send(&self.channel.state, &Tasks, &mut slot, Some(deadline))
            .map_err(|error| error.with(state::take(&mut slot)))
    }

    /// Sends a value only if that needs no waiting: fails with
    /// [`TrySendError::Full`] if the channel is full (on `bounded(0)`: if no
    /// receiver is waiting) and [`TrySendError::Disconnected`] if every
    /// receiver is gone; either gives the value back.
    ///
    /// ```
    /// let (tx, rx) = fibra::chan::bounded(2);
    /// assert!(tx.try_send(1).is_ok());
    /// assert!(tx.try_send(2).is_ok());
    /// assert!(tx.try_send(3).unwrap_err().is_full());
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// ```
    pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        let mut slot = Some(value);
        blocking::try_send(&self.channel.state, &Tasks, &mut slot)
            .map_err(|error| error.with(state::take(&mut slot)))
    }

    /// The channel's bound: `Some(n)` for [`bounded(n)`](bounded), `None`
    /// for [`unbounded`].
    ///
    /// ```
    /// assert_eq!(fibra::chan::bounded::<u8>(3).0.capacity(), Some(3));
    /// assert_eq!(fibra::chan::unbounded::<u8>().0.capacity(), None);
    /// ```
    pub fn capacity(&self) -> Option<usize> {
        crate::loom::lock(&self.channel.state).capacity()
    }

    /// How many values are buffered now (as [`Receiver::len`]).
    ///
    /// ```
    /// let (tx, _rx) = fibra::chan::bounded(4);
    /// tx.send(1).unwrap();
    /// assert_eq!(tx.len(), 1);
    /// assert!(!tx.is_empty());
    /// ```
    pub fn len(&self) -> usize {
        crate::loom::lock(&self.channel.state).len()
    }

    /// Whether no value is buffered now.
    ///
    /// ```
    /// let (tx, _rx) = fibra::chan::unbounded::<u8>();
    /// assert!(tx.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the buffer is full now, so that a send would wait (always
    /// true for `bounded(0)`, never for [`unbounded`]).
    ///
    /// ```
    /// let (tx, _rx) = fibra::chan::bounded(1);
    /// assert!(!tx.is_full());
    /// tx.send(1).unwrap();
    /// assert!(tx.is_full());
    /// assert!(fibra::chan::bounded::<u8>(0).0.is_full());
    /// ```
    pub fn is_full(&self) -> bool {
        crate::loom::lock(&self.channel.state).is_full()
    }

    /// Whether `self` and `other` send into the same channel.
    ///
    /// ```
    /// let (tx, _rx) = fibra::chan::unbounded::<u8>();
    /// let (other, _other_rx) = fibra::chan::unbounded::<u8>();
    /// assert!(tx.same_channel(&tx.clone()));
    /// assert!(!tx.same_channel(&other));
    /// ```
    pub fn same_channel(&self, other: &Sender<T>) -> bool {
        Arc::ptr_eq(&self.channel, &other.channel)
    }
}

impl<T> Clone for Sender<T> {
    /// Another sender into the same channel.
    ///
    /// ```
    /// let (tx, rx) = fibra::chan::unbounded();
    /// let tx2 = tx.clone();
    /// tx.send(1).unwrap();
    /// tx2.send(2).unwrap();
    /// drop((tx, tx2));
    /// assert_eq!(rx.iter().collect::<Vec<_>>(), [1, 2]);
    /// ```
    fn clone(&self) -> Sender<T> {
        blocking::add_sender(&self.channel.state);
        Sender {
            channel: self.channel.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        blocking::drop_sender(&self.channel.state, &Tasks);
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Sender { .. }")
    }
}

/// The receiving end of a channel; clones receive from the same channel,
/// each value going to exactly one of them.
///
/// ```
/// let rt = fibra::Runtime::builder().workers(2).build()?;
/// let (tx, rx) = fibra::chan::bounded(4);
/// let consumers: Vec<_> = (0..2)
///     .map(|_| {
///         let rx = rx.clone();
///         rt.spawn(move || rx.iter().sum::<u64>())
///     })
///     .collect();
/// drop(rx);
/// (1..=100).for_each(|i| tx.send(i).unwrap());
/// drop(tx);
/// let total: u64 = consumers.into_iter().map(|c| c.join().unwrap()).sum();
/// assert_eq!(total, 5050);
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Receiver<T> {
    flavor: Flavor<T>,
}

/// What a receiver receives from.
enum Flavor<T> {
    /// A channel made by [`bounded`] or [`unbounded`].
    Channel(Arc<Channel<T>>),
    /// A timer made by [`after`], [`at`] or [`tick`]; `deliver` turns its
    /// instants into `T` (only ever `Instant`'s identity: this keeps the
    /// type `Receiver<Instant>` without a cast).
    Timer {
        timer: Arc<timer::Timer>,
        deliver: fn(Instant) -> T,
    },
    /// [`never`](fn@never).
    Never,
}

impl<T> Receiver<T> {
    /// Receives a value, waiting while the channel is empty. Fails once
    /// every sender is gone and every value sent has been received.
    ///
    /// ```
    /// let rt = fibra::Runtime::builder().workers(1).build()?;
    /// let (tx, rx) = fibra::chan::unbounded();
    /// rt.spawn(move || tx.send(5).unwrap());
    /// assert_eq!(rx.recv(), Ok(5));
    /// assert_eq!(rx.recv(), Err(fibra::chan::RecvError)); // the task dropped tx
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn recv(&self) -> Result<T, RecvError> {
        self.receive(None).map_err(|_| RecvError)
    }

    /// Receives a value, waiting at most `timeout` while the channel is
    /// empty: [`RecvTimeoutError::Timeout`] if none came, `Disconnected`
    /// once every sender is gone and every value was received.
    ///
    /// Inside a fibra task only the task waits, on its worker's timers
    /// (1 ms resolution; see [`fibra::time`](crate::time) for how late a
    /// timer may fire); on other threads the thread sleeps. It never times
    /// out early.
    ///
    /// ```
    /// use fibra::chan::RecvTimeoutError;
    /// use std::time::Duration;
    ///
    /// let rt = fibra::Runtime::builder().workers(1).build()?;
    /// let (tx, rx) = fibra::chan::unbounded();
    /// let got = rt.block_on(|| rx.recv_timeout(Duration::from_millis(10)));
    /// assert_eq!(got, Err(RecvTimeoutError::Timeout));
    /// rt.spawn(move || tx.send(7).unwrap());
    /// assert_eq!(rx.recv_timeout(Duration::from_secs(60)), Ok(7));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn recv_timeout(&self, timeout: Duration) -> Result<T, RecvTimeoutError> {
        match Instant::now().checked_add(timeout) {
            Some(deadline) => self.recv_deadline(deadline),
            None => self.recv().map_err(RecvTimeoutError::from),
        }
    }

    /// Like [`recv_timeout`](Self::recv_timeout), with a point in time.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    ///
    /// let (_tx, rx) = fibra::chan::unbounded::<u8>();
    /// let deadline = Instant::now() + Duration::from_millis(5);
    /// assert!(rx.recv_deadline(deadline).unwrap_err().is_timeout());
    /// assert!(Instant::now() >= deadline);
    /// ```
    pub fn recv_deadline(&self, deadline: Instant) -> Result<T, RecvTimeoutError> {
        self.receive(Some(deadline))
    }

    #[inline]
    fn receive(&self, deadline: Option<Instant>) -> Result<T, RecvTimeoutError> {
        match &self.flavor {
            Flavor::Channel(channel) => {
                // Received into a slot: a large value moves once into it.
                let mut out = None;
                blocking::recv(&channel.state, &Tasks, deadline, &mut out)?;
                Ok(state::take(&mut out))
            }
            Flavor::Timer { timer, deliver } => timer.recv(deadline).map(deliver),
            Flavor::Never => Err(timer::recv_never(deadline)),
        }
    }

    /// Receives a value only if one is there: [`TryRecvError::Empty`] if
    /// not, [`TryRecvError::Disconnected`] if none will ever come.
    ///
    /// ```
    /// use fibra::chan::TryRecvError;
    ///
    /// let (tx, rx) = fibra::chan::unbounded();
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    /// tx.send(1).unwrap();
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// ```
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        match &self.flavor {
            Flavor::Channel(channel) => {
                let mut out = None;
                blocking::try_recv(&channel.state, &Tasks, &mut out)?;
                Ok(state::take(&mut out))
            }
            Flavor::Timer { timer, deliver } => timer
                .try_take(Instant::now())
                .map(deliver)
                .ok_or(TryRecvError::Empty),
            Flavor::Never => Err(TryRecvError::Empty),
        }
    }

    /// How many values are buffered now (not counting those of senders
    /// waiting on a full or rendezvous channel; for a timer channel, 1 if a
    /// delivery is due, else 0).
    ///
    /// ```
    /// let (tx, rx) = fibra::chan::unbounded();
    /// tx.send(()).unwrap();
    /// assert_eq!(rx.len(), 1);
    /// assert!(!rx.is_empty());
    /// ```
    pub fn len(&self) -> usize {
        match &self.flavor {
            Flavor::Channel(channel) => crate::loom::lock(&channel.state).len(),
            Flavor::Timer { timer, .. } => timer.len(Instant::now()),
            Flavor::Never => 0,
        }
    }

    /// Whether no value is buffered now (see [`len`](Self::len)).
    ///
    /// ```
    /// let (_tx, rx) = fibra::chan::bounded::<u8>(1);
    /// assert!(rx.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the buffer is full now (always true for `bounded(0)` and
    /// [`never`](fn@never), never for [`unbounded`]; a timer channel holds one
    /// delivery: full when it is due).
    ///
    /// ```
    /// let (tx, rx) = fibra::chan::bounded(1);
    /// tx.send(1).unwrap();
    /// assert!(rx.is_full());
    /// ```
    pub fn is_full(&self) -> bool {
        match &self.flavor {
            Flavor::Channel(channel) => crate::loom::lock(&channel.state).is_full(),
            Flavor::Timer { .. } => self.len() == 1,
            Flavor::Never => true,
        }
    }

    /// The channel's bound: `Some(n)` for [`bounded(n)`](bounded), `None`
    /// for [`unbounded`]; `Some(1)` for a timer channel, `Some(0)` for
    /// [`never`](fn@never).
    ///
    /// ```
    /// assert_eq!(fibra::chan::bounded::<u8>(3).1.capacity(), Some(3));
    /// assert_eq!(fibra::chan::unbounded::<u8>().1.capacity(), None);
    /// ```
    pub fn capacity(&self) -> Option<usize> {
        match &self.flavor {
            Flavor::Channel(channel) => crate::loom::lock(&channel.state).capacity(),
            Flavor::Timer { .. } => Some(1),
            Flavor::Never => Some(0),
        }
    }

    /// Whether `self` and `other` receive from the same channel (clones of
    /// one timer receiver do; any two [`never`](fn@never) receivers do).
    ///
    /// ```
    /// let (_tx, rx) = fibra::chan::unbounded::<u8>();
    /// assert!(rx.same_channel(&rx.clone()));
    /// assert!(!rx.same_channel(&fibra::chan::unbounded().1));
    /// ```
    pub fn same_channel(&self, other: &Receiver<T>) -> bool {
        match (&self.flavor, &other.flavor) {
            (Flavor::Channel(a), Flavor::Channel(b)) => Arc::ptr_eq(a, b),
            (Flavor::Timer { timer: a, .. }, Flavor::Timer { timer: b, .. }) => Arc::ptr_eq(a, b),
            (Flavor::Never, Flavor::Never) => true,
            _ => false,
        }
    }

    /// A blocking iterator over received values; it ends when the channel is
    /// disconnected and drained.
    ///
    /// ```
    /// let (tx, rx) = fibra::chan::unbounded();
    /// std::thread::spawn(move || (1..=3).for_each(|i| tx.send(i).unwrap()));
    /// assert_eq!(rx.iter().collect::<Vec<_>>(), [1, 2, 3]);
    /// ```
    pub fn iter(&self) -> Iter<'_, T> {
        Iter::new(self)
    }

    /// An iterator over the values there now; it never waits.
    ///
    /// ```
    /// let (tx, rx) = fibra::chan::unbounded();
    /// tx.send(1).unwrap();
    /// tx.send(2).unwrap();
    /// assert_eq!(rx.try_iter().collect::<Vec<_>>(), [1, 2]);
    /// assert_eq!(rx.try_iter().next(), None); // empty, though tx lives
    /// ```
    pub fn try_iter(&self) -> TryIter<'_, T> {
        TryIter::new(self)
    }
}

impl<T> Clone for Receiver<T> {
    /// Another receiver from the same channel.
    ///
    /// ```
    /// let (tx, rx) = fibra::chan::unbounded();
    /// let rx2 = rx.clone();
    /// tx.send(1).unwrap();
    /// tx.send(2).unwrap();
    /// assert_eq!((rx.recv(), rx2.recv()), (Ok(1), Ok(2)));
    /// ```
    fn clone(&self) -> Receiver<T> {
        let flavor = match &self.flavor {
            Flavor::Channel(channel) => {
                blocking::add_receiver(&channel.state);
                Flavor::Channel(channel.clone())
            }
            Flavor::Timer { timer, deliver } => Flavor::Timer {
                timer: timer.clone(),
                deliver: *deliver,
            },
            Flavor::Never => Flavor::Never,
        };
        Receiver { flavor }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        if let Flavor::Channel(channel) = &self.flavor {
            blocking::drop_receiver(&channel.state, &Tasks);
        }
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Receiver { .. }")
    }
}
