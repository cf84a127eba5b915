#!/usr/bin/env bash
# Prove traffic through the lab NIC and measure it: ping, then iperf3 (TCP,
# one stream and several, both directions) from the NIC's namespace to a
# server on the primary IP, with the NIC's packet and ethtool counters read
# before and after. In baseline mode (NIC on the stock ena) the figures are
# saved; in validate mode they are compared with the baseline and the step
# fails below the minimum custom/stock ratio, unless the ENI's allowance was
# exceeded in either run (EC2 throttled it: the verdict is inconclusive).
# input ENA_LAB_MAC required  MAC address of the lab NIC
# input ENA_LAB_NETNS optional(ena-lab)  namespace the NIC is in
# input ENA_LAB_SERVER_IP required  the primary ENI's IP: iperf3 server and ping target
# input ENA_LAB_MODE optional(validate)  validate or baseline
# input ENA_LAB_EXPECT_DRIVER optional(ena_custom)  driver the NIC must be on
# input ENA_LAB_EXPECT_VERSION optional  driver version the NIC must report
# input ENA_LAB_DURATION optional(10)  seconds per iperf3 run
# input ENA_LAB_STREAMS optional(4)  parallel streams of the multi-stream runs
# input ENA_LAB_MIN_RATIO optional(0.9)  lowest acceptable custom/stock throughput ratio
# input ENA_LAB_PORT optional(5201)  iperf3 port
# input ENA_LAB_BASELINE optional($ENA_LAB_STATE_DIR/baseline.json)  the stock figures
set -euo pipefail
STEP=${STEP:-validate}
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

NS=${ENA_LAB_NETNS:-ena-lab}
MODE=${ENA_LAB_MODE:-validate}
DRIVER=${ENA_LAB_EXPECT_DRIVER:-ena_custom}
DURATION=${ENA_LAB_DURATION:-10}
STREAMS=${ENA_LAB_STREAMS:-4}
MIN_RATIO=${ENA_LAB_MIN_RATIO:-0.9}
PORT=${ENA_LAB_PORT:-5201}
BASELINE=${ENA_LAB_BASELINE:-$STATE_DIR/baseline.json}
SERVER_PID=""

