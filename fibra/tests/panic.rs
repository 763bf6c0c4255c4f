//! Panics in tasks: with 10% of tasks panicking every other task still
//! completes; `JoinError::is_panic` and `into_panic` give the payload
//! (`&str` and `String`); a panicking task does not kill its worker (same
//! thread, same worker count, runtime keeps working); `scope` re-raises a
//! task's panic only after every other scoped task finished; `fibra::join`
//! re-raises a panic from either side after both sides finished.
//!
//! A panic hook installed in this test binary only silences the intentional
//! panics (their message contains `common::INTENTIONAL`).

mod common;

use common::{panic_message, scaled, silence_intentional_panics, with_hang_guard, INTENTIONAL};
use fibra::Runtime;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::ThreadId;

#[test]
fn ten_percent_of_tasks_panic_and_the_rest_complete() {
    silence_intentional_panics();
    with_hang_guard("ten percent", || {
        let n = scaled(20_000, 100_000);
        let rt = Runtime::builder().workers(4).build().unwrap();
        let completed = &*Box::leak(Box::new(AtomicUsize::new(0)));
        let check = |handles: Vec<fibra::JoinHandle<usize>>| {
            let mut panics = 0;
            for (i, h) in handles.into_iter().enumerate() {
                match h.join() {
                    Ok(value) => {
                        assert_ne!(i % 10, 0, "task {i} should have panicked");
                        assert_eq!(value, i);
                    }
                    Err(error) => {
                        assert_eq!(i % 10, 0, "task {i} should not have panicked: {error}");
                        assert!(error.is_panic() && !error.is_cancelled());
                        assert!(error.to_string().contains(INTENTIONAL), "{error}");
                        panics += 1;
                    }
                }
            }
            panics
        };
        let task = move |i: usize| {
            if i % 10 == 0 {
                panic!("{INTENTIONAL} {i}");
            }
            completed.fetch_add(1, Ordering::Relaxed);
            i
        };
        // From outside.
        let handles: Vec<_> = (0..n).map(|i| rt.spawn(move || task(i))).collect();
        assert_eq!(check(handles), n / 10);
        // From inside.
        let panics = rt.block_on(|| check((0..n).map(|i| fibra::spawn(move || task(i))).collect()));
        assert_eq!(panics, n / 10);
        assert_eq!(completed.load(Ordering::Relaxed), 2 * (n - n / 10));
        let m = rt.metrics();
        assert_eq!(m.workers.len(), 4);
        assert_eq!(
            m.total().completed,
            2 * n as u64 + 1,
            "panicked tasks count as completed"
        );
    });
}

#[test]
fn into_panic_gives_the_payload() {
    silence_intentional_panics();
    let rt = Runtime::builder().workers(2).build().unwrap();

    let error = rt
        .spawn(|| -> u32 { panic!("intentional test panic: static str") })
        .join()
        .unwrap_err();
    assert!(error.is_panic());
    assert!(!error.is_cancelled());
    assert!(format!("{error:?}").contains("static str"), "{error:?}");
    let payload = error.into_panic();
    assert_eq!(
        payload.downcast_ref::<&str>(),
        Some(&"intentional test panic: static str")
    );

    let n = 7;
    let error = rt
        .spawn(move || panic!("{INTENTIONAL}: formatted {n}"))
        .join()
        .unwrap_err();
    let payload = error.try_into_panic().expect("a panic, not a cancellation");
    assert_eq!(
        payload.downcast_ref::<String>().map(String::as_str),
        Some("intentional test panic: formatted 7")
    );

    // A custom payload type survives the trip, and resume_unwind re-raises it.
    #[derive(Debug, PartialEq)]
    struct Custom(u64);
    let error = rt.spawn(|| std::panic::panic_any(Custom(42))).join().unwrap_err();
    assert_eq!(error.to_string(), "task panicked");
    let payload = error.into_panic();
    let again = catch_unwind(AssertUnwindSafe(|| std::panic::resume_unwind(payload))).unwrap_err();
    assert_eq!(again.downcast_ref::<Custom>(), Some(&Custom(42)));

    // io::Error conversion keeps the message.
    let error = rt
        .spawn(|| panic!("intentional test panic: io"))
        .join()
        .unwrap_err();
    let io: std::io::Error = error.into();
    assert!(io.to_string().contains("intentional test panic: io"), "{io}");
}

