#!/usr/bin/env bash
# The drivers' recovery paths, driven by faults the model injects (switched
# on through its test port): keep-alives withheld until the driver resets
# the device, then one admin completion withheld, then Tx completions
# withheld under traffic. Each time the driver of
# ENI B (Debian's ena, or ena_custom when /opt/ena-lab/fault-driver says
# so) must notice, name the cause in dmesg, reset the device and carry
# traffic again.
# shellcheck disable=SC2015 # "check && pass || fail": pass only echoes.
# shellcheck source=guest-lib.sh
. /opt/ena-lab/guest-lib.sh

DRV=$(cat /opt/ena-lab/fault-driver 2>/dev/null || echo ena)
resets() { enaport "$BDF_B" read resets; }
said() { dmesg | grep -E "$DRV $BDF_B" | grep -q "$1"; }
on_drv() { [ "$(driver_of_bdf "$BDF_B")" = "$DRV" ] && has_nic $MAC_B; }
pings() { ip netns exec peer ping -c 2 -W 2 "$IP_A" >/dev/null 2>&1; }

modprobe ena
check both-enis-probed wait_for 10 both_present
BDF_B=$(bdf_of_mac $MAC_B)
if [ "$DRV" = ena_custom ]; then
	# shellcheck disable=SC2046 # the parameters are key=value words
	bind_custom "$BDF_B" $(cat /opt/ena-lab/custom-params 2>/dev/null)
fi
check "eni-b-on-$DRV" wait_for 10 on_drv
A=$(nic $MAC_A) B=$(nic $MAC_B)
wire_pair "$A" "$B"
wait_for 10 carrier_on "$A" && wait_for 10 carrier_on_ns "$B" peer || fail carrier "no carrier"
expect_placement eni-b "$BDF_B" "$B" peer
check traffic-before-faults wait_for 10 pings
r0=$(resets)

# 0. Frames for B while it is down (no Rx queues): the device drops and
# counts them, and the next keep-alive tells the driver, which ena_custom
# shows as the interface's rx_over_errors.
overruns() { ip netns exec peer cat "/sys/class/net/$B/statistics/rx_over_errors"; }
o0=$(enaport "$BDF_B" read rx-overruns)
ip -n peer link set "$B" down
ping -c 3 -i 0.2 -W 1 "$IP_B" >/dev/null 2>&1 || true
ip -n peer link set "$B" up
o1=$(enaport "$BDF_B" read rx-overruns)
[ "$o1" -gt "$o0" ] && pass frames-without-buffers-dropped-and-counted || fail frames-without-buffers-dropped-and-counted "overruns $o0 -> $o1"
check carrier-after-b-up wait_for 10 carrier_on_ns "$B" peer
if [ "$DRV" = ena_custom ]; then
	reported() { [ "$(overruns)" -ge "$o1" ]; }
	check overruns-reach-the-driver wait_for 5 reported
fi
check traffic-after-b-up wait_for 10 pings

# 1. No keep-alive: the watchdog must fire and reset the device. Its
# timeout is 6 s, or what the device's hints say: an UPDATE_HINTS
# notification makes it 3 s first (ena_update_hints).
enaport "$BDF_B" write hints 3000
sleep 1
t0=$(cut -d' ' -f1 /proc/uptime)
enaport "$BDF_B" fault withhold-keep-alive
check keep-alive-watchdog-fires wait_for 30 said 'Keep alive watchdog timeout'
fired=$(dmesg | grep -E "$DRV $BDF_B" | grep -m1 'Keep alive watchdog timeout' | sed -E 's/^\[ *([0-9.]+)\].*/\1/')
detect=$(awk -v a="$t0" -v b="$fired" 'BEGIN { printf "%.1f", b - a }')
info "keep-alive loss noticed after ${detect}s (hinted timeout 3 s, the driver's own 6 s)"
awk -v d="$detect" 'BEGIN { exit !(d > 1.5 && d < 5.5) }' && pass watchdog-follows-the-hints ||
	fail watchdog-follows-the-hints "noticed after ${detect}s"
