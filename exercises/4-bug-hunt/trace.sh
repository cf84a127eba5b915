#!/usr/bin/env bash
# What the device saw of exercise 4: the protocol violations, if any, with
# the first descriptor that broke the protocol.
set -euo pipefail
if grep -q ' violation ' "$1"; then
	echo "The device found the driver breaking the protocol:"
	grep ' violation ' "$1"
else
	echo "The device found no protocol violation."
fi
echo "Rx doorbells, for the slots named above:"
grep ' doorbell rx' "$1" | head -n 4
