#!/usr/bin/env bash
# The Debian kernels the tests build for and boot, by series: 6.1 is
# bookworm's (the machine's linux-headers-amd64), 6.12 bookworm-backports'
# (built with the same gcc-12), reached through a private apt configuration
# that never touches the machine's sources.
#
#   debian-kernel.sh [release] [6.1|6.12]   the release, e.g. 6.1.0-57-amd64
#   debian-kernel.sh headers [6.1|6.12]     a kernel build tree for it (the
#                                           6.12 headers are unpacked into the
#                                           cache, never installed)
#   debian-kernel.sh download DIR PKG...    apt-get download, from the machine's
#                                           sources or else bookworm-backports
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${ENA_LAB_KERNEL_CACHE:-$(cd "$HERE/.." && pwd)/.cache/kernels}

die() { echo "[debian-kernel] error: $*" >&2; exit 1; }

# bpo_apt: apt options for a bookworm-backports list of our own.
bpo_apt() {
	local dir=$CACHE/apt
	mkdir -p "$dir/lists/partial"
	echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm-backports main" >"$dir/sources.list"
	BPO=(-o "Dir::Etc::sourcelist=$dir/sources.list" -o Dir::Etc::sourceparts=/dev/null -o "Dir::State::Lists=$dir/lists"
		-o Debug::NoLocking=1 -o APT::Sandbox::User=root)
	# Refreshed once a day at most: the backports move on.
	if [[ -z $(find "$dir/lists" -maxdepth 1 -name '*Packages*' -mtime -1 2>/dev/null) ]]; then
		apt-get -q "${BPO[@]}" update >/dev/null 2>&1 || die "apt-get update of bookworm-backports failed (is deb.debian.org reachable?)"
	fi
}

# release SERIES
release() {
	local series=${1:-6.1} kver deps
	case $series in
	6.1) deps=$(dpkg-query -W -f='${Depends}' linux-headers-amd64 2>/dev/null) || die "linux-headers-amd64 is not installed" ;;
	6.12)
		bpo_apt
		deps=$(apt-cache "${BPO[@]}" show linux-headers-amd64 2>/dev/null | sed -n 's/^Depends: //p' | grep 'linux-headers-6\.12' | head -n 1) ;;
	*) die "kernel series '$series' is neither 6.1 nor 6.12" ;;
	esac
	kver=$(grep -o 'linux-headers-[0-9][^ ,]*-amd64' <<<"$deps" | head -n 1) || true
	kver=${kver#linux-headers-}
	[[ $kver == "$series".* && $kver =~ ^[0-9]+\.[0-9]+\.[0-9]+[-+][0-9a-z.+]*-amd64$ ]] ||
		die "cannot tell the Debian $series kernel release (got '$kver')"
	echo "$kver"
}

# download DIR PKG...
download() {
	local dir=$1
	shift
	mkdir -p "$dir"
	(cd "$dir" && apt-get download "$@" >/dev/null 2>&1) && return 0
	bpo_apt
	(cd "$dir" && apt-get -q "${BPO[@]}" download "$@" >/dev/null 2>&1) || die "apt-get download $* failed"
}

# headers SERIES: the build tree. The 6.12 packages are unpacked whole into
# the cache, their absolute include rewritten to where they are.
headers() {
	local series=${1:-6.1} kver root tmp d
	kver=$(release "$series")
	if [[ $series == 6.1 ]]; then
		"$HERE/apt-install.sh" linux-headers-amd64 >&2
		echo "/usr/src/linux-headers-$kver"
		return
	fi
	root=$CACHE/$kver/root
	if [[ ! -f $CACHE/$kver/.headers ]]; then
		mkdir -p "$CACHE/$kver"
		exec {lock}>"$CACHE/$kver/.lock"
		flock "$lock"
		if [[ ! -f $CACHE/$kver/.headers ]]; then
			echo "[debian-kernel] fetching the headers of $kver (bookworm-backports)" >&2
			tmp=$(mktemp -d "$CACHE/$kver/.fetch.XXXXXX")
			download "$tmp/deb" "linux-headers-$kver" "linux-headers-${kver%-amd64}-common" "linux-kbuild-${kver%-amd64}"
			for d in "$tmp"/deb/*.deb; do dpkg-deb -x "$d" "$root"; done
			rm -rf "$tmp"
			sed -i "s|^include /usr/src/|include $root/usr/src/|" "$root/usr/src/linux-headers-$kver/Makefile"
			touch "$CACHE/$kver/.headers"
		fi
	fi
	echo "$root/usr/src/linux-headers-$kver"
}

case ${1:-release} in
release) release "${2:-6.1}" ;;
headers) headers "${2:-6.1}" ;;
download) shift; download "$@" ;;
6.1 | 6.12) release "$1" ;;
*) die "usage: debian-kernel.sh [release|headers] [6.1|6.12] | download DIR PKG..." ;;
esac
