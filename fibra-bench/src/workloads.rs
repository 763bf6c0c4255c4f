//! The workloads, and the one trait each in-process runtime implements.
//!
//! A [`Workload`] is a kind and a size. A [`Peer`] runs a workload and
//! returns its result, which the caller checks against
//! [`Workload::expected`]; it returns `None` for a workload it has no natural
//! form of (Tokio has no fork-join `join`, Rayon no task with a result).
//! Timing, idle CPU and memory sampling are done by the caller
//! (`child.rs`), the same way for every runtime. What each workload means
//! per runtime is documented in `docs/BENCHMARKS.md`.

/// A runtime under comparison that runs in this process (Go runs as its own
/// program). Implementations live in `src/peers/`, one file each, and build
/// their runtime once, in their constructor.
pub trait Peer {
    /// Spawns `n` tasks from inside a task of this runtime; task `i` yields
    /// `i`. Waits for all of them and returns the sum of `0..n`.
    fn spawn_burst_inside(&self, n: u64) -> u64;

    /// Spawns `n` tasks from the calling (non-worker) thread and waits for
    /// them; `None` if the runtime has no distinct mode for this.
    fn spawn_burst_outside(&self, _n: u64) -> Option<u64> {
        None
    }

    /// `fib(n)` with a fork-join `join` at every level.
    fn fib_join(&self, _n: u64) -> Option<u64> {
        None
    }

    /// `fib(n)` that, above [`FIB_CUTOFF`], runs `fib(n - 1)` and
    /// `fib(n - 2)` in parallel (a spawned task for one half and the caller
    /// for the other, or the runtime's fork-join `join`); at or below the
    /// cutoff it recurses sequentially ([`fib_recursive`]).
    fn fib_spawn(&self, _n: u64) -> Option<u64> {
        None
    }

    /// Skynet with every node a spawned task whose parent waits for it.
    fn skynet_spawn(&self, _leaves: u64) -> Option<u64> {
        None
    }

    /// Skynet with the ten children of a node summed by nested binary joins.
    fn skynet_fork_join(&self, _leaves: u64) -> Option<u64> {
        None
    }

    /// Skynet with every node a spawned task that reports its sum to its
    /// parent over a channel (the parent made it, one per parent, of the
    /// smallest capacity the runtime offers); the parent receives ten
    /// values. `None` without channels that block tasks.
    fn skynet_chan(&self, _leaves: u64) -> Option<u64> {
        None
    }

    /// Task 1 is spawned from outside; task `i < n` spawns task `i + 1`;
    /// task `n` reports `n` to the waiting caller, which returns it.
    fn chained(&self, _n: u64) -> Option<u64> {
        None
    }

    /// [`YIELD_TASKS`] tasks each yield `n / YIELD_TASKS` times to the
    /// scheduler (the task goes behind the other ready ones and resumes
    /// later) and return how often they yielded; the caller waits for all
    /// and returns the total, `n`. `None` without a task-level yield.
    fn yield_many(&self, _n: u64) -> Option<u64> {
        None
    }

    /// Two tasks pass a counter back and forth over two channels of the
    /// smallest capacity the runtime offers, `n` round trips; returns the
    /// number of round trips the echoing task saw (`n`). `None` without
    /// channels that block tasks.
    fn ping_pong(&self, _n: u64) -> Option<u64> {
        None
    }

    /// Occupies every worker, spawns `n` tasks from outside (task `i` adds
    /// `i` to a sum), calls `probe` while none of them can have run, then
    /// releases the workers, waits for all and returns the sum.
    fn queue_unrun(&self, _n: u64, _probe: &mut dyn FnMut()) -> Option<u64> {
        None
    }

    /// Spawns `n` tasks, task `i` blocked receiving from its own channel
    /// (made by the caller, who keeps the sending end); waits until every
    /// task has started, calls `probe`, then sends `i` to task `i`, waits
    /// until all `n` have added their value to a sum and counted themselves
    /// done, and returns the sum. `None` without channels that block tasks.
    fn block_on_channels(&self, _n: u64, _probe: &mut dyn FnMut()) -> Option<u64> {
        None
    }
}

/// One half of a fork-join: a closure that can run on any thread.
pub type Half<'a> = &'a (dyn Fn() -> u64 + Sync);

/// Fan-out of the skynet tree.
pub const SKYNET_FAN_OUT: u64 = 10;

