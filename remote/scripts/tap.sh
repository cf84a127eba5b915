#!/usr/bin/env bash
# The lab ENI under ena-tap, the Rust userspace driver, as a systemd service:
# ena-tap takes the ENI's PCI function from its kernel driver (ena_custom,
# pinned there by the bind step), drives it from userspace and bridges it to
# a TAP interface with the ENI's MAC; the TAP then takes the ENI's place in
# the lab namespace (netns.sh), with its IP and route, so the validate step
# measures through it. When ena-tap stops, for any reason, the ENI goes back
# to its kernel driver and into the namespace: the lab as the bind and netns
# steps left it. The primary ENI is never touched.
#   tap.sh up        start the service, prove a ping through it (idempotent)
#   tap.sh down      stop and remove the service (the step's Delete)
#   tap.sh prepare   the unit's ExecStartPre: hugepages for ena-tap's DMA memory
#   tap.sh attach    the unit's ExecStartPost: the TAP into the namespace
#   tap.sh restore   the unit's ExecStopPost: the ENI back, into the namespace
# input ENA_LAB_MAC required  MAC address of the lab NIC (the secondary ENI)
# input ENA_LAB_PRIMARY_MAC required  MAC of the primary ENI (instance metadata): never taken
# input ENA_LAB_IP required  the NIC's private IPv4 address (the TAP gets it)
# input ENA_LAB_PREFIX required  prefix length of its subnet
# input ENA_LAB_GATEWAY required  the subnet router
# input ENA_LAB_SERVER_IP optional  an address to ping through the TAP (the primary ENI's); up requires it
# input ENA_LAB_TAP_BIN optional  the ena-tap binary (the tap-build step's); up requires it
# input ENA_LAB_EXPECT_VERSION optional  the version the binary must report
# input ENA_LAB_NETNS optional(ena-lab)  namespace of the lab NIC
# input ENA_LAB_TAP optional(enatap0)  name of the TAP interface
# input ENA_LAB_TAP_QUEUES optional(2)  queue pairs ena-tap brings up (RSS spreads Rx over them)
# input ENA_LAB_MTU optional(9001)  MTU of the device and the TAP
# input ENA_LAB_TAP_HUGEPAGES optional(64)  free 2 MiB hugepages to have before ena-tap starts
# input ENA_LAB_TIMEOUT optional(60)  seconds to wait for the TAP, or for the ENI to come back
# input ENA_LAB_SYSTEMD_DIR optional(/etc/systemd/system)  where the unit goes
# input ENA_LAB_LINK_DIR optional(/etc/systemd/network)  where the TAP's udev .link file goes
set -euo pipefail
STEP=${STEP:-tap}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
source "$HERE/lib.sh"

NS=${ENA_LAB_NETNS:-ena-lab}
TAP=${ENA_LAB_TAP:-enatap0}
QUEUES=${ENA_LAB_TAP_QUEUES:-2}
MTU=${ENA_LAB_MTU:-9001}
HUGEPAGES=${ENA_LAB_TAP_HUGEPAGES:-64}
TIMEOUT=${ENA_LAB_TIMEOUT:-60}
UNIT_DIR=${ENA_LAB_SYSTEMD_DIR:-/etc/systemd/system}
UNIT=ena-lab-tap.service
LINK_DIR=${ENA_LAB_LINK_DIR:-/etc/systemd/network}
# Sorted before 99-default.link, whose MACAddressPolicy=persistent udev
# applies to every new interface: it gave the TAP a MAC of its own while
# ena-tap was setting the ENI's (seen on the twin, Debian 12's udev).
LINK=10-ena-lab-tap.link
ENV_FILE=$STATE_DIR/tap.env
# The hugepage count before the first start, given back by down.
PAGES_FILE=$STATE_DIR/tap.hugepages
NR_HUGEPAGES=/proc/sys/vm/nr_hugepages
# ena-tap's counters, rewritten every second while it runs (validate reads them).
STATS=/run/ena-lab-tap/stats

