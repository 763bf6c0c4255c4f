//! fibra: `rt.block_on` + `fibra::spawn` (inside), `rt.spawn` from the main
//! thread (outside), `fibra::join` inside `rt.block_on` (fib, skynet
//! fork-join), `fibra::spawn` + `JoinHandle::join` per node (skynet spawn).

use crate::workloads::{skynet_fork_join_with, Half, Peer, SKYNET_FAN_OUT};

/// A fibra runtime, built once and reused for every run.
pub struct FibraPeer {
    rt: ::fibra::Runtime,
}

impl FibraPeer {
    /// Starts a fibra runtime with `workers` workers.
    pub fn new(workers: usize) -> FibraPeer {
        let rt = ::fibra::Runtime::builder()
            .workers(workers)
            .build()
            .expect("fibra: cannot build the runtime");
        FibraPeer { rt }
    }
}

impl Peer for FibraPeer {
    fn name(&self) -> &str {
        "fibra"
    }

    fn spawn_burst_inside(&self, n: u64) -> u64 {
        self.rt.block_on(|| {
            let handles: Vec<_> = (0..n).map(|i| ::fibra::spawn(move || i)).collect();
            handles.into_iter().map(|h| h.join().unwrap()).sum()
        })
    }

    fn spawn_burst_outside(&self, n: u64) -> Option<u64> {
        let handles: Vec<_> = (0..n).map(|i| self.rt.spawn(move || i)).collect();
        Some(handles.into_iter().map(|h| h.join().unwrap()).sum())
    }

    fn fib(&self, n: u64) -> Option<u64> {
        Some(self.rt.block_on(|| fib(n)))
    }

    fn skynet_spawn(&self, leaves: u64) -> Option<u64> {
        Some(self.rt.block_on(|| skynet_spawn(0, leaves)))
    }

    fn skynet_fork_join(&self, leaves: u64) -> Option<u64> {
        let join = |a: Half<'_>, b: Half<'_>| ::fibra::join(a, b);
        Some(self.rt.block_on(|| skynet_fork_join_with(0, leaves, &join)))
    }
}

fn skynet_spawn(num: u64, size: u64) -> u64 {
    if size == 1 {
        return num;
    }
    let child = size / SKYNET_FAN_OUT;
    let handles: Vec<_> = (0..SKYNET_FAN_OUT)
        .map(|i| ::fibra::spawn(move || skynet_spawn(num + i * child, child)))
        .collect();
    handles.into_iter().map(|h| h.join().unwrap()).sum()
}

fn fib(n: u64) -> u64 {
    if n < 2 {
        return n;
    }
    let (a, b) = ::fibra::join(|| fib(n - 1), || fib(n - 2));
    a + b
}
