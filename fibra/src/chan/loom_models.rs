//! loom models of the channel's core: the real state machine (`state.rs`)
//! and blocking protocol (`blocking.rs`) under a loom `Mutex`, with fibra's
//! `Parker` (loom-modelled) standing in for a task's waiter. They check that
//! no interleaving loses a wake-up (loom reports a deadlock if every thread
//! is parked), loses or duplicates a value, or lets a rendezvous send finish
//! early. The harness here (threads as waiters, a timer) also serves the
//! select and timeout models (`loom_select.rs`).

use super::blocking::{self, Parking, Shared};
use super::error::{RecvError, RecvTimeoutError, TryRecvError};
use super::state::State;
use crate::loom::atomic::{AtomicBool, Ordering};
use crate::loom::{thread, Arc, Mutex};
use crate::park::Parker;
use std::time::Instant;

/// The parkers of a model's threads, and one timer that fires once.
pub(super) struct World {
    parkers: Vec<Parker>,
    timer_fired: AtomicBool,
}

impl World {
    pub(super) fn new(threads: usize) -> Arc<World> {
        Arc::new(World {
            parkers: (0..threads).map(|_| Parker::new()).collect(),
            timer_fired: AtomicBool::new(false),
        })
    }

    /// Fires the timer: every deadline has passed from now on, and thread
    /// `sleeper` is woken to notice. Called from a thread of its own, so
    /// loom tries the timeout at every point of the other threads.
    pub(super) fn fire_timer(&self, sleeper: usize) {
        // Release: pairs with the Acquire load in `expired`.
        self.timer_fired.store(true, Ordering::Release);
        self.parkers[sleeper].unpark();
    }
}

/// Parks the thread numbered `me`; waiters are thread numbers.
pub(super) struct Threads {
    pub(super) me: usize,
    world: Arc<World>,
}

impl Threads {
    pub(super) fn new(me: usize, world: &Arc<World>) -> Threads {
        Threads {
            me,
            world: world.clone(),
        }
    }
}

impl Parking for Threads {
    type Waiter = usize;

    fn current(&self) -> usize {
        self.me
    }

    /// Deadlines are the model's one timer: a timed park returns when the
    /// timer thread fires (or when unparked).
    fn park_until(&self, _deadline: Option<Instant>) {
        self.world.parkers[self.me].park();
    }

    fn expired(&self, _deadline: Instant) -> bool {
        // Acquire: pairs with the Release store in `fire_timer`.
        self.world.timer_fired.load(Ordering::Acquire)
    }

    fn unpark(&self, waiter: usize) {
        self.world.parkers[waiter].unpark();
    }
}

/// A channel with one sender and one receiver.
pub(super) fn new_channel(capacity: Option<usize>) -> Arc<Shared<u32, usize>> {
    Arc::new(Mutex::new(State::new(capacity)))
}

/// A channel, and the world of `threads` threads that use it.
fn channel(capacity: Option<usize>, threads: usize) -> (Arc<Shared<u32, usize>>, Arc<World>) {
    (new_channel(capacity), World::new(threads))
}

fn parking(me: usize, world: &Arc<World>) -> Threads {
    Threads::new(me, world)
}

/// A blocking send without deadline; `Err` gives the value back.
pub(super) fn send(shared: &Shared<u32, usize>, me: &Threads, value: u32) -> Result<(), u32> {
    let mut slot = Some(value);
    blocking::send(shared, me, &mut slot, None).map_err(|_| slot.take().expect("given back"))
}

/// A blocking receive without deadline.
pub(super) fn recv(shared: &Shared<u32, usize>, me: &Threads) -> Result<u32, RecvError> {
    recv_until(shared, me, None).map_err(|err| {
        assert_eq!(err, RecvTimeoutError::Disconnected, "no deadline, no timeout");
        RecvError
    })
}

/// A blocking receive, with the model's timer as its deadline if given.
pub(super) fn recv_until(
    shared: &Shared<u32, usize>,
    me: &Threads,
    deadline: Option<Instant>,
) -> Result<u32, RecvTimeoutError> {
    let mut out = None;
    blocking::recv(shared, me, deadline, &mut out)?;
    Ok(out.expect("received"))
}

/// A receive that does not wait.
pub(super) fn try_recv(shared: &Shared<u32, usize>, me: &Threads) -> Result<u32, TryRecvError> {
    let mut out = None;
    blocking::try_recv(shared, me, &mut out)?;
    Ok(out.expect("received"))
}

