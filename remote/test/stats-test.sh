#!/usr/bin/env bash
# stats.awk and verdict.jq against answers known in advance, under every awk a lab host or
# test VM runs it with (gawk on AL2023, mawk on Debian, busybox awk in the
# VMs): each must give the same figures. Then sockperf's own percentiles
# beside ours, on a full log of a run this test makes on loopback.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SCRIPTS=$(cd "$HERE/../scripts" && pwd)
STATS=$SCRIPTS/stats.awk
# shellcheck source=../../tools/test/testlib.sh
source "$HERE/../../tools/test/testlib.sh"

AWKS=(mawk gawk "busybox awk")

stats() { local awk=$1 mode=$2; shift 2; $awk -v mode="$mode" "$@" -f "$STATS"; }

# same_everywhere NAME EXPECTED MODE [ARGS] < INPUT: each awk prints EXPECTED.
same_everywhere() {
	local name=$1 want=$2 mode=$3 input awk got bad=""
	shift 3
	input=$(cat)
	for awk in "${AWKS[@]}"; do
		got=$(stats "$awk" "$mode" "$@" <<<"$input" | tr '\n' ';')
		[[ $got == "$want" ]] || bad+=" $awk: '$got'"
	done
	if [[ -z $bad ]]; then pass "$name"; else fail "$name" "want '$want';$bad"; fi
}

test_percentiles() {
	# Nearest rank: p% of 1..1000 is the value at rank ceil(p*1000/100).
	same_everywhere percentiles-nearest-rank "50 500;90 900;99 990;99.9 999;100 1000;" \
		percentiles -v ps="50 90 99 99.9 100" < <(seq 1000)
	same_everywhere percentiles-of-one-sample "50 7;99.9 7;" percentiles -v ps="50 99.9" <<<7
	expect_failure percentiles-refuse-no-samples "no samples" stats mawk percentiles -v ps=50 </dev/null
}

test_summary() {
	# Odd and even counts; constant runs have a zero-width interval; with
	# three runs a resampled median is the smallest with probability 7/27
	# (above 2.5%), so the interval is exactly [min, max].
	same_everywhere summary-medians-and-intervals "a 3 2 1 3;b 3 5 5 5;c 4 2.5 1 4;d 2 8.5 - -;" summary \
		< <(printf '%s\n' 'a 3' 'a 1' 'a 2' 'b 5' 'b 5' 'b 5' 'c 4' 'c 1' 'c 3' 'c 2' 'd 9' 'd 8')
	# Ten runs: the interval holds the median and lies inside the runs.
	local out
	out=$(seq 10 | awk '{ print "f", $1 * 1.5 }' | stats mawk summary)
	if awk '{ exit !($3 == 8.25 && $4 <= 8.25 && $5 >= 8.25 && $4 >= 1.5 && $5 <= 15 && $5 - $4 < 13.5) }' <<<"$out"; then
		pass summary-interval-brackets-the-median
	else
		fail summary-interval-brackets-the-median "$out"
	fi
}

test_compare() {
	# Rates are custom/stock, latencies stock/custom; with three runs a side
	# the interval is [min custom / max stock, max custom / min stock].
	same_everywhere compare-ratio-and-interval "tx 0.818182 0.666667 1;latP99 1.22222 1 1.5;" compare \
		< <(printf '%s\n' 'stock tx 10' 'stock tx 11' 'stock tx 12' 'custom tx 8' 'custom tx 9' 'custom tx 10' \
			'stock latP99 10' 'stock latP99 11' 'stock latP99 12' 'custom latP99 8' 'custom latP99 9' 'custom latP99 10')
	same_everywhere compare-below-three-runs-has-no-interval "tx 0.5 - -;" compare < <(printf '%s\n' 'stock tx 4' 'custom tx 2')
	expect_failure compare-refuses-an-unknown-side "side 'mine' is neither stock nor custom" \
		stats mawk compare <<<"mine tx 1"
	expect_failure compare-needs-both-sides "figure tx has no custom runs" stats mawk compare <<<"stock tx 1"
	# The same runs always give the same interval (the resampling is seeded).
	local runs a b
	runs=$(for i in 1 2 3 4 5 6 7; do echo "stock rx $((40 + i * 3 % 7))"; echo "custom rx $((38 + i * 5 % 9))"; done)
	a=$(stats mawk compare <<<"$runs") b=$(stats mawk compare <<<"$runs")
	if [[ $a == "$b" ]]; then pass compare-is-repeatable; else fail compare-is-repeatable "$a vs $b"; fi
}