/// `fib_spawn` recurses sequentially at and below this argument.
pub const FIB_CUTOFF: u64 = 20;

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

/// Tasks of the yield-many workload (each yields `n / YIELD_TASKS` times).
pub const YIELD_TASKS: u64 = 100;

/// What a workload measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// `n` trivial tasks spawned from inside the runtime.
    SpawnInside,
    /// `n` trivial tasks spawned from the main thread.
    SpawnOutside,
    /// Recursive fib(n) with a fork-join `join` at every level.
    FibJoin,
    /// Recursive fib(n), a spawned task per call above [`FIB_CUTOFF`].
    FibSpawn,
    /// Skynet with a spawned task per node, `n` leaves.
    SkynetSpawn,
    /// Skynet as nested fork-join, `n` leaves.
    SkynetForkJoin,
    /// `n` tasks, each spawning the next.
    Chained,
    /// Process CPU time during `n` ms of idleness after one task.
    Idle,
    /// RSS with `n` tasks queued but not run.
    Memory,
    /// Two tasks passing a message back and forth, `n` round trips.
    PingPong,
    /// [`YIELD_TASKS`] tasks yielding `n` times in all.
    YieldMany,
    /// Skynet with a spawned task per node reporting over a channel, `n` leaves.
    SkynetChan,
    /// RSS with `n` tasks each blocked receiving from its own channel.
    BlockedRss,
}

/// Every kind, in table order.
pub const KINDS: [Kind; 13] = [
    Kind::SpawnInside,
    Kind::SpawnOutside,
    Kind::Chained,
    Kind::FibJoin,
    Kind::FibSpawn,
    Kind::SkynetSpawn,
    Kind::SkynetForkJoin,
    Kind::Idle,
    Kind::Memory,
    Kind::PingPong,
    Kind::YieldMany,
    Kind::SkynetChan,
    Kind::BlockedRss,
];

impl Kind {
    /// The name used on the command line and in result lines.
    pub fn name(self) -> &'static str {
        match self {
            Kind::SpawnInside => "spawn_inside",
            Kind::SpawnOutside => "spawn_outside",
            Kind::FibJoin => "fib_join",
            Kind::FibSpawn => "fib_spawn",
            Kind::SkynetSpawn => "skynet_spawn",
            Kind::SkynetForkJoin => "skynet_fork_join",
            Kind::Chained => "chained",
            Kind::Idle => "idle",
            Kind::Memory => "memory",
            Kind::PingPong => "ping_pong",
            Kind::YieldMany => "yield_many",
            Kind::SkynetChan => "skynet_chan",
            Kind::BlockedRss => "blocked_rss",
        }
    }

    /// The kind named `name`; `-` may stand for `_` (`skynet-chan`).
    pub fn from_name(name: &str) -> Option<Kind> {
        let name = name.replace('-', "_");
        KINDS.into_iter().find(|k| k.name() == name)
    }

    /// Why a kind is not run yet, if it is not.
    ///
    /// Every kind runs today; a workload added before every runtime can run
    /// it returns its reason here, and its cells say so instead of failing.
    pub fn pending(self) -> Option<&'static str> {
        let _ = self;
        None
    }
}

/// One benchmark case: a kind and its size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Workload {
    /// What it measures.
    pub kind: Kind,
    /// Tasks, leaves, fib argument or idle milliseconds, by kind.
    pub n: u64,
}

impl Workload {
    /// A workload of `kind` and size `n`.
    pub const fn new(kind: Kind, n: u64) -> Workload {
        Workload { kind, n }
    }

    /// The workloads of a full run, or of a `--quick` run.
    pub fn suite(quick: bool) -> Vec<Workload> {
        let sizes: &[u64] = if quick {
            &[10_000, 100_000]
        } else {
            &[10_000, 100_000, 1_000_000]
        };
        let big = if quick { 100_000 } else { 1_000_000 };
        let mut suite: Vec<Workload> = sizes
            .iter()
            .map(|&n| Workload::new(Kind::SpawnInside, n))
            .collect();
        suite.extend(sizes.iter().map(|&n| Workload::new(Kind::SpawnOutside, n)));
        suite.push(Workload::new(Kind::Chained, if quick { 10_000 } else { 100_000 }));
        suite.push(Workload::new(Kind::FibJoin, 27));
        suite.push(Workload::new(Kind::FibSpawn, if quick { 28 } else { 32 }));
        suite.push(Workload::new(Kind::SkynetSpawn, big));
        suite.push(Workload::new(Kind::SkynetForkJoin, big));
        suite.push(Workload::new(Kind::Idle, if quick { 200 } else { 2_000 }));
        suite.push(Workload::new(Kind::Memory, big));
        suite.push(Workload::new(
            Kind::PingPong,
            if quick { 100_000 } else { 1_000_000 },
        ));
        suite.push(Workload::new(
            Kind::YieldMany,
            if quick { 100_000 } else { 1_000_000 },
        ));
        suite.push(Workload::new(Kind::SkynetChan, big));
        let blocked: &[u64] = if quick { &[100_000] } else { &[100_000, 1_000_000] };
        suite.extend(blocked.iter().map(|&n| Workload::new(Kind::BlockedRss, n)));
        suite
    }

