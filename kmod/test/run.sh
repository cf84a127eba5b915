#!/usr/bin/env bash
# kmod proofs: the series builds against Debian's 6.1 and 6.12 headers
# (2.15.0 and 2.17.0), the module says what the series says, it never
# autoloads, build.sh refuses bad inputs, git am takes the series, a fork
# builds at a commit, and in real 6.1 and 6.12 kernels (QEMU) ena_custom
# loads beside the stock ena, takes parameters, probes through
# driver_override and unloads. The README's matrix is what this proved.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
KMOD=$(cd "$HERE/.." && pwd)
TOP=$(cd "$KMOD/.." && pwd)
FIXTURES=${ENA_LAB_FIXTURES:-$TOP/../shared/fixtures}
CACHE=$TOP/.cache/kmod
# shellcheck source=../../tools/test/testlib.sh
source "$TOP/tools/test/testlib.sh"

say() { echo "[kmod-test] $*" >&2; }

# The kernel series the series is built for: Debian's 6.1 (the machine's
# headers) and 6.12 (bookworm-backports, unpacked into the cache).
SERIES_LIST=(6.1 6.12)
declare -A KVERS KBUILDS

setup() {
	# dwarves: pahole, which 6.12's kbuild runs for the module's BTF.
	"$TOP/tools/apt-install.sh" linux-headers-amd64 kmod make gcc git libelf-dev dwarves
	local s
	for s in "${SERIES_LIST[@]}"; do
		KVERS[$s]=$("$TOP/tools/debian-kernel.sh" release "$s")
		KBUILDS[$s]=$("$TOP/tools/debian-kernel.sh" headers "$s")
		[[ -f ${KBUILDS[$s]}/Makefile ]] || { echo "no kernel build tree for ${KVERS[$s]} at ${KBUILDS[$s]}" >&2; exit 1; }
	done
	KVER=${KVERS[6.1]} KBUILD=${KBUILDS[6.1]}
	[[ -f $FIXTURES/SHA256SUMS ]] || { echo "fixtures not found at $FIXTURES" >&2; exit 1; }
	SHORT=$(cd "$KMOD" && (cd patches && while read -r p; do printf '%s  %s\n' "$(sha256sum <"$p" | cut -d' ' -f1)" "$p"; done <series) | sha256sum | cut -c1-8)
	TMP=$(mktemp -d /tmp/kmod-test.XXXXXX)
	trap 'rm -rf "$TMP"' EXIT
}

# build VERSION [SERIES]: build from the fixture tarball into the cache
# against that kernel (default 6.1); sets MANIFEST. Files are named by the
# tag: the version, and the series after it unless it is 6.1.
build() {
	local v=$1 series=${2:-6.1} tag
	tag=$(tag_of "$v" "$series")
	"$KMOD/build.sh" --version "$v" --source "tarball:$FIXTURES/amzn-drivers-ena_linux_$v.tar.gz" \
		--kernel-build "${KBUILDS[$series]}" --work "$CACHE/work" --install "$CACHE/modules" --manifest "$TMP/copy-$tag.json" \
		>"$TMP/manifest-$tag.json" 2>"$TMP/build-$tag.err" ||
		{ cat "$TMP/build-$tag.err" >&2; return 1; }
	MANIFEST=$TMP/manifest-$tag.json
}

tag_of() { if [[ $2 == 6.1 ]]; then echo "$1"; else echo "$1-$2"; fi; }

# proven VERSION SERIES WHAT: one entry of the README's matrix.
proven() { echo "$1 $2 $3" >>"$TMP/matrix.tsv"; }

json() { sed -n "s/.*\"$1\":\"\\{0,1\\}\\([^\",}]*\\).*/\\1/p" "$2"; }

check_module() {
	local v ko want_ver params p kver series=${2:-6.1} failed_before=$FAILED
	v=$(tag_of "$1" "$series") kver=${KVERS[$series]}
	if ! build "$1" "$series"; then
		fail "build-$v" "build.sh failed against $kver"
		return
	fi
	pass "build-$v"
	ko=$(json modulePath "$MANIFEST")
	want_ver="${1}g-custom.$SHORT"
	expect "modinfo-name-$v" "name $(modinfo -F name "$ko")" test "$(modinfo -F name "$ko")" = ena_custom
	expect "modinfo-version-$v" "got '$(modinfo -F version "$ko")', want '$want_ver'" \
		test "$(modinfo -F version "$ko")" = "$want_ver"
	expect "modinfo-no-alias-$v" "aliases: $(modinfo -F alias "$ko" | head -n 3)" test -z "$(modinfo -F alias "$ko")"
	expect "vermagic-$v" "vermagic $(modinfo -F vermagic "$ko")" test "$(modinfo -F vermagic "$ko" | cut -d' ' -f1)" = "$kver"
	params=$(modinfo -F parm "$ko" | cut -d: -f1)
	for p in debug rx_queue_size num_io_queues; do
		grep -qx "$p" <<<"$params" || { fail "params-$v" "no parameter $p"; return; }
	done
	pass "params-$v"
	expect "manifest-$v" "$(cat "$MANIFEST")" test "$(json moduleVersion "$MANIFEST")|$(json kernelRelease "$MANIFEST")|$(json moduleSha256 "$MANIFEST")" \
		= "$want_ver|$kver|$(sha256sum "$ko" | cut -d' ' -f1)"
	expect "installed-outside-lib-modules-$v" "$ko" test "${ko#/lib/modules/}" = "$ko"
	expect "manifest-copy-$v" "--manifest copy differs from stdout" cmp -s "$MANIFEST" "$TMP/copy-$v.json"
	((FAILED > failed_before)) || proven "$1" "$series" builds
}

