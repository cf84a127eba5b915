#!/usr/bin/env bash
# Install what the build and the validation need on Amazon Linux 2023, only
# what is missing: the running kernel's headers (kernel-devel), the compiler,
# git, iperf3, ethtool, jq, diffutils (cmp) and friends.
# input ENA_LAB_MODULES_DIR optional(/lib/modules)  where kernel build trees are linked
set -euo pipefail
STEP=${STEP:-prereqs}
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PACKAGES=(gcc make git tar gzip kmod elfutils-libelf-devel iperf3 ethtool pciutils iproute iputils jq diffutils)
MODULES_DIR=${ENA_LAB_MODULES_DIR:-/lib/modules}

main() {
	local kernel kdev missing=() p changed=false
	init_step
	if ! command -v rpm >/dev/null || ! command -v dnf >/dev/null; then
		die "rpm and dnf are required (is this Amazon Linux 2023?)"
	fi
	kernel=$(uname -r)
	kdev=kernel-devel-$kernel
	for p in "$kdev" "${PACKAGES[@]}"; do
		rpm -q "$p" >/dev/null 2>&1 || missing+=("$p")
	done
	if ((${#missing[@]} == 0)); then
		say "all ${#PACKAGES[@]} packages and $kdev present: nothing to do"
	else
		say "installing ${missing[*]}"
		if ! dnf -y -q install "${missing[@]}" >>"$LOG" 2>&1; then
			if [[ " ${missing[*]} " == *" $kdev "* ]] && ! dnf -q list --showduplicates "$kdev" >>"$LOG" 2>&1; then
				die "$kdev is not available: the repositories no longer carry headers for the running kernel $kernel. Update the kernel (dnf upgrade kernel) and reboot, or use a newer AMI"
			fi
			die "dnf install ${missing[*]} failed (log: $LOG)"
		fi
		changed=true
	fi
	[[ -f $MODULES_DIR/$kernel/build/Makefile ]] ||
		die "$kdev is installed but $MODULES_DIR/$kernel/build has no Makefile"
	printf '{"kernel":%s,"installed":[%s],"changed":%s,"log":%s}\n' "$(json_str "$kernel")" \
		"$(for p in "${missing[@]}"; do printf '%s,' "$(json_str "$p")"; done | sed 's/,$//')" "$changed" "$(json_str "$LOG")"
}

main "$@"
