//! Channel unit tests: the state machine on its own (plain numbers as
//! waiters) and the public API between plain threads, all of which run
//! under Miri (smaller sizes there); then 10,000 tasks blocked at once in
//! `recv` and in a rendezvous `send` (not under Miri), which look into the
//! state to know when every task is blocked.

use super::state::{SendStart, State};
use super::*;
use crate::park::Waiter;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;

/// Stress sizes: smaller under Miri, which is slow.
fn scaled(normal: usize, miri: usize) -> usize {
    if cfg!(miri) {
        miri
    } else {
        normal
    }
}

#[test]
fn state_rendezvous_sender_blocks_until_a_receiver_takes_its_value() {
    let mut state = State::<&str, u32>::new(Some(0));
    assert!(state.try_send("no one waits").unwrap_err().is_full());
    let SendStart::Blocked(ticket) = state.start_send(&mut Some("hello"), 7) else {
        panic!("a rendezvous send with no receiver must block");
    };
    assert_eq!(state.poll_send(ticket), None, "not taken yet");
    let (value, sender) = state.try_recv().unwrap();
    assert_eq!(value, "hello");
    assert_eq!(sender, Some(7), "the receive wakes its sender");
    assert_eq!(state.poll_send(ticket), Some(Ok(())));
}

#[test]
fn state_rendezvous_try_send_succeeds_only_for_a_waiting_receiver() {
    let mut state = State::<u8, u32>::new(Some(0));
    assert_eq!(state.try_recv().unwrap_err(), TryRecvError::Empty);
    let ticket = state.register_receiver(None, 3);
    assert_eq!(
        state.try_send(1).unwrap(),
        Some(3),
        "the waiting receiver is woken"
    );
    assert!(
        state.try_send(2).unwrap_err().is_full(),
        "one value per waiting receiver"
    );
    assert_eq!(
        state.try_recv().unwrap_err(),
        TryRecvError::Empty,
        "the value is the waiting receiver's: nobody else gets it"
    );
    let (value, sender) = state.recv_as(Some(ticket)).unwrap();
    state.leave(Some(ticket));
    assert_eq!((value, sender), (1, None));
    assert!(state.try_send(3).unwrap_err().is_full());
}

#[test]
fn state_full_buffer_refills_from_blocked_senders_in_order() {
    let mut state = State::<u32, u32>::new(Some(2));
    state.try_send(1).unwrap();
    state.try_send(2).unwrap();
    assert!(state.try_send(99).unwrap_err().is_full());
    let SendStart::Blocked(a) = state.start_send(&mut Some(3), 30) else {
        panic!("full")
    };
    let SendStart::Blocked(b) = state.start_send(&mut Some(4), 40) else {
        panic!("full")
    };
    let (value, sender) = state.try_recv().unwrap();
    assert_eq!((value, sender), (1, Some(30)), "one receive wakes one sender");
    assert_eq!(state.poll_send(a), Some(Ok(())), "its value is in the buffer");
    assert_eq!(state.poll_send(b), None);
    assert_eq!(state.len(), 2);
    let order: Vec<u32> = (0..3).map(|_| state.try_recv().unwrap().0).collect();
    assert_eq!(order, [2, 3, 4]);
    assert_eq!(state.poll_send(b), Some(Ok(())));
}

#[test]
fn state_a_lone_receiver_costs_one_entry_of_memory() {
    // A task blocked on its own channel is the blocked-tasks benchmark's
    // row: its queue entry gets an allocation of one, not four.
    let mut state = State::<u32, u32>::new(Some(0));
    let ticket = state.register_receiver(None, 1);
    assert_eq!(state.blocked_receivers_capacity(), 1);
    let _ = state.register_receiver(Some(ticket), 1); // still queued: no-op
    assert_eq!(state.blocked_receivers(), 1);
    state.leave(Some(ticket));
}

