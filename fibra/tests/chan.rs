//! `fibra::chan` on the runtime: ping-pong between two tasks on one and on
//! two workers (and a million messages over `bounded(0)` and `bounded(1)`),
//! skynet with channels, many producers and consumers (tasks, threads and
//! both mixed) counting every value exactly once, a task staying on its OS
//! thread across channel waits. Sizes do not depend on time;
//! nothing here has a wall-clock bound.

mod common;

use common::{runtime, with_hang_guard};
use fibra::chan::{bounded, unbounded, Receiver, Sender};
use fibra::Runtime;

/// Two tasks pass a counter back and forth `rounds` times over two
/// channels of `capacity`; returns the final count.
fn ping_pong(rt: &Runtime, rounds: u64, capacity: usize) -> u64 {
    let (ping_tx, ping_rx) = bounded::<u64>(capacity);
    let (pong_tx, pong_rx) = bounded::<u64>(capacity);
    let ponger = rt.spawn(move || {
        for n in &ping_rx {
            pong_tx.send(n + 1).unwrap();
        }
    });
    let pinger = rt.spawn(move || {
        let mut n = 0;
        for _ in 0..rounds {
            ping_tx.send(n).unwrap();
            n = pong_rx.recv().unwrap();
        }
        n // dropping ping_tx ends the ponger's loop
    });
    let count = pinger.join().unwrap();
    ponger.join().unwrap();
    count
}

#[test]
fn ping_pong_100_000_round_trips_on_one_and_two_workers() {
    with_hang_guard("ping-pong", || {
        for workers in [1, 2] {
            assert_eq!(
                ping_pong(&runtime(workers), 100_000, 0),
                100_000,
                "{workers} workers"
            );
        }
    });
}

#[test]
fn ping_pong_1_000_000_messages() {
    // 500,000 round trips: a million messages, each counted by the value.
    with_hang_guard("ping-pong 1M", || {
        for capacity in [0, 1] {
            assert_eq!(
                ping_pong(&runtime(2), 500_000, capacity),
                500_000,
                "bounded({capacity})"
            );
        }
    });
}

/// Skynet: each node spawns ten children and sums what they send it over
/// its own channel, then sends the sum to its parent.
fn skynet(num: u64, size: u64, parent: Sender<u64>) {
    if size == 1 {
        parent.send(num).unwrap();
        return;
    }
    let (tx, rx) = unbounded();
    let child_size = size / 10;
    for i in 0..10 {
        let tx = tx.clone();
        fibra::spawn(move || skynet(num + i * child_size, child_size, tx));
    }
    drop(tx);
    parent.send(rx.iter().sum()).unwrap();
}

#[test]
fn skynet_with_channels_10_000_leaves() {
    with_hang_guard("skynet", || {
        let rt = runtime(2);
        let (tx, rx) = bounded(0);
        rt.spawn(move || skynet(0, 10_000, tx));
        assert_eq!(rx.recv(), Ok(49_995_000));
        assert!(rx.recv().is_err(), "the root sends once");
    });
}

/// Sums what `consumers` receivers got, checking the count and the sum of
/// `0..total`.
fn check_every_value_once(results: impl Iterator<Item = (u64, u64)>, total: u64) {
    let (count, sum) = results.fold((0, 0), |(n, s), (n2, s2)| (n + n2, s + s2));
    assert_eq!((count, sum), (total, total * (total - 1) / 2));
}

fn consume(rx: Receiver<u64>) -> (u64, u64) {
    rx.iter().fold((0, 0), |(n, sum), v| (n + 1, sum + v))
}

fn channel(capacity: Option<usize>) -> (Sender<u64>, Receiver<u64>) {
    match capacity {
        Some(n) => bounded(n),
        None => unbounded(),
    }
}

#[test]
fn many_producers_many_consumers_tasks() {
    with_hang_guard("mpmc tasks", || {
        let rt = runtime(2);
        let (producers, consumers, per) = (8u64, 8, 5_000u64);
        for capacity in [Some(0), Some(1), Some(64), None] {
            let (tx, rx) = channel(capacity);
            let consuming: Vec<_> = (0..consumers)
                .map(|_| {
                    let rx = rx.clone();
                    rt.spawn(move || consume(rx))
                })
                .collect();
            drop(rx);
            for p in 0..producers {
                let tx = tx.clone();
                rt.spawn(move || (0..per).for_each(|i| tx.send(p * per + i).unwrap()));
            }
            drop(tx);
            let results = consuming.into_iter().map(|c| c.join().unwrap());
            check_every_value_once(results, producers * per);
        }
    });
}

#[test]
fn threads_and_tasks_mixed() {
    with_hang_guard("mixed", || {
        let rt = runtime(2);
        let per = 5_000u64;
        for capacity in [Some(0), Some(4), None] {
            let (tx, rx) = channel(capacity);
            // Two producers on plain threads, two in tasks; one consumer on
            // a thread, two in tasks.
            let threads: Vec<_> = (0..2)
                .map(|p| {
                    let tx = tx.clone();
                    std::thread::spawn(move || (0..per).for_each(|i| tx.send(p * per + i).unwrap()))
                })
                .collect();
            for p in 2..4 {
                let tx = tx.clone();
                rt.spawn(move || (0..per).for_each(|i| tx.send(p * per + i).unwrap()));
            }
            drop(tx);
            let tasks: Vec<_> = (0..2)
                .map(|_| {
                    let rx = rx.clone();
                    rt.spawn(move || consume(rx))
                })
                .collect();
            let mut results = vec![consume(rx)];
            results.extend(tasks.into_iter().map(|t| t.join().unwrap()));
            threads.into_iter().for_each(|t| t.join().unwrap());
            check_every_value_once(results.into_iter(), 4 * per);
        }
    });
}

#[test]
fn per_sender_order_is_kept_across_tasks() {
    with_hang_guard("fifo", || {
        let rt = runtime(2);
        let (tx, rx) = bounded(3);
        let per = 10_000u64;
        for p in 0..3 {
            let tx = tx.clone();
            rt.spawn(move || (0..per).for_each(|i| tx.send((p, i)).unwrap()));
        }
        drop(tx);
        let mut next = [0u64; 3];
        for (p, i) in rx.iter() {
            assert_eq!(i, next[p as usize], "producer {p} out of order");
            next[p as usize] += 1;
        }
        assert_eq!(next, [per; 3]);
    });
}

#[test]
fn a_task_stays_on_its_thread_across_channel_waits() {
    with_hang_guard("same thread", || {
        let rt = runtime(2);
        let (tx, rx) = bounded::<u32>(0);
        let (done_tx, done_rx) = unbounded::<usize>();
        for _ in 0..50 {
            let (rx, done_tx) = (rx.clone(), done_tx.clone());
            rt.spawn(move || {
                let mut waits = 0;
                loop {
                    let before = std::thread::current().id();
                    let got = rx.recv();
                    assert_eq!(std::thread::current().id(), before, "a task changed OS thread");
                    if got.is_err() {
                        break;
                    }
                    waits += 1;
                }
                done_tx.send(waits).unwrap();
            });
        }
        drop((rx, done_tx));
        (0..5_000).for_each(|i| tx.send(i).unwrap());
        drop(tx);
        assert_eq!(done_rx.iter().sum::<usize>(), 5_000);
    });
}
