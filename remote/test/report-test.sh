#!/usr/bin/env bash
# report.sh's page in a real browser: Debian's Chromium, headless, in a
# network namespace with no network at all (the page must open offline).
# From records with known figures: every chart is drawn with the points
# the record holds, every number the page shows equals the record's, the
# trend holds the stack's last records in order, and no script fails.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SCRIPTS=$(cd "$HERE/../scripts" && pwd)
# shellcheck source=../../tools/test/testlib.sh
source "$HERE/../../tools/test/testlib.sh"

TMP=$(mktemp -d /tmp/report-test.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

# record AT VERSION SPEED [MEASURE]: a validation record measured at AT
# (seconds) whose custom figures are the stock ones times SPEED.
record() {
	local measure=${4:-throughput,latency}
	jq -n --argjson at "$1" --arg ver "$2" --argjson k "$3" --arg measure "$measure" '
		def runs(scale): [range(3) as $i | {singleTx: ((10 + $i) * scale), singleRx: ((11 + $i) * scale), multiTx: ((20 + $i) * scale), multiRx: ((21 + $i) * scale)}
			+ (if ($measure | contains("latency")) then {latP50: (30 + $i), latP90: (40 + $i), latP99: (60 + $i), latP999: (200 + $i), latSamples: 5000,
			   latCdf: [[1, 20 + $i], [50, 30 + $i], [90, 40 + $i], [99, 60 + $i], [99.9, 200 + $i], [100, 900]]} else {} end)];
		def ints(r): [r[0] | keys[] | select(. != "latSamples" and . != "latCdf")] as $f
			| $f | map({(.): {n: 3, median: r[1][.], lo: r[0][.], hi: r[2][.]}}) | add;
		def figs: if ($measure | contains("latency")) then ["singleTx", "singleRx", "multiTx", "multiRx", "latP50", "latP90", "latP99", "latP999"]
		          else ["singleTx", "singleRx", "multiTx", "multiRx"] end;
		runs(1) as $s | runs($k) as $c
		| {mode: "validate", driver: "ena_custom", version: $ver, measure: $measure, runCount: 3, durationSeconds: 2, latencySeconds: 1,
		   streams: 4, interface: "ens6", namespace: "ena-lab", stockDriver: "ena", measuredAt: $at, minRatio: 0.9,
		   runs: $c, stockRuns: $s, intervals: ints($c), stockIntervals: ints($s),
		   comparison: (figs | map({(.): {speed: $k, lo: ($k - 0.125), hi: ($k + 0.125), verdict: (if $k > 1.05 then "faster" else "no difference" end)}}) | add),
		   counters: {tx_packets: 1000, rx_packets: 900, bw_in_allowance_exceeded: 0}, stockCounters: {tx_packets: 800, pps_allowance_exceeded: 0},
		   verdict: (if $k > 1.05 then "faster: single tx" else "no difference" end)}'
}

# browse PAGE: the page's DOM once its scripts ran, from Chromium with no
# network (a namespace of its own holds only a downed loopback).
browse() {
	unshare --net timeout 90 chromium --headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage \
		--user-data-dir="$TMP/profile" --dump-dom "file://$1" 2>"$TMP/chromium.err"
}

# shown DOM: "source<TAB>text" for each number the page shows with its origin.
shown() { grep -o 'data-source="[^"]*">[^<]*<' <<<"$1" | sed 's/^data-source="\([^"]*\)">\(.*\)<$/\1\t\2/'; }

# expected RECORD SOURCE: what the page should show for SOURCE.
expected() {
	local path=$2
	case $path in
	*.interval) jq -r --arg f "$(cut -d. -f2 <<<"$path")" '.comparison[$f] | "[\(.lo), \(.hi)]"' "$1" ;;
	*) jq -r --arg p "$path" 'getpath($p | split(".")) // "-" | tostring' "$1" ;;
	esac
}

# points DOM CANVAS: the point count the page marked on a chart.
points() { grep -o "id=\"$2\"[^>]*data-points=\"[0-9]*\"" <<<"$1" | grep -o 'data-points="[0-9]*"' | grep -o '[0-9]*' || echo none; }

