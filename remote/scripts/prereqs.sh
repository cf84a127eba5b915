#!/usr/bin/env bash
# Install what the build and the validation need, only what is missing: the
# running kernel's headers, the compiler, git, iperf3, ethtool, jq, diffutils
# (cmp) and friends. Amazon Linux 2023 (rpm, dnf, kernel-devel) or Debian 12
# (dpkg, apt-get, linux-headers); the host must be the distribution asked for.
# Chart.js (the reports' charts) from the npm registry, its digest checked.
# sockperf (the latency runs) comes with Debian; on AL2023 from dnf when its
# repositories carry it, else built from its pinned release (3.10).
# input ENA_LAB_DISTRO optional(al2023)  al2023 or debian-12
# input ENA_LAB_RUST optional(0)  1: also the Rust compiler, for the rustDriver steps (build-tap.sh)
# input ENA_LAB_KERNEL_SERIES optional(6.1)  6.1 or 6.12: which headers package (AL2023 names 6.12's kernel6.12-devel)
# input ENA_LAB_OS_RELEASE optional(/etc/os-release)  what the host says it is (tests point it elsewhere)
# input ENA_LAB_MODULES_DIR optional(/lib/modules)  where kernel build trees are linked
# input ENA_LAB_CHARTJS_URL optional  where Chart.js comes from (default: the npm registry's tarball)
# input ENA_LAB_SOCKPERF_REPO optional(https://github.com/Mellanox/sockperf.git)  where AL2023 builds sockperf from
# input ENA_LAB_SOCKPERF_COMMIT optional(5ebd327da983225321818c0355db922515e026bd)  the commit built: sockperf's tag 3.10
# input ENA_LAB_SOCKPERF_PREFIX optional(/usr/local)  where a built sockperf is installed
set -euo pipefail
STEP=${STEP:-prereqs}
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# dwarves: pahole, which 6.12's kbuild runs for a module's BTF.
AL2023_PACKAGES=(gcc make git tar gzip kmod elfutils-libelf-devel iperf3 ethtool pciutils iproute iputils jq diffutils dwarves)
DEBIAN_PACKAGES=(gcc make git tar gzip kmod libelf-dev iperf3 sockperf ethtool pciutils iproute2 iputils-ping jq diffutils dwarves)
# rustc for ena-tap (rust/Cargo.toml's rust-version): AL2023's own; Debian
# 12's rustc (1.63) is too old, its rustc-web (a newer one, kept updated for
# Firefox) is not.
AL2023_RUST_PACKAGES=(rust)
DEBIAN_RUST_PACKAGES=(rustc-web)
# sockperf's release 3.10 (its tag's commit) and what building it takes.
SOCKPERF_COMMIT=${ENA_LAB_SOCKPERF_COMMIT:-5ebd327da983225321818c0355db922515e026bd}
SOCKPERF_BUILD_PACKAGES=(gcc-c++ autoconf automake libtool)
SOCKPERF_REPO=${ENA_LAB_SOCKPERF_REPO:-https://github.com/Mellanox/sockperf.git}
SOCKPERF_PREFIX=${ENA_LAB_SOCKPERF_PREFIX:-/usr/local}
DISTRO=${ENA_LAB_DISTRO:-al2023}
SERIES=${ENA_LAB_KERNEL_SERIES:-6.1}
OS_RELEASE=${ENA_LAB_OS_RELEASE:-/etc/os-release}
MODULES_DIR=${ENA_LAB_MODULES_DIR:-/lib/modules}
RUST=${ENA_LAB_RUST:-0}

# check_os: the host is the distribution the stack says, by os-release.
check_os() {
	local id version pretty want
	[[ -r $OS_RELEASE ]] || die "input ENA_LAB_OS_RELEASE='$OS_RELEASE' is not readable"
	id=$(sed -n 's/^ID="\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' "$OS_RELEASE")
	version=$(sed -n 's/^VERSION_ID="\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' "$OS_RELEASE")
	pretty=$(sed -n 's/^PRETTY_NAME="\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' "$OS_RELEASE")
	case $DISTRO in
	al2023) want="amzn 2023" ;;
	debian-12) want="debian 12" ;;
	*) die "input ENA_LAB_DISTRO='$DISTRO' is neither al2023 nor debian-12" ;;
	esac
	[[ "$id $version" == "$want" ]] ||
		die "this host is ${pretty:-$id $version}, but the stack's distro is $DISTRO: set distro to match the AMI"
}

