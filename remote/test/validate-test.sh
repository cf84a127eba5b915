#!/usr/bin/env bash
# The real netns.sh, baseline.sh and validate.sh against real traffic, all
# inside network namespaces this test creates (fake-host.sh: an AL2023 host
# with its two ENIs); the scripts move eni0 into the lab namespace
# themselves, configure it and run iperf3 across the veth pair.
# 198.51.100.0/24 only (TEST-NET-2).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SCRIPTS=$(cd "$HERE/../scripts" && pwd)
NET=198.51.100
HOSTNS=elab-host-$$ LABNS=elab-lab-$$
# shellcheck source=../../tools/test/testlib.sh
source "$HERE/../../tools/test/testlib.sh"
# shellcheck source=fake-host.sh
source "$HERE/fake-host.sh"

cleanup() {
	fake_host_down
	rm -rf "$TMP"
}

setup() {
	TMP=$(mktemp -d /tmp/validate-test.XXXXXX)
	trap cleanup EXIT
	fake_host_up
	# The reports' Chart.js, where the prereqs step keeps it.
	mkdir -p "$TMP/state/vendor" && cp "$("$HERE/../../tools/chartjs.sh")" "$TMP/state/vendor/"
}

netns_env=(ENA_LAB_MAC="$ENI_MAC" ENA_LAB_IP="$NET.2" ENA_LAB_PREFIX=24 ENA_LAB_GATEWAY="$NET.1" ENA_LAB_MTU=1500)
plan_env=(ENA_LAB_RUNS=3 ENA_LAB_DURATION=1 ENA_LAB_LATENCY_SECONDS=1 ENA_LAB_STREAMS=2)
measure_env=(ENA_LAB_MAC="$ENI_MAC" ENA_LAB_SERVER_IP="$NET.1" ENA_LAB_EXPECT_DRIVER=veth "${plan_env[@]}")

