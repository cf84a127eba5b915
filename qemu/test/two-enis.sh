# Sourced by qemu/test/run.sh and tools/tour.sh: the VM every ENA test
# boots, two emulated ENIs on one QEMU hub (A stands for the primary ENI,
# B for the lab ENI), with the guest library and the test-port tool.
# shellcheck shell=bash disable=SC2034 # vm is for the scripts that source this

# two_enis QEMU WORK [A_PROPS [B_PROPS]]: sets the array `vm` to vmtest's
# arguments; *_PROPS are extra device properties (",llq=off,..."). B's
# device starts each frame 2 bytes into its first Rx buffer, for drivers
# that say they take an offset (rx_offset in their host info).
two_enis() {
	local qemu=$1 work=$2 a=${3:-} b=${4:-} here
	here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
	if [[ ! -x $work/enaport ]]; then
		gcc -O2 -Wall -Wextra -Werror -I "$here/../../rust/ena-capi/include" -o "$work/enaport" "$here/enaport.c"
		gcc -O2 -Wall -Wextra -Werror -o "$work/xdppass" "$here/xdppass.c"
	fi
	echo 2 >"$work/rx-offset"
	# shellcheck disable=SC2054 # the commas belong to QEMU's option syntax
	vm=(--qemu-binary "$qemu" --stock-module ena --bin bash --bin ip --bin ethtool --bin iperf3 --bin jq
		--file "$here/guest-lib.sh:/opt/ena-lab/guest-lib.sh" --file "$work/enaport:/usr/bin/enaport"
		--file "$work/xdppass:/usr/bin/xdppass"
		--file "$work/rx-offset:/opt/ena-lab/rx-offset"
		--qemu -netdev --qemu hubport,id=a,hubid=0 --qemu -device --qemu "ena,netdev=a,mac=02:e1:ab:00:00:0a$a"
		--qemu -netdev --qemu hubport,id=b,hubid=0 --qemu -device --qemu "ena,netdev=b,mac=02:e1:ab:00:00:0b,rx-offset=2$b")
}
