#!/usr/bin/env bash
# An exercise's VM: ENI B on the learner's ena_custom (the series plus the
# learner's patch), in namespace "peer", A on Debian's ena in the root; a
# ping each way, then the exercise's own check.sh, then the device's
# protocol checker on both drivers.
# shellcheck disable=SC2015 # "check && pass || fail": pass only echoes.
# shellcheck source=../qemu/test/guest-lib.sh
. /opt/ena-lab/guest-lib.sh

modprobe ena
check both-enis-probed wait_for 10 both_present
BDF_A=$(bdf_of_mac $MAC_A) BDF_B=$(bdf_of_mac $MAC_B)
bind_custom "$BDF_B"
on_custom() { [ "$(driver_of_bdf "$BDF_B")" = ena_custom ] && has_nic $MAC_B; }
check b-on-your-ena_custom wait_for 10 on_custom
A=$(nic $MAC_A) B=$(nic $MAC_B)
wire_pair "$A" "$B"
check link-up wait_for 10 carrier_on_ns "$B" peer
check ping-b-to-a wait_for 10 ip netns exec peer ping -c 1 -W 1 "$IP_A"
check ping-a-to-b ping -c 2 -W 2 "$IP_B"
# shellcheck source=1-debugfs-doorbells/check.sh
. /opt/ena-lab/exercise/check.sh
protocol_kept drivers-keep-the-protocol "$BDF_A" "$BDF_B"
dmesg | grep -qE 'Oops|BUG:|Call Trace' && fail kernel-quiet "$(dmesg | grep -E 'Oops|BUG:' | head -n 2)" || pass kernel-quiet
