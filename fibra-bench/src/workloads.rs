//! The workloads, and the one trait each runtime under comparison implements.
//!
//! A [`Peer`] runs a workload and returns its checked-by-the-caller result;
//! it returns `None` for a workload it has no natural form of (Tokio has no
//! fork-join `join`, Rayon has no "spawn from outside the pool" mode distinct
//! from its scope). Timing is done by the caller around [`Workload::run`].

use std::time::Duration;

/// A runtime under comparison. Implementations live in `src/peers/`, one
/// file each, and build their runtime once, in their constructor.
pub trait Peer {
    /// Short name shown in the table ("fibra", "tokio", "rayon").
    fn name(&self) -> &str;

    /// Spawns `n` tasks from inside a task (or worker) of this runtime; task
    /// `i` yields `i`. Waits for all of them and returns the sum of `0..n`.
    fn spawn_burst_inside(&self, n: u64) -> u64;

    /// Spawns `n` tasks from the calling (non-worker) thread; task `i` yields
    /// `i`. Waits for all of them and returns the sum, or `None` if the
    /// runtime has no distinct mode for this.
    fn spawn_burst_outside(&self, n: u64) -> Option<u64>;

    /// Computes `fib(n)` recursively with a fork-join `join` at every level,
    /// or `None` if the runtime has no fork-join primitive.
    fn fib(&self, n: u64) -> Option<u64>;

    /// Skynet (github.com/atemerev/skynet) with every node a spawned task:
    /// a tree of `leaves` leaves (a power of 10), fan-out 10; leaf `i` yields
    /// `i`, inner nodes sum their children through join handles. `None` if
    /// the runtime has no task-with-result to spawn.
    fn skynet_spawn(&self, _leaves: u64) -> Option<u64> {
        None
    }

    /// Skynet as a fork-join computation: the ten children of a node are
    /// summed by nested binary `join`s. `None` without a fork-join `join`.
    fn skynet_fork_join(&self, _leaves: u64) -> Option<u64> {
        None
    }
}

/// One half of a fork-join: a closure that can run on any thread.
pub type Half<'a> = &'a (dyn Fn() -> u64 + Sync);

/// Fan-out of the skynet tree.
pub const SKYNET_FAN_OUT: u64 = 10;

/// Skynet's fork-join shape, generic over the runtime's `join`: the sum of
/// the subtree of `size` leaves whose first leaf is `num`.
pub fn skynet_fork_join_with(
    num: u64,
    size: u64,
    join: &(impl Fn(Half<'_>, Half<'_>) -> (u64, u64) + Sync),
) -> u64 {
    if size == 1 {
        return num;
    }
    let child = size / SKYNET_FAN_OUT;
    children_sum(num, child, 0, SKYNET_FAN_OUT, join)
}

fn children_sum(
    num: u64,
    child: u64,
    lo: u64,
    hi: u64,
    join: &(impl Fn(Half<'_>, Half<'_>) -> (u64, u64) + Sync),
) -> u64 {
    if hi - lo == 1 {
        return skynet_fork_join_with(num + lo * child, child, join);
    }
    let mid = (lo + hi) / 2;
    let (a, b) = join(&|| children_sum(num, child, lo, mid, join), &|| {
        children_sum(num, child, mid, hi, join)
    });
    a + b
}

/// How a workload's elapsed time is reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// Nanoseconds per spawned task (elapsed / n).
    NsPerTask,
    /// Milliseconds for the whole run.
    MsTotal,
}

impl Unit {
    /// The label shown in the table.
    pub fn label(self) -> &'static str {
        match self {
            Unit::NsPerTask => "ns/task",
            Unit::MsTotal => "ms total",
        }
    }
}

/// One benchmark case.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Workload {
    /// `n` trivial tasks spawned from inside the runtime.
    SpawnInside(u64),
    /// `n` trivial tasks spawned from the main thread.
    SpawnOutside(u64),
    /// Recursive fork-join Fibonacci of this argument.
    Fib(u64),
    /// Skynet with a spawned task per node, this many leaves.
    SkynetSpawn(u64),
    /// Skynet as nested fork-join, this many leaves.
    SkynetForkJoin(u64),
}

