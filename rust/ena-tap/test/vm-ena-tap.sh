#!/usr/bin/env bash
# ena-tap on an emulated ENI: ENI A stays on Debian's ena (the root
# namespace), ENI B is taken by the Rust userspace driver and reached
# through its TAP (in a namespace). Refusals first (nothing touched), a
# failed bring-up that gives the device back, then ping and iperf3 both
# ways at MTU 9001, 16 flows over two queue pairs, link events, the
# keep-alive fault recovered by a reset, and SIGTERM giving B back to ena,
# which carries traffic again; then ena_custom on B for comparison, and
# the benchmark beside its peer, DPDK's ENA PMD. The kernel stays quiet
# throughout.
# shellcheck disable=SC2015 # "cond && pass || fail": pass only echoes.
# shellcheck source=../../../qemu/test/guest-lib.sh
. /opt/ena-lab/guest-lib.sh

TAP=enatap0
LOG=/tmp/ena-tap.log
STATS=/tmp/ena-tap.stats
stat_of() { awk -v k="$1" '$1 == k { print $2 }' "$STATS" 2>/dev/null; }
said() { grep -q "$1" "$LOG"; }
tap_exists() { [ -e "/sys/class/net/$TAP" ] || ip -n peer link show "$TAP" >/dev/null 2>&1; }
b_on_ena() { [ "$(driver_of_bdf "$BDF_B")" = ena ] && has_nic $MAC_B; }
# driver_override, empty when unset (the kernel shows "(null)").
override_of() { sed 's/^(null)$//' "/sys/bus/pci/devices/$1/driver_override"; }
pings_b() { ip netns exec peer ping -c 2 -W 2 "$IP_A" >/dev/null 2>&1; }
quiet_kernel() { ! dmesg | grep -qE 'Oops|BUG:|Call Trace'; }
# refused NAME WANT ARGS...: ena-tap exits non-zero saying WANT, B untouched.
refused() {
	local name=$1 want=$2
	shift 2
	if "$@" >/tmp/refusal 2>&1; then
		fail "$name" "ena-tap accepted: $(tr '\n' ' ' </tmp/refusal)"
	elif grep -qF -- "$want" /tmp/refusal && b_on_ena && [ -z "$(override_of "$BDF_B")" ]; then
		pass "$name"
	else
		fail "$name" "$(tail -n 2 /tmp/refusal | tr '\n' ' ')"
	fi
}

modprobe ena
modprobe tun
check both-enis-probed wait_for 10 both_present
A=$(nic $MAC_A)
BDF_A=$(bdf_of_mac $MAC_A) BDF_B=$(bdf_of_mac $MAC_B)
info "A=$A ($BDF_A) B=$(nic $MAC_B) ($BDF_B), PCI revision $(cat "/sys/bus/pci/devices/$BDF_B/revision")"
mkdir -p /dev/hugepages
mount -t hugetlbfs none /dev/hugepages
echo 32 >/proc/sys/vm/nr_hugepages
[ "$(cat /proc/sys/vm/nr_hugepages)" = 32 ] && pass hugepages-reserved || fail hugepages-reserved "$(cat /proc/sys/vm/nr_hugepages) pages"

# 1. Refusals before anything is touched: each names the bad value.
ip addr add "$IP_A/24" dev "$A"
ip link set "$A" up mtu 9001
ip route add default via 198.51.100.1 dev "$A"
refused refuses-an-unknown-mac "no network interface has MAC 02:e1:ab:00:00:99" ena-tap --mac 02:e1:ab:00:00:99
refused refuses-the-default-route-interface "refusing $A: it carries the host's default route via 198.51.100.1" \
	ena-tap --mac $MAC_A
ip route del default
SSH_CONNECTION="198.51.100.99 50000 $IP_A 22" refused refuses-the-ssh-interface \
	"refusing $A: it carries an SSH session (to $IP_A)" ena-tap --mac $MAC_A
refused refuses-a-bad-mtu "--mtu '9217': expected a number from 68 to 9216" ena-tap --mac $MAC_B --mtu 9217
[ "$(driver_of_bdf "$BDF_A")" = ena ] && pass a-untouched-by-refusals || fail a-untouched-by-refusals "A on $(driver_of_bdf "$BDF_A")"

