#!/usr/bin/env bash
# Debian's own ena driver on two emulated ENIs (the Rust model in QEMU):
# probe without errors or resets, link up from the AENQ, ethtool answers,
# traffic both ways between the ENIs (B in a namespace, A in the root).
# shellcheck disable=SC2015 # "check && pass || fail": pass only echoes.
# shellcheck source=guest-lib.sh
. /opt/ena-lab/guest-lib.sh

modprobe ena
check both-enis-probed wait_for 10 both_present
A=$(nic $MAC_A) B=$(nic $MAC_B)
BDF_A=$(bdf_of_mac $MAC_A) BDF_B=$(bdf_of_mac $MAC_B)
info "A=$A ($BDF_A) B=$B ($BDF_B)"
show_dmesg 12
if dmesg | grep -E 'ena ' | grep -qiE 'fail|error|timeout|reset|unsupported|cannot'; then
	fail probe-without-errors "$(dmesg | grep -E 'ena ' | grep -iE 'fail|error|timeout|reset|cannot' | head -n 3)"
else
	pass probe-without-errors
fi
# One reset each: the one every probe starts with (ena_com_dev_reset).
[ "$(enaport "$BDF_A" read resets)" = 1 ] && [ "$(enaport "$BDF_B" read resets)" = 1 ] &&
	pass one-reset-per-probe || fail one-reset-per-probe "A $(enaport "$BDF_A" read resets), B $(enaport "$BDF_B" read resets)"

# What the driver needed of the device at probe, from the model's counters.
info "probe of A: $(enaport "$BDF_A" read admin-commands) admin commands;" \
	"features asked: $(bits "$(enaport "$BDF_A" read features-asked)");" \
	"refused as unsupported: [$(bits "$(enaport "$BDF_A" read features-refused)")]," \
	"$(enaport "$BDF_A" read unsupported) unsupported answers in all"
[ "$(enaport "$BDF_A" read features-refused)" = 0 ] && pass probe-asks-only-offered-features ||
	fail probe-asks-only-offered-features "refused: $(bits "$(enaport "$BDF_A" read features-refused)")"

wire_pair "$A" "$B"
check carrier-from-link-event wait_for 10 carrier_on "$A"
check carrier-in-namespace wait_for 10 carrier_on_ns "$B" peer
# The IO queues exist once the interfaces are up (ena_up).
expect_placement eni-a "$BDF_A" "$A"
expect_placement eni-b "$BDF_B" "$B" peer

ethtool -i "$A" >/tmp/drvinfo
grep -q '^driver: ena$' /tmp/drvinfo && grep -q "^bus-info: $BDF_A" /tmp/drvinfo && pass ethtool-i-names-ena ||
	fail ethtool-i-names-ena "$(tr '\n' ' ' </tmp/drvinfo)"
ethtool "$A" >/tmp/link 2>&1
grep -q 'Speed: 25000Mb/s' /tmp/link && pass ethtool-link-speed || fail ethtool-link-speed "$(tr '\n' ' ' </tmp/link)"

check ping-b-to-a ip netns exec peer ping -c 3 -W 2 "$IP_A"
check ping-a-to-b ping -c 3 -W 2 "$IP_B"

iperf3 -s -B "$IP_A" -D -1 >/dev/null
sleep 0.5
if ip netns exec peer iperf3 -c "$IP_A" -t 3 -J >/tmp/up.json && positive "$(gbps /tmp/up.json)"; then
	pass iperf3-b-to-a
	info "B to A: $(gbps /tmp/up.json) Gbit/s"
else
	fail iperf3-b-to-a "$(jq -r .error /tmp/up.json 2>/dev/null)"
fi
iperf3 -s -B "$IP_A" -D -1 >/dev/null
sleep 0.5
if ip netns exec peer iperf3 -c "$IP_A" -t 3 -R -J >/tmp/down.json && positive "$(gbps /tmp/down.json)"; then
	pass iperf3-a-to-b
	info "A to B: $(gbps /tmp/down.json) Gbit/s"
else
	fail iperf3-a-to-b "$(jq -r .error /tmp/down.json 2>/dev/null)"
fi

# RSS: the driver's default table spreads the queues over 128 entries, and
# sixteen flows from B land on both of A's queues.
ethtool -x "$A" >/tmp/rss 2>&1
# 16 rows of 8 entries, the last starting at 120, over the 2 rings.
grep -q 'with 2 RX ring' /tmp/rss && grep -qE '^ *120: +[01] +[01]' /tmp/rss && ! grep -qE '^ *128:' /tmp/rss &&
	pass ethtool-x-indirection-table || fail ethtool-x-indirection-table "$(head -n 3 /tmp/rss | tr '\n' ' ')"