check_rerun_is_noop() {
	local before after
	before=$(cat "$TMP/manifest-2.15.0.json")
	build 2.15.0
	after=$(cat "$MANIFEST")
	if grep -q "nothing to do" "$TMP/build-2.15.0.err" && grep -q "manifest $CACHE/modules/" "$TMP/build-2.15.0.err" && [[ $before == "$after" ]]; then
		pass rerun-does-nothing
	else
		fail rerun-does-nothing "$(cat "$TMP/build-2.15.0.err")"
	fi
}

# A reworded patch leaves every source as it was but changes the series:
# the module must say the new series (bind.sh checks that exact version).
check_reworded_series() {
	local kmod=$TMP/kmod-reworded short ko
	cp -r "$KMOD" "$kmod"
	sed -i '0,/^Subject: /s/^\(Subject: .*\)$/\1 (reworded)/' "$kmod/patches/0004-ena-show-each-IO-queue-s-ring-state-in-debugfs.patch"
	short=$(cd "$kmod/patches" && while read -r p; do printf '%s  %s\n' "$(sha256sum <"$p" | cut -d' ' -f1)" "$p"; done <series | sha256sum | cut -c1-8)
	cp -a "$CACHE/work" "$TMP/work-reworded"
	if ! "$kmod/build.sh" --version 2.15.0 --source "tarball:$FIXTURES/amzn-drivers-ena_linux_2.15.0.tar.gz" \
		--kernel-build "$KBUILD" --work "$TMP/work-reworded" --install "$TMP/inst-reworded" >"$TMP/reworded.json" 2>"$TMP/reworded.err"; then
		fail reworded-series-new-version "$(tail -n 3 "$TMP/reworded.err")"
		return
	fi
	ko=$(json modulePath "$TMP/reworded.json")
	expect reworded-series-new-version "modinfo says $(modinfo -F version "$ko"), want 2.15.0g-custom.$short" \
		test "$(modinfo -F version "$ko")" = "2.15.0g-custom.$short"
}

# Autoload: with both modules indexed by depmod, an ENA device's modalias
# resolves to the stock ena only.
check_autoload() {
	local root=$TMP/root kdir alias out img
	img=$TOP/.cache/vmtest/$KVER/root
	kdir=$root/lib/modules/$KVER
	mkdir -p "$kdir/kernel" "$kdir/extra"
	cp "$(json modulePath "$TMP/manifest-2.15.0.json")" "$kdir/extra/"
	if [[ -f $img/lib/modules/$KVER/kernel/drivers/net/ethernet/amazon/ena/ena.ko ]]; then
		cp "$img/lib/modules/$KVER/kernel/drivers/net/ethernet/amazon/ena/ena.ko" "$kdir/kernel/"
	else
		# No VM cache yet: an unpatched build stands in for the stock ena.
		fail autoload-setup "stock ena.ko not in $img (run the VM test first)"
		return
	fi
	touch "$kdir"/modules.{order,builtin,builtin.modinfo}
	depmod -b "$root" "$KVER"
	alias="pci:v00001D0Fd0000EC20sv00001D0Fsd0000EC20bc02sc00i00"
	out=$(modprobe -d "$root" -S "$KVER" -n -v "$alias" 2>&1 || true)
	if grep -q '/ena.ko' <<<"$out" && ! grep -q ena_custom <<<"$out"; then
		pass autoload-only-stock-ena
	else
		fail autoload-only-stock-ena "modprobe -n $alias said: $out"
	fi
	if grep -q ena_custom "$kdir/modules.alias"; then
		fail no-alias-in-depmod "modules.alias lists ena_custom"
	else
		pass no-alias-in-depmod
	fi
}

