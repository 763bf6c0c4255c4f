//! The promises Go's and crossbeam-channel's users rely on, each checked on
//! plain threads and inside tasks of a 1- and a 2-worker runtime:
//!
//! - a send on a rendezvous channel (`bounded(0)`) completes only once a
//!   receiver has the value: a receiver already waiting (in `recv` or in a
//!   select) is handed it, so nobody else can take it afterwards;
//! - a *waiting* select whose arms are all on one channel completes each of
//!   them about equally often (arms used to be registered, and so chosen, in
//!   their order);
//! - dropping a channel whose values panic in `Drop` unwinds with the first
//!   panic and leaks the rest (two panics in one unwind used to abort the
//!   process).
//!
//! `try_send` on a rendezvous channel succeeds exactly when a receiver is
//! waiting, so the tests use it to act at the moment a receiver waits,
//! without sleeping. The statistical bands are wide (5 standard deviations);
//! nothing here has a wall-clock bound.

mod common;

use common::{runtime, silence_intentional_panics, with_hang_guard, INTENTIONAL};
use fibra::chan::{bounded, unbounded, Receiver, RecvError, Sender};
use fibra::select;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Where a scenario's two parties run.
#[derive(Clone, Copy, Debug)]
enum Place {
    Threads,
    Tasks(usize),
}

const PLACES: [Place; 3] = [Place::Threads, Place::Tasks(1), Place::Tasks(2)];

/// Runs `waiter` and `actor` concurrently in `place` and returns the
/// waiter's result once both are done.
fn run_pair<T: Send + 'static>(
    place: Place,
    waiter: impl FnOnce() -> T + Send + 'static,
    actor: impl FnOnce() + Send + 'static,
) -> T {
    with_hang_guard(&format!("{place:?}"), move || match place {
        Place::Threads => {
            let waiting = std::thread::spawn(waiter);
            actor();
            waiting.join().unwrap()
        }
        Place::Tasks(workers) => {
            let rt = runtime(workers);
            let waiting = rt.spawn(waiter);
            rt.block_on(actor);
            waiting.join().unwrap()
        }
    })
}

/// Lets another task or thread run (inside a task: the task's worker).
fn pause() {
    fibra::yield_now();
    std::thread::yield_now();
}

/// Sends `value` with `try_send`, retrying until a receiver is waiting.
fn send_to_a_waiting_receiver(tx: &Sender<u32>, mut value: u32) {
    loop {
        match tx.try_send(value) {
            Ok(()) => return,
            Err(err) => value = err.into_inner(),
        }
        pause();
    }
}

/// In each place: a receiver waits by `wait`, and a `try_send` (which
/// succeeds only while it waits) hands it a value that another receiver of
/// the channel must not find afterwards.
fn hand_to_a_waiting_receiver(wait: fn(Receiver<u32>) -> Result<u32, RecvError>) {
    for place in PLACES {
        let (tx, rx) = bounded::<u32>(0);
        let (waiting_rx, other_rx) = (rx.clone(), rx);
        let got = run_pair(
            place,
            move || wait(waiting_rx),
            move || {
                send_to_a_waiting_receiver(&tx, 1);
                assert!(
                    other_rx.try_recv().is_err(),
                    "{place:?}: the value was the waiting receiver's"
                );
            },
        );
        assert_eq!(got, Ok(1), "{place:?}");
    }
}

#[test]
fn rendezvous_send_hands_the_value_to_the_waiting_receiver() {
    hand_to_a_waiting_receiver(|rx| rx.recv());
}

#[test]
fn rendezvous_send_hands_the_value_to_a_waiting_select() {
    hand_to_a_waiting_receiver(|rx| {
        let (_keep, never) = unbounded::<u32>();
        select! {
            recv(rx) -> v => v,
            recv(never) -> _ => unreachable!("nothing is sent there"),
        }
    });
}

#[test]
fn rendezvous_blocking_send_returns_only_once_a_receiver_has_the_value() {
    // The reproduction: the receiver waits (most likely: it had 5 ms
    // to get there), then a plain `send` completes and the value must be
    // gone from the channel. Also with the sender first: then it waits.
    for place in PLACES {
        let (tx, rx) = bounded::<u32>(0);
        let (waiting_rx, other_rx) = (rx.clone(), rx);
        let got = run_pair(
            place,
            move || waiting_rx.recv(),
            move || {
                fibra::time::sleep(Duration::from_millis(5));
                tx.send(1).unwrap();
                assert!(other_rx.try_recv().is_err(), "{place:?}");
                drop(tx);
                assert_eq!(other_rx.recv(), Err(RecvError), "{place:?}");
            },
        );
        assert_eq!(got, Ok(1), "{place:?}");
    }
}

