#!/usr/bin/env bash
# Network for the lab NIC: amazon-ec2-net-utils configures only interfaces
# whose driver is ena, so the NIC gets its own namespace, its real private IP
# and a default route via the subnet router. Traffic from there to the primary
# IP leaves through this NIC, crosses the VPC and arrives on the primary ENI.
#   netns.sh          set up (idempotent)
#   netns.sh down     move the NIC back and delete the namespace
# input ENA_LAB_MAC required  MAC address of the lab NIC (the secondary ENI)
# input ENA_LAB_PRIMARY_MAC required  MAC of the primary ENI (instance metadata): never moved
# input ENA_LAB_NETNS optional(ena-lab)  namespace name
# input ENA_LAB_IP required  the NIC's private IPv4 address
# input ENA_LAB_PREFIX required  prefix length of its subnet
# input ENA_LAB_GATEWAY required  the subnet router (network address + 1 in a VPC)
# input ENA_LAB_MTU optional(9001)  MTU to set (the VPC supports jumbo frames)
# input ENA_LAB_SYSTEMD_DIR optional(/etc/systemd/system)  where the boot unit goes
# input ENA_LAB_PERSIST optional(1)  0: no boot unit (the baseline's temporary namespace)
set -euo pipefail
STEP=${STEP:-netns}
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

NS=${ENA_LAB_NETNS:-ena-lab}
MTU=${ENA_LAB_MTU:-9001}
UNIT_DIR=${ENA_LAB_SYSTEMD_DIR:-/etc/systemd/system}
UNIT=ena-lab-netns.service
PERSIST=${ENA_LAB_PERSIST:-1}

validate() {
	require_mac ENA_LAB_MAC
	require_not_primary
	ENA_LAB_NETNS=$NS require_name ENA_LAB_NETNS
	require_ipv4 ENA_LAB_IP
	require_int ENA_LAB_PREFIX 8 30
	require_ipv4 ENA_LAB_GATEWAY
	ENA_LAB_MTU=$MTU require_int ENA_LAB_MTU 576 9216
	[[ $PERSIST == 0 || $PERSIST == 1 ]] || die "input ENA_LAB_PERSIST='$PERSIST' is neither 0 nor 1"
	MAC=$ENA_LAB_MAC IP=$ENA_LAB_IP PREFIX=$ENA_LAB_PREFIX GW=$ENA_LAB_GATEWAY
}

# configured: the NIC is in the namespace, up, with our address and route.
configured() {
	find_nic "$MAC" "$NS" && [[ $NIC_NS == "$NS" ]] || return 1
	ip -n "$NS" -o -4 addr show dev "$NIC_IF" | grep -q " $IP/$PREFIX " &&
		ip -n "$NS" route show default | grep -q "via $GW dev $NIC_IF" &&
		ip -n "$NS" link show dev "$NIC_IF" | grep -q ',UP'
}

setup() {
	local changed=false
	settle_udev
	if configured; then
		say "$NIC_IF ($MAC) already in $NS with $IP/$PREFIX via $GW: nothing to do"
	else
		find_nic "$MAC" "$NS" || die "no interface has MAC $MAC (is the NIC bound to a network driver?)"
		if ! ns_exists "$NS"; then
			say "creating namespace $NS"
			ip netns add "$NS"
			# A first setup that fails half-way leaves nothing behind.
			trap undo_new_ns EXIT
		fi
		ip -n "$NS" link set lo up
		if [[ -z $NIC_NS ]]; then
			say "moving $NIC_IF ($MAC) into $NS"
			ip link set dev "$NIC_IF" netns "$NS" 2>>"$LOG" ||
				die "cannot move $NIC_IF ($MAC) into namespace $NS: $(tail -n 1 "$LOG")"
		fi
		say "configuring $NIC_IF: $IP/$PREFIX, default via $GW, mtu $MTU"
		ip -n "$NS" addr flush dev "$NIC_IF"
		ip -n "$NS" link set dev "$NIC_IF" mtu "$MTU" up
		ip -n "$NS" addr add "$IP/$PREFIX" dev "$NIC_IF"
		ip -n "$NS" route replace default via "$GW" dev "$NIC_IF" onlink
		trap - EXIT
		changed=true
	fi
	if [[ $PERSIST == 1 ]]; then persist; fi
	printf '{"namespace":%s,"interface":%s,"mac":%s,"ip":%s,"prefix":%s,"gateway":%s,"driver":%s,"changed":%s,"log":%s}\n' \
		"$(json_str "$NS")" "$(json_str "$NIC_IF")" "$(json_str "$MAC")" "$(json_str "$IP")" "$PREFIX" \
		"$(json_str "$GW")" "$(json_str "$(driver_of "$NIC_IF" "$NS")")" "$changed" "$(json_str "$LOG")"
}

# persist: after a reboot the bind unit rebinds the NIC; this one then
# re-runs this script with the same inputs.
persist() {
	local env=$STATE_DIR/netns.env self
	self=$(readlink -f "${BASH_SOURCE[0]}")
	write_env "$env" ENA_LAB_MAC="$MAC" ENA_LAB_PRIMARY_MAC="$ENA_LAB_PRIMARY_MAC" ENA_LAB_NETNS="$NS" \
		ENA_LAB_IP="$IP" ENA_LAB_PREFIX="$PREFIX" ENA_LAB_GATEWAY="$GW" ENA_LAB_MTU="$MTU" \
		ENA_LAB_STATE_DIR="$STATE_DIR" ENA_LAB_LOG_DIR="$LOG_DIR" ENA_LAB_SYSTEMD_DIR="$UNIT_DIR"
	boot_unit "$UNIT" "$UNIT_DIR" "$env" "$self" 60 "ENA lab: network namespace for the ena_custom NIC" \
		After=ena-lab-bind.service Requires=ena-lab-bind.service
}

# release: the NIC back in the host namespace, the lab namespace gone.
release() {
	if find_nic "$MAC" "$NS" && [[ $NIC_NS == "$NS" ]]; then
		say "moving $NIC_IF ($MAC) back to the host namespace"
		ip -n "$NS" addr flush dev "$NIC_IF" || true
		ip -n "$NS" link set dev "$NIC_IF" netns $$
	fi
	if ns_exists "$NS"; then
		say "deleting namespace $NS"
		ip netns delete "$NS"
	fi
}

undo_new_ns() {
	local rc=$?
	((rc == 0)) && return
	say "setup failed: undoing it"
	release || true
	exit "$rc"
}

teardown() {
	release
	if [[ $PERSIST == 1 ]]; then
		remove_unit "$UNIT" "$UNIT_DIR"
		rm -f "$STATE_DIR/netns.env"
	fi
	printf '{"namespace":%s,"removed":true,"log":%s}\n' "$(json_str "$NS")" "$(json_str "$LOG")"
}

main() {
	init_step
	validate
	case ${1:-up} in
	up) setup ;;
	down) teardown ;;
	*) die "unknown action '$1' (up or down)" ;;
	esac
}

main "$@"