iperf3 -s -B "$IP_A" -D -1 >/dev/null
sleep 0.5
ip netns exec peer iperf3 -c "$IP_A" -t 2 -P 16 -J >/tmp/multi.json || fail iperf3-16-flows "$(jq -r .error /tmp/multi.json 2>/dev/null)"
ethtool -S "$A" >/tmp/stats
grep -q 'bw_in_allowance_exceeded: 0' /tmp/stats && pass ethtool-S-eni-stats || fail ethtool-S-eni-stats "$(head -n 5 /tmp/stats | tr '\n' ' ')"
rx0=$(awk '/queue_0_rx_cnt:/ { print $2 }' /tmp/stats)
rx1=$(awk '/queue_1_rx_cnt:/ { print $2 }' /tmp/stats)
[ "${rx0:-0}" -gt 100 ] && [ "${rx1:-0}" -gt 100 ] && pass rss-spreads-flows-over-both-queues ||
	fail rss-spreads-flows-over-both-queues "queue_0_rx_cnt=$rx0 queue_1_rx_cnt=$rx1"
info "A: $(grep -E 'tx_timeout|reset_fail|wd_expired|admin_q_pause|missed_tx|bad_req_id' /tmp/stats | tr -s ' \n' ' ')"
# Tx completions came after their doorbells and out of order within the
# device's window: the driver took them by request id, without a reset
# (checked below) and without a bad request id.
ro=$(enaport "$BDF_A" read tx-reordered)
bad=$(awk '/queue_[0-9]+_tx_bad_req_id:/ { n += $2 } END { print n + 0 }' /tmp/stats)
[ "$ro" -gt 100 ] && [ "$bad" = 0 ] && pass out-of-order-tx-completions-taken ||
	fail out-of-order-tx-completions-taken "reordered $ro, bad req ids $bad"
# In LLQ, every packet the device sent came from entries in its memory,
# and the driver rang each doorbell within the advertised burst.
if [ "$(placement "$BDF_B")" != host ]; then
	e=$(enaport "$BDF_B" read llq-entries) be=$(enaport "$BDF_B" read llq-burst-errors)
	info "B: $e LLQ entries read, $be burst errors"
	[ "$e" -gt 1000 ] && [ "$be" = 0 ] && pass llq-entries-within-the-burst-limit ||
		fail llq-entries-within-the-burst-limit "entries $e, burst errors $be"
fi

# Stateless offloads: the frames above left with checksums the device
# finished (from the meta descriptor) and arrived with checksums it checked.
ethtool -k "$A" >/tmp/features
grep -q '^rx-checksumming: on' /tmp/features && grep -q 'tx-checksum-ipv4: on' /tmp/features &&
	pass checksum-offloads-offered || fail checksum-offloads-offered "$(grep -E 'checksum' /tmp/features | tr -s ' \n' ' ')"
sum_of() { awk -v k="$1" '$1 ~ "^queue_[0-9]+_rx_" k ":$" { n += $2 } END { print n + 0 }' /tmp/stats; }
offloaded=$(enaport "$BDF_B" read tx-csum-offloads) good=$(sum_of csum_good) badsum=$(sum_of csum_bad)
info "checksums: B finished $offloaded, A found $good good and $badsum bad"
[ "$offloaded" -gt 100 ] && [ "$good" -gt 100 ] && [ "$badsum" = 0 ] &&
	pass checksums-finished-and-checked-by-device || fail checksums-finished-and-checked-by-device "finished $offloaded, good $good, bad $badsum"
# Meta caching: in host placement the driver omits a meta descriptor that
# did not change and the device uses the one it kept; in LLQ the device
# disables caching, so every packet brings its own.
cached=$(enaport "$BDF_B" read cached-meta-uses)
if [ "$(placement "$BDF_B")" = host ]; then
	[ "$cached" -gt 100 ] && pass meta-cached-in-host-placement || fail meta-cached-in-host-placement "cached-meta uses: $cached"
else
	[ "$cached" = 0 ] && pass meta-per-packet-in-llq || fail meta-per-packet-in-llq "cached-meta uses: $cached"
fi

