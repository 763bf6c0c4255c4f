//! The harness end to end: `fibra-bench --tiny --format json` runs every
//! workload in child processes of every in-process runtime, and every fibra
//! cell holds a checked measurement. Go is pointed at a path that does not
//! exist, so the test needs no Go toolchain and shows that a missing one
//! is reported, not fatal.

use std::process::Command;

#[test]
fn tiny_run_measures_every_fibra_workload() {
    let output = Command::new(env!("CARGO_BIN_EXE_fibra-bench"))
        .args(["--tiny", "--settle-ms", "0", "--format", "json"])
        .env("GO", "/nonexistent/go")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let doc: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(doc["runtimes"][0], "fibra");
    assert_eq!(doc["versions"]["go"], "not found");
    let rows = doc["rows"].as_array().unwrap();
    let names: Vec<&str> = rows.iter().map(|r| r["workload"].as_str().unwrap()).collect();
    for name in [
        "spawn_inside",
        "spawn_outside",
        "chained",
        "fib_join",
        "fib_spawn",
        "skynet_spawn",
    ] {
        assert!(names.contains(&name), "{name} missing from {names:?}");
    }
    for name in [
        "skynet_fork_join",
        "idle",
        "memory",
        "ping_pong",
        "yield_many",
        "skynet_chan",
        "blocked_rss",
    ] {
        assert!(names.contains(&name), "{name} missing from {names:?}");
    }
    for row in rows {
        let fibra = &row["cells"][0];
        assert_eq!(fibra["status"], "ok", "{row}");
        let go = row["cells"].as_array().unwrap().last().unwrap();
        assert_eq!(go["runtime"], "go");
        assert!(go["status"] == "missing" || go["status"] == "pending", "{row}");
    }
}

#[test]
fn child_mode_prints_one_checked_line() {
    let output = Command::new(env!("CARGO_BIN_EXE_fibra-bench"))
        .args([
            "--child",
            "fibra",
            "--workload",
            "skynet_spawn",
            "--n",
            "100",
            "--workers",
            "2",
        ])
        .output()
        .unwrap();
    assert!(output.status.success());
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.starts_with("result workload=skynet_spawn n=100 check=4950 ns="),
        "{stdout}"
    );
    assert_eq!(stdout.lines().count(), 1);
}

#[test]
fn child_mode_rejects_unknown_runtimes() {
    let output = Command::new(env!("CARGO_BIN_EXE_fibra-bench"))
        .args(["--child", "nope", "--workload", "chained", "--n", "1"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("unknown runtime"));
}
