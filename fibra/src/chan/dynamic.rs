//! [`Select`]: a select over a list of operations built at run time, in
//! crossbeam-channel's shape: add receives and sends, then
//! [`select`](Select::select) one, which gives a [`SelectedOperation`] to
//! complete with [`recv`](SelectedOperation::recv) or
//! [`send`](SelectedOperation::send); or wait until one is
//! [`ready`](Select::ready) without completing it.
//!
//! It runs the same protocol as [`select!`](crate::select) (`select.rs`),
//! over operations that *reserve* instead of complete
//! (`state/reserve.rs`): a receive takes its value at once and keeps it in
//! its channel, a send claims a waiting receiver or a buffer slot, so that
//! the selected operation's completion never waits. While waiting, a
//! receive is a select arm as in `select!` (a sender that chooses it hands
//! it the value, which is then its reservation); a send, which has no value
//! yet, and every operation of `ready`, *watch* their channels: any change
//! wakes the select, which then tries again.
//!
//! The message types of the operations differ, so the list holds them as
//! trait objects ([`Operation`]); a [`SelectedOperation`] names its channel
//! only as a [`Reserving`] object, and the typed end passed to
//! `recv`/`send` must be the one that was added (checked by address, as
//! crossbeam-channel does).

use super::blocking::{lock, unpark_any, Shared};
use super::error::{RecvError, SendError};
use super::reserving::{ChannelRecv, ChannelSend, Mode};
use super::select::{self, Arm, Order, Wait};
use super::selection::Selection;
use super::state::Reservation;
use super::timer::{NeverOp, Timer};
use super::{arms, Flavor, Receiver, Sender, Tasks};
use crate::loom::Arc;
use crate::park::Waiter;
use std::fmt;
use std::time::{Duration, Instant};

/// Waits on a list of channel operations built at run time and selects
/// one, as crossbeam-channel's `Select` does: add operations with
/// [`recv`](Self::recv) and [`send`](Self::send) (each returns the
/// operation's index), then [`select`](Self::select) (or its `try_` and
/// timed forms) picks one that can complete and returns it as a
/// [`SelectedOperation`], which must be completed with the same channel
/// end: [`SelectedOperation::recv`] or [`SelectedOperation::send`]. Among
/// operations that can complete, each is equally likely to be picked
/// ([`new_biased`](Self::new_biased): the first added wins); the
/// completion never waits. [`ready`](Self::ready) only says which
/// operation can complete, without completing it.
///
/// Inside a fibra task only the task waits; on other threads the thread
/// sleeps. Receivers of [`after`](super::after), [`tick`](super::tick) and
/// [`never`](fn@super::never) may be added too.
///
/// ```
/// use fibra::chan::{unbounded, Select};
///
/// let channels: Vec<_> = (0..5).map(|_| unbounded::<usize>()).collect();
/// channels[3].0.send(30).unwrap();
///
/// let mut select = Select::new();
/// for (_, rx) in &channels {
///     select.recv(rx);
/// }
/// let operation = select.select();
/// let index = operation.index();
/// assert_eq!(index, 3);
/// assert_eq!(operation.recv(&channels[index].1), Ok(30));
/// ```
pub struct Select<'a> {
    /// By index; `None` once removed (indices are never reused).
    operations: Vec<Option<Box<dyn Operation<'a> + 'a>>>,
    biased: bool,
}

