#!/usr/bin/env bash
# prereqs.sh with stand-ins for rpm, dnf and uname (this machine is Debian):
# what is installed is a list; dnf appends to it or fails like the real one.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SCRIPT=$HERE/../scripts/prereqs.sh
KERNEL=6.1.150-1.amzn2023.x86_64
# shellcheck source=../../tools/test/testlib.sh
source "$HERE/../../tools/test/testlib.sh"

TMP=$(mktemp -d /tmp/prereqs-test.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
mkdir -p "$TMP/bin"
cat >"$TMP/bin/uname" <<EOS
#!/bin/sh
echo $KERNEL
EOS
cat >"$TMP/bin/rpm" <<'EOS'
#!/bin/sh
grep -qx "$2" "$FAKE/installed"
EOS
cat >"$TMP/bin/dnf" <<'EOS'
#!/bin/sh
echo "dnf $*" >>"$FAKE/dnf.calls"
case "$*" in
*list*) grep -qx "$4" "$FAKE/repo" ;;
*install*)
	shift 3
	for p in "$@"; do grep -qx "$p" "$FAKE/repo" || { echo "No match for argument: $p" >&2; exit 1; }; done
	for p in "$@"; do echo "$p" >>"$FAKE/installed"; done
	for p in "$@"; do case $p in kernel-devel-*) mkdir -p "$FAKE/modules/${p#kernel-devel-}/build" && touch "$FAKE/modules/${p#kernel-devel-}/build/Makefile" ;; esac; done ;;
esac
EOS
chmod +x "$TMP/bin/"*

# scenario NAME REPO-PACKAGES INSTALLED-PACKAGES: a fresh fake host.
scenario() {
	export FAKE=$TMP/$1
	mkdir -p "$FAKE"
	tr ' ' '\n' <<<"$2" >"$FAKE/repo"
	tr ' ' '\n' <<<"$3" >"$FAKE/installed"
	: >"$FAKE/dnf.calls"
}
prereqs() {
	PATH=$TMP/bin:$PATH ENA_LAB_STATE_DIR=$FAKE/state ENA_LAB_LOG_DIR=$FAKE/log ENA_LAB_MODULES_DIR=$FAKE/modules \
		bash "$SCRIPT" >"$FAKE/out" 2>"$FAKE/err"
}

all="gcc make git tar gzip kmod elfutils-libelf-devel iperf3 ethtool pciutils iproute iputils jq diffutils"

scenario fresh "$all kernel-devel-$KERNEL" "gcc tar gzip kmod iproute iputils"
if prereqs && grep -qx "dnf -y -q install kernel-devel-$KERNEL make git elfutils-libelf-devel iperf3 ethtool pciutils jq diffutils" "$FAKE/dnf.calls" &&
	jq -e ".changed and (.installed | index(\"kernel-devel-$KERNEL\")) and .kernel == \"$KERNEL\"" "$FAKE/out" >/dev/null; then
	pass installs-only-what-is-missing
else
	fail installs-only-what-is-missing "$(cat "$FAKE/dnf.calls" "$FAKE/err" "$FAKE/out")"
fi
if prereqs && ! grep -q install <(tail -n +2 "$FAKE/dnf.calls") && grep -q "nothing to do" "$FAKE/err" && jq -e '.changed == false' "$FAKE/out" >/dev/null; then
	pass second-run-calls-no-dnf-install
else
	fail second-run-calls-no-dnf-install "$(cat "$FAKE/dnf.calls" "$FAKE/err")"
fi

scenario nokdev "$all kernel-devel-6.1.999-1.amzn2023.x86_64" ""
if prereqs; then
	fail missing-kernel-devel-names-the-kernel "succeeded"
elif grep -q "kernel-devel-$KERNEL is not available.*running kernel $KERNEL" "$FAKE/err"; then
	pass missing-kernel-devel-names-the-kernel
else
	fail missing-kernel-devel-names-the-kernel "$(cat "$FAKE/err")"
fi

# build-driver.sh: the host build refuses a kernel other than the checked one,
# and an upstream whose tag is not the pinned commit (a local stand-in repo).
KMOD=$(cd "$HERE/../../kmod" && pwd)
export FAKE=$TMP/build
mkdir -p "$FAKE"
build_driver() {
	PATH=$TMP/bin:$PATH ENA_LAB_STATE_DIR=$FAKE/state ENA_LAB_LOG_DIR=$FAKE/log ENA_LAB_KMOD_DIR=$KMOD \
		ENA_LAB_DRIVER_VERSION=2.15.0 env "$@" bash "$HERE/../scripts/build-driver.sh" >"$FAKE/out" 2>"$FAKE/err"
}
if ! build_driver ENA_LAB_KERNEL_RELEASE=6.1.1-other && grep -q "runs kernel $KERNEL, but the lab was checked on 6.1.1-other" "$FAKE/err"; then
	pass build-refuses-another-kernel
else
	fail build-refuses-another-kernel "$(cat "$FAKE/err")"
fi
git init -q "$FAKE/upstream" && (cd "$FAKE/upstream" && mkdir -p kernel/linux && echo x >kernel/linux/README &&
	git add -A && git -c user.name=t -c user.email=t@t commit -qm fake && git tag ena_linux_2.15.0)
if ! build_driver ENA_LAB_REPO="file://$FAKE/upstream" && grep -q "is commit [0-9a-f]*, but 2.15.0 is pinned to 296d60c4" "$FAKE/err" &&
	grep -q "the driver build failed (log: $FAKE/log/build.log" "$FAKE/err"; then
	pass build-refuses-unpinned-upstream
else
	fail build-refuses-unpinned-upstream "$(cat "$FAKE/err")"
fi

summary prereqs
