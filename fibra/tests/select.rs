//! `fibra::select!` and channel timeouts on the runtime: fairness among ready
//! arms (counted), `default`, a blocking select woken by either channel,
//! send arms, disconnection, exactly-once delivery under stress (producers
//! into several channels, consumers selecting, every value counted), a
//! select that picks another arm strands nothing in a rendezvous channel,
//! and `recv_timeout` / `send_timeout` / `default(timeout)`. Timing checks
//! are lower bounds only ("never early"); nothing here has a wall-clock
//! upper bound.

mod common;

use common::{runtime, scaled, with_hang_guard};
use fibra::chan::{
    bounded, select as select_dyn, unbounded, Receiver, RecvArm, RecvError, RecvTimeoutError, SelectArm,
    SendError, SendTimeoutError, Sender,
};
use fibra::select;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Whether `count` of `total` lies within 40%..=60%.
fn about_half(count: usize, total: usize) -> bool {
    count * 10 >= total * 4 && count * 10 <= total * 6
}

#[test]
fn ready_arms_are_chosen_fairly() {
    // Two channels that are always ready: 10,000 selects, each arm 40-60%
    // (binomial, n = 10,000: 60% is 20 standard deviations away).
    let rounds = 10_000;
    let (tx_a, rx_a) = unbounded();
    let (tx_b, rx_b) = unbounded();
    (0..rounds).for_each(|i| {
        tx_a.send(i).unwrap();
        tx_b.send(i).unwrap();
    });
    let mut counts = [0usize; 2];
    for _ in 0..rounds {
        select! {
            recv(rx_a) -> v => { v.unwrap(); counts[0] += 1 }
            recv(rx_b) -> v => { v.unwrap(); counts[1] += 1 }
        }
    }
    assert_eq!(counts[0] + counts[1], rounds);
    assert!(
        counts.iter().all(|&c| about_half(c, rounds)),
        "unfair: {counts:?}"
    );
    assert_eq!(rx_a.len() + rx_b.len(), rounds, "each select took one value");
}

#[test]
fn ready_send_and_receive_arms_are_chosen_fairly_in_a_task() {
    with_hang_guard("fair send", || {
        let rt = runtime(2);
        rt.block_on(|| {
            let rounds = 10_000;
            let (tx_in, rx_in) = unbounded();
            let (tx_out, rx_out) = unbounded();
            (0..rounds).for_each(|i| tx_in.send(i).unwrap());
            let (mut received, mut sent) = (0, 0);
            for i in 0..rounds {
                select! {
                    recv(rx_in) -> v => { v.unwrap(); received += 1 }
                    send(tx_out, i) -> res => { res.unwrap(); sent += 1 }
                }
            }
            assert!(
                about_half(received, rounds) && about_half(sent, rounds),
                "{received} / {sent}"
            );
            assert_eq!(rx_out.len(), sent);
        });
    });
}

#[test]
fn default_runs_only_when_nothing_is_ready() {
    let (tx, rx) = bounded::<u32>(1);
    let (full_tx, _full_rx) = bounded::<u32>(0);
    let nothing = select! {
        recv(rx) -> _ => false,
        send(full_tx, 1) -> _ => false,
        default => true,
    };
    assert!(nothing, "empty channel, rendezvous without receiver: default");
    tx.send(7).unwrap();
    let got = select! {
        recv(rx) -> v => v.ok(),
        send(full_tx, 1) -> _ => None,
        default => None,
    };
    assert_eq!(got, Some(7), "a ready arm beats default");
    assert_eq!(select! { default => 5 }, 5);
}

#[test]
fn blocking_select_is_woken_by_either_channel() {
    with_hang_guard("woken by either", || {
        let rt = runtime(2);
        for (which, delay_ms) in [(0, 0), (1, 0), (0, 20), (1, 20)] {
            let (tx_a, rx_a) = bounded::<&str>(0);
            let (tx_b, rx_b) = unbounded::<&str>();
            let sender = rt.spawn(move || {
                // A delay makes it likely (not certain) the select blocks first.
                fibra::time::sleep(Duration::from_millis(delay_ms));
                if which == 0 {
                    tx_a.send("a").unwrap();
                } else {
                    tx_b.send("b").unwrap();
                }
                (tx_a, tx_b) // keep both open until joined
            });
            let got = rt.block_on(move || {
                select! {
                    recv(rx_a) -> v => (0, v.unwrap()),
                    recv(rx_b) -> v => (1, v.unwrap()),
                }
            });
            assert_eq!(got, (which, ["a", "b"][which]));
            drop(sender.join().unwrap());
        }
    });
}