impl Workload {
    /// The workloads of a full run, or of a `--quick` run.
    pub fn suite(quick: bool) -> Vec<Workload> {
        let sizes: &[u64] = if quick {
            &[10_000, 100_000]
        } else {
            &[10_000, 100_000, 1_000_000]
        };
        let mut suite: Vec<Workload> = sizes.iter().map(|&n| Workload::SpawnInside(n)).collect();
        suite.extend(sizes.iter().map(|&n| Workload::SpawnOutside(n)));
        suite.push(Workload::Fib(27));
        let leaves = if quick { 100_000 } else { 1_000_000 };
        suite.push(Workload::SkynetSpawn(leaves));
        suite.push(Workload::SkynetForkJoin(leaves));
        suite
    }

    /// The row label, e.g. `spawn-burst inside, n=10,000`.
    pub fn label(self) -> String {
        match self {
            Workload::SpawnInside(n) => format!("spawn-burst inside, n={}", thousands(n)),
            Workload::SpawnOutside(n) => format!("spawn-burst outside, n={}", thousands(n)),
            Workload::Fib(n) => format!("fork-join fib({n})"),
            Workload::SkynetSpawn(n) => format!("skynet spawn, {} leaves", thousands(n)),
            Workload::SkynetForkJoin(n) => format!("skynet fork-join, {} leaves", thousands(n)),
        }
    }

    /// The unit its measurements are reported in.
    pub fn unit(self) -> Unit {
        match self {
            Workload::SpawnInside(_) | Workload::SpawnOutside(_) => Unit::NsPerTask,
            Workload::Fib(_) | Workload::SkynetSpawn(_) | Workload::SkynetForkJoin(_) => Unit::MsTotal,
        }
    }

    /// The result every runtime must return.
    pub fn expected(self) -> u64 {
        match self {
            Workload::SpawnInside(n) | Workload::SpawnOutside(n) => n * n.saturating_sub(1) / 2,
            Workload::Fib(n) => fib_sequential(n),
            Workload::SkynetSpawn(n) | Workload::SkynetForkJoin(n) => n * n.saturating_sub(1) / 2,
        }
    }

    /// Runs the workload on `peer`; `None` if the peer does not support it.
    pub fn run(self, peer: &dyn Peer) -> Option<u64> {
        match self {
            Workload::SpawnInside(n) => Some(peer.spawn_burst_inside(n)),
            Workload::SpawnOutside(n) => peer.spawn_burst_outside(n),
            Workload::Fib(n) => peer.fib(n),
            Workload::SkynetSpawn(n) => peer.skynet_spawn(n),
            Workload::SkynetForkJoin(n) => peer.skynet_fork_join(n),
        }
    }

    /// Converts one run's elapsed time into this workload's unit.
    pub fn to_unit(self, elapsed: Duration) -> f64 {
        let nanos = elapsed.as_nanos() as f64;
        match self {
            Workload::SpawnInside(n) | Workload::SpawnOutside(n) => nanos / n as f64,
            Workload::Fib(_) | Workload::SkynetSpawn(_) | Workload::SkynetForkJoin(_) => nanos / 1e6,
        }
    }
}

/// `fib(n)` without any runtime, to check the parallel results.
pub fn fib_sequential(n: u64) -> u64 {
    let (mut a, mut b) = (0u64, 1u64);
    for _ in 0..n {
        (a, b) = (b, a + b);
    }
    a
}

/// `1234567` as `1,234,567`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expected_values() {
        assert_eq!(Workload::Fib(27).expected(), 196_418);
        assert_eq!(Workload::Fib(15).expected(), 610);
        assert_eq!(Workload::SpawnInside(1000).expected(), 499_500);
        assert_eq!(Workload::SpawnOutside(0).expected(), 0);
        assert_eq!(Workload::SkynetSpawn(1_000_000).expected(), 499_999_500_000);
    }

    #[test]
    fn labels() {
        assert_eq!(
            Workload::SpawnInside(1_000_000).label(),
            "spawn-burst inside, n=1,000,000"
        );
        assert_eq!(
            Workload::SpawnOutside(10_000).label(),
            "spawn-burst outside, n=10,000"
        );
        assert_eq!(Workload::Fib(27).label(), "fork-join fib(27)");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(100_000), "100,000");
    }

    #[test]
    fn units() {
        assert_eq!(
            Workload::SpawnInside(1000).to_unit(Duration::from_micros(10)),
            10.0
        );
        assert_eq!(Workload::Fib(27).to_unit(Duration::from_micros(2500)), 2.5);
    }
}
