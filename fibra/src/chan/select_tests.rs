//! Unit tests of select and timeouts: the state machine with select entries
//! (plain numbers as waiters), then the public API between plain threads.
//! All run under Miri (smaller sizes there).

use super::selection::{Choice, SelectArmRef, Selection};
use super::state::{Settled, State};
use super::*;
use std::collections::HashSet;
use std::thread;
use std::time::{Duration, Instant};

/// Arm `arm` of `selection`, as registered in a channel.
fn arm(selection: &std::sync::Arc<Selection<u32>>, arm: usize) -> SelectArmRef<u32> {
    SelectArmRef {
        selection: selection.clone(),
        arm,
    }
}

#[test]
fn state_rendezvous_send_chooses_a_waiting_select_and_hands_it_the_value() {
    let mut state = State::<u32, u32>::new(Some(0));
    let selection = Selection::new(9);
    assert!(!state.can_receive(&selection));
    let ticket = state.register_select_receiver(arm(&selection, 1));
    assert!(state.can_send(&Selection::new(8)), "another select could send");
    assert!(!state.can_send(&selection), "a select never meets itself");
    assert_eq!(state.try_send(5).unwrap(), Some(9), "the send wakes the select");
    assert_eq!(selection.choice(), Choice::Arm(1));
    assert_eq!(state.len(), 0, "the value is the select's, not the buffer's");
    assert_eq!(
        state.try_recv().unwrap_err(),
        TryRecvError::Empty,
        "nobody else gets it"
    );
    assert!(
        state.try_send(6).unwrap_err().is_full(),
        "one value per chosen select"
    );
    assert_eq!(state.settle_select_receiver(ticket), Settled::Handed);
    assert_eq!(state.take_handed(ticket), Some(5), "the arm finds its value");
    assert!(state.try_send(7).unwrap_err().is_full(), "nobody waits any more");
}

#[test]
fn state_rendezvous_send_skips_a_select_decided_elsewhere() {
    let mut state = State::<u32, u32>::new(Some(0));
    let selection = Selection::new(9);
    state.register_select_receiver(arm(&selection, 0));
    assert!(selection.choose(3), "another channel chose arm 3");
    assert!(
        state.try_send(5).unwrap_err().is_full(),
        "no value goes to a select that will not take it"
    );
    assert_eq!(
        (state.len(), state.blocked_receivers()),
        (0, 0),
        "the stale entry is dropped"
    );
}

#[test]
fn state_send_skips_a_stale_select_for_the_next_receiver() {
    let mut state = State::<u32, u32>::new(Some(1));
    let selection = Selection::new(9);
    state.register_select_receiver(arm(&selection, 0));
    let plain = state.register_receiver(None, 4);
    assert_eq!(selection.abort(), Choice::Aborted);
    assert_eq!(
        state.try_send(1).unwrap(),
        Some(4),
        "the plain receiver is woken instead"
    );
    assert_eq!(state.recv_as(Some(plain)).unwrap().0, 1, "handed to it");
    state.leave(Some(plain));
}

#[test]
fn state_receiver_takes_a_select_senders_value_only_by_choosing_it() {
    for decided in [false, true] {
        let mut state = State::<u32, u32>::new(Some(0));
        let selection = Selection::new(9);
        assert!(!state.can_send(&selection));
        let ticket = state.register_select_sender(7, arm(&selection, 2));
        assert!(state.can_receive(&Selection::new(8)));
        assert!(!state.can_receive(&selection), "a select never meets itself");
        if decided {
            assert_eq!(selection.abort(), Choice::Aborted);
            assert_eq!(
                state.try_recv().unwrap_err(),
                TryRecvError::Empty,
                "stale: skipped"
            );
            assert_eq!(state.withdraw_sender(ticket), Some(7), "the select takes it back");
        } else {
            let (value, sender) = state.try_recv().unwrap();
            assert_eq!((value, selection.choice()), (7, Choice::Arm(2)));
            assert_eq!(sender, Some(9));
            assert_eq!(state.withdraw_sender(ticket), None, "taken: the send completed");
        }
    }
}

#[test]
fn state_refill_moves_a_select_senders_value_in_by_choosing_it() {
    let mut state = State::<u32, u32>::new(Some(1));
    state.try_send(1).unwrap();
    let selection = Selection::new(9);
    let ticket = state.register_select_sender(2, arm(&selection, 0));
    let (value, sender) = state.try_recv().unwrap();
    assert_eq!((value, sender, selection.choice()), (1, Some(9), Choice::Arm(0)));
    assert_eq!(state.withdraw_sender(ticket), None);
    assert_eq!(state.try_recv().unwrap().0, 2);
}

#[test]
fn state_disconnection_wakes_selects_without_choosing_them() {
    let mut state = State::<u32, u32>::new(Some(0));
    let (receiving, sending) = (Selection::new(1), Selection::new(2));
    state.register_select_receiver(arm(&receiving, 0));
    assert_eq!(state.remove_sender(), [1]);
    assert_eq!(receiving.choice(), Choice::Waiting, "the select selects again");
    assert!(
        state.can_receive(&receiving),
        "and finds the channel disconnected"
    );

    let mut state = State::<u32, u32>::new(Some(0));
    let ticket = state.register_select_sender(5, arm(&sending, 0));
    let (waiters, undelivered) = state.remove_receiver();
    assert_eq!((waiters, undelivered.len()), (vec![2], 0));
    assert_eq!(state.withdraw_sender(ticket), Some(5), "the value comes back");
    assert!(state.can_send(&sending));
}