test_netns() {
	local out
	# The primary is refused by its MAC, before anything is created.
	expect_failure netns-refuses-the-primary-eni "ENA_LAB_MAC='$DEF_MAC' is the primary ENI's MAC" \
		host_run netns.sh ENA_LAB_MAC="$DEF_MAC" ENA_LAB_IP="$NET.3" ENA_LAB_PREFIX=24 ENA_LAB_GATEWAY="$NET.1"
	if [[ ! -e /run/netns/$LABNS ]] && ip -n "$HOSTNS" route show default | grep -q "dev def0 metric 512"; then
		pass netns-refusal-leaves-nothing
	else
		fail netns-refusal-leaves-nothing "namespace $LABNS exists or def0 lost its route"
	fi
	# A failure half-way (a bridge cannot change namespace) undoes the setup.
	ip -n "$HOSTNS" link add brx type bridge
	ip -n "$HOSTNS" link set brx address 02:e1:ab:00:00:99
	expect_failure netns-failed-move-fails-loud "cannot move brx \\(02:e1:ab:00:00:99\\) into namespace" \
		host_run netns.sh ENA_LAB_MAC=02:e1:ab:00:00:99 ENA_LAB_IP="$NET.4" ENA_LAB_PREFIX=24 ENA_LAB_GATEWAY="$NET.1"
	if [[ ! -e /run/netns/$LABNS ]]; then pass netns-failed-setup-leaves-no-namespace; else
		fail netns-failed-setup-leaves-no-namespace "$LABNS left behind"; fi
	ip -n "$HOSTNS" link del brx
	# The secondary carries a default route of its own (metric 513), as on
	# AL2023: it is the lab NIC all the same, accepted and moved.
	al2023_secondary_route
	out=$(host_run netns.sh "${netns_env[@]}" 2>"$TMP/err") || true
	if [[ $(jq -r '.changed' <<<"$out") == true && $(jq -r '.interface' <<<"$out") == eni0 && $(jq -r '.driver' <<<"$out") == veth ]] &&
		ip -n "$LABNS" -4 addr show dev eni0 | grep -q "$NET.2/24" &&
		ip -n "$LABNS" route show default | grep -q "via $NET.1 dev eni0"; then
		pass netns-moves-and-configures-the-nic
	else
		fail netns-moves-and-configures-the-nic "$out $(tail -n 3 "$TMP/err")"
	fi
	if ip -n "$HOSTNS" link show eni0 >/dev/null 2>&1; then fail netns-nic-left-host "eni0 still in the host namespace"; else pass netns-nic-left-host; fi
	out=$(host_run netns.sh "${netns_env[@]}" 2>"$TMP/err")
	if [[ $(jq -r '.changed' <<<"$out") == false ]] && grep -q "nothing to do" "$TMP/err"; then
		pass netns-second-run-changes-nothing
	else
		fail netns-second-run-changes-nothing "$out $(cat "$TMP/err")"
	fi
	if grep -q "^ExecStart=.*netns.sh" "$TMP/systemd/ena-lab-netns.service" && grep -q "^ENA_LAB_IP=\"$NET.2\"$" "$TMP/state/netns.env"; then
		pass netns-boot-unit-written
	else
		fail netns-boot-unit-written "no unit or env file"
	fi
	# systemd's own parser; the bind unit it requires stands beside it.
	printf '[Unit]\nDescription=stand-in\n[Service]\nType=oneshot\nExecStart=/bin/true\n' >"$TMP/systemd/ena-lab-bind.service"
	if out=$(cd "$TMP/systemd" && systemd-analyze verify --man=no ./ena-lab-netns.service 2>&1) && [[ -z $out ]] &&
		grep -qE '^TimeoutStartSec=[0-9]+$' "$TMP/systemd/ena-lab-netns.service"; then
		pass netns-boot-unit-verified-by-systemd
	else
		fail netns-boot-unit-verified-by-systemd "$out"
	fi
	rm -f "$TMP/systemd/ena-lab-bind.service"
	if ip -n "$HOSTNS" route show default | grep -q "dev def0 metric 512" && ! ip -n "$HOSTNS" route show default | grep -q eni0; then
		pass netns-primary-keeps-its-default-route
	else
		fail netns-primary-keeps-its-default-route "$(ip -n "$HOSTNS" route show default | tr '\n' ' ')"
	fi
	expect_failure netns-refuses-bad-ip "ENA_LAB_IP='198.51.100.300' is not an IPv4 address" \
		host_run netns.sh ENA_LAB_MAC="$ENI_MAC" ENA_LAB_IP=198.51.100.300 ENA_LAB_PREFIX=24 ENA_LAB_GATEWAY="$NET.1"
}

# The baseline step: NIC (on the "stock" driver, here veth) into a temporary
# namespace, measured, back where it was.
test_baseline() {
	local out
	if out=$(host_run baseline.sh "${netns_env[@]}" ENA_LAB_SERVER_IP="$NET.1" ENA_LAB_STOCK_DRIVER=veth \
		"${plan_env[@]}" 2>"$TMP/err"); then
		if jq -e '.mode == "baseline" and .driver == "veth" and .figures.single.txGbps > 0 and .figures.single.rxGbps > 0
			and .figures.multi.txGbps > 0 and .figures.multi.rxGbps > 0 and .counters.tx_packets > 0
			and .runCount == 3 and (.runs | length) == 3 and all(.runs[]; .singleTx > 0 and .latP50 > 0 and .latSamples >= 100)
			and .figures.latency.p50Us > 0 and .figures.latency.p50Us <= .figures.latency.p99Us
			and .figures.latency.p99Us <= .figures.latency.p999Us
			and all(.intervals[]; .n == 3 and .lo <= .median and .median <= .hi)
			and .intervals.singleTx.median == .figures.single.txGbps' <<<"$out" >/dev/null &&
			[[ -f $TMP/state/baseline.json ]]; then
			pass baseline-measures-both-directions
		else
			fail baseline-measures-both-directions "$out"
		fi
	else
		fail baseline-measures-both-directions "$(tail -n 5 "$TMP/err")"
	fi
	if ip -n "$HOSTNS" link show eni0 >/dev/null 2>&1 && [[ ! -e /run/netns/$LABNS && ! -e $TMP/systemd/ena-lab-netns.service ]]; then
		pass baseline-puts-the-nic-back
	else
		fail baseline-puts-the-nic-back "eni0 not back in the host namespace, or the temporary namespace left"
	fi
	if out=$(host_run baseline.sh "${netns_env[@]}" ENA_LAB_SERVER_IP="$NET.1" ENA_LAB_STOCK_DRIVER=veth \
		"${plan_env[@]}" 2>"$TMP/err") && grep -q "nothing to do" "$TMP/err" &&
		[[ $out == "$(jq -c . "$TMP/state/baseline.json")" ]]; then
		pass baseline-second-run-changes-nothing
	else
		fail baseline-second-run-changes-nothing "$(cat "$TMP/err")"
	fi
	expect_failure baseline-needs-the-stock-driver "is on 'veth': the baseline must be measured on the stock ena" \
		host_run baseline.sh "${netns_env[@]}" ENA_LAB_SERVER_IP="$NET.1" ENA_LAB_DURATION=2
}

