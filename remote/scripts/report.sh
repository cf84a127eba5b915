#!/usr/bin/env bash
# The validation's report: one self-contained HTML page (report.html with
# Chart.js, the record and the stack's last records inlined: it opens
# offline). validate.sh runs it on the host for each validation; `make
# report` runs it again on your machine over every record it fetched.
#   report.sh RECORD.json OUT.html RECORDS_DIR CHARTJS_FILE
# RECORDS_DIR holds the records (*.json) whose trend the page shows.
# input ENA_LAB_REPORT_HISTORY optional(10)  how many of the last records the trend shows
set -euo pipefail
STEP=${STEP:-report}
HERE=$(dirname "${BASH_SOURCE[0]}")

die() { echo "[$STEP] error: $*" >&2; exit 1; }

# script_safe: JSON on stdin, safe inside a <script> element.
script_safe() { sed 's#</#<\\/#g'; }

main() {
	(($# == 4)) || die "usage: report.sh RECORD.json OUT.html RECORDS_DIR CHARTJS_FILE"
	local record=$1 out=$2 dir=$3 chartjs=$4 keep=${ENA_LAB_REPORT_HISTORY:-10} template=$HERE/report.html
	if ! [[ $keep =~ ^[0-9]+$ ]] || ((keep < 1 || keep > 100)); then
		die "input ENA_LAB_REPORT_HISTORY='$keep' is not a whole number from 1 to 100"
	fi
	jq -e '.mode == "validate" and (.comparison | type == "object")' "$record" >/dev/null 2>&1 ||
		die "$record is not a validation record (validate.sh writes them)"
	[[ -d $dir ]] || die "no records directory $dir"
	[[ -s $chartjs ]] || die "no Chart.js at $chartjs (the prereqs step fetches it)"
	! grep -q '</script' "$chartjs" || die "$chartjs holds '</script': it cannot be inlined"
	[[ -r $template ]] || die "report.html is missing beside $0"
	local tmp
	tmp=$(mktemp -d)
	jq -c . "$record" | script_safe >"$tmp/record"
	# The trend: the last records by measuring time, each cut to what it shows.
	find "$dir" -maxdepth 1 -name '*.json' -print0 | xargs -0 -r cat |
		jq -s -c --argjson keep "$keep" 'map(select(.mode == "validate" and .measuredAt != null))
			| sort_by(.measuredAt) | .[-$keep:] | map({measuredAt, version, verdict, comparison})' | script_safe >"$tmp/history"
	# Each marker line gives way to its file (read by getline: awk -v would
	# turn the JSON's backslashes into escapes).
	awk -v chartjs="$chartjs" -v record="$tmp/record" -v history="$tmp/history" '
		function splice(marker, file, line) {
			sub("/\\*" marker "\\*/.*", "")
			printf "%s", $0
			while ((getline line < file) > 0) print line
			close(file)
			print "</script>"
		}
		index($0, "/*CHARTJS*/") { splice("CHARTJS", chartjs); next }
		index($0, "/*RECORD*/") { splice("RECORD", record); next }
		index($0, "/*HISTORY*/") { splice("HISTORY", history); next }
		{ print }' "$template" >"$tmp/page" || { rm -rf "$tmp"; die "cannot write $out"; }
	mv "$tmp/page" "$out"
	rm -rf "$tmp"
	echo "$out"
}

main "$@"
