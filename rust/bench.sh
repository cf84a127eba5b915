#!/usr/bin/env bash
# Rust vs the C original on the same data-path workload, one run.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
cargo run --release --locked -q -p ena-cref --example bench
