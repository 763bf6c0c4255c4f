//! What the default fiber stack holds: a 32 KiB message passed by value
//! through a channel between two tasks (crossbeam-channel's `stack_overflow`
//! test, run inside tasks), on a runtime built without `Builder::stack_size`,
//! for `bounded(0)`, `bounded(1)` and `unbounded` channels. The receiver
//! blocks first, so both tasks really run on fiber stacks and park there.
//!
//! An overflow aborts the process, so the tasks run in a child process (this
//! test binary re-run with a variable set and a filter) and the parent
//! reports what the child printed.
//!
//! `smallest_stacks` (ignored) measures the smallest `Builder::stack_size`
//! on which messages of several sizes pass, and on which a task keeps
//! locals of several sizes across a blocking receive (the basis of what
//! `DEFAULT_STACK_SIZE`'s documentation says the default holds):
//! `cargo test [--release] -p fibra --test stack_default -- --ignored --nocapture`.

mod common;

use std::process::Command;

/// Set (by the parent test) in a child process: what it runs, `message-K`
/// (K KiB messages, [`pass_big_messages`]) or `locals-K` (K KiB of locals,
/// [`hold_locals_across_recv`]).
const CHILD_CASE: &str = "FIBRA_TEST_BIG_STACK_CASE";
/// Set with [`CHILD_CASE`] to use `Builder::stack_size(bytes)` instead of
/// the default.
const CHILD_STACK_SIZE: &str = "FIBRA_TEST_BIG_STACK_SIZE";

/// Messages each task pair passes (a `bounded(1)` sender may block on the
/// second or third while holding its value).
const MESSAGES: u8 = 3;

/// A message of `N` bytes, passed by value (crossbeam's shape: a struct
/// around a byte array).
struct BigStruct<const N: usize> {
    data: [u8; N],
}

/// The channel flavours the test sends through.
#[derive(Clone, Copy, Debug)]
enum Flavour {
    Rendezvous,
    BoundedOne,
    Unbounded,
}

impl Flavour {
    const ALL: [Flavour; 3] = [Flavour::Rendezvous, Flavour::BoundedOne, Flavour::Unbounded];

    fn channel<T>(self) -> (fibra::chan::Sender<T>, fibra::chan::Receiver<T>) {
        match self {
            Flavour::Rendezvous => fibra::chan::bounded(0),
            Flavour::BoundedOne => fibra::chan::bounded(1),
            Flavour::Unbounded => fibra::chan::unbounded(),
        }
    }
}

/// In a runtime with one worker: a task blocks receiving `N`-byte messages
/// by value; once it is parked, another task builds and sends them by value.
fn pass_big_messages<const N: usize>(stack_size: Option<usize>) {
    let mut builder = fibra::Runtime::builder().workers(1);
    if let Some(bytes) = stack_size {
        builder = builder.stack_size(bytes);
    }
    let rt = builder.build().unwrap();
    for flavour in Flavour::ALL {
        let (tx, rx) = flavour.channel::<BigStruct<N>>();
        let receiver = rt.spawn(move || {
            let mut sum = 0u64;
            for _ in 0..MESSAGES {
                let message: BigStruct<N> = rx.recv().unwrap();
                sum += std::hint::black_box(&message)
                    .data
                    .iter()
                    .map(|&b| u64::from(b))
                    .sum::<u64>();
            }
            sum
        });
        let parks_before = rt.metrics().total().fiber_parks;
        common::wait_for("the receiver to park", || {
            rt.metrics().total().fiber_parks > parks_before
        });
        let sender = rt.spawn(move || {
            for i in 1..=MESSAGES {
                let mut message = BigStruct { data: [i; N] };
                std::hint::black_box(&mut message);
                if tx.send(message).is_err() {
                    panic!("the receiver is gone");
                }
            }
        });
        sender.join().unwrap();
        let expected = (1..=u64::from(MESSAGES)).sum::<u64>() * N as u64;
        assert_eq!(receiver.join().unwrap(), expected, "{flavour:?}");
    }
}

