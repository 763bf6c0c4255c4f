//! Summary statistics (median, min, max), fibra/peer ratios, and rendering
//! of the results as Markdown, CSV or JSON.

use crate::metric::Metric;
use crate::workloads::Workload;
use serde_json::json;
use std::fmt::Write;

/// Median and range of one cell's repetitions.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Stats {
    /// The median (mean of the two middle values for an even count).
    pub median: f64,
    /// The lowest repetition.
    pub min: f64,
    /// The highest repetition.
    pub max: f64,
    /// How many repetitions.
    pub count: usize,
}

impl Stats {
    /// Summarises `samples`; `None` if there are none.
    pub fn from_samples(samples: &[f64]) -> Option<Stats> {
        let mut sorted = samples.to_vec();
        sorted.sort_by(f64::total_cmp);
        Some(Stats {
            median: median(&sorted)?,
            min: *sorted.first()?,
            max: *sorted.last()?,
            count: sorted.len(),
        })
    }
}

/// The median of an already sorted list.
pub fn median(sorted: &[f64]) -> Option<f64> {
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(sorted[n / 2]),
        _ => Some((sorted[n / 2 - 1] + sorted[n / 2]) / 2.0),
    }
}

/// One runtime's result for one row.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    /// Measured.
    Value(Stats),
    /// The runtime has no form of this workload.
    NotApplicable,
    /// The runtime is not available here, and why.
    Missing(String),
    /// A child failed, and why.
    Failed(String),
    /// The workload is not implemented yet, and what it waits for.
    Pending(String),
}

impl Cell {
    /// The measured stats, if any.
    pub fn stats(&self) -> Option<Stats> {
        match self {
            Cell::Value(s) => Some(*s),
            _ => None,
        }
    }

    /// The cell as table text.
    fn text(&self) -> String {
        match self {
            Cell::Value(s) => format!("{} ({}–{})", number(s.median), number(s.min), number(s.max)),
            Cell::NotApplicable => "-".to_string(),
            Cell::Missing(why) => format!("missing: {why}"),
            Cell::Failed(why) => format!("failed: {why}"),
            Cell::Pending(why) => why.clone(),
        }
    }

    /// The cell as a table cell: a missing or failed runtime's reason goes
    /// to `notes` (each distinct reason once) and the cell names its number.
    fn short_text(&self, notes: &mut Vec<String>) -> String {
        let (word, why) = match self {
            Cell::Missing(why) => ("missing", why),
            Cell::Failed(why) => ("failed", why),
            _ => return self.text(),
        };
        let number = match notes.iter().position(|n| n == why) {
            Some(i) => i + 1,
            None => {
                notes.push(why.clone());
                notes.len()
            }
        };
        format!("{word} [{number}]")
    }

    /// The cell's status word for CSV and JSON.
    fn status(&self) -> &'static str {
        match self {
            Cell::Value(_) => "ok",
            Cell::NotApplicable => "n/a",
            Cell::Missing(_) => "missing",
            Cell::Failed(_) => "failed",
            Cell::Pending(_) => "pending",
        }
    }
}

/// A number with about three significant digits.
fn number(x: f64) -> String {
    if x >= 100.0 {
        format!("{x:.0}")
    } else if x >= 10.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.2}")
    }
}

/// What the table's header states about the run.
#[derive(Clone, Debug)]
pub struct Meta {
    /// CPU model from `/proc/cpuinfo`.
    pub cpu_model: String,
    /// CPUs this process may use.
    pub cpus: usize,
    /// Worker threads in every runtime.
    pub workers: usize,
    /// Timed repetitions per cell.
    pub reps: usize,
    /// Untimed warm-up runs in each child before its timed run.
    pub warmup: usize,
    /// Pause before every timed run, in milliseconds.
    pub settle_ms: u64,
    /// `(runtime, version)` of every runtime compared.
    pub versions: Vec<(String, String)>,
    /// `release` or `debug`.
    pub profile: &'static str,
}

