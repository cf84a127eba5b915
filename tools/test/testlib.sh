# shellcheck shell=bash
# The host-side test harness every suite sources: PASS/FAIL lines, the
# counters, expectations and the closing "NAME: N passed, M failed" line.
PASSED=0 FAILED=0

pass() { PASSED=$((PASSED + 1)); echo "PASS $1"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL $1: $2"; }

# expect NAME WHY CMD...: pass when CMD succeeds, else fail saying WHY.
expect() {
	local name=$1 why=$2
	shift 2
	if "$@"; then pass "$name"; else fail "$name" "$why"; fi
}

# expect_failure NAME PATTERN CMD...: CMD must fail, and what it printed
# (stdout and stderr, lines joined) must match the extended regex PATTERN.
expect_failure() {
	local name=$1 pattern=$2 out
	shift 2
	if out=$("$@" 2>&1); then
		fail "$name" "succeeded: $(tail -n 3 <<<"$out")"
	elif tr '\n' ' ' <<<"$out" | grep -qE -- "$pattern"; then
		pass "$name"
	else
		fail "$name" "output lacks /$pattern/: $(tail -n 3 <<<"$out")"
	fi
}

# summary NAME: the closing line; fails when any check failed.
summary() {
	echo "$1: $PASSED passed, $FAILED failed"
	((FAILED == 0))
}
