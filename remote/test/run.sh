#!/usr/bin/env bash
# remote proofs: shellcheck, prereqs against stand-in package tools,
# netns/baseline/validate against real iperf3 traffic in namespaces this test
# creates, bind/rollback in a real 6.1 kernel.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)

# Namespaces, sysfs and insmod need root: say so instead of failing oddly.
[[ $(id -u) == 0 ]] || { echo "remote/test/run.sh: must run as root (uid is $(id -u))" >&2; exit 1; }

rc=0
"$TOP/tools/apt-install.sh" shellcheck
if shellcheck -x "$TOP"/remote/scripts/*.sh "$TOP"/remote/test/*.sh; then echo "PASS shellcheck-remote"; else echo "FAIL shellcheck-remote"; rc=1; fi
"$HERE/lib-test.sh" || rc=1
"$HERE/prereqs-test.sh" || rc=1
"$HERE/stats-test.sh" || rc=1
"$HERE/report-test.sh" || rc=1
"$HERE/validate-test.sh" || rc=1
"$HERE/build-tap-test.sh" || rc=1
if "$HERE/bind-test.sh"; then echo "PASS bind-rollback-in-vm"; else echo "FAIL bind-rollback-in-vm"; rc=1; fi
exit $rc
