//! loom models of the channel's core: the real state machine (`state.rs`)
//! and blocking protocol (`blocking.rs`) under a loom `Mutex`, with fibra's
//! `Parker` (loom-modelled) standing in for a task's waiter. They check that
//! no interleaving loses a wake-up (loom reports a deadlock if every thread
//! is parked), loses or duplicates a value, or lets a rendezvous send finish
//! early.

use super::blocking::{self, Parking, Shared};
use super::error::RecvError;
use super::state::State;
use crate::loom::{thread, Arc, Mutex};
use crate::park::Parker;

/// Parks the thread numbered `me`; waiters are thread numbers.
struct Threads {
    me: usize,
    parkers: Arc<Vec<Parker>>,
}

impl Parking for Threads {
    type Waiter = usize;

    fn current(&self) -> usize {
        self.me
    }

    fn park(&self) {
        self.parkers[self.me].park();
    }

    fn unpark(&self, waiter: usize) {
        self.parkers[waiter].unpark();
    }
}

/// A channel with one sender and one receiver, and parkers for `threads`.
fn channel(capacity: Option<usize>, threads: usize) -> (Arc<Shared<u32, usize>>, Arc<Vec<Parker>>) {
    let parkers = Arc::new((0..threads).map(|_| Parker::new()).collect());
    (Arc::new(Mutex::new(State::new(capacity))), parkers)
}

fn parking(me: usize, parkers: &Arc<Vec<Parker>>) -> Threads {
    Threads {
        me,
        parkers: parkers.clone(),
    }
}

#[test]
fn rendezvous_hands_over_then_disconnects() {
    let explored = crate::loom::model_counting(|| {
        let (shared, parkers) = channel(Some(0), 2);
        let sender = {
            let (shared, me) = (shared.clone(), parking(1, &parkers));
            thread::spawn(move || {
                let sent = blocking::send(&shared, &me, 7);
                blocking::drop_sender(&shared, &me);
                sent
            })
        };
        let me = parking(0, &parkers);
        assert_eq!(blocking::recv(&shared, &me), Ok(7));
        assert_eq!(blocking::recv(&shared, &me), Err(RecvError));
        assert_eq!(sender.join().unwrap(), Ok(()));
    });
    assert!(explored > 1, "loom explored {explored} interleavings");
}

#[test]
fn full_channel_blocks_senders_and_keeps_every_value() {
    let explored = crate::loom::model_counting(|| {
        let (shared, parkers) = channel(Some(1), 3);
        blocking::add_sender(&shared);
        let senders: Vec<_> = [1, 2]
            .into_iter()
            .map(|me| {
                let (shared, me) = (shared.clone(), parking(me, &parkers));
                thread::spawn(move || {
                    blocking::send(&shared, &me, me.me as u32 * 10).unwrap();
                    blocking::drop_sender(&shared, &me);
                })
            })
            .collect();
        let me = parking(0, &parkers);
        let mut got = Vec::new();
        while let Ok(value) = blocking::recv(&shared, &me) {
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
        let (shared, parkers) = channel(Some(0), 3);
        blocking::add_receiver(&shared);
        let receivers: Vec<_> = [1, 2]
            .into_iter()
            .map(|me| {
                let (shared, me) = (shared.clone(), parking(me, &parkers));
                thread::spawn(move || {
                    let mut got = 0;
                    while blocking::recv(&shared, &me).is_ok() {
                        got += 1;
                    }
                    got
                })
            })
            .collect();
        let me = parking(0, &parkers);
        blocking::send(&shared, &me, 1).unwrap();
        blocking::send(&shared, &me, 2).unwrap();
        blocking::drop_sender(&shared, &me);
        let total: u32 = receivers.into_iter().map(|r| r.join().unwrap()).sum();
        assert_eq!(total, 2, "each value received exactly once");
    });
    assert!(explored > 1, "loom explored {explored} interleavings");
}

#[test]
fn blocked_sender_gets_its_value_back_when_the_receiver_goes() {
    let explored = crate::loom::model_counting(|| {
        let (shared, parkers) = channel(Some(0), 2);
        let sender = {
            let (shared, me) = (shared.clone(), parking(1, &parkers));
            thread::spawn(move || blocking::send(&shared, &me, 5))
        };
        blocking::drop_receiver(&shared, &parking(0, &parkers));
        assert_eq!(sender.join().unwrap(), Err(5));
    });
    assert!(explored > 1, "loom explored {explored} interleavings");
}

#[test]
fn value_moved_in_from_a_blocked_sender_wakes_a_waiting_receiver() {
    // Capacity 1, two receivers that may both be waiting: the receive that
    // moves the blocked sender's value into the buffer must wake the other.
    let explored = crate::loom::model_counting(|| {
        let (shared, parkers) = channel(Some(1), 3);
        blocking::add_receiver(&shared);
        let receivers: Vec<_> = [1, 2]
            .into_iter()
            .map(|me| {
                let (shared, me) = (shared.clone(), parking(me, &parkers));
                thread::spawn(move || blocking::recv(&shared, &me).unwrap())
            })
            .collect();
        let me = parking(0, &parkers);
        blocking::send(&shared, &me, 1).unwrap();
        blocking::send(&shared, &me, 2).unwrap();
        let total: u32 = receivers.into_iter().map(|r| r.join().unwrap()).sum();
        assert_eq!(total, 3);
    });
    assert!(explored > 1, "loom explored {explored} interleavings");
}