#[test]
fn selection_is_decided_once() {
    let selection = Selection::new(0u32);
    assert_eq!(selection.choice(), Choice::Waiting);
    assert!(selection.choose(4));
    assert!(!selection.choose(5), "decided");
    assert_eq!(selection.abort(), Choice::Arm(4), "abort reports the choice");
    let aborted = Selection::new(0u32);
    assert_eq!(aborted.abort(), Choice::Aborted);
    assert!(!aborted.choose(0));
}

#[test]
fn state_timed_out_sender_takes_its_value_back() {
    let mut state = State::<u32, u32>::new(Some(0));
    let state::SendStart::Blocked(ticket) = state.start_send(&mut Some(3), 1) else {
        panic!("nobody receives")
    };
    assert_eq!(state.withdraw_sender(ticket), Some(3));
    assert_eq!(
        state.try_recv().unwrap_err(),
        TryRecvError::Empty,
        "nothing left behind"
    );
}

#[test]
fn ready_select_picks_uniformly_among_ready_arms() {
    // Arms 0 and 2 always ready, arm 1 never: each ready arm about half the
    // time (a random *start* would favour arm 2, two thirds).
    let rounds = if cfg!(miri) { 200 } else { 4_000 };
    let (tx0, rx0) = unbounded();
    let (_tx1, rx1) = unbounded::<u32>();
    let (tx2, rx2) = unbounded();
    (0..rounds).for_each(|i| {
        tx0.send(i).unwrap();
        tx2.send(i).unwrap();
    });
    let mut counts = [0usize; 3];
    for _ in 0..rounds {
        let (mut a, mut b, mut c) = (RecvArm::new(&rx0), RecvArm::new(&rx1), RecvArm::new(&rx2));
        counts[select(&mut [&mut a, &mut b, &mut c])] += 1;
    }
    assert_eq!(counts[1], 0);
    // 40-60% of 4,000 rounds fails with probability ~1e-36; under Miri
    // (200 rounds) the band is 30-70% (~1e-8), 40-60% would fail 0.4% of runs.
    let (low, high) = if cfg!(miri) { (3, 7) } else { (4, 6) };
    for count in [counts[0], counts[2]] {
        assert!(
            count * 10 >= rounds * low && count * 10 <= rounds * high,
            "unfair: {counts:?}"
        );
    }
}

#[test]
fn blocking_select_between_threads_takes_each_value_once() {
    let per = if cfg!(miri) { 20 } else { 2_000 };
    for capacity in [0, 1] {
        let (tx_a, rx_a) = bounded(capacity);
        let (tx_b, rx_b) = bounded(capacity);
        // Each producer keeps its sender until joined: no disconnection.
        let producers = [(tx_a, 0), (tx_b, per)].map(|(tx, base)| {
            thread::spawn(move || {
                (base..base + per).for_each(|i| tx.send(i).unwrap());
                tx
            })
        });
        let mut seen = HashSet::new();
        while seen.len() < 2 * per {
            let (mut a, mut b) = (RecvArm::new(&rx_a), RecvArm::new(&rx_b));
            let chosen = select(&mut [&mut a, &mut b]);
            let (a, b) = (a.into_result(), b.into_result());
            assert_eq!((a.is_some(), b.is_some()), (chosen == 0, chosen == 1));
            let value = a.or(b).unwrap().unwrap();
            assert!(seen.insert(value), "{value} received twice");
        }
        producers.into_iter().for_each(|p| drop(p.join().unwrap()));
        assert_eq!(
            rx_a.try_recv(),
            Err(TryRecvError::Disconnected),
            "capacity {capacity}"
        );
        assert_eq!(rx_b.try_recv(), Err(TryRecvError::Disconnected));
    }
}

#[test]
fn timeouts_between_threads() {
    let short = Duration::from_millis(2);
    let (tx, rx) = bounded::<u32>(0);
    let start = Instant::now();
    assert_eq!(rx.recv_timeout(short), Err(RecvTimeoutError::Timeout));
    assert!(start.elapsed() >= short, "never early");
    let start = Instant::now();
    assert_eq!(tx.send_timeout(1, short), Err(SendTimeoutError::Timeout(1)));
    assert!(start.elapsed() >= short);
    let mut arm = RecvArm::new(&rx);
    let start = Instant::now();
    assert_eq!(select_timeout(&mut [&mut arm], short), None);
    assert!(start.elapsed() >= short);
    let receiver = thread::spawn(move || rx.recv_timeout(Duration::from_secs(600)));
    assert_eq!(tx.send_timeout(2, Duration::from_secs(600)), Ok(()));
    assert_eq!(receiver.join().unwrap(), Ok(2));
    assert_eq!(
        tx.send_timeout(3, short),
        Err(SendTimeoutError::Disconnected(3)),
        "the receiver is gone"
    );
}
