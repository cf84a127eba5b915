#!/usr/bin/env bash
# Move the lab NIC (found by its MAC, never by name) from its driver to the
# target driver through driver_override, verify the result, and roll back to
# the previous driver on any failure. Installs a boot unit that rebinds after
# a reboot. The primary ENI (known by its MAC) is never touched.
# input ENA_LAB_MAC required  MAC address of the lab NIC
# input ENA_LAB_PRIMARY_MAC required  MAC of the primary ENI (instance metadata): refused
# input ENA_LAB_TARGET_DRIVER optional(ena_custom)  driver to bind to
# input ENA_LAB_MODULE optional  path of the target's .ko (else: modprobe the target)
# input ENA_LAB_EXPECT_VERSION optional  version the target module must report
# input ENA_LAB_PARAMS optional  module parameters, "key=value key=value"
# input ENA_LAB_EXPECT_NETDEV optional(1)  1: the target must bring up a netdev with the MAC
# input ENA_LAB_NETNS optional(ena-lab)  namespace the NIC may already be in
# input ENA_LAB_TIMEOUT optional(30)  seconds to wait for the probe and the netdev
# input ENA_LAB_SYSTEMD_DIR optional(/etc/systemd/system)  where the boot unit goes
set -euo pipefail
STEP=${STEP:-bind}
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

TARGET=${ENA_LAB_TARGET_DRIVER:-ena_custom}
MODULE=${ENA_LAB_MODULE:-}
PARAMS=${ENA_LAB_PARAMS:-}
EXPECT_NETDEV=${ENA_LAB_EXPECT_NETDEV:-1}
NS=${ENA_LAB_NETNS:-ena-lab}
TIMEOUT=${ENA_LAB_TIMEOUT:-30}
UNIT_DIR=${ENA_LAB_SYSTEMD_DIR:-/etc/systemd/system}
UNIT=ena-lab-bind.service
PCI=/sys/bus/pci

validate_inputs() {
	require_mac ENA_LAB_MAC
	require_not_primary
	MAC=$ENA_LAB_MAC
	ENA_LAB_TARGET_DRIVER=$TARGET require_name ENA_LAB_TARGET_DRIVER
	ENA_LAB_NETNS=$NS require_name ENA_LAB_NETNS
	require_version ENA_LAB_EXPECT_VERSION
	[[ -z $MODULE || -f $MODULE ]] || die "input ENA_LAB_MODULE='$MODULE' is not a file"
	[[ $EXPECT_NETDEV == 0 || $EXPECT_NETDEV == 1 ]] || die "input ENA_LAB_EXPECT_NETDEV='$EXPECT_NETDEV' is neither 0 nor 1"
	ENA_LAB_TIMEOUT=$TIMEOUT require_int ENA_LAB_TIMEOUT 1 600
	local p known
	if [[ -n $PARAMS ]]; then
		[[ -n $MODULE ]] || die "input ENA_LAB_PARAMS='$PARAMS' needs ENA_LAB_MODULE"
		known=$(modinfo -F parm "$MODULE" | cut -d: -f1 | tr '\n' ' ')
		for p in $PARAMS; do
			[[ $p =~ ^([a-z_][a-z0-9_]*)=([A-Za-z0-9_.,:-]+)$ ]] ||
				die "input ENA_LAB_PARAMS: '$p' is not key=value"
			[[ " $known" == *" ${BASH_REMATCH[1]} "* ]] ||
				die "input ENA_LAB_PARAMS: '${BASH_REMATCH[1]}' is not a parameter of $MODULE (it has: $known)"
		done
	fi
}

