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

main() {
	local key bdf="" prev="" dev drv restored=false ifc=""
	init_step
	require_mac ENA_LAB_MAC
	ENA_LAB_TARGET_DRIVER=$TARGET require_name ENA_LAB_TARGET_DRIVER
	ENA_LAB_NETNS=$NS require_name ENA_LAB_NETNS
	ENA_LAB_TIMEOUT=$TIMEOUT require_int ENA_LAB_TIMEOUT 1 600
	key=${ENA_LAB_MAC//:/}
	[[ -f $STATE_DIR/bind-$key.bdf ]] && bdf=$(<"$STATE_DIR/bind-$key.bdf")
	[[ -f $STATE_DIR/bind-$key.previous ]] && prev=$(<"$STATE_DIR/bind-$key.previous")
	if [[ -z $bdf ]] && find_nic "$ENA_LAB_MAC" "$NS"; then
		bdf=$(basename "$(in_ns "$NIC_NS" readlink -f "/sys/class/net/$NIC_IF/device")")
	fi
	dev=$PCI/devices/$bdf
	if [[ -n $bdf && -d $dev ]]; then
		echo >"$dev/driver_override"
		drv=""
		[[ -L $dev/driver ]] && drv=$(basename "$(readlink "$dev/driver")")
		if [[ $drv == "$TARGET" ]]; then
			say "unbinding $bdf ($ENA_LAB_MAC) from $TARGET"
			echo "$bdf" >"$dev/driver/unbind"
			if [[ -n $prev ]]; then
				echo "$bdf" >"$PCI/drivers/$prev/bind" 2>>"$LOG" || echo "$bdf" >"$PCI/drivers_probe" 2>>"$LOG" || true
			else
				echo "$bdf" >"$PCI/drivers_probe" 2>>"$LOG" || true
			fi
			restored=true
		elif [[ -z $drv ]]; then
			echo "$bdf" >"$PCI/drivers_probe" 2>>"$LOG" || true
			restored=true
		else
			say "$bdf ($ENA_LAB_MAC) is on $drv, not $TARGET: nothing to undo"
		fi
		if $restored; then
			local i
			for ((i = 0; i < TIMEOUT * 10; i++)); do
				find_nic "$ENA_LAB_MAC" "$NS" && break
				sleep 0.1
			done
			settle_udev
			if find_nic "$ENA_LAB_MAC" "$NS"; then ifc=$NIC_IF; fi
			drv=""
			[[ -L $dev/driver ]] && drv=$(basename "$(readlink "$dev/driver")")
			# Fail loud, state kept for a retry, if the stock driver did not take it back.
			if [[ -n $prev && ($drv != "$prev" || -z $ifc) ]]; then
				die "$bdf ($ENA_LAB_MAC) did not come back on $prev: it is on '${drv:-no driver}', interface '${ifc:-none}'. Last kernel message: $(last_dmesg 1)"
			fi
			say "$bdf is on ${drv:-no driver}${ifc:+ as $ifc}"
		fi
	else
		say "no device known for $ENA_LAB_MAC: nothing to undo"
	fi
	remove_unit "$UNIT" "$UNIT_DIR"
	rm -f "$STATE_DIR/bind.env"
	# Unload the target when no device uses it any more.
	if [[ -d /sys/module/$TARGET ]] && ! compgen -G "$PCI/drivers/$TARGET/0000:*" >/dev/null; then
		if rmmod "$TARGET" 2>>"$LOG"; then say "unloaded $TARGET"; fi
	fi
	rm -f "$STATE_DIR/bind-$key.bdf" "$STATE_DIR/bind-$key.previous"
	drv=""
	[[ -n $bdf && -L $dev/driver ]] && drv=$(basename "$(readlink "$dev/driver")")
	printf '{"bdf":%s,"mac":%s,"driver":%s,"interface":%s,"restored":%s,"log":%s}\n' "$(json_str "$bdf")" \
		"$(json_str "$ENA_LAB_MAC")" "$(json_str "$drv")" "$(json_str "$ifc")" "$restored" "$(json_str "$LOG")"
}

main "$@"