# 2. A bring-up the device refuses (1024 entries of 256 bytes: LLQ's wide
# depth is 512) happens after the claim: the device goes back to ena.
refused failed-bring-up-gives-b-back "ring depth 1024 is above the device's limit 512" ena-tap --mac $MAC_B --ring 1024
check b-back-after-failed-bring-up wait_for 10 b_on_ena
[ "$(ls /dev/hugepages)" = "" ] && pass no-hugepage-files-left || fail no-hugepage-files-left "$(ls /dev/hugepages)"

# 3. ena-tap takes B: two queue pairs, MTU 9001, keep-alive watchdog 3 s.
ena-tap --mac $MAC_B --tap $TAP --queues 2 --mtu 9001 --keep-alive-ms 3000 --stats "$STATS" >"$LOG" 2>&1 &
PID=$!
check tap-created wait_for 20 tap_exists
while IFS= read -r l; do info "ena-tap: ${l#ena-tap: }"; done <"$LOG"
[ -z "$(driver_of_bdf "$BDF_B")" ] && [ "$(override_of "$BDF_B")" = ena-tap ] && pass b-taken-from-ena ||
	fail b-taken-from-ena "driver '$(driver_of_bdf "$BDF_B")', override '$(override_of "$BDF_B")'"
[ "$(cat "/sys/class/net/$TAP/address")" = $MAC_B ] && pass tap-has-the-eni-mac || fail tap-has-the-eni-mac "$(cat "/sys/class/net/$TAP/address")"
prepare_netns
ip netns add peer
ip link set "$TAP" netns peer
ip -n peer link set lo up
ip -n peer addr add "$IP_B/24" dev "$TAP"
ip -n peer link set "$TAP" up
check carrier-from-link-event wait_for 10 carrier_on_ns "$TAP" peer
ip -n peer link show "$TAP" | grep -q 'mtu 9001' && pass tap-mtu-9001 || fail tap-mtu-9001 "$(ip -n peer link show "$TAP" | head -n 1)"

check ping-tap-to-a ip netns exec peer ping -c 3 -W 2 "$IP_A"
check ping-a-to-tap ping -c 3 -W 2 "$IP_B"
check jumbo-ping-tap-to-a ip netns exec peer ping -c 2 -W 3 -M "do" -s 8972 "$IP_A"
check jumbo-ping-a-to-tap ping -c 2 -W 3 -M "do" -s 8972 "$IP_B"

# iperf3 RATE_NAME ARGS...: one run from the namespace to a server on A.
iperf() {
	local name=$1 out=/tmp/$1.json
	shift
	iperf3 -s -B "$IP_A" -D -1 >/dev/null
	sleep 0.5
	if ip netns exec peer iperf3 -c "$IP_A" -J "$@" >"$out" && positive "$(gbps "$out")"; then
		pass "$name"
		info "$name: $(gbps "$out") Gbit/s"
	else
		fail "$name" "$(jq -r .error "$out" 2>/dev/null)"
	fi
}
# cpu_per_packet NAME IFACE ARGS...: one iperf3 run (as iperf), and what
# the whole VM spent on it: busy CPU time (user, system, irq, softirq
# from /proc/stat) per packet crossing IFACE in the namespace. The rest of
# the path (iperf3, A's ena) is the same for every driver on B, so the
# figures compare B's drivers; ena-tap's polling core counts in full.
busy_jiffies() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 }' /proc/stat; }
ns_packets() { ip netns exec peer cat "/sys/class/net/$1/statistics/rx_packets" "/sys/class/net/$1/statistics/tx_packets" | awk '{ n += $1 } END { print n }'; }
cpu_per_packet() {
	local name=$1 ifc=$2 j0 p0 j1 p1
	shift 2
	j0=$(busy_jiffies) p0=$(ns_packets "$ifc")
	iperf "$name" "$@"
	j1=$(busy_jiffies) p1=$(ns_packets "$ifc")
	# USER_HZ is 100: a jiffy is 10 ms.
	awk -v j=$((j1 - j0)) -v p=$((p1 - p0)) 'BEGIN { if (p > 0) printf "%.1f", j * 10000 / p; else print "n/a" }' >"/tmp/$name.cpu"
	info "$name: $(cat "/tmp/$name.cpu") µs of CPU per packet ($((p1 - p0)) packets, $((j1 - j0)) jiffies)"
}
cpu_per_packet iperf3-tap-to-a "$TAP" -t 3
iperf iperf3-a-to-tap -t 3 -R
iperf iperf3-16-flows -t 3 -P 16
sleep 1.5 # the statistics file is rewritten every second
info "ena-tap: $(grep -E '^q[01]_(rx|tx)_packets|^dropped' "$STATS" | tr '\n' ' ')"
[ "$(stat_of q0_rx_packets)" -gt 100 ] && [ "$(stat_of q1_rx_packets)" -gt 100 ] &&
	pass rss-spreads-flows-over-both-rx-queues || fail rss-spreads-flows-over-both-rx-queues "$(grep _rx_packets "$STATS" | tr '\n' ' ')"
