#!/usr/bin/env bash
# The emulated ENA: build QEMU with the device (qemu/build.sh), then boot
# Debian's 6.1 kernel with two ENA devices on a QEMU hub and let the real
# drivers prove it: Debian's ena, our ena_custom through the real host
# scripts, and the drivers' reset paths under injected faults. Then the
# same on Debian's 6.12 kernel: its own ena, and ena_custom built for it.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
WORK=$(mktemp -d /tmp/qemu-test.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

rc=0
"$TOP/tools/apt-install.sh" gcc iproute2 ethtool iperf3 sockperf jq iputils-ping coreutils
QEMU=$("$TOP/qemu/build.sh")
# shellcheck source=two-enis.sh
. "$HERE/two-enis.sh"

# ena_custom, built as the kmod tests build it (cached).
"$TOP/kmod/test/cached-module.sh" >"$WORK/manifest.json"
KO=$(jq -r .modulePath "$WORK/manifest.json")
jq -r .moduleVersion "$WORK/manifest.json" >"$WORK/version"
scripts=()
for s in lib.sh baseline.sh bind.sh unbind.sh netns.sh validate.sh interleave.sh stats.awk verdict.jq report.sh report.html; do
	scripts+=(--file "$TOP/remote/scripts/$s:/opt/ena-lab/scripts/$s")
done

# Console logs: kept on failure (the harness shows only the tail).
LOGDIR=${QEMU_TEST_LOGS:-$TOP/.cache/qemu-test-logs}
rm -rf "$LOGDIR" && mkdir -p "$LOGDIR"
# QEMU_TEST_ONLY=GLOB runs only the checks it names (a developer's loop);
# the others say they were skipped.
wanted() {
	# shellcheck disable=SC2053 # a glob, on purpose
	[[ -z ${QEMU_TEST_ONLY:-} || $1 == $QEMU_TEST_ONLY ]] && return 0
	echo "SKIP $1 (QEMU_TEST_ONLY=$QEMU_TEST_ONLY)"
	return 1
}
run() {
	local name=$1
	shift
	wanted "$name" || return 0
	if "$TOP/vmtest/run.sh" --log "$LOGDIR/$name.log" "$@"; then
		echo "PASS $name"
		rm -f "$LOGDIR/$name.log"
	else
		echo "FAIL $name (console log: $LOGDIR/$name.log)"
		rc=1
	fi
}

# The same two ENIs with LLQ hidden (the drivers' host placement) and
# the PCI revision that turns read-less register reads off.
two_enis "$QEMU" "$WORK" ,llq=off,readless=off ,llq=off,readless=off
host_vm=("${vm[@]}")
echo host >"$WORK/host-placement"
# A device that recommends 128-byte entries, and ena_custom forced to 256.
two_enis "$QEMU" "$WORK" "" ,llq-large=off
small_vm=("${vm[@]}")
echo llq-256 >"$WORK/forced-large"
echo force_large_llq_header=1 >"$WORK/force-large"
echo force_large_llq_header=0 >"$WORK/force-normal"

# The device's trace of A under Debian's ena (its probe, a data burst, an
# MTU change), and of B through the keep-alive reset, checked on the host.
two_enis "$QEMU" "$WORK" ",trace=$WORK/trace-stock-a.txt"
traced_vm=("${vm[@]}")
two_enis "$QEMU" "$WORK" "" ",trace=$WORK/trace-faults-b.txt"
traced_faults_vm=("${vm[@]}")
trace_checks() {
	if [[ -n ${QEMU_TEST_ONLY:-} && ! -e $2 ]]; then
		echo "SKIP trace-checks $1 (its VM did not run)"
		return 0
	fi
	"$HERE/trace-checks.sh" "$@" || { rc=1; cp "$2" "$LOGDIR/" 2>/dev/null || true; }
}
two_enis "$QEMU" "$WORK"

run stock-ena-on-emulated-enis --script "$HERE/vm-stock.sh" "${traced_vm[@]}"
trace_checks probe "$WORK/trace-stock-a.txt" "$HERE/expected/probe-ena-6.1.txt"
trace_checks stock "$WORK/trace-stock-a.txt"
run stock-ena-host-placement --script "$HERE/vm-stock.sh" "${host_vm[@]}" \
	--file "$WORK/host-placement:/opt/ena-lab/placement"
run faults-stock-ena-resets-and-recovers --script "$HERE/vm-faults.sh" "${traced_faults_vm[@]}" --timeout 300
trace_checks keep-alive-reset "$WORK/trace-faults-b.txt"
echo ena_custom >"$WORK/fault-driver"
run faults-ena_custom-resets-and-recovers --script "$HERE/vm-faults.sh" "${small_vm[@]}" --timeout 300 \
	--file "$KO:/opt/ena-lab/ena_custom.ko" --file "$WORK/fault-driver:/opt/ena-lab/fault-driver" \
	--file "$WORK/force-large:/opt/ena-lab/custom-params" --file "$WORK/forced-large:/opt/ena-lab/placement"
lab=(--script "$HERE/vm-lab.sh" "${vm[@]}" --timeout 540 "${scripts[@]}"
	--bin ping --bin ss --bin join --bin modinfo --bin timeout --bin sockperf)
CHARTJS=$("$TOP/tools/chartjs.sh")
lab+=(--file "$CHARTJS:/opt/ena-lab/vendor/$(basename "$CHARTJS")")
# The thorough mode's six turns: on 6.1 only (they take minutes under TCG).
echo yes >"$WORK/thorough"
run lab-path-stock-vs-ena_custom "${lab[@]}" --file "$KO:/opt/ena-lab/ena_custom.ko" \
	--file "$WORK/version:/opt/ena-lab/version" --file "$WORK/thorough:/opt/ena-lab/thorough"

# make tour: its VM, and every chapter of the story has events.
if ! wanted tour-tells-every-chapter; then
	:
elif "$TOP/tools/tour.sh" --out "$WORK/tour" >"$WORK/tour.txt" 2>"$WORK/tour.err"; then
	chapters=$(grep -cE '^== [0-9]+\. .* \([1-9][0-9]* events\)$' "$WORK/tour.txt" || true)
	if [[ $chapters == 9 && -s $WORK/tour/tour.html ]]; then
		echo "PASS tour-tells-every-chapter"
	else
		echo "FAIL tour-tells-every-chapter: $chapters of 9 chapters have events: $(grep -E '^== ' "$WORK/tour.txt" | tr '\n' ' ')"
		rc=1
	fi
else
	echo "FAIL tour: $(tail -n 3 "$WORK/tour.err" | tr '\n' ' ')"
	rc=1
fi

# The exercises: every reference solution passes its check, and the bug
# hunt's broken patch is caught by the protocol checker.
if ! wanted exercises; then
	:
elif "$TOP/tools/exercise.sh" --all >"$WORK/exercises.txt" 2>&1; then
	echo "PASS exercises: $(grep -c '^== .*: passed$' "$WORK/exercises.txt") solutions pass, the broken patch is caught"
else
	echo "FAIL exercises:"
	grep -E '^== |^  FAIL|^(PASS|FAIL) ' "$WORK/exercises.txt" || tail -n 20 "$WORK/exercises.txt"
	rc=1
fi

# Kernel 6.12 (bookworm-backports): its in-tree ena, and the lab path with
# ena_custom 2.17.0 built against its headers.
KVER612=$("$TOP/tools/debian-kernel.sh" release 6.12)
"$TOP/kmod/test/cached-module.sh" 6.12 2.17.0 >"$WORK/manifest-6.12.json"
jq -r .moduleVersion "$WORK/manifest-6.12.json" >"$WORK/version-2.17"
run stock-ena-on-emulated-enis-6.12 --kernel-version "$KVER612" --script "$HERE/vm-stock.sh" "${vm[@]}"
run lab-path-stock-vs-ena_custom-2.17.0-6.12 --kernel-version "$KVER612" "${lab[@]}" \
	--file "$(jq -r .modulePath "$WORK/manifest-6.12.json"):/opt/ena-lab/ena_custom.ko" \
	--file "$WORK/version-2.17:/opt/ena-lab/version" --file "$WORK/force-normal:/opt/ena-lab/custom-params"
exit $rc
