//! `Builder` and the `FIBRA_WORKERS` variable: `workers(0)` (and a count
//! above the supported maximum, or a stack size out of range) is an
//! `io::ErrorKind::InvalidInput` error, not a panic; worker threads are named
//! `PREFIX-0..N`; `num_workers` matches; tasks get the configured stack size
//! (more than 32 MiB of stack with a 64 MiB setting, half the default with
//! the default); `FIBRA_WORKERS` sets the default worker count, bad values are
//! `InvalidInput` errors, `Builder::workers` overrides it, and without it the
//! default is the available parallelism. The environment cases run in child
//! processes (this test binary re-run with the variable set and a filter), so
//! that no test calls `std::env::set_var` in this multi-threaded process.

mod common;

use fibra::{Builder, Runtime, WORKERS_ENV};
use std::collections::BTreeSet;
use std::io;
use std::process::Command;
use std::sync::{Arc, Barrier};

#[test]
fn zero_workers_is_an_invalid_input_error() {
    let error = Runtime::builder().workers(0).build().unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
    let error = Builder::new().workers(0).thread_name("x").build().unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
    let error = Builder::default().workers(1 << 20).build().unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
    let error = Builder::new().workers(usize::MAX).build().unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
    for bytes in [0, 1, 4096, usize::MAX] {
        let error = Builder::new()
            .workers(1)
            .worker_stack_size(bytes)
            .build()
            .unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidInput, "stack size {bytes}");
    }
}

/// Recurses `depth` times with 1 KiB of live data per frame: uses more than
/// `depth` KiB of stack.
fn use_stack(depth: usize) -> u64 {
    let mut frame = [0u8; 1024];
    frame[depth % 1024] = depth as u8;
    std::hint::black_box(&mut frame);
    if depth == 0 {
        return 0;
    }
    use_stack(depth - 1) + u64::from(std::hint::black_box(frame[depth % 1024] == depth as u8))
}

#[test]
fn tasks_get_the_configured_stack_size() {
    // The default fiber stack (1 MiB) holds half its size of task stack ...
    let half_kib = fibra::DEFAULT_STACK_SIZE >> 11;
    let rt = Runtime::builder().workers(2).build().unwrap();
    assert_eq!(
        rt.spawn(move || use_stack(half_kib)).join().unwrap(),
        half_kib as u64
    );
    // ... and an explicit size is applied: 40 MiB of stack in a task would
    // overflow (abort) with the default.
    let rt = Runtime::builder()
        .workers(2)
        .stack_size(64 << 20)
        .build()
        .unwrap();
    assert_eq!(rt.spawn(|| use_stack(40 * 1024)).join().unwrap(), 40 * 1024);
    assert_eq!(rt.block_on(|| use_stack(40 * 1024)), 40 * 1024);
    // The smallest allowed sizes still run tasks.
    let rt = Runtime::builder()
        .workers(1)
        .worker_stack_size(64 << 10)
        .stack_size(fibra::MIN_STACK_SIZE)
        .build()
        .unwrap();
    assert_eq!(rt.spawn(|| use_stack(4)).join().unwrap(), 4);
    for bytes in [0, fibra::MIN_STACK_SIZE - 1, fibra::MAX_STACK_SIZE + 1] {
        let error = Builder::new().workers(1).stack_size(bytes).build().unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidInput, "stack size {bytes}");
    }
}

/// The names of all worker threads: one task per worker, each held at a
/// barrier until all have started, so that they run on distinct workers.
fn worker_names(rt: &Runtime) -> BTreeSet<String> {
    let n = rt.num_workers();
    let barrier = Arc::new(Barrier::new(n));
    let hs: Vec<_> = (0..n)
        .map(|_| {
            let barrier = barrier.clone();
            rt.spawn(move || {
                barrier.wait();
                common::thread_name()
            })
        })
        .collect();
    hs.into_iter().map(|h| h.join().unwrap()).collect()
}

