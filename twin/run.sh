#!/usr/bin/env bash
# The EC2 twin: a VPC in a network namespace and, in it, a Debian 12 VM that
# the lab cannot tell from an EC2 instance where it looks (DMI, IMDSv2, two
# ENAs, DHCP, amazon-ec2-net-utils).
#
#   twin/run.sh vpc DIR        make the VPC: namespace, bridge, DHCP, a git
#                              server; writes DIR/twin.env (addresses, MACs)
#   twin/run.sh launch DIR --instance-id ID --type T --ami AMI --key-name N --public-key FILE [--user-data FILE]
#                              serve IMDS for that instance and boot it
#   twin/run.sh stop DIR       power the instance off at once (as a
#                              terminated instance: no shutdown)
#   twin/run.sh down DIR       stop everything, delete the namespace
#   twin/run.sh ssh DIR [CMD]  ssh to the instance as its default user
#
# The VPC is the lab stack's default (10.42.0.0/16, its subnet the first
# /24), so the addresses the stack derives (gateway, prefix) are the twin's.
# It exists only inside the namespace: no clash with the machine's own.
#   vpc0  the bridge: 10.42.0.1 (the VPC router, DHCP, git),
#         10.42.0.2 and 169.254.169.253 (DNS), 169.254.169.254 (IMDS)
#   tap0  the instance's primary ENI (device 0), 10.42.0.10
#   tap1  the secondary ENI (device 1), 10.42.0.20
# Nothing in the namespace routes anywhere else: no traffic leaves it. The
# instance's disk is the cached image with snapshot=on: a launch always
# boots a fresh AMI, a reboot keeps what the instance wrote.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)

VPC_CIDR=10.42.0.0/16 SUBNET=10.42.0.0/24 ROUTER=10.42.0.1 IMDS_IP=169.254.169.254
# The Amazon-provided DNS: the VPC's base address plus two, and its
# link-local address; the domain EC2's DHCP options give in eu-west-1.
DNS_IP=10.42.0.2 DNS_LINK_IP=169.254.169.253 DOMAIN=eu-west-1.compute.internal
IP0=10.42.0.10 IP1=10.42.0.20
MAC0=0a:e1:ab:00:00:0a MAC1=0a:e1:ab:00:00:0b
VPC_MTU=9001
VCPUS=2 MEMORY_MB=2048
USER_NAME="admin" # the default user of Debian's AMIs (twin/rootfs/build.sh)

say() { echo "[twin] $*" >&2; }
die() { echo "[twin] error: $*" >&2; exit 1; }

usage_die() { die "$* (see the header of $0)"; }

# dir DIR: the twin's state directory, absolute; its namespace's name.
use_dir() {
	[[ -n ${1:-} ]] || usage_die "no DIR given"
	mkdir -p "$1"
	DIR=$(cd "$1" && pwd)
	NS=elab-twin-$(printf '%s' "$DIR" | sha256sum | cut -c1-8)
}

in_ns() { ip netns exec "$NS" "$@"; }