/// One metric of one workload, one cell per runtime.
#[derive(Clone, Debug)]
pub struct Row {
    /// The workload measured.
    pub workload: Workload,
    /// What the cells show.
    pub metric: Metric,
    /// One entry per runtime, in the table's order.
    pub cells: Vec<Cell>,
}

/// All results. The first runtime is the subject whose ratios are shown.
#[derive(Clone, Debug)]
pub struct Table {
    /// The header facts.
    pub meta: Meta,
    /// Runtime names, subject first.
    pub peers: Vec<String>,
    /// One row per workload metric.
    pub rows: Vec<Row>,
}

impl Table {
    /// The subject's median over each other runtime's, per row.
    fn ratios(&self, row: &Row) -> Vec<Option<f64>> {
        let subject = row.cells.first().and_then(Cell::stats);
        row.cells[1..]
            .iter()
            .map(|peer| match (subject, peer.stats()) {
                (Some(s), Some(p)) if p.median > 0.0 => Some(s.median / p.median),
                _ => None,
            })
            .collect()
    }

    fn versions(&self) -> String {
        let parts: Vec<String> = self
            .meta
            .versions
            .iter()
            .map(|(n, v)| format!("{n} {v}"))
            .collect();
        parts.join(", ")
    }

    /// The table as Markdown: a bullet list of facts, then the table.
    pub fn markdown(&self) -> String {
        let m = &self.meta;
        let subject = &self.peers[0];
        let mut out = String::new();
        let _ = writeln!(
            out,
            "- CPU: {} ({} CPUs available to the process)",
            m.cpu_model, m.cpus
        );
        let _ = writeln!(out, "- workers: {} per runtime", m.workers);
        let _ = writeln!(out, "- versions: {}", self.versions());
        let _ = writeln!(
            out,
            "- {} build; every measurement in a fresh process per runtime ({} warm-up run(s), then one timed run \
             after a {} ms pause); {} repetitions per cell, runtimes interleaved per repetition",
            m.profile, m.warmup, m.settle_ms, m.reps
        );
        let _ = writeln!(
            out,
            "- cells: median (min–max), lower is better; ratio = {subject} median / runtime median, below 1.00x \
             means {subject} is lower"
        );
        out.push('\n');

        let mut header = vec!["workload".to_string(), "unit".to_string()];
        header.extend(self.peers.iter().cloned());
        header.extend(self.peers[1..].iter().map(|p| format!("{subject}/{p}")));
        let _ = writeln!(out, "| {} |", header.join(" | "));
        let align: Vec<&str> = (0..header.len())
            .map(|i| if i < 2 { "---" } else { "--:" })
            .collect();
        let _ = writeln!(out, "|{}|", align.join("|"));
        let mut notes: Vec<String> = Vec::new();
        for row in &self.rows {
            let mut cells = vec![row.workload.label(), row.metric.unit().to_string()];
            cells.extend(row.cells.iter().map(|c| c.short_text(&mut notes)));
            cells.extend(
                self.ratios(row)
                    .into_iter()
                    .map(|r| r.map_or("-".to_string(), |r| format!("{r:.2}x"))),
            );
            let _ = writeln!(out, "| {} |", cells.join(" | "));
        }
        if !notes.is_empty() {
            out.push('\n');
            for (i, note) in notes.iter().enumerate() {
                let _ = writeln!(out, "[{}] {note}  ", i + 1);
            }
        }
        out
    }

