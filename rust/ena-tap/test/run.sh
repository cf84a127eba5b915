#!/usr/bin/env bash
# ena-tap in a VM: QEMU with two emulated ENAs (qemu/build.sh), Debian's
# 6.1 kernel, ENI A on ena and ENI B under the Rust userspace driver, then
# under ena and ena_custom for comparison, and DPDK's ENA PMD as the
# benchmark's peer (vm-ena-tap.sh says what is proven). Console log kept
# on failure.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$HERE/../../.." && pwd)
WORK=$(mktemp -d /tmp/ena-tap-test.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

# dpdk-dev ships dpdk-testpmd, librte-net-ena23 the ENA PMD: the peer.
"$TOP/tools/apt-install.sh" gcc iproute2 ethtool iperf3 jq iputils-ping coreutils dpdk-dev librte-net-ena23
QEMU=$("$TOP/qemu/build.sh")
(cd "$TOP/rust" && cargo build --quiet --release --locked -p ena-tap)
BIN=$TOP/rust/target/release/ena-tap
# ena_custom, as the kmod and QEMU suites build it (cached), for the
# comparison on the same ENI.
KO=$("$TOP/kmod/test/cached-module.sh" | jq -r .modulePath)
# igb_uio for the guest, for DPDK's PMD (cached).
IGB_UIO=$("$HERE/igb-uio.sh")
# The two ENIs every VM test boots (qemu/test/two-enis.sh), and what the
# driver and the comparison need besides.
# shellcheck source=../../../qemu/test/two-enis.sh
. "$TOP/qemu/test/two-enis.sh"
two_enis "$QEMU" "$WORK"
vm+=(--stock-module tun --stock-module pktgen --stock-module uio --bin ping --bin timeout
	--file "$BIN:/usr/bin/ena-tap" --file "$KO:/opt/ena-lab/ena_custom.ko"
	--bin dpdk-testpmd --file "$IGB_UIO:/opt/ena-lab/igb_uio.ko")
# The drivers' shared libraries (libgcc_s is not among the others'), and
# the two plugins testpmd loads: the ENA PMD and the ring mempool.
PMDS=/usr/lib/x86_64-linux-gnu/dpdk/pmds-23.0
for lib in $(ldd "$BIN" | grep -o '/[^ ]*') $PMDS/librte_net_ena.so.23 $PMDS/librte_mempool_ring.so.23; do
	vm+=(--file "$(readlink -f "$lib"):$lib")
done

LOGDIR=${ENA_TAP_TEST_LOGS:-$TOP/.cache/ena-tap-test-logs}
rm -rf "$LOGDIR" && mkdir -p "$LOGDIR"
name=ena-tap-beside-ena-on-emulated-enis
if "$TOP/vmtest/run.sh" --log "$LOGDIR/$name.log" --script "$HERE/vm-ena-tap.sh" "${vm[@]}" --timeout 300; then
	echo "PASS $name"
	rm -f "$LOGDIR/$name.log"
else
	echo "FAIL $name (console log: $LOGDIR/$name.log)"
	exit 1
fi
