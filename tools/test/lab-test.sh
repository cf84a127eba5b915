#!/usr/bin/env bash
# tools/lab.sh (make up/destroy/ssh) against stand-in pulumi and ssh: the
# local file backend by default, a stack named after the user, a private
# passphrase file made once, the region of a new stack, the key written
# 0600 before ssh, and bad input refused by name.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAB=$HERE/../lab.sh
# shellcheck source=testlib.sh
source "$HERE/testlib.sh"

TMP=$(mktemp -d /tmp/lab-test.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
mkdir -p "$TMP/bin" "$TMP/home"
# A pulumi that records its calls and keeps one selected stack in a file.
cat >"$TMP/bin/pulumi" <<'EOS'
#!/usr/bin/env bash
echo "pulumi $* | backend=$PULUMI_BACKEND_URL passfile=${PULUMI_CONFIG_PASSPHRASE_FILE:-}" >>"$FAKE/calls"
case "$1 ${2:-}" in
"version ") cat "$FAKE/version" 2>/dev/null || echo v3.274.1 ;;
"stack export") cat "$FAKE/export" ;;
"stack --show-name") [[ -f $FAKE/selected ]] && cat "$FAKE/selected" || exit 1 ;;
"stack select") [[ -f $FAKE/stacks/$3 ]] && echo "$3" >"$FAKE/selected" || exit 1 ;;
"stack init") mkdir -p "$FAKE/stacks" && touch "$FAKE/stacks/$3" && echo "$3" >"$FAKE/selected" ;;
"stack output")
	case "$3" in
	publicIp) echo 198.51.100.10 ;;
	sshUser) cat "$FAKE/sshuser" 2>/dev/null || echo ec2-user ;;
	--show-secrets) echo "-----BEGIN OPENSSH PRIVATE KEY-----" ;;
	esac ;;
esac
exit 0
EOS
cat >"$TMP/bin/ssh" <<'EOS'
#!/usr/bin/env bash
echo "ssh $*" >>"$FAKE/calls"
EOS
chmod +x "$TMP/bin/"*

lab() {
	env -u PULUMI_BACKEND_URL -u PULUMI_CONFIG_PASSPHRASE -u PULUMI_CONFIG_PASSPHRASE_FILE -u ENA_LAB_STACK -u AWS_REGION \
		PATH="$TMP/bin:$PATH" HOME="$TMP/home" USER=alice FAKE="$TMP" "$@" bash "$LAB" "${ARGS[@]}" >"$TMP/out" 2>"$TMP/err"
}

ARGS=(up --yes)
if lab && grep -q "^pulumi up --yes | backend=file://$TMP/home/.ena-lab/state passfile=$TMP/home/.ena-lab/passphrase" "$TMP/calls" &&
	grep -q "^pulumi stack init alice " "$TMP/calls" && grep -q "^pulumi config set aws:region eu-west-1 " "$TMP/calls"; then
	pass up-uses-local-backend-and-a-stack-named-after-the-user
else
	fail up-uses-local-backend-and-a-stack-named-after-the-user "$(cat "$TMP/calls" "$TMP/err")"
fi
if [[ -s $TMP/home/.ena-lab/passphrase && $(stat -c %a "$TMP/home/.ena-lab/passphrase") == 600 ]]; then
	pass passphrase-file-is-private
else
	fail passphrase-file-is-private "$(ls -l "$TMP/home/.ena-lab" 2>&1)"
fi
before=$(cat "$TMP/home/.ena-lab/passphrase")
: >"$TMP/calls"
ARGS=(destroy)
if lab && [[ $(cat "$TMP/home/.ena-lab/passphrase") == "$before" ]] && ! grep -q "stack init" "$TMP/calls" && grep -q "^pulumi destroy " "$TMP/calls"; then
	pass second-run-reuses-stack-and-passphrase
else
	fail second-run-reuses-stack-and-passphrase "$(cat "$TMP/calls")"
