#!/usr/bin/env bash
# The real Pulumi CLI, built from the Go module proxy as this module's tool
# (about 1.5 min of downloads and 5-8 min of compile on 2 cores, cold) into
# .cache/pulumi/<version>/bin/pulumi, then reused. Prints that root (what the
# Automation API's PulumiCommandOptions.Root takes) on stdout.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
VERSION=$(sed -n 's|^\tgithub.com/pulumi/pulumi/pkg/v3 \(v[0-9.]*\).*|\1|p' "$HERE/go.mod")
[[ $VERSION =~ ^v[0-9]+\.[0-9]+\.[0-9]+$ ]] || { echo "[pulumi-cli] error: no pinned pkg/v3 version in $HERE/go.mod" >&2; exit 1; }
DEST=${PULUMI_CLI_CACHE:-$ROOT/.cache/pulumi}/$VERSION
BIN=$DEST/bin/pulumi

command -v go >/dev/null || { echo "[pulumi-cli] error: go is not installed" >&2; exit 1; }
mkdir -p "$DEST/bin"
exec {lock}>"$DEST/.lock"
flock "$lock"
if [[ ! -x $BIN ]] || ! "$BIN" version 2>/dev/null | grep -qx "$VERSION"; then
	echo "[pulumi-cli] building the Pulumi CLI $VERSION from the Go module proxy (several minutes cold)" >&2
	start=$SECONDS
	# A release build sets the version the CLI reports (and the Automation
	# API checks) the same way.
	(cd "$HERE" && go build -ldflags "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$VERSION" \
		-o "$BIN.tmp" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi) ||
		{ rm -f "$BIN.tmp"; echo "[pulumi-cli] error: go build of the Pulumi CLI failed" >&2; exit 1; }
	mv "$BIN.tmp" "$BIN"
	echo "[pulumi-cli] built $BIN in $((SECONDS - start))s" >&2
fi
got=$("$BIN" version)
[[ $got == "$VERSION" ]] || { echo "[pulumi-cli] error: $BIN says version '$got', want $VERSION" >&2; exit 1; }
echo "$DEST"
