//! The parts of `fibra::chan`'s API that crossbeam-channel users reach for:
//! `len` / `is_empty` / `is_full` / `capacity` on both ends, `same_channel`,
//! and the timer channels `after`, `at`, `tick` and `never`, alone and in
//! `select!`, on plain threads and inside tasks of a 1- and a 2-worker
//! runtime. Timing checks are lower bounds only ("never early").

mod common;

use common::everywhere;
use fibra::chan::{after, at, bounded, never, tick, unbounded, RecvTimeoutError, TryRecvError};
use fibra::select;
use std::time::{Duration, Instant};

#[test]
fn len_full_and_capacity_on_both_ends() {
    let (tx, rx) = bounded(2);
    assert_eq!((tx.capacity(), rx.capacity()), (Some(2), Some(2)));
    assert!(tx.is_empty() && rx.is_empty() && !tx.is_full() && !rx.is_full());
    tx.send(1).unwrap();
    assert_eq!((tx.len(), rx.len()), (1, 1));
    tx.send(2).unwrap();
    assert!(tx.is_full() && rx.is_full());
    rx.recv().unwrap();
    assert!(!tx.is_full());

    let (tx, rx) = bounded::<u8>(0);
    assert!(tx.is_full() && rx.is_full() && tx.is_empty() && rx.is_empty());
    assert_eq!(rx.capacity(), Some(0));

    let (tx, rx) = unbounded();
    (0..1000).for_each(|i| tx.send(i).unwrap());
    assert_eq!(
        (tx.len(), rx.len(), tx.is_full(), rx.capacity()),
        (1000, 1000, false, None)
    );
}

#[test]
fn same_channel_tells_channels_apart() {
    let (tx, rx) = unbounded::<u8>();
    let (other_tx, other_rx) = unbounded::<u8>();
    assert!(tx.same_channel(&tx.clone()) && rx.same_channel(&rx.clone()));
    assert!(!tx.same_channel(&other_tx) && !rx.same_channel(&other_rx));
    let timer = after(Duration::from_secs(60));
    assert!(timer.same_channel(&timer.clone()));
    assert!(!timer.same_channel(&after(Duration::from_secs(60))));
    assert!(never::<u8>().same_channel(&never()));
    assert!(!rx.same_channel(&never()));
}

#[test]
fn after_delivers_once_when_due() {
    everywhere("after", || {
        let start = Instant::now();
        let timer = after(Duration::from_millis(10));
        assert_eq!(timer.try_recv(), Err(TryRecvError::Empty));
        assert_eq!(timer.capacity(), Some(1));
        let due = timer.recv().unwrap();
        assert!(due >= start + Duration::from_millis(10) && Instant::now() >= due);
        // Its one message was taken: empty for ever, never disconnected.
        assert_eq!(timer.try_recv(), Err(TryRecvError::Empty));
        assert_eq!(
            timer.recv_timeout(Duration::from_millis(5)),
            Err(RecvTimeoutError::Timeout)
        );
        assert!(timer.is_empty());
    });
}

#[test]
fn at_delivers_its_instant_and_clones_share_it() {
    everywhere("at", || {
        let when = Instant::now() + Duration::from_millis(5);
        let timer = at(when);
        let clone = timer.clone();
        assert_eq!(timer.recv(), Ok(when));
        assert_eq!(
            clone.try_recv(),
            Err(TryRecvError::Empty),
            "taken by the original"
        );
        let past = at(Instant::now() - Duration::from_millis(1));
        assert!(past.is_full() && past.len() == 1, "due at once");
        assert!(past.try_recv().is_ok());
    });
}

#[test]
fn tick_delivers_every_period_and_drops_missed_ticks() {
    everywhere("tick", || {
        let period = Duration::from_millis(3);
        let start = Instant::now();
        let ticks = tick(period);
        let first = ticks.recv().unwrap();
        assert!(first >= start + period);
        let second = ticks.recv().unwrap();
        assert_eq!(second, first + period, "due one period after the first");
        // Miss several ticks: one is waiting, not a burst.
        fibra::time::sleep(period * 4);
        assert_eq!(ticks.len(), 1);
        assert!(ticks.try_recv().is_ok());
        assert_eq!(ticks.try_recv(), Err(TryRecvError::Empty), "missed ticks dropped");
    });
}

#[test]
fn never_never_delivers() {
    everywhere("never", || {
        let nothing = never::<u32>();
        assert_eq!(nothing.try_recv(), Err(TryRecvError::Empty));
        let start = Instant::now();
        assert_eq!(
            nothing.recv_timeout(Duration::from_millis(5)),
            Err(RecvTimeoutError::Timeout)
        );
        assert!(start.elapsed() >= Duration::from_millis(5));
        assert!(nothing.is_empty() && nothing.is_full() && nothing.capacity() == Some(0));
    });
}

#[test]
fn timer_channels_in_select() {
    everywhere("timers in select", || {
        // `after` as a timeout: nothing else arrives.
        let (_tx, rx) = unbounded::<u32>();
        let start = Instant::now();
        let timed_out = select! {
            recv(rx) -> _ => false,
            recv(after(Duration::from_millis(10))) -> due => due.unwrap() <= Instant::now(),
        };
        assert!(timed_out && start.elapsed() >= Duration::from_millis(10));

        // A value that is there wins over a timer that is not due.
        let (tx, rx) = unbounded();
        tx.send(7).unwrap();
        let timer = after(Duration::from_secs(60));
        let got = select! {
            recv(rx) -> v => v.unwrap(),
            recv(timer) -> _ => 0,
        };
        assert_eq!(got, 7);

        // Ticks counted in a loop of selects, with `never` switched off.
        let ticks = tick(Duration::from_millis(1));
        let off = never::<()>();
        let mut count = 0;
        while count < 5 {
            select! {
                recv(ticks) -> t => { t.unwrap(); count += 1 }
                recv(off) -> _ => unreachable!("never delivers"),
            }
        }

        // A select that waits on a timer and a channel is woken by the
        // channel first (the timer is far off).
        let (tx, rx) = bounded(0);
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(5));
            tx.send(1).unwrap();
        });
        let timer = after(Duration::from_secs(60));
        let got = select! {
            recv(rx) -> v => v.unwrap(),
            recv(timer) -> _ => 0,
        };
        assert_eq!(got, 1);
    });
}