fi
: >"$TMP/calls"
ARGS=(ssh)
if lab && grep -q "^ssh -i $TMP/home/.ssh/ena-lab-alice -o IdentitiesOnly=yes ec2-user@198.51.100.10" "$TMP/calls" &&
	[[ $(stat -c %a "$TMP/home/.ssh/ena-lab-alice") == 600 ]]; then
	pass ssh-writes-a-private-key-and-logs-in
else
	fail ssh-writes-a-private-key-and-logs-in "$(cat "$TMP/calls" "$TMP/err")"
fi
# A Debian 12 lab logs in as its AMI's user, the stack's sshUser output.
echo admin >"$TMP/sshuser"
: >"$TMP/calls"
ARGS=(ssh)
if lab && grep -q "^ssh -i $TMP/home/.ssh/ena-lab-alice -o IdentitiesOnly=yes admin@198.51.100.10" "$TMP/calls"; then
	pass ssh-logs-in-as-the-distributions-user
else
	fail ssh-logs-in-as-the-distributions-user "$(cat "$TMP/calls" "$TMP/err")"
fi
rm -f "$TMP/sshuser"
ARGS=(frobnicate)
if ! lab && grep -q "got 'frobnicate'" "$TMP/err"; then pass refuses-unknown-action; else fail refuses-unknown-action "$(cat "$TMP/err")"; fi
rm -f "$TMP/selected"
ARGS=(up)
if ! lab ENA_LAB_STACK='bad name!' && grep -q "stack name 'bad name!'" "$TMP/err"; then
	pass refuses-bad-stack-name
else
	fail refuses-bad-stack-name "$(cat "$TMP/err")"
fi

# recover: the host is gone from EC2 (a refresh dropped it); its steps are
# forgotten with their dependents, and nothing else.
echo alice >"$TMP/selected"
# shellcheck disable=SC2016 # a literal $ of the URN
ready='urn:pulumi:alice::ena-lab::enalab:remote:Host$command:remote:Command::ready'
cat >"$TMP/export" <<EOF
{"deployment": {"resources": [
 {"urn": "urn:pulumi:alice::ena-lab::aws:ec2/vpc:Vpc::lab-vpc", "type": "aws:ec2/vpc:Vpc"},
 {"urn": "$ready", "type": "command:remote:Command"},
 {"urn": "urn:pulumi:alice::ena-lab::enalab:remote:Host\$command:remote:Command::bind", "type": "command:remote:Command"}]}}
EOF
: >"$TMP/calls"
ARGS=(recover)
if lab && grep -q "^pulumi refresh --yes --skip-preview " "$TMP/calls" &&
	grep -qF "pulumi state delete --target-dependents --yes $ready |" "$TMP/calls" && grep -q "make up builds a new host" "$TMP/err"; then
	pass recover-forgets-the-steps-of-a-gone-host
else
	fail recover-forgets-the-steps-of-a-gone-host "$(cat "$TMP/calls" "$TMP/err")"
fi
sed -i 's|"type": "aws:ec2/vpc:Vpc"|"type": "aws:ec2/instance:Instance"|' "$TMP/export"
: >"$TMP/calls"
if ! lab && grep -q "the lab host still exists: nothing to recover" "$TMP/err" && ! grep -q "state delete" "$TMP/calls"; then
	pass recover-leaves-a-live-host-alone
else
	fail recover-leaves-a-live-host-alone "$(cat "$TMP/calls" "$TMP/err")"
fi
# An engine without replacement triggers would modify the instance in place.
echo v3.200.0 >"$TMP/version"
: >"$TMP/calls"
ARGS=(up)
if ! lab && grep -q "the Pulumi CLI is 3.200.0; the lab needs 3.208.0 or newer" "$TMP/err" && ! grep -q "^pulumi up" "$TMP/calls"; then
	pass refuses-a-pulumi-without-replacement-triggers
else
	fail refuses-a-pulumi-without-replacement-triggers "$(cat "$TMP/err")"
fi
rm -f "$TMP/version"
summary lab.sh
