//! Which sleeper to wake: one that parked on another CPU than the waker's,
//! unless the waker is about to block.
//!
//! Why: Linux puts a woken thread back on its previous CPU when that CPU is
//! idle, and otherwise often on the *waker's* CPU (`select_idle_sibling`
//! gives up scanning for an idle CPU when the cache domain looks busy).
//! There it waits behind the waker until the waker blocks or its time slice
//! ends. Measured on 2 vCPUs: a burst of 10,000 spawns from an outside
//! thread ran no task at all until the spawner blocked in `join` (about
//! 200 µs), while the other CPU stayed idle; waking a worker that had parked
//! on that other CPU started the first task after 24-35 µs in fresh
//! processes, 60-80 µs in a loop in one process, on it (a throwaway
//! diagnostic: `sched_getcpu` and the time in the first task; see
//! docs/PERFORMANCE.md on commit 7e0ca41, 2026-11-27). When every sleeper
//! parked on the waker's CPU, the choice cannot help.
//!
//! A waker that blocks right after waking (`block_on`'s caller) wants the
//! opposite: its own CPU is about to be free, and a thread woken there runs
//! without waiting for an idle CPU to come out of its halt (an interrupt to
//! another vCPU; measured: a 10,000-task burst inside `block_on` took about
//! 15% longer when its first worker was woken on the other CPU).
//!
//! Invariants: the choice only orders the sleepers; any sleeper may be
//! returned, so correctness (no lost wake-up) never depends on it. The CPU a
//! worker parked on is a hint, read and written under the sleepers' lock.

/// A CPU number as the kernel reports it, or `None` where fibra cannot ask.
pub(crate) type Cpu = Option<u32>;

/// The CPU the calling thread runs on now (a hint: it may move at once).
pub(crate) fn current_cpu() -> Cpu {
    #[cfg(all(target_os = "linux", not(loom), not(miri)))]
    {
        // SAFETY: `sched_getcpu` takes no arguments and touches no memory of
        // ours; it returns -1 on failure, which `try_from` turns into `None`.
        let cpu = unsafe { libc::sched_getcpu() };
        u32::try_from(cpu).ok()
    }
    #[cfg(not(all(target_os = "linux", not(loom), not(miri))))]
    {
        None
    }
}

/// Where the waker wants the woken worker to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum WakeNear {
    /// The waker keeps running (a spawn, an overflow, a worker's wake-up).
    OtherCpu,
    /// The waker blocks right after (`block_on`).
    SameCpu,
}

/// The position in `sleepers` (oldest first) of the sleeper to wake: the
/// most recent one that parked where `near` wants it relative to `waker`,
/// else the most recent one. `None` only when there are no sleepers. An
/// unknown CPU counts as another CPU.
pub(crate) fn choose(sleepers: &[(usize, Cpu)], waker: Cpu, near: WakeNear) -> Option<usize> {
    let same_cpu = |parked_on: Cpu| waker.is_some() && parked_on == waker;
    let wanted = |&(_, parked_on): &(usize, Cpu)| same_cpu(parked_on) == (near == WakeNear::SameCpu);
    sleepers
        .iter()
        .rposition(wanted)
        .or_else(|| sleepers.len().checked_sub(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefers_the_newest_sleeper_parked_elsewhere() {
        let sleepers = [(0, Some(1)), (1, Some(0)), (2, Some(1)), (3, Some(0))];
        assert_eq!(choose(&sleepers, Some(0), WakeNear::OtherCpu), Some(2));
        assert_eq!(choose(&sleepers, Some(1), WakeNear::OtherCpu), Some(3));
        assert_eq!(choose(&sleepers, Some(7), WakeNear::OtherCpu), Some(3));
    }

    #[test]
    fn a_blocking_waker_prefers_its_own_cpu() {
        let sleepers = [(0, Some(1)), (1, Some(0)), (2, Some(1)), (3, Some(0))];
        assert_eq!(choose(&sleepers, Some(1), WakeNear::SameCpu), Some(2));
        assert_eq!(choose(&sleepers, Some(0), WakeNear::SameCpu), Some(3));
        assert_eq!(choose(&sleepers, Some(7), WakeNear::SameCpu), Some(3));
    }

    #[test]
    fn falls_back_to_the_newest_sleeper() {
        let sleepers = [(4, Some(0)), (5, Some(0))];
        assert_eq!(choose(&sleepers, Some(0), WakeNear::OtherCpu), Some(1));
        assert_eq!(choose(&sleepers, Some(2), WakeNear::SameCpu), Some(1));
        assert_eq!(choose(&[(4, None), (5, None)], None, WakeNear::OtherCpu), Some(1));
        assert_eq!(choose(&[(4, None), (5, None)], None, WakeNear::SameCpu), Some(1));
        assert_eq!(choose(&[], Some(0), WakeNear::OtherCpu), None);
    }

    #[test]
    fn unknown_cpus_count_as_other_cpus() {
        assert_eq!(
            choose(&[(0, None), (1, Some(3))], Some(3), WakeNear::OtherCpu),
            Some(0)
        );
        assert_eq!(
            choose(&[(0, Some(3)), (1, None)], Some(3), WakeNear::SameCpu),
            Some(0)
        );
    }

    #[cfg(all(target_os = "linux", not(miri), not(loom)))]
    #[test]
    fn current_cpu_is_known_on_linux() {
        assert!(current_cpu().is_some());
    }
}
