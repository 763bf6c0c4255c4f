//! loom models of select (`select.rs`, `selection.rs`) and of timed waits,
//! on the real state machine and protocol, with the harness of
//! `loom_models.rs`. A timeout is a timer thread that may fire at any point
//! of the others: loom tries each. They check that a select completes
//! exactly one arm, loses no value and no wake-up, never strands a value in
//! a rendezvous channel for an arm it did not pick, meets another select on
//! a rendezvous channel, and that a timeout racing a transfer either
//! completes both sides or neither.

use super::blocking::{self, Shared};
use super::error::{RecvError, RecvTimeoutError, SendTimeoutError};
use super::loom_models::{new_channel, recv, recv_until, send, try_recv, Threads, World};
use super::select::{self, Arm, Order, RecvOp, SendOp, Wait, Xorshift};
use crate::loom::atomic::{AtomicBool, Ordering};
use crate::loom::{thread, Arc};
use std::time::Instant;

type Channel = Arc<Shared<u32, usize>>;

/// Runs a select over `arms` for thread `me`.
fn select_on(arms: &mut [&mut dyn Arm<Threads>], me: &Threads, wait: Wait) -> Option<usize> {
    select::select(arms, me, wait, Order::Fair(Xorshift::new(me.me as u32)))
}

/// A thread that sends `value` into `channel` (a plain blocking send) and
/// then raises `done`.
fn spawn_sender(
    channel: &Channel,
    world: &Arc<World>,
    me: usize,
    value: u32,
    done: &Arc<AtomicBool>,
) -> thread::JoinHandle<Result<(), u32>> {
    let (channel, me, done) = (channel.clone(), Threads::new(me, world), done.clone());
    thread::spawn(move || {
        let sent = send(&channel, &me, value);
        // Release: pairs with the Acquire load of the receiving thread.
        done.store(sent.is_ok(), Ordering::Release);
        sent
    })
}

/// Thread 0 selects between receives on `a` and `b` while threads 1 and 2
/// send 1 into `a` and 2 into `b`; then it receives the other value plainly.
fn select_between_two_senders(capacity_a: Option<usize>, capacity_b: Option<usize>) {
    let explored = crate::loom::model_counting(move || {
        let world = World::new(3);
        let channels = [new_channel(capacity_a), new_channel(capacity_b)];
        let capacities = [capacity_a, capacity_b];
        let done = [Arc::new(AtomicBool::new(false)), Arc::new(AtomicBool::new(false))];
        let senders: Vec<_> = (0..2)
            .map(|i| spawn_sender(&channels[i], &world, i + 1, i as u32 + 1, &done[i]))
            .collect();
        let me = Threads::new(0, &world);
        let (mut a, mut b) = (RecvOp::new(&*channels[0]), RecvOp::new(&*channels[1]));
        let chosen = select_on(&mut [&mut a, &mut b], &me, Wait::Forever).unwrap();
        let results = [a.into_result(), b.into_result()];
        let other = 1 - chosen;
        assert!(results[other].is_none(), "exactly one arm completes");
        assert_eq!(results[chosen], Some(Ok(chosen as u32 + 1)));
        if capacities[other] == Some(0) {
            // Acquire: pairs with the sender's Release store.
            assert!(
                !done[other].load(Ordering::Acquire),
                "a rendezvous send completed with nobody receiving its value"
            );
            assert_eq!(
                crate::loom::lock(&channels[other]).len(),
                0,
                "a value was stranded"
            );
        }
        assert_eq!(recv(&channels[other], &me), Ok(other as u32 + 1));
        senders
            .into_iter()
            .for_each(|s| assert_eq!(s.join().unwrap(), Ok(())));
    });
    assert!(explored > 1, "loom explored {explored} interleavings");
}

#[test]
fn select_receives_from_exactly_one_of_two_rendezvous_channels() {
    select_between_two_senders(Some(0), Some(0));
}