#[test]
fn a_panicking_task_does_not_kill_its_worker() {
    silence_intentional_panics();
    let rt = Runtime::builder().workers(1).build().unwrap();
    let thread_of = |rt: &Runtime| rt.spawn(|| std::thread::current().id()).join().unwrap();
    let before: ThreadId = thread_of(&rt);
    for round in 0..100 {
        let error = rt
            .spawn(move || panic!("{INTENTIONAL} round {round}"))
            .join()
            .unwrap_err();
        assert!(error.is_panic());
        // Panics inside a task spawned by a task, detached.
        drop(rt.spawn(|| drop(fibra::spawn(|| panic!("intentional test panic: detached")))));
    }
    assert_eq!(thread_of(&rt), before, "the same worker thread still runs tasks");
    assert_eq!(rt.num_workers(), 1);
    assert_eq!(rt.metrics().workers.len(), 1);
    // And the runtime does real work afterwards.
    let sum: u64 = rt.block_on(|| {
        let hs: Vec<_> = (0..1000u64).map(|i| fibra::spawn(move || i)).collect();
        hs.into_iter().map(|h| h.join().unwrap()).sum()
    });
    assert_eq!(sum, 499_500);
    // A panic in block_on does not kill it either.
    let caught = catch_unwind(AssertUnwindSafe(|| {
        rt.block_on(|| panic!("intentional test panic: block_on"))
    }));
    assert!(caught.is_err());
    assert_eq!(thread_of(&rt), before);
    rt.shutdown();
}

#[test]
fn scope_reraises_a_task_panic_after_all_tasks_finished() {
    silence_intentional_panics();
    with_hang_guard("scope panic", || {
        let rt = Runtime::builder().workers(4).build().unwrap();
        for _ in 0..20 {
            let finished = AtomicUsize::new(0);
            let caught = catch_unwind(AssertUnwindSafe(|| {
                rt.scope(|s| {
                    for i in 0..100 {
                        let finished = &finished;
                        s.spawn(move || {
                            if i == 10 {
                                panic!("{INTENTIONAL}: scoped task {i}");
                            }
                            common::busy_work(20);
                            finished.fetch_add(1, Ordering::SeqCst);
                        });
                    }
                })
            }));
            let payload = caught.expect_err("the scope must re-raise the task's panic");
            assert_eq!(
                panic_message(&*payload),
                Some("intentional test panic: scoped task 10")
            );
            // When the panic came out, all 99 others had finished.
            assert_eq!(finished.load(Ordering::SeqCst), 99);
        }

        // The same through fibra::scope inside a task, with nested spawns.
        let finished = AtomicUsize::new(0);
        let caught = rt.block_on(|| {
            catch_unwind(AssertUnwindSafe(|| {
                fibra::scope(|s| {
                    for i in 0..10 {
                        let finished = &finished;
                        s.spawn(move || {
                            for j in 0..10 {
                                s.spawn(move || {
                                    if i == 3 && j == 7 {
                                        panic!("{INTENTIONAL}: nested");
                                    }
                                    common::busy_work(10);
                                    finished.fetch_add(1, Ordering::SeqCst);
                                });
                            }
                        });
                    }
                })
            }))
        });
        assert_eq!(
            panic_message(&*caught.unwrap_err()),
            Some("intentional test panic: nested")
        );
        assert_eq!(finished.load(Ordering::SeqCst), 99);
    });
}

#[test]
fn a_joined_scoped_panic_is_not_reraised() {
    silence_intentional_panics();
    let rt = Runtime::builder().workers(2).build().unwrap();
    let result = rt.scope(|s| {
        let bad = s.spawn(|| -> u8 { panic!("intentional test panic: joined") });
        let good = s.spawn(|| 5u8);
        let error = bad.join().unwrap_err();
        assert_eq!(panic_message(&*error), Some("intentional test panic: joined"));
        good.join().unwrap()
    });
    assert_eq!(result, 5);
}

#[test]
fn scope_body_panic_is_reraised_after_tasks_finished() {
    silence_intentional_panics();
    let rt = Runtime::builder().workers(2).build().unwrap();
    let finished = AtomicUsize::new(0);
    let caught = catch_unwind(AssertUnwindSafe(|| {
        rt.scope(|s| {
            for _ in 0..50 {
                s.spawn(|| {
                    common::busy_work(50);
                    finished.fetch_add(1, Ordering::SeqCst);
                });
            }
            panic!("intentional test panic: scope body");
        })
    }));
    assert_eq!(
        panic_message(&*caught.unwrap_err()),
        Some("intentional test panic: scope body")
    );
    assert_eq!(finished.load(Ordering::SeqCst), 50);
}

