//! What a child process reads about itself: CPU time used by the whole
//! process (every thread), and resident memory from `/proc/self/status`.

use std::time::Duration;

/// CPU time (user + system) used so far by every thread of this process,
/// from `clock_gettime(CLOCK_PROCESS_CPUTIME_ID)` (nanosecond resolution,
/// unlike the 10 ms ticks of `/proc/self/stat`).
pub fn process_cpu_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec for the duration of the
    // call, and CLOCK_PROCESS_CPUTIME_ID is a clock every Linux supports.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_PROCESS_CPUTIME_ID) failed");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Resident set size now and its peak, in KiB.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rss {
    /// `VmRSS`: resident now.
    pub now_kb: u64,
    /// `VmHWM`: the peak so far.
    pub peak_kb: u64,
}

/// Reads `VmRSS` and `VmHWM` from `/proc/self/status`.
pub fn rss() -> Result<Rss, String> {
    let status =
        std::fs::read_to_string("/proc/self/status").map_err(|e| format!("/proc/self/status: {e}"))?;
    parse_rss(&status)
}

fn parse_rss(status: &str) -> Result<Rss, String> {
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.trim().strip_suffix("kB"))
            .and_then(|kb| kb.trim().parse::<u64>().ok())
            .ok_or(format!("no {name} line in /proc/self/status"))
    };
    Ok(Rss {
        now_kb: field("VmRSS:")?,
        peak_kb: field("VmHWM:")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_status() {
        let status = "Name:\tx\nVmHWM:\t  2048 kB\nVmRSS:\t  1024 kB\nThreads:\t3\n";
        assert_eq!(
            parse_rss(status),
            Ok(Rss {
                now_kb: 1024,
                peak_kb: 2048
            })
        );
        assert!(parse_rss("VmRSS:\t1 kB\n").is_err());
    }

    #[test]
    fn cpu_time_grows_with_work() {
        let before = process_cpu_time();
        let mut x = 0u64;
        while process_cpu_time() == before {
            x = std::hint::black_box(x.wrapping_add(1));
        }
        assert!(process_cpu_time() > before);
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn reads_own_rss() {
        let rss = rss().unwrap();
        assert!(rss.now_kb > 0 && rss.peak_kb >= rss.now_kb);
    }
}
