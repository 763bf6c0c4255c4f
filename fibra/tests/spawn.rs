//! Spawning: a million tasks (release; fewer in debug) spawned from inside
//! tasks and from outside each run exactly once; `JoinHandle::join` returns
//! the values; `is_finished`; dropping a handle detaches the task (it still
//! runs, its output is dropped); closures above the 80-byte inline payload,
//! over-aligned and zero-sized closures, and large outputs all work;
//! `fibra::spawn` from a thread that is not a worker uses the global runtime.

mod common;

use common::{runtime, scaled, thread_name, wait_for, with_hang_guard, RunTracker};
use fibra::Runtime;
use std::mem::size_of_val;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

#[test]
fn a_million_spawns_each_run_exactly_once() {
    with_hang_guard("million", || {
        let n = scaled(200_000, 1_000_000);
        let rt = Runtime::builder().workers(4).build().unwrap();
        let tracker = RunTracker::leak(n);
        let half = n / 2;
        std::thread::scope(|s| {
            // Inside: a task spawning through the worker-local path.
            let inside = s.spawn(|| {
                rt.block_on(|| {
                    let handles: Vec<_> = (0..half)
                        .map(|i| {
                            fibra::spawn(move || {
                                tracker.record(i);
                                i as u64 * 3
                            })
                        })
                        .collect();
                    let mut sum = 0u64;
                    for (i, handle) in handles.into_iter().enumerate() {
                        let value = handle.join().expect("task failed");
                        assert_eq!(value, i as u64 * 3);
                        sum += value;
                    }
                    sum
                })
            });
            // Outside, at the same time: the global-queue path.
            let handles: Vec<_> = (half..n)
                .map(|i| {
                    rt.spawn(move || {
                        tracker.record(i);
                        i as u64 * 3
                    })
                })
                .collect();
            for (i, handle) in (half..n).zip(handles) {
                assert_eq!(handle.join().expect("task failed"), i as u64 * 3);
            }
            let inside_sum = inside.join().unwrap();
            assert_eq!(inside_sum, 3 * (half as u64) * (half as u64 - 1) / 2);
        });
        tracker.assert_each_ran_once();
        let m = rt.metrics();
        assert_eq!(
            m.total().completed,
            n as u64 + 1,
            "n tasks plus the block_on task"
        );
        assert_eq!(m.cancelled, 0);
        rt.shutdown();
    });
}

#[test]
fn spawns_from_inside_tasks_use_the_tasks_runtime() {
    let rt = Runtime::builder()
        .workers(2)
        .thread_name("spawn-inside")
        .build()
        .unwrap();
    let names = rt
        .spawn(|| {
            let handles: Vec<_> = (0..100).map(|_| fibra::spawn(thread_name)).collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect::<Vec<_>>()
        })
        .join()
        .unwrap();
    for name in names {
        assert!(
            name.starts_with("spawn-inside-"),
            "a child task ran on thread {name:?}"
        );
    }
    assert!(
        rt.metrics().total().spawned >= 100,
        "children are counted as spawned by workers"
    );
}

#[test]
fn join_returns_values_of_every_type() {
    let rt = Runtime::builder().workers(2).build().unwrap();
    assert_eq!(rt.spawn(|| 6 * 7).join().unwrap(), 42);
    assert_eq!(rt.spawn(|| "text".to_string() + "!").join().unwrap(), "text!");
    rt.spawn(|| ()).join().unwrap();
    let v = rt.spawn(|| (0..1000).collect::<Vec<u32>>()).join().unwrap();
    assert_eq!(v.len(), 1000);
    assert_eq!(v[999], 999);
    let boxed: Box<dyn std::any::Any + Send> = rt
        .spawn(|| Box::new(7u8) as Box<dyn std::any::Any + Send>)
        .join()
        .unwrap();
    assert_eq!(boxed.downcast_ref::<u8>(), Some(&7));
    let (a, b) = rt.spawn(|| (u128::MAX, -1i8)).join().unwrap();
    assert_eq!((a, b), (u128::MAX, -1));
}

#[test]
fn is_finished_tracks_completion() {
    let rt = Runtime::builder().workers(2).build().unwrap();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let handle = rt.spawn(move || {
        release_rx.recv().unwrap();
        5
    });
    std::thread::sleep(Duration::from_millis(20));
    assert!(!handle.is_finished(), "the task is still blocked");
    release_tx.send(()).unwrap();
    wait_for("is_finished", || handle.is_finished());
    assert!(format!("{handle:?}").contains("true"));
    assert_eq!(handle.join().unwrap(), 5);

    // A handle is Sync: is_finished may be polled from another thread.
    let handle = rt.spawn(|| 1);
    std::thread::scope(|s| {
        s.spawn(|| wait_for("is_finished from another thread", || handle.is_finished()));
    });
    assert_eq!(handle.join().unwrap(), 1);
}