check_refusals() {
	local tb=$FIXTURES/amzn-drivers-ena_linux_2.15.0.tar.gz common=(--kernel-build "$KBUILD" --work "$TMP/work" --install "$TMP/inst")
	expect_failure refuses-wrong-commit "is commit '296d60c4.*but 2.17.0 is pinned to 1e6c8e9f" \
		"$KMOD/build.sh" --version 2.17.0 --source "tarball:$tb" "${common[@]}"
	mkdir -p "$TMP/badsum" && cp "$tb" "$TMP/badsum/"
	echo "0000000000000000000000000000000000000000000000000000000000000000  $(basename "$tb")" >"$TMP/badsum/SHA256SUMS"
	expect_failure refuses-wrong-checksum "checksum mismatch.*expected 0{64}, got $(sha256sum "$tb" | cut -c1-64)" \
		"$KMOD/build.sh" --version 2.15.0 --source "tarball:$TMP/badsum/$(basename "$tb")" "${common[@]}"
	expect_failure refuses-missing-kernel-dir "kernel build directory '/nonexistent/build' does not exist" \
		"$KMOD/build.sh" --version 2.15.0 --source "tarball:$tb" --kernel-build /nonexistent/build --work "$TMP/work" --install "$TMP/inst"
	expect_failure refuses-unknown-version "'2.14.9' is not supported; known: 2.15.0 2.16.1 2.17.0" \
		"$KMOD/build.sh" --version 2.14.9 --source "tarball:$tb" "${common[@]}"
	# A git tag that points elsewhere than the pinned commit: refused before building.
	git init -q "$TMP/fake-upstream" && (cd "$TMP/fake-upstream" && mkdir -p kernel/linux && echo x >kernel/linux/README &&
		git add -A && git -c user.name=t -c user.email=t@t commit -qm fake && git tag ena_linux_2.15.0)
	expect_failure refuses-wrong-git-commit "tag ena_linux_2.15.0 is commit [0-9a-f]{40}, but 2.15.0 is pinned to 296d60c4" \
		"$KMOD/build.sh" --version 2.15.0 --source git --repo "file://$TMP/fake-upstream" "${common[@]}"
	expect refusals-build-nothing "a refused run left a tree in $TMP/work" test ! -e "$TMP/work/tree"
	# A patch that no longer applies: named, with its rejected hunk.
	cp -r "$KMOD" "$TMP/kmod-broken"
	cat >"$TMP/kmod-broken/patches/0099-broken.patch" <<'EOF'
From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001
Subject: [PATCH] ena: a patch against code that is not there

---
diff --git a/kernel/linux/ena/ena_netdev.c b/kernel/linux/ena/ena_netdev.c
--- a/kernel/linux/ena/ena_netdev.c
+++ b/kernel/linux/ena/ena_netdev.c
@@ -1,3 +1,3 @@
 this line is not in the driver
-nor is this one
+so the hunk is rejected
 and the build must stop
EOF
	echo 0099-broken.patch >>"$TMP/kmod-broken/patches/series"
	expect_failure refuses-patch-that-does-not-apply "patch 0099-broken.patch does not apply.*rejected hunk.*\+so the hunk is rejected" \
		"$TMP/kmod-broken/build.sh" --version 2.15.0 --source "tarball:$tb" "${common[@]}"
	expect broken-series-installs-nothing "a manifest was written" test ! -e "$TMP/inst/$KVER/2.15.0/manifest.json"
}

# The series as a developer carries it on a fork of amzn-drivers: `git am`
# at the root of a clone of each release, one commit per patch, in order.
check_git_am() {
	local v repo subjects want
	for v in 2.15.0 2.17.0; do
		repo=$TMP/am-$v
		mkdir -p "$repo"
		tar -xzf "$FIXTURES/amzn-drivers-ena_linux_$v.tar.gz" -C "$repo" --strip-components=1
		git -C "$repo" init -q
		git -C "$repo" add -A
		git -C "$repo" -c user.name=t -c user.email=t@t commit -qm "amzn-drivers $v"
		if ! (cd "$KMOD/patches" && grep -v '^#' series | sed "s|^|$KMOD/patches/|" | xargs git -C "$repo" -c user.name=t -c user.email=t@t am -q) \
			>"$TMP/am-$v.log" 2>&1; then
			fail "git-am-$v" "$(tail -n 5 "$TMP/am-$v.log")"
			continue
		fi
		subjects=$(git -C "$repo" log --reverse --format=%s HEAD~"$(grep -cv '^#' "$KMOD/patches/series")"..HEAD)
		want=$(grep -v '^#' "$KMOD/patches/series" | while read -r p; do
			sed -n '/^Subject: /,/^$/p' "$KMOD/patches/$p" | sed 's/^Subject: \[PATCH [0-9/]*\] //; /^$/d' | tr -d '\n' | sed 's/^ *//'
			echo
		done)
		expect "git-am-$v" "commits '$subjects', want '$want'" test "$subjects" = "$want"
	done
}

