#!/usr/bin/env bash
# Rust vs the C original on one pre-generated data-path workload: Tx in host
# placement and in LLQ, and Rx. The C loops are C (ena-cref/c/bench.c, -O2),
# one call per round; each figure is the median of 9 rounds.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
cargo run --release --locked -q -p ena-cref --example bench