# The distribution's package tools: is_installed PKG, install PKG..., and
# the header package of a kernel.
al2023_installed() { rpm -q "$1" >/dev/null 2>&1; }
al2023_install() {
	dnf -y -q install "$@" >>"$LOG" 2>&1 && return 0
	if [[ " $* " == *" $KDEV "* ]] && ! dnf -q list --showduplicates "$KDEV" >>"$LOG" 2>&1; then
		die "$KDEV is not available: the repositories no longer carry headers for the running kernel $KERNEL. Update the kernel (dnf upgrade kernel) and reboot, or use a newer AMI"
	fi
	die "dnf install $* failed (log: $LOG)"
}
debian_installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
debian_install() {
	export DEBIAN_FRONTEND=noninteractive
	apt-get -y -q install --no-install-recommends "$@" >>"$LOG" 2>&1 && return 0
	# A new AMI's package lists are old: refresh them once.
	apt-get -q update >>"$LOG" 2>&1 || die "apt-get update failed (log: $LOG)"
	apt-get -y -q install --no-install-recommends "$@" >>"$LOG" 2>&1 && return 0
	if [[ " $* " == *" $KDEV "* ]] && ! apt-cache show "$KDEV" >>"$LOG" 2>&1; then
		die "$KDEV is not available: Debian no longer carries headers for the running kernel $KERNEL. Upgrade the kernel (apt-get upgrade) and reboot, or use a newer AMI"
	fi
	die "apt-get install $* failed (log: $LOG)"
}

# al2023_sockperf: sockperf from dnf, or built; sets SOCKPERF to how it came
# ("present" when nothing had to be done).
al2023_sockperf() {
	local built=$STATE_DIR/sockperf.commit
	SOCKPERF=present
	if al2023_installed sockperf; then return; fi
	if [[ -x $SOCKPERF_PREFIX/bin/sockperf && $(cat "$built" 2>/dev/null) == "$SOCKPERF_COMMIT" ]]; then return; fi
	if dnf -q list --showduplicates sockperf >>"$LOG" 2>&1; then
		say "installing sockperf"
		al2023_install sockperf
		SOCKPERF=dnf
		return
	fi
	build_sockperf
	echo "$SOCKPERF_COMMIT" >"$built"
	SOCKPERF=built
}

