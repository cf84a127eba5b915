#!/usr/bin/env bash
# Build qemu-system-x86_64 from Debian's own source package of the QEMU the
# machine has, with our ENA device (qemu/device/) linked to the Rust device
# model (rust/ena-capi). Prints the binary's path on stdout.
#
#   qemu/build.sh [--print-key]
#
# The QEMU build is cached in .cache/qemu/build/<source version>-<patch
# hash>: configured and built once per Debian source and patch; a change to
# the device's C file recompiles that file, a change to the model relinks.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
CACHE=${QEMU_CACHE:-$ROOT/.cache/qemu}
JOBS=$(nproc)
# x86_64 only, the q35 machine and our device, no optional features.
CONFIGURE_FLAGS=(--target-list=x86_64-softmmu --without-default-features
	--without-default-devices --with-devices-x86_64=ena-lab
	--disable-docs --disable-install-blobs --disable-werror)

say() { echo "[qemu-build] $*" >&2; }
die() { echo "[qemu-build] error: $*" >&2; exit 1; }

install_deps() {
	"$ROOT/tools/apt-install.sh" qemu-system-x86 dpkg-dev meson ninja-build pkg-config \
		libglib2.0-dev libpixman-1-dev libfdt-dev flex bison xz-utils patch
}

# source_version: the Debian source version of the installed QEMU, e.g.
# 1:7.2+dfsg-7+deb12u16; the source package must be this very one.
source_version() {
	local v
	v=$(dpkg-query -W -f='${source:Version}' qemu-system-x86) || die "qemu-system-x86 is not installed"
	[[ $v =~ ^([0-9]+:)?[0-9][A-Za-z0-9.+~-]*$ ]] || die "unexpected QEMU source version '$v'"
	echo "$v"
}

