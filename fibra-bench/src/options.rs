//! The harness's command line (the child mode's is in `child.rs`).

use crate::workloads::{Kind, Workload};

/// Printed for `--help` and after a bad argument.
pub const USAGE: &str = "usage: fibra-bench [--quick] [--workers N] [--reps R] [--warmup W] [--settle-ms MS]
                   [--only W1,W2] [--timeout-s S] [--format markdown|csv|json] [--write-docs]

  --quick           smaller sizes, 3 repetitions, idle and memory rows once (well under a minute)
  --workers N       worker threads in every runtime, GOMAXPROCS for Go (default: CPUs available)
  --reps R          repetitions per cell, each a fresh process per runtime (default 10, quick 3)
  --warmup W        untimed runs in each process before its timed run (default 1)
  --settle-ms MS    pause before every timed run, so workers are asleep (default 5)
  --only LIST       run only these workloads (names as in docs/BENCHMARKS.md, e.g. chained,skynet-chan)
  --timeout-s S     a child running longer is killed and its cell marked failed (default 300)
  --format F        markdown (default), csv or json
  --write-docs      also write the table into docs/PERFORMANCE.md and the chart into docs/performance.svg";

/// Output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Facts as a bullet list, then a table.
    Markdown,
    /// Facts as `#` lines, then one line per row and runtime.
    Csv,
    /// One JSON document.
    Json,
}

/// The parsed command line.
#[derive(Clone, Debug)]
pub struct Options {
    /// Reduced sizes and repetitions.
    pub quick: bool,
    /// Tiny sizes, one repetition, no pauses (for the tests; not in USAGE).
    pub tiny: bool,
    /// Worker threads per runtime.
    pub workers: usize,
    /// Repetitions per cell.
    pub reps: usize,
    /// Warm-up runs per child.
    pub warmup: usize,
    /// Pause before every timed run.
    pub settle_ms: u64,
    /// Only these workloads, if given.
    pub only: Option<Vec<Kind>>,
    /// Child time limit.
    pub timeout_s: u64,
    /// Output format.
    pub format: Format,
    /// Regenerate docs/PERFORMANCE.md.
    pub write_docs: bool,
    /// The arguments as given (for the command written into the docs).
    pub args: Vec<String>,
}

impl Options {
    /// The workloads to run.
    pub fn suite(&self) -> Vec<Workload> {
        let suite = if self.tiny {
            tiny_suite()
        } else {
            Workload::suite(self.quick)
        };
        suite
            .into_iter()
            .filter(|w| self.only.as_ref().map_or(true, |only| only.contains(&w.kind)))
            .collect()
    }

    /// The arguments minus `--format` (the docs are always Markdown).
    pub fn command_line(&self) -> String {
        let mut out = Vec::new();
        let mut args = self.args.iter();
        while let Some(a) = args.next() {
            if a == "--format" {
                args.next();
            } else {
                out.push(a.as_str());
            }
        }
        out.join(" ")
    }
}

/// Every workload at a size that runs in milliseconds even in debug builds.
fn tiny_suite() -> Vec<Workload> {
    let mut suite: Vec<Workload> = Workload::suite(true)
        .into_iter()
        .map(|w| {
            let n = match w.kind {
                Kind::FibJoin => 12,
                Kind::FibSpawn => 22,
                Kind::Idle => 10,
                _ => 1000,
            };
            Workload::new(w.kind, n)
        })
        .collect();
    suite.dedup();
    suite
}

/// Parses the arguments (without the program name). `Err("")` is `--help`.
pub fn parse(args: Vec<String>) -> Result<Options, String> {
    let mut o = Options {
        quick: false,
        tiny: false,
        workers: std::thread::available_parallelism().map_or(1, |n| n.get()),
        reps: 0,
        warmup: 1,
        settle_ms: 5,
        only: None,
        timeout_s: 300,
        format: Format::Markdown,
        write_docs: false,
        args: args.clone(),
    };
    let mut reps = None;
    let mut it = args.into_iter();
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--quick" => o.quick = true,
            "--tiny" => o.tiny = true,
            "--write-docs" => o.write_docs = true,
            "--workers" => o.workers = number(&value(&arg)?, &arg, 1)? as usize,
            "--reps" => reps = Some(number(&value(&arg)?, &arg, 1)? as usize),
            "--warmup" => o.warmup = number(&value(&arg)?, &arg, 0)? as usize,
            "--settle-ms" => o.settle_ms = number(&value(&arg)?, &arg, 0)?,
            "--timeout-s" => o.timeout_s = number(&value(&arg)?, &arg, 1)?,
            "--only" => {
                let list = value(&arg)?;
                let kinds = list
                    .split(',')
                    .map(|name| Kind::from_name(name.trim()).ok_or(format!("unknown workload {name:?}")))
                    .collect::<Result<Vec<_>, _>>()?;
                o.only = Some(kinds);
            }
            "--format" => {
                o.format = match value(&arg)?.as_str() {
                    "markdown" | "md" => Format::Markdown,
                    "csv" => Format::Csv,
                    "json" => Format::Json,
                    other => return Err(format!("unknown format {other:?}")),
                }
            }
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    o.reps = reps.unwrap_or(if o.tiny {
        1
    } else if o.quick {
        3
    } else {
        10
    });
    Ok(o)
}

/// An integer of at least `min`.
fn number(text: &str, name: &str, min: u64) -> Result<u64, String> {
    match text.parse::<u64>() {
        Ok(n) if n >= min => Ok(n),
        _ => Err(format!(
            "{name} must be an integer of at least {min}, got {text:?}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(args: &[&str]) -> Result<Options, String> {
        parse(args.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn defaults_and_flags() {
        let o = parse_str(&[]).unwrap();
        assert_eq!(
            (o.quick, o.reps, o.warmup, o.settle_ms, o.format),
            (false, 10, 1, 5, Format::Markdown)
        );
        assert_eq!(parse_str(&["--quick"]).unwrap().reps, 3);
        let o = parse_str(&[
            "--quick",
            "--reps",
            "5",
            "--workers",
            "3",
            "--settle-ms",
            "0",
            "--format",
            "json",
        ])
        .unwrap();
        assert_eq!(
            (o.quick, o.reps, o.workers, o.settle_ms, o.format),
            (true, 5, 3, 0, Format::Json)
        );
        assert_eq!(o.command_line(), "--quick --reps 5 --workers 3 --settle-ms 0");
        let o = parse_str(&["--only", "chained,fib_spawn"]).unwrap();
        let kinds: Vec<Kind> = o.suite().iter().map(|w| w.kind).collect();
        assert_eq!(kinds, [Kind::Chained, Kind::FibSpawn]);
    }

    #[test]
    fn bad_flags() {
        for bad in [
            &["--workers", "0"][..],
            &["--reps"],
            &["--settle-ms", "-1"],
            &["--format", "xml"],
            &["--only", "chained,nope"],
            &["--fast"],
        ] {
            assert!(parse_str(bad).is_err(), "{bad:?}");
        }
        assert_eq!(parse_str(&["--help"]).unwrap_err(), "");
    }

    #[test]
    fn full_suite_has_every_kind() {
        let suite = parse_str(&[]).unwrap().suite();
        for kind in crate::workloads::KINDS {
            assert!(suite.iter().any(|w| w.kind == kind), "{kind:?}");
        }
        assert!(suite.contains(&Workload::new(Kind::FibSpawn, 32)));
        assert!(suite.contains(&Workload::new(Kind::Chained, 100_000)));
        assert!(suite.contains(&Workload::new(Kind::Memory, 1_000_000)));
    }
}
