//! The C programs, built with the system C compiler (`cc`, or `$CC`) against
//! the static library this `cargo test` just built, then run:
//! `examples/spawn_bench.c` at small sizes (its counts are checked) and
//! `examples/closures.c` (every environment freed once, on both paths) and
//! `tests/c/error_paths.c`.
//!
//! The static library: cargo builds the library target with all its crate
//! types (`staticlib` included) before any integration test, into the same
//! `deps` directory as this test's executable, under a name without a hash
//! (`libfibra_ffi.a`). The C programs are written to `CARGO_TARGET_TMPDIR`.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// What the static library needs from the system on Linux (from
/// `rustc --print native-static-libs`).
const SYSTEM_LIBS: &[&str] = &["-lgcc_s", "-lutil", "-lrt", "-lpthread", "-lm", "-ldl", "-lc"];

fn crate_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn static_library() -> PathBuf {
    let exe = std::env::current_exe().expect("the test's own path");
    let deps = exe.parent().expect("the test executable's directory");
    let lib = deps.join("libfibra_ffi.a");
    assert!(
        lib.exists(),
        "{} is missing: cargo builds it with the library before running the tests",
        lib.display()
    );
    lib
}

/// Runs the C compiler (`$CC`, else `cc`) with fibra.h's directory on the
/// include path, warnings as errors, and `args`; fails the test with the
/// compiler's output on error.
fn run_compiler(args: &[OsString], what: &str) {
    let compiler = std::env::var("CC").unwrap_or_else(|_| "cc".to_string());
    let output = Command::new(&compiler)
        .arg("-I")
        .arg(crate_dir().join("include"))
        .args(["-Wall", "-Wextra", "-Werror"])
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("could not run the C compiler `{compiler}`: {e}"));
    assert_success(&output, &format!("{compiler} {what}"));
}

fn os_strings(args: &[&str]) -> Vec<OsString> {
    args.iter().map(OsString::from).collect()
}

/// Compiles `source` into an executable named `name` in `CARGO_TARGET_TMPDIR`.
fn compile(source: &str, name: &str) -> PathBuf {
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let mut args = os_strings(&["-std=c11", "-O1", "-g"]);
    args.push(crate_dir().join(source).into());
    args.push(static_library().into());
    args.extend(os_strings(SYSTEM_LIBS));
    args.extend(["-o".into(), out.clone().into()]);
    run_compiler(&args, source);
    out
}

fn assert_success(output: &Output, what: &str) {
    assert!(
        output.status.success(),
        "{what} failed ({}):\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// spawn_bench, compiled once for all the tests that run it.
fn spawn_bench() -> &'static Path {
    static BENCH: OnceLock<PathBuf> = OnceLock::new();
    BENCH.get_or_init(|| compile("examples/spawn_bench.c", "spawn_bench"))
}

/// The `result` lines of spawn_bench: (workload, n, check).
fn results(stdout: &str) -> Vec<(String, u64, u64)> {
    stdout
        .lines()
        .filter_map(|line| line.strip_prefix("result "))
        .map(|fields| {
            let field = |key: &str| {
                fields
                    .split(' ')
                    .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
                    .unwrap_or_else(|| panic!("no {key}= in {fields:?}"))
                    .to_string()
            };
            let number = |key: &str| field(key).parse::<u64>().unwrap();
            assert!(number("ns") > 0);
            (field("workload"), number("n"), number("check"))
        })
        .collect()
}

#[test]
fn spawn_bench_counts_every_task() {
    let bench = spawn_bench();
    let output = Command::new(bench)
        .args(["1000", "20000"])
        .env("FIBRA_WORKERS", "2")
        .output()
        .unwrap();
    assert_success(&output, "spawn_bench 1000 20000");
    let stdout = String::from_utf8(output.stdout).unwrap();
    let mut expected = Vec::new();
    for n in [1000, 20000] {
        for workload in ["spawn_burst_outside_c", "spawn_burst_inside_c"] {
            expected.push((workload.to_string(), n, n));
        }
    }
    assert_eq!(results(&stdout), expected, "stdout:\n{stdout}");
}

#[test]
fn spawn_bench_rejects_a_bad_count() {
    let bench = spawn_bench();
    let output = Command::new(bench).arg("ten").output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("not a task count"));
}

#[test]
fn spawn_bench_reports_a_bad_worker_count_from_the_environment() {
    let bench = spawn_bench();
    let output = Command::new(bench)
        .arg("10")
        .env("FIBRA_WORKERS", "0")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("FIBRA_ERR_INVALID_ARGUMENT") && stderr.contains("FIBRA_WORKERS"),
        "{stderr}"
    );
}

#[test]
fn closures_free_every_environment_whether_run_or_cancelled() {
    let program = compile("examples/closures.c", "closures");
    let output = Command::new(&program).arg("5000").output().unwrap();
    assert_success(&output, "closures 5000");
    let stdout = String::from_utf8(output.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines[0], "closures: ran=5000 sum=12497500", "{stdout}");
    let shutdown = lines[1].strip_prefix("closures: shutdown ").expect(&stdout);
    let counts: Vec<u64> = shutdown
        .split(|c: char| !c.is_ascii_digit())
        .filter(|field| !field.is_empty())
        .map(|field| field.parse().unwrap())
        .collect();
    assert_eq!(counts.len(), 3, "{stdout}");
    assert_eq!(counts[0] + counts[1], 5000, "ran + cancelled: {stdout}");
    assert_eq!(counts[2], 5000, "{stdout}");
}

#[test]
fn c_error_paths() {
    let program = compile("tests/c/error_paths.c", "error_paths");
    let output = Command::new(&program).output().unwrap();
    assert_success(&output, "error_paths");
    assert_eq!(String::from_utf8_lossy(&output.stdout), "error_paths: ok\n");
}

#[test]
fn header_is_strict_c99() {
    let source = Path::new(env!("CARGO_TARGET_TMPDIR")).join("include_fibra_h.c");
    std::fs::write(
        &source,
        "#include \"fibra.h\"\nint main(void) { return FIBRA_OK; }\n",
    )
    .unwrap();
    let mut args = os_strings(&["-std=c99", "-pedantic", "-fsyntax-only"]);
    args.push(source.into());
    run_compiler(&args, "-std=c99 -pedantic (fibra.h)");
}