#[test]
fn send_arms_deliver_to_exactly_one_channel() {
    with_hang_guard("send arms", || {
        let rt = runtime(2);
        for round in 0..scaled(200, 2_000) {
            let (tx_a, rx_a) = bounded::<usize>(0);
            let (tx_b, rx_b) = bounded::<usize>(0);
            let receiver = rt.spawn(move || {
                let got = if round % 2 == 0 { rx_a.recv() } else { rx_b.recv() };
                (got, rx_a, rx_b)
            });
            let chosen = select! {
                send(tx_a, round) -> res => { res.unwrap(); 0 }
                send(tx_b, round) -> res => { res.unwrap(); 1 }
            };
            assert_eq!(chosen, round % 2, "only one channel has a receiver");
            let (got, rx_a, rx_b) = receiver.join().unwrap();
            assert_eq!(got, Ok(round));
            assert!(rx_a.try_recv().is_err() && rx_b.try_recv().is_err(), "sent once");
        }
    });
}

#[test]
fn disconnected_channels_are_ready_with_their_error() {
    let (tx, rx) = unbounded::<u32>();
    let (_keep, idle) = unbounded::<u32>();
    drop(tx);
    let got = select! {
        recv(rx) -> v => v,
        recv(&idle) -> _ => unreachable!("nothing is ever sent"), // a reference works too
    };
    assert_eq!(got, Err(RecvError));

    let (tx, rx) = bounded::<String>(0);
    drop(rx);
    let back = select! {
        send(tx, String::from("mine")) -> res => res,
        recv(idle) -> _ => unreachable!(),
    };
    assert_eq!(back, Err(SendError(String::from("mine"))), "the value comes back");
}

#[test]
fn blocked_select_is_woken_by_disconnection() {
    with_hang_guard("disconnect wakes", || {
        let rt = runtime(2);
        let (tx, rx) = bounded::<u32>(0);
        let (_keep, idle) = bounded::<u32>(0);
        let dropper = rt.spawn(move || {
            fibra::time::sleep(Duration::from_millis(10));
            drop(tx);
        });
        let got = rt.block_on(move || {
            select! {
                recv(rx) -> v => v,
                recv(idle) -> _ => unreachable!(),
            }
        });
        assert_eq!(got, Err(RecvError));
        dropper.join().unwrap();
    });
}

/// A consumer: selects over every receiver still open (the dynamic API),
/// dropping each once it reports disconnection; returns (count, sum).
fn consume_all(mut receivers: Vec<Receiver<u64>>, seen: &[AtomicBool]) -> (u64, u64) {
    let (mut count, mut sum) = (0, 0);
    while !receivers.is_empty() {
        let mut arms: Vec<RecvArm<u64>> = receivers.iter().map(RecvArm::new).collect();
        let mut refs: Vec<&mut dyn SelectArm> = arms.iter_mut().map(|a| a as &mut dyn SelectArm).collect();
        let chosen = select_dyn(&mut refs);
        drop(refs);
        match arms.swap_remove(chosen).into_result().expect("chosen") {
            Ok(value) => {
                assert!(
                    !seen[value as usize].swap(true, Ordering::Relaxed),
                    "{value} twice"
                );
                count += 1;
                sum += value;
            }
            Err(RecvError) => {
                drop(arms);
                receivers.swap_remove(chosen);
            }
        }
    }
    (count, sum)
}

