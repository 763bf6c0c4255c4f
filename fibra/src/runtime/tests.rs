//! A small end-to-end run of the whole runtime, sized so that it also runs
//! under Miri (which then checks the worker loop, queues, cells and parking
//! for undefined behaviour and leaks across real threads).

use super::Runtime;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

#[test]
fn spawn_join_scope_and_fork_join_end_to_end() {
    let rt = Runtime::builder().workers(2).build().unwrap();
    let n = if cfg!(miri) { 40 } else { 2_000 };
    let outside: usize = (0..n)
        .map(|i| rt.spawn(move || i))
        .map(|h| h.join().unwrap())
        .sum();
    assert_eq!(outside, n * (n - 1) / 2);
    let inside: usize = rt.block_on(|| {
        let handles: Vec<_> = (0..n).map(|i| crate::spawn(move || i)).collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    });
    assert_eq!(inside, outside);
    let mut cells = vec![0usize; 8];
    rt.scope(|s| {
        for (i, cell) in cells.iter_mut().enumerate() {
            s.spawn(move || *cell = i * i);
        }
    });
    assert_eq!(cells, [0, 1, 4, 9, 16, 25, 36, 49]);
    fn fib(n: u32) -> u32 {
        if n < 2 {
            return n;
        }
        let (a, b) = crate::join(|| fib(n - 1), || fib(n - 2));
        a + b
    }
    assert_eq!(
        rt.block_on(|| fib(if cfg!(miri) { 8 } else { 18 })),
        if cfg!(miri) { 21 } else { 2584 }
    );
}

#[test]
fn shutdown_cancels_queued_tasks_exactly_once() {
    let rt = Runtime::builder().workers(1).build().unwrap();
    let (release, blocked) = std::sync::mpsc::channel::<()>();
    let started = Arc::new(AtomicUsize::new(0));
    let s = started.clone();
    let blocker = rt.spawn(move || {
        s.fetch_add(1, Ordering::SeqCst);
        blocked.recv().unwrap();
    });
    while started.load(Ordering::SeqCst) == 0 {
        std::thread::yield_now();
    }
    let runs = Arc::new(AtomicUsize::new(0));
    let queued: Vec<_> = (0..16)
        .map(|_| {
            let runs = runs.clone();
            rt.spawn(move || runs.fetch_add(1, Ordering::SeqCst))
        })
        .collect();
    let handle = rt.handle().clone();
    release.send(()).unwrap();
    rt.shutdown();
    blocker.join().unwrap();
    assert!(
        queued.iter().all(|h| h.is_finished()),
        "every handle is finished after shutdown"
    );
    let mut cancelled = 0;
    for handle in queued {
        match handle.join() {
            Ok(_) => {}
            Err(error) => {
                assert!(error.is_cancelled(), "{error}");
                cancelled += 1;
            }
        }
    }
    // Each queued task either ran (counted in `runs`) or was cancelled: once.
    assert_eq!(runs.load(Ordering::SeqCst) + cancelled, 16);
    let late = handle.spawn(|| 1);
    assert!(late.join().unwrap_err().is_cancelled());
}
