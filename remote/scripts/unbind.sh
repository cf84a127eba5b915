#!/usr/bin/env bash
# Undo bind.sh: the lab NIC back on its previous (stock) driver, the boot unit
# and the state gone, the target module unloaded when nothing uses it. Run as
# the bind step's Delete, so a replaced build starts from the stock driver.
# input ENA_LAB_MAC required  MAC address of the lab NIC
# input ENA_LAB_TARGET_DRIVER optional(ena_custom)  the driver bind.sh bound to
# input ENA_LAB_NETNS optional(ena-lab)  namespace the NIC may be in
# input ENA_LAB_TIMEOUT optional(30)  seconds to wait for the stock netdev
# input ENA_LAB_SYSTEMD_DIR optional(/etc/systemd/system)  where the boot unit is
set -euo pipefail
STEP=${STEP:-unbind}
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

TARGET=${ENA_LAB_TARGET_DRIVER:-ena_custom}
NS=${ENA_LAB_NETNS:-ena-lab}
TIMEOUT=${ENA_LAB_TIMEOUT:-30}
UNIT_DIR=${ENA_LAB_SYSTEMD_DIR:-/etc/systemd/system}
UNIT=ena-lab-bind.service
PCI=/sys/bus/pci

# locate: the lab NIC's PCI function and its driver before bind.sh, from
# bind.sh's state, else from the NIC's MAC.
locate() {
	KEY=${ENA_LAB_MAC//:/} BDF="" PREV=""
	[[ -f $STATE_DIR/bind-$KEY.bdf ]] && BDF=$(<"$STATE_DIR/bind-$KEY.bdf")
	[[ -f $STATE_DIR/bind-$KEY.previous ]] && PREV=$(<"$STATE_DIR/bind-$KEY.previous")
	if [[ -z $BDF ]] && find_nic "$ENA_LAB_MAC" "$NS"; then
		BDF=$(basename "$(in_ns "$NIC_NS" readlink -f "/sys/class/net/$NIC_IF/device")")
	fi
}

# release: the function off the target, back on its previous driver (or
# whichever takes it), with its interface; fails loud, state kept for a
# retry, when the stock driver does not take it back.
release() {
	local drv
	drv=$(pci_driver "$BDF")
	if [[ -n $drv && $drv != "$TARGET" ]]; then
		echo >"$PCI/devices/$BDF/driver_override"
		say "$BDF ($ENA_LAB_MAC) is on $drv, not $TARGET: nothing to undo"
		return
	fi
	[[ -z $drv ]] || say "unbinding $BDF ($ENA_LAB_MAC) from $TARGET"
	return_to_driver "$BDF" "${PREV:-any}"
	RESTORED=true
	retry_for "$TIMEOUT" find_nic "$ENA_LAB_MAC" "$NS" && IFC=$NIC_IF
	drv=$(pci_driver "$BDF")
	if [[ -n $PREV && ($drv != "$PREV" || -z $IFC) ]]; then
		die "$BDF ($ENA_LAB_MAC) did not come back on $PREV: it is on '${drv:-no driver}', interface '${IFC:-none}'. Last kernel message: $(last_dmesg 1)"
	fi
	say "$BDF is on ${drv:-no driver}${IFC:+ as $IFC}"
}

# forget: the boot unit, bind.sh's state, and the target module once no
# device uses it.
forget() {
	remove_unit "$UNIT" "$UNIT_DIR"
	rm -f "$STATE_DIR/bind.env"
	if [[ -d /sys/module/$TARGET ]] && ! compgen -G "$PCI/drivers/$TARGET/0000:*" >/dev/null; then
		if rmmod "$TARGET" 2>>"$LOG"; then say "unloaded $TARGET"; fi
	fi
	rm -f "$STATE_DIR/bind-$KEY.bdf" "$STATE_DIR/bind-$KEY.previous"
}

main() {
	RESTORED=false IFC=""
	init_step
	require_mac ENA_LAB_MAC
	ENA_LAB_TARGET_DRIVER=$TARGET require_name ENA_LAB_TARGET_DRIVER
	ENA_LAB_NETNS=$NS require_name ENA_LAB_NETNS
	ENA_LAB_TIMEOUT=$TIMEOUT require_int ENA_LAB_TIMEOUT 1 600
	locate
	if [[ -n $BDF && -d $PCI/devices/$BDF ]]; then
		release
	else
		say "no device known for $ENA_LAB_MAC: nothing to undo"
	fi
	forget
	printf '{"bdf":%s,"mac":%s,"driver":%s,"interface":%s,"restored":%s,"log":%s}\n' "$(json_str "$BDF")" \
		"$(json_str "$ENA_LAB_MAC")" "$(json_str "$([[ -n $BDF ]] && pci_driver "$BDF")")" "$(json_str "$IFC")" \
		"$RESTORED" "$(json_str "$LOG")"
}

main "$@"