    /// The row label, e.g. `spawn-burst inside, n=10,000`.
    pub fn label(self) -> String {
        let n = thousands(self.n);
        match self.kind {
            Kind::SpawnInside => format!("spawn-burst inside, n={n}"),
            Kind::SpawnOutside => format!("spawn-burst outside, n={n}"),
            Kind::FibJoin => format!("fork-join fib({}), join at every level", self.n),
            Kind::FibSpawn => format!("fork-join fib({}), spawn above {FIB_CUTOFF}", self.n),
            Kind::SkynetSpawn => format!("skynet spawn, {n} leaves"),
            Kind::SkynetForkJoin => format!("skynet fork-join, {n} leaves"),
            Kind::Chained => format!("chained spawn, {n} hops"),
            Kind::Idle => format!("idle CPU over {n} ms after one task"),
            Kind::Memory => format!("memory, {n} tasks queued"),
            Kind::PingPong => format!("ping-pong, {n} round trips"),
            Kind::YieldMany => format!("yield-many, {YIELD_TASKS} tasks, {n} yields"),
            Kind::SkynetChan => format!("skynet with channels, {n} leaves"),
            Kind::BlockedRss => format!("memory, {n} tasks blocked on channels"),
        }
    }

    /// The result every runtime must report (`check=` in its result line).
    pub fn expected(self) -> u64 {
        let n = self.n;
        match self.kind {
            Kind::SpawnInside | Kind::SpawnOutside | Kind::Memory | Kind::BlockedRss => {
                n * n.saturating_sub(1) / 2
            }
            Kind::SkynetSpawn | Kind::SkynetForkJoin | Kind::SkynetChan => n * n.saturating_sub(1) / 2,
            Kind::FibJoin | Kind::FibSpawn => fib_iterative(n),
            Kind::Chained => n,
            Kind::Idle => 0,
            Kind::PingPong => n,
            Kind::YieldMany => n / YIELD_TASKS * YIELD_TASKS,
        }
    }

    /// Tasks (or joins) one run creates: the divisor of "ns per task".
    pub fn tasks(self) -> u64 {
        match self.kind {
            Kind::SpawnInside | Kind::SpawnOutside | Kind::Chained | Kind::Memory | Kind::BlockedRss => {
                self.n
            }
            Kind::FibJoin => fib_calls_above(self.n, 1),
            Kind::FibSpawn => fib_calls_above(self.n, FIB_CUTOFF),
            Kind::SkynetSpawn | Kind::SkynetForkJoin | Kind::SkynetChan => skynet_nodes(self.n),
            Kind::YieldMany | Kind::PingPong => self.n,
            Kind::Idle => 1,
        }
    }

    /// Runs the workload on `peer` (idle, memory and blocked-rss are measured
    /// around the peer by `child.rs`; here their probes do nothing); `None`
    /// if the peer does not support it.
    pub fn run(self, peer: &dyn Peer) -> Option<u64> {
        let n = self.n;
        match self.kind {
            Kind::SpawnInside => Some(peer.spawn_burst_inside(n)),
            Kind::SpawnOutside => peer.spawn_burst_outside(n),
            Kind::FibJoin => peer.fib_join(n),
            Kind::FibSpawn => peer.fib_spawn(n),
            Kind::SkynetSpawn => peer.skynet_spawn(n),
            Kind::SkynetForkJoin => peer.skynet_fork_join(n),
            Kind::Chained => peer.chained(n),
            Kind::Memory => peer.queue_unrun(n, &mut || ()),
            Kind::YieldMany => peer.yield_many(n),
            Kind::PingPong => peer.ping_pong(n),
            Kind::SkynetChan => peer.skynet_chan(n),
            Kind::BlockedRss => peer.block_on_channels(n, &mut || ()),
            Kind::Idle => None,
        }
    }
}