#[test]
fn state_sends_hand_values_to_waiting_receivers_in_order() {
    // Capacity 1: R1 and R2 wait; the first send goes to R1, the second to
    // R2, and only the third is buffered; each receiver finds its own.
    let mut state = State::<u32, u32>::new(Some(1));
    let r1 = state.register_receiver(None, 1);
    let r2 = state.register_receiver(None, 2);
    assert_eq!(state.try_send(10).unwrap(), Some(1));
    assert_eq!(state.try_send(20).unwrap(), Some(2));
    assert_eq!(state.try_send(30).unwrap(), None, "buffered: nobody waits");
    assert_eq!(state.len(), 1);
    assert_eq!(state.recv_as(Some(r2)).unwrap(), (20, None));
    state.leave(Some(r2));
    assert_eq!(state.recv_as(Some(r1)).unwrap(), (10, None));
    state.leave(Some(r1));
    assert_eq!(state.try_recv().unwrap(), (30, None));
}

#[test]
fn state_disconnection_wakes_the_other_side() {
    let mut state = State::<u32, u32>::new(Some(0));
    state.add_receiver();
    let r = state.register_receiver(None, 5);
    state.add_sender();
    assert!(state.remove_sender().is_empty(), "a sender remains");
    assert_eq!(state.remove_sender(), [5]);
    assert_eq!(state.try_recv().unwrap_err(), TryRecvError::Disconnected);
    state.leave(Some(r));

    let mut state = State::<u32, u32>::new(Some(0));
    let SendStart::Blocked(ticket) = state.start_send(&mut Some(9), 6) else {
        panic!("no receiver waits")
    };
    let (waiters, undelivered) = state.remove_receiver();
    assert_eq!((waiters, undelivered.len()), (vec![6], 0));
    assert_eq!(state.poll_send(ticket), Some(Err(9)), "the value comes back");
    assert!(state.try_send(1).unwrap_err().is_disconnected());
}

#[test]
fn state_receiver_woken_spuriously_registers_once() {
    let mut state = State::<u32, u32>::new(None);
    let ticket = state.register_receiver(None, 1);
    assert_eq!(state.register_receiver(Some(ticket), 1), ticket);
    assert_eq!(state.try_send(1).unwrap(), Some(1));
    assert_eq!(state.try_send(2).unwrap(), None, "registered once, woken once");
    assert_eq!(
        state.recv_as(Some(ticket)).unwrap().0,
        1,
        "the handed value first"
    );
    state.leave(Some(ticket));
}

#[test]
fn fifo_and_capacity_between_threads() {
    let (tx, rx) = bounded(3);
    for i in 0..3 {
        tx.try_send(i).unwrap();
    }
    assert_eq!(tx.try_send(3), Err(TrySendError::Full(3)));
    assert_eq!(rx.len(), 3);
    let n = scaled(10_000, 200);
    let producer = thread::spawn(move || (3..n).for_each(|i| tx.send(i).unwrap()));
    let got: Vec<usize> = rx.iter().collect();
    producer.join().unwrap();
    assert_eq!(got, (0..n).collect::<Vec<_>>());
}

#[test]
fn rendezvous_send_waits_for_the_receiver() {
    let (tx, rx) = bounded(0);
    let sent = Arc::new(AtomicBool::new(false));
    let sender = {
        let sent = sent.clone();
        thread::spawn(move || {
            tx.send(1).unwrap();
            sent.store(true, Ordering::Relaxed);
            tx.send(2).unwrap();
        })
    };
    // However long the sender runs first, its send cannot complete yet.
    for _ in 0..scaled(100, 5) {
        thread::yield_now();
    }
    assert!(
        !sent.load(Ordering::Relaxed),
        "a rendezvous send completed with no receive"
    );
    assert_eq!(rx.recv(), Ok(1));
    assert_eq!(rx.recv(), Ok(2));
    sender.join().unwrap();
    assert!(sent.load(Ordering::Relaxed));
    assert_eq!(rx.recv(), Err(RecvError));
}

