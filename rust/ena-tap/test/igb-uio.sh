#!/usr/bin/env bash
# igb_uio for the guest kernel, for DPDK's ENA PMD (the benchmark's peer):
# Debian ships its source in dpdk-kmods-dkms; Debian's kernels have no VFIO
# no-IOMMU mode, so igb_uio is how a PMD reaches the device there. The
# package is downloaded and unpacked, never installed (its dkms hook would
# build for the machine's kernel), and the module built against Debian's
# 6.1 headers into .cache/igb-uio. Prints the module's path.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$HERE/../../.." && pwd)
die() { echo "[igb-uio] error: $*" >&2; exit 1; }

"$TOP/tools/apt-install.sh" make gcc kmod linux-headers-amd64
KBUILD=$("$TOP/tools/debian-kernel.sh" headers 6.1)
KVER=$(basename "$KBUILD")
KVER=${KVER#linux-headers-}
CACHE=$TOP/.cache/igb-uio/$KVER
KO=$CACHE/igb_uio.ko
if [[ ! -f $KO ]]; then
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	"$TOP/tools/debian-kernel.sh" download "$tmp" dpdk-kmods-dkms
	dpkg-deb -x "$tmp"/dpdk-kmods-dkms_*.deb "$tmp/root" || die "cannot unpack dpdk-kmods-dkms"
	src=$(echo "$tmp"/root/usr/src/dpdk-kmods-*)
	[[ -f $src/igb_uio.c ]] || die "dpdk-kmods-dkms has no igb_uio.c (looked in $src)"
	echo "[igb-uio] building igb_uio for $KVER" >&2
	make -s -C "$KBUILD" M="$src" modules >"$tmp/build.log" 2>&1 ||
		die "igb_uio did not build against $KBUILD: $(tail -n 5 "$tmp/build.log")"
	modinfo -F vermagic "$src/igb_uio.ko" | grep -q "^$KVER " ||
		die "igb_uio.ko is for '$(modinfo -F vermagic "$src/igb_uio.ko")', not $KVER"
	mkdir -p "$CACHE"
	cp "$src/igb_uio.ko" "$KO.tmp" && mv "$KO.tmp" "$KO"
fi
echo "$KO"
