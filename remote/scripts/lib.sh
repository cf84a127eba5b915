#!/usr/bin/env bash
# Shared by the host steps (sourced, never run): messages, input checks, JSON,
# logs and finding the lab's NIC by its MAC address.
# input ENA_LAB_LOG_DIR optional(/var/log/ena-lab)  where steps write their logs
# input ENA_LAB_STATE_DIR optional(/var/lib/ena-lab)  where steps keep state between runs

STEP=${STEP:-step}
LOG_DIR=${ENA_LAB_LOG_DIR:-/var/log/ena-lab}
STATE_DIR=${ENA_LAB_STATE_DIR:-/var/lib/ena-lab}
LOG=$LOG_DIR/$STEP.log

say() { echo "[$STEP] $*" >&2; echo "$(date -u +%FT%TZ) $*" >>"$LOG"; }
die() {
	echo "[$STEP] error: $*" >&2
	echo "$(date -u +%FT%TZ) error: $*" >>"$LOG" 2>/dev/null || true
	exit 1
}

init_step() {
	local v
	for v in ENA_LAB_LOG_DIR ENA_LAB_STATE_DIR; do
		[[ -z ${!v:-} || ${!v} == /* ]] || { echo "[$STEP] error: input $v='${!v}' is not an absolute path" >&2; exit 1; }
	done
	mkdir -p "$LOG_DIR" "$STATE_DIR" || { echo "[$STEP] error: cannot create $LOG_DIR or $STATE_DIR" >&2; exit 1; }
	echo "$(date -u +%FT%TZ) --- $STEP starts" >>"$LOG"
	# A command that fails where no check expected it (set -e) ends the step:
	# say which, so the step's error is never a bare exit status.
	set -E
	trap 'unexpected_failure $? "$BASH_COMMAND" "${BASH_SOURCE[0]##*/}" "$LINENO"' ERR
}

# unexpected_failure STATUS COMMAND FILE LINE: the ERR trap's message, from
# the step's own shell only (a subshell's failure reaches it as its status),
# and not after a die in a $(...) has said why (its line ends the log).
unexpected_failure() {
	[[ $BASHPID == "$$" ]] || return 0
	[[ $1 != 1 || $(tail -n 1 "$LOG" 2>/dev/null) != *" error: "* ]] || return 0
	echo "[$STEP] error: '$2' failed with status $1 ($3, line $4)" >&2
	echo "$(date -u +%FT%TZ) error: '$2' failed with status $1 ($3, line $4)" >>"$LOG" 2>/dev/null || true
}

# run CMD...: run a command with its output in the log only.
run() { "$@" >>"$LOG" 2>&1; }

# require NAME: the variable must be set and non-empty.
require() { [[ -n ${!1:-} ]] || die "input $1 is required"; }

require_mac() {
	require "$1"
	[[ ${!1} =~ ^[0-9a-f]{2}(:[0-9a-f]{2}){5}$ ]] || die "input $1='${!1}' is not a lower-case MAC address like 0a:1b:2c:3d:4e:5f"
}

require_ipv4() {
	require "$1"
	local ip=${!1} o
	[[ $ip =~ ^[0-9]{1,3}(\.[0-9]{1,3}){3}$ ]] || die "input $1='$ip' is not an IPv4 address"
	for o in ${ip//./ }; do ((10#$o <= 255)) || die "input $1='$ip' is not an IPv4 address"; done
}

# require_int NAME MIN MAX
require_int() {
	require "$1"
	if ! [[ ${!1} =~ ^[0-9]+$ ]] || ((10#${!1} < $2 || 10#${!1} > $3)); then
		die "input $1='${!1}' is not a whole number from $2 to $3"
	fi
}

# require_version NAME: a module version string, if set (e.g. 2.15.0g-custom.a8f15507).
require_version() {
	[[ -z ${!1:-} || ${!1} =~ ^[A-Za-z0-9][A-Za-z0-9._+~-]{0,63}$ ]] || die "input $1='${!1}' is not a module version"
}

require_name() {
	require "$1"
	[[ ${!1} =~ ^[A-Za-z0-9][A-Za-z0-9_.-]{0,30}$ ]] || die "input $1='${!1}' is not a plain name (letters, digits, _ . -)"
}

# json_str S: S as a JSON string literal.
json_str() {
	local s=$1
	s=${s//\\/\\\\}
	s=${s//\"/\\\"}
	s=${s//$'\n'/\\n}
	s=${s//$'\t'/\\t}
	s=${s//$'\r'/}
	printf '"%s"' "$s"
}

# in_ns NS CMD...: run CMD in network namespace NS, or here when NS is empty.
in_ns() {
	local ns=$1
	shift
	if [[ -n $ns ]]; then ip netns exec "$ns" "$@"; else "$@"; fi
}

ns_exists() { [[ -n $1 && -e /run/netns/$1 ]]; }

# iface_by_mac MAC NS: the interface holding MAC in NS ("" = this namespace).
iface_by_mac() {
	local mac=$1 ns=${2:-}
	in_ns "$ns" ip -o link show 2>/dev/null |
		awk -v m="$mac" '{ for (i = 1; i < NF; i++) if ($i == "link/ether" && $(i + 1) == m) { sub(":$", "", $2); sub("@.*", "", $2); print $2; exit } }'
}

# shellcheck disable=SC2034 # NIC_NS and NIC_IF are results for the sourcing step.
# find_nic MAC NS: sets NIC_NS and NIC_IF to where MAC lives now: this
# namespace first, then the lab's. Returns 1 when no interface has it.
find_nic() {
	local mac=$1 ns=${2:-} i
	i=$(iface_by_mac "$mac" "")
	if [[ -n $i ]]; then NIC_NS="" NIC_IF=$i; return 0; fi
	if ns_exists "$ns"; then
		i=$(iface_by_mac "$mac" "$ns")
		if [[ -n $i ]]; then NIC_NS=$ns NIC_IF=$i; return 0; fi
	fi
	return 1
}

# require_not_primary: the lab NIC is not the primary ENI (the one that carries
# SSH). The primary is known positively, by the MAC the instance metadata
# gives (nitro-check's primaryMac), never by its routes: on Amazon Linux 2023
# amazon-ec2-net-utils gives EVERY ENI a default route (metric 512 + 100 x
# card + device number), so the secondary has one too (metric 513).
require_not_primary() {
	require_mac ENA_LAB_PRIMARY_MAC
	[[ $ENA_LAB_MAC != "$ENA_LAB_PRIMARY_MAC" ]] ||
		die "input ENA_LAB_MAC='$ENA_LAB_MAC' is the primary ENI's MAC (ENA_LAB_PRIMARY_MAC): it carries SSH, refusing to touch it"
}

# settle_udev [SECONDS]: let udev finish with new devices (it renames a new netdev,
# eth1 -> ens6, after the probe); a no-op where no udev runs.
settle_udev() {
	local limit=${1:-30}
	((limit > 0)) || limit=1
	if command -v udevadm >/dev/null && [[ -d /run/udev ]]; then udevadm settle --timeout="$limit" 2>/dev/null || true; fi
}

# pci_driver BDF: the driver bound to a PCI function (its driver link), if any.
pci_driver() {
	local link=/sys/bus/pci/devices/$1/driver
	if [[ -L $link ]]; then basename "$(readlink "$link")"; fi
}

# netdev_of_pci BDF: the network interface of a PCI function in this
# namespace, by sysfs (the name udev gave it, not the one the probe made).
netdev_of_pci() {
	local d
	for d in /sys/bus/pci/devices/"$1"/net/*; do
		if [[ -e $d ]]; then basename "$d"; return 0; fi
	done
	return 1
}

# return_to_driver BDF PREV: the function back on driver PREV: the override
# cleared, any other driver unbound, PREV bound (else whatever probes it).
# PREV "" leaves it on no driver; "any" lets the PCI core choose.
return_to_driver() {
	local bdf=$1 prev=$2 dev=/sys/bus/pci/devices/$1
	echo >"$dev/driver_override" 2>/dev/null || true
	if [[ -L $dev/driver && $(pci_driver "$bdf") != "$prev" ]]; then
		echo "$bdf" >"$dev/driver/unbind" 2>>"$LOG" || true
	fi
	[[ -n $prev && ! -L $dev/driver ]] || return 0
	if [[ $prev != any ]] && echo "$bdf" >"/sys/bus/pci/drivers/$prev/bind" 2>>"$LOG"; then return 0; fi
	echo "$bdf" >/sys/bus/pci/drivers_probe 2>>"$LOG" || true
}

# retry_for SECONDS CMD...: CMD until it succeeds or SECONDS have passed,
# every 0.1 s, letting udev finish between tries.
retry_for() {
	local end=$((SECONDS + $1))
	shift
	while :; do
		settle_udev $((end - SECONDS))
		"$@" && return 0
		((SECONDS < end)) || return 1
		sleep 0.1
	done
}

# write_env FILE NAME=VALUE...: a systemd EnvironmentFile, every value
# double-quoted (\ and " escaped), replaced whole.
write_env() {
	local file=$1 kv v
	shift
	for kv in "$@"; do
		v=${kv#*=}
		v=${v//\\/\\\\}
		printf '%s="%s"\n' "${kv%%=*}" "${v//\"/\\\"}"
	done >"$file.tmp"
	mv "$file.tmp" "$file"
}

# driver_of IFACE NS: the kernel driver behind an interface (ethtool -i).
driver_of() { in_ns "$2" ethtool -i "$1" 2>/dev/null | sed -n 's/^driver: //p'; }
version_of() { in_ns "$2" ethtool -i "$1" 2>/dev/null | sed -n 's/^version: //p'; }

# last_dmesg: the kernel's last words, for error messages.
last_dmesg() { dmesg 2>/dev/null | tail -n "${1:-12}"; }

have_systemd() { [[ -d /run/systemd/system ]] && command -v systemctl >/dev/null; }

# install_unit NAME DIR < CONTENT: write the systemd unit if it changed and
# enable it; without a running systemd (a VM, a test) it is only written.
install_unit() {
	local name=$1 dir=$2 unit=$2/$1
	mkdir -p "$dir"
	cat >"$unit.tmp"
	local changed=true
	if cmp -s "$unit.tmp" "$unit"; then rm -f "$unit.tmp"; changed=false; else mv "$unit.tmp" "$unit"; fi
	if have_systemd; then
		# The unit re-runs its step at boot: no reload there unless it changed.
		if $changed; then run systemctl daemon-reload; fi
		if ! systemctl -q is-enabled "$name" 2>/dev/null; then run systemctl enable "$name"; fi
	else
		say "systemd is not running: $unit written, not enabled"
	fi
}

# boot_unit NAME DIR ENVFILE SCRIPT SECONDS DESCRIPTION [UNIT-LINE...]: a
# oneshot unit that re-runs SCRIPT at boot with the environment a step
# saved, bounded by SECONDS, ordered by the [Unit] lines given.
boot_unit() {
	local name=$1 dir=$2 env=$3 script=$4 secs=$5 description=$6 line
	shift 6
	{
		printf '[Unit]\nDescription=%s\n' "$description"
		for line in "$@"; do printf '%s\n' "$line"; done
		printf '\n[Service]\nType=oneshot\nRemainAfterExit=yes\nTimeoutStartSec=%s\n' "$secs"
		printf 'EnvironmentFile=%s\nExecStart=/usr/bin/env bash %s\n' "$env" "$script"
		printf '\n[Install]\nWantedBy=multi-user.target\n'
	} | install_unit "$name" "$dir"
}

# remove_unit NAME DIR: disable and delete a unit install_unit wrote.
remove_unit() {
	local name=$1 dir=$2
	[[ -f $dir/$name ]] || return 0
	if have_systemd; then run systemctl disable "$name" || true; fi
	rm -f "${dir:?}/$name"
	if have_systemd; then run systemctl daemon-reload || true; fi
	say "removed $name"
}

# Chart.js, the reports' charting library (prereqs fetches it, report.sh
# inlines it): the npm registry's tarball of this version, taken only when
# its SHA-512 is the one pinned here (the registry's dist.integrity, in hex).
CHARTJS_VERSION=4.5.0
CHARTJS_SHA512=698782fe30e0484c7c487599bc0358322a18319d8a5f4d96e9feae55fcad7ae08671a7432dc6151dd7ddca0b134244384ca9f9960868a2302c3e3e69bb44a7bd
CHARTJS_URL=https://registry.npmjs.org/chart.js/-/chart.js-$CHARTJS_VERSION.tgz

# chartjs_file: where the host keeps the library.
chartjs_file() { echo "$STATE_DIR/vendor/chart.js-$CHARTJS_VERSION.min.js"; }

# fetch_chartjs DEST [URL]: the library's minified UMD build into DEST, from
# the tarball at URL (default the registry's), if its digest is the pinned
# one; else says why on stderr and returns 1, leaving DEST as it was.
fetch_chartjs() {
	local dest=$1 url=${2:-$CHARTJS_URL} tmp sum
	tmp=$(mktemp -d)
	if ! curl -fsSL --retry 3 -o "$tmp/chart.tgz" "$url" 2>"$tmp/err"; then
		echo "cannot download $url: $(tail -n 1 "$tmp/err")" >&2
		rm -rf "$tmp"
		return 1
	fi
	sum=$(sha512sum "$tmp/chart.tgz" | cut -d' ' -f1)
	if [[ $sum != "$CHARTJS_SHA512" ]]; then
		echo "$url has SHA-512 ${sum:0:16}..., not Chart.js $CHARTJS_VERSION's pinned ${CHARTJS_SHA512:0:16}..." >&2
		rm -rf "$tmp"
		return 1
	fi
	if ! tar -xzf "$tmp/chart.tgz" -C "$tmp" package/dist/chart.umd.min.js 2>/dev/null; then
		echo "$url holds no package/dist/chart.umd.min.js" >&2
		rm -rf "$tmp"
		return 1
	fi
	mkdir -p "$(dirname "$dest")" && mv "$tmp/package/dist/chart.umd.min.js" "$dest.tmp" && mv "$dest.tmp" "$dest"
	rm -rf "$tmp"
}
