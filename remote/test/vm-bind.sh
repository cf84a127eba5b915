#!/bin/sh
# Runs inside the VM (busybox sh, plus bash, ip, ethtool, modinfo): the real
# bind.sh and unbind.sh against a real 6.1 kernel's sysfs. QEMU gives the VM
# an e1000 NIC with MAC 52:54:00:e1:ab:01, standing in for the lab ENI.
# shellcheck disable=SC2015 # "check && pass || fail": pass only echoes.
MAC=52:54:00:e1:ab:01
# The primary ENI of this "instance": no NIC here has it.
PRIMARY_MAC=52:54:00:e1:ab:00
S=/opt/ena-lab/scripts
WANT=$(cat /opt/ena-lab/version)

# shellcheck source=../../vmtest/guest.sh
. /usr/lib/vmtest/guest.sh
now() { cut -d' ' -f1 /proc/uptime; }
step() {
	script=$1
	shift
	env ENA_LAB_STATE_DIR=/tmp/state ENA_LAB_LOG_DIR=/tmp/log ENA_LAB_SYSTEMD_DIR=/tmp/systemd \
		ENA_LAB_MAC=$MAC ENA_LAB_PRIMARY_MAC=$PRIMARY_MAC ENA_LAB_TIMEOUT=10 "$@" bash "$S/$script" >/tmp/out 2>/tmp/err
}
nic() { for n in /sys/class/net/*; do [ "$(cat "$n/address")" = "$MAC" ] && echo "${n##*/}"; done; }
bdf_driver() { basename "$(readlink "/sys/bus/pci/devices/$BDF/driver" 2>/dev/null)" 2>/dev/null; }

modprobe e1000
for _ in 1 2 3 4 5 6 7 8 9 10; do [ -n "$(nic)" ] && break; sleep 0.5; done
IF=$(nic)
[ -n "$IF" ] && pass e1000-nic-present || fail e1000-nic-present "no interface with $MAC"
ip link set "$IF" up
BDF=$(basename "$(readlink -f "/sys/class/net/$IF/device")")
info "NIC $IF at $BDF"

# Refusals that must not touch the device.
if step bind.sh ENA_LAB_MODULE=/opt/ena-lab/ena_custom.ko ENA_LAB_PARAMS="bogus=1"; then
	fail refuses-unknown-param "bind accepted bogus=1"
elif grep -q "'bogus' is not a parameter of /opt/ena-lab/ena_custom.ko" /tmp/err && [ "$(bdf_driver)" = e1000 ]; then
	pass refuses-unknown-param
else
	fail refuses-unknown-param "$(cat /tmp/err)"
fi
if step bind.sh ENA_LAB_TARGET_DRIVER=pci-stub ENA_LAB_EXPECT_NETDEV=0 ENA_LAB_PRIMARY_MAC=$MAC; then
	fail refuses-the-primary-eni "bind moved the NIC whose MAC is the primary's"
elif grep -q "is the primary ENI's MAC" /tmp/err && [ "$(bdf_driver)" = e1000 ]; then
	pass refuses-the-primary-eni
else
	fail refuses-the-primary-eni "$(cat /tmp/err)"
fi
# As on Amazon Linux 2023, the secondary has a default route of its own
# (amazon-ec2-net-utils: metric 512 + device number): it is still the lab NIC.
ip addr add 203.0.113.5/24 dev "$IF"
ip route add default via 203.0.113.1 dev "$IF" metric 513

# Happy path of the mechanism: a driver that takes any device.
t0=$(now)
if step bind.sh ENA_LAB_TARGET_DRIVER=pci-stub ENA_LAB_EXPECT_NETDEV=0; then
	if [ "$(bdf_driver)" = pci-stub ] && [ -z "$(nic)" ] && grep -q "\"bdf\":\"$BDF\"" /tmp/out; then
		pass bind-moves-the-nic-by-mac
	else
		fail bind-moves-the-nic-by-mac "driver $(bdf_driver), netdev '$(nic)', out $(cat /tmp/out)"
	fi
else
	fail bind-moves-the-nic-by-mac "$(cat /tmp/err)"
fi
info "bind to pci-stub took $(awk -v a="$t0" -v b="$(now)" 'BEGIN { print b - a }')s"
U=/tmp/systemd/ena-lab-bind.service
grep -q '^ExecStart=.*bind.sh' $U && pass boot-unit-written || fail boot-unit-written "no unit"
# After the network, never before it, and bounded: a hung probe must not
# hold the primary's DHCP (and so SSH) at boot.
if grep -qx 'After=network-online.target' $U && grep -qx 'Wants=network-online.target' $U &&
	grep -qE '^TimeoutStartSec=[0-9]+$' $U && ! grep -q 'network-pre' $U; then
	pass boot-unit-runs-after-the-network
else
	fail boot-unit-runs-after-the-network "$(tr '\n' ' ' <$U)"
fi
# For the host side to verify with systemd's own parser.
echo "VMTEST-INFO unit-base64 $(base64 -w0 $U)"
if step bind.sh ENA_LAB_TARGET_DRIVER=pci-stub ENA_LAB_EXPECT_NETDEV=0 && grep -q "nothing to do" /tmp/err && grep -q '"changed":false' /tmp/out; then
	pass bind-second-run-changes-nothing
