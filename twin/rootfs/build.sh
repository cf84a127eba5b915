#!/usr/bin/env bash
# The EC2 twin's root disk: Debian 12 as its AMI boots on EC2 (systemd, udev,
# systemd-networkd with AWS's amazon-ec2-net-utils, cloud-init's EC2
# datasource, openssh-server, sudo), with every package the lab's prereqs
# step wants already installed (the twin has no mirror), the kernel and its
# headers from one suite. Prints the directory holding disk.img (ext4, raw),
# vmlinuz, initrd.img and kernel-release.
#
#   twin/rootfs/build.sh
#
# Cached in .cache/twin/rootfs/<hash of this script and prereqs.sh's list>:
# about 2 min and 1.2 GB cold, nothing warm. The twin boots the image with
# snapshot=on, so it is never written.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
CACHE=${TWIN_CACHE:-$ROOT/.cache/twin}/rootfs
PREREQS=$ROOT/remote/scripts/prereqs.sh
LIB=$ROOT/remote/scripts/lib.sh
DISK_SIZE=6G

say() { echo "[twin-rootfs] $*" >&2; }
die() { echo "[twin-rootfs] error: $*" >&2; exit 1; }

# lab_packages: what prereqs.sh installs on Debian 12, the Rust compiler
# of rustDriver too, read from it so the lists live in one place.
lab_packages() {
	local line list
	for list in DEBIAN_PACKAGES DEBIAN_RUST_PACKAGES; do
		line=$(grep -E "^$list=\\(" "$PREREQS") || die "no $list in $PREREQS"
		eval "$line"
	done
	((${#DEBIAN_PACKAGES[@]} > 0 && ${#DEBIAN_RUST_PACKAGES[@]} > 0)) || die "DEBIAN_PACKAGES or DEBIAN_RUST_PACKAGES in $PREREQS is empty"
	echo "${DEBIAN_PACKAGES[@]}" "${DEBIAN_RUST_PACKAGES[@]}"
}

# The image as a Debian AMI has it: systemd, udev, networkd, cloud-init,
# sshd, sudo, AWS's net-utils; kernel image and headers from the same
# suite (bookworm-security carries the newest 6.1), initramfs-tools for the
# virtio disk; curl for the host scripts' IMDS calls. dbus: net-utils
# applies its per-ENI configuration with networkctl reload; e2fsprogs and
# locales: cloud-init's resizefs and locale modules. systemd-resolved: the
# DNS servers DHCP gives reach the resolver, as on AL2023.
BASE_PACKAGES=(systemd-sysv udev dbus systemd-resolved cloud-init openssh-server sudo amazon-ec2-net-utils curl ca-certificates
	linux-image-amd64 linux-headers-amd64 initramfs-tools netbase less procps e2fsprogs locales)

key() {
	{ cat "${BASH_SOURCE[0]}"; lab_packages; grep '^CHARTJS_' "$LIB"; } | sha256sum | cut -c1-12
}

# chartjs ROOTFS: the reports' Chart.js where prereqs.sh keeps it (the
# twin reaches no registry), fetched and checked here by the hosts' code.
chartjs() {
	local js state
	js=$("$ROOT/tools/chartjs.sh") || die "cannot fetch Chart.js"
	state=$1/var/lib/ena-lab
	mkdir -p "$state/vendor"
	cp "$js" "$state/vendor/$(basename "$js")"
}

# configure ROOTFS: what makes the image an EC2 instance's, in the way
# Debian's cloud images set it up.
configure() {
	local r=$1
	# The default user of Debian's AMIs (debian-cloud-images' cloud.cfg):
	# admin, passwordless sudo, no tty needed.
	cat >"$r/etc/cloud/cloud.cfg.d/90-ena-lab-twin.cfg" <<-'CFG'
		# ENA Lab twin: cloud-init as on a Debian 12 AMI.
		datasource_list: [Ec2]
		datasource:
		  Ec2:
		    strict_id: true
		    max_wait: 60
		    timeout: 5
		system_info:
		  default_user:
		    name: admin
		    lock_passwd: true
		    gecos: Debian
		    groups: [adm, sudo]
		    sudo: ["ALL=(ALL) NOPASSWD:ALL"]
		    shell: /bin/bash
		# The hostname EC2 gives resolves (sudo asks for it).
		manage_etc_hosts: true
		# The locale every Debian image has (en_US is not generated).
		locale: C.UTF-8
		# amazon-ec2-net-utils and systemd-networkd own the network, as on
		# AL2023; cloud-init writes no configuration of its own.
		network:
		  config: disabled
	CFG
	echo '/dev/vda / ext4 defaults,errors=remount-ro 0 1' >"$r/etc/fstab"
	echo 'ena-lab-twin' >"$r/etc/hostname"
	# The resolver is resolved's stub, fed by DHCP: not the build machine's
	# resolv.conf, which mmdebstrap leaves behind.
	ln -sfn ../run/systemd/resolve/stub-resolv.conf "$r/etc/resolv.conf"
	# The DHCP the twin's VPC gives a link that net-utils does not own (a
	# fallback; net-utils' own 80-ec2.network matches the ENIs first).
	chroot "$r" systemctl enable systemd-networkd.service systemd-resolved.service >/dev/null 2>&1 ||
		die "enabling systemd-networkd and systemd-resolved failed"
	# Timers and jobs a fresh instance would run in its first minutes: under
	# emulation they only slow the lab's steps down.
	chroot "$r" systemctl mask apt-daily.timer apt-daily-upgrade.timer man-db.timer e2scrub_all.timer \
		fstrim.timer e2scrub_reap.service >/dev/null 2>&1 || true
	# The twin has no mirror: apt must fail at once, not retry a network.
	echo 'Acquire::Retries "0";' >"$r/etc/apt/apt.conf.d/90-ena-lab-twin"
	rm -f "$r"/etc/ssh/ssh_host_*
}

build() {
	local dest=$1 tmp rootfs kver
	local -a pkgs
	read -r -a pkgs <<<"$(lab_packages)"
	pkgs+=("${BASE_PACKAGES[@]}")
	"$ROOT/tools/apt-install.sh" mmdebstrap e2fsprogs
	tmp=$(mktemp -d "$CACHE/.build.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	rootfs=$tmp/rootfs
	say "mmdebstrap bookworm with ${#pkgs[@]} packages (about 2 min)"
	local -a include=()
	local p
	for p in "${pkgs[@]}"; do include+=("--include=$p"); done
	mmdebstrap --quiet --variant=apt "${include[@]}" \
		--components=main --aptopt='Acquire::Retries "3"' \
		bookworm "$rootfs" \
		"deb http://deb.debian.org/debian bookworm main" \
		"deb http://deb.debian.org/debian bookworm-updates main" \
		"deb http://deb.debian.org/debian-security bookworm-security main" >"$tmp/mmdebstrap.log" 2>&1 ||
		{ tail -n 30 "$tmp/mmdebstrap.log" >&2; die "mmdebstrap failed"; }
	configure "$rootfs"
	chartjs "$rootfs"
	kver=$(basename "$(find "$rootfs/lib/modules" -mindepth 1 -maxdepth 1 | head -n 1)")
	[[ -f $rootfs/boot/vmlinuz-$kver && -f $rootfs/boot/initrd.img-$kver ]] || die "no kernel or initrd for $kver in the image"
	[[ -d $rootfs/usr/src/linux-headers-$kver ]] || die "the headers of $kver are not in the image"
	cp "$rootfs/boot/vmlinuz-$kver" "$tmp/vmlinuz"
	cp "$rootfs/boot/initrd.img-$kver" "$tmp/initrd.img"
	echo "$kver" >"$tmp/kernel-release"
	say "making the ext4 disk ($DISK_SIZE, sparse)"
	mkfs.ext4 -q -L twin-root -d "$rootfs" "$tmp/disk.img" "$DISK_SIZE" || die "mkfs.ext4 failed"
	rm -rf "$rootfs"
	rm -rf "$dest" && mv "$tmp" "$dest"
	trap - EXIT
}

main() {
	mkdir -p "$CACHE"
	exec {lock}>"$CACHE/.lock"
	flock "$lock"
	local k dest
	k=$(key)
	dest=$CACHE/$k
	if [[ ! -f $dest/disk.img ]]; then
		local start=$SECONDS
		build "$dest"
		say "built $dest in $((SECONDS - start))s"
		find "$CACHE" -mindepth 1 -maxdepth 1 ! -name "$k" ! -name .lock -exec rm -rf {} +
	fi
	echo "$dest"
}

main "$@"