validate_inputs() {
	require_mac ENA_LAB_MAC
	ENA_LAB_NETNS=$NS require_name ENA_LAB_NETNS
	require_ipv4 ENA_LAB_SERVER_IP
	[[ $MODE == validate || $MODE == baseline ]] || die "input ENA_LAB_MODE='$MODE' is neither validate nor baseline"
	ENA_LAB_EXPECT_DRIVER=$DRIVER require_name ENA_LAB_EXPECT_DRIVER
	require_version ENA_LAB_EXPECT_VERSION
	ENA_LAB_DURATION=$DURATION require_int ENA_LAB_DURATION 1 300
	ENA_LAB_STREAMS=$STREAMS require_int ENA_LAB_STREAMS 2 64
	ENA_LAB_PORT=$PORT require_int ENA_LAB_PORT 1024 65535
	[[ $MIN_RATIO =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "input ENA_LAB_MIN_RATIO='$MIN_RATIO' is not a number"
	MAC=$ENA_LAB_MAC SERVER=$ENA_LAB_SERVER_IP
	local t
	for t in iperf3 jq ethtool ping; do command -v "$t" >/dev/null || die "$t is not installed (the prereqs step installs it)"; done
}

locate_nic() {
	find_nic "$MAC" "$NS" || die "no interface has MAC $MAC, here or in namespace $NS"
	[[ $NIC_NS == "$NS" ]] || die "$NIC_IF ($MAC) is not in namespace $NS: the netns step configures it"
	local got
	got=$(driver_of "$NIC_IF" "$NS")
	[[ $got == "$DRIVER" ]] || die "$NIC_IF ($MAC) is on driver '$got', expected '$DRIVER'"
	VERSION=$(version_of "$NIC_IF" "$NS")
	if [[ -n ${ENA_LAB_EXPECT_VERSION:-} && $VERSION != "$ENA_LAB_EXPECT_VERSION" ]]; then
		die "$NIC_IF ($MAC) runs $DRIVER $VERSION, expected $ENA_LAB_EXPECT_VERSION"
	fi
	say "measuring $NIC_IF ($MAC, $DRIVER $VERSION) in $NS against $SERVER"
}

start_server() {
	local _
	# Bounded even if this script dies: 4 runs plus slack.
	timeout $((4 * (DURATION + 15) + 30)) iperf3 -s -B "$SERVER" -p "$PORT" >>"$LOG" 2>&1 &
	SERVER_PID=$!
	for _ in $(seq 50); do
		ss -Hltn "sport = :$PORT" 2>/dev/null | grep -q . && return
		kill -0 "$SERVER_PID" 2>/dev/null || die "iperf3 server on $SERVER:$PORT did not start (port in use? see $LOG)"
		sleep 0.1
	done
	die "iperf3 server on $SERVER:$PORT is not listening after 5 s"
}

# cleanup: on any exit, no server left behind and no scratch files.
cleanup() {
	stop_server
	if [[ -n ${WORK:-} ]]; then rm -rf "$WORK"; fi
}

stop_server() {
	if [[ -n $SERVER_PID ]]; then
		kill "$SERVER_PID" 2>/dev/null || true
		wait "$SERVER_PID" 2>/dev/null || true
	fi
	SERVER_PID=""
}

check_ping() {
	say "ping $SERVER from $NS"
	if ! in_ns "$NS" ping -c 3 -i 0.2 -W 2 "$SERVER" >>"$LOG" 2>&1; then
		die "no ping reply from $SERVER through $NIC_IF ($MAC) in $NS: the path is broken (link down, no route or packets dropped)"
	fi
}

# counters FILE: the NIC's packet counts and ethtool statistics, "name value".
counters() {
	{
		echo "tx_packets $(in_ns "$NS" cat "/sys/class/net/$NIC_IF/statistics/tx_packets")"
		echo "rx_packets $(in_ns "$NS" cat "/sys/class/net/$NIC_IF/statistics/rx_packets")"
		in_ns "$NS" ethtool -S "$NIC_IF" 2>/dev/null | awk -F': *' 'NR > 1 && $2 ~ /^[0-9]+$/ { gsub(/ /, "", $1); print $1, $2 }'
	} | sort >"$1"
}

# iperf NAME ARGS...: one client run; prints "bps retransmits".
iperf() {
	local name=$1 out=$WORK/$1.json
	shift
	say "iperf3 $name (${DURATION}s)"
	if ! in_ns "$NS" timeout $((DURATION + 15)) iperf3 -c "$SERVER" -p "$PORT" -t "$DURATION" -J "$@" >"$out" 2>>"$LOG"; then
		die "iperf3 $name to $SERVER failed: $(jq -r '.error // empty' "$out" 2>/dev/null || true) (see $LOG)"
	fi
	cat "$out" >>"$LOG"
	jq -r '[.end.sum_received.bits_per_second // 0, .end.sum_sent.retransmits // 0] | @tsv' "$out"
}

measure() {
	WORK=$(mktemp -d)
	trap cleanup EXIT
	counters "$WORK/before"
	start_server
	local out
	# A failed run stops the step there (iperf's die only ends its subshell;
	# set -e does not look inside an && list).
	out=$(iperf single-tx) || exit 1
	read -r SINGLE_TX SINGLE_TX_RTX <<<"$out"
	out=$(iperf single-rx -R) || exit 1
	read -r SINGLE_RX SINGLE_RX_RTX <<<"$out"
	out=$(iperf multi-tx -P "$STREAMS") || exit 1
	read -r MULTI_TX MULTI_TX_RTX <<<"$out"
	out=$(iperf multi-rx -R -P "$STREAMS") || exit 1
	read -r MULTI_RX MULTI_RX_RTX <<<"$out"
	stop_server
	counters "$WORK/after"
}

# llq_mode BDF: the Tx placement the driver's last probe of BDF chose, from
# what it said: "host-placement" (it says "LLQ is not supported"),
# "llq-large" or "llq" (2.15+ say "ENA Large LLQ is enabled/disabled"; the
# kernel's own ena says nothing when it takes LLQ).
llq_mode() {
	local said
	said=$(dmesg 2>/dev/null | grep -F "$1" | sed -n 's/.*ENA Large LLQ is enabled.*/llq-large/p;
		s/.*ENA Large LLQ is disabled.*/llq/p; s/.*LLQ is not supported.*/host-placement/p' | tail -n 1)
	echo "${said:-llq}"
}

# setup_json: what decides the figures besides the driver: ring sizes,
# channels and the Tx placement (LLQ mode) the driver chose.
setup_json() {
	local bdf rings channels llq=""
	bdf=$(basename "$(in_ns "$NS" readlink -f "/sys/class/net/$NIC_IF/device" 2>/dev/null)" 2>/dev/null || true)
	rings=$(in_ns "$NS" ethtool -g "$NIC_IF" 2>/dev/null | awk '/^Current/ { cur = 1 } cur && /^(RX|TX):/ { gsub(":", "", $1); printf "%s %s\n", $1, $2 }')
	channels=$(in_ns "$NS" ethtool -l "$NIC_IF" 2>/dev/null | awk '/^Current/ { cur = 1 } cur && /^Combined:/ { print $2 }')
	[[ -n $bdf ]] && llq=$(llq_mode "$bdf")
	jq -n --arg rx "$(awk '$1 == "RX" { print $2 }' <<<"$rings")" --arg tx "$(awk '$1 == "TX" { print $2 }' <<<"$rings")" \
		--arg ch "$channels" --arg llq "$llq" \
		'def n(s): if (s | test("^[0-9]+$")) then (s | tonumber) else null end;
		 {rxRing: n($rx), txRing: n($tx), channels: n($ch), llq: (if $llq == "" then null else $llq end)}'
}

gbps() { awk -v b="$1" 'BEGIN { printf "%.3f", b / 1e9 }'; }

figures_json() {
	jq -n --argjson st "$(gbps "$SINGLE_TX")" --argjson sr "$(gbps "$SINGLE_RX")" \
		--argjson mt "$(gbps "$MULTI_TX")" --argjson mr "$(gbps "$MULTI_RX")" \
		--argjson str "$SINGLE_TX_RTX" --argjson srr "$SINGLE_RX_RTX" --argjson mtr "$MULTI_TX_RTX" --argjson mrr "$MULTI_RX_RTX" \
		'{single: {txGbps: $st, rxGbps: $sr, txRetransmits: $str, rxRetransmits: $srr},
		  multi: {txGbps: $mt, rxGbps: $mr, txRetransmits: $mtr, rxRetransmits: $mrr}}'
}

# deltas: counters that moved, plus the allowance counters even at zero.
deltas_json() {
	join "$WORK/before" "$WORK/after" 2>/dev/null |
		awk '{ d = $3 - $2; if (d != 0 || $1 ~ /allowance_exceeded$/) printf "%s %d\n", $1, d }' |
		jq -R -s 'split("\n") | map(select(length > 0) | split(" ") | {(.[0]): (.[1] | tonumber)}) | add // {}'
}

# rings_json: the ena_custom debugfs ring state of the NIC, if it has one.
rings_json() {
	local bdf f
	bdf=$(basename "$(in_ns "$NS" readlink -f "/sys/class/net/$NIC_IF/device" 2>/dev/null)" 2>/dev/null || true)
	f=/sys/kernel/debug/$DRIVER/$bdf/rings
	if [[ -n $bdf && -r $f ]]; then
		jq -R -s 'split("\n") | map(select(length > 0))' <"$f"
	else
		echo null
	fi
}

check_flow() {
	local pkts_tx pkts_rx
	pkts_tx=$(jq -r '.tx_packets // 0' <<<"$DELTAS")
	pkts_rx=$(jq -r '.rx_packets // 0' <<<"$DELTAS")
	awk -v a="$SINGLE_TX" -v b="$MULTI_TX" 'BEGIN { exit !(a > 0 && b > 0) }' ||
		die "no traffic from $NIC_IF to $SERVER (tx: single $(gbps "$SINGLE_TX") Gbps, multi $(gbps "$MULTI_TX") Gbps)"
	awk -v a="$SINGLE_RX" -v b="$MULTI_RX" 'BEGIN { exit !(a > 0 && b > 0) }' ||
		die "no traffic from $SERVER to $NIC_IF (rx: single $(gbps "$SINGLE_RX") Gbps, multi $(gbps "$MULTI_RX") Gbps)"
	((pkts_tx > 0 && pkts_rx > 0)) ||
		die "the traffic did not cross $NIC_IF: its counters moved by tx $pkts_tx, rx $pkts_rx packets"
}

save_baseline() {
	local doc
	doc=$(jq -n --arg drv "$DRIVER" --arg ver "$VERSION" --arg mac "$MAC" --argjson dur "$DURATION" --argjson streams "$STREAMS" \
		--argjson fig "$(figures_json)" --argjson counters "$DELTAS" --argjson setup "$(setup_json)" --arg log "$LOG" \
		--argjson at "$(date +%s)" \
		'{mode: "baseline", driver: $drv, version: $ver, mac: $mac, durationSeconds: $dur, streams: $streams,
		  measuredAt: $at, figures: $fig, counters: $counters, setup: $setup, log: $log}')
	mkdir -p "$(dirname "$BASELINE")"
	echo "$doc" >"$BASELINE.tmp" && mv "$BASELINE.tmp" "$BASELINE"
	say "baseline saved in $BASELINE"
	jq -c . <<<"$doc"
}

compare() {
	[[ -f $BASELINE ]] || die "no baseline at $BASELINE: the baseline step measures the stock driver first"
	local stock custom doc min
	stock=$(jq -c '.figures' "$BASELINE")
	custom=$(figures_json)
	doc=$(jq -n --arg drv "$DRIVER" --arg ver "$VERSION" --arg ifc "$NIC_IF" --arg ns "$NS" --arg srv "$SERVER" \
		--argjson dur "$DURATION" --argjson streams "$STREAMS" --argjson min "$MIN_RATIO" \
		--argjson custom "$custom" --argjson stock "$stock" --argjson counters "$DELTAS" --argjson rings "$(rings_json)" \
		--arg stockdrv "$(jq -r '.driver' "$BASELINE")" --arg log "$LOG" '
		def r(a; b): if b > 0 then ((a / b) * 1000 | round) / 1000 else 0 end;
		{mode: "validate", driver: $drv, version: $ver, interface: $ifc, namespace: $ns, server: $srv,
		 durationSeconds: $dur, streams: $streams, stockDriver: $stockdrv, custom: $custom, stock: $stock,
		 ratio: ({singleTx: r($custom.single.txGbps; $stock.single.txGbps), singleRx: r($custom.single.rxGbps; $stock.single.rxGbps),
		          multiTx: r($custom.multi.txGbps; $stock.multi.txGbps), multiRx: r($custom.multi.rxGbps; $stock.multi.rxGbps)}
		        | . + {min: ([.[]] | min)}),
		 minRatio: $min, counters: $counters, rings: $rings, log: $log}')
	doc=$(verdict "$doc") || die "cannot compare with the baseline $BASELINE (see $LOG)"
	case $(jq -r .verdict <<<"$doc") in
	slower*)
		echo "$doc" >>"$LOG"
		min=$(jq -r '.ratio.min' <<<"$doc")
		die "custom/stock throughput ratio $min is below the minimum $MIN_RATIO: $(jq -r '
			"single tx \(.custom.single.txGbps) vs \(.stock.single.txGbps) Gbps, single rx \(.custom.single.rxGbps) vs \(.stock.single.rxGbps), multi tx \(.custom.multi.txGbps) vs \(.stock.multi.txGbps), multi rx \(.custom.multi.rxGbps) vs \(.stock.multi.rxGbps)\(.setup.mismatches | if length > 0 then "; setup differs: " + join(", ") else "" end)"' <<<"$doc")"
		;;
	inconclusive*) say "warning: $(jq -r .verdict <<<"$doc"): EC2 throttled the ENI; the figures say nothing about the driver" ;;
	esac
	say "ok: $(jq -r .verdict <<<"$doc") (ratio min $(jq -r '.ratio.min' <<<"$doc"), minimum $MIN_RATIO, stock reference $(jq -r .stockAgeMinutes <<<"$doc") min old)"
	jq -c . <<<"$doc"
}

# verdict DOC: the comparison's conclusion. Below the ratio is "slower"
# only if EC2 did not throttle the ENI in either run: a moved bw/pps
# allowance counter (burst credits spent, on "up to" bandwidth types) makes
# it "inconclusive". A ring, channel or LLQ mode that differs from the
# stock run is named, for the figures then compare unlike setups.
verdict() {
	jq --argjson stocksetup "$(jq -c '.setup // {}' "$BASELINE")" --argjson setup "$(setup_json)" \
		--argjson stockcounters "$(jq -c '.counters // {}' "$BASELINE")" --argjson at "$(jq -r '.measuredAt // 0' "$BASELINE")" \
		--argjson now "$(date +%s)" '
		def throttled(c): [c | to_entries[] | select(.key | test("^(bw_in|bw_out|pps)_allowance_exceeded$")) | select(.value > 0) | .key];
		((throttled(.counters) | map("custom " + .)) + (throttled($stockcounters) | map("stock " + .))) as $thr
		| [[["rxRing", "rx ring"], ["txRing", "tx ring"], ["channels", "channels"], ["llq", "LLQ"]][]
		   | select($stocksetup[.[0]] != null and $setup[.[0]] != null and $stocksetup[.[0]] != $setup[.[0]])
		   | "\(.[1]) \($stocksetup[.[0]]) (stock) vs \($setup[.[0]]) (custom)"] as $mis
		| . + {setup: {stock: $stocksetup, custom: $setup, mismatches: $mis}, allowanceExceeded: $thr,
		       stockAgeMinutes: (if $at > 0 then (($now - $at) / 60 | floor) else null end)}
		| .verdict = (if (.ratio.min < .minRatio) then
		                (if ($thr | length) > 0 then "inconclusive (allowance exceeded: \($thr | join(", ")))" else "slower" end)
		              else "as fast" end
		              + (if (.setup.mismatches | length) > 0 then "; setup differs: " + (.setup.mismatches | join(", ")) else "" end))' <<<"$1"
}

main() {
	init_step
	validate_inputs
	locate_nic
	check_ping
	measure
	DELTAS=$(deltas_json)
	check_flow
	if [[ $MODE == baseline ]]; then save_baseline; else compare; fi
}

main "$@"