validate_inputs() {
	require_mac ENA_LAB_MAC
	require_not_primary
	require_ipv4 ENA_LAB_IP
	require_int ENA_LAB_PREFIX 8 30
	require_ipv4 ENA_LAB_GATEWAY
	ENA_LAB_NETNS=$NS require_name ENA_LAB_NETNS
	ENA_LAB_TAP=$TAP require_name ENA_LAB_TAP
	((${#TAP} <= 15)) || die "input ENA_LAB_TAP='$TAP' is longer than an interface name may be (15)"
	ENA_LAB_TAP_QUEUES=$QUEUES require_int ENA_LAB_TAP_QUEUES 1 8
	ENA_LAB_MTU=$MTU require_int ENA_LAB_MTU 576 9216
	ENA_LAB_TAP_HUGEPAGES=$HUGEPAGES require_int ENA_LAB_TAP_HUGEPAGES 8 4096
	ENA_LAB_TIMEOUT=$TIMEOUT require_int ENA_LAB_TIMEOUT 5 600
	require_version ENA_LAB_EXPECT_VERSION
	MAC=$ENA_LAB_MAC
}

validate_up_inputs() {
	require_ipv4 ENA_LAB_SERVER_IP
	BIN=${ENA_LAB_TAP_BIN:-}
	[[ $BIN == /* && -x $BIN ]] || die "input ENA_LAB_TAP_BIN='$BIN' is not an executable file (the tap-build step builds it)"
	VERSION=$({ "$BIN" --version 2>/dev/null || true; } | sed -n 's/^ena-tap //p')
	[[ -n $VERSION ]] || die "$BIN --version does not say 'ena-tap VERSION': is it ena-tap?"
	if [[ -n ${ENA_LAB_EXPECT_VERSION:-} && $VERSION != "$ENA_LAB_EXPECT_VERSION" ]]; then
		die "$BIN is ena-tap $VERSION, expected $ENA_LAB_EXPECT_VERSION"
	fi
}

# netns: netns.sh on whichever interface holds the MAC (the TAP, or
# the ENI back on its driver), without its boot unit (the netns step's is
# in place).
netns() {
	STEP=tap-netns ENA_LAB_PERSIST=0 ENA_LAB_MTU=$MTU bash "$HERE/netns.sh" >>"$LOG"
}

# on_tap: the MAC is on our TAP, in the namespace.
on_tap() { find_nic "$MAC" "$NS" && [[ $NIC_NS == "$NS" && $NIC_IF == "$TAP" && $(driver_of "$NIC_IF" "$NS") == tun ]]; }

# eni_back: the MAC is on the ENI again (a kernel driver's interface).
eni_back() { find_nic "$MAC" "$NS" && [[ $(driver_of "$NIC_IF" "$NIC_NS") != tun ]]; }

# env_value NAME: ENA_LAB_TAP_NAME as the running service was given it ("" without one).
env_value() { if [[ -r $ENV_FILE ]]; then sed -n "s/^ENA_LAB_TAP_$1=\"\(.*\)\"\$/\1/p" "$ENV_FILE"; fi; }

# locate: the ENI's PCI function and kernel driver, from its interface.
locate() {
	find_nic "$MAC" "$NS" || die "no interface has MAC $MAC, here or in namespace $NS (the bind and netns steps put it there)"
	if [[ $(driver_of "$NIC_IF" "$NIC_NS") == tun ]]; then
		# Ours already: what the running service was given.
		[[ -r $ENV_FILE ]] || die "$NIC_IF holds $MAC but is no ENI, and no ena-tap service of the lab runs it"
		BDF=$(env_value BDF) PREVIOUS=$(env_value PREVIOUS)
		return
	fi
	BDF=$(basename "$(in_ns "$NIC_NS" readlink -f "/sys/class/net/$NIC_IF/device")")
	[[ -d /sys/bus/pci/devices/$BDF ]] || die "$NIC_IF ($MAC) is not a PCI device ($BDF)"
	PREVIOUS=$(pci_driver "$BDF")
}

# unit: the service, with the values of this run written in (systemctl cat shows them).
unit() {
	local self
	self=$(readlink -f "${BASH_SOURCE[0]}")
	cat <<EOF
[Unit]
Description=ENA lab: ena-tap, the Rust userspace driver, on the lab ENI ($MAC, $BDF)
After=ena-lab-netns.service
Wants=ena-lab-netns.service

[Service]
Type=notify
EnvironmentFile=$ENV_FILE
RuntimeDirectory=ena-lab-tap
ExecStartPre=/usr/bin/env bash $self prepare
ExecStart=$BIN --pci $BDF --tap $TAP --queues $QUEUES --mtu $MTU --stats $STATS
ExecStartPost=/usr/bin/env bash $self attach
ExecStopPost=/usr/bin/env bash $self restore
TimeoutStartSec=$((2 * TIMEOUT + 30))
TimeoutStopSec=$((2 * TIMEOUT + 30))
Restart=no

[Install]
WantedBy=multi-user.target
EOF
}

# link_file: udev leaves the TAP's MAC to ena-tap.
link_file() { printf '[Match]\nOriginalName=%s\n\n[Link]\nMACAddressPolicy=none\n' "$TAP"; }

reload_udev() { if command -v udevadm >/dev/null && [[ -d /run/udev ]]; then run udevadm control --reload || true; fi; }

install_link() {
	link_file | cmp -s - "$LINK_DIR/$LINK" && return 0
	mkdir -p "$LINK_DIR"
	link_file >"$LINK_DIR/$LINK"
	reload_udev
	say "wrote $LINK_DIR/$LINK (udev keeps $TAP's MAC as ena-tap sets it)"
}

remove_link() {
	[[ -f $LINK_DIR/$LINK ]] || return 0
	rm -f "$LINK_DIR/$LINK"
	reload_udev
	say "removed $LINK"
}

write_env_file() {
	write_env "${1:-$ENV_FILE}" ENA_LAB_MAC="$MAC" ENA_LAB_PRIMARY_MAC="$ENA_LAB_PRIMARY_MAC" ENA_LAB_IP="$ENA_LAB_IP" \
		ENA_LAB_PREFIX="$ENA_LAB_PREFIX" ENA_LAB_GATEWAY="$ENA_LAB_GATEWAY" ENA_LAB_NETNS="$NS" ENA_LAB_TAP="$TAP" \
		ENA_LAB_TAP_QUEUES="$QUEUES" ENA_LAB_MTU="$MTU" ENA_LAB_TAP_HUGEPAGES="$HUGEPAGES" ENA_LAB_TIMEOUT="$TIMEOUT" \
		ENA_LAB_TAP_BDF="$BDF" ENA_LAB_TAP_PREVIOUS="$PREVIOUS" ENA_LAB_TAP_BIN="$BIN" \
		ENA_LAB_STATE_DIR="$STATE_DIR" ENA_LAB_LOG_DIR="$LOG_DIR" ENA_LAB_SYSTEMD_DIR="$UNIT_DIR" ENA_LAB_LINK_DIR="$LINK_DIR"
}

# journal: the service's last words, for an error message.
journal() { journalctl -q -u "$UNIT" -n "${1:-6}" --no-pager -o cat 2>/dev/null | tr '\n' ' ' | tail -c 2000; }

# fail_up WHY: the service stopped and removed, the ENI back as bind and
# netns left it, then the step fails: nothing half-done stays. Were the
# ENI not back, the env file stays for down (the step's Delete) to retry.
fail_up() {
	local why=$1 said where
	said=$(journal 30)
	say "$why: stopping ena-tap, the ENI goes back to ${PREVIOUS:-its driver}"
	if give_up_eni; then
		where="$MAC is back on $(driver_of "$NIC_IF" "$NIC_NS") as $NIC_IF${NIC_NS:+ in $NIC_NS}"
	else
		where="$MAC did not come back on a kernel driver (state kept in $ENV_FILE for a retry)"
	fi
	die "$why. $where. ena-tap said: $said"
}

# release_hugepages: nr_hugepages back to what it was before ena-tap first ran.
release_hugepages() {
	[[ -f $PAGES_FILE ]] || return 0
	echo "$(<"$PAGES_FILE")" >"$NR_HUGEPAGES" || true
	say "hugepages back to $(<"$NR_HUGEPAGES")"
	rm -f "$PAGES_FILE"
}

# give_back BDF PREVIOUS: a function ena-tap left on no driver (killed
# before its own hand-back, or the probe then failed) goes back to
# PREVIOUS, pinned there as bind pinned it. Only once ena-tap has stopped:
# while it runs the function has no kernel driver by design.
give_back() {
	local bdf=$1 previous=$2 dev=/sys/bus/pci/devices/$1
	[[ -n $bdf && -d $dev && -z $(pci_driver "$bdf") ]] || return 0
	say "$bdf has no driver after ena-tap: giving it back to ${previous:-the kernel}"
	echo "$previous" >"$dev/driver_override" 2>>"$LOG" || true
	echo "$bdf" >/sys/bus/pci/drivers_probe 2>>"$LOG" || true
}

# give_up_eni: ena-tap stopped, its unit removed, the ENI on its kernel
# driver in the namespace, the hugepages and env file released; returns 1
# (unit removed, env file kept) when the ENI did not come back.
give_up_eni() {
	local bdf previous
	bdf=$(env_value BDF) previous=$(env_value PREVIOUS)
	if have_systemd && systemctl -q is-active "$UNIT"; then
		say "stopping ena-tap"
		run systemctl stop "$UNIT" || true
	fi
	if have_systemd && [[ -f $UNIT_DIR/$UNIT ]]; then run systemctl reset-failed "$UNIT" || true; fi
	remove_unit "$UNIT" "$UNIT_DIR"
	remove_link
	give_back "$bdf" "$previous"
	if [[ -n $bdf && ! -d /sys/bus/pci/devices/$bdf ]] && ! find_nic "$MAC" "$NS"; then
		say "$bdf is gone (the ENI was detached): nothing to give back"
	else
		retry_for "$TIMEOUT" eni_back || return 1
		if [[ $NIC_NS != "$NS" ]] && ns_exists "$NS"; then
			netns || { say "cannot put $NIC_IF back in $NS (log: $LOG)"; return 1; }
		fi
	fi
	release_hugepages
	rm -f "$ENV_FILE"
}

# same_service: the running service is the one this run would start.
same_service() {
	local env same=1
	systemctl -q is-active "$UNIT" && on_tap && [[ -r $ENV_FILE ]] || return 1
	env=$(mktemp)
	write_env_file "$env"
	if cmp -s "$env" "$ENV_FILE" && unit | cmp -s - "$UNIT_DIR/$UNIT" && link_file | cmp -s - "$LINK_DIR/$LINK"; then same=0; fi
	rm -f "$env"
	return "$same"
}

up() {
	local changed=false
	validate_up_inputs
	have_systemd || die "ena-tap runs as a systemd service, and systemd is not running here"
	locate
	if same_service; then
		say "ena-tap $VERSION already drives $BDF ($MAC) as $TAP in $NS: nothing to do"
	else
		# The old instance gives the ENI back before anything of the new is written.
		if systemctl -q is-active "$UNIT"; then
			say "restarting ena-tap on $BDF with new settings"
			run systemctl stop "$UNIT" || true
			retry_for "$TIMEOUT" eni_back || fail_up "$MAC did not come back from the old ena-tap"
			locate
		fi
		write_env_file
		install_link
		unit | install_unit "$UNIT" "$UNIT_DIR"
		say "starting ena-tap $VERSION on $BDF ($MAC, on ${PREVIOUS:-no driver}): $QUEUES queue pairs, MTU $MTU, TAP $TAP"
		run systemctl start "$UNIT" || fail_up "ena-tap did not come up"
		changed=true
	fi
	on_tap || fail_up "$MAC is not on $TAP in $NS"
	say "ping $ENA_LAB_SERVER_IP through $TAP"
	in_ns "$NS" ping -c 3 -i 0.2 -W 3 "$ENA_LAB_SERVER_IP" >>"$LOG" 2>&1 ||
		fail_up "no ping reply from $ENA_LAB_SERVER_IP through $TAP in $NS"
	say "ok: ena-tap $VERSION drives $BDF ($MAC) as $TAP in $NS"
	printf '{"driver":"ena-tap","version":%s,"bdf":%s,"mac":%s,"interface":%s,"namespace":%s,"queues":%s,"mtu":%s,"previousDriver":%s,"service":%s,"changed":%s,"log":%s}\n' \
		"$(json_str "$VERSION")" "$(json_str "$BDF")" "$(json_str "$MAC")" "$(json_str "$TAP")" "$(json_str "$NS")" \
		"$QUEUES" "$MTU" "$(json_str "$PREVIOUS")" "$(json_str "$UNIT")" "$changed" "$(json_str "$LOG")"
}

# free_hugepages: 2 MiB pages free now.
free_hugepages() { awk '$1 == "HugePages_Free:" { print $2 }' /proc/meminfo; }

prepare() {
	local free total want
	mountpoint -q /dev/hugepages || { mkdir -p /dev/hugepages && mount -t hugetlbfs none /dev/hugepages; }
	free=$(free_hugepages)
	((free >= HUGEPAGES)) && return 0
	total=$(<"$NR_HUGEPAGES")
	[[ -f $PAGES_FILE ]] || echo "$total" >"$PAGES_FILE"
	want=$((total + HUGEPAGES - free))
	echo "$want" >"$NR_HUGEPAGES"
	free=$(free_hugepages)
	((free >= HUGEPAGES)) || die "only $free of $HUGEPAGES hugepages could be reserved (nr_hugepages $want): memory is short or fragmented"
	say "reserved hugepages: nr_hugepages $total -> $want"
}

attach() {
	# ena-tap said READY (Type=notify) once its TAP was up, by name, with
	# the ENI's MAC: the TAP may move now, once udev is done with it.
	settle_udev 10
	if ! [[ -n $(iface_by_mac "$MAC" "") || -n $(iface_by_mac "$MAC" "$NS") ]] || eni_back; then
		die "ena-tap is ready, yet no TAP has $MAC; links here: $(ip -br link show | awk '{ print $1, $3 }' | tr '\n' ' ')"
	fi
	netns || die "cannot configure $TAP in $NS (log: $LOG)"
	say "$TAP ($MAC) configured in $NS"
}

restore() {
	give_back "${ENA_LAB_TAP_BDF:-}" "${ENA_LAB_TAP_PREVIOUS:-}"
	retry_for "$TIMEOUT" eni_back || die "$MAC did not come back on a kernel driver after ena-tap (driver: $(pci_driver "$ENA_LAB_TAP_BDF"))"
	netns || die "cannot put $NIC_IF ($MAC) back in $NS (log: $LOG)"
	say "$MAC is back on $(pci_driver "$ENA_LAB_TAP_BDF") in $NS"
}

down() {
	local ifc="" drv=""
	if [[ -f $UNIT_DIR/$UNIT || -f $ENV_FILE || -f $LINK_DIR/$LINK ]]; then
		give_up_eni || die "$MAC is not back on a kernel driver after ena-tap stopped ($(env_value BDF) on '$(pci_driver "$(env_value BDF)")'): $ENV_FILE kept for a retry"
	else
		release_hugepages
	fi
	if find_nic "$MAC" "$NS"; then ifc=$NIC_IF drv=$(driver_of "$NIC_IF" "$NIC_NS"); fi
	printf '{"removed":true,"interface":%s,"driver":%s,"log":%s}\n' "$(json_str "$ifc")" "$(json_str "$drv")" "$(json_str "$LOG")"
}

main() {
	init_step
	validate_inputs
	case ${1:-up} in
	up) up ;;
	down) down ;;
	prepare) prepare ;;
	attach) attach ;;
	restore) restore ;;
	*) die "unknown action '$1' (up, down, prepare, attach or restore)" ;;
	esac
}

main "$@"