[ "$(stat_of q0_tx_packets)" -gt 100 ] && [ "$(stat_of q1_tx_packets)" -gt 100 ] &&
	pass flows-leave-by-both-tx-queues || fail flows-leave-by-both-tx-queues "$(grep _tx_packets "$STATS" | tr '\n' ' ')"
# The device's side: Tx from LLQ entries within the burst, registers read
# the read-less way (revision 0).
q=$(enaport "$BDF_B" read llq-queues) e=$(enaport "$BDF_B" read llq-entries) be=$(enaport "$BDF_B" read llq-burst-errors)
info "device: $q LLQ queues, $e entries read, $be burst errors, $(enaport "$BDF_B" read readless-reads) read-less reads"
[ "$q" = 2 ] && [ "$e" -gt 1000 ] && [ "$be" = 0 ] && pass tx-in-llq-within-the-burst || fail tx-in-llq-within-the-burst "queues $q, entries $e, burst errors $be"
[ "$(enaport "$BDF_B" read readless-reads)" -gt 0 ] && pass registers-read-less || fail registers-read-less "no read-less read"

# 4. The wire cut and back: the TAP's carrier follows the link events.
carrier_off_ns() { ! carrier_on_ns "$@"; }
enaport "$BDF_B" write link 0
check carrier-off-on-link-down wait_for 5 carrier_off_ns "$TAP" peer
enaport "$BDF_B" write link 1
check carrier-on-on-link-up wait_for 5 carrier_on_ns "$TAP" peer
check traffic-after-link-up wait_for 10 pings_b

# 5. Keep-alives withheld: the watchdog fires, the device is reset and
# brought up again, traffic resumes.
r0=$(enaport "$BDF_B" read resets)
t0=$(cut -d' ' -f1 /proc/uptime)
enaport "$BDF_B" fault withhold-keep-alive
check keep-alive-loss-noticed wait_for 15 said 'no keep-alive from the device'
check device-reset-and-up-again wait_for 15 said 'device reset and up again'
info "keep-alive loss to recovery: $(awk -v a="$t0" -v b="$(cut -d' ' -f1 /proc/uptime)" 'BEGIN { print b - a }')s (watchdog 3 s)"
r1=$(enaport "$BDF_B" read resets)
[ "$r1" -gt "$r0" ] && [ "$(enaport "$BDF_B" read faults)" = 0 ] && pass device-saw-the-reset ||
	fail device-saw-the-reset "resets $r0 -> $r1, faults $(enaport "$BDF_B" read faults)"
check carrier-back-after-reset wait_for 15 carrier_on_ns "$TAP" peer
check traffic-resumes-after-reset wait_for 15 pings_b
iperf iperf3-after-reset -t 2

# Everything ena-tap did to B so far, as the device's protocol checker saw it.
protocol_kept ena-tap-keeps-the-protocol "$BDF_B"

# 6. SIGTERM: the device reset and given back; ena probes it again.
kill -TERM $PID
rc=0
wait $PID || rc=$?
tail -n 3 "$LOG" | while IFS= read -r l; do info "ena-tap: ${l#ena-tap: }"; done
[ $rc = 0 ] && said 'SIGTERM: stopping' && said "gave $BDF_B back" && pass sigterm-clean-exit || fail sigterm-clean-exit "exit $rc: $(tail -n 2 "$LOG" | tr '\n' ' ')"
check tap-gone wait_for 5 eval '! tap_exists'
check ena-probes-b-again wait_for 15 b_on_ena
[ -z "$(override_of "$BDF_B")" ] && pass driver-override-cleared || fail driver-override-cleared "$(override_of "$BDF_B")"
B=$(nic $MAC_B)
ip link set "$B" netns peer
ip -n peer addr add "$IP_B/24" dev "$B"
ip -n peer link set "$B" up mtu 9001
check carrier-on-ena-again wait_for 10 carrier_on_ns "$B" peer
check ping-b-on-ena-again wait_for 10 pings_b
# The same pair through the kernel's ena on B, for comparison.
cpu_per_packet iperf3-ena-b-to-a "$B" -t 3
iperf iperf3-ena-a-to-b -t 3 -R

