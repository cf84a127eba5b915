#!/usr/bin/env bash
# The Debian kernel release the tests build and boot: the one whose headers
# linux-headers-amd64 depends on (e.g. 6.1.0-57-amd64). A module built
# against those headers loads only in that very kernel.
set -euo pipefail

kver=$(dpkg-query -W -f='${Depends}' linux-headers-amd64 2>/dev/null | grep -o 'linux-headers-[0-9][^ ,]*-amd64' | head -n 1) || true
kver=${kver#linux-headers-}
[[ $kver =~ ^[0-9]+\.[0-9]+\.[0-9]+-[0-9]+-amd64$ ]] || {
	echo "cannot tell the Debian kernel release from linux-headers-amd64 (got '$kver'; is it installed?)" >&2
	exit 1
}
echo "$kver"
