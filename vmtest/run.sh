#!/usr/bin/env bash
# Boot Debian's 6.1 kernel under QEMU (TCG) with an initramfs built here, run
# one guest script, and judge it by the markers it prints on the serial console.
#
#   vmtest/run.sh --script GUEST.sh [options]
#
# Options:
#   --script FILE         guest script, run by busybox sh as /test.sh (required)
#   --stock-module NAME   a module of the Debian kernel, with its dependencies
#                         (under /lib/modules/KVER, depmod'ed: `modprobe NAME` works)
#   --file HOST:GUEST     a file copied to GUEST (parents created, mode kept)
#   --bin PATH            an executable with its shared libraries (bash, ethtool, ip)
#   --qemu ARG            one extra QEMU argument (repeat for each)
#   --qemu-binary PATH    another qemu-system-x86_64 (qemu/build.sh's, with the
#                         ENA device); firmware still from the machine's QEMU
#   --append ARGS         extra kernel command line
#   --timeout SECONDS     wall-clock limit for the whole boot (default 180)
#   --log FILE            keep the console log there (default: a temp file)
#   --kernel-version KVER Debian kernel release (default: the one of linux-headers-amd64)
#
# The guest script prints `VMTEST-PASS name`, `VMTEST-FAIL name: why` and
# `VMTEST-INFO ...` lines. After it exits, /init prints `VMTEST-DONE rc=N`.
# The run passes only with a DONE marker, rc=0, at least one PASS and no FAIL;
# on failure the console tail is shown. Nothing leaves the VM: it has no
# network but the devices a test adds with --qemu.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${VMTEST_CACHE:-$(cd "$HERE/.." && pwd)/.cache/vmtest}

SCRIPT="" TIMEOUT=180 LOG="" KVER="" APPEND="" QEMU_BIN=qemu-system-x86_64
STOCK=() FILES=() BINS=() QEMU_EXTRA=()

say() { echo "[vmtest] $*" >&2; }
die() { echo "[vmtest] error: $*" >&2; exit 1; }

parse_args() {
	while (($#)); do
		[[ $# -ge 2 ]] || die "option $1 needs a value"
		case $1 in
		--script) SCRIPT=$2 ;;
		--stock-module) STOCK+=("$2") ;;
		--file) FILES+=("$2") ;;
		--bin) BINS+=("$2") ;;
		--qemu) QEMU_EXTRA+=("$2") ;;
		--qemu-binary) QEMU_BIN=$2 ;;
		--append) APPEND=$2 ;;
		--timeout) TIMEOUT=$2 ;;
		--log) LOG=$2 ;;
		--kernel-version) KVER=$2 ;;
		*) die "unknown option '$1' (see the header of $0)" ;;
		esac
		shift 2
	done
	[[ -n $SCRIPT && -f $SCRIPT ]] || die "--script '$SCRIPT' is not a file"
	[[ $TIMEOUT =~ ^[1-9][0-9]*$ ]] || die "--timeout '$TIMEOUT' is not a number of seconds"
	if [[ $QEMU_BIN != qemu-system-x86_64 ]]; then
		[[ -x $QEMU_BIN ]] || die "--qemu-binary '$QEMU_BIN' is not an executable"
		# A QEMU built here has no firmware of its own: use the packaged one.
		QEMU_EXTRA+=(-L /usr/share/qemu -L /usr/share/seabios -L /usr/lib/ipxe/qemu)
	fi
}

ensure_tools() {
	"$HERE/../tools/apt-install.sh" qemu-system-x86 busybox-static cpio kmod linux-headers-amd64 xz-utils
}

# kernel_version: the release of the installed linux-headers-amd64, so that
# modules built against those headers load in the VM kernel.
kernel_version() {
	if [[ -z $KVER ]]; then
		KVER=$("$HERE/../tools/debian-kernel.sh") || die "no Debian kernel release to boot"
	fi
	[[ $KVER =~ ^[0-9]+\.[0-9]+\.[0-9]+[-+][0-9a-z.+]*-amd64$ ]] || die "cannot tell the Debian kernel release (got '$KVER')"
}

