#!/bin/sh
# Runs inside a VM booted with lockdown=integrity (what Secure Boot turns on):
# bind.sh must refuse clearly, before touching the NIC, when the kernel
# refuses our unsigned ena_custom.ko.
MAC=52:54:00:e1:ab:01
S=/opt/ena-lab/scripts

# shellcheck source=../../vmtest/guest.sh
. /usr/lib/vmtest/guest.sh
nic() { for n in /sys/class/net/*; do [ "$(cat "$n/address")" = "$MAC" ] && echo "${n##*/}"; done; }

modprobe e1000
for _ in 1 2 3 4 5 6 7 8 9 10; do [ -n "$(nic)" ] && break; sleep 0.5; done
IF=$(nic)
[ -n "$IF" ] || fail e1000-nic-present "no interface with $MAC"
ip link set "$IF" up
BDF=$(basename "$(readlink -f "/sys/class/net/$IF/device")")
echo "VMTEST-INFO lockdown: $(cat /sys/kernel/security/lockdown)"
if env ENA_LAB_STATE_DIR=/tmp/state ENA_LAB_LOG_DIR=/tmp/log ENA_LAB_SYSTEMD_DIR=/tmp/systemd ENA_LAB_MAC=$MAC \
	ENA_LAB_PRIMARY_MAC=52:54:00:e1:ab:00 ENA_LAB_MODULE=/opt/ena-lab/ena_custom.ko bash "$S/bind.sh" >/tmp/out 2>/tmp/err; then
	fail lockdown-refusal-is-named "bind succeeded under lockdown"
else
	err=$(tr '\n' ' ' </tmp/err)
	case $err in
	*"insmod /opt/ena-lab/ena_custom.ko failed (kernel lockdown is \"integrity\""*) pass lockdown-refusal-is-named ;;
	*) fail lockdown-refusal-is-named "$err" ;;
	esac
fi
drv=$(basename "$(readlink "/sys/bus/pci/devices/$BDF/driver")")
if [ "$drv" = e1000 ] && [ "$(nic)" = "$IF" ] && ip link show "$IF" | grep -q ',UP'; then
	pass lockdown-leaves-the-nic-alone
else
	fail lockdown-leaves-the-nic-alone "driver $drv, netdev '$(nic)'"
fi
if [ -e /tmp/systemd/ena-lab-bind.service ]; then fail lockdown-installs-no-boot-unit "unit written"; else pass lockdown-installs-no-boot-unit; fi