#[test]
fn rendezvous_hands_over_then_disconnects() {
    let explored = crate::loom::model_counting(|| {
        let (shared, world) = channel(Some(0), 2);
        let sender = {
            let (shared, me) = (shared.clone(), parking(1, &world));
            thread::spawn(move || {
                let sent = send(&shared, &me, 7);
                blocking::drop_sender(&shared, &me);
                sent
            })
        };
        let me = parking(0, &world);
        assert_eq!(recv(&shared, &me), Ok(7));
        assert_eq!(recv(&shared, &me), Err(RecvError));
        assert_eq!(sender.join().unwrap(), Ok(()));
    });
    assert!(explored > 1, "loom explored {explored} interleavings");
}

#[test]
fn rendezvous_send_completes_only_once_a_receiver_has_the_value() {
    // Thread 1 receives while thread 0 sends and then looks for the value
    // itself: whichever came first, the send returns only once thread 1
    // has the value, so thread 0 never finds it.
    let explored = crate::loom::model_counting(|| {
        let (shared, world) = channel(Some(0), 2);
        blocking::add_receiver(&shared);
        let receiver = {
            let (shared, me) = (shared.clone(), parking(1, &world));
            thread::spawn(move || recv(&shared, &me))
        };
        let me = parking(0, &world);
        assert_eq!(send(&shared, &me, 7), Ok(()));
        assert!(
            try_recv(&shared, &me).is_err(),
            "the send returned before a receiver had the value"
        );
        assert_eq!(receiver.join().unwrap(), Ok(7));
    });
    assert!(explored > 1, "loom explored {explored} interleavings");
}

#[test]
fn full_channel_blocks_senders_and_keeps_every_value() {
    let explored = crate::loom::model_counting(|| {
        let (shared, world) = channel(Some(1), 3);
        blocking::add_sender(&shared);
        let senders: Vec<_> = [1, 2]
            .into_iter()
            .map(|me| {
                let (shared, me) = (shared.clone(), parking(me, &world));
                thread::spawn(move || {
                    send(&shared, &me, me.me as u32 * 10).unwrap();
                    blocking::drop_sender(&shared, &me);
                })
            })
            .collect();
        let me = parking(0, &world);
        let mut got = Vec::new();
        while let Ok(value) = recv(&shared, &me) {
            got.push(value);
        }
        senders.into_iter().for_each(|s| s.join().unwrap());
        got.sort_unstable();
        assert_eq!(got, [10, 20]);
    });
    assert!(explored > 1, "loom explored {explored} interleavings");
}

#[test]
fn two_receivers_share_the_values_then_both_see_disconnection() {
    let explored = crate::loom::model_counting(|| {
        let (shared, world) = channel(Some(0), 3);
        blocking::add_receiver(&shared);
        let receivers: Vec<_> = [1, 2]
            .into_iter()
            .map(|me| {
                let (shared, me) = (shared.clone(), parking(me, &world));
                thread::spawn(move || {
                    let mut got = 0;
                    while recv(&shared, &me).is_ok() {
                        got += 1;
                    }
                    got
                })
            })
            .collect();
        let me = parking(0, &world);
        send(&shared, &me, 1).unwrap();
        send(&shared, &me, 2).unwrap();
        blocking::drop_sender(&shared, &me);
        let total: u32 = receivers.into_iter().map(|r| r.join().unwrap()).sum();
        assert_eq!(total, 2, "each value received exactly once");
    });
    assert!(explored > 1, "loom explored {explored} interleavings");
}

#[test]
fn blocked_sender_gets_its_value_back_when_the_receiver_goes() {
    let explored = crate::loom::model_counting(|| {
        let (shared, world) = channel(Some(0), 2);
        let sender = {
            let (shared, me) = (shared.clone(), parking(1, &world));
            thread::spawn(move || send(&shared, &me, 5))
        };
        blocking::drop_receiver(&shared, &parking(0, &world));
        assert_eq!(sender.join().unwrap(), Err(5));
    });
    assert!(explored > 1, "loom explored {explored} interleavings");
}

#[test]
fn value_moved_in_from_a_blocked_sender_wakes_a_waiting_receiver() {
    // Capacity 1, two receivers that may both be waiting: the receive that
    // moves the blocked sender's value into the buffer must wake the other.
    let explored = crate::loom::model_counting(|| {
        let (shared, world) = channel(Some(1), 3);
        blocking::add_receiver(&shared);
        let receivers: Vec<_> = [1, 2]
            .into_iter()
            .map(|me| {
                let (shared, me) = (shared.clone(), parking(me, &world));
                thread::spawn(move || recv(&shared, &me).unwrap())
            })
            .collect();
        let me = parking(0, &world);
        send(&shared, &me, 1).unwrap();
        send(&shared, &me, 2).unwrap();
        let total: u32 = receivers.into_iter().map(|r| r.join().unwrap()).sum();
        assert_eq!(total, 3);
    });
    assert!(explored > 1, "loom explored {explored} interleavings");
}