pid_alive() { [[ -f $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

kill_pidfile() {
	local f=$1 sig=${2:-TERM} pid i
	[[ -f $f ]] || return 0
	pid=$(cat "$f")
	if [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null; then
		kill "-$sig" "$pid" 2>/dev/null || true
		for ((i = 0; i < 50; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
	fi
	rm -f "$f"
}

# fixture_repo: a git repository made from the 2.15.0 fixture tree, as a
# fork of amzn-drivers would hold it, served to the VPC by git daemon.
fixture_repo() {
	local fixtures=${ENA_LAB_FIXTURES:-$ROOT/../shared/fixtures} repo=$DIR/git/amzn-drivers.git tmp
	[[ -d $repo ]] && return 0
	[[ -f $fixtures/amzn-drivers-ena_linux_2.15.0.tar.gz ]] || die "no 2.15.0 fixture tarball in $fixtures"
	tmp=$(mktemp -d "$DIR/.repo.XXXXXX")
	tar -xzf "$fixtures/amzn-drivers-ena_linux_2.15.0.tar.gz" -C "$tmp" --strip-components=1
	git -C "$tmp" init -q
	git -C "$tmp" add -A
	git -C "$tmp" -c user.name=twin -c user.email=twin@ena-lab.invalid commit -qm "amzn-drivers 2.15.0 (fixture)"
	git -C "$tmp" tag ena_linux_2.15.0
	mkdir -p "$DIR/git"
	git clone -q --bare "$tmp" "$repo"
	rm -rf "$tmp"
}

cmd_vpc() {
	use_dir "$1"
	"$ROOT/tools/apt-install.sh" dnsmasq-base iproute2 git openssh-client jq
	if ip netns list | grep -qw "$NS"; then
		say "the VPC of $DIR is up already (namespace $NS)"
	else
		ip netns add "$NS"
		in_ns ip link set lo up
		# A VPC carries jumbo frames (MTU 9001, which net-utils sets on
		# each ENI): so do the bridge and the taps.
		in_ns ip link add vpc0 mtu "$VPC_MTU" type bridge
		in_ns ip addr add "$ROUTER/24" dev vpc0
		in_ns ip addr add "$IMDS_IP/32" dev vpc0
		in_ns ip addr add "$DNS_IP/32" dev vpc0
		in_ns ip addr add "$DNS_LINK_IP/32" dev vpc0
		local t
		for t in tap0 tap1; do
			in_ns ip tuntap add dev "$t" mode tap
			in_ns ip link set "$t" mtu "$VPC_MTU" master vpc0 up
		done
		in_ns ip link set vpc0 up
	fi
	# DHCP as a VPC's: each MAC its fixed IP, the router, the Amazon DNS and
	# domain. DNS as the Amazon DNS answers inside a VPC without internet:
	# the instance's private names, NXDOMAIN at once for everything else
	# (a resolver that times out costs cloud-init 40 s at boot).
	pid_alive "$DIR/dnsmasq.pid" ||
		in_ns dnsmasq --conf-file=/dev/null --no-resolv --no-hosts --local='/#/' \
			--host-record="ip-${IP0//./-}.$DOMAIN,$IP0" --host-record="ip-${IP1//./-}.$DOMAIN,$IP1" \
			--interface=vpc0 --bind-interfaces --dhcp-range="${SUBNET%/*},static,255.255.255.0,1h" \
			--dhcp-host="$MAC0,$IP0" --dhcp-host="$MAC1,$IP1" --dhcp-option=option:router,"$ROUTER" \
			--dhcp-option=option:dns-server,"$DNS_IP" --dhcp-option=option:domain-name,"$DOMAIN" \
			--dhcp-leasefile="$DIR/dnsmasq.leases" --pid-file="$DIR/dnsmasq.pid" \
			--log-dhcp --log-facility="$DIR/dnsmasq.log" ||
		die "dnsmasq did not start (log: $DIR/dnsmasq.log)"
	fixture_repo
	pid_alive "$DIR/git.pid" ||
		in_ns git daemon --detach --reuseaddr --export-all --base-path="$DIR/git" --listen="$ROUTER" \
			--pid-file="$DIR/git.pid" ||
		die "git daemon did not start"
	cat >"$DIR/twin.env" <<-ENV
		NETNS=$NS
		VPC_CIDR=$VPC_CIDR
		SUBNET=$SUBNET
		ROUTER=$ROUTER
		DNS=$DNS_IP
		PRIMARY_MAC=$MAC0
		PRIMARY_IP=$IP0
		SECONDARY_MAC=$MAC1
		SECONDARY_IP=$IP1
		USER=$USER_NAME
		DRIVER_REPO=git://$ROUTER/amzn-drivers.git
		DRIVER_COMMIT=$(git -C "$DIR/git/amzn-drivers.git" rev-parse HEAD)
	ENV
	say "VPC up: namespace $NS, $SUBNET"
}

# imds_config ID TYPE AMI KEYNAME KEYFILE USERDATA: the instance as IMDS
# describes it (twin/metadata's Instance).
imds_config() {
	local id=$1 type=$2 ami=$3 keyname=$4 key userdata
	key=$(head -n 1 "$5")
	userdata=$(jq -Rs . <"$6")
	cat <<-JSON
		{
		  "instanceId": "$id",
		  "instanceType": "$type",
		  "amiId": "$ami",
		  "region": "eu-west-1",
		  "availabilityZone": "eu-west-1a",
		  "hostname": "ip-${IP0//./-}.$DOMAIN",
		  "publicKeys": [{"name": "$keyname", "openssh": "$key"}],
		  "userData": $userdata,
		  "interfaces": [
		    {"mac": "$MAC0", "deviceNumber": 0, "interfaceId": "eni-0twin000000000000", "localIpv4s": ["$IP0"],
		     "subnetId": "subnet-0twin0000000000", "subnetCidr": "$SUBNET", "vpcId": "vpc-0twin00000000000",
		     "vpcCidrs": ["$VPC_CIDR"], "securityGroupIds": ["sg-0twin000000000000"]},
		    {"mac": "$MAC1", "deviceNumber": 1, "interfaceId": "eni-1twin000000000000", "localIpv4s": ["$IP1"],
		     "subnetId": "subnet-0twin0000000000", "subnetCidr": "$SUBNET", "vpcId": "vpc-0twin00000000000",
		     "vpcCidrs": ["$VPC_CIDR"], "securityGroupIds": ["sg-0twin000000000000"]}
		  ]
		}
	JSON
}

cmd_launch() {
	use_dir "$1"
	shift
	local id="" type="" ami="" keyname="" keyfile="" userdata=/dev/null
	while (($#)); do
		[[ $# -ge 2 ]] || usage_die "option $1 needs a value"
		case $1 in
		--instance-id) id=$2 ;;
		--type) type=$2 ;;
		--ami) ami=$2 ;;
		--key-name) keyname=$2 ;;
		--public-key) keyfile=$2 ;;
		--user-data) userdata=$2 ;;
		*) usage_die "unknown launch option '$1'" ;;
		esac
		shift 2
	done
	[[ $id =~ ^i-[0-9a-f]{8,17}$ ]] || usage_die "--instance-id '$id' is not an EC2 instance id (i-<hex>)"
	[[ $type =~ ^[a-z][a-z0-9-]*\.[a-z0-9]+$ ]] || usage_die "--type '$type' is not an instance type"
	[[ $ami =~ ^ami-[0-9a-f]{8,17}$ ]] || usage_die "--ami '$ami' is not an AMI id"
	[[ $keyname =~ ^[A-Za-z0-9._-]+$ ]] || usage_die "--key-name '$keyname' is not a key pair name"
	{ [[ -f $keyfile ]] && grep -qE '^ssh-(ed25519|rsa) ' "$keyfile"; } || usage_die "--public-key '$keyfile' is not an OpenSSH public key file"
	[[ -r $userdata ]] || usage_die "--user-data '$userdata' is not readable"
	[[ -f $DIR/twin.env ]] || die "no VPC in $DIR: run '$0 vpc $DIR' first"
	pid_alive "$DIR/qemu.pid" && die "an instance is running in $DIR already (stop it first)"
	local qemu rootfs imds
	qemu=$("$ROOT/qemu/build.sh")
	rootfs=$("$HERE/rootfs/build.sh")
	imds=$("$HERE/metadata/build.sh")
	imds_config "$id" "$type" "$ami" "$keyname" "$keyfile" "$userdata" >"$DIR/imds.json"
	kill_pidfile "$DIR/imds.pid"
	# ip netns exec execs the server: $! is its pid (a shell function's
	# would be a subshell's, and killing that leaves the server running).
	ip netns exec "$NS" "$imds" --config "$DIR/imds.json" --listen "$IMDS_IP:80" >>"$DIR/imds.log" 2>&1 &
	echo $! >"$DIR/imds.pid"
	# EC2's DMI: the vendor, the type as product, a uuid and serial that
	# begin with "ec2" (what cloud-init's EC2 detection reads).
	local h uuid
	h=$(printf '%s' "$id" | sha256sum)
	uuid=ec2${h:0:5}-${h:5:4}-${h:9:4}-${h:13:4}-${h:17:12}
	say "booting $id ($type) from $rootfs, console $DIR/console.log"
	: >"$DIR/console.log"
	in_ns "$qemu" -L /usr/share/qemu -L /usr/share/seabios -L /usr/lib/ipxe/qemu \
		-machine q35 -accel tcg -cpu max -smp "$VCPUS" -m "$MEMORY_MB" -nodefaults -display none \
		-uuid "$uuid" -smbios "type=1,manufacturer=Amazon EC2,product=$type,serial=$uuid,uuid=$uuid" \
		-kernel "$rootfs/vmlinuz" -initrd "$rootfs/initrd.img" \
		-append "root=/dev/vda rw console=ttyS0" \
		-drive "file=$rootfs/disk.img,format=raw,if=none,id=root,snapshot=on" -device virtio-blk-pci,drive=root \
		-netdev tap,id=eni0,ifname=tap0,script=no,downscript=no -device "ena,netdev=eni0,mac=$MAC0" \
		-netdev tap,id=eni1,ifname=tap1,script=no,downscript=no -device "ena,netdev=eni1,mac=$MAC1" \
		-serial "file:$DIR/console.log" -monitor none -qmp "unix:$DIR/qmp.sock,server=on,wait=off" \
		-pidfile "$DIR/qemu.pid" -daemonize >"$DIR/qemu.out" 2>&1 ||
		die "QEMU did not start: $(tail -n 3 "$DIR/qemu.out")"
}

cmd_stop() {
	use_dir "$1"
	kill_pidfile "$DIR/qemu.pid" KILL
}

cmd_down() {
	use_dir "$1"
	local f
	for f in qemu imds dnsmasq git; do kill_pidfile "$DIR/$f.pid"; done
	# Whatever still runs in the namespace keeps it alive: stop it too, but
	# not our caller (a test whose dialling thread joined the namespace).
	local -a pids=()
	local p
	while read -r p; do
		[[ $p == "$PPID" || $p == "$$" ]] || pids+=("$p")
	done < <(ip netns pids "$NS" 2>/dev/null || true)
	((${#pids[@]} == 0)) || kill -KILL "${pids[@]}" 2>/dev/null || true
	ip netns delete "$NS" 2>/dev/null || true
	say "VPC of $DIR down"
}

cmd_ssh() {
	use_dir "$1"
	shift
	[[ -f $DIR/id_ed25519 ]] || die "no private key at $DIR/id_ed25519"
	# exec: a caller that holds the session open stops it by signalling us.
	# Keep-alives: a session across a primary ENI that drops ends within 15 s.
	exec ip netns exec "$NS" ssh -i "$DIR/id_ed25519" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
		-o ConnectTimeout=5 -o ServerAliveInterval=5 -o ServerAliveCountMax=3 -o LogLevel=ERROR "$USER_NAME@$IP0" "$@"
}

main() {
	[[ $(id -u) == 0 ]] || die "the twin makes network namespaces and taps: run it as root"
	local cmd=${1:-}
	shift || true
	case $cmd in
	vpc) cmd_vpc "$@" ;;
	launch) cmd_launch "$@" ;;
	stop) cmd_stop "$@" ;;
	down) cmd_down "$@" ;;
	ssh) cmd_ssh "$@" ;;
	*) usage_die "unknown command '$cmd'" ;;
	esac
}

main "$@"