impl<'a> Select<'a> {
    /// An empty select that picks among ready operations at random.
    pub fn new() -> Select<'a> {
        Select {
            operations: Vec::new(),
            biased: false,
        }
    }

    /// An empty select that picks the first ready operation in the order
    /// they were added.
    ///
    /// ```
    /// use fibra::chan::{unbounded, Select};
    ///
    /// let (tx1, rx1) = unbounded();
    /// let (tx2, rx2) = unbounded();
    /// tx1.send(1).unwrap();
    /// tx2.send(2).unwrap();
    /// let mut select = Select::new_biased();
    /// let first = select.recv(&rx1);
    /// select.recv(&rx2);
    /// let operation = select.select();
    /// assert_eq!(operation.index(), first);
    /// assert_eq!(operation.recv(&rx1), Ok(1));
    /// ```
    pub fn new_biased() -> Select<'a> {
        Select {
            biased: true,
            ..Select::new()
        }
    }

    /// Adds a receive from `receiver`; returns its index.
    pub fn recv<T>(&mut self, receiver: &'a Receiver<T>) -> usize {
        let operation: Box<dyn Operation<'a> + 'a> = match &receiver.flavor {
            Flavor::Channel(channel) => Box::new(ChannelRecv::<T, Tasks>::new(&channel.state, Mode::Select)),
            Flavor::Timer { timer, .. } => Box::new(TimerRecv::new(timer)),
            Flavor::Never => Box::new(NeverRecv(NeverOp)),
        };
        self.add(operation)
    }

    /// Adds a send into `sender`'s channel; returns its index. The value is
    /// given only when the operation is completed
    /// ([`SelectedOperation::send`]).
    pub fn send<T>(&mut self, sender: &'a Sender<T>) -> usize {
        self.add(Box::new(ChannelSend::<T, Tasks>::new(
            &sender.channel.state,
            Mode::Select,
        )))
    }

    fn add(&mut self, operation: Box<dyn Operation<'a> + 'a>) -> usize {
        self.operations.push(Some(operation));
        self.operations.len() - 1
    }

    /// Removes the operation at `index` (the other indices stay as they
    /// are).
    ///
    /// # Panics
    ///
    /// If there is no such operation (never added, or removed already).
    ///
    /// ```
    /// use fibra::chan::{unbounded, Select};
    ///
    /// let (tx1, rx1) = unbounded::<u8>();
    /// let (tx2, rx2) = unbounded::<u8>();
    /// tx1.send(1).unwrap();
    /// let mut select = Select::new();
    /// let first = select.recv(&rx1);
    /// let second = select.recv(&rx2);
    /// select.remove(first);
    /// tx2.send(2).unwrap();
    /// let operation = select.select();
    /// assert_eq!(operation.index(), second);
    /// assert_eq!(operation.recv(&rx2), Ok(2));
    /// ```
    pub fn remove(&mut self, index: usize) {
        let removed = self.operations.get_mut(index).and_then(Option::take);
        assert!(
            removed.is_some(),
            "Select::remove: no operation with index {index}"
        );
    }

    /// Waits until one operation can complete and selects it (picking
    /// among ready ones as [`new`](Self::new) or
    /// [`new_biased`](Self::new_biased) says). A receive from a
    /// disconnected channel and a send into one can complete (with their
    /// error).
    ///
    /// # Panics
    ///
    /// If the select has no operations (it would wait for ever).
    ///
    /// ```
    /// use fibra::chan::{bounded, Select};
    ///
    /// let rt = fibra::Runtime::builder().workers(2).build()?;
    /// let (tx, rx) = bounded(0);
    /// rt.spawn(move || rx.recv().unwrap());
    /// let mut select = Select::new();
    /// let send = select.send(&tx);
    /// let operation = select.select(); // once the task waits in recv
    /// assert_eq!(operation.index(), send);
    /// operation.send(&tx, 42).unwrap(); // never waits
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn select(&mut self) -> SelectedOperation<'a> {
        assert!(self.len() > 0, "Select::select: no operations to select from");
        self.run(Mode::Select, Wait::Forever)
            .expect("a select without a deadline selects")
    }

    /// Selects an operation that can complete now, if there is one.
    ///
    /// ```
    /// use fibra::chan::{unbounded, Select};
    ///
    /// let (tx, rx) = unbounded::<u8>();
    /// let mut select = Select::new();
    /// select.recv(&rx);
    /// assert!(select.try_select().is_err());
    /// tx.send(1).unwrap();
    /// let operation = select.try_select().unwrap();
    /// assert_eq!(operation.recv(&rx), Ok(1));
    /// ```
    pub fn try_select(&mut self) -> Result<SelectedOperation<'a>, TrySelectError> {
        self.run(Mode::Select, Wait::Never).ok_or(TrySelectError)
    }

    /// Like [`select`](Self::select), but gives up after `timeout`.
    ///
    /// ```
    /// use fibra::chan::{unbounded, Select};
    /// use std::time::Duration;
    ///
    /// let (_tx, rx) = unbounded::<u8>();
    /// let mut select = Select::new();
    /// select.recv(&rx);
    /// assert!(select.select_timeout(Duration::from_millis(5)).is_err());
    /// ```
    pub fn select_timeout(&mut self, timeout: Duration) -> Result<SelectedOperation<'a>, SelectTimeoutError> {
        match Instant::now().checked_add(timeout) {
            Some(deadline) => self.select_deadline(deadline),
            None => Ok(self.select()),
        }
    }

    /// Like [`select`](Self::select), but gives up at `deadline`.
    pub fn select_deadline(
        &mut self,
        deadline: Instant,
    ) -> Result<SelectedOperation<'a>, SelectTimeoutError> {
        self.run(Mode::Select, Wait::Until(deadline))
            .ok_or(SelectTimeoutError)
    }

    /// Waits until one operation can complete and returns its index,
    /// without completing it (so by the time the caller acts, another
    /// party may have taken the value or the room: act with a `try_`
    /// operation).
    ///
    /// # Panics
    ///
    /// If the select has no operations (it would wait for ever).
    ///
    /// ```
    /// use fibra::chan::{unbounded, Select};
    ///
    /// let (tx, rx) = unbounded();
    /// std::thread::spawn(move || tx.send(5).unwrap());
    /// let mut select = Select::new();
    /// let index = select.recv(&rx);
    /// assert_eq!(select.ready(), index);
    /// assert_eq!(rx.try_recv(), Ok(5)); // the value is still there
    /// ```
    pub fn ready(&mut self) -> usize {
        assert!(self.len() > 0, "Select::ready: no operations to wait for");
        self.run_ready(Wait::Forever)
            .expect("a ready without a deadline returns")
    }

    /// The index of an operation that can complete now, if there is one.
    pub fn try_ready(&mut self) -> Result<usize, TryReadyError> {
        self.run_ready(Wait::Never).ok_or(TryReadyError)
    }

    /// Like [`ready`](Self::ready), but gives up after `timeout`.
    pub fn ready_timeout(&mut self, timeout: Duration) -> Result<usize, ReadyTimeoutError> {
        match Instant::now().checked_add(timeout) {
            Some(deadline) => self.ready_deadline(deadline),
            None => Ok(self.ready()),
        }
    }

    /// Like [`ready`](Self::ready), but gives up at `deadline`.
    pub fn ready_deadline(&mut self, deadline: Instant) -> Result<usize, ReadyTimeoutError> {
        self.run_ready(Wait::Until(deadline)).ok_or(ReadyTimeoutError)
    }

    /// How many operations there are.
    fn len(&self) -> usize {
        self.operations.iter().flatten().count()
    }

    fn run_ready(&mut self, wait: Wait) -> Option<usize> {
        self.run_operations(Mode::Ready, wait).map(|(index, _)| index)
    }

    fn run(&mut self, mode: Mode, wait: Wait) -> Option<SelectedOperation<'a>> {
        let (index, held) = self.run_operations(mode, wait)?;
        Some(SelectedOperation {
            index,
            held: Some(held.expect("a selected operation holds its reservation")),
        })
    }

    /// Runs the select protocol over the operations in `mode`: the index
    /// of the one that completed, with what it holds (in `Mode::Select`).
    fn run_operations(&mut self, mode: Mode, wait: Wait) -> Option<(usize, Option<Held<'a>>)> {
        let mut indices = Vec::with_capacity(self.operations.len());
        let mut operations: Vec<&mut (dyn Operation<'a> + 'a)> = Vec::with_capacity(self.operations.len());
        for (index, operation) in self.operations.iter_mut().enumerate() {
            if let Some(operation) = operation {
                operation.set_mode(mode);
                indices.push(index);
                operations.push(&mut **operation);
            }
        }
        let order = if self.biased { Order::Biased } else { arms::fair() };
        let position = select::select(&mut operations, &Tasks, wait, order)?;
        Some((indices[position], operations[position].take_held()))
    }
}

