//! Reads the workspace's `Cargo.lock` at build time and exports the resolved
//! versions of the peer runtimes as environment variables, so that the
//! report's header names the exact versions that were compiled in.

use std::fs;

/// Crates whose resolved version the report shows, and the variable each
/// version is exported as.
const CRATES: [(&str, &str); 5] = [
    ("fibra", "BENCH_FIBRA_VERSION"),
    ("tokio", "BENCH_TOKIO_VERSION"),
    ("rayon", "BENCH_RAYON_VERSION"),
    ("rayon-core", "BENCH_RAYON_CORE_VERSION"),
    ("may", "BENCH_MAY_VERSION"),
];

fn main() {
    let lock_path = "../Cargo.lock";
    println!("cargo:rerun-if-changed={lock_path}");
    let lock = fs::read_to_string(lock_path).unwrap_or_default();
    for (name, var) in CRATES {
        let version = locked_version(&lock, name).unwrap_or_else(|| "unknown".to_string());
        println!("cargo:rustc-env={var}={version}");
    }
}

/// The version of the first `[[package]]` named `name` in a `Cargo.lock`.
fn locked_version(lock: &str, name: &str) -> Option<String> {
    let wanted = format!("name = \"{name}\"");
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line.trim() == wanted {
            let version = lines.next()?.trim();
            let value = version.strip_prefix("version = \"")?.strip_suffix('"')?;
            return Some(value.to_string());
        }
    }
    None
}
