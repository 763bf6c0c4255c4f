//! loom models of the dynamic select's reservations and watchers
//! (`reserving.rs`, `state/reserve.rs`): its operations run through the real
//! select protocol (`select.rs`) with the harness of `loom_models.rs`.
//! They check that a selected send keeps its promise to a receiver whose
//! deadline passes meanwhile, that a waiting send is woken when room
//! appears (its watcher), that `ready` sees a value arrive, that a released
//! promise lets the receiver take a later value, and that a waiting receive
//! is handed a value it then holds.

use super::blocking::{self, lock, unpark_any, Shared};
use super::error::RecvTimeoutError;
use super::loom_models::{new_channel, recv, recv_until, send, try_recv, Threads, World};
use super::reserving::{ChannelRecv, ChannelSend, Mode};
use super::select::{self, Arm, Order, Wait};
use crate::loom::{thread, Arc};
use std::time::Instant;

/// Runs one dynamic operation through the select protocol until it
/// completes (there is no deadline).
fn select_one(operation: &mut dyn Arm<Threads>, me: &Threads) {
    let chosen = select::select(&mut [operation], me, Wait::Forever, Order::Biased);
    assert_eq!(chosen, Some(0));
}

/// Selects a send into `shared` and completes it with `value`.
fn selected_send(shared: &Shared<u32, usize>, me: &Threads, value: u32) -> Result<(), u32> {
    let mut operation = ChannelSend::<u32, Threads>::new(shared, Mode::Select);
    select_one(&mut operation, me);
    let reservation = operation.take_reservation().expect("selected: reserved");
    let outcome = lock(shared, me).complete_send(reservation, value);
    outcome.map(|receiver| unpark_any(me, receiver))
}

#[test]
fn a_selected_send_keeps_its_promise_to_a_receiver_whose_deadline_passes() {
    // Thread 0 receives with a deadline (the timer thread fires it at any
    // point); thread 1 selects a send. Either the send claimed thread 0
    // (then thread 0 waits past its deadline and gets the value), or thread
    // 0 timed out and dropped its receiver first (the send fails).
    let explored = crate::loom::model_counting(|| {
        let world = World::new(2);
        let shared = new_channel(Some(0));
        let sender = {
            let (shared, me) = (shared.clone(), Threads::new(1, &world));
            thread::spawn(move || selected_send(&shared, &me, 3))
        };
        let timer = {
            let world = world.clone();
            thread::spawn(move || world.fire_timer(0))
        };
        let me = Threads::new(0, &world);
        let got = recv_until(&shared, &me, Some(Instant::now()));
        if got.is_err() {
            blocking::drop_receiver(&shared, &me);
        }
        let sent = sender.join().unwrap();
        timer.join().unwrap();
        match got {
            Ok(value) => assert_eq!((value, sent), (3, Ok(()))),
            Err(error) => assert_eq!((error, sent), (RecvTimeoutError::Timeout, Err(3))),
        }
    });
    assert!(explored > 1, "loom explored {explored} interleavings");
}

#[test]
fn a_waiting_selected_send_is_woken_when_room_appears() {
    // Capacity 1, full: thread 1's selected send must wait (watching) until
    // thread 0 receives the first value; no interleaving loses that wake-up.
    let explored = crate::loom::model_counting(|| {
        let world = World::new(2);
        let shared = new_channel(Some(1));
        let me = Threads::new(0, &world);
        assert_eq!(send(&shared, &me, 1), Ok(()));
        let sender = {
            let (shared, me) = (shared.clone(), Threads::new(1, &world));
            thread::spawn(move || selected_send(&shared, &me, 2))
        };
        assert_eq!(recv(&shared, &me), Ok(1));
        // Only that receive may wake it: this thread waits for nothing else.
        assert_eq!(sender.join().unwrap(), Ok(()));
        assert_eq!(try_recv(&shared, &me), Ok(2));
    });
    assert!(explored > 1, "loom explored {explored} interleavings");
}

#[test]
fn ready_sees_a_value_arrive_and_leaves_it() {
    let explored = crate::loom::model_counting(|| {
        let world = World::new(2);
        let shared = new_channel(None);
        let sender = {
            let (shared, me) = (shared.clone(), Threads::new(1, &world));
            thread::spawn(move || send(&shared, &me, 5))
        };
        let me = Threads::new(0, &world);
        let mut operation = ChannelRecv::<u32, Threads>::new(&shared, Mode::Ready);
        select_one(&mut operation, &me);
        assert!(operation.take_reservation().is_none(), "ready reserves nothing");
        assert_eq!(try_recv(&shared, &me), Ok(5), "the value is still there");
        assert_eq!(sender.join().unwrap(), Ok(()));
    });
    assert!(explored > 1, "loom explored {explored} interleavings");
}

#[test]
fn a_released_promise_lets_the_receiver_take_a_later_value() {
    // Thread 0 selects a send into a rendezvous channel (it can only claim
    // thread 1's receive), releases it, then sends 8 plainly.
    let explored = crate::loom::model_counting(|| {
        let world = World::new(2);
        let shared = new_channel(Some(0));
        let receiver = {
            let (shared, me) = (shared.clone(), Threads::new(1, &world));
            thread::spawn(move || recv(&shared, &me))
        };
        let me = Threads::new(0, &world);
        let mut operation = ChannelSend::<u32, Threads>::new(&shared, Mode::Select);
        select_one(&mut operation, &me);
        let reservation = operation.take_reservation().expect("selected: reserved");
        let woken = lock(&shared, &me).release(reservation);
        unpark_any(&me, woken);
        assert_eq!(send(&shared, &me, 8), Ok(()));
        assert_eq!(receiver.join().unwrap(), Ok(8));
    });
    assert!(explored > 1, "loom explored {explored} interleavings");
}

#[test]
fn a_waiting_selected_receive_holds_the_value_handed_to_it() {
    let explored = crate::loom::model_counting(|| {
        let world = World::new(2);
        let shared: Arc<Shared<u32, usize>> = new_channel(Some(0));
        let sender = {
            let (shared, me) = (shared.clone(), Threads::new(1, &world));
            thread::spawn(move || send(&shared, &me, 4))
        };
        let me = Threads::new(0, &world);
        let mut operation = ChannelRecv::<u32, Threads>::new(&shared, Mode::Select);
        select_one(&mut operation, &me);
        let reservation = operation.take_reservation().expect("selected: reserved");
        assert_eq!(lock(&shared, &me).complete_recv(reservation), Some(4));
        assert_eq!(sender.join().unwrap(), Ok(()));
    });
    assert!(explored > 1, "loom explored {explored} interleavings");
}
