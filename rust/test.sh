#!/usr/bin/env bash
# Rust proofs: the workspace's tests (rings as properties, a loopback device,
# the C original on identical inputs, layouts against the C headers),
# rustfmt's layout and clippy with warnings as errors.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
command -v cargo >/dev/null || { echo "cargo is not installed (Rust via rustup is expected on this machine)" >&2; exit 1; }
cargo clippy --version >/dev/null 2>&1 || rustup component add clippy
cargo fmt --version >/dev/null 2>&1 || rustup component add rustfmt
cargo fmt --all --check
# The C side is compiled by build.rs with the cc crate: gcc, tar and sha256sum.
../tools/apt-install.sh gcc tar coreutils
cargo test --workspace --locked
cargo clippy --workspace --all-targets --locked -- -D warnings
# The C ABI from C: the header's layouts and a handshake through the
# exported functions, linked like QEMU links them.
cargo build --quiet --release --locked -p ena-capi
smoke=$(mktemp /tmp/ena-capi-smoke.XXXXXX)
trap 'rm -f "$smoke"' EXIT
gcc -std=c11 -Wall -Wextra -Werror -I ena-capi/include -o "$smoke" ena-capi/tests/c/smoke.c \
	target/release/libena_capi.a -ldl -lpthread -lm
"$smoke"
