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
echo \${FAKE_UNAME:-$KERNEL}
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
	for p in "$@"; do case $p in kernel*-devel-*) mkdir -p "$FAKE/modules/${p#*-devel-}/build" && touch "$FAKE/modules/${p#*-devel-}/build/Makefile" ;; esac; done ;;
esac
EOS
# Debian's tools, the same way: dpkg-query answers from the list, apt-get
# installs from the repository list (or fails like the real one).
cat >"$TMP/bin/dpkg-query" <<'EOS'
#!/bin/sh
pkg=$(eval echo "\${$#}")
grep -qx "$pkg" "$FAKE/installed" && echo "install ok installed"
EOS
cat >"$TMP/bin/apt-get" <<'EOS'
#!/bin/sh
echo "apt-get $*" >>"$FAKE/dnf.calls"
case "$*" in
*update*) exit 0 ;;
*install*)
	shift 4
	for p in "$@"; do grep -qx "$p" "$FAKE/repo" || { echo "E: Unable to locate package $p" >&2; exit 100; }; done
	for p in "$@"; do echo "$p" >>"$FAKE/installed"; done
	for p in "$@"; do case $p in linux-headers-*) mkdir -p "$FAKE/modules/${p#linux-headers-}/build" && touch "$FAKE/modules/${p#linux-headers-}/build/Makefile" ;; esac; done ;;
esac
EOS
cat >"$TMP/bin/apt-cache" <<'EOS'
#!/bin/sh
grep -qx "$2" "$FAKE/repo"
EOS
chmod +x "$TMP/bin/"*

# scenario NAME REPO-PACKAGES INSTALLED-PACKAGES [OS]: a fresh fake host
# (OS: amzn 2023 unless given, as its os-release says).
scenario() {
	export FAKE=$TMP/$1
	mkdir -p "$FAKE"
	tr ' ' '\n' <<<"$2" >"$FAKE/repo"
	tr ' ' '\n' <<<"$3" >"$FAKE/installed"
	: >"$FAKE/dnf.calls"
	read -r id version <<<"${4:-amzn 2023}"
	printf 'NAME="fake"\nID=%s\nVERSION_ID="%s"\nPRETTY_NAME="%s %s"\n' "$id" "$version" "$id" "$version" >"$FAKE/os-release"
}
# Chart.js from the pinned tarball, cached on this machine: no scenario
# reaches the registry.
CHARTJS_TGZ=$("$HERE/../../tools/chartjs.sh" --tarball)
prereqs() {
	PATH=$TMP/bin:$PATH ENA_LAB_STATE_DIR=$FAKE/state ENA_LAB_LOG_DIR=$FAKE/log ENA_LAB_MODULES_DIR=$FAKE/modules \
		ENA_LAB_OS_RELEASE=$FAKE/os-release ENA_LAB_CHARTJS_URL="file://$CHARTJS_TGZ" env "$@" bash "$SCRIPT" >"$FAKE/out" 2>"$FAKE/err"
}

all="gcc make git tar gzip kmod elfutils-libelf-devel iperf3 ethtool pciutils iproute iputils jq diffutils dwarves"

scenario fresh "$all sockperf kernel-devel-$KERNEL" "gcc tar gzip kmod iproute iputils"
if prereqs && grep -qx "dnf -y -q install kernel-devel-$KERNEL make git elfutils-libelf-devel iperf3 ethtool pciutils jq diffutils dwarves" "$FAKE/dnf.calls" &&
	grep -qx "dnf -y -q install sockperf" "$FAKE/dnf.calls" &&
	jq -e ".changed and (.installed | index(\"kernel-devel-$KERNEL\")) and .kernel == \"$KERNEL\" and .sockperf == \"dnf\"" "$FAKE/out" >/dev/null; then
	pass installs-only-what-is-missing
else
	fail installs-only-what-is-missing "$(cat "$FAKE/dnf.calls" "$FAKE/err" "$FAKE/out")"
fi
: >"$FAKE/dnf.calls"
if [[ $(head -c 200 "$FAKE/state/vendor/chart.js-4.5.0.min.js") == *"Chart.js v4.5.0"* ]] && grep -q "fetching Chart.js 4.5.0" "$FAKE/err"; then
	pass fetches-chartjs-for-the-reports
else
	fail fetches-chartjs-for-the-reports "$(ls "$FAKE/state" "$FAKE/state/vendor" 2>&1) $(cat "$FAKE/err")"
fi
: >"$FAKE/dnf.calls"
if prereqs && ! grep -q install "$FAKE/dnf.calls" && grep -q "nothing to do" "$FAKE/err" && ! grep -q "fetching Chart.js" "$FAKE/err" &&
	jq -e '.changed == false and .sockperf == "present"' "$FAKE/out" >/dev/null; then
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

