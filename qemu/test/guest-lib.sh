# Sourced by the guest scripts (bash: busybox sh would run its own ip applet
# before iproute2's): markers, waits, the two ENIs.
# shellcheck shell=bash disable=SC2034 # the constants are for the scripts that source this
# QEMU gives the VM two ENA devices joined by a hub: A stands for the
# primary ENI, B for the lab ENI.
MAC_A=02:e1:ab:00:00:0a
MAC_B=02:e1:ab:00:00:0b
IP_A=198.51.100.10
IP_B=198.51.100.20
# bits N: the set bits of N, as a list ("1 2 26").
bits() { local v=$1 i out=""; for i in $(seq 0 31); do (((v >> i) & 1)) && out="$out $i"; done; echo "${out# }"; }

# shellcheck source=../../vmtest/guest.sh
. /usr/lib/vmtest/guest.sh

# nic MAC [NS]: the interface with that MAC, in the root or a namespace.
nic() {
	if [ -n "${2:-}" ]; then
		ip -n "$2" -o link | awk -v m="$1" '$0 ~ m { sub(":", "", $2); sub("@.*", "", $2); print $2 }'
	else
		for n in /sys/class/net/*; do [ "$(cat "$n/address")" = "$1" ] && echo "${n##*/}"; done
	fi
}
bdf_of_mac() { for n in /sys/class/net/*; do [ "$(cat "$n/address")" = "$1" ] && basename "$(readlink -f "$n/device")"; done; }
driver_of_bdf() { basename "$(readlink "/sys/bus/pci/devices/$1/driver" 2>/dev/null)" 2>/dev/null; }

has_nic() { [ -n "$(nic "$@")" ]; }
carrier_on() { [ "$(cat "/sys/class/net/$1/carrier" 2>/dev/null)" = 1 ]; }
carrier_on_ns() { ip -n "$2" link show "$1" | grep -q 'LOWER_UP'; }

both_present() { has_nic $MAC_A && has_nic $MAC_B; }

# iproute2 keeps namespaces under /var/run/netns.
prepare_netns() { mkdir -p /var /run/netns && { [ -e /var/run ] || ln -s /run /var/run; }; }

# wire_pair A B: A up in the root namespace with IP_A, B up in namespace
# "peer" with IP_B: traffic between them crosses both emulated ENIs.
wire_pair() {
	prepare_netns
	ip netns add peer
	ip link set "$2" netns peer
	ip -n peer link set lo up
	ip -n peer addr add "$IP_B/24" dev "$2"
	ip -n peer link set "$2" up
	ip addr add "$IP_A/24" dev "$1"
	ip link set "$1" up
}

# tx_ring IFACE [NS]: the Tx ring size in use (ethtool -g, current settings).
tx_ring() {
	local run=()
	[ -n "${2:-}" ] && run=(ip netns exec "$2")
	"${run[@]}" ethtool -g "$1" 2>/dev/null | awk '/^Current/ { cur = 1 } cur && /^TX:/ { print $2; exit }'
}

# placement BDF: the Tx path the device sees the driver use: "host", or
# "llq-<entry bytes>" with the device-placement queues it has.
placement() {
	local q
	q=$(enaport "$1" read llq-queues)
	if [ "$q" = 0 ]; then echo host; else echo "llq-$(enaport "$1" read llq-entry-size)"; fi
}

# expect_placement NAME BDF IFACE [NS]: the driver took the Tx path
# /opt/ena-lab/placement names (llq, the default, as on Nitro, or host),
# with the Tx ring that goes with it: 1024 for 128-byte LLQ entries and
# host placement, 512 for 256-byte (large) entries.
expect_placement() {
	local want got ring
	want=$(cat /opt/ena-lab/placement 2>/dev/null || echo llq)
	got=$(placement "$2") ring=$(tx_ring "$3" "${4:-}")
	info "$1: placement $got, tx ring $ring"
	case "$want:$got:$ring" in
	host:host:1024 | llq:llq-128:1024 | llq:llq-256:512 | llq-128:llq-128:1024 | llq-256:llq-256:512)
		pass "$1-placement-$want" ;;
	*) fail "$1-placement-$want" "device sees $got, tx ring $ring" ;;
	esac
	local said=llq
	dmesg | grep -F "$2" | grep -q 'LLQ is not supported' && said=host
	if [ "$said" = "${got%%-*}" ]; then pass "$1-driver-agrees-$said"; else fail "$1-driver-agrees" "driver: $said, device: $got"; fi
}

# bind_custom BDF [PARAMS...]: ena_custom (/opt/ena-lab/ena_custom.ko) on
# the device, as bind.sh does it, minus the checks vm-lab.sh covers.
bind_custom() {
	local bdf=$1
	shift
	lsmod | grep -q '^ena_custom ' || insmod /opt/ena-lab/ena_custom.ko "$@"
	echo ena_custom >"/sys/bus/pci/devices/$bdf/driver_override"
	echo "$bdf" >/sys/bus/pci/drivers/ena/unbind
	echo "$bdf" >/sys/bus/pci/drivers_probe
}

# protocol_kept NAME BDF...: the device's protocol checker saw no
# violation from the drivers of these functions (else each check that
# fired, with its first instance, is the failure's reason).
protocol_kept() {
	local name=$1 bdf found="" rc
	shift
	for bdf in "$@"; do
		rc=0
		enaport "$bdf" checks >/tmp/checks 2>&1 || rc=$?
		case $rc in
		0) ;;
		3) found="$found $bdf: $(tr '\n' ';' </tmp/checks)" ;;
		*) found="$found $bdf: enaport failed: $(cat /tmp/checks)" ;;
		esac
	done
	if [ -z "$found" ]; then pass "$name"; else fail "$name" "$found"; fi
}

# ena_dmesg: what the ENA drivers said, for failure messages.
ena_dmesg() { dmesg | grep -E 'ena(_custom)? ' | tail -n "${1:-15}"; }
show_dmesg() { ena_dmesg "${1:-15}" | while IFS= read -r l; do info "dmesg: $l"; done; }

# gbps JSON: iperf3's end-of-test receive rate in Gbit/s; positive N: N > 0.
gbps() { jq -r '.end.sum_received.bits_per_second / 1e9' "$1" 2>/dev/null; }
positive() { awk -v v="$1" 'BEGIN { exit !(v + 0 > 0) }'; }
