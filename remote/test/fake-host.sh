# shellcheck shell=bash
# A lab host inside network namespaces the test creates, as Amazon Linux
# 2023 leaves one: namespace HOSTNS holds the primary ENI (def0, known by
# DEF_MAC, default route metric 512), the secondary (eni0, ENI_MAC, its own
# address and default route metric 513, what amazon-ec2-net-utils gives every
# ENI) and, at the other end of eni0's veth pair, the primary's IP NET.1
# (prim0), where iperf3 serves. The scripts under test move eni0 into LABNS.
# The caller sets NET (a TEST-NET /24 prefix such as 198.51.100), HOSTNS,
# LABNS, TMP and SCRIPTS.
ENI_MAC=02:e1:ab:00:00:02 DEF_MAC=02:e1:ab:00:00:03

fake_host_up() {
	if ip -4 addr show | grep -q " $NET\."; then
		echo "refusing to run: $NET.0/24 is already in use on this machine" >&2
		exit 1
	fi
	ip netns add "$HOSTNS"
	ip -n "$HOSTNS" link set lo up
	ip -n "$HOSTNS" link add prim0 type veth peer name eni0
	ip -n "$HOSTNS" link set eni0 address "$ENI_MAC"
	ip -n "$HOSTNS" addr add "$NET.1/24" dev prim0
	ip -n "$HOSTNS" link set prim0 up
	ip -n "$HOSTNS" link add def0 type veth peer name def1
	ip -n "$HOSTNS" link set def0 address "$DEF_MAC"
	ip -n "$HOSTNS" link set def0 up
	ip -n "$HOSTNS" link set def1 up
	ip -n "$HOSTNS" route add default via "$NET.253" dev def0 metric 512 onlink
	al2023_secondary_route
}

fake_host_down() {
	ip netns delete "$LABNS" 2>/dev/null || true
	ip netns delete "$HOSTNS" 2>/dev/null || true
}

# al2023_secondary_route: what the secondary has whenever it is on ena in
# the host namespace: its address and a default route of its own.
al2023_secondary_route() {
	ip -n "$HOSTNS" link show eni0 >/dev/null 2>&1 || return 0
	ip -n "$HOSTNS" link set eni0 up
	ip -n "$HOSTNS" addr replace "$NET.2/24" dev eni0
	ip -n "$HOSTNS" route replace default via "$NET.254" dev eni0 metric 513 onlink
}

# host_run SCRIPT [VAR=value...] [-- ARGS...]: a step as the host runs it.
host_run() {
	local script=$1 vars=() args=()
	shift
	while (($#)) && [[ $1 != -- ]]; do vars+=("$1"); shift; done
	(($#)) && shift && args=("$@")
	# nsenter, not `ip netns exec`: the latter gives a private mount namespace,
	# where the lab namespace the script creates would not be seen by others.
	nsenter --net="/run/netns/$HOSTNS" env ENA_LAB_STATE_DIR="$TMP/state" ENA_LAB_LOG_DIR="$TMP/log" \
		ENA_LAB_SYSTEMD_DIR="$TMP/systemd" ENA_LAB_NETNS="$LABNS" ENA_LAB_PRIMARY_MAC="$DEF_MAC" \
		"${vars[@]}" bash "$SCRIPTS/$script" "${args[@]}"
}
