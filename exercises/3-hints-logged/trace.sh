#!/usr/bin/env bash
# What the device saw of exercise 3: the hints it gave at probe and the
# notification it posted, which the driver logged.
set -euo pipefail
echo "The device gave these hints (GET_FEATURE HW_HINTS at probe, then an AENQ notification):"
grep -E ' (admin GET_FEATURE HW_HINTS|event NOTIFICATION)' "$1" | head -n 6
