#!/usr/bin/env bash
# make tour: watch the real Linux ena driver (or ena_custom) from the
# device's side. One VM with two emulated ENIs: the driver probes A, brings
# it up, pings, sends a short burst, changes the MTU and the queue count,
# loses a keep-alive and recovers; the device traces all of it, and
# ena-trace tells the trace in chapters (what happened, why, where in the
# source), in the terminal and as one HTML page.
#
#   tools/tour.sh [--driver ena|ena_custom] [--out DIR]
#
# The page and the raw trace go to DIR (.cache/tour by default).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$HERE/.." && pwd)
FIXTURES=${ENA_LAB_FIXTURES:-$TOP/../shared/fixtures}
DRIVER=ena OUT=$TOP/.cache/tour WORK=

say() { echo "[tour] $*" >&2; }
die() { echo "[tour] error: $*" >&2; exit 1; }

parse_args() {
	while (($#)); do
		[[ $# -ge 2 ]] || die "option $1 needs a value"
		case $1 in
		--driver) DRIVER=$2 ;;
		--out) OUT=$2 ;;
		*) die "unknown option '$1' (use --driver ena|ena_custom, --out DIR)" ;;
		esac
		shift 2
	done
	[[ $DRIVER == ena || $DRIVER == ena_custom ]] || die "--driver '$DRIVER' is neither ena nor ena_custom"
}

# source_tree: the driver source the chapters point into (the 2.15.0
# fixture: what ena_custom is built from; Debian's ena is the same code
# as the kernel carries it).
source_tree() {
	local tree=$OUT/src/amzn-drivers-ena_linux_2.15.0/kernel/linux
	if [[ ! -d $tree ]]; then
		mkdir -p "$OUT/src"
		tar -xzf "$FIXTURES/amzn-drivers-ena_linux_2.15.0.tar.gz" -C "$OUT/src" \
			amzn-drivers-ena_linux_2.15.0/kernel/linux/ena amzn-drivers-ena_linux_2.15.0/kernel/linux/common ||
			die "cannot unpack the 2.15.0 fixture from $FIXTURES"
	fi
	echo "$tree"
}

main() {
	parse_args "$@"
	mkdir -p "$OUT"
	"$TOP/tools/apt-install.sh" gcc iproute2 ethtool iperf3 jq iputils-ping >/dev/null
	local qemu work tree extra=()
	qemu=$("$TOP/qemu/build.sh")
	WORK=$(mktemp -d /tmp/ena-tour.XXXXXX)
	trap 'rm -rf "$WORK"' EXIT
	work=$WORK
	# shellcheck source=../qemu/test/two-enis.sh
	. "$TOP/qemu/test/two-enis.sh"
	two_enis "$qemu" "$work" ",trace=$OUT/trace.txt"
	echo "$DRIVER" >"$work/tour-driver"
	extra+=(--file "$work/tour-driver:/opt/ena-lab/tour-driver")
	if [[ $DRIVER == ena_custom ]]; then
		extra+=(--file "$(jq -r .modulePath <("$TOP/kmod/test/cached-module.sh")):/opt/ena-lab/ena_custom.ko")
	fi
	tree=$(source_tree)
	say "booting the VM: $DRIVER on ENI A, the device tracing"
	"$TOP/vmtest/run.sh" --script "$TOP/qemu/test/vm-tour.sh" "${vm[@]}" "${extra[@]}" \
		--bin ping --timeout 180 --log "$OUT/console.log" >&2 ||
		die "the tour's VM failed (console log: $OUT/console.log)"
	(cd "$TOP/rust" && cargo run --quiet --locked -p ena-trace -- tour "$OUT/trace.txt" \
		--html "$OUT/tour.html" --source "$tree")
}

main "$@"
