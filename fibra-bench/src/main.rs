//! `fibra-bench`: times fibra against Tokio and Rayon on the same workloads
//! and prints a table (see `docs/BENCHMARKS.md` for what each workload does).
//!
//! ```text
//! cargo run --release -p fibra-bench -- [--quick] [--workers N] [--reps R] [--settle-ms MS] [--format markdown|csv]
//! ```
//!
//! Every runtime is built once, with the same worker count. For each workload
//! every runtime does one warm-up run, then `R` timed repetitions in turn
//! (fibra, tokio, rayon, fibra, ...) so that machine noise hits all alike.
//! Before each run the process pauses (`--settle-ms`, default 5 ms), so that
//! the previous runtime's threads have gone to sleep and do not compete for
//! the CPUs; every runtime thus starts each run from idle.
//! Every run's result is checked.

mod peers;
mod report;
mod workloads;

use report::{Meta, Row, Stats, Table};
use std::process::ExitCode;
use std::time::{Duration, Instant};
use workloads::{Peer, Workload};

const USAGE: &str =
    "usage: fibra-bench [--quick] [--workers N] [--reps R] [--settle-ms MS] [--format markdown|csv]

  --quick           smaller sizes, 3 repetitions (well under a minute)
  --workers N       worker threads in every runtime (default: CPUs available)
  --reps R          timed repetitions per cell (default 10, quick 3)
  --settle-ms MS    pause before every run, untimed (default 5; 0 runs back to back)
  --format F        markdown (default) or csv";

#[derive(Debug, PartialEq)]
enum Format {
    Markdown,
    Csv,
}

#[derive(Debug)]
struct Options {
    quick: bool,
    workers: usize,
    reps: usize,
    settle: Duration,
    format: Format,
}

fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Options, String> {
    let mut quick = false;
    let mut workers = None;
    let mut reps = None;
    let mut settle = Duration::from_millis(5);
    let mut format = Format::Markdown;
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--quick" => quick = true,
            "--workers" => workers = Some(positive(&value("--workers")?, "--workers")?),
            "--reps" => reps = Some(positive(&value("--reps")?, "--reps")?),
            "--settle-ms" => {
                let text = value("--settle-ms")?;
                let ms = text
                    .parse()
                    .map_err(|_| format!("--settle-ms must be an integer, got {text:?}"))?;
                settle = Duration::from_millis(ms);
            }
            "--format" => {
                format = match value("--format")?.as_str() {
                    "markdown" | "md" => Format::Markdown,
                    "csv" => Format::Csv,
                    other => return Err(format!("unknown format {other:?}")),
                }
            }
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(Options {
        quick,
        workers: workers.unwrap_or_else(available_cpus),
        reps: reps.unwrap_or(if quick { 3 } else { 10 }),
        settle,
        format,
    })
}

fn positive(text: &str, name: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!("{name} must be a positive integer, got {text:?}")),
    }
}

fn available_cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// The first "model name" in `/proc/cpuinfo`, or "unknown".
fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|line| line.starts_with("model name"))
                .and_then(|line| line.split_once(':'))
                .map(|(_, model)| model.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".to_string())
}

/// Runs `workload` once on `peer`, checks its result, and returns the time
/// in the workload's unit; `None` if the peer does not support it.
fn time_once(workload: Workload, peer: &dyn Peer, settle: Duration) -> Option<f64> {
    std::thread::sleep(settle);
    let start = Instant::now();
    let result = workload.run(peer)?;
    let elapsed = start.elapsed();
    assert_eq!(
        result,
        workload.expected(),
        "{} returned a wrong result on {}",
        peer.name(),
        workload.label()
    );
    Some(workload.to_unit(elapsed))
}

/// One warm-up run per peer, then `reps` repetitions, interleaved.
fn measure(workload: Workload, peers: &[Box<dyn Peer>], reps: usize, settle: Duration) -> Row {
    let supported: Vec<bool> = peers
        .iter()
        .map(|p| time_once(workload, p.as_ref(), settle).is_some())
        .collect();
    let mut samples = vec![Vec::with_capacity(reps); peers.len()];
    for _ in 0..reps {
        for ((peer, ok), out) in peers.iter().zip(&supported).zip(&mut samples) {
            if *ok {
                out.extend(time_once(workload, peer.as_ref(), settle));
            }
        }
    }
    Row {
        label: workload.label(),
        unit: workload.unit(),
        cells: samples.iter().map(|s| Stats::from_samples(s)).collect(),
    }
}

fn main() -> ExitCode {
    let options = match parse_args(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(message) => {
            if !message.is_empty() {
                eprintln!("fibra-bench: {message}\n");
            }
            eprintln!("{USAGE}");
            return if message.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(2)
            };
        }
    };
    let profile = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    if profile == "debug" {
        eprintln!("fibra-bench: warning: debug build; run with --release for meaningful numbers");
    }

    let peers = peers::all(options.workers);
    let mut rows = Vec::new();
    for workload in Workload::suite(options.quick) {
        eprintln!("fibra-bench: {} ...", workload.label());
        rows.push(measure(workload, &peers, options.reps, options.settle));
    }

    let rayon_version = format!(
        "{} (rayon-core {})",
        env!("BENCH_RAYON_VERSION"),
        env!("BENCH_RAYON_CORE_VERSION")
    );
    let table = Table {
        meta: Meta {
            cpu_model: cpu_model(),
            cpus: available_cpus(),
            workers: options.workers,
            reps: options.reps,
            settle_ms: options.settle.as_millis(),
            versions: vec![
                ("fibra".to_string(), env!("BENCH_FIBRA_VERSION").to_string()),
                ("tokio".to_string(), env!("BENCH_TOKIO_VERSION").to_string()),
                ("rayon".to_string(), rayon_version),
            ],
            profile,
        },
        peers: peers.iter().map(|p| p.name().to_string()).collect(),
        rows,
    };
    match options.format {
        Format::Markdown => print!("{}", table.markdown()),
        Format::Csv => print!("{}", table.csv()),
    }
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Options, String> {
        parse_args(args.iter().map(|s| s.to_string()))
    }

    #[test]
    fn defaults_and_flags() {
        let o = parse(&[]).unwrap();
        assert_eq!(
            (o.quick, o.reps, o.workers, o.format),
            (false, 10, available_cpus(), Format::Markdown)
        );
        let o = parse(&["--quick"]).unwrap();
        assert_eq!(o.reps, 3);
        assert_eq!(o.settle, Duration::from_millis(5));
        let o = parse(&[
            "--quick",
            "--reps",
            "5",
            "--workers",
            "3",
            "--settle-ms",
            "0",
            "--format",
            "csv",
        ])
        .unwrap();
        assert_eq!((o.quick, o.reps, o.workers, o.format), (true, 5, 3, Format::Csv));
        assert_eq!(o.settle, Duration::ZERO);
    }

    #[test]
    fn bad_flags() {
        assert!(parse(&["--workers", "0"]).is_err());
        assert!(parse(&["--reps"]).is_err());
        assert!(parse(&["--settle-ms", "-1"]).is_err());
        assert!(parse(&["--format", "xml"]).is_err());
        assert!(parse(&["--fast"]).is_err());
    }

    #[test]
    fn measure_interleaves_and_marks_unsupported_cells() {
        let peers = peers::all(2);
        let row = measure(Workload::SpawnOutside(100), &peers, 2, Duration::ZERO);
        assert_eq!(row.cells.len(), 3);
        assert!(row.cells[0].is_some() && row.cells[1].is_some() && row.cells[2].is_none());
    }
}