#[test]
fn select_that_picks_a_buffered_arm_strands_nothing_in_a_rendezvous_channel() {
    select_between_two_senders(Some(0), None);
}

#[test]
fn select_receives_from_exactly_one_of_two_buffered_channels() {
    select_between_two_senders(Some(1), Some(1));
}

#[test]
fn select_send_meets_select_receive_on_a_rendezvous_channel() {
    // Each select also waits on a channel nobody uses, so each could block.
    let explored = crate::loom::model_counting(|| {
        let world = World::new(2);
        let (shared, idle_1, idle_2) = (new_channel(Some(0)), new_channel(Some(0)), new_channel(Some(0)));
        let sender = {
            let (shared, idle, me) = (shared.clone(), idle_1.clone(), Threads::new(1, &world));
            thread::spawn(move || {
                let (mut give, mut take) = (SendOp::new(&*shared, 5), RecvOp::new(&*idle));
                let chosen = select_on(&mut [&mut give, &mut take], &me, Wait::Forever);
                (chosen, give.into_result())
            })
        };
        let me = Threads::new(0, &world);
        let (mut take, mut idle) = (RecvOp::new(&*shared), RecvOp::new(&*idle_2));
        assert_eq!(
            select_on(&mut [&mut take, &mut idle], &me, Wait::Forever),
            Some(0)
        );
        assert_eq!(take.into_result(), Some(Ok(5)));
        assert_eq!(sender.join().unwrap(), (Some(0), Some(Ok(()))));
    });
    assert!(explored > 1, "loom explored {explored} interleavings");
}

#[test]
fn rendezvous_send_hands_its_value_to_exactly_one_arm_of_a_select_on_one_channel() {
    // Thread 0 selects over two receives on one rendezvous channel while
    // thread 1 sends once and then receives, also from that channel:
    // exactly one arm gets the value, and the sender never sees it again.
    let explored = crate::loom::model_counting(|| {
        let world = World::new(2);
        let shared = new_channel(Some(0));
        blocking::add_receiver(&shared);
        let sender = {
            let (shared, me) = (shared.clone(), Threads::new(1, &world));
            thread::spawn(move || {
                assert_eq!(send(&shared, &me, 3), Ok(()));
                assert!(try_recv(&shared, &me).is_err(), "the select's value");
            })
        };
        let me = Threads::new(0, &world);
        let (mut a, mut b) = (RecvOp::new(&*shared), RecvOp::new(&*shared));
        let chosen = select_on(&mut [&mut a, &mut b], &me, Wait::Forever).unwrap();
        let results = [a.into_result(), b.into_result()];
        assert_eq!(results[chosen], Some(Ok(3)));
        assert!(results[1 - chosen].is_none(), "exactly one arm completes");
        sender.join().unwrap();
    });
    assert!(explored > 1, "loom explored {explored} interleavings");
}

#[test]
fn select_is_woken_by_disconnection() {
    // Thread 1 drops the only sender of `closing` while thread 0 selects
    // over it and a channel that never gets a value.
    let explored = crate::loom::model_counting(|| {
        let world = World::new(2);
        let (closing, idle) = (new_channel(Some(0)), new_channel(Some(0)));
        let dropper = {
            let (closing, me) = (closing.clone(), Threads::new(1, &world));
            thread::spawn(move || blocking::drop_sender(&closing, &me))
        };
        let me = Threads::new(0, &world);
        let (mut a, mut b) = (RecvOp::new(&*closing), RecvOp::new(&*idle));
        assert_eq!(select_on(&mut [&mut a, &mut b], &me, Wait::Forever), Some(0));
        assert_eq!(a.into_result(), Some(Err(RecvError)));
        dropper.join().unwrap();
    });
    assert!(explored > 1, "loom explored {explored} interleavings");
}

/// A thread that fires the model's timer for thread `sleeper`.
fn spawn_timer(world: &Arc<World>, sleeper: usize) -> thread::JoinHandle<()> {
    let world = world.clone();
    thread::spawn(move || world.fire_timer(sleeper))
}

