#!/usr/bin/env bash
# Build and install ena_custom on the host: kmod/build.sh from the pinned
# upstream tag against the running kernel. Does nothing when the driver
# version, the series and the kernel are unchanged.
# input ENA_LAB_KMOD_DIR required  directory holding kmod/build.sh, versions and patches/
# input ENA_LAB_DRIVER_VERSION required  amzn-drivers release, e.g. 2.15.0
# input ENA_LAB_KERNEL_RELEASE optional  the kernel the lab was checked on; must be the running one
# input ENA_LAB_REPO optional(https://github.com/amzn/amzn-drivers.git)  git repository of the driver (a fork)
# input ENA_LAB_COMMIT optional  commit to build (40 hex digits); empty: the release's pinned tag
set -euo pipefail
STEP=${STEP:-build}
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

main() {
	init_step
	require ENA_LAB_KMOD_DIR
	[[ -f $ENA_LAB_KMOD_DIR/build.sh ]] || die "input ENA_LAB_KMOD_DIR='$ENA_LAB_KMOD_DIR' has no build.sh"
	require ENA_LAB_DRIVER_VERSION
	[[ $ENA_LAB_DRIVER_VERSION =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "input ENA_LAB_DRIVER_VERSION='$ENA_LAB_DRIVER_VERSION' is not like 2.15.0"
	if [[ -n ${ENA_LAB_KERNEL_RELEASE:-} && $ENA_LAB_KERNEL_RELEASE != "$(uname -r)" ]]; then
		die "the host runs kernel $(uname -r), but the lab was checked on $ENA_LAB_KERNEL_RELEASE: re-run the nitro-check step (pulumi up --replace its URN)"
	fi
	local manifest
	# build.sh prints one progress line per phase on stderr and the manifest on stdout.
	manifest=$(bash "$ENA_LAB_KMOD_DIR/build.sh" --version "$ENA_LAB_DRIVER_VERSION" --source git \
		--repo "${ENA_LAB_REPO:-https://github.com/amzn/amzn-drivers.git}" ${ENA_LAB_COMMIT:+--commit "$ENA_LAB_COMMIT"} \
		--work "$STATE_DIR/build" --install /opt/ena-lab/modules 2> >(tee -a "$LOG" >&2)) ||
		die "the driver build failed (log: $LOG, compiler output: $STATE_DIR/build/build.log)"
	jq -c --arg log "$LOG" --arg buildlog "$STATE_DIR/build/build.log" '. + {log: $log, buildLog: $buildlog}' <<<"$manifest"
}

main "$@"
