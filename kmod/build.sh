#!/usr/bin/env bash
# Fetch, verify, patch, compile and install ena_custom: the same script in CI
# (fixture tarball, Debian headers) and on the lab host (git tag, kernel-devel).
#
#   build.sh --version 2.15.0 --source git|tarball:PATH [options]
#
# Options:
#   --version V          amzn-drivers release, one of kmod/versions
#   --source git         clone tag ena_linux_V from --repo, check the pinned commit
#   --source tarball:P   a `git archive` tarball of the release; its sha256 comes
#                        from --sha256 or from SHA256SUMS beside it
#   --repo URL           git source (default https://github.com/amzn/amzn-drivers.git)
#   --commit ID          with --source git: build this commit (40 hex digits) of
#                        --repo, a fork's say, instead of the release's tag; the
#                        source must be exactly that commit
#   --sha256 HEX         expected sha256 of the tarball
#   --kernel-build DIR   kernel build tree (default /lib/modules/$(uname -r)/build)
#   --work DIR           sources, patched tree, caches (default /var/lib/ena-lab/build)
#   --install DIR        where the module goes (default /opt/ena-lab/modules)
#   --jobs N             parallel compile jobs (default: online CPUs)
#   --manifest PATH      also write the JSON manifest there (it always goes to
#                        <install>/<kernel>/<version>/manifest.json)
#   --patches DIR        another series: DIR holds the patches and a series file
#                        naming them in order (default: kmod/patches; the exercises
#                        add a learner's patch to a copy of it)
#
# The module is installed OUTSIDE /lib/modules: depmod never indexes it, so
# nothing ever loads it but an explicit insmod of its path.
#
# stdout: one line, the JSON manifest. Progress on stderr. Re-run with the same
# inputs: nothing is done. After a patch edit: only what changed is redone (the
# configure.sh probe is cached per kernel release, unchanged objects are kept).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PATCH_DIR=$HERE/patches
VERSIONS_FILE=$HERE/versions
DEFAULT_REPO=https://github.com/amzn/amzn-drivers.git
START=$(date +%s.%N)

VERSION="" SOURCE="" REPO=$DEFAULT_REPO COMMIT_WANTED="" SHA256="" KBUILD="" WORK=/var/lib/ena-lab/build
INSTALL=/opt/ena-lab/modules JOBS=$(nproc) MANIFEST_COPY=""

say() { echo "[kmod] $*" >&2; }
die() { echo "[kmod] error: $*" >&2; exit 1; }

usage_die() { die "$* (see the header of $0 for usage)"; }

# timed NAME CMD...: run CMD (in this shell), noting how long it took for the
# closing summary, so a slow build says where its time went.
PHASES=""
timed() {
	local name=$1 t0=$SECONDS
	shift
	"$@"
	PHASES+="${PHASES:+, }$name $((SECONDS - t0))s"
}