# build_sockperf: the pinned release from its repository into SOCKPERF_PREFIX.
build_sockperf() {
	local p missing=() src
	for p in "${SOCKPERF_BUILD_PACKAGES[@]}"; do al2023_installed "$p" || missing+=("$p"); done
	if ((${#missing[@]} > 0)); then al2023_install "${missing[@]}"; fi
	say "building sockperf 3.10 from $SOCKPERF_REPO (the repositories have no sockperf; about a minute)"
	src=$(mktemp -d)
	if ! git clone -q "$SOCKPERF_REPO" "$src" >>"$LOG" 2>&1 || ! git -C "$src" checkout -q "$SOCKPERF_COMMIT" >>"$LOG" 2>&1; then
		rm -rf "$src"
		die "cannot fetch sockperf's commit $SOCKPERF_COMMIT from input ENA_LAB_SOCKPERF_REPO='$SOCKPERF_REPO' (log: $LOG)"
	fi
	if ! (cd "$src" && ./autogen.sh && ./configure --prefix="$SOCKPERF_PREFIX" && make -j"$(nproc)" && make install) >>"$LOG" 2>&1; then
		rm -rf "$src"
		die "building sockperf failed (log: $LOG)"
	fi
	rm -rf "$src"
	[[ -x $SOCKPERF_PREFIX/bin/sockperf ]] || die "the sockperf build installed no $SOCKPERF_PREFIX/bin/sockperf (log: $LOG)"
}

main() {
	local missing=() p changed=false packages tools SOCKPERF=apt
	init_step
	[[ $SERIES == 6.1 || $SERIES == 6.12 ]] || die "input ENA_LAB_KERNEL_SERIES='$SERIES' is neither 6.1 nor 6.12"
	[[ $SOCKPERF_COMMIT =~ ^[0-9a-f]{40}$ ]] || die "input ENA_LAB_SOCKPERF_COMMIT='$SOCKPERF_COMMIT' is not a full commit id"
	[[ $SOCKPERF_PREFIX == /* ]] || die "input ENA_LAB_SOCKPERF_PREFIX='$SOCKPERF_PREFIX' is not an absolute path"
	[[ $RUST == 0 || $RUST == 1 ]] || die "input ENA_LAB_RUST='$RUST' is neither 0 nor 1"
	check_os
	KERNEL=$(uname -r)
	[[ $KERNEL == "$SERIES".* ]] || die "the host runs kernel $KERNEL, not the $SERIES series the stack asks for (config kernel)"
	case $DISTRO in
	al2023)
		KDEV=kernel-devel-$KERNEL packages=("${AL2023_PACKAGES[@]}") tools=(rpm dnf)
		[[ $SERIES == 6.1 ]] || KDEV=kernel$SERIES-devel-$KERNEL
		if ((RUST)); then packages+=("${AL2023_RUST_PACKAGES[@]}"); fi
		;;
	debian-12)
		KDEV=linux-headers-$KERNEL packages=("${DEBIAN_PACKAGES[@]}") tools=(dpkg-query apt-get)
		if ((RUST)); then packages+=("${DEBIAN_RUST_PACKAGES[@]}"); fi
		;;
	esac
	for p in "${tools[@]}"; do command -v "$p" >/dev/null || die "$p is required on $DISTRO, and missing"; done
	for p in "$KDEV" "${packages[@]}"; do
		"${DISTRO%%-*}_installed" "$p" || missing+=("$p")
	done
	if ((${#missing[@]} == 0)); then
		say "all ${#packages[@]} packages and $KDEV present: nothing to do"
	else
		say "installing ${missing[*]}"
		"${DISTRO%%-*}_install" "${missing[@]}"
		changed=true
	fi
	[[ -f $MODULES_DIR/$KERNEL/build/Makefile ]] ||
		die "$KDEV is installed but $MODULES_DIR/$KERNEL/build has no Makefile"
	if [[ $DISTRO == al2023 ]]; then
		al2023_sockperf
		[[ $SOCKPERF == present ]] || changed=true
	fi
	if [[ ! -s $(chartjs_file) ]]; then
		say "fetching Chart.js $CHARTJS_VERSION for the reports"
		fetch_chartjs "$(chartjs_file)" "${ENA_LAB_CHARTJS_URL:-}" 2>>"$LOG" ||
			die "cannot fetch Chart.js $CHARTJS_VERSION: $(tail -n 1 "$LOG")"
		changed=true
	fi
	printf '{"distro":%s,"kernel":%s,"installed":[%s],"sockperf":%s,"changed":%s,"log":%s}\n' "$(json_str "$DISTRO")" "$(json_str "$KERNEL")" \
		"$(for p in "${missing[@]}"; do printf '%s,' "$(json_str "$p")"; done | sed 's/,$//')" "$(json_str "$SOCKPERF")" "$changed" "$(json_str "$LOG")"
}

main "$@"