test_measure() {
	local out
	# veth figures wander with the machine's load: 0.1 proves a passing
	# comparison; the 50 below proves the failing one.
	if out=$(host_run validate.sh "${measure_env[@]}" ENA_LAB_MIN_RATIO=0.1 2>"$TMP/err"); then
		if jq -e '.mode == "validate" and all([.custom, .stock][] | .single, .multi; .txGbps > 0 and .rxGbps > 0
			and (.txRetransmits | type == "number") and (.rxRetransmits | type == "number")) and .ratio.min > 0
			and .ratio.multiRx == (((.custom.multi.rxGbps / .stock.multi.rxGbps) * 1000 | round) / 1000)
			and .ratio.min == ([.ratio.singleTx, .ratio.singleRx, .ratio.multiTx, .ratio.multiRx] | min)
			and (.comparison | keys) == ["latP50", "latP90", "latP99", "latP999", "multiRx", "multiTx", "singleRx", "singleTx"]
			and all(.comparison[]; .lo <= .speed and .speed <= .hi
			        and (.verdict | IN("faster", "slower", "no difference", "inconclusive")))
			and ((.comparison.latP99.speed / (.stock.latency.p99Us / .custom.latency.p99Us) - 1) | fabs) < 1e-5
			and ((.comparison.multiTx.speed / (.custom.multi.txGbps / .stock.multi.txGbps) - 1) | fabs) < 1e-5
			and (.runs | length) == 3 and (.stockRuns | length) == 3 and .custom.latency.p50Us > 0
			and .counters.rx_packets > 0 and .interface == "eni0" and .belowMinimum == []
			and (.verdict | test("^(no difference|slower: |faster: )")) and .allowanceExceeded == [] and .setup.mismatches == []
			and (.stockAgeMinutes | type == "number")' <<<"$out" >/dev/null; then
			pass validate-compares-with-baseline
		else
			fail validate-compares-with-baseline "$out"
		fi
		if jq -e '(.record | startswith("'"$TMP"'/state/reports/")) and (.report | endswith(".html"))' <<<"$out" >/dev/null &&
			[[ -s $(jq -r .report <<<"$out") && $(jq -c 'del(.record, .report)' "$(jq -r .record <<<"$out")") == "$(jq -c 'del(.record, .report)' <<<"$out")" ]] &&
			[[ $(readlink "$TMP/state/reports/latest.html") == "$(basename "$(jq -r .report <<<"$out")")" ]]; then
			pass validate-keeps-its-record-and-report
		else
			fail validate-keeps-its-record-and-report "$(jq -c '{record, report}' <<<"$out") $(ls -la "$TMP/state/reports" 2>&1)"
		fi
		if grep -q '^\[validate\] run 3 of 3' "$TMP/err" && grep -q '^\[validate\] iperf3 multi-rx-3' "$TMP/err" &&
			grep -q '^\[validate\] sockperf latency-3' "$TMP/err"; then
			pass validate-reports-progress
		else
			fail validate-reports-progress "$(cat "$TMP/err")"
		fi
		echo "$out" >"$TMP/validate.json"
	else
		fail validate-compares-with-baseline "$(tail -n 5 "$TMP/err")"
	fi
	# EC2 throttled the stock run (its bw_out allowance counter moved): a
	# custom run below the ratio is inconclusive, not "slower", and passes.
	cp "$TMP/state/baseline.json" "$TMP/baseline.real"
	jq '.counters.bw_out_allowance_exceeded = 3 | .measuredAt -= 600' "$TMP/baseline.real" >"$TMP/state/baseline.json"
	if out=$(host_run validate.sh "${measure_env[@]}" ENA_LAB_MIN_RATIO=50 2>"$TMP/err") &&
		jq -e '.verdict == "inconclusive (allowance exceeded: stock bw_out_allowance_exceeded)" and .stockAgeMinutes >= 10
			and .allowanceExceeded == ["stock bw_out_allowance_exceeded"]' <<<"$out" >/dev/null &&
		grep -q "EC2 throttled the ENI" "$TMP/err"; then
		pass validate-throttled-run-is-inconclusive
	else
		fail validate-throttled-run-is-inconclusive "$out $(tail -n 2 "$TMP/err")"
	fi
	# A stock run far above: single tx, and it alone, fails the step, named
	# with its interval.
	jq '.runs |= map(.singleTx = 10000)' "$TMP/baseline.real" >"$TMP/state/baseline.json"
	expect_failure validate-fails-below-min-ratio \
		"custom is slower than the minimum ratio 0.1 allows: single tx 0\\.[0-9]+ \\[0\\.[0-9]+, 0\\.[0-9]+\\][[:space:]]*$" \
		host_run validate.sh "${measure_env[@]}" ENA_LAB_MIN_RATIO=0.1
	# A stock run far below on every figure: custom is faster on each.
	jq '.runs |= map(.singleTx = 0.001 | .singleRx = 0.001 | .multiTx = 0.001 | .multiRx = 0.001
		| .latP50 = 1e6 | .latP90 = 1e6 | .latP99 = 1e6 | .latP999 = 1e6)' "$TMP/baseline.real" >"$TMP/state/baseline.json"
	if out=$(host_run validate.sh "${measure_env[@]}" ENA_LAB_MEASURE=latency,throughput 2>"$TMP/err") &&
		jq -e '.verdict == "faster: single tx, single rx, multi tx, multi rx, latency p50, latency p90, latency p99, latency p99.9"
			and all(.comparison[]; .lo > 1)' <<<"$out" >/dev/null; then
		pass validate-says-faster
	else
		fail validate-says-faster "$(jq -c '{verdict, comparison}' <<<"$out" 2>/dev/null) $(tail -n 2 "$TMP/err")"
	fi
	# Latency alone: no iperf3 run, the counters still prove the path.
	cp "$TMP/baseline.real" "$TMP/state/baseline.json"
	if out=$(host_run validate.sh "${measure_env[@]}" ENA_LAB_MEASURE=latency ENA_LAB_MIN_RATIO=0 2>"$TMP/err") &&
		jq -e '(.comparison | keys) == ["latP50", "latP90", "latP99", "latP999"] and .ratio == null and .custom.single == null
			and .custom.latency.p50Us > 0' <<<"$out" >/dev/null && ! grep -q 'iperf3' "$TMP/err"; then
		pass validate-latency-only
	else
		fail validate-latency-only "$(jq -c '{verdict, comparison, custom}' <<<"$out" 2>/dev/null) $(tail -n 2 "$TMP/err")"
	fi
	jq '.runs |= map(del(.latP50, .latP90, .latP99, .latP999)) | .measure = "throughput"' "$TMP/baseline.real" >"$TMP/state/baseline.json"
	expect_failure validate-needs-the-figures-in-the-baseline \
		"lacks latP50, latP90, latP99, latP999: it measured 'throughput', this step 'latency'" \
		host_run validate.sh "${measure_env[@]}" ENA_LAB_MEASURE=latency
	jq 'del(.runs)' "$TMP/baseline.real" >"$TMP/state/baseline.json"
	expect_failure validate-refuses-an-old-baseline "has no runs \\(made by an older lab\\)" host_run validate.sh "${measure_env[@]}"
	cp "$TMP/baseline.real" "$TMP/state/baseline.json"
	expect_failure validate-refuses-a-bad-measure "input ENA_LAB_MEASURE='bandwidth' is not throughput, latency or throughput,latency" \
		host_run validate.sh "${measure_env[@]}" ENA_LAB_MEASURE=bandwidth
	expect_failure validate-refuses-zero-runs "input ENA_LAB_RUNS='0' is not a whole number from 1 to 20" \
		host_run validate.sh "${measure_env[@]}" ENA_LAB_RUNS=0
	expect_failure validate-refuses-one-port-for-both "input ENA_LAB_LATENCY_PORT='5201' is the iperf3 port too" \
		host_run validate.sh "${measure_env[@]}" ENA_LAB_LATENCY_PORT=5201
	expect_failure validate-checks-the-driver "is on driver 'veth', expected 'ena_custom'" \
		host_run validate.sh "${measure_env[@]}" ENA_LAB_EXPECT_DRIVER=ena_custom
	expect_failure validate-needs-a-baseline "no baseline at" \
		host_run validate.sh "${measure_env[@]}" ENA_LAB_BASELINE="$TMP/none.json"
	expect_failure validate-refuses-a-relative-log-dir "input ENA_LAB_LOG_DIR='rel/log' is not an absolute path" \
		host_run validate.sh "${measure_env[@]}" ENA_LAB_LOG_DIR=rel/log
	expect_failure validate-refuses-a-bad-version "input ENA_LAB_EXPECT_VERSION='2.15 ; x' is not a module version" \
		host_run validate.sh "${measure_env[@]}" ENA_LAB_EXPECT_VERSION="2.15 ; x"
}

