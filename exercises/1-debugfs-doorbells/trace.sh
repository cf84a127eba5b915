#!/usr/bin/env bash
# What the device saw of exercise 1: the Tx doorbells of B, which the
# driver's count should match (queue by queue: the SQ indices the device
# gave the driver's Tx queues).
set -euo pipefail
echo "The device counted these Tx doorbells (one line a second per busy queue):"
grep -E ' (doorbell tx|summary q[0-9]+:)' "$1" | head -n 12
