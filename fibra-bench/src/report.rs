//! Summary statistics (median, min, max), fibra/peer ratios, and rendering
//! of the results as a Markdown or CSV table.

use crate::workloads::Unit;
use std::fmt::Write;

/// Median and range of one cell's repetitions.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Stats {
    /// The median (mean of the two middle values for an even count).
    pub median: f64,
    /// The fastest repetition.
    pub min: f64,
    /// The slowest repetition.
    pub max: f64,
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

/// `subject / peer` formatted as `0.42x`; below `1.00x` the subject is faster.
pub fn ratio(subject: f64, peer: f64) -> String {
    format!("{:.2}x", subject / peer)
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
    /// CPUs this process may run on.
    pub cpus: usize,
    /// Worker threads in every runtime.
    pub workers: usize,
    /// Timed repetitions per cell (after one warm-up run).
    pub reps: usize,
    /// Untimed pause before every run, in milliseconds.
    pub settle_ms: u128,
    /// `(crate, version)` of every runtime compared.
    pub versions: Vec<(String, String)>,
    /// `release` or `debug`.
    pub profile: &'static str,
}

/// One workload's results, one cell per peer (`None`: not applicable).
#[derive(Clone, Debug)]
pub struct Row {
    /// The workload's label.
    pub label: String,
    /// The unit of every cell.
    pub unit: Unit,
    /// One entry per peer, in the table's peer order.
    pub cells: Vec<Option<Stats>>,
}

/// All results. The first peer is the subject whose ratios are shown.
#[derive(Clone, Debug)]
pub struct Table {
    /// The header facts.
    pub meta: Meta,
    /// Peer names, subject first.
    pub peers: Vec<String>,
    /// One row per workload.
    pub rows: Vec<Row>,
}

impl Table {
    /// `fibra/tokio` etc.: the subject's median over each other peer's, per row.
    fn ratios(&self, row: &Row) -> Vec<Option<String>> {
        let subject = row.cells.first().copied().flatten();
        row.cells[1..]
            .iter()
            .map(|peer| match (subject, peer) {
                (Some(s), Some(p)) => Some(ratio(s.median, p.median)),
                _ => None,
            })
            .collect()
    }

    fn ratio_headers(&self) -> Vec<String> {
        self.peers[1..]
            .iter()
            .map(|p| format!("{}/{}", self.peers[0], p))
            .collect()
    }

    fn versions(&self) -> String {
        self.meta
            .versions
            .iter()
            .map(|(name, version)| format!("{name} {version}"))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The table as Markdown: a bullet list of facts, then the table.
    pub fn markdown(&self) -> String {
        let m = &self.meta;
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
            "- {} build; {} timed repetitions per cell after 1 warm-up, runtimes interleaved per repetition; \
             {} ms idle pause before every run",
            m.profile, m.reps, m.settle_ms
        );
        let _ = writeln!(
            out,
            "- cells: median (min–max), lower is better; ratio = {} median / peer median, below 1.00x means {} is faster",
            self.peers[0], self.peers[0]
        );
        out.push('\n');

        let mut header = vec!["workload".to_string(), "unit".to_string()];
        header.extend(self.peers.iter().cloned());
        header.extend(self.ratio_headers());
        let _ = writeln!(out, "| {} |", header.join(" | "));
        let align: Vec<&str> = header
            .iter()
            .enumerate()
            .map(|(i, _)| if i < 2 { "---" } else { "--:" })
            .collect();
        let _ = writeln!(out, "|{}|", align.join("|"));

        for row in &self.rows {
            let mut cells = vec![row.label.clone(), row.unit.label().to_string()];
            cells.extend(row.cells.iter().map(|c| match c {
                Some(s) => format!("{} ({}–{})", number(s.median), number(s.min), number(s.max)),
                None => "-".to_string(),
            }));
            cells.extend(
                self.ratios(row)
                    .into_iter()
                    .map(|r| r.unwrap_or_else(|| "-".to_string())),
            );
            let _ = writeln!(out, "| {} |", cells.join(" | "));
        }
        out
    }