# fetch_kernel: the Debian kernel image package, unpacked once into the cache.
# Concurrent runs share the cache: one fetches under a lock, the tree appears
# by rename only once complete, so no run ever sees a half-unpacked kernel.
fetch_kernel() {
	KROOT=$CACHE/$KVER
	mkdir -p "$CACHE"
	if [[ ! -f $KROOT/.complete ]]; then
		exec {lockfd}>"$CACHE/.$KVER.lock"
		flock "$lockfd"
		if [[ ! -f $KROOT/.complete ]]; then
			local tmp
			say "fetching linux-image-$KVER"
			tmp=$(mktemp -d "$CACHE/.fetch.XXXXXX")
			mkdir -p "$tmp/deb"
			"$HERE/../tools/debian-kernel.sh" download "$tmp/deb" "linux-image-$KVER" ||
				{ apt-get -o DPkg::Lock::Timeout=600 update -q >/dev/null &&
					"$HERE/../tools/debian-kernel.sh" download "$tmp/deb" "linux-image-$KVER"; } ||
				{ rm -rf "$tmp"; die "apt-get download linux-image-$KVER failed"; }
			dpkg-deb -x "$tmp"/deb/*.deb "$tmp/root" || { rm -rf "$tmp"; die "cannot unpack linux-image-$KVER"; }
			rm -rf "$tmp/deb"
			# The package's postinst would index the modules; do it here.
			depmod -b "$tmp/root" "$KVER"
			touch "$tmp/.complete"
			rm -rf "$KROOT"
			mv "$tmp" "$KROOT"
		fi
		exec {lockfd}>&-
	fi
	VMLINUZ=$KROOT/root/boot/vmlinuz-$KVER
	[[ -f $VMLINUZ ]] || die "$VMLINUZ missing from the image package"
}

copy_bin() {
	local bin=$1 lib
	bin=$(command -v "$bin") || die "--bin '$1' is not installed on this machine"
	mkdir -p "$IRD$(dirname "$bin")"
	cp -L "$bin" "$IRD$bin"
	for lib in $(ldd "$bin" 2>/dev/null | grep -o '/[^ ]*'); do
		mkdir -p "$IRD$(dirname "$lib")"
		cp -L "$lib" "$IRD$lib"
	done
}

build_initramfs() {
	local m f src dst
	IRD=$WORK/root
	mkdir -p "$IRD"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,run,etc,root,lib/modules/"$KVER"}
	cp /bin/busybox "$IRD/bin/busybox"
	for m in $(/bin/busybox --list); do
		[[ -e $IRD/bin/$m ]] || ln -s busybox "$IRD/bin/$m"
	done
	for m in "${STOCK[@]}"; do
		[[ $m =~ ^[a-z0-9_-]+$ ]] || die "--stock-module '$m' is not a module name"
		local deps
		deps=$(modprobe -d "$KROOT/root" -S "$KVER" --show-depends "$m" 2>&1) ||
			die "the Debian $KVER kernel has no module '$m': $deps"
		while read -r _ src _; do
			[[ $src == /* ]] || continue
			dst=$IRD${src#"$KROOT/root"}
			mkdir -p "$(dirname "$dst")"
			# 6.12 ships modules xz-compressed; busybox loads them plain.
			if [[ $src == *.ko.xz ]]; then xz -dc "$src" >"${dst%.xz}"; else cp "$src" "$dst"; fi
		done <<<"$deps"
	done
	cp "$KROOT"/root/lib/modules/"$KVER"/modules.{order,builtin,builtin.modinfo} "$IRD/lib/modules/$KVER/" 2>/dev/null || true
	depmod -b "$IRD" "$KVER"
	for f in "${FILES[@]}"; do
		src=${f%%:*} dst=${f#*:}
		[[ -f $src && $dst == /* && $f == *:* ]] || die "--file '$f' is not HOST:GUEST with an existing host file and an absolute guest path"
		mkdir -p "$IRD$(dirname "$dst")"
		cp -p "$src" "$IRD$dst"
	done
	for f in "${BINS[@]}"; do copy_bin "$f"; done
	# Scripts written for the host say #!/usr/bin/env bash.
	[[ -e $IRD/usr/bin/env ]] || ln -s /bin/busybox "$IRD/usr/bin/env"
	# The guest half of the protocol: markers, check, wait_for.
	mkdir -p "$IRD/usr/lib/vmtest"
	cp "$HERE/guest.sh" "$IRD/usr/lib/vmtest/guest.sh"
	cp "$SCRIPT" "$IRD/test.sh"
	chmod +x "$IRD/test.sh"
	check_interpreter
	cat >"$IRD/init" <<'EOF'
#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t debugfs debugfs /sys/kernel/debug
mount -t securityfs securityfs /sys/kernel/security
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
export PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root
echo "VMTEST-BOOTED $(uname -r)"
# The script's own #! line decides its shell; without one, busybox sh.
if [ "$(head -c 2 /test.sh)" = "#!" ]; then /test.sh; else sh /test.sh; fi
echo "VMTEST-DONE rc=$?"
poweroff -f
EOF
	chmod +x "$IRD/init"
	(cd "$IRD" && find . | cpio -o -H newc --quiet | gzip -1) >"$WORK/initrd.gz"
}

# check_interpreter: the guest script's #! interpreter must be in the
# initramfs (e.g. --bin bash), else the guest would only say "not found".
check_interpreter() {
	local line interp arg
	IFS= read -r line <"$SCRIPT" || true
	[[ $line == '#!'* ]] || return 0
	read -r interp arg _ <<<"${line#\#!}"
	if [[ $interp == */env ]]; then
		[[ -n ${arg:-} ]] || die "--script '$SCRIPT': '$line' names no program"
		[[ -e $IRD/bin/$arg || -e $IRD/usr/bin/$arg || -e $IRD/sbin/$arg || -e $IRD/usr/sbin/$arg ]] ||
			die "--script '$SCRIPT' runs under '$arg', which is not in the initramfs: add --bin $arg"
	else
		[[ -e $IRD$interp ]] || die "--script '$SCRIPT' runs under '$interp', which is not in the initramfs: add --bin $interp"
	fi
}

