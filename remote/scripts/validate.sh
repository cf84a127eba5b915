#!/usr/bin/env bash
# Prove traffic through the lab NIC and measure it: ping, then RUNS runs of
# iperf3 (TCP, one stream and several, both directions) and of sockperf
# (TCP ping-pong: round-trip latency percentiles) from the NIC's namespace
# to servers on the primary IP, with the NIC's packet and ethtool counters
# read before and after. Each figure is the median of the runs, with a 95%
# bootstrap interval (stats.awk). In baseline mode (NIC on the stock ena)
# the runs are saved; in validate mode they are compared with the baseline:
# per figure "faster", "slower", "no difference" or "inconclusive", as the
# interval of custom's speed relative to stock says. The step fails when a
# figure's whole interval lies below the minimum ratio, unless the ENI's
# allowance was exceeded in either run (EC2 throttled it: inconclusive).
# input ENA_LAB_MAC required  MAC address of the lab NIC
# input ENA_LAB_NETNS optional(ena-lab)  namespace the NIC is in
# input ENA_LAB_SERVER_IP required  the primary ENI's IP: iperf3 and sockperf server, ping target
# input ENA_LAB_MODE optional(validate)  validate, baseline, or compare (the runs in ENA_LAB_MEASURED: interleave.sh's)
# input ENA_LAB_MEASURED optional  compare mode: custom's runs, a baseline-mode document
# input ENA_LAB_EXPECT_DRIVER optional(ena_custom)  driver the NIC must be on; ena-tap: the NIC is ena-tap's TAP
# input ENA_LAB_TAP_STATS optional(/run/ena-lab-tap/stats)  ena-tap's counters file (ena-tap only)
# input ENA_LAB_EXPECT_VERSION optional  driver version the NIC must report
# input ENA_LAB_MEASURE optional(throughput,latency)  what to measure: throughput, latency or both
# input ENA_LAB_RUNS optional(3)  runs per driver; 3 or more give intervals
# input ENA_LAB_DURATION optional(2)  seconds per iperf3 run
# input ENA_LAB_LATENCY_SECONDS optional(1)  seconds per sockperf run
# input ENA_LAB_STREAMS optional(4)  parallel streams of the multi-stream runs
# input ENA_LAB_MIN_RATIO optional(0.9)  lowest acceptable custom/stock speed (the whole interval below it fails)
# input ENA_LAB_PORT optional(5201)  iperf3 port
# input ENA_LAB_LATENCY_PORT optional(11111)  sockperf port
# input ENA_LAB_BASELINE optional($ENA_LAB_STATE_DIR/baseline.json)  the stock figures
set -euo pipefail
STEP=${STEP:-validate}
HERE=$(dirname "${BASH_SOURCE[0]}")
# shellcheck source=lib.sh
source "$HERE/lib.sh"

NS=${ENA_LAB_NETNS:-ena-lab}
MODE=${ENA_LAB_MODE:-validate}
DRIVER=${ENA_LAB_EXPECT_DRIVER:-ena_custom}
MEASURE=${ENA_LAB_MEASURE:-throughput,latency}
RUNS=${ENA_LAB_RUNS:-3}
DURATION=${ENA_LAB_DURATION:-2}
LAT_SECONDS=${ENA_LAB_LATENCY_SECONDS:-1}
STREAMS=${ENA_LAB_STREAMS:-4}
MIN_RATIO=${ENA_LAB_MIN_RATIO:-0.9}
PORT=${ENA_LAB_PORT:-5201}
LAT_PORT=${ENA_LAB_LATENCY_PORT:-11111}
BASELINE=${ENA_LAB_BASELINE:-$STATE_DIR/baseline.json}
TAP_STATS=${ENA_LAB_TAP_STATS:-/run/ena-lab-tap/stats}
REPORTS=$STATE_DIR/reports
STATS=$HERE/stats.awk
SERVER_PIDS=()
# The figures, in the order they are reported; lat* are latencies (µs).
THROUGHPUT_FIGURES=(singleTx singleRx multiTx multiRx)
LATENCY_FIGURES=(latP50 latP90 latP99 latP999)
# Where each latency run's CDF is sampled; holds the four figures' percentiles.
CDF_PERCENTILES="1 5 10 20 30 40 50 60 70 80 90 95 97 99 99.5 99.9 99.95 99.99 100"

