//! The parent side: runs every measurement in a fresh child process, the
//! runtimes interleaved per repetition (A B C A B C ...), parses each
//! child's result line and turns the samples into table rows.
//!
//! A runtime that is missing (no Go toolchain), does not support a workload,
//! or whose child fails (exits non-zero, crashes, times out, prints a wrong
//! result) gets a marked cell; it never stops the run.

use crate::metric::Metric;
use crate::protocol::{parse_output, Report};
use crate::report::{Cell, Row, Stats};
use crate::workloads::Workload;
use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How a runtime's child is started.
#[derive(Clone, Debug)]
pub enum Launch {
    /// This binary in child mode: `--child NAME ...`.
    Child(PathBuf, String),
    /// A separate program (Go) taking the same flags.
    Program(PathBuf),
    /// Not available here, and why.
    Missing(String),
}

/// One runtime under comparison.
#[derive(Clone, Debug)]
pub struct Contender {
    /// Column name.
    pub name: String,
    /// How to run it.
    pub launch: Launch,
}

/// Per-child settings.
#[derive(Clone, Copy, Debug)]
pub struct ChildSettings {
    /// Worker threads (GOMAXPROCS for Go).
    pub workers: usize,
    /// Untimed warm-up runs in each child.
    pub warmup: usize,
    /// Pause before the timed run, in ms.
    pub settle_ms: u64,
    /// A child running longer is killed and its cell marked failed.
    pub timeout: Duration,
}

/// Where a contender stands during one workload.
enum State {
    Active(Vec<Vec<f64>>), // samples per metric
    Done(Cell),
}

/// Measures `workload` on every contender, `reps` times each, interleaved.
pub fn measure(
    workload: Workload,
    contenders: &[Contender],
    reps: usize,
    settings: ChildSettings,
) -> Vec<Row> {
    let metrics = Metric::of(workload.kind);
    let mut states: Vec<State> = contenders
        .iter()
        .map(|c| match (&c.launch, workload.kind.pending()) {
            (_, Some(why)) => State::Done(Cell::Pending(why.to_string())),
            (Launch::Missing(why), _) => State::Done(Cell::Missing(why.clone())),
            _ => State::Active(vec![Vec::new(); metrics.len()]),
        })
        .collect();
    for _ in 0..reps {
        for (contender, state) in contenders.iter().zip(&mut states) {
            let State::Active(samples) = state else { continue };
            match run_child(contender, workload, settings) {
                Ok(Report::Unsupported) => *state = State::Done(Cell::NotApplicable),
                Ok(Report::Result(fields)) => {
                    for (metric, out) in metrics.iter().zip(samples.iter_mut()) {
                        out.extend(metric.value(workload, &fields));
                    }
                }
                Err(reason) => *state = State::Done(Cell::Failed(reason)),
            }
        }
    }
    metrics
        .iter()
        .enumerate()
        .map(|(m, &metric)| Row {
            workload,
            metric,
            cells: states
                .iter()
                .map(|state| match state {
                    State::Active(samples) => {
                        Stats::from_samples(&samples[m]).map_or(Cell::NotApplicable, Cell::Value)
                    }
                    State::Done(cell) => cell.clone(),
                })
                .collect(),
        })
        .collect()
}

/// Runs one child and parses its report.
fn run_child(contender: &Contender, workload: Workload, settings: ChildSettings) -> Result<Report, String> {
    let mut command = match &contender.launch {
        Launch::Child(exe, name) => {
            let mut c = Command::new(exe);
            // A backtrace needs memory that a child out of memory or
            // mappings may not get (may's stack exhaustion then hangs).
            c.args(["--child", name]).env("RUST_BACKTRACE", "0");
            c
        }
        Launch::Program(program) => Command::new(program),
        Launch::Missing(why) => return Err(why.clone()),
    };
    command.args(child_args(workload, settings));
    let (status, stdout, stderr) = run_with_timeout(command, settings.timeout)?;
    if !status.success() {
        return Err(failure_reason(&status, &stderr));
    }
    parse_output(&stdout, workload, Metric::required_fields(workload.kind))
}

/// The flags every child (Rust or Go) takes.
pub fn child_args(workload: Workload, settings: ChildSettings) -> Vec<String> {
    [
        ("--workload", workload.kind.name().to_string()),
        ("--n", workload.n.to_string()),
        ("--workers", settings.workers.to_string()),
        ("--warmup", settings.warmup.to_string()),
        ("--settle-ms", settings.settle_ms.to_string()),
    ]
    .into_iter()
    .flat_map(|(flag, value)| [flag.to_string(), value])
    .collect()
}

type Finished = (std::process::ExitStatus, String, String);

