#!/usr/bin/env bash
# lib.sh's step frame: a command that fails where no check expected it ends
# the step with a message naming it, its status, file and line; a die says
# its reason once, also from inside a $(...), with no second message.
# shellcheck disable=SC2016 # step bodies are code for the step to expand
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
# shellcheck source=../../tools/test/testlib.sh
source "$HERE/../../tools/test/testlib.sh"

TMP=$(mktemp -d /tmp/lib-test.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

# step BODY: a step script with BODY after init_step, run; its stderr.
step() {
	cat >"$TMP/step.sh" <<SCRIPT
set -euo pipefail
STEP=libtest
source "$TOP/remote/scripts/lib.sh"
init_step
$1
echo unreachable
SCRIPT
	ENA_LAB_LOG_DIR=$TMP/log ENA_LAB_STATE_DIR=$TMP/state bash "$TMP/step.sh"
}

expect_failure unexpected-failure-is-named "^\[libtest\] error: 'grep -q absent /dev/null' failed with status 1 \(step.sh, line 5\) $" \
	step 'grep -q absent /dev/null'
expect_failure a-die-says-why-once '^\[libtest\] error: no such thing $' step 'die "no such thing"'
expect_failure a-die-in-a-substitution-says-why-once '^\[libtest\] error: inner reason $' \
	step 'x=$(die "inner reason"); echo "$x"'
expect_failure a-subshell-failure-is-named-by-its-caller "^\[libtest\] error: 'x=\\\$\(false\)' failed with status 1" \
	step 'x=$(false); echo "$x"'
expect "the-log-keeps-the-error" "the step's log has no error line: $(cat "$TMP/log/libtest.log" 2>&1)" \
	grep -q " error: 'x=\$(false)' failed with status 1" "$TMP/log/libtest.log"

summary lib
