#!/usr/bin/env bash
# The lab's host path end to end on emulated ENIs, with the real scripts in
# the order the Pulumi program runs them: baseline on Debian's ena, bind
# B to our ena_custom (found by MAC, version verified), its namespace,
# validate (ping, then 3 runs of iperf3 both ways and sockperf latency;
# stock vs custom with intervals; then interleaved, thorough mode), then
# unbind.
# shellcheck disable=SC2015 # "check && pass || fail": pass only echoes.
# shellcheck source=guest-lib.sh
. /opt/ena-lab/guest-lib.sh
S=/opt/ena-lab/scripts
WANT=$(cat /opt/ena-lab/version)
GW=198.51.100.1

# step SCRIPT [VAR=VALUE...] [-- ARG...]: one host step as remote.Command runs it.
step() {
	local script=$1 vars=()
	shift
	while (($#)) && [[ $1 != -- ]]; do vars+=("$1"); shift; done
	[[ ${1:-} == -- ]] && shift
	env ENA_LAB_STATE_DIR=/tmp/state ENA_LAB_LOG_DIR=/tmp/log ENA_LAB_SYSTEMD_DIR=/tmp/systemd \
		ENA_LAB_MAC=$MAC_B ENA_LAB_PRIMARY_MAC=$MAC_A ENA_LAB_IP=$IP_B ENA_LAB_PREFIX=24 ENA_LAB_GATEWAY=$GW ENA_LAB_SERVER_IP=$IP_A \
		ENA_LAB_RUNS=3 ENA_LAB_DURATION=1 ENA_LAB_LATENCY_SECONDS=1 ENA_LAB_STREAMS=16 ENA_LAB_TIMEOUT=30 "${vars[@]}" \
		bash "$S/$script" "$@" >"/tmp/$script.out" 2>"/tmp/$script.err"
}
explain() { tr '\n' ' ' <"/tmp/$1.err" | tail -c 600; }

# Chart.js, as the prereqs step leaves it (the guest's /tmp is a new tmpfs).
mkdir -p /tmp/state/vendor && cp /opt/ena-lab/vendor/* /tmp/state/vendor/
modprobe ena
check both-enis-on-stock-ena wait_for 10 both_present
A=$(nic $MAC_A) BDF_B=$(bdf_of_mac $MAC_B)
ip addr add "$IP_A/24" dev "$A"
# A VPC carries jumbo frames and net-utils gives every ENI MTU 9001 (the
# lab namespace's ENI gets it from netns.sh): validate runs at 9001.
ip link set "$A" mtu 9001 up
check primary-carrier wait_for 10 carrier_on "$A"
prepare_netns
# Amazon Linux 2023's amazon-ec2-net-utils: every ENI on ena has an address
# and a default route, metric 512 + device number (A is 0, B is 1).
ip route add default via $GW dev "$A" metric 512 onlink
al2023_secondary() {
	local b
	b=$(nic $MAC_B) && [ -n "$b" ] || return 0
	ip link set "$b" up
	ip addr replace "$IP_B/24" dev "$b"
	ip route replace default via $GW dev "$b" metric 513 onlink
}
al2023_secondary
# B up on stock ena (its IO queues exist from ena_up on): the Tx path the
# device sees it take, and ena_custom's parameters.
ip link set "$(nic $MAC_B)" up
check secondary-carrier-on-stock wait_for 10 carrier_on "$(nic $MAC_B)"
STOCK_PLACEMENT=$(placement "$BDF_B")
PARAMS=$(cat /opt/ena-lab/custom-params 2>/dev/null || true)
info "stock ena on B: $STOCK_PLACEMENT; ena_custom parameters: ${PARAMS:-none}"

if step baseline.sh && jq -e '.driver == "ena" and .figures.single.txGbps > 0 and .figures.multi.rxGbps > 0' /tmp/baseline.sh.out >/dev/null; then
	pass baseline-on-stock-ena
	info "baseline: $(jq -c .figures /tmp/baseline.sh.out)"
else
	fail baseline-on-stock-ena "$(explain baseline.sh)"
fi
[ "$(driver_of_bdf "$BDF_B")" = ena ] && has_nic $MAC_B && pass baseline-puts-the-eni-back || fail baseline-puts-the-eni-back "driver $(driver_of_bdf "$BDF_B")"

al2023_secondary
if step bind.sh ENA_LAB_MODULE=/opt/ena-lab/ena_custom.ko ENA_LAB_EXPECT_VERSION="$WANT" ENA_LAB_PARAMS="$PARAMS" &&
	jq -e --arg v "$WANT" '.driver == "ena_custom" and .version == $v and .previousDriver == "ena"' /tmp/bind.sh.out >/dev/null; then
	pass bind-moves-eni-to-ena_custom
else
	fail bind-moves-eni-to-ena_custom "$(explain bind.sh) $(cat /tmp/bind.sh.out)"
fi
[ "$(driver_of_bdf "$(bdf_of_mac $MAC_A)")" = ena ] && pass primary-stays-on-stock-ena || fail primary-stays-on-stock-ena "A moved"

if step netns.sh; then pass netns-configured; else fail netns-configured "$(explain netns.sh)"; fi
check custom-carrier wait_for 10 carrier_on_ns "$(nic $MAC_B ena-lab)" ena-lab
CUSTOM_PLACEMENT=$(placement "$BDF_B")
info "ena_custom on B: $CUSTOM_PLACEMENT"
case "$PARAMS:$CUSTOM_PLACEMENT" in
*force_large_llq_header=0*:llq-128 | *force_large_llq_header=1*:llq-256) pass custom-placement-follows-force_large_llq_header ;;
*force_large_llq_header*) fail custom-placement-follows-force_large_llq_header "$PARAMS gave $CUSTOM_PLACEMENT" ;;
*:llq-256) pass custom-takes-the-recommended-large-llq ;;
*) fail custom-takes-the-recommended-large-llq "device recommends 256-byte entries, driver took $CUSTOM_PLACEMENT" ;;
esac

if step validate.sh ENA_LAB_EXPECT_VERSION="$WANT" ENA_LAB_MIN_RATIO=0.1; then
	pass validate-passes
else
	fail validate-passes "$(explain validate.sh)"
fi
V=/tmp/validate.sh.out I=/tmp/interleave.sh.out
info "validate: $(jq -c '{custom, stock, ratio}' $V 2>/dev/null)"
jq -e '.driver == "ena_custom" and .stockDriver == "ena"' $V >/dev/null && pass json-names-both-drivers || fail json-names-both-drivers "$(head -c 300 $V)"
jq -e '[.custom.single.txGbps, .custom.single.rxGbps, .custom.multi.txGbps, .custom.multi.rxGbps] | all(. > 0)' $V >/dev/null &&
	pass custom-traffic-both-ways || fail custom-traffic-both-ways "$(jq -c .custom $V)"
jq -e '.counters.tx_packets > 1000 and .counters.rx_packets > 1000' $V >/dev/null && pass counters-moved || fail counters-moved "$(jq -c .counters $V)"
# Round-trip latency of both drivers, from sockperf's full logs, and per
# figure an interval that holds the ratio of the medians.
jq -e '[.custom.latency, .stock.latency][] | .p50Us > 0 and .p50Us <= .p99Us and .p99Us <= .p999Us and .samplesPerRun >= 100' $V >/dev/null &&
	pass latency-of-both-drivers || fail latency-of-both-drivers "$(jq -c '{c: .custom.latency, s: .stock.latency}' $V)"
jq -e '(.comparison | length) == 8 and all(.comparison[]; .lo <= .speed and .speed <= .hi) and (.runs | length) == 3' $V >/dev/null &&
	pass intervals-per-figure || fail intervals-per-figure "$(jq -c .comparison $V)"
jq -e '.counters | has("bw_in_allowance_exceeded")' $V >/dev/null && pass eni-allowance-counters || fail eni-allowance-counters "$(jq -c .counters $V)"
# What ena_custom asks of the device beyond stock 6.1: customer metrics
# (ethtool -S), the keep-alive's drop counters, an Rx offset.
B_LAB=$(nic $MAC_B ena-lab)
ip netns exec ena-lab ethtool -S "$B_LAB" >/tmp/custom-stats 2>&1
grep -qE '^ +conntrack_allowance_available: 300000$' /tmp/custom-stats && pass customer-metrics-in-ethtool ||
	fail customer-metrics-in-ethtool "$(grep -E 'allowance' /tmp/custom-stats | tr -s ' \n' ' ')"
off=$(enaport "$BDF_B" read rx-offset) want_off=$(cat /opt/ena-lab/rx-offset 2>/dev/null || echo 0)
[ "$off" = "$want_off" ] && pass custom-takes-the-rx-offset || fail custom-takes-the-rx-offset "device applies $off, configured $want_off"
good=$(awk '$1 ~ /^queue_[0-9]+_rx_csum_good:$/ { n += $2 } END { print n + 0 }' /tmp/custom-stats)
[ "$good" -gt 100 ] && pass custom-rx-checksums-checked-by-device || fail custom-rx-checksums-checked-by-device "csum_good $good"
# The record and its report page, kept beside the earlier ones.
jq -e '.report | endswith(".html")' $V >/dev/null && [ -s "$(jq -r .report $V)" ] && grep -q 'id="chart-cdf"' "$(jq -r .report $V)" &&
	pass report-page-written || fail report-page-written "$(jq -c '{record, report}' $V) $(tail -n 3 /tmp/log/validate.log)"
# Patch 0004's debugfs file, read by the validate step from a live device.
jq -e '.rings | type == "array" and length > 0' $V >/dev/null && pass debugfs-rings-read || fail debugfs-rings-read "$(jq -c .rings $V)"
info "rings: $(jq -c '.rings[:4]' $V)"

# Like with like: rings, channels and Tx placement of both runs, from the
# real drivers, recorded as the device saw them; alike, or the verdict
# names what differs (the Tx ring and LLQ mode when ena_custom took large
# entries and stock ena did not).
mode_of() { case $1 in host) echo host-placement ;; llq-256) echo llq-large ;; *) echo llq ;; esac; }
jq -e --arg s "$(mode_of "$STOCK_PLACEMENT")" --arg c "$(mode_of "$CUSTOM_PLACEMENT")" \
	'(.setup.stock.llq == $s and .setup.custom.llq == $c) and
	 ([.setup.stock, .setup.custom][] | (.rxRing > 0 and .txRing > 0 and .channels > 0))' $V >/dev/null &&
	pass setup-records-the-placement || fail setup-records-the-placement "$(jq -c .setup $V)"
if [ "$STOCK_PLACEMENT" = "$CUSTOM_PLACEMENT" ]; then
	jq -e '.setup.mismatches == [] and (.verdict | test("^(no difference|slower: |faster: )") and (contains("setup differs") | not))' $V >/dev/null &&
		pass setup-alike-verdict-from-intervals || fail setup-alike-verdict-from-intervals "$(jq -c '{setup, verdict}' $V)"
else
	jq -e '.verdict | test("setup differs: .*LLQ ")' $V >/dev/null &&
		pass verdict-names-the-llq-difference || fail verdict-names-the-llq-difference "$(jq -c '{setup, verdict}' $V)"
fi
info "setup: $(jq -c .setup.custom $V), verdict: $(jq -r .verdict $V)"
# A stock run on another ring size: the verdict names the difference.
cp /tmp/state/baseline.json /tmp/baseline.real
jq '.setup.rxRing = 4096' /tmp/baseline.real >/tmp/state/baseline.json
if step validate.sh ENA_LAB_EXPECT_VERSION="$WANT" ENA_LAB_MIN_RATIO=0 ENA_LAB_DURATION=1 &&
	jq -e '.verdict | test("setup differs: rx ring 4096 \\(stock\\) vs [0-9]+ \\(custom\\)")' $V >/dev/null; then
	pass verdict-names-a-setup-mismatch
else
	fail verdict-names-a-setup-mismatch "$(jq -c '{verdict}' $V 2>/dev/null) $(explain validate.sh)"
fi
cp /tmp/baseline.real /tmp/state/baseline.json

if step validate.sh ENA_LAB_EXPECT_VERSION=9.9.9g-custom.00000000; then
	fail validate-refuses-wrong-version "validate accepted a version the NIC does not run"
else
	grep -q "expected 9.9.9g-custom.00000000" /tmp/validate.sh.err && pass validate-refuses-wrong-version || fail validate-refuses-wrong-version "$(explain validate.sh)"
fi

# Thorough mode: stock and custom take turns on B, rebound between them;
# the ENI ends on ena_custom in the namespace, on failure too.
on_custom_in_lab() { [ "$(driver_of_bdf "$BDF_B")" = ena_custom ] && [ -n "$(nic $MAC_B ena-lab)" ]; }
# Latency alone keeps the six turns short; one lab VM (the file says which) runs it.
thorough_checks() {
	local t0=$SECONDS
	if step interleave.sh ENA_LAB_MODULE=/opt/ena-lab/ena_custom.ko ENA_LAB_EXPECT_VERSION="$WANT" ENA_LAB_PARAMS="$PARAMS" ENA_LAB_MIN_RATIO=0 ENA_LAB_MEASURE=latency &&
		jq -e '.interleaved == true and (.runs | length) == 3 and (.stockRuns | length) == 3 and (.comparison | length) == 4
			and .driver == "ena_custom" and .stockDriver == "ena" and .stock.latency.p50Us > 0' $I >/dev/null; then
		pass interleave-takes-turns
	else
		fail interleave-takes-turns "$(explain interleave.sh) $(jq -c '{interleaved, verdict}' $I 2>/dev/null)"
	fi
	info "interleave: $((SECONDS - t0)) s, verdict: $(jq -r .verdict $I 2>/dev/null)"
	[ "$(grep -c 'turn [1-3] of 3: ' /tmp/interleave.sh.err)" = 6 ] && pass interleave-says-each-turn || fail interleave-says-each-turn "$(explain interleave.sh)"
	# Each turn's placement is its own driver's, not the previous probe's.
	jq -e --arg s "$(mode_of "$STOCK_PLACEMENT")" --arg c "$(mode_of "$CUSTOM_PLACEMENT")" '.setup.stock.llq == $s and .setup.custom.llq == $c' $I >/dev/null &&
		pass interleave-records-each-drivers-placement || fail interleave-records-each-drivers-placement "$(jq -c .setup $I)"
	on_custom_in_lab && pass interleave-ends-on-custom || fail interleave-ends-on-custom "driver $(driver_of_bdf "$BDF_B")"
	if step interleave.sh ENA_LAB_MODULE=/opt/ena-lab/ena_custom.ko ENA_LAB_EXPECT_VERSION="$WANT" ENA_LAB_PARAMS="$PARAMS" ENA_LAB_MEASURE=latency ENA_LAB_LATENCY_PORT=5201; then
		fail interleave-failure-restores-custom "a turn with clashing ports passed"
	else
		grep -q "ENA_LAB_LATENCY_PORT='5201' is the iperf3 port too" /tmp/interleave.sh.err && on_custom_in_lab &&
			pass interleave-failure-restores-custom || fail interleave-failure-restores-custom "driver $(driver_of_bdf "$BDF_B"): $(explain interleave.sh)"
	fi
}
if [ -e /opt/ena-lab/thorough ]; then thorough_checks; else info "thorough mode: checked in the other lab VM"; fi

if step netns.sh -- down && has_nic $MAC_B && ! ip netns list | grep -q ena-lab; then
	pass netns-down-returns-the-eni
else
	fail netns-down-returns-the-eni "$(explain netns.sh)"
fi
if step unbind.sh && [ "$(driver_of_bdf "$BDF_B")" = ena ] && wait_for 10 has_nic $MAC_B; then
	pass unbind-restores-stock-ena
else
	fail unbind-restores-stock-ena "driver $(driver_of_bdf "$BDF_B"): $(explain unbind.sh)"
fi
if dmesg | grep -E 'ena(_custom)? ' | grep -qiE 'reset|keep alive|missing|timeout'; then
	fail no-resets "$(ena_dmesg 5)"
else
	pass no-resets
fi
protocol_kept drivers-keep-the-protocol "$(bdf_of_mac $MAC_A)" "$BDF_B"
dmesg | grep -qE 'Oops|BUG:|Call Trace' && fail dmesg-clean "$(dmesg | grep -E 'Oops|BUG:|Call Trace' | head -n 2)" || pass dmesg-clean