# Debian 12: dpkg and apt-get, linux-headers of the running kernel.
deb="gcc make git tar gzip kmod libelf-dev iperf3 sockperf ethtool pciutils iproute2 iputils-ping jq diffutils dwarves"
scenario debian "$deb linux-headers-$KERNEL" "gcc make tar gzip kmod iproute2" "debian 12"
if prereqs ENA_LAB_DISTRO=debian-12 &&
	grep -qx "apt-get -y -q install --no-install-recommends linux-headers-$KERNEL git libelf-dev iperf3 sockperf ethtool pciutils iputils-ping jq diffutils dwarves" "$FAKE/dnf.calls" &&
	jq -e '.distro == "debian-12" and .changed' "$FAKE/out" >/dev/null; then
	pass debian-installs-only-what-is-missing
else
	fail debian-installs-only-what-is-missing "$(cat "$FAKE/dnf.calls" "$FAKE/err" "$FAKE/out")"
fi
# The twin's root filesystem carries everything (Chart.js too) and has no
# mirror: nothing is asked of apt, nothing is downloaded.
scenario debian-complete "" "$deb linux-headers-$KERNEL" "debian 12"
mkdir -p "$FAKE/modules/$KERNEL/build" && touch "$FAKE/modules/$KERNEL/build/Makefile"
mkdir -p "$FAKE/state/vendor" && cp "$("$HERE/../../tools/chartjs.sh")" "$FAKE/state/vendor/"
if prereqs ENA_LAB_DISTRO=debian-12 && [[ ! -s $FAKE/dnf.calls ]] && jq -e '.changed == false' "$FAKE/out" >/dev/null; then
	pass debian-with-everything-changes-nothing
else
	fail debian-with-everything-changes-nothing "$(cat "$FAKE/dnf.calls" "$FAKE/err")"
fi
# rustDriver: the Rust compiler too, Debian's rustc-web (its rustc is too
# old for ena-tap); and only when asked for.
scenario debian-rust "rustc-web" "$deb linux-headers-$KERNEL" "debian 12"
mkdir -p "$FAKE/modules/$KERNEL/build" && touch "$FAKE/modules/$KERNEL/build/Makefile"
mkdir -p "$FAKE/state/vendor" && cp "$("$HERE/../../tools/chartjs.sh")" "$FAKE/state/vendor/"
if prereqs ENA_LAB_DISTRO=debian-12 ENA_LAB_RUST=1 && grep -qx "apt-get -y -q install --no-install-recommends rustc-web" "$FAKE/dnf.calls" &&
	jq -e '.installed == ["rustc-web"]' "$FAKE/out" >/dev/null; then
	pass debian-rust-driver-installs-rustc-web
else
	fail debian-rust-driver-installs-rustc-web "$(cat "$FAKE/dnf.calls" "$FAKE/err" "$FAKE/out")"
fi
scenario al2023-rust "$all sockperf rust" "$all sockperf kernel-devel-$KERNEL"
mkdir -p "$FAKE/modules/$KERNEL/build" && touch "$FAKE/modules/$KERNEL/build/Makefile"
mkdir -p "$FAKE/state/vendor" && cp "$("$HERE/../../tools/chartjs.sh")" "$FAKE/state/vendor/"
if prereqs ENA_LAB_RUST=1 && grep -qx "dnf -y -q install rust" "$FAKE/dnf.calls" && prereqs ENA_LAB_RUST=0 &&
	jq -e '.changed == false' "$FAKE/out" >/dev/null && ! prereqs ENA_LAB_RUST=yes && grep -q "input ENA_LAB_RUST='yes' is neither 0 nor 1" "$FAKE/err"; then
	pass al2023-rust-driver-installs-rust
else
	fail al2023-rust-driver-installs-rust "$(cat "$FAKE/dnf.calls" "$FAKE/err" "$FAKE/out")"
fi
scenario mismatch "" "" "debian 12"
if ! prereqs ENA_LAB_DISTRO=al2023 && grep -q "this host is debian 12, but the stack's distro is al2023" "$FAKE/err" && [[ ! -s $FAKE/dnf.calls ]]; then
	pass refuses-another-distro
else
	fail refuses-another-distro "$(cat "$FAKE/err")"
fi

# Kernel 6.12 on AL2023: its headers are kernel6.12-devel.
K612=6.12.40-63.114.amzn2023.x86_64
scenario al2023-612 "$all kernel6.12-devel-$K612" "$all sockperf"
if FAKE_UNAME=$K612 prereqs ENA_LAB_KERNEL_SERIES=6.12 && grep -qx "dnf -y -q install kernel6.12-devel-$K612" "$FAKE/dnf.calls" &&
	jq -e ".kernel == \"$K612\"" "$FAKE/out" >/dev/null; then
	pass al2023-6.12-installs-kernel6.12-devel
else
	fail al2023-6.12-installs-kernel6.12-devel "$(cat "$FAKE/dnf.calls" "$FAKE/err")"
fi
scenario series-mismatch "$all" "$all"
if ! prereqs ENA_LAB_KERNEL_SERIES=6.12 && grep -q "runs kernel $KERNEL, not the 6.12 series the stack asks for" "$FAKE/err" && [[ ! -s $FAKE/dnf.calls ]]; then
	pass refuses-a-kernel-of-another-series
else
	fail refuses-a-kernel-of-another-series "$(cat "$FAKE/err")"
