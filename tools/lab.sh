#!/usr/bin/env bash
# Run the lab's Pulumi stack with no Pulumi account: a local file backend, a
# stack named after you, and a passphrase kept in a private file.
#   tools/lab.sh up|preview|destroy|outputs [extra pulumi args]
#   tools/lab.sh ssh [ssh args]   log in to the lab host with the stack's key
#   tools/lab.sh recover          after the host is gone (safety TTL, spot):
#                                 forget it and its host steps; `up` makes anew
#   tools/lab.sh report           the host's validation reports into
#                                 reports/<stack>/, and index.html: the newest
#                                 with the trend of every run fetched so far
# Environment (all optional):
#   ENA_LAB_BACKEND     Pulumi backend URL (default file://$HOME/.ena-lab/state)
#   ENA_LAB_STACK       stack name (default: the selected stack, else $USER)
#   PULUMI_CONFIG_PASSPHRASE / PULUMI_CONFIG_PASSPHRASE_FILE  as Pulumi reads them;
#                       if neither is set, $HOME/.ena-lab/passphrase is created once
#   AWS_REGION          region for a new stack (default eu-west-1)
#   ENA_LAB_REPORTS     where `report` keeps each stack's reports (default reports)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

say() { echo "[lab] $*" >&2; }
die() { echo "[lab] error: $*" >&2; exit 1; }

# The engine honours the instance's replacement trigger from 3.208 on; an
# older one ignores it silently and would modify the lab in place.
MIN_PULUMI=3.208.0

require_tools() {
	command -v pulumi >/dev/null || die "the Pulumi CLI is not installed: https://www.pulumi.com/docs/install/"
	command -v go >/dev/null || die "Go is not installed (the program is Go; see go.mod for the version)"
	local v
	v=$(pulumi version 2>/dev/null | sed 's/^v//')
	[[ $v =~ ^[0-9]+\.[0-9]+\.[0-9]+ ]] || die "cannot tell the Pulumi CLI's version (pulumi version said '$v')"
	if [[ $(printf '%s\n%s\n' "$MIN_PULUMI" "${BASH_REMATCH[0]}" | sort -V | head -n 1) != "$MIN_PULUMI" ]]; then
		die "the Pulumi CLI is $v; the lab needs $MIN_PULUMI or newer (pulumi.com/docs/install)"
	fi
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

# login: the private key lives only in the stack state; put it in a
# private file. Sets SSH to the command that logs in as the distribution's user.
login() {
	local stack ip key user
	stack=$(pulumi stack --show-name)
	user=$(pulumi stack output sshUser 2>/dev/null || echo ec2-user)
	[[ $user =~ ^[a-z_][a-z0-9_-]*$ ]] || die "stack $stack's sshUser '$user' is not a user name"
	ip=$(pulumi stack output publicIp 2>/dev/null) || die "stack $stack has no publicIp output: run make up first"
	[[ $ip =~ ^[0-9]+(\.[0-9]+){3}$ ]] || die "stack $stack's publicIp '$ip' is not an IPv4 address"
	key=$HOME/.ssh/ena-lab-$stack
	mkdir -p "$HOME/.ssh"
	(umask 077 && pulumi stack output --show-secrets privateKey >"$key")
	SSH=(ssh -i "$key" -o IdentitiesOnly=yes "$user@$ip")
}

ssh_host() {
	login
	exec "${SSH[@]}" "$@"
}

# report: the host keeps each validation's record and page in
# /var/lib/ena-lab/reports (and Chart.js in vendor/); they join those of the
# stack's earlier hosts in reports/<stack>/, and index.html shows the newest
# with the trend of all of them (remote/scripts/report.sh, as on the host).
report() {
	local stack dir latest n chartjs
	command -v jq >/dev/null || die "jq is not installed (the report pages are assembled with it)"
	login
	stack=$(pulumi stack --show-name)
	dir=${ENA_LAB_REPORTS:-reports}/$stack
	mkdir -p "$dir"
	say "fetching the reports of stack $stack's host"
	if ! "${SSH[@]}" 'sudo tar -C /var/lib/ena-lab -cf - reports vendor' | tar -C "$dir" -xf -; then
		die "cannot fetch the reports from the host (make ssh logs in the same way; make up runs validate, which writes them)"
	fi
	n=$(find "$dir/reports" -maxdepth 1 -name '*.json' 2>/dev/null | wc -l)
	((n > 0)) || die "the host has no validation records yet: make up runs validate, which writes them"
	latest=$(find "$dir/reports" -maxdepth 1 -name '*.json' -print0 | xargs -0 jq -r 'select(.mode == "validate") | "\(.measuredAt) \(input_filename)"' |
		sort -n | tail -n 1 | cut -d' ' -f2-)
	chartjs=$(find "$dir/vendor" -maxdepth 1 -name 'chart.js-*.min.js' | sort | tail -n 1)
	ENA_LAB_REPORT_HISTORY=100 bash remote/scripts/report.sh "$latest" "$dir/index.html" "$dir/reports" "$chartjs" >/dev/null
	say "report: $dir/index.html (the newest of $n records, with their trend); each run's own page is in $dir/reports"
}

# recover: EC2 terminated the host (the safety TTL, a spot interruption).
# A refresh drops it from the state; the steps it ran are forgotten too,
# for a step's Delete would dial the dead host for minutes. `up` then
# builds a new host and runs every step there.
recover() {
	local state urn
	say "refreshing the stack: resources that are gone leave the state"
	pulumi refresh --yes --skip-preview "$@"
	state=$(pulumi stack export)
	if grep -q '"type": *"aws:ec2/instance:Instance"' <<<"$state"; then
		die "the lab host still exists: nothing to recover (make up, or make destroy)"
	fi
	# shellcheck disable=SC2016 # a literal $ of the URN
	urn=$(sed -n 's/.*"urn": *"\([^"]*\$command:remote:Command::ready\)".*/\1/p' <<<"$state" | head -n 1)
	if [[ -n $urn ]]; then
		say "forgetting the host steps of the terminated host"
		pulumi state delete --target-dependents --yes "$urn"
	fi
	say "recovered: make up builds a new host and runs every step on it"
}

main() {
	local action=${1:-}
	[[ $# -gt 0 ]] && shift
	case $action in
	up | preview | destroy | outputs | ssh | recover | report) ;;
	*) die "usage: tools/lab.sh up|preview|destroy|outputs|ssh|recover|report [args], got '${action}'" ;;
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
	recover) recover "$@" ;;
	report) report ;;
	esac
}

main "$@"
