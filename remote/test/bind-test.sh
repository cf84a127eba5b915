#!/usr/bin/env bash
# bind.sh and unbind.sh in a real 6.1 kernel (vmtest): an e1000 NIC with a
# known MAC stands in for the lab ENI; pci-stub proves the mechanism, our
# ena_custom (whose probe fails without ENA hardware) proves the rollback.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
"$TOP/tools/apt-install.sh" linux-headers-amd64 kmod iproute2 ethtool bash systemd
TMP=$(mktemp -d /tmp/bind-test.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

# The module the lab would bind: built like kmod's tests build it (cached).
"$TOP/kmod/test/cached-module.sh" >"$TMP/manifest.json"
ko=$(sed -n 's/.*"modulePath":"\([^"]*\)".*/\1/p' "$TMP/manifest.json")
sed -n 's/.*"moduleVersion":"\([^"]*\)".*/\1/p' "$TMP/manifest.json" >"$TMP/version"

files=()
for s in lib.sh bind.sh unbind.sh; do files+=(--file "$TOP/remote/scripts/$s:/opt/ena-lab/scripts/$s"); done
vm=(--stock-module e1000 --stock-module pci-stub
	--file "$ko:/opt/ena-lab/ena_custom.ko" --file "$TMP/version:/opt/ena-lab/version" "${files[@]}"
	--bin bash --bin ip --bin ethtool --bin modinfo
	--qemu -netdev --qemu "hubport,id=n0,hubid=0"
	--qemu -device --qemu "e1000,netdev=n0,mac=52:54:00:e1:ab:01")
rc=0
"$TOP/vmtest/run.sh" --script "$HERE/vm-bind.sh" --log "$TMP/console.log" "${vm[@]}" || rc=1
# The boot unit bind.sh wrote in the VM, checked by systemd's own parser.
mkdir -p "$TMP/units"
tr -d '\r' <"$TMP/console.log" | sed -n 's/^VMTEST-INFO unit-base64 //p' | base64 -d >"$TMP/units/ena-lab-bind.service"
if [[ -s $TMP/units/ena-lab-bind.service ]] && out=$(cd "$TMP/units" && systemd-analyze verify --man=no ./ena-lab-bind.service 2>&1) && [[ -z $out ]]; then
	echo "PASS boot-unit-verified-by-systemd"
else
	echo "FAIL boot-unit-verified-by-systemd: ${out:-no unit came out of the VM}"
	rc=1
fi
# Secure Boot's lockdown: the refusal must be named and the NIC left alone.
"$TOP/vmtest/run.sh" --script "$HERE/vm-bind-lockdown.sh" --append lockdown=integrity "${vm[@]}" || rc=1
exit $rc
