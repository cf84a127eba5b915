#!/usr/bin/env bash
# Figures for the edit-a-patch → rebuild → rebind → revalidate loop, from
# parts measured here in one run: the kmod rebuild after a patch edit, bind
# and rollback in the 6.1 VM (TCG: slower than a real host), and validate
# with its default settings (10 s runs, 4 streams) over a veth pair.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
SCRIPTS=$TOP/remote/scripts
NET=203.0.113
H=elab-bh-$$ L=elab-bl-$$ MAC=02:e1:ab:00:01:02

secs() { awk -v s="$1" -v e="$2" 'BEGIN { printf "%.1f", e - s }'; }

if ip -4 addr show | grep -q " $NET\."; then echo "refusing: $NET.0/24 in use here" >&2; exit 1; fi
TMP=$(mktemp -d /tmp/remote-bench.XXXXXX)
cleanup() { ip netns delete "$L" 2>/dev/null || true; ip netns delete "$H" 2>/dev/null || true; rm -rf "$TMP"; }
trap cleanup EXIT

rebuild=$("$TOP/kmod/bench.sh" | sed -n 's/^  one patch edited *\([0-9.]*\)s$/\1/p')

vm=$("$HERE/bind-test.sh" 2>&1 | tr -d '\r')
bind=$(sed -n 's/.*bind to pci-stub took \([0-9.]*\)s.*/\1/p' <<<"$vm" | head -n 1)
rollback=$(sed -n 's/.*bind + failed probe + rollback took \([0-9.]*\)s.*/\1/p' <<<"$vm" | head -n 1)

ip netns add "$H"
ip -n "$H" link set lo up
ip -n "$H" link add prim0 type veth peer name eni0
ip -n "$H" link set eni0 address "$MAC"
ip -n "$H" addr add "$NET.1/24" dev prim0
ip -n "$H" link set prim0 up
run() {
	nsenter --net="/run/netns/$H" env ENA_LAB_STATE_DIR="$TMP/state" ENA_LAB_LOG_DIR="$TMP/log" ENA_LAB_SYSTEMD_DIR="$TMP/sd" \
		ENA_LAB_NETNS="$L" ENA_LAB_MAC="$MAC" ENA_LAB_IP="$NET.2" ENA_LAB_PREFIX=24 ENA_LAB_GATEWAY="$NET.1" \
		ENA_LAB_SERVER_IP="$NET.1" ENA_LAB_STOCK_DRIVER=veth ENA_LAB_EXPECT_DRIVER=veth ENA_LAB_MTU=1500 "$@"
}
run bash "$SCRIPTS/baseline.sh" >/dev/null 2>&1
s=$(date +%s.%N)
run bash "$SCRIPTS/netns.sh" >/dev/null 2>&1
e=$(date +%s.%N)
netns=$(secs "$s" "$e")
s=$(date +%s.%N)
# veth figures wander run to run: time the step, do not judge the ratio.
out=$(run env ENA_LAB_MIN_RATIO=0 bash "$SCRIPTS/validate.sh" 2>"$TMP/validate.err") || { cat "$TMP/validate.err" >&2; exit 1; }
e=$(date +%s.%N)
validate=$(secs "$s" "$e")

echo "remote steps, measured on $(nproc) CPU(s):"
printf '  %-50s %6ss\n' "kmod rebuild after one patch edit" "$rebuild" \
	"bind to pci-stub + verify (6.1 VM, TCG)" "$bind" \
	"bind to ena_custom, failed probe, rollback (VM)" "$rollback" \
	"netns setup" "$netns" \
	"validate, default settings (4 x 10 s iperf3)" "$validate"
awk -v r="$rebuild" -v b="$bind" -v n="$netns" -v v="$validate" \
	'BEGIN { printf "  estimated edit -> rebuilt -> rebound -> revalidated on a host: %.0f s (plus SSH round trips)\n", r + b + n + v }'
echo "  validate over veth: $(jq -c '{single: .custom.single | {txGbps, rxGbps}, multi: .custom.multi | {txGbps, rxGbps}, ratio: .ratio.min}' <<<"$out")"