impl Default for Select<'_> {
    fn default() -> Self {
        Select::new()
    }
}

impl fmt::Debug for Select<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Select")
            .field("operations", &self.len())
            .field("biased", &self.biased)
            .finish()
    }
}

/// An operation that [`Select`] selected and reserved: complete it with
/// [`recv`](Self::recv) or [`send`](Self::send) and the channel end whose
/// operation it is, which never waits.
///
/// Dropping it without completing it releases the reservation (a value it
/// received goes back to the channel, a receiver it was to send to waits
/// on) and then panics, as crossbeam-channel does: it is a bug in the
/// caller.
#[must_use = "a selected operation must be completed with recv or send"]
pub struct SelectedOperation<'a> {
    index: usize,
    /// `None` once completed.
    held: Option<Held<'a>>,
}

impl SelectedOperation<'_> {
    /// The index that [`Select::recv`] or [`Select::send`] returned for
    /// this operation.
    pub fn index(&self) -> usize {
        self.index
    }

    /// Completes a selected receive with `receiver`, the end that was
    /// added: the value, or `Err` if the channel was disconnected and
    /// empty.
    ///
    /// # Panics
    ///
    /// If `receiver` is not the one whose receive was selected.
    pub fn recv<T>(mut self, receiver: &Receiver<T>) -> Result<T, RecvError> {
        match (self.held.take(), &receiver.flavor) {
            (
                Some(Held::Channel {
                    reservation,
                    channel,
                    is_send: false,
                }),
                Flavor::Channel(typed),
            ) if channel.address() == address_of(&typed.state) => lock(&typed.state, &Tasks)
                .complete_recv(reservation)
                .ok_or(RecvError),
            (
                Some(Held::Tick { due, timer }),
                Flavor::Timer {
                    timer: typed,
                    deliver,
                },
            ) if std::ptr::eq(timer, &**typed) => Ok(deliver(due)),
            (held, _) => {
                self.held = held; // released by the drop below
                panic!("SelectedOperation::recv: not the receiver of the selected operation");
            }
        }
    }

    /// Completes a selected send with `sender`, the end that was added,
    /// and the value to send; `Err` gives the value back if every receiver
    /// is gone.
    ///
    /// # Panics
    ///
    /// If `sender` is not the one whose send was selected.
    pub fn send<T>(mut self, sender: &Sender<T>, value: T) -> Result<(), SendError<T>> {
        match self.held.take() {
            Some(Held::Channel {
                reservation,
                channel,
                is_send: true,
            }) if channel.address() == address_of(&sender.channel.state) => {
                let outcome = lock(&sender.channel.state, &Tasks).complete_send(reservation, value);
                outcome
                    .map(|receiver| unpark_any(&Tasks, receiver))
                    .map_err(SendError)
            }
            held => {
                self.held = held;
                panic!("SelectedOperation::send: not the sender of the selected operation");
            }
        }
    }
}

