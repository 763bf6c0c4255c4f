//! Go: finds a Go toolchain, builds `fibra-bench/go/` (standard library
//! only, so offline) next to the harness binary, and reports its version.
//!
//! The toolchain is, in order: the `GO` environment variable (a path to a
//! `go` binary; if set, it must exist), `go` on `PATH`, or the path that
//! `scripts/install-go.sh` recorded in `target/go-path`. Builds run with
//! `GOTOOLCHAIN=local` (never download a toolchain), `GOPROXY=off` (never
//! fetch a module), `GOFLAGS=` and a `GOCACHE` beside the built program.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The Go program, built and ready to run.
#[derive(Clone, Debug)]
pub struct GoProgram {
    /// The built `fibra-bench-go` binary.
    pub binary: PathBuf,
    /// `go version`'s version word, e.g. `go1.27.3`.
    pub version: String,
}

/// Where the Go sources live.
fn source_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("go")
}

/// The `go` binary to use, or why there is none.
pub fn find_toolchain() -> Result<PathBuf, String> {
    const HOW: &str = "set GO, put go on PATH, or run scripts/install-go.sh";
    if let Some(go) = std::env::var_os("GO").filter(|v| !v.is_empty()) {
        let go = PathBuf::from(go);
        return match go.is_file() {
            true => Ok(go),
            false => Err(format!("GO={} is not a file ({HOW})", go.display())),
        };
    }
    let on_path = std::env::var_os("PATH")
        .map(|paths| {
            std::env::split_paths(&paths)
                .map(|dir| dir.join("go"))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    if let Some(go) = on_path.into_iter().find(|p| p.is_file()) {
        return Ok(go);
    }
    let recorded = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/go-path");
    match std::fs::read_to_string(&recorded) {
        Ok(path) if Path::new(path.trim()).is_file() => Ok(PathBuf::from(path.trim())),
        _ => Err(format!("no Go toolchain ({HOW})")),
    }
}

/// Finds Go, builds the program into `out_dir`, and asks its version.
pub fn build(out_dir: &Path) -> Result<GoProgram, String> {
    let go = find_toolchain()?;
    let binary = out_dir.join("fibra-bench-go");
    let output = go_command(&go, out_dir)
        .args(["build", "-o"])
        .arg(&binary)
        .arg(".")
        .current_dir(source_dir())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", go.display()))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(format!("go build failed: {}", stderr.trim()));
    }
    let version = go_command(&go, out_dir)
        .arg("version")
        .output()
        .map_err(|e| format!("go version: {e}"))?;
    let text = String::from_utf8_lossy(&version.stdout);
    let version = text.split_whitespace().nth(2).unwrap_or("unknown").to_string();
    Ok(GoProgram { binary, version })
}

/// `go` with the offline, local-toolchain environment.
fn go_command(go: &Path, out_dir: &Path) -> Command {
    let mut command = Command::new(go);
    command
        .env("GOTOOLCHAIN", "local")
        .env("GOPROXY", "off")
        .env("GOFLAGS", "")
        .env("GOTELEMETRY", "off")
        .env("GOCACHE", out_dir.join("go-cache"));
    command
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds the Go program when a toolchain is present and runs every
    /// workload on it at tiny sizes, through the harness's own parser (so
    /// every check value is verified); without Go, checks only that the
    /// reason says how to get one.
    #[test]
    fn go_program_gets_every_workload_right() {
        use crate::metric::Metric;
        use crate::protocol::{parse_output, Report};
        use crate::workloads::{Kind, Workload};
        if let Err(reason) = find_toolchain() {
            assert!(reason.contains("install-go.sh"), "{reason}");
            eprintln!("skipped: {reason}");
            return;
        }
        let dir = std::env::temp_dir().join(format!("fibra-bench-go-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let program = build(&dir).unwrap();
        assert!(program.version.starts_with("go"), "{}", program.version);
        let tiny = [
            (Kind::SpawnInside, 1000, true),
            (Kind::SpawnOutside, 1000, true),
            (Kind::Chained, 1000, true),
            (Kind::FibJoin, 10, false),
            (Kind::FibSpawn, 24, true),
            (Kind::SkynetSpawn, 1000, true),
            (Kind::SkynetForkJoin, 1000, false),
            (Kind::Idle, 10, true),
            (Kind::Memory, 1000, true),
            (Kind::SkynetChan, 1000, true),
            (Kind::BlockedRss, 1000, true),
            (Kind::PingPong, 1000, true),
            (Kind::YieldMany, 1000, true),
        ];
        for (kind, n, supported) in tiny {
            let workload = Workload::new(kind, n);
            let output = Command::new(&program.binary)
                .args(["--workload", kind.name(), "--n", &n.to_string(), "--workers", "2"])
                .args(["--settle-ms", "0"])
                .output()
                .unwrap();
            let stdout = String::from_utf8_lossy(&output.stdout);
            let report = parse_output(&stdout, workload, Metric::required_fields(kind));
            match report {
                Ok(Report::Result(_)) => assert!(supported, "{kind:?}"),
                Ok(Report::Unsupported) => assert!(!supported, "{kind:?}"),
                Err(e) => panic!("{kind:?}: {e}: {stdout}"),
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