parse_args() {
	while (($#)); do
		[[ $# -ge 2 ]] || usage_die "option $1 needs a value"
		case $1 in
		--version) VERSION=$2 ;;
		--source) SOURCE=$2 ;;
		--repo) REPO=$2 ;;
		--commit) COMMIT_WANTED=$2 ;;
		--sha256) SHA256=$2 ;;
		--kernel-build) KBUILD=$2 ;;
		--work) WORK=$2 ;;
		--install) INSTALL=$2 ;;
		--jobs) JOBS=$2 ;;
		--manifest) MANIFEST_COPY=$2 ;;
		--patches) PATCH_DIR=$2 ;;
		*) usage_die "unknown option '$1'" ;;
		esac
		shift 2
	done
	[[ -n $VERSION ]] || usage_die "--version is required"
	[[ -n $SOURCE ]] || usage_die "--source is required"
	[[ $JOBS =~ ^[1-9][0-9]*$ ]] || usage_die "--jobs '$JOBS' is not a positive number"
	[[ -z $COMMIT_WANTED || $COMMIT_WANTED =~ ^[0-9a-f]{40}$ ]] || usage_die "--commit '$COMMIT_WANTED' is not a 40-digit commit id"
	[[ -z $COMMIT_WANTED || $SOURCE == git ]] || usage_die "--commit needs --source git"
	[[ $REPO =~ ^(https://|ssh://|git://|file://|git@)[A-Za-z0-9._~:/@+-]+$ ]] || usage_die "--repo '$REPO' is not a git URL (https://, ssh://, git://, file:// or git@host:path)"
	[[ -z $SHA256 || $SHA256 =~ ^[0-9a-f]{64}$ ]] || usage_die "--sha256 '$SHA256' is not 64 hex digits"
	[[ $WORK == /* && $INSTALL == /* ]] || usage_die "--work '$WORK' and --install '$INSTALL' must be absolute paths"
	[[ -z $MANIFEST_COPY || -d $(dirname "$MANIFEST_COPY") ]] || usage_die "--manifest '$MANIFEST_COPY': its directory does not exist"
	[[ -f $PATCH_DIR/series ]] || usage_die "--patches '$PATCH_DIR' has no series file"
}

# pinned VERSION sets TAG and PINNED from kmod/versions, or refuses VERSION.
pinned() {
	local v t c known=()
	while read -r v t c; do
		[[ -z $v || $v == \#* ]] && continue
		known+=("$v")
		if [[ $v == "$VERSION" ]]; then
			TAG=$t PINNED=$c
			return
		fi
	done <"$VERSIONS_FILE"
	die "driver version '$VERSION' is not supported; known: ${known[*]}"
}

# series_hash: sha256 of the "sha256  name" lines of the patches, in series order.
series_hash() {
	local p
	while read -r p; do
		[[ -z $p || $p == \#* ]] && continue
		[[ -f $PATCH_DIR/$p ]] || die "series lists $p, which is not in $PATCH_DIR"
		printf '%s  %s\n' "$(sha256sum <"$PATCH_DIR/$p" | cut -d' ' -f1)" "$p"
	done <"$PATCH_DIR/series" | sha256sum | cut -d' ' -f1
}

check_kernel() {
	if [[ -z $KBUILD ]]; then
		KBUILD=/lib/modules/$(uname -r)/build
	fi
	if [[ ! -d $KBUILD || ! -f $KBUILD/Makefile ]]; then
		die "kernel build directory '$KBUILD' does not exist or has no Makefile; install the headers of the target kernel (kernel-devel-\$(uname -r) on Amazon Linux, linux-headers-<release> on Debian) or pass --kernel-build"
	fi
	# UTS_RELEASE is what `uname -r` and the module's vermagic say.
	KREL=$(sed -n 's/^#define UTS_RELEASE "\(.*\)"$/\1/p' "$KBUILD/include/generated/utsrelease.h" 2>/dev/null || true)
	[[ -n $KREL ]] || die "'$KBUILD' has no include/generated/utsrelease.h: not a prepared kernel build tree"
}

# commit_matches ACTUAL: does the source commit start with the pinned id?
commit_matches() {
	[[ $1 =~ ^[0-9a-f]{40}$ && $1 == "$PINNED"* ]]
}

fetch_tarball() {
	local tarball=$1 sums actual commit
	[[ -f $tarball ]] || die "tarball '$tarball' does not exist"
	if [[ -z $SHA256 ]]; then
		sums=$(dirname "$tarball")/SHA256SUMS
		[[ -f $sums ]] || die "no --sha256 given and no SHA256SUMS beside '$tarball'"
		SHA256=$(awk -v f="$(basename "$tarball")" '$2 == f || $2 == "*" f {print $1}' "$sums")
		[[ -n $SHA256 ]] || die "'$sums' has no line for $(basename "$tarball")"
	fi
	actual=$(sha256sum "$tarball" | cut -d' ' -f1)
	[[ $actual == "$SHA256" ]] || die "checksum mismatch for '$tarball': expected $SHA256, got $actual"
	# git archive records the commit in the pax global header.
	# (head closes the pipe early: gzip's SIGPIPE is expected, not an error.)
	commit=$(set +o pipefail; gzip -dc "$tarball" 2>/dev/null | head -c 2048 | tr '\0' '\n' |
		sed -n 's/^[0-9]* comment=\([0-9a-f]\{40\}\)$/\1/p' | head -n 1)
	commit_matches "$commit" ||
		die "tarball '$tarball' is commit '${commit:-unknown}', but $VERSION is pinned to $PINNED"
	COMMIT=$commit
	SRC=$WORK/src/$VERSION-$COMMIT
	if [[ ! -f $SRC/.complete ]]; then
		say "extracting $(basename "$tarball")"
		rm -rf "$SRC" && mkdir -p "$SRC"
		tar -xzf "$tarball" -C "$SRC" --strip-components=1
		touch "$SRC/.complete"
	fi
	SOURCE_ID="tarball:$SHA256"
}

# fetch_commit DIR: COMMIT_WANTED of REPO checked out in DIR: by id where
# the server allows it (GitHub does), else from its branches and tags. DIR
# appears only once complete: an interrupted fetch leaves nothing.
fetch_commit() {
	local dir=$1 tmp=$1.fetch.$$
	rm -rf "$tmp"
	fetch_commit_into "$tmp" && mv "$tmp" "$dir" && return 0
	rm -rf "$tmp"
	return 1
}

fetch_commit_into() {
	local dir=$1
	git init -q "$dir" || return 1
	if ! git -C "$dir" fetch -q --depth 1 "$REPO" "$COMMIT_WANTED" 2>/dev/null; then
		git -C "$dir" fetch -q "$REPO" '+refs/heads/*:refs/remotes/origin/*' '+refs/tags/*:refs/tags/*' || return 1
	fi
	git -C "$dir" -c advice.detachedHead=false checkout -q "$COMMIT_WANTED" 2>/dev/null
}

# fetch_git: the release's tag, or --commit, from --repo, in a clone of its
# own (a new repository or commit is a new clone); the checkout must be the
# pinned commit, or exactly the commit asked for.
fetch_git() {
	local key dir head
	key=$(printf '%s %s' "$REPO" "${COMMIT_WANTED:-$TAG}" | sha256sum | cut -c1-12)
	dir=$WORK/src/$VERSION-git-$key
	if [[ ! -d $dir/.git ]]; then
		command -v git >/dev/null || die "git is not installed"
		rm -rf "$dir"
		if [[ -z $COMMIT_WANTED ]]; then
			say "cloning $REPO tag $TAG"
			if ! git clone --quiet --depth 1 --branch "$TAG" "$REPO" "$dir.clone.$$"; then
				rm -rf "$dir.clone.$$"
				die "git clone of tag $TAG from $REPO failed"
			fi
			mv "$dir.clone.$$" "$dir"
		else
			say "fetching commit $COMMIT_WANTED from $REPO"
			fetch_commit "$dir" || die "commit $COMMIT_WANTED is not in $REPO (driverCommit must name a commit of driverRepo)"
		fi
	fi
	head=$(git -C "$dir" rev-parse HEAD)
	if [[ -n $COMMIT_WANTED ]]; then
		[[ $head == "$COMMIT_WANTED" ]] || die "$REPO checked out as $head, not the commit $COMMIT_WANTED asked for: refusing to build"
	else
		commit_matches "$head" ||
			die "$REPO tag $TAG is commit $head, but $VERSION is pinned to $PINNED: refusing to build"
	fi
	COMMIT=$head SRC=$dir SOURCE_ID="git:$REPO"
	# A commit asked for is no release tag: the manifest says none.
	[[ -z $COMMIT_WANTED ]] || TAG=""
}

# apply_series TREE: apply every patch at the root of an amzn-drivers tree
# (the series' paths are a/kernel/linux/ena/..., as `git am` on a clone of
# the repository takes them); a failure names the patch and shows the
# rejected hunk.
apply_series() {
	local tree=$1 p
	while read -r p; do
		[[ -z $p || $p == \#* ]] && continue
		# The ceiling keeps git from taking an enclosing repository for the
		# tree's own: inside one, git apply silently skips "outside" paths.
		if ! (cd "$tree" && GIT_CEILING_DIRECTORIES=$(dirname "$tree") git apply --reject --whitespace=nowarn "$PATCH_DIR/$p") >"$tree/.apply.log" 2>&1; then
			echo "[kmod] error: patch $p does not apply to $VERSION ($COMMIT):" >&2
			grep -E '^(error|Rejected|Checking)' "$tree/.apply.log" | sed 's/^/[kmod]   /' >&2 || true
			find "$tree" -name '*.rej' -exec sh -c 'echo "[kmod] rejected hunk in ${1%.rej}:"; cat "$1"' _ {} \; >&2
			exit 1
		fi
	done <"$PATCH_DIR/series"
}

# sync_tree FRESH TREE: make TREE's sources equal FRESH's, touching only files
# whose content changed, so make rebuilds only what a patch edit affected.
sync_tree() {
	local fresh=$1 tree=$2 f
	mkdir -p "$tree"
	(cd "$fresh" && find ena common -type f ! -name '*.rej' ! -name '*.orig') | sort >"$tree/.sources.new"
	while read -r f; do
		if ! cmp -s "$fresh/$f" "$tree/$f"; then
			mkdir -p "$(dirname "$tree/$f")"
			cp "$fresh/$f" "$tree/$f"
			CHANGED=$((CHANGED + 1))
		fi
	done <"$tree/.sources.new"
	if [[ -f $tree/.sources ]]; then
		comm -23 "$tree/.sources" "$tree/.sources.new" | while read -r f; do rm -f "$tree/$f"; done
	fi
	mv "$tree/.sources.new" "$tree/.sources"
}

prepare_tree() {
	local fresh
	TREE=$WORK/tree/$VERSION-$KREL
	fresh=$(mktemp -d "$WORK/fresh.XXXXXX")
	trap 'rm -rf "$fresh"' EXIT
	mkdir -p "$fresh/kernel/linux"
	cp -r "$SRC/kernel/linux/ena" "$SRC/kernel/linux/common" "$fresh/kernel/linux/"
	[[ -f $fresh/kernel/linux/ena/Makefile ]] || die "source '$SRC' has no kernel/linux/ena/Makefile"
	say "applying $(grep -cv '^#' "$PATCH_DIR/series") patches (series ${SERIES:0:8})"
	apply_series "$fresh"
	CHANGED=0
	sync_tree "$fresh/kernel/linux" "$TREE"
	rm -rf "$fresh"
	trap - EXIT
	say "tree $TREE: $CHANGED source file(s) changed"
}

# configure: configure.sh compile-tests kernel APIs (the slow part of a cold
# build); its config.h depends only on the kernel and the configure inputs.
configure() {
	local key cache
	key=$( (cat "$TREE/ena/configure.sh"; find "$TREE/ena/config" -type f -print0 | sort -z | xargs -0 cat; echo "$KREL") | sha256sum | cut -c1-16)
	cache=$WORK/configure/$KREL-$key/config.h
	if [[ -f $cache ]]; then
		if ! cmp -s "$cache" "$TREE/ena/config.h"; then
			cp -p "$cache" "$TREE/ena/config.h"
		fi
		say "configure: cached for $KREL"
		return
	fi
	say "configure: probing kernel $KREL APIs"
	rm -f "$TREE/ena/config.h"
	(cd "$TREE/ena" && ./configure.sh --kernel-dir "$KBUILD") >"$WORK/configure.log" 2>&1 ||
		{ tail -n 20 "$WORK/configure.log" >&2; die "configure.sh failed for $KREL (log: $WORK/configure.log)"; }
	mkdir -p "$(dirname "$cache")"
	cp -p "$TREE/ena/config.h" "$cache"
}

compile() {
	# The upstream Makefile runs kbuild only when a source or header is
	# newer than the module: a series edit that leaves the sources as they
	# were (a reworded commit) would keep the old version string. A header
	# naming the series makes the outer make run kbuild, which recompiles
	# what takes the series hash on its command line.
	local stamp=$TREE/ena/ena_custom_series.h
	if [[ $(cat "$stamp" 2>/dev/null) != "/* series $SERIES */" ]]; then
		echo "/* series $SERIES */" >"$stamp"
	fi
	say "compiling against $KREL with $JOBS job(s)"
	if ! make -C "$TREE/ena" -j"$JOBS" KERNEL_BUILD_DIR="$KBUILD" BUILD_KERNEL="$KREL" \
		ENA_CUSTOM_SERIES="${SERIES:0:8}" >"$WORK/build.log" 2>&1; then
		tail -n 30 "$WORK/build.log" >&2
		die "compilation failed (log: $WORK/build.log)"
	fi
}

install_module() {
	local dest ko=$TREE/ena/ena_custom.ko got
	[[ -f $ko ]] || die "the build produced no $ko"
	got=$(modinfo -F version "$ko")
	[[ $got == "$MODVER" ]] || die "built module says version '$got', expected '$MODVER'"
	[[ $(modinfo -F name "$ko") == ena_custom ]] || die "built module is not named ena_custom"
	[[ -z $(modinfo -F alias "$ko") ]] || die "built module has PCI aliases: it would autoload"
	dest=$INSTALL/$KREL/$VERSION
	mkdir -p "$dest"
	if ! cmp -s "$ko" "$dest/ena_custom.ko"; then
		cp "$ko" "$dest/ena_custom.ko.tmp"
		mv "$dest/ena_custom.ko.tmp" "$dest/ena_custom.ko"
	fi
	MODPATH=$dest/ena_custom.ko
	MODSHA=$(sha256sum "$MODPATH" | cut -d' ' -f1)
	say "installed $MODPATH ($MODVER)"
}

# inputs_key: everything that decides the module's bytes.
inputs_key() {
	printf '%s\n' "$VERSION" "$COMMIT" "$SOURCE_ID" "$SERIES" "$KREL" "$KBUILD" "$(sha256sum "$0" | cut -d' ' -f1)" |
		sha256sum | cut -d' ' -f1
}

# up_to_date: the manifest has our key and the module it names is intact.
up_to_date() {
	local m=$1
	[[ -f $m ]] || return 1
	grep -q "\"inputsKey\":\"$KEY\"" "$m" || return 1
	local path sha
	path=$(sed -n 's/.*"modulePath":"\([^"]*\)".*/\1/p' "$m")
	sha=$(sed -n 's/.*"moduleSha256":"\([0-9a-f]*\)".*/\1/p' "$m")
	[[ -f $path && $(sha256sum "$path" | cut -d' ' -f1) == "$sha" ]]
}

write_manifest() {
	local m=$1 secs
	secs=$(awk -v s="$START" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')
	printf '{"driverVersion":"%s","upstreamTag":"%s","upstreamCommit":"%s","source":"%s","seriesHash":"%s","moduleVersion":"%s","kernelRelease":"%s","modulePath":"%s","moduleSha256":"%s","seconds":%s,"inputsKey":"%s"}\n' \
		"$VERSION" "$TAG" "$COMMIT" "$SOURCE_ID" "$SERIES" "$MODVER" "$KREL" "$MODPATH" "$MODSHA" "$secs" "$KEY" >"$m.tmp"
	mv "$m.tmp" "$m"
}

# publish_manifest M: the manifest on stdout, its path(s) on stderr.
publish_manifest() {
	local m=$1
	if [[ -n $MANIFEST_COPY ]] && ! cmp -s "$m" "$MANIFEST_COPY"; then
		cp "$m" "$MANIFEST_COPY.tmp" && mv "$MANIFEST_COPY.tmp" "$MANIFEST_COPY"
	fi
	say "manifest $m${MANIFEST_COPY:+ (copy: $MANIFEST_COPY)}"
	cat "$m"
}

main() {
	parse_args "$@"
	pinned
	[[ -f $PATCH_DIR/series ]] || die "no series file in $PATCH_DIR"
	SERIES=$(series_hash)
	MODVER="${VERSION}g-custom.${SERIES:0:8}"
	mkdir -p "$WORK" "$INSTALL"
	# Two builds sharing a work dir (a test and the bind test) take turns.
	command -v flock >/dev/null || die "flock (util-linux) is not installed"
	exec 9>"$WORK/.lock"
	flock -n 9 || { say "waiting for another build.sh using $WORK"; flock 9; }
	case $SOURCE in
	git) timed fetch fetch_git ;;
	tarball:*) timed fetch fetch_tarball "${SOURCE#tarball:}" ;;
	*) usage_die "--source '$SOURCE' is neither git nor tarball:PATH" ;;
	esac
	check_kernel
	KEY=$(inputs_key)
	local manifest=$INSTALL/$KREL/$VERSION/manifest.json
	if up_to_date "$manifest"; then
		say "up to date: $MODVER for $KREL, nothing to do"
		publish_manifest "$manifest"
		return
	fi
	timed patch prepare_tree
	timed configure configure
	timed compile compile
	install_module
	write_manifest "$manifest"
	say "built in ${SECONDS}s: $PHASES"
	publish_manifest "$manifest"
}

main "$@"
