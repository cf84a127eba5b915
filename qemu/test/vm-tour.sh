#!/usr/bin/env bash
# The tour's VM: one driver's life on ENI A, told by the device's trace
# (trace=FILE on A; tools/tour.sh turns it into chapters). Probe, link up,
# a ping and a short burst, an MTU change, fewer queues and back, one
# keep-alive loss and the reset that recovers from it.
# shellcheck disable=SC2015 # "check && pass || fail": pass only echoes.
# shellcheck source=guest-lib.sh
. /opt/ena-lab/guest-lib.sh

DRV=$(cat /opt/ena-lab/tour-driver 2>/dev/null || echo ena)
modprobe ena
check both-enis-probed wait_for 10 both_present
BDF_A=$(bdf_of_mac $MAC_A)
if [ "$DRV" = ena_custom ]; then
	bind_custom "$BDF_A"
	check "a-on-ena_custom" wait_for 10 has_nic $MAC_A
fi
A=$(nic $MAC_A) B=$(nic $MAC_B)
info "tour: $DRV on A=$A ($BDF_A)"
wire_pair "$A" "$B"
check link-up wait_for 10 carrier_on "$A"
check ping ping -c 2 -W 2 "$IP_B"
ip netns exec peer iperf3 -s -B "$IP_B" -D -1 >/dev/null
sleep 0.5
iperf3 -c "$IP_B" -t 1 -P 2 >/dev/null && pass burst || fail burst "iperf3 failed"
ip link set "$A" mtu 9001 && ip -n peer link set "$B" mtu 9001 && pass mtu-9001 || fail mtu-9001 "ip link set mtu failed"
ethtool -L "$A" combined 1 && ethtool -L "$A" combined 2 && pass queue-count || fail queue-count "ethtool -L failed"
check ping-after-changes wait_for 10 ping -c 1 -W 1 "$IP_B"
enaport "$BDF_A" fault withhold-keep-alive
reset_done() { dmesg | grep -E "(ena|ena_custom) $BDF_A" | grep -q 'reset completed'; }
check keep-alive-loss-recovered wait_for 30 reset_done
check ping-after-reset wait_for 15 ping -c 1 -W 1 "$IP_B"
