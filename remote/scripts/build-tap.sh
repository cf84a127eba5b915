#!/usr/bin/env bash
# Build ena-tap, the lab's Rust userspace ENA driver, on the host from the
# sources this step ships. Its crates (ena-core, ena-pci, ena-tap) use
# nothing beyond std, so the host's rustc builds them one by one: no cargo,
# no crate registry. The build is named by its sources' hash, which the
# binary reports (ena-tap --version); a second run with the same sources
# builds nothing.
#   build-tap.sh         build (idempotent)
#   build-tap.sh clean   remove every build (the step's Delete)
# input ENA_LAB_RUST_DIR required  the shipped sources: the workspace's Cargo.toml and each crate's src/
# input ENA_LAB_RUSTC optional(rustc)  the compiler
set -euo pipefail
STEP=${STEP:-tap-build}
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# In build order: each links the ones before it.
LIBS=(ena-core ena-pci)
BUILDS=$STATE_DIR/tap
RUSTC=${ENA_LAB_RUSTC:-rustc}

validate_inputs() {
	DIR=${ENA_LAB_RUST_DIR:-}
	[[ -n $DIR && -f $DIR/Cargo.toml ]] || die "input ENA_LAB_RUST_DIR='$DIR' holds no Cargo.toml"
	local c
	for c in "${LIBS[@]}"; do
		[[ -f $DIR/$c/src/lib.rs ]] || die "input ENA_LAB_RUST_DIR='$DIR' has no $c/src/lib.rs"
	done
	[[ -f $DIR/ena-tap/src/main.rs ]] || die "input ENA_LAB_RUST_DIR='$DIR' has no ena-tap/src/main.rs"
	command -v "$RUSTC" >/dev/null ||
		die "$RUSTC is not installed (the prereqs step installs it when the stack's rustDriver is true)"
}

# workspace_field NAME: a value of Cargo.toml's [workspace.package].
workspace_field() { sed -n "s/^$1 = \"\\([^\"]*\\)\"\$/\\1/p" "$DIR/Cargo.toml" | head -n 1; }

# check_rustc: the compiler is at least the driver's rust-version.
check_rustc() {
	local first
	MIN=$(workspace_field rust-version) EDITION=$(workspace_field edition)
	[[ $MIN =~ ^[0-9]+\.[0-9]+(\.[0-9]+)?$ ]] || die "$DIR/Cargo.toml names no rust-version"
	[[ $EDITION =~ ^20[0-9][0-9]$ ]] || die "$DIR/Cargo.toml names no edition"
	HAVE=$({ "$RUSTC" --version 2>&1 || true; } | awk 'NR == 1 { print $2 }')
	[[ $HAVE =~ ^[0-9]+\.[0-9]+\.[0-9]+ ]] || die "cannot tell the version of $RUSTC: it says '$({ "$RUSTC" --version 2>&1 || true; } | head -n 1)'"
	first=$(printf '%s\n%s\n' "$MIN" "${HAVE%%-*}" | sort -V | head -n 1)
	[[ $first == "$MIN" ]] ||
		die "$RUSTC is $HAVE, older than $MIN, the driver's rust-version (update the distribution's Rust: dnf upgrade rust, or apt-get install rustc-web)"
}

# sources_version: the hash of every shipped file, path and content.
sources_version() {
	(cd "$DIR" && find Cargo.toml "${LIBS[@]}" ena-tap -type f | LC_ALL=C sort | xargs sha256sum) |
		sha256sum | cut -c1-12 | sed 's/^/src-/'
}

# compile OUTDIR CRATE TYPE EXTERN...: one crate, optimized as cargo's release profile.
compile() {
	local out=$1 crate=$2 type=$3 root=$DIR/$2/src/lib.rs said rc=0
	shift 3
	[[ $type != bin ]] || root=$DIR/$crate/src/main.rs
	say "compiling $crate"
	# This crate's output alone, so an error is quoted from it, not from an earlier crate's.
	said=$out/.$crate.log
	ENA_TAP_VERSION=$VERSION "$RUSTC" --edition "$EDITION" --crate-type "$type" --crate-name "${crate//-/_}" \
		-C opt-level=3 -L "$out" "$@" --out-dir "$out" "$root" >"$said" 2>&1 || rc=$?
	cat "$said" >>"$LOG"
	((rc == 0)) || die "rustc $HAVE failed on $crate: $(grep -m 1 '^error' "$said" || tail -n 1 "$said") (log: $LOG)"
}

build() {
	local out=$BUILDS/$VERSION tmp c externs=() t0=$SECONDS
	BIN=$out/ena-tap
	if [[ -x $BIN && $("$BIN" --version 2>/dev/null) == "ena-tap $VERSION" ]]; then
		say "ena-tap $VERSION is built: nothing to do"
		CHANGED=false
		return
	fi
	mkdir -p "$BUILDS"
	tmp=$(mktemp -d "$BUILDS/.build.XXXXXX")
	# A failed build leaves nothing half-made.
	trap 'rm -rf "$tmp"' EXIT
	for c in "${LIBS[@]}"; do
		compile "$tmp" "$c" rlib "${externs[@]}"
		externs+=(--extern "${c//-/_}=$tmp/lib${c//-/_}.rlib")
	done
	compile "$tmp" ena-tap bin "${externs[@]}"
	[[ $("$tmp/ena_tap" --version) == "ena-tap $VERSION" ]] ||
		die "the binary built says '$("$tmp/ena_tap" --version)', not ena-tap $VERSION"
	rm -rf "$out"
	mkdir -p "$out"
	mv "$tmp/ena_tap" "$BIN"
	rm -rf "$tmp"
	trap - EXIT
	SECS=$((SECONDS - t0))
	say "built ena-tap $VERSION with rustc $HAVE in ${SECS} s"
	CHANGED=true
}

clean() {
	if [[ -d $BUILDS ]]; then
		say "removing the ena-tap builds in $BUILDS"
		rm -rf "$BUILDS"
	fi
	printf '{"removed":true,"log":%s}\n' "$(json_str "$LOG")"
}

main() {
	init_step
	case ${1:-build} in
	clean)
		clean
		return
		;;
	build) ;;
	*) die "unknown action '$1' (build or clean)" ;;
	esac
	validate_inputs
	check_rustc
	VERSION=$(sources_version) SECS=0
	build
	printf '{"version":%s,"binary":%s,"rustc":%s,"seconds":%s,"changed":%s,"log":%s}\n' "$(json_str "$VERSION")" \
		"$(json_str "$BIN")" "$(json_str "$HAVE")" "$SECS" "$CHANGED" "$(json_str "$LOG")"
}

main "$@"
