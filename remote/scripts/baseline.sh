#!/usr/bin/env bash
# The stock driver's figures on this very NIC, minutes before the custom
# driver takes it: put the NIC (still on ena) into a temporary namespace,
# measure exactly as the validate step does, save the figures, put it back.
# input ENA_LAB_MAC required  MAC address of the lab NIC
# input ENA_LAB_STOCK_DRIVER optional(ena)  the driver the NIC must be on
# input ENA_LAB_NETNS optional(ena-lab)  namespace for the measurement
# input ENA_LAB_IP required  the NIC's private IPv4 address
# input ENA_LAB_PREFIX required  prefix length of its subnet
# input ENA_LAB_GATEWAY required  the subnet router
# input ENA_LAB_SERVER_IP required  the primary ENI's IP
# input ENA_LAB_MEASURE optional(throughput,latency)  what to measure: throughput, latency or both
# input ENA_LAB_RUNS optional(3)  runs; 3 or more give intervals
# input ENA_LAB_DURATION optional(2)  seconds per iperf3 run
# input ENA_LAB_LATENCY_SECONDS optional(1)  seconds per sockperf run
# input ENA_LAB_STREAMS optional(4)  streams of the multi-stream runs
set -euo pipefail
STEP=${STEP:-baseline}
HERE=$(dirname "${BASH_SOURCE[0]}")
# shellcheck source=lib.sh
source "$HERE/lib.sh"

STOCK=${ENA_LAB_STOCK_DRIVER:-ena}
NS=${ENA_LAB_NETNS:-ena-lab}
BASELINE=$STATE_DIR/baseline.json

restore() { ENA_LAB_PERSIST=0 bash "$HERE/netns.sh" down >/dev/null 2>>"$LOG" || true; }

main() {
	init_step
	require_mac ENA_LAB_MAC
	ENA_LAB_STOCK_DRIVER=$STOCK require_name ENA_LAB_STOCK_DRIVER
	# The same NIC, driver and measurement plan: nothing to measure again.
	local want="${ENA_LAB_MAC}|${ENA_LAB_MEASURE:-throughput,latency}|${ENA_LAB_RUNS:-3}|${ENA_LAB_DURATION:-2}|${ENA_LAB_LATENCY_SECONDS:-1}|${ENA_LAB_STREAMS:-4}|$STOCK"
	local have="" drv
	if [[ -f $BASELINE ]]; then
		have=$(jq -r '"\(.mac)|\(.measure)|\(.runCount)|\(.durationSeconds)|\(.latencySeconds)|\(.streams)|\(.driver)"' "$BASELINE" 2>/dev/null || true)
	fi
	if [[ $have == "$want" ]]; then
		say "baseline for $ENA_LAB_MAC on $STOCK already measured: nothing to do"
		jq -c . "$BASELINE"
		return
	fi
	find_nic "$ENA_LAB_MAC" "$NS" || die "no interface has MAC $ENA_LAB_MAC"
	drv=$(driver_of "$NIC_IF" "$NIC_NS")
	[[ $drv == "$STOCK" ]] || die "$NIC_IF ($ENA_LAB_MAC) is on '$drv': the baseline must be measured on the stock $STOCK"
	trap restore EXIT
	say "measuring the stock $STOCK on $NIC_IF ($ENA_LAB_MAC)"
	ENA_LAB_PERSIST=0 bash "$HERE/netns.sh" >/dev/null
	STEP=baseline ENA_LAB_MODE=baseline ENA_LAB_EXPECT_DRIVER=$STOCK ENA_LAB_BASELINE=$BASELINE bash "$HERE/validate.sh"
}

main "$@"
