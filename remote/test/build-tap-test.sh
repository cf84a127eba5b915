#!/usr/bin/env bash
# build-tap.sh with this machine's real rustc, on the files the tap-build
# step ships (the workspace manifest and each crate's src/, as rust/driver.go
# embeds them): it builds a binary that names its sources, a second run
# builds nothing, an old rustc and a broken source are refused by name and
# leave nothing behind, clean removes every build.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
SCRIPT=$TOP/remote/scripts/build-tap.sh
# shellcheck source=../../tools/test/testlib.sh
source "$HERE/../../tools/test/testlib.sh"

RUSTC=$(command -v rustc) || { echo "build-tap-test: rustc is not installed (Rust via rustup is expected on this machine)" >&2; exit 1; }

TMP=$(mktemp -d /tmp/build-tap-test.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
SRC=$TMP/src STATE=$TMP/state
mkdir -p "$SRC"
cp "$TOP/rust/Cargo.toml" "$SRC/"
for crate in ena-core ena-pci ena-tap; do
	mkdir -p "$SRC/$crate"
	cp -r "$TOP/rust/$crate/src" "$SRC/$crate/"
done

# build [VAR=VALUE...] [ACTION]: the step as the runner calls it; out and err kept.
build() {
	local envs=() args=() a
	for a in "$@"; do
		if [[ $a == *=* ]]; then envs+=("$a"); else args+=("$a"); fi
	done
	ENA_LAB_STATE_DIR=$STATE ENA_LAB_LOG_DIR=$TMP/log ENA_LAB_RUST_DIR=$SRC env "${envs[@]}" \
		bash "$SCRIPT" "${args[@]}" >"$TMP/out" 2>"$TMP/err"
}
# build_said ARGS...: build, then what it said on stderr.
build_said() {
	local rc=0
	build "$@" || rc=$?
	cat "$TMP/err"
	return $rc
}
builds() { find "$STATE/tap" -mindepth 1 -maxdepth 1 2>/dev/null | sort; }

if build; then
	bin=$(jq -r .binary "$TMP/out") version=$(jq -r .version "$TMP/out")
	if [[ $version =~ ^src-[0-9a-f]{12}$ && -x $bin && $("$bin" --version) == "ena-tap $version" ]] &&
		jq -e --arg v "$("$RUSTC" --version | awk '{print $2}')" '.changed and .rustc == $v' "$TMP/out" >/dev/null; then
		pass builds-a-binary-named-by-its-sources
		echo "FIGURE build-tap: ena-tap built by rustc $(jq -r .rustc "$TMP/out") in $(jq -r .seconds "$TMP/out") s"
	else
		fail builds-a-binary-named-by-its-sources "$(cat "$TMP/out") $("$bin" --version 2>&1)"
	fi
else
	fail builds-a-binary-named-by-its-sources "$(tail -n 5 "$TMP/err")"
	version=none
fi
before=$(builds)

if build && jq -e '.changed == false' "$TMP/out" >/dev/null && grep -q "nothing to do" "$TMP/err" && [[ $(builds) == "$before" ]]; then
	pass second-run-builds-nothing
else
	fail second-run-builds-nothing "$(cat "$TMP/out" "$TMP/err")"
fi

# A compiler older than the workspace's rust-version is named, with the fix.
min=$(sed -n 's/^rust-version = "\(.*\)"$/\1/p' "$SRC/Cargo.toml")
mkdir -p "$TMP/old"
printf '#!/bin/sh\necho "rustc 1.63.0 (4b91a6ea7 2022-08-08)"\n' >"$TMP/old/rustc"
chmod +x "$TMP/old/rustc"
expect_failure old-rustc-is-refused-by-version "rustc is 1.63.0, older than $min, the driver's rust-version" \
	build_said ENA_LAB_RUSTC="$TMP/old/rustc"
expect_failure missing-sources-name-the-input "input ENA_LAB_RUST_DIR='$TMP/nowhere' holds no Cargo.toml" \
	build_said ENA_LAB_RUST_DIR="$TMP/nowhere"

# A source that does not compile: the crate and the compiler's first error
# are named, and no build, finished or half-made, is left.
echo 'fn broken( {' >>"$SRC/ena-pci/src/lib.rs"
if build; then
	fail broken-source-names-the-crate-and-leaves-nothing "succeeded: $(cat "$TMP/out")"
elif grep -q "failed on ena-pci: error" "$TMP/err" && [[ $(builds) == "$before" ]]; then
	pass broken-source-names-the-crate-and-leaves-nothing
else
	fail broken-source-names-the-crate-and-leaves-nothing "$(tail -n 3 "$TMP/err") builds: $(builds)"
fi

if build clean && jq -e '.removed' "$TMP/out" >/dev/null && [[ ! -e $STATE/tap ]] && build clean; then
	pass clean-removes-every-build-twice-over
else
	fail clean-removes-every-build-twice-over "$(cat "$TMP/err") $(builds)"
fi

summary build-tap-test
