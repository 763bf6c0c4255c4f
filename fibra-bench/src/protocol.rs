//! The one-line protocol between the harness and a child process (a Rust
//! runtime in child mode, or the Go program).
//!
//! A child prints, on stdout, exactly one of:
//!
//! ```text
//! result workload=spawn_inside n=10000 check=49995000 ns=123456
//! unsupported workload=fib_join
//! ```
//!
//! `result` lines carry `workload`, `n` and `check` (the workload's result,
//! which the harness compares with [`Workload::expected`]) and the
//! measurements as further `key=value` fields, all unsigned integers:
//! `ns` (elapsed wall time of the timed run), for `idle` also `cpu_ns`
//! (process CPU time during the idle window), for `memory` `base_rss_kb`
//! (VmRSS before queueing), `queued_rss_kb` (VmRSS with every task queued)
//! and `hwm_kb` (VmHWM at the end), for `blocked_rss` the same with
//! `blocked_rss_kb` (VmRSS with every task blocked) for `queued_rss_kb`.
//! Other lines (there should be none) are
//! ignored; a child that prints no protocol line has failed.

use crate::workloads::{Kind, Workload};
use std::collections::BTreeMap;

/// What a child reported.
#[derive(Clone, Debug, PartialEq)]
pub enum Report {
    /// A checked measurement: its fields other than `workload`, `n`, `check`.
    Result(BTreeMap<String, u64>),
    /// The runtime has no form of this workload.
    Unsupported,
}

/// Formats a result line for `workload` with its `check` value and fields.
pub fn result_line(workload: Workload, check: u64, fields: &[(&str, u64)]) -> String {
    let mut line = format!(
        "result workload={} n={} check={check}",
        workload.kind.name(),
        workload.n
    );
    for (key, value) in fields {
        line.push_str(&format!(" {key}={value}"));
    }
    line
}

/// Formats an unsupported line for `kind`.
pub fn unsupported_line(kind: Kind) -> String {
    format!("unsupported workload={}", kind.name())
}

/// Parses a child's whole stdout for `workload`: the first protocol line
/// decides. Errors name what was wrong (wrong workload, wrong size, wrong
/// check value, a malformed field, no protocol line, missing `required`
/// fields).
pub fn parse_output(stdout: &str, workload: Workload, required: &[&str]) -> Result<Report, String> {
    let line = stdout
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("result ") || l.starts_with("unsupported "))
        .ok_or("no result line")?;
    let (tag, rest) = line.split_once(' ').ok_or("empty line")?;
    let mut fields = parse_fields(rest)?;
    let name = fields.remove("workload").ok_or("no workload= field")?;
    if name != workload.kind.name() {
        return Err(format!(
            "reported workload {name}, expected {}",
            workload.kind.name()
        ));
    }
    if tag == "unsupported" {
        return Ok(Report::Unsupported);
    }
    let mut numbers = BTreeMap::new();
    for (key, value) in fields {
        let number = value
            .parse::<u64>()
            .map_err(|_| format!("field {key}={value} is not an unsigned integer"))?;
        numbers.insert(key, number);
    }
    let mut take = |key: &str| numbers.remove(key).ok_or(format!("no {key}= field"));
    let (n, check) = (take("n")?, take("check")?);
    if n != workload.n {
        return Err(format!("reported n={n}, expected {}", workload.n));
    }
    if check != workload.expected() {
        return Err(format!(
            "wrong result: check={check}, expected {}",
            workload.expected()
        ));
    }
    if let Some(missing) = required.iter().find(|k| !numbers.contains_key(**k)) {
        return Err(format!("no {missing}= field"));
    }
    Ok(Report::Result(numbers))
}

/// `key=value` pairs separated by spaces; keys must be unique.
fn parse_fields(text: &str) -> Result<BTreeMap<String, String>, String> {
    let mut fields = BTreeMap::new();
    for pair in text.split_whitespace() {
        let (key, value) = pair
            .split_once('=')
            .filter(|(k, v)| !k.is_empty() && !v.is_empty())
            .ok_or(format!("malformed field {pair:?}"))?;
        if fields.insert(key.to_string(), value.to_string()).is_some() {
            return Err(format!("duplicate field {key}"));
        }
    }
    Ok(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BURST: Workload = Workload::new(Kind::SpawnInside, 10_000);

    fn fields(pairs: &[(&str, u64)]) -> Report {
        Report::Result(pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect())
    }

    #[test]
    fn formats_and_parses_a_result() {
        let line = result_line(BURST, 49_995_000, &[("ns", 123_456)]);
        assert_eq!(
            line,
            "result workload=spawn_inside n=10000 check=49995000 ns=123456"
        );
        assert_eq!(
            parse_output(&line, BURST, &["ns"]),
            Ok(fields(&[("ns", 123_456)]))
        );
    }

    #[test]
    fn ignores_other_lines_and_whitespace() {
        let out = "warming up\n  result workload=spawn_inside n=10000 check=49995000 ns=7 cpu_ns=3  \n";
        assert_eq!(
            parse_output(out, BURST, &["ns"]),
            Ok(fields(&[("cpu_ns", 3), ("ns", 7)]))
        );
    }

    #[test]
    fn unsupported() {
        let fib = Workload::new(Kind::FibJoin, 27);
        assert_eq!(
            parse_output(&unsupported_line(Kind::FibJoin), fib, &["ns"]),
            Ok(Report::Unsupported)
        );
        assert!(parse_output("unsupported workload=chained", fib, &[]).is_err());
    }

    #[test]
    fn rejects_wrong_checks_and_sizes() {
        let wrong = "result workload=spawn_inside n=10000 check=49995001 ns=5";
        assert_eq!(
            parse_output(wrong, BURST, &["ns"]),
            Err("wrong result: check=49995001, expected 49995000".to_string())
        );
        let size = "result workload=spawn_inside n=100 check=4950 ns=5";
        assert!(parse_output(size, BURST, &["ns"]).unwrap_err().contains("n=100"));
        let kind = "result workload=spawn_outside n=10000 check=49995000 ns=5";
        assert!(parse_output(kind, BURST, &["ns"])
            .unwrap_err()
            .contains("spawn_outside"));
    }

    #[test]
    fn rejects_malformed_lines() {
        for bad in [
            "",
            "nothing here",
            "result",
            "result n=10000 check=49995000 ns=5",
            "result workload=spawn_inside check=49995000 ns=5",
            "result workload=spawn_inside n=10000 ns=5",
            "result workload=spawn_inside n=10000 check=49995000",
            "result workload=spawn_inside n=10000 check=49995000 ns=-5",
            "result workload=spawn_inside n=10000 check=49995000 ns=1.5",
            "result workload=spawn_inside n=10000 check=49995000 ns",
            "result workload=spawn_inside n=10000 check=49995000 =5",
            "result workload=spawn_inside n=10000 check=49995000 ns=5 ns=6",
        ] {
            assert!(parse_output(bad, BURST, &["ns"]).is_err(), "accepted {bad:?}");
        }
    }
}
