#!/usr/bin/env bash
# tools/lab.sh (make up/destroy/ssh/report) against stand-in pulumi and ssh: the
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
# An ssh that records its calls; asked for the reports, it sends a tar of
# the host's stand-in state directory.
cat >"$TMP/bin/ssh" <<'EOS'
#!/usr/bin/env bash
echo "ssh $*" >>"$FAKE/calls"
if [[ ${*: -1} == "sudo tar -C /var/lib/ena-lab -cf - reports vendor" ]]; then
	[[ -d $FAKE/hoststate ]] || { echo "ssh: connect to host 198.51.100.10 port 22: Connection refused" >&2; exit 255; }
	tar -C "$FAKE/hoststate" -cf - reports vendor
fi
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

# report: the host's records and pages join the stack's earlier ones; the
# index is the newest record's page with the trend of all of them.
validation() {
	jq -n --argjson at "$1" --arg v "$2" '{mode: "validate", measuredAt: $at, version: $v, verdict: "no difference",
		comparison: {singleTx: {speed: 1, lo: 0.99, hi: 1.01, verdict: "no difference"}}}'
}
mkdir -p "$TMP/hoststate/reports" "$TMP/hoststate/vendor" "$TMP/reports/alice/reports"
validation 1764900000 2.15.0g-custom.11111111 >"$TMP/hoststate/reports/20251205T020000Z.json"
validation 1764907200 2.15.0g-custom.33333333 >"$TMP/hoststate/reports/20251205T040000Z.json"
echo '<html>page</html>' >"$TMP/hoststate/reports/20251205T040000Z.html"
cp "$("$HERE/../chartjs.sh")" "$TMP/hoststate/vendor/"
# From the stack's previous host, fetched before it was destroyed.
validation 1764800000 2.15.0g-custom.00000000 >"$TMP/reports/alice/reports/20251204T000000Z.json"
: >"$TMP/calls"
ARGS=(report)
if lab ENA_LAB_REPORTS="$TMP/reports" && grep -qF "sudo tar -C /var/lib/ena-lab -cf - reports vendor" "$TMP/calls" &&
	[[ -s $TMP/reports/alice/reports/20251205T040000Z.html ]] &&
	grep -q '"version":"2.15.0g-custom.33333333"' "$TMP/reports/alice/index.html" &&
	[[ $(grep -o '"version":"2.15.0g-custom.[0-9]*"' "$TMP/reports/alice/index.html" | sort -u | wc -l) == 3 ]] &&
	grep -q "report: $TMP/reports/alice/index.html (the newest of 3 records" "$TMP/err"; then
	pass report-fetches-and-keeps-the-stacks-history
else
	fail report-fetches-and-keeps-the-stacks-history "$(cat "$TMP/err") $(find "$TMP/reports" | tr "\n" " ")"
fi
rm -rf "$TMP/hoststate"
if ! lab ENA_LAB_REPORTS="$TMP/reports" && grep -q "cannot fetch the reports from the host" "$TMP/err"; then
	pass report-says-when-the-host-is-unreachable
else
	fail report-says-when-the-host-is-unreachable "$(cat "$TMP/err")"
fi
summary lab.sh