    /// The table as CSV: `#` comment lines with the facts, then one line per
    /// (row, runtime) with status, median, min, max, ratio and note.
    pub fn csv(&self) -> String {
        let m = &self.meta;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# cpu: {}; cpus: {}; workers: {}",
            m.cpu_model, m.cpus, m.workers
        );
        let _ = writeln!(
            out,
            "# versions: {}; profile: {}; reps: {}; warm-up runs per child: {}; settle: {} ms",
            self.versions(),
            m.profile,
            m.reps,
            m.warmup,
            m.settle_ms
        );
        let _ = writeln!(
            out,
            "workload,unit,runtime,status,median,min,max,{}_ratio,note",
            self.peers[0]
        );
        for row in &self.rows {
            let ratios = self.ratios(row);
            for (i, (peer, cell)) in self.peers.iter().zip(&row.cells).enumerate() {
                let ratio = i
                    .checked_sub(1)
                    .and_then(|j| ratios[j])
                    .map_or(String::new(), |r| format!("{r:.3}"));
                let (median, min, max) =
                    cell.stats()
                        .map_or((String::new(), String::new(), String::new()), |s| {
                            (
                                format!("{:.3}", s.median),
                                format!("{:.3}", s.min),
                                format!("{:.3}", s.max),
                            )
                        });
                let note = match cell {
                    Cell::Missing(w) | Cell::Failed(w) | Cell::Pending(w) => w.replace('"', "'"),
                    _ => String::new(),
                };
                let _ = writeln!(
                    out,
                    "\"{}\",{},{peer},{},{median},{min},{max},{ratio},\"{note}\"",
                    row.workload.label(),
                    row.metric.unit(),
                    cell.status(),
                );
            }
        }
        out
    }

    /// The table as one JSON document.
    pub fn json(&self) -> String {
        let m = &self.meta;
        let rows: Vec<_> = self
            .rows
            .iter()
            .map(|row| {
                let ratios = self.ratios(row);
                let cells: Vec<_> = self
                    .peers
                    .iter()
                    .zip(&row.cells)
                    .enumerate()
                    .map(|(i, (peer, cell))| {
                        let mut value = json!({ "runtime": peer, "status": cell.status() });
                        if let Some(s) = cell.stats() {
                            value["median"] = json!(s.median);
                            value["min"] = json!(s.min);
                            value["max"] = json!(s.max);
                            value["reps"] = json!(s.count);
                        }
                        if let Some(r) = i.checked_sub(1).and_then(|j| ratios[j]) {
                            value[format!("{}_ratio", self.peers[0])] = json!(r);
                        }
                        if let Cell::Missing(w) | Cell::Failed(w) | Cell::Pending(w) = cell {
                            value["note"] = json!(w);
                        }
                        value
                    })
                    .collect();
                json!({
                    "workload": row.workload.kind.name(),
                    "n": row.workload.n,
                    "label": row.workload.label(),
                    "unit": row.metric.unit(),
                    "cells": cells,
                })
            })
            .collect();
        let versions: serde_json::Map<String, serde_json::Value> =
            m.versions.iter().map(|(n, v)| (n.clone(), json!(v))).collect();
        let doc = json!({
            "cpu_model": m.cpu_model,
            "cpus": m.cpus,
            "workers": m.workers,
            "reps": m.reps,
            "warmup": m.warmup,
            "settle_ms": m.settle_ms,
            "profile": m.profile,
            "versions": versions,
            "runtimes": self.peers,
            "rows": rows,
        });
        serde_json::to_string_pretty(&doc).expect("JSON of plain values") + "\n"
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::workloads::Kind;

    #[test]
    fn median_of_odd_and_even_lists() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[7.0]), Some(7.0));
        assert_eq!(median(&[1.0, 2.0, 9.0]), Some(2.0));
        assert_eq!(median(&[1.0, 2.0, 4.0, 9.0]), Some(3.0));
    }

    #[test]
    fn stats_sort_their_samples() {
        let s = Stats::from_samples(&[5.0, 1.0, 3.0, 2.0]).unwrap();
        assert_eq!(
            s,
            Stats {
                median: 2.5,
                min: 1.0,
                max: 5.0,
                count: 4
            }
        );
        assert_eq!(Stats::from_samples(&[]), None);
    }

    #[test]
    fn number_formatting() {
        assert_eq!(number(1234.4), "1234");
        assert_eq!(number(12.34), "12.3");
        assert_eq!(number(1.234), "1.23");
    }

    /// A small table for the rendering tests.
    pub(crate) fn sample() -> Table {
        let value = |m: f64| {
            Cell::Value(Stats {
                median: m,
                min: m - 1.0,
                max: m + 1.0,
                count: 3,
            })
        };
        Table {
            meta: Meta {
                cpu_model: "Test CPU 9000".to_string(),
                cpus: 2,
                workers: 2,
                reps: 10,
                warmup: 1,
                settle_ms: 5,
                versions: vec![("tokio".into(), "1.2.3".into()), ("go".into(), "go1.27".into())],
                profile: "release",
            },
            peers: vec!["fibra".into(), "tokio".into(), "go".into()],
            rows: vec![
                Row {
                    workload: Workload::new(Kind::SpawnInside, 10),
                    metric: Metric::NsPerTask,
                    cells: vec![value(10.0), value(20.0), value(40.0)],
                },
                Row {
                    workload: Workload::new(Kind::SpawnOutside, 10),
                    metric: Metric::NsPerTask,
                    cells: vec![
                        value(30.0),
                        Cell::Failed("exit 1".into()),
                        Cell::Missing("no Go".into()),
                    ],
                },
                Row {
                    workload: Workload::new(Kind::PingPong, 0),
                    metric: Metric::NsPerTask,
                    cells: vec![Cell::Pending("not built yet (issue 4)".into()); 3],
                },
            ],
        }
    }

    #[test]
    fn markdown_has_header_and_rows() {
        let md = sample().markdown();
        assert!(
            md.contains("Test CPU 9000 (2 CPUs available to the process)"),
            "{md}"
        );
        assert!(md.contains("workers: 2 per runtime"), "{md}");
        assert!(md.contains("10 repetitions per cell"), "{md}");
        assert!(md.contains("tokio 1.2.3, go go1.27"), "{md}");
        assert!(
            md.contains("| workload | unit | fibra | tokio | go | fibra/tokio | fibra/go |"),
            "{md}"
        );
        assert!(md.contains("| spawn-burst inside, n=10 | ns/task | 10.0 (9.00–11.0) | 20.0 (19.0–21.0) | 40.0 (39.0–41.0) | 0.50x | 0.25x |"), "{md}");
        assert!(md.contains("| spawn-burst outside, n=10 | ns/task | 30.0 (29.0–31.0) | failed [1] | missing [2] | - | - |"), "{md}");
        assert!(md.contains("\n[1] exit 1  \n[2] no Go  \n"), "{md}");
        assert!(
            md.contains("| ping-pong, 0 round trips | ns/task | not built yet (issue 4) |"),
            "{md}"
        );
    }

    #[test]
    fn csv_has_one_line_per_cell() {
        let csv = sample().csv();
        assert!(
            csv.starts_with("# cpu: Test CPU 9000; cpus: 2; workers: 2\n"),
            "{csv}"
        );
        assert!(
            csv.contains("\"spawn-burst inside, n=10\",ns/task,fibra,ok,10.000,9.000,11.000,,\"\"\n"),
            "{csv}"
        );
        assert!(
            csv.contains("\"spawn-burst inside, n=10\",ns/task,go,ok,40.000,39.000,41.000,0.250,\"\"\n"),
            "{csv}"
        );
        assert!(
            csv.contains("\"spawn-burst outside, n=10\",ns/task,tokio,failed,,,,,\"exit 1\"\n"),
            "{csv}"
        );
        assert_eq!(csv.lines().count(), 3 + 3 * 3);
    }

    #[test]
    fn json_round_trips() {
        let doc: serde_json::Value = serde_json::from_str(&sample().json()).unwrap();
        assert_eq!(doc["workers"], 2);
        assert_eq!(doc["versions"]["go"], "go1.27");
        let cell = &doc["rows"][0]["cells"][2];
        assert_eq!(cell["runtime"], "go");
        assert_eq!(cell["median"], 40.0);
        assert_eq!(cell["fibra_ratio"], 0.25);
        assert_eq!(doc["rows"][1]["cells"][1]["note"], "exit 1");
        assert_eq!(doc["rows"][2]["cells"][0]["status"], "pending");
    }
}