# patch_hash: what configuring the tree depends on (our patches and the
# configure flags). The device's C file and the model library are not in
# it: a change to them only recompiles that file and relinks, in seconds.
patch_hash() {
	{ cat "$HERE"/patches/*; printf '%s\n' "${CONFIGURE_FLAGS[@]}"; } | sha256sum | cut -c1-12
}

# apt_private: apt options that read a deb-src list of our own, so the
# machine's sources and lists are never touched.
apt_private() {
	local dir=$CACHE/apt
	mkdir -p "$dir/lists/partial"
	cat >"$dir/sources.list" <<-'LIST'
		deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm main
		deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm-updates main
		deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian-security bookworm-security main
	LIST
	APT=(apt-get -q -o "Dir::Etc::sourcelist=$dir/sources.list" -o Dir::Etc::sourceparts=/dev/null
		-o "Dir::State::Lists=$dir/lists" -o Debug::NoLocking=1 -o APT::Sandbox::User=root)
}

# fetch_source: Debian's source package, unpacked with Debian's patches.
fetch_source() {
	local ver=$1 dir=$CACHE/src/$2 tmp
	[[ -f $dir/.complete ]] && return 0
	say "fetching Debian's qemu $ver source package"
	apt_private
	tmp=$(mktemp -d "$CACHE/.src.XXXXXX")
	(cd "$tmp" && { "${APT[@]}" source --download-only "qemu=$ver" >/dev/null 2>&1 ||
		{ "${APT[@]}" update >/dev/null && "${APT[@]}" source --download-only "qemu=$ver" >/dev/null; }; }) ||
		{ rm -rf "$tmp"; die "apt-get source qemu=$ver failed: Debian's mirror no longer carries the source of the installed qemu-system-x86 (upgrade it: apt-get install --only-upgrade qemu-system-x86) or deb.debian.org is unreachable"; }
	(cd "$tmp" && dpkg-source --no-check -x ./*.dsc tree >/dev/null) || { rm -rf "$tmp"; die "dpkg-source -x failed"; }
	rm -rf "$dir" && mkdir -p "$(dirname "$dir")"
	mv "$tmp/tree" "$dir"
	rm -rf "$tmp"
	touch "$dir/.complete"
}

# build_model: the Rust device model as a static library.
build_model() {
	say "building the Rust device model (rust/ena-capi)"
	(cd "$ROOT/rust" && cargo build --quiet --release --locked -p ena-capi) || die "cargo build of ena-capi failed"
	MODEL_LIB=$ROOT/rust/target/release/libena_capi.a
	[[ -f $MODEL_LIB ]] || die "$MODEL_LIB was not built"
}

# prepare_tree: a copy of Debian's tree (hard links: cheap) with our patch
# and device; a failed patch leaves nothing behind.
prepare_tree() {
	local src=$1 tree=$2 tmp p
	[[ -f $tree/.prepared ]] && return 0
	say "preparing the QEMU tree at $tree"
	tmp=$(mktemp -d "$CACHE/.tree.XXXXXX")
	cp -al "$src/." "$tmp/"
	for p in "$HERE"/patches/*.patch; do
		patch -d "$tmp" -p1 --quiet --forward --no-backup-if-mismatch <"$p" >"$tmp/.patch.log" 2>&1 ||
			{ cat "$tmp/.patch.log" >&2; rm -rf "$tmp"; die "patch $(basename "$p") does not apply to Debian's QEMU source"; }
	done
	rm -rf "$tree" && mkdir -p "$(dirname "$tree")" && mv "$tmp" "$tree"
	touch "$tree/.prepared"
}

configure_tree() {
	local tree=$1
	[[ -f $tree/build/build.ninja ]] && return 0
	say "configuring (x86_64-softmmu, q35 and the ENA device only, no optional features)"
	mkdir -p "$tree/build"
	(cd "$tree/build" && ../configure "${CONFIGURE_FLAGS[@]}" >configure.log 2>&1) ||
		{ tail -n 30 "$tree/build/configure.log" >&2; rm -rf "$tree/build"; die "QEMU configure failed"; }
}

# place_device: our C file, the ABI header and the model library in
# hw/net (configure looks for the library there). Only what changed is
# copied, so ninja rebuilds only that; a new library removes the binary so
# that ninja relinks it.
place_device() {
	local tree=$1 f
	for f in "$HERE"/device/*.c "$ROOT/rust/ena-capi/include/ena_model.h"; do
		cmp -s "$f" "$tree/hw/net/$(basename "$f")" || cp "$f" "$tree/hw/net/"
	done
	if ! cmp -s "$MODEL_LIB" "$tree/hw/net/libena_capi.a"; then
		cp "$MODEL_LIB" "$tree/hw/net/libena_capi.a"
		rm -f "$tree/build/qemu-system-x86_64"
	fi
}

compile() {
	local tree=$1 bin=$1/build/qemu-system-x86_64 start=$SECONDS
	[[ -x $bin ]] || say "compiling qemu-system-x86_64 with $JOBS jobs (a cold build takes a few minutes)"
	ninja -C "$tree/build" -j "$JOBS" qemu-system-x86_64 >"$tree/build/ninja.log" 2>&1 ||
		{ grep -E -A5 'error:|FAILED' "$tree/build/ninja.log" | head -n 40 >&2; die "QEMU build failed (log: $tree/build/ninja.log)"; }
	# qemu-version.h is regenerated on every run; only compiling or
	# linking means the binary changed.
	if ! grep -qE 'Compiling|Linking' "$tree/build/ninja.log"; then
		say "qemu-system-x86_64 is up to date"
	else
		say "built in $((SECONDS - start))s"
	fi
	local devices
	devices=$("$bin" -device help 2>&1) || die "$bin does not run: $(tail -n 3 <<<"$devices")"
	grep -q '"ena"' <<<"$devices" || die "$bin has no ena device"
	echo "$bin"
}

main() {
	mkdir -p "$CACHE"
	# One build at a time per cache: concurrent runs share the tree.
	exec {lock}>"$CACHE/.lock"
	flock "$lock"
	install_deps
	local ver key
	ver=$(source_version)
	key="${ver//[:~]/_}-$(patch_hash)"
	if [[ ${1:-} == --print-key ]]; then echo "$key"; return; fi
	fetch_source "$ver" "${ver//[:~]/_}"
	build_model
	prepare_tree "$CACHE/src/${ver//[:~]/_}" "$CACHE/build/$key"
	place_device "$CACHE/build/$key"
	configure_tree "$CACHE/build/$key"
	compile "$CACHE/build/$key"
	# Older builds are dead weight: keep only this one.
	find "$CACHE/build" -mindepth 1 -maxdepth 1 ! -name "$key" -exec rm -rf {} +
}

main "$@"