#[test]
fn receivers_drain_then_see_disconnection() {
    let (tx, rx) = bounded(4);
    tx.send(1).unwrap();
    tx.send(2).unwrap();
    drop(tx);
    assert_eq!(rx.recv(), Ok(1));
    assert_eq!(rx.try_recv(), Ok(2));
    assert_eq!(rx.recv(), Err(RecvError));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
}

#[test]
fn blocked_receiver_is_woken_by_disconnection() {
    let (tx, rx) = bounded::<u8>(0);
    let receiver = thread::spawn(move || rx.recv());
    thread::yield_now();
    drop(tx);
    assert_eq!(receiver.join().unwrap(), Err(RecvError));
}

#[test]
fn blocked_sender_gets_its_value_back_when_receivers_go() {
    for capacity in [0, 1] {
        let (tx, rx) = bounded(capacity);
        if capacity == 1 {
            tx.send(String::from("buffered")).unwrap();
        }
        let sender = thread::spawn(move || tx.send(String::from("mine")));
        thread::yield_now();
        drop(rx);
        assert_eq!(sender.join().unwrap(), Err(SendError(String::from("mine"))));
    }
}

#[test]
fn values_left_in_the_buffer_are_dropped_with_the_last_receiver() {
    let drops = Arc::new(AtomicUsize::new(0));
    struct Counted(Arc<AtomicUsize>);
    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }
    let (tx, rx) = unbounded();
    (0..3).for_each(|_| tx.send(Counted(drops.clone())).unwrap());
    drop(rx.clone());
    assert_eq!(drops.load(Ordering::Relaxed), 0, "a receiver remains");
    drop(rx);
    assert_eq!(drops.load(Ordering::Relaxed), 3);
    let returned = tx.send(Counted(drops.clone())).unwrap_err();
    drop(returned);
    assert_eq!(drops.load(Ordering::Relaxed), 4);
}

