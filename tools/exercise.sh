#!/usr/bin/env bash
# make exercise N=1 [PATCH=my.patch]: build ena_custom with the series and
# a learner's patch, run it on an emulated ENI in a VM, and say what the
# exercise's check and the device's trace show. Without PATCH, the
# exercise's reference solution. The bug hunt (4) always applies the
# broken patch first; PATCH is the learner's fix on top of it.
#
#   tools/exercise.sh N [PATCH]
#   tools/exercise.sh --all     every reference solution passes, and the bug
#                               hunt's broken patch alone is caught (the suite)
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$HERE/.." && pwd)
FIXTURES=${ENA_LAB_FIXTURES:-$TOP/../shared/fixtures}
EX=$TOP/exercises
CACHE=$TOP/.cache/exercises
WORK=""

say() { echo "[exercise] $*" >&2; }
die() { echo "[exercise] error: $*" >&2; exit 1; }

# exercise_dir N: the exercise's folder (exercises/N-name).
exercise_dir() {
	local d
	[[ $1 =~ ^[1-9]$ ]] || die "exercise '$1' is not a number (1 to 4; see exercises/README.md)"
	for d in "$EX/$1"-*/; do
		[[ -d $d ]] && { echo "${d%/}"; return; }
	done
	die "there is no exercise $1 (see exercises/README.md)"
}

# build NAME PATCH...: ena_custom with kmod's series and PATCH... on top;
# prints the module's path.
build() {
	local name=$1 series=$WORK/$1/patches p i=100 out
	shift
	mkdir -p "$series"
	cp "$TOP"/kmod/patches/*.patch "$series/"
	grep -v '^#' "$TOP/kmod/patches/series" >"$series/series"
	for p in "$@"; do
		[[ -f $p ]] || die "patch '$p' does not exist"
		cp "$p" "$series/0$i-$(basename "$p")"
		echo "0$i-$(basename "$p")" >>"$series/series"
		i=$((i + 1))
	done
	say "building ena_custom 2.15.0 with the series and $(printf '%s ' "${@##*/}")"
	if ! out=$("$TOP/kmod/build.sh" --version 2.15.0 \
		--source "tarball:$FIXTURES/amzn-drivers-ena_linux_2.15.0.tar.gz" \
		--kernel-build "$("$TOP/tools/debian-kernel.sh" headers 6.1)" \
		--work "$CACHE/work-$name" --install "$CACHE/modules-$name" --patches "$series" 2>"$WORK/$name.build"); then
		grep -E 'error|does not apply|rej' "$WORK/$name.build" | head -n 12 >&2 || tail -n 12 "$WORK/$name.build" >&2
		die "the build failed: a patch must apply on top of kmod/patches (git am them on a clone of amzn-drivers at ena_linux_2.15.0, change, git format-patch) and compile against Linux 6.1"
	fi
	jq -r .modulePath <<<"$out"
}

# run NAME DIR KO: the exercise's VM; prints its check lines and what the
# device's trace shows. Returns the VM's verdict.
run() {
	local name=$1 dir=$2 ko=$3 rc=0
	# shellcheck source=../qemu/test/two-enis.sh
	. "$TOP/qemu/test/two-enis.sh"
	two_enis "$QEMU" "$WORK" "" ",trace=$WORK/$name.trace"
	say "running $(basename "$dir") in a VM: your ena_custom on ENI B"
	"$TOP/vmtest/run.sh" --script "$EX/vm-exercise.sh" "${vm[@]}" --bin ping --timeout 180 \
		--file "$ko:/opt/ena-lab/ena_custom.ko" --file "$dir/check.sh:/opt/ena-lab/exercise/check.sh" \
		--log "$CACHE/$name.console.log" >"$WORK/$name.out" 2>&1 || rc=$?
	sed -n 's/^\[vm\] VMTEST-\(PASS\|FAIL\|INFO\) /  \1 /p' "$WORK/$name.out"
	echo
	"$dir/trace.sh" "$WORK/$name.trace" | sed 's/^/  /'
	if ((rc == 0)); then
		echo "== $(basename "$dir"): passed"
	else
		echo "== $(basename "$dir"): not yet (the lines marked FAIL say why; console: $CACHE/$name.console.log)"
	fi
	return $rc
}

# one N [PATCH]: an exercise, with the learner's patch or the solution.
one() {
	local dir patches=() name ko
	dir=$(exercise_dir "$1")
	name=$(basename "$dir")
	[[ $dir == */4-* ]] && patches+=("$dir/broken.patch")
	patches+=("${2:-$dir/solution.patch}")
	ko=$(build "$name" "${patches[@]}") || exit 1
	run "$name" "$dir" "$ko"
}

# all: the reference solutions pass, the broken patch alone is caught.
all() {
	local n rc=0 dir ko
	for n in 1 2 3 4; do
		one "$n" || rc=1
	done
	dir=$(exercise_dir 4)
	ko=$(build broken "$dir/broken.patch") || exit 1
	if run broken "$dir" "$ko" >"$WORK/broken.report"; then
		echo "FAIL the bug hunt's broken patch passed its check"
		rc=1
	elif grep -q 'FAIL drivers-keep-the-protocol: .*rx-desc-flags' "$WORK/broken.report"; then
		echo "PASS the bug hunt's broken patch is caught: $(grep -o 'rx-desc-flags [^;]*' "$WORK/broken.report" | head -n 1)"
	else
		echo "FAIL the broken patch failed for another reason:"
		cat "$WORK/broken.report"
		rc=1
	fi
	return $rc
}

main() {
	[[ $# -ge 1 ]] || die "usage: tools/exercise.sh N [PATCH] | --all"
	"$TOP/tools/apt-install.sh" gcc iproute2 ethtool iperf3 jq iputils-ping linux-headers-amd64 kmod make libelf-dev >/dev/null
	mkdir -p "$CACHE"
	WORK=$(mktemp -d /tmp/ena-exercise.XXXXXX)
	trap 'rm -rf "$WORK"' EXIT
	QEMU=$("$TOP/qemu/build.sh")
	if [[ $1 == --all ]]; then
		all
	else
		[[ -z ${2:-} || -f $2 ]] || die "PATCH '$2' does not exist"
		one "$1" "${2:+$(cd "$(dirname "$2")" && pwd)/$(basename "$2")}"
	fi
}

main "$@"