# Coverage: 200 data sets of 10 runs drawn from a known distribution
# (uniform on [100, 200], true median 150); a 95% interval must cover it in
# most of them (the median's percentile bootstrap, at n=10, covers 90-98%).
test_coverage() {
	local covered
	covered=$(awk 'BEGIN { s = 7; for (d = 1; d <= 200; d++) for (i = 1; i <= 10; i++) {
			s = (s * 1103515245 + 12345) % 2147483648; printf "d%03d %.4f\n", d, 100 + 100 * s / 2147483648 } }' |
		stats mawk summary | awk '$4 <= 150 && $5 >= 150 { n++ } END { print n + 0 }')
	if ((covered >= 176 && covered <= 199)); then pass "bootstrap-covers-the-true-median ($covered/200)"; else
		fail bootstrap-covers-the-true-median "$covered of 200 intervals hold it"; fi
}

# sockperf's own percentiles (of the one-way estimate, RTT/2) beside ours
# on the same samples: equal, or one rank apart (sockperf ranks down).
test_against_sockperf() {
	local dir port=22941 p theirs lo hi bad=""
	dir=$(mktemp -d)
	timeout 15 sockperf sr --tcp -i 127.0.0.1 -p $port >"$dir/server" 2>&1 &
	sleep 0.5
	if ! timeout 15 sockperf pp --tcp -i 127.0.0.1 -p $port -t 1 --full-log "$dir/log" >"$dir/client" 2>&1; then
		fail sockperf-percentiles-agree "sockperf pp failed: $(tail -n 3 "$dir/client")"
		kill %1 2>/dev/null || true
		rm -rf "$dir"
		return
	fi
	kill %1 2>/dev/null || true
	wait 2>/dev/null || true
	awk -F', *' '$1 ~ /^[0-9]+$/ && NF == 4 { print $4 }' "$dir/log" | sort -g >"$dir/sorted"
	for p in 50.000 90.000 99.000 99.900; do
		theirs=$(sed -n "s/.*percentile $p = *\\([0-9.]*\\).*/\\1/p" "$dir/client" | head -n 1)
		read -r lo hi < <(awk -v p="$p" '{ v[NR] = $1 } END { k = p / 100 * NR; k = (k - int(k) < 1e-9) ? int(k) : int(k) + 1; print v[(k > 1) ? k - 1 : 1], v[k] }' "$dir/sorted")
		[[ $(stats mawk percentiles -v ps="$p" <"$dir/sorted") == "$p $hi" ]] || bad+=" p$p: ours is not rank ceil(p n)"
		awk -v t="$theirs" -v lo="$lo" -v hi="$hi" 'BEGIN { exit !(t != "" && t >= lo - 0.0015 && t <= hi + 0.0015) }' ||
			bad+=" p$p: sockperf $theirs, ours $hi (rank below $lo)"
	done
	if [[ -z $bad ]]; then pass "sockperf-percentiles-agree ($(wc -l <"$dir/sorted") samples)"; else fail sockperf-percentiles-agree "$bad"; fi
	rm -rf "$dir"
}

# verdict DOC [STOCK_COUNTERS [STOCK_SETUP]]: verdict.jq as validate.sh runs it.
verdict() {
	jq -c --argjson stocksetup "${3:-{\}}" --argjson setup '{"rxRing": 1024}' --argjson stockcounters "${2:-{\}}" \
		--argjson at 1000 --argjson now 1720 -f "$SCRIPTS/verdict.jq" <<<"$1"
}

# expect_verdict NAME JQ_CONDITION DOC [STOCK_COUNTERS [STOCK_SETUP]]
expect_verdict() {
	local name=$1 cond=$2 out
	shift 2
	out=$(verdict "$@")
	if jq -e "$cond" <<<"$out" >/dev/null; then pass "$name"; else fail "$name" "$(jq -c '{verdict, belowMinimum, comparison}' <<<"$out")"; fi
}

