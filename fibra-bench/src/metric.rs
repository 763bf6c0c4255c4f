//! What a table row shows: a metric computed from one child's result fields
//! for one workload. Most workloads have one metric; memory has two.

use crate::workloads::{Kind, Workload};
use std::collections::BTreeMap;

/// A number a row reports, and how it is computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metric {
    /// Elapsed ns / tasks.
    NsPerTask,
    /// Elapsed ms for the whole run.
    MsTotal,
    /// Process CPU ms per second of idleness.
    IdleCpuMsPerSecond,
    /// VmHWM at the end, in MiB.
    PeakRssMib,
    /// (VmRSS with every task queued - VmRSS before) / tasks, in bytes.
    BytesPerQueuedTask,
    /// (VmRSS with every task blocked - VmRSS before) / tasks, in bytes.
    BytesPerBlockedTask,
}

impl Metric {
    /// The metrics a workload's rows show, in order.
    pub fn of(kind: Kind) -> &'static [Metric] {
        match kind {
            Kind::SpawnInside | Kind::SpawnOutside | Kind::Chained => &[Metric::NsPerTask],
            Kind::FibJoin | Kind::FibSpawn | Kind::SkynetSpawn | Kind::SkynetForkJoin => &[Metric::MsTotal],
            Kind::Idle => &[Metric::IdleCpuMsPerSecond],
            Kind::Memory => &[Metric::BytesPerQueuedTask, Metric::PeakRssMib],
            Kind::PingPong | Kind::YieldMany => &[Metric::NsPerTask],
            Kind::SkynetChan => &[Metric::MsTotal],
            Kind::BlockedRss => &[Metric::BytesPerBlockedTask],
        }
    }

    /// The fields of a result line that a workload must report.
    pub fn required_fields(kind: Kind) -> &'static [&'static str] {
        match kind {
            Kind::Idle => &["ns", "cpu_ns"],
            Kind::Memory => &["ns", "base_rss_kb", "queued_rss_kb", "hwm_kb"],
            Kind::BlockedRss => &["ns", "base_rss_kb", "blocked_rss_kb", "hwm_kb"],
            _ => &["ns"],
        }
    }

    /// The unit shown in the table.
    pub fn unit(self) -> &'static str {
        match self {
            Metric::NsPerTask => "ns/task",
            Metric::MsTotal => "ms total",
            Metric::IdleCpuMsPerSecond => "CPU ms per idle s",
            Metric::PeakRssMib => "peak RSS MiB",
            Metric::BytesPerQueuedTask => "bytes/task",
            Metric::BytesPerBlockedTask => "bytes/blocked task",
        }
    }

    /// The metric's value for one result (`None` if a field is missing).
    pub fn value(self, workload: Workload, fields: &BTreeMap<String, u64>) -> Option<f64> {
        let field = |key: &str| fields.get(key).map(|&v| v as f64);
        Some(match self {
            Metric::NsPerTask => field("ns")? / workload.tasks().max(1) as f64,
            Metric::MsTotal => field("ns")? / 1e6,
            Metric::IdleCpuMsPerSecond => (field("cpu_ns")? / 1e6) / (field("ns")? / 1e9),
            Metric::PeakRssMib => field("hwm_kb")? / 1024.0,
            Metric::BytesPerQueuedTask => {
                grown_per_task(field("queued_rss_kb")?, field("base_rss_kb")?, workload)
            }
            Metric::BytesPerBlockedTask => {
                grown_per_task(field("blocked_rss_kb")?, field("base_rss_kb")?, workload)
            }
        })
    }

    /// Converts a value of this metric to ns per task, for the chart
    /// (`None` for metrics that are not times).
    pub fn ns_per_task(self, workload: Workload, value: f64) -> Option<f64> {
        match self {
            Metric::NsPerTask => Some(value),
            Metric::MsTotal => Some(value * 1e6 / workload.tasks().max(1) as f64),
            _ => None,
        }
    }
}

/// Bytes of RSS growth (`now_kb - base_kb`, at least 0) per task of `workload`.
fn grown_per_task(now_kb: f64, base_kb: f64, workload: Workload) -> f64 {
    (now_kb - base_kb).max(0.0) * 1024.0 / workload.n.max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
        pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }

    #[test]
    fn values() {
        let burst = Workload::new(Kind::SpawnInside, 1000);
        assert_eq!(
            Metric::NsPerTask.value(burst, &fields(&[("ns", 50_000)])),
            Some(50.0)
        );
        let fib = Workload::new(Kind::FibSpawn, 32);
        assert_eq!(
            Metric::MsTotal.value(fib, &fields(&[("ns", 2_500_000)])),
            Some(2.5)
        );
        let idle = Workload::new(Kind::Idle, 2000);
        let f = fields(&[("ns", 2_000_000_000), ("cpu_ns", 1_000_000)]);
        assert_eq!(Metric::IdleCpuMsPerSecond.value(idle, &f), Some(0.5));
        let memory = Workload::new(Kind::Memory, 1024);
        let f = fields(&[("base_rss_kb", 1000), ("queued_rss_kb", 1064), ("hwm_kb", 2048)]);
        assert_eq!(Metric::BytesPerQueuedTask.value(memory, &f), Some(64.0));
        assert_eq!(Metric::PeakRssMib.value(memory, &f), Some(2.0));
        let blocked = Workload::new(Kind::BlockedRss, 2048);
        let f = fields(&[("base_rss_kb", 1000), ("blocked_rss_kb", 9000), ("hwm_kb", 9100)]);
        assert_eq!(Metric::BytesPerBlockedTask.value(blocked, &f), Some(4000.0));
        assert_eq!(Metric::BytesPerQueuedTask.value(blocked, &f), None);
        assert_eq!(Metric::NsPerTask.value(burst, &fields(&[])), None);
    }

    #[test]
    fn chart_conversion() {
        let skynet = Workload::new(Kind::SkynetSpawn, 1_000_000);
        let ns = Metric::MsTotal.ns_per_task(skynet, 1111.111).unwrap();
        assert!((ns - 1000.0).abs() < 1e-6);
        assert_eq!(Metric::PeakRssMib.ns_per_task(skynet, 1.0), None);
    }
}