#[test]
fn every_value_is_received_exactly_once_under_stress() {
    with_hang_guard("select stress", || {
        let rt = runtime(2);
        let per = scaled(2_000, 20_000) as u64;
        let channels: Vec<(Sender<u64>, Receiver<u64>)> =
            vec![bounded(0), bounded(1), bounded(8), unbounded()];
        let producers = 8u64;
        let total = producers * per;
        let seen: Arc<Vec<AtomicBool>> = Arc::new((0..total).map(|_| AtomicBool::new(false)).collect());
        // Half the producers send plainly into one channel, half select
        // among two channels with send arms.
        for p in 0..producers {
            let first = channels[p as usize % 4].0.clone();
            let second = channels[(p as usize + 1) % 4].0.clone();
            rt.spawn(move || {
                for value in p * per..(p + 1) * per {
                    if p % 2 == 0 {
                        first.send(value).unwrap();
                    } else {
                        select! {
                            send(first, value) -> res => res.unwrap(),
                            send(second, value) -> res => res.unwrap(),
                        }
                    }
                }
            });
        }
        let receivers: Vec<Receiver<u64>> = channels.into_iter().map(|(_, rx)| rx).collect();
        let consumers: Vec<_> = (0..4)
            .map(|_| {
                let (receivers, seen) = (receivers.clone(), seen.clone());
                rt.spawn(move || consume_all(receivers, &seen))
            })
            .collect();
        let on_thread = consume_all(receivers, &seen);
        let (count, sum) = consumers
            .into_iter()
            .map(|c| c.join().unwrap())
            .fold(on_thread, |(n, s), (n2, s2)| (n + n2, s + s2));
        assert_eq!((count, sum), (total, total * (total - 1) / 2));
        assert!(seen.iter().all(|s| s.load(Ordering::Relaxed)));
    });
}

#[test]
fn rendezvous_value_is_not_stranded_by_a_select_that_picks_another_arm() {
    with_hang_guard("no stranding", || {
        let rt = runtime(2);
        let rounds = scaled(500, 5_000);
        let (mut rendezvous, mut other) = (0, 0);
        for round in 0..rounds {
            let (tx_r, rx_r) = bounded::<usize>(0);
            let (tx_o, rx_o) = unbounded::<usize>();
            let completed = Arc::new(AtomicBool::new(false));
            let sender = {
                let completed = completed.clone();
                rt.spawn(move || {
                    tx_r.send(round).unwrap();
                    // Release: pairs with the Acquire load after the select.
                    completed.store(true, Ordering::Release);
                })
            };
            let other_sender = rt.spawn(move || tx_o.send(round).unwrap());
            let picked_rendezvous = rt.block_on(|| {
                select! {
                    recv(rx_r) -> v => { assert_eq!(v, Ok(round)); true }
                    recv(rx_o) -> v => { assert_eq!(v, Ok(round)); false }
                }
            });
            if picked_rendezvous {
                rendezvous += 1;
            } else {
                other += 1;
                // Acquire: pairs with the sender's Release store.
                assert!(
                    !completed.load(Ordering::Acquire),
                    "a rendezvous send completed with nobody receiving its value"
                );
                assert_eq!(rx_r.recv(), Ok(round), "its value is still there, once");
            }
            sender.join().unwrap();
            other_sender.join().unwrap();
            assert!(rx_r.try_recv().is_err());
        }
        assert_eq!(rendezvous + other, rounds);
    });
}

#[test]
fn recv_timeout_times_out_and_receives_in_time() {
    with_hang_guard("recv_timeout", || {
        let rt = runtime(1);
        let timeout = Duration::from_millis(20);
        let (tx, rx) = unbounded::<u32>();
        // In a task (timer wheel) and on this thread (futex timeout).
        let (got, elapsed) = rt.block_on({
            let rx = rx.clone();
            move || {
                let start = Instant::now();
                (rx.recv_timeout(timeout), start.elapsed())
            }
        });
        assert_eq!(got, Err(RecvTimeoutError::Timeout));
        assert!(elapsed >= timeout, "early: {elapsed:?}");
        let start = Instant::now();
        assert_eq!(rx.recv_timeout(timeout), Err(RecvTimeoutError::Timeout));
        assert!(start.elapsed() >= timeout);
        // A value sent before the deadline is received.
        tx.send(1).unwrap();
        assert_eq!(rx.recv_timeout(timeout), Ok(1));
        let sender = rt.spawn(move || {
            fibra::time::sleep(Duration::from_millis(5));
            tx.send(2).unwrap();
        });
        let got = rt.block_on(move || rx.recv_timeout(Duration::from_secs(600)));
        assert_eq!(got, Ok(2));
        sender.join().unwrap();
    });
}