validate_inputs() {
	require_mac ENA_LAB_MAC
	ENA_LAB_NETNS=$NS require_name ENA_LAB_NETNS
	require_ipv4 ENA_LAB_SERVER_IP
	[[ $MODE == validate || $MODE == baseline || $MODE == compare ]] || die "input ENA_LAB_MODE='$MODE' is not validate, baseline or compare"
	if [[ $MODE == compare ]]; then
		[[ -r ${ENA_LAB_MEASURED:-} ]] || die "input ENA_LAB_MEASURED='${ENA_LAB_MEASURED:-}' is not a readable file (compare mode compares its runs)"
	fi
	ENA_LAB_EXPECT_DRIVER=$DRIVER require_name ENA_LAB_EXPECT_DRIVER
	require_version ENA_LAB_EXPECT_VERSION
	case $MEASURE in
	throughput | latency | throughput,latency | latency,throughput) ;;
	*) die "input ENA_LAB_MEASURE='$MEASURE' is not throughput, latency or throughput,latency" ;;
	esac
	ENA_LAB_RUNS=$RUNS require_int ENA_LAB_RUNS 1 20
	ENA_LAB_DURATION=$DURATION require_int ENA_LAB_DURATION 1 300
	ENA_LAB_LATENCY_SECONDS=$LAT_SECONDS require_int ENA_LAB_LATENCY_SECONDS 1 60
	ENA_LAB_STREAMS=$STREAMS require_int ENA_LAB_STREAMS 2 64
	ENA_LAB_PORT=$PORT require_int ENA_LAB_PORT 1024 65535
	ENA_LAB_LATENCY_PORT=$LAT_PORT require_int ENA_LAB_LATENCY_PORT 1024 65535
	((10#$PORT != 10#$LAT_PORT)) || die "input ENA_LAB_LATENCY_PORT='$LAT_PORT' is the iperf3 port too"
	[[ $MIN_RATIO =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "input ENA_LAB_MIN_RATIO='$MIN_RATIO' is not a number"
	MAC=$ENA_LAB_MAC SERVER=$ENA_LAB_SERVER_IP
	local t
	for t in jq ethtool ping awk sort; do command -v "$t" >/dev/null || die "$t is not installed (the prereqs step installs it)"; done
	if measures throughput; then command -v iperf3 >/dev/null || die "iperf3 is not installed (the prereqs step installs it)"; fi
	if measures latency; then command -v sockperf >/dev/null || die "sockperf is not installed (the prereqs step installs it)"; fi
	local f
	for f in "$HERE/stats.awk" "$HERE/verdict.jq" "$HERE/report.sh" "$HERE/report.html"; do
		[[ -r $f ]] || die "$f is missing (the step ships it beside validate.sh)"
	done
}

# measures WHAT: WHAT (throughput or latency) is among the measurements asked.
measures() { [[ ,$MEASURE, == *,$1,* ]]; }

# figures: the names of the figures measured, in report order.
figures() {
	if measures throughput; then printf '%s\n' "${THROUGHPUT_FIGURES[@]}"; fi
	if measures latency; then printf '%s\n' "${LATENCY_FIGURES[@]}"; fi
}

locate_nic() {
	find_nic "$MAC" "$NS" || die "no interface has MAC $MAC, here or in namespace $NS"
	[[ $NIC_NS == "$NS" ]] || die "$NIC_IF ($MAC) is not in namespace $NS: the netns step configures it"
	local got
	got=$(driver_of "$NIC_IF" "$NS")
	if [[ $DRIVER == ena-tap ]]; then
		# The ENI's frames reach the stack through ena-tap's TAP.
		[[ $got == tun ]] || die "$NIC_IF ($MAC) is on driver '$got', not a TAP of ena-tap"
		VERSION=$(tap_stat version)
		[[ -n $VERSION ]] || die "ena-tap is not running: its counters file $TAP_STATS is missing or says no version"
	else
		[[ $got == "$DRIVER" ]] || die "$NIC_IF ($MAC) is on driver '$got', expected '$DRIVER'"
		VERSION=$(version_of "$NIC_IF" "$NS")
	fi
	if [[ -n ${ENA_LAB_EXPECT_VERSION:-} && $VERSION != "$ENA_LAB_EXPECT_VERSION" ]]; then
		die "$NIC_IF ($MAC) runs $DRIVER $VERSION, expected $ENA_LAB_EXPECT_VERSION"
	fi
	say "measuring $NIC_IF ($MAC, $DRIVER $VERSION) in $NS against $SERVER: $RUNS runs of $MEASURE"
}

# wait_listening PORT PID WHAT: PORT is listening, or die naming WHAT.
wait_listening() {
	local _
	for _ in $(seq 50); do
		ss -Hltn "sport = :$1" 2>/dev/null | grep -q . && return
		kill -0 "$2" 2>/dev/null || die "$3 server on $SERVER:$1 did not start (port in use? see $LOG)"
		sleep 0.1
	done
	die "$3 server on $SERVER:$1 is not listening after 5 s"
}

# start_servers: iperf3 and sockperf on the primary IP, each bounded by the
# whole measurement's length even if this script dies.
start_servers() {
	local bound=$((RUNS * (4 * (DURATION + 15) + LAT_SECONDS + 15) + 30))
	if measures throughput; then
		timeout "$bound" iperf3 -s -B "$SERVER" -p "$PORT" >>"$LOG" 2>&1 &
		SERVER_PIDS+=($!)
		wait_listening "$PORT" $! iperf3
	fi
	if measures latency; then
		timeout "$bound" sockperf sr --tcp -i "$SERVER" -p "$LAT_PORT" >>"$LOG" 2>&1 &
		SERVER_PIDS+=($!)
		wait_listening "$LAT_PORT" $! sockperf
	fi
}

# cleanup: on any exit, no server left behind and no scratch files.
cleanup() {
	stop_servers
	if [[ -n ${WORK:-} ]]; then rm -rf "$WORK"; fi
}

stop_servers() {
	local pid
	for pid in "${SERVER_PIDS[@]}"; do
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	SERVER_PIDS=()
}

check_ping() {
	say "ping $SERVER from $NS"
	if ! in_ns "$NS" ping -c 3 -i 0.2 -W 2 "$SERVER" >>"$LOG" 2>&1; then
		die "no ping reply from $SERVER through $NIC_IF ($MAC) in $NS: the path is broken (link down, no route or packets dropped)"
	fi
}

# tap_stat NAME: one value of ena-tap's counters file.
tap_stat() { awk -v k="$1" '$1 == k { print $2; exit }' "$TAP_STATS" 2>/dev/null || true; }

# counters FILE: the NIC's packet counts and ethtool statistics, "name value";
# for ena-tap, its own counters (the device's side of the TAP) as enatap_*.
counters() {
	{
		echo "tx_packets $(in_ns "$NS" cat "/sys/class/net/$NIC_IF/statistics/tx_packets")"
		echo "rx_packets $(in_ns "$NS" cat "/sys/class/net/$NIC_IF/statistics/rx_packets")"
		# A TAP has no ethtool statistics (ethtool fails): ena-tap's come below.
		{ in_ns "$NS" ethtool -S "$NIC_IF" 2>/dev/null || true; } | awk -F': *' 'NR > 1 && $2 ~ /^[0-9]+$/ { gsub(/ /, "", $1); print $1, $2 }'
		if [[ $DRIVER == ena-tap ]]; then
			awk '$2 ~ /^[0-9]+$/ && $1 != "ring" && $1 != "mtu" && $1 != "queues" { print "enatap_" $1, $2 }' "$TAP_STATS" 2>/dev/null || true
		fi
	} | sort >"$1"
}

# iperf NAME ARGS...: one client run; prints "gbps retransmits".
iperf() {
	local name=$1 out=$WORK/$1.json
	shift
	say "iperf3 $name (${DURATION}s)"
	if ! in_ns "$NS" timeout $((DURATION + 15)) iperf3 -c "$SERVER" -p "$PORT" -t "$DURATION" -J "$@" >"$out" 2>>"$LOG"; then
		die "iperf3 $name to $SERVER failed: $(jq -r '.error // empty' "$out" 2>/dev/null || true) (see $LOG)"
	fi
	cat "$out" >>"$LOG"
	jq -r '[((.end.sum_received.bits_per_second // 0) / 1e9 * 1000 | round) / 1000, .end.sum_sent.retransmits // 0] | @tsv' "$out"
}

# latency NAME: one sockperf TCP ping-pong run as JSON: the round trips'
# p50, p90, p99 and p99.9 in µs (from the full log's send and receive
# times), their count and the CDF at fixed percentiles (for the report).
latency() {
	local name=$1 log=$WORK/$1.log n
	say "sockperf $name (${LAT_SECONDS}s ping-pong)"
	if ! in_ns "$NS" timeout $((LAT_SECONDS + 15)) sockperf pp --tcp -i "$SERVER" -p "$LAT_PORT" -t "$LAT_SECONDS" \
		--full-log "$log" >>"$LOG" 2>&1; then
		die "sockperf $name to $SERVER:$LAT_PORT failed (see $LOG)"
	fi
	awk -F', *' '$1 ~ /^[0-9]+$/ && NF == 4 { printf "%.3f\n", ($3 - $2) * 1e6 }' "$log" | sort -g >"$log.rtt"
	n=$(wc -l <"$log.rtt")
	((n >= 100)) || die "sockperf $name gave $n round trips in ${LAT_SECONDS}s (fewer than 100: see $LOG)"
	awk -v mode=percentiles -v ps="$CDF_PERCENTILES" -f "$STATS" "$log.rtt" |
		jq -R -s -c --argjson n "$n" 'split("\n") | map(select(length > 0) | split(" ") | map(tonumber)) as $cdf
			| ($cdf | map({(.[0] | tostring): .[1]}) | add) as $p
			| {latP50: $p["50"], latP90: $p["90"], latP99: $p["99"], latP999: $p["99.9"], latSamples: $n, latCdf: $cdf}'
}

# one_run I: run I's figures as one JSON line.
one_run() {
	local i=$1 out st sr mt mr str srr mtr mrr
	local doc='{}'
	if measures throughput; then
		# A failed run stops the step there (a die inside $(...) only ends
		# the subshell; set -e does not look inside an && list).
		out=$(iperf "single-tx-$i" ) || exit 1
		read -r st str <<<"$out"
		out=$(iperf "single-rx-$i" -R) || exit 1
		read -r sr srr <<<"$out"
		out=$(iperf "multi-tx-$i" -P "$STREAMS") || exit 1
		read -r mt mtr <<<"$out"
		out=$(iperf "multi-rx-$i" -R -P "$STREAMS") || exit 1
		read -r mr mrr <<<"$out"
		doc=$(jq -c --argjson st "$st" --argjson sr "$sr" --argjson mt "$mt" --argjson mr "$mr" \
			--argjson str "$str" --argjson srr "$srr" --argjson mtr "$mtr" --argjson mrr "$mrr" \
			'. + {singleTx: $st, singleRx: $sr, multiTx: $mt, multiRx: $mr,
			      retransmits: {singleTx: $str, singleRx: $srr, multiTx: $mtr, multiRx: $mrr}}' <<<"$doc")
	fi
	if measures latency; then
		out=$(latency "latency-$i") || exit 1
		doc=$(jq -c --argjson lat "$out" '. + $lat' <<<"$doc")
	fi
	echo "$doc"
}

# load_measured: compare mode's custom runs and counters, measured before
# (interleave.sh's turns, on this driver).
load_measured() {
	local got
	got=$(jq -r '.driver // empty' "$ENA_LAB_MEASURED")
	[[ $got == "$DRIVER" ]] || die "$ENA_LAB_MEASURED holds runs of '$got', not of $DRIVER"
	RUNS_JSON=$(jq -c '.runs' "$ENA_LAB_MEASURED")
	RUNS=$(jq 'length' <<<"$RUNS_JSON")
	DELTAS=$(jq -c '.counters // {}' "$ENA_LAB_MEASURED")
	say "comparing $RUNS runs of $DRIVER measured in turns with the stock runs"
}

measure() {
	local i
	WORK=$(mktemp -d)
	trap cleanup EXIT
	counters "$WORK/before"
	start_servers
	for ((i = 1; i <= RUNS; i++)); do
		say "run $i of $RUNS"
		one_run "$i" >>"$WORK/runs.jsonl" || exit 1
	done
	stop_servers
	counters "$WORK/after"
	RUNS_JSON=$(jq -s -c . "$WORK/runs.jsonl")
}

# llq_mode DRIVER BDF: the Tx placement DRIVER's last probe of BDF chose,
# from what it said: "host-placement" (it says "LLQ is not supported"),
# "llq-large" or "llq" (2.15+ say "ENA Large LLQ is enabled/disabled"; the
# kernel's own ena says nothing when it takes LLQ). Only DRIVER's lines:
# another driver probed the function before (the baseline, thorough turns).
llq_mode() {
	local said
	said=$(dmesg 2>/dev/null | grep -F "$1 $2:" | sed -n 's/.*ENA Large LLQ is enabled.*/llq-large/p;
		s/.*ENA Large LLQ is disabled.*/llq/p; s/.*LLQ is not supported.*/host-placement/p' | tail -n 1)
	echo "${said:-llq}"
}

# setup_json: what decides the figures besides the driver: ring sizes,
# channels and the Tx placement (LLQ mode) the driver chose.
setup_json() {
	local bdf drv rings channels llq=""
	bdf=$(basename "$(in_ns "$NS" readlink -f "/sys/class/net/$NIC_IF/device" 2>/dev/null)" 2>/dev/null || true)
	drv=$(basename "$(in_ns "$NS" readlink -f "/sys/class/net/$NIC_IF/device/driver" 2>/dev/null)" 2>/dev/null || true)
	rings=$({ in_ns "$NS" ethtool -g "$NIC_IF" 2>/dev/null || true; } | awk '/^Current/ { cur = 1 } cur && /^(RX|TX):/ { gsub(":", "", $1); printf "%s %s\n", $1, $2 }')
	channels=$({ in_ns "$NS" ethtool -l "$NIC_IF" 2>/dev/null || true; } | awk '/^Current/ { cur = 1 } cur && /^Combined:/ { print $2 }')
	[[ -n $bdf && -n $drv ]] && llq=$(llq_mode "$drv" "$bdf")
	if [[ $DRIVER == ena-tap ]]; then
		rings="RX $(tap_stat ring)
TX $(tap_stat ring)" channels=$(tap_stat queues)
	fi
	jq -n --arg rx "$(awk '$1 == "RX" { print $2 }' <<<"$rings")" --arg tx "$(awk '$1 == "TX" { print $2 }' <<<"$rings")" \
		--arg ch "$channels" --arg llq "$llq" \
		'def n(s): if (s | test("^[0-9]+$")) then (s | tonumber) else null end;
		 {rxRing: n($rx), txRing: n($tx), channels: n($ch), llq: (if $llq == "" then null else $llq end)}'
}

# figure_lines RUNS [PREFIX]: "PREFIX figure value" per measured figure of each run.
figure_lines() {
	jq -r --arg p "${2:-}" --argjson figs "$(figures | jq -R . | jq -s -c .)" \
		'.[] as $r | $figs[] | select($r[.] != null) | "\($p)\(.) \($r[.])"' <<<"$1"
}

# intervals_json RUNS: per figure its median over the runs, the 95%
# interval of that median (null below 3 runs) and the run count.
intervals_json() {
	figure_lines "$1" | awk -v mode=summary -f "$STATS" |
		jq -R -s 'def n(s): if s == "-" then null else (s | tonumber) end;
			split("\n") | map(select(length > 0) | split(" ") | {(.[0]): {n: (.[1] | tonumber), median: n(.[2]), lo: n(.[3]), hi: n(.[4])}}) | add // {}'
}

# figures_json INTERVALS RUNS: the medians in the shape the outputs have
# always had (Gbps per stream count and direction), plus latency (µs).
# Retransmits are summed over the runs.
figures_json() {
	jq -n --argjson i "$1" --argjson runs "$2" '
		def rtx(f): [$runs[] | .retransmits[f] // 0] | add;
		(if $i.singleTx then {single: {txGbps: $i.singleTx.median, rxGbps: $i.singleRx.median, txRetransmits: rtx("singleTx"), rxRetransmits: rtx("singleRx")},
		                      multi: {txGbps: $i.multiTx.median, rxGbps: $i.multiRx.median, txRetransmits: rtx("multiTx"), rxRetransmits: rtx("multiRx")}}
		 else {} end)
		+ (if $i.latP50 then {latency: {p50Us: $i.latP50.median, p90Us: $i.latP90.median, p99Us: $i.latP99.median, p999Us: $i.latP999.median,
		                                samplesPerRun: ([$runs[].latSamples] | min)}} else {} end)'
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
	if measures throughput; then
		jq -e 'all(.[]; .singleTx > 0 and .multiTx > 0)' <<<"$RUNS_JSON" >/dev/null ||
			die "no traffic from $NIC_IF to $SERVER in some run (Gbps per run, single and multi tx: $(jq -c 'map([.singleTx, .multiTx])' <<<"$RUNS_JSON"))"
		jq -e 'all(.[]; .singleRx > 0 and .multiRx > 0)' <<<"$RUNS_JSON" >/dev/null ||
			die "no traffic from $SERVER to $NIC_IF in some run (Gbps per run, single and multi rx: $(jq -c 'map([.singleRx, .multiRx])' <<<"$RUNS_JSON"))"
	fi
	((pkts_tx > 0 && pkts_rx > 0)) ||
		die "the traffic did not cross $NIC_IF: its counters moved by tx $pkts_tx, rx $pkts_rx packets"
}

# measured_json: what this measurement was, for the baseline and the report.
measured_json() {
	local intervals
	intervals=$(intervals_json "$RUNS_JSON")
	jq -n --arg drv "$DRIVER" --arg ver "$VERSION" --arg mac "$MAC" --arg measure "$MEASURE" --argjson nruns "$RUNS" \
		--argjson dur "$DURATION" --argjson lat "$LAT_SECONDS" --argjson streams "$STREAMS" \
		--argjson runs "$RUNS_JSON" --argjson intervals "$intervals" --argjson fig "$(figures_json "$intervals" "$RUNS_JSON")" \
		'{driver: $drv, version: $ver, mac: $mac, measure: $measure, runCount: $nruns, durationSeconds: $dur,
		  latencySeconds: $lat, streams: $streams, figures: $fig, intervals: $intervals, runs: $runs}'
}

save_baseline() {
	local doc
	doc=$(jq --argjson counters "$DELTAS" --argjson setup "$(setup_json)" --arg log "$LOG" --argjson at "$(date +%s)" \
		'{mode: "baseline"} + . + {measuredAt: $at, counters: $counters, setup: $setup, log: $log}' <<<"$(measured_json)")
	mkdir -p "$(dirname "$BASELINE")"
	echo "$doc" >"$BASELINE.tmp" && mv "$BASELINE.tmp" "$BASELINE"
	say "baseline saved in $BASELINE: $(figures_said "$doc")"
	jq -c . <<<"$doc"
}

# figures_said DOC: the medians in one line, for the log and the user.
figures_said() {
	jq -r '[(.figures.single // empty | "single tx \(.txGbps) rx \(.rxGbps) Gbps"),
		(.figures.multi // empty | "multi tx \(.txGbps) rx \(.rxGbps) Gbps"),
		(.figures.latency // empty | "RTT p50 \(.p50Us) p99 \(.p99Us) p99.9 \(.p999Us) us")] | join(", ")' <<<"$1"
}

# comparison_json: per figure, custom's speed relative to stock (the ratio
# of the medians, latencies inverted) and its 95% interval.
comparison_json() {
	{
		figure_lines "$(jq -c .runs "$BASELINE")" "stock "
		figure_lines "$RUNS_JSON" "custom "
	} | awk -v mode=compare -f "$STATS" |
		jq -R -s 'def n(s): if s == "-" then null else (s | tonumber) end;
			split("\n") | map(select(length > 0) | split(" ") | {(.[0]): {speed: n(.[1]), lo: n(.[2]), hi: n(.[3])}}) | add // {}'
}

check_baseline() {
	[[ -f $BASELINE ]] || die "no baseline at $BASELINE: the baseline step measures the stock driver first"
	jq -e '.runs | type == "array" and length > 0' "$BASELINE" >/dev/null 2>&1 ||
		die "the baseline $BASELINE has no runs (made by an older lab): the baseline step measures it again"
	local missing
	missing=$(jq -r --argjson figs "$(figures | jq -R . | jq -s -c .)" '[$figs[] as $f | select(all(.runs[]; .[$f] == null)) | $f] | join(", ")' "$BASELINE")
	[[ -z $missing ]] || die "the baseline $BASELINE lacks $missing: it measured '$(jq -r '.measure // "throughput"' "$BASELINE")', this step '$MEASURE'"
}

# compare: custom's runs against the baseline's, the stock figures computed
# from the baseline's runs as custom's are from this step's.
compare() {
	local doc stockruns si
	stockruns=$(jq -c .runs "$BASELINE")
	si=$(intervals_json "$stockruns")
	doc=$(jq --arg ifc "$NIC_IF" --arg ns "$NS" --arg srv "$SERVER" --argjson min "$MIN_RATIO" \
		--argjson counters "$DELTAS" --argjson rings "$(rings_json)" --argjson cmp "$(comparison_json)" \
		--argjson si "$si" --argjson sf "$(figures_json "$si" "$stockruns")" \
		--argjson interleaved "$([[ $MODE == compare ]] && echo true || echo false)" \
		--slurpfile base "$BASELINE" --arg log "$LOG" --argjson at "$(date +%s)" '
		$base[0] as $b
		| def r(a; b): if (a != null and b != null and b > 0) then ((a / b) * 1000 | round) / 1000 else null end;
		{mode: "validate"} + . + {interface: $ifc, namespace: $ns, server: $srv, stockDriver: $b.driver, measuredAt: $at,
		 custom: .figures, stock: $sf, stockIntervals: $si, stockRuns: $b.runs, stockCounters: $b.counters,
		 interleaved: $interleaved,
		 ratio: (if .figures.single then
		          ({singleTx: r(.figures.single.txGbps; $sf.single.txGbps), singleRx: r(.figures.single.rxGbps; $sf.single.rxGbps),
		            multiTx: r(.figures.multi.txGbps; $sf.multi.txGbps), multiRx: r(.figures.multi.rxGbps; $sf.multi.rxGbps)}
		           | . + {min: ([.[]] | min)}) else null end),
		 comparison: $cmp, minRatio: $min, counters: $counters, rings: $rings, log: $log}' <<<"$(measured_json)")
	doc=$(verdict "$doc") || die "cannot compare with the baseline $BASELINE (see $LOG)"
	echo "$doc" >>"$LOG"
	doc=$(keep_report "$doc")
	if jq -e '.belowMinimum | length > 0' <<<"$doc" >/dev/null; then
		die "custom is slower than the minimum ratio $MIN_RATIO allows: $(jq -r '.belowMinimum | join("; ")' <<<"$doc")$(jq -r '
			.setup.mismatches | if length > 0 then "; setup differs: " + join(", ") else "" end' <<<"$doc")"
	fi
	case $(jq -r .verdict <<<"$doc") in
	inconclusive*) say "warning: $(jq -r .verdict <<<"$doc"): EC2 throttled the ENI; the figures say nothing about the driver" ;;
	esac
	say "ok: $(jq -r .verdict <<<"$doc") (custom: $(figures_said "$doc"); $RUNS runs, minimum ratio $MIN_RATIO, stock reference $(jq -r .stockAgeMinutes <<<"$doc") min old)"
	jq -c . <<<"$doc"
}

# keep_report DOC: the record kept in REPORTS and its HTML page beside it
# (report.sh), the slower runs too; DOC again, with both paths. A page that
# cannot be written is a warning: the figures stand without it.
keep_report() {
	local stamp record page
	stamp=$(date -u +%Y%m%dT%H%M%SZ)
	record=$REPORTS/$stamp.json page=$REPORTS/$stamp.html
	mkdir -p "$REPORTS"
	# shellcheck disable=SC2094 # $record is only a string to jq
	jq --arg r "$record" --arg p "$page" '. + {record: $r, report: $p}' <<<"$1" >"$record"
	if STEP=$STEP bash "$HERE/report.sh" "$record" "$page" "$REPORTS" "$(chartjs_file)" >/dev/null 2>>"$LOG"; then
		ln -sfn "$(basename "$page")" "$REPORTS/latest.html"
		say "report: $page"
	else
		say "warning: no report page: $(tail -n 1 "$LOG")"
		jq '.report = null' "$record" >"$record.tmp" && mv "$record.tmp" "$record"
	fi
	cat "$record"
}

# verdict DOC: the comparison's conclusion (verdict.jq says how).
verdict() {
	jq --argjson stocksetup "$(jq -c '.setup // {}' "$BASELINE")" --argjson setup "$(setup_json)" \
		--argjson stockcounters "$(jq -c '.counters // {}' "$BASELINE")" --argjson at "$(jq -r '.measuredAt // 0' "$BASELINE")" \
		--argjson now "$(date +%s)" -f "$HERE/verdict.jq" <<<"$1"
}

main() {
	init_step
	validate_inputs
	locate_nic
	if [[ $MODE != baseline ]]; then check_baseline; fi
	if [[ $MODE == compare ]]; then
		load_measured
	else
		check_ping
		measure
		DELTAS=$(deltas_json)
		check_flow
	fi
	if [[ $MODE == baseline ]]; then save_baseline; else compare; fi
}

main "$@"