impl Drop for SelectedOperation<'_> {
    fn drop(&mut self) {
        let Some(held) = self.held.take() else { return };
        match held {
            Held::Channel {
                reservation, channel, ..
            } => channel.release(reservation),
            Held::Tick { due, timer } => timer.give_back(due),
        }
        if !std::thread::panicking() {
            panic!("dropped a SelectedOperation without completing it (with recv or send)");
        }
    }
}

impl fmt::Debug for SelectedOperation<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SelectedOperation")
            .field("index", &self.index)
            .finish()
    }
}

macro_rules! unit_error {
    ($(#[$doc:meta])* $name:ident, $message:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
        pub struct $name;

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str($message)
            }
        }

        impl std::error::Error for $name {}
    };
}

unit_error!(
    /// [`Select::try_select`] found no operation that could complete now.
    TrySelectError,
    "no operation of the select could complete without waiting"
);
unit_error!(
    /// [`Select::select_timeout`] (or `select_deadline`) ran out of time.
    SelectTimeoutError,
    "timed out waiting for an operation of the select"
);
unit_error!(
    /// [`Select::try_ready`] found no operation that could complete now.
    TryReadyError,
    "no operation of the select is ready"
);
unit_error!(
    /// [`Select::ready_timeout`] (or `ready_deadline`) ran out of time.
    ReadyTimeoutError,
    "timed out waiting for an operation of the select to be ready"
);

/// What a selected operation holds until it is completed.
enum Held<'a> {
    /// A reservation on a channel made by `bounded` or `unbounded`.
    Channel {
        reservation: Reservation<Waiter>,
        channel: &'a (dyn Reserving + 'a),
        is_send: bool,
    },
    /// A timer's delivery, taken.
    Tick { due: Instant, timer: &'a Timer },
}

