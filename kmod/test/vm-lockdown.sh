#!/bin/sh
# Runs inside a VM booted with lockdown=integrity, what UEFI Secure Boot turns
# on: the signed stock ena loads, the unsigned ena_custom is refused. This is
# why the Nitro check fails a host in lockdown.
# shellcheck source=../../vmtest/guest.sh
. /usr/lib/vmtest/guest.sh

case $(cat /sys/kernel/security/lockdown) in
*"[integrity]"*) pass lockdown-is-integrity ;;
*) fail lockdown-is-integrity "lockdown is $(cat /sys/kernel/security/lockdown)" ;;
esac
if modprobe ena; then pass signed-stock-ena-loads; else fail signed-stock-ena-loads "modprobe ena failed"; fi
if out=$(insmod /opt/ena-lab/ena_custom.ko 2>&1); then
	fail unsigned-custom-refused "insmod succeeded under lockdown"
else
	case $out in
	*"not permitted"*) pass unsigned-custom-refused ;;
	*) fail unsigned-custom-refused "unexpected error: $out" ;;
	esac
fi