# A fork at a commit (driverRepo, driverCommit): the commit of the git
# repository check_git_am made from the 2.15.0 release, before the series.
check_fork_at_commit() {
	local repo=file://$TMP/am-2.15.0 base
	base=$(git -C "$TMP/am-2.15.0" rev-parse HEAD~"$(grep -cv '^#' "$KMOD/patches/series")")
	local m=$TMP/fork.json
	if "$KMOD/build.sh" --version 2.15.0 --source git --repo "$repo" --commit "$base" --kernel-build "$KBUILD" \
		--work "$CACHE/work" --install "$TMP/inst-fork" >"$m" 2>"$TMP/fork.err"; then
		expect builds-a-fork-at-a-commit "manifest $(cat "$m")" test "$(json upstreamCommit "$m")|$(json source "$m")|$(json moduleVersion "$m")" \
			= "$base|git:$repo|2.15.0g-custom.$SHORT"
	else
		fail builds-a-fork-at-a-commit "$(tail -n 3 "$TMP/fork.err")"
	fi
	expect_failure refuses-a-commit-the-fork-lacks "commit 0{39}1 is not in $repo" \
		"$KMOD/build.sh" --version 2.15.0 --source git --repo "$repo" --commit 0000000000000000000000000000000000000001 \
		--kernel-build "$KBUILD" --work "$TMP/work" --install "$TMP/inst"
	expect_failure refuses-a-short-commit-id "--commit 'abc123' is not a 40-digit commit id" \
		"$KMOD/build.sh" --version 2.15.0 --source git --repo "$repo" --commit abc123 --kernel-build "$KBUILD" \
		--work "$TMP/work" --install "$TMP/inst"
	expect_failure refuses-a-repo-that-is-no-url "--repo 'x; rm -rf /' is not a git URL" \
		"$KMOD/build.sh" --version 2.15.0 --source git --repo 'x; rm -rf /' --kernel-build "$KBUILD" \
		--work "$TMP/work" --install "$TMP/inst"
}

# The harness itself: passes a good script, fails on FAIL, exit, missing
# DONE and timeout (vmtest/test/selftest.sh), before we trust its verdicts.
check_vmtest_harness() {
	if "$TOP/vmtest/test/selftest.sh"; then
		pass vmtest-harness-contract
	else
		fail vmtest-harness-contract "vmtest/test/selftest.sh failed (see above)"
	fi
}

check_vm() {
	local ko series tag
	echo "2.15.0g-custom.$SHORT" >"$TMP/version"
	# In each kernel, beside that kernel's own ena.
	for series in "${SERIES_LIST[@]}"; do
		tag=$(tag_of 2.15.0 "$series")
		ko=$(json modulePath "$TMP/manifest-$tag.json")
		if "$TOP/vmtest/run.sh" --kernel-version "${KVERS[$series]}" --script "$HERE/vm-guest.sh" --stock-module ena \
			--file "$ko:/opt/ena-lab/ena_custom.ko" --file "$TMP/version:/opt/ena-lab/version" \
			--qemu -device --qemu edu; then
			pass "vm-side-by-side${tag#2.15.0}"
			proven 2.15.0 "$series" "loads beside ena"
		else
			fail "vm-side-by-side${tag#2.15.0}" "see the console above"
		fi
	done
	ko=$(json modulePath "$TMP/manifest-2.15.0.json")
	if "$TOP/vmtest/run.sh" --script "$HERE/vm-lockdown.sh" --stock-module ena \
		--file "$ko:/opt/ena-lab/ena_custom.ko" --append lockdown=integrity; then
		pass vm-lockdown-refuses-unsigned
	else
		fail vm-lockdown-refuses-unsigned "see the console above"
	fi
}

# The README's matrix is what this run proved (tools/matrix.sh renders it;
# make matrix writes it into the README).
check_matrix() {
	mkdir -p "$CACHE"
	sort -u "$TMP/matrix.tsv" >"$CACHE/matrix.tsv"
	if diff <("$TOP/tools/matrix.sh" render "$CACHE/matrix.tsv") <("$TOP/tools/matrix.sh" readme "$TOP/README.md") >"$TMP/matrix.diff"; then
		pass readme-matrix-is-what-the-tests-proved
	else
		fail readme-matrix-is-what-the-tests-proved "README.md's matrix differs from this run's (make matrix writes it): $(tr '\n' ' ' <"$TMP/matrix.diff")"
	fi
}

main() {
	setup
	say "building against $KVER (series $SHORT)"
	local v series
	for series in "${SERIES_LIST[@]}"; do
		for v in 2.15.0 2.17.0; do check_module "$v" "$series"; done
	done
	check_rerun_is_noop
	check_reworded_series
	check_refusals
	check_git_am
	check_fork_at_commit
	check_vmtest_harness
	check_vm
	check_autoload
	check_matrix
	summary kmod
}

main "$@"