/// `fib(n)` in a loop, to check the parallel results.
pub fn fib_iterative(n: u64) -> u64 {
    let (mut a, mut b) = (0u64, 1u64);
    for _ in 0..n {
        (a, b) = (b, a + b);
    }
    a
}

/// Naive recursive `fib(n)`: the sequential leaves of `fib_spawn`, the same
/// code in every runtime (Go's included).
pub fn fib_recursive(n: u64) -> u64 {
    if n < 2 {
        n
    } else {
        fib_recursive(n - 1) + fib_recursive(n - 2)
    }
}

/// Calls of a naive recursive fib(n) whose argument is above `cutoff`.
fn fib_calls_above(n: u64, cutoff: u64) -> u64 {
    // calls(m) = 1 + calls(m - 1) + calls(m - 2) for m > cutoff, else 0.
    let (mut below, mut at) = (0u64, 0u64); // calls(m - 1), calls(m) for m = cutoff
    for _ in cutoff..n {
        (below, at) = (at, 1 + at + below);
    }
    at
}

/// Nodes (inner and leaves) of a skynet tree with `leaves` leaves.
fn skynet_nodes(leaves: u64) -> u64 {
    let (mut level, mut total) = (leaves, 0);
    while level >= 1 {
        total += level;
        level /= SKYNET_FAN_OUT;
    }
    total
}

/// `1234567` as `1,234,567`.
pub fn thousands(n: u64) -> String {
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
        assert_eq!(Workload::new(Kind::FibJoin, 27).expected(), 196_418);
        assert_eq!(Workload::new(Kind::FibSpawn, 32).expected(), 2_178_309);
        assert_eq!(fib_recursive(15), 610);
        assert_eq!(Workload::new(Kind::SpawnInside, 1000).expected(), 499_500);
        assert_eq!(Workload::new(Kind::SpawnOutside, 0).expected(), 0);
        assert_eq!(
            Workload::new(Kind::SkynetSpawn, 1_000_000).expected(),
            499_999_500_000
        );
        assert_eq!(Workload::new(Kind::Chained, 100_000).expected(), 100_000);
        assert_eq!(
            Workload::new(Kind::SkynetChan, 1_000_000).expected(),
            499_999_500_000
        );
        assert_eq!(Workload::new(Kind::BlockedRss, 1000).expected(), 499_500);
    }

    #[test]
    fn task_counts() {
        assert_eq!(Workload::new(Kind::SkynetSpawn, 1_000_000).tasks(), 1_111_111);
        assert_eq!(Workload::new(Kind::SkynetChan, 1_000_000).tasks(), 1_111_111);
        assert_eq!(Workload::new(Kind::BlockedRss, 100_000).tasks(), 100_000);
        assert_eq!(Workload::new(Kind::SkynetSpawn, 1).tasks(), 1);
        // fib(27): F(28) - 1 = 317,810 calls with an argument of 2 or more.
        assert_eq!(Workload::new(Kind::FibJoin, 27).tasks(), 317_810);
        // fib(22) above 20: the calls for 22 and 21.
        assert_eq!(Workload::new(Kind::FibSpawn, 22).tasks(), 2);
        assert_eq!(Workload::new(Kind::FibSpawn, 23).tasks(), 4);
        assert_eq!(Workload::new(Kind::FibSpawn, 20).tasks(), 0);
    }

    #[test]
    fn names_round_trip() {
        for kind in KINDS {
            assert_eq!(Kind::from_name(kind.name()), Some(kind));
        }
        assert_eq!(Kind::from_name("nope"), None);
        assert_eq!(Kind::from_name("skynet-chan"), Some(Kind::SkynetChan));
        assert_eq!(Kind::from_name("blocked-rss"), Some(Kind::BlockedRss));
    }

    #[test]
    fn labels() {
        assert_eq!(
            Workload::new(Kind::SpawnInside, 1_000_000).label(),
            "spawn-burst inside, n=1,000,000"
        );
        assert_eq!(
            Workload::new(Kind::Chained, 100_000).label(),
            "chained spawn, 100,000 hops"
        );
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(100_000), "100,000");
    }
}