/// Counts the drops of task outputs.
struct CountedOutput(&'static AtomicUsize);

impl Drop for CountedOutput {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn dropping_a_handle_detaches_the_task() {
    with_hang_guard("detach", || {
        let rt = Runtime::builder().workers(2).build().unwrap();
        let n = 1000;

        // Detached before the tasks can finish (they wait for `gate`), so the
        // runner owns the outputs and must drop them.
        static RUNNER_DROPS: AtomicUsize = AtomicUsize::new(0);
        let (ran_tx, ran_rx) = mpsc::channel();
        let gate = Arc::new(AtomicBool::new(false));
        for i in 0..n {
            let ran_tx = ran_tx.clone();
            let gate = gate.clone();
            drop(rt.spawn(move || {
                while !gate.load(Ordering::Acquire) {
                    std::thread::yield_now();
                }
                ran_tx.send(i).unwrap();
                CountedOutput(&RUNNER_DROPS)
            }));
        }
        gate.store(true, Ordering::Release);
        drop(ran_tx);
        let mut ran: Vec<usize> = ran_rx.iter().collect();
        ran.sort_unstable();
        assert_eq!(ran, (0..n).collect::<Vec<_>>(), "every detached task ran once");
        wait_for("detached outputs to be dropped", || {
            RUNNER_DROPS.load(Ordering::SeqCst) == n
        });

        // Detached after completion: the handle drops the stored output.
        static HANDLE_DROPS: AtomicUsize = AtomicUsize::new(0);
        let handles: Vec<_> = (0..n)
            .map(|_| rt.spawn(|| CountedOutput(&HANDLE_DROPS)))
            .collect();
        for h in &handles {
            wait_for("completion", || h.is_finished());
        }
        assert_eq!(
            HANDLE_DROPS.load(Ordering::SeqCst),
            0,
            "outputs are kept for the handles"
        );
        drop(handles);
        assert_eq!(HANDLE_DROPS.load(Ordering::SeqCst), n);

        // Detached from inside a task.
        let (tx, rx) = mpsc::channel();
        rt.block_on(|| {
            for i in 0..n {
                let tx = tx.clone();
                drop(fibra::spawn(move || tx.send(i).unwrap()));
            }
        });
        drop(tx);
        let mut ran: Vec<usize> = rx.iter().collect();
        ran.sort_unstable();
        assert_eq!(ran, (0..n).collect::<Vec<_>>());
    });
}

/// Runs a closure that captures `N` bytes and returns them transformed, so
/// that closures and outputs on both sides of the 80-byte inline payload are
/// covered (inline and boxed).
fn roundtrip<const N: usize>(rt: &Runtime) {
    let mut data = [0u8; N];
    for (i, b) in data.iter_mut().enumerate() {
        *b = (i * 7 + N) as u8;
    }
    let closure = move || {
        let mut out = data;
        out.reverse();
        out
    };
    assert!(size_of_val(&closure) >= N);
    let out = rt.spawn(closure).join().unwrap();
    let mut expected = data;
    expected.reverse();
    assert_eq!(out[..], expected[..], "N = {N}");
    // And from inside a task (the local path).
    let out = rt.block_on(|| fibra::spawn(closure).join().unwrap());
    assert_eq!(out[..], expected[..], "N = {N}, spawned inside");
}

#[test]
fn closures_and_outputs_of_any_size() {
    // Tasks run on fiber stacks; a 16 KiB closure is copied several times
    // on the way in a debug build, so give it room: 1 MiB (the default
    // today, set here so that the test does not depend on it).
    let rt = Runtime::builder().workers(2).stack_size(1 << 20).build().unwrap();
    roundtrip::<1>(&rt);
    roundtrip::<8>(&rt);
    roundtrip::<48>(&rt);
    roundtrip::<79>(&rt);
    roundtrip::<80>(&rt);
    roundtrip::<81>(&rt);
    roundtrip::<88>(&rt);
    roundtrip::<95>(&rt);
    roundtrip::<96>(&rt);
    roundtrip::<97>(&rt);
    roundtrip::<104>(&rt);
    roundtrip::<200>(&rt);
    roundtrip::<4096>(&rt);
    roundtrip::<16_384>(&rt);
}

#[test]
fn closure_larger_than_80_bytes_is_boxed_and_works() {
    let rt = Runtime::builder().workers(2).build().unwrap();
    let big = [3u64; 40]; // 320 bytes
    let tag = String::from("big");
    let closure = move || (big.iter().sum::<u64>(), tag);
    assert!(size_of_val(&closure) > 80); // the inline payload's size
    assert_eq!(rt.spawn(closure).join().unwrap(), (120, "big".to_string()));
    // Many of them at once, from inside.
    let sum: u64 = rt.block_on(|| {
        let handles: Vec<_> = (0..1000u64)
            .map(|i| {
                let mut data = [i; 32];
                data[31] = 1;
                fibra::spawn(move || data.iter().sum::<u64>())
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    });
    assert_eq!(sum, (0..1000u64).map(|i| 31 * i + 1).sum());
}

#[test]
fn zero_sized_closures_work() {
    let rt = Runtime::builder().workers(2).build().unwrap();
    let closure = || 99u8;
    assert_eq!(size_of_val(&closure), 0);
    assert_eq!(rt.spawn(closure).join().unwrap(), 99);
    fn plain() -> &'static str {
        "fn item"
    }
    assert_eq!(size_of_val(&plain), 0);
    assert_eq!(rt.spawn(plain).join().unwrap(), "fn item");
    let units: Vec<_> = (0..1000).map(|_| rt.spawn(|| ())).collect();
    units.into_iter().for_each(|h| h.join().unwrap());
    rt.block_on(|| {
        let hs: Vec<_> = (0..1000).map(|_| fibra::spawn(|| {})).collect();
        hs.into_iter().for_each(|h| h.join().unwrap());
    });
}

#[test]
fn large_outputs_work() {
    let rt = Runtime::builder().workers(2).build().unwrap();
    let handles: Vec<_> = (0..100u64)
        .map(|k| {
            rt.spawn(move || {
                let mut out = [0u64; 64];
                for (i, x) in out.iter_mut().enumerate() {
                    *x = k * 1000 + i as u64;
                }
                out
            })
        })
        .collect();
    for (k, h) in handles.into_iter().enumerate() {
        let out: [u64; 64] = h.join().unwrap();
        for (i, x) in out.iter().enumerate() {
            assert_eq!(*x, k as u64 * 1000 + i as u64);
        }
    }
    let out = rt.block_on(|| fibra::spawn(|| [7u64; 64]).join().unwrap());
    assert_eq!(out, [7u64; 64]);
}

#[repr(align(64))]
#[derive(Clone, Copy)]
struct Align64([u8; 64]);

#[repr(align(128))]
#[derive(Clone, Copy, PartialEq, Debug)]
struct Align128(u32);

#[test]
fn over_aligned_closures_and_outputs_work() {
    let rt = Runtime::builder().workers(2).build().unwrap();
    let value = Align64([9; 64]);
    let handles: Vec<_> = (0..100)
        .map(|_| {
            rt.spawn(move || {
                let captured = &value;
                let address = captured as *const Align64 as usize;
                assert_eq!(address % 64, 0, "captured value is misaligned");
                Align128(captured.0.iter().map(|&b| b as u32).sum())
            })
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap(), Align128(9 * 64));
    }
}

#[test]
fn spawn_from_a_non_worker_thread_uses_the_global_runtime() {
    // A custom runtime exists, but a plain thread's fibra::spawn must not use it.
    let custom = Runtime::builder()
        .workers(2)
        .thread_name("not-global")
        .build()
        .unwrap();
    let name = fibra::spawn(thread_name).join().unwrap();
    assert!(
        name.starts_with("fibra-worker-"),
        "ran on {name:?}, not on the global runtime"
    );
    assert_ne!(std::thread::current().name(), Some(name.as_str()));
    // Its children stay on the global runtime too.
    let names = fibra::spawn(|| {
        let hs: Vec<_> = (0..50).map(|_| fibra::spawn(thread_name)).collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect::<Vec<_>>()
    })
    .join()
    .unwrap();
    assert!(names.iter().all(|n| n.starts_with("fibra-worker-")), "{names:?}");
    // Many plain threads at once.
    let results: Vec<u64> = std::thread::scope(|s| {
        let threads: Vec<_> = (0..4u64)
            .map(|t| s.spawn(move || fibra::spawn(move || t * 10).join().unwrap()))
            .collect();
        threads.into_iter().map(|t| t.join().unwrap()).collect()
    });
    assert_eq!(results, [0, 10, 20, 30]);
    assert_eq!(
        custom.metrics().total().completed,
        0,
        "nothing ran on the custom runtime"
    );
}

/// Tasks spawned last run first (the next slots), but not forever: on one
/// worker, endless chains of tasks, each link spawning the next, and a task
/// spawned before them. With sixteen chains the older task is pushed out of
/// the next slots into the run queue; with one chain the next slots never
/// fill, and the older task still has to get its turn. Either way it runs
/// (and stops the chains) after the chains had their sixteen runs, not
/// before.
#[test]
fn chains_of_spawns_do_not_starve_older_tasks() {
    fn link(stop: &'static AtomicBool, links: &'static AtomicUsize) {
        links.fetch_add(1, Ordering::Relaxed);
        if !stop.load(Ordering::Relaxed) {
            drop(fibra::spawn(move || link(stop, links)));
        }
    }
    for chains in [1, 16] {
        with_hang_guard("spawn chains", move || {
            let rt = runtime(1);
            let stop: &'static AtomicBool = Box::leak(Box::new(AtomicBool::new(false)));
            let links: &'static AtomicUsize = Box::leak(Box::new(AtomicUsize::new(0)));
            let older = rt.block_on(move || {
                let older = fibra::spawn(move || {
                    stop.store(true, Ordering::Relaxed);
                    links.load(Ordering::Relaxed)
                });
                for _ in 0..chains {
                    drop(fibra::spawn(move || link(stop, links)));
                }
                older
            });
            let links_before_older = older.join().unwrap();
            assert!(
                links_before_older >= 16,
                "{chains} chain(s): the older task ran after {links_before_older} links, \
                 before the next slots had their 16 runs"
            );
        });
    }
}
