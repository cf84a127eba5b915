#!/usr/bin/env bash
# The harness's own contract, proven on real boots: a passing bash guest
# script (#!/usr/bin/env bash, --bin bash with its libraries) passes; a FAIL
# marker, a non-zero script exit, a missing VMTEST-DONE and a timeout each
# fail with their reason; a script whose interpreter is missing is refused
# before booting.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
RUN=$(cd "$HERE/.." && pwd)/run.sh

# Results go to a file: the timeout case runs in the background.
pass() { echo "PASS $1" | tee -a "$TMP/results"; }
fail() { echo "FAIL $1: $2" | tee -a "$TMP/results"; }

# guest NAME: writes the guest script from stdin to $TMP/NAME.sh.
guest() { cat >"$TMP/$1.sh"; }

# expect_run NAME WANT_RC PATTERN ARGS...: run the harness, check its exit
# status (0 or nonzero) and that its output says PATTERN.
expect_run() {
	local name=$1 want=$2 pattern=$3 rc=0
	shift 3
	echo "[vmtest-selftest] $name" >&2
	"$RUN" --script "$TMP/$name.sh" "$@" >"$TMP/$name.out" 2>&1 || rc=$?
	if [[ $want == 0 && $rc != 0 ]] || [[ $want != 0 && $rc == 0 ]]; then
		fail "$name" "harness exit $rc, want $want: $(tail -n 5 "$TMP/$name.out" | tr '\n' ' ')"
	elif ! grep -qE "$pattern" "$TMP/$name.out"; then
		fail "$name" "output lacks /$pattern/: $(tail -n 5 "$TMP/$name.out" | tr '\n' ' ')"
	else
		pass "$name"
	fi
}

main() {
	local passed failed timeout_job
	TMP=$(mktemp -d /tmp/vmtest-selftest.XXXXXX)
	trap 'rm -rf "$TMP"' EXIT
	: >"$TMP/results"

	# The guest idles once booted: its wait overlaps the other boots.
	guest timeout-fails <<'G'
#!/bin/sh
echo "VMTEST-PASS first"
sleep 600
G
	expect_run timeout-fails 1 'timeout after 30s' --timeout 30 &
	timeout_job=$!

	guest bash-script-passes <<'G'
#!/usr/bin/env bash
set -euo pipefail
[[ -n ${BASH_VERSION:-} ]]
grep -q ' /sys/kernel/debug debugfs' /proc/mounts
echo "VMTEST-PASS bash-${BASH_VERSINFO[0]}-with-debugfs"
G
	expect_run bash-script-passes 0 '\[vm\] VMTEST-PASS bash-[0-9]+-with-debugfs' --bin bash

	guest missing-interpreter-refused <<'G'
#!/usr/bin/env bash
echo "VMTEST-PASS never"
G
	expect_run missing-interpreter-refused 1 "runs under 'bash', which is not in the initramfs: add --bin bash"

	guest fail-marker-fails <<'G'
#!/bin/sh
echo "VMTEST-PASS first"
echo "VMTEST-FAIL second: on purpose"
G
	expect_run fail-marker-fails 1 '1 check\(s\) failed'

	guest script-exit-fails <<'G'
#!/bin/sh
echo "VMTEST-PASS first"
exit 3
G
	expect_run script-exit-fails 1 'guest script ended with rc=3'

	guest missing-done-fails <<'G'
#!/bin/sh
echo "VMTEST-PASS first"
poweroff -f
sleep 30
G
	expect_run missing-done-fails 1 'no VMTEST-DONE marker'

	wait "$timeout_job"

	passed=$(grep -c '^PASS' "$TMP/results" || true)
	failed=$(grep -c '^FAIL' "$TMP/results" || true)
	echo "vmtest selftest: $passed passed, $failed failed"
	((failed == 0 && passed == 6))
}

main "$@"