# Registers: read the read-less way (the device DMA-writes each value) on
# a device whose PCI revision allows it, as EC2's do; directly otherwise.
rev=$(cat "/sys/bus/pci/devices/$BDF_A/revision")
readless=$(enaport "$BDF_A" read readless-reads)
info "PCI revision $rev, read-less register reads $readless"
case "$rev:$readless" in
0x00:0) fail registers-read-as-the-revision-says "revision $rev, but no read-less read" ;;
0x00:*) pass registers-read-as-the-revision-says ;;
0x01:0) pass registers-read-as-the-revision-says ;;
*) fail registers-read-as-the-revision-says "revision $rev, $readless read-less reads" ;;
esac

# Interrupt moderation: ethtool reads and sets the delays, the unmask
# writes carry them, and the device holds interrupts back by them.
ethtool -c "$A" >/tmp/coal 2>&1
grep -qE '^tx-usecs: +64' /tmp/coal && pass coalesce-tx-default-64us || fail coalesce-tx-default-64us "$(tr -s ' \n' ' ' </tmp/coal | head -c 300)"
if ethtool -C "$A" rx-usecs 40 tx-usecs 32 && ethtool -c "$A" | grep -qE '^rx-usecs: +40'; then
	ping -c 5 -i 0.2 -W 2 "$IP_B" >/dev/null
	d=$(enaport "$BDF_A" read intr-delays)
	info "unmask delays on A: rx $((d & 0xffff)), tx $((d >> 16)) units"
	[ "$((d & 0xffff))" = 40 ] && [ "$((d >> 16))" = 32 ] && pass coalesce-set-reaches-the-device ||
		fail coalesce-set-reaches-the-device "rx $((d & 0xffff)) tx $((d >> 16))"
else
	fail coalesce-set-reaches-the-device "ethtool -C failed: $(ethtool -c "$A" 2>&1 | tr -s ' \n' ' ' | head -c 200)"
fi
m=$(enaport "$BDF_A" read moderated-interrupts)
[ "$m" -gt 0 ] && pass interrupts-wait-their-delay || fail interrupts-wait-their-delay "moderated interrupts: $m"
ethtool -C "$A" adaptive-rx on && ethtool -c "$A" | grep -qE '^Adaptive RX: +on' && pass adaptive-rx-switches-on ||
	fail adaptive-rx-switches-on "$(ethtool -c "$A" 2>&1 | head -n 3 | tr '\n' ' ')"
ethtool -C "$A" adaptive-rx off

# Rings: MAX_QUEUES_EXT lets Rx rings grow past Tx ones.
ethtool -g "$A" >/tmp/rings
rxmax=$(awk '/^Pre-set/ { p = 1 } p && /^RX:/ { print $2; exit }' /tmp/rings)
[ "$rxmax" = 16384 ] && pass rx-ring-max-from-max-queues-ext || fail rx-ring-max-from-max-queues-ext "RX max $rxmax"
current_rx() { ethtool -g "$1" | awk '/^Current/ { c = 1 } c && /^RX:/ { print $2; exit }'; }
if ethtool -G "$A" rx 2048 && [ "$(current_rx "$A")" = 2048 ]; then
	check traffic-on-a-2048-rx-ring wait_for 10 ping -c 1 -W 1 "$IP_B"
else
	fail traffic-on-a-2048-rx-ring "ethtool -G rx 2048 failed"
fi

# The Rx offset B's device applies (rx-offset) once the driver says it
# takes one; the traffic above crossed it.
info "Rx offset on B: $(enaport "$BDF_B" read rx-offset)"

# Jumbo frames, as in a VPC (MTU 9001): each spans several Rx buffers.
ip link set "$A" mtu 9001 && ip -n peer link set "$B" mtu 9001
check jumbo-ping-b-to-a ip netns exec peer ping -c 2 -W 2 -s 8973 "$IP_A"
check jumbo-ping-a-to-b ping -c 2 -W 2 -s 8973 "$IP_B"
iperf3 -s -B "$IP_A" -D -1 >/dev/null
sleep 0.5
if ip netns exec peer iperf3 -c "$IP_A" -t 2 -P 2 -J >/tmp/jumbo.json && positive "$(gbps /tmp/jumbo.json)"; then
	pass iperf3-at-mtu-9001
	info "B to A at MTU 9001: $(gbps /tmp/jumbo.json) Gbit/s"
else
	fail iperf3-at-mtu-9001 "$(jq -r .error /tmp/jumbo.json 2>/dev/null)"
fi

