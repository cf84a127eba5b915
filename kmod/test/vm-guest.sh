#!/bin/sh
# Runs inside the VM (busybox sh): ena_custom beside Debian's stock ena in a
# real 6.1 kernel. Files: /opt/ena-lab/ena_custom.ko, /opt/ena-lab/version
# (the version the module must report). QEMU gives it an edu device.
KO=/opt/ena-lab/ena_custom.ko
WANT_VERSION=$(cat /opt/ena-lab/version)
DBG=/sys/kernel/debug/ena_custom

# shellcheck source=../../vmtest/guest.sh
. /usr/lib/vmtest/guest.sh
loaded() { grep -q "^$1 " /proc/modules; }
not_loaded() { ! loaded "$1"; }
same() { [ "$1" = "$2" ] || { echo "got '$1', want '$2'"; return 1; }; }

# Order 1: stock first, then ours.
check stock-ena-loads modprobe ena
check custom-loads-beside-stock insmod "$KO"
check both-loaded sh -c 'grep -q "^ena " /proc/modules && grep -q "^ena_custom " /proc/modules'
check two-pci-drivers sh -c '[ -d /sys/bus/pci/drivers/ena ] && [ -d /sys/bus/pci/drivers/ena_custom ]'
check version-is-the-series same "$(cat /sys/module/ena_custom/version)" "$WANT_VERSION"
check debugfs-root-exists test -d "$DBG"
check unload-custom-first rmmod ena_custom
check debugfs-root-removed test ! -e "$DBG"
check unload-stock rmmod ena

# Order 2: ours first, with parameters, then stock.
check custom-loads-with-params insmod "$KO" rx_queue_size=2048 num_io_queues=2 enable_bql=1
check param-rx_queue_size same "$(cat /sys/module/ena_custom/parameters/rx_queue_size)" 2048
check param-num_io_queues same "$(cat /sys/module/ena_custom/parameters/num_io_queues)" 2
check stock-ena-loads-second modprobe ena

# driver_override on a device that is no ENA: ena_custom's real probe runs and fails.
EDU=""
for d in /sys/bus/pci/devices/*; do
	if [ "$(cat "$d/vendor")" = 0x1234 ] && [ "$(cat "$d/device")" = 0x11e8 ]; then EDU=${d##*/}; fi
done
check edu-device-present test -n "$EDU"
DEV=/sys/bus/pci/devices/$EDU
check no-implicit-bind test ! -e "$DEV/driver"
echo ena_custom >"$DEV/driver_override"
echo "$EDU" >/sys/bus/pci/drivers_probe 2>/tmp/probe.err
check probe-failed-cleanly test ! -e "$DEV/driver"
check probe-ran-and-said-why sh -c "dmesg | grep 'ena_custom $EDU' | grep -qiE 'reset|timeout|fail'"
check no-debugfs-for-failed-device test ! -e "$DBG/$EDU"
if echo "$EDU" >/sys/bus/pci/drivers/ena/bind 2>/dev/null; then
	fail stock-refuses-overridden-device "ena bound a device whose driver_override is ena_custom"
else
	pass stock-refuses-overridden-device
fi
echo >"$DEV/driver_override"
check override-cleared same "$(cat "$DEV/driver_override")" "(null)"

check unload-stock-first rmmod ena
check unload-custom-second rmmod ena_custom
check nothing-left sh -c '! grep -qE "^ena(_custom)? " /proc/modules'
dmesg | grep -E 'ena_custom' | tail -n 8 | sed 's/^/VMTEST-INFO dmesg: /'
check dmesg-clean sh -c '! dmesg | grep -qE "Oops|BUG:|WARNING:|Call Trace"'