#[test]
fn join_reraises_a_panic_from_either_side() {
    silence_intentional_panics();
    with_hang_guard("join panic", || {
        let rt = Runtime::builder().workers(4).build().unwrap();
        for left_panics in [true, false] {
            for _ in 0..50 {
                let other_ran = AtomicUsize::new(0);
                let caught = rt.block_on(|| {
                    catch_unwind(AssertUnwindSafe(|| {
                        fibra::join(
                            || {
                                if left_panics {
                                    panic!("intentional test panic: left");
                                }
                                common::busy_work(5);
                                other_ran.fetch_add(1, Ordering::SeqCst);
                            },
                            || {
                                if !left_panics {
                                    panic!("intentional test panic: right");
                                }
                                common::busy_work(5);
                                other_ran.fetch_add(1, Ordering::SeqCst);
                            },
                        )
                    }))
                });
                let expected = if left_panics {
                    "intentional test panic: left"
                } else {
                    "intentional test panic: right"
                };
                assert_eq!(panic_message(&*caught.unwrap_err()), Some(expected));
                assert_eq!(
                    other_ran.load(Ordering::SeqCst),
                    1,
                    "the other side ran to the end first"
                );
            }
        }
        // Both sides panic: one of the two payloads comes out.
        let caught = rt.block_on(|| {
            catch_unwind(|| {
                fibra::join(
                    || panic!("intentional test panic: both a"),
                    || panic!("intentional test panic: both b"),
                )
            })
        });
        let message = panic_message(&*caught.unwrap_err()).map(str::to_string);
        assert!(matches!(
            message.as_deref(),
            Some("intentional test panic: both a" | "intentional test panic: both b")
        ));
        // From a thread that is not a worker (the global runtime path).
        let caught =
            catch_unwind(|| fibra::join(|| 1, || -> i32 { panic!("intentional test panic: global") }));
        assert_eq!(
            panic_message(&*caught.unwrap_err()),
            Some("intentional test panic: global")
        );
        // A panic deep inside nested joins.
        fn tree(depth: u32) -> u32 {
            if depth == 0 {
                return 1;
            }
            if depth == 3 {
                let _ = fibra::join(|| (), || ());
            }
            let (a, b) = fibra::join(|| tree(depth - 1), || tree(depth - 1));
            assert!(!(depth == 5 && a == 16), "intentional test panic: deep");
            a + b
        }
        let caught = rt.block_on(|| catch_unwind(|| tree(8)));
        assert!(
            panic_message(&*caught.unwrap_err()).is_some_and(|m| m.contains("intentional test panic: deep"))
        );
        // The runtime still works.
        assert_eq!(rt.block_on(|| fibra::join(|| 1, || 2)), (1, 2));
    });
}

/// An output whose `Drop` panics.
struct PanicsOnDrop;

impl Drop for PanicsOnDrop {
    fn drop(&mut self) {
        panic!("intentional test panic: output drop");
    }
}

/// Regression test: a detached task's output that panics in `Drop` is
/// dropped by the runner; that panic must not unwind out of the worker loop.
/// (It used to kill the worker thread: later tasks never ran and
/// `shutdown`/dropping the runtime waited forever.)
#[test]
fn a_panicking_output_drop_does_not_kill_the_worker() {
    silence_intentional_panics();
    let rt = Runtime::builder().workers(1).build().unwrap();
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    // Detach first, then let the task finish: the runner drops the output.
    drop(rt.spawn(move || {
        release_rx.recv().unwrap();
        PanicsOnDrop
    }));
    release_tx.send(()).unwrap();
    let next = rt.spawn(|| 5);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !next.is_finished() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    if !next.is_finished() {
        std::mem::forget(rt); // dropping it would wait forever for the dead worker
        panic!("the only worker no longer runs tasks");
    }
    assert_eq!(next.join().unwrap(), 5);
    assert!(
        rt.shutdown_timeout(std::time::Duration::from_secs(30)),
        "the worker never finished"
    );
}