# XDP at a VPC's MTU: the driver refuses a program while the MTU is above
# what one Rx buffer holds (ena_xdp_allowed), and while the channels take
# more than half the queues (2 vCPUs allow 2: one channel is left, as on a
# 2-vCPU instance); then it takes it, adds its XDP Tx queues, caps the MTU
# and the channels, and frames cross the program.
xdp_pass_count() { ethtool -S "$1" | awk '/_rx_xdp_pass:/ { n += $2 } END { print n + 0 }'; }
if xdppass "$A" attach 2>/tmp/xdp.err; then
	fail xdp-refused-at-mtu-9001 "the driver took an XDP program at MTU 9001"
	xdppass "$A" detach
elif dmesg | grep -q 'Failed to set xdp program, the current MTU (9001) is larger'; then
	pass xdp-refused-at-mtu-9001
	info "xdp at 9001: $(cat /tmp/xdp.err)"
else
	fail xdp-refused-at-mtu-9001 "refused without the driver's MTU message: $(cat /tmp/xdp.err) $(ena_dmesg 2)"
fi
ip link set "$A" mtu 1500 && ip -n peer link set "$B" mtu 1500
channels() { ethtool -l "$1" | awk '/^Current/ { c = 1 } c && /^Combined:/ { print $2; exit }'; }
all_channels=$(channels "$A")
if xdppass "$A" attach 2>/tmp/xdp.err; then
	fail xdp-needs-half-the-queues "taken with $all_channels channels"
	xdppass "$A" detach
else
	dmesg | grep -q 'Failed to set xdp program, the Rx/Tx channel count' && pass xdp-needs-half-the-queues ||
		fail xdp-needs-half-the-queues "$(cat /tmp/xdp.err)"
fi
ethtool -L "$A" combined 1
if xdppass "$A" attach 2>/tmp/xdp.err && ip link show "$A" | grep -q 'xdp'; then
	pass xdp-attaches-at-mtu-1500-on-one-channel
	ethtool -L "$A" combined "$all_channels" 2>/dev/null && fail xdp-caps-the-channels "$all_channels channels taken" ||
		pass xdp-caps-the-channels
	info "dmesg: $(dmesg | grep -o 'XDP program is set.*' | tail -n 1)"
	ip link set "$A" mtu 9001 2>/dev/null && fail xdp-caps-the-mtu "MTU 9001 taken with XDP on" ||
		pass xdp-caps-the-mtu
	before=$(xdp_pass_count "$A")
	check ping-through-xdp wait_for 10 ip netns exec peer ping -c 3 -W 1 "$IP_A"
	passed=$(($(xdp_pass_count "$A") - before))
	[ "$passed" -ge 3 ] && pass xdp-pass-counted || fail xdp-pass-counted "xdp_pass moved by $passed"
	xdppass "$A" detach && ! ip link show "$A" | grep -q 'xdp' && pass xdp-detaches || fail xdp-detaches "$(ip link show "$A")"
	check mtu-9001-after-xdp ip link set "$A" mtu 9001
	ip link set "$A" mtu 1500
else
	fail xdp-attaches-at-mtu-1500-on-one-channel "$(cat /tmp/xdp.err) $(ena_dmesg 3)"
fi
check channels-back-after-xdp ethtool -L "$A" combined "$all_channels"

# The wire cut and restored by the device: carrier follows the AENQ
# link events, and so does traffic.
carrier_off_ns() { ! carrier_on_ns "$@"; }
enaport "$BDF_B" write link 0
check carrier-drops-on-link-down wait_for 10 carrier_off_ns "$B" peer
ip netns exec peer ping -c 1 -W 1 "$IP_A" >/dev/null 2>&1 && fail no-traffic-while-link-down "a reply came" || pass no-traffic-while-link-down
enaport "$BDF_B" write link 1
check carrier-returns-on-link-up wait_for 10 carrier_on_ns "$B" peer
check traffic-after-link-up wait_for 10 ip netns exec peer ping -c 1 -W 1 "$IP_A"

if dmesg | grep -E 'ena ' | grep -qiE 'reset|keep alive|timeout|missing'; then
	fail no-resets-under-traffic "$(ena_dmesg 5)"
else
	pass no-resets-under-traffic
fi
[ "$(enaport "$BDF_A" read resets)" = 1 ] && pass device-saw-no-reset || fail device-saw-no-reset "resets: $(enaport "$BDF_A" read resets)"
protocol_kept drivers-keep-the-protocol "$BDF_A" "$BDF_B"
dmesg | grep -qE 'Oops|BUG:|Call Trace' && fail dmesg-clean "$(dmesg | grep -E 'Oops|BUG:' | head -n 2)" || pass dmesg-clean
dmesg | grep -B2 -A12 "Call Trace" | head -n 30 | while IFS= read -r l; do info "trace: $l"; done