/// In a runtime with one worker: a task holds an `N`-byte local across a
/// blocking receive (it blocks first; the main thread sends once it parked).
fn hold_locals_across_recv<const N: usize>(stack_size: Option<usize>) {
    let mut builder = fibra::Runtime::builder().workers(1);
    if let Some(bytes) = stack_size {
        builder = builder.stack_size(bytes);
    }
    let rt = builder.build().unwrap();
    let (tx, rx) = fibra::chan::bounded::<u64>(0);
    let task = rt.spawn(move || {
        let mut local = [1u8; N];
        std::hint::black_box(&mut local);
        let got = rx.recv().unwrap();
        std::hint::black_box(&mut local);
        local.iter().map(|&b| u64::from(b)).sum::<u64>() + got
    });
    common::wait_for("the task to park", || rt.metrics().total().parked_fibers == 1);
    tx.send(1).unwrap();
    assert_eq!(task.join().unwrap(), N as u64 + 1);
}

/// Child process only (a no-op otherwise): runs the case its parent chose.
#[test]
fn big_message_child() {
    let Ok(case) = std::env::var(CHILD_CASE) else {
        return;
    };
    let stack_size = std::env::var(CHILD_STACK_SIZE).ok().map(|s| s.parse().unwrap());
    match case.as_str() {
        "message-8" => pass_big_messages::<{ 8 << 10 }>(stack_size),
        "message-16" => pass_big_messages::<{ 16 << 10 }>(stack_size),
        "message-32" => pass_big_messages::<{ 32 << 10 }>(stack_size),
        "message-64" => pass_big_messages::<{ 64 << 10 }>(stack_size),
        "message-96" => pass_big_messages::<{ 96 << 10 }>(stack_size),
        "message-128" => pass_big_messages::<{ 128 << 10 }>(stack_size),
        "locals-0" => hold_locals_across_recv::<0>(stack_size),
        "locals-64" => hold_locals_across_recv::<{ 64 << 10 }>(stack_size),
        "locals-512" => hold_locals_across_recv::<{ 512 << 10 }>(stack_size),
        other => panic!("no child case {other:?}"),
    }
    println!("BIG-MESSAGE-CHILD-OK");
}

/// Runs [`big_message_child`] in a child process; `Err` carries its output.
fn run_child(case: &str, stack_size: Option<usize>) -> Result<(), String> {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args(["big_message_child", "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_CASE, case);
    match stack_size {
        Some(bytes) => command.env(CHILD_STACK_SIZE, bytes.to_string()),
        None => command.env_remove(CHILD_STACK_SIZE),
    };
    let output = command.output().expect("run the test binary as a child");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    if output.status.success() && stdout.contains("BIG-MESSAGE-CHILD-OK") {
        Ok(())
    } else {
        Err(format!("{}\n{stdout}\n{stderr}", output.status))
    }
}

#[test]
fn the_default_stack_passes_a_32_kib_message_by_value() {
    if let Err(output) = run_child("message-32", None) {
        panic!(
            "tasks passing a 32 KiB message by value on the default fiber stack ({} KiB) failed: {output}",
            fibra::DEFAULT_STACK_SIZE >> 10
        );
    }
}

/// Not a check: prints, for each case, the smallest fiber stack (to 4 KiB)
/// on which it passes.
#[test]
#[ignore = "a measurement; run with --ignored --nocapture"]
fn smallest_stacks() {
    const STEP: usize = 4 << 10;
    let build = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    let cases = [
        "message-8",
        "message-16",
        "message-32",
        "message-64",
        "message-96",
        "message-128",
        "locals-0",
        "locals-64",
        "locals-512",
    ];
    for case in cases {
        // Invariant: `low` fails (or is below the minimum), `high` passes.
        let (mut low, mut high) = (fibra::MIN_STACK_SIZE - STEP, 8 << 20);
        assert!(run_child(case, Some(high)).is_ok(), "{case} on {high} bytes");
        while high - low > STEP {
            let mid = (low + high) / 2 / STEP * STEP;
            if run_child(case, Some(mid)).is_ok() {
                high = mid;
            } else {
                low = mid;
            }
        }
        println!("{build}: {case} KiB needs a fiber stack of {} KiB", high >> 10);
    }
}
