//! What sleeping costs the runtime: `TASKS` tasks on `WORKERS` workers each
//! sleep 1 ms `SLEEPS` times. Prints the wall time and the process's CPU time
//! (`getrusage`, user + system) per sleep: parking the fiber, the timer's
//! insert, firing and cancel, the worker's timed futex waits, and resuming.
//!
//! `cargo run --release -p fibra --example sleep_cost [TASKS] [SLEEPS] [WORKERS]`

use std::time::{Duration, Instant};

fn process_cpu_time() -> Duration {
    // SAFETY: an all-zero rusage is a valid value to be overwritten.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `usage` is a valid, writable rusage.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    assert_eq!(rc, 0, "getrusage failed");
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

fn arg(index: usize, default: usize) -> usize {
    std::env::args()
        .nth(index)
        .map_or(default, |a| a.parse().expect("a number"))
}

fn main() -> std::io::Result<()> {
    let (tasks, sleeps, workers) = (arg(1, 10_000), arg(2, 100), arg(3, 2));
    let rt = fibra::Runtime::builder().workers(workers).build()?;
    // Warm up: fibers and stacks for every task exist afterwards.
    let run = |sleeps: usize| {
        let handles: Vec<_> = (0..tasks)
            .map(|_| {
                rt.spawn(move || {
                    for _ in 0..sleeps {
                        fibra::time::sleep(Duration::from_millis(1));
                    }
                })
            })
            .collect();
        handles.into_iter().for_each(|h| h.join().unwrap());
    };
    run(1);
    let (wall, cpu) = (Instant::now(), process_cpu_time());
    run(sleeps);
    let (wall, cpu) = (wall.elapsed(), process_cpu_time() - cpu);
    let total = (tasks * sleeps) as f64;
    println!(
        "{tasks} tasks x {sleeps} sleeps of 1 ms on {workers} workers: wall {wall:.2?}, \
         CPU {cpu:.2?}, {:.0} ns of CPU per sleep",
        cpu.as_nanos() as f64 / total
    );
    rt.shutdown();
    Ok(())
}