#[test]
fn a_value_whose_drop_drops_the_last_sender_does_not_deadlock() {
    struct Holder(#[allow(dead_code)] Sender<Holder>);
    let (tx, rx) = unbounded();
    tx.send(Holder(tx.clone())).unwrap();
    drop(tx);
    drop(rx); // drops the buffered Sender, the channel's last, outside the lock
}

#[test]
fn iterators_and_clones() {
    let (tx, rx) = unbounded();
    let (tx2, rx2) = (tx.clone(), rx.clone());
    tx.send(1).unwrap();
    tx2.send(2).unwrap();
    assert_eq!(rx2.try_iter().collect::<Vec<_>>(), [1, 2]);
    assert_eq!(rx.try_iter().next(), None);
    tx2.send(3).unwrap();
    drop((tx, tx2));
    assert_eq!((&rx).into_iter().collect::<Vec<_>>(), [3]);
    assert_eq!(rx2.into_iter().next(), None, "the clone sees the same end");
    assert_eq!(rx.iter().next(), None);
}

#[test]
fn many_producers_many_consumers_on_threads() {
    let (producers, consumers, per) = (3, 3, scaled(2_000, 50));
    for capacity in [Some(0), Some(2), None] {
        let (tx, rx) = match capacity {
            Some(n) => bounded(n),
            None => unbounded(),
        };
        let producing: Vec<_> = (0..producers)
            .map(|p| {
                let tx = tx.clone();
                thread::spawn(move || (0..per).for_each(|i| tx.send(p * per + i).unwrap()))
            })
            .collect();
        drop(tx);
        let consuming: Vec<_> = (0..consumers)
            .map(|_| {
                let rx = rx.clone();
                thread::spawn(move || rx.iter().fold((0, 0), |(n, sum), v| (n + 1, sum + v)))
            })
            .collect();
        drop(rx);
        producing.into_iter().for_each(|t| t.join().unwrap());
        let (count, sum) = consuming
            .into_iter()
            .map(|t| t.join().unwrap())
            .fold((0, 0), |(n, s), (n2, s2)| (n + n2, s + s2));
        let total = producers * per;
        assert_eq!(
            (count, sum),
            (total, total * (total - 1) / 2),
            "capacity {capacity:?}"
        );
    }
}

#[test]
fn errors_display_and_convert() {
    assert_eq!(SendError(1).to_string(), "sending on a disconnected channel");
    assert_eq!(format!("{:?}", SendError(1)), "SendError { .. }");
    assert_eq!(TrySendError::Full(1).to_string(), "sending on a full channel");
    assert_eq!(format!("{:?}", TrySendError::Disconnected(1)), "Disconnected(..)");
    assert_eq!(TrySendError::from(SendError(4)).into_inner(), 4);
    assert_eq!(
        RecvError.to_string(),
        "receiving on an empty and disconnected channel"
    );
    assert_eq!(TryRecvError::from(RecvError), TryRecvError::Disconnected);
    assert!(TryRecvError::Empty.is_empty() && !TryRecvError::Empty.is_disconnected());
    let boxed: Box<dyn std::error::Error> = Box::new(TryRecvError::Empty);
    assert_eq!(boxed.to_string(), "receiving on an empty channel");
    let (tx, rx) = bounded::<u8>(2);
    assert_eq!(
        (format!("{tx:?}"), format!("{rx:?}")),
        ("Sender { .. }".into(), "Receiver { .. }".into())
    );
    assert_eq!(tx.capacity(), Some(2));
}

/// Waits (yielding the thread) until `ready` holds of the channel's state.
#[cfg(not(miri))]
fn wait_for_state<T>(channel: &Channel<T>, ready: impl Fn(&State<T, Waiter>) -> bool) {
    while !ready(&channel.lock()) {
        thread::yield_now();
    }
}

#[test]
#[cfg(not(miri))] // many fibers: slow under Miri, which runs workers without them
fn ten_thousand_tasks_blocked_in_recv_each_receive_exactly_once() {
    let n = 10_000;
    let rt = crate::Runtime::builder().workers(2).build().unwrap();
    let (tx, rx) = unbounded::<usize>();
    let handles: Vec<_> = (0..n)
        .map(|_| {
            let rx = rx.clone();
            rt.spawn(move || rx.recv().unwrap())
        })
        .collect();
    wait_for_state(rx.channel(), |state| state.blocked_receivers() == n);
    (0..n).for_each(|i| tx.send(i).unwrap());
    let mut got: Vec<usize> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    got.sort_unstable();
    assert_eq!(
        got,
        (0..n).collect::<Vec<_>>(),
        "each value received exactly once"
    );
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
}

#[test]
#[cfg(not(miri))]
fn ten_thousand_tasks_blocked_in_send_each_complete_exactly_once() {
    let n = 10_000;
    let rt = crate::Runtime::builder().workers(2).build().unwrap();
    let (tx, rx) = bounded::<usize>(0);
    let completed = Arc::new(AtomicUsize::new(0));
    let handles: Vec<_> = (0..n)
        .map(|i| {
            let (tx, completed) = (tx.clone(), completed.clone());
            rt.spawn(move || {
                tx.send(i).unwrap();
                completed.fetch_add(1, Ordering::Relaxed);
            })
        })
        .collect();
    wait_for_state(rx.channel(), |state| state.blocked_senders() == n);
    assert_eq!(
        completed.load(Ordering::Relaxed),
        0,
        "no rendezvous send completes alone"
    );
    let mut got: Vec<usize> = (0..n).map(|_| rx.recv().unwrap()).collect();
    handles.into_iter().for_each(|h| h.join().unwrap());
    assert_eq!(completed.load(Ordering::Relaxed), n);
    got.sort_unstable();
    assert_eq!(got, (0..n).collect::<Vec<_>>());
}
