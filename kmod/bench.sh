#!/usr/bin/env bash
# The edit-a-patch loop, measured in one run against Debian's 6.1 headers:
# a cold build, a re-run with nothing changed, and a rebuild after editing
# one patch (the debugfs one, as a learner would).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$HERE/.." && pwd)
FIXTURES=${ENA_LAB_FIXTURES:-$TOP/../shared/fixtures}

"$TOP/tools/apt-install.sh" linux-headers-amd64 kmod make gcc libelf-dev
KVER=$("$TOP/tools/debian-kernel.sh")
TMP=$(mktemp -d /tmp/kmod-bench.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
cp -r "$HERE" "$TMP/kmod"

run() {
	local s e
	s=$(date +%s.%N)
	"$TMP/kmod/build.sh" --version 2.15.0 --source "tarball:$FIXTURES/amzn-drivers-ena_linux_2.15.0.tar.gz" \
		--kernel-build "/usr/src/linux-headers-$KVER" --work "$TMP/work" --install "$TMP/inst" >/dev/null 2>"$TMP/last.err" ||
		{ cat "$TMP/last.err" >&2; exit 1; }
	e=$(date +%s.%N)
	awk -v s="$s" -v e="$e" 'BEGIN { printf "%.2f", e - s }'
}

cold=$(run)
nochange=$(run)
grep -q "nothing to do" "$TMP/last.err" || { echo "the no-change run rebuilt" >&2; exit 1; }
sed -i 's/a snapshot for a learner, not/a snapshot for a learner (edited), not/' "$TMP"/kmod/patches/0004-*.patch
edit=$(run)
grep -q "1 source file(s) changed" "$TMP/last.err" || { echo "the edit did not change exactly one file" >&2; cat "$TMP/last.err" >&2; exit 1; }

printf 'build.sh against %s, %s CPU(s)\n' "$KVER" "$(nproc)"
printf '  %-28s %8ss\n' "cold (extract+configure+all)" "$cold" "no change (up to date)" "$nochange" "one patch edited" "$edit"
awk -v c="$cold" -v e="$edit" 'BEGIN { printf "  edit rebuild is %.1fx faster than cold\n", c / e }'