/// Runs `command`, killing it after `timeout`; returns status, stdout, stderr.
fn run_with_timeout(mut command: Command, timeout: Duration) -> Result<Finished, String> {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start: {e}"))?;
    let (mut out, mut err) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    // Drain stderr on a thread so that a chatty child cannot fill the pipe.
    let err_reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = err.read_to_string(&mut text);
        text
    });
    let out_reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = out.read_to_string(&mut text);
        text
    });
    let start = Instant::now();
    let status = loop {
        match child.try_wait().map_err(|e| e.to_string())? {
            Some(status) => break status,
            None if start.elapsed() > timeout => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("timed out after {} s", timeout.as_secs()));
            }
            None => std::thread::sleep(Duration::from_millis(2)),
        }
    };
    Ok((
        status,
        out_reader.join().unwrap_or_default(),
        err_reader.join().unwrap_or_default(),
    ))
}

/// A short reason for a failed child: the last panic's message, or the last line
/// of its stderr, and how it exited.
pub fn failure_reason(status: &std::process::ExitStatus, stderr: &str) -> String {
    use std::os::unix::process::ExitStatusExt;
    let lines: Vec<&str> = stderr.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    let panic_message = lines
        .iter()
        .rposition(|l| l.contains("panicked at"))
        .and_then(|i| lines.get(i + 1));
    let last = lines.iter().rev().find(|l| !l.starts_with("note:"));
    let how = match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit {code}"),
        (None, Some(signal)) => format!("signal {signal}"),
        _ => "abnormal exit".to_string(),
    };
    match panic_message.or(last) {
        Some(message) => format!("{message} ({how})"),
        None => how,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::ExitStatusExt;
    use std::process::ExitStatus;

    #[test]
    fn failure_reasons() {
        let panicked =
            "thread 'main' panicked at src/x.rs:1:2:\nmay: cannot spawn\nnote: run with `RUST_BACKTRACE=1`\n";
        assert_eq!(
            failure_reason(&ExitStatus::from_raw(101 << 8), panicked),
            "may: cannot spawn (exit 101)"
        );
        assert_eq!(failure_reason(&ExitStatus::from_raw(11), ""), "signal 11");
        assert_eq!(
            failure_reason(&ExitStatus::from_raw(1 << 8), "a\nlast words\n"),
            "last words (exit 1)"
        );
    }

    fn settings() -> ChildSettings {
        ChildSettings {
            workers: 2,
            warmup: 0,
            settle_ms: 0,
            timeout: Duration::from_secs(600),
        }
    }

    /// Two fake runtimes (shell scripts) that log their turn and report a
    /// fixed result: the runs alternate, and every sample is kept.
    #[test]
    fn runtimes_take_turns_per_repetition() {
        let dir = std::env::temp_dir().join(format!("fibra-bench-runner-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let log = dir.join("log");
        let contenders: Vec<Contender> = ["a", "b"]
            .iter()
            .map(|name| {
                let script = dir.join(name);
                let body = format!(
                    "#!/bin/sh\necho {name} >> '{}'\necho 'result workload=chained n=10 check=10 ns=50'\n",
                    log.display()
                );
                std::fs::write(&script, body).unwrap();
                let _ = Command::new("chmod").arg("+x").arg(&script).status();
                Contender {
                    name: name.to_string(),
                    launch: Launch::Program(script),
                }
            })
            .collect();
        let rows = measure(
            Workload::new(crate::workloads::Kind::Chained, 10),
            &contenders,
            3,
            settings(),
        );
        assert_eq!(std::fs::read_to_string(&log).unwrap(), "a\nb\na\nb\na\nb\n");
        let expected = Stats {
            median: 5.0,
            min: 5.0,
            max: 5.0,
            count: 3,
        };
        assert_eq!(rows[0].cells, [Cell::Value(expected), Cell::Value(expected)]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn missing_and_failing_contenders_get_marked_cells() {
        let contenders = [
            Contender {
                name: "gone".into(),
                launch: Launch::Missing("not here".into()),
            },
            Contender {
                name: "false".into(),
                launch: Launch::Program(PathBuf::from("/bin/false")),
            },
            Contender {
                name: "echo".into(),
                launch: Launch::Program(PathBuf::from("/bin/echo")),
            },
        ];
        let rows = measure(
            Workload::new(crate::workloads::Kind::Chained, 10),
            &contenders,
            2,
            settings(),
        );
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].cells[0], Cell::Missing("not here".into()));
        assert_eq!(rows[0].cells[1], Cell::Failed("exit 1".into()));
        // echo prints its arguments: no result line.
        assert_eq!(rows[0].cells[2], Cell::Failed("no result line".into()));
    }
}