#[test]
fn worker_threads_carry_the_name_prefix() {
    for n in [1, 3, 5] {
        let rt = Runtime::builder()
            .workers(n)
            .thread_name("custom-prefix")
            .build()
            .unwrap();
        assert_eq!(rt.num_workers(), n);
        assert_eq!(rt.handle().num_workers(), n);
        assert_eq!(rt.metrics().workers.len(), n);
        let expected: BTreeSet<String> = (0..n).map(|i| format!("custom-prefix-{i}")).collect();
        assert_eq!(worker_names(&rt), expected);
        assert!(format!("{rt:?}").contains(&n.to_string()));
    }
    // The default prefix.
    let rt = Runtime::builder().workers(2).build().unwrap();
    let expected: BTreeSet<String> = ["fibra-worker-0", "fibra-worker-1"].map(String::from).into();
    assert_eq!(worker_names(&rt), expected);
    // A builder is reusable through Clone.
    let builder = Runtime::builder().workers(2).thread_name("cloned");
    let a = builder.clone().build().unwrap();
    let b = builder.build().unwrap();
    assert_eq!(a.num_workers() + b.num_workers(), 4);
}

/// Set (by the parent test) in a child process to select what it checks.
const CHILD_CASE: &str = "FIBRA_TEST_BUILDER_CHILD";

/// Runs in a child process only (a no-op otherwise): checks the default
/// worker count under the `FIBRA_WORKERS` value its parent chose.
#[test]
fn env_child() {
    let Ok(case) = std::env::var(CHILD_CASE) else {
        return;
    };
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    match case.as_str() {
        "valid" => {
            let expected: usize = std::env::var(WORKERS_ENV).unwrap().trim().parse().unwrap();
            assert_eq!(Runtime::new().unwrap().num_workers(), expected);
            assert_eq!(Builder::new().build().unwrap().num_workers(), expected);
            // An explicit count wins over the variable.
            assert_eq!(Builder::new().workers(2).build().unwrap().num_workers(), 2);
            // The global runtime uses it too.
            let names: BTreeSet<String> = (0..200)
                .map(|_| fibra::spawn(common::thread_name))
                .collect::<Vec<_>>()
                .into_iter()
                .map(|h| h.join().unwrap())
                .collect();
            assert!(names.len() <= expected, "{names:?}");
            assert!(names.iter().all(|n| n.starts_with("fibra-worker-")));
        }
        "invalid" => {
            let error = Runtime::new().unwrap_err();
            assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
            assert!(error.to_string().contains(WORKERS_ENV), "{error}");
            let error = Builder::new().thread_name("x").build().unwrap_err();
            assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
            // An explicit count does not read the variable.
            assert_eq!(Builder::new().workers(3).build().unwrap().num_workers(), 3);
        }
        "unset" => {
            assert!(std::env::var_os(WORKERS_ENV).is_none());
            assert_eq!(Runtime::new().unwrap().num_workers(), cpus);
        }
        other => panic!("unknown child case {other:?}"),
    }
    println!("CHILD-CHECKED {case}");
}

/// Re-runs this binary's `env_child` test with `FIBRA_WORKERS` set to
/// `value` (or removed) and asserts that it ran and passed.
fn run_child(case: &str, value: Option<&str>) {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args(["env_child", "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_CASE, case);
    match value {
        Some(value) => command.env(WORKERS_ENV, value),
        None => command.env_remove(WORKERS_ENV),
    };
    let output = command.output().expect("run the test binary as a child");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "child {case} with {WORKERS_ENV}={value:?} failed:\n{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains(&format!("CHILD-CHECKED {case}")),
        "child {case} did not run its checks:\n{stdout}\n{stderr}"
    );
}

#[test]
fn fibra_workers_env_sets_the_default() {
    for value in ["1", "3", "7", " 4\n", "16"] {
        run_child("valid", Some(value));
    }
}

#[test]
fn malformed_fibra_workers_is_an_invalid_input_error() {
    for value in ["0", "", "-2", "two", "1.5", "99999999", "18446744073709551616"] {
        run_child("invalid", Some(value));
    }
}

#[test]
fn without_fibra_workers_the_default_is_the_available_parallelism() {
    run_child("unset", None);
}