test_full_report() {
	local dom bad="" src text want
	mkdir -p "$TMP/reports"
	record 1764900000 2.15.0g-custom.aaaa1111 0.75 >"$TMP/reports/a.json"
	record 1764903600 2.15.0g-custom.bbbb2222 1.25 >"$TMP/reports/b.json"
	record 1764907200 2.15.0g-custom.cccc3333 1.0 >"$TMP/reports/c.json"
	# Not a validation record: the trend leaves it out.
	echo '{"mode": "baseline"}' >"$TMP/reports/baseline.json"
	bash "$SCRIPTS/report.sh" "$TMP/reports/b.json" "$TMP/b.html" "$TMP/reports" "$CHARTJS" >/dev/null
	if grep -qE '(src|href)="https?:' "$TMP/b.html"; then fail report-loads-nothing-from-the-network "$(grep -oE '(src|href)="https?:[^"]*' "$TMP/b.html" | head -n 3)"; else
		pass report-loads-nothing-from-the-network; fi
	dom=$(browse "$TMP/b.html") || { fail report-opens-offline "chromium: $(tail -n 3 "$TMP/chromium.err")"; return; }
	if grep -q 'data-ready="1"' <<<"$dom" && grep -q 'data-errors=""' <<<"$dom"; then pass report-opens-offline; else
		fail report-opens-offline "$(grep -o '<body[^>]*>' <<<"$dom")"; fi
	# Points per chart, from the record: throughput and latency have 2 x 4
	# medians and 2 x 3 x 4 runs; the CDF 6 runs of 6 points; the speed 8
	# intervals, 8 speeds and two 8-point reference lines; the trend 8
	# figures over 3 records.
	local chart want_points
	for chart in chart-throughput:32 chart-latency:32 chart-cdf:36 chart-speed:32 chart-history:24; do
		want_points=${chart#*:} chart=${chart%:*}
		[[ $(points "$dom" "$chart") == "$want_points" ]] || bad+=" $chart: $(points "$dom" "$chart") points, want $want_points;"
	done
	if [[ -z $bad ]]; then pass report-draws-every-chart; else fail report-draws-every-chart "$bad"; fi
	bad=""
	local n=0
	while IFS=$'\t' read -r src text; do
		n=$((n + 1))
		want=$(expected "$TMP/reports/b.json" "$src")
		[[ $text == "$want" ]] || bad+=" $src: page '$text', record '$want';"
	done < <(shown "$dom")
	if [[ -z $bad && $n == 48 ]]; then pass "report-numbers-equal-the-record ($n)"; else fail report-numbers-equal-the-record "$n numbers:$bad"; fi
	# The trend: the three records, oldest first, with their series.
	if [[ $(grep -o '<td>[0-9a-f]\{8\}</td>' <<<"$dom" | tr -d '</td>' | tr '\n' ' ') == "aaaa1111 bbbb2222 cccc3333 " ]]; then
		pass report-trend-holds-the-last-records
	else
		fail report-trend-holds-the-last-records "$(grep -o '<td>[0-9a-f]\{8\}</td>' <<<"$dom" | tr '\n' ' ')"
	fi
	if grep -q 'class="verdict faster" id="verdict">faster: single tx<' <<<"$dom"; then pass report-shows-the-verdict; else
		fail report-shows-the-verdict "$(grep -o 'class="verdict[^<]*' <<<"$dom")"; fi
	# ENA_LAB_REPORT_HISTORY=2: the last two only.
	ENA_LAB_REPORT_HISTORY=2 bash "$SCRIPTS/report.sh" "$TMP/reports/c.json" "$TMP/c.html" "$TMP/reports" "$CHARTJS" >/dev/null
	dom=$(browse "$TMP/c.html") || true
	if [[ $(points "$dom" chart-history) == 16 ]]; then pass report-trend-keeps-the-last-n; else
		fail report-trend-keeps-the-last-n "$(points "$dom" chart-history) points"; fi
	if [[ -n ${REPORT_SCREENSHOT:-} ]]; then
		unshare --net timeout 90 chromium --headless=new --no-sandbox --disable-gpu --user-data-dir="$TMP/profile" \
			--window-size=1200,2600 --screenshot="$REPORT_SCREENSHOT" "file://$TMP/b.html" 2>/dev/null || true
	fi
}

# Throughput alone: the latency charts give way to a note, the rest draws.
test_throughput_only() {
	local dom
	mkdir -p "$TMP/tp"
	record 1764900000 2.17.0g-custom.dddd4444 0.75 throughput >"$TMP/tp/t.json"
	bash "$SCRIPTS/report.sh" "$TMP/tp/t.json" "$TMP/t.html" "$TMP/tp" "$CHARTJS" >/dev/null
	dom=$(browse "$TMP/t.html") || true
	if grep -q 'data-ready="1"' <<<"$dom" && grep -q 'data-errors=""' <<<"$dom" && grep -q 'latency was not measured' <<<"$dom" &&
		[[ $(points "$dom" chart-throughput) == 32 && $(points "$dom" chart-speed) == 16 && $(points "$dom" chart-latency) == none ]]; then
		pass report-of-throughput-alone
	else
		fail report-of-throughput-alone "$(grep -o '<body[^>]*>' <<<"$dom") throughput $(points "$dom" chart-throughput), speed $(points "$dom" chart-speed)"
	fi
}

test_refusals() {
	expect_failure report-refuses-a-baseline "is not a validation record" \
		bash "$SCRIPTS/report.sh" "$TMP/reports/baseline.json" "$TMP/x.html" "$TMP/reports" "$CHARTJS"
	expect_failure report-needs-chartjs "no Chart.js at $TMP/none.js \\(the prereqs step fetches it\\)" \
		bash "$SCRIPTS/report.sh" "$TMP/reports/b.json" "$TMP/x.html" "$TMP/reports" "$TMP/none.js"
	expect_failure report-refuses-a-bad-history "input ENA_LAB_REPORT_HISTORY='0' is not a whole number from 1 to 100" \
		env ENA_LAB_REPORT_HISTORY=0 bash "$SCRIPTS/report.sh" "$TMP/reports/b.json" "$TMP/x.html" "$TMP/reports" "$CHARTJS"
	if [[ ! -e $TMP/x.html ]]; then pass report-refusal-writes-nothing; else fail report-refusal-writes-nothing "x.html written"; fi
}

main() {
	"$HERE/../../tools/apt-install.sh" chromium jq util-linux
	CHARTJS=$("$HERE/../../tools/chartjs.sh")
	test_full_report
	test_throughput_only
	test_refusals
	summary report
}

main "$@"