# The same pair through ena_custom (the lab's patched driver) on B.
on_custom() { [ "$(driver_of_bdf "$BDF_B")" = ena_custom ] && has_nic $MAC_B; }
insmod /opt/ena-lab/ena_custom.ko
echo ena_custom >"/sys/bus/pci/devices/$BDF_B/driver_override"
echo "$BDF_B" >/sys/bus/pci/drivers/ena/unbind
echo "$BDF_B" >/sys/bus/pci/drivers_probe
check b-on-ena_custom wait_for 15 on_custom
B=$(nic $MAC_B)
ip link set "$B" netns peer
ip -n peer addr add "$IP_B/24" dev "$B"
ip -n peer link set "$B" up mtu 9001
check carrier-on-ena_custom wait_for 10 carrier_on_ns "$B" peer
check ping-b-on-ena_custom wait_for 10 pings_b
cpu_per_packet iperf3-ena_custom-b-to-a "$B" -t 3
iperf iperf3-ena_custom-a-to-b -t 3 -R
info "bench: CPU per packet, B to A (whole VM): ena-tap $(cat /tmp/iperf3-tap-to-a.cpu) µs," \
	"ena $(cat /tmp/iperf3-ena-b-to-a.cpu) µs, ena_custom $(cat /tmp/iperf3-ena_custom-b-to-a.cpu) µs"
# Back to ena for the benchmark: ena_custom unloaded, the override cleared.
rmmod ena_custom
echo >"/sys/bus/pci/devices/$BDF_B/driver_override"
echo "$BDF_B" >/sys/bus/pci/drivers_probe
check b-back-on-ena wait_for 15 b_on_ena
B=$(nic $MAC_B)
ip link set "$B" netns peer
ip -n peer addr add "$IP_B/24" dev "$B"
ip -n peer link set "$B" up mtu 9001

# 7. The benchmark: pktgen on A sends 60-byte frames to B as fast as it
# can; first B's ena receives them, then ena-tap forwards each one back
# (MACs swapped, no TAP) for 5 s and says what that cost per core.
modprobe pktgen
PG=/proc/net/pktgen
echo "rem_device_all" >$PG/kpktgend_0
echo "add_device $A" >$PG/kpktgend_0
for c in "count 0" "pkt_size 60" "delay 0" "dst $IP_B" "dst_mac $MAC_B" "udp_dst_min 9" "udp_dst_max 24"; do
	echo "$c" >"$PG/$A"
done
echo start >$PG/pgctrl &
PG_PID=$!
rx_b() { ip netns exec peer cat "/sys/class/net/$B/statistics/rx_packets"; }
sleep 1
r0=$(rx_b)
sleep 5
r1=$(rx_b)
info "bench: B's ena received $(((r1 - r0) / 5)) packets/s from pktgen"
o0=$(enaport "$BDF_B" read rx-overruns)
# On CPU 1, where testpmd's forwarding lcore runs below (-l 0-1).
taskset -c 1 ena-tap --pci "$BDF_B" --queues 2 --ring 256 --batch 32 --reflect 5 >/tmp/reflect.log 2>&1 && rc=0 || rc=$?
info "bench: the device dropped $(($(enaport "$BDF_B" read rx-overruns) - o0)) frames for want of Rx buffers meanwhile"
up=$(grep -m1 ' up: ' /tmp/reflect.log || true)
info "bench: ena-tap ${up#*up: }"
line=$(grep 'reflect:' /tmp/reflect.log || true)
info "bench: ena-tap ${line#ena-tap: }"
n=$(echo "$line" | awk '{ print $3 }')
[ $rc = 0 ] && [ "${n:-0}" -gt 1000 ] && pass reflect-benchmark-forwards || fail reflect-benchmark-forwards "exit $rc: $(tail -n 2 /tmp/reflect.log | tr '\n' ' ')"
rust_pps=$(echo "$line" | sed -n 's/.* \([0-9][0-9]*\) packets\/s per core.*/\1/p')
check b-on-ena-after-benchmark wait_for 15 b_on_ena

