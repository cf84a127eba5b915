#!/usr/bin/env bash
# The emulated ENA: build QEMU with the device (qemu/build.sh), then boot
# Debian's 6.1 kernel with two ENA devices on a QEMU hub and let the real
# drivers prove it: Debian's ena, our ena_custom through the real host
# scripts, and the drivers' reset paths under injected faults.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
WORK=$(mktemp -d /tmp/qemu-test.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

rc=0
"$TOP/tools/apt-install.sh" gcc iproute2 ethtool iperf3 jq iputils-ping
QEMU=$("$TOP/qemu/build.sh")
gcc -O2 -Wall -Wextra -Werror -o "$WORK/enaport" "$HERE/enaport.c"

# Two ENIs on one hub: A (the primary) and B (the lab ENI).
# shellcheck disable=SC2054 # the commas belong to QEMU's option syntax
vm=(--qemu-binary "$QEMU" --stock-module ena --bin bash --bin ip --bin ethtool --bin iperf3 --bin jq
	--file "$HERE/guest-lib.sh:/opt/ena-lab/guest-lib.sh" --file "$WORK/enaport:/usr/bin/enaport"
	--qemu -netdev --qemu hubport,id=a,hubid=0 --qemu -device --qemu ena,netdev=a,mac=02:e1:ab:00:00:0a
	--qemu -netdev --qemu hubport,id=b,hubid=0 --qemu -device --qemu ena,netdev=b,mac=02:e1:ab:00:00:0b)

LOGDIR=${QEMU_TEST_LOGS:-$WORK}
run() {
	local name=$1
	shift
	if "$TOP/vmtest/run.sh" --log "$LOGDIR/$name.log" "$@"; then echo "PASS $name"; else echo "FAIL $name"; rc=1; fi
}

run stock-ena-on-emulated-enis --script "$HERE/vm-stock.sh" "${vm[@]}"
exit $rc
