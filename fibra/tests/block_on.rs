//! `block_on`: returns the closure's value, borrows (also mutably) from the
//! caller's stack, re-raises the closure's panic with its payload (and the
//! runtime keeps working), runs a nested `block_on` of the same runtime in
//! place on the worker, and works nested across two runtimes and from many
//! threads at once.

mod common;

use common::{panic_message, runtime, silence_intentional_panics, thread_name, with_hang_guard};
use fibra::Runtime;
use std::panic::{catch_unwind, AssertUnwindSafe};

#[test]
fn returns_the_value() {
    let rt = Runtime::builder().workers(2).thread_name("bo").build().unwrap();
    assert_eq!(rt.block_on(|| 40 + 2), 42);
    assert_eq!(rt.block_on(|| String::from("owned")), "owned");
    assert_eq!(rt.block_on(|| [5u64; 64]), [5u64; 64]);
    rt.block_on(|| ());
    // It runs on a worker, not on the calling thread.
    assert!(rt.block_on(thread_name).starts_with("bo-"));
    // Through a handle too.
    assert_eq!(rt.handle().block_on(|| 7), 7);
}

#[test]
fn borrows_from_the_callers_stack() {
    let rt = runtime(2);
    let words = ["alpha", "beta", "gamma"];
    let total: usize = rt.block_on(|| words.iter().map(|w| w.len()).sum());
    assert_eq!(total, 14);
    // Mutably.
    let mut numbers = vec![1, 2, 3];
    rt.block_on(|| numbers.push(4));
    assert_eq!(numbers, [1, 2, 3, 4]);
    // Returning a borrow of the caller's data.
    let text = String::from("borrowed output");
    let slice: &str = rt.block_on(|| &text[..8]);
    assert_eq!(slice, "borrowed");
    // Spawned tasks inside may use the borrowed data through a scope.
    let mut data = vec![0u32; 100];
    rt.block_on(|| {
        fibra::scope(|s| {
            for (i, x) in data.iter_mut().enumerate() {
                s.spawn(move || *x = i as u32 * 2);
            }
        })
    });
    assert!(data.iter().enumerate().all(|(i, &x)| x == i as u32 * 2));
}

#[test]
fn reraises_the_closures_panic() {
    silence_intentional_panics();
    let rt = runtime(2);
    let caught = catch_unwind(AssertUnwindSafe(|| {
        rt.block_on(|| -> u32 { panic!("intentional test panic: block_on") })
    }));
    assert_eq!(
        panic_message(&*caught.unwrap_err()),
        Some("intentional test panic: block_on")
    );
    let n = 3;
    let caught = catch_unwind(AssertUnwindSafe(|| {
        rt.block_on(|| panic!("intentional test panic: {n}"))
    }));
    assert_eq!(
        panic_message(&*caught.unwrap_err()),
        Some("intentional test panic: 3")
    );
    // A panic of a task spawned inside, re-raised by the block_on closure.
    let caught = catch_unwind(AssertUnwindSafe(|| {
        rt.block_on(|| {
            let h = fibra::spawn(|| panic!("intentional test panic: child"));
            std::panic::resume_unwind(h.join().unwrap_err().into_panic())
        })
    }));
    assert_eq!(
        panic_message(&*caught.unwrap_err()),
        Some("intentional test panic: child")
    );
    // The runtime still works, repeatedly.
    for i in 0..100 {
        assert_eq!(rt.block_on(move || i * 2), i * 2);
    }
}

#[test]
fn nested_block_on_inside_a_task_runs_in_place() {
    with_hang_guard("nested block_on", || {
        let rt = runtime(2);
        let handle = rt.handle().clone();
        let (outer, inner, value) = rt.block_on(|| {
            let outer = std::thread::current().id();
            let mut local = 1;
            let (inner, value) = handle.block_on(|| {
                local += 1;
                let inner = std::thread::current().id();
                // And once more, three deep, with spawns inside.
                let v = handle.block_on(|| {
                    let hs: Vec<_> = (0..100).map(|i| fibra::spawn(move || i)).collect();
                    hs.into_iter().map(|h| h.join().unwrap()).sum::<i32>()
                });
                (inner, v)
            });
            assert_eq!(local, 2);
            (outer, inner, value)
        });
        assert_eq!(
            outer, inner,
            "a nested block_on of the same runtime runs in place"
        );
        assert_eq!(value, 4950);
        // Inside a spawned task as well.
        let handle = rt.handle().clone();
        assert_eq!(rt.spawn(move || handle.block_on(|| 5)).join().unwrap(), 5);
    });
}

#[test]
fn block_on_of_another_runtime_inside_a_task() {
    with_hang_guard("cross-runtime block_on", || {
        let first = Runtime::builder()
            .workers(2)
            .thread_name("first")
            .build()
            .unwrap();
        let second = Runtime::builder()
            .workers(2)
            .thread_name("second")
            .build()
            .unwrap();
        let second_handle = second.handle().clone();
        let (outer, inner) = first.block_on(|| {
            let inner = second_handle.block_on(|| {
                let hs: Vec<_> = (0..100).map(|_| fibra::spawn(thread_name)).collect();
                let names: Vec<String> = hs.into_iter().map(|h| h.join().unwrap()).collect();
                assert!(names.iter().all(|n| n.starts_with("second-")), "{names:?}");
                thread_name()
            });
            (thread_name(), inner)
        });
        assert!(outer.starts_with("first-"), "{outer}");
        assert!(inner.starts_with("second-"), "{inner}");
        // Many at once, from tasks on every worker of the first runtime.
        let hs: Vec<_> = (0..50u64)
            .map(|i| {
                let second_handle = second_handle.clone();
                first.spawn(move || second_handle.block_on(move || i * i))
            })
            .collect();
        let sum: u64 = hs.into_iter().map(|h| h.join().unwrap()).sum();
        assert_eq!(sum, (0..50u64).map(|i| i * i).sum());
    });
}

#[test]
fn block_on_from_many_threads_at_once() {
    with_hang_guard("block_on from threads", || {
        let rt = runtime(3);
        let results: Vec<u64> = std::thread::scope(|s| {
            let threads: Vec<_> = (0..16u64)
                .map(|t| {
                    let rt = &rt;
                    s.spawn(move || (0..200).map(|i| rt.block_on(move || t * 1000 + i)).sum::<u64>())
                })
                .collect();
            threads.into_iter().map(|t| t.join().unwrap()).collect()
        });
        for (t, sum) in results.into_iter().enumerate() {
            assert_eq!(sum, 200 * t as u64 * 1000 + 199 * 200 / 2);
        }
    });
}