    /// The table as CSV: `#` comment lines with the facts, then one line per
    /// (workload, peer) with the median, min, max and ratio (empty if none).
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
            "# versions: {}; profile: {}; reps: {} after 1 warm-up; settle: {} ms",
            self.versions(),
            m.profile,
            m.reps,
            m.settle_ms
        );
        let _ = writeln!(
            out,
            "workload,unit,runtime,median,min,max,{}_ratio",
            self.peers[0]
        );
        for row in &self.rows {
            let ratios = self.ratios(row);
            for (i, (peer, cell)) in self.peers.iter().zip(&row.cells).enumerate() {
                let Some(s) = cell else { continue };
                let ratio = if i == 0 {
                    String::new()
                } else {
                    ratios[i - 1].clone().unwrap_or_default()
                };
                let _ = writeln!(
                    out,
                    "\"{}\",{},{},{:.3},{:.3},{:.3},{}",
                    row.label,
                    row.unit.label(),
                    peer,
                    s.median,
                    s.min,
                    s.max,
                    ratio
                );
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
                max: 5.0
            }
        );
        assert_eq!(Stats::from_samples(&[]), None);
    }

    #[test]
    fn ratio_formatting() {
        assert_eq!(ratio(1.0, 10.0), "0.10x");
        assert_eq!(ratio(3.0, 2.0), "1.50x");
        assert_eq!(ratio(2.0, 3.0), "0.67x");
    }

    #[test]
    fn number_formatting() {
        assert_eq!(number(1234.4), "1234");
        assert_eq!(number(12.34), "12.3");
        assert_eq!(number(1.234), "1.23");
    }

    fn sample() -> Table {
        let stats = |m: f64| {
            Some(Stats {
                median: m,
                min: m - 1.0,
                max: m + 1.0,
            })
        };
        Table {
            meta: Meta {
                cpu_model: "Test CPU 9000".to_string(),
                cpus: 2,
                workers: 2,
                reps: 10,
                settle_ms: 5,
                versions: vec![("tokio".into(), "1.2.3".into()), ("rayon".into(), "4.5.6".into())],
                profile: "release",
            },
            peers: vec!["fibra".into(), "tokio".into(), "rayon".into()],
            rows: vec![
                Row {
                    label: "spawn-burst inside, n=10".into(),
                    unit: Unit::NsPerTask,
                    cells: vec![stats(10.0), stats(20.0), stats(40.0)],
                },
                Row {
                    label: "spawn-burst outside, n=10".into(),
                    unit: Unit::NsPerTask,
                    cells: vec![stats(30.0), stats(20.0), None],
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
        assert!(md.contains("10 timed repetitions"), "{md}");
        assert!(md.contains("5 ms idle pause"), "{md}");
        assert!(md.contains("tokio 1.2.3, rayon 4.5.6"), "{md}");
        assert!(
            md.contains("| workload | unit | fibra | tokio | rayon | fibra/tokio | fibra/rayon |"),
            "{md}"
        );
        assert!(md.contains("|---|---|--:|--:|--:|--:|--:|"), "{md}");
        assert!(md.contains("| spawn-burst inside, n=10 | ns/task | 10.0 (9.00–11.0) | 20.0 (19.0–21.0) | 40.0 (39.0–41.0) | 0.50x | 0.25x |"), "{md}");
        assert!(md.contains("| spawn-burst outside, n=10 | ns/task | 30.0 (29.0–31.0) | 20.0 (19.0–21.0) | - | 1.50x | - |"), "{md}");
    }

    #[test]
    fn csv_has_one_line_per_cell() {
        let csv = sample().csv();
        assert!(
            csv.starts_with("# cpu: Test CPU 9000; cpus: 2; workers: 2\n"),
            "{csv}"
        );
        assert!(
            csv.contains("workload,unit,runtime,median,min,max,fibra_ratio\n"),
            "{csv}"
        );
        assert!(
            csv.contains("\"spawn-burst inside, n=10\",ns/task,fibra,10.000,9.000,11.000,\n"),
            "{csv}"
        );
        assert!(
            csv.contains("\"spawn-burst inside, n=10\",ns/task,rayon,40.000,39.000,41.000,0.25x\n"),
            "{csv}"
        );
        assert!(!csv.contains("outside, n=10\",ns/task,rayon"), "{csv}");
        assert_eq!(csv.lines().count(), 3 + 3 + 2);
    }
}
