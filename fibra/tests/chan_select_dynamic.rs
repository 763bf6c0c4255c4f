//! `fibra::chan::Select`, the select over operations added at run time
//! (crossbeam-channel's shape): selecting reserves the operation so that
//! its completion never waits; `ready` only looks; biased and fair picks;
//! a selected operation dropped or completed with the wrong end releases
//! what it held and panics; timers; and a stress test that counts every
//! value, on plain threads and inside tasks of a 1- and a 2-worker
//! runtime. Timing checks are lower bounds only.

mod common;

use common::{everywhere, runtime, scaled, with_hang_guard};
use fibra::chan::{
    after, bounded, never, tick, unbounded, Receiver, RecvError, RecvTimeoutError, Select, SendError, Sender,
    TryRecvError,
};
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Runs `f` in a fresh thread, or in a task if the caller is a task (its
/// thread is a worker: named `fibra-worker-N`).
fn spawn_like(f: impl FnOnce() + Send + 'static) -> Box<dyn FnOnce() + Send> {
    if common::thread_name().starts_with("fibra-worker") {
        let handle = fibra::spawn(f);
        Box::new(move || handle.join().unwrap())
    } else {
        let thread = std::thread::spawn(f);
        Box::new(move || thread.join().unwrap())
    }
}

#[test]
fn select_picks_a_ready_receive_and_try_and_timeout_forms_give_up() {
    everywhere("ready receive", || {
        let channels: Vec<(Sender<usize>, Receiver<usize>)> = (0..8).map(|_| unbounded()).collect();
        let mut select = Select::new();
        let indices: Vec<usize> = channels.iter().map(|(_, rx)| select.recv(rx)).collect();
        assert!(select.try_select().is_err());
        assert!(select.select_timeout(Duration::from_millis(2)).is_err());
        assert!(select.try_ready().is_err());
        channels[5].0.send(50).unwrap();
        let operation = select.select();
        assert_eq!(operation.index(), indices[5]);
        assert_eq!(operation.recv(&channels[5].1), Ok(50));
        assert!(
            channels.iter().all(|(_, rx)| rx.is_empty()),
            "one value, taken once"
        );
    });
}

#[test]
fn a_selected_send_has_its_room_reserved() {
    everywhere("reserved slot", || {
        let (tx, rx) = bounded(1);
        let other = tx.clone();
        let mut select = Select::new();
        let send = select.send(&tx);
        let operation = select.select();
        assert_eq!(operation.index(), send);
        assert!(
            other.try_send(1).unwrap_err().is_full(),
            "the slot is the selected send's"
        );
        operation.send(&tx, 2).unwrap();
        assert_eq!(rx.try_recv(), Ok(2));
        assert!(other.try_send(3).is_ok());
    });
}

#[test]
fn a_waiting_select_sends_to_a_receiver_that_comes_later() {
    everywhere("send waits for a receiver", || {
        let (tx, rx) = bounded::<u32>(0);
        let receiver = spawn_like(move || {
            fibra::time::sleep(Duration::from_millis(5));
            assert_eq!(rx.recv(), Ok(7));
        });
        let (_keep, idle) = unbounded::<u32>();
        let mut select = Select::new();
        select.recv(&idle);
        let send = select.send(&tx);
        let operation = select.select();
        assert_eq!(operation.index(), send);
        operation.send(&tx, 7).unwrap();
        receiver();
    });
}

#[test]
fn a_waiting_select_receives_from_a_sender_that_comes_later() {
    everywhere("receive waits for a sender", || {
        for capacity in [Some(0), Some(1), None] {
            let (tx, rx) = match capacity {
                Some(capacity) => bounded::<u32>(capacity),
                None => unbounded(),
            };
            let sender = spawn_like(move || {
                fibra::time::sleep(Duration::from_millis(2));
                tx.send(9).unwrap();
            });
            let mut select = Select::new();
            let index = select.recv(&rx);
            let operation = select.select();
            assert_eq!(operation.index(), index);
            assert_eq!(operation.recv(&rx), Ok(9), "capacity {capacity:?}");
            sender();
        }
    });
}

#[test]
fn a_promised_receiver_waits_past_its_deadline_for_its_value() {
    everywhere("promised receiver", || {
        let (tx, rx) = bounded::<u32>(0);
        let receiver = spawn_like(move || {
            // Each attempt waits 20 ms; an attempt that times out before the
            // selected send below claims it just tries again. The claimed
            // attempt must wait past its deadline for the value: if it left,
            // the value would be handed to nobody and this would wait for
            // ever (the hang guard fails the test).
            loop {
                match rx.recv_timeout(Duration::from_millis(20)) {
                    Ok(value) => return assert_eq!(value, 11),
                    Err(error) => assert!(error.is_timeout()),
                }
            }
        });
        let mut select = Select::new();
        select.send(&tx);
        let operation = loop {
            // Succeeds only while the receiver waits (nothing else has room).
            match select.try_select() {
                Ok(operation) => break operation,
                Err(_) => fibra::yield_now(),
            }
        };
        // Past the claimed attempt's deadline, whenever it began.
        fibra::time::sleep(Duration::from_millis(40));
        operation.send(&tx, 11).unwrap();
        receiver();
    });
}

#[test]
fn ready_does_not_take_the_value() {
    everywhere("ready", || {
        let (tx, rx) = unbounded();
        let sender = spawn_like(move || {
            fibra::time::sleep(Duration::from_millis(2));
            tx.send(5).unwrap();
        });
        let (_keep, idle) = unbounded::<u32>();
        let mut select = Select::new();
        select.recv(&idle);
        let index = select.recv(&rx);
        assert_eq!(select.ready(), index);
        assert_eq!(rx.try_recv(), Ok(5), "still there");
        sender();

        // A send becomes ready when a full channel gets room.
        let (tx, rx) = bounded(1);
        tx.send(1).unwrap();
        let mut select = Select::new();
        let send = select.send(&tx);
        assert!(select.ready_timeout(Duration::from_millis(2)).is_err(), "full");
        let receiver = spawn_like(move || {
            fibra::time::sleep(Duration::from_millis(2));
            assert_eq!(rx.recv(), Ok(1));
            assert_eq!(rx.recv(), Ok(2));
        });
        assert_eq!(select.ready(), send);
        tx.send(2).unwrap();
        receiver();
    });
}

/// Whether `count` of `total` is within 5 standard deviations of fair.
fn about_fair(count: usize, total: usize, arms: usize) -> bool {
    let p = 1.0 / arms as f64;
    let sd = (total as f64 * p * (1.0 - p)).sqrt();
    (count as f64 - total as f64 * p).abs() <= 5.0 * sd
}

#[test]
fn fair_and_biased_picks() {
    everywhere("picks", || {
        let rounds = 600;
        let channels: Vec<(Sender<u32>, Receiver<u32>)> = (0..3).map(|_| unbounded()).collect();
        for (tx, _) in &channels {
            (0..rounds).for_each(|i| tx.send(i).unwrap());
        }
        let mut counts = [0usize; 3];
        let mut select = Select::new();
        channels.iter().for_each(|(_, rx)| {
            select.recv(rx);
        });
        for _ in 0..rounds {
            let operation = select.select();
            let index = operation.index();
            operation.recv(&channels[index].1).unwrap();
            counts[index] += 1;
        }
        assert!(
            counts.iter().all(|&c| about_fair(c, rounds as usize, 3)),
            "unfair: {counts:?}"
        );

        let mut biased = Select::new_biased();
        channels.iter().for_each(|(_, rx)| {
            biased.recv(rx);
        });
        let first_ready = channels.iter().position(|(_, rx)| !rx.is_empty()).unwrap();
        for _ in 0..10 {
            let operation = biased.select();
            assert_eq!(operation.index(), first_ready);
            operation.recv(&channels[first_ready].1).unwrap();
        }
    });
}

#[test]
fn a_waiting_select_on_one_channel_completes_each_operation_equally_often() {
    everywhere("waiting fairness", || {
        let rounds = 300;
        let (tx, rx) = bounded::<u32>(0);
        let sender = spawn_like(move || {
            for i in 0..rounds {
                let mut value = i;
                // `try_send` succeeds only while the select waits.
                while let Err(err) = tx.try_send(value) {
                    value = err.into_inner();
                    fibra::yield_now();
                    std::thread::yield_now();
                }
            }
        });
        let mut select = Select::new();
        (0..3).for_each(|_| {
            select.recv(&rx);
        });
        let mut counts = [0usize; 3];
        for _ in 0..rounds {
            let operation = select.select();
            counts[operation.index()] += 1;
            operation.recv(&rx).unwrap();
        }
        sender();
        assert!(
            counts.iter().all(|&c| about_fair(c, rounds as usize, 3)),
            "unfair: {counts:?}"
        );
    });
}

/// Runs `f`, which must panic; returns its message.
fn panic_message(f: impl FnOnce()) -> String {
    common::silence_intentional_panics();
    let payload = panic::catch_unwind(AssertUnwindSafe(f)).expect_err("it should panic");
    common::panic_message(&*payload).unwrap_or_default().to_owned()
}

#[test]
fn an_abandoned_or_misused_selection_releases_what_it_held_and_panics() {
    everywhere("abandoned", || {
        // A received value goes back to the channel.
        let (tx, rx) = unbounded();
        tx.send(1).unwrap();
        let message = panic_message(|| {
            let mut select = Select::new();
            select.recv(&rx);
            drop(select.select());
        });
        assert!(message.contains("without completing"), "{message}");
        assert_eq!(rx.try_recv(), Ok(1));

        // The wrong receiver: the value goes back too.
        let (_other_tx, other_rx) = unbounded::<i32>();
        tx.send(2).unwrap();
        let message = panic_message(|| {
            let mut select = Select::new();
            select.recv(&rx);
            let _ = select.select().recv(&other_rx);
        });
        assert!(message.contains("not the receiver"), "{message}");
        assert_eq!(rx.try_recv(), Ok(2));

        // A reserved slot is freed.
        let (tx, _rx) = bounded(1);
        let _ = panic_message(|| {
            let mut select = Select::new();
            select.send(&tx);
            drop(select.select());
        });
        assert!(tx.try_send(3).is_ok());

        // A promised receiver waits on and gets a later value.
        let (tx, rx) = bounded::<u32>(0);
        let receiver = spawn_like(move || assert_eq!(rx.recv(), Ok(4)));
        let mut select = Select::new();
        select.send(&tx);
        let operation = loop {
            match select.try_select() {
                Ok(operation) => break operation,
                Err(_) => fibra::yield_now(),
            }
        };
        let _ = panic_message(move || drop(operation));
        tx.send(4).unwrap();
        receiver();
    });
}

#[test]
fn disconnected_channels_are_selected_with_their_errors() {
    everywhere("disconnected", || {
        let (tx, rx) = unbounded::<u32>();
        drop(tx);
        let mut select = Select::new();
        select.recv(&rx);
        assert_eq!(select.select().recv(&rx), Err(RecvError));

        let (tx, rx) = bounded::<u32>(0);
        drop(rx);
        let mut select = Select::new();
        select.send(&tx);
        assert_eq!(select.select().send(&tx, 5), Err(SendError(5)));
    });
}

#[test]
fn timer_receivers_in_a_select() {
    everywhere("timers", || {
        let start = Instant::now();
        let (_keep, idle) = unbounded::<u32>();
        let timeout = after(Duration::from_millis(5));
        let nothing = never::<Instant>();
        let mut select = Select::new();
        select.recv(&idle);
        select.recv(&nothing);
        let timer = select.recv(&timeout);
        let operation = select.select();
        assert_eq!(operation.index(), timer);
        assert!(operation.recv(&timeout).unwrap() >= start + Duration::from_millis(5));
        assert_eq!(timeout.try_recv(), Err(TryRecvError::Empty), "taken once");

        let ticks = tick(Duration::from_millis(1));
        let mut select = Select::new();
        select.recv(&ticks);
        for _ in 0..3 {
            select.select().recv(&ticks).unwrap();
        }
        assert_eq!(
            never::<u8>().recv_timeout(Duration::from_millis(1)),
            Err(RecvTimeoutError::Timeout)
        );
    });
}

#[test]
fn every_value_is_received_exactly_once_through_dynamic_selects() {
    // Producers send through selects over sends into every channel;
    // consumers receive through selects over every channel; rendezvous,
    // small and unbounded channels mixed. Each value is counted.
    let per_producer = scaled(300, 3_000);
    let producers = 3;
    for place in ["threads", "1 worker", "2 workers"] {
        let run = move || {
            let channels: Vec<(Sender<usize>, Receiver<usize>)> =
                vec![bounded(0), bounded(1), unbounded(), bounded(0)];
            let seen: Arc<Vec<AtomicUsize>> = Arc::new(
                (0..producers * per_producer)
                    .map(|_| AtomicUsize::new(0))
                    .collect(),
            );
            let senders: Vec<Sender<usize>> = channels.iter().map(|(tx, _)| tx.clone()).collect();
            let receivers: Vec<Receiver<usize>> = channels.iter().map(|(_, rx)| rx.clone()).collect();
            drop(channels);
            let mut joins = Vec::new();
            for p in 0..producers {
                let senders = senders.clone();
                joins.push(spawn_like(move || {
                    let mut select = Select::new();
                    senders.iter().for_each(|tx| {
                        select.send(tx);
                    });
                    for i in 0..per_producer {
                        let operation = select.select();
                        let index = operation.index();
                        operation.send(&senders[index], p * per_producer + i).unwrap();
                    }
                }));
            }
            drop(senders);
            for _ in 0..2 {
                let (receivers, seen) = (receivers.clone(), seen.clone());
                joins.push(spawn_like(move || {
                    let mut select = Select::new();
                    receivers.iter().for_each(|rx| {
                        select.recv(rx);
                    });
                    let mut open = receivers.len();
                    while open > 0 {
                        let operation = select.select();
                        let index = operation.index();
                        match operation.recv(&receivers[index]) {
                            Ok(value) => {
                                seen[value].fetch_add(1, Ordering::Relaxed);
                            }
                            Err(RecvError) => {
                                select.remove(index);
                                open -= 1;
                            }
                        }
                    }
                }));
            }
            drop(receivers);
            joins.into_iter().for_each(|join| join());
            let counts: Vec<usize> = seen.iter().map(|c| c.load(Ordering::Relaxed)).collect();
            assert!(counts.iter().all(|&c| c == 1), "{place}: a value lost or doubled");
        };
        match place {
            "threads" => with_hang_guard(place, run),
            "1 worker" => with_hang_guard(place, move || runtime(1).block_on(run)),
            _ => with_hang_guard(place, move || runtime(2).block_on(run)),
        }
    }
}

#[test]
fn a_forgotten_selection_leaks_nothing_when_the_channel_goes() {
    // `mem::forget` skips the selected operation's release: the received
    // value it held stays in the channel and is dropped with it.
    struct Counted(Arc<AtomicUsize>);
    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    let drops = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = unbounded();
    tx.send(Counted(drops.clone())).unwrap();
    {
        let mut select = Select::new();
        select.recv(&rx);
        std::mem::forget(select.select());
    }
    drop((tx, rx));
    assert_eq!(drops.load(Ordering::SeqCst), 1);
}
