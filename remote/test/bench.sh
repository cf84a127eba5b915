#!/usr/bin/env bash
# Figures for the edit-a-patch → rebuild → rebind → revalidate loop, from
# parts measured here in one run: the kmod rebuild after a patch edit, bind
# and rollback in the 6.1 VM (TCG: slower than a real host), and validate
# with its default settings (3 runs of four 2 s iperf3 runs and a 1 s
# sockperf run) over a veth pair.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
SCRIPTS=$TOP/remote/scripts
NET=203.0.113
HOSTNS=elab-bh-$$ LABNS=elab-bl-$$
# shellcheck source=fake-host.sh
source "$HERE/fake-host.sh"

secs() { awk -v s="$1" -v e="$2" 'BEGIN { printf "%.1f", e - s }'; }

TMP=$(mktemp -d /tmp/remote-bench.XXXXXX)
cleanup() { fake_host_down; rm -rf "$TMP"; }
trap cleanup EXIT

rebuild=$("$TOP/kmod/bench.sh" | sed -n 's/^  one patch edited *\([0-9.]*\)s$/\1/p')

vm=$("$HERE/bind-test.sh" 2>&1 | tr -d '\r')
bind=$(sed -n 's/.*bind to pci-stub took \([0-9.]*\)s.*/\1/p' <<<"$vm" | head -n 1)
rollback=$(sed -n 's/.*bind + failed probe + rollback took \([0-9.]*\)s.*/\1/p' <<<"$vm" | head -n 1)

fake_host_up
run() {
	host_run "$1" ENA_LAB_MAC="$ENI_MAC" ENA_LAB_IP="$NET.2" ENA_LAB_PREFIX=24 ENA_LAB_GATEWAY="$NET.1" \
		ENA_LAB_SERVER_IP="$NET.1" ENA_LAB_STOCK_DRIVER=veth ENA_LAB_EXPECT_DRIVER=veth ENA_LAB_MTU=1500 "${@:2}"
}
run baseline.sh >/dev/null 2>&1
s=$(date +%s.%N)
run netns.sh >/dev/null 2>&1
e=$(date +%s.%N)
netns=$(secs "$s" "$e")
s=$(date +%s.%N)
# veth figures wander run to run: time the step, do not judge the ratio.
out=$(run validate.sh ENA_LAB_MIN_RATIO=0 2>"$TMP/validate.err") || { cat "$TMP/validate.err" >&2; exit 1; }
e=$(date +%s.%N)
validate=$(secs "$s" "$e")

echo "remote steps, measured on $(nproc) CPU(s):"
printf '  %-50s %6ss\n' "kmod rebuild after one patch edit" "$rebuild" \
	"bind to pci-stub + verify (6.1 VM, TCG)" "$bind" \
	"bind to ena_custom, failed probe, rollback (VM)" "$rollback" \
	"netns setup" "$netns" \
	"validate, default settings (3 x (4 x 2 s iperf3 + 1 s sockperf))" "$validate"
awk -v r="$rebuild" -v b="$bind" -v n="$netns" -v v="$validate" \
	'BEGIN { printf "  estimated edit -> rebuilt -> rebound -> revalidated on a host: %.0f s (plus SSH round trips)\n", r + b + n + v }'
echo "  validate over veth: $(jq -c '{single: .custom.single | {txGbps, rxGbps}, multi: .custom.multi | {txGbps, rxGbps}, latencyP50Us: .custom.latency.p50Us, verdict}' <<<"$out")"
