//! What a select costs: a select that finds an arm ready, and a ping-pong
//! round trip in which both sides block in a select, each next to its
//! plain-channel baseline. Medians of 5 runs; run it on a quiet machine:
//!
//! ```sh
//! cargo run --release -p fibra --example select_cost
//! ```

use fibra::chan::{bounded, unbounded, Receiver, Sender};
use fibra::{select, Runtime};
use std::time::{Duration, Instant};

const READY_ROUNDS: u32 = 1_000_000;
const ROUND_TRIPS: u64 = 200_000;
const RUNS: usize = 5;

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn per_op(total: Duration, ops: u64) -> f64 {
    total.as_nanos() as f64 / ops as f64
}

/// `rounds` receives from two always-ready channels, by select or by
/// `try_recv` on one of them.
fn ready(rounds: u32, with_select: bool) -> Duration {
    let (tx_a, rx_a) = unbounded();
    let (tx_b, rx_b) = unbounded();
    (0..rounds).for_each(|i| {
        tx_a.send(i).unwrap();
        tx_b.send(i).unwrap();
    });
    let start = Instant::now();
    let mut sum = 0u64;
    for _ in 0..rounds {
        let v = if with_select {
            select! {
                recv(rx_a) -> v => v.unwrap(),
                recv(rx_b) -> v => v.unwrap(),
            }
        } else {
            rx_a.try_recv().unwrap()
        };
        sum += u64::from(v);
    }
    let elapsed = start.elapsed();
    std::hint::black_box(sum);
    elapsed
}

/// Receives one value: by a select that also waits on `idle` (never
/// ready), or by a plain `recv`.
fn receive(rx: &Receiver<u64>, idle: &Receiver<u64>, with_select: bool) -> Option<u64> {
    if with_select {
        select! {
            recv(rx) -> v => v.ok(),
            recv(idle) -> _ => unreachable!("never sent"),
        }
    } else {
        rx.recv().ok()
    }
}

/// Two tasks pass a counter `trips` times over two channels of
/// `capacity`, each receiving with or without select.
fn ping_pong(rt: &Runtime, trips: u64, capacity: usize, with_select: bool) -> Duration {
    let (ping_tx, ping_rx) = bounded::<u64>(capacity);
    let (pong_tx, pong_rx): (Sender<u64>, Receiver<u64>) = bounded(capacity);
    let (_idle_tx, idle) = bounded::<u64>(0);
    let idle2 = idle.clone();
    let start = Instant::now();
    let ponger = rt.spawn(move || {
        while let Some(n) = receive(&ping_rx, &idle2, with_select) {
            pong_tx.send(n + 1).unwrap();
        }
    });
    let pinger = rt.spawn(move || {
        let mut n = 0;
        for _ in 0..trips {
            ping_tx.send(n).unwrap();
            n = receive(&pong_rx, &idle, with_select).unwrap();
        }
        n
    });
    assert_eq!(pinger.join().unwrap(), trips);
    ponger.join().unwrap();
    start.elapsed()
}

fn main() {
    println!(
        "machine: {} CPUs available",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    for with_select in [false, true] {
        let what = if with_select {
            "select! over 2 ready channels"
        } else {
            "try_recv (baseline)"
        };
        let total = median((0..RUNS).map(|_| ready(READY_ROUNDS, with_select)).collect());
        println!(
            "ready, on a thread: {what:32} {:7.1} ns",
            per_op(total, READY_ROUNDS.into())
        );
    }
    for workers in [1, 2] {
        let rt = Runtime::builder().workers(workers).build().unwrap();
        for capacity in [0, 1] {
            for with_select in [false, true] {
                let what = if with_select {
                    "select! (2 arms)"
                } else {
                    "recv (baseline)"
                };
                let total = median(
                    (0..RUNS)
                        .map(|_| ping_pong(&rt, ROUND_TRIPS, capacity, with_select))
                        .collect(),
                );
                println!(
                    "ping-pong round trip, {workers} worker(s), bounded({capacity}), {what:17} {:7.1} ns",
                    per_op(total, ROUND_TRIPS)
                );
            }
        }
    }
}
