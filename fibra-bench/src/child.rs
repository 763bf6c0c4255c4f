//! Child mode: `fibra-bench --child PEER --workload W --n N --workers K
//! [--warmup R] [--settle-ms MS]` builds one runtime, runs one workload and
//! prints one result line (see `protocol.rs`). The harness runs every
//! measurement of every runtime in a fresh child process, so no two
//! runtimes ever share a process, and the memory workload starts from a
//! clean heap.
//!
//! Timed workloads: `R` untimed warm-up runs (default 1), a pause of `MS`
//! (default 5) so the runtime's workers have gone to sleep, then one timed
//! run. Idle: one task, then process CPU time over `N` ms of sleep on the
//! main thread. Memory: RSS after the runtime has run one task, RSS with
//! `N` tasks queued but not run, and the peak RSS at the end. Blocked-rss:
//! the same with `N` tasks each blocked on its own channel.

use crate::peers;
use crate::protocol::{result_line, unsupported_line};
use crate::sys;
use crate::workloads::{Kind, Peer, Workload};
use std::time::{Duration, Instant};

/// A child's command line.
#[derive(Debug, PartialEq)]
pub struct ChildArgs {
    /// Which in-process runtime.
    pub peer: String,
    /// What to run.
    pub workload: Workload,
    /// Worker threads.
    pub workers: usize,
    /// Untimed runs before the timed one.
    pub warmup: usize,
    /// Pause before the timed run.
    pub settle: Duration,
}

/// Parses the arguments after `--child`.
pub fn parse(args: &[String]) -> Result<ChildArgs, String> {
    let (peer, rest) = args.split_first().ok_or("--child needs a runtime name")?;
    let (mut kind, mut n, mut workers, mut warmup, mut settle_ms) = (None, None, 1, 1, 5);
    let mut it = rest.iter();
    while let Some(flag) = it.next() {
        let value = it.next().ok_or(format!("{flag} needs a value"))?;
        let number = || {
            value
                .parse::<u64>()
                .map_err(|_| format!("{flag}: not a number: {value:?}"))
        };
        match flag.as_str() {
            "--workload" => kind = Some(Kind::from_name(value).ok_or(format!("unknown workload {value:?}"))?),
            "--n" => n = Some(number()?),
            "--workers" => workers = number()?.max(1) as usize,
            "--warmup" => warmup = number()? as usize,
            "--settle-ms" => settle_ms = number()?,
            other => return Err(format!("unknown child argument {other:?}")),
        }
    }
    Ok(ChildArgs {
        peer: peer.clone(),
        workload: Workload::new(kind.ok_or("--workload missing")?, n.ok_or("--n missing")?),
        workers,
        warmup,
        settle: Duration::from_millis(settle_ms),
    })
}

/// Runs the child and returns its protocol line.
pub fn run(args: &ChildArgs) -> Result<String, String> {
    let peer = peers::by_name(&args.peer, args.workers).ok_or(format!("unknown runtime {:?}", args.peer))?;
    let workload = args.workload;
    let line = match workload.kind {
        Kind::Idle => idle(peer.as_ref(), workload),
        Kind::Memory => memory(peer.as_ref(), workload)?,
        Kind::BlockedRss => blocked_rss(peer.as_ref(), workload)?,
        _ => timed(peer.as_ref(), args)?,
    };
    Ok(line.unwrap_or_else(|| unsupported_line(workload.kind)))
}

fn timed(peer: &dyn Peer, args: &ChildArgs) -> Result<Option<String>, String> {
    let workload = args.workload;
    for _ in 0..args.warmup {
        if workload.run(peer).is_none() {
            return Ok(None);
        }
    }
    std::thread::sleep(args.settle);
    let start = Instant::now();
    let Some(check) = workload.run(peer) else {
        return Ok(None);
    };
    let ns = start.elapsed().as_nanos() as u64;
    Ok(Some(result_line(workload, check, &[("ns", ns)])))
}