# 8. The peer to beat, on the same device under the same pktgen stream:
# DPDK's ENA PMD (Debian's dpdk-testpmd and librte-net-ena, through
# igb_uio) forwarding the same way: MACs swapped, 2 queues on 1 core,
# 256-entry rings, bursts of 32, until SIGINT after 14 s (EAL's start-up
# included: the figure is per packet, not per second of the run).
# --record-core-cycles counts only
# the bursts that received frames, as ena-tap counts only the passes that
# moved some: both figures are packets per second per busy core.
on_igb_uio() { [ "$(driver_of_bdf "$BDF_B")" = igb_uio ]; }
echo 96 >/proc/sys/vm/nr_hugepages
mkdir -p /var/run/dpdk
modprobe uio
insmod /opt/ena-lab/igb_uio.ko wc_activate=1
echo igb_uio >"/sys/bus/pci/devices/$BDF_B/driver_override"
echo "$BDF_B" >/sys/bus/pci/drivers/ena/unbind
echo "$BDF_B" >/sys/bus/pci/drivers_probe
check b-on-igb_uio wait_for 10 on_igb_uio
PMDS=/usr/lib/x86_64-linux-gnu/dpdk/pmds-23.0
# --stats-period keeps testpmd forwarding until the signal (without it, it
# waits for a key on stdin, and a background job's stdin ends at once).
timeout --preserve-status -s INT 14 dpdk-testpmd -l 0-1 -n 1 -a "$BDF_B,large_llq_hdr=1" \
	-d $PMDS/librte_mempool_ring.so.23 -d $PMDS/librte_net_ena.so.23 -- \
	--total-num-mbufs=16384 --rxq=2 --txq=2 --nb-cores=1 --rxd=256 --txd=256 --burst=32 \
	--forward-mode=macswap --auto-start --record-core-cycles --stats-period 30 >/tmp/testpmd.log 2>&1 &
TP_PID=$!
# testpmd's output reaches the file only at exit: the device says when the
# PMD's queues are up, and on which Tx path.
pmd_queues() { [ "$(enaport "$BDF_B" read llq-queues)" -gt 0 ]; }
wait_for 12 pmd_queues
info "bench: DPDK's ENA PMD on $(placement "$BDF_B")"
wait $TP_PID && rc=0 || rc=$?
echo stop >$PG/pgctrl
wait $PG_PID || true
# "CPU cycles/packet=C (total cycles=T / total macswap packets=N) at M MHz Clock"
cycles=$(grep -m1 'CPU cycles/packet' /tmp/testpmd.log || true)
info "bench: DPDK's ENA PMD:$(echo "$cycles" | tr -s ' ')"
dpdk_n=$(echo "$cycles" | sed -n 's/.*total [a-z]* packets=\([0-9]*\).*/\1/p')
dpdk_pps=$(echo "$cycles" | awk -F'[=( ]+' '{ for (i = 1; i <= NF; i++) { if ($i == "cycles/packet") c = $(i + 1); if ($i == "at") m = $(i + 1) } }
	END { if (c > 0) printf "%.0f", m * 1e6 / c }')
[ $rc = 0 ] && [ "${dpdk_n:-0}" -gt 1000 ] && pass dpdk-pmd-forwards-on-the-model ||
	fail dpdk-pmd-forwards-on-the-model "exit $rc: $(grep -iE 'error|fail|cause' /tmp/testpmd.log | grep -v promiscuous | head -n 3 | tr '\n' ' ')"
[ "${dpdk_n:-0}" -gt 1000 ] || grep -vE '^ *$|#####|Rx-pps|Tx-pps|Port statistics' /tmp/testpmd.log | tail -n 60 | while IFS= read -r l; do info "testpmd: $l"; done
[ -n "$rust_pps" ] && [ -n "$dpdk_pps" ] &&
	info "bench: per busy core, ena-tap $rust_pps packets/s, DPDK's ENA PMD $dpdk_pps packets/s: ena-tap/DPDK $(awk -v r="$rust_pps" -v d="$dpdk_pps" 'BEGIN { printf "%.2f", r / d }')"
echo "$BDF_B" >/sys/bus/pci/drivers/igb_uio/unbind
echo >"/sys/bus/pci/devices/$BDF_B/driver_override"
echo "$BDF_B" >/sys/bus/pci/drivers_probe
check b-on-ena-after-dpdk wait_for 15 b_on_ena

dmesg | grep -E "ena $BDF_B" | tail -n 3 | while IFS= read -r l; do info "dmesg: $l"; done
protocol_kept every-driver-keeps-the-protocol "$BDF_A" "$BDF_B"
quiet_kernel && pass kernel-quiet || fail kernel-quiet "$(dmesg | grep -E 'Oops|BUG:|Call Trace' | head -n 2)"