test_verdict() {
	local mixed='{"counters": {}, "minRatio": 0.9, "comparison": {
		"singleTx": {"speed": 1.0, "lo": 0.95, "hi": 1.05}, "multiTx": {"speed": 0.8, "lo": 0.75, "hi": 0.85},
		"latP50": {"speed": 1.3, "lo": 1.2, "hi": 1.4}, "latP999": {"speed": 1, "lo": 0.5, "hi": 2}}}'
	expect_verdict verdict-per-figure-from-its-interval \
		'.comparison.singleTx.verdict == "no difference" and .comparison.multiTx.verdict == "slower"
		 and .comparison.latP50.verdict == "faster" and .comparison.latP999.verdict == "inconclusive"' "$mixed"
	expect_verdict verdict-names-slower-faster-and-inconclusive \
		'.verdict == "slower: multi tx; faster: latency p50 (inconclusive: latency p99.9)"' "$mixed"
	expect_verdict verdict-fails-below-the-minimum '.belowMinimum == ["multi tx 0.8 [0.75, 0.85]"] and .stockAgeMinutes == 12' "$mixed"
	expect_verdict verdict-no-difference-within-five-percent '.verdict == "no difference" and .belowMinimum == []' \
		'{"counters": {}, "minRatio": 0.9, "comparison": {"singleTx": {"speed": 1.01, "lo": 0.96, "hi": 1.04}}}'
	# Runs apart, but by less than 5%: too small a difference to name.
	expect_verdict verdict-a-small-separation-is-no-difference '.comparison.singleTx.verdict == "no difference"' \
		'{"counters": {}, "minRatio": 0.9, "comparison": {"singleTx": {"speed": 0.98, "lo": 0.97, "hi": 0.99}}}'
	# Slower for sure, but by less than the margin: said, and it passes.
	expect_verdict verdict-slower-within-the-margin-passes '.verdict == "slower: single tx" and .belowMinimum == []' \
		'{"counters": {}, "minRatio": 0.9, "comparison": {"singleTx": {"speed": 0.95, "lo": 0.92, "hi": 0.97}}}'
	# An interval that holds 1 but reaches past 5% tells nothing.
	expect_verdict verdict-wide-interval-is-inconclusive '.verdict == "no difference (inconclusive: single rx)" and .belowMinimum == []' \
		'{"counters": {}, "minRatio": 0.9, "comparison": {"singleRx": {"speed": 1.0, "lo": 0.93, "hi": 1.2}}}'
	# Fewer than 3 runs: no interval; the point ratio alone gates.
	expect_verdict verdict-without-interval '.comparison.singleTx.verdict == "inconclusive" and .belowMinimum == ["single tx 0.5 [-, -]"]' \
		'{"counters": {}, "minRatio": 0.9, "comparison": {"singleTx": {"speed": 0.5, "lo": null, "hi": null}}}'
	expect_verdict verdict-throttled-is-inconclusive \
		'.verdict == "inconclusive (allowance exceeded: custom bw_in_allowance_exceeded, stock pps_allowance_exceeded)" and .belowMinimum == []' \
		'{"counters": {"bw_in_allowance_exceeded": 2, "bw_out_allowance_exceeded": 0}, "minRatio": 0.9, "comparison": {"singleTx": {"speed": 0.5, "lo": 0.4, "hi": 0.6}}}' \
		'{"pps_allowance_exceeded": 7}'
	expect_verdict verdict-names-a-setup-mismatch '.verdict == "no difference; setup differs: rx ring 4096 (stock) vs 1024 (custom)"' \
		'{"counters": {}, "minRatio": 0.9, "comparison": {"singleTx": {"speed": 1, "lo": 0.99, "hi": 1.01}}}' '{}' '{"rxRing": 4096}'
	expect_verdict verdict-minimum-zero-gates-nothing '.verdict == "slower: single tx" and .belowMinimum == []' \
		'{"counters": {}, "minRatio": 0, "comparison": {"singleTx": {"speed": 0.01, "lo": 0.005, "hi": 0.02}}}'
}

main() {
	"$HERE/../../tools/apt-install.sh" gawk mawk busybox-static sockperf jq
	test_percentiles
	test_summary
	test_compare
	test_coverage
	test_verdict
	test_against_sockperf
	summary stats
}

main "$@"