test_broken_paths() {
	ip -n "$HOSTNS" route add blackhole "$NET.2/32"
	expect_failure validate-fails-when-packets-are-dropped "no ping reply from $NET.1 through eni0 \\($ENI_MAC\\)" \
		host_run validate.sh "${measure_env[@]}"
	ip -n "$HOSTNS" route del blackhole "$NET.2/32"
	ip -n "$HOSTNS" link set prim0 down
	expect_failure validate-fails-when-the-link-is-down "no ping reply from $NET.1" \
		host_run validate.sh "${measure_env[@]}"
	ip -n "$HOSTNS" link set prim0 up
}

test_teardown() {
	local out
	out=$(host_run netns.sh "${netns_env[@]}" -- down 2>/dev/null) || true
	if ip -n "$HOSTNS" link show eni0 >/dev/null 2>&1 && [[ ! -e /run/netns/$LABNS ]] && [[ ! -e $TMP/systemd/ena-lab-netns.service ]]; then
		pass netns-down-restores-and-removes
	else
		fail netns-down-restores-and-removes "$out"
	fi
}

main() {
	"$HERE/../../tools/apt-install.sh" iproute2 iperf3 sockperf jq iputils-ping ethtool systemd
	setup
	test_baseline
	test_netns
	test_measure
	test_broken_paths
	test_teardown
	if [[ -f $TMP/validate.json ]]; then
		echo "validate over veth (3 runs of 1 s): $(jq -c '{custom, verdict}' "$TMP/validate.json")"
	fi
	summary validate
}

main "$@"
