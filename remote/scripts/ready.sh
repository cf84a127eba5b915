#!/usr/bin/env bash
# Readiness: sshd answered (we are here), now wait for cloud-init to finish
# first boot (packages, the safety TTL) before any step touches the host.
set -euo pipefail

main() {
	local rc=0
	echo "[ready] waiting for cloud-init" >&2
	cloud-init status --wait >/dev/null || rc=$?
	# 2 means "done, with recoverable errors": worth a warning, not a stop.
	case $rc in
	0) ;;
	2) echo "[ready] cloud-init finished with recoverable errors:" >&2
		cloud-init status --long >&2 || true ;;
	*) echo "[ready] cloud-init failed (exit $rc):" >&2
		cloud-init status --long >&2 || true
		exit 1 ;;
	esac
	printf '{"ready":true,"kernel":"%s","cloudInit":%d}\n' "$(uname -r)" "$rc"
}

main "$@"
