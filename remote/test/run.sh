#!/usr/bin/env bash
# remote proofs: prereqs against stand-in package tools, netns/baseline/validate
# against real iperf3 traffic in namespaces this test creates, bind/rollback in
# a real 6.1 kernel.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
rc=0
"$HERE/prereqs-test.sh" || rc=1
"$HERE/validate-test.sh" || rc=1
if "$HERE/bind-test.sh"; then echo "PASS bind-rollback-in-vm"; else echo "FAIL bind-rollback-in-vm"; rc=1; fi
exit $rc