/// A channel of some message type, as a selected operation names it.
trait Reserving {
    /// The channel's address (to check the end passed to complete it).
    fn address(&self) -> *const ();
    /// Releases a reservation that will not be completed.
    fn release(&self, reservation: Reservation<Waiter>);
}

impl<T> Reserving for Shared<T, Waiter> {
    fn address(&self) -> *const () {
        address_of(self)
    }

    fn release(&self, reservation: Reservation<Waiter>) {
        let woken = lock(self, &Tasks).release(reservation);
        unpark_any(&Tasks, woken);
    }
}

fn address_of<T>(shared: &Shared<T, Waiter>) -> *const () {
    (shared as *const Shared<T, Waiter>).cast()
}

/// One operation of a [`Select`]: a select arm (`select.rs`) that reserves
/// instead of completing (or, in `Mode::Ready`, only looks), and gives its
/// reservation away once selected.
trait Operation<'a>: Arm<Tasks> {
    fn set_mode(&mut self, mode: Mode);
    /// What the operation holds after it completed in `Mode::Select`.
    fn take_held(&mut self) -> Option<Held<'a>>;
}

/// The two channel operations, which differ only in their direction.
macro_rules! channel_operation {
    ($($operation:ident: $is_send:literal),*) => {$(
        impl<'a, T> Operation<'a> for $operation<'a, T, Tasks> {
            fn set_mode(&mut self, mode: Mode) {
                self.switch_to(mode);
            }

            fn take_held(&mut self) -> Option<Held<'a>> {
                let reservation = self.take_reservation()?;
                Some(Held::Channel {
                    reservation,
                    channel: self.shared(),
                    is_send: $is_send,
                })
            }
        }
    )*};
}

channel_operation!(ChannelRecv: false, ChannelSend: true);

/// A receive from a timer channel: ready once a delivery is due.
struct TimerRecv<'a> {
    timer: &'a Timer,
    mode: Mode,
    held: Option<Instant>,
    ready: bool,
}

impl<'a> TimerRecv<'a> {
    fn new(timer: &'a Timer) -> TimerRecv<'a> {
        TimerRecv {
            timer,
            mode: Mode::Select,
            held: None,
            ready: false,
        }
    }
}

impl Arm<Tasks> for TimerRecv<'_> {
    fn try_complete(&mut self, _parking: &Tasks) -> bool {
        let now = Instant::now();
        match self.mode {
            Mode::Ready => self.ready = self.timer.len(now) > 0,
            Mode::Select => self.held = self.timer.try_take(now),
        }
        self.completed()
    }

    fn register(&mut self, _selection: &Arc<Selection<Waiter>>, _index: usize, _parking: &Tasks) -> bool {
        self.timer.len(Instant::now()) == 0
    }

    fn unregister(&mut self, _parking: &Tasks) {}

    fn completed(&self) -> bool {
        self.ready || self.held.is_some()
    }

    fn ready_at(&self) -> Option<Instant> {
        self.timer.next_delivery()
    }
}

impl<'a> Operation<'a> for TimerRecv<'a> {
    fn set_mode(&mut self, mode: Mode) {
        self.mode = mode;
        self.ready = false;
    }

    fn take_held(&mut self) -> Option<Held<'a>> {
        let due = self.held.take()?;
        Some(Held::Tick {
            due,
            timer: self.timer,
        })
    }
}

/// A receive from [`never`](fn@super::never): never selected.
struct NeverRecv(NeverOp);

impl Arm<Tasks> for NeverRecv {
    fn try_complete(&mut self, parking: &Tasks) -> bool {
        self.0.try_complete(parking)
    }

    fn register(&mut self, selection: &Arc<Selection<Waiter>>, index: usize, parking: &Tasks) -> bool {
        self.0.register(selection, index, parking)
    }

    fn unregister(&mut self, parking: &Tasks) {
        Arm::<Tasks>::unregister(&mut self.0, parking);
    }

    fn completed(&self) -> bool {
        Arm::<Tasks>::completed(&self.0)
    }
}

impl<'a> Operation<'a> for NeverRecv {
    fn set_mode(&mut self, _mode: Mode) {}

    fn take_held(&mut self) -> Option<Held<'a>> {
        None
    }
}
