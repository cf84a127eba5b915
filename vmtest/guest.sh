# shellcheck shell=sh
# The guest side of vmtest's protocol, installed by run.sh as
# /usr/lib/vmtest/guest.sh in every VM: guest scripts source it (busybox sh
# or bash) and report through these markers only.

# pass NAME; fail NAME WHY; info TEXT: the markers run.sh judges.
pass() { echo "VMTEST-PASS $1"; }
fail() { echo "VMTEST-FAIL $1: $2"; }
info() { echo "VMTEST-INFO $*"; }

# check NAME CMD...: pass when CMD succeeds, else fail with the command and
# the tail of what it printed.
check() {
	name=$1
	shift
	if "$@" >/tmp/check.out 2>&1; then
		pass "$name"
	else
		fail "$name" "'$*' failed: $(tail -n 2 /tmp/check.out | tr '\n' ' ')"
	fi
}

# wait_for SECONDS CMD...: poll CMD every 0.2 s until it succeeds.
wait_for() {
	t=$(($1 * 5))
	shift
	while [ "$t" -gt 0 ]; do
		"$@" && return 0
		sleep 0.2
		t=$((t - 1))
	done
	return 1
}
