#!/usr/bin/env bash
# ena-tap in a VM: QEMU with two emulated ENAs (qemu/build.sh), Debian's
# 6.1 kernel, ENI A on ena and ENI B under the Rust userspace driver, then
# under ena and ena_custom for comparison (vm-ena-tap.sh says what is
# proven). Console log kept on failure.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$HERE/../../.." && pwd)
WORK=$(mktemp -d /tmp/ena-tap-test.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

"$TOP/tools/apt-install.sh" gcc iproute2 ethtool iperf3 jq iputils-ping coreutils
QEMU=$("$TOP/qemu/build.sh")
(cd "$TOP/rust" && cargo build --quiet --release --locked -p ena-tap)
BIN=$TOP/rust/target/release/ena-tap
# ena_custom, as the kmod and QEMU suites build it (cached), for the
# comparison on the same ENI.
KO=$("$TOP/kmod/test/cached-module.sh" | jq -r .modulePath)
gcc -O2 -Wall -Wextra -Werror -I "$TOP/rust/ena-capi/include" -o "$WORK/enaport" "$TOP/qemu/test/enaport.c"

# shellcheck disable=SC2054 # the commas belong to QEMU's option syntax
vm=(--qemu-binary "$QEMU" --stock-module ena --stock-module tun --stock-module pktgen --bin bash --bin ip --bin ethtool --bin iperf3 --bin jq
	--bin ping --bin timeout
	--file "$TOP/qemu/test/guest-lib.sh:/opt/ena-lab/guest-lib.sh" --file "$WORK/enaport:/usr/bin/enaport"
	--file "$BIN:/usr/bin/ena-tap" --file "$KO:/opt/ena-lab/ena_custom.ko"
	--qemu -netdev --qemu hubport,id=a,hubid=0 --qemu -device --qemu ena,netdev=a,mac=02:e1:ab:00:00:0a
	--qemu -netdev --qemu hubport,id=b,hubid=0 --qemu -device --qemu ena,netdev=b,mac=02:e1:ab:00:00:0b)
# The driver's shared libraries (libgcc_s is not among the others').
for lib in $(ldd "$BIN" | grep -o '/[^ ]*'); do
	vm+=(--file "$lib:$lib")
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