# locate: the PCI function of the NIC, by MAC, wherever its netdev is; or the
# function remembered from an earlier run (bound to a driver with no netdev).
locate() {
	local state=$STATE_DIR/bind-${MAC//:/}.bdf
	BDF=""
	if find_nic "$MAC" "$NS"; then
		BDF=$(basename "$(in_ns "$NIC_NS" readlink -f "/sys/class/net/$NIC_IF/device")")
	elif [[ -f $state ]]; then
		BDF=$(<"$state")
	fi
	[[ $BDF =~ ^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$ && -d $PCI/devices/$BDF ]] ||
		die "no PCI network function has MAC $MAC${BDF:+ (remembered: $BDF)}"
	echo "$BDF" >"$state"
	DEV=$PCI/devices/$BDF
}

current_driver() { pci_driver "$BDF"; }

# lab_netdev: sets NIC_IF and NIC_NS to the function's interface as udev left
# it: by sysfs in this namespace, else by MAC in the lab namespace.
lab_netdev() {
	local i
	if i=$(netdev_of_pci "$BDF"); then NIC_NS="" NIC_IF=$i; return 0; fi
	find_nic "$MAC" "$NS"
}

# netdev_of: the interface the function has now (any namespace), if any.
netdev_of() { if lab_netdev; then echo "$NIC_IF"; fi; }

wait_netdev() { retry_for "$TIMEOUT" lab_netdev; }

# module_version: what the loaded target module reports (modinfo, ethtool -i).
module_version() { cat "/sys/module/$TARGET/version" 2>/dev/null || true; }

bound_and_verified() {
	[[ $(current_driver) == "$TARGET" ]] || return 1
	[[ -z ${ENA_LAB_EXPECT_VERSION:-} || $(module_version) == "$ENA_LAB_EXPECT_VERSION" ]] || return 1
	((EXPECT_NETDEV == 1)) || return 0
	lab_netdev
}

# lockdown_hint: why an unsigned module is refused, when the kernel is locked
# down (what UEFI Secure Boot turns on).
lockdown_hint() {
	local mode
	mode=$(sed -n 's/.*\[\(.*\)\].*/\1/p' /sys/kernel/security/lockdown 2>/dev/null || true)
	if [[ -n $mode && $mode != none ]]; then
		printf ' (kernel lockdown is "%s", as under Secure Boot: an unsigned module is refused; sign it or turn Secure Boot off)' "$mode"
	fi
}

load_module() {
	local name=$TARGET loaded
	if [[ -n $MODULE ]]; then
		name=$(modinfo -F name "$MODULE")
		[[ $name == "$TARGET" ]] || die "$MODULE is module '$name', not the target '$TARGET'"
	fi
	# sysfs spells module names with _ (pci-stub is /sys/module/pci_stub).
	if [[ -d /sys/module/${name//-/_} ]]; then
		loaded=$(cat "/sys/module/${name//-/_}/version" 2>/dev/null || true)
		if [[ -n ${ENA_LAB_EXPECT_VERSION:-} && $loaded != "$ENA_LAB_EXPECT_VERSION" ]]; then
			say "unloading $name $loaded: $ENA_LAB_EXPECT_VERSION is wanted"
			rmmod "$name" 2>>"$LOG" || die "cannot unload $name $loaded (still bound to a device?) to load $ENA_LAB_EXPECT_VERSION"
		else
			return 0
		fi
	fi
	# shellcheck disable=SC2086 # PARAMS is validated key=value words.
	if [[ -n $MODULE ]]; then
		say "loading $MODULE ${PARAMS:-(default parameters)}"
		insmod "$MODULE" $PARAMS 2>>"$LOG" || die "insmod $MODULE failed$(lockdown_hint): $(last_dmesg 5 | tr '\n' ' ')"
	else
		say "loading $name"
		modprobe "$name" 2>>"$LOG" || die "modprobe $name failed"
	fi
	LOADED_BY_US=$name
	[[ -z ${ENA_LAB_EXPECT_VERSION:-} || $(cat "/sys/module/$name/version" 2>/dev/null) == "$ENA_LAB_EXPECT_VERSION" ]] ||
		die "$name reports version '$(cat "/sys/module/$name/version" 2>/dev/null)', expected '$ENA_LAB_EXPECT_VERSION'"
}

# rollback WHY: back to the previous driver, as it was, then fail with WHY.
rollback() {
	local why=$1 dmesg_tail line now outcome
	dmesg_tail=$(last_dmesg 8)
	say "rolling back $BDF ($MAC) to ${PREV:-no driver}: $why"
	return_to_driver "$BDF" "$PREV"
	if [[ -n $PREV_NETDEV ]] && wait_netdev; then
		if [[ $PREV_UP == 1 ]]; then in_ns "$NIC_NS" ip link set dev "$NIC_IF" up 2>/dev/null || true; fi
		say "$BDF is back on $(current_driver) as $NIC_IF"
	fi
	if [[ -n ${LOADED_BY_US:-} ]]; then rmmod "$LOADED_BY_US" 2>/dev/null || true; fi
	echo "[$STEP] last kernel messages:" >&2
	while IFS= read -r line; do echo "    $line" >&2; done <<<"$dmesg_tail"
	# Say where the device really is, not where it should be.
	now=$(current_driver)
	if [[ $now == "$PREV" ]] && { [[ -z $PREV_NETDEV ]] || lab_netdev; }; then
		outcome="rolled back to ${PREV:-no driver}"
	else
		outcome="ROLLBACK FAILED: the device is on '${now:-no driver}', not '${PREV:-no driver}'"
	fi
	die "binding $BDF ($MAC) to $TARGET failed: $why; $outcome. Last kernel message: $(tail -n 1 <<<"$dmesg_tail")"
}

rebind() {
	PREV=$(current_driver)
	PREV_NETDEV=$(netdev_of) PREV_UP=0
	if [[ -n $PREV_NETDEV ]] && in_ns "$NIC_NS" ip link show dev "$PREV_NETDEV" | grep -q '[<,]UP[,>]'; then PREV_UP=1; fi
	[[ $PREV != "$TARGET" ]] || PREV=""
	load_module
	say "binding $BDF ($MAC) from ${PREV:-no driver} to $TARGET"
	echo "$TARGET" >"$DEV/driver_override"
	if [[ -L $DEV/driver ]]; then
		echo "$BDF" >"$DEV/driver/unbind" || rollback "unbinding from $(current_driver) failed"
	fi
	echo "$BDF" >"$PCI/drivers_probe" 2>>"$LOG" || true
	# PCI probes run synchronously in that write; a short grace covers
	# drivers that probe asynchronously.
	local i
	for ((i = 0; i < 30; i++)); do
		[[ $(current_driver) == "$TARGET" ]] && break
		sleep 0.1
	done
	[[ $(current_driver) == "$TARGET" ]] || rollback "the $TARGET probe did not take the device"
	if ((EXPECT_NETDEV == 1)); then
		# The probe's interface is renamed by udev right after: take the
		# name from sysfs once udev is done, the driver from the link.
		wait_netdev || rollback "no network interface appeared for $BDF ($MAC) within ${TIMEOUT}s"
		[[ $(current_driver) == "$TARGET" ]] || rollback "$BDF is on '$(current_driver)' once its interface $NIC_IF appeared"
		local ver
		ver=$(module_version)
		[[ -z ${ENA_LAB_EXPECT_VERSION:-} || $ver == "$ENA_LAB_EXPECT_VERSION" ]] ||
			rollback "$TARGET reports version '$ver', expected '$ENA_LAB_EXPECT_VERSION'"
	fi
	echo "${PREV}" >"$STATE_DIR/bind-${MAC//:/}.previous"
}

# persist: at boot, rebind with the same inputs once the module file is there.
persist() {
	local env=$STATE_DIR/bind.env self
	# The boot unit's bound: load, probe and netdev, with room to roll back.
	local limit=$((2 * TIMEOUT + 60))
	self=$(readlink -f "${BASH_SOURCE[0]}")
	# The same state and log places as this run, so the boot run finds the state.
	write_env "$env" ENA_LAB_MAC="$MAC" ENA_LAB_PRIMARY_MAC="$ENA_LAB_PRIMARY_MAC" ENA_LAB_TARGET_DRIVER="$TARGET" \
		ENA_LAB_MODULE="$MODULE" ENA_LAB_EXPECT_VERSION="${ENA_LAB_EXPECT_VERSION:-}" ENA_LAB_PARAMS="$PARAMS" \
		ENA_LAB_EXPECT_NETDEV="$EXPECT_NETDEV" ENA_LAB_NETNS="$NS" ENA_LAB_TIMEOUT="$TIMEOUT" \
		ENA_LAB_STATE_DIR="$STATE_DIR" ENA_LAB_LOG_DIR="$LOG_DIR" ENA_LAB_SYSTEMD_DIR="$UNIT_DIR"
	# After the network is up, never before it: the primary's DHCP, and so
	# SSH, must not wait for an experimental driver's probe.
	boot_unit "$UNIT" "$UNIT_DIR" "$env" "$self" "$limit" "ENA lab: bind the lab NIC ($MAC) to $TARGET" \
		Wants=network-online.target After=network-online.target ${MODULE:+"ConditionPathExists=$MODULE"}
}

main() {
	local changed=false
	init_step
	validate_inputs
	locate
	if bound_and_verified; then
		say "$BDF ($MAC) is already on $TARGET: nothing to do"
	else
		rebind
		changed=true
	fi
	persist
	local ifc="" ver=""
	settle_udev
	if lab_netdev; then ifc=$NIC_IF; fi
	[[ $(current_driver) == "$TARGET" ]] && ver=$(module_version)
	say "ok: $BDF ($MAC) on $TARGET${ver:+ $ver}${ifc:+ as $ifc}"
	printf '{"bdf":%s,"mac":%s,"driver":%s,"version":%s,"interface":%s,"previousDriver":%s,"changed":%s,"log":%s}\n' \
		"$(json_str "$BDF")" "$(json_str "$MAC")" "$(json_str "$(current_driver)")" "$(json_str "$ver")" \
		"$(json_str "$ifc")" "$(json_str "$(cat "$STATE_DIR/bind-${MAC//:/}.previous" 2>/dev/null || true)")" \
		"$changed" "$(json_str "$LOG")"
}

main "$@"
