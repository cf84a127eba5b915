#!/usr/bin/env bash
# Nitro prerequisite check: is this a host the custom driver can be proven on?
# Prints one JSON object; exits non-zero, naming each failed requirement.
# input ENA_LAB_IMDS_URL optional(http://169.254.169.254)  instance metadata endpoint
# input ENA_LAB_SYSFS optional(/sys)  sysfs root (tests point it at a fake tree)
# input ENA_LAB_KERNEL_SERIES optional(6.1)  kernel series the driver series is built for
set -euo pipefail
STEP=${STEP:-nitro-check}
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

IMDS=${ENA_LAB_IMDS_URL:-http://169.254.169.254}
SYSFS=${ENA_LAB_SYSFS:-/sys}
SERIES=${ENA_LAB_KERNEL_SERIES:-6.1}
SB_VAR=SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c
problems=()

problem() { problems+=("$*"); say "FAIL: $*"; }

validate_inputs() {
	[[ $IMDS =~ ^http://[A-Za-z0-9.:-]+$ ]] || die "input ENA_LAB_IMDS_URL='$IMDS' is not an http://host[:port] URL"
	[[ -d $SYSFS ]] || die "input ENA_LAB_SYSFS='$SYSFS' is not a directory"
	[[ $SERIES =~ ^[0-9]+\.[0-9]+$ ]] || die "input ENA_LAB_KERNEL_SERIES='$SERIES' is not like 6.1"
}

TOKEN=""
imds_get() {
	curl -sf --max-time 5 -H "X-aws-ec2-metadata-token: $TOKEN" "$IMDS/latest/meta-data/$1"
}

check_imds() {
	say "IMDSv2 token"
	if ! TOKEN=$(curl -sf --max-time 5 -X PUT -H "X-aws-ec2-metadata-token-ttl-seconds: 60" "$IMDS/latest/api/token"); then
		problem "IMDSv2 token request to $IMDS failed"
		return
	fi
	IMDSV2=true
	local code
	code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$IMDS/latest/meta-data/instance-id" || true)
	if [[ $code == 401 ]]; then
		IMDSV1_OFF=true
	else
		problem "IMDSv1 answered without a token (HTTP $code): the instance must require tokens"
	fi
	INSTANCE_ID=$(imds_get instance-id || true)
	INSTANCE_TYPE=$(imds_get instance-type || true)
	PRIMARY_MAC=$(imds_get mac || true)
	[[ -n $PRIMARY_MAC ]] || problem "IMDS did not give the primary MAC address"
}

check_primary_driver() {
	say "primary interface driver"
	local dev
	for dev in "$SYSFS"/class/net/*; do
		[[ -f $dev/address ]] || continue
		if [[ $(<"$dev/address") == "${PRIMARY_MAC,,}" ]]; then
			PRIMARY_IF=${dev##*/}
			if [[ -L $dev/device/driver ]]; then
				PRIMARY_DRIVER=$(basename "$(readlink "$dev/device/driver")")
			fi
		fi
	done
	if [[ -z $PRIMARY_IF ]]; then
		problem "no interface has the primary MAC '$PRIMARY_MAC'"
	elif [[ $PRIMARY_DRIVER != ena ]]; then
		problem "primary interface $PRIMARY_IF is on driver '${PRIMARY_DRIVER:-none}', expected ena"
	fi
}

check_platform() {
	say "DMI vendor and kernel"
	DMI_VENDOR=$(cat "$SYSFS/class/dmi/id/sys_vendor" 2>/dev/null || true)
	[[ $DMI_VENDOR == "Amazon EC2" ]] ||
		problem "DMI vendor is '${DMI_VENDOR:-unknown}', expected 'Amazon EC2' (a Nitro instance)"
	KERNEL=$(uname -r)
	[[ $KERNEL == "$SERIES".* ]] ||
		problem "kernel $KERNEL is not in the $SERIES series this stack asks for (config kernel: $SERIES): boot an AMI of that series, or set kernel to its series"
}

check_module_policy() {
	say "Secure Boot and lockdown"
	local efivar=$SYSFS/firmware/efi/efivars/$SB_VAR
	if [[ ! -d $SYSFS/firmware/efi ]]; then
		SECURE_BOOT=not-uefi
	elif [[ -r $efivar ]]; then
		# 4 bytes of attributes, then the value byte.
		if [[ $(od -An -t u1 -j 4 -N 1 "$efivar" | tr -d ' ') == 1 ]]; then
			SECURE_BOOT=enabled
		else
			SECURE_BOOT=disabled
		fi
	else
		SECURE_BOOT=unknown
	fi
	local l
	l=$(cat "$SYSFS/kernel/security/lockdown" 2>/dev/null || true)
	if [[ $l =~ \[([a-z]+)\] ]]; then
		LOCKDOWN=${BASH_REMATCH[1]}
	else
		LOCKDOWN=unavailable
	fi
	case $LOCKDOWN in
	integrity | confidentiality)
		problem "kernel lockdown is '$LOCKDOWN' (Secure Boot: $SECURE_BOOT): it refuses unsigned modules, so ena_custom cannot load; use an instance without UEFI Secure Boot" ;;
	esac
}

print_result() {
	local ok=true p list=""
	((${#problems[@]} == 0)) || ok=false
	for p in "${problems[@]}"; do
		list+="${list:+,}$(json_str "$p")"
	done
	printf '{"ok":%s,"instanceId":%s,"instanceType":%s,"imdsv2":%s,"imdsv1Disabled":%s,' \
		"$ok" "$(json_str "$INSTANCE_ID")" "$(json_str "$INSTANCE_TYPE")" "$IMDSV2" "$IMDSV1_OFF"
	printf '"primaryInterface":%s,"primaryMac":%s,"primaryDriver":%s,"dmiVendor":%s,' \
		"$(json_str "$PRIMARY_IF")" "$(json_str "$PRIMARY_MAC")" "$(json_str "$PRIMARY_DRIVER")" "$(json_str "$DMI_VENDOR")"
	printf '"kernel":%s,"secureBoot":%s,"lockdown":%s,"problems":[%s]}\n' \
		"$(json_str "$KERNEL")" "$(json_str "$SECURE_BOOT")" "$(json_str "$LOCKDOWN")" "$list"
}

main() {
	init_step
	validate_inputs
	IMDSV2=false IMDSV1_OFF=false INSTANCE_ID="" INSTANCE_TYPE="" PRIMARY_MAC=""
	PRIMARY_IF="" PRIMARY_DRIVER="" DMI_VENDOR="" KERNEL="" SECURE_BOOT="" LOCKDOWN=""
	check_imds
	check_primary_driver
	check_platform
	check_module_policy
	print_result
	if ((${#problems[@]} > 0)); then
		die "this host cannot run the lab: ${problems[*]}"
	fi
	say "ok: $INSTANCE_TYPE $INSTANCE_ID, $PRIMARY_IF on ena, kernel $KERNEL"
}

main "$@"
