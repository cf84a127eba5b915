#!/usr/bin/env bash
# The device's trace of a VM run (QEMU's ena trace=FILE), read back on the
# host: what the driver did, seen from the device, is what the driver's
# source says it does.
#
#   trace-checks.sh probe FILE EXPECTED   the admin commands of the probe (from
#                                          the first reset to the first CREATE_CQ)
#                                          are the lines of EXPECTED, in order
#   trace-checks.sh stock FILE            a data burst (a few doorbells in detail,
#                                          then tallies), an MTU change to 9001
#   trace-checks.sh keep-alive-reset FILE keep-alives, then a reset for their loss
#                                          (reason KEEP_ALIVE_TO) and a bring-up again
# Prints PASS/FAIL lines; exits 1 on any FAIL.
set -euo pipefail

rc=0
pass() { echo "PASS trace-$1"; }
fail() { echo "FAIL trace-$1: $2"; rc=1; }

# admin_ops FILE: each admin command's name, in order ("GET_FEATURE LLQ").
admin_ops() { sed -n 's/^ *[0-9]*\.[0-9]* admin \([^[]*\) \[.*/\1/p' "$1"; }

# probe_ops FILE: the admin commands from the first reset to the first CREATE_CQ.
probe_ops() {
	awk '/ write DEV_CTL = 0x.......1 / { on = 1 } on' "$1" | admin_ops /dev/stdin | awk '/^CREATE_CQ/ { exit } { print }'
}

check_probe() {
	local file=$1 expected=$2 got
	got=$(probe_ops "$file")
	if [[ $got == "$(cat "$expected")" ]]; then
		pass "probe-admin-sequence"
	else
		fail "probe-admin-sequence" "$(diff <(echo "$got") "$expected" | tr '\n' ' ')"
	fi
	# Every command names the driver function that sent it.
	if grep -E '^ *[0-9]+\.[0-9]+ admin ' "$file" | grep -qv ' <- '; then
		fail "admin-lines-name-their-function" "$(grep -E ' admin ' "$file" | grep -v ' <- ' | head -n 2)"
	else
		pass "admin-lines-name-their-function"
	fi
}

check_stock() {
	local file=$1 detailed packets
	detailed=$(grep -c ' doorbell tx q0: ' "$file" || true)
	packets=$(sed -n 's/.* summary q0: [0-9]* doorbells, \([0-9]*\) packets.*/\1/p' "$file" | awk '{ n += $1 } END { print n + 0 }')
	if [[ $detailed -ge 1 && $detailed -le 8 && $packets -gt 100 ]]; then
		pass "data-burst-detailed-then-tallied"
	else
		fail "data-burst-detailed-then-tallied" "$detailed doorbells in detail, $packets packets tallied"
	fi
	if grep -qE ' admin SET_FEATURE MTU \[.*mtu 9001\] -> \[.*status SUCCESS.*<- ena_com_set_dev_mtu$' "$file"; then
		pass "mtu-change"
	else
		fail "mtu-change" "$(grep ' SET_FEATURE MTU ' "$file" | tail -n 1)"
	fi
	if grep -q ' event LINK_CHANGE (link up)  <- ena_update_on_link_change' "$file"; then
		pass "link-event"
	else
		fail "link-event" "no LINK_CHANGE event"
	fi
}

check_keep_alive_reset() {
	local file=$1 resets
	# Reason 1: ENA_REGS_RESET_KEEP_ALIVE_TO.
	resets=$(grep -c ' write DEV_CTL = 0x10000001 ' "$file" || true)
	if [[ $resets -ge 1 ]] && grep -q ' event KEEP_ALIVE (' "$file"; then
		pass "keep-alive-loss-resets-the-device"
	else
		fail "keep-alive-loss-resets-the-device" "$resets resets for KEEP_ALIVE_TO"
	fi
	# After the reset the driver brings the device up again: a second
	# DEVICE_ATTRIBUTES after that reset.
	if awk '/ write DEV_CTL = 0x10000001 / { r = 1 } r && / admin GET_FEATURE DEVICE_ATTRIBUTES / { found = 1 } END { exit !found }' "$file"; then
		pass "bring-up-after-the-reset"
	else
		fail "bring-up-after-the-reset" "no GET_FEATURE DEVICE_ATTRIBUTES after the reset"
	fi
}

case ${1:-} in
probe) check_probe "$2" "$3" ;;
stock) check_stock "$2" ;;
keep-alive-reset) check_keep_alive_reset "$2" ;;
*) echo "usage: trace-checks.sh probe FILE EXPECTED | stock FILE | keep-alive-reset FILE" >&2; exit 2 ;;
esac
exit $rc