else
	fail bind-second-run-changes-nothing "$(cat /tmp/err)"
fi
if step unbind.sh ENA_LAB_TARGET_DRIVER=pci-stub && [ "$(bdf_driver)" = e1000 ] && [ -n "$(nic)" ]; then
	pass unbind-restores-e1000-with-its-mac
else
	fail unbind-restores-e1000-with-its-mac "driver $(bdf_driver), netdev '$(nic)': $(cat /tmp/err)"
fi
[ ! -e /tmp/systemd/ena-lab-bind.service ] && pass unbind-removes-boot-unit || fail unbind-removes-boot-unit "unit left"
if step unbind.sh ENA_LAB_TARGET_DRIVER=pci-stub && grep -q "nothing to undo" /tmp/err && grep -q '"restored":false' /tmp/out &&
	[ "$(bdf_driver)" = e1000 ]; then
	pass unbind-second-run-changes-nothing
else
	fail unbind-second-run-changes-nothing "$(cat /tmp/err) $(cat /tmp/out)"
fi
[ "$(cat "/sys/bus/pci/devices/$BDF/driver_override")" = "(null)" ] && pass unbind-clears-override ||
	fail unbind-clears-override "$(cat "/sys/bus/pci/devices/$BDF/driver_override")"

# The verify half with a netdev: from pci-stub back to e1000 through bind.sh,
# which must wait for the interface and check its driver. A stand-in for
# udev renames every new eth* at once, as udev does (eth1 -> ens6) right
# after the probe: bind must report the final name, never roll back for it.
rename_like_udev() {
	while :; do
		for n in /sys/class/net/eth*; do
			[ -e "$n" ] && ip link set dev "${n##*/}" name ens9 2>/dev/null
		done
		sleep 0.01
	done
}
rename_like_udev &
RENAMER=$!
ok=0
for round in 1 2 3; do
	step bind.sh ENA_LAB_TARGET_DRIVER=pci-stub ENA_LAB_EXPECT_NETDEV=0 || fail rebind-to-pci-stub "$(cat /tmp/err)"
	if step bind.sh ENA_LAB_TARGET_DRIVER=e1000 && [ "$(bdf_driver)" = e1000 ] && [ "$(nic)" = ens9 ] &&
		grep -q '"interface":"ens9"' /tmp/out && grep -q '"driver":"e1000"' /tmp/out && grep -q '"previousDriver":"pci-stub"' /tmp/out &&
		grep -q "ok: $BDF ($MAC) on e1000" /tmp/err; then
		ok=$((ok + 1))
	else
		info "round $round: $(cat /tmp/err) $(cat /tmp/out)"
	fi
done
kill "$RENAMER"
[ "$ok" = 3 ] && pass bind-waits-for-netdev-and-verifies-driver || fail bind-waits-for-netdev-and-verifies-driver "$ok of 3 rebinds under a renaming udev passed"
echo >"/sys/bus/pci/devices/$BDF/driver_override"
rm -rf /tmp/state /tmp/systemd

# Failure path: ena_custom's probe fails on an e1000; bind must roll back.
IF=$(nic)
ip link set "$IF" up
t0=$(now)
if step bind.sh ENA_LAB_MODULE=/opt/ena-lab/ena_custom.ko ENA_LAB_EXPECT_VERSION="$WANT"; then
	fail rollback-on-failed-probe "bind to ena_custom succeeded on an e1000"
else
	info "bind + failed probe + rollback took $(awk -v a="$t0" -v b="$(now)" 'BEGIN { print b - a }')s"
	err=$(tr '\n' ' ' </tmp/err)
	case $err in
	*"binding $BDF ($MAC) to ena_custom failed"*"rolled back to e1000"*) pass failure-names-device-and-rollback ;;
	*) fail failure-names-device-and-rollback "$err" ;;
	esac
	# "ena_custom <bdf>: ..." is the kernel's dev_err prefix: only dmesg writes it.
	case $err in
	*"last kernel messages:"*"ena_custom $BDF: "*"Last kernel message: "*"probe of $BDF failed"*) pass failure-shows-kernel-messages ;;
	*) fail failure-shows-kernel-messages "$err" ;;
	esac
	IF=$(nic)
	if [ "$(bdf_driver)" = e1000 ] && [ -n "$IF" ] && ip link show "$IF" | grep -q ',UP'; then
		pass rollback-nic-back-up-on-e1000
	else
		fail rollback-nic-back-up-on-e1000 "driver $(bdf_driver), netdev '$IF'"
	fi
	[ ! -d /sys/module/ena_custom ] && pass rollback-unloads-ena_custom || fail rollback-unloads-ena_custom "still loaded"
fi
[ "$(cat "/sys/bus/pci/devices/$BDF/driver_override")" = "(null)" ] && pass rollback-clears-override ||
	fail rollback-clears-override "$(cat "/sys/bus/pci/devices/$BDF/driver_override")"
dmesg | grep -qE "Oops|BUG:|Call Trace" && fail dmesg-clean "$(dmesg | grep -E 'Oops|BUG:' | head -n 2)" || pass dmesg-clean