fi

# A tarball that is not the pinned one is refused, and nothing is kept.
printf 'not chart.js' | gzip >"$TMP/tampered.tgz"
scenario tampered "$all sockperf kernel-devel-$KERNEL" "$all sockperf kernel-devel-$KERNEL"
mkdir -p "$FAKE/modules/$KERNEL/build" && touch "$FAKE/modules/$KERNEL/build/Makefile"
if ! prereqs ENA_LAB_CHARTJS_URL="file://$TMP/tampered.tgz" &&
	grep -q "cannot fetch Chart.js 4.5.0: file://$TMP/tampered.tgz has SHA-512 [0-9a-f]*..., not Chart.js 4.5.0's pinned 698782fe30e0484c" "$FAKE/err" &&
	[[ ! -e $FAKE/state/vendor/chart.js-4.5.0.min.js ]]; then
	pass refuses-a-chartjs-that-is-not-the-pinned-one
else
	fail refuses-a-chartjs-that-is-not-the-pinned-one "$(cat "$FAKE/err")"
fi

# AL2023 whose repositories have no sockperf: built from its pinned commit
# (here a stand-in repository whose build installs a stand-in binary), once.
# shellcheck disable=SC2016 # the stand-in's own shell and make variables
git init -q "$TMP/sockperf" && (cd "$TMP/sockperf" &&
	printf '#!/bin/sh\nexit 0\n' >autogen.sh &&
	printf '#!/bin/sh\necho "PREFIX = ${1#--prefix=}" >config.mk\n' >configure &&
	printf 'include config.mk\nall:\n\tprintf "#!/bin/sh\\necho sockperf 3.10\\n" >sockperf\ninstall: all\n\tmkdir -p $(PREFIX)/bin && install -m 755 sockperf $(PREFIX)/bin/\n' >Makefile &&
	chmod +x autogen.sh configure && git add -A && git -c user.name=t -c user.email=t@t commit -qm stand-in)
SP_COMMIT=$(git -C "$TMP/sockperf" rev-parse HEAD)
sockperf_env=(ENA_LAB_SOCKPERF_REPO="file://$TMP/sockperf" ENA_LAB_SOCKPERF_COMMIT="$SP_COMMIT")
scenario al2023-no-sockperf "$all kernel-devel-$KERNEL gcc-c++ autoconf automake libtool" "$all kernel-devel-$KERNEL gcc-c++"
mkdir -p "$FAKE/modules/$KERNEL/build" && touch "$FAKE/modules/$KERNEL/build/Makefile"
if prereqs "${sockperf_env[@]}" ENA_LAB_SOCKPERF_PREFIX="$FAKE/usr" && grep -qx "dnf -y -q install autoconf automake libtool" "$FAKE/dnf.calls" &&
	[[ $("$FAKE/usr/bin/sockperf") == "sockperf 3.10" ]] && grep -q "building sockperf 3.10 from file://" "$FAKE/err" &&
	jq -e '.sockperf == "built" and .changed' "$FAKE/out" >/dev/null; then
	pass al2023-builds-sockperf-when-dnf-has-none
else
	fail al2023-builds-sockperf-when-dnf-has-none "$(cat "$FAKE/dnf.calls" "$FAKE/err" "$FAKE/out")"
fi
if prereqs "${sockperf_env[@]}" ENA_LAB_SOCKPERF_PREFIX="$FAKE/usr" && jq -e '.sockperf == "present" and .changed == false' "$FAKE/out" >/dev/null &&
	! grep -q building "$FAKE/err"; then
	pass al2023-built-sockperf-is-kept
else
	fail al2023-built-sockperf-is-kept "$(cat "$FAKE/err" "$FAKE/out")"
fi
scenario al2023-sockperf-gone "$all kernel-devel-$KERNEL gcc-c++ autoconf automake libtool" "$all kernel-devel-$KERNEL"
mkdir -p "$FAKE/modules/$KERNEL/build" && touch "$FAKE/modules/$KERNEL/build/Makefile"
if ! prereqs ENA_LAB_SOCKPERF_REPO="file://$TMP/sockperf" ENA_LAB_SOCKPERF_COMMIT=5ebd327da983225321818c0355db922515e026bd \
	ENA_LAB_SOCKPERF_PREFIX="$FAKE/usr" && grep -q "cannot fetch sockperf's commit 5ebd327da983225321818c0355db922515e026bd from input ENA_LAB_SOCKPERF_REPO" "$FAKE/err" &&
	[[ ! -e $FAKE/usr/bin/sockperf ]]; then
	pass al2023-sockperf-commit-must-exist
else
	fail al2023-sockperf-commit-must-exist "$(cat "$FAKE/err")"
fi
if ! prereqs ENA_LAB_SOCKPERF_COMMIT=5ebd327 && grep -q "input ENA_LAB_SOCKPERF_COMMIT='5ebd327' is not a full commit id" "$FAKE/err"; then
	pass sockperf-commit-is-a-full-id
else
	fail sockperf-commit-is-a-full-id "$(cat "$FAKE/err")"
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