accel() {
	# /dev/kvm may exist as a nested software module that hangs QEMU: use KVM
	# only when the CPU really has virtualisation extensions.
	if [[ -w /dev/kvm ]] && grep -qE '\b(vmx|svm)\b' /proc/cpuinfo; then
		echo kvm
	else
		echo tcg
	fi
}

boot() {
	local rc=0
	: >"$LOG"
	say "booting $KVER ($(accel)), timeout ${TIMEOUT}s, log $LOG"
	timeout --kill-after=5 "$TIMEOUT" "$QEMU_BIN" \
		-machine q35 -accel "$(accel)" -cpu max -m 1024 -smp 2 \
		-kernel "$VMLINUZ" -initrd "$WORK/initrd.gz" \
		-append "console=ttyS0 panic=-1 oops=panic loglevel=4 $APPEND" \
		-nodefaults -display none -monitor none -serial "file:$LOG" -nic none -no-reboot \
		"${QEMU_EXTRA[@]}" </dev/null >"$WORK/qemu.out" 2>&1 || rc=$?
	QEMU_RC=$rc
}

verdict() {
	local fails passes done_line text=$WORK/console.txt
	# The serial console ends lines with CR LF.
	tr -d '\r' <"$LOG" >"$text"
	fails=$(grep -a '^VMTEST-FAIL' "$text" || true)
	passes=$(grep -ac '^VMTEST-PASS' "$text" || true)
	done_line=$(grep -a '^VMTEST-DONE' "$text" || true)
	grep -a -E '^VMTEST-(PASS|FAIL|INFO)' "$text" | sed 's/^/[vm] /' >&2 || true
	local why=""
	if ((QEMU_RC == 124 || QEMU_RC == 137)); then
		why="timeout after ${TIMEOUT}s"
	elif [[ -z $done_line ]]; then
		why="no VMTEST-DONE marker (QEMU exit $QEMU_RC: $(tail -n 3 "$WORK/qemu.out" | tr '\n' ' '))"
	elif [[ $done_line != "VMTEST-DONE rc=0" ]]; then
		why="guest script ended with ${done_line#VMTEST-DONE }"
	elif [[ -n $fails ]]; then
		why="$(echo "$fails" | wc -l) check(s) failed"
	elif ((passes == 0)); then
		why="the guest script passed no check"
	fi
	if [[ -n $why ]]; then
		echo "[vmtest] FAIL: $why; console tail:" >&2
		tail -n 40 "$text" | sed 's/^/[console] /' >&2
		return 1
	fi
	say "PASS: $passes check(s) in $(awk -v s="$START" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')s"
}

main() {
	parse_args "$@"
	START=$(date +%s.%N)
	ensure_tools
	kernel_version
	fetch_kernel
	WORK=$(mktemp -d /tmp/vmtest.XXXXXX)
	trap 'rm -rf "$WORK"' EXIT
	[[ -n $LOG ]] || LOG=$WORK/console.log
	build_initramfs
	boot
	verdict
}

main "$@"