fn idle(peer: &dyn Peer, workload: Workload) -> Option<String> {
    let check = peer.spawn_burst_inside(1); // the one task; its sum is 0
    let window = Duration::from_millis(workload.n);
    let (cpu_before, start) = (sys::process_cpu_time(), Instant::now());
    std::thread::sleep(window);
    let (cpu, ns) = (sys::process_cpu_time() - cpu_before, start.elapsed());
    let fields = [("ns", ns.as_nanos() as u64), ("cpu_ns", cpu.as_nanos() as u64)];
    Some(result_line(workload, check, &fields))
}

fn memory(peer: &dyn Peer, workload: Workload) -> Result<Option<String>, String> {
    rss_around(workload, "queued_rss_kb", peer, |probe| {
        peer.queue_unrun(workload.n, probe)
    })
}

/// Blocked tasks: the probe runs once every task has started; a pause of
/// [`BLOCK_SETTLE`] first lets the last of them finish blocking.
fn blocked_rss(peer: &dyn Peer, workload: Workload) -> Result<Option<String>, String> {
    rss_around(workload, "blocked_rss_kb", peer, |probe| {
        peer.block_on_channels(workload.n, &mut || {
            std::thread::sleep(BLOCK_SETTLE);
            probe()
        })
    })
}

/// How long the blocked-rss probe waits after every task started.
const BLOCK_SETTLE: Duration = Duration::from_millis(10);

/// Runs a memory workload: RSS after one task (`base_rss_kb`), RSS when
/// `run` calls its probe (reported as `field`), and the peak at the end.
fn rss_around(
    workload: Workload,
    field: &str,
    peer: &dyn Peer,
    run: impl FnOnce(&mut dyn FnMut()) -> Option<u64>,
) -> Result<Option<String>, String> {
    peer.spawn_burst_inside(1); // start the workers
    let base = sys::rss()?;
    let mut probed = Err("the runtime never called the probe".to_string());
    let start = Instant::now();
    let Some(check) = run(&mut || probed = sys::rss()) else {
        return Ok(None);
    };
    let ns = start.elapsed().as_nanos() as u64;
    let (probed, end) = (probed?, sys::rss()?);
    let fields = [
        ("ns", ns),
        ("base_rss_kb", base.now_kb),
        (field, probed.now_kb),
        ("hwm_kb", end.peak_kb),
    ];
    Ok(Some(result_line(workload, check, &fields)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{parse_output, Report};

    fn args(text: &str) -> Vec<String> {
        text.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn parses_child_arguments() {
        let a = parse(&args(
            "fibra --workload chained --n 100 --workers 2 --warmup 0 --settle-ms 0",
        ))
        .unwrap();
        assert_eq!(a.peer, "fibra");
        assert_eq!(a.workload, Workload::new(Kind::Chained, 100));
        assert_eq!((a.workers, a.warmup, a.settle), (2, 0, Duration::ZERO));
        assert!(parse(&args("fibra --workload nope --n 1")).is_err());
        assert!(parse(&args("fibra --n 1")).is_err());
        assert!(parse(&args("fibra --workload chained")).is_err());
        assert!(parse(&args("")).is_err());
    }

    /// The child's own lines parse, for a timed, the idle and both memory
    /// workloads; fibra reports and checks each.
    #[test]
    fn child_lines_parse() {
        let cases = [
            (Workload::new(Kind::Chained, 100), vec!["ns"]),
            (Workload::new(Kind::Idle, 1), vec!["ns", "cpu_ns"]),
            (
                Workload::new(Kind::Memory, 1000),
                vec!["base_rss_kb", "queued_rss_kb", "hwm_kb"],
            ),
            (
                Workload::new(Kind::BlockedRss, 1000),
                vec!["base_rss_kb", "blocked_rss_kb", "hwm_kb"],
            ),
        ];
        for (workload, required) in cases {
            let child = ChildArgs {
                peer: "fibra".into(),
                workload,
                workers: 2,
                warmup: 1,
                settle: Duration::ZERO,
            };
            let line = run(&child).unwrap();
            let report = parse_output(&line, workload, &required).unwrap();
            assert!(matches!(report, Report::Result(_)), "{line}");
        }
    }

    #[test]
    fn unknown_runtime_is_an_error() {
        let child = ChildArgs {
            peer: "nope".into(),
            workload: Workload::new(Kind::Chained, 1),
            workers: 1,
            warmup: 0,
            settle: Duration::ZERO,
        };
        assert!(run(&child).is_err());
    }
}