/// Whether `count` of `total` is within 5 standard deviations of `total / arms`.
fn about_fair(count: usize, total: usize, arms: usize) -> bool {
    let p = 1.0 / arms as f64;
    let mean = total as f64 * p;
    let sd = (total as f64 * p * (1.0 - p)).sqrt();
    (count as f64 - mean).abs() <= 5.0 * sd
}

#[test]
fn a_waiting_select_completes_each_arm_on_one_channel_equally_often() {
    // Three receive arms on one rendezvous channel; each value is sent only
    // while the select waits (`try_send` succeeds only then), so every round
    // is decided by which registered arm the sender finds first.
    let rounds: u32 = if cfg!(miri) { 30 } else { 600 };
    for place in PLACES {
        let (tx, rx) = bounded::<u32>(0);
        let counts = run_pair(
            place,
            move || {
                let mut counts = [0usize; 3];
                for _ in 0..rounds {
                    select! {
                        recv(rx) -> v => { v.unwrap(); counts[0] += 1 }
                        recv(rx) -> v => { v.unwrap(); counts[1] += 1 }
                        recv(rx) -> v => { v.unwrap(); counts[2] += 1 }
                    }
                }
                counts
            },
            move || (0..rounds).for_each(|i| send_to_a_waiting_receiver(&tx, i)),
        );
        assert_eq!(counts.iter().sum::<usize>(), rounds as usize, "{place:?}");
        if !cfg!(miri) {
            assert!(
                counts.iter().all(|&c| about_fair(c, rounds as usize, 3)),
                "{place:?}: unfair: {counts:?}"
            );
        }
    }
}

#[test]
fn a_waiting_select_sends_on_each_arm_equally_often() {
    // The other direction: three send arms on one rendezvous channel; a
    // receiver takes each value with `try_recv`, which succeeds only while
    // the select waits with its values in the channel's sender entries.
    let rounds: usize = if cfg!(miri) { 30 } else { 600 };
    for place in PLACES {
        let (tx, rx) = bounded::<usize>(0);
        let counts: Arc<[AtomicUsize; 3]> = Arc::default();
        let seen = counts.clone();
        run_pair(
            place,
            move || {
                for _ in 0..rounds {
                    select! {
                        send(tx, 0) -> sent => sent.unwrap(),
                        send(tx, 1) -> sent => sent.unwrap(),
                        send(tx, 2) -> sent => sent.unwrap(),
                    }
                }
            },
            move || {
                for _ in 0..rounds {
                    let arm = loop {
                        match rx.try_recv() {
                            Ok(arm) => break arm,
                            Err(_) => pause(),
                        }
                    };
                    seen[arm].fetch_add(1, Ordering::Relaxed);
                }
            },
        );
        let counts = counts.each_ref().map(|c| c.load(Ordering::Relaxed));
        assert_eq!(counts.iter().sum::<usize>(), rounds, "{place:?}");
        if !cfg!(miri) {
            assert!(
                counts.iter().all(|&c| about_fair(c, rounds, 3)),
                "{place:?}: unfair: {counts:?}"
            );
        }
    }
}

/// A value whose `Drop` panics (with [`INTENTIONAL`] in the message) and
/// counts how often it ran.
struct PanicsOnDrop(Arc<AtomicUsize>);

impl Drop for PanicsOnDrop {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
        panic!("{INTENTIONAL}: a value's drop panicked");
    }
}

/// Sends two panicking values, drops the last receiver, and returns whether
/// that unwound and how many drops ran.
fn drop_two_panicking_values(tx: Sender<PanicsOnDrop>, rx: Receiver<PanicsOnDrop>) -> (bool, usize) {
    let drops = Arc::new(AtomicUsize::new(0));
    tx.send(PanicsOnDrop(drops.clone())).unwrap();
    tx.send(PanicsOnDrop(drops.clone())).unwrap();
    let unwound = panic::catch_unwind(AssertUnwindSafe(move || drop(rx))).is_err();
    (unwound, drops.load(Ordering::SeqCst))
}

#[test]
fn dropping_a_channel_whose_values_panic_unwinds_with_the_first_panic() {
    silence_intentional_panics();
    for place in PLACES {
        let run = move || {
            let (tx, rx) = unbounded();
            let unbounded_result = drop_two_panicking_values(tx, rx);
            let (tx, rx) = bounded(2);
            (unbounded_result, drop_two_panicking_values(tx, rx))
        };
        let results = match place {
            Place::Threads => run(),
            Place::Tasks(workers) => runtime(workers).block_on(run),
        };
        // The first drop panics; the second value is leaked, as crossbeam does.
        assert_eq!(results, ((true, 1), (true, 1)), "{place:?}");
    }
}