#[test]
fn send_timeout_gives_the_value_back() {
    with_hang_guard("send_timeout", || {
        let rt = runtime(1);
        let timeout = Duration::from_millis(20);
        for capacity in [0, 1] {
            let (tx, rx) = bounded::<String>(capacity);
            if capacity == 1 {
                tx.send("filler".into()).unwrap();
            }
            let (got, elapsed) = rt.block_on({
                let tx = tx.clone();
                move || {
                    let start = Instant::now();
                    (tx.send_timeout("late".into(), timeout), start.elapsed())
                }
            });
            assert_eq!(got, Err(SendTimeoutError::Timeout("late".into())));
            assert!(elapsed >= timeout, "early: {elapsed:?}");
            assert_eq!(rx.len(), capacity, "nothing added");
            // A receiver arriving in time takes the value.
            let receiver = rt.spawn(move || {
                fibra::time::sleep(Duration::from_millis(5));
                let filler = if capacity == 1 {
                    Some(rx.recv().unwrap())
                } else {
                    None
                };
                (filler, rx.recv().unwrap())
            });
            assert_eq!(
                tx.send_timeout("on time".into(), Duration::from_secs(600)),
                Ok(())
            );
            let (filler, got) = receiver.join().unwrap();
            assert_eq!((filler.is_some(), got.as_str()), (capacity == 1, "on time"));
        }
    });
}

#[test]
fn select_default_timeout_waits_then_runs() {
    with_hang_guard("select timeout", || {
        let rt = runtime(1);
        let timeout = Duration::from_millis(20);
        let (tx, rx) = bounded::<u32>(0);
        let (elapsed, timed_out) = rt.block_on({
            let (tx, rx) = (tx.clone(), rx.clone());
            move || {
                let start = Instant::now();
                let timed_out = select! {
                    recv(rx) -> _ => false,
                    send(tx, 1) -> _ => false, // a select never meets itself
                    default(timeout) => true,
                };
                (start.elapsed(), timed_out)
            }
        });
        assert!(timed_out && elapsed >= timeout, "{timed_out} after {elapsed:?}");
        assert!(rx.try_recv().is_err(), "the send arm's value was not sent");
        let sender = rt.spawn(move || tx.send(9).unwrap());
        let got = select! {
            recv(rx) -> v => v,
            default(Duration::from_secs(600)) => Err(RecvError),
        };
        assert_eq!(got, Ok(9));
        sender.join().unwrap();
    });
}

#[test]
fn timed_out_waiters_leave_nothing_behind() {
    // Many tasks time out on a rendezvous channel while values flow: every
    // value sent is received once, and every timed-out send got its value
    // back.
    with_hang_guard("timeouts under load", || {
        let rt = runtime(2);
        let (tx, rx) = bounded::<usize>(0);
        let n = scaled(2_000, 20_000);
        let returned = Arc::new(AtomicUsize::new(0));
        let senders: Vec<_> = (0..n)
            .map(|i| {
                let (tx, returned) = (tx.clone(), returned.clone());
                rt.spawn(
                    move || match tx.send_timeout(i, Duration::from_millis(1 + i as u64 % 3)) {
                        Ok(()) => None,
                        Err(SendTimeoutError::Timeout(v)) => {
                            returned.fetch_add(1, Ordering::Relaxed);
                            Some(v)
                        }
                        Err(SendTimeoutError::Disconnected(_)) => unreachable!("rx lives"),
                    },
                )
            })
            .collect();
        drop(tx);
        let mut received = Vec::new();
        loop {
            match rx.recv_timeout(Duration::from_millis(1)) {
                Ok(v) => received.push(v),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
        }
        let mut back: Vec<usize> = senders.into_iter().filter_map(|s| s.join().unwrap()).collect();
        assert_eq!(back.len(), returned.load(Ordering::Relaxed));
        back.extend(&received);
        back.sort_unstable();
        assert_eq!(
            back,
            (0..n).collect::<Vec<_>>(),
            "each value received or returned, once"
        );
    });
}
