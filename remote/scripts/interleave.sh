#!/usr/bin/env bash
# The thorough validation (config thorough): stock and custom runs take
# turns on the same ENI, stock first (stock, custom, stock, custom ...), the
# ENI rebound between them (unbind.sh, bind.sh) and put back in the lab
# namespace (netns.sh), so drift and the ENI's burst credits hit both
# drivers alike. Each turn is one validate.sh run; the runs are then
# compared as validate.sh compares them, and its document is this step's.
# The ENI ends on ena_custom in the namespace, as the bind and netns steps
# left it, on failure too.
# input ENA_LAB_MAC required  MAC address of the lab NIC
# input ENA_LAB_PRIMARY_MAC required  MAC of the primary ENI: never touched
# input ENA_LAB_IP required  the NIC's private IPv4 address
# input ENA_LAB_PREFIX required  prefix length of its subnet
# input ENA_LAB_GATEWAY required  the subnet router
# input ENA_LAB_SERVER_IP required  the primary ENI's IP: the servers' address
# input ENA_LAB_MODULE required  path of ena_custom's .ko
# input ENA_LAB_EXPECT_VERSION required  version ena_custom must report
# input ENA_LAB_PARAMS optional  ena_custom's module parameters
# input ENA_LAB_STOCK_DRIVER optional(ena)  the stock driver
# input ENA_LAB_NETNS optional(ena-lab)  the lab namespace
# input ENA_LAB_RUNS optional(3)  turns per driver
# input ENA_LAB_MEASURE optional(throughput,latency)  what to measure: throughput, latency or both
# input ENA_LAB_DURATION optional(2)  seconds per iperf3 run
# input ENA_LAB_LATENCY_SECONDS optional(1)  seconds per sockperf run
# input ENA_LAB_STREAMS optional(4)  streams of the multi-stream runs
# input ENA_LAB_MIN_RATIO optional(0.9)  lowest acceptable custom/stock speed
set -euo pipefail
STEP=${STEP:-validate}
HERE=$(dirname "${BASH_SOURCE[0]}")
# shellcheck source=lib.sh
source "$HERE/lib.sh"

RUNS=${ENA_LAB_RUNS:-3}
STOCK=${ENA_LAB_STOCK_DRIVER:-ena}
NS=${ENA_LAB_NETNS:-ena-lab}
CUSTOM=ena_custom
WORK=""

# quiet SCRIPT [VAR=VALUE ...]: a sibling step script, its output in our log
# (it keeps its own log too); says why when it fails.
quiet() {
	local script=$1
	shift
	if ! env "$@" bash "$HERE/$script" >>"$LOG" 2>"$WORK/err"; then
		cat "$WORK/err" >>"$LOG"
		die "$script failed: $(tail -n 1 "$WORK/err")"
	fi
}

to_stock() {
	quiet unbind.sh ENA_LAB_TARGET_DRIVER="$CUSTOM"
	quiet netns.sh ENA_LAB_PERSIST=0
}

to_custom() {
	quiet bind.sh ENA_LAB_TARGET_DRIVER="$CUSTOM"
	quiet netns.sh
}

# turn DRIVER I: one run on DRIVER, its document in $WORK/DRIVER-I.json
# (the version is ena_custom's to check, not the stock driver's).
turn() {
	local unset=()
	[[ $1 == "$CUSTOM" ]] || unset=(-u ENA_LAB_EXPECT_VERSION)
	say "turn $2 of $RUNS: $1"
	if ! env "${unset[@]}" ENA_LAB_MODE=baseline ENA_LAB_EXPECT_DRIVER="$1" ENA_LAB_RUNS=1 ENA_LAB_BASELINE="$WORK/$1-$2.json" \
		STEP="$STEP" bash "$HERE/validate.sh" >/dev/null 2>"$WORK/err"; then
		cat "$WORK/err" >>"$LOG"
		die "the $1 run of turn $2 failed: $(grep -h 'error:' "$WORK/err" | tail -n 1)"
	fi
}

# merge DRIVER: its turns as one measurement: every run, the counters summed.
merge() {
	jq -s -c '.[0] + {runCount: length, runs: map(.runs[0]), measuredAt: .[-1].measuredAt,
		counters: (map(.counters) | reduce (.[] | to_entries[]) as $e ({}; .[$e.key] += $e.value))}' \
		"$WORK/$1"-*.json >"$WORK/$1.json"
}

# restore: whatever happened, the ENI back on ena_custom in the namespace.
restore() {
	local rc=$?
	if ! find_nic "$ENA_LAB_MAC" "$NS" || [[ $NIC_NS != "$NS" || $(driver_of "$NIC_IF" "$NIC_NS") != "$CUSTOM" ]]; then
		say "putting $ENA_LAB_MAC back on $CUSTOM in $NS"
		bash "$HERE/bind.sh" >>"$LOG" 2>&1 && bash "$HERE/netns.sh" >>"$LOG" 2>&1 ||
			echo "[$STEP] error: could not put $ENA_LAB_MAC back on $CUSTOM (see $LOG): run make up again" >&2
	fi
	[[ -z $WORK ]] || rm -rf "$WORK"
	exit "$rc"
}

main() {
	local i
	init_step
	require_mac ENA_LAB_MAC
	require_not_primary
	ENA_LAB_RUNS=$RUNS require_int ENA_LAB_RUNS 1 20
	ENA_LAB_STOCK_DRIVER=$STOCK require_name ENA_LAB_STOCK_DRIVER
	require ENA_LAB_MODULE
	require_version ENA_LAB_EXPECT_VERSION
	WORK=$(mktemp -d)
	trap restore EXIT
	say "interleaving $RUNS runs of $STOCK and $CUSTOM on $ENA_LAB_MAC, rebinding between them"
	for ((i = 1; i <= RUNS; i++)); do
		to_stock
		turn "$STOCK" "$i"
		to_custom
		turn "$CUSTOM" "$i"
	done
	merge "$STOCK"
	merge "$CUSTOM"
	ENA_LAB_MODE=compare ENA_LAB_MEASURED="$WORK/$CUSTOM.json" ENA_LAB_BASELINE="$WORK/$STOCK.json" ENA_LAB_RUNS="$RUNS" \
		STEP="$STEP" bash "$HERE/validate.sh"
}

main "$@"
