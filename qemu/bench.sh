#!/usr/bin/env bash
# The device edit loop, measured in one run: QEMU with the ENA device built
# cold (fresh cache), then again with nothing changed, after an edit of the
# C device, and after a change of the Rust model (rebuild + relink).
#   qemu/bench.sh [--no-cold]   --no-cold: reuse .cache/qemu, skip the cold build
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$HERE/.." && pwd)
COLD=1
[[ ${1:-} == --no-cold ]] && COLD=0
[[ -z ${1:-} || ${1:-} == --no-cold ]] || { echo "usage: qemu/bench.sh [--no-cold]" >&2; exit 2; }

# A scratch copy of the project's qemu/ beside the real rust/ and tools/:
# the C edit goes to the copy; the model change only touches a source's
# mtime, so cargo rebuilds the same library.
SCRATCH=$(mktemp -d "$TOP/.cache/qemu-bench.XXXXXX")
trap 'rm -rf "$SCRATCH"' EXIT
cp -r "$HERE" "$SCRATCH/qemu"
ln -s "$TOP/rust" "$SCRATCH/rust"
ln -s "$TOP/tools" "$SCRATCH/tools"
if ((COLD)); then CACHE=$SCRATCH/cache; else CACHE=$TOP/.cache/qemu; fi

run() {
	local s e
	s=$(date +%s.%N)
	QEMU_CACHE=$CACHE "$SCRATCH/qemu/build.sh" >/dev/null 2>"$SCRATCH/last.err" || { cat "$SCRATCH/last.err" >&2; exit 1; }
	e=$(date +%s.%N)
	awk -v s="$s" -v e="$e" 'BEGIN { printf "%.1f", e - s }'
}

cold=-
if ((COLD)); then cold=$(run); else run >/dev/null; fi
warm=$(run)
grep -q "up to date" "$SCRATCH/last.err" || { echo "the no-change run rebuilt" >&2; exit 1; }
echo "/* bench edit */" >>"$SCRATCH/qemu/device/ena_pci.c"
cedit=$(run)
grep -q "built in" "$SCRATCH/last.err" || { echo "the C edit did not rebuild" >&2; exit 1; }
# A model change: the library rebuilt by cargo, the binary relinked.
touch "$TOP/rust/ena-model/src/device.rs"
rm -f "$CACHE"/build/*/build/qemu-system-x86_64
medit=$(run)
# Leave the shared tree as the project's own qemu/ has it.
if ((!COLD)); then QEMU_CACHE=$CACHE "$HERE/build.sh" >/dev/null 2>&1; fi

printf 'qemu-system-x86_64 with the ENA device, %s CPU(s)\n' "$(nproc)"
printf '  %-36s %8ss\n' "cold (source, configure, compile)" "$cold" "no change (up to date)" "$warm" \
	"device C file edited" "$cedit" "model changed (cargo + relink)" "$medit"
if ((COLD)); then awk -v c="$cold" -v e="$cedit" 'BEGIN { printf "  a device edit rebuilds %.0fx faster than cold\n", c / e }'; fi