/// Thread 0 receives from a rendezvous channel with a deadline, by
/// `receive` (`None`: timed out), while thread 1 sends 3 into it and the
/// timer fires; after a timeout thread 0 drops its receiver. Either the
/// value was received and the send succeeded, or neither.
fn timed_receive_races_a_send(receive: fn(&Shared<u32, usize>, &Threads) -> Option<u32>) {
    let explored = crate::loom::model_counting(move || {
        let world = World::new(2);
        let shared = new_channel(Some(0));
        let sender = spawn_sender(&shared, &world, 1, 3, &Arc::new(AtomicBool::new(false)));
        let timer = spawn_timer(&world, 0);
        let me = Threads::new(0, &world);
        let got = receive(&shared, &me);
        if got.is_none() {
            blocking::drop_receiver(&shared, &me); // the sender gets its value back
        }
        let sent = sender.join().unwrap();
        timer.join().unwrap();
        match got {
            Some(value) => assert_eq!((value, sent), (3, Ok(()))),
            None => assert_eq!(sent, Err(3), "a timed-out receive took nothing"),
        }
    });
    assert!(explored > 1, "loom explored {explored} interleavings");
}

/// Thread 0 sends 4 into a rendezvous channel with a deadline, by `send`
/// (false: timed out, the value came back), while thread 1 receives and
/// the timer fires; after a timeout thread 0 drops its sender. Either the
/// value was sent and received, or neither.
fn timed_send_races_a_receive(send: fn(&Shared<u32, usize>, &Threads, u32) -> bool) {
    let explored = crate::loom::model_counting(move || {
        let world = World::new(2);
        let shared = new_channel(Some(0));
        let receiver = {
            let (shared, me) = (shared.clone(), Threads::new(1, &world));
            thread::spawn(move || recv(&shared, &me))
        };
        let timer = spawn_timer(&world, 0);
        let me = Threads::new(0, &world);
        let sent = send(&shared, &me, 4);
        if !sent {
            blocking::drop_sender(&shared, &me); // the receiver sees disconnection
        }
        let got = receiver.join().unwrap();
        timer.join().unwrap();
        assert_eq!(got, if sent { Ok(4) } else { Err(RecvError) });
    });
    assert!(explored > 1, "loom explored {explored} interleavings");
}

#[test]
fn receive_timeout_races_a_rendezvous_send() {
    timed_receive_races_a_send(|shared, me| match recv_until(shared, me, Some(Instant::now())) {
        Ok(value) => Some(value),
        Err(err) => {
            assert_eq!(err, RecvTimeoutError::Timeout);
            None
        }
    });
}

#[test]
fn send_timeout_races_a_rendezvous_receive() {
    timed_send_races_a_receive(|shared, me, value| {
        let mut slot = Some(value);
        match blocking::send(shared, me, &mut slot, Some(Instant::now())) {
            Ok(()) => true,
            Err(err) => {
                assert_eq!(err, SendTimeoutError::Timeout(()));
                assert_eq!(slot, Some(value), "the value comes back");
                false
            }
        }
    });
}

#[test]
fn select_timeout_races_a_rendezvous_send() {
    timed_receive_races_a_send(|shared, me| {
        let mut take = RecvOp::new(shared);
        let chosen = select_on(&mut [&mut take], me, Wait::Until(Instant::now()));
        let got = take.into_result();
        assert_eq!(chosen.is_some(), got.is_some());
        got.map(|value| value.unwrap())
    });
}

#[test]
fn select_send_timeout_races_a_rendezvous_receive() {
    timed_send_races_a_receive(|shared, me, value| {
        let mut give = SendOp::new(shared, value);
        let chosen = select_on(&mut [&mut give], me, Wait::Until(Instant::now()));
        let sent = give.into_result();
        assert_eq!(chosen.is_some(), sent.is_some());
        assert!(
            !matches!(sent, Some(Err(_))),
            "the receiver never disconnects here"
        );
        sent.is_some()
    });
}
