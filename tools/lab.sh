#!/usr/bin/env bash
# Run the lab's Pulumi stack with no Pulumi account: a local file backend, a
# stack named after you, and a passphrase kept in a private file.
#   tools/lab.sh up|preview|destroy|outputs [extra pulumi args]
#   tools/lab.sh ssh [ssh args]   log in to the lab host with the stack's key
# Environment (all optional):
#   ENA_LAB_BACKEND     Pulumi backend URL (default file://$HOME/.ena-lab/state)
#   ENA_LAB_STACK       stack name (default: the selected stack, else $USER)
#   PULUMI_CONFIG_PASSPHRASE / PULUMI_CONFIG_PASSPHRASE_FILE  as Pulumi reads them;
#                       if neither is set, $HOME/.ena-lab/passphrase is created once
#   AWS_REGION          region for a new stack (default eu-west-1)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

say() { echo "[lab] $*" >&2; }
die() { echo "[lab] error: $*" >&2; exit 1; }

require_tools() {
	command -v pulumi >/dev/null || die "the Pulumi CLI is not installed: https://www.pulumi.com/docs/install/"
	command -v go >/dev/null || die "Go is not installed (the program is Go; see go.mod for the version)"
}

setup_backend() {
	local dir="$HOME/.ena-lab"
	export PULUMI_BACKEND_URL=${ENA_LAB_BACKEND:-${PULUMI_BACKEND_URL:-file://$dir/state}}
	if [[ $PULUMI_BACKEND_URL == file://* ]]; then
		mkdir -p "${PULUMI_BACKEND_URL#file://}"
	fi
	if [[ -z ${PULUMI_CONFIG_PASSPHRASE:-} && -z ${PULUMI_CONFIG_PASSPHRASE_FILE:-} ]]; then
		export PULUMI_CONFIG_PASSPHRASE_FILE="$dir/passphrase"
		if [[ ! -s $PULUMI_CONFIG_PASSPHRASE_FILE ]]; then
			(umask 077 && mkdir -p "$dir" && head -c 32 /dev/urandom | base64 >"$PULUMI_CONFIG_PASSPHRASE_FILE")
			say "created $PULUMI_CONFIG_PASSPHRASE_FILE: it encrypts the stack's secrets (the SSH key); keep it"
		fi
	fi
	say "backend $PULUMI_BACKEND_URL"
}

select_stack() {
	local stack=${ENA_LAB_STACK:-}
	if [[ -z $stack ]]; then
		stack=$(pulumi stack --show-name 2>/dev/null || true)
	fi
	stack=${stack:-${USER:-$(id -un)}}
	[[ $stack =~ ^[A-Za-z0-9_.-]+$ ]] || die "stack name '$stack' may hold only letters, digits, _ . -"
	if pulumi stack select "$stack" >/dev/null 2>&1; then
		say "stack $stack"
	else
		pulumi stack init "$stack" >/dev/null
		pulumi config set aws:region "${AWS_REGION:-eu-west-1}"
		say "created stack $stack in ${AWS_REGION:-eu-west-1} (change: pulumi config set aws:region ...)"
	fi
}

# ssh_host: the private key lives only in the stack state; put it in a
# private file and log in as the AL2023 user.
ssh_host() {
	local stack ip key
	stack=$(pulumi stack --show-name)
	ip=$(pulumi stack output publicIp 2>/dev/null) || die "stack $stack has no publicIp output: run make up first"
	[[ $ip =~ ^[0-9]+(\.[0-9]+){3}$ ]] || die "stack $stack's publicIp '$ip' is not an IPv4 address"
	key=$HOME/.ssh/ena-lab-$stack
	mkdir -p "$HOME/.ssh"
	(umask 077 && pulumi stack output --show-secrets privateKey >"$key")
	exec ssh -i "$key" -o IdentitiesOnly=yes "ec2-user@$ip" "$@"
}

main() {
	local action=${1:-}
	[[ $# -gt 0 ]] && shift
	case $action in
	up | preview | destroy | outputs | ssh) ;;
	*) die "usage: tools/lab.sh up|preview|destroy|outputs|ssh [args], got '${action}'" ;;
	esac
	require_tools
	setup_backend
	select_stack
	case $action in
	up) pulumi up "$@" ;;
	preview) pulumi preview "$@" ;;
	destroy) pulumi destroy "$@" ;;
	outputs) pulumi stack output "$@" ;;
	ssh) ssh_host "$@" ;;
	esac
}

main "$@"