check device-reset-after-keep-alive-loss wait_for 30 said 'reset completed'
info "keep-alive loss to recovery: $(awk -v a="$t0" -v b="$(cut -d' ' -f1 /proc/uptime)" 'BEGIN { print b - a }')s"
r1=$(resets)
[ "$r1" -gt "$r0" ] && pass device-saw-the-reset || fail device-saw-the-reset "resets $r0 -> $r1"
[ "$(enaport "$BDF_B" read faults)" = 0 ] && pass fault-cleared-by-reset || fail fault-cleared-by-reset "port $(enaport "$BDF_B" read faults)"
check carrier-back-after-reset wait_for 15 carrier_on_ns "$B" peer
check traffic-resumes-after-keep-alive-reset wait_for 15 pings

# 2. An admin command without completion: ethtool -S asks for the ENI
# stats, the command times out, the admin queue stops and the timer resets.
enaport "$BDF_B" fault withhold-completion
if ip netns exec peer ethtool -S "$B" >/dev/null 2>&1; then
	info "ethtool -S answered despite the withheld completion"
fi
check admin-timeout-noticed wait_for 30 said 'admin queue is not in running state'
two_resets() { [ "$(dmesg | grep -E "$DRV $BDF_B" | grep -c 'reset completed')" -ge 2 ]; }
check device-reset-after-admin-timeout wait_for 30 two_resets
# ena_custom (2.15) reports each reset's status; both must be 0.
dmesg | grep -E "$DRV $BDF_B" | grep 'reset completed' | grep -q 'status: -' && fail resets-succeeded "$(ena_dmesg 3)" || pass resets-succeeded
r2=$(resets)
[ "$r2" -gt "$r1" ] && pass device-saw-second-reset || fail device-saw-second-reset "resets $r1 -> $r2"
check traffic-resumes-after-admin-reset wait_for 15 pings
ip netns exec peer ethtool -S "$B" | grep -q 'bw_in_allowance_exceeded' && pass admin-queue-answers-again || fail admin-queue-answers-again "ethtool -S failed"

# 3. Tx completions withheld under traffic: frames still leave, but the
# driver's missing-completion check (or the netdev watchdog, once the ring
# is full) must reset the device.
resets_done() { [ "$(dmesg | grep -E "$DRV $BDF_B" | grep -c 'reset completed')" -ge "$1" ]; }
enaport "$BDF_B" fault withhold-tx-completions
iperf3 -s -B "$IP_A" -D -1 >/dev/null
sleep 0.5
ip netns exec peer timeout 20 iperf3 -c "$IP_A" -t 4 -P 4 >/dev/null 2>&1 || true
check device-reset-after-missing-tx-completions wait_for 40 resets_done 3
if dmesg | grep -E "$DRV $BDF_B" | grep -qiE 'above the threshold|paused for too long|timed out'; then
	pass missing-tx-completions-named
else
	fail missing-tx-completions-named "$(ena_dmesg 5)"
fi
check traffic-resumes-after-tx-reset wait_for 15 pings
r3=$(resets)
[ "$r3" -gt "$r2" ] && pass device-saw-third-reset || fail device-saw-third-reset "resets $r2 -> $r3"

# The causes the driver named, one line each (the TX notices are many).
dmesg | grep -E "$DRV $BDF_B" | grep -iE 'Keep alive watchdog|not in running state|above the threshold|paused for too long|timed out' | head -n 4 | while IFS= read -r l; do info "dmesg: $l"; done
# The other ENI never noticed.
dmesg | grep -E "ena $(bdf_of_mac $MAC_A)" | grep -qiE 'reset|keep alive' && fail primary-untouched "$(ena_dmesg 3)" || pass primary-untouched
# Through every reset: the drivers kept the protocol.
protocol_kept drivers-keep-the-protocol "$(bdf_of_mac $MAC_A)" "$BDF_B"
dmesg | grep -qE 'Oops|BUG:|Call Trace' && fail dmesg-clean "$(dmesg | grep -E 'Oops|BUG:|Call Trace' | head -n 2)" || pass dmesg-clean
