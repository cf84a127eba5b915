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
"$TOP/tools/apt-install.sh" gcc iproute2 ethtool iperf3 jq iputils-ping coreutils
QEMU=$("$TOP/qemu/build.sh")
gcc -O2 -Wall -Wextra -Werror -I "$TOP/rust/ena-capi/include" -o "$WORK/enaport" "$HERE/enaport.c"

# ena_custom, built as the kmod tests build it (cached).
"$TOP/kmod/test/cached-module.sh" >"$WORK/manifest.json"
KO=$(jq -r .modulePath "$WORK/manifest.json")
jq -r .moduleVersion "$WORK/manifest.json" >"$WORK/version"
scripts=()
for s in lib.sh baseline.sh bind.sh unbind.sh netns.sh validate.sh; do
	scripts+=(--file "$TOP/remote/scripts/$s:/opt/ena-lab/scripts/$s")
done

# Two ENIs on one hub: A (the primary) and B (the lab ENI).
# shellcheck disable=SC2054 # the commas belong to QEMU's option syntax
vm=(--qemu-binary "$QEMU" --stock-module ena --bin bash --bin ip --bin ethtool --bin iperf3 --bin jq
	--file "$HERE/guest-lib.sh:/opt/ena-lab/guest-lib.sh" --file "$WORK/enaport:/usr/bin/enaport"
	--qemu -netdev --qemu hubport,id=a,hubid=0 --qemu -device --qemu ena,netdev=a,mac=02:e1:ab:00:00:0a
	--qemu -netdev --qemu hubport,id=b,hubid=0 --qemu -device --qemu ena,netdev=b,mac=02:e1:ab:00:00:0b,rx-offset=2
	--file "$WORK/rx-offset:/opt/ena-lab/rx-offset")
# B's device starts each frame 2 bytes into its first Rx buffer, for the
# drivers that say they take an offset (rx_offset in their host info).
echo 2 >"$WORK/rx-offset"

# Console logs: kept on failure (the harness shows only the tail).
LOGDIR=${QEMU_TEST_LOGS:-$TOP/.cache/qemu-test-logs}
rm -rf "$LOGDIR" && mkdir -p "$LOGDIR"
run() {
	local name=$1
	shift
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
# shellcheck disable=SC2054
host_vm=("${vm[@]/%mac=02:e1:ab:00:00:0a/mac=02:e1:ab:00:00:0a,llq=off,readless=off}")
host_vm=("${host_vm[@]/%mac=02:e1:ab:00:00:0b,rx-offset=2/mac=02:e1:ab:00:00:0b,rx-offset=2,llq=off,readless=off}")
echo host >"$WORK/host-placement"
# A device that recommends 128-byte entries, and ena_custom forced to 256.
# shellcheck disable=SC2054
small_vm=("${vm[@]/%mac=02:e1:ab:00:00:0b,rx-offset=2/mac=02:e1:ab:00:00:0b,rx-offset=2,llq-large=off}")
echo llq-256 >"$WORK/forced-large"
echo force_large_llq_header=1 >"$WORK/force-large"
echo force_large_llq_header=0 >"$WORK/force-normal"

run stock-ena-on-emulated-enis --script "$HERE/vm-stock.sh" "${vm[@]}"
run stock-ena-host-placement --script "$HERE/vm-stock.sh" "${host_vm[@]}" \
	--file "$WORK/host-placement:/opt/ena-lab/placement"
run faults-stock-ena-resets-and-recovers --script "$HERE/vm-faults.sh" "${vm[@]}" --timeout 300
echo ena_custom >"$WORK/fault-driver"
run faults-ena_custom-resets-and-recovers --script "$HERE/vm-faults.sh" "${small_vm[@]}" --timeout 300 \
	--file "$KO:/opt/ena-lab/ena_custom.ko" --file "$WORK/fault-driver:/opt/ena-lab/fault-driver" \
	--file "$WORK/force-large:/opt/ena-lab/custom-params" --file "$WORK/forced-large:/opt/ena-lab/placement"
lab=(--script "$HERE/vm-lab.sh" "${vm[@]}" --timeout 300 "${scripts[@]}"
	--bin ping --bin ss --bin join --bin modinfo --bin timeout)
run lab-path-stock-vs-ena_custom "${lab[@]}" --file "$KO:/opt/ena-lab/ena_custom.ko" \
	--file "$WORK/version:/opt/ena-lab/version"

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
