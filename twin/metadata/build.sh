#!/usr/bin/env bash
# Build ena-lab-imds (this module) into .cache/twin/imds/<hash of its
# sources>/ and print the binary's path; reused while the sources are the same.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
CACHE=${TWIN_CACHE:-$ROOT/.cache/twin}/imds

key=$(cd "$HERE" && cat go.mod go.sum ./*.go | sha256sum | cut -c1-12)
bin=$CACHE/$key/ena-lab-imds
if [[ ! -x $bin ]]; then
	echo "[twin-imds] building ena-lab-imds (amazon-ec2-metadata-mock v1.13.0 and our front)" >&2
	mkdir -p "$CACHE/$key"
	(cd "$HERE" && go build -o "$bin.tmp" .) || { rm -f "$bin.tmp"; echo "[twin-imds] error: go build failed" >&2; exit 1; }
	mv "$bin.tmp" "$bin"
	find "$CACHE" -mindepth 1 -maxdepth 1 ! -name "$key" -exec rm -rf {} +
fi
echo "$bin"
